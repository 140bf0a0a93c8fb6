"""Alignment methods; every one follows the protocol in ``base``.

``METHODS`` maps a method's name to ``(module, method class, config class)``,
imported on first use so that a method's heavy imports are paid only when used.
"""

from __future__ import annotations

import dataclasses
import importlib

from .base import Alignment, IterationEvent, Method, Monitor, refine, run_method

METHODS: dict[str, tuple[str, str, str]] = {
    "procrustes": ("alignment_core.methods.procrustes", "Procrustes", "ProcrustesConfig"),
    "muse": ("alignment_core.methods.muse", "Muse", "MuseConfig"),
    "mini-vec2vec": ("alignment_core.methods.mini_vec2vec", "MiniVec2Vec", "MiniVec2VecConfig"),
}


def method_classes(name: str) -> tuple[type, type]:
    """(method class, config class) for a method name."""
    from ..errors import ConfigError

    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    mod, cls, cfg = METHODS[name]
    module = importlib.import_module(mod)
    return getattr(module, cls), getattr(module, cfg)


def make_config(name: str, **params):
    """The method's frozen config from keyword parameters; unknown keys are an error."""
    from ..errors import ConfigError

    _, cfg_cls = method_classes(name)
    known = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"{name}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return cfg_cls(**params)


def make_method(name: str, **params) -> Method:
    cls, _ = method_classes(name)
    return cls(make_config(name, **params))


__all__ = ["Alignment", "IterationEvent", "Method", "Monitor", "refine", "run_method", "METHODS",
           "method_classes", "make_config", "make_method"]
