"""Moment-tensor matching (alignment_core.moments) and mini-vec2vec's ``init="moments"``:
the gradient is the objective's, a known rotation between two unpaired samples of a
skewed (non-Gaussian) space is the objective's best optimum and is found, and the
whole method recovers a rotated copy of real vectors with no pair at all."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core.embeddings import Embeddings
from alignment_core.errors import ConfigError
from alignment_core.evaluation import evaluate_bli
from alignment_core.mapping import orthogonality_error
from alignment_core.methods import run_method
from alignment_core.methods.mini_vec2vec import MiniVec2Vec, MiniVec2VecConfig, nn_cos
from alignment_core.moments import MomentMatch, batch_polar, haar_orthogonal, moment_tensors
from alignment_core.synthetic import random_rotation, rotated_copy
from tests.conftest import load_real


def _skewed(n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows of 4 independent, differently skewed components with distinct variances:
    no sign or permutation symmetry, so the rotation between two copies is identifiable."""
    s = np.stack([rng.gamma(k, size=n) for k in (1.0, 2.0, 4.0, 8.0)], axis=1)
    s = (s - s.mean(axis=0)) / s.std(axis=0)
    return s * np.array([2.0, 1.6, 1.3, 1.0])


def test_haar_starts_are_orthogonal_and_polar_projects():
    q = haar_orthogonal(4, 50, np.random.default_rng(0))
    np.testing.assert_allclose(q @ np.swapaxes(q, 1, 2), np.broadcast_to(np.eye(4), (50, 4, 4)), atol=1e-10)
    dets = np.linalg.det(q)
    assert (dets > 0).any() and (dets < 0).any()   # both components of O(4)
    p = batch_polar(q + 0.1 * np.random.default_rng(1).standard_normal((50, 4, 4)))
    np.testing.assert_allclose(p @ np.swapaxes(p, 1, 2), np.broadcast_to(np.eye(4), (50, 4, 4)), atol=1e-10)


def test_fourth_cumulant_vanishes_for_a_gaussian():
    z = np.random.default_rng(2).standard_normal((200_000, 4))
    t3, k4 = moment_tensors(z)
    assert np.abs(t3).max() < 0.03 and np.abs(k4).max() < 0.06
    t3s, k4s = moment_tensors(_skewed(200_000, np.random.default_rng(3)) / [2.0, 1.6, 1.3, 1.0])
    assert t3s[0, 0, 0] == pytest.approx(2.0, abs=0.1)      # skewness of an exponential
    assert k4s[0, 0, 0, 0] == pytest.approx(6.0, abs=0.6)   # its excess kurtosis


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    mm = MomentMatch(_skewed(5000, rng), _skewed(5000, rng), 4)
    q = haar_orthogonal(4, 1, rng)[0]
    f, g = mm.value_and_grad(q)
    d = rng.standard_normal((4, 4))
    eps = 1e-6
    numeric = (mm.value(q + eps * d) - mm.value(q - eps * d)) / (2 * eps)
    assert numeric == pytest.approx(float((g * d).sum()), rel=1e-5)
    fs, gs = mm.value_and_grad(np.stack([q, q]))            # the batched form agrees
    np.testing.assert_allclose(fs, [f, f]) and np.testing.assert_allclose(gs[1], g)


def test_moment_objective_recovers_a_known_rotation_between_unpaired_samples():
    rng = np.random.default_rng(5)
    r = random_rotation(4, rng).astype(np.float64)
    x = _skewed(40_000, rng)
    y = _skewed(40_000, rng) @ r          # a different sample, rotated: y = s R, so W = Rᵀ
    mm = MomentMatch(x, y, 4)
    q_true = mm.vectors_y.T @ r.T @ mm.vectors_x      # the rotation in whitened coordinates
    f_true = mm.value(q_true)
    # the global maximum's basin is small (about 2.5 % of Haar starts here; 100 starts can miss it)
    optima = mm.optima(300, np.random.default_rng(6))
    assert f_true > 1.99                              # same distribution: cosines near 1 + 1
    # the truth is the global maximum up to sampling noise (the runner-up is 0.025 lower)
    assert f_true >= max(o.f for o in optima) - 5e-3
    best = optima[0]
    np.testing.assert_allclose(best.q, q_true, atol=0.05)
    np.testing.assert_allclose(mm.mapping(best.q), r.T, atol=0.05)
    assert best.hits >= 3                             # found from several starts, not by luck
    assert [o.f for o in optima] == sorted((o.f for o in optima), reverse=True)


def test_moment_config_is_validated():
    for bad in (dict(init="pca"), dict(moment_dims=1), dict(moment_select="p@1"), dict(refine1_alpha=0.0),
                dict(moment_candidates=0), dict(refine1_iterations2=-1)):
        with pytest.raises(ConfigError):
            MiniVec2VecConfig(**bad)
    assert MiniVec2VecConfig().alpha1 == 0.5 and MiniVec2VecConfig(refine1_alpha=1.0).alpha1 == 1.0


def test_moments_init_recovers_a_rotated_copy_of_real_vectors():
    """Real French (top 2,000 words, first 100 dimensions) against a rotated, noised, shuffled copy (80 % overlap), no pair:
    init="moments" with candidate screening, α = 1, a k = 10 phase, then refine-2."""
    fr = load_real("fr").head(2000)
    small = Embeddings(fr.words, np.ascontiguousarray(fr.vectors[:, :100]), name="fr[:, :100]")
    pair = rotated_copy(small, noise=0.01, overlap=0.8, seed=7)
    cfg = MiniVec2VecConfig(init="moments", moment_candidates=2, moment_screen_iterations=8, refine1_alpha=1.0,
                            refine1_iterations=3, refine1_iterations2=3, refine1_sample=500, refine1_k=10,
                            refine1_k2=5, refine2_clusters=30, criterion_every=0, seed=1)
    events = []
    al = run_method(MiniVec2Vec(cfg), pair.src, pair.tgt, on_event=events.append)
    stages = [e.stage for e in events]
    assert "anchors" not in stages
    assert stages.count("moments") == 2 and stages.count("screen") == 2 * 8
    assert stages.count("refine-1") == 6 and stages.count("init") == 1 and stages.count("refine-2") == 1
    moments = [e for e in events if e.stage == "moments"]
    assert all({"moment_f", "nn_cos", "criterion"} <= set(e.metrics) for e in moments)
    init = next(e for e in events if e.stage == "init")
    chosen = max(moments, key=lambda e: e.metrics["nn_cos"])
    assert init.metrics["candidate"] == chosen.metrics["candidate"]
    assert [e.metrics["k"] for e in events if e.stage == "refine-1"] == [10] * 3 + [5] * 3
    assert orthogonality_error(al.w) < 1e-3
    p1 = evaluate_bli(pair.src, pair.tgt, al.w, pair.dictionary, rules=("nn",), per_word=False).scores["nn"]["p@1"]
    assert p1 >= 95.0
    # the selection criterion is meaningful here: the recovered map scores far above identity
    from alignment_core.methods.mini_vec2vec import preprocess
    x, y = preprocess(pair.src.vectors), preprocess(pair.tgt.vectors)
    assert nn_cos(x, y, al.w) > nn_cos(x, y, np.eye(x.shape[1], dtype=np.float32)) + 0.1
