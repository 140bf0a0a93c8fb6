"""How faithfully a 2-D map of two aligned spaces reports the alignment.

A map of ``n_s`` mapped-source rows followed by ``n_t`` target rows is judged against
the aligned space it was drawn from, always on the same points (the ones shown):

- **map P@k** (k = 10): the queries are the shown source points with at least one gold
  translation among the shown targets; a query is a hit when a gold target is among its
  k nearest *target* points on the map (Euclidean in 2-D). Beside it, **aligned P@k**:
  the same queries, the k nearest shown targets by cosine in the aligned space (faiss,
  :func:`alignment_core.retrieval.knn`). The BLI protocol of Conneau et al. 2018
  ("Word translation without parallel data"), restricted to the shown points.
  A faithful map has map P@k close to aligned P@k: a good alignment looks good, a failed
  one looks failed.
- **mixing** (m = 15): for each point i, the share of its m nearest neighbours among all
  shown points (itself excluded) that come from the other space,
  mix = (1/N) Σ_i |{j ∈ N_m(i) : side(j) ≠ side(i)}| / m, on the map and in the aligned
  space (cosine). Two languages drawn on separate islands have map mixing ≪ aligned
  mixing; a map that forces the spaces together has map mixing ≫ aligned mixing.
- **trustworthiness** T(k) (Venna & Kaski 2001, k = 10), see
  :func:`alignment_core.projection.trustworthiness`. It needs n × n ranks, so it is
  computed on a seeded random subsample (2,000 points by default) with neighbourhoods
  taken *within the subsample*, both in the aligned space and on the map.

Mixing is averaged over a seeded random sample of ``mix_sample`` (4,000) query points
when there are more (their neighbours are still searched among all points; the
standard error of the estimate is below 0.01), so 2 × 50,000 points cost seconds. The core never imports streamlit or
plotly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .retrieval import knn, normalize_rows

K_RETRIEVAL = 10
K_MIXING = 15
TRUST_SAMPLE = 2000
TRUST_K = 10
MIX_SAMPLE = 4_000


@dataclass(frozen=True)
class Faithfulness:
    """Faithfulness numbers of one map (all shares in [0, 1])."""

    n_src: int
    n_tgt: int
    n_queries: int               #: dictionary queries among the shown points
    map_p: float | None          #: map P@k (None without queries)
    aligned_p: float | None      #: aligned-space P@k on the same queries
    map_mixing: float            #: mean share of cross-space points among the m map neighbours
    aligned_mixing: float        #: the same in the aligned space (cosine)
    trustworthiness: float | None
    trust_sample: int            #: points in the trustworthiness subsample
    mix_sample: int              #: query points of the mixing estimate
    k: int = K_RETRIEVAL
    m: int = K_MIXING
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def p_ratio(self) -> float | None:
        """map P@k / aligned P@k (None when the aligned P@k is 0 or unknown)."""
        if self.map_p is None or not self.aligned_p:
            return None
        return self.map_p / self.aligned_p

    def reading(self) -> str:
        """One line saying whether the map can be trusted for this alignment."""
        parts = []
        if self.map_p is not None and self.aligned_p is not None:
            if self.aligned_p < 0.05:
                parts.append(f"the alignment itself finds almost no translations (aligned P@{self.k} "
                             f"{self.aligned_p:.0%}), and the map shows that (map {self.map_p:.0%})")
            elif self.map_p >= 0.85 * self.aligned_p:
                parts.append(f"translations found in the aligned space are near each other on the map "
                             f"(map P@{self.k} {self.map_p:.0%} of the aligned {self.aligned_p:.0%})")
            else:
                parts.append(f"the map hides some translations: map P@{self.k} {self.map_p:.0%} against "
                             f"{self.aligned_p:.0%} in the aligned space, so judge the alignment by the numbers")
        dm = self.map_mixing - self.aligned_mixing
        if abs(dm) <= 0.05 and self.aligned_mixing < 0.05:
            parts.append(f"the two spaces are drawn apart, as they are in the aligned space "
                         f"(mixing {self.map_mixing:.0%} on the map, {self.aligned_mixing:.0%} aligned)")
        elif abs(dm) <= 0.05:
            parts.append(f"the two spaces are as interleaved as in the aligned space ({self.map_mixing:.0%})")
        elif dm < 0:
            parts.append(f"the spaces look more separate than they are (mixing {self.map_mixing:.0%} "
                         f"on the map, {self.aligned_mixing:.0%} in the aligned space)")
        else:
            parts.append(f"the spaces look more mixed than they are (mixing {self.map_mixing:.0%} "
                         f"on the map, {self.aligned_mixing:.0%} in the aligned space)")
        if self.trustworthiness is not None and self.trustworthiness < 0.9:
            parts.append(f"neighbourhoods are only partly kept (trustworthiness {self.trustworthiness:.2f})")
        s = "; ".join(parts)
        return s[:1].upper() + s[1:] + "."


def gold_targets(src_words: Sequence[str], tgt_words: Sequence[str],
                 gold: Mapping[str, Iterable[str]] | Iterable[tuple[str, str]]) -> list[np.ndarray]:
    """For each shown source word, the rows (0-based among the shown targets) of its gold
    translations that are shown; an empty array when it has none. ``gold`` is a
    source → translations mapping or an iterable of (source, target) pairs."""
    if not isinstance(gold, Mapping):
        m: dict[str, list[str]] = {}
        for s, t in gold:
            m.setdefault(s, []).append(t)
        gold = m
    tpos = {w: i for i, w in enumerate(tgt_words)}
    out = []
    for w in src_words:
        rows = sorted({tpos[t] for t in gold.get(w, ()) if t in tpos})
        out.append(np.asarray(rows, dtype=np.int64))
    return out


def gold_pairs(src_words: Sequence[str], tgt_words: Sequence[str],
               pairs: Iterable[tuple[str, str]]) -> np.ndarray:
    """(source row, target row) int64 m × 2 of the dictionary ``pairs`` whose two words
    are both shown (row = position among the shown words), duplicates removed."""
    spos = {w: i for i, w in enumerate(src_words)}
    tpos = {w: i for i, w in enumerate(tgt_words)}
    rows = sorted({(spos[s], tpos[t]) for s, t in pairs if s in spos and t in tpos})
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def gold_lists(pairs: np.ndarray, n_src: int, n_tgt: int) -> list[np.ndarray]:
    """:func:`gold_pairs` rows as one array of target rows per source row (the ``gold``
    argument of :func:`faithfulness`); pairs outside the ranges are ignored."""
    out: list[list[int]] = [[] for _ in range(n_src)]
    for a, b in np.asarray(pairs, dtype=np.int64).reshape(-1, 2).tolist():
        if 0 <= a < n_src and 0 <= b < n_tgt:
            out[a].append(b)
    return [np.asarray(sorted(set(g)), dtype=np.int64) for g in out]


def _map_knn(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k nearest ``base`` points of each query in the plane (Euclidean)."""
    from scipy.spatial import cKDTree

    k = int(min(k, base.shape[0]))
    _, ids = cKDTree(np.asarray(base, np.float64)).query(np.asarray(queries, np.float64), k=k)
    return np.asarray(ids, dtype=np.int64).reshape(len(queries), k)


