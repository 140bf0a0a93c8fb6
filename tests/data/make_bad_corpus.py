"""Generate the malformed / hostile input corpus in tests/data/bad/ (never hand-edited).

    python tests/data/make_bad_corpus.py

Writes one file per case and ``manifest.json``: for each case the file(s), the kind
(``embeddings`` or ``dictionary``), and what must happen — ``error`` with a fragment the
message must contain (and the line it must name, when there is one), or ``ok`` with
the report entry that documents the repair.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "bad"
WORDS = ["de", "la", "et", "le", "les", "des"]
VECS = np.array([[0.5, -1.25, 2.0], [1.0, 0.0, -0.5], [0.25, 0.75, 1.5],
                 [-2.0, 1.0, 0.125], [0.0, 3.5, -1.0], [1.5, -0.5, 0.5]], dtype=np.float32)


def rows(words=WORDS, vecs=VECS):
    return [w + " " + " ".join(f"{v:g}" for v in r) for w, r in zip(words, vecs)]


def vec_text(lines, header=True, n=None, d=3):
    head = [f"{len(lines) if n is None else n} {d}"] if header else []
    return ("\n".join(head + lines) + "\n").encode("utf-8")


def w2v_bin(words=WORDS, vecs=VECS):
    out = bytearray(f"{len(words)} {vecs.shape[1]}\n".encode())
    for w, r in zip(words, vecs):
        out += w.encode() + b" " + struct.pack(f"<{len(r)}f", *r) + b"\n"
    return bytes(out)


def npy_bytes(arr, allow_pickle=False):
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=allow_pickle)
    return b.getvalue()


def npz_bytes(**members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for k, v in members.items():
            z.writestr(k + ".npy", v if isinstance(v, bytes) else npy_bytes(v))
    return b.getvalue()


def parquet_bytes(ids=WORDS, vectors=None, **columns):
    """A Parquet file in memory: ``id`` and ``vector`` (list<float32>) columns, or the
    columns given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not columns:
        vecs = VECS if vectors is None else vectors
        rows_ = [None if v is None else [float(x) for x in v] for v in vecs]
        columns = {"id": pa.array(ids, pa.string()), "vector": pa.array(rows_, pa.list_(pa.float32()))}
    b = io.BytesIO()
    pq.write_table(pa.table(columns), b)
    return b.getvalue()


