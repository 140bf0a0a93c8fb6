"""Applying a saved mapping to a store of shards (alignment_core.store): a known answer
on .npy and Parquet shards, local and Dask giving byte-identical files, memory that does
not grow with the number of shards, the CLI, real encoder embeddings, and clear errors."""

from __future__ import annotations

import argparse
import filecmp
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignment_core.embeddings import renorm
from alignment_core.errors import AlignScopeError, ConfigError, EmbeddingFormatError
from alignment_core.io import load_embeddings, save_npy, save_parquet
from alignment_core.mapping import procrustes
from alignment_core.runs import RunConfig
from alignment_core.runs import load_run_normalization
from alignment_core.store import (
    _parse_local,
    add_apply_parser,
    apply_store,
    expand_inputs,
    map_shard,
)

ROOT = Path(__file__).resolve().parents[2]


def write_run(run: Path, w: np.ndarray, src_steps: list[dict] | None, normalize: str = "renorm,center,renorm"
              ) -> Path:
    """A run folder as save_run writes it (mapping.npy, config.json) plus normalization.json."""
    run.mkdir(parents=True, exist_ok=True)
    np.save(run / "mapping.npy", np.asarray(w, np.float32), allow_pickle=False)
    (run / "config.json").write_text(json.dumps(RunConfig(normalize=normalize).to_dict()))
    if src_steps is not None:
        (run / "normalization.json").write_text(json.dumps({"src": src_steps, "tgt": []}))
    return run


