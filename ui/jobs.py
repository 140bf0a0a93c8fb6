"""Background alignment jobs.

A job runs :func:`alignment_core.runs.execute` — the same call as ``alignscope
align`` — in a ``threading.Thread`` that never touches Streamlit. The thread
appends plain-data snapshots of every ``IterationEvent`` to a list guarded by a
lock; the page reads them from a fragment that reruns about twice a second.
Cancelling sets a ``threading.Event`` passed to ``execute(cancel=...)``, which
stops the method and keeps the best mapping found so far.

For the teaching map, the thread also projects a few hundred dictionary source
words through each event's W into a fixed 2-D PCA frame of their translations
(:mod:`alignment_core.projection`), one frame per iteration.

Both kinds of thread also carry their name at the operating-system level (the first
15 bytes, e.g. ``alignscope-job-``), so ``top -H``, ``ps -L`` and
``/proc/<pid>/task/*/comm`` show which server threads are AlignScope's: Python 3.11
does not pass ``threading.Thread.name`` to the OS. A job whose browser session is gone
for good is cancelled by :mod:`ui.watchdog`.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from alignment_core.dictionary import Dictionary
from alignment_core.embeddings import Embeddings
from alignment_core.errors import AlignScopeError
from alignment_core.evaluation import evaluate_bli
from alignment_core.projection import pca_fit
from alignment_core.runs import RunConfig, RunResult, execute

#: dictionary words shown on the animated map
ANIMATION_WORDS = 300
#: pairs shown per "entered"/"left" list
PAIR_SAMPLE = 25

_PR_SET_NAME = 15  # prctl(2) option: the calling thread's name, at most 15 bytes


def name_os_thread(name: str) -> None:
    """Set the calling thread's OS-level name (``/proc/self/task/<tid>/comm``) to the
    first 15 bytes of ``name``, with ``prctl(PR_SET_NAME)``. Linux only; a no-op (never an
    error) elsewhere or if the call fails. Beware: threads the calling thread creates
    inherit the name, so a process-wide pool first used in a job (scipy's OpenBLAS
    workers, the core's ``alignscope-exp`` executor) keeps ``alignscope-job-`` after the
    job has ended; identify the job's own thread by its id (``thread.native_id``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_NAME, name.encode("utf-8", "replace")[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


@dataclass
class Snapshot:
    """A plain-data copy of one event (what the page draws)."""

    stage: str
    step: int
    total: int
    elapsed: float
    metrics: dict
    message: str
    entered: list[tuple[str, str]] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)


