"""How many paired items does a mapping need? The pairs-needed curve.

For K in ``ks`` (default 10, 30, 100, 300, 1,000, 3,000, 10,000 and all), ``draws``
times each: orthogonal Procrustes on K training pairs drawn at random from the
non-test pairs, evaluated on the same held-out test pairs (vec2vec §4.2 metrics,
``evaluation.evaluate_pairs``, against the held-out targets). Optionally, for the K in
``semi_ks``, the semi-supervised variant: the same K pairs plus the unpaired rest of
both stores (disjoint halves), through mini-vec2vec's refinement started from
Procrustes on the K pairs (``seed_mode="replace"``: refine-1 and refine-2 of Dar 2025,
the K pairs joining every Procrustes problem).

Every point is one run of the ordinary pipeline (``runs.execute_items``) with
``pairs="ids"`` and the split's ``train_pairs = K``, ``draw = d``: one implementation
of the split, the normalization and the evaluation, shared with ``alignscope align``.
"""

from __future__ import annotations

import csv
import io
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .embeddings import Embeddings
from .items import SplitConfig
from .runs import RunConfig, execute_items

DEFAULT_KS: tuple[int | None, ...] = (10, 30, 100, 300, 1000, 3000, 10000, None)
DEFAULT_SEMI_KS: tuple[int, ...] = (10, 30, 100, 300)
DEFAULT_DRAWS = 3
#: the semi-supervised refinement: mini-vec2vec started from the K pairs
SEMI_PARAMS = {"seed_mode": "replace", "criterion_every": 0}
CSV_COLUMNS = ("variant", "k", "draw", "train_pairs", "top1", "top5", "top10", "mean_rank", "median_rank",
               "mean_cos", "top1_csls", "mean_rank_csls", "seconds")


@dataclass
class CurveResult:
    """One row per (variant, K, draw); ``summary`` averages the draws per (variant, K)."""

    points: list[dict] = field(default_factory=list)
    split: dict | None = None
    normalize: str = ""
    seconds: float = 0.0
    cancelled: bool = False

    def summary(self) -> list[dict]:
        groups: dict[tuple[str, str], list[dict]] = {}
        for p in self.points:
            groups.setdefault((p["variant"], str(p["k"])), []).append(p)
        out = []
        for (variant, _), rows in groups.items():
            row = {"variant": variant, "k": rows[0]["k"], "train_pairs": rows[0]["train_pairs"], "draws": len(rows)}
            for key in ("top1", "top5", "top10", "mean_rank", "median_rank", "mean_cos", "top1_csls",
                        "mean_rank_csls"):
                vals = [r[key] for r in rows]
                row[key] = round(statistics.fmean(vals), 4)
                row[key + "_sd"] = round(statistics.stdev(vals), 4) if len(vals) > 1 else 0.0
            out.append(row)
        return out

    def to_json(self) -> dict:
        return {"split": self.split, "normalize": self.normalize, "seconds": round(self.seconds, 3),
                "cancelled": self.cancelled, "summary": self.summary(), "points": self.points}

    def to_csv(self) -> str:
        buf = io.StringIO()
        wr = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        wr.writeheader()
        for p in self.points:
            wr.writerow({**p, "k": "all" if p["k"] is None else p["k"]})
        return buf.getvalue()


def pairs_needed_curve(src: Embeddings, tgt: Embeddings, ks: tuple[int | None, ...] = DEFAULT_KS,
                       draws: int = DEFAULT_DRAWS, split: SplitConfig | None = None,
                       normalize: str = "renorm,center,renorm", semi_ks: tuple[int, ...] = (),
                       semi_draws: int = 1, on_point: Callable[[dict], None] | None = None,
                       cancel: threading.Event | None = None) -> CurveResult:
    """The pairs-needed curve (module docstring). ``src``/``tgt`` as loaded (ids, not
    lowercased); ``split`` gives the test set (its ``train_pairs``/``draw`` are set per
    point). ``on_point`` is called with each finished point; ``cancel`` stops between
    points (the points so far are kept)."""
    base = split or SplitConfig()
    res = CurveResult(normalize=normalize)
    t0 = time.perf_counter()
    plan = [("procrustes", k, d) for k in ks for d in range(draws if k is not None else 1)]
    plan += [("semi", k, d) for k in semi_ks for d in range(semi_draws)]
    for variant, k, d in plan:
        if cancel is not None and cancel.is_set():
            res.cancelled = True
            break
        cfg = RunConfig(method="procrustes" if variant == "procrustes" else "mini-vec2vec",
                        params={} if variant == "procrustes" else dict(SEMI_PARAMS, seed=d),
                        normalize=normalize, lowercase=False, max_vocab=None, pairs="ids",
                        split={**base.to_dict(), "train_pairs": k, "draw": d + 1})
        t1 = time.perf_counter()
        r = execute_items(cfg, src, tgt, per_word=False, candidates_all=False, bli=False)
        ev = r.paired["test"]
        point = {"variant": variant, "k": k, "draw": d, "train_pairs": r.split["train"],
                 "top1": ev.scores["nn"]["top@1"], "top5": ev.scores["nn"]["top@5"],
                 "top10": ev.scores["nn"]["top@10"], "mean_rank": ev.scores["nn"]["mean_rank"],
                 "median_rank": ev.scores["nn"]["median_rank"], "mean_cos": ev.mean_cos,
                 "top1_csls": ev.scores["csls"]["top@1"], "mean_rank_csls": ev.scores["csls"]["mean_rank"],
                 "seconds": round(time.perf_counter() - t1, 3)}
        if res.split is None:
            res.split = {k2: v for k2, v in r.split.items() if k2 not in ("train_pairs", "draw", "train",
                                                                          "src_unpaired", "tgt_unpaired",
                                                                          "setting")}
        res.points.append(point)
        if on_point is not None:
            on_point(point)
    res.seconds = time.perf_counter() - t0
    return res
