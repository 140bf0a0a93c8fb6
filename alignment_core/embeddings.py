"""Embeddings: an immutable word list with a float32 matrix, and normalization steps.

Normalization steps (Artetxe et al. 2018; Zhang et al. 2019):

- ``renorm``: x ← x / ‖x‖ (zero vectors are left at zero)
- ``center``: x ← x − mean(X)
- ``iternorm``: iterative normalization, ``center`` then ``renorm`` repeated 5 times
  (Zhang et al. 2019, "Are girls neko or shōjo?")

A normalized ``Embeddings`` records each step with the parameters it used (the mean
that ``center`` subtracted), so the same steps can be replayed on raw vectors later
(:meth:`Embeddings.apply_normalization`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from .errors import ConfigError

NORMALIZATION_STEPS = ("renorm", "center", "iternorm")
DEFAULT_NORMALIZATION = ("renorm", "center", "renorm")
ITERNORM_ROUNDS = 5


@dataclass(frozen=True)
class NormStep:
    """One applied normalization step. ``mean`` is set for ``center`` steps."""

    name: str
    mean: np.ndarray | None = None

    def apply(self, x: np.ndarray) -> np.ndarray:
        if self.name == "renorm":
            return renorm(x)
        if self.name == "center":
            return np.ascontiguousarray(x - self.mean, dtype=np.float32)
        raise ConfigError(f"unknown normalization step {self.name!r}")


def renorm(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def parse_normalization(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"renorm,center,renorm"`` → ("renorm", "center", "renorm"). Empty or "none" → ()."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        parts = [p.strip() for p in spec.split(",") if p.strip()]
    else:
        parts = [str(p).strip() for p in spec]
    if parts == ["none"]:
        return ()
    for p in parts:
        if p not in NORMALIZATION_STEPS:
            raise ConfigError(
                f"unknown normalization step {p!r}; expected a comma-separated list of "
                f"{', '.join(NORMALIZATION_STEPS)} (or 'none')"
            )
    return tuple(parts)


@dataclass(frozen=True, eq=False)
class Embeddings:
    """Words and their vectors. Row i of ``vectors`` is the vector of ``words[i]``.

    Rows are in the file's order (most frequent first for the usual files).
    ``vectors`` is float32, C-contiguous, read-only. ``index`` maps word → row.
    ``steps`` are the normalization steps applied since loading.
    ``report`` carries what loading found (duplicates dropped, zero vectors, …).
    """

    words: tuple[str, ...]
    vectors: np.ndarray
    steps: tuple[NormStep, ...] = ()
    report: Mapping = field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        v = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if v.ndim != 2:
            raise ConfigError(f"vectors must be a 2-D matrix, got shape {v.shape}")
        if v.shape[0] != len(self.words):
            raise ConfigError(f"{len(self.words)} words but {v.shape[0]} vectors")
        v.setflags(write=False)
        object.__setattr__(self, "vectors", v)
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "_index", None)

    @property
    def index(self) -> dict[str, int]:
        idx = self.__dict__.get("_index")
        if idx is None:
            idx = {w: i for i, w in enumerate(self.words)}
            object.__setattr__(self, "_index", idx)
        return idx

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def vector(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]

    def rows(self, words: Iterable[str]) -> np.ndarray:
        return np.fromiter((self.index[w] for w in words), dtype=np.int64)

    def head(self, n: int) -> "Embeddings":
        """The first ``n`` rows (the most frequent words)."""
        if n >= len(self):
            return self
        return Embeddings(self.words[:n], self.vectors[:n], self.steps, self.report, self.name)

    def subset(self, rows: Sequence[int] | np.ndarray) -> "Embeddings":
        """The given rows, in the given order (same steps, report and name)."""
        rows = np.asarray(rows, dtype=np.int64)
        return Embeddings(tuple(self.words[i] for i in rows.tolist()), self.vectors[rows], self.steps,
                          self.report, self.name)

    def normalize(self, spec: str | Sequence[str] | None = DEFAULT_NORMALIZATION,
                  fit_rows: Sequence[int] | np.ndarray | None = None) -> "Embeddings":
        """A new Embeddings with the steps applied in order (``iternorm`` expands to
        5 × (center, renorm)); the steps and their parameters are recorded.

        ``fit_rows``: the rows whose mean ``center`` subtracts (default: all rows). With a
        held-out split, the means come from the training rows only and are applied to
        every row, so nothing of the test items enters the fitted normalization."""
        x = np.array(self.vectors, dtype=np.float32)
        fit = None if fit_rows is None else np.asarray(fit_rows, dtype=np.int64)
        if fit is not None and len(fit) == 0:
            raise ConfigError("normalization: fit_rows is empty")
        applied = list(self.steps)
        for name in parse_normalization(spec):
            expanded = ["center", "renorm"] * ITERNORM_ROUNDS if name == "iternorm" else [name]
            for step_name in expanded:
                if step_name == "center":
                    base = x if fit is None else x[fit]
                    step = NormStep("center", base.mean(axis=0, dtype=np.float64).astype(np.float32))
                else:
                    step = NormStep("renorm")
                x = step.apply(x)
                applied.append(step)
        return Embeddings(self.words, x, tuple(applied), self.report, self.name)

    def apply_normalization(self, raw: np.ndarray) -> np.ndarray:
        """Replay this object's recorded steps on other raw vectors (same dimension)."""
        x = np.asarray(raw, dtype=np.float32)
        for step in self.steps:
            x = step.apply(x)
        return x

    @property
    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]

    def lowercased(self) -> "Embeddings":
        """Words lowercased, keeping the first (most frequent) row of each lowercased form."""
        keep: list[int] = []
        seen: set[str] = set()
        words: list[str] = []
        for i, w in enumerate(self.words):
            lw = w.lower()
            if lw not in seen:
                seen.add(lw)
                keep.append(i)
                words.append(lw)
        report = dict(self.report)
        report["lowercase_merged"] = len(self.words) - len(keep)
        return Embeddings(tuple(words), self.vectors[np.asarray(keep, dtype=np.int64)], self.steps, report, self.name)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "rows": len(self),
            "dim": self.dim,
            "normalization": self.step_names,
            **{k: v for k, v in self.report.items() if isinstance(v, (int, float, str, bool))},
        }
