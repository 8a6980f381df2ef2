"""Write the tutorial notebooks from the cell sources below (reproducible, reviewable as text).

Run from anywhere::

    python tutorials/build_tutorials.py            # writes tutorials/*.ipynb without outputs
    python tutorials/build_tutorials.py --execute  # ... and runs them in place (stores outputs)

Edit the notebooks here, not in Jupyter, and rebuild; ``tests/test_tutorials.py``
executes every notebook.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

# A notebook is a list of ("md" | "code", source) pairs.
Cells = list[tuple[str, str]]

THREADS = """\
import torch

# The networks here are tiny: one thread avoids synchronisation overhead that
# dominates small tensor operations (and keeps a busy machine responsive).
torch.set_num_threads(1)"""


CSV_IN_FIVE_LINES: Cells = [
    ("md", """\
# A formula from a CSV file in five lines

`kansr` reads a table, searches for a closed-form formula for one column in terms of the
others, and tells you which columns it did not need.  The bundled example holds the kinetic
energy `E [J]` of 400 objects with mass `m [kg]` and speed `v [m/s]`, plus an irrelevant
column `noise_col`."""),
    ("code", """\
from kansr import discover, load_csv
from kansr.datasets import example_path

data = load_csv(example_path(), target="E [J]")
result = discover(data.X, data.y, data.names, seed=0, time_budget=30)
result.formula"""),
    ("md", """\
That is $E = m v^2 / 2$.  Column headers such as `m [kg]` are not valid variable names, so
`load_csv` turned them into identifiers; the mapping back to the columns is kept:"""),
    ("code", "data.mapping"),
    ("md", "The irrelevant column is not in the formula:"),
    ("code", "result.dropped_features"),
    ("md", """\
`discover` tries several structures (linear, power law, additive and multiplicative KANs,
...), fits and snaps their constants, and keeps the *Pareto front* of complexity against
validation error.  The chosen formula is the simplest one within 1.5x of the best error."""),
    ("code", """\
import pandas as pd

pd.DataFrame(result.pareto_table())"""),
    ("code", """\
from IPython.display import Math

Math(result.latex())"""),
    ("md", """\
## The same from the command line

```bash
kansr discover kansr/datasets/example.csv --target "E [J]" --units noise_col=1 --out demo_out
```

prints the formula (also in the original column names), R² and RMSE on a held-out 20 % of
the rows, the Pareto table and the dropped columns, and writes `result.json`,
`equations.csv` and plots to `demo_out/`.

## ... and as a scikit-learn estimator

`KANRegressor` takes DataFrames (column names become variable names) and works in
pipelines and grid searches."""),
    ("code", """\
from kansr.estimator import KANRegressor

df = pd.read_csv(example_path())
est = KANRegressor(time_budget=30, random_state=0).fit(df.drop(columns="E [J]"), df["E [J]"])
est.sympy(), est.score(df.drop(columns="E [J]"), df["E [J]"])"""),
]


INTERPRETABILITY: Cells = [
    ("md", """\
# The interpretability workflow: sparsify → plot → prune → suggest → snap → formula

This is the KAN way of finding a formula by hand, step by step, with the building blocks that
`discover` automates.  The data follow $f(a, b, c) = \\exp(\\sin(\\pi a) + b^2)$; the input
`c` is irrelevant."""),
    ("code", THREADS + """

import numpy as np

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(400, 3))
y = np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2)"""),
    ("md", """\
## 1. Train a small KAN with sparsification

`lamb` switches on the L1 + entropy penalty of the KAN paper, which pushes unneeded edges
towards zero so that they can be pruned."""),
    ("code", """\
from kansr.nn import KAN
from kansr.plotting import plot_network, plot_training
from kansr.train import fit

model = KAN([3, 3, 1], grid=5, k=3, seed=0, dtype=torch.float64, input_names=["a", "b", "c"])
history = fit(model, X, y, steps=40, lamb=1e-3, progress=False)
plot_training(history);"""),
    ("md", "## 2. Look at the network\n\nEach edge shows its learned 1-D function; faint edges matter little."),
    ("code", "plot_network(model, X);"),
    ("md", """\
## 3. Prune

Hidden nodes and edges with small importance scores go; the input `c` loses all its edges.
A short retraining (grids fixed) lets the remaining edges take over."""),
    ("code", """\
from kansr.train import dropped_inputs, prune

pruned = prune(model, X, node_threshold=0.05, edge_threshold=0.05)
fit(pruned, X, y, steps=30, update_grid=False, progress=False)
print(pruned, "- inputs no longer used:", dropped_inputs(pruned))
plot_network(pruned, X);"""),
    ("md", """\
## 4. Ask each edge which function it looks like

