"""Cached loaders: parse embeddings and dictionaries once per content.

Streamlit hashes only a sample of large arguments, so every cached function here
takes an explicit key (the BLAKE2b digest of the bytes plus the options) and the
bytes themselves as an unhashed ``_data`` argument. What is cached is immutable
(``Embeddings`` and ``Dictionary`` are frozen), so sharing it between sessions
leaks nothing a session did not itself upload with identical bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from alignment_core.dictionary import Dictionary, parse_dictionary
from alignment_core.embeddings import Embeddings
from alignment_core.errors import AlignScopeError, EmbeddingFormatError
from alignment_core.io import load_embeddings, parse_embeddings, parse_texts

from . import state as S

#: the formats the core reads (see alignment_core.io); .npy needs its .vocab.txt
EMBEDDING_TYPES = ["vec", "txt", "gz", "bin", "npy", "npz", "glove", "w2v", "parquet", "pq"]
TEXTS_TYPES = ["tsv", "txt", "parquet", "pq"]
DICT_TYPES = ["txt", "tsv", "dic", "dict"]


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@st.cache_resource(max_entries=12, show_spinner=False)
def _parse_embeddings(key: str, _data: bytes, filename: str, max_vocab: int | None,
                      _vocab: bytes | None, ids: bool = False) -> Embeddings:
    return parse_embeddings(_data, filename, max_vocab=max_vocab, lowercase=False, vocab_bytes=_vocab, ids=ids)


@st.cache_resource(max_entries=12, show_spinner=False)
def _load_path(key: str, path: str, max_vocab: int | None, ids: bool = False) -> Embeddings:
    """A file on disk (the sample): the core's loader, with its on-disk parse cache."""
    return load_embeddings(path, max_vocab=max_vocab, lowercase=False, ids=ids)


@st.cache_resource(max_entries=4, show_spinner=False)
def _parse_texts(key: str, _data: bytes, filename: str) -> dict:
    return parse_texts(_data, filename)


@st.cache_resource(max_entries=24, show_spinner=False)
def _lowercased(key: str, _emb: Embeddings) -> Embeddings:
    return _emb.lowercased()


@st.cache_resource(max_entries=24, show_spinner=False)
def _parse_dictionary(key: str, _data: bytes, filename: str) -> Dictionary:
    return parse_dictionary(_data, filename)


def embeddings_from_bytes(data: bytes, filename: str, max_vocab: int | None, lowercase: bool,
                          vocab: bytes | None = None, path: str | None = None,
                          ids: bool = False) -> tuple[Embeddings, str]:
    """(Embeddings, digest). Raises the core's AlignScopeError on a malformed file.
    ``path``: the bytes are that file on disk (read through the core's cached loader).
    ``ids``: rows are items with ids (never lowercased; a duplicate id is an error)."""
    d = digest(data) + ("" if vocab is None else digest(vocab))
    key = f"{d}|{max_vocab}|{Path(filename).suffix}|{'ids' if ids else 'words'}"
    if path is not None and (vocab is None or ids):
        emb = _load_path(key, path, max_vocab, ids)
    else:
        emb = _parse_embeddings(key, data, filename, max_vocab, vocab, ids)
    if lowercase and not ids:
        emb = _lowercased(key + "|lower", emb)
    return emb, d


def dictionary_from_bytes(data: bytes, filename: str) -> tuple[Dictionary, str]:
    d = digest(data)
    return _parse_dictionary(d, data, filename), d


def load_set(side: str, data: bytes, filename: str, origin: str, path: str | None = None,
             vocab: bytes | None = None) -> None:
    """Parse and install an embedding set on ``side`` ("src"/"tgt"); on error the
    previous set stays (the caller shows the message)."""
    sd = S.get()
    emb, d = embeddings_from_bytes(data, filename, sd.max_vocab, sd.lowercase, vocab,
                                   path=path if origin == "sample" else None, ids=sd.items)
    sd.truth = None   # another set: the synthetic pair's known answer no longer holds
    setattr(sd, side, S.LoadedSet(filename, d, emb, origin, path=path,
                                  data=None if origin == "sample" else data, vocab_data=vocab))


def load_dict(which: str, data: bytes, filename: str, origin: str) -> None:
    sd = S.get()
    dic, d = dictionary_from_bytes(data, filename)
    setattr(sd, which, S.LoadedDict(filename, d, dic, origin))


def reload_sets() -> list[str]:
    """Re-parse both sets after an option change (max vocabulary, lowercase).
    Returns error messages (a set that fails keeps its previous state)."""
    sd = S.get()
    errors = []
    for side in ("src", "tgt"):
        cur: S.LoadedSet | None = getattr(sd, side)
        if cur is None or cur.origin == "synthetic":   # built in memory: nothing to re-read
            continue
        data = Path(cur.path).read_bytes() if cur.origin == "sample" else cur.data
        try:
            load_set(side, data, cur.name, cur.origin, cur.path, cur.vocab_data)
        except AlignScopeError as e:
            errors.append(str(e))
    return errors


def ensure_sample() -> None:
    """Load the bundled sample pair and its dictionaries on a session's first visit."""
    sd = S.get()
    if sd.sample_tried:
        return
    sd.sample_tried = True
    try:
        load_sample()
    except (AlignScopeError, OSError) as e:
        sd.messages.append(f"the sample data could not be loaded: {e}")


def load_texts(data: bytes, filename: str) -> None:
    """Install an id → text file (labels for items); on error nothing changes."""
    sd = S.get()
    sd.texts = _parse_texts(digest(data), data, filename)
    sd.texts_name = filename


