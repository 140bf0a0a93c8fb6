"""Diagnostics: will an alignment work, and if not, why?

- :mod:`.hubness`: k-occurrence, skewness, Robin Hood index, Gini, hub and antihub
  occurrence, top hubs, per scoring rule (nn, csls, isf).
- :mod:`.isomorphism`: eigenvector similarity, Gromov-Hausdorff proxy, relational
  similarity, effective rank / condition number / ECOND-HM, singular value gap,
  Procrustes bound.
- :mod:`.failure`: per-word table, precision by frequency, dictionary residuals.
- :mod:`.verdict`: the plain-language verdict and its thresholds.
- :func:`diagnose` (:mod:`.report`): all of it in one JSON-ready dict, the call behind
  ``alignscope diagnose`` (:mod:`.command`) and the app's diagnostics page.

See docs/diagnostics.md for the formulas, conventions and thresholds.
"""

from .report import diagnose

__all__ = ["diagnose"]
