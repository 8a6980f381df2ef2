"""SRBench's solution criterion for symbolic regression results.

A model is a *symbolic solution* (La Cava et al., SRBench 2021) when, after
rounding its floats to 3 decimals, ``truth - model`` simplifies to a constant
(0 included) or ``model / truth`` simplifies to a nonzero constant. SRBench
only counts it when the model also fits the test data (R^2 > 0.5 here).

``sympy.simplify`` can run for minutes on some expressions, so it runs in a
child process that is killed after a timeout. Most non-solutions never get
there: both expressions are first evaluated at a few points, and a
difference and ratio that clearly vary are rejected at once.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from kansr._metrics import r2_rmse
from kansr._timeout import TimedOut, call_with_timeout
from kansr.symbolic._safe_expr import symbol_for

__all__ = [
    "SymbolicVerdict",
    "check_solution",
    "compare_symbolic",
    "is_symbolic_solution",
    "round_floats",
]

ACCURACY_R2 = 0.999  # SRBench "accuracy solution": test R^2 above this
SYMBOLIC_MIN_R2 = 0.5  # a symbolic solution must also fit the test data
_N_POINTS = 64  # points for the numeric pre-check
_MIN_VALID = 4  # fewer finite values than this: the numeric check abstains
_REL_TOL = 1e-5  # spread above this (relative) means "clearly not constant"


@dataclass(frozen=True)
class SymbolicVerdict:
    """Outcome of :func:`compare_symbolic`.

    Attributes
    ----------
    solved : bool
        Whether the model is a symbolic solution.
    kind : str or None
        ``"difference"`` or ``"ratio"``: which test succeeded.
    constant : sympy.Expr or None
        The constant the difference or ratio simplified to.
    reason : str
        Short human-readable explanation (e.g. ``"timed out after 10 s"``).
    """

    solved: bool
    kind: str | None
    constant: sympy.Expr | None
    reason: str


def round_floats(expr: sympy.Expr, digits: int = 3) -> sympy.Expr:
    """Round every Float in an expression, as SRBench does before simplifying.

    Parameters
    ----------
    expr : sympy.Expr
        Expression to round.
    digits : int, default 3
        Decimals to keep.

    Returns
    -------
    sympy.Expr
        `expr` with each Float ``c`` replaced by ``round(c, digits)``, or by
        the integer 0 when ``|c| < 1e-4``.
    """
    expr = _as_expr(expr, "expr")
    replacements = {}
    for f in expr.atoms(sympy.Float):
        value = float(f)
        replacements[f] = sympy.Integer(0) if abs(value) < 1e-4 else sympy.Float(round(value, digits))
    return expr.xreplace(replacements)


def is_symbolic_solution(model_expr: sympy.Expr, truth_expr: sympy.Expr, timeout: float = 10.0) -> bool:
    """Return whether `model_expr` is an SRBench symbolic solution of `truth_expr`.

    Parameters
    ----------
    model_expr, truth_expr : sympy.Expr
        Symbols are matched by name: each is replaced by the real symbol
        of the same name, so ``Symbol("x")`` and ``Symbol("x", real=True)``
        are the same variable.
    timeout : float, default 10.0
        Seconds allowed for ``sympy.simplify``; on timeout the answer is False.

    Returns
    -------
    bool
        See :func:`compare_symbolic` for the reason behind the answer.
    """
    return compare_symbolic(model_expr, truth_expr, timeout=timeout).solved


def compare_symbolic(
    model_expr: sympy.Expr,
    truth_expr: sympy.Expr,
    timeout: float = 10.0,
    X: np.ndarray | None = None,
    symbols: Sequence[sympy.Symbol | str] | None = None,
    positive: Sequence[str] = (),
) -> SymbolicVerdict:
    """Apply the SRBench symbolic-solution test and explain the outcome.

    Parameters
    ----------
    model_expr, truth_expr : sympy.Expr
        Model and ground truth; symbols are matched by name.
    timeout : float, default 10.0
        Seconds allowed for simplification in a child process.
    X : ndarray of shape (n, d), optional
        Points for the numeric pre-check (e.g. test inputs); columns follow
        `symbols`. Without it, points are drawn uniformly from [0.5, 2.5].
        With it, a ratio that is constant and of one sign at these points and
        whose square simplifies to a positive constant counts as constant
        (square roots sympy cannot merge without the domain, see ``_decide``).
    symbols : sequence of Symbol or str, optional
        Column names of `X`; required when `X` is given.
    positive : sequence of str, optional
        Variables known to be positive on the domain of the comparison; sympy
        may then use identities such as ``sqrt(a)*sqrt(b) = sqrt(a*b)``.

    Returns
    -------
    SymbolicVerdict

    Notes
    -----
    Simplification runs in a child process (``fork`` on Linux, ``spawn``
    elsewhere) that is killed after `timeout`. Where no child can be started
    (inside a daemonic process) it runs in-process, without a time limit,
    and a RuntimeWarning says so.
    """
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout < float("inf")):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    model, truth = _unify_symbols(_as_expr(model_expr, "model_expr"), _as_expr(truth_expr, "truth_expr"))
    diff = round_floats(truth - model)
    ratio = round_floats(model / truth)

    # sympy's automatic evaluation often decides already (e.g. x*y - 1.0*x*y -> 0).
    trivial = [
        _constant_verdict(expr, kind, "without simplification")
        for expr, kind in ((diff, "difference"), (ratio, "ratio"))
        if not expr.free_symbols
    ]
    for verdict in trivial:
        if verdict.solved:
            return verdict
    if len(trivial) == 2:  # both constant, neither acceptable (e.g. nan)
        return trivial[0]

    variables = sorted(truth.free_symbols | model.free_symbols, key=lambda s: s.name)
    points = _points(variables, X, symbols)
    ratio_values = _evaluate(ratio, variables, points)
    # Only on the data's own points may the ratio's sign there stand for its sign on the domain.
    ratio_sign = _steady_sign(ratio_values) if X is not None else 0
    if _spread_exceeds(ratio_values, None) and _varies(diff, variables, points, _scale(truth, model, variables, points)):
        return SymbolicVerdict(False, None, None, "difference and ratio vary numerically")
    on_domain = {v: sympy.Symbol(v.name, positive=True) for v in variables if v.name in set(positive)}
    return _simplify_in_child(diff.xreplace(on_domain), ratio.xreplace(on_domain), float(timeout), ratio_sign)


def check_solution(
    model_expr: sympy.Expr,
    truth_expr: sympy.Expr,
    X_test: np.ndarray,
    y_test: np.ndarray,
    symbols: Sequence[sympy.Symbol | str],
    timeout: float = 10.0,
) -> dict[str, object]:
    """Score a model against the ground truth the way SRBench does.

    Parameters
    ----------
    model_expr, truth_expr : sympy.Expr
        Model and ground truth; symbols are matched by name.
    X_test : ndarray of shape (n, d)
        Test inputs, columns ordered as `symbols`.
    y_test : ndarray of shape (n,)
        Test targets.
    symbols : sequence of Symbol or str
        Column names of `X_test`.
    timeout : float, default 10.0
        Seconds allowed for the symbolic check.

    Notes
    -----
    Variables whose test values are all positive are declared positive for
    the simplification: the ground truth is only claimed on the sampled
    domain, where e.g. ``sqrt(a)*sqrt(b)`` and ``sqrt(a*b)`` are the same.

    Returns
    -------
    dict
        ``solved`` (symbolic solution and test R^2 > 0.5), ``accuracy_solved``
        (test R^2 > 0.999), ``r2``, ``rmse``, plus ``symbolic`` (the raw
        symbolic verdict, None when skipped) and ``reason``.
    """
    names = _names(symbols)
    X_test = np.asarray(X_test, dtype=np.float64)
    y_test = np.asarray(y_test, dtype=np.float64).reshape(-1)
    if X_test.ndim != 2 or X_test.shape[1] != len(names):
        raise ValueError(f"X_test must have shape (n, {len(names)}) to match symbols {names}, got {X_test.shape}")
    if X_test.shape[0] != y_test.shape[0] or y_test.shape[0] == 0:
        raise ValueError(
            f"X_test has {X_test.shape[0]} rows but y_test has {y_test.shape[0]}; they must match (n >= 1)"
        )
    (model,) = _unify_symbols(_as_expr(model_expr, "model_expr"))
    unknown = sorted({s.name for s in model.free_symbols} - set(names))
    if unknown:
        raise ValueError(f"model uses symbols {unknown} that are not columns of X_test {names}")

    pred = _evaluate(model, [symbol_for(n) for n in names], X_test, strict=True)
    r2, rmse = r2_rmse(y_test, pred)
    result: dict[str, object] = {
        "solved": False,
        "accuracy_solved": bool(r2 > ACCURACY_R2),
        "r2": r2,
        "rmse": rmse,
        "symbolic": None,
        "reason": f"test R^2 {r2:.4g} <= {SYMBOLIC_MIN_R2}; symbolic check skipped",
    }
    if r2 > SYMBOLIC_MIN_R2:
        positive = [n for j, n in enumerate(names) if bool(np.all(X_test[:, j] > 0))]
        verdict = compare_symbolic(model, truth_expr, timeout=timeout, X=X_test, symbols=names, positive=positive)
        result.update(solved=verdict.solved, symbolic=verdict.solved, reason=verdict.reason)
    return result


# -- helpers -----------------------------------------------------------------
def _as_expr(value: object, what: str) -> sympy.Expr:
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return sympy.Integer(int(value))
    if isinstance(value, (float, np.floating)):
        return sympy.Float(float(value))
    hint = " (parse strings with kansr.symbolic._safe_expr.parse_formula first)" if isinstance(value, str) else ""
    raise TypeError(f"{what} must be a sympy expression, got {type(value).__name__}{hint}")


def _unify_symbols(*exprs: sympy.Expr) -> list[sympy.Expr]:
    """Replace every Symbol by kansr's canonical real symbol of the same name."""
    out = []
    for expr in exprs:
        mapping = {s: symbol_for(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
        out.append(expr.xreplace(mapping))
    return out


def _names(symbols: Sequence[sympy.Symbol | str]) -> list[str]:
    if isinstance(symbols, str):
        raise TypeError(f"symbols must be a sequence of names or Symbols, not the single string {symbols!r}")
    names = [s.name if isinstance(s, sympy.Symbol) else s for s in symbols]
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"symbols must be sympy Symbols or str, got {type(name).__name__}")
    return names


def _constant_verdict(value: sympy.Expr, kind: str, how: str) -> SymbolicVerdict:
    finite = not value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)
    nonzero = kind == "difference" or value.is_zero is False
    if finite and nonzero:
        return SymbolicVerdict(True, kind, value, f"{kind} is the constant {value} ({how})")
    return SymbolicVerdict(False, None, None, f"{kind} is the degenerate constant {value}")


