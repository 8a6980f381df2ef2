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
from collections.abc import Sequence

import numpy as np
import sympy

from kansr._timeout import time_limit_reached
from kansr._validation import check_seed, check_time_budget, check_xy
from kansr.discovery._candidates import Candidate, DiscoveryResult, choose, pareto_front
from kansr.discovery._registry import GENERATORS, get_generators
from kansr.discovery._scaling import DecimalScaling
from kansr.discovery._state import MAX_SEARCH_ROWS, Budget, Search
from kansr.symbolic._formula import Formula
from kansr.symbolic._library import resolve_library

__all__ = ["discover"]

logger = logging.getLogger("kansr.discovery")


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

    Returns
    -------
    DiscoveryResult
        ``formula``, the ``pareto`` front and every candidate.

    Raises
    ------
    DataError
        Unusable X, y or names (complex, non-finite, too few rows, ...).
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
    log: list[str] = []
    scaling = DecimalScaling.of(X, y)
    s = Search(scaling.scale_X(X), scaling.scale_y(y), names, seed, library, budget, log)
    if not scaling.is_identity:
        s.note(f"searching in rescaled units: columns / 10**{list(scaling.x_exponents)}, y / 10**{scaling.y_exponent}")
    if len(y) > len(s.y) + len(s.yv):
        s.note(f"searching on a random {len(s.y)} training and {len(s.yv)} validation rows of {len(y)} "
               f"(at most {MAX_SEARCH_ROWS} each)")
    interrupted = False
    from tqdm.auto import tqdm

    bar = tqdm(selected, disable=not progress, desc="discover", leave=False)
    try:
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
    finally:
        bar.close()
    if not s.pool:  # everything failed: the mean is still an honest answer
        s.add(sympy.Float(float(np.mean(s.y)), 17), "constant", refit=False)
    # Chosen in search units (complexity counts no unit factors), reported in the data's.
    cands = sorted(s.pool.values(), key=lambda c: (c.complexity, c.val_rmse))
    chosen = choose(cands, s.y_std, n_val=len(s.yv), n_inputs=len(s.variables))
    pareto = pareto_front(cands)
    unscaled = {id(c): _unscaled(c, scaling, s.variables) for c in cands}
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
    )


def _unscaled(c: Candidate, scaling: DecimalScaling, variables) -> Candidate:
    """A candidate of the search rewritten in the data's units (same complexity: it is the same formula)."""
    if scaling.is_identity:
        return c
    expr = scaling.unscale_expr(c.formula.expr, variables)
    factor = scaling.y_factor
    return Candidate(Formula(expr, c.formula.variables), c.source, c.complexity,
                     c.val_rmse * factor, c.val_r2, c.train_rmse * factor)