def set_kind(kind: str) -> list[str]:
    """Switch between words (two languages) and items (two encoders, paired by id). The
    loaded sets are read again the new way (ids: never lowercased, a duplicate id an
    error); a set that cannot be read that way is unloaded, and the message says why.
    Dictionaries belong to words, texts to items. Returns the error messages."""
    sd = S.get()
    if kind == sd.kind:
        return []
    if kind not in S.KINDS:
        raise ValueError(f"kind must be one of {S.KINDS}")
    sd.kind = kind
    if kind == "items":
        sd.seed = sd.eval = None
    else:
        sd.texts, sd.texts_name = None, ""
    errors = []
    for side in ("src", "tgt"):
        cur: S.LoadedSet | None = getattr(sd, side)
        if cur is None:
            continue
        if cur.origin == "synthetic":   # the teaching pair is words: not items
            setattr(sd, side, None)
            sd.truth = None
            errors.append(f"{cur.name} is the synthetic word pair and was unloaded")
            continue
        data = Path(cur.path).read_bytes() if cur.origin == "sample" else cur.data
        try:
            load_set(side, data, cur.name, cur.origin, cur.path, cur.vocab_data)
        except AlignScopeError as e:
            setattr(sd, side, None)
            errors.append(f"{cur.name} cannot be read as {kind} and was unloaded: {e}")
    return errors


def load_items_sample() -> None:
    """The encoder sample: MiniLM and e5 embeddings of 8,000 WordNet items, with texts."""
    sd = S.get()
    if sd.kind != "items":
        sd.src = sd.tgt = None      # replaced below: not worth re-reading as items first
    set_kind("items")
    for side in ("src", "tgt"):
        p = S.SAMPLE_ITEMS[side]
        vocab = p.with_name(p.name[:-4] + ".vocab.txt").read_bytes()
        load_set(side, p.read_bytes(), p.name, "sample", path=str(p), vocab=vocab)
    p = S.SAMPLE_ITEMS["texts"]
    load_texts(p.read_bytes(), p.name)


def load_sample() -> None:
    sd = S.get()
    if sd.kind != "words":
        sd.src = sd.tgt = None
    set_kind("words")
    for side in ("src", "tgt"):
        p = S.SAMPLE[side]
        load_set(side, p.read_bytes(), p.name, "sample", path=str(p))
    for which in ("seed", "eval"):
        p = S.SAMPLE[which]
        load_dict(which, p.read_bytes(), p.name, "sample")


SYNTHETIC_BASES = ("source", "sample French")


def load_synthetic(noise: float, overlap: float, seed: int, base: str = "source") -> None:
    """The teaching pair: a real space (the loaded source set, or the word sample's French
    set) against its rotated, noised, row-shuffled copy (``alignment_core.synthetic.rotated_copy``).
    Installs it as the source/target pair (words), the true dictionary as both the seed and
    the evaluation dictionary, and keeps the true rotation R in the session (``truth``)."""
    from alignment_core.synthetic import rotated_copy

    sd = S.get()
    if base not in SYNTHETIC_BASES:
        raise ValueError(f"base must be one of {SYNTHETIC_BASES}")
    if base == "source" and sd.src is not None and not sd.items:
        emb = sd.src.emb
    else:
        p = S.SAMPLE["tgt"]
        emb, _ = embeddings_from_bytes(p.read_bytes(), p.name, sd.max_vocab, sd.lowercase, path=str(p))
    if sd.kind != "words":
        sd.src = sd.tgt = None
        set_kind("words")
    pair = rotated_copy(emb, noise=float(noise), overlap=float(overlap), seed=int(seed))
    tag = f"{emb.name or 'space'} · noise {noise:g} · overlap {overlap:g} · seed {seed}"
    d = digest(f"synthetic|{tag}|{len(emb)}".encode())
    sd.src = S.LoadedSet(f"synthetic source ({tag})", d + "s", pair.src, "synthetic")
    sd.tgt = S.LoadedSet(f"synthetic rotated copy ({tag})", d + "t", pair.tgt, "synthetic")
    for which in ("seed", "eval"):
        setattr(sd, which, S.LoadedDict(f"true pairs ({tag})", d + "d", pair.dictionary, "synthetic"))
    sd.truth = pair.rotation


def truth_for(result):
    """The true rotation R when ``result`` ran on the synthetic pair loaded now, else None."""
    sd = S.get()
    if sd.truth is None or sd.src is None or sd.tgt is None or sd.src.origin != "synthetic":
        return None
    if result.config.src != sd.src.name or result.config.tgt != sd.tgt.name or result.w.shape != sd.truth.shape:
        return None
    return sd.truth


def coverage_for(which: str):
    """Coverage of a loaded dictionary against the loaded sets (lowercased like the run will)."""
    sd = S.get()
    ld: S.LoadedDict | None = getattr(sd, which)
    if ld is None or not sd.ready():
        return None
    d = ld.dictionary.lowercased() if sd.lowercase else ld.dictionary
    return d.coverage(sd.src.emb, sd.tgt.emb)


def check_upload_pair(filename: str) -> str | None:
    """A .npy upload needs its word list: the message to show, or None."""
    if filename.lower().endswith(".npy"):
        return "a .npy file needs its word list: upload the matching .vocab.txt too (one word per line)"
    return None


__all__ = ["EMBEDDING_TYPES", "DICT_TYPES", "digest", "embeddings_from_bytes", "dictionary_from_bytes",
           "load_set", "load_dict", "reload_sets", "ensure_sample", "load_sample", "load_items_sample",
           "load_texts", "set_kind", "coverage_for", "load_synthetic", "truth_for",
           "EmbeddingFormatError"]