def _points(
    variables: list[sympy.Symbol], X: np.ndarray | None, symbols: Sequence[sympy.Symbol | str] | None
) -> np.ndarray:
    """Evaluation points with one column per entry of `variables`."""
    rng = np.random.default_rng(0)
    if X is None:
        return rng.uniform(0.5, 2.5, size=(_N_POINTS, len(variables)))
    if symbols is None:
        raise ValueError("pass symbols (the column names of X) together with X")
    X = np.asarray(X, dtype=np.float64)
    column = {name: i for i, name in enumerate(_names(symbols))}
    rows = X[np.linspace(0, len(X) - 1, num=min(_N_POINTS, len(X))).astype(int)]
    out = rng.uniform(0.5, 2.5, size=(len(rows), len(variables)))  # for names not in X
    for j, var in enumerate(variables):
        if var.name in column:
            out[:, j] = rows[:, column[var.name]]
    return out


def _evaluate(expr: sympy.Expr, variables: list[sympy.Symbol], points: np.ndarray, strict: bool = False) -> np.ndarray:
    """Evaluate `expr` at `points`; non-real or failed values become NaN.

    With ``strict=False`` any failure yields all-NaN (the numeric check then
    abstains); with ``strict=True`` unsupported expressions raise.
    """
    n = len(points)
    # lambdify prints undefined functions by name into generated code: refuse them.
    if expr.atoms(AppliedUndef):
        if strict:
            raise ValueError(f"cannot evaluate undefined functions {sorted(map(str, expr.atoms(AppliedUndef)))}")
        return np.full(n, np.nan)
    try:
        func = sympy.lambdify(variables, expr, modules="numpy", dummify=True)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.asarray(func(*points.T), dtype=np.complex128)
    except Exception as exc:  # sympy/numpy raise many types on odd expressions
        if strict:
            raise ValueError(f"cannot evaluate the model numerically: {exc}") from exc
        return np.full(n, np.nan)
    values = np.broadcast_to(values, (n,))
    real = np.where(np.abs(values.imag) <= 1e-9 * np.maximum(1.0, np.abs(values.real)), values.real, np.nan)
    return np.array(real, dtype=np.float64)


