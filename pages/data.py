"""Data: the two embedding sets and the dictionaries, with a validation report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from alignment_core.errors import AlignScopeError
from ui import common, loaders
from ui import state as S

common.ensure_navigation()
sd = S.get()
limit_mb = st.get_option("server.maxUploadSize")

st.title("Data")
st.caption(f"The bundled word sample (Finnish → French, 10,000 words each) is loaded on your first visit; "
           f"the encoder sample (two text encoders' embeddings of 8,000 WordNet glosses) is one click away. "
           f"Upload your own files below: **up to {limit_mb:,} MB per file**. Embeddings: word2vec/fastText "
           f"text (.vec, .txt, optionally .gz), word2vec binary (.bin), .npz (arrays 'vectors' and 'words'), "
           f".npy with its .vocab.txt, Parquet (an id column and a vector column). Dictionaries: "
           f"'source target' per line (space or tab).")

for msg in sd.messages:
    st.warning(msg)
sd.messages.clear()

# ---------------------------------------------------------------- what the rows are
KIND_LABELS = {"words": "words of two languages (a bilingual dictionary pairs them)",
               "items": "items with ids, embedded by two encoders (the ids pair them)"}
b1, b2, b3 = st.columns([2.2, 1.2, 1.2])
kind = b1.radio("The rows are", list(KIND_LABELS), format_func=KIND_LABELS.get, index=list(KIND_LABELS).index(sd.kind),
                key=f"kind_{sd.kind}", horizontal=False)
if kind != sd.kind:
    with st.spinner("re-reading the loaded sets"):
        for err in loaders.set_kind(kind):
            sd.messages.append(err)
    st.rerun()
if b2.button("Load the word sample (fi → fr)", key="reload_sample"):
    try:
        loaders.load_sample()
        st.rerun()
    except AlignScopeError as e:
        st.error(str(e))
if b3.button("Load the encoder sample (MiniLM → e5)", key="load_items_sample"):
    try:
        loaders.load_items_sample()
        st.rerun()
    except AlignScopeError as e:
        st.error(str(e))
if sd.items:
    st.caption("Items: an id is an identifier, never lowercased; a duplicate id is an error. The items whose "
               "id is on both sides are the pairs; the Align page splits them into held-out test items and "
               "training items (or unpaired halves), as vec2vec and mini-vec2vec do.")

# ---------------------------------------------------------------- options
with st.expander("Options: vocabulary size, lowercase, normalization", expanded=False):
    c1, c2, c3 = st.columns(3)
    max_vocab = c1.number_input("max vocabulary (first N rows)", min_value=100, max_value=2_000_000,
                                value=sd.max_vocab, step=10_000, key="opt_max_vocab")
    lowercase = c2.toggle("lowercase words (keep the most frequent spelling)", value=sd.lowercase,
                          key="opt_lowercase", disabled=sd.items,
                          help="ids of items are never lowercased" if sd.items else None)
    if sd.items:
        lowercase = sd.lowercase
    presets = ["renorm,center,renorm", "renorm", "center,renorm", "iternorm", "renorm,iternorm", "none"]
    cur = sd.normalize if sd.normalize in presets else "renorm,center,renorm"
    norm = c3.selectbox("normalization, in order", presets, index=presets.index(cur), key="opt_norm",
                        help="renorm: unit length; center: subtract the mean; iternorm: 5 × (center, renorm) "
                             "(Zhang et al. 2019). MUSE and VecMap use renorm, center, renorm.")
    if int(max_vocab) != sd.max_vocab or bool(lowercase) != sd.lowercase:
        sd.max_vocab, sd.lowercase = int(max_vocab), bool(lowercase)
        with st.spinner("re-reading the loaded sets"):
            for err in loaders.reload_sets():
                st.error(err)
    sd.normalize = norm
    st.caption(f"normalization used by the next run: `{sd.normalize}`")

# ---------------------------------------------------------------- uploads


def _embedding_upload(side: str, label: str) -> None:
    f = st.file_uploader(label, type=loaders.EMBEDDING_TYPES, key=f"up_{side}")
    vocab = None
    if f is not None and f.name.lower().endswith(".npy"):
        v = st.file_uploader(f"word list for {f.name} (.vocab.txt)", type=["txt"], key=f"up_{side}_vocab")
        if v is None:
            st.info(loaders.check_upload_pair(f.name))
            return
        vocab = v.getvalue()
    if f is None:
        return
    marker = (f.file_id, None if vocab is None else len(vocab))
    if st.session_state.get(f"done_{side}") == marker:
        return  # already handled this upload
    st.session_state[f"done_{side}"] = marker
    try:
        with st.spinner(f"reading {f.name}"):
            loaders.load_set(side, f.getvalue(), f.name, "upload", vocab=vocab)
        st.session_state[f"err_{side}"] = None
    except AlignScopeError as e:
        st.session_state[f"err_{side}"] = str(e)
    else:
        st.rerun()  # the sidebar (drawn before the page) shows the new set at once


def _dict_upload(which: str, label: str) -> None:
    f = st.file_uploader(label, type=loaders.DICT_TYPES, key=f"up_{which}")
    if f is None:
        return
    if st.session_state.get(f"done_{which}") == f.file_id:
        return
    st.session_state[f"done_{which}"] = f.file_id
    try:
        loaders.load_dict(which, f.getvalue(), f.name, "upload")
        st.session_state[f"err_{which}"] = None
    except AlignScopeError as e:
        st.session_state[f"err_{which}"] = str(e)
    else:
        st.rerun()


def _texts_upload() -> None:
    f = st.file_uploader("Texts of the items (id<TAB>text per line, or Parquet with id and text columns): "
                         "shown wherever an id is", type=loaders.TEXTS_TYPES, key="up_texts")
    if f is None or st.session_state.get("done_texts") == f.file_id:
        return
    st.session_state["done_texts"] = f.file_id
    try:
        loaders.load_texts(f.getvalue(), f.name)
        st.session_state["err_texts"] = None
    except AlignScopeError as e:
        st.session_state["err_texts"] = str(e)
    else:
        st.rerun()


c1, c2 = st.columns(2)
with c1:
    _embedding_upload("src", "Source embeddings" + (" (e.g. the old model)" if sd.items else ""))
    if not sd.items:
        _dict_upload("seed", "Seed dictionary (for supervised runs)")
with c2:
    _embedding_upload("tgt", "Target embeddings" + (" (e.g. the new model)" if sd.items else ""))
    if not sd.items:
        _dict_upload("eval", "Evaluation dictionary (for precision)")
if sd.items:
    _texts_upload()

for slot, what in (("src", "source set"), ("tgt", "target set"), ("seed", "seed dictionary"),
                   ("eval", "evaluation dictionary"), ("texts", "texts file")):
    err = st.session_state.get(f"err_{slot}")
    if err:
        st.error(f"Could not load the {what}: {err}. The previous {what} is kept.", icon=":material/error:")
        if st.button("dismiss", key=f"dismiss_{slot}"):
            st.session_state[f"err_{slot}"] = None
            st.rerun()

if not sd.items and (sd.seed is not None or sd.eval is not None):
    if st.button("Remove dictionaries", key="drop_dicts"):
        sd.seed = sd.eval = None
        st.rerun()

# ---------------------------------------------------------------- validation report
st.subheader("Validation report")
rows = []
for label, ls in (("source", sd.src), ("target", sd.tgt)):
    if ls is None:
        continue
    rep = dict(ls.emb.report)
    rows.append({"set": label, "file": ls.name, "rows": len(ls.emb), "dimension": ls.emb.dim,
                 "format": rep.get("format", ""), "rows read": rep.get("rows_read", len(ls.emb)),
                 "duplicates dropped": rep.get("duplicates_dropped", 0),
                 "merged by lowercasing": rep.get("lowercase_merged", 0),
                 "zero vectors": rep.get("zero_vectors", 0)})
if rows:
    st.table(pd.DataFrame(rows).set_index("set"))
    if sd.ready() and sd.src.emb.dim != sd.tgt.emb.dim:
        st.info(f"The dimensions differ ({sd.src.emb.dim} vs {sd.tgt.emb.dim}): the mapping will be "
                "semi-orthogonal, and the 'no alignment' baseline does not exist.")
else:
    st.info("No embeddings loaded.")

if sd.items and sd.ready():
    from alignment_core.items import effective_test_size, id_pairs

    n_pairs = len(id_pairs(sd.src.emb, sd.tgt.emb))
    only_s, only_t = len(sd.src.emb) - n_pairs, len(sd.tgt.emb) - n_pairs
    labelled = sum(1 for w in sd.src.emb.words if sd.texts and w in sd.texts)
    st.table(pd.DataFrame([{"paired ids (on both sides)": n_pairs, "only in the source": only_s,
                            "only in the target": only_t,
                            "held out by default": effective_test_size(n_pairs) if n_pairs >= 2 else 0,
                            "texts": f"{sd.texts_name}: {labelled:,} source ids labelled" if sd.texts else "none"}]))
    if n_pairs < 2:
        st.warning("Fewer than two ids are on both sides: the two files do not embed the same items "
                   "(ids are compared exactly).")

drows = []
for label, which in (("seed", "seed"), ("evaluation", "eval")):
    ld = getattr(sd, which)
    if ld is None:
        continue
    cov = loaders.coverage_for(which)
    row = {"dictionary": label, "file": ld.name, "pairs": len(ld.dictionary),
           "source words": len(ld.dictionary.sources),
           "duplicate pairs dropped": ld.dictionary.duplicate_pairs}
    if cov is not None:
        row.update({"pairs kept": cov.pairs_kept, "source words kept": cov.unique_src_kept,
                    "dropped: source OOV": cov.dropped_src_oov, "dropped: target OOV": cov.dropped_tgt_oov,
                    "dropped: both OOV": cov.dropped_both_oov})
    drows.append(row)
if sd.items:
    pass
elif drows:
    st.table(pd.DataFrame(drows).set_index("dictionary"))
    if sd.lowercase:
        st.caption("Coverage is computed with the dictionaries lowercased, as the runs will use them.")
else:
    st.caption("No dictionaries: supervised Procrustes needs a seed dictionary (or identical strings); "
               "precision needs an evaluation dictionary.")

if sd.ready():
    with st.expander("First words of each set"):
        c1, c2 = st.columns(2)
        if sd.items and sd.texts:
            c1.dataframe(pd.DataFrame({"id": sd.src.emb.words[:20],
                                       "text": [sd.label(w) for w in sd.src.emb.words[:20]]}), hide_index=True)
            c2.dataframe(pd.DataFrame({"id": sd.tgt.emb.words[:20],
                                       "text": [sd.label(w) for w in sd.tgt.emb.words[:20]]}), hide_index=True)
        else:
            c1.write(", ".join(sd.src.emb.words[:60]))
            c2.write(", ".join(sd.tgt.emb.words[:60]))

# ---------------------------------------------------------------- the teaching pair
with st.expander("Synthetic pair with a known answer (teaching)", expanded=False):
    st.caption("A real space against its own rotated, noised, row-shuffled copy: the true mapping is the "
               "rotation R and the true dictionary pairs each shared word with its copy (installed as both "
               "the seed and the evaluation dictionary). Procrustes, MUSE and mini-vec2vec can be shown "
               "recovering R; the Align page then shows ‖W − R‖.")
    t1, t2, t3, t4 = st.columns([1.4, 1, 1, 0.8])
    syn_base = t1.radio("copy of", loaders.SYNTHETIC_BASES, key="syn_base",
                        format_func={"source": "the loaded source set",
                                     "sample French": "the word sample's French set"}.get,
                        index=0 if (sd.src is not None and not sd.items) else 1)
    syn_noise = t2.slider("noise (share of the rows' RMS norm)", 0.0, 1.0, 0.1, 0.05, key="syn_noise")
    syn_overlap = t3.slider("vocabulary overlap", 0.5, 1.0, 0.9, 0.05, key="syn_overlap")
    syn_seed = t4.number_input("seed", min_value=0, value=0, step=1, key="syn_seed")
    if st.button("Build and load the synthetic pair", key="syn_build"):
        with st.spinner("rotating, noising, shuffling"):
            loaders.load_synthetic(syn_noise, syn_overlap, int(syn_seed), syn_base)
        st.rerun()
    if sd.truth is not None:
        st.caption(f"Loaded: {sd.src.name} → {sd.tgt.name}; the true rotation R ({sd.truth.shape[0]} × "
                   f"{sd.truth.shape[1]}) is kept for this session until another set is loaded.")
