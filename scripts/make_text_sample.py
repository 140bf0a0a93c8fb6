"""Rebuild the encoder sample in sample_data/ from ../shared/data/text: the first N
(default 8,000) WordNet items of both encoders' embeddings (float16 .npy + .vocab.txt,
as shipped) and their texts. The shared files are already in a fixed random order
(seed 42), so the first N rows are a random sample of the 60,000.

    python scripts/make_text_sample.py [--shared ../shared/data] [--n 8000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENCODERS = ("minilm", "e5")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--n", type=int, default=8000)
    args = ap.parse_args()
    text = Path(args.shared) / "text"
    out = ROOT / "sample_data"
    ids = None
    for enc in ENCODERS:
        x = np.load(text / f"wordnet.{enc}.npy", allow_pickle=False)[: args.n]
        vocab = (text / f"wordnet.{enc}.vocab.txt").read_text(encoding="utf-8").split("\n")[: args.n]
        if ids is not None and vocab != ids:
            raise SystemExit(f"{enc}: ids differ from the first encoder's")
        ids = vocab
        np.save(out / f"wordnet.{enc}.{args.n // 1000}k.npy", x.astype(np.float16), allow_pickle=False)
        (out / f"wordnet.{enc}.{args.n // 1000}k.vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    keep = set(ids)
    lines = [ln for ln in (text / "wordnet.texts.tsv").read_text(encoding="utf-8").split("\n")
             if ln and ln.split("\t", 1)[0] in keep]
    (out / f"wordnet.{args.n // 1000}k.texts.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(ids)} items × {len(ENCODERS)} encoders and {len(lines)} texts to {out}")


if __name__ == "__main__":
    main()
