"""The method protocol, shared by every alignment method.

A method is configured by a frozen dataclass; ``fit(src, tgt, seed_pairs=None,
monitor=None)`` is a generator yielding one :class:`IterationEvent` per step and
returning the final :class:`Alignment`. Consumers:

- the CLI prints events as progress;
- the app runs :func:`run_method` in a background thread and reads events live;
- tests drive the generator step by step.

Cancelling = stopping the iteration; :func:`run_method` then returns the best
alignment so far (``method.best_alignment()``).

The shared refinement loop (:func:`refine`) is the one implementation of
"induce a dictionary with CSLS, solve Procrustes, keep the best W by the
unsupervised criterion", used by supervised Procrustes, MUSE and mini-vec2vec.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Generator, Iterator

import numpy as np

from ..dictionary import DEFAULT_MAX_RANK, induce_pairs
from ..embeddings import Embeddings
from ..mapping import apply_mapping, procrustes
from ..retrieval import Retriever, knn, normalize_rows

#: MUSE's unsupervised validation criterion: 10k most frequent source words, CSLS S2T
CRITERION_MAX_RANK = 10_000


@dataclass
class IterationEvent:
    """One step of a method. ``metrics`` holds plain numbers; ``w`` (not serialized)
    is the current mapping; ``pairs`` (not serialized) the current dictionary rows."""

    stage: str
    step: int
    total: int
    metrics: dict = field(default_factory=dict)
    elapsed: float = 0.0
    w: np.ndarray | None = None
    pairs: np.ndarray | None = None
    message: str = ""

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "step": self.step,
            "total": self.total,
            "elapsed_s": round(self.elapsed, 4),
            "message": self.message,
            **{k: _plain(v) for k, v in self.metrics.items()},
        }


def _plain(v):
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


@dataclass
class Alignment:
    """The result of a method: W (d_tgt × d_src; mapped = X Wᵀ), the normalization
    each side had, the induced dictionary (rows), the history of events."""

    w: np.ndarray
    src_steps: list[str]
    tgt_steps: list[str]
    induced: np.ndarray
    history: list[dict]
    criterion: float | None = None
    cancelled: bool = False
    best_step: str = ""


class Monitor:
    """Evaluation for display only (P@1 while a method runs); never drives selection."""

    def __init__(self, eval_rows: np.ndarray | None, gold: list[set[int]] | None):
        self.rows = eval_rows
        self.gold = gold
        self._y: tuple[np.ndarray, np.ndarray] | None = None    # (y, its normalized rows): reused per step

    @classmethod
    def from_pairs(cls, pairs: np.ndarray | None) -> "Monitor | None":
        if pairs is None or len(pairs) == 0:
            return None
        golds: dict[int, set[int]] = {}
        for s, t in np.asarray(pairs).tolist():
            golds.setdefault(s, set()).add(t)
        rows = np.fromiter(golds.keys(), dtype=np.int64)
        return cls(rows, [golds[r] for r in rows.tolist()])

    def to_pairs(self) -> np.ndarray:
        """The (query row, gold row) pairs: ``from_pairs``' input, for a worker process."""
        pairs = [(q, g) for q, gold in zip(self.rows.tolist(), self.gold) for g in sorted(gold)]
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)

    def restricted(self, rows_x: int, rows_y: int) -> "Monitor | None":
        """The queries (and gold targets) within the first ``rows_x`` source and ``rows_y``
        target rows: what a method fitted on the most frequent rows only can display."""
        keep = [(r, {t for t in g if t < rows_y}) for r, g in zip(self.rows.tolist(), self.gold) if r < rows_x]
        keep = [(r, g) for r, g in keep if g]
        if not keep:
            return None
        return Monitor(np.asarray([r for r, _ in keep], np.int64), [g for _, g in keep])

    def p_at_1(self, retriever: Retriever, rule: str) -> float:
        _, ids = retriever.search(self.rows, k=1, rule=rule)
        return self._hits(ids[:, 0])

    def p_at_1_nn(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
        """NN P@1 of the mapping ``w`` (mapped = x Wᵀ), mapping only the monitored rows:
        the cheap number a method can report at every step."""
        if self._y is None or self._y[0] is not y:
            self._y = (y, normalize_rows(y))
        _, ids = knn(normalize_rows(apply_mapping(x[self.rows], w)), self._y[1], 1)
        return self._hits(ids[:, 0])

    def _hits(self, top1: np.ndarray) -> float:
        hits = sum(1 for g, i in zip(self.gold, top1.tolist()) if i in g)
        return 100.0 * hits / len(self.gold)


def unsupervised_criterion(retriever: Retriever, max_rank: int = CRITERION_MAX_RANK) -> tuple[float, int]:
    """MUSE's model-selection criterion (Conneau et al. 2018, §3.5): translate the
    ``max_rank`` most frequent source words with CSLS (S2T), keep pairs whose target
    also ranks within ``max_rank``, return the mean cosine of those pairs (and their count)."""
    pairs = induce_pairs(retriever, mode="S2T", rule="csls", max_rank=max_rank)
    if len(pairs) == 0:
        return 0.0, 0
    cos = np.einsum("ij,ij->i", retriever.src[pairs[:, 0]], retriever.tgt[pairs[:, 1]])
    return float(cos.mean()), int(len(pairs))


def fitted_rows(n_x: int, n_y: int, max_rows: int | None, seeds: np.ndarray | None,
                monitor: Monitor | None) -> tuple[int, int, np.ndarray | None, Monitor | None]:
    """For a method fitted on the ``max_rows`` most frequent rows of each side (None or 0 =
    all): the rows used per side, the seed pairs within them and the monitor restricted to
    them (display only)."""
    rows_x = n_x if not max_rows else min(max_rows, n_x)
    rows_y = n_y if not max_rows else min(max_rows, n_y)
    if seeds is not None:
        seeds = seeds[(seeds[:, 0] < rows_x) & (seeds[:, 1] < rows_y)]
    if monitor is not None and (rows_x < n_x or rows_y < n_y):
        monitor = monitor.restricted(rows_x, rows_y)
    return rows_x, rows_y, seeds, monitor


def score_mapping(x: np.ndarray, y: np.ndarray, w: np.ndarray, csls_k: int = 10,
                  monitor: Monitor | None = None) -> tuple[Retriever, dict[str, Any]]:
    """The Retriever of X Wᵀ against Y and the metrics every method reports for a W:
    the unsupervised criterion (and its pair count), and P@1 (nn, csls) when monitored."""
    retr = Retriever(apply_mapping(x, w), y, csls_k=csls_k)
    crit, n_crit = unsupervised_criterion(retr)
    metrics: dict[str, Any] = {"criterion": crit, "criterion_pairs": n_crit}
    if monitor is not None:
        metrics["p@1_nn"] = monitor.p_at_1(retr, "nn")
        metrics["p@1_csls"] = monitor.p_at_1(retr, "csls")
    return retr, metrics


class Method:
    """Base class. Subclasses implement ``_fit`` (a generator). Learned state after
    ``fit``: ``alignment_``. While running, ``best_alignment()`` gives the best so far."""

    name = "method"

    def __init__(self, config):
        self.config = config
        self._best: tuple[float, np.ndarray, np.ndarray, str] | None = None
        self._history: list[dict] = []
        self._src_steps: list[str] = []
        self._tgt_steps: list[str] = []
        self.alignment_: Alignment | None = None

    # -- bookkeeping shared by subclasses
    def _record(self, ev: IterationEvent) -> IterationEvent:
        self._history.append(ev.to_dict())
        return ev

    def _offer(self, criterion: float, w: np.ndarray, pairs: np.ndarray | None, label: str) -> bool:
        """Keep (w, pairs) if its criterion beats the best so far. Returns True if kept."""
        if self._best is None or criterion > self._best[0]:
            p = np.zeros((0, 2), np.int64) if pairs is None else np.asarray(pairs, np.int64)
            self._best = (float(criterion), np.array(w, np.float32), p, label)
            return True
        return False

    def best_alignment(self, cancelled: bool = False) -> Alignment | None:
        if self._best is None:
            return None
        crit, w, pairs, label = self._best
        return Alignment(w, list(self._src_steps), list(self._tgt_steps), pairs, list(self._history),
                         crit, cancelled, label)

    def fit(self, src: Embeddings, tgt: Embeddings, seed_pairs: np.ndarray | None = None,
            monitor: Monitor | None = None) -> Generator[IterationEvent, None, Alignment]:
        self._best, self._history = None, []
        self._src_steps, self._tgt_steps = src.step_names, tgt.step_names
        result = yield from self._fit(src, tgt, seed_pairs, monitor)
        self.alignment_ = result
        return result

    def _fit(self, src, tgt, seed_pairs, monitor):  # pragma: no cover - abstract
        raise NotImplementedError
        yield


def refine(method: Method, src: np.ndarray, tgt: np.ndarray, w: np.ndarray, rounds: int,
           *, mode: str = "S2T&T2S", rule: str = "csls", max_rank: int = DEFAULT_MAX_RANK,
           csls_k: int = 10, monitor: Monitor | None = None, stage: str = "refinement",
           t0: float | None = None, extra_pairs: np.ndarray | None = None,
           select: bool = True, patience: int = 0, tol: float = 1e-3,
           give_up: float | None = None, give_up_after: int = 2) -> Iterator[IterationEvent]:
    """The shared refinement loop: ``rounds`` × (induce a dictionary from the current
    W with ``rule``/``mode``/``max_rank``, solve orthogonal Procrustes on it).

    Every W (the starting one included) is scored by the unsupervised criterion and
    offered to ``method`` (the best is kept when ``select``). ``extra_pairs`` (seed
    pairs) are added to every induced dictionary. Yields one event per round.
    With ``patience`` > 0 the loop stops early once the criterion has not beaten this
    loop's best by more than ``tol`` for ``patience`` rounds in a row (a plateau).
    With ``give_up``, the loop is abandoned once ``give_up_after`` rounds have run and its
    best criterion is still below ``give_up`` (a start refining in another basin).
    Returns (criterion, W) of this loop's best W (``yield from`` gives it).
    """
    t0 = time.perf_counter() if t0 is None else t0
    prev_pairs: set[tuple[int, int]] | None = None
    best, stale = -np.inf, 0
    best_w = np.array(w, np.float32)
    for r in range(rounds + 1):
        retr, metrics = score_mapping(src, tgt, w, csls_k, monitor)
        crit = metrics["criterion"]
        if crit > best:
            best_w = np.array(w, np.float32)
        if select:
            method._offer(crit, w, None if prev_pairs is None else np.asarray(sorted(prev_pairs)), f"{stage} {r}")
        else:
            method._best = (crit, np.array(w, np.float32), np.zeros((0, 2), np.int64), f"{stage} {r}")
        stale = stale + 1 if crit <= best + tol else 0
        best = max(best, crit)
        plateau = patience > 0 and stale >= patience
        behind = give_up is not None and r >= give_up_after and best < give_up
        if r == rounds or plateau or behind:
            if r > 0:
                yield method._record(IterationEvent(
                    stage, r, rounds, {**metrics, **({"abandoned": True} if behind else {})},
                    time.perf_counter() - t0, w=w,
                    message="final check" if r == rounds else
                    f"criterion plateau ({patience} rounds without +{tol:g}): stop" if plateau else
                    f"abandoned: criterion {best:.4f} after {r} rounds, below {give_up:.4f} "
                    f"(another basin than the best start)"))
            break
        pairs = induce_pairs(retr, mode=mode, rule=rule, max_rank=max_rank)
        if extra_pairs is not None and len(extra_pairs):
            pairs = np.unique(np.concatenate([pairs, extra_pairs]), axis=0)
        cur = {(int(a), int(b)) for a, b in pairs.tolist()}
        entered = len(cur - prev_pairs) if prev_pairs is not None else len(cur)
        left = len(prev_pairs - cur) if prev_pairs is not None else 0
        w_new = procrustes(src[pairs[:, 0]], tgt[pairs[:, 1]]) if len(pairs) else w
        metrics.update({"dict_size": len(pairs), "pairs_entered": entered, "pairs_left": left,
                        "delta_w": float(np.linalg.norm(w_new - w))})
        # the event describes round r: the criterion of the W going in, the dictionary it induced
        yield method._record(IterationEvent(stage, r + 1, rounds, metrics, time.perf_counter() - t0,
                                            w=w_new, pairs=pairs))
        prev_pairs = cur
        w = w_new
    return float(best), best_w


def run_method(method: Method, src: Embeddings, tgt: Embeddings, seed_pairs: np.ndarray | None = None,
               monitor: Monitor | None = None, on_event: Callable[[IterationEvent], None] | None = None,
               cancel: threading.Event | None = None) -> Alignment:
    """Drive ``method.fit`` to the end (or until ``cancel`` is set), calling ``on_event``
    for each event. On cancel, returns the best alignment so far, marked cancelled."""
    gen = method.fit(src, tgt, seed_pairs, monitor)
    while True:
        if cancel is not None and cancel.is_set():
            gen.close()
            best = method.best_alignment(cancelled=True)
            if best is None:
                raise RuntimeError("cancelled before the first mapping was computed")
            return best
        try:
            ev = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(ev)


def config_dict(config) -> dict:
    return asdict(config)
