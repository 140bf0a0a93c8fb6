"""Per-session state: what is loaded, the runs, the running job.

Everything a user loads or computes lives in ``st.session_state`` (one object per
browser session), so two sessions never see each other's data. Only immutable
parsed files are shared across sessions, through ``ui.loaders`` (keyed by content hash).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from alignment_core.dictionary import Dictionary
from alignment_core.embeddings import Embeddings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_data"
SAMPLE = {
    "src": SAMPLE_DIR / "fi.10k.vec.gz",
    "tgt": SAMPLE_DIR / "fr.10k.vec.gz",
    "seed": SAMPLE_DIR / "fi-fr.train.txt",
    "eval": SAMPLE_DIR / "fi-fr.test.txt",
}
#: the encoder sample: two text encoders' embeddings of the same 8,000 WordNet items
SAMPLE_ITEMS = {
    "src": SAMPLE_DIR / "wordnet.minilm.8k.npy",
    "tgt": SAMPLE_DIR / "wordnet.e5.8k.npy",
    "texts": SAMPLE_DIR / "wordnet.8k.texts.tsv",
}
KINDS = ("words", "items")
#: longest label shown for an item's text (tables, the map's hover)
LABEL_CHARS = 90
_KEY = "alignscope"


@dataclass
class LoadedSet:
    """One loaded embedding file. ``data`` is kept (bytes of an upload, or None for a
    file on disk at ``path``) so a change of options can re-parse it."""

    name: str
    digest: str
    emb: Embeddings
    origin: str                      # "sample" | "upload"
    path: str | None = None
    data: bytes | None = None
    vocab_data: bytes | None = None


@dataclass
class LoadedDict:
    name: str
    digest: str
    dictionary: Dictionary
    origin: str


@dataclass
class RunRecord:
    """A finished (or cancelled) run, kept in the session."""

    rid: int
    name: str
    result: Any                      # alignment_core.runs.RunResult
    baseline: Any = None             # BLIResult of "no alignment", or None (dims differ / no eval dict)
    baseline_note: str = ""
    frames: list = field(default_factory=list)
    frame_words: list = field(default_factory=list)
    cache: dict = field(default_factory=dict)   # per-run derived objects (Retriever, tables)

    def headline(self) -> dict:
        ev = self.result.evaluation
        out = {"run": self.name, "method": self.result.config.method}
        if ev is not None:
            for rule in ("nn", "csls", "isf"):
                out[f"P@1 {rule}"] = ev.scores[rule]["p@1"]
        return out


@dataclass
class SessionData:
    src: LoadedSet | None = None
    tgt: LoadedSet | None = None
    seed: LoadedDict | None = None
    eval: LoadedDict | None = None
    max_vocab: int = 200_000
    lowercase: bool = True
    normalize: str = "renorm,center,renorm"
    runs: dict[int, RunRecord] = field(default_factory=dict)
    selected: int | None = None
    job: Any = None                  # ui.jobs.AlignJob or None
    messages: list = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    sample_tried: bool = False
    kind: str = "words"              # "words" (two languages) | "items" (two encoders, paired by id)
    texts: dict | None = None        # items: id → text (labels), or None
    texts_name: str = ""
    truth: Any = None                # the synthetic teaching pair's true rotation R (np.ndarray), or None

    @property
    def items(self) -> bool:
        return self.kind == "items"

    def label(self, ident: str, short: bool = True) -> str:
        """What to show for a row: the item's text (shortened) when texts are loaded, else the id."""
        if not self.texts:
            return ident
        t = self.texts.get(ident)
        if t is None:
            return ident
        return t if not short or len(t) <= LABEL_CHARS else t[:LABEL_CHARS - 1] + "…"

    def next_id(self) -> int:
        return next(self._ids)

    def selected_run(self) -> RunRecord | None:
        if self.selected in self.runs:
            return self.runs[self.selected]
        if self.runs:
            return self.runs[max(self.runs)]
        return None

    def last_run(self) -> RunRecord | None:
        return self.runs[max(self.runs)] if self.runs else None

    def ready(self) -> bool:
        return self.src is not None and self.tgt is not None


def get() -> SessionData:
    """This session's data (created on first access)."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = SessionData()
    return st.session_state[_KEY]
