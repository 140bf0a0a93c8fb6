"""Plotly figure builders. Pure functions: data in, ``go.Figure`` out (no Streamlit)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.mapview import SRC_TRACE, TGT_TRACE

SRC_COLOR = "#1f77b4"
TGT_COLOR = "#ff7f0e"
HIGHLIGHT = "#d62728"

_LIVE_PANELS = (
    ("criterion", "unsupervised criterion (mean cos)"),
    ("dict_size", "dictionary size"),
    ("delta_w", "ΔW (‖W_new − W‖_F)"),
    ("p@1", "P@1 on the eval dictionary (%)"),
)


class _Ev:
    def __init__(self, stage, step, total, metrics):
        self.stage, self.step, self.total, self.metrics = stage, step, total, metrics


def live_metrics(snaps: Sequence) -> go.Figure:
    """Four small panels, one point per event: criterion, dictionary size, ΔW, P@1.
    ``snaps``: job snapshots (``.stage .step .total .metrics``) or history dicts."""
    snaps = [_Ev(h["stage"], h["step"], h["total"], h) if isinstance(h, dict) else h for h in snaps]
    fig = make_subplots(rows=1, cols=4, subplot_titles=[t for _, t in _LIVE_PANELS], horizontal_spacing=0.06)
    x = list(range(1, len(snaps) + 1))
    labels = [f"{s.stage} {s.step}/{s.total}" for s in snaps]
    for col, (key, _) in enumerate(_LIVE_PANELS, start=1):
        keys = [k for k in ("p@1_nn", "p@1_csls")] if key == "p@1" else [key]
        for k in keys:
            ys = [s.metrics.get(k) for s in snaps]
            if all(v is None for v in ys):
                continue
            fig.add_trace(go.Scatter(x=x, y=ys, mode="lines+markers", name=k, text=labels,
                                     hovertemplate="%{text}<br>" + k + "=%{y:.4g}<extra></extra>",
                                     connectgaps=True, showlegend=key == "p@1"), row=1, col=col)
    fig.update_layout(height=260, margin=dict(l=30, r=10, t=40, b=30),
                      legend=dict(orientation="h", y=-0.25, x=0.75))
    fig.update_annotations(font_size=12)
    fig.update_xaxes(title_text="event", title_font_size=10)
    return fig


def animation(frames: Sequence[np.ndarray], labels: Sequence[str], targets: np.ndarray,
              words: Sequence[tuple[str, str]]) -> go.Figure:
    """Mapped source words (blue) moving toward their translations (orange, fixed), one
    frame per iteration, in a PCA frame fitted on the translations."""
    src_txt = [f"{s} → {t}" for s, t in words]
    tgt_txt = [t for _, t in words]
    allpts = np.vstack([targets, *frames]) if frames else targets
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    pad = 0.05 * (hi - lo + 1e-6)

    def src_trace(f: np.ndarray) -> go.Scatter:
        return go.Scatter(x=f[:, 0], y=f[:, 1], mode="markers", name="mapped source",
                          marker=dict(color=SRC_COLOR, size=6, opacity=0.8), text=src_txt,
                          hovertemplate="%{text}<extra></extra>")

    def links(f: np.ndarray) -> go.Scatter:
        """A faint segment from each mapped source word to its translation."""
        xs = np.full(3 * len(f), np.nan)
        ys = np.full(3 * len(f), np.nan)
        xs[0::3], xs[1::3] = f[:, 0], targets[:, 0]
        ys[0::3], ys[1::3] = f[:, 1], targets[:, 1]
        return go.Scatter(x=xs, y=ys, mode="lines", name="to its translation", hoverinfo="skip",
                          line=dict(color="rgba(90,90,90,0.25)", width=1))

    tgt_trace = go.Scatter(x=targets[:, 0], y=targets[:, 1], mode="markers", name="translation",
                           marker=dict(color=TGT_COLOR, size=6, symbol="x", opacity=0.7), text=tgt_txt,
                           hovertemplate="%{text}<extra></extra>")
    fig = go.Figure(data=[links(frames[-1]), tgt_trace, src_trace(frames[-1])])
    fig.frames = [go.Frame(data=[links(f), tgt_trace, src_trace(f)], name=str(i), traces=[0, 1, 2])
                  for i, f in enumerate(frames)]
    steps = [dict(method="animate", label=lab, args=[[str(i)], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                                                       transition=dict(duration=0))])
             for i, lab in enumerate(labels)]
    fig.update_layout(
        height=420, margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(range=[lo[0] - pad[0], hi[0] + pad[0]], showticklabels=False),
        yaxis=dict(range=[lo[1] - pad[1], hi[1] + pad[1]], showticklabels=False),
        legend=dict(orientation="h", y=1.06),
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.02, xanchor="left", yanchor="top",
                          buttons=[dict(label="▶ play", method="animate",
                                        args=[None, dict(frame=dict(duration=600, redraw=False),
                                                         transition=dict(duration=400), fromcurrent=False)])])],
        sliders=[dict(active=len(frames) - 1, steps=steps, x=0.12, len=0.88, y=-0.02,
                      currentvalue=dict(prefix="step: "))],
    )
    return fig


def precision_bars(rows: list[dict]) -> go.Figure:
    """Grouped bars of P@k: rows are {"setting", "rule", "k", "value"}."""
    fig = go.Figure()
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    for s in settings:
        sel = [r for r in rows if r["setting"] == s]
        fig.add_trace(go.Bar(x=[f"{r['rule']} P@{r['k']}" for r in sel], y=[r["value"] for r in sel], name=s,
                             text=[f"{r['value']:.1f}" for r in sel], textposition="outside"))
    fig.update_layout(barmode="group", height=300, margin=dict(l=30, r=10, t=20, b=30), yaxis_title="%",
                      yaxis_range=[0, 105], legend=dict(orientation="h", y=1.12))
    return fig


def map_hover(words: Sequence[str], n_src: int, nearest: np.ndarray | None, nearest_cos: np.ndarray | None,
              tgt_words: Sequence[str], gold: dict[str, Sequence[str]] | None = None,
              label=None) -> list[str]:
    """Hover lines for :func:`scatter_map`: a source word with its nearest target in the
    aligned space, the cosine and ✓ gold / ✗ not gold (when its gold is known); a
    target word alone. ``label`` (id → text) shows items by their text."""
    show = label or (lambda w: w)
    out = [show(w) for w in words]
    if nearest is None or nearest_cos is None:
        return out
    gold = gold or {}
    for i in range(min(n_src, len(nearest))):
        t = tgt_words[int(nearest[i])]
        g = gold.get(words[i])
        mark = "" if not g else (" ✓ gold" if t in g else
                                 " ✗ not gold (gold: " + ", ".join(show(x) for x in list(g)[:3]) + ")")
        out[i] = f"{show(words[i])} → {show(t)} (cos {float(nearest_cos[i]):.2f}){mark}"
    return out


def with_agreement(hover: Sequence[str], values: np.ndarray, k: int) -> list[str]:
    """Hover lines with each point's neighbourhood agreement appended."""
    return [f"{h}<br>agreement@{k} {float(v):.2f}" for h, v in zip(hover, values)]


