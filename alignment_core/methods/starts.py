"""Unsupervised starts, shared by mini-vec2vec and MUSE: candidate W₀ screened by
pseudo-pair steps, and the consensus of independently refined candidates.

- :func:`pseudo_pair_step`: mini-vec2vec's refine-1 step (Dar 2025): sample source rows,
  pseudo-target = mean of the ``k`` nearest targets of x Wᵀ, Procrustes. From a rough
  start (a rank-64 W₀ of matched components) it moves W into the basin CSLS refinement
  needs: measured on fi→fr, CSLS refinement straight from the raw component-matching
  starts stalled on 3 of 4 (criterion never rose), while 30 steps first put all 4 at
  CSLS P@1 11–21.
- :func:`screen`: each candidate start through ``iterations`` such steps (α = 1), scored
  by :func:`nn_cos` and MUSE's criterion; one event per candidate. No pair is used.
- :func:`ica_starts`: the candidate starts of independent-component matching
  (``alignment_core.ica_match``), the best ``candidates`` distinct matchings per λ.
- :func:`refine_candidates`: each screened candidate refined on its own (``base.refine``),
  then their :func:`consensus` (MUSE's default preset and mini-vec2vec's ``ica_consensus``).
- :func:`consensus`: MUSE's consensus of games (see ``muse``): the S2T CSLS dictionaries
  of every refined candidate within ``gap`` of the best criterion, intersected; W =
  Procrustes on the pairs they all induce. Two refinements that start apart make
  different errors; the pairs both induce are mostly right. fi→fr, no seed, seed 0 (15k
  rows): four ICA candidates refined alone to CSLS P@1 25.7–28.8; their consensus and 4
  S2T polish rounds 31.7 (criterion 0.628, above every candidate's 0.607–0.613).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..dictionary import DEFAULT_MAX_RANK, induce_pairs
from ..errors import ConfigError
from ..ica_match import ComponentMatch, ica_components, mapping as ica_mapping
from ..mapping import apply_mapping, procrustes
from ..retrieval import Retriever, knn, normalize_rows
from .base import IterationEvent, Method, Monitor, refine, score_mapping

#: rows sampled on each side by the nn_cos criterion
NN_COS_SAMPLE = 4000


def neighbour_mean(ids: np.ndarray, y: np.ndarray, block: int = 4096) -> np.ndarray:
    """Row i: mean of y[ids[i]] (blocked: never materializes n × k × d at once)."""
    out = np.empty((ids.shape[0], y.shape[1]), dtype=np.float32)
    for a in range(0, ids.shape[0], block):
        out[a:a + block] = y[ids[a:a + block]].mean(axis=1)
    return out


def with_seeds(xa: np.ndarray, ya: np.ndarray, x: np.ndarray, y: np.ndarray,
               seeds: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(xa, ya) with the seed pairs' rows appended (unchanged when there is no seed)."""
    if seeds is None or len(seeds) == 0:
        return xa, ya
    return np.concatenate([xa, x[seeds[:, 0]]]), np.concatenate([ya, y[seeds[:, 1]]])


