"""One MUSE game in a worker process: ``python -m alignment_core.methods.muse_game DIR R``.

``Muse._parallel_games`` starts one such process per game, so that the games of a run
use both cores (threads would not: the adversarial loop's many small numpy calls hold
the GIL). The parent writes into its private temporary directory DIR:

- ``config.json``: the ``MuseConfig`` (its fields, as JSON);
- ``x.npy``, ``y.npy``: the normalized source and target vectors; ``w0.npy``: the start W;
  ``rows.npy``: how many of the most frequent rows of each side the criterion and the
  refinement use; optionally ``monitor.npy`` (display-only evaluation pairs, already
  restricted to those rows) and ``seeds.npy`` (seed pairs added to every dictionary).

Game R (random stream ``game_rng(seed, R)``) runs the adversarial stage and the refinement
(``Muse._game``). Its standard output carries only JSON lines: one per event
(``{"type": "event", "stage", "step", "total", "metrics", "message", "w"}``, where ``w``
names a ``.npy`` file of the event's W in DIR, or is null), then
``{"type": "result", "criterion", "w"}`` for the game's best W. Anything else the process
prints goes to standard error. No pickle: arrays are ``.npy`` read with
``allow_pickle=False``; the rest is JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the thread that started this process ends (a server killed
    mid-run leaves no game running). Elsewhere, or if the call fails, nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m alignment_core.methods.muse_game DIR GAME", file=sys.stderr)
        return 2
    d, r = Path(argv[0]), int(argv[1])
    _die_with_parent()
    # the protocol gets its own copy of stdout; fd 1 then points at stderr, so a stray print
    # (from here or a library) cannot corrupt it
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from .base import Monitor, _plain
    from .muse import Muse, MuseConfig, game_rng

    cfg = MuseConfig(**json.loads((d / "config.json").read_text()))

    def load(name: str) -> np.ndarray | None:
        f = d / name
        return np.load(f, allow_pickle=False) if f.exists() else None

    x, y, w0 = load("x.npy"), load("y.npy"), load("w0.npy")
    rows_x, rows_y = (int(v) for v in load("rows.npy"))
    monitor = Monitor.from_pairs(load("monitor.npy"))
    seeds = load("seeds.npy")
    game = Muse(cfg)
    t0 = time.perf_counter()
    gen = game._game(x, y, x[:rows_x], y[:rows_y], w0, game_rng(cfg.seed, r), monitor, t0, seeds)
    n = 0
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            crit, w = stop.value
            break
        wfile = None
        if ev.w is not None:
            wfile = f"game{r}_ev{n}.npy"
            np.save(d / wfile, np.asarray(ev.w, dtype=np.float32))
            n += 1
        out.write(json.dumps({"type": "event", "stage": ev.stage, "step": int(ev.step), "total": int(ev.total),
                              "metrics": {k: _plain(v) for k, v in ev.metrics.items()},
                              "message": ev.message, "w": wfile}) + "\n")
    np.save(d / f"game{r}_best.npy", np.asarray(w, dtype=np.float32))
    out.write(json.dumps({"type": "result", "criterion": float(crit), "w": f"game{r}_best.npy"}) + "\n")
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
