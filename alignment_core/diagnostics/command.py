"""``alignscope diagnose``: the command-line face of :func:`.report.diagnose`.

    alignscope diagnose --src FILE --tgt FILE [--dict FILE] [--run DIR]
                        [--eval-dict FILE] [--top N] --out DIR
                        [--normalize SPEC] [--max-vocab N] [--lowercase/--no-lowercase]
                        [--n-words N] [--n-hub N] [--drift-rounds N]

Writes ``DIR/diagnostics.json``; with ``--eval-dict`` (and a mapping: ``--run`` or
``--dict``) also ``DIR/per_word.csv``; with ``--dict`` and a mapping also
``DIR/dictionary_residuals.csv`` (worst pairs first). ``--run DIR`` reads the mapping
``DIR/mapping.npy`` (d_tgt × d_src, ``allow_pickle=False``) and ``DIR/config.json``,
whose ``normalize``, ``lowercase`` and ``max_vocab`` become the defaults.
Bad input raises :class:`alignment_core.errors.AlignScopeError` subclasses; the CLI turns
them into a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from ..embeddings import DEFAULT_NORMALIZATION, parse_normalization
from ..errors import AlignScopeError, ConfigError
from .isomorphism import DEFAULT_N

DEFAULTS = {"normalize": ",".join(DEFAULT_NORMALIZATION), "lowercase": True, "max_vocab": 200_000}

PER_WORD_COLUMNS = (
    "source", "source_rank", "gold", "pred_nn", "score_nn", "rank_nn", "nk_pred_nn", "hub_pred_nn",
    "pred_csls", "score_csls", "rank_csls", "nk_pred_csls", "hub_pred_csls", "top_nn", "top_csls",
    "cos_gold", "translated_neighbours", "neighbourhood_agreement", "correct_csls", "reasons",
)
RESIDUAL_COLUMNS = ("source", "target", "residual", "cos", "robust_z", "outlier")


def add_diagnose_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``diagnose`` sub-command to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "diagnose", help="hubness, isomorphism and per-word failure analysis; writes diagnostics.json",
        description="Will an alignment of these two spaces work, and if not, why? Writes DIR/diagnostics.json "
                    "(and per_word.csv with --eval-dict, dictionary_residuals.csv with --dict).")
    p.add_argument("--src", required=True, help="source embeddings (.vec/.txt[.gz], .bin, .npy+.vocab.txt, .npz)")
    p.add_argument("--tgt", required=True, help="target embeddings (same formats)")
    p.add_argument("--dict", dest="dict", default=None,
                   help="dictionary of paired anchors ('source target' per line): the paired measures, "
                        "and the mapping (Procrustes) when no --run is given")
    p.add_argument("--run", default=None, help="a folder written by 'alignscope align' (mapping.npy, config.json)")
    p.add_argument("--eval-dict", default=None, help="evaluation dictionary: per-word failure table")
    p.add_argument("--top", type=int, default=10, help="how many hubs / outliers to list (default 10)")
    p.add_argument("--n-words", type=int, default=DEFAULT_N,
                   help=f"most frequent words per side for isomorphism and hubness (default {DEFAULT_N})")
    p.add_argument("--n-hub", type=int, default=None,
                   help="most frequent words per side for hubness (default: --n-words); larger = N_k known "
                        "for more predicted words in per_word.csv, slower")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--normalize", default=None,
                   help="comma list of renorm, center, iternorm, or none (default: the run's, else renorm,center,renorm)")
    p.add_argument("--max-vocab", type=int, default=None, help="keep the first N rows (default: the run's, else 200000)")
    p.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None,
                   help="lowercase words, keeping the most frequent spelling (default: the run's, else on)")
    p.add_argument("--drift-rounds", type=int, default=0,
                   help="also refine the mapping N rounds without any dictionary and report how the unsupervised "
                        "criterion, P@1 and the induced dictionary move (self_learning_drift: does the "
                        "unsupervised objective keep this mapping? default 0 = skip; ~5 s a round at 20k words)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def _run_defaults(run_dir: str) -> tuple[dict, np.ndarray]:
    """(defaults from config.json, W) of a run folder, via :func:`alignment_core.runs.load_run`."""
    from ..runs import load_run

    path = Path(run_dir)
    cfg_path = path / "config.json"
    if cfg_path.exists():
        try:
            raw = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{cfg_path}: not valid JSON ({e})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{cfg_path}: expected a JSON object with the run's settings, got {type(raw).__name__}")
    try:
        cfg, w = load_run(path)
    except AlignScopeError:
        raise
    except (TypeError, ValueError, EOFError) as e:
        raise ConfigError(f"{path}: unreadable run ({e})") from None
    if not np.issubdtype(w.dtype, np.number) or not np.isfinite(w).all():
        raise ConfigError(f"{path / 'mapping.npy'}: the mapping must hold finite numbers")
    d = cfg.to_dict()
    return {key: d.get(key, DEFAULTS[key]) for key in DEFAULTS}, w


def run_diagnose(args: argparse.Namespace) -> int:
    """Run ``alignscope diagnose`` for parsed ``args``; returns the exit status (0)."""
    from ..dictionary import load_dictionary
    from ..io import load_embeddings
    from .report import diagnose

    say = (lambda msg: None) if getattr(args, "quiet", False) else (
        lambda msg: print(f"[diagnose] {msg}", file=sys.stderr, flush=True))
    defaults = dict(DEFAULTS)
    w = None
    if args.run:
        defaults, w = _run_defaults(args.run)
    normalize = args.normalize if args.normalize is not None else defaults["normalize"]
    parse_normalization(normalize)  # ConfigError on a bad spec, before any loading
    max_vocab = args.max_vocab if args.max_vocab is not None else defaults["max_vocab"]
    lowercase = args.lowercase if args.lowercase is not None else bool(defaults["lowercase"])
    if max_vocab is not None and max_vocab < 1:
        raise ConfigError(f"--max-vocab must be at least 1, got {max_vocab}")
    if args.top < 1:
        raise ConfigError(f"--top must be at least 1, got {args.top}")
    if args.n_words < 20:
        raise ConfigError(f"--n-words must be at least 20, got {args.n_words}")
    if args.drift_rounds < 0:
        raise ConfigError(f"--drift-rounds must be ≥ 0, got {args.drift_rounds}")
    if args.n_hub is not None and args.n_hub < 20:
        raise ConfigError(f"--n-hub must be at least 20, got {args.n_hub}")

    say("loading embeddings")
    src = load_embeddings(args.src, max_vocab=max_vocab, lowercase=lowercase).normalize(normalize)
    tgt = load_embeddings(args.tgt, max_vocab=max_vocab, lowercase=lowercase).normalize(normalize)
    if w is not None and w.shape != (tgt.dim, src.dim):
        raise ConfigError(f"{Path(args.run) / 'mapping.npy'} has shape {w.shape}, but these files need "
                          f"({tgt.dim}, {src.dim}) (target dim × source dim)")
    dictionary = load_dictionary(args.dict, lowercase=lowercase) if args.dict else None
    eval_dictionary = load_dictionary(args.eval_dict, lowercase=lowercase) if args.eval_dict else None
    if w is None and dictionary is None:
        say("no mapping (--run) and no dictionary (--dict): describing the spaces before alignment")

    report = diagnose(src, tgt, w=w, dictionary=dictionary, eval_dictionary=eval_dictionary, top=args.top,
                      n_iso=args.n_words, n_hub=args.n_hub, progress=say, drift_rounds=args.drift_rounds)
    per_word = report.pop("per_word")
    residual_rows = report.pop("dictionary_residual_rows")
    report["settings"]["normalize"] = normalize
    report["settings"]["lowercase"] = lowercase
    report["settings"]["max_vocab"] = max_vocab
    report["settings"]["run"] = str(Path(args.run).resolve()) if args.run else None

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"--out {out}: exists and is not a folder") from None
    files = {"diagnostics": str(out / "diagnostics.json")}
    if per_word:
        write_per_word_csv(per_word, out / "per_word.csv")
        files["per_word"] = str(out / "per_word.csv")
    if residual_rows:
        write_residuals_csv(residual_rows, out / "dictionary_residuals.csv")
        files["dictionary_residuals"] = str(out / "dictionary_residuals.csv")
    report["files"] = files
    (out / "diagnostics.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"out": str(out), "files": files, "verdict": report["verdict"]["unsupervised"],
                      "summary": report["verdict"]["summary"]}, ensure_ascii=False))
    return 0


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        if v and isinstance(v[0], list):  # [[word, score], ...]
            return " ".join(f"{a}:{b}" for a, b in v)
        return "|".join(str(x) for x in v)
    return str(v)


def write_per_word_csv(rows: list[dict], path: str | Path) -> None:
    """One line per evaluation word; lists joined with '|', top-k as 'word:score' pairs."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(PER_WORD_COLUMNS)
        for r in rows:
            wr.writerow([_cell(r.get(c)) for c in PER_WORD_COLUMNS])


def write_residuals_csv(rows: list[dict], path: str | Path) -> None:
    """Dictionary pairs by decreasing robust z-score of their Procrustes residual."""
    order = sorted(rows, key=lambda r: -r["robust_z"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(RESIDUAL_COLUMNS)
        for r in order:
            wr.writerow([_cell(r.get(c)) for c in RESIDUAL_COLUMNS])
