"""Cancel a session's background run once that session is gone for good.

Streamlit keeps a disconnected session (a closed tab, a dropped network) for
``server.disconnectedSessionTTL`` seconds (30 in ``.streamlit/config.toml``) so that the
browser can reconnect to it; after that it can never be resumed. A run that session
started would otherwise go on to its end for nobody, holding a core and its memory.

How: :func:`watch`, called in the script run that starts a job, records that run's
session id. One daemon thread (``alignscope-watchdog``; it exists only while watched
jobs are running) asks the runtime once a second whether each session is connected
(``Runtime.is_active_session``, documented as safe from any thread). A job whose
session has been disconnected without a break for longer than the TTL (counted from
the first look that found it gone, so Streamlit can no longer resume it) is abandoned
(:meth:`ui.jobs.AlignJob.abandon`: its ``cancel_event`` is set), so the job thread
stops at the method's next step exactly as with the Cancel button; a line on stderr
(the server log) names the run and its thread's OS id. A reconnect within the TTL
resets the clock: a network blip never costs a run.

Why not a ``weakref.finalize`` on the session's state: Streamlit drops an expired
session from its store only when the store is next written (another session
disconnecting), and the state is freed only once nothing refers to it any more — on a
quiet server, maybe never. Why not
read the session store directly: it is a TTL cache that is not thread-safe and belongs
to the server's event-loop thread.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from .jobs import name_os_thread

#: seconds between two looks at the sessions
POLL_S = 1.0

_lock = threading.Lock()
_watched: list["_Watched"] = []
_thread: threading.Thread | None = None


@dataclass(eq=False)
class _Watched:
    session_id: str
    job: Any                # ui.jobs.AlignJob (anything with done, name, abandon())
    runtime: Any            # streamlit.runtime.Runtime
    ttl: float
    gone_since: float | None = None  # time.monotonic() of the first look that found it disconnected


def watch(job: Any) -> bool:
    """Abandon ``job`` once the session of the current script run has been disconnected
    for longer than ``server.disconnectedSessionTTL``. Returns False (and watches
    nothing) outside a served script run, e.g. in a bare script or without a runtime."""
    global _thread
    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return False
    entry = _Watched(ctx.session_id, job, Runtime.instance(),
                     float(config.get_option("server.disconnectedSessionTTL")))
    with _lock:
        _watched.append(entry)
        if _thread is None:
            _thread = threading.Thread(target=_loop, name="alignscope-watchdog", daemon=True)
            _thread.start()
    return True


def _abandoned(entry: _Watched, now: float) -> bool:
    """True once the entry's session has been away for longer than the TTL, counted from
    the first look that found it disconnected (so at least the TTL since it really left:
    Streamlit can no longer resume it)."""
    try:
        connected = bool(entry.runtime.is_active_session(entry.session_id))
    except Exception:  # a runtime shutting down: its sessions are going too
        connected = False
    if connected:
        entry.gone_since = None
        return False
    if entry.gone_since is None:
        entry.gone_since = now
    return now - entry.gone_since > entry.ttl


def _loop() -> None:
    global _thread
    name_os_thread("alignscope-watchdog")
    while True:
        with _lock:
            _watched[:] = [e for e in _watched if not e.job.done]
            if not _watched:
                _thread = None  # under the lock: watch() starts a new thread if needed
                return
            entries = list(_watched)
        now = time.monotonic()
        for entry in entries:
            if not entry.job.done and _abandoned(entry, now):
                entry.job.abandon()
                print(f"alignscope: session {entry.session_id} disconnected for more than {entry.ttl:g} s; "
                      f"run {entry.job.name!r} (thread {entry.job.thread.native_id}) abandoned (cancelled)",
                      file=sys.stderr, flush=True)
                with _lock:
                    if entry in _watched:
                        _watched.remove(entry)
        time.sleep(POLL_S)
