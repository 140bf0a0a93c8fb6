"""Bilingual dictionaries: reading, coverage against two vocabularies, seeds, induction.

A dictionary is a list of (source word, target word) pairs; a source word may have
several pairs (several correct translations). Induction builds a dictionary from a
mapping by retrieval (``retrieval.Retriever``), in the directions of MUSE
(Conneau et al. 2018): source→target (S2T), target→source (T2S), their intersection
(``S2T&T2S``, "mutual") or their union (``S2T|T2S``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .embeddings import Embeddings
from .errors import DictionaryFormatError

INDUCTION_MODES = ("S2T", "T2S", "S2T&T2S", "S2T|T2S")
DEFAULT_MAX_RANK = 15_000
MAX_DICT_LINE = 10_000


@dataclass(frozen=True)
class Coverage:
    """How much of a dictionary two vocabularies cover."""

    pairs_total: int
    pairs_kept: int
    dropped_src_oov: int
    dropped_tgt_oov: int
    dropped_both_oov: int
    unique_src_kept: int
    unique_src_total: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def describe(self) -> str:
        return (
            f"{self.pairs_kept}/{self.pairs_total} pairs kept ({self.unique_src_kept} source words); "
            f"dropped: {self.dropped_src_oov} source OOV, {self.dropped_tgt_oov} target OOV, "
            f"{self.dropped_both_oov} both OOV"
        )


@dataclass(frozen=True)
class Dictionary:
    """Word pairs, in file order, duplicates removed. ``name`` is for display."""

    pairs: tuple[tuple[str, str], ...]
    name: str = ""
    blank_lines: int = 0
    duplicate_pairs: int = 0

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def sources(self) -> list[str]:
        """Unique source words in first-seen order."""
        return list(dict.fromkeys(s for s, _ in self.pairs))

    def lowercased(self) -> "Dictionary":
        return Dictionary.from_pairs(((s.lower(), t.lower()) for s, t in self.pairs), self.name)

    def head_sources(self, n: int) -> "Dictionary":
        """Pairs of the first ``n`` unique source words (for "N seed pairs")."""
        keep = set(self.sources[:n])
        return Dictionary(tuple(p for p in self.pairs if p[0] in keep), self.name)

    def first_pairs(self, n: int) -> "Dictionary":
        return Dictionary(self.pairs[:n], self.name)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]], name: str = "") -> "Dictionary":
        seen = dict.fromkeys(tuple(p) for p in pairs)
        return cls(tuple(seen), name)

    def coverage(self, src: Embeddings, tgt: Embeddings) -> Coverage:
        si, ti = src.index, tgt.index
        s_oov = t_oov = both = 0
        kept_src = set()
        for s, t in self.pairs:
            a, b = s in si, t in ti
            if a and b:
                kept_src.add(s)
            elif not a and not b:
                both += 1
            elif not a:
                s_oov += 1
            else:
                t_oov += 1
        kept = len(self.pairs) - s_oov - t_oov - both
        return Coverage(len(self.pairs), kept, s_oov, t_oov, both, len(kept_src), len(self.sources))

    def index_pairs(self, src: Embeddings, tgt: Embeddings) -> np.ndarray:
        """(m, 2) int64 array of (source row, target row) for the in-vocabulary pairs."""
        si, ti = src.index, tgt.index
        rows = [(si[s], ti[t]) for s, t in self.pairs if s in si and t in ti]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)

    def to_text(self) -> str:
        return "".join(f"{s} {t}\n" for s, t in self.pairs)


def parse_dictionary(data: bytes | str, name: str = "<dictionary>") -> Dictionary:
    """Parse ``source target`` pairs, separated by one space or a tab, one per line.

    Blank lines are ignored. A line with one or more than two fields is an error
    naming the line. Bytes must be UTF-8 (a byte-order mark is dropped).
    """
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        if b"\x00" in data[:65536]:
            raise DictionaryFormatError(name, None, "binary content; expected text lines 'source target'")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise DictionaryFormatError(name, line, "bytes that are not UTF-8 (the file must be UTF-8)") from None
    else:
        text = data
    pairs: list[tuple[str, str]] = []
    blank = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_DICT_LINE:
            raise DictionaryFormatError(name, lineno, f"line is {len(line):,} characters long; "
                                        f"expected 'source target' of at most {MAX_DICT_LINE:,}")
        stripped = line.strip()
        if not stripped:
            blank += 1
            continue
        parts = stripped.split("\t") if "\t" in stripped else stripped.split()
        parts = [p.strip() for p in parts if p.strip()]
        if len(parts) != 2:
            raise DictionaryFormatError(
                name, lineno, f"expected 2 fields 'source target' (space or tab), found {len(parts)}: {stripped[:80]!r}"
            )
        pairs.append((parts[0], parts[1]))
    if not pairs:
        raise DictionaryFormatError(name, None, "no pairs: the file is empty or holds only blank lines")
    unique = dict.fromkeys(pairs)
    return Dictionary(tuple(unique), name, blank, len(pairs) - len(unique))


def load_dictionary(path: str | os.PathLike, lowercase: bool = False) -> Dictionary:
    path = Path(path)
    if not path.exists():
        raise DictionaryFormatError(str(path), None, "file not found")
    d = parse_dictionary(path.read_bytes(), str(path))
    return d.lowercased() if lowercase else d


def identical_strings(src: Embeddings, tgt: Embeddings, max_rank: int | None = None,
                      min_length: int = 1) -> Dictionary:
    """Words spelled the same in both vocabularies (numerals included), in source order.

    The natural seed for related languages, and the natural dictionary when both
    spaces embed the same items under the same ids (documents, products).
    """
    limit_s = len(src) if max_rank is None else min(max_rank, len(src))
    tgt_index = tgt.index
    limit_t = len(tgt) if max_rank is None else max_rank
    pairs = [
        (w, w) for w in src.words[:limit_s]
        if len(w) >= min_length and tgt_index.get(w, limit_t) < limit_t
    ]
    return Dictionary(tuple(pairs), "identical strings")


# --------------------------------------------------------------------------- induction


def induce_pairs(retriever, mode: str = "S2T&T2S", rule: str = "csls",
                 max_rank: int | None = DEFAULT_MAX_RANK) -> np.ndarray:
    """Induce a dictionary from a mapping: (m, 2) array of (source row, target row).

    ``retriever`` is a :class:`alignment_core.retrieval.Retriever` over the mapped
    source and the target. S2T: each of the ``max_rank`` most frequent source words
    gets its best target; T2S: each of the most frequent target words gets its best
    source; pairs whose either word ranks beyond ``max_rank`` are dropped (MUSE's
    ``dico_max_rank``). ``S2T&T2S`` keeps pairs found in both directions.
    """
    if mode not in INDUCTION_MODES:
        raise ValueError(f"unknown induction mode {mode!r}; expected one of {INDUCTION_MODES}")
    n_s, n_t = retriever.n_src, retriever.n_tgt
    ms = n_s if max_rank is None else min(max_rank, n_s)
    mt = n_t if max_rank is None else min(max_rank, n_t)
    out = []
    if mode in ("S2T", "S2T&T2S", "S2T|T2S"):
        _, ids = retriever.search(np.arange(ms), k=1, rule=rule, direction="s2t", scores=False)
        s2t = np.stack([np.arange(ms), ids[:, 0]], axis=1)
        s2t = s2t[s2t[:, 1] < mt]
        out.append(s2t)
    if mode in ("T2S", "S2T&T2S", "S2T|T2S"):
        _, ids = retriever.search(np.arange(mt), k=1, rule=rule, direction="t2s", scores=False)
        t2s = np.stack([ids[:, 0], np.arange(mt)], axis=1)
        t2s = t2s[t2s[:, 0] < ms]
        out.append(t2s)
    if mode == "S2T&T2S":
        a = {tuple(p) for p in out[0].tolist()}
        pairs = [p for p in out[1].tolist() if tuple(p) in a]
        pairs.sort()
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    allp = np.concatenate(out, axis=0)
    allp = np.unique(allp, axis=0)
    return allp.astype(np.int64)


def pairs_to_dictionary(pairs: np.ndarray, src: Embeddings, tgt: Embeddings, name: str = "induced") -> Dictionary:
    return Dictionary(tuple((src.words[i], tgt.words[j]) for i, j in pairs.tolist()), name)


def seed_pairs_from(spec: str | int | None, src: Embeddings, tgt: Embeddings,
                    dictionary: Dictionary | None) -> np.ndarray | None:
    """Seed pairs for the unsupervised methods: ``None``/"none", "identical",
    an int N (the pairs of the first N source words of ``dictionary``), or "all"."""
    if spec is None or spec == "none" or spec == 0:
        return None
    if spec == "identical":
        pairs = identical_strings(src, tgt).index_pairs(src, tgt)
    else:
        if dictionary is None:
            raise DictionaryFormatError(None, None, "seed pairs requested but no seed dictionary was given")
        d = dictionary if spec == "all" else dictionary.head_sources(int(spec))
        pairs = d.index_pairs(src, tgt)
    return pairs


def unique_pairs(a: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in a}
