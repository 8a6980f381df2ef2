"""Interactive snapping of KAN edges to symbolic functions, for Jupyter.

:class:`SnappingSession` is the plain-Python core: list edges, ask for
candidate functions, snap/unsnap edges, snap the rest automatically, retrain
the affine constants, read off the formula and the validation error.  It is
built only on the public snapping API (:mod:`kansr.symbolic._snap`) and can be
scripted or tested without a notebook.

:func:`snapping_widget` puts a session behind ipywidgets controls: an edge
dropdown, the edge plot with the selected candidate overlaid, a candidate
list, Snap / Unsnap / Auto-snap rest / Retrain buttons and the live formula.
ipywidgets is an optional dependency (``pip install 'kansr[notebook]'``) and
is imported only by :func:`snapping_widget`.
"""
from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import sympy

from kansr.nn._model import KAN
from kansr.symbolic._fitting import Candidate
from kansr.symbolic._formula import model_formula, rationalize_constants, round_constants
from kansr.symbolic._snap import EdgeChoice, auto_symbolic, fix_symbolic, numeric_edges, suggest_symbolic, unfix

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

    from kansr.train._fit import History

__all__ = ["SnappingSession", "snapping_widget"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


class SnappingSession:
    """Snap the edges of a trained KAN one by one and watch the formula appear.

    Parameters
    ----------
    model : KAN
        A trained model; it is modified in place (pass ``model.copy()`` to
        keep the original).
    X : array-like, shape (n_samples, n_inputs)
        Data the model was trained on.  Edges are fitted on the training
        part, the validation error is measured on the rest.
    y : array-like, shape (n_samples,) or (n_samples, n_outputs)
    names : list of str, optional
        Variable names of the formula (default ``model.input_names``).
    val_fraction : float
        Share of rows held out for :meth:`validation_rmse` (rows are drawn
        with ``seed``).  0 measures on all rows.
    seed : int
        Seed of the split and of :meth:`retrain`.
    library : optional
        Functions to try (names or SymbolicFunction; default: all).

    Examples
    --------
    >>> s = SnappingSession(model, X, y)             # doctest: +SKIP
    >>> s.suggest(0, 0, 0)[0].name                   # doctest: +SKIP
    'sin'
    >>> s.snap(0, 0, 0, "sin"); s.auto_snap_rest()   # doctest: +SKIP
    >>> s.retrain(); s.formula()                     # doctest: +SKIP
    """

    def __init__(
        self,
        model: KAN,
        X,
        y,
        names: Sequence[str] | None = None,
        *,
        val_fraction: float = 0.2,
        seed: int = 0,
        library=None,
    ) -> None:
        if not isinstance(model, KAN):
            raise TypeError(f"model must be a kansr KAN; got {type(model).__name__}")
        X = np.asarray(model.as_tensor(X).double().numpy(), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[0] != X.shape[0] or y.shape[1] != model.width_out:
            raise ValueError(
                f"y must have shape ({X.shape[0]},) or ({X.shape[0]}, {model.width_out}) to match X and the model's "
                f"{model.width_out} output(s); got {np.shape(y)}"
            )
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction!r}")
        self.model = model
        self.names = list(names) if names is not None else list(model.input_names)
        if len(self.names) != model.width_in:
            raise ValueError(f"got {len(self.names)} names for a model with {model.width_in} inputs")
        self.seed = int(seed)
        self.library = library
        perm = np.random.default_rng(self.seed).permutation(X.shape[0])
        n_val = int(round(val_fraction * X.shape[0]))
        if n_val == 0 or n_val == X.shape[0]:
            tr = va = np.arange(X.shape[0])
        else:
            va, tr = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        self.X_train, self.y_train = X[tr], y[tr]
        self.X_val, self.y_val = X[va], y[va]

    # ------------------------------------------------------------------ edges
    def edges(self) -> list[tuple[int, int, int]]:
        """Every active (not pruned) edge as ``(layer, i, j)``, layer by layer."""
        out = []
        for l, layer in enumerate(self.model.layers):
            rows, cols = np.nonzero(layer.mask.detach().numpy() > 0)
            out += [(l, int(i), int(j)) for i, j in zip(rows, cols)]
        return out

    def numeric_edges(self) -> list[tuple[int, int, int]]:
        """Active edges still evaluated by their spline."""
        return numeric_edges(self.model)

    def edge_function(self, l: int, i: int, j: int) -> str | None:
        """Name of the function edge ``(l, i, j)`` is snapped to, or None if it is a spline."""
        layer = self.model.layers[l]
        if float(layer.symbolic_mask[i, j]) > 0:
            return layer.symbolic_names[i][j]
        return None

    def describe_edge(self, l: int, i: int, j: int) -> str:
        """A short label such as ``"L0: v → 0  [x^2]"``."""
        src = self.names[i] if l == 0 else f"h{l}.{i}"
        fn = self.edge_function(l, i, j)
        return f"L{l}: {src} → {j}  [{fn if fn is not None else 'spline'}]"

    # ------------------------------------------------------------------ snapping
    def suggest(self, l: int, i: int, j: int, top: int = 5) -> list[Candidate]:
        """Ranked candidate functions ``c*f(a*x+b)+d`` for edge ``(l, i, j)`` (best first)."""
        return suggest_symbolic(self.model, l, i, j, X=self.X_train, top=top, library=self.library)

    def snap(self, l: int, i: int, j: int, name: str) -> Candidate | None:
        """Fix edge ``(l, i, j)`` to the library function ``name`` (its affine parameters fitted).

        Returns
        -------
        Candidate
            The fit, with its R².
        """
        return fix_symbolic(self.model, l, i, j, name, X=self.X_train)

    def unsnap(self, l: int, i: int, j: int) -> None:
        """Return edge ``(l, i, j)`` to its spline."""
        unfix(self.model, l, i, j)

    def auto_snap_rest(self) -> list[EdgeChoice]:
        """Snap every edge that is still a spline to its best candidate."""
        return auto_symbolic(self.model, X=self.X_train, library=self.library)

    def retrain(self, steps: int = 20) -> History:
        """Train the model a little on the training rows, grids fixed.

        With every edge snapped this refits the affine constants ``a, b, c,
        d`` of the symbolic edges (and the output biases); spline edges keep
        training too.

        Parameters
        ----------
        steps : int
            LBFGS steps.
        """
        from kansr.train._fit import fit

        return fit(
            self.model, self.X_train, self.y_train, steps=int(steps), update_grid=False, progress=False, seed=self.seed
        )

    # ------------------------------------------------------------------ results
    def formula(self) -> sympy.Expr | None:
        """The model's formula (exact constants), or None while some edge is still a spline."""
        if numeric_edges(self.model):
            return None
        return model_formula(self.model, self.names).expr

    def latex(self, digits: int = 4) -> str | None:
        """LaTeX of :meth:`formula` with constants rounded to ``digits`` significant digits, or None."""
        expr = self.formula()
        if expr is None:
            return None
        # After rounding, print whole numbers as integers (2 rather than 2.0).
        shown = rationalize_constants(round_constants(expr, digits), rel_tol=1e-12, max_denominator=1)
        return sympy.latex(shown)

    def validation_rmse(self) -> float:
        """Root-mean-square error of the model on the validation rows."""
        pred = self.model.predict(self.X_val)
        return float(np.sqrt(np.mean((pred - self.y_val) ** 2)))


# ----------------------------------------------------------------------------- widget
def _require_ipywidgets():
    try:
        import ipywidgets
    except ImportError as exc:
        raise ImportError(
            "the snapping widget needs ipywidgets; install the notebook extra: pip install 'kansr[notebook]'"
        ) from exc
    return ipywidgets


_WIDGET_CLASS: type | None = None


def _widget_class() -> type:
    """Define the widget class on first use (ipywidgets is optional)."""
    global _WIDGET_CLASS
    if _WIDGET_CLASS is not None:
        return _WIDGET_CLASS
    widgets = _require_ipywidgets()

    class SnappingWidget(widgets.VBox):
        """Controls for a :class:`SnappingSession` (see :func:`snapping_widget`)."""

        def __init__(self, session: SnappingSession, top: int = 5) -> None:
            self.session = session
            self.top = int(top)
            self._candidates: list[Candidate] = []
            self._quiet = False  # set while options are rebuilt, so observers do not fire
            self.edge_dropdown = widgets.Dropdown(description="edge", layout=widgets.Layout(width="380px"))
            self.candidate_select = widgets.Select(description="candidates", rows=self.top,
                                                   layout=widgets.Layout(width="380px"))
            self.plot = widgets.Image(format="png", layout=widgets.Layout(width="460px"))
            self.snap_button = widgets.Button(description="Snap", button_style="primary",
                                              tooltip="fix the edge to the selected candidate")
            self.unsnap_button = widgets.Button(description="Unsnap", tooltip="return the edge to its spline")
            self.auto_button = widgets.Button(description="Auto-snap rest", tooltip="snap every spline edge")
            self.retrain_button = widgets.Button(description="Retrain", tooltip="refit constants (grid fixed)")
            self.steps = widgets.BoundedIntText(value=20, min=1, max=1000, description="steps",
                                                layout=widgets.Layout(width="150px"))
            self.formula_html = widgets.HTMLMath()
            self.rmse_label = widgets.Label()
            self.status = widgets.Label()
            self.edge_dropdown.observe(self._on_edge, names="value")
            self.candidate_select.observe(self._on_candidate, names="value")
            self.snap_button.on_click(lambda _: self._act(self._snap))
            self.unsnap_button.on_click(lambda _: self._act(self._unsnap))
            self.auto_button.on_click(lambda _: self._act(self._auto))
            self.retrain_button.on_click(lambda _: self._act(self._retrain))
            controls = widgets.VBox([
                self.edge_dropdown, self.candidate_select,
                widgets.HBox([self.snap_button, self.unsnap_button]),
                widgets.HBox([self.auto_button, self.retrain_button]), self.steps,
            ])
            super().__init__([
                widgets.HBox([controls, self.plot]),
                self.formula_html, self.rmse_label, self.status,
            ])
            self._refresh_edges()
            self._load_candidates()
            self._refresh_results()

        # -- state -> widgets ------------------------------------------------
        @property
        def edge(self) -> tuple[int, int, int] | None:
            return self.edge_dropdown.value

        @property
        def candidate(self) -> Candidate | None:
            k = self.candidate_select.value
            return self._candidates[k] if k is not None and 0 <= k < len(self._candidates) else None

        def _refresh_edges(self) -> None:
            current = self.edge_dropdown.value
            options = [(self.session.describe_edge(*e), e) for e in self.session.edges()]
            self._quiet = True
            try:
                self.edge_dropdown.options = options
                values = [v for _, v in options]
                self.edge_dropdown.value = current if current in values else (values[0] if values else None)
            finally:
                self._quiet = False

        def _load_candidates(self) -> None:
            edge = self.edge
            self._candidates = self.session.suggest(*edge, top=self.top) if edge is not None else []
            self._quiet = True
            try:
                self.candidate_select.options = [
                    (f"{c.name:<10} R²={c.r2:.5f}  complexity {c.complexity}", k) for k, c in enumerate(self._candidates)
                ]
                self.candidate_select.value = 0 if self._candidates else None
            finally:
                self._quiet = False
            self._draw()

        def _draw(self) -> None:
            from matplotlib.figure import Figure

            from kansr.plotting import plot_edge

            if self.edge is None:
                self.plot.value = b""
                return
            # A bare Figure (no pyplot) so nothing is displayed or kept open behind the widget.
            fig = Figure(figsize=(5.0, 3.6))
            ax = fig.add_subplot()
            plot_edge(self.session.model, *self.edge, X=self.session.X_train, candidate=self.candidate, ax=ax)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            self.plot.value = buf.getvalue()

        def _refresh_results(self) -> None:
            tex = self.session.latex()
            if tex is None:
                left = len(self.session.numeric_edges())
                self.formula_html.value = f"<i>{left} edge(s) still splines: snap them to see the formula</i>"
            else:
                self.formula_html.value = f"$${tex}$$"
            rmse = self.session.validation_rmse()
            self.rmse_label.value = f"validation RMSE: {rmse:.4g}"

        # -- events ----------------------------------------------------------
        def _on_edge(self, change: dict) -> None:
            if not self._quiet:
                self._act(self._load_candidates, quiet=True)

        def _on_candidate(self, change: dict) -> None:
            if not self._quiet:
                self._act(self._draw, quiet=True)

        def _act(self, action, quiet: bool = False) -> None:
            """Run a button action; report problems in the status line instead of raising."""
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    message = action()
                notes = [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
                if message or not quiet:
                    self.status.value = "; ".join([message or "done", *notes[:1]])
            except Exception as exc:  # shown to the user; the session stays usable
                logger.debug("snapping widget action failed", exc_info=True)
                self.status.value = f"error: {exc}"

        def _snap(self) -> str:
            cand, edge = self.candidate, self.edge
            if cand is None or edge is None:
                return "select an edge and a candidate first"
            fit = self.session.snap(*edge, cand.name)
            self._after_change()
            r2 = f" (R²={fit.r2:.5f})" if fit is not None else ""
            return f"edge {edge} snapped to {cand.name}{r2}"

        def _unsnap(self) -> str:
            edge = self.edge
            if edge is None:
                return "no edge selected"
            self.session.unsnap(*edge)
            self._after_change()
            return f"edge {edge} is a spline again"

        def _auto(self) -> str:
            choices = self.session.auto_snap_rest()
            self._after_change()
            return f"snapped {sum(c.snapped for c in choices)} edge(s)"

        def _retrain(self) -> str:
            self.session.retrain(steps=self.steps.value)
            self._after_change(reload=True)
            return f"retrained for {self.steps.value} steps"

        def _after_change(self, reload: bool = False) -> None:
            self._refresh_edges()
            if reload:
                self._load_candidates()
            else:
                self._draw()
            self._refresh_results()

    _WIDGET_CLASS = SnappingWidget
    return _WIDGET_CLASS


def snapping_widget(session: SnappingSession, top: int = 5) -> ipywidgets.VBox:
    """An ipywidgets panel to snap a session's edges interactively.

    Parameters
    ----------
    session : SnappingSession
    top : int
        Number of candidates listed per edge.

    Returns
    -------
    ipywidgets.VBox
        With attributes ``edge_dropdown``, ``candidate_select``, ``plot``
        (PNG image of :func:`kansr.plotting.plot_edge` with the selected
        candidate), ``snap_button``, ``unsnap_button``, ``auto_button``,
        ``retrain_button``, ``steps``, ``formula_html`` (LaTeX),
        ``rmse_label`` and ``status`` — set ``.value`` / call ``.click()`` to
        drive it from code.

    Raises
    ------
    ImportError
        If ipywidgets is not installed (``pip install 'kansr[notebook]'``).
    """
    if not isinstance(session, SnappingSession):
        raise TypeError(f"snapping_widget needs a SnappingSession; got {type(session).__name__}")
    return _widget_class()(session, top=top)