def _hits(ids: np.ndarray, gold: list[np.ndarray]) -> np.ndarray:
    return np.array([np.isin(ids[i], g).any() for i, g in enumerate(gold)], dtype=bool)


def retrieval_precision(src_x: np.ndarray, tgt_x: np.ndarray, coords: np.ndarray,
                        gold: list[np.ndarray], k: int = K_RETRIEVAL) -> tuple[int, float | None, float | None]:
    """(queries, map P@k, aligned P@k) for the source rows with a shown gold target.

    ``coords`` (n_s + n_t, 2): the source rows first. ``gold[i]``: target rows of
    source i's translations (from :func:`gold_targets`)."""
    n_s = src_x.shape[0]
    q = np.array([i for i, g in enumerate(gold) if len(g)], dtype=np.int64)
    if len(q) == 0:
        return 0, None, None
    gq = [gold[i] for i in q.tolist()]
    map_ids = _map_knn(coords[n_s:], coords[q], k)
    _, al_ids = knn(normalize_rows(src_x[q]), normalize_rows(tgt_x), k)
    return int(len(q)), float(_hits(map_ids, gq).mean()), float(_hits(al_ids, gq).mean())


def _mix_queries(n: int, sample: int | None, seed: int) -> np.ndarray:
    if sample is not None and n > sample:
        return np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    return np.arange(n)


def _cross_share(ids: np.ndarray, q: np.ndarray, side: np.ndarray) -> float:
    own = q[:, None]
    keep = ids != own                       # drop the point itself (wherever ties put it)
    # rows where itself was not among the m + 1 (exact duplicates): drop the last
    no_self = keep.all(axis=1)
    keep[no_self, -1] = False
    cross = (side[ids] != side[own]) & keep
    return float((cross.sum(axis=1) / keep.sum(axis=1)).mean())


