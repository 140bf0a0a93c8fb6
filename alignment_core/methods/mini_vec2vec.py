"""mini-vec2vec: unsupervised linear alignment from matched k-means anchors.

After Dar (2025), "mini-vec2vec: Scaling Universal Geometry Alignment with Linear
Transformations" (arXiv:2510.02348), following the author's reference notebook.
Notation: X (n_x × d_s) source, Y (n_y × d_t) target, W (d_t × d_s), mapped = X Wᵀ.

1. Preprocess: each side centered with its own mean, rows unit-normalized.
2. Anchors, ``anchor_runs`` (s = 30) times: k-means with ``clusters`` (c = 20) centroids
   on a random sample of ``sample_size`` (n = 10,000) rows of each side (faiss);
   double-centered Gram matrices G = H C Cᵀ H, H = I − 11ᵀ/c; the centroids are matched
   by the quadratic assignment problem  max_P tr(G_s P G_t Pᵀ)  (scipy
   ``quadratic_assignment``, method ``2opt``, best of ``qap_restarts`` = 30 random
   starts); the matched centroids are appended to each side's anchor list (s·c anchors).
3. Relative representations: r(x) = [cos(x, a_1), …, cos(x, a_sc)] on each side (then,
   per side, centered and unit-normalized). Each source row's pseudo-target is the mean
   of its ``relative_k`` (k = 50) nearest target rows in relative space (faiss, blocked);
   W₀ = Procrustes(X, pseudo-targets).
4. Refine-1, ``refine1_iterations`` (T = 100) times: sample ``refine1_sample`` (n_s = 1,000)
   source rows, pseudo-target = mean of the ``refine1_k`` (k' = 50) nearest targets of
   x Wᵀ, W ← (1 − α) W + α Procrustes(X_s, pseudo), α = ``alpha`` (0.5).
5. Refine-2, once: k-means with ``refine2_clusters`` (c' = 500) on the source; k-means on
   the target initialized from the mapped source centroids C_s Wᵀ;
   W ← (1 − α) W + α Procrustes(C_s, C_t).

A convex combination of two orthogonal matrices is not orthogonal; with
``orthogonalize`` (default) every average is projected back to the nearest orthogonal
matrix, W ← polar(W) = U Vᵀ (``mapping.nearest_orthogonal``).

Additions of AlignScope's own, each measured in ``bench/bench_mini_vec2vec.py``:

- ``restarts``: the pipeline (steps 2–5) is run with ``restarts`` independent random
  streams; the final W is the best by MUSE's unsupervised criterion
  (``base.unsupervised_criterion``: mean cosine of CSLS-translated frequent words),
  never by an evaluation dictionary.
- ``csls_refinements``: MUSE-style refinement rounds at the end (CSLS dictionary
  induction, S2T&T2S, max rank 15,000, Procrustes; ``base.refine``), from the best W.
- ``max_rows``: fit on the ``max_rows`` most frequent rows of each side only (the rows
  of the files are in frequency order); the rare tail of a 50k vocabulary is noisy and
  makes the two k-means clusterings less comparable. W applies to every row.
- Seed pairs (semi-supervised), ``seed_mode``:
  ``"augment"``: each seed pair (x_i, y_j) is added as an exact anchor to both anchor
  lists of step 3, and the seed pairs join every Procrustes problem (refine-1's
  pseudo-pairs and the CSLS refinement dictionaries);
  ``"replace"``: steps 2–3 are skipped, W₀ = Procrustes(seed pairs), then steps 4–5
  and the refinements, with the seed pairs joining every Procrustes problem.

The criterion costs one CSLS pass over the whole vocabularies (seconds at 50k rows),
so it is computed after the initialization, every ``criterion_every`` refine-1
iterations (0 = only at the end of refine-1), after refine-2 and at every CSLS
refinement round; the other refine-1 events carry only cheap numbers (change of W,
mean cosine of the sampled rows to their k' neighbours).

Measured limits (``bench/bench_mini_vec2vec.py``): on a real space against a rotated
copy the anchors match and the initialization alone is nearly exact; on fi→fr
(different corpora, distant languages) the Gram matrices of 20 centroids do not
identify the right matching: under a supervised map, the correct matching correlates
0.45–0.60 with the Gram entries while QAP finds wrong ones at 0.68–0.76, so the
unsupervised runs start from a wrong W that neither refinement repairs (P@1 ≈ 0),
and the criterion does not separate them well. With seed pairs (500 pairs, or
identical strings) the refinements lift a Procrustes start by a few points.

Moment-tensor initialization (``init="moments"``, ``alignment_core.moments``), for two
spaces with no pair at all where the k-means anchors fail (two text encoders' spaces):

- PCA per side, top ``moment_dims`` (m = 4) eigenvectors V and eigenvalues λ; whitened
  z = x V / √λ; T3 = E[z⊗z⊗z] and the fourth cumulant K4 = E[z⊗z⊗z⊗z] − (C⊗C, three
  pairings) over all fitted rows.
- f(Q) = cos(T3_x ×₁Q×₂Q×₃Q, T3_y) + cos(K4_x ×₁Q…×₄Q, K4_y) over m × m orthogonal Q,
  maximized by Q ← polar(Q + ``moment_lr`` ∇f) (``moment_steps`` = 300 steps) from
  ``moment_starts`` = 100 Haar-random starts on O(m); duplicate optima merged.
- The best ``moment_candidates`` (3) distinct optima, W₀ = V_y Q V_xᵀ (rank m) each, are
  refined by ``moment_screen_iterations`` (100) refine-1 iterations (stage "screen") and
  scored (one "moments" event each) by ``nn_cos`` (mean cosine of 4,000 sampled mapped
  sources to their nearest of 4,000 sampled targets) and MUSE's criterion; the best by
  ``moment_select`` (``"nn_cos"``) continues. The objective alone does not choose: its
  optima are near ties (e5→MiniLM: f = 1.4954 / 1.4861 / 1.4386, only the third is
  right), and no criterion is meaningful before refinement. No pair is ever used.
- Then refine-1 (``refine1_iterations`` at k = ``refine1_k``, then
  ``refine1_iterations2`` at k = ``refine1_k2``), α = ``refine1_alpha`` (1: W ← Procrustes,
  the prototype's choice for a rank-4 start), and refine-2 as above.

Measured (the WordNet MiniLM/e5 pair, 60,000 glosses, train_pairs = 0: disjoint halves
of the 51,808 non-test rows, 8,192 held-out pairs, chance top-1 0.012 %;
α = 1, screen 60 at k = 50, then k = 10; docs/unsupervised-encoders.md has the table):
MiniLM→e5 seed 0, top optimum, 30 iterations at k = 10: top-1 37.7 % (mean rank 118,
572 s on a loaded 2-core machine); e5→MiniLM seed 0, 3 candidates, 60 at k = 10: 0.024 %
(chance; all three candidates at chance, nn_cos 0.3336–0.3354, so the screening had
nothing to choose). The prototype (file-order split): 50.4 % and 0.17 %. One direction
works, the other does not: hence not the default. On a synthetic skewed space the global
maximum's basin held about 2.5 % of the random starts: 100 starts can miss it.

Independent-component initialization (``init="ica"``, ``alignment_core.ica_match``): FastICA
on each side's whitened top-``ica_components`` (64) PCA subspace, components matched as two
co-occurrence graphs by Frank-Wolfe QAP (``ica_starts`` = 100 starts for each λ of
``ica_lambdas`` = (5, 10), the ``ica_candidates`` = 2 best per λ), each candidate
W₀ = B_y P B_xᵀ refined by ``ica_screen_iterations`` = 30 refine-1 iterations (α = 1) and
the best by nn_cos kept (one "ica" event each); then refine-1, refine-2 and the CSLS rounds.
The default for paired items with no training pair (``runs.ITEMS_UNSUPERVISED_DEFAULTS``,
with 5 CSLS rounds): WordNet e5→MiniLM 62.5–63.7 %, MiniLM→e5 60.4–70.9 % top-1 (seeds 0–2,
about 4 minutes each).

``ica_consensus``: instead of the best candidate through refine-1 and refine-2, every screened
candidate is refined on its own by CSLS rounds (mutual dictionaries, at most
``csls_refinements``, stopped after ``csls_patience`` rounds without +0.001), the pairs the
refined candidates within ``consensus_gap`` of the best all induce give W (``starts.consensus``,
MUSE's consensus of games), then ``polish`` S2T rounds; ``restarts`` is not used. The default
for two word spaces with no seed pair (``runs.WORDS_UNSUPERVISED_DEFAULTS``: ica, consensus,
5 rounds a candidate, patience 2, polish 8, ``max_rows`` 15,000), the same start and refinement
as MUSE's default preset (the numbers below are from 15 rounds and polish 4). On fi→fr seed 0 the four candidates refined alone reached CSLS P@1 25.7–28.8,
their consensus and polish 31.7 (criterion 0.628, above each candidate's); the best candidate
through the plain pipeline (refine-1, refine-2, 5 CSLS rounds) gave 25.1. Seeds 0–9:
``bench/bench_defaults.py`` and ``docs/defaults.md``.
``init=None`` (the class's default) means "anchors" (the notebook); the settings above are
applied by ``runs`` where they are the default.

Different dimensions (d_s ≠ d_t) are handled: the anchors and relative representations
are dimension-free, and Procrustes gives a semi-orthogonal W (see ``mapping``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dictionary import DEFAULT_MAX_RANK
from ..errors import ConfigError
from ..mapping import apply_mapping, nearest_orthogonal, procrustes
from ..moments import MomentMatch
from ..retrieval import knn, normalize_rows
from .base import Alignment, IterationEvent, Method, Monitor, fitted_rows, refine, score_mapping
from .starts import (IcaStart, fit_components, ica_starts, neighbour_mean, pseudo_pair_step, refine_candidates,
                     screen, with_seeds as _with_seeds)
from .starts import nn_cos  # noqa: F401  (re-exported: the screening's criterion)

SEED_MODES = ("augment", "replace")
INITS = ("anchors", "moments", "ica")
MOMENT_SELECT = ("nn_cos", "criterion")


@dataclass(frozen=True)
class MiniVec2VecConfig:
    """Hyper-parameters; the defaults of steps 1–5 are the reference notebook's."""

    anchor_runs: int = 30            # s
    clusters: int = 20               # c
    sample_size: int = 10_000        # n
    qap_restarts: int = 30
    relative_k: int = 50             # k
    refine1_iterations: int = 100    # T
    refine1_sample: int = 1_000      # n_s
    refine1_k: int = 50              # k'
    alpha: float = 0.5
    refine2_clusters: int = 500      # c'
    orthogonalize: bool = True
    kmeans_iterations: int = 25
    restarts: int = 1
    csls_refinements: int | None = None   # None = the setting's default: 0, or 5 on paired items with no pair
    csls_max_rank: int = DEFAULT_MAX_RANK
    max_rows: int | None = None
    seed_mode: str = "augment"
    criterion_every: int = 50
    seed: int = 0
    # moment-tensor initialization (``init="moments"``, see the module docstring)
    init: str | None = None          # None = the setting's default: "anchors", or "ica" on paired items with no pair
    moment_dims: int = 4             # m
    moment_starts: int = 100
    moment_steps: int = 300
    moment_lr: float = 0.5
    moment_candidates: int = 3
    moment_screen_iterations: int = 100
    moment_select: str = "nn_cos"
    refine1_alpha: float | None = None   # None = alpha
    refine1_iterations2: int = 0     # a second refine-1 phase, with k = refine1_k2
    refine1_k2: int = 10
    # independent-component matching (``init="ica"``, ``alignment_core.ica_match``)
    ica_components: int = 64         # k
    ica_lambdas: tuple[float, ...] = (5.0, 10.0)
    ica_starts: int = 100
    ica_qap_iterations: int = 60
    ica_candidates: int = 2          # per λ
    ica_screen_iterations: int = 30
    # every screened candidate refined on its own, then their consensus (``starts.consensus``)
    # instead of the best candidate through refine-1 and refine-2; csls_refinements is then
    # each candidate's maximum number of rounds
    ica_consensus: bool = False
    csls_patience: int = 0           # stop a CSLS refinement after this many rounds without +0.001 (0 = never)
    consensus_gap: float = 0.03
    polish: int = 0                  # S2T rounds from the consensus (ica_consensus)

    def __post_init__(self):
        IcaStart.check_fields(self, "mini-vec2vec: ")
        positive = ("anchor_runs", "clusters", "sample_size", "qap_restarts", "relative_k", "refine1_sample",
                    "refine1_k", "refine2_clusters", "kmeans_iterations", "restarts", "csls_max_rank")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"mini-vec2vec: {name} must be ≥ 1, got {getattr(self, name)}")
        if self.init is None:   # what the method does when nobody chose (runs.ITEMS_UNSUPERVISED_DEFAULTS)
            object.__setattr__(self, "init", "anchors")
        if self.csls_refinements is None:
            object.__setattr__(self, "csls_refinements", 0)
        for name in ("refine1_iterations", "csls_refinements", "criterion_every"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"mini-vec2vec: {name} must be ≥ 0, got {getattr(self, name)}")
        if self.clusters < 2:
            raise ConfigError(f"mini-vec2vec: clusters must be ≥ 2 to match centroids, got {self.clusters}")
        if not 0.0 < self.alpha <= 1.0:
            raise ConfigError(f"mini-vec2vec: alpha must be in (0, 1], got {self.alpha}")
        if self.max_rows is not None and self.max_rows < 2 * self.clusters:
            raise ConfigError(f"mini-vec2vec: max_rows must be ≥ 2·clusters = {2 * self.clusters}, "
                              f"got {self.max_rows}")
        if self.seed_mode not in SEED_MODES:
            raise ConfigError(f"mini-vec2vec: seed_mode must be one of {SEED_MODES}, got {self.seed_mode!r}")
        if self.init not in INITS:
            raise ConfigError(f"mini-vec2vec: init must be one of {INITS}, got {self.init!r}")
        if self.moment_select not in MOMENT_SELECT:
            raise ConfigError(f"mini-vec2vec: moment_select must be one of {MOMENT_SELECT}, "
                              f"got {self.moment_select!r}")
        for name in ("moment_dims", "moment_starts", "moment_candidates", "refine1_k2"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"mini-vec2vec: {name} must be ≥ 1, got {getattr(self, name)}")
        if self.moment_dims < 2:
            raise ConfigError(f"mini-vec2vec: moment_dims must be ≥ 2, got {self.moment_dims}")
        for name in ("moment_steps", "moment_screen_iterations", "refine1_iterations2"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"mini-vec2vec: {name} must be ≥ 0, got {getattr(self, name)}")
        for name in ("csls_patience", "polish"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"mini-vec2vec: {name} must be ≥ 0, got {getattr(self, name)}")
        if not self.consensus_gap >= 0:
            raise ConfigError(f"mini-vec2vec: consensus_gap must be ≥ 0, got {self.consensus_gap}")
        if not self.moment_lr > 0:
            raise ConfigError(f"mini-vec2vec: moment_lr must be > 0, got {self.moment_lr}")
        if self.refine1_alpha is not None and not 0.0 < self.refine1_alpha <= 1.0:
            raise ConfigError(f"mini-vec2vec: refine1_alpha must be in (0, 1], got {self.refine1_alpha}")

    @property
    def alpha1(self) -> float:
        """α of refine-1 (``refine1_alpha``, or ``alpha`` when unset)."""
        return self.alpha if self.refine1_alpha is None else self.refine1_alpha


