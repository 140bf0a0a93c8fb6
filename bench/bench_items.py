"""Paired items benchmark (issue 13): two real text encoders' embeddings of the same
60,000 WordNet glosses (../shared/data/text), the vec2vec split (8,192 held out).

Cases, one JSON line each:

- ``load``: both .npy + ids files, ids mode;
- ``procrustes-K``: supervised Procrustes on K paired training items (K = 100, 1,000,
  all), evaluated on the held-out pairs against the held-out targets and against all
  60,000 targets (what ``alignscope align --pairs ids --train-pairs K`` does);
- ``curve``: the pairs-needed curve with the default K values and 3 draws each
  (``alignscope curve``), and the semi-supervised points K = 10, 30 (one draw);
- ``unsupervised``: each unsupervised method with train_pairs = 0, per seed
  (``--unsupervised``; minutes per run).

    .venv/bin/python bench/bench_items.py [--direction minilm-e5|e5-minilm] [--skip-curve]
                                          [--unsupervised mini-vec2vec,muse] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import time

from _common import DATA, peak_mb  # puts the project on sys.path


def _line(case: str, **kw) -> None:
    print(json.dumps({"case": case, **kw, "peak_rss_mb": round(peak_mb(), 1)}), flush=True)


def _paired(r) -> dict:
    out = {}
    for view, res in r.paired.items():
        out[view] = {"top1": res.scores["nn"]["top@1"], "top5": res.scores["nn"]["top@5"],
                     "mean_rank": res.scores["nn"]["mean_rank"], "mean_cos": res.mean_cos,
                     "top1_csls": res.scores["csls"]["top@1"], "candidates": res.n_candidates}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--direction", default="minilm-e5", choices=("minilm-e5", "e5-minilm"))
    ap.add_argument("--skip-curve", action="store_true")
    ap.add_argument("--skip-supervised", action="store_true")
    ap.add_argument("--semi", default="10,30", help="K values of the semi-supervised curve points ('' for none)")
    ap.add_argument("--unsupervised", default="", help="comma list of methods to run with no pair at all")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()

    from alignment_core.curve import pairs_needed_curve
    from alignment_core.io import load_embeddings
    from alignment_core.runs import RunConfig, execute_items

    text = DATA / "text"
    names = a.direction.split("-")
    t = time.perf_counter()
    src = load_embeddings(text / f"wordnet.{names[0]}.npy", max_vocab=None, ids=True)
    tgt = load_embeddings(text / f"wordnet.{names[1]}.npy", max_vocab=None, ids=True)
    _line("load", direction=a.direction, rows=len(src), dim=src.dim, seconds=round(time.perf_counter() - t, 3))

    if not a.skip_supervised:
        for k in (100, 1000, None):
            cfg = RunConfig(pairs="ids", lowercase=False, max_vocab=None, split={"train_pairs": k})
            t = time.perf_counter()
            r = execute_items(cfg, src, tgt, per_word=False)
            _line(f"procrustes-{'all' if k is None else k}", direction=a.direction, train=r.split["train"],
                  test=r.split["test"], seconds=round(time.perf_counter() - t, 3),
                  align_s=round(r.timings["align_s"], 3), evaluate_s=round(r.timings["evaluate_s"], 3),
                  paired=_paired(r))

    if not a.skip_curve:
        t = time.perf_counter()
        res = pairs_needed_curve(src, tgt, semi_ks=tuple(int(k) for k in a.semi.split(",") if k))
        _line("curve", direction=a.direction, seconds=round(time.perf_counter() - t, 2), points=len(res.points),
              summary=[{k: s[k] for k in ("variant", "k", "draws", "top1", "top1_sd", "mean_rank", "mean_cos")}
                       for s in res.summary()],
              seconds_per_point={v: round(sum(p["seconds"] for p in res.points if p["variant"] == v)
                                          / max(1, sum(1 for p in res.points if p["variant"] == v)), 2)
                                 for v in ("procrustes", "semi")})

    params = {}
    for item in a.param:
        k, v = item.split("=", 1)
        params[k] = json.loads(v) if v[:1] in "0123456789-[{tf" and v not in ("true", "false") else v
    for method in [m for m in a.unsupervised.split(",") if m]:
        for seed in [int(s) for s in a.seeds.split(",")]:
            cfg = RunConfig(method=method, params=dict(params), pairs="ids", lowercase=False, max_vocab=None,
                            seed=seed, split={"train_pairs": 0})
            t = time.perf_counter()
            r = execute_items(cfg, src, tgt, per_word=False)
            _line("unsupervised", direction=a.direction, method=method, seed=seed,
                  seconds=round(time.perf_counter() - t, 2), criterion=r.criterion,
                  verdict=(getattr(r, "verdict", None) or {}).get("status"),
                  gap_refined=((getattr(r, "verdict", None) or {}).get("evidence") or {}).get("gap_refined"),
                  paired=_paired(r))


if __name__ == "__main__":
    main()
