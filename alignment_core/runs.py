"""Runs: a configuration in, a result out — the one pipeline the CLI and the app share.

``execute(config, src, tgt, seed_dict, eval_dict)`` normalizes both spaces, builds the
seed pairs, runs the method (events to ``on_event``; ``cancel`` stops it keeping the
best mapping so far), evaluates by the MUSE BLI protocol and returns a
:class:`RunResult`. ``save_run`` writes ``result.json``, ``config.json``,
``mapping.npy`` (W, d_tgt × d_src; aligned = X·Wᵀ) and ``induced_dictionary.txt``.
Everything is JSON or ``.npy``; nothing is pickled.
"""

from __future__ import annotations

import dataclasses
import os
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .dictionary import Dictionary, identical_strings, pairs_to_dictionary
from .embeddings import DEFAULT_NORMALIZATION, Embeddings, NormStep, parse_normalization
from .errors import ConfigError, DictionaryFormatError
from .evaluation import BLIResult, PairedResult, evaluate_bli, evaluate_pairs
from .items import SplitConfig, id_pairs, split_items
from .methods import IterationEvent, Monitor, make_config, method_classes, run_method
from .success import UNSUPERVISED_METHODS, assess

RUN_FILES = ("result.json", "config.json", "mapping.npy", "induced_dictionary.txt", "normalization.json")
PAIRS_MODES = (None, "ids")
FALLBACKS = ("identical", "none")
#: an unsupervised run on words with no seed pair whose verdict is "likely failed" is run
#: again with the identical strings as seed pairs (``RunConfig.fallback``) when the two
#: vocabularies share at least this many (en→fr: 4,865; the rotated teaching pair,
#: whose target words are renamed: none)
FALLBACK_IDENTICAL_MIN = 200
#: paired items with no training pair (two encoders, disjoint halves): the settings that
#: get off chance there (docs/unsupervised-encoders.md), used for each one the user did not set
ITEMS_UNSUPERVISED_DEFAULTS = {"mini-vec2vec": {"init": "ica", "csls_refinements": 5}}
#: two word spaces with no seed pair: the settings that reach the supervised level on fi→fr and
#: recover the known rotation (bench/bench_defaults.py, docs/defaults.md); used when the user
#: did not choose ``init`` (any other setting the user gave is kept). MUSE's default preset
#: ("ica") is the same start and refinement. Also with the identical strings as seed pairs (a
#: few numerals and names, not a dictionary): fi→fr CSLS P@1 32.8 with these against 22.7 with
#: the notebook's k-means anchors (0.96 against 1.69 GB), en→fr 22.2 against 16.8 (0.9 against
#: 3.37 GB); a seed dictionary keeps the notebook's path (the sample: 61.8 against 60.6 with
#: these, in 45 s against 74 s; docs/defaults.md)
WORDS_UNSUPERVISED_DEFAULTS = {"mini-vec2vec": {"init": "ica", "ica_consensus": True, "csls_refinements": 5,
                                                "csls_patience": 2, "polish": 8, "max_rows": 15_000}}


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to run an alignment again.

    ``seeds``: which seed pairs the method gets — ``"all"`` (the whole seed dictionary;
    the default for Procrustes), ``"none"``, ``"identical"`` (identical strings), or an
    int N (the pairs of the first N source words of the seed dictionary).
    ``params``: the method's own parameters (see each method's config dataclass).
    ``pairs``: ``"ids"`` for two encoders' embeddings of the same items: the pairs are the
    ids on both sides, split by ``split`` (:class:`alignment_core.items.SplitConfig` as a
    dict: held-out test items, K training pairs or disjoint unpaired halves); ids are
    never lowercased. ``split["train_pairs"]`` defaults to all for Procrustes, 0 for the
    unsupervised methods.
    """

    method: str = "procrustes"
    params: dict = field(default_factory=dict)
    seeds: str | int = "all"
    normalize: str = ",".join(DEFAULT_NORMALIZATION)
    max_vocab: int | None = 200_000
    lowercase: bool = True
    seed: int = 0
    src: str | None = None
    tgt: str | None = None
    seed_dict: str | None = None
    eval_dict: str | None = None
    pairs: str | None = None
    split: dict | None = None
    texts_src: str | None = None
    texts_tgt: str | None = None
    # an unsupervised run on words (seeds "none") that likely failed is run again with the
    # identical strings as seed pairs ("identical"; "none": never). Unsupervised evidence only
    # (the verdict) decides; the evaluation dictionary never does
    fallback: str = "identical"

    def __post_init__(self):
        parse_normalization(self.normalize)
        if self.fallback not in FALLBACKS:
            raise ConfigError(f"fallback must be one of {FALLBACKS}, got {self.fallback!r}")
        if self.pairs not in PAIRS_MODES:
            raise ConfigError(f"pairs must be 'ids' or unset, got {self.pairs!r}")
        if self.pairs == "ids":
            if self.lowercase:
                raise ConfigError("paired items: ids are identifiers and are never lowercased (lowercase=False)")
            split = dict(self.split or {})
            if "train_pairs" not in split:
                split["train_pairs"] = None if self.method == "procrustes" else 0
            object.__setattr__(self, "split", SplitConfig.from_dict(split).to_dict())
        elif self.split is not None:
            raise ConfigError("a split is for paired items (pairs='ids')")
        if isinstance(self.seeds, str) and self.seeds not in ("all", "none", "identical"):
            try:
                object.__setattr__(self, "seeds", int(self.seeds))
            except ValueError:
                raise ConfigError(f"seeds must be all, none, identical or a number of pairs; got {self.seeds!r}") from None
        if isinstance(self.seeds, int) and self.seeds < 0:
            raise ConfigError(f"seeds must be ≥ 0, got {self.seeds}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def method_config(self):
        """The method's frozen config; ``seed`` is passed to methods that take one."""
        _, cfg_cls = method_classes(self.method)
        params = dict(self.params)
        if "seed" in {f.name for f in dataclasses.fields(cfg_cls)}:
            params.setdefault("seed", self.seed)
        return make_config(self.method, **params)


