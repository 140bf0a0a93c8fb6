"""mini-vec2vec: the building blocks (QAP matching recovers a known permutation),
config validation, the protocol (events, same seed → same W, cancelling keeps the
best W), a known rotation recovered on real French vectors with no seed, and the
seeded run on real fi→fr reaching the supervised level of its 500 seed pairs."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core.embeddings import Embeddings
from alignment_core.errors import ConfigError
from alignment_core.evaluation import evaluate_bli
from alignment_core.mapping import orthogonality_error
from alignment_core.methods import make_method, run_method
from alignment_core.methods.base import Monitor
from alignment_core.methods.mini_vec2vec import (MiniVec2Vec, MiniVec2VecConfig, double_centered_gram,
                                                 match_centroids, neighbour_mean, preprocess)
from alignment_core.methods.procrustes import Procrustes
from alignment_core.synthetic import random_rotation, rotated_copy
from tests.conftest import load_dict, load_real

# a light configuration for the small synthetic pairs (the defaults are the paper's)
LIGHT = dict(anchor_runs=6, clusters=12, sample_size=2000, qap_restarts=8, refine1_iterations=10,
             refine1_sample=500, refine1_k=10, refine2_clusters=50, criterion_every=5)


def _p1(pair, w, rule="csls"):
    return evaluate_bli(pair.src, pair.tgt, w, pair.dictionary, rules=(rule,), per_word=False).scores[rule]["p@1"]


# --------------------------------------------------------------------------- building blocks


def test_qap_recovers_a_known_centroid_permutation():
    rng = np.random.default_rng(0)
    c = rng.standard_normal((20, 30)) * np.linspace(3, 0.5, 20)[:, None]  # distinct norms: no symmetry
    perm = rng.permutation(20)
    r = random_rotation(30, rng)
    ct = (c @ r.T)[perm] + 0.01 * rng.standard_normal((20, 30))
    # source centroid i is target centroid inv[i]
    inv = np.argsort(perm)
    found, corr = match_centroids(c, ct, restarts=10, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(found, inv)
    assert corr > 0.99


def test_double_centered_gram_is_centered_and_rotation_invariant():
    rng = np.random.default_rng(2)
    c = rng.standard_normal((15, 8)) + 5.0
    g = double_centered_gram(c)
    np.testing.assert_allclose(g.sum(axis=0), 0, atol=1e-9)
    r = random_rotation(8, rng)
    np.testing.assert_allclose(double_centered_gram(c @ r.T + 3.0), g, atol=1e-4)


def test_preprocess_and_neighbour_mean():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 6)).astype(np.float32) + 4
    p = preprocess(x)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1, atol=1e-5)
    assert np.abs(p.mean(axis=0)).max() < 0.5  # the offset of 4 is gone
    y = rng.standard_normal((9, 6)).astype(np.float32)
    ids = rng.integers(0, 9, size=(50, 3))
    np.testing.assert_allclose(neighbour_mean(ids, y, block=7), y[ids].mean(axis=1), atol=1e-6)


@pytest.mark.parametrize("bad", [dict(alpha=0.0), dict(alpha=1.5), dict(clusters=1), dict(anchor_runs=0),
                                 dict(seed_mode="both"), dict(refine1_iterations=-1), dict(max_rows=10)])
def test_bad_config_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        MiniVec2VecConfig(**bad)


def test_registry_builds_the_method():
    m = make_method("mini-vec2vec", anchor_runs=3, seed=5)
    assert isinstance(m, MiniVec2Vec) and m.config.anchor_runs == 3 and m.config.seed == 5


# --------------------------------------------------------------------------- protocol on a small pair


@pytest.fixture(scope="module")
def small_pair():
    """The 3,000 most frequent real French words against a rotated, noised, shuffled copy.
    (k-means anchors need the multi-scale cluster structure of real data: on a Gaussian
    cloud, or on Gaussian blobs, the centroid matching is arbitrary and the method fails.)"""
    return rotated_copy(load_real("fr").head(3000), noise=0.01, overlap=0.8, seed=3)


def test_small_pair_recovered_with_events_and_determinism(small_pair):
    p = small_pair
    mon = Monitor.from_pairs(p.dictionary.index_pairs(p.src, p.tgt))
    runs = []
    for _ in range(2):
        events = []
        m = MiniVec2Vec(MiniVec2VecConfig(**LIGHT, seed=11))
        al = run_method(m, p.src, p.tgt, monitor=mon, on_event=events.append)
        runs.append((al, events))
    al, events = runs[0]
    stages = [e.stage for e in events]
    assert stages.count("anchors") == LIGHT["anchor_runs"]
    assert stages.count("refine-1") == LIGHT["refine1_iterations"]
    assert stages.count("init") == 1 and stages.count("refine-2") == 1
    scored = [e for e in events if "criterion" in e.metrics]
    assert len(scored) == 1 + LIGHT["refine1_iterations"] // LIGHT["criterion_every"] + 1
    assert all("p@1_csls" in e.metrics and e.elapsed >= 0 for e in scored)
    assert all("delta_w" in e.metrics for e in events if e.stage == "refine-1")
    assert al.criterion == max(e.metrics["criterion"] for e in scored)
    assert _p1(p, al.w) >= 95.0
    assert orthogonality_error(al.w) < 1e-3
    np.testing.assert_array_equal(al.w, runs[1][0].w)  # same seed, same result
    other = run_method(MiniVec2Vec(MiniVec2VecConfig(**LIGHT, seed=12)), p.src, p.tgt)
    assert _p1(p, other.w) >= 95.0


def test_without_orthogonalize_w_drifts_from_orthogonal(small_pair):
    p = small_pair
    cfg = MiniVec2VecConfig(**{**LIGHT, "criterion_every": 0}, orthogonalize=False)
    al = run_method(MiniVec2Vec(cfg), p.src, p.tgt)
    assert orthogonality_error(al.w) > 1e-3   # averaging left the orthogonal group
    assert _p1(p, al.w) >= 90.0


def test_cancel_keeps_the_best_w(small_pair):
    p = small_pair
    m = MiniVec2Vec(MiniVec2VecConfig(**LIGHT))
    gen = m.fit(p.src, p.tgt)
    for ev in gen:
        if ev.stage == "refine-1" and ev.step == 3:
            break
    gen.close()
    best = m.best_alignment(cancelled=True)
    assert best is not None and best.cancelled and best.best_step.endswith("init")
    init_ev = next(e for e in m._history if e["stage"] == "init")
    assert best.criterion == pytest.approx(init_ev["criterion"])
    assert _p1(p, best.w) >= 50.0  # the relative-space initialization alone, already mostly right


def test_different_dimensions_give_a_semi_orthogonal_map():
    """Real French cut to 30 dimensions, against a copy embedded isometrically into 40-d."""
    rng = np.random.default_rng(5)
    fr = load_real("fr").head(3000)
    small = Embeddings(fr.words, np.ascontiguousarray(fr.vectors[:, :30]), name="fr[:, :30]")
    pair = rotated_copy(small, noise=0.0, overlap=1.0, seed=5)
    q = random_rotation(40, rng)[:, :30]                      # 40 × 30, orthonormal columns
    y = pair.tgt.vectors @ q.T + 0.002 * rng.standard_normal((len(pair.tgt), 40)).astype(np.float32)
    tgt = Embeddings(pair.tgt.words, y.astype(np.float32), name="embedded")
    al = run_method(MiniVec2Vec(MiniVec2VecConfig(**LIGHT)), pair.src, tgt)
    assert al.w.shape == (40, 30)
    assert orthogonality_error(al.w) < 1e-3
    res = evaluate_bli(pair.src, tgt, al.w, pair.dictionary, rules=("csls",), per_word=False)
    assert res.scores["csls"]["p@1"] >= 95.0


def test_seed_pairs_outside_the_spaces_are_rejected(small_pair):
    p = small_pair
    bad = np.array([[0, len(p.tgt) + 5]])
    with pytest.raises(ConfigError):
        run_method(MiniVec2Vec(MiniVec2VecConfig(**LIGHT)), p.src, p.tgt, seed_pairs=bad)


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_rotated_real_french_recovered_without_seed():
    """Real French (top 6k), rotated, noised, row-shuffled copy, 80 % overlap: P@1 ≥ 95."""
    pair = rotated_copy(load_real("fr").head(6000), noise=0.01, overlap=0.8, seed=0)
    cfg = MiniVec2VecConfig(anchor_runs=10, qap_restarts=10, refine1_iterations=20, criterion_every=0)
    al = run_method(MiniVec2Vec(cfg), pair.src, pair.tgt)
    assert _p1(pair, al.w, "nn") >= 95.0
    assert _p1(pair, al.w, "csls") >= 95.0


@pytest.mark.slow
def test_seeded_fi_fr_reaches_supervised_level(fi_fr):
    """500 xling seed pairs: at least supervised Procrustes on the same 500 pairs (CSLS P@1)."""
    fi, fr = fi_fr
    seeds = load_dict("xling/fi-fr.train.freq.500.txt").index_pairs(fi, fr)
    test = load_dict("xling/fi-fr.test.freq.2k.txt")
    sup = run_method(Procrustes(), fi, fr, seed_pairs=seeds)
    sup_p1 = evaluate_bli(fi, fr, sup.w, test, rules=("csls",), per_word=False).scores["csls"]["p@1"]
    cfg = MiniVec2VecConfig(seed_mode="replace", max_rows=20000, refine1_iterations=10, criterion_every=0,
                            csls_refinements=3)
    al = run_method(MiniVec2Vec(cfg), fi, fr, seed_pairs=seeds)
    p1 = evaluate_bli(fi, fr, al.w, test, rules=("csls",), per_word=False).scores["csls"]["p@1"]
    assert sup_p1 > 10.0  # the baseline is a real alignment
    assert p1 >= sup_p1
