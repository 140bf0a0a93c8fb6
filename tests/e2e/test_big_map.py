"""The Explore page at 2 × 50,000 points in a real Chromium (Debian's, driven by
Playwright): the 50,000 Finnish floret words of ../shared/data uploaded through the page (not lowercased),
the teaching pair built from them (their rotated copy, every word kept), then Explore
with 50,000 points a side: the WebGL figure holds 2 × 50,000 points (counted from its
data), hovering a point shows its word, a search highlights the word and, once the layout
worker's neighbourhood agreement is in, its lines to its nearest neighbours in both
spaces; the ranked list's first entry is clickable; no exception box. The PCA layout is
drawn (the UMAP map of 2 × 50,000 costs minutes here: bench/bench_app.py measures it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from e2e_support import ARGS, CHROMIUM, serve

from tests.conftest import EMB

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
N = 50_000
FILE = EMB / "fi.floret.300d.50k.vec.gz"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium; never `playwright install`)")
    from playwright.sync_api import sync_playwright

    for url, _ in serve(tmp_path_factory):
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            pg = b.new_page(viewport={"width": 1400, "height": 1100})
            pg.set_default_timeout(120_000)
            pg.goto(url + "/")
            yield pg
            b.close()


def _no_exception(pg) -> None:
    body = pg.inner_text("body")
    assert "Traceback" not in body and "StreamlitAPIException" not in body
    assert pg.locator('[data-testid="stException"]').count() == 0


_COUNT_JS = "(gd) => [gd._fullData[0].x.length, gd._fullData[1].x.length]"
_POINT_JS = """(gd) => {
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect(), tr = gd._fullData[0];
  const i = Math.floor(tr.x.length / 2);
  return [r.left + xa._offset + xa.l2p(tr.x[i]), r.top + ya._offset + ya.l2p(tr.y[i])];
}"""


def test_two_times_fifty_thousand_points(page, tmp_path):
    assert FILE.exists(), f"{FILE} is missing (../shared/data)"
    page.get_by_text("Validation report").wait_for()
    # as they are in the file: lowercased, the 50,000 floret words are 44,446
    page.get_by_text("Options: vocabulary size, lowercase, normalization").click()
    page.get_by_text("lowercase words (keep the most frequent spelling)").click()
    page.locator('[data-testid="stFileUploader"]').filter(has_text="Source embeddings").locator(
        'input[type="file"]').set_input_files(str(FILE))
    side = page.locator('[data-testid="stSidebar"]')
    side.get_by_text(f"{N:,} × 300").wait_for(timeout=300_000)

    # the teaching pair from the uploaded set, every word kept on both sides (overlap 1.0)
    page.get_by_text("Synthetic pair with a known answer (teaching)").click()
    thumb = page.get_by_role("slider", name="vocabulary overlap")
    thumb.focus()
    for _ in range(4):
        thumb.press("ArrowRight")
    page.get_by_role("button", name="Build and load the synthetic pair").click()
    side.get_by_text("synthetic rotated copy").wait_for(timeout=300_000)
    assert side.inner_text().count(f"{N:,} × 300") == 2
    _no_exception(page)

    page.get_by_role("link", name="Explore", exact=True).click()
    page.get_by_role("heading", name="Explore").wait_for()
    page.get_by_text("PCA", exact=True).click()
    cap = page.get_by_label("points per side (most frequent)")
    cap.fill(str(N))
    cap.press("Enter")
    plot = page.locator(".js-plotly-plot", has_text=f"{N:,} source + {N:,} target words").first
    try:
        plot.wait_for(timeout=300_000)
    except Exception:
        page.screenshot(path=str(tmp_path / "big-map-timeout.png"), full_page=True)
        pytest.fail(f"no 2 × {N:,} map (screenshot {tmp_path / 'big-map-timeout.png'})")
    assert plot.evaluate(_COUNT_JS) == [N, N]
    _no_exception(page)

    # hover: the point's word
    x, y = plot.evaluate(_POINT_JS)
    page.mouse.move(x, y)
    hover = page.locator(".hovertext").first
    hover.wait_for(timeout=20_000)
    assert (hover.text_content() or "").strip()

    # the ranked list arrives with the worker's agreement; its first entry picks its point
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=600_000)
    page.get_by_text("Least agreeing neighbourhoods").wait_for()
    t0 = time.perf_counter()
    while "computing in the background" in page.inner_text("body") and time.perf_counter() - t0 < 600:
        time.sleep(2)
    assert "computing in the background" not in page.inner_text("body"), "the agreement never arrived"

    # a search: the word is highlighted, with lines to its nearest neighbours in both spaces
    word = "ja"
    page.get_by_label("find a source word").fill(word)
    page.get_by_label("find a source word").press("Enter")
    plot = page.locator(".js-plotly-plot", has_text=f"{N:,} source + {N:,} target words").first
    t0 = time.perf_counter()
    legend: list[str] = []
    while time.perf_counter() - t0 < 60:
        legend = plot.locator(".legendtext").all_text_contents()
        if "10 nearest in its own space" in legend:
            break
        time.sleep(1)
    assert "highlighted" in legend and "10 nearest in its own space" in legend, legend
    assert "10 nearest in the other space" in legend
    assert plot.evaluate(_COUNT_JS) == [N, N]
    page.get_by_label("find a source word").fill("")
    page.get_by_label("find a source word").press("Enter")
    focus = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="nearest in its own space")
    t0 = time.perf_counter()
    while (focus.count() or page.get_by_text(f"{word} → ").count()) and time.perf_counter() - t0 < 60:
        time.sleep(1)
    assert focus.count() == 0, "the search was cleared but its point is still picked"

    # the ranked list's first entry: a click on its row picks that point (not the searched word)
    table = page.locator('[data-testid="stDataFrame"]').last
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box
    page.mouse.click(box["x"] + 12, box["y"] + 52)      # the row-selection cell of the first data row
    focus.first.wait_for(timeout=60_000)
    text = focus.first.inner_text()
    assert not text.startswith(f"{word} (source)") and "agreement" in text, text
    legend = page.locator(".js-plotly-plot", has_text=f"{N:,} source").first.locator(".legendtext").all_text_contents()
    assert "highlighted" in legend and "10 nearest in the other space" in legend, legend
    page.screenshot(path=str(tmp_path / "big-map.png"), full_page=True)
    _no_exception(page)
