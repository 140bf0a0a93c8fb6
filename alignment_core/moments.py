"""Moment-tensor matching of two spaces' top principal subspaces (no pair needed).

Two encoders of the same kind of data share more than their second moments: the
covariance of a whitened subspace is the identity whatever its rotation, but the
third moment and the fourth cumulant are not rotation-invariant, so they can
identify the rotation between two whitened subspaces when the data are not Gaussian.
This is the method-of-moments idea of independent component analysis (Comon 1994,
"Independent component analysis, a new concept?"; Anandkumar et al. 2014, "Tensor
decompositions for learning latent variable models"), used here to match two spaces.

Notation: rows x (n_x × d_s), y (n_y × d_t), centered and unit-normalized.

1. PCA per side: the top ``m`` eigenvectors V (d × m) and eigenvalues λ of the
   covariance; whitened coordinates z = x V / √λ (so E[z zᵀ] = I).
2. Moment tensors over all rows:
   T3[a,b,c] = E[z_a z_b z_c],
   K4[a,b,c,d] = E[z_a z_b z_c z_d] − (C_ab C_cd + C_ac C_bd + C_ad C_bc), C = E[z zᵀ]
   (the fourth cumulant: zero for a Gaussian).
3. For an orthogonal m × m Q (z_y ≈ Q z_x), the objective is the cosine similarity of
   the rotated source tensors with the target's:
   f(Q) = ⟨T3_x ×₁Q ×₂Q ×₃Q, T3_y⟩ / (‖T3_x‖ ‖T3_y‖) + ⟨K4_x ×₁Q …×₄Q, K4_y⟩ / (‖K4_x‖ ‖K4_y‖),
   in [−2, 2]. It is maximized by projected gradient ascent Q ← polar(Q + η ∇f(Q))
   from many Haar-random starts on O(m) (all starts at once, batched); the distinct
   local maxima are returned best first.
4. The map between the full spaces is the rank-m W₀ = V_y Q V_xᵀ (mapped = x W₀ᵀ).

The objective has sign and permutation ambiguities only where the data have
symmetries (a symmetric distribution has T3 = 0); real encoder spaces break them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def top_pca(x: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The top ``m`` eigenvalues (descending) and eigenvectors (d × m) of the covariance of x."""
    x = np.asarray(x, np.float64)
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc / max(len(x) - 1, 1)
    ev, vec = np.linalg.eigh(cov)
    order = np.argsort(ev)[::-1][:m]
    return ev[order], vec[:, order]


def whiten(x: np.ndarray, vectors: np.ndarray, values: np.ndarray) -> np.ndarray:
    """z = x V / √λ (float64)."""
    return (np.asarray(x, np.float64) @ vectors) / np.sqrt(values)


def moment_tensors(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T3, K4) of the rows z (n × m): the third moment and the fourth cumulant."""
    z = np.asarray(z, np.float64)
    n = len(z)
    m = z.shape[1]
    zz = (z[:, :, None] * z[:, None, :]).reshape(n, m * m)        # rows z ⊗ z
    t3 = (zz.T @ z).reshape(m, m, m) / n
    t4 = (zz.T @ zz).reshape(m, m, m, m) / n
    c = z.T @ z / n
    k4 = t4 - (np.einsum("ab,cd->abcd", c, c) + np.einsum("ac,bd->abcd", c, c) + np.einsum("ad,bc->abcd", c, c))
    return t3, k4


def haar_orthogonal(m: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` Haar-random m × m orthogonal matrices (both determinants): QR of a
    Gaussian matrix with the signs of R's diagonal moved into Q (Mezzadri 2007)."""
    g = rng.standard_normal((count, m, m))
    q, r = np.linalg.qr(g)
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def batch_polar(m: np.ndarray) -> np.ndarray:
    """Polar factor U Vᵀ of each matrix of a stack (…, m, m)."""
    u, _, vt = np.linalg.svd(m)
    return u @ vt


@dataclass(frozen=True)
class Optimum:
    """A local maximum of the moment objective: value ``f`` and rotation ``q``
    (z_y ≈ q z_x); ``hits`` = how many random starts reached it."""

    f: float
    q: np.ndarray
    hits: int = 1


