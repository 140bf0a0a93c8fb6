"""Store benchmark: apply a mapping to 2,000,000 × 384 float32 rows in Parquet shards,
locally (one shard at a time in this process) and on a Dask LocalCluster (``local:2``).

    .venv/bin/python bench/bench_apply.py      # prints one JSON line per mode

Writes ``--shards`` shards of synthetic rows with ids (generated and written batch by
batch, so generation is bounded too) into a temporary folder, deleted afterwards, with a
run folder holding a random orthogonal W and renorm, center, renorm steps. Memory:
``peak_rss_mb`` is this process's own peak during the mode (VmHWM, reset before each
mode through /proc/self/clear_refs); ``peak_rss_tree_mb`` the largest sum of the RSS of
this process and all its descendants (the Dask workers and nanny) sampled every 0.1 s;
``worker_peak_rss_mb`` each worker's own peak as it reports it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _common import ROOT  # noqa: F401  (puts the project on sys.path)


def reset_peak() -> None:
    """Reset this process's VmHWM (Linux ≥ 4.0); harmless where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class TreeSampler:
    """Largest RSS sum of this process and its descendants, sampled in a thread."""

    def __init__(self, every: float = 0.1):
        import psutil

        self.proc, self.every, self.peak = psutil.Process(), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def make_store(folder: Path, n_shards: int, rows: int, d: int, batch: int, seed: int) -> float:
    """Shards of standard normal rows with string ids, batch by batch; returns seconds."""
    from alignment_core.io import ParquetShardWriter

    t = time.perf_counter()
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for k in range(n_shards):
        with ParquetShardWriter(folder / f"part-{k:05d}.parquet") as w:
            for a in range(0, rows, batch):
                b = min(batch, rows - a)
                w.write([f"item-{k:05d}-{i:07d}" for i in range(a, a + b)],
                        rng.standard_normal((b, d), dtype=np.float32))
    return time.perf_counter() - t


def make_run(folder: Path, d: int, seed: int) -> Path:
    from alignment_core.runs import RunConfig

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    w = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)
    np.save(folder / "mapping.npy", w, allow_pickle=False)
    (folder / "config.json").write_text(json.dumps(RunConfig().to_dict()))
    mean = (0.05 * rng.standard_normal(d)).astype(np.float32).tolist()
    (folder / "normalization.json").write_text(json.dumps(
        {"src": [{"name": "renorm"}, {"name": "center", "mean": mean}, {"name": "renorm"}], "tgt": []}))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--workers", type=int, default=2, help="Dask LocalCluster workers (local:N)")
    ap.add_argument("--tmp", default=None, help="parent folder of the temporary store (default: the system's)")
    a = ap.parse_args()
    from alignment_core.store import DEFAULT_BATCH_ROWS, _peak_rss_mb, apply_store

    shard_rows = a.rows // a.shards
    tmp = Path(tempfile.mkdtemp(prefix="alignscope-bench-apply-", dir=a.tmp))
    try:
        gen_s = make_store(tmp / "store", a.shards, shard_rows, a.dim, DEFAULT_BATCH_ROWS, seed=0)
        run = make_run(tmp / "run", a.dim, seed=1)
        sizes = sorted({p.stat().st_size for p in (tmp / "store").iterdir()})
        common = {"benchmark": "apply", "rows": shard_rows * a.shards, "shards": a.shards, "dim": a.dim,
                  "shard_rows": shard_rows, "shard_mb": [round(s / 2**20, 1) for s in (sizes[0], sizes[-1])],
                  "store_mb": round(sum(p.stat().st_size for p in (tmp / "store").iterdir()) / 2**20, 1),
                  "generate_s": round(gen_s, 1), "batch_rows": DEFAULT_BATCH_ROWS}
        for mode, address in (("local", None), (f"dask local:{a.workers}", f"local:{a.workers}")):
            out = tmp / "out"
            reset_peak()
            with TreeSampler() as tree:
                s = apply_store(run, [tmp / "store"], out, dask_address=address)
            assert s["rows"] == common["rows"], s
            print(json.dumps({**common, "mode": mode, "seconds": s["seconds"], "rows_per_s": s["rows_per_s"],
                              "startup_s": s.get("startup_seconds"), "peak_rss_mb": _peak_rss_mb(),
                              "peak_rss_tree_mb": round(tree.peak / 2**20, 1),
                              "worker_peak_rss_mb": s.get("worker_peak_rss_mb")}), flush=True)
            shutil.rmtree(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