def map_mixing(coords: np.ndarray, n_s: int, m: int = K_MIXING, sample: int | None = MIX_SAMPLE,
               seed: int = 0) -> float:
    """Mixing on the map ``coords`` (the ``n_s`` source rows first; Euclidean in 2-D)."""
    coords = np.asarray(coords, np.float64)
    n = coords.shape[0]
    q = _mix_queries(n, sample, seed)
    return _cross_share(_map_knn(coords, coords[q], int(min(m, n - 1)) + 1), q, np.arange(n) >= n_s)


def aligned_mixing(src_x: np.ndarray, tgt_x: np.ndarray, m: int = K_MIXING, sample: int | None = MIX_SAMPLE,
                   seed: int = 0) -> float:
    """Mixing in the aligned space (cosine, faiss) of ``[src_x; tgt_x]``."""
    x = normalize_rows(np.vstack([np.asarray(src_x, np.float32), np.asarray(tgt_x, np.float32)]))
    n = x.shape[0]
    q = _mix_queries(n, sample, seed)
    _, ids = knn(x[q], x, int(min(m, n - 1)) + 1)
    return _cross_share(ids, q, np.arange(n) >= src_x.shape[0])


def mixing(src_x: np.ndarray, tgt_x: np.ndarray, coords: np.ndarray, m: int = K_MIXING,
           sample: int | None = MIX_SAMPLE, seed: int = 0) -> tuple[float, float, int]:
    """(map mixing, aligned mixing, query points): the mean share of other-space points
    among each point's m nearest neighbours (itself excluded), on the map (Euclidean)
    and in the aligned space (cosine, faiss). Beyond ``sample`` points the mean is over a
    seeded random sample of query points; neighbours are always searched among all."""
    n_s = src_x.shape[0]
    n = n_s + tgt_x.shape[0]
    return (map_mixing(coords, n_s, m, sample, seed), aligned_mixing(src_x, tgt_x, m, sample, seed),
            n if sample is None else int(min(n, sample)))


def trust_subsample(x: np.ndarray, coords: np.ndarray, n: int = TRUST_SAMPLE, k: int = TRUST_K,
                    seed: int = 0) -> tuple[float, int]:
    """(T(k), points): trustworthiness on a seeded random subsample of ``n`` rows, with
    neighbourhoods within the subsample (T is O(n²) in memory)."""
    from .projection import trustworthiness

    total = x.shape[0]
    if total <= k + 2:
        return 1.0, total
    idx = np.arange(total) if total <= n else np.sort(np.random.default_rng(seed).choice(total, n, replace=False))
    return trustworthiness(x[idx], np.asarray(coords, np.float32)[idx], k=k), int(len(idx))


def faithfulness(src_x: np.ndarray, tgt_x: np.ndarray, coords: np.ndarray, gold: list[np.ndarray],
                 k: int = K_RETRIEVAL, m: int = K_MIXING, trust_n: int = TRUST_SAMPLE,
                 mix_sample: int | None = MIX_SAMPLE, seed: int = 0) -> Faithfulness:
    """All faithfulness numbers of the map ``coords`` of ``[src_x; tgt_x]`` (see the module
    docstring). ``gold`` from :func:`gold_targets` (one entry per source row)."""
    t0 = time.perf_counter()
    src_x = np.asarray(src_x, np.float32)
    tgt_x = np.asarray(tgt_x, np.float32)
    coords = np.asarray(coords, np.float64)
    n_s, n_t = src_x.shape[0], tgt_x.shape[0]
    if coords.shape != (n_s + n_t, 2):
        raise ValueError(f"coords must be ({n_s + n_t}, 2) for {n_s} source + {n_t} target rows, "
                         f"got {coords.shape}")
    if len(gold) != n_s:
        raise ValueError(f"gold must have one entry per source row ({n_s}), got {len(gold)}")
    nq, mp, ap = retrieval_precision(src_x, tgt_x, coords, gold, k)
    mmap, mal, nmix = mixing(src_x, tgt_x, coords, m, mix_sample, seed)
    tw, nt = trust_subsample(np.vstack([src_x, tgt_x]), coords, trust_n, seed=seed)
    return Faithfulness(n_src=n_s, n_tgt=n_t, n_queries=nq, map_p=mp, aligned_p=ap, map_mixing=mmap,
                        aligned_mixing=mal, trustworthiness=tw, trust_sample=nt, mix_sample=nmix, k=k, m=m,
                        seconds=round(time.perf_counter() - t0, 3))
