"""Diagnostics: hubness before/after alignment and under CSLS, isomorphism, the verdict."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from ui import common, figures
from ui import diagnostics as D
from ui import state as S

common.ensure_navigation()
sd = S.get()
st.title("Diagnostics")
if not sd.runs:
    st.info("Diagnostics describe a run: start one on the **Align** page first.")
    st.stop()

rec = common.run_picker("Run", key="diag_pick")
r = rec.result
n_max = min(len(r.src), len(r.tgt))
c1, c2 = st.columns([2, 1])
n = int(c1.number_input("words per side (most frequent)", min_value=100, max_value=max(100, n_max),
                        value=min(5000, n_max), step=1000, key="diag_n",
                        help="Hubness and the isomorphism measures use the N most frequent words of each side; "
                             "the verdict's thresholds are calibrated for 5,000."))
tasks: dict = rec.cache.setdefault("diag_tasks", {})
task = tasks.get(n)
if c2.button("Run diagnostics", type="primary", key="diag_start", disabled=task is not None and not task.done):
    task = tasks[n] = D.start(rec, sd, n)

if task is None:
    st.caption("Hubness (N_k), isomorphism measures and a verdict on whether unsupervised alignment can work "
               "here; about 10–30 s on the sample, in the background.")
    st.stop()

if not task.done:
    @st.fragment(run_every=0.5)
    def progress() -> None:
        if task.done:
            st.rerun(scope="app")
        msgs = task.messages()
        st.progress(min(0.95, len(msgs) / 8), text=f"{task.name}: {msgs[-1] if msgs else 'starting'} · "
                                                   f"{time.perf_counter() - task.started:.0f}s")

    progress()
    st.stop()

if task.status == "error":
    st.error(task.error, icon=":material/error:")
    if st.button("try again", key="diag_retry"):
        tasks.pop(n, None)
        st.rerun()
    st.stop()

out = task.result
after = out["after"]

# ---------------------------------------------------------------- verdict
st.subheader("Verdict")
v_after, v_before = after["verdict"], out["verdict_before"]
box = {"likely": st.success, "uncertain": st.warning, "unlikely": st.error}
c1, c2 = st.columns(2)
with c1:
    st.markdown("**Before alignment** (judged from the two spaces alone)")
    box.get(v_before["unsupervised"], st.info)(v_before["text"])
with c2:
    st.markdown(f"**After alignment** ({rec.name}: adds the mapping's precision and failure analysis)")
    box.get(v_after["unsupervised"], st.info)(v_after["text"])

# ---------------------------------------------------------------- hubness
st.subheader("Hubness")
hb_before, hb_after = out["before_hubness"], after["hubness"]
before_what = ("the unmapped source (W = I) searched against the target" if r.src.dim == r.tgt.dim
               else "the target searched against itself (the dimensions differ, so no unmapped retrieval)")
st.caption(f"k = {hb_after['k']}; a hub is a target with {hb_after['hub_definition']} (twice its fair share). "
           f"Before: {before_what}. After: {hb_after['retrieval']}. Each query's 10 nearest targets under "
           f"each rule; CSLS and the inverted softmax exist to lower hubness.")
rows = []
for label, hb in (("before", hb_before), ("after", hb_after)):
    for rule, res in hb["rules"].items():
        rows.append({"alignment": label, "rule": rule, "skewness": res["skewness"], "Robin Hood": res["robin_hood"],
                     "Gini": res["gini"], "hub occurrence": res["hub_occurrence"],
                     "antihub occurrence": res["antihub_occurrence"], "hubs": res["n_hubs"], "max N_k": res["max_nk"]})
st.table(pd.DataFrame(rows).set_index(["alignment", "rule"]).style.format(precision=3))
st.plotly_chart(figures.nk_histogram({f"after · {rule}": nk for rule, nk in out["nk_after"].items()
                                      if rule in ("nn", "csls")} | {"before · nn": out["nk_before"]["nn"]},
                                     k=hb_after["k"]), key="nk_hist", config={"displayModeBar": False})
c1, c2 = st.columns(2)
for col, rule in zip((c1, c2), ("nn", "csls")):
    with col:
        st.markdown(f"**Top hubs after alignment, {rule}**")
        hubs = hb_after["rules"][rule]["top_hubs"]
        st.dataframe(pd.DataFrame([{"hub": h["word"], "N_k": h["n_k"], "captured": ", ".join(map(str, h["captured"][:12]))}
                                   for h in hubs]), hide_index=True, width="stretch")

# ---------------------------------------------------------------- isomorphism
st.subheader("Isomorphism of the two spaces")
iso = after["isomorphism"]
measures = v_after.get("measures", {})
irows = []
for name, reading in D.READINGS.items():
    val = iso.get(name)
    if isinstance(val, dict):
        val = val.get("residual_relative")
    irows.append({"measure": name.replace("_", " "), "value": val,
                  "judgement": measures.get(name, {}).get("judgement", "—"), "reading": reading})
st.dataframe(pd.DataFrame(irows), hide_index=True, width="stretch",
             column_config={"reading": st.column_config.TextColumn(width="large")})
st.caption(f"On the {iso['n_words']['source']:,} / {iso['n_words']['target']:,} most frequent words, "
           f"{iso['normalization']}. These measures do not depend on the mapping. "
           f"Identical strings shared: {after['identical_strings']:,}.")

with st.expander("Full diagnostics report (JSON)"):
    st.json({k: v for k, v in after.items() if k not in ("per_word", "dictionary_residual_rows")}, expanded=False)
