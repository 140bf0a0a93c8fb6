"""alignment_core.projection: PCA recovers known axes; UMAP with the faiss k-NN graph
keeps neighbourhoods (trustworthiness) on data with a known structure; the app's layout
worker answers UMAP and two-space map requests (with the map's faithfulness numbers)."""

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
        # the two-space map with its faithfulness numbers (the Explore page's default)
        from ui.layouts import map_key

        src = (x + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)
        gp = np.stack([np.arange(400), np.arange(400)], axis=1)
        m = svc.map(src, x, map_key(src, x, gp, "anchored"), gp).result(timeout=600)
        assert m.coords.shape == (800, 2) and m.anchored.shape == (400,) and m.anchored.mean() > 0.9
        assert np.array_equal(m.nearest[:20], np.arange(20))
        f = m.faithfulness
        assert f["n_queries"] == 400 and f["map_p"] >= 0.85 * f["aligned_p"] and f["trustworthiness"] > 0.9
        assert svc.map(src, x, map_key(src, x, gp, "anchored"), gp).result() is m  # cached by content
        j = svc.map(src, x, map_key(src, x, None, "joint"), None, layout="joint").result(timeout=600)
        assert j.faithfulness is None and not j.anchored.any() and j.coords.shape == (800, 2)
        with pytest.raises(RuntimeError, match="unknown layout"):
            svc.map(src, x, map_key(src, x, None, "nope"), None, layout="nope").result(timeout=60)
    finally:
        svc.worker.close()


@pytest.mark.slow
def test_explore_draws_the_anchored_map_with_its_faithfulness():
    """The Explore page's default after a supervised run: the anchored map from the layout
    worker, with map vs aligned P@10, mixing and trustworthiness under it and a reading."""
    import time

    from tests.app.conftest import new_app, session, wait_for_run

    at = new_app(timeout=300)
    at.switch_page("pages/align.py").run()
    at.button(key="start").click().run()
    wait_for_run(at)
    at.switch_page("pages/explore.py").run()
    assert at.radio(key="ex_algo").value == "anchored UMAP"
    at.number_input(key="ex_cap").set_value(1000).run()
    assert not at.exception
    from ui import layouts

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 300:
        futs = list(layouts.service()._futures.values())
        if futs and all(f.done() for f in futs):
            break
        time.sleep(1)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert "P@10: map vs aligned space" in metrics, metrics
    map_p, aligned_p = (float(v.strip(" %")) for v in metrics["P@10: map vs aligned space"].split("vs"))
    assert aligned_p > 50 and map_p >= 0.6 * aligned_p, metrics
    assert "mixing: map vs aligned space" in metrics and float(metrics["trustworthiness T(10)"]) > 0.85
    assert any("aligned space" in c.value and c.value.endswith(".") for c in at.caption)
    assert session(at).runs
