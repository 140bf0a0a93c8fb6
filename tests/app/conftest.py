"""AppTest helpers for the Streamlit app.

Streamlit decides per process whether an app uses the legacy ``pages/`` folder
(multipage v1): a running server sets ``PagesManager.uses_pages_directory = False``
the first time ``st.navigation`` is called, for good. ``AppTest`` resets that flag
before every run, and since our ``st.navigation`` pages live in ``pages/`` it would
fall back to v1 (running a page without ``app.py``). The fixture below keeps the
flag at False, as the real server does after its first run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def _navigation_v2(monkeypatch):
    from streamlit.runtime import pages_manager as pm

    orig = pm.PagesManager.__init__

    def init(self, *a, **kw):
        orig(self, *a, **kw)
        pm.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pm.PagesManager, "__init__", init)


def new_app(timeout: float = 120):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def session(at):
    return at.session_state["alignscope"]


def wait_for_run(at, timeout: float = 300.0):
    """Rerun the app until the background job has finished and been filed as a run."""
    sd = session(at)
    job = sd.job
    assert job is not None, "no job was started"
    assert job.wait(timeout), "the alignment job did not finish in time"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return sd


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def until(pred, timeout: float = 60.0, step: float = 0.2) -> bool:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if pred():
            return True
        time.sleep(step)
    return False
