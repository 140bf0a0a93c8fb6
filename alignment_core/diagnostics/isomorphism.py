"""How isomorphic are two embedding spaces? Measures from the BLI literature.

Every unpaired measure is computed on the ``n`` most frequent words of each side
(default 5,000) after ``renorm,center,renorm`` of that sample (:func:`prepare`); the
paired measures use dictionary pairs (anchors). Conventions, fixed here:

- Eigenvector similarity (Søgaard, Ruder & Vulić 2018, "On the limitations of
  unsupervised bilingual dictionary induction"): the k-NN graph of each side
  (k = 10, cosine, exact k-NN from :func:`alignment_core.retrieval.knn`), made
  undirected (A = max(A, Aᵀ), binary), Laplacian L = D − A; with λ₁ ≥ λ₂ ≥ … the
  eigenvalues sorted in decreasing order, Δ = Σ_{i=1..m} (λᵢ(L₁) − λᵢ(L₂))².
  The reference chooses m as the smallest number of eigenvalues holding 90 % of the
  spectrum's sum; sorted that way it keeps most of the n eigenvalues (a dense O(n³)
  eigendecomposition, minutes at n = 5,000). We fix **m = 100** (the 100 largest,
  by the sparse Lanczos solver ``scipy.sparse.linalg.eigsh``), so values are
  comparable across runs. 0 for identical graphs (an isometric copy).
- Gromov-Hausdorff proxy (Patra et al. 2019, "Bilingual lexicon induction with
  semi-supervision in non-isometric embedding spaces"): the bottleneck distance
  between the 0-dimensional persistence diagrams of the Vietoris-Rips filtrations of
  the two point clouds under d(x, y) = √(2 − 2cos(x, y)). Every 0-dim class is born
  at 0 and dies at an edge length of the minimum spanning tree (Kruskal's algorithm
  is the 0-dim persistence algorithm), so each diagram is the multiset of MST edge
  lengths and the bottleneck distance is computed exactly on the line (see
  :func:`bottleneck_distance_0dim`); no topology library.
- Relational similarity (Vulić, Ruder & Søgaard 2020, "Are all good word vector
  spaces isomorphic?"): for the first 1,000 dictionary pairs (sᵢ, tᵢ) (unique source
  and unique target words), the Pearson correlation between {cos(sᵢ, sⱼ)}_{i<j} and
  {cos(tᵢ, tⱼ)}_{i<j}. 1 for an isometric copy.
- Spectral measures (Dubossarsky, Vulić, Reichart & Korhonen 2020, "The secret is in
  the spectra"): with σ₁ ≥ … ≥ σ_d the singular values of the n × d matrix,
  effective rank erank = exp(−Σ pᵢ log pᵢ), pᵢ = σᵢ / Σσ (Roy & Vetterli 2007);
  effective condition number κ_eff = σ₁ / σ_{⌊erank⌋}; ECOND-HM = 2κ₁κ₂/(κ₁ + κ₂)
  (higher = harder to align); singular value gap SVG = Σ_{i ≤ min(d₁,d₂)}
  (log σᵢ¹ − log σᵢ²)² (0 for an isometric copy).
- Procrustes bound (in the spirit of Maystre et al. 2025): on m paired anchors
  (rows of X and Y), ε = ‖XXᵀ − YYᵀ‖_F. The best orthogonal alignment error
  R* = min_Q ‖XQ − Y‖_F is sandwiched:
    ε / (‖X‖₂ + ‖Y‖₂) ≤ R* ≤ ‖XXᵀ − YYᵀ‖_*^{1/2} ≤ (d₁ + d₂)^{1/4} · ε^{1/2}.
  Lower: XXᵀ − YYᵀ = (XQ − Y)(XQ)ᵀ + Y(XQ − Y)ᵀ. Upper: R*² is the squared
  Bures-Wasserstein distance between XXᵀ and YYᵀ, which is at most
  ‖(XXᵀ)^{1/2} − (YYᵀ)^{1/2}‖_F² ≤ ‖XXᵀ − YYᵀ‖_* (Powers-Størmer), and
  ‖M‖_* ≤ √rank(M)·‖M‖_F with rank ≤ d₁ + d₂. We report ε, these bounds and the
  actual residual of :func:`alignment_core.mapping.procrustes` side by side.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from ..embeddings import Embeddings
from ..mapping import apply_mapping, procrustes
from ..retrieval import knn

DEFAULT_N = 5000
GRAPH_K = 10
EIGEN_M = 100
RELATIONAL_PAIRS = 1000
ISO_NORMALIZATION = "renorm,center,renorm"


def prepare(emb: Embeddings | np.ndarray, n: int = DEFAULT_N) -> np.ndarray:
    """The ``n`` first (most frequent) rows after renorm,center,renorm, float32."""
    if isinstance(emb, Embeddings):
        return emb.head(n).normalize(ISO_NORMALIZATION).vectors
    e = Embeddings(tuple(str(i) for i in range(min(n, len(emb)))), np.asarray(emb)[:n])
    return e.normalize(ISO_NORMALIZATION).vectors


# --------------------------------------------------------------------------- graph spectra


def knn_adjacency(x: np.ndarray, k: int = GRAPH_K) -> sp.csr_matrix:
    """Undirected binary k-NN graph (cosine; self excluded), A = max(A, Aᵀ)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[0]
    _, ids = knn(x, x, k + 1)
    rows = np.repeat(np.arange(n), k)
    cols = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        keep = ids[i][ids[i] != i]
        cols[i] = keep[:k]
    a = sp.csr_matrix((np.ones(n * k), (rows, cols.ravel())), shape=(n, n))
    return a.maximum(a.T).tocsr()


