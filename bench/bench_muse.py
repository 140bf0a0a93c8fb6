"""MUSE benchmark. Prints JSON.

With no argument (or ``--cases``, ``--seeds``, ``--params``): MUSE's defaults — no setting
but the method and the random seed — on every case of issue 12 (the rotated-French known
answer, fi→fr, en→fr with and without identical strings, the app's sample), seeds 0–9,
one JSON line per run (CSLS P@1, criterion, verdict, seconds, peak memory) and the success
counts: ``bench_defaults.py --methods muse`` (see it for the cases and goals).

``--presets [case ...] [--seed N]``: the presets' own measurements (time and peak memory
of each preset, P@1 on real fi→fr). Cases (each in its own subprocess, so ``ru_maxrss`` is that case's peak):

- ``paper-adversarial``: the paper preset's adversarial stage on fi→fr. A full epoch is
  31,250 mapping steps (hours on 2 cores), so a fraction of an epoch is timed and the
  epoch and the 5 epochs are EXTRAPOLATED (steps × seconds per step, plus one criterion
  evaluation per epoch, measured).
- ``fast-adversarial-20k``: the fast preset's whole adversarial stage (init criterion,
  every epoch and its criterion) on fi (20k most frequent) → fr (20k), no refinement.
- ``fast-fi-fr-noseed``, ``fast-fi-fr-500-replace``, ``fast-fi-fr-500-augment``: the full
  fast run (adversarial + 5 refinements, or seeds) on fi (50k) → fr (20k), with NN and
  CSLS P@1 on ``xling/fi-fr.test.freq.2k.txt``; the supervised Procrustes level of the
  same 500 pairs for comparison.
- ``small-fi-fr-noseed``: the ``small`` preset (the one that aligns fi→fr without a seed:
  see ``alignment_core/methods/muse.py``) on fi (50k) → fr (20k): two games in worker
  processes (``peak_rss_worker_mb``: the largest worker's peak); ``--seed 0``, 2, 3 and 4
  succeed, ``--seed 1`` ends in a wrong basin.
- ``fast-synthetic``: the fast run on French (8k) against a rotated, noised, row-shuffled
  copy with 80 % overlap; P@1 on the true pairs.

Usage: ``.venv/bin/python bench/bench_muse.py [--cases rot,fi-fr] [--seeds 0-9]`` or
``PYTHONPATH=. .venv/bin/python bench/bench_muse.py --presets [case ...] [--seed N]``
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ALIGNSCOPE_SHARED_DATA", ROOT.parent / "shared" / "data"))
CASES = ("paper-adversarial", "fast-adversarial-20k", "fast-fi-fr-noseed", "small-fi-fr-noseed",
         "fast-fi-fr-500-replace", "fast-fi-fr-500-augment", "fast-synthetic")


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _peak_workers_mb() -> float:
    """The largest peak RSS among this process's finished children (MUSE's game workers)."""
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1)


def _is(stage: str, name: str) -> bool:
    """``stage`` is ``name`` or a game's ``name`` (``game 2 adversarial``)."""
    return stage == name or stage.endswith(" " + name)


def _load(name: str):
    from alignment_core.io import load_embeddings

    path = {"fi": "fi.floret.300d.50k.vec.gz", "fr": "fr.fasttext.300d.20k.vec.gz"}[name]
    return load_embeddings(SHARED / "embeddings" / path, lowercase=True).normalize("renorm,center,renorm")


def _dict(rel: str):
    from alignment_core.dictionary import load_dictionary

    return load_dictionary(SHARED / "dictionaries" / rel, lowercase=True)


def _drive(method, src, tgt, seeds=None, monitor=None):
    """Run ``method.fit`` to the end; returns (alignment, events as dicts, stage timings)."""
    gen = method.fit(src, tgt, seeds, monitor)
    events, t0 = [], time.perf_counter()
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            return stop.value, events, time.perf_counter() - t0
        events.append(ev.to_dict())


def _stage_end(events, stage):
    ts = [e["elapsed_s"] for e in events if _is(e["stage"], stage)]
    return ts[-1] if ts else None


def case_paper_adversarial(seed: int) -> dict:
    from alignment_core.methods.muse import Muse, MuseConfig

    fi, fr = _load("fi"), _load("fr")
    n_steps, every = 200, 50
    cfg = MuseConfig.from_preset("paper", seed=seed, n_epochs=1, epoch_size=32 * n_steps, report_every=every,
                                 refinements=0)
    _, events, total = _drive(Muse(cfg), fi, fr)
    prog = [e for e in events if e["stage"] == "adversarial-progress"]
    init_s = _stage_end(events, "init")
    # steps between the first and the last progress event (excludes start-up)
    per_step = (prog[-1]["elapsed_s"] - prog[0]["elapsed_s"]) / (prog[-1]["step"] - prog[0]["step"])
    crit_s = _stage_end(events, "adversarial") - prog[-1]["elapsed_s"] - per_step * (n_steps - prog[-1]["step"])
    full = MuseConfig.from_preset("paper")
    epoch_s = per_step * full.steps_per_epoch + crit_s
    return {"case": "paper-adversarial", "pair": f"fi {len(fi)} -> fr {len(fr)}",
            "measured_mapping_steps": n_steps, "seconds_per_mapping_step": round(per_step, 4),
            "criterion_eval_s": round(crit_s, 2), "init_criterion_s": round(init_s, 2),
            "EXTRAPOLATED_epoch_s": round(epoch_s, 1),
            "EXTRAPOLATED_5_epochs_h": round(5 * epoch_s / 3600, 2),
            "note": "a fraction of one epoch was timed; the epoch and 5-epoch figures are extrapolated",
            "peak_rss_mb": _peak_mb()}