class AlignJob:
    """One alignment in a background thread. Read state only through the
    lock-protected accessors (``snapshots()``, ``status``...)."""

    def __init__(self, name: str, config: RunConfig, src: Embeddings, tgt: Embeddings,
                 seed_dict: Dictionary | None, eval_dict: Dictionary | None,
                 animation_dict: Dictionary | None = None):
        self.name = name
        self.config = config
        self._src, self._tgt = src, tgt
        self._seed_dict, self._eval_dict = seed_dict, eval_dict
        self._anim_dict = animation_dict if animation_dict is not None else (eval_dict or seed_dict)
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._snaps: list[Snapshot] = []
        self._frames: list[np.ndarray] = []
        self._frame_labels: list[str] = []
        self.frame_words: list[tuple[str, str]] = []
        self.frame_targets: np.ndarray | None = None
        self.status = "pending"          # pending | running | done | cancelled | error
        self.error: str | None = None
        self.abandoned = False            # cancelled because its session is gone (ui.watchdog)
        self.result: RunResult | None = None
        self.baseline = None
        self.baseline_note = ""
        self.retriever = None
        self.started = 0.0
        self.finished = 0.0
        self._prev_pairs: set[tuple[int, int]] | None = None
        self._anim = None                 # (src rows normalized, basis) or None
        self.thread = threading.Thread(target=self._run, name=f"alignscope-job-{name}", daemon=True)

    # ------------------------------------------------------------------ control
    def start(self) -> "AlignJob":
        self.started = time.perf_counter()
        self.status = "running"
        self.thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    def abandon(self) -> None:
        """Cancel a run nobody can see any more (its session is gone): stop at the next
        step and skip the extras computed only for the page (baseline, word inspector)."""
        self.abandoned = True
        self.cancel_event.set()

    @property
    def done(self) -> bool:
        return self.status in ("done", "cancelled", "error")

    def snapshots(self) -> list[Snapshot]:
        with self._lock:
            return list(self._snaps)

    def frames(self) -> tuple[list[np.ndarray], list[str]]:
        with self._lock:
            return list(self._frames), list(self._frame_labels)

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def raw_sets(self) -> tuple[Embeddings, Embeddings]:
        """The two sets as loaded (immutable), before the run's normalization."""
        return self._src, self._tgt

    # ------------------------------------------------------------------ thread
    def _prepare_animation(self) -> None:
        """A fixed PCA frame of the translations of up to ANIMATION_WORDS dictionary pairs."""
        d = self._anim_dict
        if d is None:
            return
        if self.config.lowercase:
            d = d.lowercased()
        pairs = d.index_pairs(self._src, self._tgt)
        if len(pairs) < 3:
            return
        _, first = np.unique(pairs[:, 0], return_index=True)  # one pair per source word
        pairs = pairs[np.sort(first)][:ANIMATION_WORDS]
        src_n = self._src.normalize(self.config.normalize).vectors[pairs[:, 0]]
        tgt_n = self._tgt.normalize(self.config.normalize).vectors[pairs[:, 1]]
        basis = pca_fit(tgt_n)
        self._anim = (src_n, basis)
        self.frame_words = [(self._src.words[i], self._tgt.words[j]) for i, j in pairs.tolist()]
        self.frame_targets = basis.transform(tgt_n)
        if src_n.shape[1] == tgt_n.shape[1]:
            with self._lock:
                self._frames.append(basis.transform(src_n))
                self._frame_labels.append("before")

    def _on_event(self, ev) -> None:
        entered: list[tuple[str, str]] = []
        left: list[tuple[str, str]] = []
        if ev.pairs is not None:
            cur = {(int(a), int(b)) for a, b in np.asarray(ev.pairs).tolist()}
            if self._prev_pairs is not None:
                sw, tw = self._src.words, self._tgt.words
                entered = [(sw[a], tw[b]) for a, b in sorted(cur - self._prev_pairs)[:PAIR_SAMPLE]]
                left = [(sw[a], tw[b]) for a, b in sorted(self._prev_pairs - cur)[:PAIR_SAMPLE]]
            self._prev_pairs = cur
        metrics = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in ev.metrics.items()}
        snap = Snapshot(ev.stage, int(ev.step), int(ev.total), float(ev.elapsed), metrics, ev.message,
                        entered, left)
        frame = None
        if ev.w is not None and self._anim is not None:
            src_n, basis = self._anim
            w = np.asarray(ev.w, np.float32)
            if w.shape[1] == src_n.shape[1]:
                frame = basis.transform(src_n @ w.T)
        with self._lock:
            self._snaps.append(snap)
            if frame is not None:
                self._frames.append(frame)
                self._frame_labels.append("final" if ev.message == "final check" else f"{ev.stage} {ev.step}")

    def _run(self) -> None:
        name_os_thread(self.thread.name)
        try:
            try:
                self._prepare_animation()
            except Exception:  # the teaching map is optional; the run is not
                traceback.print_exc(file=sys.stderr)
                self._anim = None
            self.result = execute(self.config, self._src, self._tgt, self._seed_dict, self._eval_dict,
                                  on_event=self._on_event, cancel=self.cancel_event)
            if self.abandoned:
                self.status = "cancelled"
                return
            if self._eval_dict is not None:
                r = self.result
                if r.src.dim == r.tgt.dim:
                    ed = self._eval_dict.lowercased() if self.config.lowercase else self._eval_dict
                    self.baseline = evaluate_bli(r.src, r.tgt, None, ed, per_word=False)
                else:
                    self.baseline_note = (f"no baseline: the source is {r.src.dim}-d and the target "
                                          f"{r.tgt.dim}-d, so unaligned vectors cannot be compared")
            # warm the word inspector: the run's Retriever with its CSLS/isf statistics
            from alignment_core.retrieval import Retriever

            self.retriever = Retriever(self.result.aligned_source(), self.result.tgt.vectors)
            self.retriever.base_stats("tgt", need_lse=True)
            self.status = "cancelled" if self.result.cancelled else "done"
        except AlignScopeError as e:
            self.error = str(e)
            self.status = "error"
        except RuntimeError as e:
            self.error = str(e) if self.cancel_event.is_set() else f"the run failed: {e}"
            self.status = "error"
        except MemoryError:
            self.error = "out of memory: lower the maximum vocabulary on the Data page"
            self.status = "error"
        except Exception as e:  # never a traceback in the browser; the server log keeps it
            traceback.print_exc(file=sys.stderr)
            self.error = f"the run failed ({e.__class__.__name__}: {e})"
            self.status = "error"
        finally:
            self.finished = time.perf_counter()


class Task:
    """A generic background computation (e.g. diagnostics): ``fn(progress)`` runs in a
    thread that never calls Streamlit; ``progress(msg)`` appends to a locked list."""

    def __init__(self, name: str, fn):
        self.name = name
        self._fn = fn
        self._lock = threading.Lock()
        self._messages: list[str] = []
        self.status = "pending"
        self.result = None
        self.error: str | None = None
        self.started = self.finished = 0.0
        self.thread = threading.Thread(target=self._run, name=f"alignscope-task-{name}", daemon=True)

    def start(self) -> "Task":
        self.started = time.perf_counter()
        self.status = "running"
        self.thread.start()
        return self

    @property
    def done(self) -> bool:
        return self.status in ("done", "error")

    def messages(self) -> list[str]:
        with self._lock:
            return list(self._messages)

    def _progress(self, msg: str) -> None:
        with self._lock:
            self._messages.append(msg)

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _run(self) -> None:
        name_os_thread(self.thread.name)
        try:
            self.result = self._fn(self._progress)
            self.status = "done"
        except AlignScopeError as e:
            self.error, self.status = str(e), "error"
        except MemoryError:
            self.error, self.status = "out of memory: lower the number of words analysed", "error"
        except Exception as e:  # never a traceback in the browser; the server log keeps it
            traceback.print_exc(file=sys.stderr)
            self.error, self.status = f"failed ({e.__class__.__name__}: {e})", "error"
        finally:
            self.finished = time.perf_counter()
