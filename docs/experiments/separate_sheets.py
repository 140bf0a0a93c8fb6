"""The "separating the two sheets" experiment of docs/map.md (2026-12-05), kept so the next
session can port it into alignment_core.projection: the anchored map of the sample after
supervised Procrustes (5,000 words per side), then every drawn point moved for ``--steps``
steps by a short-range source-target repulsion (radius R target spacings), a spring to its
anchored place, and a capped pull of each anchored source towards its 10 candidate targets
that start within 15 spacings (softmax weights, β 50), those exempt from the repulsion.

Run: ``.venv/bin/python docs/experiments/separate_sheets.py [--radius 9] [--pull 3]``
(prints map P@10, mixing and T before and after; about 15 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from alignment_core import faithfulness as F  # noqa: E402
from alignment_core import projection as P  # noqa: E402
from alignment_core.retrieval import normalize_rows  # noqa: E402


def separate(coords, anchored, sims, ids, radius=9.0, pull=3.0, beta=50.0, spring=0.1,
             steps=120, lr=0.3, reach=15.0, back=0.5):
    n = len(anchored)
    y = coords.astype(np.float64).copy()
    home = y.copy()
    d1, _ = cKDTree(y[n:]).query(y[n:], k=2)
    step = float(np.median(d1[:, 1]))
    side = np.r_[np.zeros(n, bool), np.ones(len(y) - n, bool)]
    act = np.r_[anchored, np.ones(len(y) - n, bool)]      # the island stays where it is
    idx = np.nonzero(act)[0]
    a = np.nonzero(anchored)[0]
    c = ids.shape[1]
    cid = ids[a] + n
    w = np.exp(beta * (sims[a] - sims[a, :1]).astype(np.float64))
    w = w / w.sum(1, keepdims=True) * c
    near = np.linalg.norm(y[cid] - y[a][:, None, :], axis=2) <= reach * step
    exempt = np.full((n, c), -1)
    exempt[a] = np.where(near, cid, -1)
    r = radius * step
    for _ in range(steps):
        p = cKDTree(y[idx]).query_pairs(r, output_type="ndarray")
        i, j = idx[p[:, 0]], idx[p[:, 1]]
        cross = side[i] != side[j]
        i, j = i[cross], j[cross]
        keep = ~(exempt[np.minimum(i, j)] == np.maximum(i, j)[:, None]).any(1)
        i, j = i[keep], j[keep]
        d = y[i] - y[j]
        dist = np.linalg.norm(d, axis=1) + 1e-9
        f = d / dist[:, None] * ((r - dist) / r)[:, None]
        force = np.zeros_like(y)
        np.add.at(force, i, f)
        np.add.at(force, j, -f)
        force += spring * (home - y) / step
        dd = (y[cid] - y[a][:, None, :]) / step
        dn = np.linalg.norm(dd, axis=2, keepdims=True) + 1e-9
        fa = pull * (near * w)[:, :, None] * dd / dn * np.minimum(dn, radius) / radius / c
        force[a] += fa.sum(1)
        np.add.at(force, cid.ravel(), -back * fa.reshape(-1, 2))
        force[~act] = 0
        y += lr * step * np.clip(force, -3, 3)
    return y.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--radius", type=float, default=9.0)
    ap.add_argument("--pull", type=float, default=3.0)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from alignment_core.dictionary import load_dictionary
    from alignment_core.io import load_embeddings
    from alignment_core.runs import RunConfig, execute

    sd = ROOT / "sample_data"
    res = execute(RunConfig(), load_embeddings(sd / "fi.10k.vec.gz", lowercase=True),
                  load_embeddings(sd / "fr.10k.vec.gz", lowercase=True),
                  load_dictionary(sd / "fi-fr.train.txt"), None, per_word=False)
    n = 5000
    src, tgt = res.aligned_source()[:n], res.tgt.vectors[:n]
    pairs = F.gold_pairs(res.src.words[:n], res.tgt.words[:n],
                         load_dictionary(sd / "fi-fr.test.txt").lowercased().pairs)
    gold = F.gold_lists(pairs, n, n)
    m = P.anchored_map(src, tgt, seed=args.seed)
    f0 = F.faithfulness(src, tgt, m.coords, gold)
    sims, ids = P.map_knn(normalize_rows(src), normalize_rows(tgt), P.ANCHOR_CANDIDATES)
    t0 = time.perf_counter()
    y = separate(m.coords, m.anchored, sims, ids, radius=args.radius, pull=args.pull, steps=args.steps)
    s = time.perf_counter() - t0
    f1 = F.faithfulness(src, tgt, y, gold)
    for name, f in (("anchored map", f0), ("separated", f1)):
        print(f"{name}: map P@10 {f.map_p:.3f} / {f.aligned_p:.3f} · mixing {f.map_mixing:.3f} / "
              f"{f.aligned_mixing:.3f} · T {f.trustworthiness:.3f}")
    print(f"separation {s:.1f} s")


if __name__ == "__main__":
    main()
