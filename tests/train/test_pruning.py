import numpy as np
import pytest

from kansr.nn import KAN
from kansr.train import dropped_inputs, fit, importance, prune


@pytest.fixture(scope="module")
def sparse_model():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (800, 4))
    y = X[:, 0] ** 2 + np.sin(2 * X[:, 1])  # x2, x3 irrelevant
    model = KAN([4, 5, 1], grid=5, seed=0, input_names=["a", "b", "junk1", "junk2"])
    fit(model, X, y, steps=60, lamb=0.01, progress=False)
    return model, X, y


@pytest.mark.parametrize("mode", ["attribution", "activation"])
def test_scores_rank_relevant_inputs_first(sparse_model, mode):
    model, X, _ = sparse_model
    s = importance(model, X, mode)
    assert s.nodes[0].shape == (4,) and s.edges[0].shape == (4, 5)
    assert min(s.nodes[0][:2]) > 10 * max(s.nodes[0][2:])


def test_prune_drops_irrelevant_inputs_and_keeps_the_function(sparse_model):
    model, X, y = sparse_model
    small = prune(model, X, node_threshold=0.05, edge_threshold=0.05)
    assert isinstance(small, KAN)
    assert sum(small.widths[1]) < 5 or small.n_edges() < model.n_edges()
    assert dropped_inputs(small) == ["junk1", "junk2"]
    # Only weak parts were removed: the outputs barely move.
    before, after = model.predict(X)[:, 0], small.predict(X)[:, 0]
    assert np.sqrt(np.mean((after - before) ** 2)) < 0.05 * np.std(before)


def test_pruning_with_zero_thresholds_changes_nothing(sparse_model):
    model, X, _ = sparse_model
    same = prune(model, X, node_threshold=0.0, edge_threshold=0.0)
    assert same.width == model.width
    assert np.allclose(same.predict(X), model.predict(X), atol=1e-6)


def test_prune_keeps_multiplication_nodes_whole():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (500, 3))
    y = X[:, 0] * X[:, 1]
    model = KAN([3, [2, 1], 1], grid=5, seed=0)
    fit(model, X, y, steps=40, lamb=1e-3, progress=False)
    small = prune(model, X)
    n_sum, n_mult = small.widths[1]
    assert small.layers[0].n_out == n_sum + 2 * n_mult
    assert np.isfinite(small.predict(X)).all()
