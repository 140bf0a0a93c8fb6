"""Reading and writing embeddings, with format detection and clear errors.

Formats (detected from the content first, the file name second):

- word2vec / fastText text (``.vec``, ``.txt``): an optional ``N D`` header line, then
  ``word v1 … vD`` per line, separated by single spaces. GloVe's header-less files work.
- gzip of a text or binary file (``.gz``), detected by its magic bytes.
- word2vec binary (``.bin``): ``N D\\n`` then, per row, the word, a space and D
  little-endian float32 values (an optional newline before the next word).
- ``.npy`` with the word list in ``name.vocab.txt`` beside it (one word per line).
- ``.npz`` holding ``vectors`` (n × d floats) and ``words`` (n strings).

Bytes that are not UTF-8 are **rejected** (with the line), never silently replaced:
a replaced word could collide with another one and change which row a word gets.
Nothing is ever unpickled (``allow_pickle=False``; object arrays are refused).

Text files are parsed with pandas' C reader (about 1 s for 50,000 × 300); if that
fast path sees anything unusual, a line-by-line validator takes over so the error
names the exact line. Parsed arrays are cached as ``.npy`` keyed by the file's
content hash, so a second load is near instant.
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
from typing import Sequence

import numpy as np

from .embeddings import Embeddings
from .errors import EmbeddingFormatError

DEFAULT_MAX_VOCAB = 200_000
CACHE_VERSION = "1"
TEXT_EXTS = (".vec", ".txt", ".glove", ".w2v")
_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_BOM = b"\xef\xbb\xbf"
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
) -> Embeddings:
    """Read an embedding file (any supported format) into :class:`Embeddings`.

    ``max_vocab`` keeps the first N rows (the most frequent words in the usual files).
    ``lowercase`` lowercases words, keeping the first (most frequent) spelling, as MUSE.
    ``fmt`` forces a format: ``text``, ``bin``, ``npy`` or ``npz`` (default: detect).
    Raises :class:`EmbeddingFormatError` naming the file, the line and the problem.
    """
    path = Path(path)
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
    if cache and not is_npy and data[:4] != _ZIP_MAGIC:
        key = hashlib.blake2b(data, digest_size=20)
        key.update(f"|{CACHE_VERSION}|{max_vocab}|{fmt}".encode())
        cache_file = Path(cache_dir or default_cache_dir()) / key.hexdigest()
        cached = _read_cache(cache_file)
        if cached is not None:
            words, vectors, report = cached
            report["cached"] = True
            emb = Embeddings(words, vectors, report=report, name=path.name)
            return emb.lowercased() if lowercase else emb
    emb = parse_embeddings(data, path.name, max_vocab=max_vocab, lowercase=False, fmt=fmt,
                           vocab_bytes=vocab_bytes, display_path=str(path))
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
) -> Embeddings:
    """Parse embeddings from bytes (an upload, or a file already read)."""
    shown = display_path or filename
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
    if not data:
        raise EmbeddingFormatError(shown, None, "file is empty (expected a header 'N D' or 'word v1 ... vD' rows)")
    ext = Path(name).suffix.lower()
    if fmt is None:
        if data[:6] == _NPY_MAGIC:
            fmt = "npy"
        elif data[:4] == _ZIP_MAGIC:
            fmt = "npz"
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
    else:
        raise EmbeddingFormatError(shown, None, f"unknown format {fmt!r} (expected text, bin, npy or npz)")
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


def _vocab_path_for(path: Path) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + ".vocab.txt")


def _gunzip(data: bytes, shown: str) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data)
    except zlib.error as e:
        raise EmbeddingFormatError(shown, None, f"gzip data is corrupt ({e})") from None
    if not d.eof:
        raise EmbeddingFormatError(
            shown, None, "gzip stream is truncated: the file is incomplete (cut during download or copy?)"
        )
    return out


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


def _words_vectors(emb_or_words, vectors):
    if isinstance(emb_or_words, Embeddings):
        return emb_or_words.words, emb_or_words.vectors
    if vectors is None:
        raise ValueError("pass an Embeddings, or words and vectors")
    return list(emb_or_words), np.asarray(vectors)
