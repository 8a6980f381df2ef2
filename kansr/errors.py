"""Every exception and warning kansr raises on purpose, under one base each.

Each error also subclasses the built-in type callers already catch
(``ValueError``, ``TimeoutError``), so ``except ValueError`` keeps working.
The command line maps :class:`DataError`, :class:`UsageError`,
:class:`ModelFileError`, :class:`FormulaError` and :class:`UnitsError` to exit
code 2 ("bad input").

:class:`TimeLimitReached` is the one exception outside :class:`KansrError`:
it derives from ``KeyboardInterrupt`` so that code which stops cleanly on
Ctrl-C stops the same way when a hard time limit expires, and ``except
Exception`` (which must not swallow an interrupt) does not catch it.
"""
from __future__ import annotations

__all__ = [
    "KansrError",
    "DataError",
    "UsageError",
    "ModelFileError",
    "FormulaError",
    "UnitsError",
    "TimedOut",
    "TimeLimitReached",
    "KansrWarning",
    "DataWarning",
    "DomainWarning",
    "NumericalWarning",
]


class KansrError(Exception):
    """Base class of kansr's own exceptions."""


class DataError(KansrError, ValueError):
    """Input data cannot be used: missing file, bad CSV, non-numeric or too few rows, ...

    The message is one line that names the file, column or row at fault and
    says how to fix it.
    """


class UsageError(KansrError, ValueError):
    """A bad argument to a front door: an option value, a generator or function name, a budget."""


class ModelFileError(KansrError, ValueError):
    """A model file is missing, corrupt, unsafe or from an unsupported version."""


class FormulaError(KansrError, ValueError):
    """A formula string that kansr refuses to parse (syntax, unknown names, unsafe constructs)."""


class UnitsError(DataError):
    """Units that cannot be used: an unknown or offset unit, a unit on a text column, a conflict.

    A :class:`DataError`, so the command line reports it the same way; the
    message names the column.
    """


class TimedOut(KansrError, TimeoutError):
    """A call run under :func:`kansr._timeout.call_with_timeout` did not finish in time."""


class TimeLimitReached(KeyboardInterrupt):
    """A :func:`kansr._timeout.hard_time_limit` expired.

    It derives from KeyboardInterrupt so that code which stops cleanly on
    Ctrl-C (``fit``, ``discover``) stops the same way and keeps its result.
    """


class KansrWarning(UserWarning):
    """Base class of kansr's own warnings."""


class DataWarning(KansrWarning):
    """Input data were usable only after a change (rows dropped) or look suspicious."""


class DomainWarning(KansrWarning, RuntimeWarning):
    """A formula was evaluated outside its domain and produced NaN or inf."""


class NumericalWarning(KansrWarning, RuntimeWarning):
    """Training met non-finite values or diverged (and recovered or stopped)."""
