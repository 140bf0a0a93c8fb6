"""Self-learning drift: does the unsupervised objective agree with a given mapping?

Unsupervised methods (MUSE, mini-vec2vec's refinement) pick their mapping by the
unsupervised criterion and refine it on dictionaries they induce themselves. If the
fixed point of that self-learning is not the mapping a gold dictionary gives, no amount
of search closes the gap: the method converges to what its objective prefers.

:func:`self_learning_drift` measures this directly. Starting from W (typically the
supervised mapping), it runs the shared refinement loop (``methods.base.refine``: CSLS
mutual-NN dictionaries on the ``max_rows`` most frequent rows of each side, orthogonal
Procrustes, no seed pairs) and reports, per round, the criterion, the induced
dictionary's size, its agreement with a reference dictionary (the share of induced pairs
whose source the reference knows and whose target it lists) and BLI P@1 (CSLS) on an
evaluation dictionary.

Measured on fi→fr (``renorm,center,renorm``, xling, 833 test queries): Procrustes on the
5k training dictionary reaches CSLS P@1 36.5 with criterion 0.547. Refined without the
dictionary, the criterion rises to 0.605, 0.611, 0.614, … 0.616 while P@1 falls to
35.2, 34.5, 32.9, 32.5, … 32.3 (8 rounds). An unsupervised MUSE run ends at criterion
0.61–0.62 with P@1 25–31: the criterion cannot tell these apart, and prefers all of them
to the supervised mapping. The induced dictionaries say why: from the supervised W,
72 % of the induced pairs with a known source agree with the gold training dictionary;
from an unsupervised W (P@1 27), 48 %. So the gap to 36 has two parts: about 4 points
because self-learning on frequent words pulls away from the gold dictionary's mapping
(its objective prefers a different W), and the rest because several mappings of equal
criterion and different precision exist, among which an unsupervised method cannot
choose.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..dictionary import Dictionary
from ..embeddings import Embeddings
from ..errors import ConfigError
from ..evaluation import evaluate_bli


def _reference_agreement(pairs: np.ndarray, reference: dict[int, set[int]]) -> tuple[float | None, int]:
    known = [(s, t) for s, t in pairs.tolist() if s in reference]
    if not known:
        return None, 0
    return 100.0 * float(np.mean([t in reference[s] for s, t in known])), len(known)


def self_learning_drift(src: Embeddings, tgt: Embeddings, w: np.ndarray, rounds: int = 4,
                        max_rows: int = 15_000, eval_dictionary: Dictionary | None = None,
                        reference: Dictionary | None = None, csls_k: int = 10,
                        progress: Callable[[str], None] | None = None) -> dict:
    """Refine ``w`` (d_tgt × d_src) ``rounds`` times without any dictionary and report how
    the criterion, P@1 (with ``eval_dictionary``) and the agreement of the induced
    dictionary with ``reference`` move. See the module docstring for the reading."""
    from ..methods.base import Method, refine  # the methods' own loop, not a copy

    if rounds < 1:
        raise ConfigError(f"drift rounds must be at least 1, got {rounds}")
    if w.shape != (tgt.dim, src.dim):
        raise ConfigError(f"the mapping has shape {w.shape}; these spaces need ({tgt.dim}, {src.dim})")
    if src.dim != tgt.dim:
        raise ConfigError("self-learning drift refines an orthogonal d × d map: the spaces need the same dimension")
    say = progress or (lambda msg: None)
    nx, ny = min(max_rows, len(src)), min(max_rows, len(tgt))
    x, y = src.vectors[:nx], tgt.vectors[:ny]
    ref: dict[int, set[int]] = {}
    if reference is not None:
        for s, t in reference.index_pairs(src, tgt).tolist():
            ref.setdefault(s, set()).add(t)

    def p_at_1(m: np.ndarray) -> float | None:
        if eval_dictionary is None:
            return None
        return float(evaluate_bli(src, tgt, m, eval_dictionary, rules=("csls",), per_word=False)
                     .scores["csls"]["p@1"])

    holder = Method(None)
    rows = []
    w_cur = np.asarray(w, np.float32)
    p_start = p_at_1(w_cur)
    for ev in refine(holder, x, y, w_cur, rounds, mode="S2T&T2S", rule="csls", csls_k=csls_k,
                     max_rank=max(nx, ny), select=False):
        say(f"self-learning drift: round {ev.step}/{rounds}")
        if ev.message == "final check":
            rows[-1]["criterion_after"] = float(ev.metrics["criterion"])
            continue
        agree, n_known = _reference_agreement(ev.pairs, ref) if ref else (None, 0)
        rows.append({"round": ev.step, "criterion_before": float(ev.metrics["criterion"]),
                     "dict_size": int(ev.metrics["dict_size"]), "reference_agreement": agree,
                     "reference_known": n_known, "p@1_csls_after": p_at_1(ev.w)})
    c0, c1 = rows[0]["criterion_before"], rows[-1]["criterion_after"]
    p1 = rows[-1]["p@1_csls_after"]
    out = {"rounds": rows, "max_rows": [nx, ny], "criterion_start": c0, "criterion_end": c1,
           "p@1_csls_start": p_start, "p@1_csls_end": p1}
    out["summary"] = _summary(c0, c1, p_start, p1, rounds)
    return out


def _summary(c0: float, c1: float, p0: float | None, p1: float | None, rounds: int) -> str:
    head = f"Refined {rounds} rounds without a dictionary, the criterion goes {c0:.3f} → {c1:.3f}"
    if p0 is None or p1 is None:
        return head + " (give an evaluation dictionary to see what P@1 does)."
    head += f" and CSLS P@1 {p0:.1f} → {p1:.1f}."
    if c1 - c0 > 0.01 and p0 - p1 > 1.0:
        return (head + " The unsupervised objective prefers another mapping than this one: an unsupervised "
                "method, which selects by that criterion, settles near such a mapping, so it cannot reach "
                "this mapping's precision. That is part of the gap between supervised and unsupervised runs.")
    if abs(c1 - c0) <= 0.01 and abs(p1 - p0) <= 1.0:
        return head + " This mapping is (close to) a fixed point of self-learning: the objectives agree."
    return head
