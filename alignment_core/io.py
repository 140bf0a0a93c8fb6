"""Reading and writing embeddings, with format detection and clear errors.

Formats (detected from the content first, the file name second):

- word2vec / fastText text (``.vec``, ``.txt``): an optional ``N D`` header line, then
  ``word v1 … vD`` per line, separated by single spaces. GloVe's header-less files work.
- gzip of a text or binary file (``.gz``), detected by its magic bytes.
- word2vec binary (``.bin``): ``N D\\n`` then, per row, the word, a space and D
  little-endian float32 values (an optional newline before the next word).
- ``.npy`` with the word list in ``name.vocab.txt`` beside it (one word per line).
- ``.npz`` holding ``vectors`` (n × d floats) and ``words`` (n strings).
- Parquet (``.parquet``, ``.pq``; magic ``PAR1`` at both ends): an id column and a vector
  column holding a list or fixed-size list of numbers per row, as pandas, Hugging Face
  datasets and LanceDB write them. Columns are found by name (``id``, ``ids``, ``_id``,
  ``doc_id``, ``item_id``, ``key``; ``vector``, ``vectors``, ``embedding``,
  ``embeddings``, ``emb``), else the first string/integer column and the first list
  column; integer ids become strings. Read with pyarrow, from memory, no pandas.

``ids=True`` says the rows are items with ids (two encoders' embeddings of the same
texts), not words: ids are never lowercased, and a duplicate id is an error naming both
rows instead of "first kept, count reported".

Texts files (labels for ids, :func:`load_texts`): ``id<TAB>text`` lines, or a Parquet
file with an id column and a text column.

For stores too large for memory, :func:`open_parquet_embeddings` /
:func:`iter_parquet_batches` and :func:`iter_npy_batches` read a shard batch by batch
with the same checks, and :class:`ParquetShardWriter` / :class:`NpyShardWriter` write one
(``alignment_core.store`` applies a mapping with them).

Bytes that are not UTF-8 are **rejected** (with the line), never silently replaced:
a replaced word could collide with another one and change which row a word gets.
Nothing is ever unpickled (``allow_pickle=False``; object arrays are refused).

Text files are parsed with pandas' C reader (about 1 s for 50,000 × 300); if that
fast path sees anything unusual, a line-by-line validator takes over so the error
names the exact line. Parsed text and word2vec binary arrays are cached as ``.npy``
keyed by the file's content hash and the options that change the result, so a second
load is near instant (``.npy``, ``.npz`` and Parquet are read directly: already binary).
"""

from __future__ import annotations

import gzip
import hashlib
import io as _io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .embeddings import Embeddings
from .errors import ConfigError, EmbeddingFormatError, InputFormatError

DEFAULT_MAX_VOCAB = 200_000
CACHE_VERSION = "1"
TEXT_EXTS = (".vec", ".txt", ".glove", ".w2v")
_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_BOM = b"\xef\xbb\xbf"
_PARQUET_MAGIC = b"PAR1"
PARQUET_EXTS = (".parquet", ".pq")
#: column names recognised without being named, in order of preference (case-insensitive)
ID_COLUMNS = ("id", "ids", "_id", "doc_id", "item_id", "key")
VECTOR_COLUMNS = ("vector", "vectors", "embedding", "embeddings", "emb")
TEXT_COLUMNS = ("text", "texts", "title", "body", "content", "passage")
#: rows per batch when a Parquet file is parsed from memory
PARQUET_BATCH_ROWS = 65_536
#: largest single .npy/.npz member we accept before reading it (bytes)
MAX_ARRAY_BYTES = 8 * 1024**3
#: longest text line accepted (a 10,000-d row at 20 characters a value is 200 kB)
MAX_LINE_BYTES = 4 * 1024**2


