"""Exact k-nearest-neighbour retrieval and the scoring rules nn, csls and isf.

All similarities are cosines (rows are unit-normalized here). k-NN is exact inner
product search with faiss ``IndexFlatIP``, run over blocks of queries so memory stays
bounded at 200,000 × 300 on both sides.

Scoring rules for a mapped source x and a target y:

- ``nn``:   cos(x, y)
- ``csls``: 2·cos(x, y) − r_T(x) − r_S(y)            (Conneau et al. 2018, "Word
  translation without parallel data"), r_T(x) = mean cosine of x to its k = 10 nearest
  targets, r_S(y) = mean cosine of y to its k nearest mapped sources, both over the
  whole loaded vocabularies.
- ``isf``:  β·cos(x, y) − log Σ_{x'} exp(β·cos(x', y))  (inverted softmax, Smith et al.
  2017, "Offline bilingual word vectors, orthogonal transformations and the inverted
  softmax"), β = 30, normalized over all source words (the log of P(y → x) with the
  softmax taken over sources).

CSLS and isf rankings are computed exactly with faiss by augmenting each target with
its penalty: [2x, −1]·[y, r_S(y)] = 2cos − r_S(y) (and [βx, −1]·[y, logZ(y)]), so no
dense queries × targets matrix is ever built.
"""

from __future__ import annotations

import numpy as np

RULES = ("nn", "csls", "isf")
DEFAULT_CSLS_K = 10
DEFAULT_ISF_BETA = 30.0
_BLOCK_ELEMS = 32 * 1024 * 1024  # floats per similarity block (128 MB)


def normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return np.ascontiguousarray(x / n, dtype=np.float32)


def _faiss():
    import faiss  # imported lazily: a heavy native module

    return faiss


