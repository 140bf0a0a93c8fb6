"""2-D layouts computed in the background, cached by the content of the points.

One ``LayoutService`` per server (``st.cache_resource``): a worker *process* computes
UMAP layouts (:func:`alignment_core.projection.umap_2d`) and the two-space maps with
their faithfulness numbers (:func:`alignment_core.projection.anchored_map`,
:func:`alignment_core.faithfulness.faithfulness`), via ``projection.serve``, and
the service keeps the results keyed by a BLAKE2b digest of the exact float32 points
and parameters.
A layout is immutable data derived from those points only, so two sessions that
ask for the same points share it without seeing anything of each other.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

MAX_LAYOUTS = 24
ROOT = Path(__file__).resolve().parents[1]


def points_key(x: np.ndarray, *params) -> str:
    x = np.ascontiguousarray(x, dtype=np.float32)
    h = hashlib.blake2b(x.tobytes(), digest_size=16)
    h.update(repr((x.shape, params)).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class MapLayout:
    """A two-space map from the worker: coordinates (source rows first), which source rows
    are anchored beside a target, each source row's nearest target row and its cosine, the
    faithfulness numbers (a dict of
    :class:`alignment_core.faithfulness.Faithfulness` fields, or None), and timings."""

    coords: np.ndarray
    anchored: np.ndarray
    nearest: np.ndarray
    nearest_cos: np.ndarray
    faithfulness: dict | None
    layout_seconds: float
    seconds: float


class LayoutWorker:
    """A long-lived ``python -m alignment_core.projection serve`` process.

    UMAP runs there, not in a thread of the web server: numba code holds the GIL and
    would freeze every page. Requests are serialized by a lock; arrays go through .npy
    files in a private temporary folder. A dead worker is restarted on the next request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="alignscope-layouts-")
        self._n = 0
        self.warm_seconds: float | None = None

    def _ensure(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
            self._proc = subprocess.Popen([sys.executable, "-m", "alignment_core.projection", "serve"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                                          text=True, bufsize=1, cwd=str(ROOT), env=env)
        return self._proc

    def _ask(self, req: dict) -> dict:
        with self._lock:
            proc = self._ensure()
            try:
                proc.stdin.write(json.dumps(req) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (BrokenPipeError, OSError) as e:
                self._proc = None
                raise RuntimeError(f"the layout worker stopped ({e})") from None
            if not line:
                self._proc = None
                raise RuntimeError("the layout worker stopped unexpectedly")
            reply = json.loads(line)
            if not reply.get("ok"):
                raise RuntimeError(reply.get("error", "layout failed"))
            return reply

    def warm(self) -> float:
        self.warm_seconds = float(self._ask({"cmd": "warm"})["seconds"])
        return self.warm_seconds

    def umap(self, x: np.ndarray, **kw) -> np.ndarray:
        with self._lock:
            self._n += 1
            n = self._n
        src = Path(self._dir.name) / f"in{n}.npy"
        out = Path(self._dir.name) / f"out{n}.npy"
        np.save(src, np.ascontiguousarray(x, dtype=np.float32), allow_pickle=False)
        try:
            self._ask({"cmd": "umap", "in": str(src), "out": str(out), **kw})
            y = np.load(out, allow_pickle=False)
        finally:
            for p in (src, out):
                p.unlink(missing_ok=True)
        y.setflags(write=False)
        return y

    def map(self, src: np.ndarray, tgt: np.ndarray, gold_pairs: np.ndarray | None = None,
            layout: str = "anchored", **kw) -> "MapLayout":
        """A two-space map (:func:`alignment_core.projection.map_layout`) and, when
        ``gold_pairs`` (int m × 2: source row, target row) are given, its faithfulness
        numbers (:func:`alignment_core.faithfulness.faithfulness`), both in the worker."""
        with self._lock:
            self._n += 1
            n = self._n
        d = Path(self._dir.name)
        files = {name: d / f"{name}{n}.npy" for name in ("src", "tgt", "out", "anchored", "nearest",
                                                         "nearest_cos", "gold")}
        np.save(files["src"], np.ascontiguousarray(src, dtype=np.float32), allow_pickle=False)
        np.save(files["tgt"], np.ascontiguousarray(tgt, dtype=np.float32), allow_pickle=False)
        req = {"cmd": "map", "layout": layout, **{k: str(files[k]) for k in ("src", "tgt", "out", "anchored", "nearest",
                                                                          "nearest_cos")}, **kw}
        if gold_pairs is not None and len(gold_pairs):
            np.save(files["gold"], np.asarray(gold_pairs, dtype=np.int64).reshape(-1, 2), allow_pickle=False)
            req["gold"] = str(files["gold"])
        try:
            reply = self._ask(req)
            y = np.load(files["out"], allow_pickle=False)
            anchored = np.load(files["anchored"], allow_pickle=False)
            nearest = np.load(files["nearest"], allow_pickle=False)
            nearest_cos = np.load(files["nearest_cos"], allow_pickle=False)
        finally:
            for p in files.values():
                p.unlink(missing_ok=True)
        for a in (y, anchored, nearest, nearest_cos):
            a.setflags(write=False)
        return MapLayout(y, anchored, nearest, nearest_cos, reply.get("faithfulness"),
                         float(reply.get("layout_seconds", 0.0)), float(reply.get("seconds", 0.0)))

    def agreement(self, mapped: np.ndarray, tgt: np.ndarray, src: np.ndarray | None = None, k: int = 10):
        """:func:`alignment_core.agreement.neighbourhood_agreement` of the drawn points, in the
        worker (the map's k-NN search: approximate beyond 20,000 rows a side)."""
        from alignment_core.agreement import load_agreement

        with self._lock:
            self._n += 1
            n = self._n
        d = Path(self._dir.name)
        files = {name: d / f"ag_{name}{n}.npy" for name in ("mapped", "tgt", "src")}
        files["out"] = d / f"ag_out{n}.npz"
        np.save(files["mapped"], np.ascontiguousarray(mapped, dtype=np.float32), allow_pickle=False)
        np.save(files["tgt"], np.ascontiguousarray(tgt, dtype=np.float32), allow_pickle=False)
        req = {"cmd": "agreement", "mapped": str(files["mapped"]), "tgt": str(files["tgt"]), "k": int(k),
               "out": str(files["out"])}
        if src is not None:
            np.save(files["src"], np.ascontiguousarray(src, dtype=np.float32), allow_pickle=False)
            req["src"] = str(files["src"])
        try:
            self._ask(req)
            return load_agreement(files["out"])
        finally:
            for p in files.values():
                p.unlink(missing_ok=True)

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._dir.cleanup()


class LayoutService:
    """Layouts by content key: futures computed one at a time by the worker process."""

    def __init__(self, warm: bool = True) -> None:
        self.worker = LayoutWorker()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alignscope-layout")
        self._lock = threading.Lock()
        self._futures: "OrderedDict[str, Future]" = OrderedDict()
        self.warmed: Future | None = self._pool.submit(self.worker.warm) if warm else None

    def umap(self, x: np.ndarray, key: str, **kw) -> Future:
        """The future layout of ``x`` (started if new). ``key`` from :func:`points_key`."""
        return self._submit(key, self.worker.umap, lambda: (np.array(x, dtype=np.float32, copy=True),), **kw)

    def _submit(self, key: str, fn, args, **kw) -> Future:
        """The future of ``fn(*args(), **kw)`` in the worker under ``key``: the cached one
        unless it failed, else a new one (``args`` is called only then: the copies of the
        points are made once; the oldest future is dropped beyond ``MAX_LAYOUTS``)."""
        with self._lock:
            fut = self._futures.get(key)
            if fut is not None and not (fut.done() and fut.exception() is not None):
                self._futures.move_to_end(key)
                return fut
            fut = self._pool.submit(fn, *args(), **kw)
            self._futures[key] = fut
            while len(self._futures) > MAX_LAYOUTS:
                self._futures.popitem(last=False)
            return fut

    def map(self, src: np.ndarray, tgt: np.ndarray, key: str, gold_pairs: np.ndarray | None = None,
            **kw) -> Future:
        """The future :class:`MapLayout` of ``src`` + ``tgt`` (started if new). ``key`` from
        :func:`points_key` over the stacked points, the gold pairs and the parameters."""
        return self._submit(key, self.worker.map, lambda: (
            np.array(src, dtype=np.float32, copy=True), np.array(tgt, dtype=np.float32, copy=True),
            None if gold_pairs is None else np.array(gold_pairs, dtype=np.int64, copy=True)), **kw)

    def agreement(self, mapped: np.ndarray, tgt: np.ndarray, src: np.ndarray | None, key: str,
                  k: int = 10) -> Future:
        """The future neighbourhood agreement of the drawn points (started if new), computed in
        the layout worker; ``key`` a content key of the points."""
        return self._submit("agreement:" + key, self.worker.agreement, lambda: tuple(
            None if a is None else np.array(a, dtype=np.float32, copy=True) for a in (mapped, tgt, src)), k=k)

def map_key(src: np.ndarray, tgt: np.ndarray, gold_pairs: np.ndarray | None, *params) -> str:
    """Content key of a two-space map: the points, the gold pairs and the parameters."""
    x = np.vstack([np.asarray(src, np.float32), np.asarray(tgt, np.float32)])
    g = b"" if gold_pairs is None else np.ascontiguousarray(gold_pairs, dtype=np.int64).tobytes()
    return points_key(x, len(src), hashlib.blake2b(g, digest_size=8).hexdigest(), *params)


@st.cache_resource(show_spinner=False)
def service() -> LayoutService:
    """One per server; created (and its worker warmed) when the app starts."""
    return LayoutService(warm=True)


def start_warmup() -> LayoutService:
    """Start the layout worker and compile UMAP in it, once per server process."""
    return service()


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
