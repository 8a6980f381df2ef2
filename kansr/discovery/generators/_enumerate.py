"""Exhaustive search over small expression trees, for data of one to three variables."""
from __future__ import annotations

from kansr.discovery._enumerate import run_enumeration
from kansr.discovery._state import Search

__all__ = ["MAX_SIZE", "MAX_VARIABLES", "gen_enumerate"]

#: Most variables the search takes: the number of trees grows as (variables + operators)**size.
MAX_VARIABLES = 3
#: Largest tree (nodes) searched, by number of variables.  Measured on 2 cores: size 8 with one
#: variable and size 7 with two take 3-8 s (about 0.2 million expressions per second); with
#: three, size 7 takes 5-10 s and is usually cut by the time limit.
MAX_SIZE = {1: 8, 2: 7, 3: 7}
# Share of the budget left that the search may take: the KAN generators after it need the rest.
_SHARE = 0.4
_MAX_SECONDS = 30.0
# Proposals passed to Search.add (each costs a refit, a snap and a simplification).
_PROPOSALS = 10


def gen_enumerate(s: Search) -> None:
    """Propose the best ``c*e + d`` over all small expressions ``e`` of the variables.

    Skipped with a note for more than :data:`MAX_VARIABLES` variables.  The
    search and its proposals take at most 40 % of the time left (the search
    30 s at most); it proposes its best ten, best first, until one fits to
    round-off or that time is used.
    """
    n_vars = len(s.variables)
    if n_vars > MAX_VARIABLES:
        s.note(f"enumerate: skipped ({n_vars} variables; the exhaustive search takes at most {MAX_VARIABLES})")
        return
    # The search and the proposals together take the share of the budget; the rest stays for the KANs.
    keep_back = (1 - _SHARE) * s.budget.left()
    limit = s.budget.time_limit(reserve=keep_back, floor=0.5)  # None: no budget
    if limit is not None:
        limit = min(limit, _MAX_SECONDS)
    max_size = MAX_SIZE[n_vars]
    report = run_enumeration(s.X, s.y, s.variables, max_size=max_size, time_limit=limit, top=_PROPOSALS,
                             seed=s.seed)
    cut = f", cut by the time limit ({limit:.1f} s)" if report.timed_out else ""
    s.note(f"enumerate: {report.n_tried:,} expressions tried ({report.n_screened:,} of size {max_size} dropped "
           f"after 32 rows), {report.n_distinct:,} valid and distinct scored in full; sizes up to "
           f"{report.sizes_done} of {max_size} complete{cut}; {report.seconds:.1f} s "
           f"({report.rate:,.0f} expressions/s)")
    for found in report.found:
        # Each proposal costs about a second (refit, snap, simplify): they stop at the share too.
        if s.budget.over(reserve=max(2.0, keep_back)):
            return
        s.add(found.fitted, "enumerate")
        if s.solved():
            return
