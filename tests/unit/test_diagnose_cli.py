"""``alignscope diagnose``: files written, JSON structure, --run defaults, bad input
raising the core's errors (and, through the CLI, exit status 2 with one line)."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from alignment_core.diagnostics.command import add_diagnose_parser, run_diagnose
from alignment_core.errors import AlignScopeError, ConfigError, EmbeddingFormatError
from alignment_core.io import load_embeddings
from alignment_core.mapping import procrustes
from alignment_core.dictionary import load_dictionary

from tests.conftest import SAMPLE

FI, FR = SAMPLE / "fi.10k.vec.gz", SAMPLE / "fr.10k.vec.gz"
TRAIN, TEST = SAMPLE / "fi-fr.train.txt", SAMPLE / "fi-fr.test.txt"
FAST = ["--max-vocab", "4000", "--n-words", "1000", "--quiet"]  # small enough for a unit test


def _args(*argv: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="alignscope")
    add_diagnose_parser(ap.add_subparsers(dest="command"))
    return ap.parse_args(["diagnose", *argv])


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag")
    code = run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--dict", str(TRAIN), "--eval-dict", str(TEST),
                              "--top", "5", "--out", str(out), *FAST))
    return code, out


def test_writes_json_and_csvs(full_run, capsys):
    code, out = full_run
    assert code == 0
    rep = json.loads((out / "diagnostics.json").read_text(encoding="utf-8"))
    for rule in ("nn", "csls", "isf"):
        h = rep["hubness"]["rules"][rule]
        for key in ("skewness", "robin_hood", "gini", "hub_occurrence", "antihub_occurrence", "top_hubs"):
            assert key in h
        assert len(h["top_hubs"]) == 5 and h["n_queries"] == 1000
    iso = rep["isomorphism"]
    for key in ("eigenvector_similarity", "gromov_hausdorff", "relational_similarity", "econd_hm",
                "singular_value_gap", "procrustes_bound"):
        assert iso[key] is not None
    assert iso["n_words"] == {"source": 1000, "target": 1000, "requested": 1000}
    assert rep["verdict"]["unsupervised"] in ("likely", "unlikely", "uncertain")
    assert rep["settings"]["mapping"] == "procrustes on dictionary"
    assert rep["settings"]["normalize"] == "renorm,center,renorm" and rep["settings"]["lowercase"] is True
    assert rep["hubness"]["rules"]["csls"]["skewness"] < rep["hubness"]["rules"]["nn"]["skewness"]
    with open(out / "per_word.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == rep["failure"]["bli"]["n_queries"] > 100
    p1 = 100 * np.mean([r["rank_csls"] == "1" for r in rows])
    assert p1 == pytest.approx(rep["failure"]["bli"]["csls"]["p@1"], abs=0.01)
    assert all(r["reasons"] or r["correct_csls"] == "True" for r in rows)
    with open(out / "dictionary_residuals.csv", encoding="utf-8") as f:
        res = list(csv.DictReader(f))
    assert len(res) == rep["failure"]["dictionary_residuals"]["n_pairs"]
    z = [float(r["robust_z"]) for r in res]
    assert z == sorted(z, reverse=True)


def test_run_dir_mapping_and_config_defaults(tmp_path):
    src = load_embeddings(FI, max_vocab=4000, lowercase=True).normalize("center,renorm")
    tgt = load_embeddings(FR, max_vocab=4000, lowercase=True).normalize("center,renorm")
    pairs = load_dictionary(TRAIN, lowercase=True).index_pairs(src, tgt)
    w = procrustes(src.vectors[pairs[:, 0]], tgt.vectors[pairs[:, 1]])
    run = tmp_path / "run"
    run.mkdir()
    np.save(run / "mapping.npy", w, allow_pickle=False)
    (run / "config.json").write_text(json.dumps({"normalize": "center,renorm", "lowercase": True,
                                                 "max_vocab": 4000, "method": "procrustes"}))
    out = tmp_path / "out"
    assert run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--run", str(run), "--eval-dict", str(TEST),
                              "--n-words", "1000", "--n-hub", "3000", "--quiet", "--out", str(out))) == 0
    rep = json.loads((out / "diagnostics.json").read_text(encoding="utf-8"))
    assert rep["settings"]["mapping"] == "given"
    assert rep["settings"]["n_hub"] == 3000 and rep["hubness"]["rules"]["nn"]["n_targets"] == 3000
    assert rep["settings"]["normalize"] == "center,renorm" and rep["settings"]["max_vocab"] == 4000
    assert rep["settings"]["source"]["rows"] == len(src)  # 4,000 read, lowercase-merged
    # thresholds of the size-dependent measures hold for n = 5,000 only: not judged at 1,000
    assert "eigenvector_similarity" in rep["verdict"]["not_judged"]
    assert "eigenvector_similarity" not in rep["verdict"]["measures"]
    assert rep["isomorphism"]["relational_similarity"] is None  # no --dict: no paired anchors
    assert (out / "per_word.csv").exists() and not (out / "dictionary_residuals.csv").exists()
    assert rep["failure"]["bli"]["csls"]["p@1"] > 30


def test_no_mapping_describes_spaces_before_alignment(tmp_path):
    out = tmp_path / "o"
    assert run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--eval-dict", str(TEST), "--out", str(out),
                              *FAST)) == 0
    rep = json.loads((out / "diagnostics.json").read_text(encoding="utf-8"))
    assert rep["settings"]["mapping"] == "none"
    assert rep["hubness"]["retrieval"].startswith("target → target")
    assert rep["isomorphism"]["procrustes_bound"] is None and rep["isomorphism"]["gromov_hausdorff"] > 0
    assert "needs a mapping" in rep["failure"]["note"]
    assert not (out / "per_word.csv").exists()


def _bad_run(tmp_path, mapping=None, config='{"normalize": "renorm,center,renorm"}'):
    run = tmp_path / "badrun"
    run.mkdir(exist_ok=True)
    if mapping is not None:
        np.save(run / "mapping.npy", mapping, allow_pickle=True)
    (run / "config.json").write_text(config)
    return run


@pytest.mark.parametrize("case", ["shape", "object", "config_list", "config_json", "missing"])
def test_bad_run_folder_raises_config_error(tmp_path, case):
    if case == "shape":
        run = _bad_run(tmp_path, np.zeros((300, 50), np.float32))
    elif case == "object":
        run = _bad_run(tmp_path, np.array([{"a": 1}], dtype=object))
    elif case == "config_list":
        run = _bad_run(tmp_path, np.eye(300, dtype=np.float32), config="[1, 2]")
    elif case == "config_json":
        run = _bad_run(tmp_path, np.eye(300, dtype=np.float32), config="{not json")
    else:
        run = _bad_run(tmp_path, None)
    with pytest.raises(ConfigError) as e:
        run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--run", str(run), "--out", str(tmp_path / "o"),
                           *FAST))
    assert str(run) in str(e.value) and "\n" not in str(e.value)


def test_bad_inputs_raise_core_errors(tmp_path):
    with pytest.raises(EmbeddingFormatError):
        run_diagnose(_args("--src", str(tmp_path / "nope.vec"), "--tgt", str(FR), "--out", str(tmp_path), *FAST))
    with pytest.raises(ConfigError):
        run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--normalize", "whiten", "--out", str(tmp_path)))
    with pytest.raises(ConfigError):
        run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--n-words", "5", "--out", str(tmp_path)))
    with pytest.raises(ConfigError):
        run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--n-hub", "3", "--out", str(tmp_path)))
    bad = tmp_path / "bad.txt"
    bad.write_text("one two three\n")
    with pytest.raises(AlignScopeError) as e:
        run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--dict", str(bad), "--out", str(tmp_path), *FAST))
    assert "line 1" in str(e.value)


def test_cli_exit_status_2_one_line(tmp_path, capsys):
    from alignment_core.cli import main

    run = _bad_run(tmp_path, np.zeros((3, 3), np.float32))
    code = main(["diagnose", "--src", str(FI), "--tgt", str(FR), "--run", str(run), "--out", str(tmp_path / "o"),
                 *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("alignscope: error:") and "mapping.npy" in err[0]


def test_drift_rounds_report_what_self_learning_does_to_the_mapping(tmp_path):
    out = tmp_path / "d"
    assert run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--dict", str(TRAIN), "--eval-dict", str(TEST),
                              "--drift-rounds", "2", "--out", str(out), *FAST)) == 0
    rep = json.loads((out / "diagnostics.json").read_text(encoding="utf-8"))
    drift = rep["self_learning_drift"]
    assert [r["round"] for r in drift["rounds"]] == [1, 2]
    assert all(3000 < n <= 4000 for n in drift["max_rows"])  # every row of --max-vocab 4000 (after lowercasing)
    # the run starts from the dictionary's Procrustes mapping, whose P@1 the failure table reports
    assert drift["p@1_csls_start"] == pytest.approx(rep["failure"]["bli"]["csls"]["p@1"], abs=1e-6)
    assert drift["rounds"][0]["reference_agreement"] is not None and drift["rounds"][0]["dict_size"] > 0
    assert drift["summary"].startswith("Refined 2 rounds without a dictionary")
    assert "self_learning_drift" in rep["timings"]
    # without a mapping it says what is missing; a negative count is refused
    out2 = tmp_path / "n"
    run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--drift-rounds", "1", "--out", str(out2), *FAST))
    assert "needs a mapping" in json.loads((out2 / "diagnostics.json").read_text())["self_learning_drift"]["note"]
    with pytest.raises(ConfigError, match="drift-rounds"):
        run_diagnose(_args("--src", str(FI), "--tgt", str(FR), "--drift-rounds", "-1", "--out", str(out2), *FAST))