def laplacian_spectrum(x: np.ndarray, k: int = GRAPH_K, m: int = EIGEN_M) -> np.ndarray:
    """The m largest eigenvalues of L = D − A of the k-NN graph, decreasing (``eigsh``)."""
    a = knn_adjacency(x, k)
    n = a.shape[0]
    deg = np.asarray(a.sum(axis=1)).ravel()
    lap = (sp.diags(deg) - a).astype(np.float64).tocsr()
    m = min(m, n - 1)
    if n <= 2 * m + 1:  # tiny graphs: the dense solver is exact and instant
        vals = np.linalg.eigvalsh(lap.toarray())
    else:
        v0 = np.full(n, 1.0 / np.sqrt(n)) + np.sin(np.arange(n))  # fixed start: deterministic
        # a wider Krylov space (3m, 5x faster than the default 2m+1), and one BLAS thread:
        # Lanczos does small matrix-vector products where threads only contend (20x slower
        # with 2 OpenBLAS threads on a busy 2-core machine)
        with _one_blas_thread():
            vals = eigsh(lap, k=m, which="LA", return_eigenvectors=False, v0=v0, tol=1e-8, ncv=min(n, 3 * m))
    return np.sort(vals)[::-1][:m]


@contextmanager
def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn (umap-learn)
    except ImportError:  # pragma: no cover - the limit is only a speed-up
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def eigenvector_similarity(x: np.ndarray, y: np.ndarray, k: int = GRAPH_K, m: int = EIGEN_M) -> float:
    """Δ = Σ_{i ≤ m} (λᵢ(L_x) − λᵢ(L_y))², λ decreasing (Søgaard et al. 2018; m fixed at 100)."""
    lx = laplacian_spectrum(x, k, m)
    ly = laplacian_spectrum(y, k, m)
    j = min(len(lx), len(ly))
    return float(np.sum((lx[:j] - ly[:j]) ** 2))


# --------------------------------------------------------------------------- Gromov-Hausdorff proxy


def mst_edge_lengths(x: np.ndarray) -> np.ndarray:
    """Edge lengths of the Euclidean minimum spanning tree of unit rows, d = √(2 − 2cos),
    sorted increasing: the death times of the 0-dim Rips persistence diagram.

    Prim's algorithm on the dense distance matrix, O(n²) time and memory with numpy
    vector updates (0.2 s at n = 5,000, where scipy's ``minimum_spanning_tree`` on the
    dense matrix takes ~9 s converting it to a sparse graph of n² edges; the tests
    check both give the same tree lengths)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        return np.zeros(0)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = x @ x.T  # turned in place into squared distances (= 2 − 2cos for unit rows)
    d2 *= -2.0
    d2 += sq[:, None]
    d2 += sq[None, :]
    np.maximum(d2, 0, out=d2)
    remaining = np.arange(1, n)
    best = d2[0, 1:].copy()
    lengths = np.empty(n - 1)
    for i in range(n - 1):
        j = int(np.argmin(best))
        lengths[i] = best[j]
        node = remaining[j]
        last = remaining.size - 1
        remaining[j], best[j] = remaining[last], best[last]
        remaining, best = remaining[:last], best[:last]
        if last:
            np.minimum(best, d2[node, remaining], out=best)
    return np.sort(np.sqrt(lengths))


def _cover(big: np.ndarray, other: np.ndarray, t: float) -> bool:
    """Can every value in ``big`` (sorted) be matched to a distinct value of ``other``
    (sorted) within distance t? Greedy: smallest unused ``other`` ≥ value − t."""
    j = 0
    m = other.size
    for a in big:
        lo = a - t
        while j < m and other[j] < lo:
            j += 1
        if j == m or other[j] > a + t:
            return False
        j += 1
    return True


def bottleneck_distance_0dim(a: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> float:
    """Bottleneck distance between two 0-dim persistence diagrams whose points are
    (0, aᵢ) and (0, bⱼ) (all births at 0), L∞ ground metric:
    d_B = min over partial matchings of max(|aᵢ − bⱼ| matched, aᵢ/2 unmatched → diagonal).

    For a threshold t, points with value > 2t must be matched. By the
    Mendelsohn-Dulmage theorem a matching covering both required sets exists iff one
    covers the required a's and one covers the required b's; each is checked greedily
    on the sorted line. Bisection on t to ``tol``."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.sort(np.asarray(b, dtype=np.float64))
    hi = max(a.max(initial=0.0), b.max(initial=0.0)) / 2.0

    def feasible(t: float) -> bool:
        return _cover(a[a > 2 * t], b, t) and _cover(b[b > 2 * t], a, t)

    lo = 0.0
    if feasible(lo):
        return 0.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if feasible(mid):
            hi = mid
        else:
            lo = mid
    return float(hi)


