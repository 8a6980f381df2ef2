"""One validation path: the same bad argument is refused the same way by discover, KANRegressor and the CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kansr
from kansr.cli import main
from kansr.errors import DataError, KansrError, UsageError

RNG = np.random.default_rng(0)
X = RNG.uniform(1, 3, (60, 2))
Y = 2 * X[:, 0] + 3 * X[:, 1]
FAST = ["linear", "power_law"]

# case -> (discover keyword arguments, KANRegressor parameters or None, CLI options or None, error, message)
CASES = {
    "unknown library function": (dict(library=["foo"]), dict(library=["foo"]), ["--library", "foo"],
                                 UsageError, "'foo'"),
    "NaN time budget": (dict(time_budget=float("nan")), dict(time_budget=float("nan")), ["--time-budget", "nan"],
                        UsageError, "nan"),
    "negative time budget": (dict(time_budget=-1), dict(time_budget=-1), ["--time-budget", "-1"],
                             UsageError, "-1"),
    "no generators": (dict(generators=[]), dict(generators=[]), ["--generators", ","], UsageError, "empty"),
    "keyword as a name": (dict(names=["lambda", "b"]), None, None, DataError, "'lambda' is a Python keyword"),
    "function as a name": (dict(names=["sin", "b"]), None, None, DataError, "'sin' is the name of a formula function"),
    "complex X": (dict(X=X + 1j), None, None, DataError, "complex"),
    "seed not an integer": (dict(seed=1.5), dict(random_state=1.5), ["--seed", "1.5"], UsageError, "seed"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_every_front_door_refuses(case, tmp_path, capsys):
    kwargs, params, options, error, message = CASES[case]
    kwargs = {"X": X, "y": Y, "generators": FAST, "time_budget": 5, **kwargs}
    with pytest.raises(error, match=message):
        kansr.discover(kwargs.pop("X"), kwargs.pop("y"), **kwargs)
    if params is not None:
        est = kansr.KANRegressor(**{"generators": FAST, "time_budget": 5, **params})
        with pytest.raises((KansrError, ValueError)):
            est.fit(X, Y)
    if options is not None:
        path = tmp_path / "d.csv"
        pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": Y}).to_csv(path, index=False)
        code = main(["discover", str(path), "--target", "y", "--no-progress", "--generators", "linear", *options])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_dataframe_columns_name_the_variables():
    frame = pd.DataFrame({"T [K]": X[:, 0], "lambda": X[:, 1]})
    result = kansr.discover(frame, pd.Series(Y), generators=FAST, time_budget=10)
    assert str(result.formula.expr) == "2*T_K + 3*lambda_"
    # Explicit names win over the columns.
    assert str(kansr.discover(frame, Y, ["u", "v"], generators=FAST, time_budget=10).formula.expr) == "2*u + 3*v"


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64, 99999999999999999999999])
def test_any_integer_seed_works_and_is_reproducible(seed):
    first = kansr.discover(X, Y, seed=seed, generators=["linear", "monomial_sum"], time_budget=None)
    again = kansr.discover(X, Y, seed=seed, generators=["linear", "monomial_sum"], time_budget=None)
    assert str(first.formula.expr) == str(again.formula.expr) == "2*x0 + 3*x1"
    est = kansr.KANRegressor(generators=("linear",), time_budget=None, random_state=seed).fit(X, Y)
    assert str(est.sympy()) == "2*x0 + 3*x1"


def test_seeds_outside_the_range_are_distinct():
    from kansr._validation import check_seed

    reduced = {check_seed(s) for s in (-1, 1, 2**32, 2**32 + 1, 2**64, -(2**64))}
    assert len(reduced) == 6 and all(0 <= s < 2**32 for s in reduced)
    assert check_seed(7) == 7
    with pytest.raises(UsageError):
        check_seed(True)


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999999"])
def test_cli_takes_any_integer_seed(seed, tmp_path, capsys):
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": Y}).to_csv(path, index=False)
    code = main(["discover", str(path), "--target", "y", "--no-progress", "--generators", "linear", "--seed", seed])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "y = 2*a + 3*b" in captured.out
