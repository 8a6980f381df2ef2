"""Decimal rescaling: the search sees every column in ordinary magnitudes, whatever its units.

Data in SI units can sit anywhere from 1e-30 to 1e30 (Boltzmann's constant is
1.4e-23).  Tolerances inside the search (spline grids, the round-off floor
of "solved", constant snapping) are relative to values near 1, so a column
``c`` whose largest magnitude is ``10**e`` with ``|e| > BAND`` is divided by
``10**e`` before the search and the formula is rewritten in the original
units afterwards (``x -> x / 10**e``, ``y -> 10**e_y * y``).

The factors are powers of ten, not standard deviations, so that a constant
that is simple in scaled units (``2``, ``1/3``) stays simple and exact, and
columns in ordinary ranges (``|e| <= BAND``) are not touched at all: the
search on them is bit-for-bit what it was without rescaling.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy
import torch

__all__ = ["DecimalScaling", "BAND"]

#: Columns whose largest magnitude lies in [1e-BAND, 1e(BAND + 1)) are left as they are.
BAND = 5


# The decimal exponents whose powers of ten are normal float64 numbers.
_MIN_EXPONENT, _MAX_EXPONENT = -307, 308


def _exponent(values: np.ndarray) -> int:
    """``e`` such that the column's largest magnitude lies in ``[10**e, 10**(e+1))``, or 0 inside the band."""
    top = float(np.max(np.abs(values), initial=0.0))
    if not (math.isfinite(top) and top > 0.0):
        return 0
    e = math.floor(math.log10(top))
    if abs(e) <= BAND:
        return 0
    # 10.0**e must be a normal float (subnormal data such as 5e-324 has e = -324, and 1e-324 is 0).
    return min(max(e, _MIN_EXPONENT), _MAX_EXPONENT)


def _power(e: int) -> float:
    # 10.0**e is the correctly rounded float for every e float64 can hold.
    return 10.0**e


def _decimal(e: int) -> sympy.Float:
    # From the decimal string, not from 10.0**e: 2 * 1e-30 then prints as 2.0e-30, not 1.9999999999999999e-30.
    return sympy.Float(f"1e{e}", 17)


@dataclass(frozen=True)
class DecimalScaling:
    """Powers of ten that bring each input column and the target to ordinary magnitudes.

    Attributes
    ----------
    x_exponents : tuple of int
        Column ``i`` is searched as ``X[:, i] / 10**x_exponents[i]``.
    y_exponent : int
        The target is searched as ``y / 10**y_exponent``.
    """

    x_exponents: tuple[int, ...]
    y_exponent: int

    @classmethod
    def of(cls, X: np.ndarray, y: np.ndarray) -> DecimalScaling:
        """The scaling of data ``X`` (n, d) and ``y`` (n,)."""
        return cls(tuple(_exponent(X[:, i]) for i in range(X.shape[1])), _exponent(y))

    @property
    def is_identity(self) -> bool:
        return self.y_exponent == 0 and not any(self.x_exponents)

    @property
    def x_factors(self) -> np.ndarray:
        """Column ``i`` in data units is ``x_factors[i]`` times column ``i`` in search units."""
        return np.array([_power(e) for e in self.x_exponents])

    def scale_X(self, X: np.ndarray) -> np.ndarray:
        """``X`` in search units."""
        return X / self.x_factors if any(self.x_exponents) else X

    def scale_y(self, y: np.ndarray) -> np.ndarray:
        """``y`` in search units."""
        return y if self.y_exponent == 0 else y / _power(self.y_exponent)

    @property
    def y_factor(self) -> float:
        """What an error in search units is multiplied by to be in the target's units."""
        return _power(self.y_exponent)

    def unscale_expr(self, expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> sympy.Expr:
        """A formula in search units rewritten in the data's units."""
        if self.is_identity:
            return expr
        subs = {v: v * _decimal(-e) for v, e in zip(variables, self.x_exponents) if e}
        out = expr.xreplace(subs) if subs else expr
        if self.y_exponent:
            out = _decimal(self.y_exponent) * out
        return out

    def scale_expr(self, expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> sympy.Expr:
        """A formula in the data's units rewritten in search units (the inverse of :meth:`unscale_expr`)."""
        if self.is_identity:
            return expr
        subs = {v: v * _decimal(e) for v, e in zip(variables, self.x_exponents) if e}
        out = expr.xreplace(subs) if subs else expr
        if self.y_exponent:
            out = _decimal(-self.y_exponent) * out
        return out

    def unscale_model(self, model) -> None:
        """Fold the scaling into a KAN's input/output normalisation, in place: it then takes data units."""
        if self.is_identity:
            return
        with torch.no_grad():
            x_factor = torch.as_tensor(self.x_factors, dtype=model.input_shift.dtype)
            model.input_shift.mul_(x_factor)
            model.input_scale.mul_(x_factor)
            model.output_shift.mul_(self.y_factor)
            model.output_scale.mul_(self.y_factor)
