"""Command line: ``alignscope align | evaluate | diagnose | export | curve | apply``.

Every command calls the same core functions as the app. Bad input exits with
status 2 and a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .errors import AlignScopeError


def _add_data_args(p: argparse.ArgumentParser, need_tgt: bool = True) -> None:
    p.add_argument("--src", required=True, help="source embeddings (.vec/.txt[.gz], .bin, .npy+.vocab.txt, .npz)")
    if need_tgt:
        p.add_argument("--tgt", required=True, help="target embeddings (same formats)")
    p.add_argument("--max-vocab", type=int, default=None, help="keep the first N rows (default 200000)")
    p.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None,
                   help="lowercase words, keeping the most frequent spelling (default on)")


def _add_split_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("paired items (two encoders' embeddings of the same items)")
    g.add_argument("--pairs", choices=("ids",), default=None,
                   help="ids: the items whose id is on both sides are the pairs (ids are never lowercased; "
                        "a duplicate id is an error), split into held-out test pairs and training items")
    g.add_argument("--test-size", type=int, default=None,
                   help="held-out test pairs no method sees (default 8192; at most a quarter of the pairs)")
    g.add_argument("--train-pairs", default=None,
                   help="paired training items: all (default for procrustes), 0 (default for the "
                        "unsupervised methods: the rest is split into disjoint halves), or K")
    g.add_argument("--split-seed", type=int, default=None, help="seed of the split (default: --seed)")
    g.add_argument("--split-order", choices=("random", "file"), default=None,
                   help="random (default) or file: the last test-size pairs are the test set and the "
                        "halves are the first and second half of the rest (the mini-vec2vec notebook)")


def _split_from_args(args) -> dict | None:
    if args.pairs != "ids":
        given = [f for f in ("test_size", "train_pairs", "split_seed", "split_order")
                 if getattr(args, f, None) is not None]
        if given:
            raise AlignScopeError(f"--{given[0].replace('_', '-')} is for paired items: add --pairs ids")
        return None
    split: dict = {"seed": args.split_seed if args.split_seed is not None else args.seed}
    if args.test_size is not None:
        split["test_size"] = args.test_size
    if args.split_order is not None:
        split["order"] = args.split_order
    if args.train_pairs is not None:
        tp = str(args.train_pairs)
        if tp != "all" and not tp.isdigit():
            raise AlignScopeError(f"--train-pairs must be all or a number ≥ 0; got {tp!r}")
        split["train_pairs"] = None if tp == "all" else int(tp)
    return split


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
    a.add_argument("--fallback", default="identical", choices=("identical", "none"),
                   help="with --seeds none on words: when the run likely failed (its verdict) and the vocabularies "
                        "share enough identical strings, run again with them as seed pairs (identical, the "
                        "default), or never (none)")
    a.add_argument("--normalize", default="renorm,center,renorm", help="comma list of renorm, center, iternorm (or none)")
    a.add_argument("--refinements", type=int, default=None, help="refinement rounds (procrustes default 0, muse: from the preset, 5 or at most 15)")
    a.add_argument("--preset", default=None, help="MUSE preset: ica (default: no adversarial game; the start is independent components matched between the two spaces, each candidate refined with mutual CSLS dictionaries, their consensus, S2T polish: about 4 minutes on fi→fr with no seed), small (the adversarial game: two games at once in worker processes, each a 128-unit discriminator for 20k steps, then the same refinement and consensus; --param restarts=N sets the games, parallel=false runs them one after the other), fast (a short game: a quick look that often fails without seeds) or paper")
    a.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="any other method parameter (repeatable), e.g. --param csls_k=10")
    a.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    _add_split_args(a)
    a.add_argument("--out", required=True, help="output folder")
    a.add_argument("--quiet", action="store_true", help="no progress on stderr")

    c = sub.add_parser("curve", help="paired items: how many pairs a mapping needs (top-1, mean rank, mean "
                                     "cosine against K paired training items; JSON and CSV)")
    c.add_argument("--src", required=True, help="source encoder's embeddings (with ids)")
    c.add_argument("--tgt", required=True, help="target encoder's embeddings (with ids)")
    c.add_argument("--max-vocab", type=int, default=None, help="keep the first N rows (default: all)")
    c.add_argument("--ks", default="10,30,100,300,1000,3000,10000,all",
                   help="comma list of K (training pairs per point; 'all' = every non-test pair)")
    c.add_argument("--draws", type=int, default=3, help="random draws of the K pairs per K (default 3)")
    c.add_argument("--semi", default="",
                   help="comma list of K for the semi-supervised variant too (K pairs + mini-vec2vec "
                        "refinement on the unpaired rest), e.g. 10,30,100,300")
    c.add_argument("--normalize", default="renorm,center,renorm", help="as for align")
    c.add_argument("--test-size", type=int, default=None, help="held-out test pairs (default 8192, at most a quarter)")
    c.add_argument("--split-seed", type=int, default=0, help="seed of the split (the test set)")
    c.add_argument("--split-order", default="random", choices=("random", "file"))
    c.add_argument("--out", required=True, help="output folder: curve.json and curve.csv")
    c.add_argument("--quiet", action="store_true", help="no progress on stderr")

    e = sub.add_parser("evaluate", help="BLI precision@1/5/10 of a saved run (nn, csls, isf)")
    _add_data_args(e)
    e.add_argument("--run", required=True, help="a folder written by 'alignscope align'")
    e.add_argument("--eval-dict", default=None,
                   help="evaluation dictionary (required for words; a paired-items run evaluates its held-out ids)")
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
    from .store import add_apply_parser

    add_apply_parser(sub)
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


def _load_pair(args, cfg_defaults: dict | None = None, ids: bool | None = None):
    """Load --src and --tgt. Paired items (``ids``, or a run saved with pairs=ids) are
    read with ids=True: never lowercased, every row kept, a duplicate id an error."""
    from .io import DEFAULT_MAX_VOCAB, load_embeddings

    d = cfg_defaults or {}
    ids = d.get("pairs") == "ids" if ids is None else ids
    max_vocab = args.max_vocab if args.max_vocab is not None else d.get(
        "max_vocab", None if ids else DEFAULT_MAX_VOCAB)
    if ids:
        if getattr(args, "lowercase", None):
            raise AlignScopeError("paired items: ids are identifiers and are never lowercased (drop --lowercase)")
        lowercase = False
    else:
        lowercase = args.lowercase if getattr(args, "lowercase", None) is not None else d.get("lowercase", True)
    src = load_embeddings(args.src, max_vocab=max_vocab, lowercase=lowercase, ids=ids)
    tgt = (load_embeddings(args.tgt, max_vocab=max_vocab, lowercase=lowercase, ids=ids)
           if getattr(args, "tgt", None) else None)
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
    split = _split_from_args(args)
    if split is not None and (args.seed_dict or args.eval_dict or args.seeds is not None):
        raise AlignScopeError("--pairs ids pairs the items by id: the training and test pairs come from the "
                              "split (--train-pairs, --test-size), not from --seed-dict/--eval-dict/--seeds")
    t0 = time.perf_counter()
    src, tgt, max_vocab, lowercase = _load_pair(args, ids=split is not None)
    seed_dict = load_dictionary(args.seed_dict) if args.seed_dict else None
    eval_dict = load_dictionary(args.eval_dict) if args.eval_dict else None
    load_s = time.perf_counter() - t0
    config = RunConfig(method=args.method, params=params, seeds=seeds, normalize=args.normalize,
                       max_vocab=max_vocab, lowercase=lowercase, seed=args.seed,
                       src=str(Path(args.src).resolve()), tgt=str(Path(args.tgt).resolve()),
                       seed_dict=str(Path(args.seed_dict).resolve()) if args.seed_dict else None,
                       eval_dict=str(Path(args.eval_dict).resolve()) if args.eval_dict else None,
                       pairs=args.pairs, split=split, fallback=args.fallback)
    if not args.quiet:
        print(f"loaded {len(src)}×{src.dim} and {len(tgt)}×{tgt.dim} in {load_s:.1f}s", file=sys.stderr)
    result = execute(config, src, tgt, seed_dict, eval_dict, on_event=_progress(args.quiet), load_s=load_s,
                     per_word=False)
    out = save_run(result, args.out)
    summary = {"out": str(out), "timings": result.to_json()["timings"]}
    if result.paired is not None:
        summary["split"] = result.split
        summary["paired"] = {k: v.to_dict() for k, v in result.paired.items()}
    elif result.evaluation is not None:
        summary["evaluation"] = result.evaluation.to_dict()
    if result.verdict is not None:
        summary["verdict"] = result.verdict
    if result.fallback is not None:
        summary["fallback"] = {k: v for k, v in result.fallback.items() if k != "first"}
        summary["fallback"]["first_verdict"] = result.fallback["first"]["verdict"]["status"]
    print(json.dumps(summary))
    return 0


def cmd_evaluate(args) -> int:
    from .dictionary import load_dictionary
    from .evaluation import evaluate_bli
    from .runs import load_run

    cfg, w = load_run(args.run)
    src, tgt, _, lowercase = _load_pair(args, cfg.to_dict())
    src, tgt = _normalized_as_run(src, args.run, "src", cfg), _normalized_as_run(tgt, args.run, "tgt", cfg)
    if w.shape != (tgt.dim, src.dim):
        raise AlignScopeError(f"{args.run}/mapping.npy has shape {w.shape}, but these files need "
                              f"({tgt.dim}, {src.dim}) (target dim × source dim)")
    if cfg.pairs == "ids" and args.eval_dict is None:
        return _evaluate_items(args, src, tgt, w)
    if args.eval_dict is None:
        raise AlignScopeError("--eval-dict is required (a dictionary of 'source target' pairs)")
    d = load_dictionary(args.eval_dict, lowercase=lowercase)
    res = evaluate_bli(src, tgt, w, d, per_word=bool(args.per_word))
    if args.per_word:
        _write_per_word_csv(res.per_word, args.per_word)
    print(json.dumps({"evaluation": res.to_dict(), "eval_coverage": d.coverage(src, tgt).to_dict()}))
    return 0


def _normalized_as_run(emb, run_dir: str, side: str, cfg):
    """``emb`` normalized as the run did: its saved steps (fitted means) replayed, or,
    for a run saved before normalization.json existed, the steps fitted again."""
    from .embeddings import Embeddings
    from .runs import load_run_normalization

    if not (Path(run_dir) / "normalization.json").exists():
        return emb.normalize(cfg.normalize)
    steps = load_run_normalization(run_dir, side)
    if any(st.mean is not None and st.mean.shape[0] != emb.dim for st in steps):
        raise AlignScopeError(f"{run_dir}/normalization.json: its {side} means are not {emb.dim}-d like {emb.name}")
    x = emb.vectors
    for st in steps:
        x = st.apply(x)
    return Embeddings(emb.words, x, tuple(steps), emb.report, emb.name)


def _evaluate_items(args, src, tgt, w) -> int:
    """A paired-items run: the vec2vec metrics on its held-out ids (test_ids.txt)."""
    from .evaluation import evaluate_pairs

    p = Path(args.run) / "test_ids.txt"
    if not p.exists():
        raise AlignScopeError(f"{p}: missing; pass --eval-dict, or re-run 'alignscope align --pairs ids'")
    ids = [line for line in p.read_text(encoding="utf-8").split("\n") if line]
    missing = [i for i in ids if i not in src.index or i not in tgt.index]
    if missing:
        raise AlignScopeError(f"{p}: {len(missing)} held-out id(s) are not in both files (first: {missing[0]!r})")
    pairs = np.stack([src.rows(ids), tgt.rows(ids)], axis=1)
    out = {c: evaluate_pairs(src, tgt, w, pairs, c).to_dict() for c in ("test", "all")}
    print(json.dumps({"paired": out}))
    return 0


def _write_per_word_csv(rows: list[dict], path: str) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(["source", "source_rank", "gold", "pred_nn", "rank_nn", "pred_csls", "rank_csls", "cos_gold"])
        for r in rows:
            wr.writerow([r["source"], r["source_rank"], "|".join(r["gold"]), r["top_nn"][0][0], r["rank_nn"],
                         r["top_csls"][0][0], r["rank_csls"], r["cos_gold"]])


def cmd_curve(args) -> int:
    from .curve import pairs_needed_curve
    from .items import DEFAULT_TEST_SIZE, SplitConfig

    def ks_of(text: str, allow_all: bool) -> tuple:
        out = []
        for part in [p.strip() for p in text.split(",") if p.strip()]:
            if part == "all" and allow_all:
                out.append(None)
            elif part.isdigit() and int(part) > 0:
                out.append(int(part))
            else:
                raise AlignScopeError(f"--ks/--semi: expected positive numbers{' or all' if allow_all else ''}, "
                                      f"got {part!r}")
        return tuple(out)

    ks, semi = ks_of(args.ks, True), ks_of(args.semi, False)
    if args.draws < 1:
        raise AlignScopeError(f"--draws must be at least 1, got {args.draws}")
    t0 = time.perf_counter()
    src, tgt, _, _ = _load_pair(args, ids=True)
    if not args.quiet:
        print(f"loaded {len(src)}×{src.dim} and {len(tgt)}×{tgt.dim} in {time.perf_counter() - t0:.1f}s",
              file=sys.stderr)
    split = SplitConfig(test_size=args.test_size or DEFAULT_TEST_SIZE, seed=args.split_seed, order=args.split_order)

    def show(p: dict) -> None:
        if not args.quiet:
            print(f"[{p['variant']} K={'all' if p['k'] is None else p['k']} draw {p['draw']}] top1={p['top1']:.2f} "
                  f"mean_rank={p['mean_rank']:.1f} mean_cos={p['mean_cos']:.3f} ({p['seconds']:.1f}s)",
                  file=sys.stderr, flush=True)

    res = pairs_needed_curve(src, tgt, ks=ks, draws=args.draws, split=split, normalize=args.normalize,
                             semi_ks=semi, on_point=show)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "curve.json").write_text(json.dumps(res.to_json(), indent=2) + "\n")
    (out / "curve.csv").write_text(res.to_csv())
    print(json.dumps({"out": str(out), "seconds": round(res.seconds, 2), "summary": res.summary()}))
    return 0


def cmd_export(args) -> int:
    from .io import save_npy, save_word2vec
    from .runs import load_run

    cfg, w = load_run(args.run)
    src, _, _, _ = _load_pair(args, cfg.to_dict())
    src = _normalized_as_run(src, args.run, "src", cfg)
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
    handlers = {"align": cmd_align, "evaluate": cmd_evaluate, "export": cmd_export, "curve": cmd_curve}
    if args.command == "diagnose":
        from .diagnostics.command import run_diagnose

        handler = run_diagnose
    elif args.command == "apply":
        from .store import run_apply

        handler = run_apply
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
