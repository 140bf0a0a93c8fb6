"""Under load (issue 6): four browser sessions (four Playwright contexts) each upload a
different source set and run an alignment at the same time against one server. Each
finishes with its own numbers (checked against the core on the same data), none sees
another's data, and the server's memory returns near its baseline once they close."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from e2e_support import ARGS, CHROMIUM, serve

from alignment_core.dictionary import load_dictionary
from alignment_core.io import load_embeddings, save_word2vec
from alignment_core.runs import RunConfig, execute

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
ROWS = (3000, 4000, 5000, 6000)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(pid: int) -> None:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux ≥ 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # large arrays are given back to the system when freed, so RSS shows what is held
    yield from serve(tmp_path_factory, MALLOC_MMAP_THRESHOLD_="131072")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Four different source sets (the sample's first N Finnish rows) and the CSLS P@1
    the core gives on each with the sample's dictionaries."""
    d = tmp_path_factory.mktemp("sources")
    fi = load_embeddings(SAMPLE / "fi.10k.vec.gz")
    fr = load_embeddings(SAMPLE / "fr.10k.vec.gz", lowercase=True)
    train = load_dictionary(SAMPLE / "fi-fr.train.txt")
    test = load_dictionary(SAMPLE / "fi-fr.test.txt")
    out = []
    for n in ROWS:
        path = d / f"fi_first_{n}.vec"
        save_word2vec(fi.head(n), path, precision=5)
        src = load_embeddings(path, lowercase=True, cache=False)
        res = execute(RunConfig(), src, fr, train, test, per_word=False)
        out.append((path, res.evaluation.scores["csls"]["p@1"], res.evaluation.n_queries))
    assert len({p for _, p, _ in out}) > 1, "the four sets should give different numbers"
    return out


def _visit(browser, url: str, run: bool = False) -> None:
    pg = browser.new_context().new_page()
    pg.set_default_timeout(180_000)
    pg.goto(url + "/")
    pg.get_by_text("Validation report").wait_for()
    if run:
        pg.get_by_role("link", name="Align").click()
        pg.get_by_role("button", name="Start").click()
        pg.locator('[data-testid="stSidebar"] [data-testid="stMetric"]').first.wait_for(timeout=400_000)
    pg.context.close()


def test_four_sessions_at_once(server, datasets, tmp_path):
    from playwright.sync_api import sync_playwright

    url, proc = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # baseline: the server after one whole visit (a run on the sample) has come and gone,
        # so the libraries a run loads (faiss, numba kernels) are in it
        _visit(browser, url, run=True)
        time.sleep(35)
        _visit(browser, url)
        time.sleep(3)
        baseline = rss_mb(proc.pid)
        reset_peak(proc.pid)  # from here VmHWM is the sessions' true peak, not a sampled one
        contexts, pages = [], []
        for path, _, _ in datasets:
            ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
            pg = ctx.new_page()
            pg.set_default_timeout(180_000)
            pg.goto(url + "/")
            pg.get_by_text("Validation report").wait_for()
            contexts.append(ctx)
            pages.append(pg)
        for pg, (path, _, _) in zip(pages, datasets):
            pg.locator('[data-testid="stFileUploader"]').filter(has_text="Source embeddings").locator('input[type="file"]').set_input_files(str(path))
        for pg, (path, _, _) in zip(pages, datasets):
            pg.locator('[data-testid="stSidebar"]').get_by_text(path.name).first.wait_for()
        for pg in pages:  # start all four runs before waiting for any
            pg.get_by_role("link", name="Align").click()
            pg.get_by_role("button", name="Start").click()
        peak = baseline
        for i, (pg, (path, expected, _)) in enumerate(zip(pages, datasets)):
            side = pg.locator('[data-testid="stSidebar"]')
            metric = side.locator('[data-testid="stMetric"]').filter(has_text="P@1 csls")
            metric.wait_for(timeout=400_000)
            peak = max(peak, rss_mb(proc.pid))
            value = float(metric.locator('[data-testid="stMetricValue"]').inner_text())
            assert abs(value - expected) <= 0.05, (path.name, value, expected)
            text = side.inner_text()
            assert path.name in text
            for other, _, _ in datasets:
                if other != path:
                    assert other.name not in text, f"session {i} sees {other.name}"
            pg.screenshot(path=str(tmp_path / f"session{i}.png"))
        peak = max(peak, rss_mb(proc.pid, "VmHWM"))
        for ctx in contexts:
            ctx.close()
        # closed tabs are released after server.disconnectedSessionTTL (30 s in
        # .streamlit/config.toml); Streamlit purges expired sessions when its session
        # store next changes, so another visitor comes and goes after that time
        time.sleep(35)
        _visit(browser, url)
        browser.close()
    t0 = time.perf_counter()
    limit = baseline + 0.25 * (peak - baseline) + 100
    after = rss_mb(proc.pid)
    while time.perf_counter() - t0 < 60 and after > limit:
        time.sleep(2)
        after = rss_mb(proc.pid)
    print(f"server RSS: baseline {baseline:.0f} MB, peak {peak:.0f} MB, after close {after:.0f} MB")
    assert peak > baseline + 100  # the sessions really held data
    assert after <= limit, (baseline, peak, after)
