"""Widgets for a method's parameters, built from its config dataclass.

Each method's frozen config dataclass lists its parameters and defaults; the form is
generated from it, so a parameter added to a method appears here without a UI change.
``MAIN`` names the parameters shown up front; the rest go in an expander.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from alignment_core.dictionary import INDUCTION_MODES
from alignment_core.methods.muse import PRESETS
from alignment_core.retrieval import RULES

MAIN = {
    "procrustes": ("refinements",),
    "muse": ("preset", "init", "n_epochs", "refinements"),
    "mini-vec2vec": ("init", "clusters", "csls_refinements"),
}
CHOICES = {
    "induction": list(INDUCTION_MODES),
    "refine_mode": list(INDUCTION_MODES),
    "rule": list(RULES),
    "refine_rule": list(RULES),
    "solver": ["orthogonal", "lstsq"],
    "preset": list(PRESETS),
    "seed_mode": ["replace", "augment"],
    "init": ["anchors", "moments", "ica"],
}
#: a choice whose options depend on the method
METHOD_CHOICES = {("muse", "init"): ["adversarial", "ica"]}
HIDDEN = {"seed"}  # the run's seed is set once for every method
DESCRIPTIONS = {
    "procrustes": "Supervised orthogonal Procrustes on the seed dictionary: W = UVᵀ from the SVD of YᵀX "
                  "(Schönemann 1966; Xing et al. 2015), then optional refinement rounds (CSLS-induced "
                  "mutual-NN dictionary + Procrustes; Conneau et al. 2018).",
    "muse": "MUSE (Conneau et al. 2018): an unsupervised start, then Procrustes refinement on CSLS-induced "
            "dictionaries, model selection by the unsupervised criterion. No seed dictionary needed. The "
            "default preset `ica` starts from independent components matched between the two spaces (the "
            "start that works on Finnish–French here, about 4 minutes); the presets `small`, `fast` and "
            "`paper` play the paper's adversarial game (a discriminator against the mapping) instead.",
    "mini-vec2vec": "mini-vec2vec (Dar 2025): pseudo-parallel pairs from matched k-means anchors and relative "
                    "representations, Procrustes, then matching- and clustering-based refinement. "
                    "Unsupervised. Other starts (init): `moments` (third and fourth moments of the top "
                    "principal subspaces) and `ica` (independent components matched as co-occurrence graphs: "
                    "the default between two text encoders with no pair, and — with a consensus of the refined "
                    "candidates — between two word spaces with no seed).",
}


def _widget(name: str, default, key: str, help_text: str | None = None, kind: str = "", method: str = ""):
    label = name.replace("_", " ")
    choices = METHOD_CHOICES.get((method, name), CHOICES.get(name))
    if default is None and ("int" in kind or "float" in kind):
        # None = "from the preset": an empty number field
        v = st.number_input(label, value=None, step=1 if "int" in kind else None, key=key,
                            placeholder="preset", help=help_text)
        return None if v is None else (int(v) if "int" in kind else float(v))
    if choices and default is None:
        # None = "from the preset"
        v = st.selectbox(label, ["preset", *choices], key=key, help=help_text)
        return None if v == "preset" else v
    if choices and isinstance(default, str):
        opts = choices if default in choices else [default, *choices]
        return st.selectbox(label, opts, index=opts.index(default), key=key, help=help_text)
    if isinstance(default, bool):
        return st.checkbox(label, value=default, key=key, help=help_text)
    if isinstance(default, int):
        return int(st.number_input(label, value=default, step=1, key=key, help=help_text))
    if isinstance(default, float):
        return float(st.number_input(label, value=default, format="%.6g", key=key, help=help_text))
    if default is None or isinstance(default, str):
        txt = st.text_input(label, value="" if default is None else default, key=key, help=help_text)
        return None if (default is None and txt == "") else txt
    return default  # tuples and other structures: keep the default


def method_form(method: str, cfg_cls: type, key: str) -> dict:
    """Widgets for ``cfg_cls``'s fields; returns only the values that differ from defaults."""
    fields = [f for f in dataclasses.fields(cfg_cls) if f.name not in HIDDEN]
    kinds = {f.name: str(f.type) for f in fields}
    defaults = {}
    for f in fields:
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            defaults[f.name] = f.default_factory()  # type: ignore[misc]
    main = [n for n in MAIN.get(method, ()) if n in defaults]
    rest = [n for n in defaults if n not in main]
    values = {}
    if main:
        cols = st.columns(len(main))
        for col, n in zip(cols, main):
            with col:
                values[n] = _widget(n, defaults[n], f"{key}_{method}_{n}", kind=kinds[n], method=method)
    if rest:
        with st.expander(f"more {method} parameters"):
            cols = st.columns(3)
            for i, n in enumerate(rest):
                with cols[i % 3]:
                    values[n] = _widget(n, defaults[n], f"{key}_{method}_{n}", kind=kinds[n], method=method)
    return {k: v for k, v in values.items() if v != defaults.get(k)}

