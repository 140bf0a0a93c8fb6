"""AppTest over every page: the sample loaded, uploads (valid and malformed), a
supervised run started and finished, its numbers on the Evaluate page, the map."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from conftest import errors, new_app, session, wait_for_run

# supervised Procrustes on the sample (sample_data/README.md; `alignscope align` gives the same)
EXPECTED_P1 = {"nn": 56.6, "csls": 62.0, "isf": 55.8}
BAND = 1.5


def _vec_bytes(words, dim=300, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    lines = [f"{len(words)} {dim}"] + [w + " " + " ".join(f"{v:.5f}" for v in rng.standard_normal(dim))
                                       for w in words]
    return ("\n".join(lines) + "\n").encode()


def test_data_page_loads_the_sample():
    at = new_app()
    sd = session(at)
    assert sd.src.name == "fi.10k.vec.gz" and sd.tgt.name == "fr.10k.vec.gz"
    assert sd.src.emb.dim == 300 and len(sd.src.emb) > 8000 and len(sd.tgt.emb) > 8000
    assert len(sd.seed.dictionary) == 2132 and len(sd.eval.dictionary) == 882
    table = at.table[0].value
    assert list(table["rows"]) == [len(sd.src.emb), len(sd.tgt.emb)]
    side = " ".join(c.value for c in at.sidebar.caption)
    assert "fi.10k.vec.gz" in side and "2,132 pairs" in side and "no run yet" in side
    assert "1,024 MB" in at.caption[0].value  # the upload limit is stated
    assert not errors(at)


def test_valid_upload_replaces_the_source_set():
    at = new_app()
    words = [f"w{i}" for i in range(40)] + ["w3"]  # one duplicate, dropped with a count
    at.file_uploader(key="up_src").upload("mine.vec.gz", gzip.compress(_vec_bytes(words, dim=300)))
    at.run()
    assert not errors(at), errors(at)
    sd = session(at)
    assert sd.src.name == "mine.vec.gz" and sd.src.origin == "upload"
    assert len(sd.src.emb) == 40 and sd.src.emb.report["duplicates_dropped"] == 1
    table = at.table[0].value
    assert int(table.loc["source", "rows"]) == 40 and int(table.loc["source", "duplicates dropped"]) == 1
    assert sd.tgt.name == "fr.10k.vec.gz"  # the other side untouched


def test_malformed_upload_shows_the_core_message_and_keeps_the_previous_set():
    at = new_app()
    before = session(at).src.emb
    bad = b"3 4\nkissa 0.1 0.2 0.3 0.4\nkoira 0.1 zero 0.3 0.4\nmaa 1 2 3 4\n"
    at.file_uploader(key="up_src").upload("broken.vec", bad)
    at.run()
    msgs = errors(at)
    assert len(msgs) == 1, msgs
    assert "broken.vec, line 3" in msgs[0] and "'zero' is not a number" in msgs[0]
    assert "previous source set is kept" in msgs[0]
    assert session(at).src.emb is before
    assert not at.exception


def test_malformed_dictionary_upload():
    at = new_app()
    before = session(at).seed
    at.file_uploader(key="up_seed").upload("seed.txt", "kissa chat\nkoira\n".encode())
    at.run()
    msgs = errors(at)
    assert len(msgs) == 1 and "seed.txt, line 2" in msgs[0] and "expected 2 fields" in msgs[0]
    assert session(at).seed is before


def test_sessions_do_not_share_data():
    a, b = new_app(), new_app()
    a.file_uploader(key="up_tgt").upload("other.vec", _vec_bytes([f"x{i}" for i in range(30)], dim=300))
    a.run()
    b.run()
    assert session(a).tgt.name == "other.vec"
    assert session(b).tgt.name == "fr.10k.vec.gz"
    assert session(a) is not session(b)


def test_supervised_run_evaluate_and_explore():
    at = new_app()
    at.switch_page("pages/align.py").run()
    assert not at.exception
    labels = at.radio(key="method").options
    assert labels[0] == "Supervised Procrustes"
    at.button(key="start").click().run()
    assert not at.exception and not errors(at), errors(at)
    sd = wait_for_run(at)
    assert len(sd.runs) == 1
    rec = sd.runs[1]
    assert not rec.result.cancelled
    for rule, want in EXPECTED_P1.items():
        assert abs(rec.result.evaluation.scores[rule]["p@1"] - want) <= BAND, (rule, rec.result.evaluation.scores)
    # the Align page lists the run and its numbers; the sidebar shows the headline
    shown = {m.label: float(m.value) for m in at.sidebar.metric}
    assert abs(shown["P@1 csls"] - EXPECTED_P1["csls"]) <= BAND
    runs = at.dataframe[0].value
    assert list(runs["name"]) == ["procrustes #1"]
    assert abs(float(runs["csls P@1"].iloc[0]) - EXPECTED_P1["csls"]) <= BAND

    at.switch_page("pages/evaluate.py").run()
    assert not at.exception and not errors(at)
    table = at.table[0].value
    assert list(table.index) == ["procrustes #1", "no alignment"]
    for rule, want in EXPECTED_P1.items():
        assert abs(float(table.loc["procrustes #1", f"{rule} P@1"]) - want) <= BAND
        assert float(table.loc["no alignment", f"{rule} P@1"]) < 2.0  # unaligned spaces: chance level
    per_word = at.dataframe[0].value
    assert len(per_word) == 500
    at.selectbox(key="pw_filter").select("correct").run()
    correct = at.dataframe[0].value
    assert abs(100 * len(correct) / 500 - EXPECTED_P1["csls"]) <= BAND
    at.text_input(key="inspect_word").input("kissa").run()
    assert not errors(at)
    md = " ".join(m.value for m in at.markdown)
    assert "kissa" in md and "chat" in md  # gold translation listed

    at.switch_page("pages/explore.py").run()
    assert not at.exception and not errors(at)
    at.radio(key="ex_algo").set_value("PCA").run()
    assert not at.exception
    at.text_input(key="ex_find").input("kissa").run()
    assert any("kissa" in c.value and "chat" in c.value for c in at.caption)
    at.toggle(key="ex_after").set_value(False).run()
    assert not at.exception and not errors(at)

    _check_downloads(rec)


def _check_downloads(rec):
    """Every export of the run reads back with the core's own readers."""
    import io

    from alignment_core.dictionary import parse_dictionary
    from alignment_core.io import parse_embeddings
    from ui import exports

    w = np.load(io.BytesIO(exports.mapping_npy(rec.result.w)), allow_pickle=False)
    assert w.shape == (300, 300) and np.allclose(w @ w.T, np.eye(300), atol=1e-4)  # orthogonal
    emb = parse_embeddings(exports.aligned_vectors(rec.result), "aligned.vec", max_vocab=None)
    assert len(emb) == len(rec.result.src) and np.allclose(emb.vectors[:50], rec.result.aligned_source()[:50], atol=1e-5)
    d = parse_dictionary(exports.induced_dictionary(rec.result), "induced.txt")
    assert len(d) == len(rec.result.induced) > 1000
    import json

    res = json.loads(exports.result_json(rec.result))
    assert res["evaluation"]["csls"]["p@1"] == rec.result.evaluation.scores["csls"]["p@1"]
    cfg = json.loads(exports.config_json(rec.result))
    assert cfg["method"] == "procrustes" and cfg["seeds"] == "all"
    csv = exports.per_word_csv(rec.result.evaluation.per_word).decode().splitlines()
    assert csv[0].startswith("source,source_rank,gold,pred_nn,rank_nn") and len(csv) == 501
    stem = exports.file_stem(rec.rid, rec.result.config.method)
    assert stem == "alignscope-run1-procrustes"


