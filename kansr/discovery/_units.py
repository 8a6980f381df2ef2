"""Units in discovery: the declared units checked, data in SI, π-group formulas lifted back to the inputs."""
from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np
import sympy

from kansr.errors import UnitsError
from kansr.units import DimensionalReduction, DimensionCheck, Unit, check_dimensions, parse_unit, reductions

__all__ = ["UnitSpec", "UnitsReport", "check_unit_arguments"]


@dataclass
class UnitsReport:
    """What units did in one discovery run.

    Attributes
    ----------
    units : dict of str to str
        The unit of every input, and of the target under ``"(target)"``.
    groups : list of str or None
        The dimensionless groups and the prefactor of each reduction searched
        (``["pi1 = v/c", "y = m*c**2 * F(pi1)"]``), None when the target's
        unit cannot be formed from the inputs'.
    group_candidates : int
        Formulas of the groups proposed to the search.
    candidates : int
        Formulas of the inputs proposed to the search, beyond the lifted
        group formulas (counted once, in ``group_candidates``).
    structure : str or None
        The tree of separations read off the surrogate KAN of the groups, in
        the groups' expressions (``"(v/c) + ..."``), when that generator ran.
    """

    units: dict[str, str]
    groups: list[str] | None
    group_candidates: int
    candidates: int
    structure: str | None = None


def check_unit_arguments(units: object, y_units: object) -> bool:
    """True when ``units`` and ``y_units`` are both given, False when neither is.

    Raises
    ------
    UnitsError
        One of the two without the other, or ``units`` that is not a mapping.
    """
    if units is None and y_units is None:
        return False
    if units is None or y_units is None:
        missing = "y_units" if y_units is None else "units"
        raise UnitsError(f"units need both the inputs' units and the target's: {missing} is missing")
    if not isinstance(units, Mapping):
        raise UnitsError(f"units must map column names to unit strings, got {type(units).__name__}")
    return True


def _as_unit(value: str | Unit, column: str) -> Unit:
    if isinstance(value, Unit):
        return value
    if not isinstance(value, str):
        raise UnitsError(f"column {column!r}: a unit must be a string such as 'm/s', got {type(value).__name__}")
    return parse_unit(value, column=column)


def _number(value: float) -> sympy.Expr:
    """A unit's SI scale as an exact rational when it is one (``km/h``: 5/18, ``kJ``: 1000), else a float."""
    ratio = Fraction(value).limit_denominator(10**6)
    if ratio and abs(float(ratio) - value) <= 1e-12 * abs(value):
        return sympy.Rational(ratio.numerator, ratio.denominator)
    return sympy.Float(value, 17)


@dataclass(frozen=True)
class UnitSpec:
    """The parsed units of one discovery run's inputs and target."""

    names: tuple[str, ...]
    inputs: tuple[Unit, ...]
    target: Unit

    @classmethod
    def build(cls, names: Sequence[str], units: Mapping[str, str | Unit] | None,
              y_units: str | Unit | None) -> UnitSpec:
        """Check and parse ``units`` (one per column) and ``y_units``.

        Raises
        ------
        UnitsError
            A missing ``y_units`` or ``units``, a column without a unit, a unit
            for a name that is not a column, an unknown unit.
        """
        if not check_unit_arguments(units, y_units):
            raise UnitsError("units need both the inputs' units and the target's: y_units is missing")
        assert isinstance(units, Mapping) and y_units is not None  # checked above
        names = tuple(names)
        unknown = [k for k in units if k not in names]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), names, n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise UnitsError(f"units given for {', '.join(map(repr, unknown))}, which "
                             f"{'is not a column' if len(unknown) == 1 else 'are not columns'}{hint}; "
                             f"the columns are {', '.join(names)}")
        without = [n for n in names if n not in units]
        if without:
            raise UnitsError(f"no unit for column{'s' if len(without) > 1 else ''} {', '.join(map(repr, without))}: "
                             "give every column a unit ('1' for pure numbers)")
        return cls(names, tuple(_as_unit(units[n], n) for n in names), _as_unit(y_units, "target"))

    @cached_property
    def dimensions(self) -> dict[str, object]:
        return {n: u.dimension for n, u in zip(self.names, self.inputs)}

    def describe(self) -> dict[str, str]:
        """``{column: unit}`` and the target's unit under ``"(target)"``."""
        return {**{n: u.text for n, u in zip(self.names, self.inputs)}, "(target)": self.target.text}

    def to_si(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The data in SI base units (``km`` columns times 1000, ...)."""
        scales = np.array([u.scale for u in self.inputs])
        return X * scales, y * self.target.scale

    def reductions(self, limit: int = 3) -> list[DimensionalReduction]:
        """The simplest Buckingham reductions (none when the target's unit cannot be formed)."""
        return reductions(self.names, self.dimensions, self.target.dimension, limit=limit)

    def lifter(self, reduction: DimensionalReduction,
               symbols: Sequence[sympy.Symbol]) -> Callable[[sympy.Expr, Sequence[sympy.Symbol]], sympy.Expr]:
        """``lift(F, group_symbols)``: ``P(x) * F(groups(x))`` over ``symbols`` in the data's units."""
        prefactor = reduction.prefactor_expression(symbols)
        groups = reduction.group_expressions(symbols)
        to_si = {s: _number(u.scale) * s for s, u in zip(symbols, self.inputs) if u.scale != 1.0}
        y_factor = _number(1.0 / self.target.scale)

        def lift(expr: sympy.Expr, group_symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
            inner = expr.xreplace(dict(zip(group_symbols, groups)))
            out = prefactor * inner
            return y_factor * (out.xreplace(to_si) if to_si else out)

        return lift

    def check(self, expr: sympy.Expr) -> DimensionCheck:
        """Dimensional consistency of a formula of the inputs (in the data's units) with the target."""
        return check_dimensions(expr, self.dimensions, self.target.dimension)