def _scale(truth: sympy.Expr, model: sympy.Expr, variables: list[sympy.Symbol], points: np.ndarray) -> float:
    """Magnitude of the terms of ``truth - model``, to bound round-off in it."""
    with np.errstate(all="ignore"):
        mags = np.abs(np.concatenate([_evaluate(truth, variables, points), _evaluate(model, variables, points)]))
    mags = mags[np.isfinite(mags)]
    return float(max(1.0, mags.max())) if mags.size else 1.0


def _varies(expr: sympy.Expr, variables: list[sympy.Symbol], points: np.ndarray, scale: float | None) -> bool:
    """True only when `expr` is clearly not constant at the finite points."""
    return _spread_exceeds(_evaluate(expr, variables, points), scale)


def _spread_exceeds(values: np.ndarray, scale: float | None) -> bool:
    """True only when the finite ``values`` clearly differ (see :func:`_varies`)."""
    values = values[np.isfinite(values)]
    if values.size < _MIN_VALID:
        return False  # abstain
    if scale is None:
        scale = max(1.0, float(np.abs(values).max()))
    return float(values.max() - values.min()) > _REL_TOL * scale


def _steady_sign(values: np.ndarray) -> int:
    """+1 or -1 when ``values`` are all finite, constant and of that sign; else 0."""
    if values.size < _MIN_VALID or not np.all(np.isfinite(values)) or np.any(values == 0):
        return 0
    if _spread_exceeds(values, None) or len(set(np.sign(values))) > 1:
        return 0
    return int(np.sign(values[0]))