def pseudo_pair_step(x: np.ndarray, y: np.ndarray, w: np.ndarray, rng: np.random.Generator, sample: int,
                     k: int, seeds: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """One refine-1 step: ``sample`` source rows, their pseudo-targets (mean of the ``k``
    nearest targets of x Wᵀ), Procrustes on those pairs (and the seed pairs). Returns the
    Procrustes W (not blended) and the step's cheap numbers."""
    rows = rng.choice(x.shape[0], size=min(sample, x.shape[0]), replace=False)
    sims, ids = knn(apply_mapping(x[rows], w), y, k)
    px, py = with_seeds(x[rows], neighbour_mean(ids, y), x, y, seeds)
    return procrustes(px, py), {"dict_size": int(len(px)), "knn_cos": float(sims.mean()), "k": int(k),
                                "sampled": int(len(rows))}


def nn_cos(x: np.ndarray, y: np.ndarray, w: np.ndarray, n: int = NN_COS_SAMPLE, seed: int = 0) -> float:
    """Unsupervised criterion for comparing converged candidates: the mean, over ``n``
    sampled source rows mapped by ``w``, of the cosine to their nearest of ``n`` sampled
    target rows (the samples depend on ``seed`` only, so candidates share them)."""
    r = np.random.default_rng([int(seed), 4000])
    sx = normalize_rows(apply_mapping(x[r.choice(len(x), min(n, len(x)), replace=False)], w))
    sy = normalize_rows(y[r.choice(len(y), min(n, len(y)), replace=False)])
    sims, _ = knn(sx, sy, 1)
    return float(sims[:, 0].mean())


Describe = Callable[[int, int], str]


def screen(method: Method, x: np.ndarray, y: np.ndarray, starts: list[tuple[np.ndarray, dict, Describe]],
           iterations: int, sample: int, k: int, seeds: np.ndarray | None, monitor: Monitor | None,
           rng: np.random.Generator, seed: int, stage: str, tag: str, base_metrics: dict, t0: float,
           step: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None, offer: bool = False):
    """Each (W₀, its metrics, its description) of ``starts`` through ``iterations``
    pseudo-pair steps (events of stage "screen"; ``step(w, w_procrustes)`` blends, α = 1
    when None), then scored by :func:`nn_cos` and the criterion (one ``stage`` event
    each). No pair is used. With ``offer`` each scored candidate is offered to the method's
    best so far (a run cancelled after the first candidate keeps it). Returns [(metrics, W)]
    in candidate order."""
    results = []
    for c, (w, extra, what) in enumerate(starts):
        cm = {**base_metrics, "candidate": c + 1}
        for it in range(iterations):
            w_new, m = pseudo_pair_step(x, y, w, rng, sample, k, seeds)
            w_new = w_new if step is None else step(w, w_new)
            m = {**cm, **m, "delta_w": float(np.linalg.norm(w_new - w))}
            w = w_new
            if monitor is not None:
                m["p@1_nn"] = monitor.p_at_1_nn(x, y, w)
            yield method._record(IterationEvent(
                "screen", it + 1, iterations, m, time.perf_counter() - t0, w=w,
                message=f"{tag}: candidate {c + 1}: Procrustes on the mean of {k} nearest targets of "
                        f"{m['sampled']} sampled rows"))
        _, scored = score_mapping(x, y, w, monitor=monitor)
        metrics = {**cm, **extra, "nn_cos": nn_cos(x, y, w, seed=seed), **scored}
        if offer:
            method._offer(metrics["criterion"], w, None, f"candidate {c + 1} screened")
        results.append((metrics, w))
        yield method._record(IterationEvent(
            stage, c + 1, len(starts), metrics, time.perf_counter() - t0, w=w,
            message=f"{tag}: {what(c + 1, len(starts))}, {iterations} refine-1 iterations: "
                    f"nn_cos = {metrics['nn_cos']:.4f}"))
    return results


@dataclass(frozen=True)
class IcaStart:
    """The settings of the independent-component start (the ``ica_*`` fields of a
    method's config): FastICA to ``components`` per side; for each λ of ``lambdas``,
    ``starts`` Frank-Wolfe starts of ``qap_iterations`` steps, the best ``candidates``
    distinct matchings kept; each W₀ screened by ``screen_iterations`` pseudo-pair steps
    of ``screen_sample`` rows and k = ``screen_k``."""

    components: int = 64
    lambdas: tuple[float, ...] = (5.0, 10.0)
    starts: int = 100
    qap_iterations: int = 60
    candidates: int = 2
    screen_iterations: int = 30
    screen_sample: int = 1000
    screen_k: int = 50

    @staticmethod
    def check_fields(cfg, who: str) -> None:
        """Validate a config's ``ica_*`` fields (``ica_lambdas`` from JSON becomes a tuple)."""
        lams = cfg.ica_lambdas
        if not isinstance(lams, tuple):   # a JSON list from config.json or the CLI
            lams = tuple(float(v) for v in (lams if isinstance(lams, (list, tuple)) else [lams]))
            object.__setattr__(cfg, "ica_lambdas", lams)
        for name in ("ica_components", "ica_starts", "ica_candidates"):
            if int(getattr(cfg, name)) < 1:
                raise ConfigError(f"{who}{name} must be ≥ 1, got {getattr(cfg, name)}")
        if cfg.ica_components < 2:
            raise ConfigError(f"{who}ica_components must be ≥ 2, got {cfg.ica_components}")
        for name in ("ica_qap_iterations", "ica_screen_iterations"):
            if int(getattr(cfg, name)) < 0:
                raise ConfigError(f"{who}{name} must be ≥ 0, got {getattr(cfg, name)}")
        if not lams or any(not v >= 0 for v in lams):
            raise ConfigError(f"{who}ica_lambdas must be one or more numbers ≥ 0, got {lams}")

    @classmethod
    def of(cls, cfg, sample: int = 1000, k: int = 50) -> "IcaStart":
        return cls(cfg.ica_components, tuple(cfg.ica_lambdas), cfg.ica_starts, cfg.ica_qap_iterations,
                   cfg.ica_candidates, cfg.ica_screen_iterations, sample, k)


def fit_components(x: np.ndarray, y: np.ndarray, params: IcaStart, seed: int):
    """Both sides' components (the part every restart shares) and the seconds it took."""
    t = time.perf_counter()
    k = min(params.components, x.shape[1], y.shape[1])
    comps = (ica_components(x, k, seed), ica_components(y, k, seed))
    return comps, time.perf_counter() - t


def ica_starts(comps, params: IcaStart, rng: np.random.Generator,
               ica_seconds: float = 0.0) -> list[tuple[np.ndarray, dict, Describe]]:
    """The candidate starts W₀ = B_y[:, π] B_xᵀ: for each λ, the best ``candidates``
    distinct matchings of ``starts`` Frank-Wolfe starts, with their numbers."""
    cx, cy = comps
    out, seen = [], set()
    for lam in params.lambdas:
        t = time.perf_counter()
        found = ComponentMatch(cx, cy, lam).matchings(params.starts, rng, params.qap_iterations)
        qap_s = time.perf_counter() - t
        for m in found[:params.candidates]:
            if m.perm.tobytes() in seen:
                continue
            seen.add(m.perm.tobytes())
            out.append((ica_mapping(cx, cy, m.perm),
                        {"ica_lambda": lam, "ica_f": m.f, "ica_hits": m.hits, "ica_matchings": len(found),
                         "ica_components": int(cx.s.shape[1]), "ica_seconds": round(ica_seconds, 2),
                         "qap_seconds": round(qap_s, 2)},
                        lambda c, n, lam=lam, m=m: f"component matching {c}/{n} (λ = {lam:g}, f = {m.f:.1f}, "
                                                   f"{m.hits} of {params.starts} starts)"))
    return out


def consensus(method: Method, xf: np.ndarray, yf: np.ndarray, results: list[tuple[float, np.ndarray]],
              gap: float, csls_k: int, rule: str, max_rank: int, monitor: Monitor | None, t0: float,
              extra_pairs: np.ndarray | None = None, what: str = "games", labels: list[int] | None = None):
    """The agreement of refined candidates (MUSE's games, or ICA candidates): the S2T
    dictionaries (``rule``, max rank ``max_rank``) of every (criterion, W) of ``results``
    whose criterion is within ``gap`` of the best, intersected; W = Procrustes on those
    pairs (with ``extra_pairs``). With one such candidate, its W. Yields one "consensus"
    event when one is formed; returns the W to polish from."""
    top, best_w = max(results, key=lambda cw: cw[0])
    kept = [(r, w) for r, (c, w) in enumerate(results) if c >= top - gap]
    if len(kept) < 2:
        return best_w
    agreed: set[tuple[int, int]] | None = None
    for _, w in kept:
        retr = Retriever(apply_mapping(xf, w), yf, csls_k=csls_k)
        found = {(int(a), int(b)) for a, b in induce_pairs(retr, mode="S2T", rule=rule, max_rank=max_rank).tolist()}
        agreed = found if agreed is None else agreed & found
    pairs = np.asarray(sorted(agreed), dtype=np.int64).reshape(-1, 2)
    if extra_pairs is not None and len(extra_pairs):
        pairs = np.unique(np.concatenate([pairs, extra_pairs]), axis=0)
    if len(pairs) == 0:
        return best_w
    w = procrustes(xf[pairs[:, 0]], yf[pairs[:, 1]])
    _, metrics = score_mapping(xf, yf, w, csls_k, monitor)
    metrics.update({"dict_size": int(len(pairs)), "games_agreeing": len(kept)})
    metrics["best"] = method._offer(metrics["criterion"], w, pairs, "consensus")
    names = ", ".join(str(r + 1 if labels is None else labels[r]) for r, _ in kept)
    yield method._record(IterationEvent("consensus", 1, 1, metrics, time.perf_counter() - t0, w=w, pairs=pairs,
                                        message=f"consensus of {what} {names}: {len(pairs)} pairs, "
                                                f"criterion {metrics['criterion']:.4f}"))
    return w


#: a candidate whose criterion after ``ABANDON_AFTER`` refinement rounds is still this far
#: below the best refined candidate's is abandoned (it refines in another basin)
ABANDON_GAP = 0.05
ABANDON_AFTER = 2


def refine_candidates(method: Method, x: np.ndarray, y: np.ndarray, screened: list[tuple[dict, np.ndarray]],
                      rounds: int, mode: str, gap: float, **refine_kw):
    """Each screened (metrics, W) refined on its own by ``rounds`` rounds of ``mode``
    (``base.refine``, stage ``candidate N refinement``; ``refine_kw`` are refine's keyword
    arguments), then the :func:`consensus` of the refined candidates within ``gap``.
    Returns the W to polish from.

    The candidates are refined best screened criterion first; a later one still more than
    ``ABANDON_GAP`` below the best refined criterion after ``ABANDON_AFTER`` rounds is
    abandoned: it could not join the consensus (``gap`` < ``ABANDON_GAP``) nor be the best.
    On the sample (fi→fr 10k) two of the four candidates settle in another basin
    (criterion 0.52 against 0.61); abandoning them saves 5 of 30 refinement rounds. When
    the candidates refine alike (fi→fr 50k/20k: 0.607–0.613) nothing is abandoned."""
    order = sorted(range(len(screened)), key=lambda c: -float(screened[c][0].get("criterion", 0.0)))
    results = []
    for c in order:
        best = max((cr for cr, _ in results), default=None)
        results.append((yield from refine(method, x, y, screened[c][1], rounds, mode=mode,
                                          stage=f"candidate {c + 1} refinement",
                                          give_up=None if best is None else best - ABANDON_GAP,
                                          give_up_after=ABANDON_AFTER, **refine_kw)))
    kw = refine_kw.get
    return (yield from consensus(method, x, y, results, gap, kw("csls_k", 10), kw("rule", "csls"),
                                 kw("max_rank", DEFAULT_MAX_RANK), kw("monitor"), kw("t0", 0.0), kw("extra_pairs"),
                                 what="candidates", labels=[c + 1 for c in order]))
