"""The Explore page's per-point views: neighbourhood agreement (computed once per set of
points and kept in the session), the values behind each "colour by" choice, the ranked
list of the least agreeing points and the highlight of one point. The numbers come from
:mod:`alignment_core.agreement`; nothing here computes a neighbour."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alignment_core.agreement import CORRECT, UNKNOWN, WRONG, NeighbourhoodAgreement, neighbourhood_agreement

COLOUR_BY = ("space", "correct / wrong translation", "neighbourhood agreement", "hub occurrence N_k",
             "frequency rank")
CORRECTNESS = {CORRECT: ("correct", "#2ca02c"), WRONG: ("wrong", "#d62728"), UNKNOWN: ("unknown", "#c7c7c7")}
WORST_N = 200
WORST_COLUMNS = ["word", "side", "agreement", "nearest translation"]
#: the map's two point traces (:func:`ui.figures.scatter_map`): the targets are drawn first,
#: so the mapped source points, often drawn on top of their translations, stay visible
TGT_TRACE, SRC_TRACE = 0, 1


#: beyond this many drawn points in all, the agreement is computed in the layout worker
#: (four k-NN searches over the points: 2 × 50,000 would hold the web server for minutes)
IN_SERVER_MAX = 20_000


def agreement(mapped: np.ndarray, tgt: np.ndarray, src: np.ndarray | None, key: str,
              store: dict, k: int = 10, slot: str = "ex_agreement", service=None,
              waiting: list | None = None) -> NeighbourhoodAgreement | None:
    """:func:`alignment_core.agreement.neighbourhood_agreement` of the drawn points, kept in
    ``store`` (the session) at ``slot`` under ``key`` (a content key of the points) so reruns
    reuse it (one slot per map drawn: the map and the one compared with it). Beyond
    ``IN_SERVER_MAX`` points, with a ``service`` (:class:`ui.layouts.LayoutService`), it is
    computed in the layout worker: None until it is ready (its future appended to ``waiting``)."""
    have = store.get(slot)
    if have is not None and have[0] == (key, k):
        return have[1]
    if service is not None and len(mapped) + len(tgt) > IN_SERVER_MAX:
        fut = service.agreement(mapped, tgt, src, key, k)
        if not fut.done():
            if waiting is not None:
                waiting.append(fut)
            return None
        ag = fut.result()
        store[slot] = ((key, k), ag)
        return ag
    ag = neighbourhood_agreement(mapped, tgt, src=src, k=k)
    store[slot] = ((key, k), ag)
    return ag


def focus_row(store: dict, **sources: int | None) -> int | None:
    """The point the page centres on, from the ways of picking one (keyword = the way, value =
    the joint row it picks now or None): the one that changed last wins; when it is cleared,
    the latest other one still set. ``store`` (the session) keeps what each said last run."""
    seen = store.setdefault("ex_focus_seen", {})
    order = store.setdefault("ex_focus_order", [])
    for name, row in sources.items():        # in argument order: a later one wins a tie
        if row != seen.get(name, None) or (row is not None and name not in order):
            seen[name] = row
            if name in order:
                order.remove(name)
            if row is not None:
                order.append(name)
    for name in reversed(order):
        if sources.get(name) is not None:
            return sources[name]
    return None


def point_row(point: dict, n_src: int) -> int | None:
    """The joint row (source rows first) of one selected map point: trace ``SRC_TRACE`` holds
    the source rows, ``TGT_TRACE`` the target rows; None for any other trace (highlights, lines)."""
    curve, idx = point.get("curve_number"), point.get("point_index")
    if idx is None or curve not in (SRC_TRACE, TGT_TRACE):
        return None
    return int(idx) + (n_src if curve == TGT_TRACE else 0)


def clicked_row(points: Sequence[dict], n_src: int) -> int | None:
    """The joint row of a click on the map: a selection of exactly one point, else None."""
    return point_row(points[0], n_src) if len(points) == 1 else None


def take_click(store: dict, map_key: str, points: Sequence[dict], n_src: int,
               words: Sequence[str]) -> tuple[bool, list[dict]]:
    """A click on one of the page's maps (``map_key``: its widget key). Returns (whether it
    picked a new point, the points of a box or lasso selection). A new click sets
    ``store["ex_clicked"]`` = (side, word), the pick :func:`focus_row` reads. Each map
    remembers the click it last reported, because a chart keeps its selection across
    reruns: a second map's old click must not take the pick back from a newer one."""
    seen = f"{map_key}_click_seen"
    one = clicked_row(points, n_src)
    if one is None:
        store.pop(seen, None)
        return False, list(points)
    now = ("source" if one < n_src else "target", words[one])
    if store.get(seen) == now:
        return False, []
    store[seen] = now
    store["ex_clicked"] = now
    return True, []