def test_options_reload_and_npy_upload():
    at = new_app()
    at.expander[0]  # the options expander exists
    at.number_input(key="opt_max_vocab").set_value(3000).run()
    sd = session(at)
    assert not errors(at)
    assert sd.max_vocab == 3000 and sd.src.emb.report["rows_read"] == 3000 and len(sd.tgt.emb) <= 3000
    # .npy needs its word list: first the note, then the pair loads
    import io

    buf = io.BytesIO()
    np.save(buf, np.random.default_rng(0).standard_normal((25, 300)).astype(np.float32), allow_pickle=False)
    at.file_uploader(key="up_src").upload("vecs.npy", buf.getvalue()).run()
    assert any(".vocab.txt" in i.value for i in at.info)
    assert sd.src.name == "fi.10k.vec.gz"
    at.file_uploader(key="up_src_vocab").upload("vecs.vocab.txt", "".join(f"s{i}\n" for i in range(25)).encode()).run()
    assert not errors(at), errors(at)
    assert sd.src.name == "vecs.npy" and len(sd.src.emb) == 25


def test_cancel_keeps_the_best_mapping_so_far():
    """A job cancelled right after its first event returns that event's mapping, marked cancelled."""
    from alignment_core.runs import RunConfig
    from ui.jobs import AlignJob

    at = new_app()
    sd = session(at)

    class CancelAfterFirst(AlignJob):
        def _on_event(self, ev):
            super()._on_event(ev)
            self.cancel()

    cfg = RunConfig(method="procrustes", params={"refinements": 3})
    job = CancelAfterFirst("c", cfg, sd.src.emb, sd.tgt.emb, sd.seed.dictionary, sd.eval.dictionary).start()
    assert job.wait(300)
    assert job.status == "cancelled", job.error
    assert job.result.cancelled and len(job.snapshots()) == 1
    assert abs(job.result.evaluation.scores["csls"]["p@1"] - EXPECTED_P1["csls"]) <= BAND
