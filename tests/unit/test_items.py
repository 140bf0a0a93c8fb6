"""Paired items: the split, the vec2vec metrics, the run pipeline and the CLI on encoder outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alignment_core.embeddings import Embeddings
from alignment_core.errors import ConfigError
from alignment_core.evaluation import evaluate_pairs
from alignment_core.io import load_embeddings, save_npy
from alignment_core.items import SplitConfig, effective_test_size, id_pairs, split_items
from alignment_core.runs import RunConfig, execute, load_run_normalization, save_run
from alignment_core.synthetic import random_rotation
from tests.conftest import SHARED

TEXT = SHARED / "text"
MINILM = TEXT / "wordnet.minilm.npy"
E5 = TEXT / "wordnet.e5.npy"


def _real_items(n: int = 3000) -> Embeddings:
    if not MINILM.exists():
        pytest.fail(f"real data missing: {MINILM}")
    return load_embeddings(MINILM, max_vocab=n, ids=True)


def _rotated(emb: Embeddings, noise: float, seed: int = 0, shuffle_ids: bool = False) -> Embeddings:
    """The same items under a random rotation plus noise, rows in another order."""
    rng = np.random.default_rng(seed)
    r = random_rotation(emb.dim, rng)
    y = emb.vectors @ r.T + noise * rng.standard_normal(emb.vectors.shape).astype(np.float32) / np.sqrt(emb.dim)
    order = rng.permutation(len(emb))
    ids = [emb.words[i] for i in order.tolist()]
    if shuffle_ids:
        ids = [ids[i] for i in rng.permutation(len(ids)).tolist()]
    return Embeddings(tuple(ids), y[order], name="rotated")


# ---------------------------------------------------------------- the split


def test_split_sizes_disjoint_and_seeded():
    pairs = np.stack([np.arange(1000), np.arange(1000)[::-1]], axis=1)
    sp = split_items(pairs, SplitConfig(test_size=100, train_pairs=0, seed=3))
    assert len(sp.test) == 100 and len(sp.train) == 0
    assert len(sp.src_unpaired) == len(sp.tgt_unpaired) == 450
    # the halves hold different items: no source row of one half is paired with a target row of the other
    pair_of = dict(pairs.tolist())
    src_items = set(sp.src_unpaired.tolist())
    tgt_items = {s for s, t in pairs.tolist() if t in set(sp.tgt_unpaired.tolist())}
    assert src_items.isdisjoint(tgt_items)
    assert src_items.isdisjoint(set(sp.test[:, 0].tolist()))
    assert all(pair_of[s] == t for s, t in sp.test.tolist())
    assert sp.setting == "unsupervised"
    again = split_items(pairs, SplitConfig(test_size=100, train_pairs=0, seed=3))
    assert np.array_equal(sp.test, again.test)
    other = split_items(pairs, SplitConfig(test_size=100, train_pairs=0, seed=4))
    assert not np.array_equal(sp.test, other.test)


def test_split_draws_keep_the_test_set_and_file_order_is_the_notebook():
    pairs = np.stack([np.arange(2000), np.arange(2000)], axis=1)
    a = split_items(pairs, SplitConfig(test_size=200, train_pairs=30, draw=1))
    b = split_items(pairs, SplitConfig(test_size=200, train_pairs=30, draw=2))
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.train, b.train)
    assert a.setting == "semi-supervised" and len(a.train) == 30
    f = split_items(pairs, SplitConfig(test_size=200, train_pairs=0, order="file"))
    assert f.test[:, 0].tolist() == list(range(1800, 2000))
    assert f.src_unpaired.tolist() == list(range(0, 900)) and f.tgt_unpaired.tolist() == list(range(900, 1800))
    full = split_items(pairs, SplitConfig(test_size=200))
    assert full.setting == "supervised" and len(full.train) == 1800
    fs, ft = a.fit_rows()
    assert np.array_equal(fs[:30], a.train[:, 0]) and np.array_equal(ft[:30], a.train[:, 1])


def test_test_size_shrinks_for_small_sets():
    assert effective_test_size(60_000) == 8192
    assert effective_test_size(4000) == 1000
    with pytest.raises(ConfigError, match="at least 2"):
        split_items(np.zeros((1, 2), np.int64))


def test_ids_are_never_lowercased_in_a_run():
    with pytest.raises(ConfigError, match="never lowercased"):
        RunConfig(pairs="ids", lowercase=True)
    cfg = RunConfig(method="mini-vec2vec", pairs="ids", lowercase=False)
    assert cfg.split["train_pairs"] == 0 and cfg.split["test_size"] == 8192
    assert RunConfig(pairs="ids", lowercase=False).split["train_pairs"] is None


def test_normalization_means_come_from_the_fitted_rows_only():
    emb = _real_items(1200)
    cfg = RunConfig(pairs="ids", lowercase=False, normalize="center,renorm", split={"test_size": 200})
    r1 = execute(cfg, emb, _rotated(emb, 0.1))
    # change the held-out items' vectors: nothing the method fitted may move
    test_ids = {r1.src.words[i] for i in r1.test_pairs[:, 0].tolist()}
    x = emb.vectors.copy()
    for i, w in enumerate(emb.words):
        if w in test_ids:
            x[i] = 5.0
    r2 = execute(cfg, Embeddings(emb.words, x), _rotated(emb, 0.1))
    assert np.allclose(r1.w, r2.w, atol=1e-5)
    assert np.allclose(r1.src.steps[0].mean, r2.src.steps[0].mean)


# ---------------------------------------------------------------- known answers


def test_rotated_copy_is_recovered_and_shuffled_ids_give_chance():
    emb = _real_items(3000)
    cfg = RunConfig(pairs="ids", lowercase=False, split={"test_size": 500, "seed": 1})
    r = execute(cfg, emb, _rotated(emb, noise=0.05))
    test = r.paired["test"]
    assert test.n_pairs == 500 and test.n_candidates == 500
    assert test.scores["nn"]["top@1"] >= 99.0 and test.scores["nn"]["mean_rank"] <= 1.05
    assert test.mean_cos > 0.95
    assert r.paired["all"].n_candidates == 3000 and r.paired["all"].scores["csls"]["top@1"] >= 98.0
    assert r.evaluation.n_queries == 500 and r.evaluation.scores["nn"]["p@1"] >= 99.0
    bad = execute(cfg, emb, _rotated(emb, noise=0.05, shuffle_ids=True))
    t = bad.paired["test"]
    assert t.scores["nn"]["top@1"] < 3.0
    assert 150 < t.scores["nn"]["mean_rank"] < 350        # chance: about 250 of 500
    assert abs(t.mean_cos) < 0.1


def test_identity_baseline_is_chance_and_ranks_are_exact():
    emb = _real_items(800)
    other = _rotated(emb, 0.0)
    pairs = id_pairs(emb, other).index_pairs(emb, other)
    none = evaluate_pairs(emb, other, None, pairs[:400])
    assert none.scores["nn"]["top@1"] < 3.0
    # exact ranks by brute force on a few queries
    w = np.eye(emb.dim, dtype=np.float32)
    res = evaluate_pairs(emb, other, w, pairs[:50], rules=("nn",))
    xs = emb.vectors[pairs[:50, 0]]
    xs = xs / np.linalg.norm(xs, axis=1, keepdims=True)
    ys = other.vectors[pairs[:50, 1]]
    ys = ys / np.linalg.norm(ys, axis=1, keepdims=True)
    s = xs @ ys.T
    ranks = 1 + (s > np.diag(s)[:, None]).sum(axis=1)
    assert res.scores["nn"]["mean_rank"] == pytest.approx(ranks.mean(), abs=1e-3)
    assert res.scores["nn"]["top@1"] == pytest.approx(100 * np.mean(ranks == 1), abs=1e-3)


# ---------------------------------------------------------------- saved runs and the CLI


def test_saved_run_holds_normalization_and_test_ids(tmp_path):
    emb = _real_items(1000)
    cfg = RunConfig(pairs="ids", lowercase=False, split={"test_size": 100})
    r = execute(cfg, emb, _rotated(emb, 0.1))
    out = save_run(r, tmp_path / "run")
    steps = load_run_normalization(out, "src")
    assert [s.name for s in steps] == ["renorm", "center", "renorm"]
    assert np.array_equal(steps[1].mean, r.src.steps[1].mean)
    ids = (out / "test_ids.txt").read_text().split()
    assert len(ids) == 100 and set(ids) <= set(emb.words)
    res = json.loads((out / "result.json").read_text())
    assert res["split"]["test"] == 100 and res["paired"]["test"]["nn"]["top@1"] > 95


def test_cli_align_and_evaluate_paired_items(tmp_path, capsys):
    from alignment_core.cli import main

    emb = _real_items(1500)
    save_npy(emb, tmp_path / "a.npy")
    save_npy(_rotated(emb, 0.1), tmp_path / "b.npy")
    out = tmp_path / "run"
    rc = main(["align", "--src", str(tmp_path / "a.npy"), "--tgt", str(tmp_path / "b.npy"), "--pairs", "ids",
               "--test-size", "300", "--train-pairs", "200", "--out", str(out), "--quiet"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split"]["train"] == 200 and summary["split"]["test"] == 300
    top1 = summary["paired"]["test"]["nn"]["top@1"]
    assert top1 > 95
    rc = main(["evaluate", "--src", str(tmp_path / "a.npy"), "--tgt", str(tmp_path / "b.npy"), "--run", str(out)])
    assert rc == 0
    again = json.loads(capsys.readouterr().out)
    assert again["paired"]["test"]["nn"]["top@1"] == pytest.approx(top1)
    # the held-out items are never in the fit: a split flag without --pairs is refused
    rc = main(["align", "--src", str(tmp_path / "a.npy"), "--tgt", str(tmp_path / "b.npy"), "--train-pairs", "5",
               "--out", str(tmp_path / "x"), "--quiet"])
    assert rc == 2 and "--pairs ids" in capsys.readouterr().err


def test_cli_refuses_duplicate_ids(tmp_path, capsys):
    from alignment_core.cli import main

    emb = _real_items(50)
    words = list(emb.words)
    words[40] = words[7]
    save_npy(Embeddings(tuple(words), emb.vectors), tmp_path / "a.npy")
    save_npy(emb, tmp_path / "b.npy")
    rc = main(["align", "--src", str(tmp_path / "a.npy"), "--tgt", str(tmp_path / "b.npy"), "--pairs", "ids",
               "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "rows 8 and 41" in err and "a.npy" in err


# ---------------------------------------------------------------- the real WordNet pair


@pytest.mark.slow
def test_procrustes_on_1000_wordnet_pairs_matches_the_reference(tmp_path, capsys):
    """Reference (../shared/data/text/README.md): 1,000 paired texts, MiniLM → e5: top-1 87.2 %."""
    from alignment_core.cli import main

    rc = main(["align", "--src", str(MINILM), "--tgt", str(E5), "--pairs", "ids", "--train-pairs", "1000",
               "--seed", "0", "--out", str(tmp_path / "run"), "--quiet"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    test = s["paired"]["test"]
    assert s["split"]["test"] == 8192 and s["split"]["train"] == 1000
    assert 85.2 <= test["nn"]["top@1"] <= 89.2
    assert 1.5 <= test["nn"]["mean_rank"] <= 3.5
    assert 0.40 <= test["mean_cos"] <= 0.43
    assert s["paired"]["all"]["n_candidates"] == 60000
    assert s["paired"]["all"]["nn"]["top@1"] < test["nn"]["top@1"]   # 60,000 candidates are harder than 8,192


@pytest.mark.slow
def test_pairs_needed_curve_is_monotone_on_wordnet(tmp_path, capsys):
    from alignment_core.cli import main

    rc = main(["curve", "--src", str(MINILM), "--tgt", str(E5), "--ks", "10,100,1000", "--draws", "2",
               "--out", str(tmp_path / "curve"), "--quiet"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    top1 = [r["top1"] for r in summary]
    rank = [r["mean_rank"] for r in summary]
    cos = [r["mean_cos"] for r in summary]
    assert top1 == sorted(top1) and rank == sorted(rank, reverse=True) and cos == sorted(cos)
    assert top1[0] < 2 and 10 < top1[1] < 25 and 84 < top1[2] < 90
    csv = (tmp_path / "curve" / "curve.csv").read_text().splitlines()
    assert csv[0].startswith("variant,k,draw") and len(csv) == 1 + 6


@pytest.mark.parametrize("method,params", [
    # the items default (init = ica, since no init is given), made small
    ("mini-vec2vec", {"ica_components": 16, "ica_starts": 10, "ica_lambdas": [5.0], "ica_candidates": 1,
                      "ica_screen_iterations": 3, "refine1_iterations": 4, "refine2_clusters": 40,
                      "criterion_every": 0, "csls_refinements": 1}),
    ("muse", {"preset": "fast", "n_epochs": 1, "epoch_size": 2000, "refinements": 1}),
])
def test_unsupervised_methods_never_see_the_held_out_items(method, params):
    emb = _real_items(1600)
    other = _rotated(emb, 0.1)
    cfg = RunConfig(method=method, params=params, pairs="ids", lowercase=False, split={"test_size": 400})
    seen: list[np.ndarray] = []
    stages = []

    def on_event(ev):
        stages.append(ev.stage)
        if ev.pairs is not None and len(ev.pairs):
            seen.append(np.asarray(ev.pairs))
    r = execute(cfg, emb, other, on_event=on_event)
    assert r.split["setting"] == "unsupervised" and r.split["train"] == 0 and r.seed_pairs == 0
    assert stages, "no live events"
    if method == "mini-vec2vec":
        assert "ica" in stages and "anchors" not in stages and r.method_config["init"] == "ica"
    test_src, test_tgt = set(r.test_pairs[:, 0].tolist()), set(r.test_pairs[:, 1].tolist())
    half_src = set(np.setdiff1d(np.arange(len(emb)), r.test_pairs[:, 0]).tolist())
    for p in seen + [np.array([[r.src.index[s], r.tgt.index[t]] for s, t in r.induced.pairs]).reshape(-1, 2)]:
        assert test_src.isdisjoint(p[:, 0].tolist()) and test_tgt.isdisjoint(p[:, 1].tolist())
        assert set(p[:, 0].tolist()) <= half_src
    assert r.paired["test"].n_pairs == 400 and r.paired["test"].n_candidates == 400
