"""Errors raised for bad input. Each names the file, the line and what was expected."""

from __future__ import annotations


class AlignScopeError(Exception):
    """Base class for every error the core raises on purpose (bad input, bad config)."""


class InputFormatError(AlignScopeError, ValueError):
    """A file could not be read. ``str(err)`` is one line: ``file:line: problem``."""

    def __init__(self, path: str | None, line: int | None, problem: str):
        self.path = str(path) if path is not None else "<input>"
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {problem}")


class EmbeddingFormatError(InputFormatError):
    """An embedding file is malformed."""


class DictionaryFormatError(InputFormatError):
    """A bilingual dictionary file is malformed or unusable."""


class ConfigError(AlignScopeError, ValueError):
    """A method or run configuration is invalid."""
