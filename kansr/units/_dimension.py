"""Physical dimensions as exponent vectors over named base dimensions."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

# pint's names of the SI base dimensions, in the order they are printed.
BASE_DIMENSIONS = (
    "[mass]", "[length]", "[time]", "[current]", "[temperature]", "[substance]", "[luminosity]",
)
_SYMBOLS = {
    "[mass]": "M", "[length]": "L", "[time]": "T", "[current]": "I",
    "[temperature]": "Θ", "[substance]": "N", "[luminosity]": "J",
}


def _order(name: str) -> tuple[int, str]:
    return (BASE_DIMENSIONS.index(name), name) if name in BASE_DIMENSIONS else (len(BASE_DIMENSIONS), name)


@dataclass(frozen=True)
class Dimension:
    """A dimension such as ``M L² T⁻²``: rational exponents of base dimensions.

    Build one with :meth:`from_mapping` (``{"[length]": 1, "[time]": -1}``,
    pint's spelling) or :func:`kansr.units.parse_unit`; multiply, divide and
    raise to rational powers like the quantities they describe.

    Attributes
    ----------
    exponents : tuple of (str, Fraction)
        Non-zero exponents, base dimensions in SI order.
    """

    exponents: tuple[tuple[str, Fraction], ...] = ()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, float | Fraction | int]) -> Dimension:
        """Dimension from ``{base name: exponent}``; zero exponents are dropped."""
        items = []
        for name, power in mapping.items():
            exponent = Fraction(power).limit_denominator(1000)
            if exponent != 0:
                items.append((str(name), exponent))
        return cls(tuple(sorted(items, key=lambda item: _order(item[0]))))

    @classmethod
    def dimensionless(cls) -> Dimension:
        """The dimension of a pure number."""
        return cls(())

    @property
    def is_dimensionless(self) -> bool:
        """True for a pure number (every exponent zero)."""
        return not self.exponents

    def as_dict(self) -> dict[str, Fraction]:
        """``{base name: exponent}`` of the non-zero exponents."""
        return dict(self.exponents)

    def vector(self, bases: Iterable[str]) -> list[Fraction]:
        """Exponents over the given base names (zero where absent)."""
        exps = self.as_dict()
        return [exps.get(b, Fraction(0)) for b in bases]

    def __mul__(self, other: Dimension) -> Dimension:
        total = self.as_dict()
        for name, power in other.exponents:
            total[name] = total.get(name, Fraction(0)) + power
        return Dimension.from_mapping(total)

    def __truediv__(self, other: Dimension) -> Dimension:
        return self * other ** -1

    def __pow__(self, power: int | Fraction) -> Dimension:
        power = Fraction(power)
        return Dimension.from_mapping({name: exp * power for name, exp in self.exponents})

    def __str__(self) -> str:
        if not self.exponents:
            return "dimensionless"
        parts = []
        for name, exp in self.exponents:
            symbol = _SYMBOLS.get(name, name)
            parts.append(symbol if exp == 1 else f"{symbol}^{exp}")
        return " ".join(parts)


def dimension_matrix(dimensions: Iterable[Dimension]) -> tuple[list[str], list[list[Fraction]]]:
    """Base names used and the matrix of exponents (one row per base, one column per dimension).

    Parameters
    ----------
    dimensions : iterable of Dimension

    Returns
    -------
    bases : list of str
        The base dimensions that occur, in SI order.
    matrix : list of list of Fraction
        ``matrix[i][j]`` is the exponent of ``bases[i]`` in dimension ``j``.
    """
    dims = list(dimensions)
    bases = sorted({name for d in dims for name, _ in d.exponents}, key=_order)
    columns = [d.vector(bases) for d in dims]
    return bases, [[col[i] for col in columns] for i in range(len(bases))]
