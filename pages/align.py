"""Align: pick a method, start it in the background, watch it, keep and compare runs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from alignment_core.errors import AlignScopeError
from alignment_core.methods import method_classes
from alignment_core.runs import FALLBACK_IDENTICAL_MIN, RunConfig
from ui import common, figures, layouts, loaders, params, watchdog
from ui import state as S
from ui.jobs import AlignJob

common.ensure_navigation()
sd = S.get()
st.title("Align")
if not common.need_data():
    st.stop()

avail = layouts.available_methods()
usable = [m for m, why in avail.items() if not why]
missing = {m: why for m, why in avail.items() if why}
LABELS = {"procrustes": "Supervised Procrustes", "muse": "MUSE (unsupervised start + CSLS refinement)",
          "mini-vec2vec": "mini-vec2vec"}

job: AlignJob | None = sd.job
running = job is not None and not job.done


# ---------------------------------------------------------------- live view of a running job
@st.fragment(run_every=0.5)
def live_view() -> None:
    j: AlignJob | None = S.get().job
    if j is None:
        return
    if j.done:
        common.harvest_job()
        st.rerun(scope="app")
    snaps = j.snapshots()
    last = snaps[-1] if snaps else None
    elapsed = (j.finished or time.perf_counter()) - j.started
    if last is None:
        st.progress(0.0, text=f"{j.name}: preparing (normalizing, seeding)… {elapsed:.0f}s")
    else:
        frac = min(1.0, last.step / max(1, last.total))
        st.progress(frac, text=f"{j.name} · stage **{last.stage}** step {last.step}/{last.total} · "
                               f"{elapsed:.0f}s" + (" · cancelling…" if j.cancel_event.is_set() else ""))
        nums = " · ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                          for k, v in last.metrics.items())
        st.caption(nums + (f" — {last.message}" if last.message else ""))
        st.plotly_chart(figures.live_metrics(snaps), key="live_chart", config={"displayModeBar": False})
        c1, c2 = st.columns(2)
        ent = next((s for s in reversed(snaps) if s.entered or s.left), None)
        with c1:
            st.markdown("**Pairs that entered the dictionary at the last change**")
            st.dataframe(pd.DataFrame(ent.entered if ent else [], columns=["source", "target"]),
                         hide_index=True, height=180, width="stretch")
        with c2:
            st.markdown("**Pairs that left it**")
            st.dataframe(pd.DataFrame(ent.left if ent else [], columns=["source", "target"]),
                         hide_index=True, height=180, width="stretch")
        frames, labels = j.frames()
        if frames and j.frame_targets is not None:
            st.markdown("**Dictionary words on the move** (PCA frame of the translations)")
            st.plotly_chart(figures.animation(frames, labels, j.frame_targets, j.frame_words), key="live_anim")
    if st.button("Cancel (keep the best mapping so far)", key="cancel_run", disabled=j.cancel_event.is_set()):
        j.cancel()


def _split_form(method: str) -> dict:
    """Paired items: the held-out test set and the training pairs (vec2vec protocol)."""
    from alignment_core.items import DEFAULT_TEST_SIZE, effective_test_size, id_pairs

    n_pairs = len(id_pairs(sd.src.emb, sd.tgt.emb))
    unsup = method != "procrustes"
    opts = ["all", "K", "none"]
    labels = {"all": "all the non-test pairs (supervised)",
              "K": "K pairs, plus the unpaired rest of both sides (semi-supervised)",
              "none": "none: the rest is split into disjoint unpaired halves (unsupervised)"}
    c1, c2, c3, c4 = st.columns([2.4, 1, 1, 1])
    mode = c1.radio("Training pairs", opts[1:] if unsup else opts[:2], format_func=labels.get,
                    index=1 if unsup else 0, key=f"train_mode_{method}")
    k = c2.number_input("K", min_value=1, value=30 if unsup else 1000, step=10, key=f"train_k_{method}",
                        disabled=mode != "K")
    test = c3.number_input("held-out test pairs", min_value=1, value=DEFAULT_TEST_SIZE, step=512, key="test_size",
                           help="no method ever sees them; at most a quarter of the pairs are held out")
    split_seed = c4.number_input("split seed", min_value=0, value=0, step=1, key="split_seed")
    t = effective_test_size(n_pairs, int(test)) if n_pairs >= 2 else 0
    rest = max(0, n_pairs - t)
    if mode == "all":
        st.caption(f"{n_pairs:,} paired ids: {t:,} held out for testing, Procrustes on the other {rest:,} pairs.")
    elif mode == "K":
        kk = min(int(k), rest)
        st.caption(f"{n_pairs:,} paired ids: {t:,} held out, {kk:,} training pairs, and the other "
                   f"{rest - kk:,} items split into disjoint halves ({(rest - kk) // 2:,} per side, no pair).")
    else:
        st.caption(f"{n_pairs:,} paired ids: {t:,} held out; the source keeps {rest // 2:,} of the others and the "
                   f"target the other {rest - rest // 2:,}: no training pair exists.")
    return {"test_size": int(test), "seed": int(split_seed),
            "train_pairs": None if mode == "all" else (int(k) if mode == "K" else 0)}


if running:
    st.subheader(f"Running: {job.name}")
    live_view()
else:
    if job is not None and job.status == "error":
        st.error(f"{job.name}: {job.error}", icon=":material/error:")
    # ------------------------------------------------------------ the run form
    st.subheader("New run")
    if missing:
        st.caption("Not available in this build: " + ", ".join(sorted(missing)) +
                   " (their modules are not installed yet).")
    method = st.radio("Method", usable, format_func=lambda m: LABELS.get(m, m), horizontal=True, key="method")
    st.caption(params.DESCRIPTIONS.get(method, ""))
    _, cfg_cls = method_classes(method)
    chosen = params.method_form(method, cfg_cls, key="p")

    supervised = method == "procrustes"
    split = None
    fallback = "identical"     # RunConfig's default; only a run on words with no seed pair uses it
    if sd.items:
        split = _split_form(method)
    seed_opts = (["all", "N pairs", "identical"] if supervised else ["none", "N pairs", "identical"])
    if sd.items:
        seeds = "none"
        rand_seed = st.number_input("random seed (of the method)", min_value=0, value=0, step=1, key="rand_seed")
        if split["train_pairs"] == 0:
            st.caption("Fully unsupervised between two encoders: no pair at all, only the two unpaired halves. "
                       "The result says whether it is likely to have worked (held-out top-1 is measured "
                       "after the run, never used to choose).")
            if method == "mini-vec2vec":
                from alignment_core.runs import ITEMS_UNSUPERVISED_DEFAULTS
                dflt = ITEMS_UNSUPERVISED_DEFAULTS["mini-vec2vec"]
                st.caption(f"With no pair, mini-vec2vec uses what gets off chance between two encoders unless "
                           f"you set it: init = `{dflt['init']}` (independent components of each space, matched "
                           f"as two co-occurrence graphs) and {dflt['csls_refinements']} CSLS refinement rounds; "
                           f"about 4 minutes on the full WordNet pair (docs/unsupervised-encoders.md).")
    else:
        seed_labels = {"all": "the whole seed dictionary", "none": "none (fully unsupervised)",
                       "N pairs": "the first N source words of the seed dictionary",
                       "identical": "identical strings (words spelled the same in both)"}
        c1, c2, c3 = st.columns([2, 1, 1])
        seed_mode = c1.radio("Seed pairs", seed_opts, format_func=seed_labels.get, key=f"seeds_{method}")
        n_seed = c2.number_input("N", min_value=1, value=500, step=100, key="n_seeds",
                                 disabled=seed_mode != "N pairs")
        rand_seed = c3.number_input("random seed", min_value=0, value=0, step=1, key="rand_seed")
        seeds = int(n_seed) if seed_mode == "N pairs" else seed_mode
        if seed_mode in ("all", "N pairs") and sd.seed is None:
            st.warning("No seed dictionary is loaded (Data page): choose identical strings, or load one.")
        if seed_mode == "identical" and method in common.IDENTICAL_SEEDS_CAPTION:
            st.caption(common.IDENTICAL_SEEDS_CAPTION[method])
        if seed_mode == "none":
            st.caption(common.UNSUPERVISED_WORDS_CAPTION.get(method, ""))
            fallback = "identical" if st.checkbox(
                "if it likely failed, run again with the identical strings as seed pairs", value=True,
                key="fallback",
                help="Decided by the run's verdict (unsupervised evidence only, never the evaluation "
                     f"dictionary), when the vocabularies share at least {FALLBACK_IDENTICAL_MIN} words spelled "
                     "the same (numerals, names). The result then says so and keeps the first run's verdict."
            ) else "none"
        if sd.eval is None:
            st.caption("No evaluation dictionary: the run will not report precision.")

    default_name = f"{method} #{len(sd.runs) + 1}"
    name = st.text_input("Run name", value=default_name, key=f"run_name_{len(sd.runs)}_{method}")
    if st.button("Start", type="primary", key="start"):
        try:
            config = RunConfig(method=method, params=chosen, seeds="all" if sd.items else seeds,
                               normalize=sd.normalize, max_vocab=sd.max_vocab,
                               lowercase=False if sd.items else sd.lowercase, seed=int(rand_seed),
                               src=sd.src.name, tgt=sd.tgt.name,
                               seed_dict=sd.seed.name if sd.seed else None,
                               eval_dict=sd.eval.name if sd.eval else None,
                               pairs="ids" if sd.items else None, split=split, fallback=fallback)
            config.method_config()  # validate the parameters before starting
            seed_dict = sd.seed.dictionary if (sd.seed and seeds != "identical") else None
            sd.job = AlignJob(name.strip() or default_name, config, sd.src.emb, sd.tgt.emb, seed_dict,
                              sd.eval.dictionary if sd.eval else None,
                              animation_dict=(sd.eval or sd.seed).dictionary if (sd.eval or sd.seed) else None
                              ).start()
            watchdog.watch(sd.job)  # a closed tab's run is cancelled once its session expires
            st.rerun()
        except AlignScopeError as e:
            st.error(str(e), icon=":material/error:")
        except TypeError as e:
            st.error(f"invalid parameter: {e}", icon=":material/error:")

# ---------------------------------------------------------------- runs of this session
st.divider()
st.subheader("Runs in this session")
if not sd.runs:
    st.caption("No finished run yet.")
else:
    st.dataframe(common.runs_table(), hide_index=True, width="stretch")
    rec = common.run_picker("Details of run", key="align_pick")
    r = rec.result
    if r.cancelled:
        st.info("This run was cancelled; it keeps the best mapping found before the cancel.")
    cols = st.columns(4)
    if r.evaluation is not None:
        for col, rule in zip(cols, ("nn", "csls", "isf")):
            col.metric(f"P@1 {rule}", f"{r.evaluation.scores[rule]['p@1']:.1f}")
    cols[3].metric("time (s)", f"{rec.cache.get('seconds', r.timings['total_s']):.1f}")
    common.verdict(r)
    truth = loaders.truth_for(r)
    if truth is not None:   # the synthetic teaching pair: the known answer R
        err = float(np.linalg.norm(r.w - truth))
        per = err / np.sqrt(truth.shape[0])
        reading = ("recovered: W is the true rotation up to the noise" if per < 0.1 else
                   "not recovered: as far from R as a random rotation (√2 ≈ 1.41)" if per > 1.0 else
                   "partly recovered")
        c1, c2 = st.columns(2)
        c1.metric("‖W − R‖_F (known answer)", f"{err:.3f}")
        c2.metric("‖W − R‖_F / √d", f"{per:.4f}")
        st.caption(f"Synthetic pair with a known answer: {reading}.")
    if r.history:
        st.plotly_chart(figures.live_metrics(r.history), key="hist_chart", config={"displayModeBar": False})
    if rec.frames and rec.cache.get("frame_targets") is not None:
        with st.expander("Animated map: the mapped source words moving toward their translations", expanded=True):
            labels = [lab for lab, _ in rec.frames]
            st.plotly_chart(figures.animation([f for _, f in rec.frames], labels, rec.cache["frame_targets"],
                                              rec.frame_words), key="done_anim")
    new_name = st.text_input("Rename", value=rec.name, key=f"rename_{rec.rid}")
    if new_name.strip() and new_name.strip() != rec.name:
        rec.name = new_name.strip()
        st.rerun()
    st.markdown("**Downloads**")
    common.downloads(rec, key=f"dl_align_{rec.rid}")
