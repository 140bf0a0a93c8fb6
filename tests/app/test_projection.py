"""alignment_core.projection: PCA recovers known axes; UMAP with the faiss k-NN graph
keeps neighbourhoods (trustworthiness) on data with a known structure."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core import projection as P


def test_pca_recovers_the_planted_axes():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((50, 50)))
    z = rng.standard_normal((2000, 50)) * np.r_[10.0, 5.0, np.full(48, 0.1)]
    x = (z @ q.T + 3.0).astype(np.float32)
    basis = P.pca_fit(x)
    # the two axes span the planted directions q[:, 0], q[:, 1]
    overlap = np.abs(basis.axes.T @ q[:, :2])
    assert np.allclose(np.diag(overlap), 1.0, atol=1e-3)
    y = basis.transform(x)
    assert y.shape == (2000, 2)
    assert abs(y[:, 0].std() / y[:, 1].std() - 2.0) < 0.15
    assert np.allclose(y.mean(axis=0), 0.0, atol=1e-3)
    # deterministic signs
    assert np.array_equal(P.pca_fit(x).axes, basis.axes)


def test_knn_graph_puts_each_point_first_with_zero_distance():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 8)).astype(np.float32)
    x[7] = x[3]  # an exact duplicate, which could tie with itself
    ids, d = P.knn_graph(x, 5)
    assert ids.shape == (300, 5) and np.array_equal(ids[:, 0], np.arange(300))
    assert np.all(d[:, 0] == 0) and np.all(np.diff(d, axis=1) >= -1e-6)
    assert 3 in ids[7] and 7 in ids[3]


@pytest.mark.slow
def test_umap_keeps_neighbourhoods_of_separated_clusters():
    rng = np.random.default_rng(2)
    centers = rng.standard_normal((6, 40)) * 4
    labels = np.repeat(np.arange(6), 150)
    x = (centers[labels] + rng.standard_normal((900, 40))).astype(np.float32)
    y = P.umap_2d(x, seed=0)
    assert y.shape == (900, 2) and np.isfinite(y).all()
    assert P.trustworthiness(x, y, k=10) >= 0.9
    # clusters stay apart: each point's nearest layout neighbour shares its cluster
    d2 = ((y[:, None] - y[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    assert (labels[d2.argmin(axis=1)] == labels).mean() > 0.95
    # the same seed gives the same layout
    assert np.allclose(P.umap_2d(x, seed=0), y)
    # PCA as a floor: trustworthiness of a linear view is lower or equal on this data
    assert P.trustworthiness(x, P.pca_2d(x), k=10) <= P.trustworthiness(x, y, k=10) + 0.02


@pytest.mark.slow
def test_layout_worker_process_round_trip():
    """The app's UMAP worker process: a layout through .npy files, and errors as messages."""
    from ui.layouts import LayoutService, points_key

    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 100)
    x = (rng.standard_normal((4, 20))[labels] * 5 + rng.standard_normal((400, 20))).astype(np.float32)
    svc = LayoutService(warm=True)
    try:
        assert svc.warmed.result(timeout=600) > 0
        y = svc.umap(x, points_key(x, "umap")).result(timeout=600)
        assert y.shape == (400, 2) and np.allclose(y, P.umap_2d(x, seed=0), atol=1e-4)
        assert svc.umap(x, points_key(x, "umap")).result() is y  # cached by content
        bad = svc.umap(x, points_key(x, "bad"), n_neighbors="many")
        with pytest.raises(RuntimeError, match="ValueError"):
            bad.result(timeout=60)
        # the worker survives a bad request
        assert svc.umap(x[:200], points_key(x[:200], "umap")).result(timeout=600).shape == (200, 2)
    finally:
        svc.worker.close()
