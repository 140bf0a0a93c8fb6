"""Reading and writing embeddings: every format, and a clear error for each kind of bad input."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile

import numpy as np
import pytest

from alignment_core.embeddings import Embeddings
from alignment_core.errors import EmbeddingFormatError
from alignment_core.io import load_embeddings, parse_embeddings, save_npy, save_word2vec

WORDS = ["de", "la", "Le", "le", "et"]
VECS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0.5, -0.25, 2]], dtype=np.float32)


def text(header=True, words=WORDS, vecs=VECS, trailing=""):
    lines = [f"{len(words)} {vecs.shape[1]}"] if header else []
    lines += [w + " " + " ".join(f"{v:.4f}" for v in row) + trailing for w, row in zip(words, vecs)]
    return ("\n".join(lines) + "\n").encode()


def w2v_bin(words=WORDS, vecs=VECS):
    out = bytearray(f"{len(words)} {vecs.shape[1]}\n".encode())
    for w, row in zip(words, vecs):
        out += w.encode() + b" " + struct.pack(f"<{len(row)}f", *row) + b"\n"
    return bytes(out)


@pytest.mark.parametrize("data,name", [
    (text(), "a.vec"),
    (text(header=False), "glove.txt"),
    (text(trailing=" "), "fasttext.vec"),
    (gzip.compress(text(), mtime=0), "a.vec.gz"),
    (w2v_bin(), "a.bin"),
    (gzip.compress(w2v_bin(), mtime=0), "a.bin.gz"),
    (text().replace(b"\n", b"\r\n"), "crlf.vec"),
    (b"\xef\xbb\xbf" + text(), "bom.vec"),
], ids=lambda v: v if isinstance(v, str) else "bytes")
def test_formats_read_the_same_matrix(data, name):
    e = parse_embeddings(data, name)
    assert e.words == tuple(WORDS)
    np.testing.assert_allclose(e.vectors, VECS, atol=1e-4)
    assert e.vectors.dtype == np.float32 and e.vectors.flags["C_CONTIGUOUS"]


def test_npz_and_npy_with_vocab(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, vectors=VECS, words=np.array(WORDS))
    e = parse_embeddings(buf.getvalue(), "x.npz")
    assert e.words == tuple(WORDS)
    p, vp = save_npy(WORDS, tmp_path / "emb.npy", VECS)
    assert vp.name == "emb.vocab.txt"
    e2 = load_embeddings(p)
    np.testing.assert_array_equal(e2.vectors, VECS)


def test_roundtrip_word2vec_text_gz(tmp_path):
    p = save_word2vec(WORDS, tmp_path / "out.vec.gz", VECS)
    e = load_embeddings(p, cache=False)
    np.testing.assert_allclose(e.vectors, VECS, atol=1e-6)


def test_lowercase_keeps_first_spelling_and_max_vocab():
    e = parse_embeddings(text(), "a.vec", lowercase=True)
    assert e.words == ("de", "la", "le", "et")
    np.testing.assert_allclose(e.vector("le"), VECS[2], atol=1e-4)  # "Le" came first
    assert e.report["lowercase_merged"] == 1
    e2 = parse_embeddings(text(), "a.vec", max_vocab=2)
    assert e2.words == ("de", "la")


def test_duplicates_dropped_and_zero_vectors_reported():
    words = ["a", "b", "a", "c"]
    vecs = np.array([[1, 2], [0, 0], [5, 5], [3, 1]], dtype=np.float32)
    e = parse_embeddings(text(words=words, vecs=vecs), "d.vec")
    assert e.words == ("a", "b", "c")
    np.testing.assert_allclose(e.vector("a"), [1, 2])
    assert e.report["duplicates_dropped"] == 1
    assert e.report["zero_vectors"] == 1


def _err(data, name="bad.vec", **kw) -> str:
    with pytest.raises(EmbeddingFormatError) as ei:
        parse_embeddings(data, name, **kw)
    return str(ei.value)


def test_error_wrong_number_of_values_names_line():
    bad = text().replace(b"la 0.0000 1.0000 0.0000", b"la 0.0000 1.0000")
    msg = _err(bad)
    assert "bad.vec, line 3" in msg and "expected 3 values" in msg and "found 2" in msg


def test_error_too_many_values_names_line():
    bad = text().replace(b"et 0.5000", b"et 7.0 0.5000")
    msg = _err(bad)
    assert "line 6" in msg and "expected 3 values" in msg and "found 4" in msg


def test_error_not_a_number():
    msg = _err(text().replace(b"Le 0.0000", b"Le zero"))
    assert "line 4" in msg and "'zero' is not a number" in msg


@pytest.mark.parametrize("token", [b"nan", b"inf", b"-Inf"])
def test_error_nan_inf(token):
    msg = _err(text().replace(b"le 1.0000", b"le " + token))
    assert "line 5" in msg and "NaN or Inf" in msg


def test_error_empty_file_and_header_alone():
    assert "empty" in _err(b"")
    assert "no vector rows" in _err(b"5 3\n")


def test_error_header_disagrees_with_rows():
    msg = _err(text().replace(b"5 3", b"7 3", 1))
    assert "line 1" in msg and "header says 7 rows" in msg and "has 5" in msg
    msg = _err(text().replace(b"5 3", b"5 4", 1))
    assert "expected 4 values" in msg and "line 2" in msg


def test_error_truncated_last_line():
    data = text()[:-9]  # cut inside the last row, no final newline
    msg = _err(data)
    assert "line 6" in msg and "expected 3 values" in msg


def test_error_binary_given_as_text():
    msg = _err(w2v_bin(), "vectors.vec")
    assert "word2vec binary" in msg and "rename it to .bin" in msg


def test_error_not_utf8_rejected_with_line():
    msg = _err(text().replace(b"et", "\u00e9t".encode("latin-1")))
    assert "line 6" in msg and "not UTF-8" in msg


def test_error_truncated_gzip():
    data = gzip.compress(text() * 50)
    msg = _err(data[: len(data) // 2], "cut.vec.gz")
    assert "truncated" in msg


def test_error_npy_with_objects_refused_without_unpickling():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    msg = _err(buf.getvalue(), "obj.npy", vocab_bytes=b"a\nb\n")
    assert "Python objects" in msg and "refused" in msg


def test_error_npz_wrong_keys_and_forged_shape():
    buf = io.BytesIO()
    np.savez(buf, emb=VECS, vocab=np.array(WORDS))
    assert "missing vectors, words" in _err(buf.getvalue(), "k.npz")
    # a header declaring a huge shape must be refused before reading
    arr = io.BytesIO()
    np.save(arr, VECS)
    raw = arr.getvalue().replace(b"(5, 3)", b"(900000000, 3000)".ljust(6))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("vectors.npy", raw)
        wbuf = io.BytesIO()
        np.save(wbuf, np.array(WORDS))
        z.writestr("words.npy", wbuf.getvalue())
    msg = _err(zbuf.getvalue(), "huge.npz")
    assert "declared shape" in msg


def test_load_reports_missing_file(tmp_path):
    with pytest.raises(EmbeddingFormatError, match="file not found"):
        load_embeddings(tmp_path / "nope.vec")


def test_cache_gives_identical_result(tmp_path):
    p = tmp_path / "c.vec"
    p.write_bytes(text())
    a = load_embeddings(p, cache_dir=tmp_path / "cache")
    b = load_embeddings(p, cache_dir=tmp_path / "cache")
    assert b.report.get("cached") is True and not a.report.get("cached")
    assert a.words == b.words
    np.testing.assert_array_equal(a.vectors, b.vectors)
    # changed content → different key, re-parsed
    p.write_bytes(text().replace(b"de 1.0000", b"de 9.0000"))
    c = load_embeddings(p, cache_dir=tmp_path / "cache")
    assert not c.report.get("cached") and c.vector("de")[0] == 9


def test_real_file_parses_like_a_reference_parser():
    """The fast parser agrees with a plain line-by-line reading on real rows."""
    from tests.conftest import FR

    e = load_embeddings(FR, max_vocab=300, cache=False)
    with gzip.open(FR, "rt", encoding="utf-8") as f:
        n, d = map(int, f.readline().split())
        rows = [f.readline().rstrip("\n").split(" ") for _ in range(300)]
    assert (n, d) == (19994, 300) and e.dim == 300 and len(e) == 300
    assert list(e.words) == [r[0] for r in rows]
    np.testing.assert_array_equal(e.vectors, np.array([[float(v) for v in r[1:]] for r in rows], np.float32))


def test_normalization_steps_recorded_and_replayable():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)).astype(np.float32) + 3
    e = Embeddings(tuple(f"w{i}" for i in range(50)), x)
    n = e.normalize("renorm,center,renorm")
    assert n.step_names == ["renorm", "center", "renorm"]
    np.testing.assert_allclose(np.linalg.norm(n.vectors, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(n.apply_normalization(x), n.vectors, atol=1e-6)
    it = e.normalize("iternorm")
    assert np.abs(it.vectors.mean(axis=0)).max() < 1e-2  # nearly centered and unit length
    np.testing.assert_allclose(np.linalg.norm(it.vectors, axis=1), 1, atol=1e-5)
