"""Unit strings (``"m/s"``, ``"kg*m**2/s**2"``, ``"J"``) to dimensions, and units read from CSV headers.

Parsing is pint's (its own tokenizer, never Python's ``eval``); one registry
is built on first use and reused, since building it takes about half a
second.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from kansr.errors import UnitsError
from kansr.units._dimension import Dimension

_MAX_UNIT_LENGTH = 80
_MAX_EXPONENT = 12


@dataclass(frozen=True)
class Unit:
    """A parsed unit.

    Attributes
    ----------
    text : str
        The unit as written.
    dimension : Dimension
        Its dimension.
    scale : float
        Size in SI base units: ``"km"`` is 1000, ``"J"`` is 1, ``"%"`` is 0.01.
    """

    text: str
    dimension: Dimension
    scale: float

    @property
    def is_dimensionless(self) -> bool:
        """True for ``"1"``, ``"rad"``, ``"%"`` and the like."""
        return self.dimension.is_dimensionless


@cache
def _registry() -> Any:
    try:
        import pint
    except ImportError as exc:  # pragma: no cover - pint is a declared dependency
        raise UnitsError("units need the pint package: pip install pint") from exc
    return pint.UnitRegistry()


def _where(column: str | None) -> str:
    return f"column {column!r}: " if column is not None else ""


def parse_unit(text: str, column: str | None = None) -> Unit:
    """Parse a unit string.

    Parameters
    ----------
    text : str
        A unit as pint reads it: ``"m/s"``, ``"m s^-1"``, ``"kg*m**2/s**2"``,
        ``"J"``, ``"1"`` or ``"rad"`` (dimensionless), ``"km/h"``.
    column : str, optional
        The column the unit belongs to; named in error messages.

    Returns
    -------
    Unit

    Raises
    ------
    UnitsError
        Unknown unit, an offset unit such as ``degC`` (formulas need absolute
        temperatures: convert to ``K``), an exponent beyond ±12, or text that
        is not a unit.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnitsError(f"{_where(column)}the unit must be a non-empty string, got {text!r}")
    clean = text.strip()
    if len(clean) > _MAX_UNIT_LENGTH:
        raise UnitsError(f"{_where(column)}unit {clean[:20]!r}… is longer than {_MAX_UNIT_LENGTH} characters")
    ureg = _registry()
    try:
        parsed = ureg.parse_expression(clean)
    except Exception as exc:  # pint raises several types (UndefinedUnitError, tokenizer errors)
        raise UnitsError(f"{_where(column)}unknown unit {clean!r} ({type(exc).__name__}: {exc})") from None
    if isinstance(parsed, (int, float)):  # "1", "100": a pure number
        quantity = ureg.Quantity(float(parsed), "")
    else:
        quantity = parsed
    if not hasattr(quantity, "dimensionality"):
        raise UnitsError(f"{_where(column)}{clean!r} is not a unit")
    try:  # an offset unit either refuses to scale (pint's OffsetUnitCalculusError) or scales off zero
        one = float(quantity.to_base_units().magnitude)
        offset = abs(float((2 * quantity).to_base_units().magnitude) - 2 * one) > 1e-9 * abs(one)
    except Exception:
        offset = True
    if offset:
        raise UnitsError(
            f"{_where(column)}{clean!r} is an offset unit (like degC or degF); formulas need absolute "
            "values: convert the column to K (or another unit that starts at zero)")
    dimension = Dimension.from_mapping(dict(quantity.dimensionality))
    if any(abs(exp) > _MAX_EXPONENT for _, exp in dimension.exponents):
        raise UnitsError(f"{_where(column)}unit {clean!r} has an exponent beyond ±{_MAX_EXPONENT}")
    return Unit(clean, dimension, one)


# "E [J]", "T (K)", "v in m/s", "v / (m/s)": the unit is at the end of the header.
_HEADER_PATTERNS = (  # (pattern, bracketed); "v / (m/s)" before "v (m/s)", which it also matches
    (re.compile(r"^(?P<name>.*?\S)\s+/\s+\(?(?P<unit>[^()]+?)\)?\s*$"), False),
    (re.compile(r"^(?P<name>.*?\S)\s*\[(?P<unit>[^\[\]]+)\]\s*$"), True),
    (re.compile(r"^(?P<name>.*?\S)\s*\((?P<unit>[^()]+(?:\([^()]*\)[^()]*)*)\)\s*$"), True),
    (re.compile(r"^(?P<name>.*?\S)\s+in\s+(?P<unit>\S.*?)\s*$"), False),
)


def split_header(header: str) -> tuple[str, str | None, bool]:
    """Split a column header into its name and the unit written in it.

    Recognised forms: ``"E [J]"``, ``"T (K)"`` (*bracketed*), ``"v in m/s"``
    and ``"v / (m/s)"`` (the ISO 80000 style).  The unit is not checked here
    (see :func:`parse_unit`).

    Parameters
    ----------
    header : str

    Returns
    -------
    name : str
        The header without its unit (the whole header when there is none).
    unit : str or None
        The unit text, or None.
    bracketed : bool
        True when the unit was in brackets or parentheses: such text is meant
        as a unit, so one that does not parse is an error, while ``"time in
        lab"`` is just a name.

    Examples
    --------
    >>> split_header("E [J]")
    ('E', 'J', True)
    >>> split_header("speed in m/s")
    ('speed', 'm/s', False)
    >>> split_header("mass")
    ('mass', None, False)
    """
    text = str(header).strip()
    for pattern, bracketed in _HEADER_PATTERNS:
        match = pattern.match(text)
        if match:
            return match.group("name").strip(), match.group("unit").strip(), bracketed
    return text, None, False