@dataclass(frozen=True)
class Colouring:
    """What :func:`ui.figures.scatter_map` needs to colour the points: ``kind`` is
    "space", "category" (``values`` are keys of ``categories``: label, colour) or
    "continuous" (``values`` on a colour scale from ``cmin`` to ``cmax``)."""

    kind: str
    values: np.ndarray | None = None
    title: str = ""
    categories: dict | None = None
    cmin: float | None = None
    cmax: float | None = None


def colouring(mode: str, ag: NeighbourhoodAgreement | None, gold_pairs: np.ndarray | None,
              n_src: int | None = None, n_tgt: int | None = None) -> Colouring:
    """The colours of one "colour by" choice (:data:`COLOUR_BY`) for the drawn points,
    source rows first. With ``ag`` None (a large map's agreement still computing) the
    choices that need it fall back to "space"; "frequency rank" needs ``n_src`` and ``n_tgt``."""
    if ag is None and mode != "frequency rank":
        mode = "space"
    n_s, n_t = (ag.n_src, ag.n_tgt) if ag is not None else (n_src, n_tgt)
    if mode == "space":
        return Colouring("space")
    if mode == "correct / wrong translation":
        return Colouring("category", ag.correctness(gold_pairs), "translation", CORRECTNESS)
    if mode == "neighbourhood agreement":
        return Colouring("continuous", ag.values, f"agreement (k = {ag.k})", cmin=0.0, cmax=1.0)
    if mode == "hub occurrence N_k":
        nk = ag.hub_occurrence().astype(np.float64)
        top = float(max(2 * ag.k, np.quantile(nk, 0.99)))
        return Colouring("continuous", nk, f"N_{ag.k}", cmin=0.0, cmax=top)
    if mode == "frequency rank":
        rank = np.concatenate([np.arange(n_s), np.arange(n_t)]).astype(np.float64)
        return Colouring("continuous", rank, "row (0 = most frequent)", cmin=0.0, cmax=float(max(n_s, n_t) - 1))
    raise ValueError(f"unknown colouring {mode!r}; expected one of {COLOUR_BY}")


def worst_table(ag: NeighbourhoodAgreement, words: Sequence[str], src_words: Sequence[str],
                tgt_words: Sequence[str], n: int = WORST_N,
                label: Callable[[str], str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The ``n`` least agreeing points, lowest first: a table (word or text, side,
    agreement, nearest translation: all strings but the float agreement) and the joint
    rows they are (source rows first), in the table's order."""
    show = label or (lambda w: w)
    rows = ag.least(n)
    n_s = ag.n_src
    tr = ag.translation
    out = []
    for r in rows.tolist():
        if r < n_s:
            out.append((show(words[r]), "source", float(ag.values[r]), show(tgt_words[int(tr[r])])))
        else:
            out.append((show(words[r]), "target", float(ag.values[r]), show(src_words[int(tr[r])])))
    df = pd.DataFrame(out, columns=WORST_COLUMNS)
    df["agreement"] = df["agreement"].astype(np.float64)
    return df, rows


def selected_row(state, rows: np.ndarray) -> int | None:
    """The joint row of the ranked list's selected row (``state``: the dataframe's event
    state from the session), or None."""
    if not state:
        return None
    sel = state.get("selection", {}) if isinstance(state, dict) else getattr(state, "selection", {})
    picked = list(sel.get("rows", []) if isinstance(sel, dict) else getattr(sel, "rows", []))
    if not picked or not (0 <= int(picked[0]) < len(rows)):
        return None
    return int(rows[int(picked[0])])


def neighbour_lines(ag: NeighbourhoodAgreement, row: int) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """Lines from one point to its k nearest in its own space and in the other space (the
    ``neighbour_lines`` argument of :func:`ui.figures.scatter_map`)."""
    own, other = ag.neighbours(row)
    return [(f"{ag.k} nearest in its own space", "#2f4b7c", [(row, int(j)) for j in own.tolist()]),
            (f"{ag.k} nearest in the other space", "#a05195", [(row, int(j)) for j in other.tolist()])]
