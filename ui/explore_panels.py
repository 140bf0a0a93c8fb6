"""The Explore page's panels around the map: its faithfulness numbers, the island caption,
the box or lasso selection, the ranked list of the least agreeing points with the picked
point's caption, and the downloads. Each draws with Streamlit from values the page has
already computed; nothing here computes a layout or a neighbour."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from alignment_core.faithfulness import Faithfulness
from alignment_core.projection import pca_2d
from ui import exports, layouts, mapview

SELECTION_KEY = "ex_selection"


def faithfulness_panel(faith: dict | None) -> None:
    """The map's faithfulness numbers under it, with a one-line reading."""
    if not faith:
        st.caption("No dictionary pair among the drawn words: the map's faithfulness cannot be measured.")
        return
    f = Faithfulness(**faith)
    c1, c2, c3 = st.columns(3)
    if f.map_p is not None:
        c1.metric(f"P@{f.k}: map vs aligned space", f"{f.map_p:.0%} vs {f.aligned_p:.0%}",
                  help=f"{f.n_queries:,} dictionary words drawn with a drawn translation: the share whose "
                       f"translation is among their {f.k} nearest target points on the map, and among their "
                       f"{f.k} nearest drawn targets by cosine in the aligned space.")
    c2.metric("mixing: map vs aligned space", f"{f.map_mixing:.0%} vs {f.aligned_mixing:.0%}",
              help=f"Share of the other space's points among each point's {f.m} nearest neighbours, on the map "
                   f"and in the aligned space (cosine), over {f.mix_sample:,} points.")
    if f.trustworthiness is not None:
        c3.metric("trustworthiness T(10)", f"{f.trustworthiness:.2f}",
                  help=f"Venna & Kaski 2001, on a random subsample of {f.trust_sample:,} points.")
    st.caption(f.reading())


def island_caption(m, n_s: int, anchored_layout: bool) -> None:
    """How many source words the anchored map drew on their own island (``m`` its MapLayout;
    the joint map anchors none and has no island)."""
    if m is None or not anchored_layout:
        return
    free = n_s - int(m.anchored.sum())
    if free:
        st.caption(f"{free:,} of {n_s:,} source words have no target as close as their own neighbours, nor a "
                   "mutual nearest target closer than chance: they are drawn on their own island, right of the "
                   "target map.")


def pca_of(pts: np.ndarray, slot: str) -> np.ndarray:
    """PCA of the stacked points, kept in the session at ``slot`` (one per map)."""
    cache_key = layouts.points_key(pts, "pca")
    have = st.session_state.get(slot)
    if have is None or have[0] != cache_key:
        have = (cache_key, pca_2d(pts))
        st.session_state[slot] = have
    return have[1]


def selected_points(points: Sequence[dict], n_s: int) -> None:
    """A box or lasso selection of the map (its points) into the session; reruns when it changed."""
    if not points:
        return
    rows = [r for r in (mapview.point_row(p, n_s) for p in points) if r is not None]
    new = {"src": [r for r in rows if r < n_s], "tgt": [r for r in rows if r >= n_s]}
    if new != st.session_state.get(SELECTION_KEY):
        st.session_state[SELECTION_KEY] = new
        st.rerun()


def selection_table(words: Sequence[str], pairs_map: dict[str, list[str]]) -> None:
    """The words inside the box or lasso, with their dictionary translations; or how to use the map."""
    cur = st.session_state.get(SELECTION_KEY)
    if cur and (cur["src"] or cur["tgt"]):
        st.markdown(f"**Selected**: {len(cur['src'])} source and {len(cur['tgt'])} target words")
        rows = [{"side": "source", "word": words[i], "dictionary": ", ".join(pairs_map.get(words[i], []))}
                for i in cur["src"]] + [{"side": "target", "word": words[i], "dictionary": ""} for i in cur["tgt"]]
        st.dataframe(pd.DataFrame(rows), hide_index=True, height=260, width="stretch")
        if st.button("clear selection", key="ex_clear"):
            st.session_state[SELECTION_KEY] = None
            st.rerun()
    else:
        st.caption("Drag to pan, scroll to zoom; click a point to pick it (lines to its nearest neighbours in both "
                   "spaces); the box or lasso of the tool bar lists the words inside.")


def least_agreeing(ag, worst_df: pd.DataFrame, worst_rows: np.ndarray, n_points: int) -> None:
    """The ranked list of the least agreeing points (a row picks its point: key ``ex_worst``)."""
    st.subheader("Least agreeing neighbourhoods")
    if ag is None:
        st.caption(f"The neighbourhood agreement of the {n_points:,} drawn points is computing in the background "
                   "(four k-NN searches in the layout worker); the ranked list, the colours that need it and each "
                   "point's neighbour lines appear when it is ready.")
        return
    st.caption(f"The {len(worst_rows)} drawn points whose {ag.k} nearest neighbours, carried through the mapping, "
               f"least match their {ag.k} nearest points of the other side (Jaccard; 1 = the same, 0 = none "
               "shared): candidates for a bad alignment or a bad dictionary entry. Pick a row to find it on "
               f"the map. Mean agreement: source {ag.src.mean():.2f}, target {ag.tgt.mean():.2f}.")
    st.dataframe(worst_df, key="ex_worst", on_select="rerun", selection_mode="single-row", hide_index=True,
                 height=300, width="stretch",
                 column_config={"agreement": st.column_config.NumberColumn(format="%.2f")})


def focus_caption(ag, focus: int, words: Sequence[str], n_s: int, show: Callable[[str], str]) -> None:
    """The picked point: its agreement, nearest translation and nearest neighbours in both spaces."""
    own, other = ag.neighbours(focus)
    side = "source" if focus < n_s else "target"
    tr = int(ag.translation[focus])
    st.caption(f"**{show(words[focus])}** ({side}): agreement {ag.values[focus]:.2f}; nearest translation "
               f"{show(words[n_s + tr] if focus < n_s else words[tr])} (cos {ag.translation_cos[focus]:.2f}); "
               "nearest in its own space: " + ", ".join(show(words[j]) for j in own.tolist()[:5])
               + "; in the other space: " + ", ".join(show(words[j]) for j in other.tolist()[:5]) + ".")


def downloads(stem: str, words: Sequence[str], n_s: int, coords: np.ndarray, agreement_values: np.ndarray | None,
              fig, faith_maps: dict, about: dict) -> None:
    """Coordinates (CSV), the figure (standalone HTML) and the faithfulness numbers (JSON),
    each generated only when clicked."""
    d1, d2, d3 = st.columns(3)
    d1.download_button("coordinates (CSV)", key="ex_dl_csv", mime="text/csv", file_name=f"{stem}-map.csv",
                       data=lambda: exports.map_coordinates_csv(words, n_s, coords, agreement_values),
                       on_click="ignore", help="One row per drawn point: word, side, x, y, agreement.")
    d2.download_button("figure (HTML)", key="ex_dl_html", mime="text/html", file_name=f"{stem}-map.html",
                       data=lambda: exports.figure_html(fig), on_click="ignore",
                       help="The map as one standalone HTML file (plotly.js bundled; opens offline).")
    d3.download_button("faithfulness (JSON)", key="ex_dl_faith", mime="application/json",
                       file_name=f"{stem}-map-faithfulness.json", on_click="ignore",
                       data=lambda: exports.faithfulness_json(faith_maps, about),
                       disabled=not any(faith_maps.values()),
                       help="The map's faithfulness numbers (and the compared map's): P@10 on the map and in "
                            "the aligned space, mixing, trustworthiness (docs/map.md). Measured for the UMAP maps.")
