"""alignment_core.faithfulness: a map's P@10, mixing and trustworthiness against the aligned
space, on known answers, and the anchored map (alignment_core.projection.anchored_map)
on the bundled sample after supervised Procrustes (docs/map.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alignment_core import faithfulness as F
from alignment_core import projection as P

ROOT = Path(__file__).resolve().parents[2]


def _clusters(n: int = 600, d: int = 24, c: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((c, d)) * 3
    return (centers[rng.integers(0, c, n)] + rng.standard_normal((n, d))).astype(np.float32)


def test_hand_made_maps_give_the_known_numbers():
    rng = np.random.default_rng(1)
    t = rng.standard_normal((200, 16)).astype(np.float32)
    s = t + 0.01 * rng.standard_normal(t.shape).astype(np.float32)   # each source at its translation
    gold = [np.array([i]) for i in range(200)]
    yt = rng.uniform(0, 100, (200, 2))
    on_top = np.vstack([yt + 0.001, yt])                                # the map puts each word on its translation
    f = F.faithfulness(s, t, on_top, gold)
    assert f.n_queries == 200 and f.map_p == 1.0 and f.aligned_p == 1.0
    assert f.map_mixing > 0.4 and f.aligned_mixing > 0.4                # both interleaved
    apart = np.vstack([yt + [1000.0, 0.0], yt])                         # the same map, the source far away
    g = F.faithfulness(s, t, apart, gold)
    assert g.map_mixing == 0.0 and g.map_p < 0.2 and g.aligned_p == 1.0
    assert "more separate" in g.reading() and "hides" in g.reading()
    # gold helpers: words → rows, only the shown ones
    pairs = F.gold_pairs(["a", "b", "c"], ["x", "y"], [("a", "x"), ("a", "y"), ("b", "z"), ("c", "y"), ("a", "x")])
    assert pairs.tolist() == [[0, 0], [0, 1], [2, 1]]
    lists = F.gold_lists(pairs, 3, 2)
    assert [g.tolist() for g in lists] == [[0, 1], [], [1]]
    assert [g.tolist() for g in F.gold_targets(["a", "b", "c"], ["x", "y"], [("a", "y"), ("c", "y")])] == [[1], [], [1]]
    with pytest.raises(ValueError, match="coords must be"):
        F.faithfulness(s, t, yt, gold)


@pytest.fixture(scope="module")
def rotated_pair():
    """A space, and the same space seen through an exact rotation and mapped back (the
    aligned space of a perfect alignment), with a little noise."""
    x = _clusters()
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((x.shape[1], x.shape[1])))
    src = ((x @ q) @ q.T + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)
    return src, x, q


def test_anchoring_and_the_island_without_umap(rotated_pair, monkeypatch):
    """The anchoring rule and the island, with PCA standing in for UMAP (no numba JIT):
    a perfect mapping anchors (nearly) every row on its translation's position; a random
    orthogonal W anchors (nearly) none, and they are drawn apart, right of the targets."""
    monkeypatch.setattr(P, "umap_2d", lambda x, **kw: P.pca_2d(x))
    src, tgt, _ = rotated_pair
    n = len(src)
    m = P.anchored_map(src, tgt, seed=0)
    assert m.n_anchored > 0.95 * n
    step = np.median(np.linalg.norm(np.diff(np.sort(m.coords[n:], axis=0), axis=0), axis=1)) + 1e-6
    on = np.linalg.norm(m.coords[:n] - m.coords[n:][m.nearest], axis=1)
    assert np.median(on) < 20 * step                 # beside its nearest target (jitter only)
    rng = np.random.default_rng(4)
    w, _ = np.linalg.qr(rng.standard_normal((src.shape[1], src.shape[1])))
    bad = P.anchored_map((src @ w.T).astype(np.float32), tgt, seed=0)
    assert bad.n_anchored < 0.1 * n
    free = ~bad.anchored
    assert bad.coords[:n][free, 0].min() > bad.coords[n:, 0].max()   # the island is right of the targets


@pytest.mark.slow
def test_anchored_map_of_an_exact_rotation_shows_the_translations(rotated_pair):
    src, tgt, _ = rotated_pair
    gold = [np.array([i]) for i in range(len(src))]
    m = P.anchored_map(src, tgt, seed=0)
    assert m.coords.shape == (2 * len(src), 2) and np.isfinite(m.coords).all()
    assert m.n_anchored > 0.95 * len(src)
    assert np.array_equal(m.nearest[:50], np.arange(50)) and (m.nearest_cos > 0.9).all()
    f = F.faithfulness(src, tgt, m.coords, gold)
    assert f.aligned_p > 0.95
    assert f.map_p >= 0.85 * f.aligned_p, f
    assert f.trustworthiness >= 0.9, f


@pytest.mark.slow
def test_a_wrong_mapping_looks_failed(rotated_pair):
    """A random orthogonal W: almost nothing is anchored, the map shows two islands and its
    P@10 stays at the aligned space's (near 0)."""
    src, tgt, _ = rotated_pair
    rng = np.random.default_rng(3)
    w, _ = np.linalg.qr(rng.standard_normal((src.shape[1], src.shape[1])))
    wrong = (src @ w.T).astype(np.float32)
    gold = [np.array([i]) for i in range(len(src))]
    m = P.anchored_map(wrong, tgt, seed=0)
    f = F.faithfulness(wrong, tgt, m.coords, gold)
    assert f.aligned_p < 0.1 and f.map_p < 0.1, f
    assert abs(f.map_mixing - f.aligned_mixing) <= 0.05, f
    assert m.n_anchored < 0.1 * len(src)


