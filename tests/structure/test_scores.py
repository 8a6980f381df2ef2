"""Each structure test on functions whose structure is known, holding and not holding,
from exact derivatives and from values with 1 % noise."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kansr.structure import (
    SPLIT_THRESHOLD,
    THRESHOLDS,
    additive_interaction,
    composition_score,
    derivatives_of,
    monomial_group,
    multiplicative_interaction,
    relevance,
    step_interactions,
    symmetry_scores,
)

RNG = np.random.default_rng(0)
POINTS = RNG.uniform(1.0, 5.0, size=(400, 3))


def _d(f):
    return derivatives_of(f, POINTS)


def test_relevance_is_zero_exactly_for_unused_inputs():
    rel = relevance(_d(lambda x: x[:, 0] * torch.sin(x[:, 1]) + 0.0 * x[:, 2]))
    assert rel[2] <= THRESHOLDS["relevance"]
    assert rel[0] > 0.1 and rel[1] > 0.1


@pytest.mark.parametrize("f, separable", [
    (lambda x: x[:, 0] + x[:, 1] ** 2 + torch.sin(x[:, 2]), True),
    (lambda x: x[:, 0] * x[:, 1] + x[:, 2], False),
    (lambda x: torch.exp((x[:, 0] + x[:, 1]) / 5) + x[:, 2], False),
])
def test_additive_interaction_of_the_first_pair(f, separable):
    score = additive_interaction(_d(f))[0, 1]
    assert (score <= THRESHOLDS["additive"]) == separable, score


@pytest.mark.parametrize("f, separable", [
    (lambda x: x[:, 0] ** 2 * torch.sin(2 * x[:, 1]) + 0 * x[:, 2], True),  # sin changes sign: no log needed
    (lambda x: torch.exp(x[:, 0]) / x[:, 1] * x[:, 2], True),
    (lambda x: x[:, 0] + x[:, 1], False),
    (lambda x: torch.sin(x[:, 0] - x[:, 1]), False),
])
def test_multiplicative_interaction_of_the_first_pair(f, separable):
    score = multiplicative_interaction(_d(f))[0, 1]
    assert (score <= THRESHOLDS["multiplicative"]) == separable, score


@pytest.mark.parametrize("f, holds", [
    (lambda x: torch.cos(x[:, 0] - x[:, 1]) * x[:, 2], "difference"),
    (lambda x: torch.sqrt(x[:, 0] + x[:, 1]) + x[:, 2], "sum"),
    (lambda x: torch.log(1 + x[:, 0] * x[:, 1]) * x[:, 2], "product"),
    (lambda x: torch.exp(-x[:, 0] / x[:, 1]) + x[:, 2], "ratio"),
])
def test_symmetries_hold_only_for_the_true_invariant(f, holds):
    scores = symmetry_scores(_d(f), 0, 1)
    assert scores[holds] <= THRESHOLDS["symmetry"], scores
    assert all(s > 0.1 for k, s in scores.items() if k != holds), scores


def test_composition_holds_when_the_group_enters_through_one_function():
    composed = _d(lambda x: torch.exp(-(x[:, 0] ** 2 + x[:, 1] ** 2) / 20) * x[:, 2])  # F(g(a, b), c)
    mixed = _d(lambda x: x[:, 0] * x[:, 2] + x[:, 1])  # the direction of (c, 1) turns with c
    assert composition_score(composed, [0, 1]) <= THRESHOLDS["composition"]
    assert composition_score(mixed, [0, 1]) > 0.1


def test_transforms_reveal_structure_of_the_square():
    d = _d(lambda x: torch.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2) + 0 * x[:, 2])
    assert additive_interaction(d)[0, 1] > 0.1
    assert additive_interaction(d.transformed("square"))[0, 1] <= THRESHOLDS["additive"]
    assert d.transformed("log") is not None
    assert _d(lambda x: x[:, 0] - 3.0).transformed("log") is None  # crosses zero


def _noisy(f, noise: float, seed: int = 1):
    def func(X):
        y = f(X)
        return y + noise * np.std(y) * np.random.default_rng(seed).normal(size=y.shape)
    return func


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_step_scores_separate_sums_and_products(noise):
    f = _noisy(lambda X: X[:, 0] * np.sin(X[:, 1]) + np.exp(X[:, 2] / 3), noise)
    add, mul, used = step_interactions(f, POINTS, [0, 1, 2])
    threshold = max(SPLIT_THRESHOLD, 2 * noise)
    assert used > 100
    assert add[0, 2] <= threshold and add[1, 2] <= threshold
    assert add[0, 1] > 0.1  # a product is not a sum
    assert mul[0, 2] > threshold and mul[1, 2] > threshold  # a sum is not a product
    g = _noisy(lambda X: X[:, 0] * np.sin(X[:, 1]) * np.exp(X[:, 2] / 3), noise)
    _, mul, _ = step_interactions(g, POINTS, [0, 1, 2])
    assert np.all(mul[np.triu_indices(3, 1)] <= threshold), mul


def test_step_scores_refuse_to_decide_far_from_correlated_data():
    t = RNG.uniform(0, 1, 400)
    along_a_curve = np.column_stack([t, t**2 + 0.001 * RNG.normal(size=400), RNG.uniform(0, 1, 400)])
    add, _, used = step_interactions(lambda X: X[:, 0] + X[:, 1] + X[:, 2], along_a_curve, [0, 1, 2])
    # x0 and x1 can only be moved together: most corners of their steps leave the data and are not used.
    assert used < 0.25 * 400, used
    assert add[0, 2] <= SPLIT_THRESHOLD
    assert np.nanmax(add) <= SPLIT_THRESHOLD


def _perturbed(d, noise: float, seed: int = 2):
    """Derivatives with relative errors of size ``noise`` in values and gradients (a surrogate's)."""
    from kansr.structure import Derivatives

    rng = np.random.default_rng(seed)
    return Derivatives(d.points, d.f * (1 + noise * rng.standard_normal(d.f.shape)),
                       d.grad * (1 + noise * rng.standard_normal(d.grad.shape)), d.hess, d.scales)


GROUP_POINTS = RNG.uniform(1.0, 2.0, size=(400, 4))
_F = __import__("fractions").Fraction


@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize("f, exponents, prefactor", [
    # Planck: a*b**3/(exp(a*b/(c*d)) - 1)
    (lambda x: x[:, 0] * x[:, 1] ** 3 / (torch.exp(x[:, 0] * x[:, 1] / (x[:, 2] * x[:, 3])) - 1), (1, 1, -1, -1), (1, 3, 0, 0)),
    # Boltzmann with a free factor: c*exp(-a*b*d/c**2)
    (lambda x: x[:, 2] * torch.exp(-x[:, 0] * x[:, 1] * x[:, 3] / x[:, 2] ** 2), (1, 1, -2, 1), (0, 0, 1, 0)),
    # a Gaussian in a ratio, over its scale: exp(-(a/b)**2/2)/b, c and d unused
    (lambda x: torch.exp(-(x[:, 0] / x[:, 1]) ** 2 / 2) / x[:, 1] + 0 * x[:, 2] * x[:, 3], (1, -1, 0, 0), (0, -1, 0, 0)),
])
def test_monomial_group_finds_the_group_and_its_factor(f, exponents, prefactor, noise):
    group = monomial_group(_perturbed(derivatives_of(f, GROUP_POINTS), noise), [0, 1, 2, 3])
    assert group is not None and group.score <= THRESHOLDS["monomial"] + noise
    assert group.exponents == tuple(map(_F, exponents)) and group.prefactor == tuple(map(_F, prefactor))


@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize("f", [
    lambda x: x[:, 0] + x[:, 1] * x[:, 2] + x[:, 3],  # a sum of monomials
    lambda x: torch.sin(x[:, 0] * x[:, 1]) + x[:, 2] + x[:, 3],  # a group, plus other terms
    lambda x: (x[:, 0] * x[:, 2] + x[:, 1] * x[:, 3]) / (x[:, 0] + x[:, 1]),  # a weighted mean
    lambda x: torch.exp(-x[:, 0] * x[:, 1]) * torch.exp(-x[:, 2] / x[:, 3]),  # two groups
])
def test_monomial_group_refuses_functions_of_more_than_one_group(f, noise):
    group = monomial_group(_perturbed(derivatives_of(f, GROUP_POINTS), noise), [0, 1, 2, 3])
    assert group is None or group.score > THRESHOLDS["monomial"] + noise
