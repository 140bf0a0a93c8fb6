"""The verdict of an unsupervised run (alignment_core.success), from unsupervised evidence only:
"succeeded" on a recovered rotation of real French vectors, "likely failed" on a random W and
on the unaligned identity, and its parts (the criterion it computes is MUSE's, the games of a
MUSE history are read, a run's result.json carries it)."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core import success
from alignment_core.evaluation import evaluate_bli
from alignment_core.io import load_embeddings
from alignment_core.methods.base import unsupervised_criterion
from alignment_core.retrieval import Retriever
from alignment_core.runs import RunConfig, execute
from alignment_core.synthetic import random_rotation, rotated_copy
from tests.conftest import SAMPLE

N = 1500


@pytest.fixture(scope="module")
def pair():
    """The 1,500 most frequent French words of the sample against their rotated copy (noise 0.3,
    overlap 0.9), both normalized as a run would."""
    fr = load_embeddings(SAMPLE / "fr.10k.vec.gz", max_vocab=N, lowercase=True)
    p = rotated_copy(fr, noise=0.3, overlap=0.9, seed=0)
    return p, p.src.normalize("renorm,center,renorm"), p.tgt.normalize("renorm,center,renorm")


def _p1(src, tgt, w, d):
    return evaluate_bli(src, tgt, w, d, rules=("csls",), per_word=False).scores["csls"]["p@1"]


def test_recovered_rotation_succeeded(pair):
    p, src, tgt = pair
    assert _p1(src, tgt, p.rotation, p.dictionary) > 95   # the truth is the truth
    v = success.assess(src, tgt, p.rotation, method_name="test")
    ev = v["evidence"]
    assert v["status"] == "succeeded", v
    assert ev["criterion"] > 0.6 and ev["stability"] > 0.9
    # either every random start found the same rotation again, or the wrong ones stay far below
    assert ev["gap"] is None or ev["gap"] > 0.2, ev
    assert not v["advice"] and any("criterion" in r for r in v["reasons"])


@pytest.mark.parametrize("which", ["random", "identity"])
def test_a_mapping_made_to_fail_is_likely_failed(pair, which):
    p, src, tgt = pair
    w = random_rotation(300, np.random.default_rng(7)) if which == "random" else np.eye(300, dtype=np.float32)
    assert _p1(src, tgt, w, p.dictionary) < 1.0
    v = success.assess(src, tgt, w)
    assert v["status"] == "likely failed", v
    assert v["evidence"]["gap"] < -0.1 and v["advice"]
    assert "seed" in " ".join(v["advice"])


def test_the_criterion_is_muses_on_the_frequent_rows(pair):
    _, src, tgt = pair
    w = random_rotation(300, np.random.default_rng(3))
    x, y = src.vectors[:500], tgt.vectors[:500]
    mine = success._score(x, y, w)["criterion"]
    ref, n = unsupervised_criterion(Retriever(x @ w.T, y), max_rank=500)
    assert n == 500 and abs(mine - ref) < 1e-5


def test_games_of_a_muse_history():
    hist = [{"stage": "game 1 adversarial", "criterion": 0.46}, {"stage": "game 1 refinement", "criterion": 0.61},
            {"stage": "game 2 refinement", "criterion": 0.51}, {"stage": "consensus", "criterion": 0.62,
                                                                "games_agreeing": 1, "dict_size": 900},
            {"stage": "polish", "criterion": 0.62}]
    g = success.games_agreement(hist)
    assert g["games"] == 2 and g["criteria"] == [0.61, 0.51] and g["consensus_pairs"] == 900
    assert success.games_agreement([{"stage": "refinement", "criterion": 0.6}]) is None
    assert g["kind"] == "games"
    # the independent-component start's refined candidates count as games
    cand = [{"stage": "ica", "criterion": 0.55}, {"stage": "candidate 1 refinement", "criterion": 0.61},
            {"stage": "candidate 2 refinement", "criterion": 0.60}, {"stage": "candidate 3 refinement", "criterion": 0.49},
            {"stage": "consensus", "criterion": 0.62, "games_agreeing": 2, "dict_size": 3500}]
    g = success.games_agreement(cand)
    assert g["kind"] == "candidates" and g["criteria"] == [0.61, 0.6, 0.49] and g["consensus_games"] == 2


def test_an_unsupervised_run_carries_its_verdict():
    """mini-vec2vec (light) on the known-answer pair: recovered, and the verdict says so in result.json."""
    fr = load_embeddings(SAMPLE / "fr.10k.vec.gz", max_vocab=2000, lowercase=True)
    p = rotated_copy(fr, noise=0.3, overlap=0.9, seed=0)
    light = dict(init="anchors", anchor_runs=4, clusters=12, sample_size=1500, qap_restarts=6, refine1_iterations=5,
                 refine1_sample=400, refine1_k=10, refine2_clusters=30, criterion_every=0)
    r = execute(RunConfig(method="mini-vec2vec", params=light, seeds="none"), p.src, p.tgt, None, p.dictionary,
                per_word=False)
    assert r.evaluation.scores["csls"]["p@1"] > 90
    assert r.verdict["status"] == "succeeded", r.verdict
    assert r.to_json()["verdict"]["status"] == "succeeded"
    assert "worked" in success.describe(r.verdict)


def test_paired_items_verdict_on_the_wordnet_encoders():
    """Two real encoders, the unsupervised split's fitted halves (25,904 items per side): the
    items rule calls a map fitted on 1,000 pairs (top-1 ≈ 86 %) succeeded and the unaligned
    identity (chance) likely failed; a set too small to judge is uncertain and says why."""
    from alignment_core.items import SplitConfig, id_pairs, split_items
    from alignment_core.mapping import procrustes
    from tests.unit.test_items import E5, MINILM

    src_raw = load_embeddings(E5, max_vocab=None, ids=True)
    tgt_raw = load_embeddings(MINILM, max_vocab=None, ids=True)
    split = split_items(id_pairs(src_raw, tgt_raw).index_pairs(src_raw, tgt_raw), SplitConfig(train_pairs=0))
    fs, ft = split.fit_rows()
    src, tgt = src_raw.normalize("renorm,center,renorm", fit_rows=fs), tgt_raw.normalize("renorm,center,renorm", fit_rows=ft)
    p = split.test[np.random.default_rng(0).choice(len(split.test), 1000, replace=False)]
    good = procrustes(src.vectors[p[:, 0]], tgt.vectors[p[:, 1]])   # calibration only: the verdict never sees pairs
    fit_s, fit_t = src.subset(fs), tgt.subset(ft)
    v = success.assess(fit_s, fit_t, good, items=True)
    assert v["status"] == "succeeded", v["reasons"]
    assert v["evidence"]["gap_refined"] >= success.ITEMS_GAP_SUCCESS and v["evidence"]["fitted_rows"] == [25904, 25904]
    v = success.assess(fit_s, fit_t, np.eye(src.dim, dtype=np.float32), items=True)
    assert v["status"] == "likely failed" and v["evidence"]["gap_refined"] <= success.ITEMS_GAP_FAILURE
    assert any("training pairs" in a for a in v["advice"])
    v = success.assess(fit_s.head(3000), fit_t.head(3000), good, items=True)
    assert v["status"] == "uncertain" and "Too few unpaired items" in v["reasons"][0]


def test_words_shuffled_among_rows_are_caught_by_the_identical_strings(pair):
    """French against its own rotation under the same words: the rotation succeeds and the
    identical strings agree; the same vectors with the target's words shuffled among its rows
    (geometry intact, labels wrong: every translation is wrong) were "succeeded" before the
    identical strings voted; now "likely failed"."""
    from alignment_core.embeddings import Embeddings

    p, src, _ = pair
    y = src.vectors @ p.rotation.T
    same = Embeddings(src.words, y)
    v = success.assess(src, same, p.rotation)
    assert v["status"] == "succeeded", v
    ident = v["evidence"]["identical_strings"]
    assert ident["pairs"] == len(src) and ident["share"] > 0.9, ident
    words = list(src.words)
    np.random.default_rng(0).shuffle(words)
    v = success.assess(src, Embeddings(tuple(words), y), p.rotation)
    assert v["evidence"]["identical_strings"]["share"] < 0.02
    assert v["status"] == "likely failed" and any("labels" in r for r in v["reasons"]), v


@pytest.fixture(scope="module")
def en_fr():
    """GloVe 50-d English (20k) and French 300-d (20k) of ../shared/data, the freedict dictionaries."""
    from alignment_core.dictionary import load_dictionary
    from tests.conftest import DICTS, EMB

    src = load_embeddings(EMB / "en.glove.50d.50k.vec.gz", max_vocab=20000, lowercase=True)
    tgt = load_embeddings(EMB / "fr.fasttext.300d.20k.vec.gz", lowercase=True)
    return src, tgt, load_dictionary(DICTS / "en-fr.freedict.train.txt"), load_dictionary(DICTS / "en-fr.freedict.test.txt")


@pytest.mark.parametrize("seeds, status", [("all", "succeeded"), (30, "likely failed")])
def test_dimension_mismatch_is_judged_by_the_identical_strings(en_fr, seeds, status):
    """50-d → 300-d: the criterion gap does not separate (supervised Procrustes on 3,000 pairs
    stands below random starts); the identical strings, which no run here was fitted on, do."""
    src, tgt, train, test = en_fr
    r = execute(RunConfig(method="procrustes", seeds=seeds), src, tgt, train, test, per_word=False)
    p1 = r.evaluation.scores["csls"]["p@1"]
    assert (p1 > 20) if status == "succeeded" else (p1 < 2), p1
    v = success.assess(r.src, r.tgt, r.w)
    ident = v["evidence"]["identical_strings"]
    assert v["status"] == status, v
    assert ident["pairs"] >= 300 and max(ident["null_shares"]) < 0.01, ident
    assert (ident["share"] > 0.2) if status == "succeeded" else (ident["share"] < 0.01), ident
    assert any("different dimensions (50 → 300)" in s for s in v["reasons"])
    if status == "succeeded":   # without the identical strings nothing here can tell: uncertain
        from alignment_core.embeddings import Embeddings

        renamed = Embeddings(tuple(w + "_fr" for w in r.tgt.words), r.tgt.vectors)
        assert success.assess(r.src, renamed, r.w)["status"] == "uncertain"
