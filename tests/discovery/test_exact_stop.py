"""When discovery stops early: a short formula at round-off, not any formula at round-off."""
import numpy as np
import sympy

from kansr.discovery import Candidate
from kansr.symbolic import Formula, parse_formula

# The rational fit the sparse generator found for I.6.2a's Gaussian on [1, 3] (R² = 1 - 1e-13 on
# its test rows); with the search stopped there, the exact formula was never proposed.
_LONG_FIT = (
    "(0.95165440086149711*theta**(5/2) + 0.016147809980079201*theta**2*exp(theta)"
    " + 0.21811138132974581*theta**2*cos(theta) - 0.76217988499495426*exp(theta) - 0.67607345964004628)"
    "/(theta**2 - 2.2824760770993251*exp(theta) + 0.61896842766774063*cos(theta) - 3*pi/5)"
)


def _at_round_off(s, text):
    expr = parse_formula(text, ["theta"])
    return Candidate(Formula(expr, list(expr.free_symbols)), "test", 10, 1e-9 * s.y_std, 1.0, 1e-9 * s.y_std)


def test_an_exact_but_long_fit_does_not_stop_the_search(make_search):
    theta = sympy.Symbol("theta")
    X = np.random.default_rng(0).uniform(1, 3, (300, 1))
    s = make_search(X, ["theta"], sympy.exp(-theta**2 / 2) / sympy.sqrt(2 * sympy.pi))
    s.pool["long"] = _at_round_off(s, _LONG_FIT)
    assert not s.solved()  # stopping here would hide the two-constant formula
    s.pool["short"] = _at_round_off(s, "0.3989422804*exp(-0.5*theta**2)")
    assert s.solved()


def test_discovery_goes_on_to_the_exact_gaussian():
    import feynman_data
    from kansr.bench.runner import task_seeds
    from kansr.discovery import discover

    train_seed = task_seeds("I.6.2a", 0.0, 0)[0]  # the benchmark's rows, where the long fit stopped it
    X, y, names, truth = feynman_data.sample("I.6.2a", 1000, seed=train_seed)
    found = discover(X, y, names, seed=train_seed, time_budget=60,
                     generators=("linear", "power_law", "sparse", "nested"))
    ratio = sympy.nsimplify(sympy.simplify(found.formula.expr / truth), tolerance=1e-8)
    assert ratio == 1, (found.formula, found.log)
