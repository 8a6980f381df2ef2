"""The KAN model: a stack of :class:`~kansr.nn._layer.KANLayer` with sum and product nodes."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from kansr._validation import as_float_tensor
from kansr.errors import ModelFileError
from kansr.nn._init import initialize_layer
from kansr.nn._io import read_model_file, save_model
from kansr.nn._layer import BASE_FUNCTIONS, KANLayer
from kansr.nn.kernels._network import network_forward

__all__ = ["KAN", "Activations", "GridUpdate", "parse_width", "load_model"]


def parse_width(width: Sequence) -> list[tuple[int, int]]:
    """Normalise a width list to ``[(n_sum, n_mult), ...]``.

    Each entry is an int (sum nodes only) or a pair ``[n_sum, n_mult]``.
    """
    if not isinstance(width, (list, tuple)) or len(width) < 2:
        raise ValueError(f"width must be a list of at least two layer sizes, e.g. [2, 5, 1]; got {width!r}")
    out: list[tuple[int, int]] = []
    for pos, entry in enumerate(width):
        if isinstance(entry, (list, tuple)):
            if len(entry) != 2:
                raise ValueError(f"width[{pos}] must be an int or [n_sum, n_mult]; got {entry!r}")
            n_sum, n_mult = entry
        else:
            n_sum, n_mult = entry, 0
        if isinstance(n_sum, bool) or isinstance(n_mult, bool) or not all(
            isinstance(v, (int, np.integer)) for v in (n_sum, n_mult)
        ):
            raise ValueError(f"width[{pos}] must hold integers; got {entry!r}")
        n_sum, n_mult = int(n_sum), int(n_mult)
        if n_sum < 0 or n_mult < 0 or n_sum + n_mult < 1:
            raise ValueError(f"width[{pos}] must have at least one node and no negative counts; got {entry!r}")
        out.append((n_sum, n_mult))
    if out[0][1]:
        raise ValueError("the input layer (width[0]) cannot have multiplication nodes")
    return out


_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Highest spline order a model file may declare: each sample evaluates k + 1 basis functions
# per edge, and orders above about 5 are not used in practice.
_MAX_ORDER = 10
_KINDS = {int: "an integer", str: "a string", list: "a list", dict: "an object"}


def _field(obj: dict, key: str, kind: type, where: str = "", low: int | None = None, high: int | None = None):
    """``obj[key]``, checked to be a ``kind`` (a bool is no int) within ``[low, high]``; ``where`` names ``obj``."""
    name = f"{where}.{key}" if where else key
    if key not in obj:
        raise ValueError(f"field {name!r} is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"field {name!r} must be {_KINDS[kind]}, got {type(value).__name__} {value!r:.60}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"field {name!r} must be {bounds}, got {value}")
    return value


def _check_config(config: dict, state: dict | None, library) -> None:
    """Check that a model description (and its tensors) are sound and fit together.

    Everything :meth:`KAN.from_config` reads is checked: every field's type
    and range, one layer entry per layer, per-layer grid sizes, symbolic names
    of the layer's shape and known to ``library``, and, with ``state``,
    tensors of exactly the names, shapes and dtype the description implies
    and symbolic edges marked in both.  Shapes are compared as numbers, so a
    file that declares a huge width is refused from its (small) tensors
    rather than by allocating the model.

    Raises
    ------
    ValueError
        Naming the field or tensor at fault.
    """
    if not isinstance(config, dict):
        raise ValueError(f"the model description must be an object, got {type(config).__name__}")
    width = _field(config, "width", list)
    try:
        widths = parse_width(width)
    except ValueError as exc:
        raise ValueError(f"field 'width': {exc}") from None
    n_layers = len(widths) - 1
    k = _field(config, "k", int, low=1, high=_MAX_ORDER)
    mult_arity = _field(config, "mult_arity", int, low=2)
    base_fun = _field(config, "base_fun", str)
    if base_fun not in BASE_FUNCTIONS:
        raise ValueError(f"field 'base_fun' is {base_fun!r}, not one of {', '.join(BASE_FUNCTIONS)}")
    _field(config, "init", str)
    params = _field(config, "init_params", dict)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in params.values()):
        raise ValueError(f"field 'init_params' must map parameter names to finite numbers, got {params!r:.60}")
    _field(config, "seed", int, low=-(2**63), high=2**64 - 1)  # what torch.Generator.manual_seed takes
    dtype = _field(config, "dtype", str)
    if dtype not in _DTYPES:
        raise ValueError(f"field 'dtype' is {dtype!r}, not one of {', '.join(_DTYPES)}")
    grid = _field(config, "grid", list)
    layers = _field(config, "layers", list)
    for name, items in (("grid", grid), ("layers", layers)):
        if len(items) != n_layers:
            raise ValueError(f"field {name!r} has {len(items)} entries for the {n_layers} layers of width {width}")
    n_in = [sum(w) for w in widths[:-1]]
    n_out = [n_sum + mult_arity * n_mult for n_sum, n_mult in widths[1:]]
    for name, n in (("input_names", widths[0][0]), ("output_names", sum(widths[-1]))):
        names = _field(config, name, list)
        if len(names) != n or not all(isinstance(v, str) for v in names):
            raise ValueError(f"field {name!r} must be a list of {n} strings for width {width}")

    shapes = {"input_shift": (n_in[0],), "input_scale": (n_in[0],),
              "output_shift": (sum(widths[-1]),), "output_scale": (sum(widths[-1]),)}
    for l, extra in enumerate(layers):
        where = f"layers[{l}]"
        if not isinstance(extra, dict):
            raise ValueError(f"field {where!r} must be an object, got {type(extra).__name__}")
        G = _field(extra, "G", int, where, low=1)
        if isinstance(grid[l], bool) or grid[l] != G:
            raise ValueError(f"field 'grid[{l}]' is {grid[l]!r:.60} but '{where}.G' is {G}")
        if _field(extra, "base_fun", str, where) != base_fun:
            raise ValueError(f"field '{where}.base_fun' is {extra['base_fun']!r} but 'base_fun' is {base_fun!r}")
        shapes.update({f"layers.{l}.{name}": shape
                       for name, shape in KANLayer.tensor_shapes(n_in[l], n_out[l], G, k).items()})
    if state is not None:
        _check_state(state, shapes, _DTYPES[dtype])
    for l, extra in enumerate(layers):
        where = f"layers[{l}].symbolic_names"
        names = _field(extra, "symbolic_names", list, f"layers[{l}]")
        if len(names) != n_in[l] or not all(isinstance(row, list) and len(row) == n_out[l] for row in names):
            raise ValueError(f"field {where!r} must be {n_in[l]} lists of {n_out[l]} entries, one per edge")
        flat = [name for row in names for name in row]
        if not all(name is None or isinstance(name, str) for name in flat):
            raise ValueError(f"field {where!r} must hold function names or null")
        missing = sorted({name for name in flat if name is not None and name not in library})
        if missing:
            raise ValueError(f"field {where!r} uses symbolic function(s) {missing} that are not in the library; "
                             "pass library=... with these functions to load it")
        if state is not None:
            marked = state[f"layers.{l}.symbolic_mask"].flatten().tolist()
            if any(m != (name is not None) for m, name in zip(marked, flat)):
                raise ValueError(f"field {where!r} does not match tensor 'layers.{l}.symbolic_mask' "
                                 "(an edge is symbolic in one and not in the other)")


def _check_state(state: dict, shapes: dict[str, tuple[int, ...]], dtype: torch.dtype) -> None:
    """Check that ``state`` holds exactly the tensors ``shapes`` names, of those shapes and ``dtype``."""
    if not isinstance(state, dict):
        raise ValueError(f"the tensors must be a dict of name -> tensor, got {type(state).__name__}")
    if set(state) != set(shapes):
        raise ValueError(
            f"the tensors do not match the architecture: missing {sorted(set(shapes) - set(state))}, "
            f"unexpected {sorted(map(str, set(state) - set(shapes)))}"
        )
    for name, shape in shapes.items():
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"{name!r} must be a tensor, got {type(tensor).__name__}")
        if tuple(tensor.shape) != shape:
            raise ValueError(f"tensor {name!r} has shape {tuple(tensor.shape)}, "
                             f"but the description (width, grid, k) implies {shape}")
        if tensor.dtype != dtype:
            raise ValueError(f"tensor {name!r} is {tensor.dtype}, but field 'dtype' says {dtype}")
        # A view can claim any shape over a tiny storage (stride 0); the values must be in the file.
        if tensor.untyped_storage().nbytes() < tensor.numel() * tensor.element_size():
            raise ValueError(f"tensor {name!r} of shape {shape} is backed by fewer values than it has")


@dataclass
class Activations:
    """Intermediate values of one forward pass (for regularisation, pruning, plots).

    Attributes
    ----------
    inputs : list of Tensor (batch, n_in)
        What each layer received (after the input normalisation for layer 0).
    edges : list of Tensor (batch, n_in, n_out)
        Every edge's output.
    subnodes : list of Tensor (batch, n_out)
        Each layer's sums before multiplication nodes combine them.
    output : Tensor (batch, n_outputs)
    """

    inputs: list[torch.Tensor] = field(default_factory=list)
    edges: list[torch.Tensor] = field(default_factory=list)
    subnodes: list[torch.Tensor] = field(default_factory=list)
    output: torch.Tensor | None = None


@dataclass(frozen=True)
class GridUpdate:
    """What :meth:`KAN.update_grid` did.

    Attributes
    ----------
    relative_change : float
        ``rms(after - before) / rms(before)`` of the model output on the samples.
    knot_step : Tensor (total inputs over all layers,)
        Fraction of the way to its target each input's knots moved (layer by layer).
    """

    relative_change: float
    knot_step: torch.Tensor


def _relative_change(before: torch.Tensor, after: torch.Tensor) -> float:
    """RMS of the change relative to the RMS of ``before``."""
    before, after = before.double(), after.double()
    return float(((after - before).square().mean() / before.square().mean().clamp_min(1e-300)).sqrt())


class KAN(nn.Module):
    """Kolmogorov--Arnold Network.

    Parameters
    ----------
    width : list
        Nodes per layer, e.g. ``[2, 5, 1]``.  An entry ``[n_sum, n_mult]``
        adds ``n_mult`` multiplication nodes that multiply ``mult_arity``
        incoming sums each (KAN 2.0).
    grid : int
        Number of spline grid intervals ``G >= 1``.
    k : int
        Spline order ``>= 1`` (3 = cubic).
    base_fun : str
        Residual function ``b`` (``"silu"``, ``"identity"``, ``"tanh"``, ``"zero"``).
    init : str
        Initialisation scheme, see :mod:`kansr.nn._init`.
    init_params : dict, optional
        Parameters of the scheme (``sigma``; ``alpha``, ``beta``).
    grid_range : (float, float)
        Initial spline domain of every edge.
    mult_arity : int
        Number of factors per multiplication node.
    seed : int
        Seed of the initialisation.
    dtype : torch.dtype
        ``torch.float32`` (fast) or ``torch.float64``.
    input_names, output_names : list of str, optional
        Variable names used by formulas and plots.
    """

    def __init__(
        self,
        width: Sequence,
        grid: int = 5,
        k: int = 3,
        base_fun: str = "silu",
        init: str = "default",
        init_params: dict | None = None,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        mult_arity: int = 2,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        input_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 1:
            raise ValueError(f"grid must be an integer >= 1 (number of spline intervals); got {grid!r}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be an integer >= 1 (spline order); got {k!r}")
        if not isinstance(mult_arity, int) or mult_arity < 2:
            raise ValueError(f"mult_arity must be an integer >= 2; got {mult_arity!r}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype!r}")
        self.widths = parse_width(width)
        self.k = int(k)
        self.mult_arity = mult_arity
        self.base_fun = base_fun
        self.init_scheme = init
        self.init_params = dict(init_params or {})
        self.seed = int(seed)
        gen = torch.Generator().manual_seed(self.seed)
        layers = []
        for l in range(len(self.widths) - 1):
            n_in = sum(self.widths[l])
            n_out = self.widths[l + 1][0] + mult_arity * self.widths[l + 1][1]
            layer = KANLayer(n_in, n_out, int(grid), self.k, base_fun, grid_range, dtype)
            initialize_layer(layer, init, gen, **self.init_params)
            layers.append(layer)
        self.layers = nn.ModuleList(layers)
        n0, nL = self.width_in, self.width_out
        self.register_buffer("input_shift", torch.zeros(n0, dtype=dtype))
        self.register_buffer("input_scale", torch.ones(n0, dtype=dtype))
        self.register_buffer("output_shift", torch.zeros(nL, dtype=dtype))
        self.register_buffer("output_scale", torch.ones(nL, dtype=dtype))
        self.input_names = self._names(input_names, n0, "x", "input_names")
        self.output_names = self._names(output_names, nL, "y", "output_names")

    @staticmethod
    def _names(names: Sequence[str] | None, n: int, prefix: str, what: str) -> list[str]:
        if names is None:
            return [f"{prefix}{i}" if n > 1 or prefix == "x" else prefix for i in range(n)]
        names = [str(v) for v in names]
        if len(names) != n:
            raise ValueError(f"{what} has {len(names)} names for {n} nodes")
        if len(set(names)) != n:
            raise ValueError(f"{what} contains duplicates: {names}")
        return names

    # ------------------------------------------------------------------ shape
    @property
    def width_in(self) -> int:
        return self.widths[0][0]

    @property
    def width_out(self) -> int:
        return sum(self.widths[-1])

    @property
    def width(self) -> list:
        """Width list as given (ints for pure sum layers)."""
        return [s if m == 0 else [s, m] for s, m in self.widths]

    @property
    def dtype(self) -> torch.dtype:
        return self.layers[0].coef.dtype

    @property
    def grid_size(self) -> int:
        return self.layers[0].G

    def _identity_normalization(self) -> tuple[bool, bool]:
        """Whether the input and the output normalisation are identities.

        Skipping them saves four tensor operations per forward pass, which
        matters for small models.  Cached on the buffers' version counters, so
        ``set_normalization``, ``load_state_dict`` or any in-place edit is seen.
        """
        buffers = (self.input_shift, self.input_scale, self.output_shift, self.output_scale)
        key = tuple((id(b), b._version) for b in buffers)
        cached = getattr(self, "_identity_cache", None)
        if cached is None or cached[0] != key:
            inputs = bool((self.input_shift == 0).all() and (self.input_scale == 1).all())
            outputs = bool((self.output_shift == 0).all() and (self.output_scale == 1).all())
            cached = self._identity_cache = (key, (inputs, outputs))
        return cached[1]

    def _combine(self, l: int, subnodes: torch.Tensor) -> torch.Tensor:
        """Turn layer ``l``'s sums into node values (multiplication nodes multiply)."""
        n_sum, n_mult = self.widths[l + 1]
        if n_mult == 0:
            return subnodes
        prods = subnodes[:, n_sum:].reshape(-1, n_mult, self.mult_arity).prod(-1)
        return torch.cat([subnodes[:, :n_sum], prods], dim=1)

    # ------------------------------------------------------------------ forward
    def as_tensor(self, X, name: str = "X") -> torch.Tensor:
        """Convert inputs to a (batch, n_inputs) tensor of the model's dtype, checking the shape."""
        t = as_float_tensor(X, self.dtype, name)
        if t.dim() == 1 and self.width_in == 1:
            t = t.unsqueeze(1)
        if t.dim() != 2 or t.shape[1] != self.width_in:
            raise ValueError(
                f"{name} must have shape (n_samples, {self.width_in}) for a KAN with width "
                f"{self.width}; got {tuple(t.shape)}"
            )
        return t

    def forward(self, x: torch.Tensor, return_activations: bool = False):
        """Evaluate the network.

        Parameters
        ----------
        x : Tensor or array, shape (batch, n_inputs)
        return_activations : bool
            Also return an :class:`Activations` record with every edge's output.

        Returns
        -------
        Tensor (batch, n_outputs), and the :class:`Activations` when requested.
        """
        x = self.as_tensor(x)
        inputs_identity, outputs_identity = self._identity_normalization()
        h = x if inputs_identity else (x - self.input_shift) / self.input_scale
        if not return_activations:
            out = network_forward(self, h)  # one autograd node when the model is plain numeric
            if out is not None:
                return out if outputs_identity else out * self.output_scale + self.output_shift
        acts = Activations() if return_activations else None
        for l, layer in enumerate(self.layers):
            if acts is not None:
                acts.inputs.append(h)
                sub, edges = layer(h, return_edges=True)
                acts.edges.append(edges)
                acts.subnodes.append(sub)
            else:
                sub = layer(h)
            h = self._combine(l, sub)
        out = h if outputs_identity and acts is None else h * self.output_scale + self.output_shift
        if acts is not None:
            acts.output = out
            return out, acts
        return out

    @torch.no_grad()
    def predict(self, X) -> np.ndarray:
        """Predictions as a float64 numpy array of shape (n_samples, n_outputs)."""
        return self.forward(self.as_tensor(X)).double().numpy()

    def layer_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The input each layer sees for samples ``x`` (no gradient)."""
        with torch.no_grad():
            h = (self.as_tensor(x) - self.input_shift) / self.input_scale
            seen = []
            for l, layer in enumerate(self.layers):
                seen.append(h)
                h = self._combine(l, layer(h))
        return seen

    # ------------------------------------------------------------------ grids
    def update_grid(
        self,
        x,
        grid_eps: float = 0.02,
        margin: float = 0.0,
        tolerance: float | None = 1e-4,
    ) -> GridUpdate:
        """Re-place every layer's knots from the samples ``x``, preserving the functions.

        Layers are updated front to back, each from the inputs it sees.  The
        knots move towards a mix of sample quantiles and a uniform grid
        (:meth:`KANLayer.grid_targets`), and the splines are refitted by least
        squares.  Same-size knots cannot reproduce a spline exactly, so with a
        ``tolerance`` every input's knots move only as far as keeps the
        model's output on ``x`` within that relative RMS change; an update that
        still overshoots (errors compounding through the layers) is undone and
        retried with a ten-fold tighter per-layer budget, and after three
        retries the grid is kept.

        Parameters
        ----------
        x : array or Tensor, shape (n_samples, n_inputs)
        grid_eps : float
            Weight of the uniform knots (1 = uniform, 0 = pure quantiles).
        margin : float
            Fraction of each input's range added on both sides of its domain.
        tolerance : float, optional
            Largest relative RMS change of the output,
            ``rms(after - before) / rms(before)``.  ``None`` moves every knot
            to its target whatever the change.

        Returns
        -------
        GridUpdate
            The relative change measured and how far the knots moved.
        """
        x = self.as_tensor(x)
        with torch.no_grad():
            before = self(x)
            saved = [(layer.grid, layer.coef.detach().clone()) for layer in self.layers]
            layer_tolerance = None if tolerance is None else float(tolerance) / len(self.layers)
            for _attempt in range(4):
                h = (x - self.input_shift) / self.input_scale
                moved = []
                for l, layer in enumerate(self.layers):
                    moved.append(layer.update_grid(h, grid_eps=grid_eps, margin=margin, tolerance=layer_tolerance))
                    h = self._combine(l, layer(h))  # through the updated layer: the next one's inputs
                change = _relative_change(before, h * self.output_scale + self.output_shift)
                if tolerance is None or change <= tolerance:
                    return GridUpdate(change, torch.cat(moved))
                for layer, (grid, coef) in zip(self.layers, saved):
                    layer.grid = grid
                    layer.coef.copy_(coef)
                layer_tolerance /= 10
            return GridUpdate(0.0, torch.zeros(sum(layer.n_in for layer in self.layers), dtype=torch.float64))

    def refine(self, grid: int, x=None) -> KAN:
        """Grid extension: move every spline onto ``grid`` intervals (in place).

        Parameters
        ----------
        grid : int
            New number of intervals.
        x : array, optional
            Samples the transfer must match besides a sweep of each domain.

        Returns
        -------
        self
        """
        seen = self.layer_inputs(x) if x is not None else [None] * len(self.layers)
        for layer, h in zip(self.layers, seen):
            layer.refine(int(grid), h)
        return self

    # ------------------------------------------------------------------ misc
    def n_edges(self) -> int:
        """Number of active (unmasked) edges."""
        return int(sum(layer.mask.sum().item() for layer in self.layers))

    def set_normalization(self, X: np.ndarray | None = None, y: np.ndarray | None = None) -> None:
        """Standardise inputs/outputs inside the model (mean 0, std 1 on the given data).

        The affine maps are part of the model (and of its formula), so callers
        keep working in the original units.
        """
        with torch.no_grad():
            if X is not None:
                Xt = self.as_tensor(X).double()
                self.input_shift.copy_(Xt.mean(0))
                self.input_scale.copy_(Xt.std(0).clamp_min(1e-12))
            if y is not None:
                yt = torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(-1, self.width_out)
                self.output_shift.copy_(yt.mean(0))
                self.output_scale.copy_(yt.std(0).clamp_min(1e-12))

    def copy(self) -> KAN:
        """A deep copy (parameters, grids, masks, symbolic state)."""
        import copy

        return copy.deepcopy(self)

    # ------------------------------------------------------------------ config and files
    def get_config(self) -> dict:
        """The JSON-serialisable description of the architecture and the symbolic state (no tensors)."""
        return {
            "width": self.width,
            "grid": [layer.G for layer in self.layers],
            "k": self.k,
            "base_fun": self.base_fun,
            "mult_arity": self.mult_arity,
            "init": self.init_scheme,
            "init_params": self.init_params,
            "seed": self.seed,
            "dtype": str(self.dtype).replace("torch.", ""),
            "input_names": self.input_names,
            "output_names": self.output_names,
            "layers": [layer.extra_state_dict() for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict, state: dict | None = None, library=None) -> KAN:
        """Build a model from :meth:`get_config` (and load ``state``, a state dict, when given).

        Parameters
        ----------
        config : dict
        state : dict of tensors, optional
            Checked against the architecture: names and shapes must match.
        library : optional
            Symbolic functions beyond the built-in and registered ones (names,
            SymbolicFunction objects or a mapping, see
            :func:`kansr.symbolic.resolve_library`).

        Raises
        ------
        ValueError
            A description or state that does not fit together (the message
            names the field or tensor); checked by :func:`_check_config`
            before the model is built.
        """
        from kansr.symbolic._library import get_library, resolve_library  # the symbolic layer builds on this one

        lib = get_library()  # built-in and registered functions
        if library is not None:
            lib.update(resolve_library(library))
        _check_config(config, state, lib)  # before anything is allocated
        try:
            model = cls(
                config["width"],
                grid=config["grid"][0],
                k=config["k"],
                base_fun=config["base_fun"],
                init=config["init"],
                init_params=config["init_params"],
                mult_arity=config["mult_arity"],
                seed=config["seed"],
                dtype=_DTYPES[config["dtype"]],
                input_names=config["input_names"],
                output_names=config["output_names"],
            )
        except (TypeError, ValueError) as exc:  # e.g. init parameters the scheme does not take
            raise ValueError(f"invalid model description: {exc}") from None
        for layer, extra in zip(model.layers, config["layers"]):
            # Grids may differ per layer after refinement: size parameters first.
            if extra["G"] != layer.G:
                layer.G = extra["G"]
                layer.grid = torch.zeros(layer.n_in, layer.G + 2 * layer.k + 1, dtype=layer.coef.dtype)
                layer.coef = torch.nn.Parameter(torch.zeros(layer.n_in, layer.G + layer.k, layer.n_out, dtype=layer.coef.dtype))
            layer.load_extra_state(extra, lib)
        if state is not None:
            model.load_state_dict(state)
        return model

    def save(self, path) -> None:
        """Save to ``path`` atomically (see :func:`kansr.nn.save_model`)."""
        save_model(self, path)

    @classmethod
    def load(cls, path, library=None) -> KAN:
        """Load a model saved with :meth:`save`.

        Parameters
        ----------
        path : str or Path
        library : mapping name -> SymbolicFunction, optional
            Needed only for user-defined symbolic functions; the default
            library is always available.

        Raises
        ------
        ModelFileError
            Missing, truncated, corrupt or unsafe file, a newer format, or a
            description and tensors that do not fit together.
        """
        config, state = read_model_file(path)
        try:
            return cls.from_config(config, state, library=library)
        except ValueError as exc:
            raise ModelFileError(f"{str(path)!r}: {exc}") from None

    def __repr__(self) -> str:
        return f"KAN(width={self.width}, grid={self.grid_size}, k={self.k}, edges={self.n_edges()})"


def load_model(path, library=None) -> KAN:
    """Load a model written by :func:`~kansr.nn.save_model` (the same as :meth:`KAN.load`)."""
    return KAN.load(path, library=library)
