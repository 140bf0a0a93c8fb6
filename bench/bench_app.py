"""Benchmark of the app, printed as JSON.

- first render of each page (AppTest, in-process; Data includes parsing the sample),
  before and after a run;
- the supervised Procrustes run on the sample, from the click on Start to the numbers
  on the page (AppTest polling the background job as the page fragment does);
- the Explore page's map of 2 × 5,000 points through the app's layout worker process
  (the anchored map, :func:`alignment_core.projection.anchored_map`, with its
  faithfulness numbers; docs/map.md): cold in a fresh worker (numba JIT included), cold
  after the start-up warm-up (new points), warm (the cached layout); and the former
  joint UMAP of the same points for comparison.

- (issue 11) the map of 2 × 50,000: the 50,000 Finnish floret words of ../shared/data
  (not lowercased) against their rotated copy (noise σ = 0.02 of the rows' RMS norm, every
  word kept), mapped back by the true rotation: from a cold worker (a fresh process, no
  warm-up: what the first map costs), then the same map again (cached), the PCA shown
  meanwhile, and the neighbourhood agreement of the 100,000 points in the worker; a failed
  alignment of the same points (a random orthogonal W); and a map that gets parted: two real
  text encoders' embeddings of 50,000 WordNet texts, mapped by Procrustes on 1,000 pairs
  (:func:`big_text_map`).

Targets (issue 5): every page under 2 s; the map under 20 s cold and under 1 s cached;
(issue 11) the map of 2 × 5,000 under 10 s after the warm-up; 2 × 50,000 under 60 s from a
cold worker, under 1 s cached.
Run: ``.venv/bin/python bench/bench_app.py [--no-big | --big-only]`` (``--no-big``: without the 2 × 50,000 part; ``--big-only``: only it, the good and the failed alignment).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _v2_navigation() -> None:
    """As in tests/app/conftest.py: keep st.navigation's pages (AppTest resets the flag)."""
    from streamlit.runtime import pages_manager as pm

    orig = pm.PagesManager.__init__

    def init(self, *a, **kw):
        orig(self, *a, **kw)
        pm.PagesManager.uses_pages_directory = False

    pm.PagesManager.__init__ = init


def _fresh_map(svc, mapped, tgt, gp, name: str, out: dict) -> str:
    """The anchored map through ``svc`` (a fresh worker), timed; its numbers into ``out``
    under ``name``. Returns the map's key."""
    from ui import layouts

    key = layouts.map_key(mapped, tgt, gp, "anchored", 15)
    t0 = time.perf_counter()
    m = svc.map(mapped, tgt, key, gp, n_neighbors=15).result()
    out[f"{name}_cold_fresh_worker_s"] = round(time.perf_counter() - t0, 2)
    out[f"{name}_layout_s"] = m.layout_seconds
    out[f"{name}_anchored_rows"] = int(m.anchored.sum())
    out[f"{name}_faithfulness"] = m.faithfulness
    return key


def big_map() -> dict:
    """The 2 × 50,000 map through a fresh layout worker (see the module docstring)."""
    import numpy as np

    from _common import rotated_floret

    from alignment_core import projection as P
    from alignment_core.synthetic import random_rotation
    from ui import layouts

    rng = np.random.default_rng(0)
    emb, mapped, t = rotated_floret(0.02, rng)              # mapped by the true rotation
    x = emb.vectors
    q = np.sort(rng.choice(len(x), 5000, replace=False))
    gp = np.stack([q, q], axis=1)                           # 5,000 identity queries
    out: dict = {"map_2x50000_points": [len(mapped), len(t)], "load_avg_before_2x50000": os.getloadavg()[0]}
    t0 = time.perf_counter()
    P.pca_2d(np.vstack([mapped, t]))
    out["pca_2x50000_s"] = round(time.perf_counter() - t0, 2)
    svc = layouts.LayoutService(warm=False)
    try:
        key = _fresh_map(svc, mapped, t, gp, "map_2x50000", out)
        t0 = time.perf_counter()
        svc.map(mapped, t, key, gp, n_neighbors=15).result()
        out["map_2x50000_cached_s"] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter()
        svc.agreement(mapped, t, x, "bench").result()
        out["agreement_2x50000_in_worker_s"] = round(time.perf_counter() - t0, 2)
    finally:
        svc.worker.close()
    # a failed alignment at the same size: a random orthogonal W, nothing anchored, so the
    # source rows get their own UMAP (the island) beside the targets'; a fresh worker again
    wrong = (x @ random_rotation(x.shape[1], np.random.default_rng(1)).T).astype(np.float32)
    svc = layouts.LayoutService(warm=False)
    try:
        _fresh_map(svc, wrong, t, gp, "map_2x50000_failed", out)
    finally:
        svc.worker.close()
    out.update(big_text_map())
    out["load_avg_after_2x50000"] = os.getloadavg()[0]
    return out


