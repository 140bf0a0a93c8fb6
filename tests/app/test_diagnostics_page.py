"""The Diagnostics page on the sample after a supervised run: hubness before/after,
CSLS lowering the skew, the isomorphism table and both verdicts."""

from __future__ import annotations

import pytest

from conftest import errors, new_app, session, wait_for_run


@pytest.mark.slow
def test_diagnostics_after_a_supervised_run():
    at = new_app()
    at.switch_page("pages/align.py").run()
    at.button(key="start").click().run()
    sd = wait_for_run(at)
    at.switch_page("pages/diagnostics.py").run()
    assert not at.exception and not errors(at)
    at.number_input(key="diag_n").set_value(2000).run()
    at.button(key="diag_start").click().run()
    task = sd.runs[1].cache["diag_tasks"][2000]
    assert task.wait(600), "diagnostics did not finish"
    assert task.status == "done", task.error
    at.run()
    assert not at.exception
    assert all(m.startswith("Unsupervised alignment") for m in errors(at)), errors(at)  # only a verdict
    hub = at.table[0].value
    skew_nn = float(hub.loc[("after", "nn"), "skewness"])
    skew_csls = float(hub.loc[("after", "csls"), "skewness"])
    assert skew_nn > 0.5 and skew_csls < skew_nn  # nn retrieval has hubs; CSLS reduces them
    iso = at.dataframe[-1].value
    assert "relational similarity" in list(iso["measure"])
    rel = float(iso.set_index("measure").loc["relational similarity", "value"])
    assert 0.3 < rel < 0.8  # fi-fr: a distant pair, far from isomorphic
    texts = [s.value for s in at.success] + [w.value for w in at.warning] + [e.value for e in at.error]
    assert sum("Unsupervised alignment" in t for t in texts) == 2  # before and after
