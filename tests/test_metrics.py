"""The one R² / RMSE: scale-safe, scikit-learn's answer for a constant target."""
import numpy as np
import pytest

from kansr._metrics import r2_rmse


@pytest.mark.parametrize("scale", [1e-300, 1e-15, 1.0, 1e15, 1e300])
def test_metrics_do_not_depend_on_the_units(scale):
    y = np.linspace(1.0, 3.0, 50)
    pred = y + 0.01 * np.sin(7 * y)
    r2, err = r2_rmse(y, pred)
    r2_s, err_s = r2_rmse(scale * y, scale * pred)
    assert r2_s == pytest.approx(r2, rel=1e-12) and 0.99 < r2 < 1.0
    assert err_s == pytest.approx(err * scale, rel=1e-12)


def test_constant_target_and_wild_predictions():
    assert r2_rmse(np.ones(5), np.ones(5)) == (1.0, 0.0)
    assert r2_rmse(np.ones(5), np.full(5, 2.0))[0] == 0.0
    y = np.linspace(0.0, 1.0, 10)
    wild = y.copy()
    wild[0] = 1e200
    r2, err = r2_rmse(y, wild)
    assert r2 < -1e300 and err == pytest.approx(1e200 / np.sqrt(10))
    assert r2_rmse(y, np.r_[np.nan, y[1:]]) == (float("-inf"), float("inf"))
