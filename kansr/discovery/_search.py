"""One call from data to a formula: :func:`discover`.

Every generator of :data:`~kansr.discovery.GENERATORS` (the registry in
:mod:`kansr.discovery._registry`, in its run order) proposes formulas; every
proposal has its constants refitted on the training split and snapped to
simple values, and is then scored on the validation split.  The proposals
form a Pareto front of complexity against validation error, from which one
formula is chosen (:func:`~kansr.discovery.choose`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import sympy

from kansr._timeout import time_limit_reached
from kansr._validation import check_seed, check_time_budget, check_xy
from kansr.discovery._candidates import Candidate, DiscoveryResult, choose, pareto_front
from kansr.discovery._registry import GENERATORS, get_generators
from kansr.discovery._scaling import DecimalScaling
from kansr.discovery._state import MAX_SEARCH_ROWS, Budget, Search
from kansr.discovery._units import UnitSpec, UnitsReport, check_unit_arguments
from kansr.symbolic._constants import snap_constants
from kansr.symbolic._formula import Formula
from kansr.symbolic._library import resolve_library
from kansr.symbolic._safe_expr import symbol_for

__all__ = ["discover"]

logger = logging.getLogger("kansr.discovery")

# Share of the time left that the searches on the dimensionless groups may use at most.
_UNITS_SHARE = 0.6
# Reductions (prefactor and groups) tried, simplest first: the unknown function is simple in one of them.
_UNITS_REDUCTIONS = 3


def discover(
    X,
    y,
    names: Sequence[str] | None = None,
    *,
    seed: int = 0,
    time_budget: float | None = 60.0,
    generators: Sequence[str] = GENERATORS,
    library=None,
    progress: bool = False,
    units: Mapping[str, str] | None = None,
    y_units: str | None = None,
) -> DiscoveryResult:
    """Discover a closed-form formula ``y ≈ f(X)``.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        A DataFrame's column names become the variable names (made valid
        by :func:`kansr.sanitize_names`) unless ``names`` is given.
    y : array-like, shape (n_samples,)
    names : list of str, optional
        Variable names (valid identifiers, not Python keywords or formula
        functions such as ``sin``; names such as ``E``, ``I``, ``gamma`` are
        plain symbols).  Default: the DataFrame's columns, else ``x0, x1, ...``.
    seed : int
        Seed of the train/validation split and of every network.  Any
        integer: values outside ``[0, 2**32)`` are reduced into it
        reproducibly (:func:`numpy.random.SeedSequence`).
    time_budget : float or None
        Seconds to spend; generators that would start after it are skipped.
    generators : sequence of str
        Which structure generators to run (see :data:`GENERATORS`); they
        always run in the registry's order.
    library : optional
        Function library for snapping edges: names, SymbolicFunction objects
        or a mapping (see :func:`kansr.symbolic.resolve_library`).
    progress : bool
        Show a progress bar over the generators.
    units : mapping of str to str, optional
        The unit of every input column, as pint reads it (``{"m": "kg", "v":
        "m/s"}``; ``"1"`` for pure numbers).  With ``y_units`` the search
        first solves ``y = P(x) * F(pi_1, ..., pi_k)`` on the dimensionless
        groups (Buckingham π, :func:`kansr.units.buckingham`), then, unless a
        short exact formula is found, the inputs themselves; every candidate
        is checked for dimensional consistency (``Candidate.dimensions``) and
        consistent ones rank first among those within the noise level.
    y_units : str, optional
        The target's unit; required with ``units``.

    Returns
    -------
    DiscoveryResult
        ``formula``, the ``pareto`` front and every candidate.

    Raises
    ------
    DataError
        Unusable X, y or names (complex, non-finite, too few rows, ...).
    UnitsError
        An unknown or offset unit, a column without a unit, a unit for a
        name that is not a column.
    UsageError
        Unknown generators, a time budget that is not a positive number, an
        unknown library function, a seed that is not an integer.
    TypeError
        A library entry that is neither a name nor a SymbolicFunction.

    Notes
    -----
    Ctrl-C stops the search and returns the best formula found so far
    (``interrupted=True``); it is re-raised only if nothing was found yet.

    Same data and seed give the same result when ``time_budget`` is None.
    With a budget, how far the search gets depends on the machine's speed.

    The search is free of units: a column (or ``y``) whose magnitudes lie
    far from 1 (beyond 1e±5) is divided by a power of ten before the search
    and the formula is rewritten in the data's units (see
    :mod:`kansr.discovery._scaling`); ``model`` takes data in its units.
    Data with more than 5,000 training rows is searched on a random subset of
    that many (and as many validation rows); every candidate is scored on it.

    The function changes no process-wide setting for good, and concurrent
    calls from several threads give the results of serial calls (tested).
    Two process-wide states are touched for a moment: constant refits limit
    BLAS to one thread (the calls take turns), and Python's
    ``warnings.catch_warnings`` around training may hide another thread's
    warnings meanwhile.  Its networks are small: on a busy machine
    ``with kansr.torch_threads(1): discover(...)`` avoids torch's
    synchronisation costs (the CLI and the benchmark do this).
    """
    X, y, names = check_xy(X, y, names)
    seed = check_seed(seed)
    selected = get_generators(generators)
    budget = Budget(check_time_budget(time_budget))
    library = None if library is None else resolve_library(library)
    spec = UnitSpec.build(names, units, y_units) if check_unit_arguments(units, y_units) else None
    log: list[str] = []
    from tqdm.auto import tqdm

    bar = tqdm(selected, disable=not progress, desc="discover", leave=False)
    try:
        if spec is None:
            s, scaling, interrupted = _search(X, y, names, seed, library, budget, log, bar)
            report = None
        else:
            s, scaling, interrupted, report = _search_with_units(X, y, names, spec, seed, library, budget, log, bar)
    finally:
        bar.close()
    return _result(s, scaling, names, budget, log, interrupted, spec, report)


def _search(X, y, names, seed, library, budget, log, bar, pool=()) -> tuple[Search, DecimalScaling, bool]:
    """Run the generators on ``(X, y)``; ``pool``: formulas (in data units) to score first."""
    scaling = DecimalScaling.of(X, y)
    s = Search(scaling.scale_X(X), scaling.scale_y(y), names, seed, library, budget, log)
    if not scaling.is_identity:
        s.note(f"searching in rescaled units: columns / 10**{list(scaling.x_exponents)}, y / 10**{scaling.y_exponent}")
    if len(y) > len(s.y) + len(s.yv):
        s.note(f"searching on a random {len(s.y)} training and {len(s.yv)} validation rows of {len(y)} "
               f"(at most {MAX_SEARCH_ROWS} each)")
    interrupted = False
    try:
        for expr, source in pool:
            s.add(scaling.scale_expr(expr, s.variables), source)
        for gen in bar:
            bar.set_postfix_str(gen.name)
            out_of_time = budget.over(reserve=gen.min_seconds)
            if out_of_time or s.solved():
                s.note(f"{gen.name}: skipped ({'time budget' if out_of_time else 'already exact'})")
                continue
            t0 = time.perf_counter()
            try:
                gen.run(s)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # one generator failing must not lose the others' results
                s.note(f"{gen.name}: failed ({type(exc).__name__}: {exc})")
            s.note(f"{gen.name}: {time.perf_counter() - t0:.2f} s, {len(s.pool)} candidates so far")
            if time_limit_reached():  # a hard limit some inner code caught and absorbed
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        if not s.pool:
            raise
    return s, scaling, interrupted


def _search_with_units(X, y, names, spec, seed, library, budget, log, bar):
    """Search ``F`` of the dimensionless groups first, then (if not exact) the inputs themselves."""
    X_si, y_si = spec.to_si(X, y)
    found = spec.reductions(limit=_UNITS_REDUCTIONS)
    report = UnitsReport(spec.describe(), [line for red in found for line in red.describe()] or None, 0, 0)
    pool: list[tuple[sympy.Expr, str]] = []
    interrupted = False
    symbols = [symbol_for(n) for n in names]
    if not found:
        log.append("units: no monomial of the inputs has the target's unit; searching the inputs directly")
    elif found[0].n_groups >= len(names):
        log.append("units: every input is dimensionless; no reduction")
        found = []
    share = None if budget.seconds is None else max(budget.left(), 0.0) * _UNITS_SHARE / max(len(found), 1)
    for red in found:
        prefactor, groups = red.prefactor_values(X_si), red.group_values(X_si)
        usable = bool(np.all(np.isfinite(prefactor)) and np.all(prefactor != 0) and np.all(np.isfinite(groups)))
        log.append("units: " + "; ".join(red.describe()) + ("" if usable else " (not usable on these rows)"))
        if not usable:
            continue
        z = y_si / prefactor
        lift = spec.lifter(red, symbols)
        mean = float(np.mean(z))
        # y = C * P(x): only C is left (no group, or y/P constant to round-off whatever the groups),
        # snapped to a simple number if the data allow.
        if red.n_groups == 0 or np.ptp(z) <= 1e-12 * abs(mean):
            # z's spread is round-off or noise, so the snap is judged against |C|
            constant = snap_constants(sympy.Float(mean, 17), [], np.empty((len(z), 0)), z, abs_floor=1e-9 * abs(mean))
            pool.append((lift(constant, []), "units"))
            report.group_candidates += 1
            break
        group_names = [f"pi{k + 1}" for k in range(red.n_groups)]
        inner_log: list[str] = []
        # A reduction that removes few variables (9 inputs to 6 groups) rarely makes F simpler than
        # the raw problem: its search gets a share in proportion to the variables it removes.
        gain = 1.0 - red.n_groups / len(names)
        inner_budget = Budget(None if share is None else share * gain)
        inner, inner_scaling, interrupted = _search(groups, z, group_names, seed, library, inner_budget,
                                                    inner_log, _Silent(bar.iterable))
        log.extend(f"units/{line}" for line in inner_log)
        report.group_candidates += inner.n_proposals
        if inner.structure is not None and report.structure is None:  # the tree read off the groups' surrogate
            labels = [str(g) for g in red.group_expressions([sympy.Symbol(n) for n in names])]
            report.structure = inner.structure.describe(labels)
        for c in pareto_front(list(inner.pool.values())):  # each lifted formula costs a refit on the data
            expr = inner_scaling.unscale_expr(c.formula.expr, inner.variables)
            pool.append((lift(expr, inner.variables), f"units/{c.source}"))
        if interrupted or inner.solved():
            break
    s, scaling, raw_interrupted = _search(X, y, names, seed, library, budget, log,
                                          _Silent(()) if interrupted else bar, pool)
    report.candidates = s.n_proposals - len(pool)  # the lifted group formulas are counted among the groups'
    return s, scaling, interrupted or raw_interrupted, report


class _Silent:
    """Stands in for the progress bar of an inner search."""

    def __init__(self, items) -> None:
        self.iterable = list(items)

    def __iter__(self):
        return iter(self.iterable)

    def set_postfix_str(self, text: str) -> None:
        pass


def _result(s, scaling, names, budget, log, interrupted, spec, report) -> DiscoveryResult:
    if not s.pool:  # everything failed: the mean is still an honest answer
        s.add(sympy.Float(float(np.mean(s.y)), 17), "constant", refit=False)
    # Chosen in search units (complexity counts no unit factors), reported in the data's.
    cands = sorted(s.pool.values(), key=lambda c: (c.complexity, c.val_rmse))
    unscaled = {id(c): _unscaled(c, scaling, s.variables) for c in cands}
    rank = None
    if spec is not None:
        checks = {id(c): spec.check(unscaled[id(c)].formula.expr) for c in cands}
        for c in cands:
            unscaled[id(c)].dimensions = checks[id(c)].label
        rank = lambda c: checks[id(c)].rank  # noqa: E731
    chosen = choose(cands, s.y_std, n_val=len(s.yv), n_inputs=len(s.variables), rank=rank)
    pareto = pareto_front(cands)
    best = unscaled[id(chosen)]
    used = best.formula.used_variables
    if s.model is not None:
        scaling.unscale_model(s.model)
    return DiscoveryResult(
        formula=best.formula,
        best=best,
        candidates=[unscaled[id(c)] for c in cands],
        pareto=[unscaled[id(c)] for c in pareto],
        dropped_features=[n for n in names if n not in used],
        model=s.model,
        seconds=time.perf_counter() - budget.start,
        interrupted=interrupted,
        log=log,
        structure=s.structure,
        structure_text=None if s.structure is None else s.structure.describe(names),
        units=report,
        n_candidates=s.n_proposals if report is None else report.candidates + report.group_candidates,
    )


def _unscaled(c: Candidate, scaling: DecimalScaling, variables) -> Candidate:
    """A candidate of the search rewritten in the data's units (same complexity: it is the same formula)."""
    if scaling.is_identity:
        return c
    expr = scaling.unscale_expr(c.formula.expr, variables)
    factor = scaling.y_factor
    return Candidate(Formula(expr, c.formula.variables), c.source, c.complexity,
                     c.val_rmse * factor, c.val_r2, c.train_rmse * factor)
