"""Is a formula dimensionally homogeneous?  The dimension of a sympy expression, given its symbols'.

Exact numbers (integers, rationals, ``pi``) are pure numbers.  A fitted
floating-point constant may carry a unit (``4.905*t**2`` is a distance when
the constant is ``g/2`` in m/s²); the check counts how many must, so that a
formula whose constants are pure numbers ranks ahead of one that needs
dimensional constants, and both ahead of one that is inconsistent whatever
its constants (``m + v``, ``sin(m)``, ``T**1.18``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import sympy

from kansr.units._dimension import Dimension

_ONE = Dimension.dimensionless()


@dataclass(frozen=True)
class DimensionCheck:
    """The verdict of :func:`check_dimensions`.

    Attributes
    ----------
    consistent : bool
        Homogeneous, allowing ``unit_constants`` fitted constants to carry units.
    unit_constants : int
        Fitted constants that must carry a unit for the formula to be
        homogeneous (0 for a formula of pure numbers).
    dimension : Dimension or None
        Dimension of the expression (before any comparison with the target);
        None when inconsistent.
    reason : str
        Why it is inconsistent, or ``"consistent"``.
    """

    consistent: bool
    unit_constants: int
    dimension: Dimension | None
    reason: str

    @property
    def strict(self) -> bool:
        """Homogeneous with every constant a pure number."""
        return self.consistent and self.unit_constants == 0

    @property
    def rank(self) -> int:
        """0 strict, 1 needs unit-carrying constants, 2 inconsistent (lower ranks first)."""
        return 0 if self.strict else (1 if self.consistent else 2)

    @property
    def label(self) -> str:
        """``"consistent"``, ``"consistent with N dimensional constant(s)"`` or ``"inconsistent"``."""
        if self.strict:
            return "consistent"
        if self.consistent:
            plural = "s" if self.unit_constants != 1 else ""
            return f"consistent with {self.unit_constants} dimensional constant{plural}"
        return "inconsistent"


class _Inconsistent(Exception):
    pass


@dataclass(frozen=True)
class _Value:
    dimension: Dimension
    free: bool  # multiplied by a fitted constant whose unit can adapt


def _rational_power(exponent: sympy.Expr) -> Fraction | None:
    if exponent.is_Rational:
        return Fraction(int(exponent.p), int(exponent.q))
    if exponent.is_Float:
        value = Fraction(float(exponent)).limit_denominator(12)
        if abs(float(value) - float(exponent)) <= 1e-9 * max(1.0, abs(float(exponent))):
            return value
    return None


class _Walker:
    def __init__(self, dimensions: Mapping[str, Dimension]) -> None:
        self.dimensions = dimensions
        self.unit_constants = 0

    def walk(self, expr: sympy.Expr) -> _Value:
        if expr.is_Symbol:
            try:
                return _Value(self.dimensions[expr.name], False)
            except KeyError:
                raise _Inconsistent(f"no unit given for {expr.name!r}") from None
        if expr.is_Float:
            return _Value(_ONE, True)
        if expr.is_number:  # integers, rationals, pi, sqrt(2): pure numbers
            return _Value(_ONE, False)
        if expr.is_Add:
            return self._add([self.walk(term) for term in expr.args], expr)
        if expr.is_Mul:
            dimension, free = _ONE, False
            for factor in expr.args:
                value = self.walk(factor)
                dimension, free = dimension * value.dimension, free or value.free
            return _Value(dimension, free)
        if expr.is_Pow:
            return self._pow(expr)
        if isinstance(expr, sympy.Abs):
            return self.walk(expr.args[0])
        if isinstance(expr, sympy.Function):
            for argument in expr.args:
                self._require_dimensionless(self.walk(argument), f"the argument of {expr.func.__name__}")
            return _Value(_ONE, False)
        raise _Inconsistent(f"cannot tell the dimension of {type(expr).__name__} {expr}")

    def _require_dimensionless(self, value: _Value, where: str) -> None:
        if value.dimension.is_dimensionless:
            return
        if value.free:  # a constant inside can cancel the unit: sin(0.5*x) with 0.5 in 1/m
            self.unit_constants += 1
            return
        raise _Inconsistent(f"{where} has dimension {value.dimension}")

    def _add(self, terms: list[_Value], expr: sympy.Expr) -> _Value:
        fixed = [t.dimension for t in terms if not t.free]
        if fixed:
            target = fixed[0]
            if any(d != target for d in fixed[1:]):
                kinds = sorted({str(d) for d in fixed})
                raise _Inconsistent(f"a sum adds terms of dimensions {', '.join(kinds)}: {expr}")
        else:
            target = terms[0].dimension
        self.unit_constants += sum(1 for t in terms if t.free and t.dimension != target)
        return _Value(target, not fixed)

    def _pow(self, expr: sympy.Expr) -> _Value:
        base, exponent = expr.args
        base_value = self.walk(base)
        power = _rational_power(exponent)
        if power is not None:
            return _Value(base_value.dimension ** power, base_value.free)
        self._require_dimensionless(self.walk(exponent), "an exponent")
        if base_value.dimension.is_dimensionless:
            return _Value(_ONE, False)
        if exponent.is_number:
            raise _Inconsistent(f"{base} has dimension {base_value.dimension} and is raised to {exponent}")
        self._require_dimensionless(base_value, f"the base of {expr}")
        return _Value(_ONE, False)


def expression_dimension(expr: sympy.Expr, dimensions: Mapping[str, Dimension]) -> DimensionCheck:
    """The dimension of ``expr`` when its symbols have the given dimensions.

    Parameters
    ----------
    expr : sympy.Expr
    dimensions : mapping of str to Dimension
        One entry per symbol name of ``expr``.

    Returns
    -------
    DimensionCheck
        ``dimension`` is the expression's dimension; when the expression is
        a free constant times something, the constant's unit is still open
        and ``dimension`` is that of the rest.
    """
    return _verdict(expr, dimensions, None)


def _verdict(expr: sympy.Expr, dimensions: Mapping[str, Dimension], target: Dimension | None) -> DimensionCheck:
    """Walk ``expr``; with a ``target``, also require the result to have it (or a free constant to supply it)."""
    walker = _Walker(dimensions)
    try:
        value = walker.walk(sympy.sympify(expr, strict=True))  # strict: a string is refused, never parsed
        if target is not None and value.dimension != target:
            if not value.free:
                raise _Inconsistent(f"the formula has dimension {value.dimension}, the target {target}")
            walker.unit_constants += 1
    except _Inconsistent as exc:
        return DimensionCheck(False, walker.unit_constants, None, str(exc))
    return DimensionCheck(True, walker.unit_constants, value.dimension, "consistent")


def check_dimensions(
    expr: sympy.Expr, dimensions: Mapping[str, Dimension], target: Dimension
) -> DimensionCheck:
    """Check that ``expr`` has the dimension ``target`` (of the quantity it predicts).

    Parameters
    ----------
    expr : sympy.Expr
        A formula over symbols named in ``dimensions``.
    dimensions : mapping of str to Dimension
        The dimension of every input.
    target : Dimension
        The dimension of the output.

    Returns
    -------
    DimensionCheck
        ``consistent`` when every sum adds like terms, every function argument
        and exponent is dimensionless and the result has the target's
        dimension, counting the fitted constants that must carry a unit.

    Examples
    --------
    >>> import sympy
    >>> from kansr.units import parse_unit
    >>> m, v = sympy.symbols("m v")
    >>> dims = {"m": parse_unit("kg").dimension, "v": parse_unit("m/s").dimension}
    >>> check_dimensions(m * v**2 / 2, dims, parse_unit("J").dimension).label
    'consistent'
    >>> check_dimensions(m + v, dims, parse_unit("J").dimension).label
    'inconsistent'
    """
    return _verdict(expr, dimensions, target)
