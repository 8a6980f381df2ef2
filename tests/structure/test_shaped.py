"""A KAN shaped by a structure tree: its widths and masks follow the tree, and it learns the function."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from kansr.nn import KAN
from kansr.structure import MonomialGroup, StructureNode
from kansr.structure._shaped import shaped_layout


def _leaf(*inputs, **kw):
    return StructureNode("leaf", list(inputs), **kw)


LORENTZ = StructureNode("mul", [0, 1, 2, 3, 4], [_leaf(0), StructureNode("add", [1, 2, 3, 4], [
    _leaf(1), StructureNode("mul", [2, 3, 4], [_leaf(2), _leaf(3), _leaf(4)])])])


def test_a_product_of_a_sum_becomes_multiplication_and_sum_nodes_with_only_the_tree_edges():
    layout = shaped_layout(LORENTZ, 5)
    # layer 1: q and Ef carried, B*v*theta one product; layer 2: the sum, q carried; then q*(...)
    assert layout.width == [5, [2, 1], 2, [0, 1], 1] and layout.mult_arity == 3
    first = layout.masks[0]
    assert first[[2, 3, 4], [2, 3, 4]].all() and first[2:, :2].sum() == 0  # B, v, theta feed the product only
    assert first[0].sum() == 1 and first[1].sum() == 1  # q and Ef: one edge each
    assert layout.n_edges == 11
    model = KAN(layout.width, mult_arity=layout.mult_arity)
    assert [tuple(layer.mask.shape) for layer in model.layers] == [m.shape for m in layout.masks]
    # edges from computed values pass them on: the sum into the product, the carried q, the output
    # (Ef and B*v*theta into the sum, q carried twice, the sum and q into the product, the output)
    assert len(layout.linear) == 6 and all(l > 0 for l, _, _ in layout.linear)


def test_leaves_with_an_invariant_a_group_or_nothing_known():
    pair = shaped_layout(_leaf(0, 1, substitution=("difference", 0, 1)), 2)
    assert pair.width == [2, 1, 1] and pair.n_edges == 3 and not pair.linear  # u = a - b, then g(u)
    dense = shaped_layout(_leaf(0, 1, 2), 3)
    assert dense.width == [3, 7, 1] and dense.n_edges == 3 * 7 + 7
    group = MonomialGroup((Fraction(1), Fraction(1), Fraction(-1)), (Fraction(0), Fraction(0), Fraction(2)), 0.0)
    planck = shaped_layout(_leaf(0, 1, 2, monomial=group), 3)
    # m and the prefactor, F(m) in two edges, w*F, the output
    assert planck.width == [3, [0, 2], 2, 2, [0, 1], 1]
    assert planck.masks[0].sum() == 4  # three factors of m, one of the prefactor


@pytest.mark.parametrize("unused", [0, 2])
def test_unknown_inputs_get_no_edges(unused):
    tree = StructureNode("add", [i for i in range(3) if i != unused], [_leaf(i) for i in range(3) if i != unused])
    layout = shaped_layout(tree, 3)
    assert layout.masks[0][unused].sum() == 0


def test_the_shaped_kan_is_trained_and_snapped_to_the_formula():
    from kansr.discovery._state import Budget, Search
    from kansr.discovery.generators._structure import gen_structure_kan

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (600, 3))
    y = X[:, 0] * (X[:, 1] + np.sin(X[:, 2]))
    s = Search(X, y, ["a", "b", "c"], 0, None, Budget(None), [])
    s.structure = StructureNode("mul", [0, 1, 2], [_leaf(0), StructureNode("add", [1, 2], [_leaf(1), _leaf(2)])])
    with torch.random.fork_rng():
        gen_structure_kan(s)
    best = min(s.pool.values(), key=lambda c: c.val_rmse)
    assert best.val_rmse < 1e-6 * np.std(y), best.formula.expr
    assert best.source == "structure_kan" and s.model is not None and s.model.widths[2] == (0, 1)
