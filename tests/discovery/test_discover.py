import numpy as np
import pytest
import sympy

from kansr.discovery import choose, discover, pareto_front
from kansr.symbolic import parse_formula

CASES = {
    # name: (truth, sampling range, number of variables)
    "x0*x1": ((-1.0, 1.0), 2),
    "sin(x0) + x1**2": ((-2.0, 2.0), 2),
    "exp(-x0**2/2)": ((-2.0, 2.0), 1),
    "x0/(x1 + 1)": ((0.5, 3.0), 2),
    "sqrt(x0**2 + x1**2)": ((-2.0, 2.0), 2),
    "3*x0 + 2": ((-1.0, 1.0), 1),
    "exp(sin(pi*x0) + x1**2)": ((-1.0, 1.0), 2),
}


def _data(truth_text, rng_range, d, n=1000, seed=0):
    names = [f"x{i}" for i in range(d)]
    truth = parse_formula(truth_text, names)
    f = sympy.lambdify([sympy.Symbol(n, real=True) for n in names], truth, "numpy")
    X = np.random.default_rng(seed).uniform(*rng_range, (n, d))
    return X, np.broadcast_to(f(*X.T), (n,)).astype(float), names, truth


def _equivalent(found, truth):
    found = found.xreplace({s: sympy.Symbol(s.name, real=True) for s in found.free_symbols})
    return sympy.simplify(found - truth) == 0


@pytest.mark.slow
@pytest.mark.parametrize("truth_text", list(CASES))
def test_exact_recovery(truth_text):
    rng_range, d = CASES[truth_text]
    X, y, names, truth = _data(truth_text, rng_range, d)
    result = discover(X, y, names, seed=0, time_budget=120)
    assert _equivalent(result.formula.expr, truth), f"found {result.formula}, truth {truth}"
    assert result.best.val_r2 > 0.999999
    assert result.pareto[-1].val_rmse <= result.pareto[0].val_rmse


def test_irrelevant_column_is_dropped():
    rng = np.random.default_rng(3)
    X = rng.uniform(0.5, 2.0, (500, 3))
    y = 2.5 * X[:, 0] ** 2 * X[:, 2]
    result = discover(X, y, ["m", "junk", "v"], time_budget=30, generators=("linear", "power_law", "additive"))
    assert result.dropped_features == ["junk"]
    assert "junk" not in str(result.formula)
    assert _equivalent(result.formula.expr, parse_formula("5*m**2*v/2", ["m", "junk", "v"]))


def test_clashing_names_are_plain_symbols():
    rng = np.random.default_rng(4)
    X = rng.uniform(1, 3, (300, 2))
    result = discover(X, X[:, 0] * X[:, 1], ["I", "gamma"], time_budget=30, generators=("power_law",))
    assert str(result.formula) == "I*gamma"
    assert np.allclose(result.predict(X), X[:, 0] * X[:, 1])


def test_pareto_and_choice_rule():
    from kansr.discovery import Candidate
    from kansr.symbolic import Formula

    x = sympy.Symbol("x")
    mk = lambda c, e: Candidate(Formula(x, [x]), "t", c, e, 0.0, e)  # noqa: E731
    cands = [mk(3, 1.0), mk(5, 0.1), mk(9, 0.09), mk(7, 0.5), mk(12, 0.001)]
    assert [c.complexity for c in pareto_front(cands)] == [3, 5, 9, 12]
    assert choose(cands, y_std=1.0).complexity == 12
    cands[-1] = mk(12, 0.08)
    assert choose(cands, y_std=1.0).complexity == 5  # within 1.5x of the best: simplest wins


@pytest.mark.parametrize(
    "X, y, names, message",
    [
        (np.ones((20, 2)), np.ones(19), None, "20 rows but y has 19"),
        (np.ones((5, 2)), np.ones(5), None, "at least 10 samples"),
        (np.full((20, 1), np.nan), np.ones(20), None, "non-finite"),
        (np.ones((20, 2)), np.ones(20), ["a"], "1 names for 2 columns"),
        (np.ones((20, 2)), np.ones(20), ["a", "a"], "distinct"),
        (np.ones((20, 2)), np.ones(20), ["a", "b c"], "not a valid identifier"),
    ],
)
def test_bad_input(X, y, names, message):
    with pytest.raises(ValueError, match=message):
        discover(X, y, names)


