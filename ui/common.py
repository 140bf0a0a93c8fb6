"""Shared page pieces: the sidebar, run selection, downloads, the runs table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from . import exports
from . import state as S

#: what a word run with no seed pair does by default, shown under the seed choice (Align page)
UNSUPERVISED_WORDS_CAPTION = {
    "muse": "With no seed, MUSE's default preset `ica` does not play the adversarial game: it starts "
            "from independent components matched between the two spaces, refines each candidate start "
            "with CSLS dictionaries, and keeps the pairs the candidates agree on (the bundled Finnish–French "
            "sample: CSLS P@1 about 54 in about a minute; Finnish 50k → French 20k: about 30 in 2–3 minutes, "
            "on two cores; docs/defaults.md). The presets `small`, "
            "`fast` and `paper` play the paper's game instead (`small` succeeds on this pair about one "
            "game in three). The result says whether the run is likely to have worked.",
    "mini-vec2vec": "With no seed, mini-vec2vec uses unless you set `init`: init = `ica` (independent "
                    "components matched between the two spaces instead of k-means anchors, which fail on "
                    "distant pairs), each candidate refined with CSLS dictionaries and the consensus of "
                    "the candidates (ica consensus, 5 rounds a candidate, polish 8, the 15,000 most frequent "
                    "words): recorded in the run's config. The result says whether it is likely to have worked.",
}
#: mini-vec2vec with the identical strings as seed pairs: the word defaults too (docs/defaults.md)
IDENTICAL_SEEDS_CAPTION = {
    "mini-vec2vec": "With the identical strings as seed pairs (a few numerals and names, added to every step), "
                    "mini-vec2vec uses the same settings as with no seed unless you set `init`: init = `ica`, "
                    "ica consensus, 5 CSLS rounds a candidate, polish 8, the 15,000 most frequent words "
                    "(Finnish → French: CSLS P@1 about 33, against about 23 with the k-means anchors).",
}


def ensure_navigation() -> None:
    """Call first in every page. On a fresh server, Streamlit's legacy ``pages/`` mode
    (multipage v1) is on until ``st.navigation`` runs once, so the very first request for
    a page URL runs that page alone, without ``app.py``. Switch the legacy mode off, as
    ``st.navigation`` itself does, and rerun through ``app.py``."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def harvest_job() -> None:
    """If the background job has finished, file its result as a run (once)."""
    sd = S.get()
    job = sd.job
    if job is None or not job.done or getattr(job, "_harvested", False):
        return
    job._harvested = True
    if job.result is not None:
        rid = sd.next_id()
        frames, labels = job.frames()
        rec = S.RunRecord(rid, job.name, job.result, job.baseline, job.baseline_note,
                          frames=list(zip(labels, frames)), frame_words=list(job.frame_words))
        rec.cache["frame_targets"] = job.frame_targets
        rec.cache["seconds"] = job.finished - job.started
        if job.retriever is not None:
            rec.cache["retriever"] = job.retriever
        rec.cache["raw"] = job.raw_sets()   # the sets as loaded (immutable): the curve re-splits them
        sd.runs[rid] = rec
        sd.selected = rid


def sidebar() -> None:
    sd = S.get()
    harvest_job()
    with st.sidebar:
        st.markdown("### Loaded")
        for label, ls in (("source", sd.src), ("target", sd.tgt)):
            if ls is None:
                st.caption(f"{label}: nothing loaded")
            else:
                st.caption(f"**{label}**: {ls.name} · {len(ls.emb):,} × {ls.emb.dim}"
                           + (" (sample)" if ls.origin == "sample" else ""))
        if sd.items:
            st.caption(f"**texts**: {sd.texts_name} · {len(sd.texts):,}" if sd.texts else "texts: none")
        for label, ld in (() if sd.items else (("seed dict", sd.seed), ("eval dict", sd.eval))):
            if ld is not None:
                st.caption(f"**{label}**: {ld.name} · {len(ld.dictionary):,} pairs")
            else:
                st.caption(f"{label}: none")
        job = sd.job
        if job is not None and not job.done:
            st.markdown("### Running")
            st.caption(f"{job.name}: {job.config.method} (see Align)")
        last = sd.last_run()
        st.markdown("### Last run")
        if last is None:
            st.caption("no run yet")
        else:
            ev = last.result.evaluation
            st.caption(f"**{last.name}** · {last.result.config.method}"
                       + (" · cancelled" if last.result.cancelled else ""))
            if last.result.paired is not None:
                t = last.result.paired["test"]
                cols = st.columns(2)
                cols[0].metric("top-1 nn", f"{t.scores['nn']['top@1']:.1f}")
                cols[1].metric("top-1 csls", f"{t.scores['csls']['top@1']:.1f}")
                st.caption(f"{t.n_pairs:,} held-out pairs · mean rank {t.scores['nn']['mean_rank']:.1f}")
            elif ev is not None:
                cols = st.columns(3)
                for col, rule in zip(cols, ("nn", "csls", "isf")):
                    col.metric(f"P@1 {rule}", f"{ev.scores[rule]['p@1']:.1f}")
            else:
                st.caption("no evaluation dictionary: no precision")