class MomentMatch:
    """The moment objective between the top-``m`` whitened PCA subspaces of x and y."""

    def __init__(self, x: np.ndarray, y: np.ndarray, m: int = 4):
        if m < 2 or m > min(x.shape[1], y.shape[1]):
            raise ValueError(f"moment matching needs 2 ≤ m ≤ min(d_s, d_t), got m = {m}")
        self.m = int(m)
        self.values_x, self.vectors_x = top_pca(x, m)
        self.values_y, self.vectors_y = top_pca(y, m)
        self.t3x, self.k4x = moment_tensors(whiten(x, self.vectors_x, self.values_x))
        self.t3y, self.k4y = moment_tensors(whiten(y, self.vectors_y, self.values_y))
        self._n3 = max(np.linalg.norm(self.t3x) * np.linalg.norm(self.t3y), 1e-300)
        self._n4 = max(np.linalg.norm(self.k4x) * np.linalg.norm(self.k4y), 1e-300)

    def value_and_grad(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f(Q) and ∇f(Q) for one Q (m × m) or a stack (s, m, m) (vectorized over the stack).

        With A3[a,j,k] = Σ_bc T3_x[a,b,c] Q_jb Q_kc: f3 = Σ Q_ia A3[a,j,k] T3_y[i,j,k] / n3,
        ∂f3/∂Q_ia = 3 Σ_jk A3[a,j,k] T3_y[i,j,k] / n3 (T3 symmetric); likewise for K4 (factor 4)."""
        q = np.asarray(q, np.float64)
        single = q.ndim == 2
        qs = q[None] if single else q
        a3 = np.einsum("abc,sjb,skc->sajk", self.t3x, qs, qs, optimize=True)
        g3 = np.einsum("sajk,ijk->sia", a3, self.t3y, optimize=True) / self._n3
        f3 = np.einsum("sia,sia->s", g3, qs)
        a4 = np.einsum("abcd,sjb,skc,sld->sajkl", self.k4x, qs, qs, qs, optimize=True)
        g4 = np.einsum("sajkl,ijkl->sia", a4, self.k4y, optimize=True) / self._n4
        f4 = np.einsum("sia,sia->s", g4, qs)
        f, g = f3 + f4, 3 * g3 + 4 * g4
        return (f[0], g[0]) if single else (f, g)

    def value(self, q: np.ndarray) -> float | np.ndarray:
        return self.value_and_grad(q)[0]

    def ascend(self, q: np.ndarray, steps: int = 300, lr: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """Projected gradient ascent Q ← polar(Q + lr ∇f(Q)), ``steps`` times, on a stack of
        starts (s, m, m). Returns (final Qs, their f)."""
        q = np.asarray(q, np.float64)
        for _ in range(int(steps)):
            _, g = self.value_and_grad(q)
            q = batch_polar(q + lr * g)
        return q, self.value_and_grad(q)[0]

    def optima(self, starts: int, rng: np.random.Generator, steps: int = 300, lr: float = 0.5,
               tol: float = 1e-3) -> list[Optimum]:
        """The distinct local maxima reached from ``starts`` Haar-random starts, best first.
        Two results are the same optimum when f differs by < ``tol`` and ‖Q − Q'‖_F < 0.1."""
        qs, fs = self.ascend(haar_orthogonal(self.m, int(starts), rng), steps, lr)
        found: list[list] = []   # [f, q, hits]
        for i in np.argsort(-fs):
            for o in found:
                if abs(fs[i] - o[0]) < tol and np.linalg.norm(qs[i] - o[1]) < 0.1:
                    o[2] += 1
                    break
            else:
                found.append([float(fs[i]), qs[i], 1])
        return [Optimum(f, q, h) for f, q, h in found]

    def mapping(self, q: np.ndarray) -> np.ndarray:
        """W₀ = V_y Q V_xᵀ (d_t × d_s, rank m; mapped = x W₀ᵀ), float32."""
        return (self.vectors_y @ np.asarray(q, np.float64) @ self.vectors_x.T).astype(np.float32)