@dataclass
class RunResult:
    config: RunConfig
    w: np.ndarray
    src: Embeddings                 # normalized as the run used them
    tgt: Embeddings
    induced: Dictionary
    history: list[dict]
    timings: dict[str, float]
    evaluation: BLIResult | None = None
    seed_pairs: int = 0
    seed_coverage: dict | None = None
    eval_coverage: dict | None = None
    criterion: float | None = None
    cancelled: bool = False
    method_config: dict = field(default_factory=dict)
    split: dict | None = None                       # paired items: the split's sizes and config
    paired: dict[str, PairedResult] | None = None   # paired items: "test" and "all" candidates
    test_pairs: np.ndarray | None = None            # paired items: (m, 2) rows of src/tgt held out
    verdict: dict | None = None                     # unsupervised runs: did it work? (alignment_core.success)
    fallback: dict | None = None                    # the run without seeds that likely failed, when retried

    def aligned_source(self) -> np.ndarray:
        return np.ascontiguousarray(self.src.vectors @ self.w.T)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.config.method,
            "config": self.config.to_dict(),
            "method_config": self.method_config,
            "vocab": {"src": len(self.src), "tgt": len(self.tgt), "dim_src": self.src.dim, "dim_tgt": self.tgt.dim},
            "normalization": {"src": self.src.step_names, "tgt": self.tgt.step_names},
            "seed_pairs": self.seed_pairs,
            "seed_coverage": self.seed_coverage,
            "eval_coverage": self.eval_coverage,
            "induced_pairs": len(self.induced),
            "criterion": self.criterion,
            "cancelled": self.cancelled,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
            "split": self.split,
            "paired": None if self.paired is None else {k: v.to_dict() for k, v in self.paired.items()},
            "verdict": self.verdict,
            "fallback": self.fallback,
            "history": self.history,
        }


def seed_pairs_for(config: RunConfig, src: Embeddings, tgt: Embeddings,
                   seed_dict: Dictionary | None) -> np.ndarray | None:
    """The (m, 2) seed rows the config asks for, or None."""
    spec = config.seeds
    if spec == "none" or spec == 0:
        return None
    if spec == "identical":
        return identical_strings(src, tgt).index_pairs(src, tgt)
    if seed_dict is None:
        if config.method == "procrustes":
            raise ConfigError("supervised Procrustes needs a seed dictionary (--seed-dict) or --seeds identical")
        if spec == "all":
            return None  # unsupervised methods: no dictionary means no seeds
        raise ConfigError(f"seeds={spec} asks for pairs from a seed dictionary, but none was given")
    d = seed_dict if spec == "all" else seed_dict.head_sources(int(spec))
    pairs = d.index_pairs(src, tgt)
    if len(pairs) == 0:
        raise DictionaryFormatError(seed_dict.name, None,
                                    "no seed pair has both words in the vocabularies " + d.coverage(src, tgt).describe())
    return pairs


