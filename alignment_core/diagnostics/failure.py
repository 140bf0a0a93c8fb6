"""Failure analysis: which words fail, and why.

- Per-word table for an evaluation dictionary, built on the per-word output of
  :func:`alignment_core.evaluation.evaluate_bli` (the MUSE BLI protocol; no second
  implementation): source word, its frequency rank, golds, top predictions under
  nn and csls with scores, rank of the first gold, cos(Wx, gold), and added here:
  N_k of each top-1 prediction (from the hubness retrieval, so "captured by a
  hub?" = N_k ≥ 2k), and the neighbourhood agreement
      J(x) = |T(N_S(x)) ∩ N_T(g)| / |T(N_S(x)) ∪ N_T(g)|,
  N_S(x) the k = 10 nearest source words of x (itself excluded), T(·) their
  translations through the gold dictionaries (training and evaluation pairs),
  N_T(g) the k nearest target words of the gold g closest to Wx. A low J means
  the two neighbourhoods are not isomorphic around this word (Søgaard et al.
  2018 discuss this local view of isomorphism).
- Precision by frequency bin: :func:`alignment_core.evaluation.precision_by_frequency`.
- Procrustes residual per dictionary pair r_i = ‖Wxᵢ/‖Wxᵢ‖ − yᵢ‖ = √(2 − 2cos(Wxᵢ, yᵢ)),
  with the robust z-score of Iglewicz & Hoaglin (1993),
  z_i = 0.6745 (r_i − median(r)) / MAD(r), MAD = median |r − median(r)|; pairs
  with z > 3.5 are flagged as likely dictionary errors (or words whose
  neighbourhoods differ across the languages).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..dictionary import Dictionary
from ..embeddings import Embeddings
from ..evaluation import evaluate_bli, precision_by_frequency
from ..mapping import apply_mapping
from ..retrieval import knn, normalize_rows
from .hubness import HUB_FACTOR

ROBUST_Z = 3.5
NEAR_MISS_RANK = 10
FAR_GOLD_RANK = 1000
PER_WORD_RULES = ("nn", "csls")


def _neighbours(x: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """k nearest rows of x for each given row (itself excluded), exact (retrieval.knn)."""
    _, ids = knn(x[rows], x, k + 1)
    out = np.empty((len(rows), k), dtype=np.int64)
    for i, r in enumerate(np.asarray(rows).tolist()):
        keep = ids[i][ids[i] != r]
        out[i] = keep[:k]
    return out


def _translation_table(dictionaries: Sequence[Dictionary | None], src: Embeddings,
                       tgt: Embeddings) -> dict[int, set[int]]:
    table: dict[int, set[int]] = {}
    for d in dictionaries:
        if d is None:
            continue
        for s, t in d.index_pairs(src, tgt).tolist():
            table.setdefault(s, set()).add(t)
    return table


def per_word_table(src: Embeddings, tgt: Embeddings, w: np.ndarray, eval_dictionary: Dictionary,
                   nk: dict[str, np.ndarray] | None = None, k: int = 10,
                   translation: Sequence[Dictionary | None] = (), bli=None) -> tuple[list[dict], dict]:
    """Per-word rows and the BLI scores (nn, csls) of the mapping ``w`` on ``eval_dictionary``.

    ``nk`` maps a rule to N_k per target row from the hubness retrieval (target rows
    beyond its sample get None). ``translation`` lists the dictionaries used to
    translate source neighbours (the evaluation dictionary is always included).
    ``bli`` may pass an already computed :class:`~alignment_core.evaluation.BLIResult`."""
    if bli is None:
        bli = evaluate_bli(src, tgt, w, eval_dictionary, rules=PER_WORD_RULES, per_word=True, csls_k=k)
    rows = bli.per_word
    if not rows:
        return [], bli.to_dict()
    q_rows = np.fromiter((src.index[r["source"]] for r in rows), dtype=np.int64, count=len(rows))
    mapped = normalize_rows(apply_mapping(src.vectors[q_rows], w))
    tgt_unit = normalize_rows(tgt.vectors)
    # the gold closest to Wx, whose neighbourhood is compared
    best_gold = np.empty(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        g = np.fromiter((tgt.index[x] for x in r["gold"]), dtype=np.int64)
        best_gold[i] = g[int(np.argmax(tgt_unit[g] @ mapped[i]))]
    src_nb = _neighbours(normalize_rows(src.vectors), q_rows, k)
    gold_nb = _neighbours(tgt_unit, best_gold, k)
    table = _translation_table([eval_dictionary, *translation], src, tgt)
    out = []
    for i, r in enumerate(rows):
        translated: set[int] = set()
        for s in src_nb[i].tolist():
            translated |= table.get(s, set())
        gset = set(gold_nb[i].tolist())
        union = translated | gset
        jac = len(translated & gset) / len(union) if translated else None
        item = {
            "source": r["source"],
            "source_rank": r["source_rank"],
            "gold": r["gold"],
        }
        for rule in PER_WORD_RULES:
            top = r[f"top_{rule}"]
            pred, score = top[0]
            item[f"pred_{rule}"] = pred
            item[f"score_{rule}"] = score
            item[f"top_{rule}"] = top[:5]
            item[f"rank_{rule}"] = r[f"rank_{rule}"]
            nk_rule = None if nk is None else nk.get(rule)
            prow = tgt.index[pred]
            val = int(nk_rule[prow]) if nk_rule is not None and prow < len(nk_rule) else None
            item[f"nk_pred_{rule}"] = val
            item[f"hub_pred_{rule}"] = None if val is None else bool(val >= HUB_FACTOR * k)
        item["cos_gold"] = r["cos_gold"]
        item["translated_neighbours"] = len(translated)
        item["neighbourhood_agreement"] = None if jac is None else round(jac, 4)
        out.append(item)
    _add_reasons(out)
    return out, bli.to_dict()


def _add_reasons(rows: list[dict]) -> None:
    """Label each csls failure (rank > 1) with the reasons that apply:

    - ``hub``: the csls (or nn) top-1 prediction is a hub (N_k ≥ 2k);
    - ``rare``: the source word is in the rarest third of the query set;
    - ``near miss``: a gold is in the top 10;
    - ``gold far``: the best gold ranks beyond 1,000: the neighbourhoods disagree
      here, or the dictionary entry is wrong / a rare sense;
    - ``neighbourhoods differ``: neighbourhood agreement is 0 with at least 3
      translated neighbours;
    - ``related word``: none of the above: the gold ranks 11-1,000 behind a frequent,
      non-hub prediction, typically a semantically related word (dîner → petit-déjeuner).
    """
    if not rows:
        return
    ranks = np.array([r["source_rank"] for r in rows])
    rare_from = np.quantile(ranks, 2 / 3)
    for r in rows:
        reasons: list[str] = []
        if r["rank_csls"] > 1:
            if r.get("hub_pred_csls") or r.get("hub_pred_nn"):
                reasons.append("hub")
            if r["source_rank"] > rare_from:
                reasons.append("rare")
            if r["rank_csls"] <= NEAR_MISS_RANK:
                reasons.append("near miss")
            if r["rank_csls"] > FAR_GOLD_RANK:
                reasons.append("gold far")
            if r["neighbourhood_agreement"] == 0 and r["translated_neighbours"] >= 3:
                reasons.append("neighbourhoods differ")
            if not reasons:
                reasons.append("related word")
        r["correct_csls"] = r["rank_csls"] == 1
        r["reasons"] = reasons


def failure_summary(rows: list[dict]) -> dict:
    """Counts of the failure reasons among csls failures, and precision by frequency."""
    failed = [r for r in rows if r["rank_csls"] > 1]
    counts: dict[str, int] = {}
    for r in failed:
        for reason in r["reasons"]:
            counts[reason] = counts.get(reason, 0) + 1
    agree = [r["neighbourhood_agreement"] for r in rows if r["neighbourhood_agreement"] is not None]
    agree_ok = [r["neighbourhood_agreement"] for r in rows
                if r["neighbourhood_agreement"] is not None and r["rank_csls"] == 1]
    agree_bad = [r["neighbourhood_agreement"] for r in failed if r["neighbourhood_agreement"] is not None]
    n_f = max(1, len(failed))
    return {
        "n_queries": len(rows),
        "n_failed_csls": len(failed),
        "reasons": {k: {"n": v, "share_of_failures": round(v / n_f, 4)} for k, v in sorted(counts.items())},
        "precision_by_frequency": {rule: precision_by_frequency(rows, rule) for rule in PER_WORD_RULES},
        "neighbourhood_agreement": {
            "mean": _mean(agree), "mean_correct": _mean(agree_ok), "mean_failed": _mean(agree_bad),
        },
    }


def _mean(v: list[float]) -> float | None:
    return round(float(np.mean(v)), 4) if v else None


def robust_z(r: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Iglewicz-Hoaglin modified z-scores 0.6745 (r − median) / MAD; returns (z, median, MAD)."""
    r = np.asarray(r, dtype=np.float64)
    med = float(np.median(r))
    mad = float(np.median(np.abs(r - med)))
    if mad == 0:
        mad_eff = float(np.mean(np.abs(r - med))) * 1.2533 or 1e-12  # Iglewicz-Hoaglin's MAD = 0 fallback
        return (r - med) / mad_eff, med, mad
    return 0.6745 * (r - med) / mad, med, mad


