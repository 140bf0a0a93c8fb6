"""Parquet embeddings, ids mode and texts files: round trips, column choice, and a clear
error naming the file and the row for each kind of malformed input."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignment_core.errors import AlignScopeError, ConfigError, EmbeddingFormatError, InputFormatError
from alignment_core.io import (
    load_embeddings,
    load_texts,
    parse_embeddings,
    parse_texts,
    save_npy,
    save_parquet,
    save_word2vec,
)

RNG = np.random.default_rng(7)
IDS = [f"doc-{i}" for i in range(7)]
VECS = RNG.standard_normal((7, 5)).astype(np.float32)


def parquet_bytes(table: pa.Table, **kw) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)
    return buf.getvalue()


def list_col(vecs, value_type=pa.float32()):
    return pa.array([None if r is None else list(r) for r in vecs], type=pa.list_(value_type))


def fixed_col(vecs):
    return pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(vecs, np.float32).reshape(-1)), vecs.shape[1])


def err(data: bytes, name: str = "bad.parquet", **kw) -> str:
    with pytest.raises(EmbeddingFormatError) as ei:
        parse_embeddings(data, name, **kw)
    msg = str(ei.value)
    assert name in msg and "\n" not in msg, msg
    return msg


# --------------------------------------------------------------------------- reading


def test_save_parquet_round_trip(tmp_path):
    p = save_parquet(IDS, VECS, tmp_path / "emb.parquet")
    schema = pq.read_schema(p)
    assert schema.names == ["id", "vector"]
    assert pa.types.is_fixed_size_list(schema.field("vector").type)
    assert schema.field("vector").type.value_type == pa.float32()
    e = load_embeddings(p, ids=True)
    assert e.words == tuple(IDS)
    np.testing.assert_allclose(e.vectors, VECS, atol=1e-7)
    assert e.vectors.dtype == np.float32 and e.vectors.flags["C_CONTIGUOUS"]
    assert e.report["format"] == "parquet" and e.report["rows"] == 7 and e.report["dim"] == 5


@pytest.mark.parametrize("make_col", [list_col, fixed_col], ids=["list", "fixed_size_list"])
def test_list_and_fixed_size_list_read_the_same(make_col):
    data = parquet_bytes(pa.table({"id": IDS, "vector": make_col(VECS)}))
    e = parse_embeddings(data, "e.parquet")
    assert e.words == tuple(IDS)
    np.testing.assert_allclose(e.vectors, VECS, atol=1e-7)


def test_float64_and_float16_values_and_several_row_groups():
    data = parquet_bytes(pa.table({"id": IDS, "vector": list_col(VECS.astype(np.float64), pa.float64())}),
                         row_group_size=2)
    assert pq.ParquetFile(pa.BufferReader(data)).metadata.num_row_groups == 4
    np.testing.assert_allclose(parse_embeddings(data, "d.parquet").vectors, VECS, atol=1e-7)
    half = VECS.astype(np.float16)
    data = parquet_bytes(pa.table({"id": IDS, "vector": list_col(half, pa.float16())}))
    np.testing.assert_array_equal(parse_embeddings(data, "h.parquet").vectors, half.astype(np.float32))


def test_integer_ids_become_strings():
    data = parquet_bytes(pa.table({"item_id": pa.array([10, 7, 3, 99, 5, 6, 1], pa.int64()),
                                   "embedding": fixed_col(VECS)}))
    e = parse_embeddings(data, "ints.parquet", ids=True)
    assert e.words == ("10", "7", "3", "99", "5", "6", "1")
    assert e.report["id_column"] == "item_id" and e.report["vector_column"] == "embedding"


def test_auto_detection_by_name_then_by_type():
    # named columns win over earlier columns of a fitting type
    data = parquet_bytes(pa.table({"title": ["a"] * 7, "other": list_col(VECS * 0), "Key": IDS,
                                   "Embeddings": list_col(VECS)}))
    e = parse_embeddings(data, "named.parquet")
    assert e.words == tuple(IDS) and e.report["vector_column"] == "Embeddings"
    np.testing.assert_allclose(e.vectors, VECS, atol=1e-7)
    # no known name: the first string/integer column, the first list column
    data = parquet_bytes(pa.table({"score": np.arange(7.0), "name": IDS, "feats": list_col(VECS),
                                   "z": list_col(VECS * 2)}))
    e = parse_embeddings(data, "typed.parquet")
    assert e.words == tuple(IDS) and (e.report["id_column"], e.report["vector_column"]) == ("name", "feats")
    np.testing.assert_allclose(e.vectors, VECS, atol=1e-7)


def test_explicit_column_names(tmp_path):
    t = pa.table({"id": [f"x{i}" for i in range(7)], "uid": IDS, "vector": list_col(VECS), "v2": list_col(-VECS)})
    p = tmp_path / "cols.parquet"
    pq.write_table(t, p)
    e = load_embeddings(p, id_column="uid", vector_column="v2")
    assert e.words == tuple(IDS)
    np.testing.assert_allclose(e.vectors, -VECS, atol=1e-7)
    with pytest.raises(EmbeddingFormatError, match=r"no vector column named 'nope' \(found columns: id \(string\)"):
        load_embeddings(p, vector_column="nope")


def test_detected_by_content_whatever_the_name_and_max_vocab(tmp_path):
    p = tmp_path / "vectors.bin"  # a Parquet file misnamed: the magic bytes decide
    save_parquet(IDS, VECS, p)
    e = load_embeddings(p, max_vocab=3)
    assert e.words == tuple(IDS[:3]) and e.vectors.shape == (3, 5)
    np.testing.assert_allclose(e.vectors, VECS[:3], atol=1e-7)


# --------------------------------------------------------------------------- malformed


def test_not_parquet_and_truncated():
    good = parquet_bytes(pa.table({"id": IDS, "vector": fixed_col(VECS)}))
    msg = err(good[: len(good) // 2], "cut.parquet")
    assert "not a valid Parquet file" in msg
    msg = err(b"id,vector\na,1\n", "text.pq")
    assert "not a valid Parquet file" in msg
    assert "empty" in err(b"", "empty.parquet")


def test_missing_id_column_names_the_columns_found():
    data = parquet_bytes(pa.table({"score": np.arange(7.0), "vector": list_col(VECS)}))
    msg = err(data, "noid.parquet")
    assert "no id column" in msg and "score (double)" in msg and "vector (list<" in msg


@pytest.mark.parametrize("column,fragment", [
    (pa.array(["1 2 3"] * 7), "got string"),
    (pa.array([["a", "b"]] * 7, pa.list_(pa.string())), "string>"),
], ids=["string", "list_of_strings"])
def test_vector_column_of_wrong_type_says_the_type(column, fragment):
    data = parquet_bytes(pa.table({"id": IDS, "vector": column}))
    msg = err(data, "types.parquet")
    assert "vector column 'vector' must hold lists of numbers, got " in msg and fragment in msg


def test_id_column_of_wrong_type():
    data = parquet_bytes(pa.table({"id": np.arange(7.0), "vector": list_col(VECS)}))
    msg = err(data, "floatid.parquet")
    assert "id column 'id' must hold strings or integers, got double" in msg


def test_ragged_lists_name_the_first_bad_row_and_its_id():
    rows = [list(r) for r in VECS]
    rows[4] = rows[4][:3]
    data = parquet_bytes(pa.table({"id": IDS, "vector": pa.array(rows, pa.list_(pa.float32()))}),
                         row_group_size=3)  # row 5 is in the second row group
    msg = err(data, "ragged.parquet")
    assert "row 5 (id 'doc-4')" in msg and "has 3 values, expected 5" in msg


def test_nan_and_inf_name_row_and_id():
    v = VECS.copy()
    v[3, 2] = np.nan
    msg = err(parquet_bytes(pa.table({"id": IDS, "vector": fixed_col(v)})), "nan.parquet")
    assert "row 4 (id 'doc-3') holds NaN or Inf" in msg
    v = VECS.copy()
    v[6, 0] = np.inf
    msg = err(parquet_bytes(pa.table({"id": IDS, "vector": list_col(v)}), row_group_size=2), "inf.parquet")
    assert "row 7 (id 'doc-6') holds NaN or Inf" in msg


def test_null_vector_null_value_and_null_id():
    rows = [list(r) for r in VECS]
    rows[2] = None
    msg = err(parquet_bytes(pa.table({"id": IDS, "vector": pa.array(rows, pa.list_(pa.float32()))})), "nv.parquet")
    assert "row 3 (id 'doc-2'): the vector is null" in msg
    rows = [list(map(float, r)) for r in VECS]
    rows[5][1] = None
    msg = err(parquet_bytes(pa.table({"id": IDS, "vector": pa.array(rows, pa.list_(pa.float32()))})), "nx.parquet")
    assert "row 6 (id 'doc-5'): value 2 of the vector is null" in msg
    ids = list(IDS)
    ids[1] = None
    msg = err(parquet_bytes(pa.table({"id": pa.array(ids, pa.string()), "vector": fixed_col(VECS)})), "ni.parquet")
    assert "row 2: the id is null" in msg


def test_empty_table():
    t = pa.table({"id": pa.array([], pa.string()), "vector": pa.array([], pa.list_(pa.float32()))})
    assert "the Parquet table is empty" in err(parquet_bytes(t), "none.parquet")


def test_duplicate_ids_dropped_by_default_refused_with_ids_naming_both_rows():
    ids = list(IDS)
    ids[5] = "doc-1"
    data = parquet_bytes(pa.table({"id": ids, "vector": fixed_col(VECS)}))
    e = parse_embeddings(data, "dup.parquet")
    assert len(e) == 6 and e.report["duplicates_dropped"] == 1
    msg = err(data, "dup.parquet", ids=True)
    assert "id 'doc-1' appears twice, on rows 2 and 6" in msg


# --------------------------------------------------------------------------- ids mode


CASE_WORDS = ["Doc_A", "doc_a", "x", "DOC_A"]
CASE_VECS = np.arange(12, dtype=np.float32).reshape(4, 3) + 1


@pytest.mark.parametrize("fmt", ["text", "npy", "parquet"])
def test_ids_are_never_lowercased(tmp_path, fmt):
    p = _write(tmp_path, fmt, CASE_WORDS, CASE_VECS)
    e = load_embeddings(p, ids=True, cache=False)
    assert e.words == tuple(CASE_WORDS) and e.report["ids"] is True
    np.testing.assert_allclose(e.vector("doc_a"), CASE_VECS[1], atol=1e-6)
    with pytest.raises(ConfigError, match="ids are never lowercased") as ei:
        load_embeddings(p, ids=True, lowercase=True, cache=False)
    assert isinstance(ei.value, AlignScopeError) and p.name in str(ei.value)
    # words mode merges the spellings, as before
    assert load_embeddings(p, lowercase=True, cache=False).words == ("doc_a", "x")


@pytest.mark.parametrize("fmt", ["text", "npy", "parquet", "npz"])
def test_duplicate_id_is_an_error_naming_both_rows(tmp_path, fmt):
    words = ["a", "b", "c", "b", "d"]
    vecs = np.arange(15, dtype=np.float32).reshape(5, 3)
    p = _write(tmp_path, fmt, words, vecs)
    with pytest.raises(EmbeddingFormatError) as ei:
        load_embeddings(p, ids=True, cache=False)
    msg = str(ei.value)
    assert p.name in msg and "id 'b' appears twice, on rows 2 and 4" in msg
    assert load_embeddings(p, cache=False).report["duplicates_dropped"] == 1


def test_parse_cache_keeps_ids_mode_apart(tmp_path):
    """The parsed-text cache holds rows after duplicates were dropped: an ids-mode load
    must not be served the words-mode result (it would hide the duplicate)."""
    p = _write(tmp_path, "text", ["a", "b", "a"], np.eye(3, dtype=np.float32))
    cache = tmp_path / "cache"
    assert len(load_embeddings(p, cache_dir=cache)) == 2
    assert load_embeddings(p, cache_dir=cache).report.get("cached") is True
    with pytest.raises(EmbeddingFormatError, match="on rows 1 and 3"):
        load_embeddings(p, cache_dir=cache, ids=True)
    q = _write(tmp_path, "text", ["A", "a"], np.eye(2, 3, dtype=np.float32), name="ok.vec")
    assert load_embeddings(q, cache_dir=cache, ids=True).words == ("A", "a")
    again = load_embeddings(q, cache_dir=cache, ids=True)
    assert again.report.get("cached") is True and again.words == ("A", "a")


def _write(tmp_path, fmt, words, vecs, name=None):
    if fmt == "text":
        return save_word2vec(words, tmp_path / (name or "e.vec"), vecs)
    if fmt == "npy":
        return save_npy(words, tmp_path / "e.npy", vecs)[0]
    if fmt == "npz":
        p = tmp_path / "e.npz"
        np.savez(p, vectors=vecs, words=np.array(words))
        return p
    return save_parquet(words, vecs, tmp_path / "e.parquet")


# --------------------------------------------------------------------------- texts


def test_texts_file(tmp_path):
    p = tmp_path / "texts.tsv"
    p.write_bytes("\ufeffwn:n1\tdog, domestic dog: a member of the genus Canis\r\n\n"
                  "wn:v2\trun: move fast\twith tabs\nDoc_A\t\ndoc_a\tlower\n".encode("utf-8"))
    t = load_texts(p)
    assert t == {"wn:n1": "dog, domestic dog: a member of the genus Canis", "wn:v2": "run: move fast\twith tabs",
                 "Doc_A": "", "doc_a": "lower"}


@pytest.mark.parametrize("data,line,fragment", [
    (b"a\tone\nb two\n", 2, "no tab"),
    (b"a\tone\n\n\tnothing\n", 3, "empty id"),
    (b"a\tone\nb\ttwo\n\na\tagain\n", 4, "id 'a' appears twice, on lines 1 and 4"),
    (b"a\tone\nb\tt\xe9\xe9\n", 2, "not UTF-8"),
], ids=["no_tab", "empty_id", "duplicate", "latin1"])
def test_texts_errors_name_the_line(data, line, fragment):
    with pytest.raises(InputFormatError) as ei:
        parse_texts(data, "labels.tsv")
    msg = str(ei.value)
    assert msg.startswith(f"labels.tsv, line {line}:") and fragment in msg, msg


def test_texts_from_parquet():
    data = parquet_bytes(pa.table({"doc_id": pa.array([3, 1, 2]), "lang": ["en"] * 3,
                                   "passage": ["three", "one", "two"]}))
    assert parse_texts(data, "t.parquet") == {"3": "three", "1": "one", "2": "two"}
    data = parquet_bytes(pa.table({"id": ["a", "b"], "label": ["x", "y"]}))
    assert parse_texts(data, "t.parquet") == {"a": "x", "b": "y"}  # the first other string column
    data = parquet_bytes(pa.table({"id": ["a", "b", "a"], "text": ["x", "y", "z"]}))
    with pytest.raises(InputFormatError, match=r"t\.parquet: id 'a' appears twice, on rows 1 and 3"):
        parse_texts(data, "t.parquet")


def test_real_texts_file_matches_the_ids():
    from tests.conftest import SHARED

    d = SHARED / "text"
    texts = load_texts(d / "wordnet.texts.tsv")
    ids = (d / "wordnet.minilm.vocab.txt").read_text(encoding="utf-8").split()
    assert len(texts) == 60_000 and list(texts) == ids
    assert all(t for t in list(texts.values())[:1000])


def test_gzipped_parquet_cache_keeps_column_choices_apart(tmp_path):
    import gzip

    t = pa.table({"id": IDS, "vector": list_col(VECS), "v2": list_col(-VECS)})
    p = tmp_path / "e.parquet.gz"
    p.write_bytes(gzip.compress(parquet_bytes(t), mtime=0))
    cache = tmp_path / "cache"
    a = load_embeddings(p, cache_dir=cache)
    b = load_embeddings(p, cache_dir=cache, vector_column="v2")
    assert a.report["gzip"] is True and a.report["format"] == "parquet"
    np.testing.assert_allclose(a.vectors, VECS, atol=1e-7)
    np.testing.assert_allclose(b.vectors, -VECS, atol=1e-7)
    assert load_embeddings(p, cache_dir=cache, vector_column="v2").report.get("cached") is True
