import os
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kansr.nn import KAN  # noqa: E402
from kansr.plotting import (  # noqa: E402
    edge_formula,
    network_graph,
    plot_edge,
    plot_network,
    plot_predictions,
    plot_training,
    save_figure,
)
from kansr.train import History, fit, fit_with_extension  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class _Sin:
    """Minimal symbolic function (the plots only need these attributes)."""

    name = "sin"
    torch_fn = staticmethod(torch.sin)
    sympy_fn = staticmethod(sympy.sin)
    numpy_fn = staticmethod(np.sin)


def _data(rng, n=200):
    X = rng.uniform(-1, 1, (n, 2))
    return X, np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2


def _thumbnails(fig):
    return [a for a in fig.axes if (a.get_gid() or "").startswith("kan-edge-")]


def _is_png(path):
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 1000


@pytest.mark.parametrize("width", [[1, 1], [2, 5, 1], [4, 8, 8, 1], [2, [1, 1], 1]])
def test_network_has_one_thumbnail_per_edge(width, rng):
    model = KAN(width, grid=3, seed=0)
    X = rng.uniform(-1, 1, (64, model.width_in))
    fig = plot_network(model, X)
    assert isinstance(fig, Figure)
    assert len(_thumbnails(fig)) == model.n_edges() == len(fig.axes) - 1
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert set(model.input_names) | set(model.output_names) <= labels


def test_network_draws_multiplication_nodes():
    model = KAN([2, [1, 2], 1], grid=3, seed=0)
    g = network_graph(model)
    kinds = [d["kind"] for _, d in g.nodes(data=True)]
    assert kinds.count("mult") == 2 and kinds.count("factor") == 2 * model.mult_arity
    fig = plot_network(model)
    assert sum(t.get_text() == "×" for t in fig.axes[0].texts) == 2


def test_pruned_edges_are_not_drawn(rng):
    model = KAN([2, 5, 1], grid=3, seed=0)
    with torch.no_grad():
        model.layers[0].mask[1, 0] = 0
        model.layers[0].mask[0, 3] = 0
        model.layers[1].mask[2, 0] = 0
    fig = plot_network(model, rng.uniform(-1, 1, (50, 2)))
    gids = {a.get_gid() for a in _thumbnails(fig)}
    assert len(gids) == model.n_edges() == 12
    assert not gids & {"kan-edge-0-1-0", "kan-edge-0-0-3", "kan-edge-1-2-0"}
    assert "kan-edge-0-0-0" in gids


