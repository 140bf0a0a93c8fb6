"""2-D layouts of embedding spaces: PCA (instant) and UMAP (with faiss k-NN precomputed).

- PCA: the top-2 principal axes of the centred rows, from the eigenvectors of the
  d × d covariance C = (X − μ)ᵀ(X − μ) / n (Pearson 1901; Hotelling 1933). A basis
  fitted on one set of points can project another (``PCABasis.transform``), which is
  what the animated "points moving toward their translations" map needs: one fixed
  frame, many mappings.
- UMAP (McInnes, Healy & Melville 2018, "UMAP: Uniform Manifold Approximation and
  Projection for Dimension Reduction"), umap-learn, cosine metric. The k-NN graph is
  computed exactly with :func:`alignment_core.retrieval.knn` (faiss, inner product
  on unit rows) and handed to UMAP as ``precomputed_knn`` with distances
  1 − cos, so UMAP's own approximate nearest-neighbour search is skipped.

- The **anchored map** of two aligned spaces (:func:`anchored_map`, the Explore page's
  default): the target rows get their own UMAP; each mapped source row whose nearest
  target is as close as its own neighbours (cos(x, t₁) ≥ cos(x, s₁₅), s₁₅ its 15th
  nearest source row) is *anchored* at the position, among its 10 nearest
  targets' positions, whose 10 map neighbours carry the most of its softmax weight
  w_j ∝ exp(β·(cos(x, t_j) − cos(x, t₁))); the other source rows get a UMAP of their
  own, drawn as a separate island beside the target map. A good alignment thus shows
  each word beside its translation; a failed one shows two islands. Last, where the
  anchored sources lie on the targets more closely than the aligned space puts them, the
  two sheets are moved apart (:func:`separate_sheets`), each word kept beside its
  translation, until the map mixes the two sets as much as the aligned space. Why this one: the
  measured comparison is in docs/map.md (a joint UMAP drew translations 10 target
  points apart for only 40 % of the dictionary words the aligned space finds 82.5 %).

umap-learn is imported lazily (its numba JIT costs ~10 s on first use);
:func:`warm_umap` pays that cost once on a tiny input, in the background.
The core never imports streamlit or plotly.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .retrieval import DEFAULT_CSLS_K, csls_knn, knn, normalize_rows

DEFAULT_NEIGHBORS = 15
DEFAULT_MIN_DIST = 0.1
#: optimisation epochs (umap-learn uses 500 below 10,000 points and 200 above; 200 keeps
#: the map of 2 × 5,000 words well under the 20 s budget with no visible loss)
DEFAULT_EPOCHS = 200
#: umap-learn's repulsion_strength γ (its default 1)
DEFAULT_REPULSION = 1.0
#: beyond this many rows UMAP starts from the rows' PCA instead of the spectral embedding of
#: its graph: 50,000 floret targets 17.6 s instead of 23.8 s, T(10) 0.919 against 0.916
#: (docs/map.md); at or below it the spectral start, so the sample's maps do not change
SPECTRAL_INIT_MAX = 20_000


@dataclass(frozen=True)
class PCABasis:
    """Mean μ (d,) and the top principal axes (d, 2), largest variance first."""

    mean: np.ndarray
    axes: np.ndarray

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(x − μ)·A: rows of ``x`` in the basis's 2-D frame (float32, n × 2)."""
        return np.ascontiguousarray((np.asarray(x, np.float32) - self.mean) @ self.axes, dtype=np.float32)


def pca_fit(x: np.ndarray, n_components: int = 2) -> PCABasis:
    """Principal axes of ``x`` (n × d) from the eigen-decomposition of its covariance.

    Signs are fixed (largest-magnitude loading positive) so the same data always gives
    the same picture.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"PCA needs an n × d matrix with n ≥ 2, got shape {x.shape}")
    mu = x.mean(axis=0)
    xc = x - mu
    with _one_blas_thread():  # a small product: threads only contend (30× slower on a busy 2-core box)
        cov = xc.T @ xc / x.shape[0]
        vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:n_components]
    axes = vecs[:, order]
    if axes.shape[1] < n_components:  # d < n_components: pad with zeros
        axes = np.hstack([axes, np.zeros((axes.shape[0], n_components - axes.shape[1]))])
    flip = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])])
    flip[flip == 0] = 1
    return PCABasis(mu.astype(np.float32), (axes * flip).astype(np.float32))


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits  # ships with scikit-learn (umap-learn)
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def pca_2d(x: np.ndarray) -> np.ndarray:
    """(n, 2) PCA coordinates of ``x``."""
    return pca_fit(x).transform(x)


#: above this many base rows the map's k-NN searches are approximate (faiss IVF): exact
#: search of 2 × 50,000 rows costs ~4 CPU-minutes here (docs/map.md); at or below it they
#: are exact, so the sample's maps and numbers do not depend on it.
EXACT_KNN_MAX = 20_000
IVF_NPROBE = 16


#: the trained IVF indexes of the last few bases, by content: one map searches the same
#: target rows four times and the same source rows three times, and training the coarse
#: quantizer (k-means of 4√n cells) is most of each search's cost at 50,000 rows
IVF_CACHE_MAX = 3
_IVF_CACHE: OrderedDict = OrderedDict()
_IVF_LOCK = threading.Lock()


def _ivf_index(base: np.ndarray):
    """faiss ``IndexIVFFlat`` (inner product, nlist = 4√n, trained on ≤ 40 rows a cell,
    nprobe ``IVF_NPROBE``) over the C-contiguous float32 ``base``; the same content gives
    the same (cached) index."""
    import hashlib

    import faiss

    key = (base.shape, hashlib.blake2b(memoryview(base).cast("B"), digest_size=16).hexdigest())
    with _IVF_LOCK:
        if key in _IVF_CACHE:
            _IVF_CACHE.move_to_end(key)
            return _IVF_CACHE[key]
    n = base.shape[0]
    nlist = int(4 * np.sqrt(n))
    quantizer = faiss.IndexFlatIP(base.shape[1])
    index = faiss.IndexIVFFlat(quantizer, base.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    index.train(base[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))])
    index.add(base)
    index.nprobe = IVF_NPROBE
    with _IVF_LOCK:
        _IVF_CACHE[key] = index
        while len(_IVF_CACHE) > IVF_CACHE_MAX:
            _IVF_CACHE.popitem(last=False)
    return index


def map_knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products of unit rows (cosines) for the map: exact
    (:func:`alignment_core.retrieval.knn`) up to ``EXACT_KNN_MAX`` base rows, beyond it
    faiss ``IndexIVFFlat`` (inner product, nlist = 4√n cells trained on ≤ 40 rows a cell,
    nprobe = 16; Jégou, Douze & Schmid 2011, "Product quantization for nearest neighbor
    search", the inverted file). Returns ``(sims, ids)`` sorted by decreasing similarity."""
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    n = base.shape[0]
    if n <= EXACT_KNN_MAX:
        return knn(queries, base, k)
    k = int(min(k, n))
    sims, ids = _ivf_index(base).search(queries, k)
    missing = ids < 0                                    # fewer than k found in the probed cells
    if missing.any():
        sims[missing], ids[missing] = -np.inf, 0
    return sims, ids.astype(np.int64)


