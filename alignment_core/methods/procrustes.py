"""Supervised orthogonal Procrustes with a seed dictionary, then optional refinement.

W = UVᵀ from the SVD of Yᵀ X over the seed pairs (see ``mapping.procrustes``);
then ``refinements`` rounds of the shared loop (``base.refine``): induce a dictionary
with CSLS, mutual nearest neighbours (S2T&T2S), max rank 15,000, and solve again
(Conneau et al. 2018 use 5 rounds). With refinements, the W kept is the best by the
unsupervised criterion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..dictionary import DEFAULT_MAX_RANK, INDUCTION_MODES
from ..errors import ConfigError
from ..mapping import least_squares, procrustes
from ..retrieval import RULES
from .base import Alignment, IterationEvent, Method, refine


@dataclass(frozen=True)
class ProcrustesConfig:
    refinements: int = 0
    induction: str = "S2T&T2S"
    rule: str = "csls"
    max_rank: int = DEFAULT_MAX_RANK
    csls_k: int = 10
    solver: str = "orthogonal"  # or "lstsq"

    def __post_init__(self):
        if self.refinements < 0:
            raise ConfigError(f"refinements must be ≥ 0, got {self.refinements}")
        if self.induction not in INDUCTION_MODES:
            raise ConfigError(f"induction must be one of {INDUCTION_MODES}, got {self.induction!r}")
        if self.rule not in RULES:
            raise ConfigError(f"rule must be one of {RULES}, got {self.rule!r}")
        if self.solver not in ("orthogonal", "lstsq"):
            raise ConfigError(f"solver must be 'orthogonal' or 'lstsq', got {self.solver!r}")


class Procrustes(Method):
    name = "procrustes"

    def __init__(self, config: ProcrustesConfig | None = None, **kw):
        super().__init__(config or ProcrustesConfig(**kw))

    def _fit(self, src, tgt, seed_pairs, monitor):
        cfg: ProcrustesConfig = self.config
        t0 = time.perf_counter()
        if seed_pairs is None or len(seed_pairs) == 0:
            raise ConfigError("supervised Procrustes needs a seed dictionary with at least one in-vocabulary pair")
        seed_pairs = np.asarray(seed_pairs, dtype=np.int64)
        x, y = src.vectors, tgt.vectors
        solve = procrustes if cfg.solver == "orthogonal" else least_squares
        w = solve(x[seed_pairs[:, 0]], y[seed_pairs[:, 1]])
        metrics = {"dict_size": int(len(seed_pairs))}
        if monitor is not None:
            metrics["p@1_nn"] = monitor.p_at_1_nn(x, y, w)
        self._best = (float("-inf"), w, seed_pairs, "procrustes")
        yield self._record(IterationEvent("procrustes", 1, 1, metrics, time.perf_counter() - t0, w=w,
                                          pairs=seed_pairs, message="solved on the seed dictionary"))
        if cfg.refinements == 0:
            return Alignment(w, self._src_steps, self._tgt_steps, seed_pairs, list(self._history), None,
                             best_step="procrustes")
        self._best = None
        yield from refine(self, x, y, w, cfg.refinements, mode=cfg.induction, rule=cfg.rule,
                          max_rank=cfg.max_rank, csls_k=cfg.csls_k, monitor=monitor, t0=t0)
        best = self.best_alignment()
        if best.induced.shape[0] == 0:
            best.induced = seed_pairs
        return best
