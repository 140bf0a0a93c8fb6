"""Shared fixtures: paths to the real data in ../shared/data and cached loaders."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ALIGNSCOPE_SHARED_DATA", ROOT.parent / "shared" / "data"))
EMB = SHARED / "embeddings"
DICTS = SHARED / "dictionaries"
SAMPLE = ROOT / "sample_data"

FI = EMB / "fi.floret.300d.50k.vec.gz"
FR = EMB / "fr.fasttext.300d.20k.vec.gz"
EN = EMB / "en.glove.50d.50k.vec.gz"


def pytest_configure(config):
    # the parsed-array cache lives in the test session's own folder unless set
    os.environ.setdefault("ALIGNSCOPE_CACHE", str(ROOT / ".cache" / "test-embeddings"))


@lru_cache(maxsize=None)
def load_real(name: str, lowercase: bool = True, normalize: str = "renorm,center,renorm"):
    """Real embeddings from ../shared/data, lowercased and normalized (cached per session)."""
    from alignment_core.io import load_embeddings

    path = {"fi": FI, "fr": FR, "en": EN}[name]
    if not path.exists():
        pytest.fail(f"real data missing: {path} (../shared/data must sit beside the project)")
    return load_embeddings(path, lowercase=lowercase).normalize(normalize)


@lru_cache(maxsize=None)
def load_dict(rel: str, lowercase: bool = True):
    from alignment_core.dictionary import load_dictionary

    return load_dictionary(DICTS / rel, lowercase=lowercase)


@pytest.fixture(scope="session")
def fi_fr():
    """(fi, fr) real embeddings, lowercased, renorm,center,renorm."""
    return load_real("fi"), load_real("fr")
