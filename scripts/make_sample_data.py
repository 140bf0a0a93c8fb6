"""Rebuild sample_data/ from ../shared/data: the 10,000 most frequent rows of the
Finnish and French embeddings, and the FreeDict fi-fr pairs whose both words are
among those rows, split by source word into train and test (see split_pairs).

    python scripts/make_sample_data.py [--shared ../shared/data] [--n 10000]
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def head_rows(src: Path, dst: Path, n: int) -> list[str]:
    words = []
    with gzip.open(src, "rt", encoding="utf-8") as f:
        header = f.readline().split()
        dim = int(header[1])
        lines = []
        for _ in range(n):
            line = f.readline()
            if not line:
                break
            lines.append(line.rstrip("\n").rstrip(" "))
            words.append(line.split(" ", 1)[0])
    body = f"{len(lines)} {dim}\n" + "\n".join(lines) + "\n"
    dst.write_bytes(gzip.compress(body.encode("utf-8"), compresslevel=9, mtime=0))
    return words


def split_pairs(shared: Path, out: Path, sv: set[str], tv: set[str], n_test: int) -> None:
    """Pool the FreeDict train and test pairs that both 10k vocabularies cover, then
    split by source word at random (seed 0): ``n_test`` source words for test, the rest
    for train. (FreeDict's own split is by frequency, so its test words all rank
    beyond 10k in Finnish.)"""
    import random

    pairs = []
    for part in ("train", "test"):
        for ln in (shared / f"dictionaries/fi-fr.freedict.{part}.txt").read_text(encoding="utf-8").splitlines():
            f = ln.split()
            if len(f) == 2 and f[0] in sv and f[1] in tv:
                pairs.append((f[0], f[1]))
    sources = sorted({s for s, _ in pairs})
    random.Random(0).shuffle(sources)
    test = set(sources[:n_test])
    for name, keep in (("train", lambda s: s not in test), ("test", lambda s: s in test)):
        kept = [p for p in pairs if keep(p[0])]
        (out / f"fi-fr.{name}.txt").write_text("".join(f"{s} {t}\n" for s, t in kept), encoding="utf-8")
        print(f"fi-fr.{name}.txt: {len(kept)} pairs, {len({s for s, _ in kept})} source words")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--n-test", type=int, default=500)
    a = ap.parse_args()
    shared = Path(a.shared)
    out = ROOT / "sample_data"
    out.mkdir(exist_ok=True)
    fi = head_rows(shared / "embeddings/fi.floret.300d.50k.vec.gz", out / "fi.10k.vec.gz", a.n)
    fr = head_rows(shared / "embeddings/fr.fasttext.300d.20k.vec.gz", out / "fr.10k.vec.gz", a.n)
    sv, tv = {w.lower() for w in fi}, {w.lower() for w in fr}
    split_pairs(shared, out, sv, tv, a.n_test)


if __name__ == "__main__":
    main()
