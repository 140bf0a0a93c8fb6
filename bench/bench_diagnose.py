"""Diagnostics benchmark (issue 4): a full ``diagnose`` on fi→fr, with peak memory.

    .venv/bin/python bench/bench_diagnose.py [--repeat 2]     # prints JSON

"Full" = hubness under nn/csls/isf, every isomorphism measure on the 5,000 most
frequent words per side (paired ones on the FreeDict train dictionary), the per-word
table on the FreeDict test dictionary (MUSE BLI protocol over the whole vocabularies:
44k Finnish × 17.7k French words), dictionary residuals and the verdict. The mapping
is Procrustes on the train dictionary, fitted inside ``diagnose`` as the CLI does
without ``--run``. Target: under 30 s on a 2-core machine.

Also reports the time of each section, the machine's load average (the numbers are
only comparable on an otherwise idle machine), and a second configuration with each
side cut to its 5,000 most frequent words (``--max-vocab 5000``).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from _common import DATA, peak_mb  # puts the project on sys.path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    from alignment_core.diagnostics.report import diagnose
    from alignment_core.dictionary import load_dictionary
    from alignment_core.io import load_embeddings
    from alignment_core.retrieval import topk_mean_and_logsumexp

    fi_raw = load_embeddings(DATA / "embeddings/fi.floret.300d.50k.vec.gz", lowercase=True)
    fr_raw = load_embeddings(DATA / "embeddings/fr.fasttext.300d.20k.vec.gz", lowercase=True)
    train = load_dictionary(DATA / "dictionaries/fi-fr.freedict.train.txt")
    test = load_dictionary(DATA / "dictionaries/fi-fr.freedict.test.txt")
    fi, fr = fi_raw.normalize(), fr_raw.normalize()
    topk_mean_and_logsumexp(fr.vectors[:10], fi.vectors[:100])  # compile the numba kernel once
    load_before = os.getloadavg()[0]

    results = {}
    for name, (s, t) in {"full_vocab": (fi, fr),
                         "max_vocab_5000": (fi_raw.head(5000).normalize(), fr_raw.head(5000).normalize())}.items():
        times, cpu = [], []
        rep = None
        for _ in range(a.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            rep = diagnose(s, t, dictionary=train, eval_dictionary=test, n_iso=5000)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        results[name] = {
            "rows": [len(s), len(t)],
            "diagnose_s": round(min(times), 2),
            "all_s": [round(x, 2) for x in times],
            "cpu_s": [round(x, 2) for x in cpu],  # CPU seconds of this process, all threads
            "sections_s": rep["timings"],
            "eval_queries": rep["failure"]["bli"]["n_queries"],
            "csls_p@1": rep["failure"]["bli"]["csls"]["p@1"],
            "nn_skewness": rep["hubness"]["rules"]["nn"]["skewness"],
            "csls_skewness": rep["hubness"]["rules"]["csls"]["skewness"],
            "verdict": rep["verdict"]["unsupervised"],
        }
    print(json.dumps({
        "benchmark": "diagnose fi→fr, n_iso = n_hub = 5000",
        "target_s": 30,
        "results": results,
        "peak_rss_mb": round(peak_mb(), 1),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
