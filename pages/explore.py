"""Explore: both spaces on one 2-D map (the anchored UMAP map, with PCA while it is computed),
how faithfully the map reports the alignment (alignment_core.faithfulness), each point's
neighbourhood agreement (alignment_core.agreement) as a colour and as a ranked list of the
least agreeing points, and downloads of the map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from alignment_core.faithfulness import gold_pairs
from ui import common, exports, figures, inspector, layouts, mapview
from ui import explore_panels as panels
from ui import state as S

common.ensure_navigation()
sd = S.get()
st.title("Explore")
if not common.need_data():
    st.stop()

rec = common.run_picker("Run", key="explore_pick") if sd.runs else None
if rec is None:
    st.caption("No run yet: the map shows the two spaces before alignment (run one on the Align page).")

c1, c2, c3, c4 = st.columns([1.3, 1, 1, 1.5])
n_max = min(len(sd.src.emb), len(sd.tgt.emb))
cap = int(c1.number_input("points per side (most frequent)", min_value=100, max_value=max(100, n_max),
                          value=min(5000, n_max), step=500, key="ex_cap"))
after = c2.toggle("after alignment", value=rec is not None, disabled=rec is None, key="ex_after")
LAYOUTS = {"anchored UMAP": "anchored", "joint UMAP": "joint", "PCA": "pca"}
algo = c3.radio("layout", list(LAYOUTS), horizontal=True, key="ex_algo",
                help="anchored UMAP: a UMAP of the target words, each mapped source word drawn beside the "
                     "targets nearest to it when its best translation is as close as its own neighbours (or beats "
                     "chance and is mutual), the others on their own island (docs/map.md). joint UMAP: one "
                     "UMAP of both sets of points.")
query = c4.text_input("find a source word", key="ex_find").strip()
l1, l2, l3 = st.columns([2, 1, 1])
show_lines = l1.checkbox("lines joining dictionary pairs among the selected or found words", value=True,
                         key="ex_lines")
colour_by = l2.selectbox("colour by", mapview.COLOUR_BY, key="ex_colour",
                         help="space: source or target. correct / wrong translation: whether a point's nearest "
                              "point of the other side is its gold translation (unknown without one). "
                              "neighbourhood agreement: Jaccard of a point's neighbours carried through the "
                              "mapping with its nearest points of the other side. hub occurrence N_k: how many "
                              "points of the other side have it among their k nearest (as on Diagnostics). "
                              "frequency rank: the row in its file (0 = most frequent).")

# ---------------------------------------------------------------- the points
if rec is not None:
    r = rec.result
    src_words, tgt_words = r.src.words, r.tgt.words
    src_x = inspector.aligned(rec)[:cap] if after else r.src.vectors[:cap]
    src_own = r.src.vectors[:cap] if after else None     # the source's own space, for its neighbourhoods
    tgt_x = r.tgt.vectors[:cap]
else:
    key = ("norm", sd.src.digest, sd.tgt.digest, sd.normalize, sd.max_vocab, sd.lowercase)
    if st.session_state.get("ex_norm_key") != key:
        st.session_state["ex_norm"] = (sd.src.emb.normalize(sd.normalize), sd.tgt.emb.normalize(sd.normalize))
        st.session_state["ex_norm_key"] = key
    s_emb, t_emb = st.session_state["ex_norm"]
    src_words, tgt_words = s_emb.words, t_emb.words
    src_x, tgt_x = s_emb.vectors[:cap], t_emb.vectors[:cap]
    src_own = None

n_s, n_t = src_x.shape[0], tgt_x.shape[0]
if src_x.shape[1] != tgt_x.shape[1]:
    st.warning(f"The source is {src_x.shape[1]}-d and the target {tgt_x.shape[1]}-d: before alignment they "
               "share no space to draw. Switch on 'after alignment'.")
    st.stop()
points = np.vstack([src_x, tgt_x]).astype(np.float32)
words = list(src_words[:n_s]) + list(tgt_words[:n_t])
show_label = sd.label if sd.items else None     # items are shown by their text
side_labels = ("source" + (" (aligned)" if after else ""), "target")

# ---------------------------------------------------------------- a second map of the same words
compare_opts: dict[str, object] = {"nothing": None}
if rec is not None and after and r.src.vectors.shape[1] == r.tgt.vectors.shape[1]:
    compare_opts["before alignment"] = "before"
if rec is not None:
    for rid2, rec2 in sorted(sd.runs.items()):
        r2 = rec2.result
        if (rid2 != rec.rid and len(r2.src) >= n_s and len(r2.tgt) >= n_t and r2.src.words[:n_s] == tuple(src_words[:n_s])
                and r2.tgt.words[:n_t] == tuple(tgt_words[:n_t])):
            compare_opts[f"run #{rid2} {rec2.name}"] = rid2
compare_pick = l3.selectbox("compare with", list(compare_opts), key="ex_compare",
                            disabled=len(compare_opts) == 1,
                            help="A second map of the same words beside this one, drawn the same way: the "
                                 "spaces before alignment, or another run of the same pair (same words).")
compare = compare_opts.get(compare_pick)
cmp_points = None      # (name, mapped source, target, the source's own space)
if compare == "before":
    cmp_points = ("before alignment", r.src.vectors[:cap], tgt_x, None)
elif compare is not None:
    rec2 = sd.runs[compare]
    cmp_points = (f"run #{compare} ({rec2.result.config.method})", inspector.aligned(rec2)[:cap],
                  rec2.result.tgt.vectors[:cap], rec2.result.src.vectors[:cap])

# ---------------------------------------------------------------- dictionary pairs for lines
pairs_map: dict[str, list[str]] = {}
if rec is not None:
    pairs_map = {k: list(v) for k, v in inspector.gold_map(rec, sd).items()}
    for s_w, ts in inspector.induced_map(rec).items():
        pairs_map.setdefault(s_w, []).extend(t for t in ts if t not in pairs_map[s_w])
tgt_pos = {w: n_s + i for i, w in enumerate(tgt_words[:n_t])}
src_pos = {w: i for i, w in enumerate(src_words[:n_s])}


def pair_lines(src_rows: list[int]) -> list[tuple[int, int]]:
    out = []
    for i in src_rows:
        for t in pairs_map.get(words[i], []):
            if t in tgt_pos:
                out.append((i, tgt_pos[t]))
    return out


highlight: list[int] = []
found_lines: list[tuple[int, int]] = []
if query:
    qw = query.lower() if (sd.lowercase and not sd.items) else query
    if qw in src_pos:
        i = src_pos[qw]
        highlight.append(i)
        trans = pairs_map.get(qw, [])
        if not trans and rec is not None:
            info = inspector.inspect_word(rec, qw, sd)
            trans = [info["top"]["csls"][0][0]] if info else []
        shown = [t for t in trans if t in tgt_pos]
        highlight += [tgt_pos[t] for t in shown]
        found_lines = [(i, tgt_pos[t]) for t in shown]
        st.caption(f"**{qw}** → " + (", ".join(trans) if trans else "no known translation")
                   + ("" if len(shown) == len(trans) else " (some translations are beyond the point cap)"))
    else:
        st.warning(f"'{qw}' is not among the {n_s:,} source words drawn.")


# ---------------------------------------------------------------- the map
# the dictionary the map is judged by: the held-out evaluation dictionary, else the seed
judge = sd.eval or sd.seed
lower = rec.result.config.lowercase if rec is not None else sd.lowercase
gp = None
if rec is not None and rec.result.test_pairs is not None:   # items: the held-out pairs judge the map
    r_ = rec.result
    gp = gold_pairs(src_words[:n_s], tgt_words[:n_t],
                    [(r_.src.words[i], r_.tgt.words[j]) for i, j in r_.test_pairs.tolist()])
elif judge is not None:
    d = judge.dictionary.lowercased() if lower else judge.dictionary
    gp = gold_pairs(src_words[:n_s], tgt_words[:n_t], d.pairs)

# ---------------------------------------------------------------- each point's neighbourhood agreement
ag_key = layouts.points_key(points, "agreement", n_s, after, rec.rid if rec is not None else None)
asked: list = []     # the layout worker's futures this page waits for
main_map_key = None if LAYOUTS[algo] == "pca" else layouts.map_key(src_x, tgt_x, gp, LAYOUTS[algo], 15)
if main_map_key is not None:   # the map goes to the worker first (one job at a time): it is drawn first
    layouts.service().map(src_x, tgt_x, main_map_key, gp, layout=LAYOUTS[algo], n_neighbors=15)
with st.spinner("Neighbourhood agreement of every drawn point (exact k-NN with faiss)…"):
    ag = mapview.agreement(src_x, tgt_x, src_own, ag_key, st.session_state, service=layouts.service(),
                           waiting=asked)
colour = mapview.colouring(colour_by, ag, gp, n_s, n_t)
if ag is None:      # large maps: computed in the layout worker, the page draws without it meanwhile
    worst_df, worst_rows = pd.DataFrame(columns=mapview.WORST_COLUMNS), np.zeros(0, np.int64)
else:
    worst_df, worst_rows = mapview.worst_table(ag, words, src_words[:n_s], tgt_words[:n_t], label=show_label)
picked = mapview.selected_row(st.session_state.get("ex_worst"), worst_rows)
clicked = st.session_state.get("ex_clicked")        # (side, word) of the last point clicked on the map
click_row = None if not clicked else (src_pos if clicked[0] == "source" else tgt_pos).get(clicked[1])
# the ranked list's row, a click on the map or the word search: the latest one picks the point
focus = mapview.focus_row(st.session_state, query=highlight[0] if highlight else None, list=picked,
                          click=click_row)
if focus is not None and focus not in highlight:
    highlight.insert(0, focus)


def take_click(event, map_key: str) -> list[dict]:
    """A click on a map picks its point, as a row of the ranked list does (rerun); returns
    the points of a box or lasso selection."""
    pts = (event or {}).get("selection", {}).get("points", []) if event else []
    picked_new, pts = mapview.take_click(st.session_state, map_key, pts, n_s, words)
    if picked_new:
        st.rerun()
    return pts


def draw(coords: np.ndarray, title: str, hover: list[str] | None = None):
    prev = st.session_state.get(panels.SELECTION_KEY)
    sel_src = list(prev["src"]) if prev else []
    lines = list(found_lines)
    if show_lines and sel_src:
        lines += pair_lines(sel_src[:300])
    shown = words if show_label is None else [show_label(w) for w in words]
    hover = shown if hover is None else hover
    hover = hover if ag is None else figures.with_agreement(hover, ag.values, ag.k)
    fig = figures.scatter_map(coords, shown, n_s, highlight=highlight, lines=lines if show_lines else [],
                              title=title, src_label=side_labels[0], tgt_label=side_labels[1], hover=hover,
                              colour=colour,
                              neighbour_lines=mapview.neighbour_lines(ag, focus) if focus is not None and ag else ())
    event = st.plotly_chart(fig, key="ex_map", on_select="rerun", selection_mode=("points", "box", "lasso"),
                            config={"scrollZoom": True})
    panels.selected_points(take_click(event, "ex_map"), n_s)
    panels.selection_table(words, pairs_map)
    return fig


def point_panel(coords: np.ndarray, fig, faith_maps: dict) -> None:
    """Under the map: the least agreeing points (a row highlights its point on the map, with
    lines to its nearest neighbours in both spaces), and the downloads."""
    if colour_by == "correct / wrong translation" and gp is None:
        st.caption("No dictionary judges the drawn words: every translation is 'unknown'.")
    panels.least_agreeing(ag, worst_df, worst_rows, n_s + n_t)
    if focus is not None and ag is not None:
        panels.focus_caption(ag, focus, words, n_s, show_label or (lambda w: w))
    stem = exports.file_stem(rec.rid, rec.result.config.method) if rec is not None else "alignscope"
    about = {"run": None if rec is None else rec.rid, "layout": algo, "after_alignment": bool(after),
             "points": {"source": n_s, "target": n_t}, "judged_by": None if gp is None else int(len(gp))}
    panels.downloads(stem, words, n_s, coords, None if ag is None else ag.values, fig, faith_maps, about)


def layout_of(sx: np.ndarray, tx: np.ndarray, slot: str, key: str | None = None):
    """(coords, MapLayout or None, still computing, error or None) of one map: PCA at once, the
    UMAP maps from the layout worker (PCA meanwhile, or when it failed); ``key`` its map key
    when already computed."""
    pca = panels.pca_of(np.vstack([sx, tx]).astype(np.float32), slot)
    if LAYOUTS[algo] == "pca":
        return pca, None, False, None
    layout = LAYOUTS[algo]
    key = key or layouts.map_key(sx, tx, gp, layout, 15)
    fut = layouts.service().map(sx, tx, key, gp, layout=layout, n_neighbors=15)
    if not fut.done():
        asked.append(fut)
        return pca, None, True, None
    if fut.exception() is not None:
        return pca, None, False, fut.exception()
    return fut.result().coords, fut.result(), False, None


LABEL = {"pca": "PCA", "anchored": "Anchored UMAP", "joint": "UMAP"}[LAYOUTS[algo]]
what = f"{n_s:,} source + {n_t:,} target words, {'after' if after else 'before'} alignment"
coords, m, pending, err = layout_of(src_x, tgt_x, "ex_pca", main_map_key)
cmp = None
if cmp_points is not None:
    cname, c_src, c_tgt, c_own = cmp_points
    c_coords, c_m, c_pending, c_err = layout_of(c_src, c_tgt, "ex_pca_cmp")
    c_key = layouts.points_key(np.vstack([c_src, c_tgt]), "agreement", n_s, cname)
    ag_c = mapview.agreement(c_src, c_tgt, c_own, c_key, st.session_state, slot="ex_agreement_cmp",
                             service=layouts.service(), waiting=asked)
    cmp = (cname, c_src, c_tgt, c_own, c_coords, c_m, c_pending, c_err, ag_c)
# what the worker is still computing for this page: the maps, and the agreement of large maps
waiting = [f for f in asked if not f.done()]
if waiting:
    @st.fragment(run_every=1.0)
    def wait_for_map() -> None:
        if all(f.done() for f in waiting):
            st.rerun(scope="app")
        st.info("The map is computing in the background (k-NN with faiss, then UMAP, then its faithfulness "
                "numbers and each point's neighbourhood agreement); the PCA view is shown meanwhile.",
                icon=":material/hourglass_top:")

    wait_for_map()
for e in (err, None if cmp is None else cmp[7]):
    if e is not None:
        st.error(f"The map failed: {e}; showing PCA.")


def map_title(label_done: bool, what_: str) -> str:
    return f"{LABEL} · {what_}" if label_done else f"PCA (UMAP on its way) · {what_}"


def hover_of(mm) -> list[str] | None:
    if mm is None:
        return None
    return figures.map_hover(words, n_s, mm.nearest, mm.nearest_cos, tgt_words,
                             inspector.gold_map(rec, sd) if rec is not None else None, label=show_label)


def draw_compare() -> dict | None:
    """The second map: the same words, drawn the same way, with the same point picked."""
    cname, c_src, c_tgt, c_own, c_coords, c_m, c_pending, _, ag_c = cmp
    shown = words if show_label is None else [show_label(w) for w in words]
    hover = hover_of(c_m) or shown
    if ag_c is not None:
        hover = figures.with_agreement(hover, ag_c.values, ag_c.k)
    fig_c = figures.scatter_map(
        c_coords, shown, n_s, highlight=highlight, lines=found_lines if show_lines else [],
        title=map_title(c_m is not None or LAYOUTS[algo] == "pca", f"{cname} · {n_s:,} + {n_t:,} words"),
        src_label="source" + ("" if compare == "before" else " (aligned)"), tgt_label="target", hover=hover,
        colour=mapview.colouring(colour_by, ag_c, gp, n_s, n_t),
        neighbour_lines=mapview.neighbour_lines(ag_c, focus) if focus is not None and ag_c is not None else ())
    take_click(st.plotly_chart(fig_c, key="ex_map_cmp", on_select="rerun", selection_mode=("points",),
                               config={"scrollZoom": True}), "ex_map_cmp")
    panels.island_caption(c_m, n_s, LAYOUTS[algo] == "anchored")
    if c_m is not None:
        panels.faithfulness_panel(c_m.faithfulness)
    elif LAYOUTS[algo] == "pca" or c_pending:
        st.caption("Faithfulness numbers are measured for the UMAP maps.")
    return None if c_m is None else c_m.faithfulness


title = map_title(m is not None or LAYOUTS[algo] == "pca", what)
if cmp is not None:
    left, right = st.columns(2)
    with left:
        fig = draw(coords, title, hover_of(m))
        panels.island_caption(m, n_s, LAYOUTS[algo] == "anchored")
        if m is not None:
            panels.faithfulness_panel(m.faithfulness)
    with right:
        cmp_faith = draw_compare()
else:
    fig = draw(coords, title, hover_of(m))
    panels.island_caption(m, n_s, LAYOUTS[algo] == "anchored")
    if m is not None:
        panels.faithfulness_panel(m.faithfulness)
    cmp_faith = None
faith_maps = {"map": None if m is None else m.faithfulness}
if cmp is not None:
    faith_maps[cmp[0]] = cmp_faith
point_panel(coords, fig, faith_maps)
