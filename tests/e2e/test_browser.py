"""End to end in a real Chromium (Debian's, driven by Playwright; never `playwright
install`), against `streamlit run app.py` on a free local port: load the app, run
supervised Procrustes on the sample, read P@1 from the page, open Explore and check
the map rendered (screenshot in the test's tmp folder), upload a malformed file and
read the error."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from e2e_support import ARGS, CHROMIUM, serve

EXPECTED_CSLS = 62.0
BAND = 1.5

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    for url, _ in serve(tmp_path_factory):
        yield url


@pytest.fixture()
def fresh_server(tmp_path_factory):
    for url, _ in serve(tmp_path_factory):
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium; never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _new_page(browser, url):
    pg = browser.new_page(viewport={"width": 1400, "height": 1100})
    pg.set_default_timeout(60_000)
    pg.goto(url)
    return pg


@pytest.fixture(scope="module")
def page(browser, server):
    pg = _new_page(browser, server + "/")
    yield pg
    pg.close()


def _no_traceback(pg) -> None:
    body = pg.inner_text("body")
    assert "Traceback" not in body and "StreamlitAPIException" not in body


def test_whole_job_in_the_browser(page, tmp_path):
    """One test (so the steps never land on different xdist workers): the sample,
    a supervised run and its P@1, the map, then a malformed upload."""
    _sample_loaded_and_supervised_run(page)
    _explore_map_renders(page, tmp_path)
    _malformed_upload_shows_the_error(page, tmp_path)


def _sample_loaded_and_supervised_run(page):
    page.get_by_text("Validation report").wait_for()
    side = page.locator('[data-testid="stSidebar"]')
    side.get_by_text("fi.10k.vec.gz").wait_for()
    page.get_by_role("link", name="Align", exact=True).click()
    page.get_by_role("button", name="Start").click()
    metric = side.locator('[data-testid="stMetric"]').filter(has_text="P@1 csls")
    metric.wait_for(timeout=300_000)
    value = float(metric.locator('[data-testid="stMetricValue"]').inner_text())
    assert abs(value - EXPECTED_CSLS) <= BAND
    page.get_by_text("Runs in this session").wait_for()
    _no_traceback(page)


def _explore_map_renders(page, tmp_path):
    page.get_by_role("link", name="Explore", exact=True).click()
    page.get_by_role("heading", name="Explore").wait_for()
    plot = page.locator(".js-plotly-plot", has_text="target words").first
    try:
        plot.wait_for(timeout=120_000)
    except Exception:
        page.screenshot(path=str(tmp_path / "explore-timeout.png"), full_page=True)
        pytest.fail(f"no map after 120 s; the page says: {page.inner_text('body')[-600:]!r} "
                    f"(screenshot {tmp_path / 'explore-timeout.png'})")
    # the PCA view appears at once; UMAP replaces it when ready
    title = plot.locator(".gtitle")
    t0 = time.perf_counter()
    while "UMAP ·" not in (title.text_content() or "") and time.perf_counter() - t0 < 240:
        time.sleep(1)
    text = title.text_content() or ""
    assert re.search(r"(UMAP|PCA).*5,000 source \+ 5,000 target words, after alignment", text), text
    legend = plot.locator(".legendtext").all_text_contents()
    assert "source (aligned)" in legend and "target" in legend
    box = plot.bounding_box()
    assert box and box["width"] > 500 and box["height"] > 400
    shot = tmp_path / "explore.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    _no_traceback(page)


def _malformed_upload_shows_the_error(page, tmp_path):
    page.get_by_role("link", name="Data", exact=True).click()
    page.get_by_text("Validation report").wait_for()
    bad = tmp_path / "broken.vec"
    bad.write_bytes(b"3 4\nkissa 0.1 0.2 0.3 0.4\nkoira 0.1 zero 0.3 0.4\nmaa 1 2 3 4\n")
    page.locator('[data-testid="stFileUploader"]').filter(has_text="Source embeddings").locator('input[type="file"]').set_input_files(str(bad))
    err = page.locator('[data-testid="stAlertContentError"]').first
    err.wait_for(timeout=60_000)
    text = err.inner_text()
    assert "broken.vec, line 3" in text and "'zero' is not a number" in text, text
    assert "previous source set is kept" in text
    # the sample is still the loaded source
    page.locator('[data-testid="stSidebar"]').get_by_text("fi.10k.vec.gz").wait_for()
    page.screenshot(path=str(tmp_path / "malformed.png"), full_page=True)
    _no_traceback(page)


def test_deep_link_on_a_fresh_server_goes_through_the_app(browser, fresh_server):
    """A server's very first request for /explore: Streamlit's legacy pages/ mode would run
    the page alone (no sidebar, no sample); the app must still route through app.py."""
    pg = _new_page(browser, fresh_server + "/explore")
    pg.get_by_role("heading", name="Explore").wait_for()
    side = pg.locator('[data-testid="stSidebar"]')
    side.get_by_text("fi.10k.vec.gz").wait_for()  # app.py ran: sample loaded, sidebar drawn
    nav = [t.strip() for t in side.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
    assert any("Data" in t for t in nav) and not any(t.endswith("app") for t in nav), nav
    _no_traceback(pg)
    pg.close()