def big_text_map() -> dict:
    """A 2 × 50,000 map that gets parted (step 5 of the anchored map): two real text
    encoders of ../shared/data/text (MiniLM → e5), centred with the mean of the first 10,000
    texts, Procrustes on the first 1,000 paired texts, the last 50,000 drawn (5,000 identity
    queries); from a fresh worker. In the aligned space a mapped text's 15 neighbours are
    nearly all mapped texts (mixing ≈ 0.05), so the anchored sources must be moved off the
    targets: the cost the good floret map above does not pay."""
    import numpy as np

    from alignment_core.mapping import procrustes
    from alignment_core.retrieval import normalize_rows
    from ui import layouts

    d = ROOT.parent / "shared" / "data" / "text"
    a = np.load(d / "wordnet.minilm.npy", allow_pickle=False).astype(np.float32)
    b = np.load(d / "wordnet.e5.npy", allow_pickle=False).astype(np.float32)
    a, b = normalize_rows(a - a[:10_000].mean(0)), normalize_rows(b - b[:10_000].mean(0))
    mapped = (a[-50_000:] @ procrustes(a[:1000], b[:1000]).T).astype(np.float32)
    t = np.ascontiguousarray(b[-50_000:])
    q = np.sort(np.random.default_rng(0).choice(50_000, 5000, replace=False))
    gp = np.stack([q, q], axis=1)
    out: dict = {}
    svc = layouts.LayoutService(warm=False)
    try:
        key = _fresh_map(svc, mapped, t, gp, "map_2x50000_texts", out)
        t0 = time.perf_counter()
        svc.map(mapped, t, key, gp, n_neighbors=15).result()
        out["map_2x50000_texts_cached_s"] = round(time.perf_counter() - t0, 4)
    finally:
        svc.worker.close()
    return out


