"""Runs you can trust: the same seed gives a bit-identical mapping, a cancelled background
job stops promptly keeping the best mapping so far and leaves no thread behind, and the
edge cases (a 1-word space, mismatched dimensions, identical spaces, 0 or 1 seed pair)
either work or say exactly why not."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from alignment_core.dictionary import Dictionary
from alignment_core.embeddings import Embeddings
from alignment_core.errors import AlignScopeError, ConfigError
from alignment_core.runs import RunConfig, execute
from alignment_core.synthetic import rotated_copy
from tests.conftest import load_real

SMALL_MV2V = dict(init="anchors", anchor_runs=3, clusters=12, sample_size=2000, qap_restarts=3, relative_k=20,
                  refine1_iterations=6, refine1_sample=500, refine1_k=20, refine2_clusters=40,
                  kmeans_iterations=10, criterion_every=3)


@pytest.fixture(scope="module")
def pair():
    fr = load_real("fr", lowercase=True).head(2500)
    return rotated_copy(fr, noise=0.02, overlap=0.8, seed=11)


def _w(pair, seed):
    cfg = RunConfig(method="mini-vec2vec", params=SMALL_MV2V, seeds="none", seed=seed, normalize="none",
                    lowercase=False)
    return execute(cfg, pair.src, pair.tgt, None, None).w


def test_same_seed_bit_identical(pair):
    a, b = _w(pair, 3), _w(pair, 3)
    assert a.dtype == b.dtype and np.array_equal(a, b)


def test_cancelled_job_stops_keeps_best_and_leaks_no_thread(pair):
    from ui.jobs import AlignJob

    before = {t.ident for t in threading.enumerate()}
    params = dict(SMALL_MV2V, refine1_iterations=400, criterion_every=50)
    cfg = RunConfig(method="mini-vec2vec", params=params, seeds="none", seed=1, normalize="none", lowercase=False)
    job = AlignJob("cancel-me", cfg, pair.src, pair.tgt, None, pair.dictionary).start()
    t0 = time.perf_counter()
    while len(job.snapshots()) < 6 and time.perf_counter() - t0 < 300:
        time.sleep(0.1)
    assert len(job.snapshots()) >= 6, "the job produced no events"
    job.cancel()
    t_cancel = time.perf_counter()
    assert job.wait(timeout=60), "the job thread did not stop after cancel"
    stop_s = time.perf_counter() - t_cancel
    assert job.status == "cancelled", (job.status, job.error)
    assert job.result is not None and job.result.cancelled
    assert job.result.w.shape == (pair.tgt.dim, pair.src.dim)
    assert len(job.snapshots()) < 400  # it really stopped early
    assert stop_s < 30
    time.sleep(0.2)
    leaked = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("alignscope-job")]
    assert not leaked


def _emb(words, vecs):
    return Embeddings(tuple(words), np.asarray(vecs, np.float32))


def test_one_word_space_says_why():
    one = _emb(["kissa"], [[1.0, 0.0, 0.0]])
    other = _emb(["chat", "chien"], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    d = Dictionary((("kissa", "chat"),))
    res = execute(RunConfig(normalize="renorm"), one, other, d, d)  # supervised works with one pair
    assert res.w.shape == (3, 3) and res.evaluation.n_queries == 1
    with pytest.raises(AlignScopeError):
        execute(RunConfig(method="mini-vec2vec", seeds="none", normalize="renorm"), one, other)


def test_zero_and_one_seed_pair():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4))
    a = _emb([f"a{i}" for i in range(50)], x)
    b = _emb([f"b{i}" for i in range(50)], x)
    with pytest.raises(AlignScopeError, match="no seed pair has both words"):
        execute(RunConfig(), a, b, Dictionary((("zz", "yy"),)))
    res = execute(RunConfig(normalize="none"), a, b, Dictionary((("a1", "b1"),)))
    assert np.isfinite(res.w).all()  # one pair: a valid (if uninformative) orthogonal map


def test_mismatched_dimensions():
    rng = np.random.default_rng(1)
    small = _emb([f"w{i}" for i in range(80)], rng.standard_normal((80, 20)))
    big = _emb([f"w{i}" for i in range(80)], rng.standard_normal((80, 30)))
    res = execute(RunConfig(seeds="identical", normalize="renorm"), small, big)
    assert res.w.shape == (30, 20)
    np.testing.assert_allclose(res.w.T @ res.w, np.eye(20), atol=1e-4)
    with pytest.raises(ConfigError, match="dimension"):   # the adversarial game is d × d (the default start is not)
        execute(RunConfig(method="muse", seeds="none", normalize="renorm", params={"preset": "fast"}), small, big)


def test_identical_spaces_align_to_identity(pair):
    res = execute(RunConfig(seeds="identical", normalize="renorm,center,renorm", lowercase=False),
                  pair.src, pair.src, None, Dictionary(tuple((w, w) for w in pair.src.words[:300])))
    np.testing.assert_allclose(res.w, np.eye(res.w.shape[0]), atol=1e-3)
    assert res.evaluation.scores["nn"]["p@1"] == 100.0
