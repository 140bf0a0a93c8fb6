"""Core benchmark (issue 2): load of the Finnish 50k gzip file (cold and cached) and the
whole supervised run fi→fr (align + NN/CSLS/ISF evaluation), with peak memory.

    .venv/bin/python bench/bench_core.py      # prints JSON

Targets on a 2-core machine: cold load ≤ 3 s, cached ≤ 0.3 s, align + evaluation ≤ 8 s.
Each timing is the best of ``--repeat`` runs in fresh state (cold = fresh cache folder).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from _common import DATA, peak_mb  # puts the project on sys.path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import pandas  # noqa: F401  (import cost is not parse cost)

    from alignment_core.dictionary import load_dictionary
    from alignment_core.evaluation import evaluate_bli
    from alignment_core.io import load_embeddings
    from alignment_core.methods import run_method
    from alignment_core.methods.procrustes import Procrustes
    from alignment_core.retrieval import topk_mean_and_logsumexp

    fi_path = DATA / "embeddings/fi.floret.300d.50k.vec.gz"
    cold, cached = [], []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            load_embeddings(fi_path, cache_dir=d)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            load_embeddings(fi_path, cache_dir=d)
            cached.append(time.perf_counter() - t)
    fi = load_embeddings(fi_path, lowercase=True).normalize()
    fr = load_embeddings(DATA / "embeddings/fr.fasttext.300d.20k.vec.gz", lowercase=True).normalize()
    train = load_dictionary(DATA / "dictionaries/fi-fr.freedict.train.txt")
    test = load_dictionary(DATA / "dictionaries/fi-fr.freedict.test.txt")
    topk_mean_and_logsumexp(fr.vectors[:10], fi.vectors[:100])  # compile the numba kernel once
    runs = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        al = run_method(Procrustes(), fi, fr, train.index_pairs(fi, fr))
        t1 = time.perf_counter()
        res = evaluate_bli(fi, fr, al.w, test, per_word=False)
        t2 = time.perf_counter()
        runs.append((t2 - t, t1 - t, t2 - t1, res))
    best = min(runs, key=lambda r: r[0])
    print(json.dumps({
        "benchmark": "core",
        "load_fi_50k_gz_cold_s": round(min(cold), 3),
        "load_fi_50k_gz_cached_s": round(min(cached), 3),
        "supervised_fi_fr_total_s": round(best[0], 3),
        "supervised_fi_fr_align_s": round(best[1], 3),
        "supervised_fi_fr_evaluate_s": round(best[2], 3),
        "n_queries": best[3].n_queries,
        "p@1": {r: best[3].scores[r]["p@1"] for r in best[3].scores},
        "peak_rss_mb": round(peak_mb(), 1),
        "targets": {"cold_s": 3.0, "cached_s": 0.3, "align_eval_s": 8.0},
    }, indent=2))


if __name__ == "__main__":
    main()