def execute(config: RunConfig, src_raw: Embeddings, tgt_raw: Embeddings,
            seed_dict: Dictionary | None = None, eval_dict: Dictionary | None = None,
            on_event: Callable[[IterationEvent], None] | None = None,
            cancel: threading.Event | None = None, per_word: bool = True,
            load_s: float = 0.0) -> RunResult:
    """Normalize, seed, align, evaluate. ``src_raw``/``tgt_raw`` are as loaded
    (lowercased already if the config says so); dictionaries are lowercased here."""
    if config.pairs == "ids":
        return execute_items(config, src_raw, tgt_raw, on_event=on_event, cancel=cancel,
                             per_word=per_word, load_s=load_s)
    first = _execute_words(config, src_raw, tgt_raw, seed_dict, eval_dict, on_event, cancel, per_word, load_s)
    n_identical = 0
    if (config.fallback == "identical" and config.seeds == "none" and config.method in UNSUPERVISED_METHODS
            and not first.cancelled and first.verdict is not None and first.verdict["status"] == "likely failed"):
        n_identical = len(identical_strings(src_raw, tgt_raw))
    if n_identical < FALLBACK_IDENTICAL_MIN or (cancel is not None and cancel.is_set()):
        return first
    why = (f"the run without seed pairs likely failed; the vocabularies share {n_identical:,} identical strings: "
           f"running again with them as seed pairs")
    if on_event is not None:
        on_event(IterationEvent("fallback", 1, 1, {"identical_pairs": n_identical}, 0.0, message=why))
    # the same run (the defaults it was given included) with the identical strings as seed pairs
    retry = dataclasses.replace(first.config, seeds="identical")
    second = _execute_words(retry, src_raw, tgt_raw, None, eval_dict, on_event, cancel, per_word, 0.0)
    second.fallback = {
        "reason": why, "identical_pairs": n_identical, "min_identical": FALLBACK_IDENTICAL_MIN,
        "first": {"seeds": config.seeds, "verdict": first.verdict, "criterion": first.criterion,
                  "align_s": round(first.timings["align_s"], 2),
                  "evaluation": None if first.evaluation is None else first.evaluation.to_dict()},
    }
    second.timings = {**second.timings, "first_attempt_s": first.timings["align_s"],
                      "load_s": load_s, "total_s": first.timings["total_s"] + second.timings["total_s"]}
    return second


def _execute_words(config: RunConfig, src_raw: Embeddings, tgt_raw: Embeddings, seed_dict: Dictionary | None,
                   eval_dict: Dictionary | None, on_event, cancel, per_word: bool, load_s: float) -> RunResult:
    """One run on two word spaces (``execute`` without the fallback)."""
    t0 = time.perf_counter()
    config.method_config()   # a bad parameter fails before the normalization
    if config.lowercase:
        seed_dict = seed_dict.lowercased() if seed_dict is not None else None
        eval_dict = eval_dict.lowercased() if eval_dict is not None else None
    src = src_raw.normalize(config.normalize)
    tgt = tgt_raw.normalize(config.normalize)
    seeds = seed_pairs_for(config, src, tgt, seed_dict)
    defaults = WORDS_UNSUPERVISED_DEFAULTS.get(config.method, {}) if seeds is None or config.seeds == "identical" else {}
    if defaults and "init" not in config.params:
        config = dataclasses.replace(config, params={**defaults, **config.params})
    method_cfg = config.method_config()
    method_cls, _ = method_classes(config.method)
    monitor = Monitor.from_pairs(eval_dict.index_pairs(src, tgt)) if eval_dict is not None else None
    method = method_cls(method_cfg)
    t1 = time.perf_counter()
    alignment = run_method(method, src, tgt, seeds, monitor, on_event=on_event, cancel=cancel)
    t2 = time.perf_counter()
    evaluation = evaluate_bli(src, tgt, alignment.w, eval_dict, per_word=per_word) if eval_dict is not None else None
    t3 = time.perf_counter()
    induced = pairs_to_dictionary(alignment.induced, src, tgt) if len(alignment.induced) else Dictionary(())
    verdict = None
    if config.method in UNSUPERVISED_METHODS or config.seeds == "none":   # from unsupervised evidence only
        verdict = assess(src, tgt, alignment.w, alignment.history, config.method,
                         identical_seeds=config.seeds == "identical")
    return RunResult(
        config=config, w=np.asarray(alignment.w, np.float32), src=src, tgt=tgt, induced=induced,
        history=alignment.history,
        timings={"load_s": load_s, "align_s": t2 - t1 + (t1 - t0), "evaluate_s": t3 - t2,
                 "total_s": load_s + t3 - t0},
        evaluation=evaluation, seed_pairs=0 if seeds is None else int(len(seeds)),
        seed_coverage=seed_dict.coverage(src, tgt).to_dict() if seed_dict is not None else None,
        eval_coverage=eval_dict.coverage(src, tgt).to_dict() if eval_dict is not None else None,
        criterion=alignment.criterion, cancelled=alignment.cancelled,
        method_config=dataclasses.asdict(method_cfg), verdict=verdict,
    )