`suggest_symbolic` fits $c \\, f(a x + b) + d$ for every library function $f$ at once, on the
edge's values at the samples `X` you pass, and ranks them by fit quality and simplicity."""),
    ("code", """\
import pandas as pd
from dataclasses import asdict

from kansr.symbolic import numeric_edges, suggest_symbolic

for edge in numeric_edges(pruned):
    top = suggest_symbolic(pruned, *edge, X, top=3)
    print(edge, [(c.name, round(c.r2, 5)) for c in top])"""),
    ("code", """\
from kansr.plotting import plot_edge

best = suggest_symbolic(pruned, 0, 0, 0, X, top=1)[0]
plot_edge(pruned, 0, 0, 0, X, candidate=best);"""),
    ("md", """\
## 5. Snap

We fix each edge to the function we believe in: `sin` for `a`, `x^2` for `b` (the suggestion
list shows `sin` first for `b` as well: a piece of a sine fits a parabola on $[-1, 1]$, but
$x^2$ is the simpler truth), and `exp` for the output edge.  A few training steps then refit
the affine constants of the now-symbolic edges."""),
    ("code", """\
from kansr.symbolic import fix_symbolic

for edge, name in [((0, 0, 0), "sin"), ((0, 1, 0), "x^2"), ((1, 0, 0), "exp")]:
    cand = fix_symbolic(pruned, *edge, name, X)
    print(edge, name, f"R² = {cand.r2:.6f}")
fit(pruned, X, y, steps=20, update_grid=False, progress=False);"""),
    ("md", """\
## 6. Read off the formula

`model_formula` composes the symbolic edges layer by layer.  The raw expression carries every
constant to full precision (it evaluates exactly like the network); rounding and
rationalising the constants shows the law."""),
    ("code", """\
from kansr.symbolic import model_formula, rationalize_constants

formula = model_formula(pruned)
print("raw:", formula.expr)
# Exact matches first (pi, 1, 0), then values within 0.1 %.
tidy = rationalize_constants(rationalize_constants(formula.expr, rel_tol=1e-6), rel_tol=1e-3)
tidy"""),
    ("code", """\
import sympy

from kansr.bench.check import check_solution
from kansr.symbolic import symbol_for

a, b = symbol_for("a"), symbol_for("b")
truth = sympy.exp(sympy.sin(sympy.pi * a) + b**2)
check_solution(tidy, truth, X, y, ["a", "b", "c"])"""),
    ("code", "plot_network(pruned, X);"),
]


INTERACTIVE: Cells = [
    ("md", """\
# Interactive snapping

`SnappingSession` holds a trained KAN and its data and offers the snapping steps as methods;
`snapping_widget` puts them behind buttons.  Needs the notebook extra:
`pip install 'kansr[notebook]'`."""),
    ("code", THREADS + """

import numpy as np

from kansr.nn import KAN
from kansr.notebook import SnappingSession, snapping_widget
from kansr.train import fit

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(300, 2))
y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
model = KAN([2, 1], seed=0, dtype=torch.float64, input_names=["a", "b"])
fit(model, X, y, steps=20, progress=False);"""),
    ("code", """\
session = SnappingSession(model, X, y, library=["x", "x^2", "x^3", "sin", "exp", "tanh"])
session.edges()"""),
    ("md", """\
## The widget

Choose an edge, look at the candidates (the plot overlays the selected one on the edge's
samples), then **Snap**.  **Auto-snap rest** snaps every remaining spline edge to its best
candidate, **Retrain** refits the constants, **Unsnap** undoes.  The formula and the
validation error update live."""),
    ("code", """\
w = snapping_widget(session)
w"""),
    ("md", """\
## Driving it from code

Every control is an attribute of the widget, so the same steps can be scripted (this is also
how the tests run it without a browser)."""),
    ("code", """\
w.edge_dropdown.value = (0, 1, 0)
labels = [label for label, _ in w.candidate_select.options]
labels"""),
    ("code", """\
w.candidate_select.value = next(k for k, label in enumerate(labels) if label.startswith("x^2"))
w.snap_button.click()
w.status.value"""),
    ("code", """\
w.auto_button.click()   # the other edge: sin
w.retrain_button.click()
w.status.value, w.rmse_label.value"""),
    ("md", "## Or with the session alone"),
    ("code", """\
import pandas as pd
from dataclasses import asdict

pd.DataFrame([asdict(c) for c in session.suggest(0, 0, 0, top=3)])"""),
    ("code", """\
from IPython.display import Math

print(session.formula())
Math(session.latex())"""),
    ("code", "session.validation_rmse()"),
]