def knn(queries: np.ndarray, base: np.ndarray, k: int, block: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k inner products of each query row against ``base`` rows (faiss).

    Returns ``(sims, ids)``, each (n_queries, k), sorted by decreasing similarity.
    ``k`` is clipped to the number of base rows.
    """
    faiss = _faiss()
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = int(min(k, base.shape[0]))
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    sims = np.empty((queries.shape[0], k), dtype=np.float32)
    ids = np.empty((queries.shape[0], k), dtype=np.int64)
    for a in range(0, queries.shape[0], block):
        s, i = index.search(queries[a:a + block], k)
        sims[a:a + block], ids[a:a + block] = s, i
    return sims, ids


def mean_topk_sim(queries: np.ndarray, base: np.ndarray, k: int = DEFAULT_CSLS_K, search=knn) -> np.ndarray:
    """r(q): mean cosine of each query to its k nearest base rows (the CSLS penalty);
    ``search`` is the k-NN used (exact :func:`knn` unless told)."""
    sims, _ = search(queries, base, k)
    return sims.mean(axis=1, dtype=np.float64).astype(np.float32)


def csls_knn(queries: np.ndarray, base: np.ndarray, r_base: np.ndarray, k: int,
             search=knn) -> tuple[np.ndarray, np.ndarray]:
    """Top-k base rows of each query under CSLS without the query's own penalty:
    scores 2·cos(q, y) − r(y), in decreasing order, found by one inner-product search of
    the augmented rows [2q, −1]·[y, r(y)] (``search``: exact :func:`knn` unless told).
    Subtracting the query's r(q) gives CSLS; it does not change the order."""
    aug_base = np.hstack([np.asarray(base, np.float32), np.asarray(r_base, np.float32)[:, None]])
    aug_q = np.hstack([2.0 * np.asarray(queries, np.float32), -np.ones((len(queries), 1), np.float32)])
    return search(aug_q, aug_base, k)


def _topk_kernel():
    from numba import njit, prange

    @njit(parallel=True, fastmath=True, cache=True)
    def kernel(s, k, out_mean, out_max):  # pragma: no cover - compiled
        n, m = s.shape
        for i in prange(n):
            top = np.full(k, np.float32(-np.inf), dtype=np.float32)
            mx = np.float32(-np.inf)
            for j in range(m):
                v = s[i, j]
                mx = max(mx, v)
                if v > top[k - 1]:
                    p = k - 1
                    while p > 0 and top[p - 1] < v:
                        top[p] = top[p - 1]
                        p -= 1
                    top[p] = v
            out_mean[i] = top.sum() / k
            out_max[i] = mx

    return kernel


_KERNEL = None
_POOL = None


def _sum_exp_rows(s: np.ndarray, mx: np.ndarray, beta: float) -> np.ndarray:
    """Σ_j exp(β(s_ij − mx_i)) per row, in place on ``s``; numpy's SIMD exp, 2 threads."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alignscope-exp")

    def part(a: int, b: int) -> np.ndarray:
        blk = s[a:b]
        np.subtract(blk, mx[a:b, None], out=blk)
        np.multiply(blk, np.float32(beta), out=blk)
        np.exp(blk, out=blk)
        return blk.sum(axis=1, dtype=np.float64)

    half = s.shape[0] // 2
    if half == 0:
        return part(0, s.shape[0])
    f = _POOL.submit(part, 0, half)
    second = part(half, s.shape[0])
    return np.concatenate([f.result(), second])


def topk_mean_and_logsumexp(queries: np.ndarray, base: np.ndarray, k: int = DEFAULT_CSLS_K,
                            beta: float = DEFAULT_ISF_BETA) -> tuple[np.ndarray, np.ndarray]:
    """For each query row q, in one blocked pass over ``base``:
    mean of the k largest q·b, and log Σ_b exp(β·q·b). Memory: one block at a time."""
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _topk_kernel()
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    base = np.ascontiguousarray(base, dtype=np.float32)
    k = int(min(k, base.shape[0]))
    n = queries.shape[0]
    out_mean = np.empty(n, dtype=np.float32)
    out_lse = np.empty(n, dtype=np.float64)
    out_max = np.empty(n, dtype=np.float32)
    step = max(16, _BLOCK_ELEMS // max(1, base.shape[0]))
    for a in range(0, n, step):
        s = queries[a:a + step] @ base.T
        b = a + s.shape[0]
        _KERNEL(s, k, out_mean[a:b], out_max[a:b])
        out_lse[a:b] = beta * out_max[a:b].astype(np.float64) + np.log(_sum_exp_rows(s, out_max[a:b], beta))
    return out_mean, out_lse


class Retriever:
    """Retrieval between mapped source vectors and target vectors, under nn/csls/isf.

    Both sides are unit-normalized on entry. Neighbourhood statistics (r for CSLS,
    log-normalizers for isf) are computed lazily over the whole vocabularies and cached.
    """

    def __init__(self, src_mapped: np.ndarray, tgt: np.ndarray, csls_k: int = DEFAULT_CSLS_K,
                 isf_beta: float = DEFAULT_ISF_BETA):
        self.src = normalize_rows(src_mapped)
        self.tgt = normalize_rows(tgt)
        if self.src.shape[1] != self.tgt.shape[1]:
            raise ValueError(f"mapped source has dimension {self.src.shape[1]}, target {self.tgt.shape[1]}")
        self.csls_k = int(csls_k)
        self.isf_beta = float(isf_beta)
        self._stats: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        # results of searches whose query rows are a prefix 0..m−1 of their side (how
        # dictionary induction and the criterion ask), keyed by (rule, direction, k); a
        # longer prefix computes only the rows it adds
        self._prefix: dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def n_src(self) -> int:
        return self.src.shape[0]

    @property
    def n_tgt(self) -> int:
        return self.tgt.shape[0]

    def _side(self, direction: str):
        if direction == "s2t":
            return self.src, self.tgt, "tgt"
        if direction == "t2s":
            return self.tgt, self.src, "src"
        raise ValueError(f"direction must be 's2t' or 't2s', got {direction!r}")

    def base_stats(self, which: str, need_lse: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """For every row of one side ('tgt' or 'src'): r (mean top-k cosine to the other
        side) and, if asked, log Σ exp(β·cos) over the other side."""
        have = self._stats.get(which)
        if have is not None and (have[1] is not None or not need_lse):
            return have
        rows, other = (self.tgt, self.src) if which == "tgt" else (self.src, self.tgt)
        if need_lse:
            r, lse = topk_mean_and_logsumexp(rows, other, self.csls_k, self.isf_beta)
        else:
            r, lse = mean_topk_sim(rows, other, self.csls_k), None
        self._stats[which] = (r, lse)
        return r, lse

    def search(self, rows: np.ndarray, k: int = 10, rule: str = "nn",
               direction: str = "s2t", scores: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
        """Top-k candidates for the query rows (indices into the query side).

        Returns ``(scores, ids)`` (n × k), best first; scores are in the rule's units.
        With ``scores=False`` the scores are None: CSLS then never computes the query
        side's r, which shifts a query's every score alike and so never changes its
        ranking (dictionary induction and the criterion need the ids only; one search of
        the three an S2T induction took).
        """
        if rule not in RULES:
            raise ValueError(f"unknown scoring rule {rule!r}; expected one of {RULES}")
        rows = np.asarray(rows, dtype=np.int64)
        m = len(rows)
        if m == 0 or not (rows[0] == 0 and rows[-1] == m - 1 and np.array_equal(rows, np.arange(m))):
            raw, ids = self._ranked(rows, k, rule, direction)
        else:
            key = (rule, direction, int(k))
            have_s, have_i = self._prefix.get(key, (None, None))
            done = 0 if have_s is None else len(have_s)
            if done < m:
                raw, ids = self._ranked(np.arange(done, m), k, rule, direction)
                if have_s is not None:
                    raw, ids = np.concatenate([have_s, raw]), np.concatenate([have_i, ids])
                self._prefix[key] = (raw, ids)
            else:
                raw, ids = have_s[:m], have_i[:m]
        if not scores:
            return None, ids
        return self._scores(raw, rows, rule, direction), ids

    def _scores(self, raw: np.ndarray, rows: np.ndarray, rule: str, direction: str) -> np.ndarray:
        """The rule's scores from :meth:`_ranked`'s: CSLS subtracts the queries' r."""
        if rule != "csls":
            return raw
        queries_all, base, _ = self._side(direction)
        return raw - self._query_stats(queries_all[rows], rows, base, direction)[:, None]

    def _query_stats(self, q: np.ndarray, rows: np.ndarray, base: np.ndarray, direction: str) -> np.ndarray:
        """r of the query rows (mean top-k cosine to the other side): the query side's
        cached statistics when present or when the queries cover most of the side (one
        pass serves later searches), else computed for these rows only."""
        side = "src" if direction == "s2t" else "tgt"
        n_side = self.n_src if side == "src" else self.n_tgt
        if side in self._stats or 2 * len(rows) >= n_side:
            return self.base_stats(side, need_lse=False)[0][rows]
        return mean_topk_sim(q, base, self.csls_k)

    def _ranked(self, rows: np.ndarray, k: int, rule: str, direction: str) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the top k; CSLS scores still lack the queries' r (their
        order is final)."""
        queries_all, base, base_name = self._side(direction)
        q = queries_all[rows]
        if rule == "nn":
            return knn(q, base, k)
        r_base, lse_base = self.base_stats(base_name, need_lse=(rule == "isf"))
        if rule == "csls":
            return csls_knn(q, base, r_base, k)
        # isf: log P = β cos − logZ(y); shift logZ by its max to keep float32 precise
        shift = float(lse_base.max())
        aug_base = np.hstack([base, (lse_base - shift).astype(np.float32)[:, None]])
        aug_q = np.hstack([self.isf_beta * q, -np.ones((q.shape[0], 1), np.float32)])
        s, ids = knn(aug_q, aug_base, k)
        return s - shift, ids

    def scores_for(self, rows: np.ndarray, cand: np.ndarray, rule: str, direction: str = "s2t") -> np.ndarray:
        """Scores of given (query row, candidate id) pairs under a rule; cand is (n, m)."""
        queries_all, base, base_name = self._side(direction)
        rows = np.asarray(rows, dtype=np.int64)
        q = queries_all[rows]
        cos = np.einsum("nd,nmd->nm", q, base[cand])
        if rule == "nn":
            return cos
        r_base, lse_base = self.base_stats(base_name, need_lse=(rule == "isf"))
        if rule == "csls":
            return 2 * cos - self._query_stats(q, rows, base, direction)[:, None] - r_base[cand]
        return self.isf_beta * cos - lse_base[cand]