def execute_items(config: RunConfig, src_raw: Embeddings, tgt_raw: Embeddings,
                  on_event: Callable[[IterationEvent], None] | None = None,
                  cancel: threading.Event | None = None, per_word: bool = True, candidates_all: bool = True,
                  bli: bool = True, load_s: float = 0.0) -> RunResult:
    """Two encoders' embeddings of the same items, paired by id (``config.pairs == "ids"``).

    The pairs are split (:func:`alignment_core.items.split_items`); each side is
    normalized with means fitted on the rows the method sees, never on the test items;
    the method fits on those rows only (the training pairs are its seed pairs); the
    mapping is then evaluated on the held-out pairs: paired-item metrics against the
    held-out targets and against every target row (``candidates_all``), and the BLI
    view (per-item top-10, ranks) against the held-out targets."""
    t0 = time.perf_counter()
    pairs = id_pairs(src_raw, tgt_raw).index_pairs(src_raw, tgt_raw)
    split = split_items(pairs, SplitConfig.from_dict(config.split))
    defaults = ITEMS_UNSUPERVISED_DEFAULTS.get(config.method, {}) if len(split.train) == 0 else {}
    if any(k not in config.params for k in defaults):
        config = dataclasses.replace(config, params={**defaults, **config.params})
    method_cfg = config.method_config()
    method_cls, _ = method_classes(config.method)
    fit_s, fit_t = split.fit_rows()
    if config.method == "procrustes" and len(split.train) == 0:
        raise ConfigError("supervised Procrustes needs paired training items (train_pairs ≥ 1); "
                          "train_pairs = 0 is for the unsupervised methods")
    src = src_raw.normalize(config.normalize, fit_rows=fit_s)
    tgt = tgt_raw.normalize(config.normalize, fit_rows=fit_t)
    seeds = split.train_in_fit() if len(split.train) else None
    method = method_cls(method_cfg)

    def to_full_rows(ev: IterationEvent) -> None:
        # the method's rows are rows of the fitted sub-spaces: its events speak of the loaded rows
        if ev.pairs is not None and len(ev.pairs):
            p = np.asarray(ev.pairs, np.int64)
            ev.pairs = np.stack([fit_s[p[:, 0]], fit_t[p[:, 1]]], axis=1)
        on_event(ev)

    alignment = run_method(method, src.subset(fit_s), tgt.subset(fit_t), seeds, None,
                           on_event=None if on_event is None else to_full_rows, cancel=cancel)
    t2 = time.perf_counter()
    w = np.asarray(alignment.w, np.float32)
    paired = {"test": evaluate_pairs(src, tgt, w, split.test, "test")}
    if candidates_all:
        paired["all"] = evaluate_pairs(src, tgt, w, split.test, "all")
    if src.dim == tgt.dim and bli:   # the "no alignment" baseline: chance for independent encoders
        paired["none"] = evaluate_pairs(src, tgt, None, split.test, "test")
    evaluation = None
    if bli:
        src_test, tgt_test = src.subset(split.test[:, 0]), tgt.subset(split.test[:, 1])
        evaluation = evaluate_bli(src_test, tgt_test, w, id_pairs(src_test, tgt_test), per_word=per_word)
    t3 = time.perf_counter()
    verdict = None
    if len(split.train) == 0 and config.method != "procrustes":   # unsupervised: judged on the fitted rows
        verdict = assess(src.subset(fit_s), tgt.subset(fit_t), w, alignment.history, config.method, items=True)
    induced = Dictionary(())
    if len(alignment.induced):
        ind = np.asarray(alignment.induced, np.int64)
        induced = pairs_to_dictionary(np.stack([fit_s[ind[:, 0]], fit_t[ind[:, 1]]], axis=1), src, tgt)
    return RunResult(
        config=config, w=w, src=src, tgt=tgt, induced=induced, history=alignment.history,
        timings={"load_s": load_s, "align_s": t2 - t0, "evaluate_s": t3 - t2, "total_s": load_s + t3 - t0},
        evaluation=evaluation, seed_pairs=0 if seeds is None else int(len(seeds)),
        criterion=alignment.criterion, cancelled=alignment.cancelled,
        method_config=dataclasses.asdict(method_cfg), split=split.summary(), paired=paired,
        test_pairs=split.test, verdict=verdict,
    )


