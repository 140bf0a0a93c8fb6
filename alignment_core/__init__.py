"""AlignScope's compute core: load, align, evaluate and diagnose two embedding spaces.

Never imports streamlit or plotly. See DESIGN.md in the project's shared folder.
"""

__version__ = "0.1.0"
