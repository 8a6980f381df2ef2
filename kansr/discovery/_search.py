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
from kansr._validation import check_time_budget, check_xy
from kansr.discovery._candidates import DiscoveryResult, choose, pareto_front
from kansr.discovery._registry import GENERATORS, get_generators
from kansr.discovery._state import Budget, Search
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
    y : array-like, shape (n_samples,)
    names : list of str, optional
        Variable names (valid identifiers; names such as ``E``, ``I``,
        ``gamma`` are plain symbols).  Default ``x0, x1, ...``.
    seed : int
        Seed of the train/validation split and of every network.
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
        Unusable X, y or names.
    UsageError
        Unknown generators, a time budget that is not a positive number, an
        unknown library function.
    TypeError
        A library entry that is neither a name nor a SymbolicFunction.

    Notes
    -----
    Ctrl-C stops the search and returns the best formula found so far
    (``interrupted=True``); it is re-raised only if nothing was found yet.

    Same data and seed give the same result when ``time_budget`` is None.
    With a budget, how far the search gets depends on the machine's speed.

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
    selected = get_generators(generators)
    budget = Budget(check_time_budget(time_budget))
    library = None if library is None else resolve_library(library)
    log: list[str] = []
    s = Search(X, y, names, seed, library, budget, log)
    interrupted = False
    from tqdm.auto import tqdm

    bar = tqdm(selected, disable=not progress, desc="discover", leave=False)
    try:
        for gen in bar:
            bar.set_postfix_str(gen.name)
            if budget.over() or (gen.skip_when_solved and s.solved()):
                s.note(f"{gen.name}: skipped ({'time budget' if budget.over() else 'already exact'})")
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
    cands = sorted(s.pool.values(), key=lambda c: (c.complexity, c.val_rmse))
    best = choose(cands, s.y_std)
    used = best.formula.used_variables
    return DiscoveryResult(
        formula=best.formula,
        best=best,
        candidates=cands,
        pareto=pareto_front(cands),
        dropped_features=[n for n in names if n not in used],
        model=s.model,
        seconds=time.perf_counter() - budget.start,
        interrupted=interrupted,
        log=log,
    )
