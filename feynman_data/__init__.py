"""The 120 AI Feynman benchmark equations (Feynman 100 + bonus 20).

The equations come from ``equations.json``, generated from the published
AI Feynman tables by ``benchmarks/build_feynman_data.py``; nothing outside
this package is read at runtime. Formulas are parsed with
:func:`kansr.symbolic.parse_formula`, so variables named ``gamma``, ``beta``
or ``I`` are plain real symbols.

Examples
--------
>>> import feynman_data
>>> X, y, names, truth = feynman_data.sample("I.12.1", n=100, seed=1)
>>> names, truth
(['mu', 'Nn'], Nn*mu)
"""
from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import numpy as np
import sympy

from kansr.symbolic import parse_formula

__all__ = ["Equation", "SUBSETS", "get", "list_equations", "sample", "units"]

#: Names accepted by :func:`list_equations`.
SUBSETS = ("all", "srbench", "feynman", "bonus", "quick")

# A CI-sized mix: 1-3 variables, products, quotients, powers, exp.
_QUICK = (
    "I.6.2a", "I.12.1", "I.12.4", "I.14.4", "I.25.13",
    "I.29.4", "I.34.27", "I.39.1", "II.3.24", "II.8.31",
)


@dataclass(frozen=True)
class Equation:
    """One benchmark equation.

    Attributes
    ----------
    id : str
        Table ``Filename``, e.g. ``"I.6.2a"`` or ``"test_1"``.
    number : int
        Table ``Number`` (not in file order; prefer `id`).
    source : str
        ``"feynman"`` or ``"bonus"``.
    output : str
        Name of the output quantity.
    formula : str
        Formula text (``arcsin``/``arccos`` renamed to ``asin``/``acos``).
    expr : sympy.Expr
        Parsed formula over real symbols.
    symbols : tuple of sympy.Symbol
        One symbol per input column, in table order.
    variables : tuple of str
        Variable names, in table order.
    ranges : tuple of (float, float)
        ``(low, high)`` of the uniform sampling range per variable.
    in_srbench : bool
        Whether SRBench scores this problem (116 of the 120).
    has_data_file : bool
        False only for II.11.17, which has no AI Feynman data file.
    """

    id: str
    number: int
    source: str
    output: str
    formula: str
    expr: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    variables: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]
    in_srbench: bool
    has_data_file: bool

    @property
    def n_variables(self) -> int:
        """Number of input variables."""
        return len(self.variables)

    def lambdify(self) -> Callable[[np.ndarray], np.ndarray]:
        """Return a numpy function mapping an ``(n, d)`` array to ``(n,)`` outputs.

        Returns
        -------
        callable
            ``f(X)`` with ``X`` of shape ``(n, d)``, columns ordered as
            `variables`; returns a float64 array of shape ``(n,)``.
        """
        return _compiled(self.id)


@lru_cache(maxsize=1)
def _records() -> dict[str, dict[str, Any]]:
    text = resources.files(__name__).joinpath("equations.json").read_text(encoding="utf-8")
    return {rec["id"]: rec for rec in json.loads(text)["equations"]}


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    # PMLB/SRBench dataset names, e.g. "feynman_I_6_2a" or "feynman_test_1".
    return {"feynman_" + eq_id.replace(".", "_"): eq_id for eq_id in _records()}


