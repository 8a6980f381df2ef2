"""The structure tree of functions with known structure: from the exact function and from a surrogate KAN."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kansr.structure import find_structure, fit_surrogate

NAMES = ["q", "Ef", "B", "v", "theta"]


def _lorentz(x):  # q*(Ef + B*v*sin(theta)), I.12.11's structure
    sin = torch.sin if isinstance(x, torch.Tensor) else np.sin
    return x[:, 0] * (x[:, 1] + x[:, 2] * x[:, 3] * sin(x[:, 4]))


def _noisy(f, noise):
    def func(X):
        y = f(X)
        return y + noise * np.std(y) * np.random.default_rng(3).normal(size=y.shape)
    return func


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_nested_sums_and_products_are_found(noise):
    X = np.random.default_rng(0).uniform(1, 5, size=(600, 5))
    tree = find_structure(_noisy(_lorentz, noise), _lorentz, X, error=noise)
    assert tree.describe(NAMES) == "mul(q, add(Ef, mul(B, v, theta) + C))"  # the sum's other term is a constant there
    assert [leaf.inputs for leaf in tree.leaves()] == [[0], [1], [2], [3], [4]]


def test_a_distance_splits_under_the_square_and_its_pairs_are_differences():
    def dist(x):
        sqrt = torch.sqrt if isinstance(x, torch.Tensor) else np.sqrt
        return sqrt((x[:, 1] - x[:, 0]) ** 2 + (x[:, 3] - x[:, 2]) ** 2)

    X = np.random.default_rng(1).uniform(1, 5, size=(600, 4))
    tree = find_structure(dist, dist, X)
    assert tree.describe(["x1", "x2", "y1", "y2"]) == "square(add(f(x1, x2 [x1 - x2]), f(y1, y2 [y1 - y2])))"


def test_a_weighted_mean_does_not_split():
    def mean(x):
        return (x[:, 0] * x[:, 2] + x[:, 1] * x[:, 3]) / (x[:, 0] + x[:, 1])

    X = np.random.default_rng(2).uniform(1, 5, size=(600, 4))
    tree = find_structure(mean, mean, X)
    assert tree.kind == "leaf" and tree.inputs == [0, 1, 2, 3]


def test_an_unused_input_is_dropped():
    def f(x):
        return x[:, 0] * x[:, 1] + 0 * x[:, 2]

    X = np.random.default_rng(3).uniform(-2, 2, size=(500, 3))
    tree = find_structure(f, f, X)
    assert tree.scores["dropped"] == [2] and tree.inputs == [0, 1]


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_the_tree_read_off_a_trained_surrogate_kan(noise):
    """The instrument itself: a KAN fitted to data, differentiated, tested."""
    rng = np.random.default_rng(4)
    X = rng.uniform(1, 3, size=(700, 3))
    y = X[:, 0] * (1 + X[:, 1] * np.cos(X[:, 2]))  # III.17.37's structure
    y = y + noise * np.std(y) * rng.normal(size=len(y))
    with torch.random.fork_rng():
        sur = fit_surrogate(X[:500], y[:500], X[500:], y[500:], seed=0, time_limit=30)
    assert sur.val_error < 0.05
    tree = find_structure(sur, sur.torch_function, X[:500], error=sur.val_error)
    assert tree.describe(["beta", "alpha", "theta"]) == "mul(beta, mul(alpha, theta) + C)"


def test_a_planck_law_is_a_monomial_factor_times_a_function_of_one_group():
    def planck(x):  # h*omega**3/(c**2*(exp(h*omega/(kb*T)) - 1)), I.41.16's structure
        exp = torch.exp if isinstance(x, torch.Tensor) else np.exp
        return x[:, 0] * x[:, 1] ** 3 / (x[:, 2] ** 2 * (exp(x[:, 0] * x[:, 1] / (x[:, 3] * x[:, 4])) - 1))

    X = np.random.default_rng(4).uniform(1, 2, size=(600, 5))
    tree = find_structure(planck, planck, X)
    assert tree.describe(["h", "omega", "c", "kb", "T"]) == "mul(h*omega**3*F(h*omega/(kb*T)), c)"
