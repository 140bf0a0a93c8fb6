"""Benchmark of mini-vec2vec, printed as JSON (one object per case, then a summary).

With no argument (or ``--cases``, ``--seeds``, ``--params``): mini-vec2vec's defaults — no
setting but the method and the random seed — on every case of issue 12, seeds 0–9, one JSON
line per run and the success counts (``bench_defaults.py --methods mini-vec2vec``).

``--notebook``: the notebook-configuration cases below. Cases (each in a fresh process, so ``ru_maxrss`` is that case's peak memory):

- ``fi-fr`` no seed, orthogonalize on / off, a few seeds, ``restarts`` chosen by the
  unsupervised criterion, with MUSE-style CSLS refinement at the end;
- ``fi-fr`` no seed with the independent-component start (``init="ica"``), seeds 0–9;
- ``fi-fr`` with identical strings as seed pairs (no dictionary at all);
- ``fi-fr`` with the 500 xling seed pairs (``seed_mode`` replace / augment), and supervised
  Procrustes on the same 500 pairs as the level to reach;
- the synthetic pair: the 8,000 most frequent French words against a rotated, noised,
  row-shuffled copy with 80 % overlap (``synthetic.rotated_copy``), no seed.

Every case reports wall time, peak RSS (MB), NN and CSLS P@1 on the xling fi-fr test
(833 queries; the true pairs for the synthetic case), the criterion and the step kept.
The machine's load average is printed too: the project's 2 cores are often shared.

Run: ``.venv/bin/python bench/bench_mini_vec2vec.py --notebook [--quick]`` (``--quick``: one seed per case;
``--only TEXT``: only the cases whose name contains TEXT).
Target (issue 3): under 2 minutes on fi→fr; the bar: CSLS P@1 ≥ 28 with no seed in 5 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ONE = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from tests.conftest import load_real, load_dict
from alignment_core.evaluation import evaluate_bli
from alignment_core.methods import run_method
from alignment_core.methods.mini_vec2vec import MiniVec2Vec, MiniVec2VecConfig
from alignment_core.methods.procrustes import Procrustes
case = json.loads({case!r})
t_load = time.perf_counter()
if case["data"] == "synthetic":
    from alignment_core.synthetic import rotated_copy
    pair = rotated_copy(load_real("fr").head(8000), noise=0.01, overlap=0.8, seed=0)
    src, tgt, test, seeds = pair.src, pair.tgt, pair.dictionary, None
else:
    src, tgt = load_real("fi"), load_real("fr")
    test = load_dict("xling/fi-fr.test.freq.2k.txt")
    seeds = None
    if case.get("seeds") == "identical":
        from alignment_core.dictionary import identical_strings
        seeds = identical_strings(src, tgt).index_pairs(src, tgt)
    elif case.get("seeds"):
        seeds = load_dict("xling/fi-fr.train.freq.500.txt").index_pairs(src, tgt)
load_s = time.perf_counter() - t_load
t0 = time.perf_counter()
if case.get("method") == "procrustes":
    al = run_method(Procrustes(), src, tgt, seed_pairs=seeds)
else:
    al = run_method(MiniVec2Vec(MiniVec2VecConfig(**case["config"])), src, tgt, seed_pairs=seeds)
fit_s = time.perf_counter() - t0
res = evaluate_bli(src, tgt, al.w, test, rules=("nn", "csls"), per_word=False)
print(json.dumps({{"load_s": round(load_s, 1), "fit_s": round(fit_s, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "n_queries": res.n_queries, "p@1_nn": res.scores["nn"]["p@1"],
                  "p@1_csls": res.scores["csls"]["p@1"], "criterion": al.criterion,
                  "best_step": al.best_step}}))
"""

UNSUP = dict(max_rows=20000, restarts=3, csls_refinements=5, criterion_every=0)


def cases(quick: bool) -> list[dict]:
    seeds = [0] if quick else [0, 1, 2]
    out: list[dict] = [{"name": "synthetic fr 8k rotated copy, no seed, defaults", "data": "synthetic",
                        "config": {}}]
    for orth in (True, False):
        for s in seeds:
            out.append({"name": f"fi-fr no seed, orthogonalize={orth}, seed={s}, restarts=3 by criterion, "
                                f"5 CSLS refinements, max_rows=20000",
                        "data": "fi-fr", "config": {**UNSUP, "orthogonalize": orth, "seed": s}})
    for s in ([0] if quick else list(range(10))):
        out.append({"name": f"fi-fr no seed, init=ica, seed={s}, 5 CSLS refinements, max_rows=20000",
                    "data": "fi-fr", "config": {"init": "ica", "csls_refinements": 5, "max_rows": 20000,
                                                "criterion_every": 0, "seed": s}})
    out.append({"name": "fi-fr no seed, notebook defaults (all rows, 1 run, no CSLS refinement)",
                "data": "fi-fr", "config": {}})
    out.append({"name": "fi-fr supervised Procrustes on the 500 seed pairs (the level to reach)",
                "data": "fi-fr", "seeds": True, "method": "procrustes", "config": {}})
    for mode in ("replace", "augment"):
        out.append({"name": f"fi-fr 500 seed pairs, seed_mode={mode}, 3 CSLS refinements, max_rows=20000",
                    "data": "fi-fr", "seeds": True,
                    "config": {"seed_mode": mode, "max_rows": 20000, "refine1_iterations": 10,
                               "criterion_every": 0, "csls_refinements": 3}})
    out.append({"name": "fi-fr identical strings as seeds (no dictionary), seed_mode=replace, 3 CSLS refinements",
                "data": "fi-fr", "seeds": "identical",
                "config": {"seed_mode": "replace", "max_rows": 20000, "refine1_iterations": 10,
                           "criterion_every": 0, "csls_refinements": 3}})
    return out


def main() -> None:
    if "--notebook" not in sys.argv:
        # the default: mini-vec2vec as a new user gets it, every case of issue 12, seeds 0-9
        sys.path.insert(0, str(ROOT / "bench"))
        import bench_defaults

        bench_defaults.main(("mini-vec2vec",))
        return
    quick = "--quick" in sys.argv
    os.environ.setdefault("ALIGNSCOPE_CACHE", str(ROOT / ".cache" / "bench"))
    summary = {"cpu_count": os.cpu_count(), "load_avg_start": round(os.getloadavg()[0], 2), "cases": []}
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    for case in cases(quick):
        if only and only not in case["name"]:
            continue
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", ONE.format(root=str(ROOT), case=json.dumps(case))],
                           capture_output=True, text=True, cwd=ROOT)
        if r.returncode == 0:
            row = json.loads(r.stdout.strip().splitlines()[-1])
        else:
            row = {"error": r.stderr.strip()[-800:]}
        row = {"case": case["name"], "config": case["config"], "wall_s": round(time.perf_counter() - t0, 1),
               "load_avg_1min": round(os.getloadavg()[0], 2), **row}
        print(json.dumps(row), flush=True)
        summary["cases"].append(row)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