def known_run(tmp_path: Path, d_src: int = 12, d_tgt: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((d_tgt, d_src)).astype(np.float32)  # not square, not orthogonal: transposes show
    mean = (rng.standard_normal(d_src) * 0.3).astype(np.float32)
    steps = [{"name": "renorm"}, {"name": "center", "mean": mean.tolist()}, {"name": "renorm"}]
    return write_run(tmp_path / "run", w, steps), w, mean


def direct(x: np.ndarray, w: np.ndarray, mean: np.ndarray, out_renorm: bool = True) -> np.ndarray:
    """Normalize-then-map computed straight from the definitions, in float64."""
    x = np.asarray(x, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    x = x - mean.astype(np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = x @ w.astype(np.float64).T
    return y / np.linalg.norm(y, axis=1, keepdims=True) if out_renorm else y


def make_shards(folder: Path, n_shards: int, rows: int, d: int, seed: int = 1) -> dict[str, tuple[list, np.ndarray]]:
    """Alternating .npy + .vocab.txt and Parquet shards; returns name → (ids, raw vectors)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for k in range(n_shards):
        x = (rng.standard_normal((rows, d)) + 0.5).astype(np.float32)
        ids = [f"s{k}-Item_{i}" for i in range(rows)]
        if k % 2 == 0:
            save_npy(ids, folder / f"shard{k:02d}.npy", x)
            out[f"shard{k:02d}.npy"] = (ids, x)
        else:
            save_parquet(ids, x, folder / f"shard{k:02d}.parquet")
            out[f"shard{k:02d}.parquet"] = (ids, x)
    return out


# --------------------------------------------------------------------------- known answer


@pytest.mark.parametrize("out_renorm", [True, False], ids=["renorm", "no_renorm"])
def test_known_answer_npy_and_parquet(tmp_path, out_renorm):
    run, w, mean = known_run(tmp_path)
    shards = make_shards(tmp_path / "store", 4, 1_000, 12)
    seen = []
    summary = apply_store(run, [tmp_path / "store"], tmp_path / "out", renorm=out_renorm, batch_rows=333,
                          progress=lambda done, total, res: seen.append((done, total, Path(res["file"]).name)))
    assert summary["rows"] == 4_000 and summary["shards"] == 4 and summary["mode"] == "local"
    assert (summary["dim_in"], summary["dim_out"]) == (12, 10) and summary["rows_per_s"] > 0
    assert summary["normalization"] == ["renorm", "center", "renorm"] and summary["peak_rss_mb"] > 0
    assert seen == [(i + 1, 4, name) for i, name in enumerate(sorted(shards))]
    for name, (ids, x) in shards.items():
        got = load_embeddings(tmp_path / "out" / name, ids=True, max_vocab=None, cache=False)
        assert got.words == tuple(ids)  # every id, in order
        np.testing.assert_allclose(got.vectors, direct(x, w, mean, out_renorm), atol=1e-5)
        norms = np.linalg.norm(got.vectors, axis=1)
        assert np.allclose(norms, 1, atol=1e-5) == out_renorm


def test_parquet_output_keeps_column_names_and_id_type(tmp_path):
    run, w, mean = known_run(tmp_path)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 12)).astype(np.float32)
    store = tmp_path / "store"
    store.mkdir()
    ids = pa.array(np.arange(1000, 1050), pa.int64())
    pq.write_table(pa.table({"doc_id": ids, "embedding": pa.array([list(r) for r in x], pa.list_(pa.float64()))}),
                   store / "a.pq", row_group_size=16)
    res = map_shard(store / "a.pq", tmp_path / "a.pq", w, load_run_normalization(run), batch_rows=7)
    assert res["rows"] == 50 and res["format"] == "parquet"
    t = pq.read_table(tmp_path / "a.pq")
    assert t.schema.names == ["doc_id", "embedding"]
    assert t.schema.field("doc_id").type == pa.int64()
    assert t.schema.field("embedding").type == pa.list_(pa.float32(), 10)
    assert t.column("doc_id").to_pylist() == list(range(1000, 1050))
    y = np.asarray(t.column("embedding").combine_chunks().flatten()).reshape(50, 10)
    np.testing.assert_allclose(y, direct(x, w, mean), atol=1e-5)


def test_run_without_normalization_json(tmp_path):
    w = np.eye(3, dtype=np.float32)[::-1].copy()
    run = write_run(tmp_path / "r1", w, None, normalize="renorm")
    assert [s.name for s in load_run_normalization(run)] == ["renorm"]
    run = write_run(tmp_path / "r2", w, None, normalize="renorm,center,renorm")
    with pytest.raises(ConfigError, match="normalization.json: not found.*subtracts a mean"):
        load_run_normalization(run)
    run = write_run(tmp_path / "r3", w, [{"name": "center", "mean": [1.0, 2.0]}])
    (tmp_path / "s").mkdir()
    save_npy(["a"], tmp_path / "s" / "x.npy", np.ones((1, 3), np.float32))
    with pytest.raises(ConfigError, match="2-d mean, but mapping.npy"):
        apply_store(run, [tmp_path / "s"], tmp_path / "o")


# --------------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dask_cluster():
    import logging

    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    yield cluster
    cluster.close()


def test_local_and_dask_write_byte_identical_files(tmp_path, dask_cluster):
    rng = np.random.default_rng(5)
    d = 384
    w = procrustes(rng.standard_normal((500, d)), rng.standard_normal((500, d)))
    mean = (rng.standard_normal(d) * 0.1).tolist()
    run = write_run(tmp_path / "run", w, [{"name": "renorm"}, {"name": "center", "mean": mean}, {"name": "renorm"}])
    shards = make_shards(tmp_path / "store", 4, 3_000, d)
    local = apply_store(run, [str(tmp_path / "store" / "*")], tmp_path / "local", batch_rows=1_000)
    dist = apply_store(run, [str(tmp_path / "store" / "*")], tmp_path / "dask", batch_rows=1_000,
                       dask_address=dask_cluster.scheduler_address)
    assert dist["mode"] == "dask" and dist["workers"] == 2 and len(dist["worker_peak_rss_mb"]) == 2
    assert local["rows"] == dist["rows"] == 12_000
    files = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert len(files) == 6  # 2 × (.npy + .vocab.txt) + 2 × .parquet, no temporary left
    for name in files:
        assert filecmp.cmp(tmp_path / "local" / name, tmp_path / "dask" / name, shallow=False), name
    for name, (ids, _) in shards.items():
        a = load_embeddings(tmp_path / "local" / name, ids=True, max_vocab=None, cache=False)
        b = load_embeddings(tmp_path / "dask" / name, ids=True, max_vocab=None, cache=False)
        assert a.words == b.words == tuple(ids)
        assert np.array_equal(a.vectors, b.vectors)


def test_dask_reports_a_bad_shard_like_local(tmp_path, dask_cluster):
    run, _, _ = known_run(tmp_path)
    make_shards(tmp_path / "store", 2, 100, 12)
    x = np.ones((5, 12), np.float32)
    x[3, 4] = np.nan
    save_npy([f"n{i}" for i in range(5)], tmp_path / "store" / "zz_nan.npy", x)
    messages = []
    for address in (None, dask_cluster.scheduler_address):
        with pytest.raises(EmbeddingFormatError) as ei:
            apply_store(run, [tmp_path / "store"], tmp_path / f"out{len(messages)}", dask_address=address)
        messages.append(str(ei.value))
    assert messages[0] == messages[1]
    assert "zz_nan.npy" in messages[0] and "row 4 (id 'n3') holds NaN or Inf" in messages[0]
    assert not (tmp_path / "out0" / "zz_nan.npy").exists()  # a failed shard leaves no output


def test_local_n_address():
    assert _parse_local("local:3") == 3 and _parse_local("tcp://127.0.0.1:8786") is None
    for bad in ("local:0", "local:x"):
        with pytest.raises(ConfigError, match="local:N"):
            _parse_local(bad)


# --------------------------------------------------------------------------- memory


# VmHWM (the process's own peak RSS), not ru_maxrss, which a child inherits from pytest
MEASURE = textwrap.dedent("""
    import json, sys
    from alignment_core.store import _peak_rss_mb, apply_store
    before = _peak_rss_mb()
    summary = apply_store(sys.argv[1], sys.argv[2:-1], sys.argv[-1], batch_rows=4096)
    print(json.dumps({"before_mb": before, "peak_mb": _peak_rss_mb(), "summary_mb": summary["peak_rss_mb"]}))
""")


def test_memory_does_not_grow_with_the_number_of_shards(tmp_path):
    """Peak RSS of a fresh process applying 2 and then 8 equal shards (half .npy, half
    Parquet): were shards kept, 8 would need 6 more shards' worth (~70 MB) than 2."""
    rows, d = 16_000, 192
    shard_mb = rows * d * 4 / 2**20
    run = write_run(tmp_path / "run", np.eye(d, dtype=np.float32), [{"name": "renorm"}], normalize="renorm")
    make_shards(tmp_path / "store", 8, rows, d)
    names = sorted(p.name for p in (tmp_path / "store").iterdir() if p.suffix in (".npy", ".parquet"))
    peaks = {}
    for n in (2, 8):
        files = [str(tmp_path / "store" / f) for f in names[:n]]
        out = subprocess.run([sys.executable, "-c", MEASURE, str(run), *files, str(tmp_path / f"out{n}")],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        m = json.loads(out.stdout.strip().splitlines()[-1])
        assert m["before_mb"] < m["peak_mb"] == m["summary_mb"], m  # the child's own peak, measured
        peaks[n] = m["peak_mb"]
    growth = peaks[8] - peaks[2]
    assert growth < 2 * shard_mb, (peaks, shard_mb)  # a leak of whole shards would be ≥ 6 × shard_mb
    assert len(list((tmp_path / "out8").iterdir())) == 12


# --------------------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> int:
    """``alignscope apply`` through alignment_core.cli.main once it is wired there; until
    then through this module's parser and run_apply, with the CLI's error handling."""
    from alignment_core import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "apply" in sub.choices:
        return cli.main(argv)
    from alignment_core.store import run_apply

    ap = argparse.ArgumentParser(prog="alignscope")
    add_apply_parser(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(argv)
    try:
        return run_apply(args)
    except AlignScopeError as e:
        print(f"alignscope: error: {e}", file=sys.stderr)
        return 2


def test_cli_apply_end_to_end(tmp_path, capsys):
    run, w, mean = known_run(tmp_path)
    shards = make_shards(tmp_path / "store", 3, 200, 12)
    code = _cli(["apply", "--run", str(run), "--in", str(tmp_path / "store" / "shard00.npy"),
                 str(tmp_path / "store" / "*.parquet"), "--out", str(tmp_path / "out"), "--no-renorm"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = json.loads(cap.out.strip().splitlines()[-1])
    assert summary["rows"] == 400 and summary["shards"] == 2 and summary["renorm"] is False
    assert "[apply 1/2" in cap.err and "[apply 2/2" in cap.err
    ids, x = shards["shard01.parquet"]
    got = load_embeddings(tmp_path / "out" / "shard01.parquet", ids=True, cache=False)
    assert got.words == tuple(ids)
    np.testing.assert_allclose(got.vectors, direct(x, w, mean, out_renorm=False), atol=1e-5)


@pytest.mark.parametrize("case", ["out_is_input_folder", "wrong_dim", "duplicate_ids", "no_match", "not_a_run",
                                  "missing_vocab", "same_names"])
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, case):
    run, _, _ = known_run(tmp_path)
    store = tmp_path / "store"
    make_shards(store, 2, 20, 12)
    inputs, out, fragment = [str(store)], str(tmp_path / "out"), None
    if case == "out_is_input_folder":
        out, fragment = str(store), "is the folder of the input"
    elif case == "wrong_dim":
        save_parquet(["a", "b"], np.ones((2, 7), np.float32), store / "seven.parquet")
        fragment = "seven.parquet: vectors are 7-d, but the mapping"
    elif case == "duplicate_ids":
        save_parquet(["a", "b", "c", "b"], np.ones((4, 12), np.float32), store / "dup.parquet")
        fragment = "dup.parquet: id 'b' appears twice, on rows 2 and 4"
    elif case == "no_match":
        inputs, fragment = [str(store / "*.pq")], "no .npy, .parquet or .pq file matches"
    elif case == "not_a_run":
        run, fragment = store, "not a run folder"
    elif case == "missing_vocab":
        (store / "shard00.vocab.txt").unlink()
        fragment = "shard00.vocab.txt not found"
    elif case == "same_names":
        make_shards(tmp_path / "other", 1, 5, 12)
        inputs, fragment = [str(store), str(tmp_path / "other")], "two inputs are named shard00.npy"
    code = _cli(["apply", "--run", str(run), "--in", *inputs, "--out", out, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and fragment in lines[0], err
    assert not list(store.glob("*.tmp*")) and not list(store.glob(".*"))


def test_expand_inputs_orders_and_deduplicates(tmp_path):
    make_shards(tmp_path / "s", 4, 3, 2)
    (tmp_path / "s" / "notes.txt").write_text("x")
    got = expand_inputs([tmp_path / "s" / "shard03.parquet", str(tmp_path / "s"), str(tmp_path / "s" / "*.npy")])
    assert [p.name for p in got] == ["shard03.parquet", "shard00.npy", "shard01.parquet", "shard02.npy"]


# --------------------------------------------------------------------------- real data


def test_real_encoder_store_minilm_to_e5(tmp_path):
    """2,000 real MiniLM rows as 4 shards, mapped into e5's space with Procrustes fitted on
    the first 1,000 paired texts (each side centered with its training mean, unit length):
    the output is normalize-then-map, and the held-out 1,000 find their e5 partner."""
    from tests.conftest import SHARED

    d = SHARED / "text"
    src = np.load(d / "wordnet.minilm.npy", mmap_mode="r", allow_pickle=False)[:2000].astype(np.float32)
    tgt = np.load(d / "wordnet.e5.npy", mmap_mode="r", allow_pickle=False)[:2000].astype(np.float32)
    ids = (d / "wordnet.minilm.vocab.txt").read_text(encoding="utf-8").split("\n")[:2000]
    train = slice(0, 1000)
    src_mean = renorm(src[train]).mean(axis=0, dtype=np.float64).astype(np.float32)
    tgt_mean = renorm(tgt[train]).mean(axis=0, dtype=np.float64).astype(np.float32)
    xs = renorm(renorm(src) - src_mean)
    yt = renorm(renorm(tgt) - tgt_mean)
    w = procrustes(xs[train], yt[train])
    run = write_run(tmp_path / "run", w, [{"name": "renorm"}, {"name": "center", "mean": src_mean.tolist()},
                                          {"name": "renorm"}])
    store = tmp_path / "store"
    store.mkdir()
    for k in range(4):
        rows = slice(500 * k, 500 * (k + 1))
        if k % 2:
            save_parquet(ids[rows], src[rows], store / f"minilm-{k}.parquet")
        else:
            save_npy(ids[rows], store / f"minilm-{k}.npy", src[rows])
    summary = apply_store(run, [store], tmp_path / "out")
    assert summary["rows"] == 2000
    mapped = np.vstack([load_embeddings(p, ids=True, cache=False).vectors for p in
                        sorted((tmp_path / "out").glob("minilm-*.[np]*[yt]"))])
    got_ids = sum((list(load_embeddings(p, ids=True, cache=False).words)
                   for p in sorted((tmp_path / "out").glob("minilm-*.[np]*[yt]"))), [])
    assert got_ids == ids
    np.testing.assert_allclose(mapped, direct(src, w, src_mean), atol=1e-5)
    test = slice(1000, 2000)
    top1 = (np.argmax(mapped[test] @ yt[test].T, axis=1) == np.arange(1000)).mean()
    baseline = (np.argmax(xs[test] @ yt[test].T, axis=1) == np.arange(1000)).mean()
    assert top1 > 0.75 and baseline < 0.01, (top1, baseline)


def test_apply_a_run_saved_by_align(tmp_path, monkeypatch):
    """The whole model-upgrade path: ``alignscope align`` on ids (a known rotation of the
    same items), then ``apply`` to the old model's rows: they land on the new model's
    normalized rows (the run's normalization replayed from normalization.json)."""
    from alignment_core.cli import main

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(11)
    n, d = 600, 16
    x = rng.standard_normal((n, d)).astype(np.float32) + 1
    q = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)
    y = x @ q.T + 0.01 * rng.standard_normal((n, d)).astype(np.float32)
    ids = [f"Item_{i}" for i in range(n)]
    save_npy(ids, tmp_path / "old.npy", x)
    save_npy(ids, tmp_path / "new.npy", y)
    assert main(["align", "--src", "old.npy", "--tgt", "new.npy", "--seeds", "identical", "--no-lowercase",
                 "--out", "run", "--quiet"]) == 0
    (tmp_path / "store").mkdir()
    save_parquet(ids[:300], x[:300], tmp_path / "store" / "a.parquet")
    save_npy(ids[300:], tmp_path / "store" / "b.npy", x[300:])
    assert apply_store("run", ["store"], "out")["rows"] == n
    mapped = np.vstack([load_embeddings(tmp_path / "out" / f, ids=True, cache=False).vectors
                        for f in ("a.parquet", "b.npy")])
    target = load_embeddings(tmp_path / "new.npy", ids=True, cache=False).normalize("renorm,center,renorm").vectors
    cos = (mapped * target).sum(axis=1)
    assert cos.min() > 0.99, cos.min()
