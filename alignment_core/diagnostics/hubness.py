"""Hubness of a retrieval: k-occurrence and the statistics built on it.

A retrieval is a set of queries searched against a set of targets under a scoring
rule (``nn``, ``csls`` or ``isf``, see :mod:`alignment_core.retrieval`); the k-NN
lists come from :meth:`alignment_core.retrieval.Retriever.search` (the one
implementation of k-NN and CSLS in the project). From the lists:

- k-occurrence (Radovanović et al. 2010, "Hubs in space", JMLR 11):
  N_k(y) = |{q : y ∈ kNN(q)}|, the number of queries that have target y among
  their k nearest (k = 10). Σ_y N_k(y) = n_q·k, so the mean is n_q·k / n_t.
- skewness of N_k (Radovanović et al. 2010): S = E[(N_k − μ)³] / σ³ (population
  moments). 0 for a symmetric distribution; large positive values mean a few hubs.
- Robin Hood index (Feldbauer, Leodolter, Tomasi & Flexer 2018, "scikit-hubness" /
  Feldbauer & Flexer 2019): RH = ½ Σ_y |N_k(y) − μ| / Σ_y N_k(y), the share of
  k-NN slots that would have to move for every target to occur equally often.
- Gini coefficient of N_k, sorted-array formula: with x_(1) ≤ … ≤ x_(n),
  G = Σ_i (2i − n − 1)·x_(i) / (n · Σ_i x_(i)). 0 = all equal, → 1 = one hub.
- hub occurrence (Lazaridou et al. 2015; Feldbauer & Flexer 2019): share of the
  n_q·k neighbour slots taken by hubs, hubs being the targets with N_k ≥ 2k,
  HO = Σ_{y hub} N_k(y) / (n_q·k).
- antihub occurrence: share of targets with N_k = 0 (never retrieved).
- top hubs: the targets with the largest N_k, and the queries they captured.

CSLS (Conneau et al. 2018) and the inverted softmax (Smith et al. 2017) exist to
reduce hubness; :func:`hubness_by_rule` measures the same retrieval under each rule
side by side so the reduction can be read off directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..retrieval import RULES, Retriever

DEFAULT_K = 10
#: a hub occurs in at least HUB_FACTOR·k neighbour lists (twice its fair share when n_q = n_t)
HUB_FACTOR = 2


def k_occurrence(ids: np.ndarray, n_targets: int) -> np.ndarray:
    """N_k(y) for every target y: how many rows of ``ids`` (n_q × k) contain y."""
    ids = np.asarray(ids, dtype=np.int64)
    return np.bincount(ids[ids >= 0].ravel(), minlength=n_targets).astype(np.int64)


def skewness(nk: np.ndarray) -> float:
    """Population skewness E[(N_k − μ)³] / σ³ (Radovanović et al. 2010); 0 when σ = 0."""
    x = np.asarray(nk, dtype=np.float64)
    mu = x.mean()
    sd = x.std()
    if sd == 0:
        return 0.0
    return float(np.mean((x - mu) ** 3) / sd**3)


def robin_hood(nk: np.ndarray) -> float:
    """Robin Hood index ½ Σ|N_k − μ| / Σ N_k (Feldbauer et al. 2018), in [0, 1)."""
    x = np.asarray(nk, dtype=np.float64)
    total = x.sum()
    if total == 0:
        return 0.0
    return float(0.5 * np.abs(x - x.mean()).sum() / total)


def gini(nk: np.ndarray) -> float:
    """Gini coefficient, sorted-array formula G = Σ_i (2i − n − 1) x_(i) / (n Σ x), i = 1..n."""
    x = np.sort(np.asarray(nk, dtype=np.float64))
    n = x.size
    total = x.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(np.sum((2 * i - n - 1) * x) / (n * total))


def hub_occurrence(nk: np.ndarray, k: int, n_queries: int, factor: int = HUB_FACTOR) -> float:
    """Share of the n_q·k neighbour slots taken by hubs (targets with N_k ≥ factor·k)."""
    x = np.asarray(nk, dtype=np.int64)
    slots = n_queries * k
    if slots == 0:
        return 0.0
    return float(x[x >= factor * k].sum() / slots)


def antihub_occurrence(nk: np.ndarray) -> float:
    """Share of targets with N_k = 0 (retrieved by no query)."""
    x = np.asarray(nk)
    return float(np.mean(x == 0)) if x.size else 0.0


@dataclass
class HubnessResult:
    """Hubness of one retrieval under one scoring rule. ``nk`` is N_k per target row;
    ``ids`` the k-NN lists (query index × k, target rows), kept for the top hubs."""

    rule: str
    k: int
    n_queries: int
    n_targets: int
    nk: np.ndarray
    skewness: float
    robin_hood: float
    gini: float
    hub_occurrence: float
    antihub_occurrence: float
    n_hubs: int
    top_hubs: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "k": self.k,
            "n_queries": self.n_queries,
            "n_targets": self.n_targets,
            "mean_nk": round(self.n_queries * self.k / max(1, self.n_targets), 4),
            "max_nk": int(self.nk.max()) if self.nk.size else 0,
            "skewness": round(self.skewness, 4),
            "robin_hood": round(self.robin_hood, 4),
            "gini": round(self.gini, 4),
            "hub_occurrence": round(self.hub_occurrence, 4),
            "antihub_occurrence": round(self.antihub_occurrence, 4),
            "n_hubs": self.n_hubs,
            "top_hubs": self.top_hubs,
        }


def hubness_from_ids(ids: np.ndarray, n_targets: int, k: int, rule: str = "nn",
                     target_words: Sequence[str] | None = None, query_words: Sequence[str] | None = None,
                     top: int = 10, max_captured: int = 20) -> HubnessResult:
    """All hubness statistics from k-NN lists ``ids`` (n_q × k target rows)."""
    ids = np.asarray(ids, dtype=np.int64)[:, :k]
    n_q = ids.shape[0]
    nk = k_occurrence(ids, n_targets)
    order = np.argsort(-nk, kind="stable")[:top]
    hubs = []
    for y in order.tolist():
        if nk[y] == 0:
            break
        captured_q = np.nonzero((ids == y).any(axis=1))[0]
        hubs.append({
            "word": target_words[y] if target_words is not None else int(y),
            "row": int(y),
            "n_k": int(nk[y]),
            "captured": [query_words[q] if query_words is not None else int(q)
                         for q in captured_q[:max_captured].tolist()],
        })
    return HubnessResult(
        rule=rule, k=k, n_queries=n_q, n_targets=n_targets, nk=nk,
        skewness=skewness(nk), robin_hood=robin_hood(nk), gini=gini(nk),
        hub_occurrence=hub_occurrence(nk, k, n_q), antihub_occurrence=antihub_occurrence(nk),
        n_hubs=int((nk >= HUB_FACTOR * k).sum()), top_hubs=hubs,
    )


def retrieve_lists(retriever: Retriever, rows: np.ndarray | None = None, k: int = DEFAULT_K,
                   rule: str = "nn", direction: str = "s2t", exclude_self: bool = False) -> np.ndarray:
    """k-NN lists (n_q × k target rows) from ``Retriever.search``.

    ``exclude_self`` is for a space searched against itself: each query's own row is
    dropped from its list (searched with k + 1, the self hit removed)."""
    n_q = retriever.n_src if direction == "s2t" else retriever.n_tgt
    rows = np.arange(n_q) if rows is None else np.asarray(rows, dtype=np.int64)
    if not exclude_self:
        return retriever.search(rows, k=k, rule=rule, direction=direction)[1]
    _, ids = retriever.search(rows, k=k + 1, rule=rule, direction=direction)
    out = np.empty((ids.shape[0], k), dtype=np.int64)
    for i, (r, row_ids) in enumerate(zip(rows.tolist(), ids)):
        keep = row_ids[row_ids != r]
        out[i] = keep[:k]
    return out


def hubness(retriever: Retriever, rule: str = "nn", k: int = DEFAULT_K, rows: np.ndarray | None = None,
            direction: str = "s2t", exclude_self: bool = False,
            query_words: Sequence[str] | None = None, target_words: Sequence[str] | None = None,
            top: int = 10) -> HubnessResult:
    """Hubness of ``retriever``'s queries (``rows``, default all) against its other side
    under ``rule``. See the module docstring for the formulas."""
    if rule not in RULES:
        raise ValueError(f"unknown scoring rule {rule!r}; expected one of {RULES}")
    ids = retrieve_lists(retriever, rows, k, rule, direction, exclude_self)
    n_t = retriever.n_tgt if direction == "s2t" else retriever.n_src
    if rows is not None and query_words is not None:
        query_words = [query_words[r] for r in np.asarray(rows).tolist()]
    return hubness_from_ids(ids, n_t, k, rule, target_words, query_words, top)


def hubness_by_rule(retriever: Retriever, rules: Sequence[str] = RULES, k: int = DEFAULT_K,
                    rows: np.ndarray | None = None, direction: str = "s2t", exclude_self: bool = False,
                    query_words: Sequence[str] | None = None, target_words: Sequence[str] | None = None,
                    top: int = 10) -> dict[str, HubnessResult]:
    """The same retrieval under each rule (nn, csls, isf), side by side."""
    if "isf" in rules:  # one blocked pass gives both the CSLS and the isf statistics
        retriever.base_stats("tgt" if direction == "s2t" else "src", need_lse=True)
    return {rule: hubness(retriever, rule, k, rows, direction, exclude_self, query_words, target_words, top)
            for rule in rules}


def reduction(results: dict[str, HubnessResult], baseline: str = "nn") -> dict[str, dict[str, float]]:
    """For each non-baseline rule: change of each statistic relative to ``baseline``
    (negative = less hubness), e.g. {"csls": {"skewness": -3.1, ...}}."""
    base = results.get(baseline)
    if base is None:
        return {}
    keys = ("skewness", "robin_hood", "gini", "hub_occurrence", "antihub_occurrence")
    return {rule: {key: round(getattr(r, key) - getattr(base, key), 4) for key in keys}
            for rule, r in results.items() if rule != baseline}
