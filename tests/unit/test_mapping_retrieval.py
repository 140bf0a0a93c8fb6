"""Procrustes recovers known maps; faiss retrieval and the CSLS/isf rules match dense formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from alignment_core.mapping import least_squares, nearest_orthogonal, orthogonality_error, procrustes
from alignment_core.retrieval import Retriever, csls_knn, knn, mean_topk_sim, normalize_rows
from alignment_core.synthetic import random_rotation


def test_procrustes_recovers_rotation():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 40)).astype(np.float32)
    r = random_rotation(40, rng)
    y = x @ r.T + 0.01 * rng.standard_normal((500, 40)).astype(np.float32)
    w = procrustes(x, y)
    assert w.shape == (40, 40)
    assert np.linalg.norm(w - r) < 0.03  # noise-limited
    assert orthogonality_error(w) < 1e-4
    assert np.linalg.norm(procrustes(x, x @ r.T) - r) < 1e-4  # exact without noise


def test_semi_orthogonal_map_into_larger_space_is_isometric():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((400, 50)).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((300, 50)))  # 300×50, orthonormal columns
    y = x @ q.T.astype(np.float32)
    w = procrustes(x, y)
    assert w.shape == (300, 50)
    np.testing.assert_allclose(w.T @ w, np.eye(50), atol=1e-4)
    np.testing.assert_allclose(x @ w.T, y, atol=1e-3)
    # and the other way round (300 → 50) is a projection with orthonormal rows
    w2 = procrustes(y, x)
    assert w2.shape == (50, 300)
    np.testing.assert_allclose(w2 @ w2.T, np.eye(50), atol=1e-4)


def test_least_squares_recovers_general_linear_map():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 10))
    a = rng.standard_normal((12, 10))
    w = least_squares(x, x @ a.T)
    np.testing.assert_allclose(w, a, atol=1e-4)
    assert orthogonality_error(nearest_orthogonal(a)) < 1e-4


@pytest.fixture(scope="module")
def spaces():
    rng = np.random.default_rng(4)
    s = normalize_rows(rng.standard_normal((700, 16)).astype(np.float32) + 0.3)
    t = normalize_rows(rng.standard_normal((900, 16)).astype(np.float32) + 0.3)
    return s, t


def test_knn_matches_brute_force(spaces):
    s, t = spaces
    sims, ids = knn(s, t, 7)
    dense = s @ t.T
    np.testing.assert_allclose(sims, -np.sort(-dense, axis=1)[:, :7], atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(dense, ids, 1), sims, atol=1e-5)


@pytest.mark.parametrize("rule", ["nn", "csls", "isf"])
@pytest.mark.parametrize("direction", ["s2t", "t2s"])
def test_rules_match_dense_definitions(spaces, rule, direction):
    s, t = spaces
    r = Retriever(s, t, csls_k=10, isf_beta=30.0)
    q, b = (s, t) if direction == "s2t" else (t, s)
    dense = q @ b.T
    if rule == "csls":
        r_q = np.sort(dense, axis=1)[:, -10:].mean(1)
        r_b = np.sort(dense.T, axis=1)[:, -10:].mean(1)
        dense = 2 * dense - r_q[:, None] - r_b[None, :]
    elif rule == "isf":
        dense = 30.0 * dense - logsumexp(30.0 * dense.astype(np.float64), axis=0)[None, :]
    rows = np.arange(0, q.shape[0], 3)
    scores, ids = r.search(rows, k=5, rule=rule, direction=direction)
    expect_ids = np.argsort(-dense[rows], axis=1)[:, :5]
    np.testing.assert_allclose(scores, np.take_along_axis(dense[rows], expect_ids, 1), atol=2e-3)
    agree = (ids[:, 0] == expect_ids[:, 0]).mean()
    assert agree > 0.99
    np.testing.assert_allclose(r.scores_for(rows, ids, rule, direction), scores, atol=2e-3)


@pytest.mark.parametrize("rule", ["nn", "csls"])
@pytest.mark.parametrize("direction", ["s2t", "t2s"])
def test_prefix_searches_are_cached_and_extended_exactly(spaces, rule, direction):
    """Dictionary induction asks for rows 0..m−1 (the criterion 10k, then the dictionary
    15k): the second search computes only the rows it adds, and every answer equals a
    fresh retriever's (the CSLS query penalty then comes from the side's cached r)."""
    s, t = spaces
    n = (s if direction == "s2t" else t).shape[0]
    m1, m2 = n // 3, (4 * n) // 5
    r = Retriever(s, t)
    a_s, a_i = r.search(np.arange(m1), k=3, rule=rule, direction=direction)
    b_s, b_i = r.search(np.arange(m2), k=3, rule=rule, direction=direction)
    c_s, c_i = r.search(np.arange(m1), k=3, rule=rule, direction=direction)
    f_s, f_i = Retriever(s, t).search(np.arange(m2), k=3, rule=rule, direction=direction)
    np.testing.assert_array_equal(b_i, f_i)
    np.testing.assert_allclose(b_s, f_s, atol=1e-5)
    np.testing.assert_array_equal(a_i, f_i[:m1])
    np.testing.assert_allclose(a_s, f_s[:m1], atol=1e-5)
    np.testing.assert_array_equal(c_i, a_i)
    # not a prefix: computed directly, same answers
    rows = np.arange(1, m2)
    d_s, d_i = r.search(rows, k=3, rule=rule, direction=direction)
    np.testing.assert_array_equal(d_i, f_i[1:])
    np.testing.assert_allclose(d_s, f_s[1:], atol=1e-5)


def test_csls_knn_is_the_brute_force_ranking():
    """One augmented inner-product search gives 2 cos(q, y) − r(y) and its top k, as the
    dense matrix does; the map's approximate search (projection.map_knn) plugs in alike."""
    from alignment_core.projection import map_knn

    rng = np.random.default_rng(3)
    q = normalize_rows(rng.standard_normal((200, 16)).astype(np.float32))
    b = normalize_rows(rng.standard_normal((150, 16)).astype(np.float32))
    r = mean_topk_sim(b, q, 10)
    dense = 2 * q @ b.T - r[None, :]
    want = np.argsort(-dense, axis=1)[:, :5]
    for search in (knn, map_knn):
        sc, ids = csls_knn(q, b, r, 5, search=search)
        np.testing.assert_array_equal(ids, want)
        np.testing.assert_allclose(sc, np.take_along_axis(dense, want, 1), atol=1e-5)
    np.testing.assert_allclose(mean_topk_sim(b, q, 10, search=map_knn), r, atol=1e-6)


