"""The command line end to end on the bundled sample, and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from alignment_core.cli import main
from alignment_core.io import load_embeddings
from tests.conftest import SAMPLE

FI, FR = SAMPLE / "fi.10k.vec.gz", SAMPLE / "fr.10k.vec.gz"
TRAIN, TEST = SAMPLE / "fi-fr.train.txt", SAMPLE / "fi-fr.test.txt"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["align", "--src", str(FI), "--tgt", str(FR), "--method", "procrustes",
                 "--seed-dict", str(TRAIN), "--eval-dict", str(TEST), "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_align_writes_the_run_folder(run_dir):
    for name in ("result.json", "config.json", "mapping.npy", "induced_dictionary.txt"):
        assert (run_dir / name).exists(), name
    res = json.loads((run_dir / "result.json").read_text())
    assert res["method"] == "procrustes"
    assert res["vocab"]["dim_src"] == res["vocab"]["dim_tgt"] == 300
    assert set(res["timings"]) >= {"load_s", "align_s", "evaluate_s", "total_s"}
    ev = res["evaluation"]
    assert ev["n_queries"] == 500
    # the sample's supervised levels (sample_data/README.md): about 57 NN, 62 CSLS
    assert 53 <= ev["nn"]["p@1"] <= 61 and 58 <= ev["csls"]["p@1"] <= 66
    assert ev["isf"]["p@10"] >= ev["isf"]["p@5"] >= ev["isf"]["p@1"] > 45
    assert len(res["history"]) == 1 and res["history"][0]["stage"] == "procrustes"
    w = np.load(run_dir / "mapping.npy", allow_pickle=False)
    assert w.shape == (300, 300)
    np.testing.assert_allclose(w @ w.T, np.eye(300), atol=1e-4)
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["method"] == "procrustes" and cfg["normalize"] == "renorm,center,renorm"
    first = (run_dir / "induced_dictionary.txt").read_text().splitlines()[0].split(" ")
    assert len(first) == 2


def test_evaluate_reproduces_the_run(run_dir, capsys):
    code = main(["evaluate", "--src", str(FI), "--tgt", str(FR), "--run", str(run_dir),
                 "--eval-dict", str(TEST), "--per-word", str(run_dir / "pw.csv")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    res = json.loads((run_dir / "result.json").read_text())
    assert out["evaluation"]["csls"] == res["evaluation"]["csls"]
    assert len((run_dir / "pw.csv").read_text().splitlines()) == 501


def test_export_aligned_vectors(run_dir, tmp_path):
    out = tmp_path / "aligned.vec"
    assert main(["export", "--src", str(FI), "--run", str(run_dir), "--out", str(out)]) == 0
    e = load_embeddings(out, cache=False)
    assert len(e) == 8940 and e.dim == 300  # lowercased sample rows
    w = np.load(run_dir / "mapping.npy")
    src = load_embeddings(FI, lowercase=True).normalize()
    np.testing.assert_allclose(e.vectors[:50], src.vectors[:50] @ w.T, atol=1e-5)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "alignment_core.cli", *args], capture_output=True, text=True)


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.vec"
    bad.write_text("2 3\nkissa 1 2 3\nkoira 1 x 3\n")
    p = _cli("align", "--src", str(bad), "--tgt", str(FR), "--seed-dict", str(TRAIN), "--out", str(tmp_path / "o"))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    assert "bad.vec, line 3" in lines[0] and "'x' is not a number" in lines[0]


def test_missing_seed_dictionary_for_procrustes(tmp_path):
    p = _cli("align", "--src", str(FI), "--tgt", str(FR), "--out", str(tmp_path / "o"), "--max-vocab", "2000")
    assert p.returncode == 2 and "needs a seed dictionary" in p.stderr and "Traceback" not in p.stderr


def test_identical_strings_seed_for_shared_ids(tmp_path):
    """Two encoders' embeddings of the same items: identical ids are the dictionary."""
    from alignment_core.io import save_word2vec
    from alignment_core.synthetic import make_space, rotated_copy

    space = make_space(1500, 24, decay=0.3, seed=3)
    pair = rotated_copy(space, noise=0.01, overlap=0.9, seed=4)
    save_word2vec(pair.src, tmp_path / "a.vec")
    save_word2vec(pair.tgt, tmp_path / "b.vec")
    out = tmp_path / "run"
    assert main(["align", "--src", str(tmp_path / "a.vec"), "--tgt", str(tmp_path / "b.vec"),
                 "--seeds", "identical", "--no-lowercase", "--out", str(out), "--quiet"]) == 0
    w = np.load(out / "mapping.npy")
    assert np.linalg.norm(w - pair.rotation) / np.linalg.norm(pair.rotation) < 0.01
