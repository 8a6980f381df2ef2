"""Training a KAN: LBFGS or Adam, sparsification, grid update and grid extension.

The entry points are :func:`fit` (one training run on a fixed grid size) and
:func:`fit_with_extension` (coarse-to-fine grids, each warm-started from the
previous one by a least-squares transfer).  Both return a :class:`History`.
"""
from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from kansr._validation import as_float_tensor, check_finite
from kansr.errors import NumericalWarning
from kansr.nn._model import KAN, Activations
from kansr.train._optim import LeanAdam, lean_adam_supported

__all__ = [
    "fit", "fit_with_extension", "make_optimizer", "History", "regularization", "check_finite_xy",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


@dataclass
class History:
    """What happened during training, one record per optimisation step.

    Attributes
    ----------
    records : list of dict
        ``step``, ``train_loss`` (MSE), ``reg`` (regularisation, unscaled by
        lambda), ``val_loss`` (MSE or None), ``lr``, ``grid``.
    events : list of dict
        ``{"step", "kind", ...}`` for grid updates, grid extensions, retries,
        early stopping.
    stopped_reason : str or None
        Why training ended early (``"early_stopping"``, ``"interrupted"``,
        ``"non_finite"``, ``"time_limit"``), or None if it ran all steps.
    best_step : int or None
        Step of the lowest validation loss (when validating).
    """

    records: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    stopped_reason: str | None = None
    best_step: int | None = None

    def column(self, key: str) -> np.ndarray:
        """One quantity over all steps as an array (NaN where missing)."""
        return np.array([np.nan if r.get(key) is None else r[key] for r in self.records], dtype=float)

    @property
    def interrupted(self) -> bool:
        return self.stopped_reason == "interrupted"

    def extend(self, other: History) -> None:
        """Append another run (steps are renumbered to follow on)."""
        offset = len(self.records)
        self.records += [{**r, "step": r["step"] + offset} for r in other.records]
        self.events += [{**e, "step": e["step"] + offset} for e in other.events]
        self.stopped_reason = other.stopped_reason
        if other.best_step is not None:
            self.best_step = other.best_step + offset


def check_finite_xy(X: torch.Tensor, y: torch.Tensor, what: str = "") -> None:
    """Raise a DataError (a ValueError) naming the first non-finite cell of X or y."""
    check_finite(X, "X" + what)
    check_finite(y, "y" + what)


def _as_xy(model: KAN, X, y, what: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    Xt = model.as_tensor(X, name="X" + what)
    yt = as_float_tensor(y, model.dtype, "y" + what)
    if yt.dim() == 1:
        yt = yt.unsqueeze(1)
    if yt.dim() != 2 or yt.shape[1] != model.width_out:
        raise ValueError(
            f"y{what} must have shape (n_samples,) or (n_samples, {model.width_out}) for a KAN with "
            f"{model.width_out} output(s); got {tuple(yt.shape)}"
        )
    if yt.shape[0] != Xt.shape[0]:
        raise ValueError(f"X{what} has {Xt.shape[0]} rows but y{what} has {yt.shape[0]}")
    if Xt.shape[0] < 2:
        raise ValueError(f"need at least 2 samples to train; got {Xt.shape[0]}")
    check_finite_xy(Xt, yt, what)
    return Xt, yt


def regularization(
    model: KAN,
    acts: Activations,
    lamb_l1: float = 1.0,
    lamb_entropy: float = 2.0,
    lamb_coef: float = 0.0,
    lamb_coefdiff: float = 0.0,
) -> torch.Tensor:
    """Sparsification penalty of the KAN paper.

    For each layer, an edge's L1 norm is its mean absolute output over the
    batch; the layer's L1 is the sum over edges and its entropy is
    ``-sum p log p`` with ``p = edge L1 / layer L1``.  The penalty is
    ``sum_layers (lamb_l1 * L1 + lamb_entropy * entropy)`` plus optional
    penalties on the mean absolute spline coefficients (``lamb_coef``) and on
    their differences between neighbouring basis functions (``lamb_coefdiff``).
    """
    total = acts.edges[0].new_zeros(())
    for layer, edges in zip(model.layers, acts.edges):
        scale = edges.abs().mean(0)  # (in, out)
        l1 = scale.sum()
        p = scale / (l1 + 1e-12)
        entropy = -(p * torch.log(p + 1e-12)).sum()
        total = total + lamb_l1 * l1 + lamb_entropy * entropy
        if lamb_coef:
            total = total + lamb_coef * layer.coef.abs().mean()
        if lamb_coefdiff:
            total = total + lamb_coefdiff * layer.coef.diff(dim=1).abs().mean()
    return total


def _state(model: KAN) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _all_finite(model: KAN) -> bool:
    """Parameters and buffers (grids, masks) all finite."""
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values())


def _samples_leave_grids(model: KAN, X: torch.Tensor, slack: float = 0.05) -> bool:
    """Whether some layer's inputs reach beyond its core grid by more than
    ``slack`` of the grid's span (data in other units, or an untrained model)."""
    for layer, h in zip(model.layers, model.layer_inputs(X)):
        core = layer.core_grid
        lo, hi = core[:, 0], core[:, -1]
        margin = slack * (hi - lo)
        if bool(((h.min(0).values < lo - margin) | (h.max(0).values > hi + margin)).any()):
            return True
    return False


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """The optimiser :func:`fit` uses.

    Parameters
    ----------
    name : {"lbfgs", "adam"}
    params : iterable of Parameter
    lr : float

    Returns
    -------
    torch.optim.Optimizer
        LBFGS with a strong-Wolfe line search (20 inner iterations, history 10),
        or Adam: :class:`kansr.train._optim.LeanAdam` (torch's fused update kernel,
        less overhead per step) on CPU, else torch's fused or multi-tensor Adam.
    """
    if name == "lbfgs":
        return torch.optim.LBFGS(
            params, lr=lr, max_iter=20, history_size=10, line_search_fn="strong_wolfe",
            tolerance_grad=1e-32, tolerance_change=1e-32,
        )
    params = [p for p in params if p.requires_grad]
    if lean_adam_supported(params):
        return LeanAdam(params, lr=lr)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):  # no fused Adam for this device/dtype/torch
        return torch.optim.Adam(params, lr=lr, foreach=True)