INIT_SCHEMES: Cells = [
    ("md", """\
# Initialisation schemes

`KAN(init=...)` chooses how the residual weights and spline coefficients start (see
`kansr.nn._init`).  Here the KAN paper's `default`, `glorot` (variance-preserving) and the
`power_law` family are compared on a function-fitting task,
$f(x_1, x_2) = \\exp(\\sin(\\pi x_1) + x_2^2)$, with Adam so that the early phase of training
is visible.  Three seeds each; a small study, not a benchmark."""),
    ("code", THREADS + """

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kansr.nn import KAN
from kansr.plotting import plot_training
from kansr.train import fit

rng = np.random.default_rng(0)


def f(X):
    return np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2)


X_train, X_test = rng.uniform(-1, 1, (500, 2)), rng.uniform(-1, 1, (500, 2))
y_train, y_test = f(X_train), f(X_test)"""),
    ("code", """\
schemes = ["default", "glorot", "power_law"]
histories, rows = {}, []
for scheme in schemes:
    for seed in (0, 1, 2):
        model = KAN([2, 5, 1], grid=5, init=scheme, seed=seed)
        out_std = float(model.predict(X_train).std())  # output scale at initialisation
        h = fit(model, X_train, y_train, steps=400, optimizer="adam", lr=1e-2,
                X_val=X_test, y_val=y_test, update_grid=False, progress=False)
        histories[scheme, seed] = h
        rows.append({"init": scheme, "seed": seed, "output std at init": out_std,
                     "test MSE @50": h.column("val_loss")[50], "final test MSE": h.column("val_loss")[-1]})
table = pd.DataFrame(rows)
table.groupby("init")[["output std at init", "test MSE @50", "final test MSE"]].median()"""),
    ("code", """\
fig, ax = plt.subplots(figsize=(6, 4))
for k, scheme in enumerate(schemes):
    for seed in (0, 1, 2):
        h = histories[scheme, seed]
        ax.plot(h.column("val_loss"), color=f"C{k}", alpha=0.8, label=scheme if seed == 0 else None)
ax.set(yscale="log", xlabel="Adam step", ylabel="test MSE", title="Test loss by initialisation (3 seeds)")
ax.legend();"""),
    ("md", "One run in detail, with the library's training plot (train/validation loss and regularisation):"),
    ("code", "plot_training(histories[\"power_law\", 0]);"),
    ("md", """\
The `power_law` scheme takes `alpha` and `beta` (standard deviations
$(n_{in}(G+k+1))^{-\\alpha}$ for the residual and $(\\ldots)^{-\\beta}$ for the spline part):

```python
KAN([2, 5, 1], init="power_law", init_params={"alpha": 0.25, "beta": 1.0})
```"""),
]


FEYNMAN: Cells = [
    ("md", """\
# The Feynman benchmark, in miniature

`kansr.bench` runs `discover` on equations of the AI Feynman database and scores the result
with the SRBench criterion (the formula is a *symbolic solution* when its difference or
ratio to the truth simplifies to a constant).  Results are appended to
`results.jsonl` as tasks finish, so a run can be resumed.  Two quick equations with a tiny
budget here; the full run is `kansr bench feynman --subset srbench --out bench_out`."""),
    ("code", """\
import feynman_data

for eq in ["I.12.1", "II.3.24"]:
    print(eq, ":", feynman_data.get(eq).output, "=", feynman_data.get(eq).expr)"""),
    ("code", """\
from kansr.bench.runner import read_results, run_benchmark

run_benchmark(["I.12.1", "II.3.24"], noises=[0.0], seeds=[0], time_budget=10,
              n_train=300, n_test=300, workers=1, out_dir="bench_out", progress=False)"""),
    ("code", """\
import pandas as pd

pd.DataFrame(read_results("bench_out"))[["equation", "formula", "solved", "r2", "seconds"]]"""),
    ("md", "`summarize` writes `summary.md` and `summary.png` and returns the Markdown:"),
    ("code", """\
from IPython.display import Markdown

from kansr.bench.summary import summarize

Markdown(summarize("bench_out"))"""),
    ("md", """\
## One equation by hand

The runner does, per task, what this cell does: sample the equation, discover, check."""),
    ("code", """\
from kansr import discover
from kansr.bench.check import check_solution

X, y, names, truth = feynman_data.sample("I.12.1", n=300, seed=1)
X_test, y_test, _, _ = feynman_data.sample("I.12.1", n=300, seed=2)
found = discover(X, y, names, seed=0, time_budget=10)
found.formula, check_solution(found.formula.expr, truth, X_test, y_test, names)["solved"]"""),
]


NOTEBOOKS: dict[str, Cells] = {
    "01_csv_in_five_lines.ipynb": CSV_IN_FIVE_LINES,
    "02_interpretability_workflow.ipynb": INTERPRETABILITY,
    "03_interactive_snapping.ipynb": INTERACTIVE,
    "04_initialisation_schemes.ipynb": INIT_SCHEMES,
    "05_feynman_benchmark.ipynb": FEYNMAN,
}


def build(name: str, cells: Cells) -> nbformat.NotebookNode:
    """The notebook for one list of cells."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for k, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        cell["id"] = f"{Path(name).stem[:2]}-{k:02d}"  # stable ids: rebuilding gives identical files
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory for the notebooks (default: tutorials/)")
    parser.add_argument("--execute", action="store_true", help="run each notebook and store its outputs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = build(name, cells)
        if args.execute:
            from nbclient import NotebookClient

            NotebookClient(nb, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(args.out)}}).execute()
        nbformat.write(nb, args.out / name)
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