def test_same_seed_same_result_without_budget():
    X, y, names, _ = _data("sin(x0) + x1**2", (-2.0, 2.0), 2, n=300)
    first = discover(X, y, names, seed=3, time_budget=None, generators=("additive",))
    second = discover(X, y, names, seed=3, time_budget=None, generators=("additive",))
    assert str(first.formula.expr) == str(second.formula.expr)
    assert [c.val_rmse for c in first.candidates] == [c.val_rmse for c in second.candidates]


def test_library_names_reach_every_generator():
    """A library given as names runs every generator; none fails (``nested`` once did, silently)."""
    from kansr.discovery import GENERATORS
    from kansr.estimator import KANRegressor

    rng = np.random.default_rng(5)
    X = rng.uniform(0.5, 2.0, (30, 1))
    y = np.sin(2 * X[:, 0]) + 0.05 * rng.standard_normal(30)  # noisy: no generator is skipped as solved
    est = KANRegressor(library=["x", "sin"], time_budget=None).fit(X, y)
    log = est.result_.log
    assert not [line for line in log if "failed" in line], log
    ran = {line.split(":")[0] for line in log if line.endswith("candidates so far")}
    assert ran == set(GENERATORS)
    assert any(c.source == "nested" for c in est.result_.candidates)


def test_discover_in_two_threads_matches_serial_runs():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(6)
    X = rng.uniform(0.5, 2.0, (100, 2))
    ys = [X[:, 0] * np.exp(X[:, 1]), np.sin(X[:, 0]) + X[:, 1] ** 2]

    def run(y):
        return discover(X, y, ["a", "b"], seed=1, time_budget=None, generators=("linear", "multiplicative", "additive"))

    def same(r1, r2):
        # What a user reads must agree.  (Constants of candidates that were not chosen can end
        # an ill-conditioned refit at a different round-off point from call to call in one
        # process, threads or not, so the test does not compare every candidate bit for bit.)
        assert str(r1.formula) == str(r2.formula)
        assert r1.best.val_rmse == pytest.approx(r2.best.val_rmse, rel=1e-6, abs=1e-12)
        assert [c.source for c in r1.candidates] == [c.source for c in r2.candidates]

    serial = [run(y) for y in ys]
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(run, ys))
    for r1, r2 in zip(serial, threaded):
        same(r1, r2)
    assert [str(r.formula) for r in threaded] == ["a*exp(b)", "b**2 + sin(a)"]


def test_discover_refuses_bad_arguments():
    from kansr.errors import UsageError

    X = np.random.default_rng(0).uniform(1, 2, (30, 1))
    for kwargs in ({"generators": []}, {"generators": ["nope"]}, {"time_budget": float("nan")},
                   {"time_budget": -1}, {"generators": "linear"}):
        with pytest.raises(UsageError):
            discover(X, X[:, 0], **kwargs)
    with pytest.raises(ValueError, match="unknown library function 'foo'"):
        discover(X, X[:, 0], library=["foo"])


def _own_environ() -> dict:
    """The environment without the cache folder torch's compiler records on its first use in a process."""
    import os

    return {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}


def test_discover_leaves_process_settings_alone():
    """No thread count, environment variable or numba setting changed behind the caller's back."""

    import torch

    torch.set_num_threads(2)
    try:
        from threadpoolctl import threadpool_info

        env = _own_environ()
        pools = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
        X = np.random.default_rng(7).uniform(0.5, 2.0, (100, 2))
        discover(X, X[:, 0] * X[:, 1] + np.sin(X[:, 1]), seed=0, time_budget=None,
                 generators=("linear", "additive"))
        assert torch.get_num_threads() == 2
        assert _own_environ() == env
        assert [(p["internal_api"], p["num_threads"]) for p in threadpool_info()] == pools
    finally:
        torch.set_num_threads(1)  # the suite's setting (conftest)
