"""Hubness statistics: exact values on hand-made k-NN lists, isotropic vs power-law
spectra, and CSLS lowering the hubness of a real fi→fr retrieval."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core.diagnostics import hubness as hb
from alignment_core.mapping import apply_mapping, procrustes
from alignment_core.retrieval import Retriever

from tests.conftest import load_dict


def test_k_occurrence_counts_and_sums():
    ids = np.array([[0, 1], [0, 2], [0, 1]])
    nk = hb.k_occurrence(ids, 4)
    assert nk.tolist() == [3, 2, 1, 0]
    assert nk.sum() == ids.size


def test_gini_robin_hood_skewness_known_values():
    equal = np.full(10, 5)
    assert hb.gini(equal) == pytest.approx(0.0)
    assert hb.robin_hood(equal) == pytest.approx(0.0)
    assert hb.skewness(equal) == 0.0
    one_hub = np.array([0, 0, 0, 0, 20])
    # sorted formula: (2n − n − 1)·c / (n·c) = (n − 1)/n
    assert hb.gini(one_hub) == pytest.approx(4 / 5)
    # ½ Σ|x − μ| / Σx with μ = 4: ½ (4·4 + 16) / 20
    assert hb.robin_hood(one_hub) == pytest.approx(0.8)
    assert hb.skewness(one_hub) == pytest.approx(1.5, abs=1e-12)  # (n−2)/√(n−1) for one spike, n=5
    assert hb.skewness(np.array([1, 2, 3, 4, 5])) == pytest.approx(0.0)
    x = np.random.default_rng(0).poisson(3, 500)
    gini_pairs = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert hb.gini(x) == pytest.approx(gini_pairs)  # the mean-difference definition


def test_hub_and_antihub_occurrence():
    # 4 queries, k = 2, targets 0..4: target 0 in all 4 lists (N_k = 4 ≥ 2k), 3 and 4 never
    ids = np.array([[0, 1], [0, 2], [0, 1], [0, 2]])
    nk = hb.k_occurrence(ids, 5)
    assert hb.hub_occurrence(nk, k=2, n_queries=4) == pytest.approx(4 / 8)
    assert hb.antihub_occurrence(nk) == pytest.approx(2 / 5)
    res = hb.hubness_from_ids(ids, 5, 2, target_words=list("abcde"), query_words=["q0", "q1", "q2", "q3"], top=2)
    assert res.n_hubs == 1
    assert res.top_hubs[0] == {"word": "a", "row": 0, "n_k": 4, "captured": ["q0", "q1", "q2", "q3"]}
    assert res.top_hubs[1]["n_k"] == 2


def _pair(scale: np.ndarray, n: int = 2500, seed: int = 0) -> Retriever:
    rng = np.random.default_rng(seed)
    d = scale.size
    a = (rng.standard_normal((n, d)) * scale).astype(np.float32)
    b = (rng.standard_normal((n, d)) * scale).astype(np.float32)
    return Retriever(a, b)


def test_isotropic_low_hubness_power_law_high():
    d = 300
    iso = hb.hubness_by_rule(_pair(np.ones(d)), rules=("nn",))["nn"]
    power = hb.hubness_by_rule(_pair(np.arange(1, d + 1) ** -0.5), rules=("nn",))["nn"]
    assert iso.skewness < 0.8
    assert iso.hub_occurrence < 0.05
    assert power.skewness > 2.0
    assert power.hub_occurrence > 0.3
    assert power.antihub_occurrence > iso.antihub_occurrence + 0.05
    assert power.gini > iso.gini + 0.2 and power.robin_hood > iso.robin_hood + 0.15


def test_csls_and_isf_reduce_power_law_hubness():
    res = hb.hubness_by_rule(_pair(np.arange(1, 301) ** -0.5, n=2000, seed=1))
    red = hb.reduction(res)
    assert red["csls"]["skewness"] < -1.0 and red["isf"]["skewness"] < -1.0
    assert red["csls"]["hub_occurrence"] < 0


def test_self_retrieval_excludes_self():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 20)).astype(np.float32)
    r = Retriever(x, x)
    ids = hb.retrieve_lists(r, k=5, exclude_self=True)
    assert ids.shape == (300, 5)
    assert not (ids == np.arange(300)[:, None]).any()
    res = hb.hubness(r, "nn", k=5, exclude_self=True)
    assert res.nk.sum() == 300 * 5


def test_csls_lowers_skewness_real_fi_fr(fi_fr):
    fi, fr = fi_fr
    pairs = load_dict("fi-fr.freedict.train.txt").index_pairs(fi, fr)
    w = procrustes(fi.vectors[pairs[:, 0]], fr.vectors[pairs[:, 1]])
    s, t = fi.head(5000), fr.head(5000)
    res = hb.hubness_by_rule(Retriever(apply_mapping(s.vectors, w), t.vectors), query_words=s.words,
                             target_words=t.words)
    nn, csls, isf = res["nn"], res["csls"], res["isf"]
    # measured: nn skewness 3.15, csls 1.93, isf 2.57
    assert 2.0 < nn.skewness < 5.0
    assert csls.skewness < nn.skewness - 0.8
    assert isf.skewness < nn.skewness
    assert csls.hub_occurrence < nn.hub_occurrence and csls.antihub_occurrence < nn.antihub_occurrence
    # the nn hubs are French function words ("mais", "pas", "encore", ...)
    assert {"mais", "pas", "encore", "toujours"} & {h["word"] for h in nn.top_hubs[:5]}
    assert nn.top_hubs[0]["n_k"] >= 2 * nn.k and len(nn.top_hubs[0]["captured"]) > 0
