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

umap-learn is imported lazily (its numba JIT costs ~10 s on first use);
:func:`warm_umap` pays that cost once on a tiny input, in the background.
The core never imports streamlit or plotly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from .retrieval import knn, normalize_rows

DEFAULT_NEIGHBORS = 15
DEFAULT_MIN_DIST = 0.1
#: optimisation epochs (umap-learn uses 500 below 10,000 points and 200 above; 200 keeps
#: the map of 2 × 5,000 words well under the 20 s budget with no visible loss)
DEFAULT_EPOCHS = 200


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


def knn_graph(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k-NN of every row among all rows (itself first), as UMAP wants it:
    ``(indices int64 n × k, distances float32 n × k)`` with distance = 1 − cos ≥ 0."""
    xn = normalize_rows(x)
    sims, ids = knn(xn, xn, k)
    # a row's own index must come first (ties with duplicates can reorder faiss output)
    own = np.arange(xn.shape[0])
    wrong = ids[:, 0] != own
    if wrong.any():
        for i in np.nonzero(wrong)[0].tolist():
            row = [j for j in ids[i].tolist() if j != i][: k - 1]
            ids[i] = [i] + row
            sims[i] = [1.0] + [float(xn[i] @ xn[j]) for j in row]
    dists = np.clip(1.0 - sims, 0.0, 2.0).astype(np.float32)
    dists[:, 0] = 0.0
    return ids.astype(np.int64), dists


def umap_2d(x: np.ndarray, n_neighbors: int = DEFAULT_NEIGHBORS, min_dist: float = DEFAULT_MIN_DIST,
            seed: int | None = 0, n_epochs: int | None = DEFAULT_EPOCHS) -> np.ndarray:
    """(n, 2) UMAP layout of ``x`` under the cosine metric, k-NN precomputed with faiss.

    ``seed`` fixes the layout (umap-learn then runs its optimisation single-threaded);
    ``None`` lets it use every core.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < 4:
        return pca_2d(x) if n >= 2 else np.zeros((n, 2), np.float32)
    k = int(min(n_neighbors, n - 1))
    ids, dists = knn_graph(x, k)
    import umap  # lazily: heavy import, numba JIT

    reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, metric="cosine", random_state=seed,
                        precomputed_knn=(ids, dists, None), n_epochs=n_epochs,
                        init="spectral" if n > 2 * k + 2 else "random", low_memory=True, verbose=False,
                        n_jobs=1 if seed is not None else -1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb = reducer.fit_transform(x)
    return np.ascontiguousarray(emb, dtype=np.float32)


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
#   any failure                                                → {"ok": false, "error": "..."}


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
            else:
                raise ValueError(f"unknown command {cmd!r}")
            reply = {"ok": True, "seconds": round(time.perf_counter() - t0, 3)}
        except Exception as e:  # reported to the caller as a message
            reply = {"ok": False, "error": f"{e.__class__.__name__}: {e}"}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


if __name__ == "__main__":  # pragma: no cover - exercised through ui.layouts
    import sys as _sys

    if _sys.argv[1:2] != ["serve"]:
        _sys.exit("usage: python -m alignment_core.projection serve")
    serve()
