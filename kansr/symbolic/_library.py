"""Library of one-dimensional functions that KAN edges can be snapped to.

Every entry is a :class:`SymbolicFunction` carrying the same function in three
forms: a *safe* torch version (finite value and finite gradient for every
finite input, so it can sit in a model's forward pass even when the inner
argument leaves the mathematical domain), a plain numpy version and a sympy
version. Each entry also declares its :class:`Domain`, which the fitter checks
in a vectorised way to reject inner maps ``a*x + b`` that leave the domain,
and a complexity used to prefer simple formulas.

Complexity scale
----------------
The complexity is a small integer, roughly "how many elementary operations a
person writes down", with the identity as the unit:

* 0 -- the constant ``"0"``;
* 1 -- the identity ``"x"``;
* 2 -- one basic operation: ``x^2``, ``1/x``, ``sqrt``, ``exp``, ``log``,
  ``sin``, ``cos``, ``abs``, ``sign``;
* 3 -- compound or less common primitives: ``x^3``, ``1/x^2``,
  ``1/sqrt(x)``, ``tan``, ``tanh``, ``sigmoid``, ``arctan``, ``gaussian``,
  ``cosh``, ``sinh``;
* 4 -- ``x^4`` and the inverse trigonometric/hyperbolic functions
  ``arcsin``, ``arccos``, ``arctanh``.

Custom functions should use the same scale.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.special
import sympy
import torch

from kansr.errors import UsageError

__all__ = [
    "Interval",
    "Domain",
    "SymbolicFunction",
    "DEFAULT_LIBRARY",
    "get_library",
    "resolve_library",
    "resolve_function",
    "register_function",
    "unregister_function",
]

TorchFn = Callable[[torch.Tensor], torch.Tensor]
NumpyFn = Callable[[np.ndarray], np.ndarray]
SympyFn = Callable[[sympy.Expr], sympy.Expr]
CanonicalFn = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]
DerivativeFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

INNER_KINDS = ("affine", "location", "identity", "breakpoint")


# --------------------------------------------------------------------------- #
# Domains
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Interval:
    """An interval of the real line with open or closed ends.

    Parameters
    ----------
    lo, hi : float
        Bounds; ``-inf``/``inf`` for unbounded sides.
    lo_closed, hi_closed : bool
        Whether each finite bound belongs to the interval.
    """

    lo: float = -math.inf
    hi: float = math.inf
    lo_closed: bool = False
    hi_closed: bool = False

    def __post_init__(self) -> None:
        lo, hi = float(self.lo), float(self.hi)
        if math.isnan(lo) or math.isnan(hi):
            raise ValueError(f"Interval bounds must not be NaN, got ({self.lo}, {self.hi})")
        if lo > hi or (lo == hi and not (self.lo_closed and self.hi_closed)):
            raise ValueError(f"Interval is empty: lo={self.lo}, hi={self.hi}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def contains_segment(self, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """Whether each segment ``[lo, hi]`` lies entirely inside the interval."""
        ok_lo = lo >= self.lo if self.lo_closed else lo > self.lo
        ok_hi = hi <= self.hi if self.hi_closed else hi < self.hi
        return ok_lo & ok_hi

    def __str__(self) -> str:
        left = "[" if self.lo_closed and math.isfinite(self.lo) else "("
        right = "]" if self.hi_closed and math.isfinite(self.hi) else ")"
        return f"{left}{self.lo:g}, {self.hi:g}{right}"


@dataclass(frozen=True)
class Domain:
    """Set of valid inner arguments ``z`` of a library function.

    A domain is either a union of :class:`Interval` objects, optionally
    repeated with a ``period`` (e.g. ``tan``), or an arbitrary vectorised
    ``predicate`` (for custom functions). Interval domains additionally
    support :meth:`contains_segment`, which lets the fitter validate an inner
    map ``a*x + b`` from the two extreme samples only and guarantees that no
    pole or boundary lies *between* samples.

    Parameters
    ----------
    intervals : tuple of Interval
        Union of intervals (ignored when ``predicate`` is given).
    period : float, optional
        If set, the intervals repeat with this period.
    predicate : callable, optional
        ``predicate(z) -> bool tensor`` of the same shape as ``z``.
    description : str
        Human-readable form, e.g. ``"z > 0"``.
    """

    intervals: tuple[Interval, ...] = (Interval(),)
    period: float | None = None
    predicate: Callable[[torch.Tensor], torch.Tensor] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        intervals = tuple(self.intervals)
        if self.predicate is None:
            if not intervals or not all(isinstance(i, Interval) for i in intervals):
                raise TypeError("Domain.intervals must be a non-empty tuple of Interval")
        elif not callable(self.predicate):
            raise TypeError(f"Domain.predicate must be callable, got {type(self.predicate).__name__}")
        if self.period is not None:
            period = float(self.period)
            if not (math.isfinite(period) and period > 0):
                raise ValueError(f"Domain.period must be positive and finite, got {self.period}")
            for i in intervals:
                if not (math.isfinite(i.lo) and i.hi - i.lo <= period):
                    raise ValueError("periodic Domain intervals must be finite and shorter than the period")
            object.__setattr__(self, "period", period)
        object.__setattr__(self, "intervals", intervals)

    # -- constructors ------------------------------------------------------ #
    @classmethod
    def real(cls) -> Domain:
        """The whole real line."""
        return cls((Interval(),), description="all real z")

    @classmethod
    def interval(
        cls, lo: float = -math.inf, hi: float = math.inf, lo_closed: bool = False, hi_closed: bool = False
    ) -> Domain:
        """A single interval."""
        iv = Interval(lo, hi, lo_closed, hi_closed)
        return cls((iv,), description=f"z in {iv}")

    @classmethod
    def from_predicate(cls, predicate: Callable[[torch.Tensor], torch.Tensor], description: str = "") -> Domain:
        """A domain given by a vectorised boolean predicate on ``z``."""
        return cls(predicate=predicate, description=description or "custom predicate")

    # -- queries ----------------------------------------------------------- #
    @property
    def is_real_line(self) -> bool:
        """True when every real number is in the domain (no checks needed)."""
        return (
            self.predicate is None
            and self.period is None
            and any(math.isinf(i.lo) and math.isinf(i.hi) for i in self.intervals)
        )

    @property
    def supports_segments(self) -> bool:
        """True when :meth:`contains_segment` is available (interval domains)."""
        return self.predicate is None

    def contains(self, z: torch.Tensor) -> torch.Tensor:
        """Element-wise membership test; returns a bool tensor shaped like ``z``."""
        z = torch.as_tensor(z)
        if self.predicate is not None:
            out = torch.as_tensor(self.predicate(z))
            if out.shape != z.shape:
                raise ValueError(
                    f"domain predicate returned shape {tuple(out.shape)} for input shape {tuple(z.shape)}"
                )
            # NaN never belongs to a domain, whatever the predicate says.
            return out.to(torch.bool) & ~torch.isnan(z)
        return self.contains_segment(z, z)

    def contains_segment(self, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """Whether each whole segment ``[lo, hi]`` (``lo <= hi``) lies in the domain.

        A segment must fit inside a single interval (after shifting by a
        multiple of the period), so it cannot straddle a pole or a gap.
        """
        if self.predicate is not None:
            raise TypeError("contains_segment is not available for predicate domains; use contains()")
        lo = torch.as_tensor(lo)
        hi = torch.as_tensor(hi)
        out = torch.zeros(torch.broadcast_shapes(lo.shape, hi.shape), dtype=torch.bool, device=lo.device)
        for iv in self.intervals:
            if self.period is None:
                out |= iv.contains_segment(lo, hi)
            else:
                # Shift each segment so that its left end falls in [iv.lo, iv.lo + period).
                shift = torch.floor((lo - iv.lo) / self.period) * self.period
                out |= iv.contains_segment(lo - shift, hi - shift)
        return out

    def __str__(self) -> str:
        if self.description:
            return self.description
        text = " U ".join(str(i) for i in self.intervals)
        return f"z in {text}" + (f" (period {self.period:g})" if self.period else "")


def _coerce_domain(domain: Domain | Interval | Callable | None) -> Domain:
    if domain is None:
        return Domain.real()
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, Interval):
        return Domain((domain,), description=f"z in {domain}")
    if callable(domain):
        return Domain.from_predicate(domain)
    raise TypeError(
        f"domain must be a Domain, an Interval, a callable predicate or None, got {type(domain).__name__}"
    )


# --------------------------------------------------------------------------- #
# The function record
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class SymbolicFunction:
    """A library function ``f`` used in edge formulas ``c*f(a*x + b) + d``.

    Parameters
    ----------
    name : str
        Unique name, e.g. ``"sin"``.
    torch_fn : callable
        Element-wise, differentiable torch implementation. Must be *safe*:
        finite value and gradient for every finite input, also outside
        ``domain`` (clamp instead of returning NaN/inf).
    numpy_fn : callable
        Element-wise numpy implementation (exact inside the domain).
    sympy_fn : callable
        Maps a sympy expression ``z`` to the sympy expression ``f(z)``.
    complexity : int
        Non-negative complexity on the scale described in the module docstring.
    domain : Domain
        Where ``f`` is mathematically defined.
    inner : {"affine", "location", "identity", "breakpoint"}
        How the fitter searches the inner map. ``"affine"``: 2-D search over
        ``(a, b)``. ``"location"``: ``f`` is homogeneous up to an affine map of
        its output (``f(k*z) = g(k)*f(z) + h(k)`` for ``k > 0``: powers,
        ``abs``, ``log``), so only ``sign(a)`` and the location ``-b/a`` of
        the vertex/pole/kink matter and a 1-D scan over locations replaces
        the 2-D grid. ``"identity"``: the inner map is redundant with
        ``(c, d)`` (``"0"``, ``"x"``); ``a = 1, b = 0`` are fixed.
        ``"breakpoint"``: ``f`` is a two-level step in the sign of ``z``
        (``"sign"``); only the break point ``-b/a`` matters and every gap
        between samples is scanned exactly.
    canonical : callable, optional
        ``canonical(a, b) -> (a, b)`` mapping an inner map to an equivalent
        canonical one (``c``, ``d`` are refitted afterwards), e.g. ``a > 0``
        for even/odd functions or ``|a| = 1`` for homogeneous ones. Makes fit
        results unique where the parametrisation is redundant.
    derivative : callable, optional
        ``derivative(z, fz) -> f'(z)`` given ``z`` and ``fz = torch_fn(z)``;
        only needs to be correct inside the domain. Speeds up the fitter's
        polish; autograd through ``torch_fn`` is used when omitted.
    """

    name: str
    torch_fn: TorchFn
    numpy_fn: NumpyFn
    sympy_fn: SympyFn
    complexity: int
    domain: Domain = field(default_factory=Domain.real)
    inner: str = "affine"
    canonical: CanonicalFn | None = None
    derivative: DerivativeFn | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"SymbolicFunction.name must be a non-empty str, got {self.name!r}")
        for attr in ("torch_fn", "numpy_fn", "sympy_fn"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"SymbolicFunction {self.name!r}: {attr} must be callable")
        if isinstance(self.complexity, bool) or not isinstance(self.complexity, (int, np.integer)):
            raise TypeError(f"SymbolicFunction {self.name!r}: complexity must be an int, got {self.complexity!r}")
        if self.complexity < 0:
            raise ValueError(f"SymbolicFunction {self.name!r}: complexity must be >= 0, got {self.complexity}")
        object.__setattr__(self, "complexity", int(self.complexity))
        object.__setattr__(self, "domain", _coerce_domain(self.domain))
        if self.inner not in INNER_KINDS:
            raise ValueError(f"SymbolicFunction {self.name!r}: inner must be one of {INNER_KINDS}, got {self.inner!r}")
        for attr in ("canonical", "derivative"):
            if getattr(self, attr) is not None and not callable(getattr(self, attr)):
                raise TypeError(f"SymbolicFunction {self.name!r}: {attr} must be callable or None")

    @classmethod
    def custom(
        cls,
        name: str,
        torch_fn: TorchFn,
        numpy_fn: NumpyFn,
        sympy_fn: SympyFn,
        complexity: int,
        domain: Domain | Interval | Callable | None = None,
        *,
        inner: str = "affine",
        canonical: CanonicalFn | None = None,
        derivative: DerivativeFn | None = None,
    ) -> SymbolicFunction:
        """Create a user-defined function and check its three forms agree.

        Parameters
        ----------
        name, torch_fn, numpy_fn, sympy_fn, complexity, inner, canonical, derivative
            See :class:`SymbolicFunction`.
        domain : Domain, Interval, callable or None
            Domain of ``f``; a callable is a vectorised predicate on ``z``;
            ``None`` means the whole real line.

        Returns
        -------
        SymbolicFunction

        Raises
        ------
        ValueError
            If the torch, numpy and sympy forms disagree on probe points of
            the domain, or ``torch_fn`` is not finite/differentiable there.
        """
        func = cls(name, torch_fn, numpy_fn, sympy_fn, complexity, _coerce_domain(domain), inner, canonical,
                   derivative)
        func.validate()
        return func

    def validate(self, rtol: float = 1e-6, atol: float = 1e-9) -> None:
        """Check the three forms numerically on probe points inside the domain.

        Also checks that ``torch_fn`` gives finite values and gradients on a
        probe set of finite inputs (inside and outside the domain), in
        float32 and float64.

        Raises
        ------
        ValueError
            Describing the first disagreement found.
        """
        probes = _probe_points(self.domain)
        if probes.size < 3:
            raise ValueError(
                f"function {self.name!r}: could not find 3 probe points inside its domain ({self.domain}) "
                "to validate it"
            )
        sym = sympy.Symbol("z", real=True)
        try:
            with torch.no_grad():
                t_val = torch.as_tensor(self.torch_fn(torch.tensor(probes))).to(torch.float64).cpu().numpy()
            with np.errstate(all="ignore"):
                n_val = np.asarray(self.numpy_fn(probes.copy()), dtype=np.float64)
                n_val = np.broadcast_to(n_val, probes.shape) if n_val.ndim == 0 else n_val
            expr = self.sympy_fn(sym)
        except Exception as exc:  # user code: report any failure uniformly
            raise ValueError(f"function {self.name!r}: evaluating it on probe points failed: {exc}") from exc
        if not isinstance(expr, sympy.Basic):
            raise TypeError(
                f"function {self.name!r}: sympy_fn must return a sympy expression, got {type(expr).__name__}"
            )
        try:
            lam = sympy.lambdify(sym, expr, modules="numpy")
            with np.errstate(all="ignore"):
                s_val = np.broadcast_to(np.asarray(lam(probes.copy()), dtype=np.float64), probes.shape)
        except Exception as exc:  # sympy raises many different types here
            raise ValueError(f"function {self.name!r}: could not evaluate sympy_fn numerically: {exc}") from exc
        for label, val in (("torch_fn", t_val), ("numpy_fn", n_val)):
            if val.shape != probes.shape:
                raise ValueError(f"function {self.name!r}: {label} is not element-wise (shape {val.shape})")
        for label, val in (("torch_fn", t_val), ("sympy_fn", s_val)):
            bad = ~np.isclose(val, n_val, rtol=rtol, atol=atol)
            if bad.any():
                k = int(np.argmax(bad))
                raise ValueError(
                    f"function {self.name!r}: {label} and numpy_fn disagree at z={probes[k]:.6g} "
                    f"({val[k]!r} vs {n_val[k]!r})"
                )
        # Safety of the torch form in the forward pass, inside and outside the domain.
        outside = np.array([0.0, -1e-6, 1e-6, -0.5, 0.5, -1.0, 1.0, -math.pi / 2, math.pi / 2, -3.0, 3.0, -10.0,
                            10.0, -50.0, 50.0])
        for dtype in (torch.float32, torch.float64):
            z = torch.tensor(outside, dtype=dtype, requires_grad=True)
            try:
                with torch.enable_grad():
                    val = self.torch_fn(z)
                    (grad,) = torch.autograd.grad(val.sum(), z, allow_unused=True) if val.requires_grad else (None,)
            except Exception as exc:
                raise ValueError(f"function {self.name!r}: torch_fn failed on {dtype}: {exc}") from exc
            if not bool(torch.isfinite(val).all()):
                k = int((~torch.isfinite(val)).nonzero()[0])
                raise ValueError(
                    f"function {self.name!r}: torch_fn must be finite for finite inputs (clamp outside the "
                    f"domain), got {val[k].item()} at z={outside[k]:g} ({dtype})"
                )
            if grad is not None and not bool(torch.isfinite(grad).all()):
                k = int((~torch.isfinite(grad)).nonzero()[0])
                raise ValueError(
                    f"function {self.name!r}: torch_fn gradient is not finite at z={outside[k]:g} ({dtype})"
                )
        if self.derivative is not None:
            z = torch.tensor(probes, requires_grad=True)
            with torch.enable_grad():
                val = self.torch_fn(z)
                (grad,) = torch.autograd.grad(val.sum(), z, allow_unused=True) if val.requires_grad else (None,)
            grad = torch.zeros_like(z) if grad is None else grad
            try:
                mine = torch.as_tensor(self.derivative(z.detach(), val.detach()), dtype=torch.float64)
            except Exception as exc:
                raise ValueError(f"function {self.name!r}: derivative failed: {exc}") from exc
            bad = ~np.isclose(mine.numpy(), grad.numpy(), rtol=1e-5, atol=1e-8)
            if bad.any():
                k = int(np.argmax(bad))
                raise ValueError(
                    f"function {self.name!r}: derivative disagrees with autograd of torch_fn at "
                    f"z={probes[k]:.6g} ({mine[k].item()!r} vs {grad[k].item()!r})"
                )

    def to_sympy(self, x: sympy.Expr, a: float = 1.0, b: float = 0.0, c: float = 1.0, d: float = 0.0) -> sympy.Expr:
        """Return the sympy expression ``c*f(a*x + b) + d``."""
        return c * self.sympy_fn(a * x + b) + d

    def __repr__(self) -> str:
        return f"SymbolicFunction(name={self.name!r}, complexity={self.complexity}, domain={str(self.domain)!r})"

    def __reduce_ex__(self, protocol):
        # Built-ins hold lambdas and closures: pickle/deepcopy them by name so
        # that models referencing them can be saved and copied.
        if DEFAULT_LIBRARY.get(self.name) is self:
            return (_builtin_function, (self.name,))
        return super().__reduce_ex__(protocol)


def _probe_points(domain: Domain) -> np.ndarray:
    """Deterministic points inside ``domain`` used to validate a function."""
    pts = [-3.3, -2.1, -1.7, -0.9, -0.55, -0.23, -0.07, 0.11, 0.31, 0.62, 0.87, 1.3, 1.9, 2.6, 3.4, 5.2]
    if domain.predicate is None:
        for iv in domain.intervals:
            lo, hi = iv.lo, iv.hi
            if math.isfinite(lo) and math.isfinite(hi):
                pts += [lo + (hi - lo) * t for t in (0.1, 0.3, 0.5, 0.7, 0.9)]
            elif math.isfinite(lo):
                pts += [lo + t for t in (0.05, 0.4, 1.3, 3.1)]
            elif math.isfinite(hi):
                pts += [hi - t for t in (0.05, 0.4, 1.3, 3.1)]
    arr = np.unique(np.asarray(pts, dtype=np.float64))
    mask = domain.contains(torch.from_numpy(arr)).cpu().numpy()
    return arr[mask]


# --------------------------------------------------------------------------- #
# Safe torch implementations (finite value and gradient for finite input)
# --------------------------------------------------------------------------- #
def _float(z: torch.Tensor) -> torch.Tensor:
    z = torch.as_tensor(z)
    return z if z.is_floating_point() else z.to(torch.get_default_dtype())


def _max(z: torch.Tensor) -> float:
    return float(torch.finfo(z.dtype).max)


def _exp_cap(z: torch.Tensor) -> float:
    # exp of this is finite (with a margin of e) in z's dtype.
    return math.log(_max(z)) - 1.0


def _abs_floor(z: torch.Tensor, eps: float) -> torch.Tensor:
    """Sign-preserving clamp ``|z| >= eps`` (``+0`` maps to ``+eps``).

    copysign instead of ``torch.where``: same result, several times faster on CPU.
    """
    return torch.copysign(z.abs().clamp(min=eps), z)


def _power(p: int) -> TorchFn:
    def fn(z: torch.Tensor) -> torch.Tensor:
        z = _float(z)
        # |z| <= max**(1/p)/4 keeps z**p and its derivative finite.
        cap = _max(z) ** (1.0 / p) / 4.0
        return z.clamp(-cap, cap) ** p

    fn.__name__ = f"safe_pow{p}"
    return fn


def _inverse_power(p: float) -> TorchFn:
    def fn(z: torch.Tensor) -> torch.Tensor:
        z = _float(z)
        # |z| >= max**(-1/(p+1))*4 keeps |z|**-p and its derivative finite.
        eps = _max(z) ** (-1.0 / (p + 1.0)) * 4.0
        if p == 0.5:  # 1/sqrt: defined for z > 0 only, clamp from below
            return torch.rsqrt(z.clamp(min=eps))
        return _abs_floor(z, eps) ** (-p)

    fn.__name__ = f"safe_inv_pow{p:g}"
    return fn


def _t_zero(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    # Multiply instead of zeros_like so autograd sees a (zero) dependence on z.
    return z * 0.0


def _t_identity(z: torch.Tensor) -> torch.Tensor:
    return _float(z)


def _t_sqrt(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    # Clamping at the smallest normal number instead of 0 keeps the slope
    # finite at and below 0 (the value differs from sqrt(0) by < 1e-19).
    return torch.sqrt(z.clamp(min=float(torch.finfo(z.dtype).tiny)))


def _t_exp(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    return torch.exp(z.clamp(max=_exp_cap(z)))


def _t_log(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    return torch.log(z.clamp(min=float(torch.finfo(z.dtype).tiny)))


def _t_sin(z: torch.Tensor) -> torch.Tensor:
    return torch.sin(_float(z))


def _t_cos(z: torch.Tensor) -> torch.Tensor:
    return torch.cos(_float(z))


def _t_tan(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    # |cos z| >= machine epsilon keeps tan finite next to the poles.
    return torch.sin(z) / _abs_floor(torch.cos(z), float(torch.finfo(z.dtype).eps))


def _t_tanh(z: torch.Tensor) -> torch.Tensor:
    return torch.tanh(_float(z))


def _t_sigmoid(z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(_float(z))


def _unit_sqrt_pair(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(zc, sqrt(1 - zc^2))`` with ``zc = clamp(z, -1, 1)`` and a finite slope everywhere."""
    zc = z.clamp(-1.0, 1.0)
    return zc, torch.sqrt((1.0 - zc * zc).clamp(min=float(torch.finfo(z.dtype).tiny)))