def gromov_hausdorff(x: np.ndarray, y: np.ndarray) -> float:
    """Patra et al. (2019) proxy: bottleneck distance of the 0-dim Rips diagrams (MST lengths)."""
    return bottleneck_distance_0dim(mst_edge_lengths(x), mst_edge_lengths(y))


# --------------------------------------------------------------------------- paired measures


def unique_pairs(pairs: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Pairs in order, keeping a pair only if neither its source nor its target row was seen."""
    seen_s: set[int] = set()
    seen_t: set[int] = set()
    out = []
    for s, t in np.asarray(pairs, dtype=np.int64).reshape(-1, 2).tolist():
        if s in seen_s or t in seen_t:
            continue
        seen_s.add(s)
        seen_t.add(t)
        out.append((s, t))
        if limit is not None and len(out) >= limit:
            break
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def relational_similarity(xs: np.ndarray, ys: np.ndarray) -> float:
    """Pearson correlation of the within-language cosines cos(xᵢ, xⱼ) and cos(yᵢ, yⱼ),
    i < j, of paired rows (Vulić et al. 2020)."""
    xs = _unit(xs)
    ys = _unit(ys)
    if xs.shape[0] < 3:
        return float("nan")
    iu = np.triu_indices(xs.shape[0], k=1)
    a = (xs @ xs.T)[iu]
    b = (ys @ ys.T)[iu]
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def singular_values(x: np.ndarray) -> np.ndarray:
    """Singular values of x, decreasing (float64)."""
    return np.linalg.svd(np.asarray(x, dtype=np.float64), compute_uv=False)


def effective_rank(sv: np.ndarray) -> float:
    """exp(H(p)), pᵢ = σᵢ / Σσ (Roy & Vetterli 2007)."""
    s = np.asarray(sv, dtype=np.float64)
    s = s[s > 0]
    p = s / s.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


def effective_condition_number(sv: np.ndarray) -> float:
    """κ_eff = σ₁ / σ_{⌊erank⌋} (Dubossarsky et al. 2020)."""
    s = np.asarray(sv, dtype=np.float64)
    r = max(1, int(np.floor(effective_rank(s))))
    return float(s[0] / s[r - 1])


def econd_hm(kx: float, ky: float) -> float:
    """Harmonic mean 2κ₁κ₂/(κ₁ + κ₂) of the effective condition numbers."""
    return float(2 * kx * ky / (kx + ky))


def singular_value_gap(sx: np.ndarray, sy: np.ndarray) -> float:
    """Σ_{i ≤ min(d₁,d₂)} (log σᵢ(X) − log σᵢ(Y))² (Dubossarsky et al. 2020)."""
    j = min(len(sx), len(sy))
    floor = 1e-12
    lx = np.log(np.maximum(np.asarray(sx[:j], np.float64), floor))
    ly = np.log(np.maximum(np.asarray(sy[:j], np.float64), floor))
    return float(np.sum((lx - ly) ** 2))


def procrustes_bound(xs: np.ndarray, ys: np.ndarray) -> dict:
    """ε = ‖XXᵀ − YYᵀ‖_F on paired rows, the bounds on min_Q ‖XQ − Y‖_F it implies, and
    the actual residual of :func:`alignment_core.mapping.procrustes` (module docstring).

    Computed through d × d Gram matrices: ‖XXᵀ − YYᵀ‖_F² = ‖XᵀX‖² + ‖YᵀY‖² − 2‖XᵀY‖²,
    and the trace norm from the eigenvalues of G^{1/2} J G^{1/2}, G = [X Y]ᵀ[X Y],
    J = diag(I, −I), whose nonzero eigenvalues are those of XXᵀ − YYᵀ."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    m, d1 = x.shape
    d2 = y.shape[1]
    gx, gy, gxy = x.T @ x, y.T @ y, x.T @ y
    eps2 = np.sum(gx**2) + np.sum(gy**2) - 2 * np.sum(gxy**2)
    eps = float(np.sqrt(max(eps2, 0.0)))
    z = np.hstack([x, y])
    g = z.T @ z
    w, v = np.linalg.eigh(g)
    root = (v * np.sqrt(np.maximum(w, 0))) @ v.T
    j = np.concatenate([np.ones(d1), -np.ones(d2)])
    trace_norm = float(np.abs(np.linalg.eigvalsh(root @ (j[:, None] * root))).sum())
    wmap = procrustes(x, y)
    residual = float(np.linalg.norm(apply_mapping(x, wmap).astype(np.float64) - y))
    norms = float(np.linalg.norm(x, 2) + np.linalg.norm(y, 2))
    y_norm = float(np.linalg.norm(y))
    return {
        "n_pairs": int(m),
        "epsilon": round(eps, 6),
        "epsilon_per_pair": round(eps / m, 6),
        "lower_bound": round(eps / norms, 6) if norms > 0 else 0.0,
        "bound": round(float((d1 + d2) ** 0.25 * np.sqrt(eps)), 6),
        "bound_trace_norm": round(float(np.sqrt(trace_norm)), 6),
        "residual": round(residual, 6),
        "residual_relative": round(residual / y_norm, 6) if y_norm > 0 else 0.0,
        "residual_rms_per_pair": round(residual / np.sqrt(m), 6),
    }


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1
    return x / n


# --------------------------------------------------------------------------- all together


def isomorphism(src: Embeddings, tgt: Embeddings, pairs: np.ndarray | None = None, n: int = DEFAULT_N,
                k: int = GRAPH_K, m: int = EIGEN_M, relational_pairs: int = RELATIONAL_PAIRS) -> dict:
    """Every measure above. Unpaired ones on the n most frequent words per side after
    renorm,center,renorm; paired ones on ``pairs`` ((source row, target row), e.g.
    ``Dictionary.index_pairs``) over the whole given spaces, None without pairs.

    Dense linear algebra runs with one BLAS thread: the matrices are small (≤ 600 × 600
    eigenproblems, n × 300 SVDs), and on a busy 2-core machine OpenBLAS threads
    contending made them 10-20x slower."""
    with _one_blas_thread():
        return _isomorphism(src, tgt, pairs, n, k, m, relational_pairs)


def _isomorphism(src, tgt, pairs, n, k, m, relational_pairs) -> dict:
    x = prepare(src, n)
    y = prepare(tgt, n)
    sx, sy = singular_values(x), singular_values(y)
    kx, ky = effective_condition_number(sx), effective_condition_number(sy)
    out: dict = {
        "n_words": {"source": int(x.shape[0]), "target": int(y.shape[0]), "requested": int(n)},
        "normalization": ISO_NORMALIZATION,
        "eigenvector_similarity": round(eigenvector_similarity(x, y, k, m), 4),
        "eigenvector_settings": {"graph_k": k, "m": m, "eigenvalues": "largest m of L = D − A, decreasing"},
        "gromov_hausdorff": round(gromov_hausdorff(x, y), 6),
        "effective_rank": {"source": round(effective_rank(sx), 3), "target": round(effective_rank(sy), 3)},
        "effective_condition_number": {"source": round(kx, 4), "target": round(ky, 4)},
        "econd_hm": round(econd_hm(kx, ky), 4),
        "singular_value_gap": round(singular_value_gap(sx, sy), 4),
        "relational_similarity": None,
        "procrustes_bound": None,
    }
    if pairs is not None and len(pairs) >= 3:
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        up = unique_pairs(pairs, relational_pairs)
        out["relational_similarity"] = round(relational_similarity(src.vectors[up[:, 0]], tgt.vectors[up[:, 1]]), 6)
        out["relational_pairs"] = int(len(up))
        out["procrustes_bound"] = procrustes_bound(src.vectors[pairs[:, 0]], tgt.vectors[pairs[:, 1]])
    return out


def noisy_rotation(x: np.ndarray, noise: float, seed: int = 0) -> np.ndarray:
    """A random rotation of x plus Gaussian noise of per-row norm ≈ ``noise``
    (x R + noise·G/√d), the controlled pair for tests and the verdict's reference."""
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    g = rng.standard_normal(x.shape) / np.sqrt(d)
    return np.ascontiguousarray(np.asarray(x, np.float64) @ q + noise * g, dtype=np.float32)


__all__: Sequence[str] = (
    "prepare", "eigenvector_similarity", "laplacian_spectrum", "knn_adjacency", "mst_edge_lengths",
    "bottleneck_distance_0dim", "gromov_hausdorff", "relational_similarity", "effective_rank",
    "effective_condition_number", "econd_hm", "singular_value_gap", "singular_values", "procrustes_bound",
    "isomorphism", "unique_pairs", "noisy_rotation",
)
