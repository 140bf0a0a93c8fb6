"""AlignScope's compute core: load, align, evaluate and diagnose two embedding spaces.

Never imports streamlit or plotly. See DESIGN.md in the project's shared folder.

Importing the core asks OpenMP (used by faiss and numba, both imported lazily later)
to let idle threads sleep rather than spin, unless the environment already says
otherwise: on a 2-core machine, spinning OpenMP threads beside BLAS threads, a second
test worker or the app's background job slow everything several-fold.
"""

import os as _os

_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