# -- child process -----------------------------------------------------------
def _decide(diff: sympy.Expr, ratio: sympy.Expr, ratio_sign: int = 0) -> SymbolicVerdict:
    """Try cheap rewrites first, then ``simplify``; runs in the child.

    sympy cannot merge square roots without knowing the sign of what is under
    them (``sqrt((c + v)/(c - v))`` against ``(1 + v/c)/sqrt(1 - v**2/c**2)``
    for ``c > v``).  So when the ratio is numerically constant at the test
    points, of one sign (``ratio_sign``, +1 or -1; 0 otherwise), its square
    is tried too: a ratio whose square is a positive constant is that
    constant's root wherever it is continuous, with the sign seen there.
    """
    for name, rewrite in (("cancel", sympy.cancel), ("expand", sympy.expand), ("simplify", sympy.simplify)):
        for expr, kind in ((diff, "difference"), (ratio, "ratio")):
            value = rewrite(expr)
            if not value.free_symbols:
                verdict = _constant_verdict(value, kind, f"after {name}")
                if verdict.solved:
                    return verdict
    if ratio_sign:
        square = sympy.simplify(sympy.cancel(sympy.powsimp(sympy.expand_power_base(ratio**2, force=False))))
        if not square.free_symbols and square.is_positive:
            verdict = _constant_verdict(ratio_sign * sympy.sqrt(square), "ratio", "its square simplifies to a constant")
            if verdict.solved:
                return verdict
    return SymbolicVerdict(False, None, None, "neither difference nor ratio simplifies to a constant")


def _simplify_in_child(diff: sympy.Expr, ratio: sympy.Expr, timeout: float, ratio_sign: int) -> SymbolicVerdict:
    try:
        return call_with_timeout(_decide, (diff, ratio, ratio_sign), timeout)
    except TimedOut as exc:
        reason = "simplification timed out" if "timed out" in str(exc) else "simplification process died"
        return SymbolicVerdict(False, None, None, f"{reason} ({exc})")
    except RuntimeError as exc:  # sympy raised inside the child
        return SymbolicVerdict(False, None, None, f"sympy failed: {exc}")
