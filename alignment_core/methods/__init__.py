"""Alignment methods; every one follows the protocol in ``base``."""

from __future__ import annotations

from .base import Alignment, IterationEvent, Method, Monitor, refine, run_method
from .procrustes import Procrustes, ProcrustesConfig

METHODS: dict[str, tuple[type, type]] = {
    "procrustes": (Procrustes, ProcrustesConfig),
}


def register(name: str, method_cls: type, config_cls: type) -> None:
    METHODS[name] = (method_cls, config_cls)


def make_method(name: str, **params) -> Method:
    """Build a method by name from keyword parameters (unknown keys are an error)."""
    from ..errors import ConfigError

    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    cls, cfg_cls = METHODS[name]
    try:
        cfg = cfg_cls(**params)
    except TypeError as e:
        raise ConfigError(f"{name}: {e}") from None
    return cls(cfg)


__all__ = ["Alignment", "IterationEvent", "Method", "Monitor", "refine", "run_method", "METHODS",
           "make_method", "register", "Procrustes", "ProcrustesConfig"]