def test_symbolic_edge_is_labelled(rng):
    model = KAN([2, 3, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, _Sin(), (1.0, 0.0, 1.0, 0.0))
    model.layers[0].set_symbolic(1, 2, _Sin(), (2.345, 0.5, -1.5, 0.25))
    assert edge_formula(model, 0, 0, 0) == "sin(x0)"
    assert edge_formula(model, 0, 1, 1) is None
    fig = plot_network(model, rng.uniform(-1, 1, (50, 2)))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "sin(x0)" in texts
    assert "0.25 - 1.5*sin(2.3*x1 + 0.5)" in texts
    fig = plot_network(model, show_symbolic=False)
    assert "sin(x0)" not in [t.get_text() for t in fig.axes[0].texts]


def test_network_into_given_axes_without_data_or_warnings():
    model = KAN([2, 3, 1], grid=3, seed=0)
    with torch.no_grad():  # a constant (all-zero) layer: no NaN from normalising importances
        model.layers[1].coef.zero_()
        model.layers[1].scale_base.zero_()
    fig, ax = plt.subplots(figsize=(5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = plot_network(model, ax=ax, scale_by_importance=True, thumbnail_size=0.4)
        out.canvas.draw()
    assert out is fig and len(fig.axes) == 1 + model.n_edges()


def test_network_rejects_bad_arguments():
    model = KAN([2, 3, 1], grid=3)
    with pytest.raises(ValueError, match="beta"):
        plot_network(model, beta=0)
    with pytest.raises(ValueError, match="thumbnail_size"):
        plot_network(model, thumbnail_size=-1)
    with pytest.raises(ValueError, match="shape"):
        plot_network(model, np.zeros((5, 3)))


def test_trained_network_png(tmp_path, rng):
    X, y = _data(rng)
    model = KAN([2, 5, 1], grid=5, seed=0)
    fit(model, X, y, steps=5, progress=False)
    path = save_figure(plot_network(model, X), tmp_path / "net.png")
    assert _is_png(path)
    assert os.listdir(tmp_path) == ["net.png"]  # no temporary file left behind


def test_plot_training(tmp_path, rng):
    X, y = _data(rng, 100)
    model = KAN([2, 3, 1], grid=3, seed=0)
    history = fit_with_extension(
        model, X, y, grids=(3, 5), steps=3, lamb=1e-3, val_fraction=0.2, grid_update_every=2, progress=False
    )
    ax = plot_training(history)
    assert isinstance(ax, Axes)
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"train loss", "validation loss", "regularisation", "grid update"} <= set(labels)
    assert "G=5" in [t.get_text().strip() for t in ax.texts]
    assert ax.get_yscale() == "log"
    assert _is_png(save_figure(ax.figure, tmp_path / "train.png"))

    fig, given = plt.subplots()
    assert plot_training(History(), ax=given, log=False) is given  # empty history does not crash


def test_plot_edge_with_candidate(rng):
    X, y = _data(rng)
    model = KAN([2, 3, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 1, _Sin(), (3.0, 0.0, 1.0, 0.0))

    class Candidate:
        name, a, b, c, d = "sin", 3.0, 0.0, 1.0, 0.0

    ax = plot_edge(model, 0, 0, 1, X, candidate=Candidate())
    assert isinstance(ax, Axes)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("R² = 1.0000" in t for t in legend)
    assert "sin(3*x0)" in ax.get_title()

    class Unknown:
        name, a, b, c, d = "no_such_function", 1.0, 0.0, 1.0, 0.0

    fig, given = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plot_edge(model, 1, 2, 0, X, candidate=Unknown(), ax=given) is given
        plot_edge(model, 0, 1, 0, None)  # no data: sweep of the spline grid
    assert "not found" in given.get_title()


def test_plot_edge_rejects_missing_edges():
    model = KAN([2, 5, 1], grid=3)
    with pytest.raises(ValueError, match=r"edge \(l=1, i=5, j=0\) does not exist in a layer of shape 5x1"):
        plot_edge(model, 1, 5, 0, None)
    with pytest.raises(ValueError, match=r"has 2 layer"):
        plot_edge(model, 2, 0, 0, None)


def test_plot_predictions(tmp_path, rng):
    y = rng.normal(size=100)
    pred = y + rng.normal(scale=0.1, size=100)
    ax = plot_predictions(y, pred)
    assert isinstance(ax, Axes)
    assert "R²" in ax.get_title() and "RMSE" in ax.get_title()
    fig, given = plt.subplots()
    assert plot_predictions(y[:, None], pred, ax=given) is given
    assert _is_png(save_figure(fig, tmp_path / "pred.png"))
    with pytest.raises(ValueError, match="same shape"):
        plot_predictions(y, pred[:50])


def test_save_figure_errors(tmp_path):
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    with pytest.raises(FileNotFoundError):
        save_figure(fig, tmp_path / "missing" / "x.png")
    with pytest.raises(ValueError, match="format"):
        save_figure(fig, tmp_path / "x.notaformat")
    assert os.listdir(tmp_path) == []


def test_structure_tree_shows_every_node_with_its_leaf_formula():
    from kansr.plotting import plot_structure
    from kansr.structure import StructureNode

    a, b, c, d = sympy.symbols("a b c d")
    product = StructureNode("mul", [0, 1], children=[StructureNode("leaf", [0], formula=sympy.Float(2.000001) * a),
                                                      StructureNode("leaf", [1], formula=sympy.sqrt(b))])
    pair = StructureNode("leaf", [2, 3], substitution=("difference", 2, 3), formula=sympy.sin(c - d))
    root = StructureNode("add", [0, 1, 2, 3], children=[product, pair], scores={"dropped": [4]})
    ax = plot_structure(root, ["a", "b", "c", "d", "e"])
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("+") == 1 and texts.count("×") == 1 and len(texts) == 5
    assert "c, d\nonly via c − d\n≈ sin(c - d)" in texts
    assert "a\n≈ 2.0*a" in texts and "b\n≈ sqrt(b)" in texts
    assert "irrelevant: e" in ax.get_title()
    assert len(ax.lines) == 4  # one line per parent-child link
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="uses 4 inputs but 2 names"):
        plot_structure(root, ["a", "b"])
    with pytest.raises(TypeError, match="DiscoveryResult.structure"):
        plot_structure(None, ["a"])