def default_cache_dir() -> Path:
    env = os.environ.get("ALIGNSCOPE_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "alignscope"


# --------------------------------------------------------------------------- loading


def load_embeddings(
    path: str | os.PathLike,
    max_vocab: int | None = DEFAULT_MAX_VOCAB,
    lowercase: bool = False,
    fmt: str | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    vocab_path: str | os.PathLike | None = None,
    ids: bool = False,
    id_column: str | None = None,
    vector_column: str | None = None,
) -> Embeddings:
    """Read an embedding file (any supported format) into :class:`Embeddings`.

    ``max_vocab`` keeps the first N rows (the most frequent words in the usual files).
    ``lowercase`` lowercases words, keeping the first (most frequent) spelling, as MUSE.
    ``fmt`` forces a format: ``text``, ``bin``, ``npy``, ``npz`` or ``parquet`` (default:
    detect). ``ids=True``: rows are items with ids — never lowercased (asking for both is
    a :class:`ConfigError`), and a duplicate id is an error naming both rows.
    ``id_column``/``vector_column`` pick the Parquet columns (default: found by name/type).
    Raises :class:`EmbeddingFormatError` naming the file, the line and the problem.
    """
    path = Path(path)
    _check_ids_lowercase(ids, lowercase, str(path))
    if not path.exists():
        raise EmbeddingFormatError(str(path), None, "file not found")
    if path.is_dir():
        raise EmbeddingFormatError(str(path), None, "is a folder, expected an embedding file")
    data = path.read_bytes()
    vocab_bytes = None
    is_npy = data[:6] == _NPY_MAGIC or fmt == "npy"
    if is_npy:
        vp = Path(vocab_path) if vocab_path else _vocab_path_for(path)
        if not vp.exists():
            raise EmbeddingFormatError(
                str(path), None, f".npy vectors need their word list beside them: {vp.name} not found"
            )
        vocab_bytes = vp.read_bytes()
    cache_file = None
    is_parquet = fmt == "parquet" or _looks_parquet(data) or (
        fmt is None and data[:2] != _GZIP_MAGIC and path.suffix.lower() in PARQUET_EXTS)
    if cache and not is_npy and not is_parquet and data[:4] != _ZIP_MAGIC:
        key = hashlib.blake2b(data, digest_size=20)
        key.update(f"|{CACHE_VERSION}|{max_vocab}|{fmt}".encode())
        if ids:  # ids mode refuses duplicates that the default mode drops: a different result
            key.update(b"|ids")
        if id_column is not None or vector_column is not None:  # a gzipped Parquet file
            key.update(f"|{id_column}|{vector_column}".encode())
        cache_file = Path(cache_dir or default_cache_dir()) / key.hexdigest()
        cached = _read_cache(cache_file)
        if cached is not None:
            words, vectors, report = cached
            report["cached"] = True
            emb = Embeddings(words, vectors, report=report, name=path.name)
            return emb.lowercased() if lowercase else emb
    emb = parse_embeddings(data, path.name, max_vocab=max_vocab, lowercase=False, fmt=fmt,
                           vocab_bytes=vocab_bytes, display_path=str(path), ids=ids,
                           id_column=id_column, vector_column=vector_column)
    if cache_file is not None:
        _write_cache(cache_file, emb)
    return emb.lowercased() if lowercase else emb


def parse_embeddings(
    data: bytes,
    filename: str,
    max_vocab: int | None = DEFAULT_MAX_VOCAB,
    lowercase: bool = False,
    fmt: str | None = None,
    vocab_bytes: bytes | None = None,
    display_path: str | None = None,
    ids: bool = False,
    id_column: str | None = None,
    vector_column: str | None = None,
) -> Embeddings:
    """Parse embeddings from bytes (an upload, or a file already read).

    The options are those of :func:`load_embeddings`.
    """
    shown = display_path or filename
    _check_ids_lowercase(ids, lowercase, shown)
    if max_vocab is not None and max_vocab < 1:
        raise EmbeddingFormatError(shown, None, f"max_vocab must be at least 1, got {max_vocab}")
    report: dict = {"file": filename}
    name = filename
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, shown)
        report["gzip"] = True
        if name.endswith(".gz"):
            name = name[:-3]
    elif name.endswith(".gz"):
        raise EmbeddingFormatError(shown, None, "named .gz but is not gzip-compressed")
    ext = Path(name).suffix.lower()
    if not data:
        expected = "a Parquet file" if fmt == "parquet" or ext in PARQUET_EXTS else \
            "a header 'N D' or 'word v1 ... vD' rows"
        raise EmbeddingFormatError(shown, None, f"file is empty (expected {expected})")
    if fmt is None:
        if data[:6] == _NPY_MAGIC:
            fmt = "npy"
        elif data[:4] == _ZIP_MAGIC:
            fmt = "npz"
        elif _looks_parquet(data) or ext in PARQUET_EXTS:
            fmt = "parquet"  # by content; by name too, so a cut-off file says it is not valid Parquet
        elif _looks_binary(data):
            if ext in TEXT_EXTS:
                raise EmbeddingFormatError(
                    shown, 1,
                    "this looks like a word2vec binary file (raw bytes after the header), "
                    f"not text as its name '{ext}' says; rename it to .bin",
                )
            fmt = "bin"
        elif ext == ".bin" and _has_control_bytes(data[:65536]):
            fmt = "bin"  # raw bytes without a valid header: the binary reader says what is wrong
        else:
            fmt = "text"  # the content is text, whatever the name says (a .bin of text is read as text)
    report["format"] = fmt
    if fmt == "text":
        words, vectors, extra = _parse_text(data, shown, max_vocab)
    elif fmt == "bin":
        words, vectors, extra = _parse_bin(data, shown, max_vocab)
    elif fmt == "npy":
        if vocab_bytes is None:
            raise EmbeddingFormatError(shown, None, ".npy vectors need a word list (name.vocab.txt)")
        vectors = _read_npy(data, shown, "vectors")
        words = _decode_vocab(vocab_bytes, shown.rsplit(".", 1)[0] + ".vocab.txt")
        extra = {}
        if len(words) != len(vectors):
            raise EmbeddingFormatError(
                shown, None, f"{vectors.shape[0]} vector rows but {len(words)} words in the vocab file"
            )
    elif fmt == "npz":
        words, vectors = _read_npz(data, shown)
        extra = {}
    elif fmt == "parquet":
        words, vectors, extra = _parse_parquet(data, shown, max_vocab, id_column, vector_column)
    else:
        raise EmbeddingFormatError(
            shown, None, f"unknown format {fmt!r} (expected text, bin, npy, npz or parquet)")
    report.update(extra)
    if fmt in ("npy", "npz"):
        vectors = _as_matrix(vectors, shown)
        if max_vocab is not None and len(words) > max_vocab:
            words, vectors = words[:max_vocab], vectors[:max_vocab]
        bad = ~np.isfinite(vectors).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise EmbeddingFormatError(shown, None, f"row {i + 1} ({words[i]!r}) holds NaN or Inf")
        for i, w in enumerate(words):
            if not w or any(c in w for c in "\n"):
                raise EmbeddingFormatError(shown, None, f"word {i + 1} is empty or contains a newline")
    if ids:
        check_unique_ids(words, shown)
        words, vectors, dup = list(words), np.ascontiguousarray(vectors, dtype=np.float32), 0
        report["ids"] = True
    else:
        words, vectors, dup = _drop_duplicates(list(words), vectors)
    report["rows_read"] = len(words) + dup
    report["duplicates_dropped"] = dup
    report["zero_vectors"] = int((~vectors.any(axis=1)).sum())
    # kept as they are (real vocabularies hold such tokens), but counted: a tab inside a
    # word cannot be written to a tab-separated dictionary
    report["words_with_odd_whitespace"] = sum(1 for w in words if not w.isprintable() or "\u00a0" in w)
    report["rows"] = len(words)
    report["dim"] = int(vectors.shape[1])
    emb = Embeddings(tuple(words), vectors, report=report, name=filename)
    return emb.lowercased() if lowercase else emb


def _check_ids_lowercase(ids: bool, lowercase: bool, shown: str) -> None:
    if ids and lowercase:
        raise ConfigError(
            f"{shown}: lowercase=True with ids=True: ids are never lowercased (Doc_A and doc_a are two "
            "items); pass lowercase=False (--no-lowercase)")


def check_unique_ids(ids: Sequence[str], shown: str, first_row: int = 1,
                     seen: dict[str, int] | None = None) -> None:
    """Raise :class:`EmbeddingFormatError` naming both rows (1-based) of the first id that
    appears twice. ``first_row`` is the row number of ``ids[0]``; ``seen`` (id → row)
    carries the ids of earlier batches and is updated, so a file can be checked batch by
    batch."""
    seen = {} if seen is None else seen
    if len(set(ids)) == len(ids) and seen.keys().isdisjoint(ids):
        seen.update(zip(ids, range(first_row, first_row + len(ids))))
        return
    for row, i in enumerate(ids, start=first_row):
        prev = seen.setdefault(i, row)
        if prev != row:
            raise EmbeddingFormatError(
                shown, None,
                f"id {i!r} appears twice, on rows {prev} and {row}; with ids every row is one item "
                "and its id must be unique")


def _vocab_path_for(path: Path) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + ".vocab.txt")


def _gunzip(data: bytes, shown: str, err: type[InputFormatError] = EmbeddingFormatError) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data)
    except zlib.error as e:
        raise err(shown, None, f"gzip data is corrupt ({e})") from None
    if not d.eof:
        raise err(shown, None, "gzip stream is truncated: the file is incomplete (cut during download or copy?)")
    return out


