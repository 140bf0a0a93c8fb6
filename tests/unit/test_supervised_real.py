"""Supervised Procrustes by the MUSE BLI protocol: a known rotation recovered, and the
reference precision levels of ../shared/data/README.md reached on the real pairs."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core.evaluation import evaluate_bli, precision_by_frequency
from alignment_core.methods import Monitor, run_method
from alignment_core.methods.procrustes import Procrustes, ProcrustesConfig
from alignment_core.synthetic import rotated_copy
from tests.conftest import load_dict, load_real


def test_known_rotation_of_real_french_is_recovered():
    fr = load_real("fr").head(8000)
    pair = rotated_copy(fr, noise=0.02, overlap=0.8, seed=7)
    src, tgt = pair.src, pair.tgt
    seeds = pair.dictionary.first_pairs(3000)
    test = type(pair.dictionary)(pair.dictionary.pairs[3000:], "held-out true pairs")
    events = []
    al = run_method(Procrustes(), src, tgt, seeds.index_pairs(src, tgt), on_event=events.append)
    assert [e.stage for e in events] == ["procrustes"]
    rel_err = np.linalg.norm(al.w - pair.rotation) / np.linalg.norm(pair.rotation)
    assert rel_err < 0.01
    res = evaluate_bli(src, tgt, al.w, test, per_word=False)
    assert res.n_queries == len(test.pairs)
    assert res.scores["nn"]["p@1"] >= 99.0
    assert res.scores["csls"]["p@1"] >= 99.0


def test_fi_fr_freedict_reference_band(fi_fr):
    fi, fr = fi_fr
    train, test = load_dict("fi-fr.freedict.train.txt"), load_dict("fi-fr.freedict.test.txt")
    al = run_method(Procrustes(), fi, fr, train.index_pairs(fi, fr))
    res = evaluate_bli(fi, fr, al.w, test, per_word=True)
    assert res.n_queries == 1332
    # ../shared/data/README.md: NN about 33, CSLS about 38
    assert 31.0 <= res.scores["nn"]["p@1"] <= 35.5
    assert 36.0 <= res.scores["csls"]["p@1"] <= 40.5
    assert res.scores["csls"]["p@10"] > res.scores["csls"]["p@5"] > res.scores["csls"]["p@1"]
    # isf also corrects hubness: between NN and well above chance
    assert res.scores["isf"]["p@1"] > res.scores["nn"]["p@1"] - 2
    # per-word rows agree with the aggregate
    p1 = 100 * np.mean([r["rank_csls"] == 1 for r in res.per_word])
    assert abs(p1 - res.scores["csls"]["p@1"]) < 0.2
    bins = precision_by_frequency(res.per_word, "csls")
    assert len(bins) == 3 and sum(b["n"] for b in bins) == 1332


@pytest.mark.slow
def test_en_fr_semi_orthogonal_reference_band():
    en, fr = load_real("en"), load_real("fr")
    train, test = load_dict("en-fr.freedict.train.txt"), load_dict("en-fr.freedict.test.txt")
    al = run_method(Procrustes(), en, fr, train.index_pairs(en, fr))
    assert al.w.shape == (300, 50)
    np.testing.assert_allclose(al.w.T @ al.w, np.eye(50), atol=1e-4)
    res = evaluate_bli(en, fr, al.w, test, rules=("nn", "csls"), per_word=False)
    # ../shared/data/README.md: NN about 21, CSLS about 26
    assert 18.5 <= res.scores["nn"]["p@1"] <= 23.5
    assert 23.5 <= res.scores["csls"]["p@1"] <= 28.5


def test_refinement_rounds_emit_events_and_keep_best_by_criterion():
    fi, fr = load_real("fi").head(8000), load_real("fr").head(8000)
    train = load_dict("fi-fr.freedict.train.txt")
    seeds = train.head_sources(300).index_pairs(fi, fr)
    held_out = type(train)(tuple(p for p in train.head_sources(1300).pairs if p[0] not in set(train.sources[:300])))
    mon = Monitor.from_pairs(held_out.index_pairs(fi, fr))
    assert mon is not None and len(mon.rows) > 500
    m = Procrustes(ProcrustesConfig(refinements=2, max_rank=6000))
    gen = m.fit(fi, fr, seeds, mon)
    events = list(_drain(gen))
    assert [e.stage for e in events] == ["procrustes", "refinement", "refinement", "refinement"]
    assert all("criterion" in e.metrics and "p@1_csls" in e.metrics for e in events[1:])
    assert events[1].metrics["dict_size"] > len(seeds)  # induction found more pairs than the seed
    crits = [e.metrics["criterion"] for e in events[1:]]
    assert m.alignment_.criterion == pytest.approx(max(crits), abs=1e-6)


def _drain(gen):
    while True:
        try:
            yield next(gen)
        except StopIteration:
            return
