"""Synthetic pairs with a known answer, for teaching and tests.

``rotated_copy``: a space against a randomly rotated, noised, row-shuffled copy of
itself with partial vocabulary overlap. The true mapping is the rotation R
(mapped = X Rᵀ), and the true dictionary pairs each shared word with its copy.

``make_space``: a random space with a power-law spectrum (a realistic, anisotropic
cloud: singular values σ_i ∝ i^(−decay)) and Zipf-like word ids ``w0, w1, …``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import special_ortho_group

from .dictionary import Dictionary
from .embeddings import Embeddings


@dataclass
class SyntheticPair:
    src: Embeddings
    tgt: Embeddings
    rotation: np.ndarray          # R, d × d: tgt(w) ≈ R · src(w) (+ noise)
    dictionary: Dictionary        # the shared words, paired with themselves


def random_rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    return special_ortho_group.rvs(d, random_state=rng).astype(np.float32)


def rotated_copy(src: Embeddings, noise: float = 0.01, overlap: float = 0.8, seed: int = 0,
                 tgt_suffix: str = "") -> SyntheticPair:
    """Target = a rotation of ``src`` plus Gaussian noise (σ = ``noise`` × the rows'
    RMS norm / √d), rows shuffled; only a random ``overlap`` share of the words is
    kept on each side's counterpart, so each side has words the other lacks."""
    rng = np.random.default_rng(seed)
    n, d = src.vectors.shape
    r = random_rotation(d, rng)
    x = src.vectors.astype(np.float32)
    scale = float(np.sqrt((x ** 2).sum(axis=1).mean() / d))
    y = x @ r.T + rng.standard_normal(x.shape, dtype=np.float32) * (noise * scale)
    n_shared = int(round(overlap * n))
    shared = rng.permutation(n)[:n_shared]
    rest = np.setdiff1d(np.arange(n), shared)
    # words only on the target side: the non-shared rows, under new names
    tgt_rows = np.concatenate([shared, rest])
    order = rng.permutation(len(tgt_rows))
    tgt_rows = tgt_rows[order]
    shared_set = set(shared.tolist())
    words = [src.words[i] + tgt_suffix if i in shared_set else f"{src.words[i]}__tgtonly"
             for i in tgt_rows.tolist()]
    src_keep = np.sort(np.concatenate([shared, rest[: len(rest) // 2]]))  # source lacks half the rest
    src_out = Embeddings(tuple(src.words[i] for i in src_keep.tolist()), x[src_keep], name=src.name or "source")
    tgt_out = Embeddings(tuple(words), y[tgt_rows], name=(src.name or "space") + " (rotated copy)")
    pairs = Dictionary(tuple((src.words[i], src.words[i] + tgt_suffix) for i in sorted(shared.tolist())),
                       "true pairs")
    return SyntheticPair(src_out, tgt_out, r, pairs)


def make_space(n: int = 5000, d: int = 50, decay: float = 0.5, seed: int = 0) -> Embeddings:
    """n × d Gaussian cloud with singular values ∝ i^(−decay) (decay 0 = isotropic)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)).astype(np.float32)
    spectrum = (np.arange(1, d + 1, dtype=np.float32) ** (-decay))
    basis = random_rotation(d, rng)
    x = (z * spectrum) @ basis.T
    return Embeddings(tuple(f"w{i}" for i in range(n)), x.astype(np.float32), name=f"synthetic {n}x{d}")


def make_synthetic_pair(n: int = 5000, d: int = 50, decay: float = 0.5, noise: float = 0.05,
                        overlap: float = 0.8, seed: int = 0) -> SyntheticPair:
    """A synthetic space against its rotated, noised copy (the teaching pair)."""
    return rotated_copy(make_space(n, d, decay, seed), noise=noise, overlap=overlap, seed=seed + 1)
