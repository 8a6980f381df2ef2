"""Units and dimensional analysis.

* :func:`parse_unit` reads a unit string with pint (``"m/s"``, ``"J"``,
  ``"kg*m**2/s**2"``; ``"1"`` or ``"rad"`` for pure numbers) into a
  :class:`Unit` with its :class:`Dimension` and its size in SI units;
  :func:`split_header` finds the unit in a CSV header (``"E [J]"``,
  ``"T (K)"``, ``"v in m/s"``); :func:`resolve_column_units` reconciles
  header units with units given as ``name=unit`` pairs.
* :func:`check_dimensions` says whether a formula is dimensionally
  homogeneous, counting the fitted constants that would have to carry units.
* :func:`buckingham` builds the dimensionless groups (Buckingham π) and the
  monomial with the target's unit: ``y = P(x) · F(π_1, …, π_k)``.
"""
from __future__ import annotations

from kansr.units._buckingham import DimensionalReduction, buckingham, reductions
from kansr.units._columns import ColumnUnits, parse_unit_pairs, resolve_column_units
from kansr.units._dimension import BASE_DIMENSIONS, Dimension, dimension_matrix
from kansr.units._homogeneity import DimensionCheck, check_dimensions, expression_dimension
from kansr.units._parse import Unit, parse_unit, split_header

__all__ = [
    "BASE_DIMENSIONS",
    "ColumnUnits",
    "Dimension",
    "DimensionCheck",
    "DimensionalReduction",
    "Unit",
    "buckingham",
    "check_dimensions",
    "dimension_matrix",
    "expression_dimension",
    "parse_unit",
    "parse_unit_pairs",
    "reductions",
    "resolve_column_units",
    "split_header",
]
