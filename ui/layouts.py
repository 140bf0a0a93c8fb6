"""2-D layouts computed in the background, cached by the content of the points.

One ``LayoutService`` per server (``st.cache_resource``): a single worker thread
computes UMAP layouts (:func:`alignment_core.projection.umap_2d`) and keeps the
results keyed by a BLAKE2b digest of the exact float32 points and parameters.
A layout is immutable data derived from those points only, so two sessions that
ask for the same points share it without seeing anything of each other.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import streamlit as st

from alignment_core import projection

MAX_LAYOUTS = 24


def points_key(x: np.ndarray, *params) -> str:
    x = np.ascontiguousarray(x, dtype=np.float32)
    h = hashlib.blake2b(x.tobytes(), digest_size=16)
    h.update(repr((x.shape, params)).encode())
    return h.hexdigest()


class LayoutService:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alignscope-umap")
        self._lock = threading.Lock()
        self._futures: "OrderedDict[str, Future]" = OrderedDict()

    def umap(self, x: np.ndarray, key: str, **kw) -> Future:
        """The future layout of ``x`` (started if new). ``key`` from :func:`points_key`."""
        with self._lock:
            fut = self._futures.get(key)
            if fut is not None and not (fut.done() and fut.exception() is not None):
                self._futures.move_to_end(key)
                return fut
            x = np.array(x, dtype=np.float32, copy=True)
            fut = self._pool.submit(projection.umap_2d, x, **kw)
            self._futures[key] = fut
            while len(self._futures) > MAX_LAYOUTS:
                self._futures.popitem(last=False)
            return fut


@st.cache_resource(show_spinner=False)
def service() -> LayoutService:
    return LayoutService()


@st.cache_resource(show_spinner=False)
def start_warmup() -> threading.Event:
    """Compile UMAP in a daemon thread once per server process."""
    return projection.warm_umap(block=False)


def diagnostics_available() -> bool:
    """True when ``alignment_core.diagnostics.report`` (``diagnose``) is importable."""
    try:
        if importlib.util.find_spec("alignment_core.diagnostics.report") is None:
            return False
        from alignment_core.diagnostics.report import diagnose  # noqa: F401
    except Exception:
        return False
    return True


def available_methods() -> dict[str, str]:
    """Registered methods whose module imports: name → '' (or the reason it does not)."""
    from alignment_core.methods import METHODS, method_classes

    out = {}
    for name in METHODS:
        try:
            method_classes(name)
            out[name] = ""
        except Exception as e:  # a module not written yet, or broken: not offered
            out[name] = f"{e.__class__.__name__}: {e}"
    return out