def _looks_parquet(data: bytes) -> bool:
    """Parquet starts and ends with ``PAR1``. A file cut short keeps only the first magic;
    it counts too (the reader then says it is not valid Parquet), unless a space follows,
    which makes it a text row for the word "PAR1"."""
    return data[:4] == _PARQUET_MAGIC and (data[-4:] == _PARQUET_MAGIC or data[4:5] not in (b" ", b"\t"))


def _looks_binary(data: bytes) -> bool:
    """word2vec binary: an ``N D`` text header, then raw float bytes. Text (even in a
    wrong encoding such as Latin-1) has almost no control bytes; float32 data has many."""
    nl = data.find(b"\n")
    if nl < 0:
        return False
    head = data[:nl].split()
    if len(head) != 2 or not (head[0].isdigit() and head[1].isdigit()):
        return False
    return _has_control_bytes(data[nl + 1: nl + 1 + 65536])


def _has_control_bytes(sample: bytes) -> bool:
    if not sample:
        return False
    control = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    return b"\x00" in sample or control > 0.01 * len(sample)


def _longest_line(data: bytes, chunk: int = 1 << 26) -> tuple[int, int]:
    """(1-based line number, length in bytes) of the longest line, scanning in chunks so
    memory stays bounded whatever the file holds."""
    if len(data) <= MAX_LINE_BYTES:
        return 1, 0
    view = np.frombuffer(data, dtype=np.uint8)
    best_line, best_len, line_no, start = 1, 0, 1, 0
    for a in range(0, len(view), chunk):
        ends = np.flatnonzero(view[a:a + chunk] == 10) + a
        if ends.size:
            lengths = np.diff(ends, prepend=start - 1) - 1
            i = int(np.argmax(lengths))
            if lengths[i] > best_len:
                best_len, best_line = int(lengths[i]), line_no + i
            line_no += ends.size
            start = int(ends[-1]) + 1
    if len(data) - start > best_len:
        best_len, best_line = len(data) - start, line_no
    return best_line, best_len


def _header(first: bytes) -> tuple[int, int] | None:
    parts = first.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1])
    return None


def _parse_text(data: bytes, shown: str, max_vocab: int | None):
    extra: dict = {}
    if data.startswith(_BOM):
        data = data[3:]
        extra["bom_stripped"] = True
    if b"\r" in data:
        n_cr = data.count(b"\r\n")
        if n_cr:
            data = data.replace(b"\r\n", b"\n")
            extra["crlf_converted"] = True
    if not data.strip():
        raise EmbeddingFormatError(shown, None, "no rows: the file holds only blank lines")
    line, length = _longest_line(data)
    if length > MAX_LINE_BYTES:
        raise EmbeddingFormatError(
            shown, line, f"line is {length:,} bytes long; expected at most {MAX_LINE_BYTES:,} (is this an embedding file?)")
    nl = data.find(b"\n")
    first = data if nl < 0 else data[:nl]
    header = _header(first)
    if header is not None:
        body = b"" if nl < 0 else data[nl + 1:]
        first_line = 2
        n_decl, d = header
        if d < 1:
            raise EmbeddingFormatError(shown, 1, f"header declares dimension {d}; expected at least 1")
        extra["header"] = [n_decl, d]
    else:
        body = data
        first_line = 1
        n_decl = None
        try:
            d = len(first.decode("utf-8").rstrip(" \r").split(" ")) - 1
        except UnicodeDecodeError:
            d = len(first.rstrip(b" ").split(b" ")) - 1
        if d < 1:
            raise EmbeddingFormatError(shown, 1, "expected 'N D' header or 'word v1 ... vD'; found a single token")
    body = body.rstrip(b"\n")
    if not body:
        raise EmbeddingFormatError(shown, first_line, "no vector rows after the header" if header else "no rows")
    if b"\n\n" in body or b"\r" in body or body.startswith(b"\n"):
        words, vectors = _parse_text_slow(body, shown, first_line, d, max_vocab)
    else:
        words, vectors = _parse_text_fast(body, shown, first_line, d, max_vocab)
    if header is not None and (max_vocab is None or len(words) < max_vocab) and len(words) != n_decl:
        raise EmbeddingFormatError(
            shown, 1, f"header says {n_decl} rows but the file has {len(words)} (truncated or header wrong)"
        )
    return words, vectors, extra


def _parse_text_fast(body: bytes, shown: str, first_line: int, d: int, max_vocab: int | None):
    import pandas as pd  # the C tokenizer; imported lazily (pandas comes with streamlit)

    if b" \n" in body or body.endswith(b" "):  # fastText writes a trailing space per row
        body = body.replace(b" \n", b"\n")
        if body.endswith(b" "):
            body = body[:-1]
    try:
        df = pd.read_csv(
            _io.BytesIO(body), sep=" ", header=None, quoting=3, na_filter=False,
            dtype={0: object, **{i: np.float32 for i in range(1, d + 1)}},
            engine="c", nrows=max_vocab, encoding="utf-8", encoding_errors="strict",
            skip_blank_lines=False, keep_default_na=False, low_memory=False,
        )
    except Exception:
        return _parse_text_slow(body, shown, first_line, d, max_vocab)
    if df.shape[1] != d + 1:
        return _parse_text_slow(body, shown, first_line, d, max_vocab)
    vectors = np.ascontiguousarray(df.iloc[:, 1:].to_numpy(dtype=np.float32))
    words = df.iloc[:, 0].tolist()
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all() or any(not isinstance(w, str) or not w for w in words):
        return _parse_text_slow(body, shown, first_line, d, max_vocab)
    return words, vectors