def test_csls_demotes_a_hub():
    """A target lying where all queries lean (a hub) wins NN for many of them; CSLS,
    which subtracts each target's mean similarity to its neighbours, takes them back."""
    rng = np.random.default_rng(5)
    d = 20
    t = normalize_rows(rng.standard_normal((300, d)).astype(np.float32))
    c = normalize_rows(rng.standard_normal((1, d)).astype(np.float32))
    s = normalize_rows(t + 0.3 * rng.standard_normal(t.shape).astype(np.float32) + 0.9 * c)
    t = np.vstack([t, c])  # the hub is row 300
    r = Retriever(s, t)
    _, nn = r.search(np.arange(300), 1, "nn")
    _, cs = r.search(np.arange(300), 1, "csls")
    hub_nn, hub_cs = int((nn[:, 0] == 300).sum()), int((cs[:, 0] == 300).sum())
    assert hub_nn > 50 and hub_cs < hub_nn / 2
    assert (cs[:, 0] == np.arange(300)).mean() > (nn[:, 0] == np.arange(300)).mean()


def test_ids_only_csls_search_skips_the_query_side_and_ranks_alike(spaces):
    """Dictionary induction asks for ids only: CSLS then never computes the query side's
    r (it shifts a query's scores alike), and the ids are those of the scored search."""
    s, t = spaces
    r = Retriever(s, t)
    none, ids = r.search(np.arange(len(s)), k=3, rule="csls", direction="s2t", scores=False)
    assert none is None
    assert "tgt" in r._stats and "src" not in r._stats
    scored, ids2 = Retriever(s, t).search(np.arange(len(s)), k=3, rule="csls", direction="s2t")
    np.testing.assert_array_equal(ids, ids2)
    # asked again with scores, the cached ranking gets the query side's r subtracted
    again, ids3 = r.search(np.arange(len(s)), k=3, rule="csls", direction="s2t")
    np.testing.assert_array_equal(ids3, ids2)
    np.testing.assert_allclose(again, scored, atol=1e-5)
    assert "src" in r._stats
