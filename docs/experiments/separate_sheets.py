"""The "Separating the two sheets" tables of docs/map.md: the anchored map with and without
:func:`alignment_core.projection.separate_sheets` (``anchored_map(..., separate=...)``), and
separated with the candidates ranked by cosine instead of CSLS (``rank="nn"``): map P@10,
mixing and trustworthiness against the aligned space's, on

- the sample after supervised Procrustes (5,000 words per side, the eval dictionary), seeds
  0-2 (``--sample``);
- paired texts of ../shared/data/text (MiniLM -> e5, each side centred with the mean of its
  first 10,000 rows, Procrustes on the first N pairs, the map of the last 5,000 texts, gold:
  the same text) for N = 300 and 1,000 (``--texts``).

Run: ``.venv/bin/python docs/experiments/separate_sheets.py [--sample] [--texts]`` (both by
default; a few minutes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from alignment_core import faithfulness as F  # noqa: E402
from alignment_core import projection as P  # noqa: E402


def row(name: str, src, tgt, gold, seed: int = 0) -> None:
    for sep, rank in ((False, "csls"), (True, "nn"), (True, "csls")):
        m = P.anchored_map(src, tgt, seed=seed, separate=sep, rank=rank)
        f = F.faithfulness(src, tgt, m.coords, gold)
        print(f"{name} seed {seed} {'separated' if sep else 'anchored only'}, candidates by {rank}: "
              f"map P@10 {f.map_p:.3f} / "
              f"{f.aligned_p:.3f} · mixing {f.map_mixing:.3f} / {f.aligned_mixing:.3f} · "
              f"T {f.trustworthiness:.3f} · {m.seconds:.1f} s", flush=True)


def sample() -> None:
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
    for seed in (0, 1, 2):
        row("sample", src, tgt, gold, seed)


def texts() -> None:
    from alignment_core.mapping import procrustes

    d = ROOT.parent / "shared" / "data" / "text"
    a = np.load(d / "wordnet.minilm.npy", allow_pickle=False).astype(np.float32)
    b = np.load(d / "wordnet.e5.npy", allow_pickle=False).astype(np.float32)
    a -= a[:10_000].mean(0)
    b -= b[:10_000].mean(0)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    n = 5000
    gold = [np.array([i]) for i in range(n)]
    for pairs in (300, 1000):
        w = procrustes(a[:pairs], b[:pairs])
        row(f"texts, {pairs} pairs", (a[-n:] @ w.T).astype(np.float32), b[-n:], gold)


if __name__ == "__main__":
    args = set(sys.argv[1:]) or {"--sample", "--texts"}
    if "--sample" in args:
        sample()
    if "--texts" in args:
        texts()
