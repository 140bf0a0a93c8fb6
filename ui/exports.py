"""Download payloads of a run, as bytes. File names are generated here from the run's
number and method, never taken from an upload."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd

from alignment_core.io import word2vec_bytes


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


def file_stem(rid: int, method: str) -> str:
    """``alignscope-run3-procrustes``: the prefix of every file exported from a run."""
    return f"alignscope-run{int(rid)}-{_slug(method)}"


def mapping_npy(w: np.ndarray) -> bytes:
    """W (d_tgt × d_src, float32) as .npy; aligned = X·Wᵀ."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(w, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def aligned_vectors(result) -> bytes:
    """The aligned (normalized, mapped) source vectors as word2vec text."""
    return word2vec_bytes(result.src.words, result.aligned_source())


def induced_dictionary(result) -> bytes:
    return result.induced.to_text().encode("utf-8")


def result_json(result) -> bytes:
    return (json.dumps(result.to_json(), indent=2) + "\n").encode("utf-8")


def config_json(result) -> bytes:
    return (json.dumps(result.config.to_dict(), indent=2) + "\n").encode("utf-8")


def per_word_frame(per_word: list[dict]) -> pd.DataFrame:
    """One row per query word: golds, top prediction and rank of the first gold per rule."""
    rows = []
    for r in per_word:
        row = {"source": r["source"], "source_rank": r["source_rank"], "gold": " | ".join(r["gold"])}
        for rule in ("nn", "csls", "isf"):
            if f"top_{rule}" in r:
                row[f"pred_{rule}"] = r[f"top_{rule}"][0][0]
                row[f"rank_{rule}"] = r[f"rank_{rule}"]
        row["cos_gold"] = r.get("cos_gold")
        rows.append(row)
    return pd.DataFrame(rows)


def per_word_csv(per_word: list[dict]) -> bytes:
    return per_word_frame(per_word).to_csv(index=False).encode("utf-8")


def map_coordinates_csv(words, n_src: int, coords: np.ndarray, agreement: np.ndarray | None) -> bytes:
    """The 2-D map as CSV: one row per drawn point (source rows first) with columns word,
    side (source / target), x, y, agreement (neighbourhood agreement, empty when unknown)."""
    coords = np.asarray(coords, dtype=np.float64)
    n = len(words)
    if coords.shape != (n, 2):
        raise ValueError(f"coords must be ({n}, 2) for {n} words, got {coords.shape}")
    ag = np.full(n, np.nan) if agreement is None else np.asarray(agreement, dtype=np.float64)
    df = pd.DataFrame({"word": list(words), "side": ["source"] * n_src + ["target"] * (n - n_src),
                       "x": coords[:, 0], "y": coords[:, 1], "agreement": ag})
    return df.to_csv(index=False, float_format="%.6g").encode("utf-8")


def figure_html(fig) -> bytes:
    """A Plotly figure as one standalone HTML file, plotly.js bundled (no CDN, so it opens
    without a network); the mouse wheel zooms, as on the page."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"scrollZoom": True}).encode("utf-8")


def faithfulness_json(maps: dict[str, dict | None], about: dict) -> bytes:
    """The faithfulness numbers of the map(s) shown (``maps``: name → ``Faithfulness.to_dict()``
    or None when not measured), with what was drawn (``about``: points, layout, run)."""
    return json.dumps({**about, "maps": maps}, indent=1).encode()
