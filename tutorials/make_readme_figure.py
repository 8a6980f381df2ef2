"""Draw the network diagram shown in the README (tutorials/figures/network.png).

A [2, 5, 1] KAN learns exp(sin(pi*x) + t**2) with sparsification, is pruned,
and the two edges feeding the sum node are snapped, so the picture shows spline thumbnails,
importance-scaled transparency and symbolic labels.

Usage: python tutorials/make_readme_figure.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kansr import KAN, fit, prune
from kansr.plotting import plot_network, save_figure
from kansr.symbolic import fix_symbolic


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (1000, 2))
    y = np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2)
    model = KAN([2, 5, 1], grid=5, seed=0, input_names=["x", "t"], output_names=["y"])
    fit(model, X, y, steps=50, lamb=0.01, progress=False)
    model = prune(model, X)
    fit(model, X, y, steps=30, progress=False)
    # Snap the two edges into the hidden node that carries sin(pi*x) + t**2.
    node = int(np.argmax(model.layers[0].mask[1].numpy()))
    fix_symbolic(model, 0, 0, node, "sin", X)
    fix_symbolic(model, 0, 1, node, "x^2", X)
    fig = plot_network(model, X)
    out = Path(__file__).parent / "figures" / "network.png"
    save_figure(fig, out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
