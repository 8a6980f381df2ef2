
import numpy as np
import pytest
import torch

from kansr.errors import NumericalWarning
from kansr.nn import KAN
from kansr.train import fit, fit_with_extension


def _toy(rng, n=1000):
    X = rng.uniform(-1, 1, (n, 2))
    return X, np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2)


@pytest.mark.slow
def test_grid_extension_reaches_kan_paper_accuracy(rng):
    X, y = _toy(rng)
    Xt, yt = _toy(np.random.default_rng(1))
    model = KAN([2, 5, 1], grid=5, seed=0)
    # The inputs already fill the initial grid [-1, 1]: no sample-based grid updates.
    history = fit_with_extension(model, X, y, grids=(5, 10, 20), steps=50, update_grid=False, progress=False)
    ext = [e["step"] for e in history.events if e["kind"] == "grid_extension"]
    assert len(ext) == 2
    loss = history.column("train_loss")
    # The loss drops at each extension: each stage ends lower than the previous one.
    stage_end = [loss[s - 1] for s in ext] + [loss[-1]]
    assert stage_end[0] > stage_end[1] > stage_end[2]
    rmse = np.sqrt(np.mean((model.predict(Xt)[:, 0] - yt) ** 2))
    assert rmse < 1e-3


def test_grid_updates_in_fit_keep_the_output_within_1e_4(rng):
    X, y = _toy(rng)
    model = KAN([2, 5, 1], grid=10, seed=1, dtype=torch.float64)
    history = fit(model, X, y, steps=100, grid_update_every=5, stop_grid_update_step=100, progress=False)
    updates = [e for e in history.events if e["kind"] == "grid_update"]
    assert len(updates) == 20
    # The untrained hidden layer's inputs reach beyond its grid [-1, 1] (to -1.19):
    # the first update places the knots freely, every later one keeps the bar.
    assert updates[0]["free"] and not any(e["free"] for e in updates[1:])
    assert max(e["relative_change"] for e in updates[1:]) <= 1e-4
    assert sum(e["knot_step"] for e in updates) > 0.05  # the knots did move towards the samples
    assert history.column("train_loss")[-1] < 1e-4


@pytest.mark.parametrize("grid_tolerance", [None, 1e-4])
def test_knots_reach_samples_outside_the_grid_in_fit(rng, grid_tolerance):
    X, y = _toy(rng, 300)
    X = 3 * X  # outside the initial grid [-1, 1]
    model = KAN([2, 3, 1], grid=5, seed=1, dtype=torch.float64)
    history = fit(model, X, y, steps=1, grid_tolerance=grid_tolerance, progress=False)
    core = model.layers[0].grid[:, 3:-3]
    assert np.allclose(core[:, 0].numpy(), X.min(0), atol=0.1)
    assert [e["free"] for e in history.events if e["kind"] == "grid_update"] == [True]


def test_sparsification_separates_relevant_inputs(rng):
    X = rng.uniform(-1, 1, (1000, 4))
    y = X[:, 0] ** 2 + np.sin(X[:, 1])
    model = KAN([4, 5, 1], grid=5, seed=0)
    fit(model, X, y, steps=50, lamb=0.01, progress=False)
    _, acts = model(torch.as_tensor(X, dtype=torch.float32), return_activations=True)
    l1 = acts.edges[0].abs().mean(0).sum(1).detach().numpy()  # per input
    assert min(l1[:2]) >= 10 * max(l1[2:])


def test_same_seed_same_training(rng):
    X, y = _toy(rng, 200)
    runs = []
    for _ in range(2):
        model = KAN([2, 3, 1], seed=3)
        fit(model, X, y, steps=5, optimizer="adam", batch_size=50, val_fraction=0.2, seed=7, progress=False)
        runs.append(model.predict(X))
    assert np.array_equal(runs[0], runs[1])


def test_early_stopping_restores_best(rng):
    X, y = _toy(rng, 300)
    y_noisy = y + rng.normal(0, 0.5, y.shape)
    model = KAN([2, 8, 1], grid=20, seed=0)
    h = fit(model, X, y_noisy, steps=200, val_fraction=0.3, early_stopping=5, progress=False)
    assert h.stopped_reason == "early_stopping"
    assert len(h.records) < 200
    best = np.nanmin(h.column("val_loss"))
    assert h.records[h.best_step]["val_loss"] == best


def test_adam_with_schedule_and_clipping_learns(rng):
    X, y = _toy(rng, 500)
    model = KAN([2, 5, 1], seed=0)
    h = fit(model, X, y, steps=200, optimizer="adam", lr=0.02, lr_schedule="cosine", clip_grad=1.0, progress=False)
    loss = h.column("train_loss")
    assert loss[-1] < 0.1 * loss[0]
    assert h.records[-1]["lr"] < 1e-3


def test_non_finite_loss_restores_last_good_state(rng):
    X, y = _toy(rng, 100)
    model = KAN([2, 3, 1], seed=0)
    fit(model, X, y, steps=3, optimizer="adam", progress=False)
    good = model.predict(X)
    with pytest.warns(NumericalWarning, match="non-finite"):
        h = fit(model, X, y * 1e30, steps=20, optimizer="adam", lr=1e38, update_grid=False, progress=False)
    assert h.stopped_reason == "non_finite"
    assert np.isfinite(model.predict(X)).all()
    assert np.isfinite(good).all()


def test_interrupt_keeps_a_usable_model(rng, monkeypatch):
    X, y = _toy(rng, 200)
    model = KAN([2, 3, 1], seed=0)
    calls = {"n": 0}
    original = KAN.forward

    def interrupting(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KAN, "forward", interrupting)
    with pytest.warns(UserWarning, match="interrupted"):
        h = fit(model, X, y, steps=100, optimizer="adam", update_grid=False, progress=False)
    monkeypatch.undo()
    assert h.interrupted and 0 < len(h.records) < 100
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), np.ones(3), r"X has 1 non-finite.*row 0, column 1"),
        (np.ones((3, 2)), np.array([1.0, np.inf, 0.0]), r"y has 1 non-finite.*row 1"),
        (np.ones((3, 3)), np.ones(3), r"shape \(n_samples, 2\)"),
        (np.ones((3, 2)), np.ones(4), "3 rows but y has 4"),
        (np.ones((3, 2)), np.ones((3, 2)), r"y must have shape"),
        (np.ones((1, 2)), np.ones(1), "at least 2 samples"),
    ],
)
def test_bad_training_data(X, y, message):
    with pytest.raises(ValueError, match=message):
        fit(KAN([2, 3, 1]), X, y, steps=1, progress=False)


def test_bad_training_options():
    X, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match="optimizer"):
        fit(KAN([2, 1]), X, y, optimizer="sgd")
    with pytest.raises(ValueError, match="early_stopping needs validation"):
        fit(KAN([2, 1]), X, y, early_stopping=3)
