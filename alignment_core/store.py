"""Apply a saved mapping to a large store of embeddings, shard by shard.

The "model upgrade" use case (Procrustes post-processing for model upgrades, Maystre
et al. 2025): a store holds the old model's embeddings of many items in shards; a run
(``alignscope align`` on a sample of items embedded by both models) learned W. Every
raw row x of every shard becomes

    y = renorm( steps(x) · Wᵀ )

where ``steps`` are the run's source-side normalization steps replayed with their fitted
means (``normalization.json`` of the run folder; see :class:`~.embeddings.NormStep`), W
is ``mapping.npy`` (d_tgt × d_src), and the final ``renorm`` (on by default: retrieval
is cosine) can be turned off.

Shards are ``.npy`` + ``.vocab.txt`` (ids, one per line) or Parquet (an id column and a
list / fixed-size list vector column). Each is read batch by batch and written batch by
batch in the same format with its ids in order (Parquet: the same id and vector column
names, the vector as fixed-size list<float32>), under the same file name in the output
folder, so memory follows a batch, never a shard or the store. One function does a
shard (:func:`map_shard`); :func:`apply_store` runs it over the shards one after the
other, or hands the very same function to a Dask cluster (``client.map``: Dask schedules,
nothing here does). Task arguments are plain arrays, lists and strings; Dask moves them
with its own serialization (so use a cluster you trust, as with any Dask cluster).

    alignscope apply --run DIR --in FILES... --out DIR [--dask ADDRESS] [--no-renorm]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .embeddings import NORMALIZATION_STEPS, NormStep, renorm as _renorm
from .errors import AlignScopeError, ConfigError, EmbeddingFormatError, InputFormatError
from .io import (
    NpyShardWriter,
    ParquetShardWriter,
    PARQUET_EXTS,
    iter_npy_batches,
    iter_parquet_batches,
    npy_shape,
    open_parquet_embeddings,
    read_vocab,
)

#: rows read, mapped and written at a time. pyarrow's list reader holds about 4× a
#: batch's values while decoding: 8,192 × 384 floats keep a shard's reader near 50 MB.
DEFAULT_BATCH_ROWS = 8_192
SHARD_EXTS = (".npy",) + PARQUET_EXTS
_NPY_MAGIC = b"\x93NUMPY"
_PARQUET_MAGIC = b"PAR1"

Progress = Callable[[int, int, dict], None]


class StoreError(AlignScopeError):
    """Applying a mapping to a store failed for a reason other than a malformed shard
    (a Dask worker died, the cluster cannot be reached)."""


# --------------------------------------------------------------------------- the run


def load_mapping(run_dir: str | os.PathLike, side: str = "src") -> tuple[np.ndarray, tuple[NormStep, ...]]:
    """(W as float32 C-contiguous, d_tgt × d_src; the side's normalization steps) of a run
    folder, checked: finite W, every centering mean of W's source dimension."""
    from .runs import load_run, load_run_normalization

    d = Path(run_dir)
    if not d.is_dir():
        raise ConfigError(f"--run {d}: not a folder (expected the output of 'alignscope align')")
    _, w = load_run(d)
    if not np.isfinite(w).all():
        raise ConfigError(f"{d / 'mapping.npy'}: the mapping must hold finite numbers")
    steps = load_run_normalization(d, side)
    for i, s in enumerate(steps, start=1):
        if s.mean is not None and s.mean.shape != (w.shape[1],):
            raise ConfigError(f"{d / 'normalization.json'}: {side} step {i} has a {s.mean.size}-d mean, but "
                              f"mapping.npy {w.shape} maps {w.shape[1]}-d vectors")
    return np.ascontiguousarray(w, dtype=np.float32), steps


# --------------------------------------------------------------------------- one shard


def map_rows(x: np.ndarray, w: np.ndarray, steps: Sequence[NormStep], renorm: bool = True) -> np.ndarray:
    """The kernel: ``renorm(steps(x) · Wᵀ)`` (renorm optional) as float32 C-contiguous.
    Row by row independent, so a batch gives the rows the whole matrix would. The product
    runs on one BLAS thread: a multithreaded OpenBLAS splits the work by the thread count,
    and the last bits of a row then differ between this process and a Dask worker (one
    thread each), which broke the byte-identical shards on one machine."""
    from .mapping import one_blas_thread

    for s in steps:
        x = s.apply(x)
    with one_blas_thread():
        y = np.asarray(x, dtype=np.float32) @ w.T
    return _renorm(y) if renorm else np.ascontiguousarray(y, dtype=np.float32)


def _as_steps(steps: Iterable) -> tuple[NormStep, ...]:
    """NormSteps from NormSteps or plain ``(name, mean or None)`` pairs (what a Dask task gets)."""
    out = []
    for s in steps:
        if isinstance(s, NormStep):
            out.append(s)
        else:
            name, mean = s
            if name not in NORMALIZATION_STEPS:
                raise ConfigError(f"unknown normalization step {name!r}")
            out.append(NormStep(name, None if mean is None else np.asarray(mean, dtype=np.float32)))
    return tuple(out)


def shard_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``"npy"`` or ``"parquet"``: ``fmt`` if given, else the magic bytes, else the name."""
    path = Path(path)
    if fmt is not None:
        if fmt not in ("npy", "parquet"):
            raise ConfigError(f"shard format must be npy or parquet, got {fmt!r}")
        return fmt
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except FileNotFoundError:
        raise EmbeddingFormatError(str(path), None, "file not found") from None
    except IsADirectoryError:
        raise EmbeddingFormatError(str(path), None, "is a folder, expected a shard") from None
    if head == _NPY_MAGIC:
        return "npy"
    if head[:4] == _PARQUET_MAGIC:
        return "parquet"
    ext = path.suffix.lower()
    if ext in PARQUET_EXTS:
        return "parquet"
    if ext == ".npy":
        return "npy"
    raise EmbeddingFormatError(str(path), None, "not a store shard: expected a .npy (with its .vocab.txt) or a "
                                                "Parquet file with an id and a vector column")


def _vocab_for(path: Path) -> Path:
    """``name.vocab.txt`` beside ``name.npy``: the ids of a ``.npy`` shard."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + ".vocab.txt")


def _check_dim(shown: str, d: int, w: np.ndarray) -> None:
    if d != w.shape[1]:
        raise EmbeddingFormatError(shown, None, f"vectors are {d}-d, but the mapping (mapping.npy, "
                                                f"{w.shape[0]} × {w.shape[1]}) maps {w.shape[1]}-d vectors")


def map_shard(in_path: str | os.PathLike, out_path: str | os.PathLike, w: np.ndarray, steps: Sequence,
              fmt: str | None = None, renorm: bool = True, batch_rows: int = DEFAULT_BATCH_ROWS,
              id_column: str | None = None, vector_column: str | None = None) -> dict:
    """Map every row of one shard and write it to ``out_path`` in the same format, ids kept
    in order: ``.npy`` + ``.vocab.txt`` → ``.npy`` + ``.vocab.txt``; Parquet → Parquet with
    the same id column (type and values as stored) and vector column name, the vectors as
    fixed-size list<float32>. Reads, maps (:func:`map_rows`) and writes ``batch_rows`` rows
    at a time; the output appears only once complete. ``steps``: NormSteps or plain
    ``(name, mean)`` pairs. Ids must be unique (ids mode), vectors finite and of W's source
    dimension: errors name the file, the row and the id. Returns ``{"file", "out",
    "format", "rows", "seconds"}``."""
    t0 = time.perf_counter()
    in_path, out_path = Path(in_path), Path(out_path)
    shown = str(in_path)
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be at least 1, got {batch_rows}")
    w = np.ascontiguousarray(w, dtype=np.float32)
    steps = _as_steps(steps)
    fmt = shard_format(in_path, fmt)
    rows = 0
    if fmt == "npy":
        (n, d), _, _, _ = npy_shape(in_path)
        _check_dim(shown, d, w)
        ids = read_vocab(_vocab_for(in_path))
        with NpyShardWriter(out_path, n, w.shape[0]) as out:
            for batch_ids, x, _ in iter_npy_batches(in_path, ids, batch_rows):
                out.write(batch_ids, map_rows(x, w, steps, renorm))
                rows += len(batch_ids)
    else:
        pf, ident, vec, dim = open_parquet_embeddings(in_path, shown, id_column, vector_column)
        if dim is not None:
            _check_dim(shown, dim, w)
        with ParquetShardWriter(out_path, ident, vec) as out:
            for id_arr, batch_ids, x, _ in iter_parquet_batches(pf, shown, ident, vec, dim, batch_rows,
                                                                 unique_ids=True):
                _check_dim(shown, x.shape[1], w)
                out.write(id_arr, map_rows(x, w, steps, renorm))
                rows += len(batch_ids)
    return {"file": str(in_path), "out": str(out_path), "format": fmt, "rows": rows,
            "seconds": round(time.perf_counter() - t0, 4)}


def _error_to_dict(e: Exception) -> dict:
    if isinstance(e, InputFormatError):
        return {"kind": type(e).__name__, "path": e.path, "line": e.line, "problem": e.problem}
    return {"kind": "ConfigError" if isinstance(e, ConfigError) else type(e).__name__, "message": str(e)}


def _error_from_dict(err: dict) -> AlignScopeError:
    kind = err["kind"]
    if "problem" in err:
        cls = EmbeddingFormatError if kind == "EmbeddingFormatError" else InputFormatError
        return cls(err["path"], err["line"], err["problem"])
    if kind == "ConfigError":
        return ConfigError(err["message"])
    return StoreError(f"{kind}: {err['message']}")


def _shard_task(in_path: str, out_path: str, fmt: str, w: np.ndarray, steps: list, renorm: bool,
                batch_rows: int, id_column: str | None, vector_column: str | None) -> dict:
    """:func:`map_shard` as a Dask task: plain arguments in, a plain dict out. Expected
    failures come back as ``{"error": {...}}`` (rebuilt into the same error by the
    caller), so no exception class of ours has to travel through Dask."""
    try:
        return map_shard(in_path, out_path, w, steps, fmt, renorm, batch_rows, id_column, vector_column)
    except (AlignScopeError, OSError) as e:
        return {"file": in_path, "error": _error_to_dict(e)}


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB: VmHWM from /proc (Linux), which
    starts afresh at exec, unlike ru_maxrss, which a child inherits from the process that
    started it (a fresh worker would report its parent's peak); ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --------------------------------------------------------------------------- the store


def expand_inputs(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Shard paths from files, globs (``*``, ``?``, ``[``; ``**`` recursive) and folders
    (their ``.npy``/``.parquet``/``.pq`` files), sorted by name within each item, in the
    order given, each once. A glob or folder keeps only shard files (not ``.vocab.txt``);
    a file named explicitly is kept as it is. Nothing matching is an error."""
    out: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        s = os.fspath(item)
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in SHARD_EXTS)
            if not found:
                raise ConfigError(f"--in {s}: the folder holds no .npy, .parquet or .pq shard")
        elif any(c in s for c in "*?["):
            found = sorted(Path(m) for m in glob.glob(s, recursive=True)
                           if Path(m).is_file() and Path(m).suffix.lower() in SHARD_EXTS)
            if not found:
                raise ConfigError(f"--in {s}: no .npy, .parquet or .pq file matches")
        elif p.is_file():
            found = [p]
        else:
            raise ConfigError(f"--in {s}: no such file or folder")
        for q in found:
            r = q.resolve()
            if r not in seen:
                seen.add(r)
                out.append(q)
    if not out:
        raise ConfigError("no input shards given (--in)")
    return out


def _plan(shards: list[Path], out_dir: Path) -> list[Path]:
    """Output path of each shard (its name in ``out_dir``), refusing to write where an
    input lives: an out_dir that is an input's folder, or an output that is an input."""
    out_res = out_dir.resolve()
    inputs = {s.resolve() for s in shards}
    names: dict[str, Path] = {}
    outs = []
    for s in shards:
        if s.resolve().parent == out_res:
            raise ConfigError(f"--out {out_dir}: is the folder of the input {s}; the outputs would replace the "
                              "inputs (choose another output folder)")
        prev = names.setdefault(s.name, s)
        if prev != s:
            raise ConfigError(f"two inputs are named {s.name} ({prev} and {s}); their outputs would collide in "
                              f"{out_dir}")
        o = out_dir / s.name
        extra = [o]
        if s.suffix.lower() == ".npy":
            extra.append(_vocab_for(o))
        for x in extra:
            if x.resolve() in inputs or (x.exists() and any(x.samefile(i) for i in shards)):
                raise ConfigError(f"{x}: is an input; refusing to overwrite it")
        outs.append(o)
    return outs


def _inspect(shard: Path, fmt: str | None, w: np.ndarray, id_column: str | None,
             vector_column: str | None) -> tuple[str, int]:
    """(format, rows) of a shard from its header or footer alone, checking what is cheap
    before any output is written: the format, the ``.vocab.txt`` beside a ``.npy``, the
    Parquet columns, and the dimension when the header states it."""
    fmt = shard_format(shard, fmt)
    shown = str(shard)
    if fmt == "npy":
        (n, d), _, _, _ = npy_shape(shard)
        vocab = _vocab_for(shard)
        if not vocab.is_file():
            raise EmbeddingFormatError(shown, None, f".npy vectors need their ids beside them: {vocab.name} not found")
    else:
        pf, _, _, d = open_parquet_embeddings(shard, shown, id_column, vector_column)
        n = pf.metadata.num_rows
    if d is not None:
        _check_dim(shown, d, w)
    return fmt, int(n)


def _parse_local(address: str) -> int | None:
    """N of ``local:N`` (a LocalCluster of N worker processes started here), else None."""
    if not address.startswith("local:"):
        return None
    try:
        n = int(address[len("local:"):])
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"--dask {address}: expected local:N with N ≥ 1 workers, or a scheduler address "
                          "such as tcp://127.0.0.1:8786")
    return n


def apply_store(run_dir: str | os.PathLike, inputs: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
                dask_address: str | None = None, renorm: bool = True, progress: Progress | None = None,
                batch_rows: int = DEFAULT_BATCH_ROWS, fmt: str | None = None, id_column: str | None = None,
                vector_column: str | None = None) -> dict:
    """Apply the run's mapping (with its source normalization replayed) to every shard of
    ``inputs`` (files, globs, folders; :func:`expand_inputs`), writing each under its own
    name in ``out_dir`` (:func:`map_shard`).

    Locally the shards are done one after the other, so memory is that of one batch
    whatever the store's size. With ``dask_address`` (``tcp://host:port`` of a running
    scheduler, or ``local:N`` to start a LocalCluster of N single-threaded worker
    processes here) the same per-shard function goes to ``client.map`` and the results are
    gathered as they complete; the workers must see the same paths (a shared file system)
    and have alignscope installed. ``progress(done, total, shard_result)`` is called after
    each shard. Every shard is checked (format, ids file, columns, dimension when the
    header states it) before anything is written; the first failing shard stops the run
    (in Dask, the shards not yet started are cancelled) with its error.

    Returns the totals: ``rows``, ``shards``, ``seconds`` (wall clock, start-up included),
    ``rows_per_s``, ``peak_rss_mb`` (this process; with Dask also ``worker_peak_rss_mb``
    per worker), and the mode, dimensions and folders.
    """
    t0 = time.perf_counter()
    if batch_rows < 1:
        raise ConfigError(f"batch rows must be at least 1, got {batch_rows}")
    w, steps = load_mapping(run_dir)
    shards = expand_inputs(inputs)
    out_dir = Path(out_dir)
    outs = _plan(shards, out_dir)
    info = [_inspect(s, fmt, w, id_column, vector_column) for s in shards]
    n_local = _parse_local(dask_address) if dask_address else None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"--out {out_dir}: exists and is not a folder") from None
    total_rows = sum(n for _, n in info)
    summary = {"run": str(Path(run_dir).resolve()), "out": str(out_dir.resolve()), "shards": len(shards),
               "rows": 0, "dim_in": int(w.shape[1]), "dim_out": int(w.shape[0]),
               "normalization": [s.name for s in steps], "renorm": bool(renorm), "batch_rows": batch_rows}
    if dask_address is None:
        summary["mode"] = "local"
        for i, (s, o, (f, _)) in enumerate(zip(shards, outs, info), start=1):
            res = map_shard(s, o, w, steps, f, renorm, batch_rows, id_column, vector_column)
            summary["rows"] += res["rows"]
            if progress is not None:
                progress(i, len(shards), res)
    else:
        summary.update(_apply_dask(dask_address, n_local, shards, outs, [f for f, _ in info], w, steps, renorm,
                                   batch_rows, id_column, vector_column, progress))
    seconds = time.perf_counter() - t0
    summary["seconds"] = round(seconds, 3)
    summary["rows_per_s"] = round(summary["rows"] / seconds, 1) if seconds > 0 else None
    summary["peak_rss_mb"] = _peak_rss_mb()
    if summary["rows"] != total_rows:  # pragma: no cover - a shard changed while it was being read
        raise StoreError(f"{total_rows} rows in the shards' headers but {summary['rows']} mapped")
    return summary


def _apply_dask(address: str, n_local: int | None, shards: list[Path], outs: list[Path], fmts: list[str],
                w: np.ndarray, steps: tuple[NormStep, ...], renorm: bool, batch_rows: int,
                id_column: str | None, vector_column: str | None, progress: Progress | None) -> dict:
    import logging

    from distributed import Client, LocalCluster, as_completed

    t0 = time.perf_counter()
    cluster = None
    try:
        if n_local is not None:
            cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        raise StoreError(f"--dask {address}: cannot reach the Dask scheduler ({e})") from None
    try:
        startup = time.perf_counter() - t0
        workers = len(client.scheduler_info().get("workers", {}))
        w_future = client.scatter(w, broadcast=True)
        plain_steps = [(s.name, s.mean) for s in steps]
        futures = client.map(_shard_task, [str(s.resolve()) for s in shards], [str(o.resolve()) for o in outs],
                             fmts, w=w_future, steps=plain_steps, renorm=renorm, batch_rows=batch_rows,
                             id_column=id_column, vector_column=vector_column, pure=False)
        rows, done = 0, 0
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as e:  # noqa: BLE001 - a worker died or the task failed unexpectedly
                client.cancel(futures)
                raise StoreError(f"a Dask task failed ({type(e).__name__}: {' '.join(str(e).split())})") from None
            if "error" in res:
                client.cancel(futures)
                raise _error_from_dict(res["error"])
            done += 1
            rows += res["rows"]
            if progress is not None:
                progress(done, len(shards), res)
        try:
            worker_rss = sorted(client.run(_peak_rss_mb).values())
        except Exception:  # noqa: BLE001 - only a statistic
            worker_rss = None
        return {"mode": "dask", "address": address if n_local is None else f"local:{n_local}",
                "workers": workers, "startup_seconds": round(startup, 3), "rows": rows,
                "worker_peak_rss_mb": worker_rss}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- CLI


def add_apply_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``apply`` sub-command to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "apply", help="map every row of a store of shards (.npy + .vocab.txt or Parquet) with a saved run",
        description="Apply a saved run's mapping (and its source normalization) to every row of every shard, "
                    "writing each shard under its own name in the output folder, ids kept. Prints a JSON "
                    "summary (rows, shards, seconds, rows_per_s, peak RSS) on stdout, progress on stderr.")
    p.add_argument("--run", required=True, help="a folder written by 'alignscope align' (mapping.npy, config.json, "
                                                "normalization.json)")
    p.add_argument("--in", dest="inputs", nargs="+", required=True, metavar="FILES",
                   help="shards: files, globs (quote them: 'store/*.parquet') or folders")
    p.add_argument("--out", required=True, help="output folder (not an input's folder)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run the shards on a Dask cluster: a scheduler address (tcp://127.0.0.1:8786) or "
                        "local:N to start N worker processes here (default: one shard at a time in this process)")
    p.add_argument("--no-renorm", action="store_true", help="do not scale the mapped rows to unit length")
    p.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS,
                   help=f"rows read, mapped and written at a time (default {DEFAULT_BATCH_ROWS})")
    p.add_argument("--id-column", default=None, help="Parquet id column (default: found by name or type)")
    p.add_argument("--vector-column", default=None, help="Parquet vector column (default: found by name or type)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def run_apply(args: argparse.Namespace) -> int:
    """Run ``alignscope apply`` for parsed ``args``; returns the exit status (0). Errors
    are :class:`AlignScopeError` subclasses (the CLI prints one line, exits 2)."""
    t0 = time.perf_counter()
    quiet = getattr(args, "quiet", False)

    def show(done: int, total: int, res: dict) -> None:
        if not quiet:
            print(f"[apply {done}/{total} {time.perf_counter() - t0:6.1f}s] {Path(res['file']).name}: "
                  f"{res['rows']:,} rows in {res['seconds']:.2f}s", file=sys.stderr, flush=True)

    summary = apply_store(args.run, args.inputs, args.out, dask_address=args.dask, renorm=not args.no_renorm,
                          progress=show, batch_rows=args.batch_rows, id_column=args.id_column,
                          vector_column=args.vector_column)
    print(json.dumps(summary))
    return 0