def _make_schedule(opt, schedule, steps: int):
    if schedule is None:
        return None
    if callable(schedule):
        return torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    if schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1.0 / max(steps, 1)))
    raise ValueError(f"unknown lr_schedule {schedule!r}; use None, 'cosine', 'exponential' or a callable step -> factor")


def fit(
    model: KAN,
    X,
    y,
    *,
    steps: int = 100,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    batch_size: int | None = None,
    lamb: float = 0.0,
    lamb_l1: float = 1.0,
    lamb_entropy: float = 2.0,
    lamb_coef: float = 0.0,
    lamb_coefdiff: float = 0.0,
    update_grid: bool = True,
    grid_update_every: int = 10,
    stop_grid_update_step: int = 50,
    grid_eps: float = 0.02,
    grid_tolerance: float | None = 1e-4,
    X_val=None,
    y_val=None,
    val_fraction: float = 0.0,
    early_stopping: int | None = None,
    clip_grad: float | None = None,
    lr_schedule: str | Callable[[int], float] | None = None,
    progress: bool = True,
    seed: int = 0,
    time_limit: float | None = None,
) -> History:
    """Train ``model`` in place to map ``X`` to ``y`` (mean squared error).

    Parameters
    ----------
    model : KAN
    X : array-like, shape (n_samples, n_inputs)
    y : array-like, shape (n_samples,) or (n_samples, n_outputs)
    steps : int
        Optimisation steps (an LBFGS step runs up to 20 inner iterations).
    optimizer : {"lbfgs", "adam"}
    lr : float, optional
        Learning rate; default 1.0 for LBFGS, 1e-2 for Adam.
    batch_size : int, optional
        Mini-batch size; default full batch.
    lamb : float
        Overall sparsification strength; 0 disables it.
    lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff : float
        Weights inside the penalty, see :func:`regularization`.
    update_grid : bool
        Re-place knots from the training inputs every ``grid_update_every``
        steps until ``stop_grid_update_step``.
    grid_eps : float
        Uniform share of the updated grid (rest: quantiles).
    grid_tolerance : float, optional
        Largest relative RMS change of the output a grid update may cause
        (see :meth:`KAN.update_grid`): knots then move only as far as the
        learned functions allow.  ``None`` moves them all the way to the
        samples' quantiles.  Exception: when the samples reach beyond some
        layer's grid by more than 5 % of its span (data in other units, an
        untrained model), the first update places the knots freely, since
        nothing there can be preserved; its history event says
        ``"free": True``.
    X_val, y_val : array-like, optional
        Validation data; otherwise ``val_fraction`` of (X, y) is held out.
    early_stopping : int, optional
        Stop after this many steps without a better validation loss and
        restore the best parameters.
    clip_grad : float, optional
        Clip the gradient norm (Adam).
    lr_schedule : {"cosine", "exponential"} or callable, optional
    progress : bool
        Show a progress bar.
    seed : int
        Seed of the validation split and the mini-batches.
    time_limit : float, optional
        Stop after this many seconds (``stopped_reason == "time_limit"``).

    Returns
    -------
    History

    Notes
    -----
    A non-finite loss or parameter restores the last finite parameters; the
    step is retried once with half the learning rate, then training stops
    with a :class:`NumericalWarning`.  Ctrl-C stops training the same way
    and keeps the last finished step (``history.stopped_reason ==
    "interrupted"``).
    """
    optimizer = optimizer.lower()
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam'; got {optimizer!r}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer; got {steps!r}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction!r}")
    Xt, yt = _as_xy(model, X, y)
    gen = torch.Generator().manual_seed(int(seed))
    if X_val is not None or y_val is not None:
        if X_val is None or y_val is None:
            raise ValueError("give both X_val and y_val, or neither")
        Xv, yv = _as_xy(model, X_val, y_val, what="_val")
    elif val_fraction > 0:
        perm = torch.randperm(Xt.shape[0], generator=gen)
        n_val = max(1, int(round(val_fraction * Xt.shape[0])))
        Xv, yv = Xt[perm[:n_val]], yt[perm[:n_val]]
        Xt, yt = Xt[perm[n_val:]], yt[perm[n_val:]]
    else:
        Xv = yv = None
    if early_stopping is not None and Xv is None:
        raise ValueError("early_stopping needs validation data: pass X_val/y_val or val_fraction > 0")

    n = Xt.shape[0]
    lr = float(lr if lr is not None else (1.0 if optimizer == "lbfgs" else 1e-2))
    opt = make_optimizer(optimizer, model.parameters(), lr)
    sched = _make_schedule(opt, lr_schedule, steps)
    history = History()
    last_good = _state(model)
    best_val, best_state, since_best = math.inf, None, 0
    retried = False
    use_reg = lamb > 0

    def objective(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if use_reg:
            pred, acts = model(xb, return_activations=True)
            reg = regularization(model, acts, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff)
        else:
            pred, reg = model(xb), xb.new_zeros(())
        mse = torch.mean((pred - yb) ** 2)
        return mse + lamb * reg, mse, reg

    from tqdm.auto import tqdm

    started = time.perf_counter()
    bar = tqdm(range(steps), disable=not progress, desc=f"fit {optimizer} G={model.grid_size}", leave=False)
    step = 0
    try:
        for step in bar:
            if update_grid and step % grid_update_every == 0 and step < stop_grid_update_step:
                # Samples beyond a layer's grid have no spline to preserve there, and
                # knots held to the tolerance could never reach them: the first
                # update of the fit then places the knots freely.
                free = step == 0 and grid_tolerance is not None and _samples_leave_grids(model, Xt)
                update = model.update_grid(Xt, grid_eps=grid_eps, tolerance=None if free else grid_tolerance)
                history.events.append(
                    {
                        "step": step,
                        "kind": "grid_update",
                        "relative_change": update.relative_change,
                        "knot_step": float(update.knot_step.mean()),
                        "free": free or grid_tolerance is None,
                    }
                )
                if optimizer == "lbfgs":  # its curvature history no longer matches
                    opt = make_optimizer(optimizer, model.parameters(), opt.param_groups[0]["lr"])
            if batch_size is not None and batch_size < n:
                idx = torch.randint(n, (batch_size,), generator=gen)
                xb, yb = Xt[idx], yt[idx]
            else:
                xb, yb = Xt, yt
            parts: dict[str, torch.Tensor] = {}
            verified: dict[str, dict[str, torch.Tensor]] = {}

            def closure() -> torch.Tensor:
                opt.zero_grad()
                total, mse, reg = objective(xb, yb)
                finite_loss = bool(torch.isfinite(total))
                if finite_loss:
                    total.backward()
                if not parts:  # first evaluation: the parameters this step starts from
                    parts.update(total=total.detach(), mse=mse.detach(), reg=reg.detach())
                    if finite_loss:
                        verified["state"] = _state(model)
                return total

            try:
                if optimizer == "lbfgs":
                    opt.step(closure)
                else:
                    closure()
                    if clip_grad is not None:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                    opt.step()
            except (IndexError, RuntimeError) as exc:  # e.g. LBFGS's line search on a NaN loss
                logger.info("optimizer step %d failed: %s", step, exc)
                parts.setdefault("total", torch.tensor(float("nan")))
            if sched is not None:
                sched.step()

            finite = bool(torch.isfinite(parts["total"])) and _all_finite(model)
            if "state" in verified:  # the step started from parameters with a finite loss
                last_good = verified["state"]
            if not finite:
                model.load_state_dict(last_good)
                if not retried:
                    retried = True
                    new_lr = opt.param_groups[0]["lr"] * 0.5
                    opt = make_optimizer(optimizer, model.parameters(), new_lr)
                    history.events.append({"step": step, "kind": "retry", "lr": new_lr})
                    logger.info("non-finite loss at step %d; retrying with lr=%g", step, new_lr)
                    continue
                history.stopped_reason = "non_finite"
                warnings.warn(
                    f"training stopped at step {step}: the loss became non-finite (NaN/inf) twice; the "
                    "parameters of the last finite step were restored. Try a smaller lr, optimizer='adam', "
                    "or standardised inputs.",
                    NumericalWarning,
                    stacklevel=2,
                )
                break
            record = {
                "step": step,
                "train_loss": float(parts["mse"]),
                "reg": float(parts["reg"]),
                "val_loss": None,
                "lr": float(opt.param_groups[0]["lr"]),
                "grid": model.grid_size,
            }
            if Xv is not None:
                with torch.no_grad():
                    record["val_loss"] = float(torch.mean((model(Xv) - yv) ** 2))
                if record["val_loss"] < best_val:
                    best_val, best_state, since_best = record["val_loss"], last_good, 0
                    history.best_step = step
                else:
                    since_best += 1
            history.records.append(record)
            if progress:
                bar.set_postfix(loss=f"{record['train_loss']:.3g}", reg=f"{record['reg']:.3g}")
            if time_limit is not None and time.perf_counter() - started > time_limit:
                history.stopped_reason = "time_limit"
                break
            if early_stopping is not None and since_best >= early_stopping:
                history.stopped_reason = "early_stopping"
                history.events.append({"step": step, "kind": "early_stopping"})
                break
    except KeyboardInterrupt:
        model.load_state_dict(last_good)
        history.stopped_reason = "interrupted"
        history.events.append({"step": step, "kind": "interrupted"})
        warnings.warn(f"training interrupted at step {step}; kept the parameters of the last finished step", stacklevel=2)
    finally:
        bar.close()
    if early_stopping is not None and best_state is not None:
        model.load_state_dict(best_state)
    with torch.no_grad():  # the last step's result has not been evaluated yet
        if not bool(torch.isfinite(model(Xt)).all()):
            model.load_state_dict(last_good)
            history.stopped_reason = history.stopped_reason or "non_finite"
            warnings.warn(
                "the final parameters gave non-finite outputs; restored the last parameters with a finite loss",
                NumericalWarning,
                stacklevel=2,
            )
    return history


def fit_with_extension(
    model: KAN,
    X,
    y,
    grids: Sequence[int] = (5, 10, 20),
    steps: int = 100,
    **fit_kwargs,
) -> History:
    """Train on a sequence of grid sizes, refining between them (in place).

    Each refinement transfers every spline onto the finer grid by least
    squares, so training resumes from the same function.

    Parameters
    ----------
    model : KAN
    X, y : array-like
    grids : sequence of int
        Grid sizes in increasing order; the first is used as is if it equals
        the model's current size.
    steps : int
        Steps per grid size.
    **fit_kwargs
        Passed to :func:`fit`.

    Returns
    -------
    History
        With a ``"grid_extension"`` event at every refinement.
    """
    history = History()
    for G in grids:
        if G != model.grid_size:
            model.refine(int(G), X)
            history.events.append({"step": len(history.records), "kind": "grid_extension", "grid": int(G)})
        run = fit(model, X, y, steps=steps, **fit_kwargs)
        history.extend(run)
        if run.stopped_reason in ("interrupted", "non_finite"):
            break
    return history