def knn_graph(x: np.ndarray, k: int, unit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Cosine k-NN of every row among all rows (itself first), as UMAP wants it:
    ``(indices int64 n × k, distances float32 n × k)`` with distance = 1 − cos ≥ 0.
    Exact up to ``EXACT_KNN_MAX`` rows, approximate (IVF) beyond (:func:`map_knn`).
    ``unit``: the rows are already unit (float32), used as they are, so a later search of
    the same rows finds the same cached index."""
    xn = np.ascontiguousarray(x, np.float32) if unit else normalize_rows(x)
    sims, ids = map_knn(xn, xn, k)
    # a row's own index must come first (ties with duplicates can reorder faiss output)
    own = np.arange(xn.shape[0])
    wrong = ids[:, 0] != own
    if wrong.any():
        for i in np.nonzero(wrong)[0].tolist():
            row = [j for j in ids[i].tolist() if j != i][: k - 1]
            ids[i] = [i] + row
            sims[i] = [1.0] + [float(xn[i] @ xn[j]) for j in row]
    dists = np.clip(1.0 - np.nan_to_num(sims, neginf=-1.0), 0.0, 2.0).astype(np.float32)
    dists[:, 0] = 0.0
    return ids.astype(np.int64), dists


def umap_2d(x: np.ndarray, n_neighbors: int = DEFAULT_NEIGHBORS, min_dist: float = DEFAULT_MIN_DIST,
            seed: int | None = 0, n_epochs: int | None = DEFAULT_EPOCHS,
            repulsion: float = DEFAULT_REPULSION, unit: bool = False) -> np.ndarray:
    """(n, 2) UMAP layout of ``x`` under the cosine metric, k-NN precomputed with faiss.

    ``seed`` fixes the layout (umap-learn then runs its optimisation single-threaded);
    ``None`` lets it use every core. ``repulsion``: umap-learn's ``repulsion_strength`` γ, the
    weight of the negative samples in the cross-entropy (McInnes et al. 2018, §3.2).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < 4:
        return pca_2d(x) if n >= 2 else np.zeros((n, 2), np.float32)
    k = int(min(n_neighbors, n - 1))
    ids, dists = knn_graph(x, k, unit=unit)
    import umap  # lazily: heavy import, numba JIT

    reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, metric="cosine", random_state=seed,
                        precomputed_knn=(ids, dists, None), n_epochs=n_epochs,
                        init=("spectral" if n <= SPECTRAL_INIT_MAX else "pca") if n > 2 * k + 2 else "random",
                        low_memory=True, verbose=False,
                        repulsion_strength=repulsion,
                        n_jobs=1 if seed is not None else -1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb = reducer.fit_transform(x)
    return np.ascontiguousarray(emb, dtype=np.float32)


#: anchored map: margin of the anchoring test, softmax sharpness, candidate targets
ANCHOR_MARGIN = 0.0
ANCHOR_BETA = 50.0
ANCHOR_CANDIDATES = 10
#: the target map is drawn with min_dist 0 (tight local neighbourhoods: measured better
#: map P@10 than 0.1, docs/map.md)
ANCHOR_MIN_DIST = 0.0
#: an island of more unanchored source rows than this is laid out with half the epochs:
#: 2 × 50,000 under a random W (nothing anchored) took 67 s from a fresh worker, its island's
#: UMAP 22 s of them at 200 epochs, 12 s at 100 (docs/map.md)
ISLAND_FULL_EPOCHS_MAX = 20_000
#: a source row not as close to its best target as to its own neighbours is anchored all the
#: same when that target beats chance and the two are mutual nearest neighbours. Chance: the
#: ``ANCHOR_CHANCE_Q`` quantile of the best cosine a source row gets from the targets once the
#: mapped source is turned by a random rotation (on at most ``CHANCE_SAMPLE`` rows). Paired
#: texts (MiniLM → e5, Procrustes on 300 pairs) are ranked right but drawn apart: aligned P@10
#: 0.90, the map 0.47 without this rule, 0.59 with it; failed mappings keep their island
#: (docs/map.md)
ANCHOR_CHANCE_Q = 0.999
CHANCE_SAMPLE = 10_000
#: the anchored sources' candidate targets are ranked by CSLS (hubs weigh less): on the sample
#: after Procrustes, seeds 0–2, map P@10 0.669–0.672 against 0.640–0.646 by cosine; paired
#: texts (MiniLM → e5, 2 × 5,000) 0.605 / 0.881 against 0.570 / 0.850 with 300 / 1,000 pairs
#: (docs/map.md, "CSLS candidates")
ANCHOR_RANK = "csls"
#: the target map's (and the island's) UMAP repulsion_strength γ: twice umap-learn's default
#: pushes unrelated targets further apart, the intruders that trustworthiness counts most (70 %
#: of the sample map's penalty came from map neighbours ranked beyond 500th of 2,000). On the
#: sample after Procrustes, seeds 0–4: T 0.900–0.905 against 0.889–0.897 with γ = 1, map P@10
#: 0.666–0.691 (0.669–0.685), mixing 0.176–0.192 against 0.156; paired texts (MiniLM → e5,
#: 2 × 5,000) T +0.01–0.02 (docs/map.md, "The target map's repulsion"). The same cost.
ANCHOR_REPULSION = 2.0


@dataclass(frozen=True)
class AnchoredMap:
    """A 2-D map of ``n_src`` mapped-source rows followed by ``n_tgt`` target rows.

    ``coords`` (n_src + n_tgt, 2) float32; ``anchored`` (n_src,) bool: the source rows
    drawn beside a target (the others are on their own island); ``nearest`` (n_src,)
    int64 and ``nearest_cos`` (n_src,) float32: each source row's nearest target row by
    cosine and that cosine."""

    coords: np.ndarray
    anchored: np.ndarray
    seconds: float
    nearest: np.ndarray | None = None
    nearest_cos: np.ndarray | None = None

    @property
    def n_anchored(self) -> int:
        return int(self.anchored.sum())


def _anchor_positions(sims: np.ndarray, ids: np.ndarray, yt: np.ndarray, beta: float,
                      k_map: int = 10) -> np.ndarray:
    """For each row: the position among its candidate targets' map positions ``yt[ids]``
    whose ``k_map`` nearest targets on the map carry the largest share of the softmax
    weights w_j ∝ exp(β (s_j − s_1)) of its candidates (ties: the better candidate)."""
    from scipy.spatial import cKDTree

    n, kp = ids.shape
    w = np.exp(beta * (sims - sims[:, :1]).astype(np.float64))
    w /= w.sum(axis=1, keepdims=True)
    _, nb = cKDTree(np.asarray(yt, np.float64)).query(np.asarray(yt[ids.ravel()], np.float64),
                                                      k=int(min(k_map, len(yt))))
    nb = np.asarray(nb).reshape(n, kp, -1)
    score = np.empty((n, kp))
    for c in range(kp):  # weight of the candidates inside candidate c's map neighbourhood
        inside = (ids[:, :, None] == nb[:, c, None, :]).any(axis=2)
        score[:, c] = (w * inside).sum(axis=1)
    best = np.argmax(score + 1e-9 * (kp - np.arange(kp)), axis=1)
    return yt[ids[np.arange(n), best]]


#: separating the two sheets after anchoring (docs/map.md, "Separating the two sheets"): every
#: drawn point is moved at most ``SEPARATE_STEPS`` steps of ``SEPARATE_LR`` target spacings s by
#: a short-range source–target repulsion (radius ``SEPARATE_RADIUS`` s, magnitude (r − d)/r), a
#: spring (``SEPARATE_SPRING``) to its anchored place, and a capped pull (``SEPARATE_PULL``,
#: softmax weights at β) of each anchored source towards those of its candidate targets that
#: start within ``SEPARATE_REACH`` s (those pairs do not repel; the target is pulled back at
#: ``SEPARATE_BACK``). Measured with CSLS candidates on the sample after Procrustes, seeds 0–2:
#: mixing 0.192–0.199 against the aligned space's 0.156 (anchored only: 0.365–0.369), map P@10
#: 0.669–0.675 (anchored only: 0.669–0.685), T 0.893–0.897 (0.896–0.904); paired texts
#: (MiniLM → e5, Procrustes on 1,000 pairs, 2 × 5,000): mixing 0.158 against 0.150 (0.515),
#: map P@10 0.871 (0.922). Pull 3: with 4 the CSLS candidates left the sample's mixing at
#: 0.207–0.214. Since the target map is drawn with repulsion 2 (``ANCHOR_REPULSION``) the radius
#: grows when the separation stalls (``SEPARATE_GROW``), within at most 120 steps
SEPARATE_RADIUS = 9.0
SEPARATE_PULL = 3.0
SEPARATE_SPRING = 0.1
SEPARATE_STEPS = 120
SEPARATE_LR = 0.3
SEPARATE_REACH = 25.0
SEPARATE_BACK = 0.5
#: the repulsion is summed on a grid (particle–mesh: cloud-in-cell deposit, FFT convolution
#: with the force kernel, bilinear read-back; Hockney & Eastwood 1988, "Computer Simulation
#: Using Particles") of cell one target spacing, or coarser so that the grid has at most
#: this many cells a side: 2 × 50,000 points would otherwise pair 12 M points a step
SEPARATE_GRID_MAX = 640
#: the separation stops once the map's mixing is within ``SEPARATE_MIX_TOL`` of the aligned
#: space's (checked every ``SEPARATE_CHECK`` steps on ``SEPARATE_MIX_SAMPLE`` points), and does
#: not start when it already is: a map whose sheets interleave as the aligned space's do (a
#: noisy copy, mixing ≈ 0.5 in both) is left as anchored
SEPARATE_MIX_TOL = 0.02
SEPARATE_CHECK = 10
SEPARATE_MIX_SAMPLE = 1000
#: a separation that stalls (the map's mixing fell by less than ``SEPARATE_STALL`` since the
#: last check) reaches further: its radius grows by ``SEPARATE_GROW``, up to
#: ``SEPARATE_RADIUS_MAX`` spacings. The radius a map needs depends on how its targets clump:
#: the sample's target map drawn with repulsion 2 needs 11–13 s where repulsion 1 needed 9
SEPARATE_GROW = 1.15
SEPARATE_RADIUS_MAX = 16.0
SEPARATE_STALL = 0.005


def target_spacing(yt: np.ndarray) -> float:
    """s: the median distance between a target and its nearest other target on the map, the
    unit of the anchored map's jitter and of :func:`separate_sheets` (1 for a single target)."""
    from scipy.spatial import cKDTree

    n = len(yt)
    if n < 2:
        return 1.0
    d1, _ = cKDTree(np.asarray(yt, np.float64)).query(np.asarray(yt, np.float64), k=2)
    return float(np.median(np.asarray(d1).reshape(n, -1)[:, -1]))


def _repulsion_kernel(r_cells: float) -> tuple[np.ndarray, np.ndarray]:
    """The force a unit mass at the origin exerts at grid offset (dx, dy), in cells:
    (dx, dy)/|d| · max(r − |d|, 0)/r, zero at the origin; shape (2w + 1, 2w + 1)."""
    w = int(np.ceil(r_cells))
    dx, dy = np.meshgrid(np.arange(-w, w + 1, dtype=np.float64), np.arange(-w, w + 1, dtype=np.float64),
                         indexing="ij")
    d = np.hypot(dx, dy)
    mag = np.where(d > 0, np.clip(r_cells - d, 0.0, None) / r_cells / np.where(d > 0, d, 1.0), 0.0)
    return dx * mag, dy * mag


class _Mesh:
    """Sums f_i = Σ_j K(y_i − y_j) over another set's points y_j with the cone kernel K of
    :func:`_repulsion_kernel` on a fixed grid (particle–mesh)."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, cell: float, radius: float) -> None:
        from scipy import fft

        self.cell, self.lo = cell, lo
        self.shape = tuple(int(v) for v in np.ceil((hi - lo) / cell).astype(int) + 2)
        kx, ky = _repulsion_kernel(radius / cell)
        self.w = kx.shape[0] // 2
        self.full = tuple(fft.next_fast_len(g + 2 * self.w, real=True) for g in self.shape)
        self.fk = []
        for k in (kx, ky):           # the kernel centred on cell (0, 0), wrapped: circular = linear here
            z = np.zeros(self.full)
            z[: k.shape[0], : k.shape[1]] = k
            self.fk.append(fft.rfft2(np.roll(z, (-self.w, -self.w), axis=(0, 1))))

    def _corners(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Cloud-in-cell: the 4 grid nodes (row, column) around each point and their bilinear
        weights; the same weights deposit a point's mass and read a field back at it."""
        u = np.clip((y - self.lo) / self.cell, 0.0, np.array(self.shape) - 1 - 1e-9)
        i0 = np.floor(u).astype(np.int64)
        f = u - i0
        return [(i0[:, 0] + ox, i0[:, 1] + oy, (f[:, 0] if ox else 1 - f[:, 0]) * (f[:, 1] if oy else 1 - f[:, 1]))
                for ox in (0, 1) for oy in (0, 1)]

    def field(self, y_from: np.ndarray, y_at: np.ndarray) -> np.ndarray:
        from scipy import fft

        rho = np.zeros(self.full)
        ny = self.full[1]
        for i, j, wt in self._corners(y_from):
            rho.reshape(-1)[:] += np.bincount(i * ny + j, weights=wt, minlength=rho.size)
        fr = fft.rfft2(rho)
        at = self._corners(y_at)
        out = np.zeros((len(y_at), 2))
        for c in range(2):
            fc = fft.irfft2(fr * self.fk[c], s=self.full)
            out[:, c] = sum(fc[i, j] * wt for i, j, wt in at)
        return out


def separate_sheets(coords: np.ndarray, anchored: np.ndarray, sims: np.ndarray, ids: np.ndarray,
                    step: float, radius: float = SEPARATE_RADIUS, pull: float = SEPARATE_PULL,
                    beta: float = ANCHOR_BETA, spring: float = SEPARATE_SPRING, steps: int = SEPARATE_STEPS,
                    lr: float = SEPARATE_LR, reach: float = SEPARATE_REACH, back: float = SEPARATE_BACK,
                    grid_max: int = SEPARATE_GRID_MAX, target_mixing: float | None = None,
                    mix_tol: float = SEPARATE_MIX_TOL, check: int = SEPARATE_CHECK,
                    mix_sample: int = SEPARATE_MIX_SAMPLE, grow: float = SEPARATE_GROW,
                    radius_max: float | None = SEPARATE_RADIUS_MAX, stall: float = SEPARATE_STALL) -> np.ndarray:
    """Move the anchored source rows and the target rows of an anchored map
    (``coords`` = [source; target], ``anchored`` (n_src,)) so the two sheets interleave
    instead of lying on each other, keeping each source beside its translation.

    Anchoring draws a source row on its translation's place: the two sets then lie as two
    coincident sheets, and a point's map neighbours hold far more of the other side than in the
    aligned space (mixing 0.35 on the sample against 0.16). Each step, in units of the target spacing
    ``step`` = s, every drawn point feels

    - from every point of the other side within r = ``radius``·s: (y_i − y_j)/d · (r − d)/r;
    - a spring ``spring``·(home − y)/s to its anchored place;
    - an anchored source x: the pull ``pull``/c · Σ_j w_j (y_tj − y_x)/d · min(d/s, radius)/radius
      towards those of its c candidate targets t_j (``ids``, scores ``sims``: cosines, or half
      CSLS scores as :func:`anchored_map` passes them) that start within ``reach``·s, w_j the
      softmax weights ∝ exp(β (sims_j − sims_1)) scaled to sum to c; those
      pairs do not repel, and each such target feels ``back`` times the opposite pull;

    then moves by ``lr``·s · clip(force, −3, 3). The island (unanchored sources) stays put.
    When the map's mixing fell by less than ``stall`` between two checks, the radius grows by
    ``grow`` (up to ``radius_max``): how far the repulsion must reach depends on how the map's
    targets clump.
    The repulsion is summed on a grid (:class:`_Mesh`) and the exempt pairs' share taken off
    exactly. With ``target_mixing`` (the aligned space's mixing,
    :func:`alignment_core.faithfulness.aligned_mixing`), it stops as soon as the map's mixing
    is at most ``target_mixing + mix_tol`` (checked before the first step and every ``check``
    steps). Returns the new coordinates (float32, same shape)."""
    n = len(anchored)
    y = np.asarray(coords, np.float64).copy()
    a = np.nonzero(anchored)[0]
    if len(a) == 0 or len(y) == n or steps <= 0 or not step > 0 or not np.isfinite(step):
        return np.ascontiguousarray(coords, np.float32)
    home = y.copy()
    c = ids.shape[1]
    cid = ids[a].astype(np.int64) + n
    w = np.exp(beta * (sims[a] - sims[a, :1]).astype(np.float64))
    w = w / w.sum(1, keepdims=True) * c
    near = np.linalg.norm(y[cid] - y[a][:, None, :], axis=2) <= reach * step
    ex_a, ex_c = np.nonzero(near)           # the pairs that pull and do not repel
    ex_i, ex_j = a[ex_a], cid[ex_a, ex_c]
    pw = pull * w[ex_a, ex_c] / c
    ex_ij = np.r_[ex_i, ex_j]
    rmax = max(radius, radius_max if radius_max is not None else radius)
    r = radius * step
    tg = np.arange(n, len(y))
    act = np.r_[a, tg]
    lo, hi = home[act].min(axis=0), home[act].max(axis=0)
    pad = rmax * step + 10 * step                             # room for the points to move
    cell = max(step, float(np.max(hi - lo) + 2 * pad) / grid_max)
    mesh = _Mesh(lo - pad, hi + pad, cell, r)
    from .faithfulness import map_mixing

    last = np.inf
    for it in range(steps):
        if target_mixing is not None and it % check == 0:
            mix = map_mixing(y, n, sample=mix_sample)
            if mix <= target_mixing + mix_tol:
                break
            if grow > 1.0 and last - mix < stall and radius < rmax:   # stalled: a longer reach
                radius = min(rmax, radius * grow)
                r = radius * step
                mesh = _Mesh(lo - pad, hi + pad, cell, r)
            last = mix
        force = np.zeros_like(y)
        force[a] = mesh.field(y[tg], y[a])
        force[tg] = mesh.field(y[a], y[tg])
        d = y[ex_i] - y[ex_j]
        dist = np.sqrt((d * d).sum(axis=1)) + 1e-12
        u = d / dist[:, None]
        rep = np.clip(r - dist, 0.0, None) / r                # their repulsion, taken off again
        tow = pw * np.minimum(dist / step, radius) / radius   # and the pull towards the candidate
        fs = -u * (rep + tow)[:, None]
        ft = u * (rep + back * tow)[:, None]
        both = np.vstack([fs, ft])
        for k in range(2):
            force[:, k] += np.bincount(ex_ij, weights=both[:, k], minlength=len(y))
        force += spring * (home - y) / step
        force[:n][~anchored] = 0.0
        y += lr * step * np.clip(force, -3.0, 3.0)
    return np.ascontiguousarray(y, np.float32)


def _candidates(s: np.ndarray, t: np.ndarray, k: int, rank: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each source row's ``k`` candidate targets for the anchored map, as ``(scores, ids)``
    in decreasing order (``rank`` "csls": cos − r(t)/2, :func:`alignment_core.retrieval.csls_knn`
    with this module's k-NN; "nn": cos), and ``back``: each target's nearest source row."""
    tsims, tids = map_knn(t, s, int(min(DEFAULT_CSLS_K, len(s))))
    if rank == "csls":
        r_t = tsims.mean(axis=1, dtype=np.float64).astype(np.float32)
        sims, ids = csls_knn(s, t, r_t, k, search=map_knn)
        sims = sims / 2
    elif rank == "nn":
        sims, ids = map_knn(s, t, k)
    else:
        raise ValueError(f"unknown rank {rank!r} (expected 'csls' or 'nn')")
    return sims, ids, tids[:, 0]


def chance_cosine(s: np.ndarray, t: np.ndarray, q: float, seed: int | None = 0,
                  sample: int = CHANCE_SAMPLE) -> float:
    """The ``q`` quantile of max_j cos(R x, t_j) over (at most ``sample``) unit source rows x
    under one seeded random rotation R: the best cosine a mapping that knows nothing earns."""
    rng = np.random.default_rng([12345, 0 if seed is None else seed])
    rows = s if len(s) <= sample else s[np.sort(rng.choice(len(s), size=sample, replace=False))]
    from .synthetic import random_rotation

    rot = random_rotation(s.shape[1], rng)
    best, _ = map_knn(normalize_rows((rows @ rot).astype(np.float32)), t, 1)
    return float(np.quantile(best[:, 0], q))


def anchored_map(src: np.ndarray, tgt: np.ndarray, n_neighbors: int = DEFAULT_NEIGHBORS,
                 min_dist: float = ANCHOR_MIN_DIST, seed: int | None = 0, n_epochs: int | None = DEFAULT_EPOCHS,
                 margin: float = ANCHOR_MARGIN, beta: float = ANCHOR_BETA,
                 candidates: int = ANCHOR_CANDIDATES, chance_q: float | None = ANCHOR_CHANCE_Q,
                 separate: bool = True, rank: str = ANCHOR_RANK, repulsion: float = ANCHOR_REPULSION,
                 radius: float = SEPARATE_RADIUS) -> AnchoredMap:
    """The anchored map of mapped source rows ``src`` and target rows ``tgt`` (same d).

    1. Y_T = UMAP(T) (cosine, faiss k-NN, :func:`umap_2d`, repulsion strength ``repulsion``).
    2. For each source row x: its ``candidates`` nearest targets t_1..t_c by cosine, and
       s_m its m-th nearest other source row (m = ``n_neighbors``). x is anchored when
       cos(x, t_1) ≥ cos(x, s_m) − ``margin``: its best translation is about as close as
       its own neighbours (after a good alignment most rows are; after a failed one, or
       with no mapping, none is: their nearest target is at chance level). x is anchored
       too when cos(x, t_1) beats chance (:func:`chance_cosine` at ``chance_q``; None: no
       such test) and x is t_1's nearest source row: a mapping can rank the right target
       first while drawing the source as a cloud of its own (few paired texts).
    3. An anchored x is drawn at argmax_c Σ_j w_j [t_j ∈ N₁₀(Y_T[t_c])], the position among
       its candidates' whose 10 map-nearest targets hold most of its weights
       w_j ∝ exp(β (c_j − c_1)), plus a small seeded jitter (a tenth of the median distance
       between neighbouring targets) so it does not hide the target. ``rank`` "csls": the
       candidates are x's ``candidates`` best targets by CSLS and c_j = cos(x, t_j) − r(t_j)/2
       (half the CSLS score; r(t) the mean cosine of t to its 10 nearest mapped sources), so
       a hub, close to many sources, weighs less; "nn": by cosine, c_j = cos(x, t_j).
    4. The other source rows get their own UMAP, scaled to the target map's spread and
       drawn to its right, a gap apart: "no translation found" is visible as an island
       (beyond ``ISLAND_FULL_EPOCHS_MAX`` rows, with half the epochs).
    5. ``separate``: the anchored sources and the targets are moved apart where they lie on
       each other, each source kept beside its translation (:func:`separate_sheets`); the
       island stays where it is.
    """
    t0 = time.perf_counter()
    s = normalize_rows(np.asarray(src, np.float32))
    t = normalize_rows(np.asarray(tgt, np.float32))
    if s.ndim != 2 or t.ndim != 2 or s.shape[1] != t.shape[1]:
        raise ValueError(f"source and target must be n × d with the same d, got {s.shape} and {t.shape}")
    n_s, n_t = s.shape[0], t.shape[0]
    yt = umap_2d(t, n_neighbors=n_neighbors, min_dist=min_dist, seed=seed, n_epochs=n_epochs, repulsion=repulsion,
                 unit=True)
    anchored = np.zeros(n_s, dtype=bool)
    ys = np.zeros((n_s, 2), np.float32)
    if n_s == 0:
        return AnchoredMap(np.ascontiguousarray(yt, np.float32), anchored, time.perf_counter() - t0,
                           np.zeros(0, np.int64), np.zeros(0, np.float32))
    best, nearest = map_knn(s, t, 1)                    # the best target by cosine
    best, nearest = best[:, 0], nearest[:, 0]
    sims, ids, back = _candidates(s, t, candidates, rank)
    m = int(min(n_neighbors, n_s - 1))
    if m >= 1:
        ss, _ = map_knn(s, s, m + 1)                     # itself first (cos 1)
        anchored = best >= ss[:, m] - margin
        if chance_q is not None and not anchored.all():
            cand = np.nonzero(~anchored & (best >= chance_cosine(s, t, chance_q, seed)))[0]
            # mutual: the row is its best target's nearest source row
            anchored[cand[back[nearest[cand]] == cand]] = True
    else:
        anchored[:] = True
    rng = np.random.default_rng(0 if seed is None else seed)
    step = target_spacing(yt)
    if anchored.any():
        a = np.nonzero(anchored)[0]
        ys[a] = _anchor_positions(sims[a], ids[a], yt, beta) + rng.normal(0.0, 0.1 * step, (len(a), 2))
    free = np.nonzero(~anchored)[0]
    if len(free):
        ep = n_epochs if n_epochs is None or len(free) <= ISLAND_FULL_EPOCHS_MAX else max(50, n_epochs // 2)
        yf = umap_2d(s[free], n_neighbors=n_neighbors, min_dist=min_dist, seed=seed, n_epochs=ep,
                     repulsion=repulsion)
        lo, hi = yt.min(axis=0), yt.max(axis=0)
        span = float(np.max(hi - lo)) or 1.0
        flo, fhi = yf.min(axis=0), yf.max(axis=0)
        fspan = float(np.max(fhi - flo)) or 1.0
        scale = span / fspan * min(1.0, np.sqrt(len(free) / max(n_t, 1)) * 1.2)
        yf = (yf - (flo + fhi) / 2) * scale
        ys[free] = yf + np.array([hi[0] + 0.15 * span + (fhi[0] - flo[0]) * scale / 2, (lo[1] + hi[1]) / 2])
    coords = np.ascontiguousarray(np.vstack([ys, yt]), dtype=np.float32)
    if separate and anchored.any():
        from .faithfulness import aligned_mixing

        target = aligned_mixing(s, t, sample=SEPARATE_MIX_SAMPLE, seed=0 if seed is None else seed)
        coords = separate_sheets(coords, anchored, sims, ids, step, radius=radius, beta=beta,
                                 target_mixing=target)
    return AnchoredMap(coords, anchored, time.perf_counter() - t0, nearest.astype(np.int64),
                       best.astype(np.float32))


def joint_map(src: np.ndarray, tgt: np.ndarray, **kw) -> np.ndarray:
    """The former default: one UMAP over the stacked rows [src; tgt] (joint cosine k-NN)."""
    return umap_2d(np.vstack([np.asarray(src, np.float32), np.asarray(tgt, np.float32)]), **kw)


_WARM_LOCK = threading.Lock()
_WARM_STATE: dict = {"started": False, "done": threading.Event(), "seconds": None, "error": None}


def warm_umap(block: bool = False) -> threading.Event:
    """Compile UMAP's numba functions once (a 300-point fit) in a daemon thread.
    Returns an Event set when done; ``block`` waits for it."""
    with _WARM_LOCK:
        if not _WARM_STATE["started"]:
            _WARM_STATE["started"] = True

            def work() -> None:
                t0 = time.perf_counter()
                try:
                    rng = np.random.default_rng(0)
                    umap_2d(rng.standard_normal((300, 16)).astype(np.float32), n_epochs=20)
                except Exception as e:  # pragma: no cover - reported, never raised into a thread
                    _WARM_STATE["error"] = f"{e.__class__.__name__}: {e}"
                finally:
                    _WARM_STATE["seconds"] = time.perf_counter() - t0
                    _WARM_STATE["done"].set()

            threading.Thread(target=work, name="alignscope-umap-warm", daemon=True).start()
    if block:
        _WARM_STATE["done"].wait()
    return _WARM_STATE["done"]


def warm_status() -> dict:
    return {"started": _WARM_STATE["started"], "done": _WARM_STATE["done"].is_set(),
            "seconds": _WARM_STATE["seconds"], "error": _WARM_STATE["error"]}


def trustworthiness(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Trustworthiness T(k) of a layout ``y`` of ``x`` (Venna & Kaski 2001):
    T = 1 − 2/(n k (2n − 3k − 1)) Σ_i Σ_{j ∈ U_k(i)} (r(i, j) − k), where U_k(i) are the
    layout's k nearest neighbours of i that are not among its k nearest in ``x``, and
    r(i, j) is j's rank among i's neighbours in ``x`` (cosine). For n up to a few thousand."""
    x = normalize_rows(x)
    n = x.shape[0]
    sim = x @ x.T
    np.fill_diagonal(sim, np.inf)
    order = np.argsort(-sim, axis=1)
    rank = np.empty((n, n), np.int64)
    rank[np.arange(n)[:, None], order] = np.arange(n)[None, :]  # 0 = itself
    d2 = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, -1)
    nn_y = np.argsort(d2, axis=1)[:, 1:k + 1]
    r = rank[np.arange(n)[:, None], nn_y]
    penalty = np.clip(r - k, 0, None).sum()
    return float(1.0 - 2.0 / (n * k * (2 * n - 3 * k - 1)) * penalty)


# --------------------------------------------------------------------------- worker process
#
# The app computes UMAP in a separate, long-lived process: numba-compiled code holds the
# GIL, so running it in a thread of the web server would freeze every page while it runs.
# Protocol: one JSON object per line on stdin, one JSON reply per line on stdout. Arrays
# travel as .npy files (np.save / np.load(allow_pickle=False)); nothing is pickled.
#
#   {"cmd": "warm"}                                            → {"ok": true, "seconds": s}
#   {"cmd": "umap", "in": "x.npy", "out": "y.npy", "n_neighbors": 15, "min_dist": 0.1,
#    "seed": 0}                                                → {"ok": true, "seconds": s}
#   {"cmd": "map", "src": "s.npy", "tgt": "t.npy", "out": "y.npy", "anchored": "a.npy",
#    "nearest": "n.npy", "nearest_cos": "c.npy", "layout": "anchored" | "joint", "gold": "g.npy" (optional, int64 m × 2: source row,
#    target row), "n_neighbors": 15, "seed": 0}
#        → {"ok": true, "seconds": s, "layout_seconds": s, "faithfulness": {...} | null}
#   {"cmd": "agreement", "mapped": "x.npy", "tgt": "t.npy", "src": "s.npy" (optional), "k": 10,
#    "out": "a.npz"}                                           → {"ok": true, "seconds": s}
#       (alignment_core.agreement with this module's map_knn: exact up to 20,000 rows a side)
#   any failure                                                → {"ok": false, "error": "..."}


def map_layout(src: np.ndarray, tgt: np.ndarray, layout: str = "anchored", **kw) -> AnchoredMap:
    """A two-space map: ``layout`` "anchored" (:func:`anchored_map`) or "joint"
    (:func:`joint_map`; no row is anchored, the nearest targets are still given)."""
    if layout == "anchored":
        return anchored_map(src, tgt, **kw)
    if layout == "joint":
        t0 = time.perf_counter()
        y = joint_map(src, tgt, **kw)
        sims, ids = knn(normalize_rows(src), normalize_rows(tgt), 1)
        return AnchoredMap(y, np.zeros(len(src), dtype=bool), time.perf_counter() - t0,
                           ids[:, 0].astype(np.int64), sims[:, 0].astype(np.float32))
    raise ValueError(f"unknown layout {layout!r} (expected 'anchored' or 'joint')")


def _serve_map(req: dict) -> dict:
    from .faithfulness import faithfulness, gold_lists

    src = np.load(req["src"], allow_pickle=False)
    tgt = np.load(req["tgt"], allow_pickle=False)
    kw = {"n_neighbors": int(req.get("n_neighbors", DEFAULT_NEIGHBORS)), "seed": req.get("seed", 0)}
    t1 = time.perf_counter()
    m = map_layout(src, tgt, str(req.get("layout", "anchored")), **kw)
    coords, anchored = m.coords, m.anchored
    layout_s = time.perf_counter() - t1
    np.save(req["out"], coords, allow_pickle=False)
    for name, arr in (("anchored", anchored), ("nearest", m.nearest), ("nearest_cos", m.nearest_cos)):
        if req.get(name):
            np.save(req[name], arr, allow_pickle=False)
    faith = None
    if req.get("gold"):
        pairs = np.load(req["gold"], allow_pickle=False)
        faith = faithfulness(src, tgt, coords, gold_lists(pairs, len(src), len(tgt))).to_dict()
    return {"layout_seconds": round(layout_s, 3), "n_anchored": int(anchored.sum()), "faithfulness": faith}


def serve(stdin=None, stdout=None) -> None:
    """Answer layout requests from ``stdin`` until it closes (see the protocol above)."""
    import json
    import sys

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        t0 = time.perf_counter()
        extra: dict = {}
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "warm":
                warm_umap(block=True)
                if _WARM_STATE["error"]:
                    raise RuntimeError(_WARM_STATE["error"])
            elif cmd == "umap":
                x = np.load(req["in"], allow_pickle=False)
                y = umap_2d(x, n_neighbors=int(req.get("n_neighbors", DEFAULT_NEIGHBORS)),
                            min_dist=float(req.get("min_dist", DEFAULT_MIN_DIST)), seed=req.get("seed", 0))
                np.save(req["out"], y, allow_pickle=False)
            elif cmd == "map":
                extra = _serve_map(req)
            elif cmd == "agreement":
                from .agreement import neighbourhood_agreement, save_agreement

                own = np.load(req["src"], allow_pickle=False) if req.get("src") else None
                save_agreement(neighbourhood_agreement(np.load(req["mapped"], allow_pickle=False),
                                                       np.load(req["tgt"], allow_pickle=False), src=own,
                                                       k=int(req.get("k", 10)), search=map_knn), req["out"])
            else:
                raise ValueError(f"unknown command {cmd!r}")
            reply = {"ok": True, "seconds": round(time.perf_counter() - t0, 3)}
            if cmd == "map":
                reply.update(extra)
        except Exception as e:  # reported to the caller as a message
            reply = {"ok": False, "error": f"{e.__class__.__name__}: {e}"}
        try:
            stdout.write(json.dumps(reply) + "\n")
            stdout.flush()
        except BrokenPipeError:   # the app went away mid-request (a test's teardown): stop quietly
            import os

            if stdout is sys.stdout:   # Python's recipe: no second error when it flushes at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return


if __name__ == "__main__":  # pragma: no cover - exercised through ui.layouts
    import sys as _sys

    if _sys.argv[1:2] != ["serve"]:
        _sys.exit("usage: python -m alignment_core.projection serve")
    serve()