# --------------------------------------------------------------------------- building blocks


def preprocess(x: np.ndarray) -> np.ndarray:
    """Step 1: x ← (x − mean(X)) / ‖x − mean(X)‖ (float32)."""
    x = np.asarray(x, dtype=np.float32)
    return normalize_rows(x - x.mean(axis=0, dtype=np.float64).astype(np.float32))


def kmeans(x: np.ndarray, k: int, seed: int, niter: int = 25,
           init: np.ndarray | None = None) -> np.ndarray:
    """faiss k-means (Lloyd) on all rows of ``x``; ``init`` gives the starting centroids."""
    import faiss

    x = np.ascontiguousarray(x, dtype=np.float32)
    km = faiss.Kmeans(x.shape[1], int(k), niter=int(niter), seed=int(seed) % (2**31 - 1), verbose=False,
                      max_points_per_centroid=max(256, -(-x.shape[0] // int(k))), min_points_per_centroid=1)
    if init is not None:
        km.train(x, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
    else:
        km.train(x)
    return np.array(km.centroids, dtype=np.float32)


def double_centered_gram(c: np.ndarray) -> np.ndarray:
    """H C Cᵀ H with H = I − 11ᵀ/c: the Gram matrix of the centroids around their mean."""
    c = np.asarray(c, dtype=np.float64)
    c = c - c.mean(axis=0)
    return c @ c.T


def match_centroids(cs: np.ndarray, ct: np.ndarray, restarts: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Permutation ``perm`` (source centroid i ↔ target centroid perm[i]) maximizing
    Σ_ij G_s[i, j] G_t[perm[i], perm[j]] by 2-opt from ``restarts`` random starts (best kept).
    Returns (perm, Pearson correlation of the matched off-diagonal Gram entries)."""
    from scipy.optimize import quadratic_assignment

    gs, gt = double_centered_gram(cs), double_centered_gram(ct)
    best_perm, best_fun = None, -np.inf
    for _ in range(restarts):
        start = np.random.default_rng(int(rng.integers(2**31 - 1)))  # the random initial permutation
        res = quadratic_assignment(gs, gt, method="2opt", options={"maximize": True, "rng": start})
        if res.fun > best_fun:
            best_fun, best_perm = res.fun, np.asarray(res.col_ind, dtype=np.int64)
    off = ~np.eye(len(gs), dtype=bool)
    a, b = gs[off], gt[np.ix_(best_perm, best_perm)][off]
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    return best_perm, corr


def relative(x: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Relative representation: cosines to the anchors, then centered and unit-normalized."""
    r = normalize_rows(x) @ normalize_rows(anchors).T
    return normalize_rows(r - r.mean(axis=0, dtype=np.float64).astype(np.float32))


# --------------------------------------------------------------------------- the method


class MiniVec2Vec(Method):
    """mini-vec2vec (Dar 2025) with restarts, optional seeds and CSLS refinement."""

    name = "mini-vec2vec"

    def __init__(self, config: MiniVec2VecConfig | None = None, **kw):
        super().__init__(config or MiniVec2VecConfig(**kw))

    # -- helpers
    def _blend(self, w: np.ndarray, w_new: np.ndarray, alpha: float | None = None) -> np.ndarray:
        a = self.config.alpha if alpha is None else alpha
        if a >= 1.0:   # W ← Procrustes: already orthogonal, no average to project back
            return np.asarray(w_new, np.float32)
        w = ((1.0 - a) * np.asarray(w, np.float64) + a * np.asarray(w_new, np.float64))
        return nearest_orthogonal(w) if self.config.orthogonalize else w.astype(np.float32)

    def _score(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, monitor: Monitor | None,
               label: str) -> dict[str, Any]:
        """Criterion (and P@1 for display) of w; offers w to the best-so-far."""
        _, out = score_mapping(x, y, w, monitor=monitor)
        self._offer(out["criterion"], w, None, label)
        return out

    def _fit(self, src, tgt, seed_pairs, monitor):
        cfg: MiniVec2VecConfig = self.config
        t0 = time.perf_counter()
        n_x, n_y = len(src), len(tgt)
        if n_x < cfg.clusters or n_y < cfg.clusters:
            raise ConfigError(f"mini-vec2vec needs at least clusters = {cfg.clusters} rows per side; "
                              f"got {n_x} source and {n_y} target rows")
        seeds = None
        if seed_pairs is not None and len(seed_pairs):
            seeds = np.asarray(seed_pairs, dtype=np.int64).reshape(-1, 2)
            if seeds.min() < 0 or seeds[:, 0].max() >= n_x or seeds[:, 1].max() >= n_y:
                raise ConfigError(f"mini-vec2vec: seed pairs index rows outside the spaces ({n_x} source, "
                                  f"{n_y} target rows)")
        rows_x, rows_y, seeds, monitor = fitted_rows(n_x, n_y, cfg.max_rows, seeds, monitor)
        if seeds is not None and len(seeds) == 0:
            raise ConfigError(f"mini-vec2vec: no seed pair falls within max_rows = {cfg.max_rows}")
        x = preprocess(src.vectors[:rows_x])
        y = preprocess(tgt.vectors[:rows_y])
        self._moments = None
        if cfg.init == "moments" and not (seeds is not None and cfg.seed_mode == "replace"):
            if cfg.moment_dims > min(x.shape[1], y.shape[1]):
                raise ConfigError(f"mini-vec2vec: moment_dims = {cfg.moment_dims} exceeds the dimension "
                                  f"({x.shape[1]} source, {y.shape[1]} target)")
            self._moments = MomentMatch(x, y, cfg.moment_dims)   # the same for every restart
        self._ica = None
        if cfg.init == "ica" and not (seeds is not None and cfg.seed_mode == "replace"):
            self._ica, self._ica_seconds = fit_components(x, y, IcaStart.of(cfg), cfg.seed)   # every restart's
        if self._ica is not None and cfg.ica_consensus:
            yield from self._ica_consensus(x, y, seeds, monitor, t0)
            crit, w_best, pairs, label = self._best
            if pairs.shape[0] == 0 and seeds is not None:
                pairs = seeds
            return Alignment(w_best, list(self._src_steps), list(self._tgt_steps), pairs, list(self._history),
                             crit, False, label)
        for r in range(cfg.restarts):
            rng = np.random.default_rng([cfg.seed, r])
            w = yield from self._pipeline(x, y, seeds, monitor, rng, r, t0)
        best_w = self._best[1]
        best_label = self._best[3]

        if cfg.csls_refinements > 0:
            yield from refine(self, x, y, best_w, cfg.csls_refinements, max_rank=cfg.csls_max_rank,
                              monitor=monitor, stage="csls-refinement", t0=t0, extra_pairs=seeds,
                              patience=cfg.csls_patience)
        crit, w_best, pairs, label = self._best
        if pairs.shape[0] == 0 and seeds is not None:
            pairs = seeds
        del w, best_w, best_label
        return Alignment(w_best, list(self._src_steps), list(self._tgt_steps), pairs, list(self._history),
                         crit, False, label)

    def _pipeline(self, x, y, seeds, monitor, rng, restart, t0):
        """Steps 2–5 for one restart; yields events, returns the final W."""
        cfg: MiniVec2VecConfig = self.config
        tag = f"restart {restart + 1}/{cfg.restarts}"
        base_metrics = {"restart": restart + 1}

        # -- steps 2–3: anchors and the relative-space initialization (or seeds instead)
        init_extra: dict[str, Any] = {}
        if seeds is not None and cfg.seed_mode == "replace":
            w = procrustes(x[seeds[:, 0]], y[seeds[:, 1]])
            msg = f"{tag}: W₀ = Procrustes on {len(seeds)} seed pairs"
            init_pairs = len(seeds)
        elif self._ica is not None:
            w, init_extra, msg = yield from self._ica_init(x, y, seeds, monitor, rng, tag, base_metrics, t0)
            init_pairs = min(cfg.refine1_sample, x.shape[0]) + (0 if seeds is None else len(seeds))
        elif self._moments is not None:
            w, init_extra, msg = yield from self._moment_init(x, y, seeds, monitor, rng, tag, base_metrics, t0)
            init_pairs = 0 if not cfg.moment_screen_iterations else (
                min(cfg.refine1_sample, x.shape[0]) + (0 if seeds is None else len(seeds)))
        else:
            anchors_x, anchors_y = [], []
            for s in range(cfg.anchor_runs):
                sx = rng.choice(x.shape[0], size=min(cfg.sample_size, x.shape[0]), replace=False)
                sy = rng.choice(y.shape[0], size=min(cfg.sample_size, y.shape[0]), replace=False)
                cx = kmeans(x[np.sort(sx)], cfg.clusters, int(rng.integers(2**31 - 1)), cfg.kmeans_iterations)
                cy = kmeans(y[np.sort(sy)], cfg.clusters, int(rng.integers(2**31 - 1)), cfg.kmeans_iterations)
                perm, corr = match_centroids(cx, cy, cfg.qap_restarts, rng)
                anchors_x.append(cx)
                anchors_y.append(cy[perm])
                yield self._record(IterationEvent(
                    "anchors", s + 1, cfg.anchor_runs,
                    {**base_metrics, "gram_correlation": corr, "anchors": (s + 1) * cfg.clusters},
                    time.perf_counter() - t0, message=f"{tag}: matched {cfg.clusters} centroid pairs by QAP"))
            ax, ay = _with_seeds(np.concatenate(anchors_x), np.concatenate(anchors_y), x, y, seeds)
            rx, ry = relative(x, ax), relative(y, ay)
            _, ids = knn(rx, ry, cfg.relative_k)
            del rx, ry
            pseudo = neighbour_mean(ids, y)
            px, py = _with_seeds(x, pseudo, x, y, seeds)
            w = procrustes(px, py)
            del pseudo, ids
            msg = f"{tag}: Procrustes on {x.shape[0]} relative-space pseudo-pairs ({len(ax)} anchors)"
            init_pairs = x.shape[0] + (0 if seeds is None else len(seeds))
        metrics = {**base_metrics, "dict_size": init_pairs, **init_extra,
                   **self._score(x, y, w, monitor, f"{tag}: init")}
        yield self._record(IterationEvent("init", 1, 1, metrics, time.perf_counter() - t0, w=w, message=msg))

        # -- step 4: refine-1 (and its optional second phase with k = refine1_k2)
        T1, T2 = cfg.refine1_iterations, cfg.refine1_iterations2
        w = yield from self._refine1(x, y, w, seeds, monitor, rng, range(T1), T1 + T2, cfg.refine1_k,
                                     "refine-1", tag, base_metrics, t0)
        w = yield from self._refine1(x, y, w, seeds, monitor, rng, range(T1, T1 + T2), T1 + T2, cfg.refine1_k2,
                                     "refine-1", tag, base_metrics, t0)

        # -- step 5: refine-2
        c2 = min(cfg.refine2_clusters, x.shape[0], y.shape[0])
        cx = kmeans(x, c2, int(rng.integers(2**31 - 1)), cfg.kmeans_iterations)
        cy = kmeans(y, c2, int(rng.integers(2**31 - 1)), cfg.kmeans_iterations, init=apply_mapping(cx, w))
        px, py = _with_seeds(cx, cy, x, y, seeds)
        w_new = self._blend(w, procrustes(px, py))
        metrics = {**base_metrics, "dict_size": int(len(px)), "delta_w": float(np.linalg.norm(w_new - w))}
        w = w_new
        metrics.update(self._score(x, y, w, monitor, f"{tag}: refine-2"))
        yield self._record(IterationEvent("refine-2", 1, 1, metrics, time.perf_counter() - t0, w=w,
                                          message=f"{tag}: Procrustes on {c2} source centroids and the target "
                                                  f"centroids grown from them"))
        return w

    def _refine1(self, x, y, w, seeds, monitor, rng, steps: range, total: int, k: int, stage: str, tag: str,
                 base_metrics: dict, t0: float, select: bool = True, alpha: float | None = None):
        """Refine-1 iterations ``steps`` (of ``total``): sample ``refine1_sample`` source rows,
        pseudo-target = mean of the ``k`` nearest targets of x Wᵀ, W ← blend(W, Procrustes),
        α = ``alpha1``. With ``select`` the criterion is computed every ``criterion_every``
        iterations and at the last one and W offered to the best-so-far; without (the
        screening of moment candidates) only the cheap numbers. Yields events, returns W."""
        cfg: MiniVec2VecConfig = self.config
        for it in steps:
            w_proc, m = pseudo_pair_step(x, y, w, rng, cfg.refine1_sample, k, seeds)
            w_new = self._blend(w, w_proc, cfg.alpha1 if alpha is None else alpha)
            metrics = {**base_metrics, **m, "delta_w": float(np.linalg.norm(w_new - w))}
            w = w_new
            last = it == total - 1
            if select and (last or (cfg.criterion_every and (it + 1) % cfg.criterion_every == 0)):
                metrics.update(self._score(x, y, w, monitor, f"{tag}: {stage} {it + 1}"))
            elif monitor is not None:
                metrics["p@1_nn"] = monitor.p_at_1_nn(x, y, w)
            yield self._record(IterationEvent(stage, it + 1, total, metrics, time.perf_counter() - t0, w=w,
                                              message=f"{tag}: Procrustes on the mean of {k} "
                                                      f"nearest targets of {m['sampled']} sampled rows"))
        return w

    def _screen(self, x, y, starts: list, seeds, monitor, rng, stage: str, tag: str, base_metrics: dict,
                t0: float, alpha: float | None = None, offer: bool = False):
        """Screen candidate starts (``init="moments"`` and ``init="ica"``; ``starts.screen``):
        each refined by S refine-1 iterations and scored. Returns [(metrics, W)] and the
        1-based number of the best by ``moment_select``."""
        cfg: MiniVec2VecConfig = self.config
        S = cfg.moment_screen_iterations if stage == "moments" else cfg.ica_screen_iterations
        a = cfg.alpha1 if alpha is None else alpha
        results = yield from screen(self, x, y, starts, S, cfg.refine1_sample, cfg.refine1_k, seeds, monitor, rng,
                                    cfg.seed, stage, tag, base_metrics, t0,
                                    step=lambda w, w_new: self._blend(w, w_new, a), offer=offer)
        best = max(range(len(results)), key=lambda i: results[i][0][cfg.moment_select])
        return results, best + 1

    def _moment_init(self, x, y, seeds, monitor, rng, tag: str, base_metrics: dict, t0: float):
        """The moment-tensor initialization: the best ``moment_candidates`` distinct optima
        of the moment objective, screened (:meth:`_screen`, one "moments" event each).
        Returns (the winner's refined W, metrics for the init event, message)."""
        cfg: MiniVec2VecConfig = self.config
        mm: MomentMatch = self._moments
        optima = mm.optima(cfg.moment_starts, rng, cfg.moment_steps, cfg.moment_lr)
        starts = [(mm.mapping(opt.q), {"moment_f": opt.f, "moment_hits": opt.hits, "moment_optima": len(optima)},
                   lambda c, n, opt=opt: f"moment optimum {c}/{n} (f = {opt.f:.4f}, {opt.hits} of "
                                         f"{cfg.moment_starts} starts)")
                  for opt in optima[:cfg.moment_candidates]]
        results, best = yield from self._screen(x, y, starts, seeds, monitor, rng, "moments", tag, base_metrics, t0)
        metrics, w = results[best - 1]
        extra = {"candidate": best, "moment_f": metrics["moment_f"], "nn_cos": metrics["nn_cos"]}
        msg = (f"{tag}: W₀ = V_y Q V_xᵀ from moment optimum {best} of {len(starts)} (best "
               f"{cfg.moment_select}), after {cfg.moment_screen_iterations} refine-1 iterations")
        return w, extra, msg

    def _ica_candidates(self, x, y, seeds, monitor, rng, tag: str, base_metrics: dict, t0: float,
                        offer: bool = False):
        """The independent-component candidates (``starts.ica_starts``), each screened with
        α = 1. Returns ([(metrics, W)], the 1-based number of the best by ``moment_select``)."""
        cfg: MiniVec2VecConfig = self.config
        starts = ica_starts(self._ica, IcaStart.of(cfg, cfg.refine1_sample, cfg.refine1_k), rng, self._ica_seconds)
        return (yield from self._screen(x, y, starts, seeds, monitor, rng, "ica", tag, base_metrics, t0, alpha=1.0,
                                        offer=offer))

    def _ica_init(self, x, y, seeds, monitor, rng, tag: str, base_metrics: dict, t0: float):
        """The independent-component initialization: the best screened candidate
        (:meth:`_ica_candidates`, one "ica" event each). Returns (its refined W, metrics for
        the init event, message)."""
        cfg: MiniVec2VecConfig = self.config
        results, best = yield from self._ica_candidates(x, y, seeds, monitor, rng, tag, base_metrics, t0)
        metrics, w = results[best - 1]
        extra = {"candidate": best, "ica_lambda": metrics["ica_lambda"], "ica_f": metrics["ica_f"],
                 "nn_cos": metrics["nn_cos"]}
        msg = (f"{tag}: W₀ = B_y P B_xᵀ from component matching {best} of {len(results)} (best "
               f"{cfg.moment_select}), after {cfg.ica_screen_iterations} refine-1 iterations")
        return w, extra, msg

    def _ica_consensus(self, x, y, seeds, monitor, t0: float):
        """``ica_consensus``: every screened candidate refined by CSLS rounds on its own
        (mutual dictionaries, up to ``csls_refinements`` rounds, stopped at a plateau of
        ``csls_patience``), the pairs the refined candidates within ``consensus_gap`` agree
        on (``starts.consensus``), Procrustes, then ``polish`` S2T rounds. Returns nothing;
        the best W by the criterion is this method's best."""
        cfg: MiniVec2VecConfig = self.config
        rng = np.random.default_rng([cfg.seed, 0])
        results, _ = yield from self._ica_candidates(x, y, seeds, monitor, rng, "ica", {"restart": 1}, t0,
                                                     offer=True)
        w = yield from refine_candidates(self, x, y, results, cfg.csls_refinements, "S2T&T2S", cfg.consensus_gap,
                                         max_rank=cfg.csls_max_rank, monitor=monitor, t0=t0, extra_pairs=seeds,
                                         patience=cfg.csls_patience)
        if cfg.polish:
            yield from refine(self, x, y, w, cfg.polish, mode="S2T", max_rank=cfg.csls_max_rank, monitor=monitor,
                              stage="polish", t0=t0, extra_pairs=seeds)
