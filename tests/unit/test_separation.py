"""alignment_core.projection.separate_sheets: the step of the anchored map that moves the
anchored sources and the targets apart where they lie on each other (docs/map.md,
"Separating the two sheets"), on known answers: the grid's repulsion against the direct
pairwise sum, two parallel sheets drawn as mixed as the aligned space says, the island left
in place, and no move when the sheets already interleave as the aligned space says."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from alignment_core import faithfulness as F
from alignment_core import projection as P


def _direct(y_from: np.ndarray, y_at: np.ndarray, r: float) -> np.ndarray:
    """Σ_j (y_i − y_j)/d · max(r − d, 0)/r, by brute force (the test's oracle)."""
    d = y_at[:, None, :] - y_from[None, :, :]
    dist = np.linalg.norm(d, axis=2)
    mag = np.where(dist > 0, np.clip(r - dist, 0, None) / r / np.where(dist > 0, dist, 1), 0)
    return (d * mag[:, :, None]).sum(axis=1)


def test_the_grid_repulsion_matches_the_pairwise_sum():
    rng = np.random.default_rng(0)
    y_from = rng.uniform(0, 60, (1500, 2))
    y_at = rng.uniform(0, 60, (400, 2))
    r = 9.0
    mesh = P._Mesh(np.array([-12.0, -12.0]), np.array([72.0, 72.0]), 1.0, r)
    got, want = mesh.field(y_from, y_at), _direct(y_from, y_at, r)
    err = np.linalg.norm(got - want, axis=1) / np.linalg.norm(want, axis=1).clip(1e-9)
    assert np.median(err) < 0.2, np.median(err)        # measured 0.17 at one cell a spacing
    # the net direction is right wherever the force is not a near cancellation
    strong = np.linalg.norm(want, axis=1) > np.median(np.linalg.norm(want, axis=1))
    cos = (got[strong] * want[strong]).sum(1) / np.linalg.norm(got[strong], axis=1) / np.linalg.norm(want[strong], axis=1)
    assert np.median(cos) > 0.97, np.median(cos)
    # a lone target repels a point at distance d by (r − d)/r, away from it, and not beyond r
    one = mesh.field(np.array([[30.0, 30.0]]), np.array([[34.0, 30.0], [30.0, 45.0]]))
    assert abs(one[0, 0] - 5 / 9) < 0.05 and abs(one[0, 1]) < 0.02
    assert np.abs(one[1]).max() < 1e-9


def _sheets(n: int = 900, seed: int = 0):
    """Targets on a jittered 30 × 30 grid (spacing 1), each source anchored 0.05 from its own
    target: two coincident sheets. Candidates: each source's own target first (cos 0.9), then
    its 9 nearest other targets (cos 0.5)."""
    rng = np.random.default_rng(seed)
    g = np.stack(np.meshgrid(np.arange(30.0), np.arange(30.0)), -1).reshape(-1, 2)[:n]
    yt = g + rng.uniform(-0.2, 0.2, g.shape)
    ys = yt + rng.normal(0, 0.05, yt.shape)
    _, nb = cKDTree(yt).query(yt, k=10)
    ids = nb.astype(np.int64)                       # itself first (distance 0 to its own target)
    sims = np.full(ids.shape, 0.5)
    sims[:, 0] = 0.9
    return np.vstack([ys, yt]).astype(np.float32), ids, sims


def _parallel_sheets(gap: float, n: int = 2000, seed: int = 1):
    """Targets in 12 clusters (24-d, one more dimension at 0); each source its own target plus
    noise (σ 0.3) and ``gap`` along the extra dimension: two parallel sheets, each source's
    nearest target its own, the aligned space's mixing falling as the gap grows."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((12, 24)) * 3
    t = np.hstack([centers[rng.integers(0, 12, n)] + rng.standard_normal((n, 24)), np.zeros((n, 1))])
    rng = np.random.default_rng(seed)
    s = t + rng.normal(0, 0.3, t.shape)
    s[:, -1] += gap
    return s.astype(np.float32), t.astype(np.float32), [np.array([i]) for i in range(n)]


def test_parallel_sheets_are_drawn_as_mixed_as_the_aligned_space_says():
    s, t, gold = _parallel_sheets(2.0)
    before = P.anchored_map(s, t, seed=0, separate=False)
    after = P.anchored_map(s, t, seed=0)
    fb = F.faithfulness(s, t, before.coords, gold)
    fa = F.faithfulness(s, t, after.coords, gold)
    # measured: aligned mixing 0.323; anchored only 0.525 (over-mixed), separated 0.336
    assert fb.map_mixing - fb.aligned_mixing > 0.15, fb
    assert abs(fa.map_mixing - fa.aligned_mixing) <= 0.05, fa
    assert fa.map_p >= 0.9 and fa.trustworthiness >= 0.95, fa     # measured 0.942 (0.988 before), T 0.976
    # no gap: the sheets already interleave as in the aligned space, and nothing moves
    s0, t0, _ = _parallel_sheets(0.0)
    assert np.array_equal(P.anchored_map(s0, t0, seed=0).coords, P.anchored_map(s0, t0, seed=0, separate=False).coords)


def test_a_stalled_separation_reaches_further():
    """A repulsion radius too short for the map (6 spacings on the parallel sheets) stalls
    over-mixed; growing the radius when the mixing stops falling (the default) gets closer to
    the aligned space's mixing, and the default start (9, growing up to 16) meets it."""
    s, t, gold = _parallel_sheets(2.0)
    m = P.anchored_map(s, t, seed=0, separate=False)
    sims, ids, _ = P._candidates(P.normalize_rows(s), P.normalize_rows(t), P.ANCHOR_CANDIDATES, P.ANCHOR_RANK)
    step = P.target_spacing(m.coords[len(s):])
    target = F.aligned_mixing(s, t, sample=P.SEPARATE_MIX_SAMPLE)
    runs = {}
    for name, kw in (("stuck", dict(radius=6.0, grow=1.0)), ("grows", dict(radius=6.0)), ("default", {})):
        y = P.separate_sheets(m.coords, m.anchored, sims, ids, step, target_mixing=target, **kw)
        runs[name] = F.faithfulness(s, t, y, gold)
    aligned = runs["stuck"].aligned_mixing                       # measured 0.323
    assert runs["stuck"].map_mixing - aligned > 0.12, runs       # measured 0.499
    assert runs["grows"].map_mixing <= runs["stuck"].map_mixing - 0.05, runs   # measured 0.418
    assert abs(runs["default"].map_mixing - aligned) <= 0.05, runs
    assert min(f.map_p for f in runs.values()) >= 0.9, runs


def test_the_separation_stops_where_the_aligned_space_mixes_as_much():
    coords, ids, sims = _sheets()
    n = len(ids)
    anchored = np.ones(n, bool)
    assert F.map_mixing(coords, n) > 0.5
    same = P.separate_sheets(coords, anchored, sims, ids, step=1.0, target_mixing=0.55)
    assert np.array_equal(same, coords)              # already as mixed as the aligned space
    moved = P.separate_sheets(coords, anchored, sims, ids, step=1.0, target_mixing=0.3)
    assert not np.array_equal(moved, coords)


def test_the_island_stays_where_it_is():
    coords, ids, sims = _sheets()
    n = len(ids)
    anchored = np.ones(n, bool)
    anchored[::3] = False
    coords[:n][~anchored] += np.array([100.0, 0.0], np.float32)   # the island, to the right
    y = P.separate_sheets(coords, anchored, sims, ids, step=1.0)
    assert np.array_equal(y[:n][~anchored], coords[:n][~anchored])
    assert np.linalg.norm(y[:n][anchored] - coords[:n][anchored], axis=1).mean() > 0.1
    nothing = P.separate_sheets(coords, np.zeros(n, bool), sims, ids, step=1.0)
    assert np.array_equal(nothing, coords)


def test_the_anchored_map_ranks_candidates_by_csls():
    """A hub target (where every mapped source leans) is the best cosine candidate of most
    sources; ranked by CSLS (the default) it is a candidate of few, each source's own
    partner comes first more often, and the scores are half the CSLS score, cos − r(t)/2."""
    from alignment_core.retrieval import normalize_rows

    rng = np.random.default_rng(5)
    d = 20
    t = normalize_rows(rng.standard_normal((300, d)).astype(np.float32))
    c = normalize_rows(rng.standard_normal((1, d)).astype(np.float32))
    s = normalize_rows(t + 0.3 * rng.standard_normal(t.shape).astype(np.float32) + 0.9 * c)
    t = np.vstack([t, c])                                    # the hub is row 300
    cs, ci, back = P._candidates(s, t, 3, "csls")
    ns, ni, _ = P._candidates(s, t, 3, "nn")
    assert (ni[:, 0] == 300).sum() > 50 and (ci[:, 0] == 300).sum() < (ni[:, 0] == 300).sum() / 2
    assert (ci[:, 0] == np.arange(300)).mean() > (ni[:, 0] == np.arange(300)).mean()
    r_t = np.sort(t @ s.T, axis=1)[:, -10:].mean(axis=1)
    np.testing.assert_allclose(cs, np.take_along_axis(s @ t.T - r_t[None, :] / 2, ci, 1), atol=1e-5)
    np.testing.assert_array_equal(back, np.argmax(t @ s.T, axis=1))
    with pytest.raises(ValueError, match="unknown rank"):
        P._candidates(s, t, 3, "isf")
