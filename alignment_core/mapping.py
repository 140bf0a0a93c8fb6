"""Linear mapping solvers. Convention everywhere: W has shape (d_tgt, d_src) and the
mapped source is ``X @ W.T``.

- Orthogonal Procrustes (Schönemann 1966; Xing et al. 2015; Conneau et al. 2018):
  W* = argmin_{WᵀW = I} ‖X Wᵀ − Y‖_F = U Vᵀ with U Σ Vᵀ = SVD(Yᵀ X).
  When d_src < d_tgt, the thin SVD gives the semi-orthogonal solution (orthonormal
  columns, WᵀW = I): the source space is mapped isometrically into the larger one.
  When d_src > d_tgt, W has orthonormal rows (a projection).
- Least squares (Mikolov et al. 2013): W* = argmin ‖X Wᵀ − Y‖_F, unconstrained.
- ``nearest_orthogonal``: the polar factor U Vᵀ of any matrix (its closest
  semi-orthogonal matrix in Frobenius norm).

The SVD of a d × d matrix (d ≈ 300) runs on one BLAS thread: numpy's multithreaded
OpenBLAS, called between faiss searches (faiss brings its own OpenMP pool), measured 0.3–1.4 s
per 300 × 300 SVD on the 2-core machine with another process busy, against 0.02 s on one
thread — and a refinement makes one per step.
"""

from __future__ import annotations

import contextlib

import numpy as np

_CONTROLLER = None


def one_blas_thread():
    """Context: numpy's BLAS on one thread (no-op without threadpoolctl)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            return contextlib.nullcontext()
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def procrustes(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Orthogonal Procrustes on paired rows ``x`` (n × d_src), ``y`` (n × d_tgt).

    Returns W (d_tgt × d_src) with orthonormal columns (or rows when d_src > d_tgt).
    ``weights`` optionally weights each pair.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x.shape[0]} source rows but {y.shape[0]} target rows")
    if x.shape[0] == 0:
        raise ValueError("Procrustes needs at least one pair")
    with one_blas_thread():
        m = (y * weights[:, None]).T @ x if weights is not None else y.T @ x
        return nearest_orthogonal(m)


def nearest_orthogonal(m: np.ndarray) -> np.ndarray:
    """Polar factor U Vᵀ of m (thin SVD): the closest matrix with orthonormal columns/rows."""
    with one_blas_thread():
        u, _, vt = np.linalg.svd(np.asarray(m, dtype=np.float64), full_matrices=False)
        return (u @ vt).astype(np.float32)


def least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Unconstrained least squares W (d_tgt × d_src) minimizing ‖X Wᵀ − Y‖_F."""
    sol, *_ = np.linalg.lstsq(np.asarray(x, np.float64), np.asarray(y, np.float64), rcond=None)
    return sol.T.astype(np.float32)


def apply_mapping(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mapped vectors X Wᵀ (float32, C-contiguous)."""
    return np.ascontiguousarray(np.asarray(x, np.float32) @ np.asarray(w, np.float32).T)


def identity_mapping(d_src: int, d_tgt: int) -> np.ndarray:
    """The (semi-)identity d_tgt × d_src: the "no alignment" baseline (needs equal dims to mean anything)."""
    return np.eye(d_tgt, d_src, dtype=np.float32)


def orthogonality_error(w: np.ndarray) -> float:
    """‖WᵀW − I‖_F (or ‖WWᵀ − I‖ when W is wide)."""
    w = np.asarray(w, np.float64)
    g = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    return float(np.linalg.norm(g - np.eye(g.shape[0])))
