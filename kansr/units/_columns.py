"""The units of a table's columns: read from the headers, given as ``name=unit`` pairs, reconciled.

A header such as ``"v [m/s]"`` carries its unit; ``--units "m=kg,v=m/s"``
gives units by header, by variable name or by the header's name part.  Both
sources are checked against each other, and units are used only when every
input and the target have one: a table with units on some columns only is
searched without them (and told so), since a missing unit cannot be guessed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kansr.errors import UnitsError
from kansr.units._parse import Unit, parse_unit, split_header

__all__ = ["ColumnUnits", "parse_unit_pairs", "resolve_column_units"]


@dataclass
class ColumnUnits:
    """Units of one run's columns, ready for ``discover(units=, y_units=)``.

    Attributes
    ----------
    units : dict of str to str or None
        Variable name → unit of every input, or None when units are not used.
    y_units : str or None
        The target's unit, or None when units are not used.
    read : dict of str to str
        Header → unit for the units read from the headers (for the report).
    notes : list of str
        Why units are not used, or which given units were ignored.
    """

    units: dict[str, str] | None
    y_units: str | None
    read: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def parse_unit_pairs(text: str, option: str = "--units") -> dict[str, str]:
    """``"m=kg, v=m/s"`` → ``{"m": "kg", "v": "m/s"}`` (the units are parsed later, by column).

    Raises
    ------
    UnitsError
        An item without ``=``, an empty name or unit, a name given twice.
    """
    out: dict[str, str] = {}
    for item in str(text).split(","):
        if not item.strip():
            continue
        key, sep, unit = item.partition("=")
        key, unit = key.strip(), unit.strip()
        if not sep or not key or not unit:
            raise UnitsError(f"{option}: {item.strip()!r} is not NAME=UNIT (e.g. {option} \"m=kg,v=m/s\")")
        if key in out:
            raise UnitsError(f"{option}: column {key!r} is given a unit twice")
        out[key] = unit
    if not out:
        raise UnitsError(f"{option} is empty; give NAME=UNIT pairs such as \"m=kg,v=m/s\"")
    return out


def _header_unit(header: str) -> Unit | None:
    """The unit written in a header, None if there is none; a bracketed unit that does not parse is an error."""
    _, text, bracketed = split_header(header)
    if text is None:
        return None
    try:
        return parse_unit(text, column=header)
    except UnitsError:
        if bracketed:  # "E [Jx]": meant as a unit
            raise
        return None  # "time in lab": a name, not a unit


def _same(a: Unit, b: Unit) -> bool:
    return a.dimension == b.dimension and abs(a.scale - b.scale) <= 1e-12 * max(abs(a.scale), abs(b.scale))


def resolve_column_units(
    headers: Sequence[str],
    names: Sequence[str],
    target_header: str,
    given: Mapping[str, str] | None = None,
    target_unit: str | None = None,
    read_headers: bool = True,
    dropped: Sequence[str] = (),
    target_name: str | None = None,
) -> ColumnUnits:
    """Reconcile header units and given units for the inputs ``headers`` and the target.

    Parameters
    ----------
    headers, names : sequence of str
        The input columns' headers and variable names, in the same order.
    target_header : str
        The target column's header.
    given : mapping of str to str, optional
        Units given explicitly, keyed by header, variable name or the
        header's name part (``"v"`` for ``"v [m/s]"``).
    target_unit : str, optional
        The target's unit given explicitly.
    read_headers : bool
        Read units written in the headers.
    dropped : sequence of str
        Headers of input columns left out (constant): units given for them
        are ignored with a note.
    target_name : str, optional
        The target's variable name (another key for it).

    Returns
    -------
    ColumnUnits

    Raises
    ------
    UnitsError
        An unknown unit (naming the column), a unit given for a column that is
        not an input or the target of this run, a given unit that contradicts
        the header's, or given units that leave a column without one.
    """
    columns = list(headers) + [target_header]
    keys: dict[str, int] = {}
    for k, header in enumerate(columns):
        name = names[k] if k < len(names) else target_name
        aliases = [header, split_header(header)[0]] + ([name] if name else [])
        for alias in aliases:
            keys.setdefault(alias, k)
    units: list[Unit | None] = [None] * len(columns)
    read: dict[str, str] = {}
    if read_headers:
        for k, header in enumerate(columns):
            unit = _header_unit(header)
            if unit is not None:
                units[k] = unit
                read[header] = unit.text
    notes: list[str] = []
    explicit = dict(given or {})
    if target_unit is not None:
        explicit[target_header] = target_unit
    ignored = {split_header(h)[0] for h in dropped} | set(dropped)
    for key, text in explicit.items():
        if key not in keys:
            if key in ignored:
                notes.append(f"the unit given for {key!r} is ignored: that column is constant and left out")
                continue
            raise UnitsError(f"a unit is given for {key!r}, which is not an input or the target of this run "
                             f"(the columns are {', '.join(map(repr, columns))})")
        k = keys[key]
        unit = parse_unit(text, column=columns[k])
        if units[k] is not None and columns[k] in read and not _same(units[k], unit):
            raise UnitsError(f"column {columns[k]!r}: the unit given ({text!r}) contradicts the header's "
                             f"({read[columns[k]]!r}); correct one of them, or turn header units off")
        units[k] = unit
    missing = [columns[k] for k, u in enumerate(units) if u is None]
    if not missing:
        return ColumnUnits({n: u.text for n, u in zip(names, units)}, units[-1].text, read, notes)  # type: ignore[union-attr]
    if explicit:
        raise UnitsError(f"no unit for column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}: "
                         "units are used only when every input and the target have one "
                         "(add them with --units NAME=UNIT, '1' for pure numbers)")
    if read:
        notes.append(f"units read from the headers for {', '.join(map(repr, read))} but not for "
                     f"{', '.join(map(repr, missing))}: searching without units (give the rest with --units, "
                     "'1' for pure numbers)")
    return ColumnUnits(None, None, read, notes)
