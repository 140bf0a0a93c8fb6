"""Independent-component matching of two spaces (no pair needed).

Two text encoders of the same items do not share a vocabulary, but they share the
*data*: the same kinds of texts are rare, the same topics come in the same sizes and
overlap in the same ways. Independent component analysis pulls, out of each space,
directions whose distributions are as far from Gaussian as possible (a topic: most rows
near 0, a few far out); a topic that one encoder separates the other often separates
too. The two sets of components are then matched by what each component looks like on
its own (its tail mass and skew) and by how components co-occur (the rows far out on
one are far out on which others): a graph matching problem between two k-node graphs
with several edge channels, solved by Frank-Wolfe (FAQ, Vogelstein et al. 2015) from
many random starts. Each matched pair of components gives one direction of the map.

Notation: rows x (n_x × d_s), y (n_y × d_t), centered and unit-normalized (mini-vec2vec's
preprocessing). W (d_t × d_s), mapped = x Wᵀ.

1. PCA per side to ``k`` (64) dimensions, whitened: z = x V / √λ. FastICA (scikit-learn,
   ``whiten=False``, logcosh) on z: s = z Rᵀ with R orthogonal (k × k). Each component's
   sign is fixed so that its skewness is positive (a topic is a heavy *right* tail), then
   it is standardized. The component's direction in the space is the column of
   B = V Rᵀ (d × k, orthonormal columns).
2. Node features per component: P(s > 2), P(s < −1.5), skewness E[s³] and the 0.99
   quantile; standardized over the 2k components of both sides together. D[i, j] =
   squared distance between source component i's and target component j's features.
3. Edge channels per side (k × k), each z-scored over its off-diagonal entries, diagonal 0:
   E[s_i² s_j], E[s_i² s_j²], corr(|s_i|, |s_j|), log co-exceedance
   log((n·P(s_i > 2, s_j > 2) + 1) / (n·P(s_i > 2) P(s_j > 2) + 1)),
   P(s_i > 1.5 | s_j > 1.5) and E[max(s_i, 0) s_j].
4. For a permutation π (source component i ↔ target component π(i)), the objective is
   f(π) = Σ_c Σ_{i,i'} A_c[i, i'] B_c[π(i), π(i')] − λ Σ_i D[i, π(i)]
   (A_c source channels, B_c target channels). Frank-Wolfe on the doubly stochastic
   relaxation: gradient G = Σ_c (A_c P B_cᵀ + A_cᵀ P B_c) − λ D, the vertex Q = LAP(G),
   exact line search on P + t (Q − P) (the objective is quadratic in t), ``qap_iterations``
   (60) steps, then the nearest permutation (LAP of P). Starts: ½ barycenter + ½ a random
   permutation, ``qap_starts`` (100); the distinct permutations are returned by f, best first.
5. W₀ = B_y[:, π] B_xᵀ (rank k).

What the objective does and does not tell (the WordNet MiniLM/e5 pair, disjoint halves of
25,904 rows each, ``docs/unsupervised-encoders.md``): under the supervised map about 25–30
of 64 components have a clear partner (|corr| > 0.4), and the skewness sign is always the
same on both sides. A start with 10 of 30 confident matches right (20 wrong) is already in
the refinement's basin (top-1 52 % after 30 refine-1 iterations); 5 right is not. A higher
f goes with more correct matches, but not perfectly, and 20 starts are too few: hence 100
starts, several λ, and the candidates screened by refinement and ``nn_cos``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mapping import nearest_orthogonal
from .moments import top_pca, whiten

#: the thresholds of the node features and edge channels (in standard deviations)
HIGH, LOW, COND = 2.0, -1.5, 1.5


@dataclass(frozen=True)
class Components:
    """ICA of one side: standardized sources ``s`` (n × k, skewness ≥ 0) and their
    orthonormal directions ``b`` (d × k) in the space."""

    s: np.ndarray
    b: np.ndarray


def ica_components(x: np.ndarray, k: int = 64, seed: int = 0, max_iter: int = 1000,
                   tol: float = 1e-5) -> Components:
    """Steps 1 of the module docstring: PCA-whiten ``x`` to ``k`` dimensions, FastICA,
    sign by skewness, standardize."""
    import warnings

    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    x = np.asarray(x, np.float64)
    x = x - x.mean(axis=0)
    k = int(min(k, x.shape[1], max(len(x) - 1, 1)))
    values, vectors = top_pca(x, k)
    z = whiten(x, vectors, np.maximum(values, 1e-12))
    ica = FastICA(whiten=False, max_iter=int(max_iter), tol=float(tol),
                  random_state=int(seed) % (2**31 - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        s = ica.fit_transform(z)
    r = np.asarray(ica.components_, np.float64)           # s = z rᵀ
    s = s - s.mean(axis=0)
    s = s / np.maximum(s.std(axis=0), 1e-12)
    sign = np.where((s ** 3).mean(axis=0) < 0, -1.0, 1.0)
    s, r = s * sign, r * sign[:, None]
    # r is orthogonal up to FastICA's tolerance: the polar factor makes B's columns exactly orthonormal
    return Components(s.astype(np.float32), nearest_orthogonal(vectors @ r.T).astype(np.float64))


def node_features(s: np.ndarray) -> np.ndarray:
    """Per component: [P(s > 2), P(s < −1.5), skewness, 0.99 quantile] (k × 4)."""
    s = np.asarray(s, np.float64)
    return np.stack([(s > HIGH).mean(0), (s < LOW).mean(0), (s ** 3).mean(0),
                     np.quantile(s, 0.99, axis=0)], axis=1)


def _zscore_offdiag(m: np.ndarray) -> np.ndarray:
    off = ~np.eye(len(m), dtype=bool)
    v = m[off]
    out = (m - v.mean()) / max(v.std(), 1e-12)
    out[~off] = 0.0
    return out


def edge_channels(s: np.ndarray) -> np.ndarray:
    """The six co-occurrence channels of step 3 (6 × k × k), each z-scored off the diagonal."""
    s = np.asarray(s, np.float64)
    n = len(s)
    s2 = s * s
    a = np.abs(s)
    hi = (s > HIGH).astype(np.float64)
    co = (s > COND).astype(np.float64)
    p_hi, p_co = hi.mean(0), co.mean(0)
    joint_hi = hi.T @ hi / n
    with np.errstate(invalid="ignore"):
        corr_abs = np.nan_to_num(np.corrcoef(a.T))
    chans = [
        s2.T @ s / n,
        s2.T @ s2 / n,
        corr_abs,
        np.log((n * joint_hi + 1.0) / (n * np.outer(p_hi, p_hi) + 1.0)),
        (co.T @ co / n) / np.maximum(p_co[None, :], 1.0 / n),
        np.maximum(s, 0.0).T @ s / n,
    ]
    return np.stack([_zscore_offdiag(c) for c in chans])


@dataclass(frozen=True)
class Matching:
    """A permutation of components (source i ↔ target ``perm[i]``), its objective ``f``
    and how many starts reached it (``hits``)."""

    perm: np.ndarray
    f: float
    hits: int = 1


class ComponentMatch:
    """The graph matching problem of steps 2–4 between two sides' components."""

    def __init__(self, cx: Components, cy: Components, lam: float = 5.0):
        if cx.s.shape[1] != cy.s.shape[1]:
            raise ValueError(f"component counts differ: {cx.s.shape[1]} and {cy.s.shape[1]}")
        self.k = cx.s.shape[1]
        self.lam = float(lam)
        fx, fy = node_features(cx.s), node_features(cy.s)
        both = np.concatenate([fx, fy])
        mu, sd = both.mean(0), np.maximum(both.std(0), 1e-12)
        fx, fy = (fx - mu) / sd, (fy - mu) / sd
        self.d = ((fx[:, None, :] - fy[None, :, :]) ** 2).sum(-1)
        self.a = edge_channels(cx.s)
        self.b = edge_channels(cy.s)

    def _grad(self, p: np.ndarray) -> np.ndarray:
        a, b = self.a, self.b                       # (c, k, k) stacks: batched matrix products
        return (a @ p @ np.swapaxes(b, 1, 2) + np.swapaxes(a, 1, 2) @ p @ b).sum(0) - self.lam * self.d

    def _quad(self, p: np.ndarray) -> float:
        return float(((self.a @ p @ np.swapaxes(self.b, 1, 2)) * p).sum())

    def objective(self, perm: np.ndarray) -> float:
        """f(π) of the module docstring."""
        perm = np.asarray(perm)
        quad = sum(float((ac * bc[np.ix_(perm, perm)]).sum()) for ac, bc in zip(self.a, self.b))
        return quad - self.lam * float(self.d[np.arange(self.k), perm].sum())

    def solve(self, p: np.ndarray, iterations: int = 60) -> np.ndarray:
        """Frank-Wolfe from the doubly stochastic ``p``; returns the nearest permutation."""
        from scipy.optimize import linear_sum_assignment

        p = np.array(p, np.float64)
        for _ in range(int(iterations)):
            g = self._grad(p)
            _, col = linear_sum_assignment(g, maximize=True)
            q = np.zeros_like(p)
            q[np.arange(self.k), col] = 1.0
            dlt = q - p
            slope, curv = float((g * dlt).sum()), self._quad(dlt)
            if curv < 0:
                t = min(max(-slope / (2.0 * curv), 0.0), 1.0)
            else:
                t = 1.0 if slope + curv > 0 else 0.0
            if t <= 1e-9:
                break
            p = p + t * dlt
        _, col = linear_sum_assignment(p, maximize=True)
        return np.asarray(col, np.int64)

    def matchings(self, starts: int, rng: np.random.Generator, iterations: int = 60) -> list[Matching]:
        """The distinct permutations reached from ``starts`` random starts, best f first."""
        k = self.k
        found: dict[bytes, list] = {}
        for _ in range(int(starts)):
            p0 = np.zeros((k, k))
            p0[np.arange(k), rng.permutation(k)] = 1.0
            perm = self.solve(0.5 * p0 + 0.5 / k, iterations)
            key = perm.tobytes()
            if key in found:
                found[key][2] += 1
            else:
                found[key] = [perm, self.objective(perm), 1]
        out = [Matching(p, f, h) for p, f, h in found.values()]
        return sorted(out, key=lambda m: -m.f)


def mapping(cx: Components, cy: Components, perm: np.ndarray) -> np.ndarray:
    """W₀ = B_y[:, π] B_xᵀ (d_t × d_s, rank k; mapped = x W₀ᵀ), float32."""
    return (cy.b[:, np.asarray(perm)] @ cx.b.T).astype(np.float32)