def _parse_text_slow(body: bytes, shown: str, first_line: int, d: int, max_vocab: int | None):
    """Line-by-line parse that names the first bad line. Blank lines are skipped."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    for offset, raw in enumerate(body.split(b"\n")):
        lineno = first_line + offset
        if max_vocab is not None and len(words) >= max_vocab:
            break
        if len(raw) > MAX_LINE_BYTES:
            raise EmbeddingFormatError(
                shown, lineno, f"line is {len(raw):,} bytes long; expected at most {MAX_LINE_BYTES:,}")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip(b" "):
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise EmbeddingFormatError(
                shown, lineno,
                f"bytes that are not UTF-8 at column {e.start + 1} (the file must be UTF-8; "
                "re-encode it, e.g. iconv -f latin1 -t utf-8)",
            ) from None
        parts = line.rstrip(" ").split(" ")
        word = parts[0]
        if not word:
            raise EmbeddingFormatError(shown, lineno, "line starts with a space: expected 'word v1 ... vD'")
        values = parts[1:]
        if len(values) != d:
            raise EmbeddingFormatError(
                shown, lineno, f"expected {d} values after the word {word!r}, found {len(values)}"
            )
        try:
            vec = np.array([float(v) for v in values], dtype=np.float32)
        except ValueError:
            bad = next(v for v in values if not _is_float(v))
            raise EmbeddingFormatError(shown, lineno, f"{bad!r} is not a number (word {word!r})") from None
        if not np.isfinite(vec).all():
            raise EmbeddingFormatError(shown, lineno, f"NaN or Inf value in the vector of {word!r}")
        words.append(word)
        rows.append(vec)
    if not words:
        raise EmbeddingFormatError(shown, first_line, "no vector rows")
    return words, np.vstack(rows).astype(np.float32, copy=False)


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _parse_bin(data: bytes, shown: str, max_vocab: int | None):
    nl = data.find(b"\n")
    header = _header(data[:nl]) if nl > 0 else None
    if header is None:
        raise EmbeddingFormatError(shown, 1, "word2vec binary must start with a header line 'N D'")
    n, d = header
    if d < 1:
        raise EmbeddingFormatError(shown, 1, f"header declares dimension {d}; expected at least 1")
    pos = nl + 1
    stop = n if max_vocab is None else min(n, max_vocab)
    words: list[str] = []
    out = np.empty((stop, d), dtype=np.float32)
    nbytes = 4 * d
    for i in range(stop):
        while pos < len(data) and data[pos:pos + 1] in (b"\n", b" "):
            pos += 1
        sp = data.find(b" ", pos, pos + 10_000)
        if sp < 0:
            raise EmbeddingFormatError(
                shown, None, f"entry {i + 1}: file ends or no space after the word (byte {pos}); "
                f"header promised {n} rows"
            )
        try:
            word = data[pos:sp].decode("utf-8")
        except UnicodeDecodeError:
            raise EmbeddingFormatError(shown, None, f"entry {i + 1}: word bytes are not UTF-8 (byte {pos})") from None
        pos = sp + 1
        if pos + nbytes > len(data):
            raise EmbeddingFormatError(
                shown, None, f"entry {i + 1} ({word!r}): file ends inside its vector; header promised {n} rows"
            )
        out[i] = np.frombuffer(data, dtype="<f4", count=d, offset=pos)
        pos += nbytes
        words.append(word)
    if stop == n and data[pos:].strip(b"\n \r\t"):
        raise EmbeddingFormatError(
            shown, None, f"{len(data) - pos} bytes remain after the {n} rows the header declares "
            "(wrong header, or not a word2vec binary file)")
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise EmbeddingFormatError(shown, None, f"entry {i + 1} ({words[i]!r}) holds NaN or Inf")
    return words, out, {"header": [n, d]}


def _read_npy(data: bytes, shown: str, what: str) -> np.ndarray:
    """Read one .npy from bytes after checking its header: no object dtype, and the
    declared shape must match the bytes present (so a forged shape allocates nothing)."""
    f = _io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    except Exception as e:
        raise EmbeddingFormatError(shown, None, f"{what}: not a valid .npy array ({e})") from None
    if dtype.hasobject:
        raise EmbeddingFormatError(
            shown, None, f"{what}: holds Python objects; refused (AlignScope never unpickles data)"
        )
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    need = count * dtype.itemsize
    have = len(data) - f.tell()
    if need > MAX_ARRAY_BYTES:
        raise EmbeddingFormatError(shown, None, f"{what}: declared shape {shape} is too large ({need} bytes)")
    if have < need:
        raise EmbeddingFormatError(
            shown, None, f"{what}: declared shape {shape} needs {need} bytes but the file holds {have}"
        )
    f.seek(0)
    try:
        return np.load(f, allow_pickle=False)
    except Exception as e:  # pragma: no cover - header checks catch the known cases
        raise EmbeddingFormatError(shown, None, f"{what}: cannot read array ({e})") from None


def _read_npz(data: bytes, shown: str) -> tuple[list[str], np.ndarray]:
    try:
        zf = zipfile.ZipFile(_io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise EmbeddingFormatError(shown, None, f"not a valid .npz archive ({e})") from None
    names = {n.removesuffix(".npy"): n for n in zf.namelist()}
    missing = [k for k in ("vectors", "words") if k not in names]
    if missing:
        raise EmbeddingFormatError(
            shown, None,
            f".npz must hold arrays 'vectors' and 'words'; missing {', '.join(missing)} "
            f"(found: {', '.join(sorted(names)) or 'nothing'})",
        )
    arrays = {}
    for key in ("vectors", "words"):
        info = zf.getinfo(names[key])
        if info.file_size > MAX_ARRAY_BYTES:
            raise EmbeddingFormatError(shown, None, f"{key}: member is too large ({info.file_size} bytes)")
        arrays[key] = _read_npy(zf.read(info), shown, key)
    w = arrays["words"]
    if w.dtype.kind not in ("U", "S") or w.ndim != 1:
        raise EmbeddingFormatError(shown, None, f"'words' must be a 1-D array of strings, got {w.dtype} {w.shape}")
    words = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in w.tolist()]
    vectors = arrays["vectors"]
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise EmbeddingFormatError(
            shown, None, f"'vectors' has shape {vectors.shape}, expected ({len(words)}, d) to match 'words'"
        )
    return words, vectors


def _as_matrix(v: np.ndarray, shown: str) -> np.ndarray:
    if v.ndim != 2 or v.shape[0] < 1 or v.shape[1] < 1:
        raise EmbeddingFormatError(shown, None, f"vectors must be a non-empty n × d matrix, got shape {v.shape}")
    if v.dtype.kind not in ("f", "i", "u"):
        raise EmbeddingFormatError(shown, None, f"vectors must be numbers, got dtype {v.dtype}")
    return np.ascontiguousarray(v, dtype=np.float32)


# --------------------------------------------------------------------------- Parquet


def _pa():
    """pyarrow and pyarrow.parquet, imported on first use (a second of import time that
    loading a .vec file does not need)."""
    import pyarrow
    import pyarrow.parquet

    return pyarrow, pyarrow.parquet


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or e.__class__.__name__


def open_parquet(source: bytes | str | os.PathLike, shown: str,
                 err: type[InputFormatError] = EmbeddingFormatError):
    """A ``pyarrow.parquet.ParquetFile`` over bytes (read from memory) or a path (read in
    a buffered stream, so row groups are not loaded whole: memory follows the batch).
    Raises ``err`` when the bytes are not a valid Parquet file."""
    pa, pq = _pa()
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return pq.ParquetFile(pa.BufferReader(source))
        return pq.ParquetFile(os.fspath(source), buffer_size=1 << 20, pre_buffer=False)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise err(shown, None, f"not a valid Parquet file ({_one_line(e)}); is it cut short, or not Parquet?") from None


def _columns_found(schema) -> str:
    return ", ".join(f"{f.name} ({f.type})" for f in schema) or "none"


def _is_id_type(t) -> bool:
    pa, _ = _pa()
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)


def _is_string_type(t) -> bool:
    pa, _ = _pa()
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_list_type(t) -> bool:
    pa, _ = _pa()
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _find_column(schema, wanted: str | None, names: Sequence[str], fits, what: str, expected: str,
                 shown: str, err: type[InputFormatError], exclude: str | None = None) -> str:
    """The column to use: ``wanted`` if given, else the first of ``names`` present
    (case-insensitive), else the first column whose type ``fits``. Its type must fit."""
    if wanted is not None:
        if schema.get_field_index(wanted) < 0:
            raise err(shown, None, f"no {what} column named {wanted!r} (found columns: {_columns_found(schema)})")
        name = wanted
    else:
        by_lower = {}
        for f in schema:
            by_lower.setdefault(f.name.lower(), f.name)
        name = next((by_lower[n] for n in names if n in by_lower and by_lower[n] != exclude), None)
        if name is None:
            name = next((f.name for f in schema if f.name != exclude and fits(f.type)), None)
        if name is None:
            raise err(shown, None,
                      f"no {what} column: expected one named {', '.join(names)} or a column of {expected} "
                      f"(found columns: {_columns_found(schema)})")
    t = schema.field(name).type
    if not fits(t):
        raise err(shown, None, f"{what} column {name!r} must hold {expected}, got {t}")
    return name


def _is_number_list(t) -> bool:
    pa, _ = _pa()
    if not _is_list_type(t):
        return False
    v = t.value_type
    return pa.types.is_floating(v) or pa.types.is_integer(v)


def parquet_columns(schema, shown: str, id_column: str | None = None, vector_column: str | None = None,
                    err: type[InputFormatError] = EmbeddingFormatError) -> tuple[str, str]:
    """(id column, vector column) of an Arrow schema: the names given, else by name
    (:data:`ID_COLUMNS`, :data:`VECTOR_COLUMNS`), else the first string/integer column and
    the first list column. A vector column must be a list or fixed-size list of numbers."""
    vec = _find_column(schema, vector_column, VECTOR_COLUMNS, _is_list_type, "vector",
                       "lists of numbers", shown, err)
    if not _is_number_list(schema.field(vec).type):
        raise err(shown, None, f"vector column {vec!r} must hold lists of numbers, got {schema.field(vec).type}")
    ident = _find_column(schema, id_column, ID_COLUMNS, _is_id_type, "id", "strings or integers", shown, err,
                         exclude=vec)
    if ident == vec:
        raise err(shown, None, f"column {vec!r} cannot be both the id and the vector column")
    return ident, vec


def open_parquet_embeddings(source: bytes | str | os.PathLike, shown: str, id_column: str | None = None,
                            vector_column: str | None = None):
    """(ParquetFile, id column, vector column, dimension or None) of a Parquet embedding
    file; the dimension is known from the schema for a fixed-size list column."""
    pa, _ = _pa()
    pf = open_parquet(source, shown)
    schema = pf.schema_arrow
    ident, vec = parquet_columns(schema, shown, id_column, vector_column)
    t = schema.field(vec).type
    dim = t.list_size if pa.types.is_fixed_size_list(t) else None
    return pf, ident, vec, dim


def _id_strings(arr, shown: str, first_row: int) -> list[str]:
    """Python strings of an Arrow id array (integers printed in decimal); null, empty and
    multi-line ids are refused with their row."""
    pa, _ = _pa()
    if arr.null_count:
        i = int(np.argmax(arr.is_null().to_numpy(zero_copy_only=False)))
        raise EmbeddingFormatError(shown, None, f"row {first_row + i}: the id is null")
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    ids = arr.to_pylist()
    for i, v in enumerate(ids):
        if not v or "\n" in v:
            raise EmbeddingFormatError(shown, None, f"row {first_row + i}: the id {v!r} is empty or contains a newline")
    return ids


def parquet_vectors(arr, ids: Sequence[str], shown: str, first_row: int, dim: int | None) -> np.ndarray:
    """An Arrow list / fixed-size list column as a float32 n × d matrix: the values are
    flattened once and reshaped (no per-row Python), after checking that no row is null
    or holds a null, that every row has ``dim`` values (``None``: the first row's), and
    that all are finite. Errors name the row (1-based, ``first_row`` for ``arr[0]``) and id."""
    pa, _ = _pa()
    import pyarrow.compute as pc

    n = len(arr)
    if arr.null_count:
        i = int(np.argmax(arr.is_null().to_numpy(zero_copy_only=False)))
        raise EmbeddingFormatError(shown, None, f"row {first_row + i} (id {ids[i]!r}): the vector is null")
    if pa.types.is_fixed_size_list(arr.type):
        d = arr.type.list_size
        if dim is not None and d != dim:
            raise EmbeddingFormatError(shown, None, f"row {first_row}: vectors of {d} values, expected {dim}")
    else:
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        d = int(lengths[0]) if dim is None else dim
        bad = np.flatnonzero(lengths != d)
        if bad.size:
            i = int(bad[0])
            raise EmbeddingFormatError(
                shown, None, f"row {first_row + i} (id {ids[i]!r}): the vector has {int(lengths[i])} "
                f"value{'' if lengths[i] == 1 else 's'}, expected {d} like the rows before it (ragged lists)")
    if d < 1:
        raise EmbeddingFormatError(shown, None, f"row {first_row} (id {ids[0]!r}): the vector is empty (0 values)")
    flat = arr.flatten()
    if flat.null_count:
        j = int(np.argmax(flat.is_null().to_numpy(zero_copy_only=False)))
        i = j // d
        raise EmbeddingFormatError(
            shown, None, f"row {first_row + i} (id {ids[i]!r}): value {j % d + 1} of the vector is null")
    values = flat.to_numpy(zero_copy_only=False)
    mat = np.ascontiguousarray(values.reshape(n, d), dtype=np.float32)
    finite = np.isfinite(mat).all(axis=1)
    if not finite.all():
        i = int(np.argmax(~finite))
        raise EmbeddingFormatError(shown, None, f"row {first_row + i} (id {ids[i]!r}) holds NaN or Inf")
    return mat


def iter_parquet_batches(pf, shown: str, id_column: str, vector_column: str, dim: int | None = None,
                         batch_rows: int = PARQUET_BATCH_ROWS, max_rows: int | None = None,
                         unique_ids: bool = False) -> Iterator[tuple[object, list[str], np.ndarray, int]]:
    """Yield ``(id_array, ids, vectors, first_row)`` per batch of at most ``batch_rows``
    rows of an open Parquet embedding file (:func:`open_parquet_embeddings`):
    the Arrow id column as stored, the ids as strings, the float32 matrix, and the 1-based
    row number of the batch's first row. Every batch is checked as :func:`parquet_vectors`
    says; ``unique_ids`` also refuses an id seen on an earlier row (both rows named).
    Stops after ``max_rows`` rows. An empty table is an error."""
    pa, _ = _pa()
    seen: dict[str, int] = {}
    row = 1
    it = pf.iter_batches(batch_size=batch_rows, columns=[id_column, vector_column])
    while max_rows is None or row <= max_rows:
        try:
            batch = next(it)
        except StopIteration:
            break
        except (pa.ArrowException, OSError) as e:
            raise EmbeddingFormatError(
                shown, None, f"cannot read the rows from row {row} on ({_one_line(e)}); is the file cut short?"
            ) from None
        if max_rows is not None and row - 1 + batch.num_rows > max_rows:
            batch = batch.slice(0, max_rows - row + 1)
        if batch.num_rows == 0:
            continue
        id_arr = batch.column(id_column)
        ids = _id_strings(id_arr, shown, row)
        if unique_ids:
            check_unique_ids(ids, shown, row, seen)
        vectors = parquet_vectors(batch.column(vector_column), ids, shown, row, dim)
        dim = vectors.shape[1]
        yield id_arr, ids, vectors, row
        row += batch.num_rows
    if row == 1:
        raise EmbeddingFormatError(shown, None, "no rows: the Parquet table is empty")


def _parse_parquet(data: bytes, shown: str, max_vocab: int | None, id_column: str | None,
                   vector_column: str | None):
    pf, ident, vec, dim = open_parquet_embeddings(data, shown, id_column, vector_column)
    n = pf.metadata.num_rows if max_vocab is None else min(pf.metadata.num_rows, max_vocab)
    words: list[str] = []
    out = None
    for _, ids, mat, first in iter_parquet_batches(pf, shown, ident, vec, dim, max_rows=max_vocab):
        if out is None:
            out = np.empty((n, mat.shape[1]), dtype=np.float32)
        out[first - 1:first - 1 + len(ids)] = mat
        words.extend(ids)
    assert out is not None and len(words) == n  # the iterator raised on an empty table
    return words, out, {"id_column": ident, "vector_column": vec}


# --------------------------------------------------------------------------- .npy shards


def read_vocab(path: str | os.PathLike) -> list[str]:
    """The words (or ids) of a ``name.vocab.txt`` file, one per line (UTF-8, BOM dropped);
    an empty or non-UTF-8 line is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise EmbeddingFormatError(str(path), None, "word list not found (expected one word or id per line)")
    return _decode_vocab(path.read_bytes(), str(path))


def npy_shape(path: str | os.PathLike) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """(shape, dtype, fortran_order, data offset) from a ``.npy`` header, after the checks
    of the in-memory reader: no Python objects, a numeric dtype, and the declared shape
    must fit in the bytes present (so a forged shape allocates nothing)."""
    path = Path(path)
    shown = str(path)
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
    except FileNotFoundError:
        raise EmbeddingFormatError(shown, None, "file not found") from None
    except (ValueError, EOFError) as e:
        raise EmbeddingFormatError(shown, None, f"not a valid .npy array ({_one_line(e)})") from None
    if dtype.hasobject:
        raise EmbeddingFormatError(shown, None, "holds Python objects; refused (AlignScope never unpickles data)")
    if dtype.kind not in ("f", "i", "u"):
        raise EmbeddingFormatError(shown, None, f"vectors must be numbers, got dtype {dtype}")
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        raise EmbeddingFormatError(shown, None, f"vectors must be a non-empty n × d matrix, got shape {shape}")
    need = shape[0] * shape[1] * dtype.itemsize
    have = path.stat().st_size - offset
    if have < need:
        raise EmbeddingFormatError(
            shown, None, f"declared shape {shape} needs {need} bytes but the file holds {have} (cut short?)")
    return shape, dtype, fortran, offset


def iter_npy_batches(path: str | os.PathLike, ids: Sequence[str], batch_rows: int = PARQUET_BATCH_ROWS
                     ) -> Iterator[tuple[list[str], np.ndarray, int]]:
    """Yield ``(ids, vectors, first_row)`` per batch of a ``.npy`` matrix read from the file
    in order (no memory map: memory follows the batch, not the file). ``ids`` are the
    rows' ids (the ``.vocab.txt``); their count must match and they must be unique.
    Vectors come as float32; a row with NaN or Inf is an error naming the row and id."""
    path = Path(path)
    shown = str(path)
    (n, d), dtype, fortran, offset = npy_shape(path)
    if len(ids) != n:
        raise EmbeddingFormatError(shown, None, f"{n} vector rows but {len(ids)} ids in the vocab file")
    check_unique_ids(ids, shown)
    if fortran:  # columns are contiguous: rows cannot be streamed, read it whole
        whole = np.load(path, allow_pickle=False, mmap_mode="r")
    with open(path, "rb") as f:
        f.seek(offset)
        for a in range(0, n, batch_rows):
            k = min(batch_rows, n - a)
            if fortran:
                block = whole[a:a + k]
            else:
                block = np.frombuffer(f.read(k * d * dtype.itemsize), dtype=dtype).reshape(k, d)
            mat = np.ascontiguousarray(block, dtype=np.float32)
            finite = np.isfinite(mat).all(axis=1)
            if not finite.all():
                i = int(np.argmax(~finite))
                raise EmbeddingFormatError(shown, None, f"row {a + i + 1} (id {ids[a + i]!r}) holds NaN or Inf")
            yield list(ids[a:a + k]), mat, a + 1


def _decode_vocab(data: bytes, shown: str) -> list[str]:
    if data.startswith(_BOM):
        data = data[3:]
    words = []
    for i, raw in enumerate(data.rstrip(b"\n").split(b"\n"), start=1):
        try:
            w = raw.rstrip(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            raise EmbeddingFormatError(shown, i, "bytes that are not UTF-8 in the word list") from None
        if not w:
            raise EmbeddingFormatError(shown, i, "empty word in the word list")
        words.append(w)
    return words


def _drop_duplicates(words: list[str], vectors: np.ndarray):
    seen: set[str] = set()
    keep = []
    for i, w in enumerate(words):
        if w not in seen:
            seen.add(w)
            keep.append(i)
    dup = len(words) - len(keep)
    if dup:
        idx = np.asarray(keep, dtype=np.int64)
        return [words[i] for i in keep], np.ascontiguousarray(vectors[idx]), dup
    return words, np.ascontiguousarray(vectors, dtype=np.float32), 0


# --------------------------------------------------------------------------- cache


def _read_cache(base: Path):
    vec, wrd, meta = base.with_suffix(".npy"), base.with_suffix(".words"), base.with_suffix(".json")
    if not (vec.exists() and wrd.exists() and meta.exists()):
        return None
    try:
        vectors = np.load(vec, allow_pickle=False)
        words = wrd.read_bytes().decode("utf-8").split("\n")
        report = json.loads(meta.read_text())
    except Exception:
        return None
    if len(words) != vectors.shape[0]:
        return None
    return words, vectors, report


def _write_cache(base: Path, emb: Embeddings) -> None:
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        tmp = base.with_name(base.name + f".tmp{os.getpid()}")
        np.save(tmp.with_suffix(".npy"), emb.vectors, allow_pickle=False)
        tmp.with_suffix(".words").write_bytes("\n".join(emb.words).encode("utf-8"))
        tmp.with_suffix(".json").write_text(json.dumps(dict(emb.report)))
        for suf in (".npy", ".words", ".json"):
            os.replace(tmp.with_suffix(suf), base.with_suffix(suf))
    except OSError:
        pass  # a cache that cannot be written is only a slower second load


# --------------------------------------------------------------------------- writing


def save_word2vec(emb_or_words, path: str | os.PathLike, vectors: np.ndarray | None = None,
                  precision: int = 6) -> Path:
    """Write word2vec text (``N D`` header); gzip when the name ends in ``.gz``."""
    words, vectors = _words_vectors(emb_or_words, vectors)
    path = Path(path)
    raw = word2vec_bytes(words, vectors, precision)
    if path.suffix == ".gz":
        raw = gzip.compress(raw, compresslevel=6)
    path.write_bytes(raw)
    return path


def word2vec_bytes(words: Sequence[str], vectors: np.ndarray, precision: int = 6) -> bytes:
    """word2vec text (``N D`` header, one ``word v1 ... vD`` line per row) as bytes."""
    vectors = np.asarray(vectors)
    fmt = " ".join([f"%.{precision}g"] * vectors.shape[1])
    lines = [f"{len(words)} {vectors.shape[1]}"]
    lines.extend(w + " " + fmt % tuple(row.tolist()) for w, row in zip(words, vectors))
    return ("\n".join(lines) + "\n").encode("utf-8")


def save_npy(emb_or_words, path: str | os.PathLike, vectors: np.ndarray | None = None) -> tuple[Path, Path]:
    """Write ``name.npy`` and ``name.vocab.txt``."""
    words, vectors = _words_vectors(emb_or_words, vectors)
    path = Path(path)
    if path.suffix != ".npy":
        path = path.with_name(path.name + ".npy")
    np.save(path, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    vp = _vocab_path_for(path)
    vp.write_bytes(("\n".join(words) + "\n").encode("utf-8"))
    return path, vp


def vectors_to_arrow(vectors: np.ndarray):
    """An n × d matrix as an Arrow fixed-size list<float32>[d] array (zero copy of the
    float32 values): the vector column Parquet writers and LanceDB use."""
    pa, _ = _pa()
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ConfigError(f"vectors must be an n × d matrix, got shape {v.shape}")
    return pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), v.shape[1])


def _id_array(ids):
    pa, _ = _pa()
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        return ids
    arr = pa.array(list(ids))
    if not _is_id_type(arr.type):
        raise ConfigError(f"ids must be strings or integers, got {arr.type}")
    return arr


class _ShardWriterContext:
    """``with`` support shared by the shard writers: ``close()`` on success, ``abort()``
    (the temporary file removed) on an exception."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class ParquetShardWriter(_ShardWriterContext):
    """Write ids and vectors to a Parquet file batch by batch: the id column as given
    (an Arrow array keeps its type, strings or integers), the vectors as a fixed-size
    list<float32>[d] column, one row group per :meth:`write`. The file is written under
    a temporary name beside ``path`` and renamed by :meth:`close`, so a failed write never
    leaves a file that looks complete; use it as a context manager (an exception aborts)."""

    def __init__(self, path: str | os.PathLike, id_column: str = "id", vector_column: str = "vector",
                 compression: str = "snappy"):
        if id_column == vector_column:
            raise ConfigError(f"the id and vector columns need two names, got {id_column!r} twice")
        self.path = Path(path)
        self.id_column, self.vector_column = id_column, vector_column
        self.compression = compression
        self.rows = 0
        self._tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")
        self._writer = None

    def write(self, ids, vectors: np.ndarray) -> None:
        pa, pq = _pa()
        id_arr, vec_arr = _id_array(ids), vectors_to_arrow(vectors)
        if len(id_arr) != len(vec_arr):
            raise ConfigError(f"{len(id_arr)} ids but {len(vec_arr)} vectors")
        table = pa.Table.from_arrays([id_arr, vec_arr], names=[self.id_column, self.vector_column])
        if self._writer is None:
            # no dictionary encoding: ids are unique and float values almost all distinct, so
            # building a dictionary per page only to drop it costs 4× the write time; min/max
            # statistics only for the ids (those of embedding values select nothing)
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression=self.compression,
                                            use_dictionary=False, write_statistics=[self.id_column])
        elif not table.schema.equals(self._writer.schema):
            raise ConfigError(f"{self.path}: batch schema {table.schema} differs from the first batch's")
        self._writer.write_table(table)
        self.rows += len(id_arr)

    def close(self) -> Path:
        if self._writer is None:
            raise ConfigError(f"{self.path}: no rows written")
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the write already failed; only clean up
                pass
        self._tmp.unlink(missing_ok=True)



class NpyShardWriter(_ShardWriterContext):
    """Write an n × d float32 ``.npy`` batch by batch (n and d known up front) and the
    rows' ids as ``name.vocab.txt`` beside it: the ``.npy`` + ``.vocab.txt`` format that
    :func:`load_embeddings` reads. Both are written under temporary names and renamed by
    :meth:`close` (a context manager: an exception aborts and removes them)."""

    def __init__(self, path: str | os.PathLike, n: int, d: int):
        self.path = Path(path)
        self.vocab_path = _vocab_path_for(self.path)
        self.n, self.d, self.rows = int(n), int(d), 0
        tag = f".tmp{os.getpid()}"
        self._tmp = self.path.with_name(f".{self.path.name}{tag}")
        self._tmp_vocab = self.vocab_path.with_name(f".{self.vocab_path.name}{tag}")
        self._f = open(self._tmp, "wb")
        self._fv = open(self._tmp_vocab, "wb")
        np.lib.format.write_array_header_1_0(
            self._f, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
                      "shape": (self.n, self.d)})

    def write(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        v = np.ascontiguousarray(vectors, dtype="<f4")
        if v.ndim != 2 or v.shape[1] != self.d or v.shape[0] != len(ids):
            raise ConfigError(f"{self.path}: expected {len(ids)} × {self.d} vectors, got shape {v.shape}")
        if self.rows + len(ids) > self.n:
            raise ConfigError(f"{self.path}: more than the {self.n} rows declared")
        self._f.write(v.data)
        self._fv.write(("\n".join(ids) + "\n").encode("utf-8"))
        self.rows += len(ids)

    def close(self) -> tuple[Path, Path]:
        self._f.close()
        self._fv.close()
        if self.rows != self.n:
            self.abort()
            raise ConfigError(f"{self.path}: {self.rows} rows written, {self.n} declared")
        os.replace(self._tmp, self.path)
        os.replace(self._tmp_vocab, self.vocab_path)
        return self.path, self.vocab_path

    def abort(self) -> None:
        self._f.close()
        self._fv.close()
        self._tmp.unlink(missing_ok=True)
        self._tmp_vocab.unlink(missing_ok=True)



def save_parquet(ids, vectors: np.ndarray, path: str | os.PathLike, id_column: str = "id",
                 vector_column: str = "vector") -> Path:
    """Write ``ids`` (strings, or integers) and ``vectors`` (n × d) as Parquet: an id
    column and a fixed-size list<float32>[d] vector column (row groups of
    :data:`PARQUET_BATCH_ROWS` rows), which :func:`load_embeddings`, pandas, Hugging Face
    datasets and LanceDB read."""
    id_arr = _id_array(ids)
    v = np.asarray(vectors)
    if v.ndim != 2 or v.shape[0] != len(id_arr):
        raise ConfigError(f"{len(id_arr)} ids but vectors of shape {v.shape}; expected ({len(id_arr)}, d)")
    with ParquetShardWriter(path, id_column, vector_column) as w:
        for a in range(0, max(len(id_arr), 1), PARQUET_BATCH_ROWS):
            w.write(id_arr[a:a + PARQUET_BATCH_ROWS], v[a:a + PARQUET_BATCH_ROWS])
    return Path(path)


# --------------------------------------------------------------------------- texts (labels)


def load_texts(path: str | os.PathLike, id_column: str | None = None,
               text_column: str | None = None) -> dict[str, str]:
    """The texts of items by id (labels for an ids-mode :class:`Embeddings`), from a
    ``id<TAB>text`` file or a Parquet file; see :func:`parse_texts`."""
    path = Path(path)
    if not path.exists():
        raise InputFormatError(str(path), None, "file not found")
    if path.is_dir():
        raise InputFormatError(str(path), None, "is a folder, expected a texts file (id<TAB>text per line)")
    return parse_texts(path.read_bytes(), path.name, id_column, text_column, display_path=str(path))


def parse_texts(data: bytes, name: str, id_column: str | None = None, text_column: str | None = None,
                display_path: str | None = None) -> dict[str, str]:
    """Texts by id from bytes. Text files: ``id<TAB>text`` per line (the text is all after
    the first tab), UTF-8 (a BOM is dropped, CRLF accepted, gzip detected), blank lines
    ignored. Parquet: an id column (as for embeddings) and a text column (named one of
    :data:`TEXT_COLUMNS`, else the first other string column). A line without a tab, an
    empty id, a duplicate id (both lines or rows named) or bytes that are not UTF-8 raise
    :class:`InputFormatError` naming the file and the line."""
    shown = display_path or name
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, shown, InputFormatError)
        name = name.removesuffix(".gz")
    if _looks_parquet(data) or Path(name).suffix.lower() in PARQUET_EXTS:
        return _parse_texts_parquet(data, shown, id_column, text_column)
    if data.startswith(_BOM):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputFormatError(shown, line, f"bytes that are not UTF-8 at column {col} (the file must be UTF-8)"
                               ) from None
    out: dict[str, str] = {}
    line_of: dict[str, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip():
            continue
        tab = line.find("\t")
        if tab < 0:
            raise InputFormatError(shown, lineno, "no tab: expected 'id<TAB>text'")
        key = line[:tab]
        if not key.strip():
            raise InputFormatError(shown, lineno, "empty id before the tab: expected 'id<TAB>text'")
        if key in out:
            raise InputFormatError(shown, lineno, f"id {key!r} appears twice, on lines {line_of[key]} and {lineno}")
        out[key] = line[tab + 1:]
        line_of[key] = lineno
    if not out:
        raise InputFormatError(shown, None, "no texts: expected 'id<TAB>text' lines")
    return out


def _parse_texts_parquet(data: bytes, shown: str, id_column: str | None, text_column: str | None
                         ) -> dict[str, str]:
    pa, _ = _pa()
    pf = open_parquet(data, shown, InputFormatError)
    schema = pf.schema_arrow
    ident = _find_column(schema, id_column, ID_COLUMNS, _is_id_type, "id", "strings or integers", shown,
                         InputFormatError)
    text = _find_column(schema, text_column, TEXT_COLUMNS, _is_string_type, "text", "strings", shown,
                        InputFormatError, exclude=ident)
    if text == ident:
        raise InputFormatError(shown, None, f"column {ident!r} cannot be both the id and the text column")
    try:
        table = pf.read(columns=[ident, text])
    except (pa.ArrowException, OSError) as e:
        raise InputFormatError(shown, None, f"cannot read the table ({_one_line(e)}); is the file cut short?"
                               ) from None
    if table.num_rows == 0:
        raise InputFormatError(shown, None, "no rows: the Parquet table is empty")
    id_arr = table.column(ident).combine_chunks()
    if pa.types.is_dictionary(id_arr.type):
        id_arr = id_arr.dictionary_decode()
    keys = id_arr.cast(pa.string()).to_pylist()
    values = table.column(text).to_pylist()
    out: dict[str, str] = {}
    row_of: dict[str, int] = {}
    for row, (k, v) in enumerate(zip(keys, values), start=1):
        if not k:
            raise InputFormatError(shown, None, f"row {row}: the id is {'null' if k is None else 'empty'}")
        if v is None:
            raise InputFormatError(shown, None, f"row {row} (id {k!r}): the text is null")
        if k in out:
            raise InputFormatError(shown, None, f"id {k!r} appears twice, on rows {row_of[k]} and {row}")
        out[k] = v
        row_of[k] = row
    return out


def _words_vectors(emb_or_words, vectors):
    if isinstance(emb_or_words, Embeddings):
        return emb_or_words.words, emb_or_words.vectors
    if vectors is None:
        raise ValueError("pass an Embeddings, or words and vectors")
    return list(emb_or_words), np.asarray(vectors)