def main() -> None:
    os.environ.setdefault("ALIGNSCOPE_CACHE", str(ROOT / ".cache" / "bench"))
    if "--big-only" in sys.argv:        # only the 2 × 50,000 maps
        print(json.dumps(big_map(), indent=2))
        return
    out: dict = {"cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}

    # -- UMAP cold: a fresh worker process, no warm-up (numba JIT included)
    import numpy as np

    from alignment_core.io import load_embeddings
    from ui import layouts

    a = load_embeddings(ROOT / "sample_data" / "fi.10k.vec.gz", lowercase=True).normalize().vectors[:5000]
    b = load_embeddings(ROOT / "sample_data" / "fr.10k.vec.gz", lowercase=True).normalize().vectors[:5000]
    cold = layouts.LayoutService(warm=False)
    t0 = time.perf_counter()
    cold.map(a, b, layouts.map_key(a, b, None, "anchored")).result()
    out["map_2x5000_cold_fresh_worker_no_warmup_s"] = round(time.perf_counter() - t0, 2)
    cold.worker.close()

    # -- UMAP through the app's layout service: warm-up at start, then a new map, then cached
    svc = layouts.LayoutService(warm=True)
    t0 = time.perf_counter()
    svc.warmed.result()
    out["umap_worker_start_and_warmup_s"] = round(time.perf_counter() - t0, 2)
    from alignment_core.dictionary import load_dictionary
    from alignment_core.runs import RunConfig, execute

    from alignment_core.faithfulness import gold_pairs

    res = execute(RunConfig(), load_embeddings(ROOT / "sample_data" / "fi.10k.vec.gz", lowercase=True),
                  load_embeddings(ROOT / "sample_data" / "fr.10k.vec.gz", lowercase=True),
                  load_dictionary(ROOT / "sample_data" / "fi-fr.train.txt"), None, per_word=False)
    sa, tb = res.aligned_source()[:5000], res.tgt.vectors[:5000]
    gp = gold_pairs(res.src.words[:5000], res.tgt.words[:5000],
                    load_dictionary(ROOT / "sample_data" / "fi-fr.test.txt").lowercased().pairs)
    t0 = time.perf_counter()
    m = svc.map(sa, tb, layouts.map_key(sa, tb, gp, "anchored", 15), gp, n_neighbors=15).result()
    out["map_2x5000_cold_after_warmup_s"] = round(time.perf_counter() - t0, 2)
    out["map_2x5000_layout_s"] = m.layout_seconds
    out["map_2x5000_faithfulness"] = m.faithfulness
    t0 = time.perf_counter()
    svc.map(sa, tb, layouts.map_key(sa, tb, gp, "anchored", 15), gp, n_neighbors=15).result()
    out["map_2x5000_warm_cached_s"] = round(time.perf_counter() - t0, 4)
    t0 = time.perf_counter()
    j = svc.map(sa, tb, layouts.map_key(sa, tb, gp, "joint", 15), gp, layout="joint", n_neighbors=15).result()
    out["joint_umap_2x5000_after_warmup_s"] = round(time.perf_counter() - t0, 2)
    out["joint_umap_2x5000_faithfulness"] = j.faithfulness
    svc.worker.close()
    pts = np.vstack([sa, tb]).astype(np.float32)
    from alignment_core import projection as P

    t0 = time.perf_counter()
    P.pca_2d(pts)
    out["pca_2x5000_s"] = round(time.perf_counter() - t0, 3)

    _v2_navigation()
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    renders: dict = {}
    t0 = time.perf_counter()
    at.run()
    renders["data_first_visit_with_sample_parse"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    at.run()
    renders["data_rerun"] = time.perf_counter() - t0
    for page in ("align", "evaluate", "explore"):
        at.switch_page(f"pages/{page}.py")
        t0 = time.perf_counter()
        at.run()
        renders[f"{page}_before_any_run"] = time.perf_counter() - t0

    # -- supervised run: click → numbers on the page
    at.switch_page("pages/align.py").run()
    t0 = time.perf_counter()
    at.button(key="start").click().run()
    sd = at.session_state["alignscope"]
    while not sd.job.done:
        time.sleep(0.5)          # the page's fragment polls every 0.5 s
        at.run()
    at.run()
    shown = {m.label: m.value for m in at.sidebar.metric}
    out["supervised_run_click_to_numbers_s"] = round(time.perf_counter() - t0, 2)
    out["supervised_run_numbers"] = shown
    out["supervised_run_timings"] = {k: round(v, 2) for k, v in sd.runs[max(sd.runs)].result.timings.items()}

    for page in ("align", "evaluate", "diagnostics", "explore", "data"):
        at.switch_page(f"pages/{page}.py")
        t0 = time.perf_counter()
        at.run()
        renders[f"{page}_after_run"] = time.perf_counter() - t0
        assert not at.exception, [e.value for e in at.exception]
    out["page_render_s"] = {k: round(v, 3) for k, v in renders.items()}

    if "--no-big" not in sys.argv:
        out.update(big_map())
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["load_avg_end"] = os.getloadavg()[0]
    out["targets"] = {"page_render_s": 2.0, "map_cold_s": 20.0, "map_after_warmup_s": 10.0, "map_cached_s": 1.0,
                      "map_2x50000_cold_s": 60.0, "map_2x50000_cached_s": 1.0}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
