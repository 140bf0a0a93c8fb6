"""The Align page offers every registered method whose module imports, builds its
parameter form from the config dataclass, and runs/cancels an unsupervised method."""

from __future__ import annotations

import pytest

from conftest import errors, new_app, session, until


def test_method_forms_render_and_build_valid_configs():
    from ui.layouts import available_methods

    at = new_app()
    at.switch_page("pages/align.py").run()
    usable = [m for m, why in available_methods().items() if not why]
    assert "procrustes" in usable
    radio = at.radio(key="method")
    assert len(radio.options) == len(usable)
    for label in radio.options:
        at.radio(key="method").set_value(label).run()
        assert not at.exception, (label, [e.value for e in at.exception])
        if label.startswith("mini-vec2vec"):
            assert any("init = `ica`" in c.value for c in at.caption)
    if "muse" in usable:
        at.radio(key="method").set_value("MUSE (unsupervised start + CSLS refinement)").run()
        # with no seed (the default choice) the page says what the default does
        assert at.radio(key="seeds_muse").value.startswith("none")
        assert any("does not play the adversarial game" in c.value for c in at.caption)
        assert at.checkbox(key="fallback").value is True      # if it likely failed: identical strings
        assert at.selectbox(key="p_muse_init").options == ["preset", "adversarial", "ica"]
        at.selectbox(key="p_muse_preset").select("paper").run()
        at.number_input(key="p_muse_n_epochs").set_value(2).run()
        assert not at.exception and not errors(at)
        # the seed options of an unsupervised method start with "none"
        assert at.radio(key="seeds_muse").options[0].startswith("none")


def test_bad_parameter_shows_the_core_message():
    at = new_app()
    at.switch_page("pages/align.py").run()
    at.number_input(key="p_procrustes_refinements").set_value(-1).run()
    at.button(key="start").click().run()
    assert not at.exception
    msgs = errors(at)
    assert len(msgs) == 1 and "refinements must be ≥ 0" in msgs[0], msgs
    assert session(at).job is None


@pytest.mark.slow
def test_unsupervised_run_can_be_cancelled_from_the_page():
    from ui.layouts import available_methods

    if available_methods().get("muse"):
        pytest.fail(f"MUSE is registered but does not import: {available_methods()['muse']}")
    at = new_app()
    at.switch_page("pages/align.py").run()
    at.radio(key="method").set_value("MUSE (unsupervised start + CSLS refinement)").run()
    at.button(key="start").click().run()
    sd = session(at)
    job = sd.job
    assert job is not None and not errors(at), errors(at)
    assert until(lambda: len(job.snapshots()) >= 2 or job.done, timeout=600)
    at.run()
    at.button(key="cancel_run").click().run()
    assert job.wait(600)
    at.run()
    assert not at.exception
    if job.status == "error":  # cancelled before any mapping existed: said in words
        assert "cancelled" in job.error and any("cancelled" in m for m in errors(at))
    else:
        assert job.status == "cancelled" and sd.runs[max(sd.runs)].result.cancelled
        assert any("cancelled" in i.value for i in at.info)
