"""Neighbourhood agreement: does a point's neighbourhood survive the mapping?

For an alignment of a source space S (the source's own vectors s_i) into a target space
T (vectors t_j) by a mapping whose images are the *mapped* source rows x_i (the aligned
space, where x_i and t_j are compared by cosine), and for a neighbourhood size k:

- translation of a source row through the mapping: τ(i) = argmax_j cos(x_i, t_j), its
  nearest target in the aligned space; of a target row back: σ(j) = argmax_i
  cos(t_j, x_i), its nearest mapped source (the same mapping, read the other way).
- N_S(i): the k source rows nearest to s_i by cosine *in the source's own space*, s_i
  itself left out; N_T(j) likewise in the target space; X_T(i): the k targets nearest to
  x_i in the aligned space *after its translation* τ(i) (ranks 2 … k + 1); T_X(j): the
  k mapped sources nearest to t_j after σ(j).

**Source-side agreement** (the Embedding Comparator's view of one word in two spaces,
Boggust, Carter, Satyanarayan 2022, "Embedding Comparator: Visualizing Differences in
Global Structure and Local Neighborhoods via Small Multiples", IUI): the Jaccard index of
the point's source neighbours carried through the mapping with its nearest targets,

    a_S(i) = |τ(N_S(i)) ∩ X_T(i)| / |τ(N_S(i)) ∪ X_T(i)|    (τ applied element-wise, as a set)

The point and its translation are left out of the two sets because they are paired by
definition: they would add a shared element to every pair of sets, a floor of
1 / (2k − 1) even for a mapping that keeps no neighbourhood.

**Target-side analogue**: the point's target neighbours carried back through the mapping
(each one's nearest mapped source), against the source-space neighbourhood of the point's
own translation σ(j),

    a_T(j) = |σ(N_T(j)) ∩ N_S(σ(j))| / |σ(N_T(j)) ∪ N_S(σ(j))|

Both are in [0, 1]; both use the two spaces' own geometries, so a mapping that puts each
word beside the wrong word gives ≈ 0 on both sides even where the mapped rows, taken
alone, are as well-spread as the targets (a mapping that shuffles the words), and an
exact rotation mapped back gives 1. A wrong but smooth mapping (a random rotation) keeps
some agreement on the source side (0.17 on 12 clustered blobs, k = 10, against 0.01 for
a shuffle), since nearby mapped rows find nearby targets wherever they land. On the
bundled fi → fr sample after supervised Procrustes (5,000 rows a side, k = 10) the mean
a_S is 0.17 and a_T 0.11, against 0.08 and 0.01 under a random orthogonal W: a clear
signal on average, a weak one per word (mean a_S 0.20 for source words whose nearest
target is gold, 0.20 for the others). Low agreement marks words whose mapped neighbourhood does
not match where they land: candidates for a bad alignment or a bad dictionary entry.

With ``src=None`` the source's own space is taken to be the mapped rows (the same
neighbourhoods as the source's when the mapping is orthogonal, as Procrustes' is).

Hub occurrence per point (the k-occurrence N_k of :mod:`alignment_core.diagnostics.hubness`,
Radovanović et al. 2010) comes from the same k-NN lists: for a target, the number of
mapped sources that have it among their k nearest targets (the Diagnostics' N_k, rule nn,
source → target); for a source, the number of targets that have it among their k
nearest mapped sources.

Every search is exact, with :func:`alignment_core.retrieval.knn` (faiss): four searches
of k + 1 (S→S, X→T, T→T, T→X), O((n_s + n_t)² d) in all. The core never imports streamlit or
plotly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .retrieval import knn, normalize_rows

DEFAULT_K = 10
CORRECT, WRONG, UNKNOWN = 1, 0, -1


def jaccard_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Jaccard index of the sets of ids in ``a`` (n × p, repeats allowed) and
    ``b`` (n × q, repeats allowed): |A ∩ B| / |A ∪ B| per row (1.0 for two empty rows)."""
    a = np.sort(np.asarray(a, dtype=np.int64), axis=1)
    b = np.sort(np.asarray(b, dtype=np.int64), axis=1)
    first_a = np.ones(a.shape, dtype=bool)
    first_a[:, 1:] = a[:, 1:] != a[:, :-1]
    first_b = np.ones(b.shape, dtype=bool)
    first_b[:, 1:] = b[:, 1:] != b[:, :-1]
    inter = ((a[:, :, None] == b[:, None, :]).any(axis=2) & first_a).sum(axis=1)
    union = first_a.sum(axis=1) + first_b.sum(axis=1) - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0).astype(np.float64)


