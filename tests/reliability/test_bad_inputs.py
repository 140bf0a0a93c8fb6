"""The malformed/hostile corpus (tests/data/bad, made by tests/data/make_bad_corpus.py):
each input gets a clear error naming the file (and the line where there is one) or a
documented, reported repair — through the core and through the CLI (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alignment_core.dictionary import load_dictionary
from alignment_core.embeddings import Embeddings
from alignment_core.errors import AlignScopeError, DictionaryFormatError, EmbeddingFormatError
from alignment_core.io import load_embeddings
from alignment_core.runs import RunConfig, seed_pairs_for

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MANIFEST = json.loads((BAD / "manifest.json").read_text())
ROOT = Path(__file__).resolve().parents[2]


def test_corpus_is_large_enough_and_current():
    assert len(MANIFEST) >= 40
    for case in MANIFEST:
        assert (BAD / case["name"]).exists(), case["name"]


@pytest.mark.parametrize("case", MANIFEST, ids=[c["name"] for c in MANIFEST])
def test_core(case, tmp_path):
    path = BAD / case["name"]
    if case["kind"] == "dictionary":
        if case["expect"] == "error":
            with pytest.raises(DictionaryFormatError) as ei:
                load_dictionary(path)
            _check_message(str(ei.value), case)
        else:  # parses, but no pair is usable: the run says exactly why
            d = load_dictionary(path)
            e = Embeddings(("kissa", "koira"), np.eye(2, 3, dtype=np.float32))
            with pytest.raises(DictionaryFormatError) as ei:
                seed_pairs_for(RunConfig(), e, e, d)
            _check_message(str(ei.value), case)
        return
    if case["expect"] == "error":
        with pytest.raises(EmbeddingFormatError) as ei:
            load_embeddings(path, cache=False)
        _check_message(str(ei.value), case)
    else:
        emb = load_embeddings(path, cache=False)
        for key, value in case["report"].items():
            assert emb.report[key] == value, (key, emb.report)
        assert np.isfinite(emb.vectors).all() and emb.dim == 3


def _check_message(msg: str, case: dict) -> None:
    assert case["name"] in msg, msg
    assert case["fragment"] in msg, msg
    if case.get("line"):
        assert f"line {case['line']}:" in msg, msg
    assert "\n" not in msg


ERRORS = [c for c in MANIFEST if c["expect"] == "error"]


@pytest.mark.parametrize("case", ERRORS, ids=[c["name"] for c in ERRORS])
def test_cli_exit_2_with_one_line(case, tmp_path, capsys, monkeypatch):
    """Through the CLI's entry point (in-process; test_cli.py runs it as a real process too)."""
    from alignment_core.cli import main

    monkeypatch.setenv("ALIGNSCOPE_CACHE", str(tmp_path / "c"))
    sample = ROOT / "sample_data"
    if case["kind"] == "dictionary":
        args = ["--src", str(sample / "fi.10k.vec.gz"), "--tgt", str(sample / "fr.10k.vec.gz"),
                "--seed-dict", str(BAD / case["name"]), "--max-vocab", "500"]
    else:
        args = ["--src", str(BAD / case["name"]), "--tgt", str(sample / "fr.10k.vec.gz"),
                "--seed-dict", str(sample / "fi-fr.train.txt"), "--max-vocab", "500"]
    code = main(["align", *args, "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert case["fragment"] in lines[0]
