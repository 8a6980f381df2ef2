"""Exceptions and warnings raised at kansr's front doors (CSV files, arrays, the CLI).

They subclass the built-in types callers already catch (``ValueError``,
``UserWarning``), so ``except ValueError`` keeps working; the command line
maps :class:`DataError` to exit code 2 ("bad input").
"""
from __future__ import annotations

__all__ = ["KansrError", "DataError", "DataWarning", "DomainWarning"]


class KansrError(Exception):
    """Base class of kansr's own exceptions."""


class DataError(KansrError, ValueError):
    """Input data cannot be used: missing file, bad CSV, non-numeric or too few rows, ...

    The message is one line that names the file, column or row at fault and
    says how to fix it.
    """


class DataWarning(UserWarning):
    """Input data were usable only after a change (rows dropped) or look suspicious."""


class DomainWarning(RuntimeWarning):
    """A formula was evaluated outside its domain and produced NaN or inf."""
