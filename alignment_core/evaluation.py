"""Bilingual lexicon induction (BLI) evaluation, the MUSE protocol (Conneau et al. 2018).

Query set: the unique source words of the evaluation dictionary whose source word
and at least one target word are in the vocabularies; their gold set is every
in-vocabulary target listed for them. Retrieval is over the whole loaded target
vocabulary. P@k is the share of queries whose top-k holds any gold translation,
in percent, for each scoring rule (``nn``, ``csls``, ``isf``; see ``retrieval``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dictionary import Dictionary
from .embeddings import Embeddings
from .mapping import apply_mapping
from .retrieval import RULES, Retriever

KS = (1, 5, 10)


@dataclass
class QuerySet:
    rows: np.ndarray            # source rows, in dictionary order
    gold: list[np.ndarray]      # target rows per query

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def from_dictionary(cls, d: Dictionary, src: Embeddings, tgt: Embeddings) -> "QuerySet":
        si, ti = src.index, tgt.index
        golds: dict[int, list[int]] = {}
        for s, t in d.pairs:
            if s in si and t in ti:
                g = golds.setdefault(si[s], [])
                if ti[t] not in g:
                    g.append(ti[t])
        rows = np.fromiter(golds.keys(), dtype=np.int64, count=len(golds))
        return cls(rows, [np.asarray(golds[r], np.int64) for r in rows.tolist()])


@dataclass
class BLIResult:
    n_queries: int
    scores: dict[str, dict[str, float]]              # rule → {"p@1": .., "p@5": .., "p@10": ..}
    per_word: list[dict] = field(default_factory=list)

    def to_dict(self, per_word: bool = False) -> dict:
        out = {"n_queries": self.n_queries, **self.scores}
        if per_word:
            out["per_word"] = self.per_word
        return out


def evaluate_bli(src: Embeddings, tgt: Embeddings, w: np.ndarray | None, dictionary: Dictionary,
                 rules: tuple[str, ...] = RULES, ks: tuple[int, ...] = KS, per_word: bool = True,
                 retriever: Retriever | None = None, csls_k: int = 10) -> BLIResult:
    """BLI precision@k of the mapping ``w`` (d_tgt × d_src; None = no mapping) by the
    MUSE protocol, and per-word results (query, golds, top-10 per rule with scores,
    rank of the first gold under each rule)."""
    qs = QuerySet.from_dictionary(dictionary, src, tgt)
    if len(qs) == 0:
        empty = {r: {f"p@{k}": 0.0 for k in ks} for r in rules}
        return BLIResult(0, empty, [])
    if retriever is None:
        mapped = src.vectors if w is None else apply_mapping(src.vectors, w)
        retriever = Retriever(mapped, tgt.vectors, csls_k=csls_k)
    kmax = max(max(ks), 10)
    if "isf" in rules or "csls" in rules:
        retriever.base_stats("tgt", need_lse="isf" in rules)  # one pass serves both rules
    scores: dict[str, dict[str, float]] = {}
    tops: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for rule in rules:
        s, ids = retriever.search(qs.rows, k=kmax, rule=rule)
        tops[rule] = (s, ids)
        hit_rank = _first_hit(ids, qs.gold)
        scores[rule] = {f"p@{k}": round(100.0 * float(np.mean((hit_rank >= 0) & (hit_rank < k))), 4) for k in ks}
    rows_out: list[dict] = []
    if per_word:
        ranks = {rule: gold_rank(retriever, qs, rule) for rule in rules}
        for qi, row in enumerate(qs.rows.tolist()):
            item = {
                "source": src.words[row],
                "source_rank": row + 1,
                "gold": [tgt.words[g] for g in qs.gold[qi].tolist()],
            }
            for rule in rules:
                s, ids = tops[rule]
                item[f"top_{rule}"] = [[tgt.words[j], round(float(v), 4)] for j, v in zip(ids[qi], s[qi])]
                item[f"rank_{rule}"] = int(ranks[rule][qi])
            item["cos_gold"] = round(float(np.max(retriever.src[row] @ retriever.tgt[qs.gold[qi]].T)), 4)
            rows_out.append(item)
    return BLIResult(len(qs), scores, rows_out)


def _first_hit(ids: np.ndarray, gold: list[np.ndarray]) -> np.ndarray:
    """Position (0-based) of the first gold in each row of ids, −1 if none."""
    out = np.full(ids.shape[0], -1, dtype=np.int64)
    for i, g in enumerate(gold):
        hit = np.nonzero(np.isin(ids[i], g))[0]
        if hit.size:
            out[i] = hit[0]
    return out


def gold_rank(retriever: Retriever, qs: QuerySet, rule: str, block: int = 512) -> np.ndarray:
    """Exact 1-based rank of the best-ranked gold among all targets under ``rule``
    (1 = correct at P@1), computed blockwise over the queries."""
    q = retriever.src[qs.rows]
    base = retriever.tgt
    ranks = np.empty(len(qs), dtype=np.int64)
    if rule != "nn":
        r_base, lse = retriever.base_stats("tgt", need_lse=(rule == "isf"))
    for a in range(0, len(qs), block):
        s = q[a:a + block] @ base.T
        if rule == "csls":
            s = 2 * s - r_base[None, :]
        elif rule == "isf":
            s = retriever.isf_beta * s - lse[None, :].astype(np.float32)
        golds = qs.gold[a:a + s.shape[0]]
        if all(len(g) == 1 for g in golds):  # one gold per query (paired items): vectorized
            g = np.fromiter((x[0] for x in golds), dtype=np.int64, count=len(golds))
            best = s[np.arange(s.shape[0]), g]
            ranks[a:a + s.shape[0]] = 1 + (s > best[:, None]).sum(axis=1)
            continue
        for i in range(s.shape[0]):
            g = golds[i]
            best = s[i, g].max()
            ranks[a + i] = 1 + int((s[i] > best).sum())
    return ranks


def precision_by_frequency(per_word: list[dict], rule: str = "csls", bins: int = 3) -> list[dict]:
    """P@1 in bins of the query set by source frequency rank (thirds by default)."""
    if not per_word:
        return []
    order = sorted(per_word, key=lambda r: r["source_rank"])
    out = []
    for chunk in np.array_split(np.arange(len(order)), bins):
        if len(chunk) == 0:
            continue
        items = [order[i] for i in chunk]
        out.append({
            "rank_from": items[0]["source_rank"],
            "rank_to": items[-1]["source_rank"],
            "n": len(items),
            "p@1": round(100.0 * np.mean([it[f"rank_{rule}"] == 1 for it in items]), 2),
        })
    return out


# --------------------------------------------------------------------------- paired items

PAIRED_RULES = ("nn", "csls")
CANDIDATE_SETS = ("test", "all")


@dataclass
class PairedResult:
    """Retrieval metrics of paired items (vec2vec, Jha et al. 2025, §4.2).

    For each held-out pair (x_i, y_i) the mapped source F(x_i) = x_i Wᵀ is scored against
    the candidate targets under a rule (``nn``: cosine; ``csls``: 2 cos − r_T − r_S, see
    ``retrieval``):

    - top-k accuracy: the share (in percent) of pairs whose true partner y_i is among the
      k best candidates of F(x_i);
    - rank: 1 + the number of candidates scored strictly above y_i (1 = best); the mean
      and median over the pairs (chance: about half the number of candidates);
    - mean cosine: (1/m) Σ_i cos(F(x_i), y_i), the same for every rule.

    ``candidates``: ``"test"`` = the held-out targets only (the published protocol:
    8,192 candidates), ``"all"`` = every loaded target row (what a search index holds).
    In both, the queries are the mapped test sources: CSLS's r_T(x) is over the
    candidates and its hub penalty r_S(y) over the queries (a search system's query set),
    so the cost is queries × candidates, never the whole source store squared.
    """

    n_pairs: int
    candidates: str
    n_candidates: int
    mean_cos: float
    scores: dict[str, dict[str, float]]

    def to_dict(self) -> dict:
        return {"n_pairs": self.n_pairs, "candidates": self.candidates, "n_candidates": self.n_candidates,
                "mean_cos": self.mean_cos, **self.scores}


def evaluate_pairs(src: Embeddings, tgt: Embeddings, w: np.ndarray | None, pairs: np.ndarray,
                   candidates: str = "test", rules: tuple[str, ...] = PAIRED_RULES,
                   ks: tuple[int, ...] = KS, csls_k: int = 10) -> PairedResult:
    """Paired-item metrics of the mapping ``w`` (d_tgt × d_src; None = no mapping, same
    dimensions) over ``pairs`` ((m, 2) source row, target row), against ``candidates``."""
    if candidates not in CANDIDATE_SETS:
        raise ValueError(f"candidates must be one of {CANDIDATE_SETS}, got {candidates!r}")
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    m = len(pairs)
    if m == 0:
        raise ValueError("evaluate_pairs needs at least one pair")
    if w is None and src.dim != tgt.dim:
        raise ValueError(f"no mapping between {src.dim}-d and {tgt.dim}-d spaces")

    def mapped(x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float32) if w is None else apply_mapping(x, w)

    if candidates == "test":
        retriever = Retriever(mapped(src.vectors[pairs[:, 0]]), tgt.vectors[pairs[:, 1]], csls_k=csls_k)
        qs = QuerySet(np.arange(m, dtype=np.int64), [np.array([i], np.int64) for i in range(m)])
    else:
        retriever = Retriever(mapped(src.vectors[pairs[:, 0]]), tgt.vectors, csls_k=csls_k)
        qs = QuerySet(np.arange(m, dtype=np.int64), [np.array([t], np.int64) for t in pairs[:, 1].tolist()])
    gold = np.fromiter((g[0] for g in qs.gold), dtype=np.int64, count=m)
    cos = np.einsum("ij,ij->i", retriever.src[qs.rows], retriever.tgt[gold])
    scores: dict[str, dict[str, float]] = {}
    for rule in rules:
        ranks = gold_rank(retriever, qs, rule)
        row = {f"top@{k}": round(100.0 * float(np.mean(ranks <= k)), 4) for k in ks}
        row["mean_rank"] = round(float(ranks.mean()), 4)
        row["median_rank"] = float(np.median(ranks))
        scores[rule] = row
    return PairedResult(m, candidates, retriever.n_tgt, round(float(cos.mean()), 6), scores)