def dictionary_residuals(src: Embeddings, tgt: Embeddings, w: np.ndarray, dictionary: Dictionary,
                         threshold: float = ROBUST_Z, top: int = 50) -> dict:
    """Procrustes residual of every in-vocabulary dictionary pair under ``w``, robust
    z-scores, and the flagged outliers (worst first, at most ``top`` listed; all rows
    in ``rows``)."""
    pairs = dictionary.index_pairs(src, tgt)
    if len(pairs) == 0:
        return {"n_pairs": 0, "rows": [], "outliers": []}
    mx = normalize_rows(apply_mapping(src.vectors[pairs[:, 0]], w))
    ty = normalize_rows(tgt.vectors[pairs[:, 1]])
    cos = np.einsum("ij,ij->i", mx.astype(np.float64), ty.astype(np.float64))
    r = np.sqrt(np.maximum(2 - 2 * cos, 0))
    z, med, mad = robust_z(r)
    rows = [{"source": src.words[s], "target": tgt.words[t], "residual": round(float(ri), 4),
             "cos": round(float(ci), 4), "robust_z": round(float(zi), 3), "outlier": bool(zi > threshold)}
            for (s, t), ri, ci, zi in zip(pairs.tolist(), r, cos, z)]
    order = np.argsort(-z, kind="stable")
    outliers = [rows[i] for i in order.tolist() if rows[i]["outlier"]]
    return {
        "n_pairs": int(len(pairs)),
        "median_residual": round(med, 4),
        "mad": round(mad, 4),
        "threshold_z": threshold,
        "n_outliers": len(outliers),
        "outliers": outliers[:top],
        "rows": rows,
    }