def run_picker(label: str = "Run", key: str = "run_pick") -> S.RunRecord | None:
    sd = S.get()
    if not sd.runs:
        return None
    ids = sorted(sd.runs, reverse=True)
    cur = sd.selected if sd.selected in sd.runs else ids[0]
    rid = st.selectbox(label, ids, index=ids.index(cur), format_func=lambda i: f"#{i} {sd.runs[i].name}",
                       key=key)
    sd.selected = rid
    return sd.runs[rid]


def runs_table() -> pd.DataFrame:
    sd = S.get()
    rows = []
    for rid, rec in sorted(sd.runs.items()):
        r = rec.result
        row = {"#": rid, "name": rec.name, "method": r.config.method, "seeds": str(r.config.seeds),
               "seed pairs": r.seed_pairs, "induced pairs": len(r.induced),
               "criterion": None if r.criterion is None or r.criterion == float("-inf") else round(r.criterion, 4),
               "time (s)": round(rec.cache.get("seconds", r.timings.get("total_s", 0.0)), 1),
               "cancelled": r.cancelled}
        if r.paired is not None:
            t = r.paired["test"]
            row["split"] = r.split.get("setting")
            for rule in ("nn", "csls"):
                row[f"{rule} top-1"] = t.scores[rule]["top@1"]
                row[f"{rule} mean rank"] = t.scores[rule]["mean_rank"]
            row["mean cos"] = t.mean_cos
        elif r.evaluation is not None:
            for rule in ("nn", "csls", "isf"):
                for k in (1, 10):
                    row[f"{rule} P@{k}"] = r.evaluation.scores[rule][f"p@{k}"]
        rows.append(row)
    return pd.DataFrame(rows)


def downloads(rec: S.RunRecord, key: str) -> None:
    """The run's files: mapping, aligned vectors, induced dictionary, result/config JSON,
    per-word CSV. Payloads are built only when asked (lazy callables)."""
    r = rec.result
    stem = exports.file_stem(rec.rid, r.config.method)
    c = st.columns(6)
    c[0].download_button("mapping .npy", data=lambda: exports.mapping_npy(r.w), file_name=f"{stem}-mapping.npy",
                         mime="application/octet-stream", key=f"{key}_npy", on_click="ignore")
    c[1].download_button("aligned vectors", data=lambda: exports.aligned_vectors(r), file_name=f"{stem}-aligned.vec",
                         mime="text/plain", key=f"{key}_vec", on_click="ignore")
    c[2].download_button("induced dictionary", data=lambda: exports.induced_dictionary(r),
                         file_name=f"{stem}-induced.txt", mime="text/plain", key=f"{key}_dict", on_click="ignore")
    c[3].download_button("result.json", data=lambda: exports.result_json(r), file_name=f"{stem}-result.json",
                         mime="application/json", key=f"{key}_res", on_click="ignore")
    c[4].download_button("config.json", data=lambda: exports.config_json(r), file_name=f"{stem}-config.json",
                         mime="application/json", key=f"{key}_cfg", on_click="ignore")
    per_word = r.evaluation.per_word if r.evaluation is not None else []
    c[5].download_button("per-word CSV", data=lambda: exports.per_word_csv(per_word),
                         file_name=f"{stem}-per-word.csv", mime="text/csv", key=f"{key}_csv",
                         disabled=not per_word, on_click="ignore")


def need_data() -> bool:
    """Show a note and return False when no pair is loaded."""
    sd = S.get()
    if not sd.ready():
        st.info("Load a source and a target set on the **Data** page first.")
        return False
    return True


def verdict(r) -> None:
    """A run's verdict (unsupervised runs: did it work, judged without the evaluation
    dictionary), after a note on the first run when this one is its fallback."""
    from alignment_core import success

    if r.fallback is not None:
        first = r.fallback["first"]
        reasons = " ".join(first["verdict"].get("reasons", [])[:2])
        st.info(f"**Run again with identical strings as seed pairs**: {r.fallback['reason']}. "
                f"The first run ({first['align_s']:.0f} s, no seed pair): "
                f"{success.HEADLINES.get(first['verdict']['status'], first['verdict']['status']).lower()}. "
                f"{reasons} (switch this off on the Align page: 'if it likely failed, run again…').",
                icon=":material/replay:")
    if r.verdict is not None:
        (st.success if r.verdict["status"] == "succeeded" else st.warning)(success.describe(r.verdict))
