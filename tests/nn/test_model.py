import numpy as np
import pytest
import torch

from kansr.nn import INIT_SCHEMES, KAN
from kansr.train import fit


def test_forward_shapes_and_edge_activations_sum_to_output():
    model = KAN([3, 4, 2], grid=5, seed=1)
    x = torch.rand(50, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1
    y, acts = model(x, return_activations=True)
    assert y.shape == (50, 2)
    assert [e.shape for e in acts.edges] == [(50, 3, 4), (50, 4, 2)]
    assert torch.allclose(acts.edges[-1].sum(1) + model.layers[-1].bias, y, atol=1e-5)
    assert torch.allclose(model(x), y, atol=1e-5)


def test_multiplication_nodes_multiply_their_inputs():
    model = KAN([2, [1, 1], 1], grid=5, seed=0)
    x = torch.rand(20, 2) * 2 - 1
    _, acts = model(x, return_activations=True)
    sub = acts.subnodes[0]  # one sum node, then the two factors of the product node
    assert sub.shape == (20, 3)
    assert torch.allclose(acts.inputs[1], torch.stack([sub[:, 0], sub[:, 1] * sub[:, 2]], 1))


def test_same_seed_same_model_other_seed_other_model():
    x = torch.rand(10, 2)
    a, b, c = KAN([2, 3, 1], seed=5), KAN([2, 3, 1], seed=5), KAN([2, 3, 1], seed=6)
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), c(x))


def _trained(rng):
    X = rng.uniform(-1, 1, (500, 2))
    y = np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2
    model = KAN([2, 5, 1], grid=5, seed=0, dtype=torch.float64)
    fit(model, X, y, steps=20, update_grid=False, progress=False)
    return model, X


def test_grid_update_follows_the_samples_and_is_idempotent(rng):
    model, X = _trained(rng)
    X = 0.7 * X + 0.1  # move the data off the initial grid so the knots really move
    model.update_grid(X, tolerance=None)
    core = model.layers[0].grid[:, 3:-3].numpy()
    assert np.allclose(core[:, 0], X.min(0), atol=1e-3) and np.allclose(core[:, -1], X.max(0), atol=1e-3)
    assert np.allclose(core[0, 1], np.quantile(X[:, 0], 0.2), atol=0.05)  # G=5: knots at quantiles
    # A second update from the same samples keeps the knots, hence the function.
    before = model.predict(X)
    model.update_grid(X, tolerance=None)
    assert np.max(np.abs(model.predict(X) - before)) / np.sqrt(np.mean(before**2)) < 1e-6


@pytest.mark.parametrize("grid", [5, 10])
@pytest.mark.parametrize("trained", [False, True])
def test_grid_update_changes_the_output_by_at_most_the_tolerance(rng, grid, trained):
    X = rng.uniform(-1, 1, (1000, 2))
    y = np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2)
    model = KAN([2, 5, 1], grid=grid, seed=0, dtype=torch.float64)
    if trained:
        fit(model, X, y, steps=20, update_grid=False, progress=False)
    before = model.predict(X)
    free = model.copy().update_grid(X, tolerance=None)
    assert free.relative_change > 1e-3  # moving all the way would break the bar
    update = model.update_grid(X)
    change = np.sqrt(np.mean((model.predict(X) - before) ** 2) / np.mean(before**2))
    assert change <= 1e-4
    assert update.relative_change == pytest.approx(change, rel=1e-6, abs=1e-12)
    assert update.knot_step.shape == (2 + 5,)


def test_grid_update_moves_knots_as_far_as_the_tolerance_allows(rng):
    model, X = _trained(rng)
    X = 0.9 * X  # quantile targets differ from the uniform initial knots
    old = model.layers[0].grid.clone()
    steps = [model.update_grid(X, tolerance=1e-2).knot_step for _ in range(3)]
    assert float(steps[0][:2].max()) > 0  # the input knots moved
    assert not torch.equal(model.layers[0].grid, old)
    assert all(((s >= 0) & (s <= 1)).all() for s in steps)


