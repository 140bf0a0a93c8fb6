"""alignment_core.agreement: neighbourhood agreement on known answers (an exact rotation
mapped back agrees everywhere, a shuffled mapping nowhere, a few shuffled words are the
least agreeing), the per-point hub occurrence is the Diagnostics' N_k, and the gold
status of each point's translation."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core import agreement as A
from alignment_core.diagnostics.hubness import hubness
from alignment_core.retrieval import Retriever


def _clusters(n: int = 600, d: int = 24, c: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((c, d)) * 3
    return (centers[rng.integers(0, c, n)] + rng.standard_normal((n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def rotated():
    """The target space, the source as the same space seen through an exact rotation Q,
    and the source mapped back by W = Qᵀ (the aligned space of a perfect alignment)."""
    t = _clusters()
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((t.shape[1], t.shape[1])))
    s = (t @ q).astype(np.float32)
    return s, (s @ q.T).astype(np.float32), t


def test_jaccard_rows_counts_sets():
    a = np.array([[1, 2, 3], [1, 1, 1], [4, 5, 6]])
    b = np.array([[3, 2, 9], [1, 2, 3], [7, 8, 9]])
    assert np.allclose(A.jaccard_rows(a, b), [2 / 4, 1 / 3, 0.0])


def test_an_exact_rotation_agrees_everywhere(rotated):
    s, mapped, t = rotated
    ag = A.neighbourhood_agreement(mapped, t, src=s, k=10)
    assert ag.src.shape == (600,) and ag.tgt.shape == (600,) and ag.k == 10
    assert ag.src.mean() > 0.98 and ag.tgt.mean() > 0.98, (ag.src.mean(), ag.tgt.mean())
    assert (ag.values >= 0.8).all()                     # at most one neighbour swapped by rounding
    assert np.array_equal(ag.translation[:600], np.arange(600))   # each word's translation is itself
    assert np.array_equal(ag.translation[600:], np.arange(600))
    # the source's own space defaults to the mapped rows (the same for an orthogonal map)
    assert np.allclose(A.neighbourhood_agreement(mapped, t, k=10).src, ag.src, atol=0.2)


def test_a_shuffled_mapping_agrees_nowhere(rotated):
    s, mapped, t = rotated
    perm = np.random.default_rng(2).permutation(600)
    shuffled = mapped[perm]                              # word i is mapped onto word perm[i]'s place
    ag = A.neighbourhood_agreement(shuffled, t, src=s, k=10)
    assert ag.src.mean() < 0.05 and ag.tgt.mean() < 0.05, (ag.src.mean(), ag.tgt.mean())
    assert np.array_equal(ag.translation[:600], perm)  # the mapping itself is clean: τ(i) = perm[i]


def test_a_few_misplaced_words_are_the_least_agreeing(rotated):
    """Ten percent of the words mapped onto random places: the ranked list starts with them."""
    s, mapped, t = rotated
    rng = np.random.default_rng(3)
    bad = np.sort(rng.choice(600, 60, replace=False))
    moved = mapped.copy()
    moved[bad] = mapped[rng.choice(600, 60, replace=False)]
    ag = A.neighbourhood_agreement(moved, t, src=s, k=10)
    worst_src = [r for r in ag.least().tolist() if r < 600][:60]
    assert len(set(worst_src) & set(bad.tolist())) >= 50
    assert ag.src[bad].mean() < 0.2 < ag.src[np.setdiff1d(np.arange(600), bad)].mean()
    order = ag.least()
    assert (np.diff(ag.values[order]) >= 0).all() and len(ag.least(7)) == 7
    v, c = ag.values[order], ag.translation_cos[order]
    ties = v[1:] == v[:-1]
    assert ties.any() and (c[1:][ties] >= c[:-1][ties]).all()    # ties: the least sure translation first


def test_hub_occurrence_is_the_diagnostics_nk(rotated):
    s, mapped, t = rotated
    rng = np.random.default_rng(4)
    noisy = (mapped + 0.8 * rng.standard_normal(mapped.shape)).astype(np.float32)
    ag = A.neighbourhood_agreement(noisy, t, src=s, k=10)
    nk = ag.hub_occurrence()
    assert nk.shape == (1200,) and nk[600:].sum() == 600 * 10 and nk[:600].sum() == 600 * 10
    rt = Retriever(noisy, t)
    assert np.array_equal(nk[600:], hubness(rt, "nn", k=10).nk)
    assert np.array_equal(nk[:600], hubness(rt, "nn", k=10, direction="t2s").nk)


def test_neighbours_and_correctness(rotated):
    s, mapped, t = rotated
    ag = A.neighbourhood_agreement(mapped, t, src=s, k=5)
    own, other = ag.neighbours(3)
    assert 3 not in own and len(own) == 5 and len(other) == 5 and (own < 600).all() and (other >= 600).all()
    assert other[0] == 600 + 3                           # its translation first
    own_t, other_t = ag.neighbours(600 + 3)
    assert (own_t >= 600).all() and 603 not in own_t and (other_t < 600).all() and 3 in other_t
    with pytest.raises(IndexError):
        ag.neighbours(1200)
    # gold: word 0 ↔ 0 (right), word 1 ↔ 2 (wrong both ways), the rest unknown
    c = ag.correctness(np.array([[0, 0], [1, 2]]))
    assert c[0] == A.CORRECT and c[600] == A.CORRECT
    assert c[1] == A.WRONG and c[602] == A.WRONG
    assert c[2] == A.UNKNOWN and c[601] == A.UNKNOWN and (c[3:600] == A.UNKNOWN).all()
    assert (ag.correctness(None) == A.UNKNOWN).all()
    with pytest.raises(ValueError, match="aligned space"):
        A.neighbourhood_agreement(mapped, t[:, :10])
