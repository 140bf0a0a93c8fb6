"""Isomorphism measures: exact answers on small cases, an isometric copy scoring as
perfectly isomorphic, noise moving every measure the right way monotonically, and
the real pairs in plausible ranges (fi-fr less isomorphic than French vs its own
noisy rotation)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.sparse.csgraph import minimum_spanning_tree

from alignment_core.diagnostics import isomorphism as iso
from alignment_core.embeddings import Embeddings

from tests.conftest import load_dict, load_real

N_TEST = 2000  # words per side for the controlled noise series (the default 5,000 is for real runs)


def _brute_bottleneck(a, b):
    """Bottleneck distance by enumerating every partial matching (tiny diagrams only)."""
    best = np.inf
    a, b = list(a), list(b)
    for r in range(0, min(len(a), len(b)) + 1):
        for ia in itertools.combinations(range(len(a)), r):
            for ib in itertools.permutations(range(len(b)), r):
                cost = [abs(a[i] - b[j]) for i, j in zip(ia, ib)]
                cost += [a[i] / 2 for i in range(len(a)) if i not in ia]
                cost += [b[j] / 2 for j in range(len(b)) if j not in ib]
                best = min(best, max(cost, default=0.0))
    return best


def test_bottleneck_known_and_brute_force():
    assert iso.bottleneck_distance_0dim([1.0, 2.0], [2.0, 1.0]) == 0.0
    assert iso.bottleneck_distance_0dim([1.0], []) == pytest.approx(0.5, abs=1e-8)
    assert iso.bottleneck_distance_0dim([1.0], [1.3]) == pytest.approx(0.3, abs=1e-8)
    assert iso.bottleneck_distance_0dim([1.0, 3.0], [1.0]) == pytest.approx(1.5, abs=1e-8)
    rng = np.random.default_rng(0)
    for _ in range(60):
        a = rng.uniform(0, 2, rng.integers(0, 5))
        b = rng.uniform(0, 2, rng.integers(0, 5))
        assert iso.bottleneck_distance_0dim(a, b) == pytest.approx(_brute_bottleneck(a, b), abs=1e-7)


def test_mst_lengths_match_scipy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 30))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    d = np.sqrt(np.maximum(2 - 2 * x @ x.T, 0))
    ref = np.sort(minimum_spanning_tree(d).data)
    got = iso.mst_edge_lengths(x)
    assert got.shape == (399,)
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_spectral_measures_known_answers():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((500, 50)))  # orthonormal columns: all σ equal
    s = iso.singular_values(q)
    assert iso.effective_rank(s) == pytest.approx(50, rel=1e-9)
    assert iso.effective_condition_number(s) == pytest.approx(1.0)
    power = q * (np.arange(1, 51) ** -1.0)
    sp = iso.singular_values(power)
    assert iso.effective_rank(sp) < 30
    assert iso.effective_condition_number(sp) > 5
    assert iso.econd_hm(2.0, 2.0) == pytest.approx(2.0)
    assert iso.econd_hm(1.0, 3.0) == pytest.approx(1.5)
    assert iso.singular_value_gap(s, s) == 0.0
    assert iso.singular_value_gap(s, 2 * s) == pytest.approx(50 * np.log(2) ** 2)


def test_procrustes_bound_sandwich():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 20))
    q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    exact = iso.procrustes_bound(x, x @ q)
    assert exact["epsilon"] < 1e-6 * np.linalg.norm(x) ** 2
    assert exact["residual"] < 1e-3
    for noise in (0.1, 0.5, 2.0):
        y = x @ q + noise * rng.standard_normal(x.shape)
        b = iso.procrustes_bound(x, y)
        assert b["lower_bound"] <= b["residual"] + 1e-6
        assert b["residual"] <= b["bound_trace_norm"] + 1e-6
        assert b["bound_trace_norm"] <= b["bound"] + 1e-6
    # different dimensions (semi-orthogonal map) are fine too
    b = iso.procrustes_bound(x[:, :8], x @ q)
    assert b["lower_bound"] <= b["residual"] <= b["bound_trace_norm"] <= b["bound"] + 1e-6


@pytest.fixture(scope="module")
def noise_series():
    fr = load_real("fr").head(N_TEST)
    pairs = np.stack([np.arange(N_TEST), np.arange(N_TEST)], axis=1)
    out = []
    for noise in (0.0, 0.05, 0.15, 0.4, 1.0):
        y = Embeddings(fr.words, iso.noisy_rotation(fr.vectors, noise, seed=7)).normalize("renorm")
        out.append((noise, iso.isomorphism(fr, y, pairs, n=N_TEST)))
    return out


def test_isometric_copy_is_perfectly_isomorphic(noise_series):
    noise, r = noise_series[0]
    assert noise == 0.0
    assert r["eigenvector_similarity"] < 1e-6
    assert r["gromov_hausdorff"] < 1e-5
    assert r["relational_similarity"] > 1 - 1e-6
    assert r["singular_value_gap"] < 1e-6
    assert r["procrustes_bound"]["residual"] < 0.05  # float32 rounding over 2,000 pairs
    assert r["procrustes_bound"]["residual_rms_per_pair"] < 1e-3


def test_noise_moves_every_measure_monotonically(noise_series):
    rs = [r for _, r in noise_series]

    def series(get):
        return [get(r) for r in rs]

    increasing = {
        "eigenvector_similarity": series(lambda r: r["eigenvector_similarity"]),
        "gromov_hausdorff": series(lambda r: r["gromov_hausdorff"]),
        "singular_value_gap": series(lambda r: r["singular_value_gap"]),
        "epsilon": series(lambda r: r["procrustes_bound"]["epsilon"]),
        "residual": series(lambda r: r["procrustes_bound"]["residual"]),
    }
    for name, vals in increasing.items():
        assert all(b > a for a, b in zip(vals, vals[1:])), (name, vals)
    rsim = series(lambda r: r["relational_similarity"])
    assert all(b < a for a, b in zip(rsim, rsim[1:])), rsim
    # isotropic noise flattens the noisy side's spectrum: its condition number falls
    econd = series(lambda r: r["effective_condition_number"]["target"])
    assert econd[-1] < econd[0]


@pytest.mark.slow
def test_real_pairs_plausible_and_fi_fr_less_isomorphic_than_noisy_rotation():
    fi, fr, en = load_real("fi"), load_real("fr"), load_real("en")
    fifr = iso.isomorphism(fi, fr, load_dict("fi-fr.freedict.train.txt").index_pairs(fi, fr))
    enfr = iso.isomorphism(en, fr, load_dict("en-fr.freedict.train.txt").index_pairs(en, fr))
    rot = Embeddings(fr.words, iso.noisy_rotation(fr.vectors, 0.05, seed=3)).normalize("renorm")
    n = len(fr)
    ctrl = iso.isomorphism(fr, rot, np.stack([np.arange(n), np.arange(n)], axis=1))
    # plausible ranges (measured fi-fr: rsim 0.54, GH 0.077, EV 749, SVG 1.08, ECOND-HM 10.0;
    # en-fr: rsim 0.33, GH 0.158, SVG 22 (50-d GloVe against 300-d fastText))
    for r in (fifr, enfr):
        assert r["n_words"]["source"] == 5000 and r["n_words"]["target"] == 5000
        assert 0.15 < r["relational_similarity"] < 0.8
        assert 0.02 < r["gromov_hausdorff"] < 0.4
        assert 1.5 < r["econd_hm"] < 60
        pb = r["procrustes_bound"]
        assert pb["lower_bound"] <= pb["residual"] <= pb["bound_trace_norm"] <= pb["bound"]
        assert 0.7 < pb["residual_relative"] < 1.2
    assert 150 < fifr["effective_rank"]["source"] < 300 and 20 < enfr["effective_rank"]["source"] < 50
    assert enfr["singular_value_gap"] > fifr["singular_value_gap"]
    assert enfr["relational_similarity"] < fifr["relational_similarity"]
    # French against its own noisy rotation is more isomorphic on every comparative measure
    assert fifr["relational_similarity"] < ctrl["relational_similarity"]
    assert fifr["eigenvector_similarity"] > ctrl["eigenvector_similarity"]
    assert fifr["gromov_hausdorff"] > ctrl["gromov_hausdorff"]
    assert fifr["singular_value_gap"] > ctrl["singular_value_gap"]
    assert fifr["procrustes_bound"]["residual_relative"] > ctrl["procrustes_bound"]["residual_relative"]
