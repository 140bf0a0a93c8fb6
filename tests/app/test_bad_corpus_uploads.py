"""Every malformed input of the corpus (tests/data/bad) uploaded through the app's file
uploader: the core's message (file and problem) is on the page, nothing is raised, and
the previously loaded set or dictionary is still loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import errors, new_app, session

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = [c for c in json.loads((BAD / "manifest.json").read_text())
         if c["expect"] == "error" and not c["name"].endswith(".npy") and "gigabyte" not in c["name"]]


@pytest.fixture(scope="module")
def app():
    return new_app()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_upload_shows_error_and_keeps_previous(app, case):
    at = app
    sd = session(at)
    slot, key = ("seed", "up_seed") if case["kind"] == "dictionary" else ("src", "up_src")
    before = getattr(sd, slot)
    at.file_uploader(key=key).upload(case["name"], (BAD / case["name"]).read_bytes())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    msgs = [m for m in errors(at) if case["name"] in m]
    assert msgs, errors(at)
    assert case["fragment"] in msgs[0]
    assert "is kept" in msgs[0]
    assert getattr(session(at), slot) is before
