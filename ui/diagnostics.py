"""Diagnostics of a run, computed in the background with the core's ``diagnose``.

"After" is :func:`alignment_core.diagnostics.report.diagnose` with the run's W, its seed
and evaluation dictionaries. "Before" is the hubness of the unmapped source searched
against the target (W = I, only when the dimensions match; otherwise the target
against itself) and the verdict judged from the spaces alone (the isomorphism measures
do not depend on W). N_k per target for the histograms comes from ``hubness_report``.
"""

from __future__ import annotations

import copy

import numpy as np

from alignment_core.diagnostics.report import diagnose, hubness_report
from alignment_core.diagnostics.verdict import verdict

from .jobs import Task


def _dicts(rec, sd):
    r = rec.result
    if r.test_pairs is not None:
        # paired items: the training pairs play the seed dictionary, the held-out pairs the evaluation one
        from alignment_core.dictionary import Dictionary

        def ids(rows):
            return Dictionary(tuple((r.src.words[i], r.tgt.words[j]) for i, j in rows.tolist()), "paired ids")
        return None, ids(r.test_pairs)
    low = rec.result.config.lowercase
    seed = sd.seed.dictionary if sd.seed is not None else None
    ev = sd.eval.dictionary if sd.eval is not None else None
    if low:
        seed = seed.lowercased() if seed is not None else None
        ev = ev.lowercased() if ev is not None else None
    return seed, ev


def start(rec, sd, n_words: int) -> Task:
    """Start the diagnostics of run ``rec`` on its ``n_words`` most frequent words per side."""
    r = rec.result
    seed, ev = _dicts(rec, sd)
    n = int(min(n_words, len(r.src), len(r.tgt)))

    def work(progress):
        out = {"n": n}
        progress("after alignment: hubness, isomorphism, failure analysis")
        after = diagnose(r.src, r.tgt, w=r.w, dictionary=seed, eval_dictionary=ev, n_iso=n, progress=progress)
        out["after"] = after
        progress("N_k per target, after alignment")
        _, out["nk_after"] = hubness_report(r.src, r.tgt, r.w, n)
        progress("hubness before alignment")
        w0 = np.eye(r.tgt.dim, r.src.dim, dtype=np.float32) if r.src.dim == r.tgt.dim else None
        out["before_hubness"], out["nk_before"] = hubness_report(r.src, r.tgt, w0, n)
        spaces_only = copy.deepcopy({k: v for k, v in after.items() if k != "verdict"})
        spaces_only["failure"] = {}
        spaces_only["hubness"] = out["before_hubness"]
        out["verdict_before"] = verdict(spaces_only)
        progress("done")
        return out

    return Task(f"diagnostics of {rec.name}", work).start()


#: one-sentence readings of the isomorphism measures
READINGS = {
    "relational_similarity": "Pearson correlation of cosine similarities within each language over the "
                             "dictionary pairs: near 1 when translation pairs relate to each other alike in both "
                             "spaces (higher is more isomorphic).",
    "eigenvector_similarity": "Distance between the Laplacian spectra of the two 10-NN graphs: 0 for isomorphic "
                              "neighbourhood graphs (lower is more isomorphic).",
    "gromov_hausdorff": "Bottleneck distance between the spaces' persistence (MST) diagrams: how differently the "
                        "two point clouds cluster (lower is more isomorphic).",
    "singular_value_gap": "Squared differences of the log singular values: how differently variance spreads over "
                          "directions (lower is more alike).",
    "econd_hm": "Harmonic mean of the effective condition numbers: high values mean ill-conditioned spaces, where "
                "BLI degrades (lower is better).",
    "procrustes_bound": "Residual of the best orthogonal map on the dictionary pairs: what no rotation can fix.",
}