def drop_self(ids: np.ndarray, k: int) -> np.ndarray:
    """k-NN lists of a set searched against itself with k + 1: each row without its own
    id (wherever ties put it), or without the last id when it is absent (exact duplicates)."""
    ids = np.asarray(ids, dtype=np.int64)
    own = np.arange(ids.shape[0])[:, None]
    keep = ids != own
    no_self = keep.all(axis=1)
    keep[no_self, -1] = False
    return ids[keep].reshape(ids.shape[0], ids.shape[1] - 1)[:, :k]


@dataclass(frozen=True)
class NeighbourhoodAgreement:
    """Per-point agreement of a map's ``n_s`` source and ``n_t`` target rows and the k-NN
    lists it was computed from (row ids within each side, best first)."""

    k: int
    src: np.ndarray           #: a_S, (n_s,)
    tgt: np.ndarray           #: a_T, (n_t,)
    src_src: np.ndarray       #: N_S(i): (n_s, k) source rows, source space, itself left out
    src_tgt: np.ndarray       #: (n_s, k + 1) targets nearest to x_i, aligned space: τ(i), then X_T(i)
    tgt_tgt: np.ndarray       #: N_T(j): (n_t, k) target rows, target space, itself left out
    tgt_src: np.ndarray       #: (n_t, k + 1) mapped sources nearest to t_j, aligned space: σ(j), then T_X(j)
    src_cos: np.ndarray       #: cos(x_i, t_τ(i)), (n_s,)
    tgt_cos: np.ndarray       #: cos(t_j, x_σ(j)), (n_t,)

    @property
    def n_src(self) -> int:
        return int(self.src.shape[0])

    @property
    def n_tgt(self) -> int:
        return int(self.tgt.shape[0])

    @property
    def values(self) -> np.ndarray:
        """Agreement of every point, source rows first (n_s + n_t,)."""
        return np.concatenate([self.src, self.tgt])

    @property
    def translation(self) -> np.ndarray:
        """τ for the source rows then σ for the target rows: each point's nearest row of the
        other side in the aligned space (a row id within that side), (n_s + n_t,)."""
        return np.concatenate([self.src_tgt[:, 0], self.tgt_src[:, 0]])

    @property
    def translation_cos(self) -> np.ndarray:
        return np.concatenate([self.src_cos, self.tgt_cos])

    def hub_occurrence(self) -> np.ndarray:
        """N_k of every point (source rows first, see the module docstring), from
        :func:`alignment_core.diagnostics.hubness.k_occurrence` over the k nearest rows of
        the other side."""
        from .diagnostics.hubness import k_occurrence

        k = self.k
        return np.concatenate([k_occurrence(self.tgt_src[:, :k], self.n_src),
                               k_occurrence(self.src_tgt[:, :k], self.n_tgt)])

    def least(self, n: int | None = None) -> np.ndarray:
        """Rows (source rows first, as in :attr:`values`) by increasing agreement, ties by
        increasing cosine to the translation (the least sure first), then by row; the first
        ``n`` of them."""
        order = np.lexsort((np.arange(self.n_src + self.n_tgt), self.translation_cos, self.values))
        return order if n is None else order[:n]

    def neighbours(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(own-space neighbours, other-space neighbours) of a point, k of each, as rows in
        the joint numbering (source rows first, then targets at ``n_s + j``): its k nearest
        in its own space (itself left out) and its k nearest of the other side in the
        aligned space (its translation first)."""
        row = int(row)
        k = self.k
        if 0 <= row < self.n_src:
            own, other = self.src_src[row], self.n_src + self.src_tgt[row, :k]
        elif self.n_src <= row < self.n_src + self.n_tgt:
            j = row - self.n_src
            own, other = self.n_src + self.tgt_tgt[j], self.tgt_src[j, :k]
        else:
            raise IndexError(f"row {row} is outside the {self.n_src} + {self.n_tgt} points")
        return own.astype(np.int64), other.astype(np.int64)
    def correctness(self, gold_pairs: np.ndarray | None) -> np.ndarray:
        """Whether each point's translation (:attr:`translation`) is gold: ``CORRECT`` (1),
        ``WRONG`` (0), or ``UNKNOWN`` (−1) for a point with no gold partner among the
        shown rows. ``gold_pairs``: int m × 2 (source row, target row); a target's gold
        partners are the sources paired with it."""
        n_s, n_t = self.n_src, self.n_tgt
        out = np.full(n_s + n_t, UNKNOWN, dtype=np.int8)
        if gold_pairs is None:
            return out
        gp = np.asarray(gold_pairs, dtype=np.int64).reshape(-1, 2)
        gp = gp[(gp[:, 0] >= 0) & (gp[:, 0] < n_s) & (gp[:, 1] >= 0) & (gp[:, 1] < n_t)]
        if not len(gp):
            return out
        gold = {(int(a), int(b)) for a, b in gp.tolist()}
        out[np.unique(gp[:, 0])] = WRONG
        out[n_s + np.unique(gp[:, 1])] = WRONG
        tau, sigma = self.src_tgt[:, 0], self.tgt_src[:, 0]
        for a, b in gold:
            if tau[a] == b:
                out[a] = CORRECT
            if sigma[b] == a:
                out[n_s + b] = CORRECT
        return out


def neighbourhood_agreement(mapped: np.ndarray, tgt: np.ndarray, src: np.ndarray | None = None,
                            k: int = DEFAULT_K, search=None) -> NeighbourhoodAgreement:
    """Neighbourhood agreement of every mapped source row and every target row (see the
    module docstring for a_S and a_T).

    ``mapped`` (n_s × d): the source rows in the aligned space; ``tgt`` (n_t × d): the
    target rows; ``src`` (n_s × d_s, any d_s): the same source rows in the source's own
    space (default: ``mapped``). ``k`` is clipped to the smaller side less one.
    ``search(queries, base, k) → (sims, ids)``: the k-NN search (default: exact,
    :func:`alignment_core.retrieval.knn`; the map's worker passes
    :func:`alignment_core.projection.map_knn`, approximate beyond 20,000 rows a side)."""
    x = normalize_rows(mapped)
    t = normalize_rows(tgt)
    s = x if src is None else normalize_rows(src)
    n_s, n_t = x.shape[0], t.shape[0]
    if x.shape[1] != t.shape[1]:
        raise ValueError(f"the mapped source is {x.shape[1]}-d and the target {t.shape[1]}-d: "
                         "they must share the aligned space")
    if s.shape[0] != n_s:
        raise ValueError(f"src has {s.shape[0]} rows for {n_s} mapped source rows")
    if n_s < 2 or n_t < 2:
        raise ValueError("both sides need at least two rows")
    k = int(max(1, min(k, n_s - 1, n_t - 1)))
    search = search or knn
    _, ss = search(s, s, k + 1)
    xt_cos, xt = search(x, t, k + 1)
    _, tt = search(t, t, k + 1)
    tx_cos, tx = search(t, x, k + 1)
    ss, tt = drop_self(ss, k), drop_self(tt, k)
    tau, sigma = xt[:, 0], tx[:, 0]
    a_s = jaccard_rows(tau[ss], xt[:, 1:])
    a_t = jaccard_rows(sigma[tt], ss[sigma])
    return NeighbourhoodAgreement(k=k, src=a_s, tgt=a_t, src_src=ss, src_tgt=xt, tgt_tgt=tt, tgt_src=tx,
                                  src_cos=xt_cos[:, 0].astype(np.float64), tgt_cos=tx_cos[:, 0].astype(np.float64))


def save_agreement(ag: NeighbourhoodAgreement, path) -> None:
    """``ag`` as one .npz of plain arrays (read back by :func:`load_agreement`; no pickle)."""
    np.savez(path, k=np.int64(ag.k), **{f.name: getattr(ag, f.name) for f in fields(ag) if f.name != "k"})


def load_agreement(path) -> NeighbourhoodAgreement:
    with np.load(path, allow_pickle=False) as z:
        return NeighbourhoodAgreement(k=int(z["k"]), **{f.name: z[f.name] for f in fields(NeighbourhoodAgreement)
                                                          if f.name != "k"})
