"""Independent-component matching (alignment_core.ica_match) and mini-vec2vec's
``init="ica"``: Frank-Wolfe finds the brute-force optimum of a small matching problem,
a known rotation between two unpaired samples of independent skewed sources is
recovered component by component, and the whole method recovers a rotated copy of
real vectors with no pair at all."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from alignment_core.embeddings import Embeddings
from alignment_core.errors import ConfigError
from alignment_core.evaluation import evaluate_bli
from alignment_core.ica_match import ComponentMatch, Components, edge_channels, ica_components, mapping
from alignment_core.mapping import orthogonality_error
from alignment_core.methods import run_method
from alignment_core.methods.mini_vec2vec import MiniVec2Vec, MiniVec2VecConfig
from alignment_core.synthetic import random_rotation, rotated_copy
from tests.conftest import load_real

SHAPES = (0.3, 0.5, 0.8, 1.2, 2.0, 3.0)


def _sources(n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows of 6 independent gamma sources of distinct shapes (distinct skewness),
    plus a shared 'topic' that makes sources 0 and 1 exceed together (an edge to match)."""
    s = np.stack([rng.gamma(k, size=n) for k in SHAPES], axis=1)
    topic = rng.random(n) < 0.05
    s[topic, 0] += 3.0
    s[topic, 1] += 3.0
    return (s - s.mean(0)) / s.std(0)


def test_frank_wolfe_reaches_the_brute_force_optimum():
    rng = np.random.default_rng(0)
    k = 6
    cx = Components(rng.gamma(1.0, size=(4000, k)).astype(np.float32), np.eye(k))
    cy = Components(rng.gamma(1.0, size=(4000, k)).astype(np.float32), np.eye(k))
    cm = ComponentMatch(cx, cy, lam=2.0)
    brute = max(cm.objective(np.array(p)) for p in itertools.permutations(range(k)))
    found = cm.matchings(30, np.random.default_rng(1))
    assert found[0].f == pytest.approx(brute)
    assert [m.f for m in found] == sorted((m.f for m in found), reverse=True)
    assert sum(m.hits for m in found) == 30


def test_edge_channels_are_standardized_and_see_co_exceedance():
    s = _sources(50_000, np.random.default_rng(2))
    ch = edge_channels(s)
    assert ch.shape == (6, 6, 6)
    off = ~np.eye(6, dtype=bool)
    for c in ch:
        assert c[off].mean() == pytest.approx(0.0, abs=1e-9) and c[off].std() == pytest.approx(1.0)
        assert np.all(np.diag(c) == 0)
    # the topic couples sources 0 and 1: the largest co-exceedance entry of the log-ratio channel
    i, j = np.unravel_index(np.argmax(np.where(off, ch[3], -np.inf)), (6, 6))
    assert {int(i), int(j)} == {0, 1}


def test_known_rotation_between_unpaired_samples_is_recovered():
    rng = np.random.default_rng(3)
    d = 12
    embed = random_rotation(d, rng).astype(np.float64)[:6]           # 6 sources in 12 dimensions
    r = random_rotation(d, rng).astype(np.float64)
    x = _sources(30_000, rng) @ embed + 0.05 * rng.standard_normal((30_000, d))
    y = (_sources(30_000, rng) @ embed + 0.05 * rng.standard_normal((30_000, d))) @ r  # W = Rᵀ
    y = y[rng.permutation(len(y))]
    cx, cy = ica_components(x, 6, seed=0), ica_components(y, 6, seed=0)
    assert np.allclose(cx.b.T @ cx.b, np.eye(6), atol=1e-6)
    found = ComponentMatch(cx, cy, lam=5.0).matchings(20, np.random.default_rng(4))
    w0 = mapping(cx, cy, found[0].perm)
    # on the signal subspace W₀ acts as the true map Rᵀ (mapped = x W₀ᵀ, so compare rows x W₀ᵀ = x R)
    np.testing.assert_allclose(embed @ w0.T, embed @ r, atol=0.05)
    assert found[0].hits >= 5


def test_ica_config_is_validated():
    for bad in (dict(ica_components=1), dict(ica_starts=0), dict(ica_lambdas=()), dict(ica_lambdas=(-1.0,)),
                dict(ica_screen_iterations=-1)):
        with pytest.raises(ConfigError):
            MiniVec2VecConfig(**bad)
    assert MiniVec2VecConfig(ica_lambdas=[2, 3]).ica_lambdas == (2.0, 3.0)   # a JSON list


def test_ica_init_recovers_a_rotated_copy_of_real_vectors():
    """Real French (top 3,000 words, first 100 dimensions) against a rotated, noised,
    shuffled copy (80 % overlap), no pair: init="ica" with 16 components, two λ, screening."""
    fr = load_real("fr").head(3000)
    small = Embeddings(fr.words, np.ascontiguousarray(fr.vectors[:, :100]), name="fr[:, :100]")
    pair = rotated_copy(small, noise=0.01, overlap=0.8, seed=7)
    cfg = MiniVec2VecConfig(init="ica", ica_components=16, ica_lambdas=(2.0, 5.0), ica_starts=30,
                            ica_candidates=1, ica_screen_iterations=5, refine1_iterations=3, refine1_sample=500,
                            refine1_k=10, refine2_clusters=30, criterion_every=0, seed=1)
    events = []
    al = run_method(MiniVec2Vec(cfg), pair.src, pair.tgt, on_event=events.append)
    stages = [e.stage for e in events]
    assert "anchors" not in stages and "moments" not in stages
    ica = [e for e in events if e.stage == "ica"]
    assert 1 <= len(ica) <= 2 and stages.count("screen") == 5 * len(ica)
    assert all({"ica_lambda", "ica_f", "nn_cos", "criterion"} <= set(e.metrics) for e in ica)
    init = next(e for e in events if e.stage == "init")
    assert init.metrics["candidate"] == max(ica, key=lambda e: e.metrics["nn_cos"]).metrics["candidate"]
    assert orthogonality_error(al.w) < 1e-3
    p1 = evaluate_bli(pair.src, pair.tgt, al.w, pair.dictionary, rules=("nn",), per_word=False).scores["nn"]["p@1"]
    assert p1 >= 95.0
