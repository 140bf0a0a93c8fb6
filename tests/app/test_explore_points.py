"""The Explore page's answers about a point: colour by (space, correct / wrong
translation, neighbourhood agreement, hub occurrence N_k, frequency rank) on the WebGL
map, the ranked list of the least agreeing points whose rows highlight a point with lines
to its neighbours, and the downloads (coordinates CSV, standalone HTML figure)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd

from alignment_core.agreement import CORRECT, UNKNOWN, WRONG, neighbourhood_agreement
from alignment_core.faithfulness import gold_pairs
from tests.app.conftest import new_app, wait_for_run
from ui import exports, figures, mapview

CAP = 1000


def _array(v) -> np.ndarray:
    """A Plotly JSON array: a list, or a typed array {"dtype", "bdata"} (plotly ≥ 6)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def _figure(at) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def _worst(at) -> pd.DataFrame:
    tables = [d.value for d in at.dataframe if list(d.value.columns) == mapview.WORST_COLUMNS]
    assert len(tables) == 1, [list(d.value.columns) for d in at.dataframe]
    return tables[0]


def _explore_after_a_run(layout: str | None = None):
    """A supervised run on the sample, then the Explore page at CAP points a side (in
    ``layout`` when given). Returns (the AppTest, the session's data)."""
    at = new_app(timeout=300)
    at.switch_page("pages/align.py").run()
    at.button(key="start").click().run()
    sd = wait_for_run(at)
    at.switch_page("pages/explore.py").run()
    if layout is not None:
        at.radio(key="ex_algo").set_value(layout).run()
    at.number_input(key="ex_cap").set_value(CAP).run()
    return at, sd


