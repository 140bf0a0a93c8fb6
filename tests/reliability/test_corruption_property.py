"""Property: random corruptions of a valid embedding file never produce a traceback
(only EmbeddingFormatError) and never a silently wrong matrix — whenever parsing
succeeds, every returned row is exactly what its own line in the corrupted bytes says."""

from __future__ import annotations

import gzip

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignment_core.errors import EmbeddingFormatError
from alignment_core.io import parse_embeddings

rng = np.random.default_rng(0)
WORDS = [f"w{i}" for i in range(30)]
VECS = np.round(rng.standard_normal((30, 5)), 4).astype(np.float32)
VALID = ("30 5\n" + "".join(w + " " + " ".join(f"{v:.4f}" for v in r) + "\n" for w, r in zip(WORDS, VECS))).encode()


def reference_rows(data: bytes) -> dict[str, np.ndarray] | None:
    """What each word's own line says, by a plain independent reading (None: not text)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return None
    out: dict[str, np.ndarray] = {}
    for line in text.split("\n"):
        parts = line.rstrip(" ").split(" ")
        if len(parts) < 2:
            continue
        try:
            vals = np.array([float(p) for p in parts[1:]], dtype=np.float32)
        except ValueError:
            continue
        out.setdefault(parts[0], vals)
    return out


corruption = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(VALID) - 1), st.integers(0, 255)),
    st.tuples(st.just("cut"), st.integers(0, len(VALID) - 1), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, len(VALID) - 1), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, len(VALID) - 1), st.just(0)),
)


def corrupt(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for kind, pos, val in ops:
        pos = min(pos, max(len(b) - 1, 0))
        if not b:
            break
        if kind == "flip":
            b[pos] = val
        elif kind == "cut":
            del b[pos:]
        elif kind == "insert":
            b.insert(pos, val)
        else:
            del b[pos]
    return bytes(b)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(corruption, min_size=1, max_size=4), st.booleans(), st.sampled_from(["x.vec", "x.txt", "x.bin"]))
def test_random_corruption_is_an_error_or_exact(ops, gz, name):
    data = corrupt(VALID, ops)
    if gz:
        data = gzip.compress(data)
        name += ".gz"
    try:
        emb = parse_embeddings(data, name)
    except EmbeddingFormatError as e:
        assert name in str(e) and "\n" not in str(e)
        return
    assert np.isfinite(emb.vectors).all()
    raw = gzip.decompress(data) if gz else data
    assert emb.report["format"] == "text"  # text is never read as binary, whatever its name
    ref = reference_rows(raw)
    assert ref is not None
    for w, v in zip(emb.words, emb.vectors):
        np.testing.assert_array_equal(v, ref[w])
