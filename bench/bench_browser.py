"""Benchmark (issue 11): pan and zoom of the Explore map at 2 × 50,000 points in a real
Chromium (Debian's, headless, driven by Playwright), printed as JSON.

The figure is the page's own (:func:`ui.figures.scatter_map`: two WebGL ``Scattergl``
traces, drag to pan, scroll to zoom) of real points: the 50,000 Finnish floret words of
../shared/data and their rotated copy (σ = 0.02), drawn at their PCA coordinates, with
each point's hover text. It is written as the standalone HTML file the page's
"figure (HTML)" download gives (:func:`ui.exports.figure_html`, plotly.js bundled) and
opened from disk, so the numbers are plotly.js's and the browser's, not Streamlit's.

Measured, with a ``requestAnimationFrame`` logger in the page:

- ``first_render_s``: from opening the file until both traces are drawn;
- a pan: the mouse drags across the plot in 40 steps over ~2 s; frames per second while
  dragging, the longest gap between two frames, and ``settle_ms`` from the release to
  the next frame after plotly's ``plotly_relayout``;
- a zoom: 8 wheel notches 150 ms apart over the plot's centre (in, out, in); the same
  numbers, ``settle_ms`` from the last notch, and how much the x range shrank or grew;
- the WebGL renderer string: headless with ``--disable-gpu`` it is SwiftShader (software
  rendering on the CPU), a slower renderer than a desktop's GPU.

Run: ``.venv/bin/python bench/bench_browser.py [N]`` (N points a side, default 50,000).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, rotated_floret

import numpy as np

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from e2e_support import ARGS, CHROMIUM  # noqa: E402  (the browser tests' Chromium and its flags)

_FRAMES_JS = """() => { window.__frames = []; window.__relayout = [];
  const tick = (t) => { window.__frames.push(t); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const gd = document.querySelector('.js-plotly-plot');
  gd.on('plotly_relayout', () => window.__relayout.push(performance.now())); }"""
_CENTRE_JS = """() => { const gd = document.querySelector('.js-plotly-plot'), xa = gd._fullLayout.xaxis,
  ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  return [r.left + xa._offset + xa._length / 2, r.top + ya._offset + ya._length / 2, xa._length, ya._length]; }"""
_RANGE_JS = """() => { const r = document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range;
  return r[1] - r[0]; }"""
_RENDERER_JS = """() => { const c = document.createElement('canvas').getContext('webgl');
  if (!c) return null; const e = c.getExtension('WEBGL_debug_renderer_info');
  return e ? c.getParameter(e.UNMASKED_RENDERER_WEBGL) : c.getParameter(c.RENDERER); }"""


def _points(n: int) -> tuple[np.ndarray, list[str]]:
    """PCA coordinates of the first ``n`` rows of the benchmarks' rotated floret pair (the
    mapped source, then the target), and their words."""
    from alignment_core.projection import pca_2d

    emb, mapped, t = rotated_floret(0.02)
    return pca_2d(np.vstack([mapped[:n], t[:n]])), list(emb.words[:n]) * 2


def _frames_between(pg, t0: float, t1: float) -> dict:
    fr = [f for f in pg.evaluate("() => window.__frames") if t0 <= f <= t1]
    gaps = np.diff(fr) if len(fr) > 1 else np.array([t1 - t0])
    return {"fps": round(1000 * (len(fr) - 1) / max(t1 - t0, 1e-9), 1),
            "median_frame_ms": round(float(np.median(gaps)), 1), "longest_frame_ms": round(float(gaps.max()), 1)}


def _settle_ms(pg, released: float) -> float | None:
    """From ``released`` (page clock) to the first frame after the last plotly_relayout."""
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        rel = [r for r in pg.evaluate("() => window.__relayout") if r >= released]
        if rel:
            after = [f for f in pg.evaluate("() => window.__frames") if f > rel[-1]]
            if after:
                return round(after[0] - released, 1)
        time.sleep(0.05)
    return None


def main() -> None:
    from playwright.sync_api import sync_playwright

    from ui import exports, figures

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    coords, words = _points(n)
    fig = figures.scatter_map(coords, words, n, title=f"PCA · {n:,} source + {n:,} target words")
    out: dict = {"points": [n, n], "chromium": CHROMIUM}
    with tempfile.TemporaryDirectory() as d:
        html = Path(d) / "map.html"
        html.write_bytes(exports.figure_html(fig))
        out["html_mb"] = round(html.stat().st_size / 1e6, 1)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            pg = b.new_page(viewport={"width": 1400, "height": 900})
            t0 = time.perf_counter()
            pg.goto(html.as_uri())
            pg.wait_for_function("() => { const gd = document.querySelector('.js-plotly-plot');"
                                 " return gd && gd._fullData && gd._fullData.length >= 2"
                                 " && gd._fullData[1].x.length > 0; }", timeout=120_000)
            pg.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            out["first_render_s"] = round(time.perf_counter() - t0, 2)
            out["webgl_renderer"] = pg.evaluate(_RENDERER_JS)
            out["drawn"] = pg.evaluate("() => { const gd = document.querySelector('.js-plotly-plot');"
                                       " return [gd._fullData[0].x.length, gd._fullData[1].x.length]; }")
            pg.evaluate(_FRAMES_JS)
            cx, cy, w, h = pg.evaluate(_CENTRE_JS)
            now = "() => performance.now()"

            pans = []
            for rep in range(3):
                pg.mouse.move(cx - w / 4, cy)
                pg.mouse.down()
                a = pg.evaluate(now)
                for i in range(1, 41):
                    pg.mouse.move(cx - w / 4 + i * w / 80, cy + (i % 10) * 2)
                    time.sleep(0.05)
                b_ = pg.evaluate(now)
                pg.mouse.up()
                pans.append({**_frames_between(pg, a, b_), "settle_ms": _settle_ms(pg, b_)})
            out["pan"] = pans
            out["pan_fps_median"] = statistics.median(p_["fps"] for p_ in pans)

            zooms = []
            for rep in range(3):
                pg.mouse.move(cx, cy)
                r0 = pg.evaluate(_RANGE_JS)
                a = pg.evaluate(now)
                for i in range(8):
                    pg.mouse.wheel(0, -120 if rep % 2 == 0 else 120)
                    if i < 7:
                        time.sleep(0.15)
                b_ = pg.evaluate(now)
                settle = _settle_ms(pg, b_)
                zooms.append({**_frames_between(pg, a, b_), "settle_ms": settle,
                              "x_span_ratio": round(pg.evaluate(_RANGE_JS) / r0, 3)})
            out["zoom"] = zooms
            out["zoom_fps_median"] = statistics.median(z["fps"] for z in zooms)
            b.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
