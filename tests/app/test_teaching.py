"""AppTest: the teaching pair (a real space against its rotated, noised, shuffled copy) built on
the Data page, recovered by supervised Procrustes, ‖W − R‖ shown on the Align page; loading the
sample again forgets the known answer."""

from __future__ import annotations

import numpy as np

from conftest import errors, new_app, session, wait_for_run


def test_teaching_pair_recovered_and_forgotten():
    at = new_app()
    at.radio(key="syn_base").set_value("sample French")
    at.slider(key="syn_noise").set_value(0.1)
    at.slider(key="syn_overlap").set_value(0.9)
    at.button(key="syn_build").click().run()
    assert not at.exception and not errors(at), errors(at)
    sd = session(at)
    assert sd.truth is not None and sd.truth.shape == (300, 300)
    assert sd.src.origin == sd.tgt.origin == "synthetic" and "noise 0.1" in sd.src.name
    assert sd.seed.dictionary is sd.eval.dictionary and len(sd.seed.dictionary) == round(0.9 * len(sd.tgt.emb))
    assert np.allclose(sd.truth @ sd.truth.T, np.eye(300), atol=1e-4)   # R is a rotation

    at.switch_page("pages/align.py").run()
    at.button(key="start").click().run()
    assert not errors(at), errors(at)
    sd = wait_for_run(at)
    r = sd.runs[1].result
    assert r.evaluation.scores["csls"]["p@1"] > 99
    per = np.linalg.norm(r.w - sd.truth) / np.sqrt(300)
    assert per < 0.05, per
    shown = {m.label: m.value for m in at.metric}
    assert abs(float(shown["‖W − R‖_F / √d"]) - per) < 1e-3
    assert any("recovered" in c.value for c in at.caption)

    at.switch_page("pages/data.py").run()
    at.button(key="reload_sample").click().run()
    assert not at.exception
    sd = session(at)
    assert sd.truth is None and sd.src.name == "fi.10k.vec.gz" and sd.src.origin == "sample"
    at.switch_page("pages/align.py").run()
    assert not any(m.label.startswith("‖W − R‖") for m in at.metric)   # the old run: no known answer now