def case_fast_adversarial_20k(seed: int) -> dict:
    from alignment_core.methods.muse import Muse, MuseConfig

    fi, fr = _load("fi").head(20000), _load("fr")
    cfg = MuseConfig(seed=seed, refinements=0)
    _, events, total = _drive(Muse(cfg), fi, fr)
    return {"case": "fast-adversarial-20k", "pair": f"fi {len(fi)} -> fr {len(fr)}",
            "mapping_steps": cfg.steps_per_epoch * cfg.n_epochs,
            "adversarial_stage_s": round(_stage_end(events, "adversarial"), 1),
            "of_which_criterion_init_s": round(_stage_end(events, "init"), 1),
            "criteria_by_epoch": [round(e["criterion"], 4) for e in events if e["stage"] == "adversarial"],
            "peak_rss_mb": _peak_mb()}


def _fi_fr_run(seed: int, n_seeds: int, seed_mode: str, preset: str = "fast") -> dict:
    from alignment_core.evaluation import evaluate_bli
    from alignment_core.methods import Monitor, run_method
    from alignment_core.methods.muse import Muse, MuseConfig
    from alignment_core.methods.procrustes import Procrustes

    fi, fr = _load("fi"), _load("fr")
    test = _dict("xling/fi-fr.test.freq.2k.txt")
    seeds = _dict("xling/fi-fr.train.freq.500.txt").index_pairs(fi, fr) if n_seeds else None
    monitor = Monitor.from_pairs(test.index_pairs(fi, fr))  # display only; never selects
    cfg = MuseConfig(preset=preset, seed=seed, seed_mode=seed_mode)
    al, events, total = _drive(Muse(cfg), fi, fr, seeds, monitor)
    res = evaluate_bli(fi, fr, al.w, test, rules=("nn", "csls"), per_word=False)
    out = {"case": f"{preset}-fi-fr-{'noseed' if not n_seeds else f'{n_seeds}-{seed_mode}'}", "seed": seed,
           "total_s": round(total, 1), "adversarial_end_s": _stage_end(events, "adversarial"),
           "n_queries": res.n_queries, "p@1_nn": res.scores["nn"]["p@1"], "p@1_csls": res.scores["csls"]["p@1"],
           "best_step": al.best_step, "criterion": round(al.criterion, 4),
           "trace": [{k: e.get(k) for k in ("stage", "step", "criterion", "p@1_csls", "elapsed_s")}
                     for e in events if not _is(e["stage"], "adversarial-progress")],
           "peak_rss_mb": _peak_mb(), "peak_rss_worker_mb": _peak_workers_mb()}
    if n_seeds:
        sup = run_method(Procrustes(), fi, fr, seeds)
        out["supervised_500_p@1_csls"] = evaluate_bli(fi, fr, sup.w, test, rules=("csls",),
                                                      per_word=False).scores["csls"]["p@1"]
        out["n_seed_pairs"] = int(len(seeds))
    return out


def case_fast_synthetic(seed: int) -> dict:
    from alignment_core.evaluation import evaluate_bli
    from alignment_core.methods.muse import Muse, MuseConfig
    from alignment_core.synthetic import rotated_copy

    pair = rotated_copy(_load("fr").head(8000), noise=0.05, overlap=0.8, seed=3)
    al, events, total = _drive(Muse(MuseConfig(seed=seed)), pair.src, pair.tgt)
    res = evaluate_bli(pair.src, pair.tgt, al.w, pair.dictionary, rules=("nn", "csls"), per_word=False)
    return {"case": "fast-synthetic", "pair": f"fr {len(pair.src)} -> rotated copy {len(pair.tgt)}",
            "total_s": round(total, 1), "adversarial_end_s": _stage_end(events, "adversarial"),
            "p@1_nn": res.scores["nn"]["p@1"], "p@1_csls": res.scores["csls"]["p@1"],
            "best_step": al.best_step, "peak_rss_mb": _peak_mb()}


def run_case(case: str, seed: int) -> dict:
    if case == "paper-adversarial":
        return case_paper_adversarial(seed)
    if case == "fast-adversarial-20k":
        return case_fast_adversarial_20k(seed)
    if case == "fast-fi-fr-noseed":
        return _fi_fr_run(seed, 0, "replace")
    if case == "small-fi-fr-noseed":
        return _fi_fr_run(seed, 0, "replace", preset="small")
    if case == "fast-fi-fr-500-replace":
        return _fi_fr_run(seed, 500, "replace")
    if case == "fast-fi-fr-500-augment":
        return _fi_fr_run(seed, 500, "augment")
    if case == "fast-synthetic":
        return case_fast_synthetic(seed)
    raise SystemExit(f"unknown case {case!r}; expected one of {', '.join(CASES)}")


def main(argv: list[str]) -> None:
    if not argv or argv[0] != "--presets" and argv[0] != "--one":
        # the default: MUSE as a new user gets it, on every case of issue 12, seeds 0-9
        sys.path.insert(0, str(ROOT / "bench"))
        import bench_defaults

        bench_defaults.main(("muse",))
        return
    if argv[0] == "--presets":
        argv = argv[1:]
    seed = 0
    if "--seed" in argv:
        i = argv.index("--seed")
        seed = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if argv and argv[0] == "--one":
        print(json.dumps(run_case(argv[1], seed)))
        return
    cases = argv or list(CASES)
    results = []
    for case in cases:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--one", case, "--seed", str(seed)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            results.append({"case": case, "error": proc.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        results[-1]["wall_s"] = round(time.perf_counter() - t, 1)
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    load = os.getloadavg()
    print(json.dumps({"benchmark": "muse", "cpu_count": os.cpu_count(),
                      "load_avg_1_5_15": [round(v, 2) for v in load], "results": results}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
