"""MUSE: adversarial initialization, then Procrustes refinement on CSLS-induced dictionaries.

Conneau, Lample, Ranzato, Denoyer, Jégou (ICLR 2018), "Word translation without
parallel data" (reference code: facebookresearch/MUSE, ``unsupervised.py``).

1. Adversarial stage. W (d × d, no bias) starts at the identity. Each mapping step:
   ``dis_steps`` SGD steps of the discriminator D (see ``adversarial``) on ``batch_size``
   mapped source rows (labels 1 − s) and ``batch_size`` target rows (labels s), sampled
   uniformly among the ``dis_most_frequent`` most frequent words of each side; then one
   SGD step of W on the flipped labels, W ← W − lr·∂L/∂W, and the orthogonalization
   W ← (1 + β)W − β(WWᵀ)W. An epoch is ``epoch_size`` samples (epoch_size / batch_size
   mapping steps). After each epoch: the unsupervised criterion (``base.unsupervised_criterion``:
   CSLS translations of the 10k most frequent source words, mean cosine of the pairs whose
   both ranks are ≤ 10k) selects the best W; the mapping's learning rate is multiplied by
   ``lr_decay`` and, from the second time the criterion falls below its best, by ``lr_shrink``;
   the stage stops when the learning rate falls below ``min_lr``.
2. Refinement: ``refinements`` rounds of the shared loop ``base.refine`` (dictionary induced
   by CSLS, S2T, max rank 15,000; orthogonal Procrustes), starting from the best W so far;
   every W is scored by the same criterion and the best is kept.

Presets (``MuseConfig.preset``; a field left ``None`` takes the preset's value, a field
given explicitly overrides it):

- ``ica`` (the default, the app's and the CLI's): **no adversarial game.** The start is
  independent-component matching (``init="ica"``, ``methods.starts``, shared with
  mini-vec2vec): FastICA on each side's top-64 principal subspace, the components matched
  as two co-occurrence graphs (``ica_match``), the 2 best matchings for each λ of (5, 10)
  each screened by 30 pseudo-pair Procrustes steps; then every candidate is refined as a
  ``small`` game's refinement is (mutual CSLS dictionaries, plateau stop) but for at most 5
  rounds, the pairs the candidates within ``consensus_gap`` agree on give W (the consensus
  below), and up to 8 S2T polish rounds (plateau stop). A candidate only has to reach its
  basin before the consensus: 15 rounds a candidate and 4 of polish gave the same P@1 on
  seeds 0–9 of fi→fr and the sample in 20–35 % more time. Why: on fi→fr the adversarial game succeeds about one time in
  three and needs ~4 minutes for two games, while every screened component candidate is
  already in the right basin (CSLS P@1 11–21 before refinement); see ``docs/defaults.md``
  and ``bench/bench_defaults.py`` for seeds 0–9. The game's fields are ``small``'s, so
  ``init="adversarial"`` on this preset plays the ``small`` game. It also maps spaces of
  different dimensions (the game cannot).
- ``paper``: the reference defaults: hidden layers of 2048, batch 32 (+32), 5 discriminator
  steps per mapping step, epochs of 1,000,000 samples (31,250 mapping steps), 5 epochs,
  75,000 most frequent words for the discriminator. On 2 CPU cores one epoch takes hours
  (``bench/bench_muse.py`` measures a fraction of an epoch and extrapolates).
- ``fast`` (the default before ``ica``): the same game, with about 80× fewer mapping steps,
  each about 7× cheaper:

  * hidden layers of 512 instead of 2048 (the 2048×2048 layer is ~90 % of the flops);
  * batches of 128 (+128) instead of 32 (+32): better BLAS efficiency, less noisy gradients;
  * 2 discriminator steps per mapping step instead of 5;
  * learning rates 0.4 instead of 0.1 for both players (the linear scaling rule for a
    4× batch, Goyal et al. 2017) and β = 0.01 instead of 0.001 (with ~80× fewer steps,
    the pull towards the orthogonal group must be stronger per step);
  * 8 short "epochs" (model-selection checkpoints) of 32,000 samples = 250 mapping steps,
    2,000 mapping steps in all instead of 156,250; the learning-rate schedule (×0.98 per
    checkpoint, halving from the second criterion drop) runs on that finer clock;
  * ``dis_most_frequent`` = 20,000 instead of 75,000 (a fairer frequency match when the
    sides have different sizes; the same for a 20k × 20k pair).

  Measured (rotated, noised, shuffled copy of 8k French words, 2 refinements): with the
  reference learning rates, 2,000 steps leave the mapping near its start (P@1 < 0.1 %).
  With the fast preset's, random seed 0 once ended the adversarial stage at CSLS P@1 ≈ 38 %
  (99.5 % after one refinement round), but over more seeds the game mostly settles in a
  wrong basin (criterion ≈ 0.41): 1 success in 4 seeds with the earlier sampling order,
  none of seeds 0–5 with the current one (P@1 ≤ 20). So ``fast`` is a quick first look,
  not a reliable unsupervised method; ``small`` recovers this pair (P@1 100 on seeds 0 and
  1, about 110 s) and is what the known-answer test runs. Architecture, losses, label
  smoothing, input dropout and the refinement are the reference's. Timings:
  ``bench/bench_muse.py``.

- ``small``: the reference game (batch 32 (+32), 5 discriminator steps per mapping step,
  discriminator learning rate 0.1, β = 0.001, every word sampled) with a discriminator of
  128 hidden units, and these changes:

  * a mapping step costs about 4 ms on one core instead of 325 ms (the discriminator step
    is one fused pass, the 5 discriminator batches of a step are mapped in one product,
    and W is orthogonalized every 4 steps with 4β: to first order in β the same pull);
  * the mapping's learning rate is 0.3 instead of 0.1, and the stage is 5 epochs of
    128,000 samples (20,000 mapping steps, about 0.6 of one reference epoch): with 0.1 it
    needed 8 such epochs for the same success rate;
  * refinement: up to 15 rounds with mutual (S2T&T2S) CSLS dictionaries, stopped once the
    criterion has not risen by 0.001 for 2 rounds (``refine_patience``), then 4 rounds with
    S2T dictionaries (``polish``) from the best W. From a rough start the mutual
    dictionary climbs for ~10 rounds; once converged, S2T's larger dictionary adds 1–3
    points of P@1 (and raises the criterion, 0.61 → 0.62);
  * the criterion, the CSLS statistics and the dictionaries use the 15,000 most frequent
    rows of each side (``max_rows``; W still maps every row);
  * two games (``restarts`` = 2) at once, each in its own worker process on one core
    (``parallel``; module ``muse_game``: the inputs go through ``.npy`` files and the
    events come back as JSON lines, no pickle). Each game is an adversarial stage and the
    mutual refinement above, on its own random stream (game 1 is the single run of the
    same seed). Then the **consensus**: the S2T CSLS dictionaries (15,000 rows) of the
    games whose criterion is within ``consensus_gap`` = 0.03 of the best game's are
    intersected, and W = Procrustes on the pairs they all agree on; the S2T polish starts
    from that W. A game in a wrong basin ends about 0.1 below a successful one and is left
    out; if only one game is left, the polish starts from its W. Threads measured no faster
    than one game after the other (the loop's many small numpy calls hold the GIL), hence
    processes; ``parallel=False`` runs the same games one after the other in-process.

  Why a consensus: two successful games refine to different self-consistent dictionaries
  (they share only ~6,500 of 15,000 pairs), each with its own errors; the pairs both
  induce are mostly right. Measured offline on fi→fr with pairs of refined games alone at
  CSLS P@1 25.8 / 26.9, 25.1 / 30.7, 26.9 / 30.7 and 26.4 / 27.5 (the last two after the
  mutual stage only): consensus + polish reached 30.5, 32.3, 31.1 and 31.3, and its
  criterion (0.627–0.629) was above either game's (0.605–0.624), so the selection by the
  criterion keeps it. Averaging the two W instead gave 31.2, 30.1, 31.5 and 31.1. Two
  refinements of the same game (mutual, S2T-only, or on 80 % subsamples) agree on ~10,500
  pairs and their consensus gains < 1 point: the gain needs independent games.

Measured with no seed on real fi→fr (``renorm,center,renorm``, xling test, 833 queries,
whole 20k target vocabulary; 2-core machine, ``bench/bench_muse.py small-fi-fr-noseed``):

- the preset (two games at once: 205–243 s on a quiet machine, the adversarial stages
  ending at 111–117 s; peak RSS 420 MB in the main process and 330 MB in each worker).
  Random seeds 0, 2, 3 and 4 reach CSLS P@1 25.09, 26.89, 30.73 and 29.89 (NN 23.29,
  25.21, 26.77, 27.13; criterion 0.621–0.624); seed 1 fails (P@1 0.24, criterion 0.51).
  In each of these five runs game 2 (stream (seed, 1)) ended in a wrong basin, so the
  consensus was not formed and the result is game 1's, the single game of earlier versions.
- one game alone succeeds about one time in three: of eleven streams (seeds 0–5 and
  (0, 1) … (4, 1)), 0, 2, 3 and 4 did. So two games raise the chance that at least one
  succeeds from about 0.36 to about 0.6, and both succeed about one time in eight. Neither 7
  epochs instead of 5 (streams (0, 1), (3, 1)) nor sampling both sides among their 20,000
  most frequent words (2 of 6 streams) made a failing game succeed more often.
- a successful game ends its adversarial stage at P@1 ≈ 2–4 (criterion ≈ 0.46–0.47); the
  mutual refinement climbs round by round (e.g. 2, 4, 5, 8, 9, 13, 18, 20, 22, 23) and the
  S2T polish adds the rest. The reference on a GPU reaches ≈ 28.

Earlier measurements (before the changes above; learning rate 0.1): 8 epochs reached
27.73, 26.65 and 29.89 on seeds 0–2 (303–337 s) and failed on seed 4; 5 epochs succeeded
on seed 1 only. A separate numpy prototype of the same game reached 25.7–28.0 after
20–34k steps and failed on one seed of four. Failed games end in a wrong basin that
refinement makes self-consistent: criterion 0.47–0.52 against 0.60–0.62 for a success,
so the criterion flags them.

Seed pairs (semi-supervised; ``seed_mode``):

- ``"replace"`` (default): the adversarial stage is skipped; W₀ = Procrustes(seed pairs);
  the seed pairs are added to every induced dictionary during refinement.
- ``"augment"``: the adversarial stage starts from W₀ = Procrustes(seed pairs) instead of
  the identity; the seeds are again added to every refinement dictionary.

Measured on real fi→fr (xling test, 833 queries; ``bench/bench_muse.py``): with 500 seed
pairs (``replace``), CSLS P@1 goes from 24.5 (Procrustes on the seeds) to 31.5 after the 5
refinements (218 s on a busy 2-core machine); ``augment`` ends at 30.0 in 544 s: its
adversarial stage raises the criterion (0.49 → 0.52) while P@1 falls (24.5 → 18), and
refinement recovers. Hence ``replace`` is the default. With no seed, the fast preset's
adversarial stage (seeds 0 and 1, also doubled to 16 checkpoints) settles on a wrong
solution: criterion ≈ 0.41 at P@1 ≈ 0, which refinement makes self-consistent (criterion
0.52, P@1 0): its large learning rates and few steps suit near-isometric pairs (the
rotated copy above), not this distant, differently trained one; ``small`` does.

The adversarial game's mapping is square: both spaces must have the same dimension (a
``ConfigError`` says so otherwise); the orthogonalization and the identity start assume it.
The ``ica`` start and the refinement do not: Procrustes gives a semi-orthogonal W.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..dictionary import DEFAULT_MAX_RANK, INDUCTION_MODES
from ..errors import ConfigError
from ..mapping import orthogonality_error, procrustes
from ..retrieval import RULES
from .adversarial import Discriminator, discriminator_step, mapping_gradient, orthogonalize
from .base import Alignment, IterationEvent, Method, Monitor, fitted_rows, refine, score_mapping
from .starts import IcaStart, consensus, fit_components, ica_starts, refine_candidates, screen

#: values of the preset-dependent fields (the rest of the config is shared)
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(n_epochs=5, epoch_size=1_000_000, batch_size=32, dis_steps=5, dis_hidden=2048,
                  dis_most_frequent=75_000, report_every=1000, dis_lr=0.1, map_lr=0.1, map_beta=0.001,
                  orth_every=1, refinements=5, refine_mode="S2T", refine_patience=0, polish=0, restarts=1, max_rows=0),
    "fast": dict(n_epochs=8, epoch_size=32_000, batch_size=128, dis_steps=2, dis_hidden=512,
                 dis_most_frequent=20_000, report_every=125, dis_lr=0.4, map_lr=0.4, map_beta=0.01,
                 orth_every=1, refinements=5, refine_mode="S2T", refine_patience=0, polish=0, restarts=1, max_rows=0),
    "small": dict(n_epochs=5, epoch_size=128_000, batch_size=32, dis_steps=5, dis_hidden=128,
                  dis_most_frequent=75_000, report_every=1000, dis_lr=0.1, map_lr=0.3, map_beta=0.001,
                  orth_every=4, refinements=15, refine_mode="S2T&T2S", refine_patience=2, polish=4,
                  restarts=2, max_rows=15_000),
}
for _p in PRESETS.values():
    _p["init"] = "adversarial"
# the default: the start of independent-component matching instead of the adversarial game,
# then the small preset's refinement, consensus and polish (the game's fields are small's,
# for init="adversarial" on this preset), except that each candidate is refined by at most 5
# rounds (it only has to reach its basin) and the polish from the consensus takes up to 8:
# seeds 0–9 measured on 2026-12-03, the sample 52–63 s instead of 68–97 s (CSLS P@1 50.8–54.6
# against 50.2–55.6), fi→fr alike (docs/defaults.md)
PRESETS["ica"] = dict(PRESETS["small"], init="ica", refinements=5, polish=8)
SEED_MODES = ("replace", "augment")
INITS = ("adversarial", "ica")


@dataclass(frozen=True)
class MuseConfig:
    """MUSE's hyper-parameters. Fields left ``None`` are filled from ``preset``."""

    preset: str = "ica"
    seed: int = 0
    # the start with no seed pair: "adversarial" (the paper's game) or "ica" (component
    # matching, ``starts``; the game is not played). None → from the preset
    init: str | None = None
    # adversarial stage (None → from the preset)
    n_epochs: int | None = None
    epoch_size: int | None = None          # samples per epoch (mapping steps = epoch_size // batch_size)
    batch_size: int | None = None          # per side
    dis_steps: int | None = None           # discriminator steps per mapping step
    dis_hidden: int | None = None
    dis_most_frequent: int | None = None   # sample among this many most frequent words (0 = all)
    report_every: int | None = None        # mapping steps between progress events (0 = none)
    dis_layers: int = 2
    dis_input_dropout: float = 0.1
    dis_leaky: float = 0.2
    dis_smooth: float = 0.1
    dis_lr: float | None = None
    map_lr: float | None = None
    map_beta: float | None = None          # orthogonalization strength β
    # orthogonalize every this many mapping steps, with β·orth_every (1 = after every step, the
    # reference; to first order in β, k steps of β and one of kβ pull W alike)
    orth_every: int | None = None
    lr_decay: float = 0.98
    lr_shrink: float = 0.5
    min_lr: float = 1e-6
    # refinement
    refinements: int | None = None         # (None → from the preset)
    refine_mode: str | None = None
    refine_rule: str = "csls"
    # stop the refinement once the criterion has not risen by 0.001 for this many rounds (0 = never)
    refine_patience: int | None = None
    # then this many rounds of S2T refinement from the best W (0 = none): once the
    # mutual dictionaries have converged, S2T's larger dictionary lifts P@1 further
    polish: int | None = None
    refine_max_rank: int = DEFAULT_MAX_RANK
    csls_k: int = 10
    # the most frequent rows of each side used by the criterion, the refinement and the
    # induced dictionary (0 = all; None → from the preset); the adversarial stage samples
    # dis_most_frequent rows
    max_rows: int | None = None
    # independent games (adversarial stage + refinement; random streams: game 1 = seed, game
    # r + 1 = (seed, r)). With 2 or more, the pairs every successful game induces form a
    # consensus dictionary; its Procrustes solution is then polished
    restarts: int | None = None
    # run the games at once, each in a worker process with one BLAS/faiss thread (False: one
    # after the other in this process; same games, same streams)
    parallel: bool = True
    # a game joins the consensus if its criterion is within this of the best game's (a game
    # in a wrong basin ends about 0.1 below a successful one)
    consensus_gap: float = 0.03
    # init="ica": the independent-component start (``starts.IcaStart``; as mini-vec2vec's)
    ica_components: int = 64
    ica_lambdas: tuple[float, ...] = (5.0, 10.0)
    ica_starts: int = 100
    ica_qap_iterations: int = 60
    ica_candidates: int = 2                # per λ
    ica_screen_iterations: int = 30
    # seeds
    seed_mode: str = "replace"
    # BLAS threads inside the adversarial loop (0 = the library's default). Its matmuls are
    # small (batch × hidden): one thread is as fast on 2 cores and far faster on a busy machine.
    blas_threads: int = 1

    def __post_init__(self):
        IcaStart.check_fields(self, "")
        if self.preset not in PRESETS:
            raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        for k, v in PRESETS[self.preset].items():
            if getattr(self, k) is None:
                object.__setattr__(self, k, v)
        for name in ("n_epochs", "dis_steps", "refinements", "refine_patience", "polish", "dis_most_frequent", "report_every", "blas_threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        for name in ("orth_every", "epoch_size", "batch_size", "dis_hidden", "dis_layers", "csls_k", "refine_max_rank"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.max_rows < 0:
            raise ConfigError(f"max_rows must be ≥ 0 (0 = all rows), got {self.max_rows}")
        if self.consensus_gap < 0:
            raise ConfigError(f"consensus_gap must be ≥ 0, got {self.consensus_gap}")
        if self.restarts < 1:
            raise ConfigError(f"restarts must be ≥ 1, got {self.restarts}")
        if self.epoch_size < self.batch_size:
            raise ConfigError(f"epoch_size ({self.epoch_size}) must be at least batch_size ({self.batch_size})")
        if not 0 <= self.dis_input_dropout < 1:
            raise ConfigError(f"dis_input_dropout must be in [0, 1), got {self.dis_input_dropout}")
        if not 0 <= self.dis_smooth < 0.5:
            raise ConfigError(f"dis_smooth must be in [0, 0.5), got {self.dis_smooth}")
        if self.refine_mode not in INDUCTION_MODES:
            raise ConfigError(f"refine_mode must be one of {INDUCTION_MODES}, got {self.refine_mode!r}")
        if self.refine_rule not in RULES:
            raise ConfigError(f"refine_rule must be one of {RULES}, got {self.refine_rule!r}")
        if self.seed_mode not in SEED_MODES:
            raise ConfigError(f"seed_mode must be one of {SEED_MODES}, got {self.seed_mode!r}")
        if self.init not in INITS:
            raise ConfigError(f"init must be one of {INITS}, got {self.init!r}")

    @classmethod
    def from_preset(cls, preset: str = "ica", **overrides: Any) -> "MuseConfig":
        """The preset's config, with some fields overridden."""
        return cls(preset=preset, **overrides)

    @property
    def steps_per_epoch(self) -> int:
        """Mapping steps per epoch, as the reference's ``range(0, epoch_size, batch_size)``."""
        return -(-self.epoch_size // self.batch_size)


def _blas_threads(n: int):
    """Context limiting BLAS threads to ``n`` (no-op for 0 or without threadpoolctl)."""
    if n:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn/umap-learn
            return contextlib.nullcontext()
        return threadpool_limits(limits=n, user_api="blas")
    return contextlib.nullcontext()


def _criterion_metrics(x: np.ndarray, y: np.ndarray, w: np.ndarray, csls_k: int,
                       monitor: Monitor | None) -> dict[str, Any]:
    return score_mapping(x, y, w, csls_k, monitor)[1]


class Muse(Method):
    """MUSE (Conneau et al. 2018). See the module docstring for the stages and presets."""

    name = "muse"

    def __init__(self, config: MuseConfig | None = None, **kw):
        super().__init__(config or MuseConfig(**kw))

    def _fit(self, src, tgt, seed_pairs, monitor):
        cfg: MuseConfig = self.config
        t0 = time.perf_counter()
        no_seeds = seed_pairs is None or len(seed_pairs) == 0
        ica = cfg.init == "ica" and (no_seeds or cfg.seed_mode == "augment")
        game = cfg.init == "adversarial" and cfg.n_epochs > 0 and (no_seeds or cfg.seed_mode == "augment")
        if src.dim != tgt.dim and game:
            raise ConfigError(
                f"MUSE maps d × d: the source has dimension {src.dim} and the target {tgt.dim}; "
                "the adversarial game needs spaces of the same dimension (init='ica', the default "
                "preset, and supervised Procrustes handle a semi-orthogonal map)")
        x, y = src.vectors, tgt.vectors
        rng = np.random.default_rng(cfg.seed)
        seeds = None
        if seed_pairs is not None and len(seed_pairs):
            seeds = np.asarray(seed_pairs, dtype=np.int64).reshape(-1, 2)
            if (seeds < 0).any() or seeds[:, 0].max() >= len(x) or seeds[:, 1].max() >= len(y):
                raise ConfigError("seed_pairs must be (source row, target row) indices within the vocabularies")
            w0 = procrustes(x[seeds[:, 0]], y[seeds[:, 1]])
            how = f"Procrustes on {len(seeds)} seed pairs"
        else:
            w0 = np.eye(tgt.dim, src.dim, dtype=np.float32)
            how = "identity"
        # the rows the criterion, the refinement and the induced dictionary see
        rows_x, rows_y, fit_seeds, monitor = fitted_rows(len(x), len(y), cfg.max_rows, seeds, monitor)
        xf, yf = x[:rows_x], y[:rows_y]
        metrics = _criterion_metrics(xf, yf, w0, cfg.csls_k, monitor)
        if seeds is not None:
            metrics["dict_size"] = int(len(seeds))
        self._offer(metrics["criterion"], w0, seeds, "init")
        yield self._record(IterationEvent("init", 0, 0, metrics, time.perf_counter() - t0, w=w0, pairs=seeds,
                                          message=f"start: {how}"))
        adversarial = game
        refine_kw = self._refine_kw(monitor, t0, fit_seeds)
        if ica:
            start = yield from self._ica_candidates(xf, yf, monitor, t0, fit_seeds)
        elif adversarial and cfg.restarts > 1:
            run = self._parallel_games if cfg.parallel else self._sequential_games
            results = yield from run(x, y, xf, yf, w0, monitor, t0, fit_seeds)
            start = yield from self._consensus(xf, yf, results, monitor, t0, fit_seeds)
        else:
            if adversarial:
                yield from self._adversarial(x, y, xf, yf, w0, rng, monitor, t0)
            # from the best so far (the start W included, as the reference)
            yield from refine(self, xf, yf, self._best[1], cfg.refinements, mode=cfg.refine_mode,
                              stage="refinement", **refine_kw)
            start = self._best[1]
        if cfg.polish > 0:
            yield from refine(self, xf, yf, start, cfg.polish, mode="S2T", stage="polish", **refine_kw)
        best = self.best_alignment()
        if best.induced.shape[0] == 0 and seeds is not None:
            best.induced = seeds
        return best

    # -- several games

    def _game(self, x, y, xf, yf, w0, rng, monitor, t0, extra_pairs=None):
        """One game: the adversarial stage, then the refinement from its best W (on this
        instance: its best is the game's). Returns (criterion, W) of the game's best."""
        cfg: MuseConfig = self.config
        start = yield from self._adversarial(x, y, xf, yf, w0, rng, monitor, t0)
        yield from refine(self, xf, yf, start, cfg.refinements, mode=cfg.refine_mode, stage="refinement",
                          **self._refine_kw(monitor, t0, extra_pairs))
        return self._best[0], self._best[1]

    def _refine_kw(self, monitor, t0, extra_pairs) -> dict[str, Any]:
        """The arguments every refinement of this run (game, main, polish) passes to ``refine``."""
        cfg: MuseConfig = self.config
        return dict(rule=cfg.refine_rule, max_rank=cfg.refine_max_rank, csls_k=cfg.csls_k, monitor=monitor,
                    t0=t0, extra_pairs=extra_pairs, patience=cfg.refine_patience)

    def _relay(self, ev: IterationEvent, r: int) -> IterationEvent:
        """A game's event as this run's: stage ``game r <stage>``; a W with its criterion
        is offered (so a cancelled run keeps the best W of any game)."""
        ev.stage = f"game {r + 1} {ev.stage}"
        crit = ev.metrics.get("criterion")
        if ev.w is not None and crit is not None:
            ev.metrics["best"] = self._offer(float(crit), ev.w, None, ev.stage + f" {ev.step}")
        return self._record(ev)

    def _sequential_games(self, x, y, xf, yf, w0, monitor, t0, extra_pairs):
        """The games one after the other in this process. Returns [(criterion, W)] in game order."""
        cfg: MuseConfig = self.config
        results = []
        for r in range(cfg.restarts):
            gen = Muse(cfg)._game(x, y, xf, yf, w0, game_rng(cfg.seed, r), monitor, t0, extra_pairs)
            while True:
                try:
                    ev = next(gen)
                except StopIteration as stop:
                    results.append(stop.value)
                    break
                yield self._relay(ev, r)
        return results

    def _parallel_games(self, x, y, xf, yf, w0, monitor, t0, extra_pairs):
        """The games at once, each in a worker process (``muse_game``) with one BLAS/faiss
        thread. Inputs go to a private temporary directory as ``.npy`` and JSON (no pickle);
        each worker streams its events as JSON lines and writes its Ws as ``.npy``. Closing
        this generator (a cancel) kills the workers. Returns [(criterion, W)] in game order."""
        cfg: MuseConfig = self.config
        n = cfg.restarts
        tmp = Path(tempfile.mkdtemp(prefix="alignscope-muse-"))
        procs: list[subprocess.Popen] = []
        errs = [collections.deque(maxlen=40) for _ in range(n)]
        try:
            np.save(tmp / "x.npy", np.ascontiguousarray(x, dtype=np.float32))
            np.save(tmp / "y.npy", np.ascontiguousarray(y, dtype=np.float32))
            np.save(tmp / "w0.npy", np.asarray(w0, dtype=np.float32))
            np.save(tmp / "rows.npy", np.asarray([len(xf), len(yf)], dtype=np.int64))
            if monitor is not None:
                np.save(tmp / "monitor.npy", monitor.to_pairs())
            if extra_pairs is not None and len(extra_pairs):
                np.save(tmp / "seeds.npy", np.asarray(extra_pairs, dtype=np.int64))
            (tmp / "config.json").write_text(json.dumps(asdict(cfg)))
            env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            lines: queue.Queue = queue.Queue()
            for r in range(n):
                p = subprocess.Popen([sys.executable, "-m", "alignment_core.methods.muse_game", str(tmp), str(r)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                procs.append(p)
                threading.Thread(target=_pump, args=(p.stdout, r, lines), daemon=True,
                                 name=f"alignscope-muse-game-{r + 1}").start()
                threading.Thread(target=_pump_err, args=(p.stderr, errs[r]), daemon=True,
                                 name=f"alignscope-muse-err-{r + 1}").start()
            results: list[tuple[float, np.ndarray] | None] = [None] * n
            running = n
            while running:
                r, line = lines.get()
                if line is None:  # the worker closed its output
                    running -= 1
                    rc = procs[r].wait()
                    if rc != 0 or results[r] is None:
                        time.sleep(0.1)  # let the stderr reader catch up
                        tail = "".join(errs[r]).strip().splitlines()[-3:]
                        raise RuntimeError(f"MUSE game {r + 1}'s worker process ended with code {rc}"
                                           + (": " + " | ".join(tail) if tail else ""))
                    continue
                msg = json.loads(line)
                if msg["type"] == "result":
                    results[r] = (float(msg["criterion"]), _take(tmp / msg["w"]))
                    continue
                w = _take(tmp / msg["w"]) if msg.get("w") else None
                ev = IterationEvent(msg["stage"], int(msg["step"]), int(msg["total"]), msg["metrics"],
                                    time.perf_counter() - t0, w=w, message=msg["message"])
                yield self._relay(ev, r)
            return results
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
            shutil.rmtree(tmp, ignore_errors=True)

    def _consensus(self, xf, yf, results, monitor, t0, extra_pairs, what: str = "games"):
        """The games' agreement (``starts.consensus``): the S2T CSLS dictionaries (max rank
        ``refine_max_rank``) of every game whose criterion is within ``consensus_gap`` of the
        best game's, intersected; W = Procrustes on those pairs (with the seeds, if any).
        With a single such game, its W. Returns the W the polish starts from."""
        cfg: MuseConfig = self.config
        return (yield from consensus(self, xf, yf, results, cfg.consensus_gap, cfg.csls_k, cfg.refine_rule,
                                     cfg.refine_max_rank, monitor, t0, extra_pairs, what=what))

    def _ica_candidates(self, xf, yf, monitor, t0, extra_pairs):
        """init="ica": the component-matching candidates (``starts.ica_starts``) on the fitted
        rows, each screened by ``ica_screen_iterations`` pseudo-pair steps, then each refined
        as a game's refinement is (``refinements`` rounds of ``refine_mode``, plateau
        ``refine_patience``); their consensus. Returns the W the polish starts from."""
        cfg: MuseConfig = self.config
        params = IcaStart.of(cfg)
        comps, secs = fit_components(xf, yf, params, cfg.seed)
        rng = game_rng(cfg.seed, 0)
        starts = ica_starts(comps, params, rng, secs)
        screened = yield from screen(self, xf, yf, starts, params.screen_iterations, params.screen_sample,
                                     params.screen_k, extra_pairs, monitor, rng, cfg.seed, "ica", "ica", {}, t0,
                                     offer=True)
        return (yield from refine_candidates(self, xf, yf, screened, cfg.refinements, cfg.refine_mode,
                                             cfg.consensus_gap, **self._refine_kw(monitor, t0, extra_pairs)))

    def _adversarial(self, x: np.ndarray, y: np.ndarray, xf: np.ndarray, yf: np.ndarray, w0: np.ndarray,
                     rng: np.random.Generator, monitor: Monitor | None, t0: float, tag: str = ""):
        """The adversarial stage on (x, y); the criterion of each epoch on (xf, yf), the
        rows the refinement sees. Yields progress events and one event per epoch; returns
        this stage's best W by the criterion (the start of its refinement)."""
        cfg: MuseConfig = self.config
        d = x.shape[1]
        disc = Discriminator(d, cfg.dis_hidden, cfg.dis_layers, cfg.dis_input_dropout, cfg.dis_leaky, rng)
        ns = len(x) if cfg.dis_most_frequent == 0 else min(cfg.dis_most_frequent, len(x))
        nt = len(y) if cfg.dis_most_frequent == 0 else min(cfg.dis_most_frequent, len(y))
        bs, smooth = cfg.batch_size, cfg.dis_smooth
        w = np.array(w0, dtype=np.float32)
        map_lr = cfg.map_lr
        best_valid, decrease_lr = -np.inf, False
        stage_best = np.array(w0, dtype=np.float32)
        steps = cfg.steps_per_epoch
        total_steps = steps * cfg.n_epochs
        step_no = 0
        for epoch in range(cfg.n_epochs):
            w_epoch = w.copy()
            dl, da, ml = [], [], []
            chunk = cfg.report_every if cfg.report_every else steps
            done = 0
            while done < steps:
                n = min(chunk, steps - done)
                with _blas_threads(cfg.blas_threads):
                    for _ in range(n):
                        if cfg.dis_steps:
                            # the discriminator's batches of this mapping step, mapped in one product
                            si = rng.integers(0, ns, cfg.dis_steps * bs)
                            ti = rng.integers(0, nt, (cfg.dis_steps, bs))
                            mapped = x[si] @ w.T
                            for k in range(cfg.dis_steps):
                                loss, acc = discriminator_step(disc, mapped[k * bs:(k + 1) * bs], y[ti[k]],
                                                               smooth, cfg.dis_lr, rng)
                                dl.append(loss)
                                da.append(acc)
                        si = rng.integers(0, ns, bs)
                        mloss, gw = mapping_gradient(disc, x[si], w, smooth, 2 * bs)
                        ml.append(mloss)
                        w -= np.float32(map_lr) * gw
                        step_no += 1
                        if step_no % cfg.orth_every == 0:
                            w = orthogonalize(w, cfg.map_beta * cfg.orth_every)
                done += n
                if done < steps:
                    k = n * cfg.dis_steps
                    m = {"dis_loss": float(np.mean(dl[-k:])) if k else 0.0,
                         "dis_acc": float(np.mean(da[-k:])) if k else 0.0,
                         "map_loss": float(np.mean(ml[-n:])), "map_lr": map_lr,
                         "orthogonality_error": orthogonality_error(w), "epoch": epoch + 1, "epoch_step": done}
                    yield self._record(IterationEvent("adversarial-progress", epoch * steps + done, total_steps,
                                                      m, time.perf_counter() - t0,
                                                      message=f"{tag}epoch {epoch + 1}: {done}/{steps} mapping steps"))
            metrics = _criterion_metrics(xf, yf, w, cfg.csls_k, monitor)
            crit = metrics["criterion"]
            kept = self._offer(crit, w, None, f"{tag}adversarial epoch {epoch + 1}")
            if crit > best_valid:
                stage_best = w.copy()
            metrics.update({"dis_loss": float(np.mean(dl)) if dl else 0.0,
                            "dis_acc": float(np.mean(da)) if da else 0.0,
                            "map_loss": float(np.mean(ml)), "map_lr": map_lr,
                            "delta_w": float(np.linalg.norm(w - w_epoch)),
                            "orthogonality_error": orthogonality_error(w), "best": kept})
            yield self._record(IterationEvent("adversarial", epoch + 1, cfg.n_epochs, metrics,
                                              time.perf_counter() - t0, w=w.copy(),
                                              message=f"{tag}epoch {epoch + 1}: criterion {crit:.4f}"
                                                      + (" (best)" if kept else "")))
            # learning-rate schedule of the reference (trainer.update_lr)
            best_valid = max(best_valid, crit)
            map_lr = max(cfg.min_lr, map_lr * cfg.lr_decay)
            if cfg.lr_shrink < 1 and crit < best_valid:
                if decrease_lr:
                    map_lr *= cfg.lr_shrink
                decrease_lr = True
            if map_lr < cfg.min_lr:
                break
        return stage_best


def game_rng(seed: int, r: int) -> np.random.Generator:
    """Game r's random stream: game 0 is the single run's (``default_rng(seed)``)."""
    return np.random.default_rng(seed if r == 0 else [seed, r])


def _take(path: Path) -> np.ndarray:
    """Read a worker's ``.npy`` (no pickle) and delete it."""
    a = np.load(path, allow_pickle=False)
    path.unlink(missing_ok=True)
    return a


def _pump(stream, r: int, out: queue.Queue) -> None:
    for line in stream:
        out.put((r, line))
    out.put((r, None))


def _pump_err(stream, tail: collections.deque) -> None:
    for line in stream:
        tail.append(line)


__all__ = ["Muse", "MuseConfig", "PRESETS", "SEED_MODES", "Alignment", "game_rng"]