def scatter_map(coords: np.ndarray, words: Sequence[str], n_src: int,
                highlight: Sequence[int] = (), lines: Sequence[tuple[int, int]] = (),
                title: str = "", src_label: str = "source", tgt_label: str = "target",
                hover: Sequence[str] | None = None, colour=None,
                neighbour_lines: Sequence[tuple[str, str, Sequence[tuple[int, int]]]] = ()) -> go.Figure:
    """Both spaces on one map: ``coords`` (n, 2) with the first ``n_src`` rows the source
    words. ``highlight`` are row indices drawn large; ``lines`` join (source row, target row);
    ``hover`` one hover line per row (default: the word). Points are WebGL
    (``Scattergl``): trace ``TGT_TRACE`` (0) the target rows, drawn first, and trace
    ``SRC_TRACE`` (1) the source rows on top of them (the anchored map draws a mapped word on
    its translation: drawn under it, it would be hidden), always, so 2 × 50,000 stay
    responsive and a selection's curve number says the side; the legend lists the source first.

    ``colour`` (:class:`ui.mapview.Colouring`, default by space): "category" colours each
    point by its category (a legend entry per category, sides told apart by the marker:
    circles source, diamonds target), "continuous" puts both sides on one colour scale.
    ``neighbour_lines``: (name, colour, [(row, row), …]) groups of segments, e.g. a
    point's nearest neighbours in its own and in the other space."""
    fig = go.Figure()
    hover = list(words) if hover is None else list(hover)
    kind = getattr(colour, "kind", "space")
    sides = {SRC_TRACE: (src_label, SRC_COLOR, slice(0, n_src)), TGT_TRACE: (tgt_label, TGT_COLOR, slice(n_src, len(words)))}
    for trace in sorted(sides):
        name, color, sl = sides[trace]
        k = 0 if trace == SRC_TRACE else 1
        c = coords[sl]
        marker = dict(color=color, size=4, opacity=0.55)
        if kind == "category":
            vals = np.asarray(colour.values)[sl]
            marker = dict(color=[colour.categories[int(v)][1] for v in vals.tolist()], size=5, opacity=0.7,
                          symbol="circle" if k == 0 else "diamond")
        elif kind == "continuous":
            marker = dict(color=np.asarray(colour.values, dtype=np.float64)[sl], coloraxis="coloraxis", size=5,
                          opacity=0.75, symbol="circle" if k == 0 else "diamond")
        fig.add_trace(go.Scattergl(x=c[:, 0], y=c[:, 1], mode="markers", name=name, marker=marker,
                                   text=hover[sl], hovertemplate="%{text}<extra>" + name + "</extra>",
                                   legendrank=1 + k))
    if kind == "category":   # legend entries only: the two point traces stay traces 0 and 1
        present = set(np.asarray(colour.values).tolist())
        for v, (lab, col) in colour.categories.items():
            if v in present:
                fig.add_trace(go.Scattergl(x=[None], y=[None], mode="markers", name=lab,
                                           marker=dict(color=col, size=8), hoverinfo="skip"))
    if lines:
        xs, ys = [], []
        for a, b in lines:
            xs += [coords[a, 0], coords[b, 0], None]
            ys += [coords[a, 1], coords[b, 1], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="dictionary pairs",
                                 line=dict(color="#444", width=1), hoverinfo="skip"))
    for name, col, segs in neighbour_lines:
        if not segs:
            continue
        xs, ys = [], []
        for a, b in segs:
            xs += [float(coords[a, 0]), float(coords[b, 0]), None]
            ys += [float(coords[a, 1]), float(coords[b, 1]), None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=dict(color=col, width=1.5),
                                 hoverinfo="skip"))
    if len(highlight):
        h = np.asarray(highlight, dtype=np.int64)
        fig.add_trace(go.Scatter(x=coords[h, 0], y=coords[h, 1], mode="markers+text", name="highlighted",
                                 marker=dict(color=HIGHLIGHT, size=13, line=dict(color="black", width=1.5)),
                                 text=[words[i] for i in h.tolist()], textposition="top center",
                                 textfont=dict(size=13, color=HIGHLIGHT), hovertemplate="%{text}<extra></extra>"))
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=40 if title else 10, b=10), title=title,
                      dragmode="pan", legend=dict(orientation="h", y=1.02, x=0),
                      xaxis=dict(showticklabels=False, zeroline=False),
                      yaxis=dict(showticklabels=False, zeroline=False, scaleanchor="x"))
    if kind == "continuous":
        fig.update_layout(coloraxis=dict(colorscale="Viridis", cmin=colour.cmin, cmax=colour.cmax,
                                         colorbar=dict(title=dict(text=colour.title), thickness=12)))
    return fig


def nk_histogram(series: dict[str, np.ndarray], k: int = 10) -> go.Figure:
    """Distribution of the k-occurrence N_k per retrieval setting: number of targets
    with each N_k value, as step lines (log-scale counts) so settings stay readable."""
    fig = go.Figure()
    palette = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#ff7f0e"]
    for i, (name, nk) in enumerate(series.items()):
        counts = np.bincount(np.asarray(nk, dtype=np.int64))
        x = np.nonzero(counts)[0]
        fig.add_trace(go.Scatter(x=x, y=counts[x], mode="lines+markers", name=name, line_shape="hv",
                                 marker=dict(size=3), line=dict(color=palette[i % len(palette)], width=1.5),
                                 hovertemplate="N_k=%{x}: %{y} targets<extra>" + name + "</extra>"))
    fig.add_vline(x=2 * k, line_dash="dot", line_color="#888", annotation_text="hub threshold 2k",
                  annotation_position="top right")
    fig.update_layout(height=320, margin=dict(l=30, r=10, t=20, b=30),
                      xaxis_title=f"N_{k} (times a target is among a query's {k} nearest)",
                      yaxis_title="targets", yaxis_type="log", legend=dict(orientation="h", y=1.12))
    return fig
