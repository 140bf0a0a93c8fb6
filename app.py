"""AlignScope: the Streamlit entry point. ``streamlit run app.py`` from the project root.

Routes with ``st.navigation`` over the files in ``pages/``; draws the shared sidebar
(what is loaded, the last run's headline numbers). Pages are thin: widgets and
layout, calling ``ui/`` helpers and ``alignment_core``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import common, layouts, loaders  # noqa: E402

st.set_page_config(page_title="AlignScope", page_icon=":material/explore:", layout="wide")

layouts.start_warmup()          # UMAP's JIT compiles in the background, once per server
loaders.ensure_sample()         # the sample pair on a session's first visit

pages = [
    st.Page("pages/data.py", title="Data", icon=":material/folder_open:", default=True),
    st.Page("pages/align.py", title="Align", icon=":material/tune:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/leaderboard:"),
]
if layouts.diagnostics_available():
    pages.append(st.Page("pages/diagnostics.py", title="Diagnostics", icon=":material/stethoscope:"))
pages.append(st.Page("pages/explore.py", title="Explore", icon=":material/map:"))

page = st.navigation(pages)
common.sidebar()
page.run()