def normalization_json(steps: tuple[NormStep, ...] | list[NormStep]) -> list[dict]:
    """The recorded normalization steps as JSON (a center step carries its mean)."""
    return [{"name": st.name} if st.mean is None else {"name": st.name, "mean": np.asarray(st.mean).tolist()}
            for st in steps]


def load_run_normalization(run_dir: str | os.PathLike, side: str = "src") -> tuple[NormStep, ...]:
    """The normalization steps one side of a saved run applied, with their fitted means,
    from ``normalization.json`` = ``{"src": [{"name": "renorm"}, {"name": "center",
    "mean": [...]}, ...], "tgt": [...]}``.

    Replay them on raw rows before mapping (``alignscope apply``, ``export``). A run
    folder without the file (saved before it existed) is accepted when its
    ``config.json`` normalization has no ``center`` step (renorm needs no parameter);
    otherwise the means are unknown and the run must be saved again.
    """
    d = Path(run_dir)
    path = d / "normalization.json"
    if not path.exists():
        cfg, _ = load_run(d)
        names = parse_normalization(cfg.normalize)
        if any(n != "renorm" for n in names):
            raise ConfigError(
                f"{path}: not found; this run's normalization {cfg.normalize!r} subtracts a mean that only "
                "normalization.json records (save the run again with this version of alignscope)")
        return tuple(NormStep("renorm") for _ in names)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get(side), list):
        raise ConfigError(f"{path}: expected a JSON object with a list of steps under {side!r}")
    steps = []
    for i, step in enumerate(raw[side], start=1):
        name = step.get("name") if isinstance(step, dict) else None
        if name not in ("renorm", "center"):
            raise ConfigError(f"{path}: {side} step {i} must be {{'name': 'renorm'}} or {{'name': 'center', "
                              f"'mean': [...]}}, got {step!r:.80}")
        if name == "center":
            try:
                mean = np.asarray(step.get("mean"), dtype=np.float32)
            except (TypeError, ValueError):
                mean = np.empty(0, np.float32)
            if mean.ndim != 1 or mean.size == 0 or not np.isfinite(mean).all():
                raise ConfigError(f"{path}: {side} step {i} (center) needs 'mean', a list of finite numbers")
            steps.append(NormStep("center", mean))
        else:
            steps.append(NormStep("renorm"))
    return tuple(steps)


def save_run(result: RunResult, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "mapping.npy", result.w, allow_pickle=False)
    (out / "induced_dictionary.txt").write_text(result.induced.to_text(), encoding="utf-8")
    (out / "config.json").write_text(json.dumps(result.config.to_dict(), indent=2) + "\n")
    (out / "normalization.json").write_text(json.dumps(
        {"src": normalization_json(result.src.steps), "tgt": normalization_json(result.tgt.steps)}) + "\n")
    if result.test_pairs is not None:
        (out / "test_ids.txt").write_text("".join(result.src.words[i] + "\n" for i in result.test_pairs[:, 0].tolist()),
                                          encoding="utf-8")
    (out / "result.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return out


def load_run(run_dir: str | Path) -> tuple[RunConfig, np.ndarray]:
    """(config, W) of a saved run. W is read with allow_pickle=False."""
    d = Path(run_dir)
    for name in ("config.json", "mapping.npy"):
        if not (d / name).exists():
            raise ConfigError(f"{d}: not a run folder ({name} missing; expected the output of 'alignscope align')")
    try:
        raw = json.loads((d / "config.json").read_text())
        if not isinstance(raw, dict):
            raise TypeError("expected a JSON object")
        cfg = RunConfig.from_dict(raw)
    except (json.JSONDecodeError, TypeError, ValueError) as e:
        raise ConfigError(f"{d / 'config.json'}: unreadable run configuration ({e})") from None
    try:
        w = np.load(d / "mapping.npy", allow_pickle=False)
    except ValueError as e:
        raise ConfigError(f"{d / 'mapping.npy'}: not a plain numeric array ({e})") from None
    if w.ndim != 2:
        raise ConfigError(f"{d / 'mapping.npy'}: expected a 2-D mapping, got shape {w.shape}")
    return cfg, w.astype(np.float32)