def test_colour_by_ranked_list_and_highlight_on_the_explore_page():
    S, T = mapview.SRC_TRACE, mapview.TGT_TRACE      # the figure's source and target traces
    at, sd = _explore_after_a_run("PCA")
    rec = sd.last_run()
    assert not at.exception, [e.value for e in at.exception]

    r = rec.result
    ag = neighbourhood_agreement(r.aligned_source()[:CAP], r.tgt.vectors[:CAP], src=r.src.vectors[:CAP])
    words = list(r.src.words[:CAP]) + list(r.tgt.words[:CAP])

    # the map: two WebGL traces (source, target), hover with the agreement
    fig = _figure(at)
    assert [t["type"] for t in fig["data"][:2]] == ["scattergl", "scattergl"]
    assert len(_array(fig["data"][S]["x"])) == CAP and len(_array(fig["data"][T]["x"])) == CAP
    assert "agreement@10" in fig["data"][S]["text"][0]
    assert at.selectbox(key="ex_colour").value == "space"
    assert all(t["name"] != "highlighted" for t in fig["data"])

    # the ranked list: lowest agreement first, the page's numbers are the core's
    worst = _worst(at)
    assert len(worst) == mapview.WORST_N and set(worst["side"]) <= {"source", "target"}
    assert worst["agreement"].dtype == np.float64 and worst["word"].map(type).eq(str).all()
    assert (np.diff(worst["agreement"].to_numpy()) >= 0).all()
    assert abs(worst["agreement"].iloc[0] - ag.values.min()) < 1e-9
    first = ag.least(1)[0]
    assert worst["word"].iloc[0] == words[first]

    # colour by neighbourhood agreement: both traces on one colour scale, the core's values
    at.selectbox(key="ex_colour").set_value("neighbourhood agreement").run()
    assert not at.exception, [e.value for e in at.exception]
    fig = _figure(at)
    assert [t["type"] for t in fig["data"][:2]] == ["scattergl", "scattergl"]
    assert np.allclose(_array(fig["data"][S]["marker"]["color"]), ag.src)
    assert np.allclose(_array(fig["data"][T]["marker"]["color"]), ag.tgt)
    assert fig["layout"]["coloraxis"]["cmax"] == 1.0

    # hub occurrence: N_k, summing to n·k on each side (each point's k nearest of the other side)
    at.selectbox(key="ex_colour").set_value("hub occurrence N_k").run()
    fig = _figure(at)
    nk_t = _array(fig["data"][T]["marker"]["color"])
    assert nk_t.sum() == CAP * 10 and _array(fig["data"][S]["marker"]["color"]).sum() == CAP * 10
    assert np.array_equal(nk_t, ag.hub_occurrence()[CAP:])

    # frequency rank: the row in its file
    at.selectbox(key="ex_colour").set_value("frequency rank").run()
    fig = _figure(at)
    assert np.array_equal(_array(fig["data"][S]["marker"]["color"]), np.arange(CAP))

    # correct / wrong: judged by the evaluation dictionary, as the core says
    at.selectbox(key="ex_colour").set_value("correct / wrong translation").run()
    assert not at.exception, [e.value for e in at.exception]
    fig = _figure(at)
    d = sd.eval.dictionary.lowercased() if r.config.lowercase else sd.eval.dictionary
    status = ag.correctness(gold_pairs(r.src.words[:CAP], r.tgt.words[:CAP], d.pairs))
    colours = list(fig["data"][S]["marker"]["color"])
    for code in (CORRECT, WRONG, UNKNOWN):
        want = int((status[:CAP] == code).sum())
        assert want > 0 and colours.count(mapview.CORRECTNESS[code][1]) == want, code
    assert {"correct", "wrong", "unknown"} <= {t["name"] for t in fig["data"][2:]}
    assert [t["type"] for t in fig["data"][:2]] == ["scattergl", "scattergl"]

    # picking the list's first row highlights that point, with lines to its neighbours
    at.session_state["ex_worst"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    fig = _figure(at)
    hl = [t for t in fig["data"] if t["name"] == "highlighted"]
    assert len(hl) == 1 and words[first] in hl[0]["text"]
    coords = at.session_state["ex_pca"][1]
    own, other = ag.neighbours(first)
    for name, rows in (("10 nearest in its own space", own), ("10 nearest in the other space", other)):
        t = [t for t in fig["data"] if t["name"] == name]
        assert len(t) == 1, name
        xs = np.array([np.nan if v is None else v for v in t[0]["x"]], dtype=np.float64)
        assert len(xs) == 3 * 10
        assert np.allclose(xs[0::3], coords[first, 0], atol=1e-4)
        assert np.allclose(np.sort(xs[1::3]), np.sort(coords[rows, 0]), atol=1e-4)
    assert any(words[first] in c.value and "agreement" in c.value for c in at.caption)

    # the downloads are offered
    assert {b.key for b in at.get("download_button")} >= {"ex_dl_csv", "ex_dl_html"}


def test_map_downloads_read_back():
    words = ["kissa", "koira", "chat", "chien", "oiseau"]
    coords = np.array([[0.0, 1.0], [2.5, -1.0], [0.1, 1.1], [2.4, -0.9], [7.0, 7.0]])
    agr = np.array([1.0, 0.5, 0.25, 0.0, 0.125])
    df = pd.read_csv(io.BytesIO(exports.map_coordinates_csv(words, 2, coords, agr)))
    assert list(df.columns) == ["word", "side", "x", "y", "agreement"]
    assert df["side"].tolist() == ["source", "source", "target", "target", "target"]
    assert np.allclose(df[["x", "y"]].to_numpy(), coords) and np.allclose(df["agreement"], agr)
    assert df["word"].tolist() == words
    fig = figures.scatter_map(coords, words, 2)
    # the targets are drawn first, the source points on top (an anchored word sits on its
    # translation); the legend still lists the source first
    assert [t.name for t in fig.data[:2]] == ["target", "source"]
    assert list(fig.data[1].x) == [0.0, 2.5] and list(fig.data[0].text) == words[2:]
    assert fig.data[1].legendrank < fig.data[0].legendrank
    html = exports.figure_html(fig).decode()
    assert "<html>" in html[:100] and "oiseau" in html
    assert len(html) > 3_000_000                                  # plotly.js is inside the file
    assert 'src="https://cdn.plot.ly' not in html
    assert '"scrollZoom": true' in html                          # the wheel zooms, as on the page


def test_the_latest_way_of_picking_a_point_wins():
    store: dict = {}
    assert mapview.focus_row(store, query=None, list=None, click=None) is None
    assert mapview.focus_row(store, query=None, list=7, click=None) == 7          # a row of the ranked list
    assert mapview.focus_row(store, query=None, list=7, click=3) == 3             # then a click on the map
    assert mapview.focus_row(store, query=None, list=7, click=3) == 3             # a rerun changes nothing
    assert mapview.focus_row(store, query=None, list=9, click=3) == 9             # another row of the list
    assert mapview.focus_row(store, query=5, list=9, click=3) == 5                # then a search
    assert mapview.focus_row(store, query=None, list=9, click=3) == 9             # search cleared: the list's
    assert mapview.focus_row(store, query=None, list=None, click=3) == 3
    # a click is a selection of exactly one point; trace 0 holds the target rows (drawn first,
    # under the source points), trace 1 the source rows
    assert (mapview.TGT_TRACE, mapview.SRC_TRACE) == (0, 1)
    assert mapview.clicked_row([{"curve_number": 0, "point_index": 4}], 100) == 104
    assert mapview.clicked_row([{"curve_number": 1, "point_index": 4}], 100) == 4
    assert mapview.clicked_row([{"curve_number": 1, "point_index": 4}] * 2, 100) is None
    assert mapview.clicked_row([{"curve_number": 3, "point_index": 0}], 100) is None   # a highlight trace


def test_a_click_on_either_map_picks_and_an_old_click_does_not_take_the_pick_back():
    """Both maps keep their last click across reruns: a click on the compared map picks its
    point, a later click on the main map picks another, and the compared map's old click
    (still its selection) does not pick its point again on the next rerun."""
    words = ["kissa", "koira", "chat", "chien"]
    store: dict = {}
    S, T = mapview.SRC_TRACE, mapview.TGT_TRACE
    on = lambda curve, i: [{"curve_number": curve, "point_index": i}]   # noqa: E731
    assert mapview.take_click(store, "ex_map_cmp", on(T, 1), 2, words) == (True, [])     # the compared map
    assert store["ex_clicked"] == ("target", "chien")
    assert mapview.take_click(store, "ex_map", on(S, 0), 2, words) == (True, [])         # then the main map
    assert store["ex_clicked"] == ("source", "kissa")
    assert mapview.take_click(store, "ex_map_cmp", on(T, 1), 2, words) == (False, [])    # rerun: old click
    assert mapview.take_click(store, "ex_map", on(S, 0), 2, words) == (False, [])
    assert store["ex_clicked"] == ("source", "kissa")
    box = on(S, 0) + on(T, 0)                                                        # a box: not a click
    assert mapview.take_click(store, "ex_map", box, 2, words) == (False, box)
    assert mapview.take_click(store, "ex_map", on(S, 0), 2, words) == (True, [])         # the same point again


def test_compare_before_and_after_alignment_in_one_frame():
    """After supervised Procrustes, the anchored map beside the same words before alignment:
    the aligned map's P@10 is high, the unaligned one's near 0 (a failed alignment looks
    failed), a point picked in the ranked list is highlighted on both, and the faithfulness
    download carries both maps' numbers."""
    import time

    from ui import layouts

    at, sd = _explore_after_a_run()
    rec = sd.last_run()
    assert at.selectbox(key="ex_compare").options == ["nothing", "before alignment"]
    at.selectbox(key="ex_compare").set_value("before alignment").run()
    assert not at.exception, [e.value for e in at.exception]
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 300:
        futs = list(layouts.service()._futures.values())
        if len(futs) >= 3 and all(f.done() for f in futs):     # 2 × 5,000 first, then the two of CAP
            break
        time.sleep(1)
    at.session_state["ex_worst"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    figs = [json.loads(c.proto.spec) for c in charts]
    for f in figs:
        assert [t["type"] for t in f["data"][:2]] == ["scattergl", "scattergl"]
        assert len(_array(f["data"][0]["x"])) == CAP and len(_array(f["data"][1]["x"])) == CAP
    assert "Anchored UMAP" in figs[0]["layout"]["title"]["text"]
    assert "before alignment" in figs[1]["layout"]["title"]["text"]
    r = rec.result
    first = neighbourhood_agreement(r.aligned_source()[:CAP], r.tgt.vectors[:CAP], src=r.src.vectors[:CAP]).least(1)[0]
    words = list(r.src.words[:CAP]) + list(r.tgt.words[:CAP])
    for f in figs:                         # the picked point on both maps
        hl = [t for t in f["data"] if t["name"] == "highlighted"]
        assert len(hl) == 1 and words[first] in hl[0]["text"]
    p10 = [m.value for m in at.metric if m.label == "P@10: map vs aligned space"]
    assert len(p10) == 2, [m.label for m in at.metric]
    (map_a, al_a), (map_b, al_b) = [(float(v.strip(" %")) for v in x.split("vs")) for x in p10]
    assert al_a > 50 and map_a >= 0.6 * al_a, p10
    assert al_b < 5 and map_b < 5, p10
    # the download (one JSON of both maps' numbers) carries what the page shows
    assert {b.key for b in at.get("download_button")} >= {"ex_dl_faith"}
    faiths = [f.result().faithfulness for f in layouts.service()._futures.values()
              if f.done() and f.result().faithfulness and f.result().faithfulness["n_src"] == CAP]
    assert len(faiths) == 2
    out = json.loads(exports.faithfulness_json({"map": faiths[0], "before alignment": faiths[1]}, {"run": rec.rid}))
    shown = sorted(round(100 * out["maps"][k]["map_p"]) for k in out["maps"])
    assert out["run"] == rec.rid and shown == sorted(round(v) for v in (map_a, map_b)), (shown, p10)


def test_large_maps_get_their_agreement_from_the_layout_worker(monkeypatch):
    """Beyond mapview.IN_SERVER_MAX drawn points the agreement is computed in the layout
    worker (2 × 50,000 would hold the web server for minutes; the page draws without it
    meanwhile): once there, the page shows the same ranked list the core computes."""
    import time

    from ui import layouts

    monkeypatch.setattr(mapview, "IN_SERVER_MAX", 500)
    at, sd = _explore_after_a_run("PCA")
    assert not at.exception, [e.value for e in at.exception]
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 300:
        futs = [f for k, f in layouts.service()._futures.items() if k.startswith("agreement:")]
        if futs and all(f.done() for f in futs):
            break
        time.sleep(0.5)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    r = sd.last_run().result
    ag = neighbourhood_agreement(r.aligned_source()[:CAP], r.tgt.vectors[:CAP], src=r.src.vectors[:CAP])
    worst = _worst(at)
    words = list(r.src.words[:CAP]) + list(r.tgt.words[:CAP])
    assert worst["word"].tolist() == [words[i] for i in ag.least(mapview.WORST_N)]
    assert np.allclose(worst["agreement"].to_numpy(), ag.values[ag.least(mapview.WORST_N)])
    assert "agreement@10" in _figure(at)["data"][0]["text"][0]


def test_the_worker_computes_the_same_agreement():
    from ui.layouts import LayoutWorker

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 8)).astype(np.float32)
    t = x @ np.linalg.qr(rng.standard_normal((8, 8)))[0].astype(np.float32)
    w = LayoutWorker()
    try:
        got = w.agreement(x, t, src=None, k=5)
    finally:
        w.close()
    want = neighbourhood_agreement(x, t, k=5)
    assert got.k == 5 and np.array_equal(got.src_tgt, want.src_tgt) and np.allclose(got.values, want.values)