def test_the_cosine_of_chance_is_the_best_cosine_of_random_directions():
    """Random unit rows in 64-d: the best cosine of a row among 2,000 random unit rows is at
    most about √(2 ln 2000 / 64) ≈ 0.49 (measured median 0.41, 0.999 quantile 0.56); a
    random rotation of the rows changes nothing, and rotating the targets' own rows gives
    chance too, far below 1 (the cosine of a row with itself)."""
    rng = np.random.default_rng(0)
    s = P.normalize_rows(rng.standard_normal((3000, 64)).astype(np.float32))
    t = P.normalize_rows(rng.standard_normal((2000, 64)).astype(np.float32))
    tau = P.chance_cosine(s, t, 0.999, seed=0)
    assert 0.45 < tau < 0.75, tau
    assert P.chance_cosine(s, t, 0.5, seed=0) < tau
    assert P.chance_cosine(s, s[:2000], 0.999, seed=0) < 0.75         # the same rows, rotated: chance too


@pytest.mark.slow
def test_paired_texts_ranked_right_are_drawn_beside_their_partners():
    """Two real text encoders (MiniLM → e5, ../shared/data/text), the 5,000 last texts, centred
    with the training mean: Procrustes on 300 paired texts ranks the partner among the 10
    nearest for 90 %, but draws the mapped texts as a cloud of their own (mixing 0.06 in the
    aligned space). The chance rule anchors the rows whose best target beats chance and is
    mutual (measured: map P@10 0.47 → 0.59); Procrustes on 1,000 shuffled pairs (a W that knows
    the spaces' shapes but no partner) keeps its island (96 of 5,000 anchored)."""
    from alignment_core.mapping import procrustes
    from tests.conftest import SHARED

    d = SHARED / "text"
    a = np.load(d / "wordnet.minilm.npy", allow_pickle=False).astype(np.float32)
    b = np.load(d / "wordnet.e5.npy", allow_pickle=False).astype(np.float32)
    a = P.normalize_rows(a - a[:51808].mean(0))
    b = P.normalize_rows(b - b[:51808].mean(0))
    test = np.arange(55_000, 60_000)
    gold = [np.array([i]) for i in range(len(test))]
    src, tgt = (a[test] @ procrustes(a[:300], b[:300]).T).astype(np.float32), b[test]
    with_rule = P.anchored_map(src, tgt, seed=0)
    f = F.faithfulness(src, tgt, with_rule.coords, gold)
    assert f.aligned_p > 0.85, f
    assert f.map_p >= 0.55, f                                                      # measured 0.590
    without = F.faithfulness(src, tgt, P.anchored_map(src, tgt, seed=0, chance_q=None).coords, gold)
    assert without.map_p <= f.map_p - 0.05, (without, f)                          # measured 0.471
    w = procrustes(a[:1000], b[np.random.default_rng(1).permutation(1000)])
    wrong = (a[test] @ w.T).astype(np.float32)
    m = P.anchored_map(wrong, tgt, seed=0)
    fw = F.faithfulness(wrong, tgt, m.coords, gold)
    assert m.n_anchored < 0.05 * len(test) and fw.aligned_p < 0.01 and fw.map_p < 0.01, (m.n_anchored, fw)
    assert fw.map_mixing <= 0.05, fw


