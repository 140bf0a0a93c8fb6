"""What every benchmark script shares: the project on sys.path, the real data's folder
(``ALIGNSCOPE_SHARED_DATA`` overrides it), the map benchmarks' rotated floret pair, and the
process's peak resident memory."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("ALIGNSCOPE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def rotated_floret(noise: float = 0.02, rng=None):
    """The 2 × 50,000 pair of the map benchmarks: the Finnish floret 50k of ../shared/data
    (normalized, not lowercased) ``emb`` with rows x; the same rows turned by a random
    rotation R plus noise (σ = ``noise`` × the rows' RMS norm / √d, unit rows) as the target
    ``t``; and
    ``mapped`` = x Rᵀ (the true rotation: a perfect alignment). ``rng`` draws R and the noise
    (default: ``numpy.random.default_rng(0)``). Returns (emb, mapped, t)."""
    import numpy as np

    from alignment_core.io import load_embeddings
    from alignment_core.synthetic import random_rotation

    emb = load_embeddings(DATA / "embeddings" / "fi.floret.300d.50k.vec.gz").normalize()
    x = emb.vectors
    rng = np.random.default_rng(0) if rng is None else rng
    r = random_rotation(x.shape[1], rng)
    scale = float(np.sqrt((x ** 2).sum(axis=1).mean() / x.shape[1]))
    t = (x @ r.T + rng.standard_normal(x.shape, dtype=np.float32) * (noise * scale)).astype(np.float32)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    return emb, (x @ r.T).astype(np.float32), t


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