def cases():
    r = rows()
    good = vec_text(r)
    C = []

    def add(name, data, expect, fragment=None, line=None, kind="embeddings", extra=None, report=None):
        C.append({"name": name, "data": data, "expect": expect, "fragment": fragment, "line": line,
                  "kind": kind, "extra": extra or {}, "report": report})

    # ---- text embeddings
    add("truncated_last_line.vec", good[:-6], "error", "expected 3 values", 7)
    add("row_one_value_too_many.vec", vec_text(r[:2] + [r[2] + " 9"] + r[3:]), "error", "found 4", 4)
    add("row_one_value_too_few.vec", vec_text(r[:3] + [r[3].rsplit(" ", 1)[0]] + r[4:]), "error", "found 2", 5)
    add("header_claims_more_rows.vec", vec_text(r, n=9), "error", "header says 9 rows", 1)
    add("header_claims_fewer_rows.vec", vec_text(r, n=4), "error", "header says 4 rows", 1)
    add("header_wrong_dimension.vec", vec_text(r, d=5), "error", "expected 5 values", 2)
    add("nan_value.vec", vec_text(r[:1] + ["la nan 0 1"] + r[2:]), "error", "NaN or Inf", 3)
    add("inf_value.vec", vec_text(r[:4] + ["les 1 inf 0"] + r[5:]), "error", "NaN or Inf", 6)
    add("negative_inf_value.vec", vec_text(r[:5] + ["des -Infinity 0 1"]), "error", "NaN or Inf", 7)
    add("not_a_number.vec", vec_text(r[:2] + ["et 0.25 zero 1.5"] + r[3:]), "error", "'zero' is not a number", 4)
    add("comma_decimal.vec", vec_text(r[:1] + ["la 1,0 0 -0,5"] + r[2:]), "error", "is not a number", 3)
    add("empty_word_leading_space.vec", vec_text(r[:1] + [" 1 2 3"] + r[2:]), "error", "starts with a space", 3)
    add("word_with_tab.vec", vec_text(r[:1] + ["kis\tsa 1 2 3"] + r[2:]), "ok",
        report={"words_with_odd_whitespace": 1})
    add("word_with_nbsp.vec", vec_text(r[:1] + ["new\u00a0york 1 2 3"] + r[2:]), "ok",
        report={"words_with_odd_whitespace": 1})
    add("crlf_line_ends.vec", good.replace(b"\n", b"\r\n"), "ok", report={"crlf_converted": True})
    add("utf8_bom.vec", b"\xef\xbb\xbf" + good, "ok", report={"bom_stripped": True})
    add("latin1_bytes.vec", vec_text(r[:3] + ["\u00e9t\u00e9 1 2 3"]).replace("été".encode(), "été".encode("latin-1")),
        "error", "not UTF-8", 5)
    add("utf16.vec", good.decode().encode("utf-16"), "error", "not UTF-8", 1)
    add("empty.vec", b"", "error", "empty")
    add("header_alone.vec", b"6 3\n", "error", "no vector rows")
    add("only_newlines.vec", b"\n\n\n", "error", "no rows")
    add("single_tokens.txt", b"hello\nworld\n", "error", "single token", 1)
    add("headerless_inconsistent_rows.txt", vec_text(r[:2] + [r[2] + " 4"], header=False), "error", "found 4", 3)
    add("duplicate_words.vec", vec_text(r + ["de 9 9 9"]), "ok", report={"duplicates_dropped": 1})
    add("zero_vectors.vec", vec_text(r + ["nul 0 0 0", "zero 0.0 -0.0 0"]), "ok", report={"zero_vectors": 2})
    add("blank_lines_inside.vec", vec_text(r[:3] + [""] + r[3:], n=6), "ok", report={"rows": 6})
    add("binary_named_vec.vec", w2v_bin(), "error", "word2vec binary")
    add("binary_named_txt.txt", w2v_bin(), "error", "rename it to .bin")
    # ---- gzip
    gz = gzip.compress(good * 200, mtime=0)
    add("gzip_cut_in_half.vec.gz", gz[: len(gz) // 2], "error", "truncated")
    add("gzip_corrupt.vec.gz", gz[:12] + bytes(range(256)) * 4, "error", "gzip data is corrupt")
    add("named_gz_not_gzip.vec.gz", good, "error", "not gzip-compressed")
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"x" * (1 << 24)
    huge = comp.compress(b"5 3\nword ") + b"".join(comp.compress(chunk) for _ in range(64)) + comp.flush()
    add("one_gigabyte_line.vec.gz", huge, "error", "bytes long", 2)
    # ---- word2vec binary
    b = w2v_bin()
    add("bin_truncated.bin", b[: len(b) - 7], "error", "file ends inside its vector")
    add("bin_no_header.bin", b"\x00\x01garbage", "error", "must start with a header")
    add("bin_header_claims_more.bin", b.replace(b"6 3\n", b"60 3\n", 1), "error", "header promised 60 rows")
    add("bin_nan.bin", w2v_bin(vecs=np.where(np.arange(18).reshape(6, 3) == 4, np.nan, VECS).astype(np.float32)),
        "error", "NaN or Inf")
    # ---- npy / npz
    add("objects.npy", npy_bytes(np.array([{"a": 1}, [1, 2]], dtype=object), allow_pickle=True), "error",
        "Python objects", extra={"vocab": "a\nb\n"})
    add("vocab_count_mismatch.npy", npy_bytes(VECS), "error", "6 vector rows but 2 words", extra={"vocab": "a\nb\n"})
    add("missing_vocab.npy", npy_bytes(VECS), "error", "vocab.txt not found", extra={"no_vocab": True})
    add("one_dimensional.npy", npy_bytes(VECS[0]), "error", "n × d matrix", extra={"vocab": "a\nb\nc\n"})
    add("nan_row.npy", npy_bytes(np.where(np.eye(6, 3) == 1, np.nan, VECS).astype(np.float32)), "error",
        "NaN or Inf", extra={"vocab": "\n".join(WORDS) + "\n"})
    add("npz_wrong_keys.npz", npz_bytes(emb=VECS, vocab=np.array(WORDS)), "error", "missing vectors, words")
    forged = _forge_shape(npy_bytes(VECS), (900_000_000, 3000))
    add("npz_huge_declared_shape.npz", npz_bytes(vectors=forged, words=np.array(WORDS)), "error", "declared shape")
    add("npz_words_objects.npz", npz_bytes(vectors=VECS, words=npy_bytes(np.array(WORDS, dtype=object), True)),
        "error", "Python objects")
    add("npz_shape_mismatch.npz", npz_bytes(vectors=VECS[:4], words=np.array(WORDS)), "error", "to match 'words'")
    add("npz_not_a_zip.npz", b"PK\x03\x04" + b"\x00" * 40, "error", "not a valid .npz")
    # ---- Parquet (id + vector columns)
    pqt = parquet_bytes()
    add("parquet_cut_in_half.parquet", pqt[: len(pqt) // 2], "error", "not a valid Parquet file")
    add("parquet_named_text.parquet", good, "error", "not a valid Parquet file")
    ragged = [list(v) for v in VECS]
    ragged[2] = ragged[2][:2]
    add("parquet_ragged.parquet", parquet_bytes(vectors=ragged), "error", "row 3 (id 'et'): the vector has 2 values")
    add("parquet_nan.parquet", parquet_bytes(vectors=np.where(np.eye(6, 3)[::-1] == 1, np.nan, VECS)), "error",
        "holds NaN or Inf")
    add("parquet_null_vector.parquet", parquet_bytes(vectors=[*VECS[:4], None, VECS[5]]), "error",
        "row 5 (id 'les'): the vector is null")
    add("parquet_no_id_column.parquet", parquet_bytes(score=np.arange(6.0), vector=[list(v) for v in VECS]),
        "error", "no id column")
    add("parquet_vector_strings.parquet", parquet_bytes(id=WORDS, vector=[" ".join(map(str, v)) for v in VECS]),
        "error", "must hold lists of numbers, got string")
    add("parquet_empty_table.parquet", parquet_bytes(ids=[], vectors=[]), "error", "the Parquet table is empty")
    add("parquet_duplicate_ids.parquet", parquet_bytes(ids=WORDS[:5] + ["de"]), "ok", report={"duplicates_dropped": 1})
    # ---- dictionaries
    add("dict_three_columns.txt", b"kissa chat\nkoira chien loup\n", "error", "found 3", 2, kind="dictionary")
    add("dict_one_column.txt", b"kissa chat\nkoira\n", "error", "found 1", 2, kind="dictionary")
    add("dict_blank_only.txt", b"\n \n\t\n", "error", "no pairs", kind="dictionary")
    add("dict_latin1.txt", "kissa chat\nkoira ch\u00e9ri\n".encode("latin-1"), "error", "not UTF-8", 2, kind="dictionary")
    add("dict_binary.txt", b"\x00\x01\x02\x03" * 50, "error", "binary content", kind="dictionary")
    add("dict_huge_line.txt", b"a b\n" + b"c" * 50_000 + b" d\n", "error", "characters long", 2, kind="dictionary")
    add("dict_all_oov.txt", b"qwerty asdfgh\nzxcvb poiuy\n", "oov", "no seed pair has both words", kind="dictionary")
    return C


def _forge_shape(npy: bytes, shape: tuple[int, int]) -> bytes:
    """A .npy whose header declares ``shape`` but which holds only the original data bytes."""
    f = io.BytesIO(npy)
    np.lib.format.read_magic(f)
    np.lib.format.read_array_header_1_0(f)
    data = npy[f.tell():]
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    manifest = []
    for c in cases():
        (OUT / c["name"]).write_bytes(c["data"])
        if "vocab" in c["extra"]:
            stem = c["name"][: -len(".npy")]
            (OUT / f"{stem}.vocab.txt").write_text(c["extra"]["vocab"], encoding="utf-8")
        manifest.append({k: v for k, v in c.items() if k not in ("data", "extra")})
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(manifest)} cases in {OUT}")


if __name__ == "__main__":
    main()
