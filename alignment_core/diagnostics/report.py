"""``diagnose``: the one core call behind ``alignscope diagnose`` and the app's
diagnostics page. Hubness, isomorphism, failure analysis and a verdict, as a
JSON-ready dict.

Which mapping W is diagnosed:
1. ``w`` when given (e.g. a run's ``mapping.npy``);
2. otherwise Procrustes (:func:`alignment_core.mapping.procrustes`) on the in-vocabulary
   pairs of ``dictionary``;
3. otherwise none: the spaces are described before alignment, and hubness is that
   of the target space searched against itself (its own k-NN graph).

Hubness uses the ``n_hub`` (default: ``n_iso``) most frequent words per side: the mapped
source queries against the target words, so the mean N_k is k and "hub" (N_k ≥ 2k) means
twice the fair share. The isomorphism measures use the ``n_iso`` most frequent words per
side (paired ones: the dictionary pairs). The per-word table follows the MUSE BLI protocol
over the whole loaded vocabularies.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ..dictionary import Dictionary, identical_strings
from ..embeddings import Embeddings
from ..errors import ConfigError
from ..mapping import apply_mapping, procrustes
from ..retrieval import RULES, Retriever
from . import failure as _failure
from . import hubness as _hubness
from .isomorphism import DEFAULT_N, isomorphism
from .verdict import verdict as _verdict

IDENTICAL_MAX_RANK = 20_000


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        v = float(obj)
        return None if v != v else v
    if isinstance(obj, float) and obj != obj:
        return None
    return obj


def resolve_mapping(src: Embeddings, tgt: Embeddings, w: np.ndarray | None,
                    dictionary: Dictionary | None) -> tuple[np.ndarray | None, str]:
    """(W, where it came from): the given W, Procrustes on the dictionary, or (None, "none")."""
    if w is not None:
        w = np.asarray(w, dtype=np.float32)
        if w.shape != (tgt.dim, src.dim):
            raise ConfigError(f"mapping has shape {w.shape}; expected (d_tgt, d_src) = ({tgt.dim}, {src.dim})")
        return w, "given"
    if dictionary is not None:
        pairs = dictionary.index_pairs(src, tgt)
        if len(pairs) >= 2:
            return procrustes(src.vectors[pairs[:, 0]], tgt.vectors[pairs[:, 1]]), "procrustes on dictionary"
    return None, "none"


def hubness_report(src: Embeddings, tgt: Embeddings, w: np.ndarray | None, n: int, k: int = 10,
                   top: int = 10) -> tuple[dict, dict[str, np.ndarray]]:
    """Hubness per rule (nn, csls, isf) side by side, and N_k per target row per rule."""
    t = tgt.head(n)
    if w is not None:
        s = src.head(n)
        retriever = Retriever(apply_mapping(s.vectors, w), t.vectors, csls_k=k)
        res = _hubness.hubness_by_rule(retriever, RULES, k, query_words=s.words, target_words=t.words, top=top)
        what = f"mapped source ({len(s)} most frequent) → target ({len(t)} most frequent)"
    else:
        retriever = Retriever(t.vectors, t.vectors, csls_k=k)
        res = _hubness.hubness_by_rule(retriever, RULES, k, exclude_self=True, query_words=t.words,
                                       target_words=t.words, top=top)
        what = f"target → target, itself excluded ({len(t)} most frequent; no mapping to diagnose)"
    out = {
        "retrieval": what,
        "k": k,
        "hub_definition": f"N_k >= {_hubness.HUB_FACTOR * k}",
        "rules": {rule: r.to_dict() for rule, r in res.items()},
        "change_vs_nn": _hubness.reduction(res),
    }
    return out, {rule: r.nk for rule, r in res.items()}


def diagnose(src: Embeddings, tgt: Embeddings, w: np.ndarray | None = None,
             dictionary: Dictionary | None = None, eval_dictionary: Dictionary | None = None,
             top: int = 10, n_iso: int = DEFAULT_N, n_hub: int | None = None, k: int = 10,
             progress: Callable[[str], None] | None = None, drift_rounds: int = 0) -> dict:
    """Every diagnostic for two (normalized) spaces, optionally a mapping ``w``
    (d_tgt × d_src), a dictionary of paired anchors and an evaluation dictionary.

    Returns a JSON-ready dict with keys ``settings``, ``hubness`` (per rule: skewness,
    robin_hood, gini, hub_occurrence, antihub_occurrence, top_hubs), ``isomorphism``
    (eigenvector_similarity, gromov_hausdorff, relational_similarity, econd_hm,
    singular_value_gap, procrustes_bound, ...), ``failure`` (BLI scores, summary,
    dictionary residuals), ``identical_strings``, ``verdict``, ``timings`` and
    ``per_word`` (one dict per evaluation query; empty without an evaluation dictionary
    and a mapping). With ``drift_rounds`` > 0 and a mapping, also ``self_learning_drift``
    (:func:`.drift.self_learning_drift`: does the unsupervised objective keep this mapping?)."""
    say = progress or (lambda msg: None)
    n_hub = n_iso if n_hub is None else n_hub
    if n_iso < 20 or n_hub < 2 * k:
        raise ConfigError(f"too few words for the diagnostics (n_iso={n_iso}, n_hub={n_hub}); use at least 20")
    timings: dict[str, float] = {}
    w_used, w_source = resolve_mapping(src, tgt, w, dictionary)

    t0 = time.perf_counter()
    say("hubness (nn, csls, isf)")
    hub, nk = hubness_report(src, tgt, w_used, n_hub, k, top)
    timings["hubness"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"isomorphism ({n_iso} most frequent words per side)")
    pairs = dictionary.index_pairs(src, tgt) if dictionary is not None else None
    iso = isomorphism(src, tgt, pairs, n_iso)
    timings["isomorphism"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fail: dict = {"mapping": w_source}
    per_word: list[dict] = []
    if eval_dictionary is not None:
        if w_used is None:
            fail["note"] = "per-word analysis needs a mapping: give --run DIR or a dictionary (--dict)"
        else:
            say("per-word failure analysis (BLI, MUSE protocol)")
            per_word, bli = _failure.per_word_table(src, tgt, w_used, eval_dictionary, nk, k,
                                                    translation=[dictionary])
            fail["bli"] = bli
            fail["summary"] = _failure.failure_summary(per_word)
            fail["per_word_nk_sample"] = f"N_k known for predictions among the {n_hub} most frequent targets"
    if dictionary is not None and w_used is not None:
        say("dictionary residuals")
        res = _failure.dictionary_residuals(src, tgt, w_used, dictionary, top=max(top, 20))
        fail["dictionary_residuals"] = {kk: v for kk, v in res.items() if kk != "rows"}
        fail["_residual_rows"] = res["rows"]
    timings["failure"] = time.perf_counter() - t0
    drift = None
    if drift_rounds > 0:
        if w_used is None:
            drift = {"note": "self-learning drift needs a mapping: give --run DIR or a dictionary (--dict)"}
        elif src.dim != tgt.dim:
            drift = {"note": "self-learning drift refines an orthogonal d × d map: the spaces differ in dimension"}
        else:
            from .drift import self_learning_drift

            t0 = time.perf_counter()
            drift = self_learning_drift(src, tgt, w_used, drift_rounds, eval_dictionary=eval_dictionary,
                                        reference=dictionary, progress=say)
            timings["self_learning_drift"] = time.perf_counter() - t0

    report = {
        "settings": {
            "n_iso": n_iso, "n_hub": n_hub, "k": k, "top": top,
            "mapping": w_source,
            "source": {"name": src.name, "rows": len(src), "dim": src.dim, "normalization": src.step_names},
            "target": {"name": tgt.name, "rows": len(tgt), "dim": tgt.dim, "normalization": tgt.step_names},
            "dictionary": None if dictionary is None else {
                "name": dictionary.name, **dictionary.coverage(src, tgt).to_dict()},
            "eval_dictionary": None if eval_dictionary is None else {
                "name": eval_dictionary.name, **eval_dictionary.coverage(src, tgt).to_dict()},
            "note": f"isomorphism on the {n_iso} most frequent words per side after renorm,center,renorm; "
                    f"hubness on the {n_hub} most frequent words per side",
        },
        "hubness": hub,
        "isomorphism": iso,
        "failure": fail,
        "identical_strings": len(identical_strings(src, tgt, max_rank=IDENTICAL_MAX_RANK)),
    }
    if drift is not None:
        report["self_learning_drift"] = drift
    report["verdict"] = _verdict(report)
    report["timings"] = {kk: round(v, 3) for kk, v in timings.items()}
    residual_rows = fail.pop("_residual_rows", [])
    report["per_word"] = per_word
    report["dictionary_residual_rows"] = residual_rows
    return _jsonable(report)