def _t_arcsin(z: torch.Tensor) -> torch.Tensor:
    # atan2 form: exact +-pi/2 at |z| >= 1 without the infinite slope of asin there.
    zc, w = _unit_sqrt_pair(_float(z))
    return torch.atan2(zc, w)


def _t_arccos(z: torch.Tensor) -> torch.Tensor:
    zc, w = _unit_sqrt_pair(_float(z))
    return torch.atan2(w, zc)


def _t_arctan(z: torch.Tensor) -> torch.Tensor:
    return torch.atan(_float(z))


def _t_arctanh(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    bound = 1.0 - float(torch.finfo(z.dtype).eps)
    return torch.atanh(z.clamp(-bound, bound))


def _t_abs(z: torch.Tensor) -> torch.Tensor:
    return torch.abs(_float(z))


def _t_sign(z: torch.Tensor) -> torch.Tensor:
    return torch.sign(_float(z))


def _t_gaussian(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    # exp(-z^2) underflows to 0 (never overflows); clamp keeps z^2 finite.
    cap = math.sqrt(_max(z)) / 4.0
    zc = z.clamp(-cap, cap)
    return torch.exp(-zc * zc)


def _t_cosh(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    cap = _exp_cap(z)
    return torch.cosh(z.clamp(-cap, cap))


def _t_sinh(z: torch.Tensor) -> torch.Tensor:
    z = _float(z)
    cap = _exp_cap(z)
    return torch.sinh(z.clamp(-cap, cap))


# --------------------------------------------------------------------------- #
# Canonical inner maps (c, d are refitted by the caller)
# --------------------------------------------------------------------------- #
def _sgn(a: torch.Tensor) -> torch.Tensor:
    # sign with sign(0) = 1 so that nothing is ever divided by zero or zeroed.
    return torch.where(a < 0, -torch.ones_like(a), torch.ones_like(a))


def _canon_symmetric(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(-z) = alpha*f(z) + beta: flip to a >= 0."""
    s = _sgn(a)
    return a * s, b * s


def _canon_homogeneous_symmetric(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(kz) = g(k) f(z) + h(k) and f(-z) = +-f(z): normalise to a = 1."""
    safe = torch.where(a == 0, torch.ones_like(a), a)
    return torch.where(a == 0, a, torch.ones_like(a)), torch.where(a == 0, b, b / safe)


def _canon_homogeneous(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(kz) = g(k) f(z) + h(k) for k > 0 only: normalise to |a| = 1."""
    mag = torch.where(a == 0, torch.ones_like(a), a.abs())
    return torch.where(a == 0, a, a / mag), b / mag


def _canon_shift(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """exp(z + s) = e^s exp(z): the shift is absorbed by c."""
    return a, torch.zeros_like(b)


def _canon_half_period(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sin/cos/tan: f(z + pi) = +-f(z) and a reflection: a >= 0, b in [-pi/2, pi/2]."""
    a, b = _canon_symmetric(a, b)
    return a, b - math.pi * torch.round(b / math.pi)


# --------------------------------------------------------------------------- #
# Default library
# --------------------------------------------------------------------------- #
def _sym_sigmoid(z: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-z))


_REAL = Domain.real()
_POSITIVE = Domain.interval(0.0, math.inf)
_NONNEGATIVE = Domain.interval(0.0, math.inf, lo_closed=True)
_NONZERO = Domain((Interval(-math.inf, 0.0), Interval(0.0, math.inf)), description="z != 0")
_UNIT_CLOSED = Domain.interval(-1.0, 1.0, lo_closed=True, hi_closed=True)
_UNIT_OPEN = Domain.interval(-1.0, 1.0)
_TAN = Domain((Interval(-math.pi / 2, math.pi / 2),), period=math.pi, description="cos(z) != 0")

_DEFAULTS: tuple[SymbolicFunction, ...] = (
    SymbolicFunction("0", _t_zero, lambda z: np.zeros_like(np.asarray(z, dtype=float)), lambda z: sympy.S.Zero,
                     0, _REAL, inner="identity"),
    SymbolicFunction("x", _t_identity, lambda z: np.asarray(z, dtype=float), lambda z: z, 1, _REAL,
                     inner="identity"),
    SymbolicFunction("x^2", _power(2), lambda z: np.square(z), lambda z: z**2, 2, _REAL,
                     inner="location", canonical=_canon_homogeneous_symmetric,
                     derivative=lambda z, f: 2.0 * z),
    SymbolicFunction("x^3", _power(3), lambda z: np.power(z, 3), lambda z: z**3, 3, _REAL,
                     inner="location", canonical=_canon_homogeneous_symmetric,
                     derivative=lambda z, f: 3.0 * z * z),
    SymbolicFunction("x^4", _power(4), lambda z: np.power(z, 4), lambda z: z**4, 4, _REAL,
                     inner="location", canonical=_canon_homogeneous_symmetric,
                     derivative=lambda z, f: 4.0 * z * z * z),
    SymbolicFunction("1/x", _inverse_power(1), lambda z: 1.0 / np.asarray(z, dtype=float), lambda z: 1 / z, 2,
                     _NONZERO, inner="location", canonical=_canon_homogeneous_symmetric,
                     derivative=lambda z, f: -f * f),
    SymbolicFunction("1/x^2", _inverse_power(2), lambda z: 1.0 / np.square(z), lambda z: z**-2, 3, _NONZERO,
                     inner="location", canonical=_canon_homogeneous_symmetric,
                     derivative=lambda z, f: -2.0 * f / z),
    SymbolicFunction("sqrt", _t_sqrt, np.sqrt, sympy.sqrt, 2, _NONNEGATIVE, inner="location",
                     canonical=_canon_homogeneous,
                     derivative=lambda z, f: 0.5 / f),
    SymbolicFunction("1/sqrt(x)", _inverse_power(0.5), lambda z: 1.0 / np.sqrt(z), lambda z: 1 / sympy.sqrt(z), 3,
                     _POSITIVE, inner="location", canonical=_canon_homogeneous,
                     derivative=lambda z, f: -0.5 * f / z),
    SymbolicFunction("exp", _t_exp, np.exp, sympy.exp, 2, _REAL, canonical=_canon_shift,
                     derivative=lambda z, f: f),
    SymbolicFunction("log", _t_log, np.log, sympy.log, 2, _POSITIVE, inner="location", canonical=_canon_homogeneous,
                     derivative=lambda z, f: 1.0 / z),
    SymbolicFunction("sin", _t_sin, np.sin, sympy.sin, 2, _REAL, canonical=_canon_half_period,
                     derivative=lambda z, f: torch.cos(z)),
    SymbolicFunction("cos", _t_cos, np.cos, sympy.cos, 2, _REAL, canonical=_canon_half_period,
                     derivative=lambda z, f: -torch.sin(z)),
    SymbolicFunction("tan", _t_tan, np.tan, sympy.tan, 3, _TAN, canonical=_canon_half_period,
                     derivative=lambda z, f: 1.0 + f * f),
    SymbolicFunction("tanh", _t_tanh, np.tanh, sympy.tanh, 3, _REAL, canonical=_canon_symmetric,
                     derivative=lambda z, f: 1.0 - f * f),
    SymbolicFunction("sigmoid", _t_sigmoid, scipy.special.expit, _sym_sigmoid, 3, _REAL,
                     canonical=_canon_symmetric,
                     derivative=lambda z, f: f * (1.0 - f)),
    SymbolicFunction("arcsin", _t_arcsin, np.arcsin, sympy.asin, 4, _UNIT_CLOSED, canonical=_canon_symmetric,
                     derivative=lambda z, f: torch.rsqrt(1.0 - z * z)),
    SymbolicFunction("arccos", _t_arccos, np.arccos, sympy.acos, 4, _UNIT_CLOSED, canonical=_canon_symmetric,
                     derivative=lambda z, f: -torch.rsqrt(1.0 - z * z)),
    SymbolicFunction("arctan", _t_arctan, np.arctan, sympy.atan, 3, _REAL, canonical=_canon_symmetric,
                     derivative=lambda z, f: 1.0 / (1.0 + z * z)),
    SymbolicFunction("arctanh", _t_arctanh, np.arctanh, sympy.atanh, 4, _UNIT_OPEN, canonical=_canon_symmetric,
                     derivative=lambda z, f: 1.0 / (1.0 - z * z)),
    SymbolicFunction("abs", _t_abs, np.abs, sympy.Abs, 2, _REAL, inner="location",
                     canonical=_canon_homogeneous_symmetric,
                     derivative=lambda z, f: torch.sign(z)),
    SymbolicFunction("sign", _t_sign, np.sign, sympy.sign, 2, _REAL, inner="breakpoint",
                     canonical=_canon_homogeneous_symmetric),
    SymbolicFunction("gaussian", _t_gaussian, lambda z: np.exp(-np.square(z)), lambda z: sympy.exp(-z**2), 3,
                     _REAL, canonical=_canon_symmetric,
                     derivative=lambda z, f: -2.0 * z * f),
    SymbolicFunction("cosh", _t_cosh, np.cosh, sympy.cosh, 3, _REAL, canonical=_canon_symmetric,
                     derivative=lambda z, f: torch.sinh(z)),
    SymbolicFunction("sinh", _t_sinh, np.sinh, sympy.sinh, 3, _REAL, canonical=_canon_symmetric,
                     derivative=lambda z, f: torch.cosh(z)),
)

#: Built-in functions in their canonical order (name -> SymbolicFunction).
#: Treat as read-only; :func:`get_library` returns fresh copies.
DEFAULT_LIBRARY: dict[str, SymbolicFunction] = {f.name: f for f in _DEFAULTS}

# Functions added with register_function(); appended after the built-ins.
_REGISTERED: dict[str, SymbolicFunction] = {}


def _builtin_function(name: str) -> SymbolicFunction:
    """Unpickling helper: the built-in function called ``name``."""
    return DEFAULT_LIBRARY[name]


def _available() -> dict[str, SymbolicFunction]:
    return {**DEFAULT_LIBRARY, **_REGISTERED}


def get_library(
    names: Iterable[str] | None = None, extra: Iterable[SymbolicFunction] = ()
) -> dict[str, SymbolicFunction]:
    """Select library functions by name.

    Parameters
    ----------
    names : iterable of str, optional
        Names to include, in this order. ``None`` selects every built-in
        function followed by every registered one.
    extra : iterable of SymbolicFunction
        Additional (unregistered) functions appended to the selection; they
        are validated with :meth:`SymbolicFunction.validate`.

    Returns
    -------
    dict
        Fresh ordered mapping ``name -> SymbolicFunction``.

    Raises
    ------
    ValueError
        On an unknown or duplicated name (the message lists available names).
    TypeError
        If a name is not a str or an extra entry is not a SymbolicFunction.
    """
    available = _available()
    if names is None:
        selected = dict(available)
    else:
        if isinstance(names, str):
            names = [names]
        selected = {}
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"library names must be str, got {type(name).__name__}: {name!r}")
            if name not in available:
                raise ValueError(f"unknown library function {name!r}; available: {', '.join(available)}")
            if name in selected:
                raise ValueError(f"library function {name!r} requested twice")
            selected[name] = available[name]
    for func in extra:
        if not isinstance(func, SymbolicFunction):
            raise TypeError(f"extra library entries must be SymbolicFunction, got {type(func).__name__}")
        if func.name in selected:
            raise ValueError(f"extra function name {func.name!r} clashes with a selected library function")
        func.validate()
        selected[func.name] = func
    return selected


def register_function(
    function: SymbolicFunction | str,
    torch_fn: TorchFn | None = None,
    numpy_fn: NumpyFn | None = None,
    sympy_fn: SympyFn | None = None,
    complexity: int | None = None,
    domain: Domain | Interval | Callable | None = None,
    *,
    overwrite: bool = False,
    **kwargs,
) -> SymbolicFunction:
    """Add a user function to the registry used by :func:`get_library`.

    Call either with a ready :class:`SymbolicFunction` or with the arguments
    of :meth:`SymbolicFunction.custom` (``name, torch_fn, numpy_fn, sympy_fn,
    complexity, domain``). The function is validated before registration.

    Parameters
    ----------
    function : SymbolicFunction or str
        The function, or its name.
    torch_fn, numpy_fn, sympy_fn, complexity, domain, **kwargs
        Forwarded to :meth:`SymbolicFunction.custom` when ``function`` is a name.
    overwrite : bool
        Allow replacing a previously *registered* function of the same name.
        Built-in functions can never be replaced.

    Returns
    -------
    SymbolicFunction
        The registered function.
    """
    if isinstance(function, SymbolicFunction):
        if any(v is not None for v in (torch_fn, numpy_fn, sympy_fn, complexity, domain)) or kwargs:
            raise TypeError("pass either a SymbolicFunction or the custom() arguments, not both")
        function.validate()
        func = function
    elif isinstance(function, str):
        missing = [n for n, v in (("torch_fn", torch_fn), ("numpy_fn", numpy_fn), ("sympy_fn", sympy_fn),
                                  ("complexity", complexity)) if v is None]
        if missing:
            raise TypeError(f"register_function({function!r}, ...) is missing {', '.join(missing)}")
        func = SymbolicFunction.custom(function, torch_fn, numpy_fn, sympy_fn, complexity, domain, **kwargs)
    else:
        raise TypeError(f"function must be a SymbolicFunction or a name, got {type(function).__name__}")
    if func.name in DEFAULT_LIBRARY:
        raise ValueError(f"cannot register {func.name!r}: it is a built-in library function")
    if func.name in _REGISTERED and not overwrite:
        raise ValueError(f"function {func.name!r} is already registered (pass overwrite=True to replace it)")
    _REGISTERED[func.name] = func
    return func


def unregister_function(name: str) -> None:
    """Remove a function added with :func:`register_function`.

    Raises
    ------
    ValueError
        If ``name`` is not a registered (non built-in) function.
    """
    if name not in _REGISTERED:
        raise ValueError(f"{name!r} is not a registered function; registered: {', '.join(_REGISTERED) or '(none)'}")
    del _REGISTERED[name]


def resolve_library(
    library: Mapping[str, SymbolicFunction] | Iterable[str | SymbolicFunction] | None,
) -> dict[str, SymbolicFunction]:
    """The one way a ``library=`` argument becomes a ``name -> SymbolicFunction`` mapping.

    Parameters
    ----------
    library : None, mapping, or iterable of names and SymbolicFunction
        ``None`` is the whole library (:func:`get_library`); names are looked
        up in it; SymbolicFunction entries are used as given.

    Raises
    ------
    UsageError (a ValueError)
        Unknown or repeated names, a key that differs from its function's
        name, an empty selection.
    TypeError
        An entry that is neither a name nor a SymbolicFunction.
    """
    if library is None:
        return get_library()
    if isinstance(library, Mapping):
        out = {}
        for key, func in library.items():
            if not isinstance(func, SymbolicFunction):
                raise TypeError(f"library[{key!r}] must be a SymbolicFunction, got {type(func).__name__}")
            if key != func.name:
                raise UsageError(f"library key {key!r} does not match function name {func.name!r}")
            out[key] = func
    else:
        if isinstance(library, (str, SymbolicFunction)):
            library = [library]
        out = {}
        for item in library:
            func = resolve_function(item)
            if func.name in out:
                raise UsageError(f"library function {func.name!r} given twice")
            out[func.name] = func
    if not out:
        raise UsageError("library is empty")
    return out


def resolve_function(function: str | SymbolicFunction) -> SymbolicFunction:
    """One library entry: a name looked up in the library, or a SymbolicFunction as given.

    Raises
    ------
    UsageError (a ValueError)
        An unknown name (the message lists the available ones).
    TypeError
        Anything else.
    """
    if isinstance(function, str):
        try:
            return get_library([function])[function]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if isinstance(function, SymbolicFunction):
        return function
    raise TypeError(f"a library function is a name or a SymbolicFunction; got {type(function).__name__}")
