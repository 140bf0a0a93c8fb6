"""Page pieces for paired items (two encoders' embeddings of the same items): the
paired-metrics table, the pairs-needed curve (a background task) and its figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from alignment_core.curve import DEFAULT_KS, pairs_needed_curve
from alignment_core.items import SplitConfig, effective_test_size

from .jobs import Task

VIEW_LABELS = {"test": "held-out targets", "all": "every target row", "none": "held-out targets"}


def paired_frame(rec) -> pd.DataFrame:
    """One row per (mapping, candidate set, rule): top-1/5/10 (%), mean and median rank, mean cos."""
    rows = []
    for view, res in (rec.result.paired or {}).items():
        setting = "no alignment" if view == "none" else rec.name
        for rule, sc in res.scores.items():
            rows.append({"mapping": setting, "candidates": f"{VIEW_LABELS[view]} ({res.n_candidates:,})",
                         "rule": rule, "top-1 %": sc["top@1"], "top-5 %": sc["top@5"], "top-10 %": sc["top@10"],
                         "mean rank": sc["mean_rank"], "median rank": sc["median_rank"],
                         "mean cos": res.mean_cos})
    return pd.DataFrame(rows)


def curve_ks(n_pairs: int, test_size: int) -> tuple:
    """The default K values that fit the non-test pairs (plus 'all')."""
    rest = n_pairs - effective_test_size(n_pairs, test_size)
    return tuple(k for k in DEFAULT_KS if k is None or k < rest)


def start_curve(rec, src_raw, tgt_raw, draws: int = 3, semi_ks: tuple = ()) -> Task:
    """The pairs-needed curve on the run's data and test split, in a background task."""
    r = rec.result
    split = SplitConfig.from_dict({k: v for k, v in (r.config.split or {}).items()
                                   if k in ("test_size", "seed", "order")})
    ks = curve_ks(r.split["pairs"], split.test_size)

    def work(progress):
        def on_point(p):
            k = "all" if p["k"] is None else p["k"]
            progress(f"{p['variant']} K={k} draw {p['draw'] + 1}: top-1 {p['top1']:.1f} %, mean rank "
                     f"{p['mean_rank']:.1f}")
        return pairs_needed_curve(src_raw, tgt_raw, ks=ks, draws=draws, split=split, normalize=r.config.normalize,
                                  semi_ks=semi_ks, on_point=on_point)

    return Task(f"curve-{rec.rid}", work).start()


def curve_figure(summary: list[dict], n_train: int) -> go.Figure:
    """Top-1 and mean rank against K (log axis), one line per variant, ± one s.d."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("top-1 (%) on the held-out pairs", "mean rank (log)"))
    names = {"procrustes": "Procrustes on K pairs", "semi": "K pairs + unpaired rest (mini-vec2vec refinement)"}
    for i, variant in enumerate(("procrustes", "semi")):
        rows = [r for r in summary if r["variant"] == variant]
        if not rows:
            continue
        xs = [n_train if r["k"] is None else r["k"] for r in rows]
        color = ("#1f77b4", "#d62728")[i]
        fig.add_trace(go.Scatter(x=xs, y=[r["top1"] for r in rows], mode="lines+markers", name=names[variant],
                                 line={"color": color},
                                 error_y={"type": "data", "array": [r["top1_sd"] for r in rows], "visible": True}),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=xs, y=[r["mean_rank"] for r in rows], mode="lines+markers",
                                 name=names[variant], line={"color": color}, showlegend=False), row=1, col=2)
    fig.update_xaxes(type="log", title_text="paired training items K")
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(height=360, margin={"l": 40, "r": 10, "t": 40, "b": 40}, legend={"orientation": "h"})
    return fig


def paired_section(rec, sd) -> None:
    """The Evaluate page's paired-items part: the metrics, then the pairs-needed curve."""
    import streamlit as st

    r = rec.result
    sp = r.split
    st.subheader("Paired items (vec2vec protocol)")
    st.caption(f"{sp['pairs']:,} paired ids · {sp['test']:,} held out (never seen by the method) · "
               f"{sp['train']:,} training pairs · unpaired halves {sp['src_unpaired']:,} / {sp['tgt_unpaired']:,} "
               f"· setting: **{sp['setting']}** · split seed {sp['seed']}, order {sp['order']}")
    df = paired_frame(rec)
    st.dataframe(df.style.format({"top-1 %": "{:.1f}", "top-5 %": "{:.1f}", "top-10 %": "{:.1f}",
                                  "mean rank": "{:.1f}", "median rank": "{:.0f}", "mean cos": "{:.3f}"}),
                 hide_index=True, width="stretch", key="paired_table")
    st.caption("Each held-out source item, mapped, is scored against the candidates; top-k: its true partner "
               "is among the k best; rank 1 = best (chance: half the candidates); mean cos: cosine of the "
               "mapped item to its partner. 'no alignment' compares the raw vectors (chance for two encoders).")

    st.subheader("How many paired items does a mapping need?")
    task = rec.cache.get("curve_task")
    c1, c2, c3 = st.columns([1, 1, 2])
    draws = int(c1.number_input("draws per K", min_value=1, max_value=10, value=3, key="curve_draws"))
    semi = c2.toggle("also K pairs + the unpaired rest", value=False, key="curve_semi",
                     help="semi-supervised: mini-vec2vec's refinement started from the K pairs, on the rest of "
                          "both sides as disjoint halves (K = 10, 30, 100; about a minute per point)")
    running = task is not None and not task.done
    if c3.button("Compute the pairs-needed curve", key="curve_start", disabled=running):
        src_raw, tgt_raw = rec.cache["raw"]
        rec.cache["curve_task"] = task = start_curve(rec, src_raw, tgt_raw, draws=draws,
                                                     semi_ks=(10, 30, 100) if semi else ())
        running = True
    if task is None:
        st.caption("Procrustes on K random paired training items, for K = 10 … all, against the same held-out "
                   "pairs: the first question of anyone moving an index to a new model.")
        return
    if running:
        @st.fragment(run_every=1.0)
        def progress() -> None:
            t = rec.cache["curve_task"]
            msgs = t.messages()
            st.caption(f"computing… {len(msgs)} points" + (f" · last: {msgs[-1]}" if msgs else ""))
            if t.done:
                st.rerun(scope="app")
        progress()
        return
    if task.status == "error":
        st.error(f"the curve failed: {task.error}", icon=":material/error:")
        return
    res = task.result
    summary = res.summary()
    n_train = max((p["train_pairs"] for p in res.points), default=1)
    st.plotly_chart(curve_figure(summary, n_train), key="curve_chart", config={"displayModeBar": False})
    table = pd.DataFrame([{"variant": s["variant"], "K": "all" if s["k"] is None else str(s["k"]),
                           "draws": s["draws"], "top-1 %": s["top1"], "± sd": s["top1_sd"],
                           "mean rank": s["mean_rank"], "mean cos": s["mean_cos"],
                           "top-1 % (csls)": s["top1_csls"]} for s in summary])
    st.dataframe(table, hide_index=True, width="stretch", key="curve_table")
    st.download_button("curve.csv", data=res.to_csv().encode("utf-8"), file_name=f"alignscope-run{rec.rid}-curve.csv",
                       mime="text/csv", key="curve_csv", on_click="ignore")
    st.caption(f"{len(res.points)} points in {res.seconds:.0f} s, the same {r.split['test']:,} held-out pairs.")