def _resolve(eq_id: str) -> str:
    if not isinstance(eq_id, str):
        raise TypeError(f"equation id must be a str such as 'I.6.2a', got {type(eq_id).__name__}")
    records = _records()
    if eq_id in records:
        return eq_id
    if eq_id in _aliases():
        return _aliases()[eq_id]
    close = difflib.get_close_matches(eq_id, list(records), n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else "see list_equations()"
    raise ValueError(f"unknown Feynman equation id {eq_id!r}; {hint}")


def list_equations(subset: str | None = None) -> list[str]:
    """List equation ids in table order.

    Parameters
    ----------
    subset : {None, "all", "srbench", "feynman", "bonus", "quick"}
        ``None``/``"all"``: all 120; ``"srbench"``: the 116 SRBench scores
        (without II.11.17, I.26.2, I.30.5, test_10); ``"feynman"``/``"bonus"``:
        100/20 by table; ``"quick"``: 10 easy equations for CI runs.

    Returns
    -------
    list of str
    """
    records = _records()
    if subset is None or subset == "all":
        return list(records)
    if subset == "srbench":
        return [i for i, r in records.items() if r["in_srbench"]]
    if subset in ("feynman", "bonus"):
        return [i for i, r in records.items() if r["source"] == subset]
    if subset == "quick":
        return [i for i in records if i in _QUICK]
    raise ValueError(f"unknown subset {subset!r}; choose one of {', '.join(SUBSETS)} or None")


@cache
def get(eq_id: str) -> Equation:
    """Return one equation.

    Parameters
    ----------
    eq_id : str
        Table id such as ``"I.6.2a"``; PMLB names (``"feynman_I_6_2a"``) work too.

    Returns
    -------
    Equation

    Raises
    ------
    ValueError
        If the id is unknown; the message lists close matches.
    """
    rec = _records()[_resolve(eq_id)]
    names = tuple(v["name"] for v in rec["variables"])
    expr = parse_formula(rec["formula"], names)
    symbols_by_name = {s.name: s for s in expr.free_symbols}
    return Equation(
        id=rec["id"],
        number=rec["number"],
        source=rec["source"],
        output=rec["output"],
        formula=rec["formula"],
        expr=expr,
        symbols=tuple(symbols_by_name[n] for n in names),
        variables=names,
        ranges=tuple((float(v["low"]), float(v["high"])) for v in rec["variables"]),
        in_srbench=rec["in_srbench"],
        has_data_file=rec["has_data_file"],
    )


@lru_cache(maxsize=1)
def _units_table() -> dict[str, dict[str, Any]]:
    text = resources.files(__name__).joinpath("units.json").read_text(encoding="utf-8")
    return json.loads(text)["units"]


def units(eq_id: str) -> tuple[dict[str, str], str]:
    """The SI units of one equation's inputs and output (``feynman_data/units.json``).

    Parameters
    ----------
    eq_id : str
        Table id or PMLB name, as for :func:`get`.

    Returns
    -------
    inputs : dict of str to str
        ``{variable: unit}`` in pint's notation (``"m/s"``, ``"1"`` for pure numbers).
    output : str
        The output's unit.

    Raises
    ------
    ValueError
        If the id is unknown.
    """
    entry = _units_table()[_resolve(eq_id)]
    return dict(entry["inputs"]), str(entry["output"][1])


@cache
def _compiled(eq_id: str) -> Callable[[np.ndarray], np.ndarray]:
    eq = get(eq_id)
    func = sympy.lambdify(eq.symbols, eq.expr, modules="numpy")
    d = eq.n_variables

    def evaluate(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"{eq_id} expects X of shape (n, {d}) with columns {list(eq.variables)}, got {X.shape}")
        y = np.asarray(func(*X.T), dtype=np.float64)
        return np.array(np.broadcast_to(y, (X.shape[0],)))  # constants broadcast; copy keeps it writable

    return evaluate


def sample(
    eq_id: str, n: int, noise: float = 0.0, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, list[str], sympy.Expr]:
    """Draw a data set from an equation.

    Parameters
    ----------
    eq_id : str
        Equation id, see :func:`list_equations`.
    n : int
        Number of rows (>= 1).
    noise : float, default 0.0
        Relative noise level as in SRBench: ``y + N(0, (noise * RMS(y))**2)``.
    seed : int or None, default 0
        Seed for ``numpy.random.default_rng``. The inputs ``X`` depend only
        on the seed, not on `noise`.

    Returns
    -------
    X : ndarray of shape (n, d), float64
        Inputs drawn uniformly in each variable's range.
    y : ndarray of shape (n,), float64
        Outputs, with noise if requested.
    names : list of str
        Column names of `X`.
    truth : sympy.Expr
        The noise-free formula.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) or not (
        math.isfinite(noise) and noise >= 0
    ):
        raise ValueError(f"noise must be a finite float >= 0 (e.g. 0.01 for 1%), got {noise!r}")
    eq = get(eq_id)
    rng = np.random.default_rng(seed)
    low, high = np.array(eq.ranges, dtype=np.float64).T
    X = rng.uniform(low, high, size=(int(n), eq.n_variables))
    y = eq.lambdify()(X)
    if noise > 0:
        rms = float(np.sqrt(np.mean(np.square(y))))
        y = y + rng.normal(0.0, noise * rms, size=y.shape)
    return X, y, list(eq.variables), eq.expr
