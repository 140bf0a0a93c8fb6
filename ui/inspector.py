"""The word inspector and the dictionaries of a run, from the core's retrieval.

Every search goes through :class:`alignment_core.retrieval.Retriever` or
:func:`alignment_core.retrieval.knn`; the Retriever of a run (with its CSLS and
inverted-softmax statistics) is built once and kept in the run's record.
"""

from __future__ import annotations

import numpy as np

from alignment_core.retrieval import RULES, Retriever, knn

TOP = 10


def aligned(rec) -> np.ndarray:
    """The run's aligned source vectors X·Wᵀ, computed once per run."""
    a = rec.cache.get("aligned")
    if a is None:
        a = rec.result.aligned_source()
        a.setflags(write=False)
        rec.cache["aligned"] = a
    return a


def retriever(rec) -> Retriever:
    rt = rec.cache.get("retriever")
    if rt is None:
        r = rec.result
        rt = Retriever(aligned(rec), r.tgt.vectors)
        rec.cache["retriever"] = rt
    return rt


def gold_map(rec, sd) -> dict[str, list[str]]:
    """source word → its translations in the evaluation and seed dictionaries (as the run
    used them: lowercased when the run lowercased)."""
    gm = rec.cache.get("gold_map")
    if gm is None and rec.result.test_pairs is not None:   # items: an id's partner is the same id
        r = rec.result
        gm = {w: [w] for w in r.src.words if w in r.tgt.index}
        rec.cache["gold_map"] = gm
    if gm is None:
        gm = {}
        for ld in (sd.eval, sd.seed):
            if ld is None:
                continue
            d = ld.dictionary.lowercased() if rec.result.config.lowercase else ld.dictionary
            for s, t in d.pairs:
                lst = gm.setdefault(s, [])
                if t not in lst:
                    lst.append(t)
        rec.cache["gold_map"] = gm
    return gm


def induced_map(rec) -> dict[str, list[str]]:
    im = rec.cache.get("induced_map")
    if im is None:
        im = {}
        for s, t in rec.result.induced.pairs:
            im.setdefault(s, []).append(t)
        rec.cache["induced_map"] = im
    return im


def inspect_word(rec, word: str, sd) -> dict | None:
    """Top translations under nn/csls/isf with scores, gold translations, and neighbours
    in the source space and (around the gold translation) in the target space."""
    r = rec.result
    row = r.src.index.get(word)
    if row is None:
        return None
    rt = retriever(rec)
    gold = [g for g in gold_map(rec, sd).get(word, [])]
    gold_set = set(gold)
    top = {}
    for rule in RULES:
        s, ids = rt.search(np.array([row]), k=TOP, rule=rule)
        top[rule] = [(r.tgt.words[j], round(float(v), 4), "✓" if r.tgt.words[j] in gold_set else "")
                     for j, v in zip(ids[0].tolist(), s[0].tolist())]
    sv = r.src.vectors
    s, ids = knn(sv[row:row + 1], sv, TOP + 1)
    src_nb = [(r.src.words[j], round(float(v), 4)) for j, v in zip(ids[0].tolist(), s[0].tolist()) if j != row][:TOP]
    anchor = next((g for g in gold if g in r.tgt.index), None)
    if anchor is None:  # no gold in vocabulary: neighbours of the best CSLS translation
        anchor = top["csls"][0][0]
    ti = r.tgt.index[anchor]
    tv = rt.tgt
    s, ids = knn(tv[ti:ti + 1], tv, TOP + 1)
    tgt_nb = [(r.tgt.words[j], round(float(v), 4)) for j, v in zip(ids[0].tolist(), s[0].tolist()) if j != ti][:TOP]
    return {"rank": row + 1, "gold": gold, "top": top, "src_neighbours": src_nb, "tgt_neighbours": tgt_nb,
            "anchor": anchor}