def test_failed_grid_update_restores_the_model_exactly(rng, monkeypatch):
    from kansr.nn import KANLayer

    model, X = _trained(rng)
    before = model.predict(X)
    grids = [layer.grid.clone() for layer in model.layers]
    real = KANLayer.update_grid

    def reckless(self, x, grid_eps=0.02, margin=0.0, tolerance=None, min_step=2.0**-8):
        return real(self, x * 1.3, grid_eps, margin, None)  # ignores its budget

    monkeypatch.setattr(KANLayer, "update_grid", reckless)
    update = model.update_grid(X)
    assert update.relative_change == 0.0 and float(update.knot_step.max()) == 0.0
    assert np.array_equal(model.predict(X), before)
    assert all(torch.equal(layer.grid, g) for layer, g in zip(model.layers, grids))


def test_grid_extension_preserves_outputs(rng):
    model, X = _trained(rng)
    before = model.predict(X)
    model.refine(10, X)
    assert model.grid_size == 10 and model.layers[0].coef.shape == (2, 13, 5)
    assert np.max(np.abs(model.predict(X) - before)) < 1e-8 * np.max(np.abs(before))


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_init_schemes_give_documented_scales(scheme):
    model = KAN([64, 64, 1], grid=10, k=3, init=scheme, seed=0)
    layer = model.layers[0]
    n_in, n_out, dof = 64, 64, 10 + 3 + 1
    expected = {
        "default": (np.sqrt(6 / (n_in + n_out)) / np.sqrt(3), 0.1),
        "lecun": (np.sqrt(1 / n_in), np.sqrt(1 / (n_in * dof))),
        "glorot": (np.sqrt(2 / (n_in + n_out)), np.sqrt(2 / ((n_in + n_out) * dof))),
        "kaiming": (np.sqrt(2 / n_in), np.sqrt(2 / (n_in * dof))),
        "power_law": ((n_in * dof) ** -0.25, (n_in * dof) ** -1.0),
    }[scheme]
    assert layer.scale_base.std().item() == pytest.approx(expected[0], rel=0.1)
    assert layer.coef.std().item() == pytest.approx(expected[1], rel=0.1)


def test_power_law_parameters():
    model = KAN([64, 64, 1], grid=10, init="power_law", init_params={"alpha": 0.5, "beta": 0.5})
    assert model.layers[0].scale_base.std().item() == pytest.approx((64 * 14) ** -0.5, rel=0.1)
    with pytest.raises(ValueError, match="takes no parameter"):
        KAN([2, 1], init="lecun", init_params={"alpha": 1.0})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"width": [2]}, "at least two"),
        ({"width": [2, 0, 1]}, "at least one node"),
        ({"width": [2, "a", 1]}, "integers"),
        ({"width": [[1, 1], 1]}, "input layer"),
        ({"width": [2, 1], "grid": 0}, "grid must be an integer >= 1"),
        ({"width": [2, 1], "k": 0}, "k must be an integer >= 1"),
        ({"width": [2, 1], "init": "nope"}, "unknown init scheme"),
        ({"width": [2, 1], "base_fun": "relu6"}, "unknown base_fun"),
    ],
)
def test_bad_architecture(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KAN(**kwargs)


def test_input_width_mismatch_is_named():
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\).*\[3, 2, 1\]"):
        KAN([3, 2, 1])(torch.zeros(4, 2))


def test_normalisation_is_applied_after_it_is_set(rng):
    """The forward pass skips identity normalisation; setting it must still take effect."""
    X = rng.uniform(-1, 1, (200, 2))
    y = 3 + 2 * X[:, 0]
    model = KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    plain = model.predict(X)
    model.set_normalization(X, y)
    scaled = model.predict(X)
    expected = KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    with torch.no_grad():
        h = (torch.as_tensor(X) - model.input_shift) / model.input_scale
        for layer in expected.layers:
            h = layer(h)
        manual = (h * model.output_scale + model.output_shift).numpy()
    assert not np.allclose(plain, scaled)
    assert np.allclose(scaled, manual, atol=1e-12)