@pytest.mark.slow
def test_the_sample_map_after_procrustes():
    """The goal of issue 11 on the sample (5,000 words per side, eval dictionary), with the
    numbers measured in docs/map.md as bands, over the map's seeds 0-2 (one seed's map P@10
    moves by ±0.02 with the layout's randomness, even with the bits of its input): the anchored
    map shows translations (map P@10 ≥ 0.78 × aligned on average, against 0.49 for the joint
    UMAP), keeps neighbourhoods (T ≥ 0.895 each), interleaves the two languages as the aligned
    space does (mixing within 0.05 each), and a failed alignment (a random orthogonal W) still
    looks failed."""
    from alignment_core.dictionary import load_dictionary
    from alignment_core.io import load_embeddings
    from alignment_core.runs import RunConfig, execute

    sd = ROOT / "sample_data"
    r = execute(RunConfig(), load_embeddings(sd / "fi.10k.vec.gz", lowercase=True),
                load_embeddings(sd / "fr.10k.vec.gz", lowercase=True),
                load_dictionary(sd / "fi-fr.train.txt"), None, per_word=False)
    n = 5000
    src, tgt = r.aligned_source()[:n], r.tgt.vectors[:n]
    pairs = F.gold_pairs(r.src.words[:n], r.tgt.words[:n], load_dictionary(sd / "fi-fr.test.txt").lowercased().pairs)
    gold = F.gold_lists(pairs, n, n)
    fs = [F.faithfulness(src, tgt, P.anchored_map(src, tgt, seed=seed).coords, gold) for seed in (0, 1, 2)]
    f = fs[0]
    assert f.n_queries == 314
    assert abs(f.aligned_p - 0.825) <= 0.02, f
    # candidates ranked by CSLS, the target map's UMAP repulsion 2: measured 0.650 / 0.666 /
    # 0.678 (mean 0.665 = 81 %; seeds 0-7: 0.650-0.678); the goal is 85 % (docs/map.md)
    assert np.mean([x.map_p for x in fs]) >= 0.78 * f.aligned_p, fs
    # the goal: T ≥ 0.9; measured 0.906 / 0.906 / 0.904 (seeds 0-7: 0.901-0.906; 0.889-0.897
    # with UMAP's default repulsion 1, docs/map.md "The target map's repulsion")
    assert min(x.trustworthiness for x in fs) >= 0.895, fs
    # the goal: within 0.05 of the aligned space's 0.156; measured 0.190 / 0.176 / 0.182 after the
    # separation (seeds 0-7: 0.151-0.190; 0.37 without it: over-mixed; docs/map.md)
    assert max(abs(x.map_mixing - x.aligned_mixing) for x in fs) <= 0.05, fs
    rng = np.random.default_rng(1)
    w, _ = np.linalg.qr(rng.standard_normal((src.shape[1], src.shape[1])))
    wrong = (src @ w.T).astype(np.float32)
    mw = P.anchored_map(wrong, tgt, seed=0)
    fw = F.faithfulness(wrong, tgt, mw.coords, gold)
    assert fw.aligned_p <= 0.02 and fw.map_p <= 0.02, fw
    assert fw.map_mixing <= 0.05, fw                    # two islands
