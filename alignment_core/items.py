"""Items, not only words: pairing two encoders' embeddings by id, and the vec2vec split.

Two text encoders' embeddings of the same items (documents, passages, products) fit the
word shapes: an id is a word (``Embeddings.words`` holds the ids) and the pairs are the
items whose id is on both sides (:func:`id_pairs`, a :class:`~alignment_core.dictionary.
Dictionary` of identity pairs). Ids are identifiers: they are never lowercased or merged.

The split (:func:`split_items`) follows the protocol of vec2vec (Jha et al. 2025, §4.2)
and the mini-vec2vec notebook (Dar 2025):

- a **held-out test set** of ``test_size`` paired items (default 8,192; at most a quarter
  of the pairs when there are fewer than 32,768) that no method ever sees: not in the
  fit, not in the normalization's means, not in any selection;
- of the remaining items, ``train_pairs`` = K **paired training items** (None = all of
  them: Procrustes post-processing, Maystre et al. 2025);
- the items left after those K are divided into **disjoint halves**: the source keeps
  the first half, the target the second half, so no training pair exists among them
  (K = 0 is the fully unsupervised setting; a small K with the halves is the
  semi-supervised one: few pairs plus the unpaired rest of both stores).

``draw`` > 0 re-draws which non-test pairs are the K training pairs (and which go to
each half) while the test set stays the same: the draws of the pairs-needed curve.

``order="random"`` (default) permutes the pairs with ``seed`` first; ``order="file"``
keeps the source file's order: the last ``test_size`` pairs are the test set and the
halves are the first and second half of the rest, exactly the notebook's split when
both files list the same items in the same order.

The split is a pure function of the id pairs and its config; the config (and the
resulting sizes) is recorded in the run's ``config.json`` and ``result.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .dictionary import Dictionary, identical_strings
from .embeddings import Embeddings
from .errors import ConfigError

DEFAULT_TEST_SIZE = 8192
#: with fewer pairs than test_size / this share, the test set is this share of the pairs
MAX_TEST_SHARE = 0.25
SPLIT_ORDERS = ("random", "file")


@dataclass(frozen=True)
class SplitConfig:
    """How paired items are split. ``train_pairs``: None = all non-test pairs, 0 = none
    (unsupervised: disjoint halves), K = K random pairs plus disjoint halves of the rest."""

    test_size: int = DEFAULT_TEST_SIZE
    train_pairs: int | None = None
    seed: int = 0
    order: str = "random"
    draw: int = 0

    def __post_init__(self):
        if int(self.test_size) < 1:
            raise ConfigError(f"test_size must be at least 1, got {self.test_size}")
        if self.train_pairs is not None and int(self.train_pairs) < 0:
            raise ConfigError(f"train_pairs must be ≥ 0 (or all), got {self.train_pairs}")
        if self.order not in SPLIT_ORDERS:
            raise ConfigError(f"split order must be one of {SPLIT_ORDERS}, got {self.order!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "SplitConfig":
        d = dict(d or {})
        tp = d.get("train_pairs")
        if isinstance(tp, str):
            d["train_pairs"] = None if tp == "all" else int(tp)
        known = {"test_size", "train_pairs", "seed", "order", "draw"}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class ItemSplit:
    """Rows of the split, as indices into the source and target ``Embeddings``.

    ``test`` and ``train`` are (m, 2) arrays of (source row, target row);
    ``src_unpaired``/``tgt_unpaired`` the rows of the disjoint halves."""

    config: SplitConfig
    n_pairs: int
    test: np.ndarray
    train: np.ndarray
    src_unpaired: np.ndarray
    tgt_unpaired: np.ndarray

    def fit_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows a method sees on each side: the training pairs first, then the
        unpaired half, in that order (so seed pairs are rows 0..K−1 of both sides)."""
        return (np.concatenate([self.train[:, 0], self.src_unpaired]).astype(np.int64),
                np.concatenate([self.train[:, 1], self.tgt_unpaired]).astype(np.int64))

    def train_in_fit(self) -> np.ndarray:
        """The training pairs as rows of the fitted sub-spaces (:meth:`fit_rows`)."""
        k = len(self.train)
        return np.stack([np.arange(k), np.arange(k)], axis=1).astype(np.int64).reshape(-1, 2)

    def summary(self) -> dict:
        return {**self.config.to_dict(), "pairs": self.n_pairs, "test": int(len(self.test)),
                "train": int(len(self.train)), "src_unpaired": int(len(self.src_unpaired)),
                "tgt_unpaired": int(len(self.tgt_unpaired)),
                "setting": self.setting}

    @property
    def setting(self) -> str:
        if len(self.train) == 0:
            return "unsupervised"
        if len(self.src_unpaired) or len(self.tgt_unpaired):
            return "semi-supervised"
        return "supervised"


def id_pairs(src: Embeddings, tgt: Embeddings) -> Dictionary:
    """The items whose id is on both sides, paired with themselves, in source order."""
    d = identical_strings(src, tgt)
    return Dictionary(d.pairs, "paired ids")


def effective_test_size(n_pairs: int, test_size: int = DEFAULT_TEST_SIZE) -> int:
    """``test_size``, or a quarter of the pairs when that is fewer (at least 1)."""
    return int(max(1, min(int(test_size), int(n_pairs * MAX_TEST_SHARE))))


def split_items(pairs: np.ndarray, config: SplitConfig | None = None) -> ItemSplit:
    """Split (source row, target row) pairs by ``config`` (see the module docstring)."""
    cfg = config or SplitConfig()
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    m = len(pairs)
    if m < 2:
        raise ConfigError(f"paired items: {m} id(s) on both sides; a split needs at least 2 "
                          "(are the ids of the two files the same? ids are compared exactly)")
    t = effective_test_size(m, cfg.test_size)
    if cfg.order == "random":
        order = np.random.default_rng([cfg.seed, 13]).permutation(m)
        test, rest = pairs[order[:t]], pairs[order[t:]]
    else:
        test, rest = pairs[m - t:], pairs[:m - t]
    if cfg.draw:  # another draw of the training pairs, the same test set
        rest = rest[np.random.default_rng([cfg.seed, 17, int(cfg.draw)]).permutation(len(rest))]
    k = len(rest) if cfg.train_pairs is None else min(int(cfg.train_pairs), len(rest))
    train, left = rest[:k], rest[k:]
    half = len(left) // 2
    return ItemSplit(cfg, m, test, train, left[:half, 0].copy(), left[half:, 1].copy())
