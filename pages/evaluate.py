"""Evaluate: BLI precision of a run against "no alignment", per-word results, a word inspector."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from alignment_core.evaluation import precision_by_frequency
from ui import common, exports, figures, inspector
from ui import items as items_ui
from ui import state as S

common.ensure_navigation()
sd = S.get()
st.title("Evaluate")
if not sd.runs:
    st.info("No run yet: start one on the **Align** page (supervised Procrustes on the sample takes a few seconds).")
    st.stop()

rec = common.run_picker("Run", key="eval_pick")
r = rec.result
ev = r.evaluation
common.verdict(r)   # unsupervised runs: did it work, judged without the evaluation dictionary

# ---------------------------------------------------------------- paired items
if r.paired is not None:
    items_ui.paired_section(rec, sd)

# ---------------------------------------------------------------- precision
if r.paired is None:
    st.subheader("Bilingual lexicon induction (MUSE protocol)")
if ev is None:
    st.info("This run had no evaluation dictionary: load one on the Data page and run again.")
else:
    rows, bars = [], []
    settings = [(rec.name, ev)]
    if rec.baseline is not None:
        settings.append(("no alignment", rec.baseline))
    for label, res in settings:
        row = {"setting": label, "queries": res.n_queries}
        for rule in ("nn", "csls", "isf"):
            for k in (1, 5, 10):
                row[f"{rule} P@{k}"] = res.scores[rule][f"p@{k}"]
                bars.append({"setting": label, "rule": rule, "k": k, "value": res.scores[rule][f"p@{k}"]})
        rows.append(row)
    df = pd.DataFrame(rows).set_index("setting")
    if r.paired is None:
        st.table(df.style.format({c: "{:.1f}" for c in df.columns if c != "queries"}))
    if r.paired is not None:
        pass
    elif rec.baseline is None:
        st.caption(rec.baseline_note or "No 'no alignment' baseline for this run.")
    else:
        st.caption("'no alignment' retrieves with the normalized source vectors as they are (X·I): it is "
                   "meaningful only because both spaces have the same dimension, and is near zero for "
                   "independently trained spaces.")
    if r.eval_coverage and r.paired is None:
        c = r.eval_coverage
        st.caption(f"{ev.n_queries} query words; evaluation dictionary: {c['pairs_kept']}/{c['pairs_total']} "
                   f"pairs in the vocabularies (source OOV {c['dropped_src_oov']}, target OOV "
                   f"{c['dropped_tgt_oov']}, both {c['dropped_both_oov']}).")
    if r.paired is None:
        st.plotly_chart(figures.precision_bars(bars), key="prec_bars", config={"displayModeBar": False})

    # ------------------------------------------------------------ per-word table
    st.subheader("Per held-out item (against the held-out targets)" if r.paired is not None else "Per word")
    table = rec.cache.get("per_word_df")
    if table is None:
        table = exports.per_word_frame(ev.per_word)
        if r.paired is not None and sd.texts:
            table.insert(1, "text", [sd.label(i) for i in table["source"]])
            for rule in ("nn", "csls", "isf"):
                if f"pred_{rule}" in table:
                    table.insert(table.columns.get_loc(f"pred_{rule}") + 1, f"pred_{rule}_text",
                                 [sd.label(i) for i in table[f"pred_{rule}"]])
        rec.cache["per_word_df"] = table
    if not ev.per_word:   # evaluated without per-word results (a run from the CLI, or a test)
        st.caption("This run kept no per-word results: only the precision above.")
    else:
        c1, c2, c3 = st.columns([2, 1, 1])
        q = c1.text_input("search (source, gold or prediction)", key="pw_search").strip().lower()
        rule = c2.selectbox("rule", ["csls", "nn", "isf"], key="pw_rule")
        filt = c3.selectbox("show", ["all", "correct", "wrong", "near miss (gold at rank 2–10)"], key="pw_filter")
        view = table
        if q:
            cols = [c for c in ("source", "gold", f"pred_{rule}", "text", f"pred_{rule}_text") if c in view]
            mask = view[cols[0]].str.lower().str.contains(q, regex=False)
            for c in cols[1:]:
                mask |= view[c].str.lower().str.contains(q, regex=False)
            view = view[mask]
        rank = view[f"rank_{rule}"]
        if filt == "correct":
            view = view[rank == 1]
        elif filt == "wrong":
            view = view[rank > 1]
        elif filt.startswith("near"):
            view = view[(rank > 1) & (rank <= 10)]
        st.caption(f"{len(view)} of {len(table)} query words")
        st.dataframe(view, hide_index=True, width="stretch", height=320, key="per_word_table")
        with st.expander("P@1 by source frequency (thirds of the query words)"):
            st.dataframe(pd.DataFrame(precision_by_frequency(ev.per_word, rule=rule)), hide_index=True)

# ---------------------------------------------------------------- word inspector
st.subheader("Word inspector")
word = st.text_input("source word", value=(ev.per_word[0]["source"] if ev and ev.per_word else ""),
                     key="inspect_word").strip()
if word:
    if sd.lowercase and r.paired is None:
        word = word.lower()
    info = inspector.inspect_word(rec, word, sd)
    if info is None:
        st.warning(f"'{word}' is not in the source vocabulary ({len(r.src):,} words).")
    else:
        st.markdown(f"**{word}** (frequency rank {info['rank']}) · gold translations: "
                    + (", ".join(info["gold"]) if info["gold"] else "_none in the dictionaries_"))
        cols = st.columns(3)
        for col, rule_name in zip(cols, ("nn", "csls", "isf")):
            with col:
                st.markdown(f"**{rule_name}**")
                st.dataframe(pd.DataFrame(info["top"][rule_name], columns=["translation", "score", "gold"]),
                             hide_index=True, height=390, width="stretch")
        c1, c2 = st.columns(2)
        with c1:
            st.markdown("**Neighbours in the source space**")
            st.dataframe(pd.DataFrame(info["src_neighbours"], columns=["word", "cos"]), hide_index=True,
                         width="stretch")
        with c2:
            st.markdown("**Neighbours of its gold translation in the target space**")
            st.dataframe(pd.DataFrame(info["tgt_neighbours"], columns=["word", "cos"]), hide_index=True,
                         width="stretch")

st.divider()
st.markdown("**Downloads**")
common.downloads(rec, key=f"dl_eval_{rec.rid}")
