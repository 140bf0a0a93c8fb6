"""Command line: ``alignscope align | evaluate | diagnose | export``.

Every command calls the same core functions as the app. Bad input exits with
status 2 and a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .errors import AlignScopeError


def _add_data_args(p: argparse.ArgumentParser, need_tgt: bool = True) -> None:
    p.add_argument("--src", required=True, help="source embeddings (.vec/.txt[.gz], .bin, .npy+.vocab.txt, .npz)")
    if need_tgt:
        p.add_argument("--tgt", required=True, help="target embeddings (same formats)")
    p.add_argument("--max-vocab", type=int, default=None, help="keep the first N rows (default 200000)")
    p.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None,
                   help="lowercase words, keeping the most frequent spelling (default on)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="alignscope", description="Align two embedding spaces and diagnose the result.")
    sub = ap.add_subparsers(dest="command", required=True)

    a = sub.add_parser("align", help="align two spaces; writes result.json, mapping.npy, induced_dictionary.txt, config.json")
    _add_data_args(a)
    a.add_argument("--method", default="procrustes", help="procrustes | muse | mini-vec2vec")
    a.add_argument("--seed-dict", help="seed dictionary: 'source target' per line")
    a.add_argument("--eval-dict", help="evaluation dictionary (BLI precision reported)")
    a.add_argument("--seeds", default=None,
                   help="seed pairs given to the method: all (default for procrustes), none (default otherwise), "
                        "identical (identical strings), or N (pairs of the first N source words of --seed-dict)")
    a.add_argument("--normalize", default="renorm,center,renorm", help="comma list of renorm, center, iternorm (or none)")
    a.add_argument("--refinements", type=int, default=None, help="refinement rounds (procrustes default 0, muse: from the preset, 5 or at most 15)")
    a.add_argument("--preset", default=None, help="MUSE preset: fast (default), small (two games at once in worker processes, each a 128-unit discriminator for 20k steps and mutual refinements on the 15k most frequent rows, then a consensus dictionary of the games and S2T refinements: the one that aligns fi→fr without a seed; --param restarts=N sets the games, parallel=false runs them one after the other) or paper")
    a.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="any other method parameter (repeatable), e.g. --param csls_k=10")
    a.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    a.add_argument("--out", required=True, help="output folder")
    a.add_argument("--quiet", action="store_true", help="no progress on stderr")

    e = sub.add_parser("evaluate", help="BLI precision@1/5/10 of a saved run (nn, csls, isf)")
    _add_data_args(e)
    e.add_argument("--run", required=True, help="a folder written by 'alignscope align'")
    e.add_argument("--eval-dict", required=True)
    e.add_argument("--per-word", help="also write the per-word results as CSV to this file")

    x = sub.add_parser("export", help="write the aligned source vectors of a saved run (word2vec text, .gz ok)")
    _add_data_args(x, need_tgt=False)
    x.add_argument("--run", required=True)
    x.add_argument("--out", required=True, help="output file (.vec, .txt, .vec.gz, or .npy for .npy + .vocab.txt)")

    try:
        from .diagnostics.command import add_diagnose_parser
    except ImportError:  # diagnostics not installed in this build
        pass
    else:
        add_diagnose_parser(sub)
    return ap


def _parse_value(v: str):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    return v


def _progress(quiet: bool):
    def show(ev) -> None:
        if quiet:
            return
        nums = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in ev.metrics.items())
        print(f"[{ev.stage} {ev.step}/{ev.total} {ev.elapsed:6.1f}s] {nums}", file=sys.stderr, flush=True)
    return show


def _load_pair(args, cfg_defaults: dict | None = None):
    from .io import DEFAULT_MAX_VOCAB, load_embeddings

    d = cfg_defaults or {}
    max_vocab = args.max_vocab if args.max_vocab is not None else d.get("max_vocab", DEFAULT_MAX_VOCAB)
    lowercase = args.lowercase if args.lowercase is not None else d.get("lowercase", True)
    src = load_embeddings(args.src, max_vocab=max_vocab, lowercase=lowercase)
    tgt = load_embeddings(args.tgt, max_vocab=max_vocab, lowercase=lowercase) if getattr(args, "tgt", None) else None
    return src, tgt, max_vocab, lowercase


def cmd_align(args) -> int:
    from .dictionary import load_dictionary
    from .runs import RunConfig, execute, save_run

    params = {}
    for item in args.param:
        if "=" not in item:
            raise AlignScopeError(f"--param expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        params[k.strip()] = _parse_value(v.strip())
    if args.refinements is not None:
        params["refinements"] = args.refinements
    if args.preset is not None:
        params["preset"] = args.preset
    seeds = args.seeds if args.seeds is not None else ("all" if args.method == "procrustes" else "none")
    if seeds not in ("all", "none", "identical") and not str(seeds).isdigit():
        raise AlignScopeError(f"--seeds must be all, none, identical or a number; got {seeds!r}")
    t0 = time.perf_counter()
    src, tgt, max_vocab, lowercase = _load_pair(args)
    seed_dict = load_dictionary(args.seed_dict) if args.seed_dict else None
    eval_dict = load_dictionary(args.eval_dict) if args.eval_dict else None
    load_s = time.perf_counter() - t0
    config = RunConfig(method=args.method, params=params, seeds=seeds, normalize=args.normalize,
                       max_vocab=max_vocab, lowercase=lowercase, seed=args.seed,
                       src=str(Path(args.src).resolve()), tgt=str(Path(args.tgt).resolve()),
                       seed_dict=str(Path(args.seed_dict).resolve()) if args.seed_dict else None,
                       eval_dict=str(Path(args.eval_dict).resolve()) if args.eval_dict else None)
    if not args.quiet:
        print(f"loaded {len(src)}×{src.dim} and {len(tgt)}×{tgt.dim} in {load_s:.1f}s", file=sys.stderr)
    result = execute(config, src, tgt, seed_dict, eval_dict, on_event=_progress(args.quiet), load_s=load_s,
                     per_word=False)
    out = save_run(result, args.out)
    summary = {"out": str(out), "timings": result.to_json()["timings"]}
    if result.evaluation is not None:
        summary["evaluation"] = result.evaluation.to_dict()
    print(json.dumps(summary))
    return 0


def cmd_evaluate(args) -> int:
    from .dictionary import load_dictionary
    from .evaluation import evaluate_bli
    from .runs import load_run

    cfg, w = load_run(args.run)
    src, tgt, _, lowercase = _load_pair(args, cfg.to_dict())
    src, tgt = src.normalize(cfg.normalize), tgt.normalize(cfg.normalize)
    if w.shape != (tgt.dim, src.dim):
        raise AlignScopeError(f"{args.run}/mapping.npy has shape {w.shape}, but these files need "
                              f"({tgt.dim}, {src.dim}) (target dim × source dim)")
    d = load_dictionary(args.eval_dict, lowercase=lowercase)
    res = evaluate_bli(src, tgt, w, d, per_word=bool(args.per_word))
    if args.per_word:
        _write_per_word_csv(res.per_word, args.per_word)
    print(json.dumps({"evaluation": res.to_dict(), "eval_coverage": d.coverage(src, tgt).to_dict()}))
    return 0


def _write_per_word_csv(rows: list[dict], path: str) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(["source", "source_rank", "gold", "pred_nn", "rank_nn", "pred_csls", "rank_csls", "cos_gold"])
        for r in rows:
            wr.writerow([r["source"], r["source_rank"], "|".join(r["gold"]), r["top_nn"][0][0], r["rank_nn"],
                         r["top_csls"][0][0], r["rank_csls"], r["cos_gold"]])


def cmd_export(args) -> int:
    from .io import save_npy, save_word2vec
    from .runs import load_run

    cfg, w = load_run(args.run)
    src, _, _, _ = _load_pair(args, cfg.to_dict())
    src = src.normalize(cfg.normalize)
    if w.shape[1] != src.dim:
        raise AlignScopeError(f"{args.run}/mapping.npy maps {w.shape[1]}-d vectors, but {args.src} is {src.dim}-d")
    aligned = src.vectors @ w.T
    if args.out.endswith(".npy"):
        save_npy(src.words, args.out, aligned)
    else:
        save_word2vec(src.words, args.out, aligned)
    print(json.dumps({"out": args.out, "rows": len(src), "dim": int(aligned.shape[1])}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"align": cmd_align, "evaluate": cmd_evaluate, "export": cmd_export}
    if args.command == "diagnose":
        from .diagnostics.command import run_diagnose

        handler = run_diagnose
    else:
        handler = handlers[args.command]
    try:
        return int(handler(args) or 0)
    except AlignScopeError as e:
        print(f"alignscope: error: {e}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as e:
        print(f"alignscope: error: {e.__class__.__name__}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alignscope: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
