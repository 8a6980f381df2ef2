"""Recovery problems whose inputs are sampled the way real measurements are.

The Feynman benchmark draws every input independently and uniformly from a
box. Measured data rarely look like that: inputs move together (correlated),
come from a few operating points (clustered), or follow one experimental
path with a little scatter around it (a parameter ``t`` drives several
inputs). Structure tests, grids and constant fits that rely on a filled box
can fail on such data, so this set exercises them.

Every problem holds its truth twice, written independently: a sympy
expression (built from :func:`kansr.symbolic.symbol_for` symbols, never
parsed from text) and a numpy function that produces the targets; the tests
check that the two agree. All truths are finite on their sampling domain
(denominators are bounded away from zero, square roots see non-negative
arguments).

Examples
--------
>>> from kansr.bench import nonuniform
>>> X, y, names, truth = nonuniform.sample("parallel_resistance", n=100, noise=0.0, seed=1)
>>> names, truth
(['R1', 'R2'], R1*R2/(R1 + R2))
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from kansr.symbolic import symbol_for

__all__ = ["KINDS", "PROBLEMS", "Problem", "get", "list_problems", "sample"]

#: How a problem's inputs can be non-uniform (see :attr:`Problem.kinds`).
KINDS = ("correlated", "clustered", "curve")

Latent = dict[str, np.ndarray]
Draw = Callable[[np.random.Generator, int], tuple[np.ndarray, Latent]]


@dataclass(frozen=True)
class Problem:
    """One non-uniformly sampled recovery problem.

    Attributes
    ----------
    id : str
        Short name, e.g. ``"parallel_resistance"``.
    variables : tuple of str
        Input names, in column order.
    truth : sympy.Expr
        The formula over ``symbol_for(name)`` symbols.
    func : callable
        ``func(X) -> y``: the same formula in numpy, written independently of
        `truth`, on ``X`` of shape ``(n, d)``.
    draw : callable
        ``draw(rng, n) -> (X, latent)``: inputs and the hidden sampling
        variables behind them (``latent["t"]`` the curve parameter,
        ``latent["cluster"]`` the cluster label), for tests and plots.
    kinds : tuple of str
        Which of :data:`KINDS` the inputs show.
    description : str
        How the inputs are sampled, in one or two sentences.
    """

    id: str
    variables: tuple[str, ...]
    truth: sympy.Expr
    func: Callable[[np.ndarray], np.ndarray]
    draw: Draw
    kinds: tuple[str, ...]
    description: str

    @property
    def n_variables(self) -> int:
        """Number of input variables."""
        return len(self.variables)

    def sample(
        self, n: int, noise: float = 0.0, seed: int | None = 0
    ) -> tuple[np.ndarray, np.ndarray, list[str], sympy.Expr]:
        """Draw a data set; see :func:`sample`."""
        _check_n_noise(n, noise)
        rng = np.random.default_rng(seed)
        X, _ = self.draw(rng, int(n))
        y = np.asarray(self.func(X), dtype=np.float64)
        # Noise is drawn after the inputs: X depends on the seed only, not on `noise`.
        if noise > 0:
            y = y + rng.normal(0.0, noise * float(np.std(y)), size=y.shape)
        return X, y, list(self.variables), self.truth


# -- sampling building blocks -------------------------------------------------
def _correlated_normal(
    rng: np.random.Generator, n: int, mean: Sequence[float], sd: Sequence[float], corr: np.ndarray
) -> np.ndarray:
    """Gaussian rows with the given means, standard deviations and correlation matrix."""
    z = rng.standard_normal((n, len(mean))) @ np.linalg.cholesky(np.asarray(corr, dtype=np.float64)).T
    return np.asarray(mean) + z * np.asarray(sd)


def _corr2(rho: float) -> np.ndarray:
    return np.array([[1.0, rho], [rho, 1.0]])


def _correlated_lognormal(
    rng: np.random.Generator, n: int, median: Sequence[float], sigma: Sequence[float], corr: np.ndarray
) -> np.ndarray:
    """Positive rows: exp of correlated normals (sizes, rates, resistances)."""
    return np.exp(_correlated_normal(rng, n, np.log(median), sigma, corr))


def _clusters(
    rng: np.random.Generator, n: int, centers: Sequence[Sequence[float]], sd: Sequence[float] | float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around a few operating points, equally likely; returns rows and labels."""
    centers = np.asarray(centers, dtype=np.float64)
    labels = rng.integers(0, len(centers), size=n)
    X = centers[labels] + rng.standard_normal((n, centers.shape[1])) * np.asarray(sd)
    return X, labels


# -- the problems -------------------------------------------------------------
def _sym(*names: str) -> list[sympy.Symbol]:
    return [symbol_for(name) for name in names]


def _cubic_correlated() -> Problem:
    u, v = _sym("u", "v")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        return _correlated_normal(rng, n, (0.0, 0.5), (1.0, 0.8), _corr2(0.8)), {}

    return Problem(
        "cubic_correlated", ("u", "v"), u**3 - 2 * u * v**2 + v / 2,
        lambda X: X[:, 0] ** 3 - 2.0 * X[:, 0] * X[:, 1] ** 2 + 0.5 * X[:, 1],
        draw, ("correlated",),
        "u, v jointly Gaussian (means 0, 0.5; sds 1, 0.8), correlation 0.8.",
    )


def _cubic_curve() -> Problem:
    a, b, c = _sym("a", "b", "c")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        t = rng.uniform(-1.5, 1.5, n)
        X = np.column_stack([t, 1.0 - t**2 / 2, 0.8 * np.cos(1.5 * t)]) + 0.15 * rng.standard_normal((n, 3))
        return X, {"t": t}

    return Problem(
        "cubic_curve", ("a", "b", "c"), a**2 * b - b * c**2 + 3 * c,
        lambda X: X[:, 0] ** 2 * X[:, 1] - X[:, 1] * X[:, 2] ** 2 + 3.0 * X[:, 2],
        draw, ("curve",),
        "t ~ U(-1.5, 1.5); (a, b, c) = (t, 1 - t^2/2, 0.8 cos 1.5t) plus N(0, 0.15^2) scatter on each.",
    )


def _cubic_clusters() -> Problem:
    p, q, r = _sym("p", "q", "r")
    centers = [(1.0, 2.0, 0.5), (-1.0, 0.5, 1.5), (0.5, -1.0, -1.0), (2.0, 1.0, 2.0), (-0.5, -1.5, 0.0)]

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        X, labels = _clusters(rng, n, centers, 0.3)
        return X, {"cluster": labels}

    return Problem(
        "cubic_clusters", ("p", "q", "r"), p * q * r - p**2 + 2 * r,
        lambda X: X[:, 0] * X[:, 1] * X[:, 2] - X[:, 0] ** 2 + 2.0 * X[:, 2],
        draw, ("clustered",),
        "Five operating points in (p, q, r), each a Gaussian blob of sd 0.3.",
    )


def _rational_clusters() -> Problem:
    x, z = _sym("x", "z")
    centers = [(0.5, -1.0), (2.0, 0.5), (-0.5, 1.5), (1.5, 2.0)]

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        X, labels = _clusters(rng, n, centers, (0.35, 0.25))
        return X, {"cluster": labels}

    return Problem(
        "rational_clusters", ("x", "z"), (1 + x) / (1 + z**2),
        lambda X: (1.0 + X[:, 0]) / (1.0 + X[:, 1] ** 2),
        draw, ("clustered",),
        "Four clusters in (x, z) (sds 0.35, 0.25); the denominator is >= 1.",
    )


def _parallel_resistance() -> Problem:
    R1, R2 = _sym("R1", "R2")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        return _correlated_lognormal(rng, n, (100.0, 220.0), (0.5, 0.5), _corr2(0.7)), {}

    return Problem(
        "parallel_resistance", ("R1", "R2"), R1 * R2 / (R1 + R2),
        lambda X: 1.0 / (1.0 / X[:, 0] + 1.0 / X[:, 1]),
        draw, ("correlated",),
        "R1, R2 log-normal (medians 100, 220 ohm; log-sd 0.5), log-correlation 0.7 (same production batch).",
    )


def _phase_sum_curve() -> Problem:
    phi1, phi2, phi3 = _sym("phi1", "phi2", "phi3")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        t = rng.uniform(0.0, 2 * math.pi, n)
        X = np.column_stack([t, 0.5 * t + 0.4, t + 0.8 * np.sin(t)]) + 0.25 * rng.standard_normal((n, 3))
        return X, {"t": t}

    return Problem(
        "phase_sum_curve", ("phi1", "phi2", "phi3"), sympy.sin(phi1 - phi2) + sympy.cos(phi1 - phi3),
        lambda X: np.sin(X[:, 0] - X[:, 1]) + np.cos(X[:, 0] - X[:, 2]),
        draw, ("curve",),
        "Angles of a linkage driven by t ~ U(0, 2 pi): (t, t/2 + 0.4, t + 0.8 sin t) plus N(0, 0.25^2) scatter.",
    )


def _coupled_oscillators() -> Problem:
    K, theta1, theta2 = _sym("K", "theta1", "theta2")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        labels = rng.integers(0, 3, n)
        coupling = np.array([0.5, 1.0, 2.0])[labels] * (1 + 0.05 * rng.standard_normal(n))
        th1 = rng.uniform(-math.pi, math.pi, n)
        th2 = th1 + rng.normal(0.6, 0.5, n)  # phase-locked: a lag around 0.6 rad
        return np.column_stack([coupling, th1, th2]), {"cluster": labels}

    return Problem(
        "coupled_oscillators", ("K", "theta1", "theta2"), K * sympy.cos(theta1 - theta2),
        lambda X: X[:, 0] * np.cos(X[:, 1] - X[:, 2]),
        draw, ("correlated", "clustered"),
        "Three coupling strengths K (0.5, 1, 2, +-5 %); theta1 ~ U(-pi, pi), theta2 = theta1 + N(0.6, 0.5^2).",
    )


def _weighted_mean() -> Problem:
    w1, x1, w2, x2 = _sym("w1", "x1", "w2", "x2")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        w = _correlated_lognormal(rng, n, (1.0, 2.0), (0.6, 0.6), _corr2(-0.5))
        xs = _correlated_normal(rng, n, (10.0, 10.5), (2.0, 2.0), _corr2(0.7))
        return np.column_stack([w[:, 0], xs[:, 0], w[:, 1], xs[:, 1]]), {}

    return Problem(
        "weighted_mean", ("w1", "x1", "w2", "x2"), (w1 * x1 + w2 * x2) / (w1 + w2),
        lambda X: X[:, 1] + X[:, 2] / (X[:, 0] + X[:, 2]) * (X[:, 3] - X[:, 1]),
        draw, ("correlated",),
        "Two sensors: readings x1, x2 Gaussian (means 10, 10.5; sd 2), correlation 0.7; "
        "weights log-normal (medians 1, 2), log-correlation -0.5.",
    )


def _distance_tracks() -> Problem:
    x1, y1, x2, y2 = _sym("x1", "y1", "x2", "y2")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        t = rng.uniform(0.0, 2 * math.pi, n)
        X = np.column_stack([
            2.0 * np.cos(t), 2.0 * np.sin(t), 0.5 + np.cos(t - 0.8), np.sin(t - 0.8),
        ]) + 0.1 * rng.standard_normal((n, 4))
        return X, {"t": t}

    return Problem(
        "distance_tracks", ("x1", "y1", "x2", "y2"), sympy.sqrt((x1 - x2) ** 2 + (y1 - y2) ** 2),
        lambda X: np.hypot(X[:, 0] - X[:, 2], X[:, 1] - X[:, 3]),
        draw, ("curve",),
        "Two tracked bodies at time t ~ U(0, 2 pi): one on a circle of radius 2, the other on a unit circle "
        "centred at (0.5, 0) lagging by 0.8 rad; N(0, 0.1^2) position scatter.",
    )


def _decay_correlated() -> Problem:
    N0, k, t = _sym("N0", "k", "t")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        amp_rate = _correlated_lognormal(rng, n, (100.0, 0.5), (0.4, 0.4), _corr2(0.75))
        labels = rng.integers(0, 4, n)
        times = np.array([0.5, 1.0, 2.0, 4.0])[labels] * (1 + 0.05 * rng.standard_normal(n))
        return np.column_stack([amp_rate[:, 0], amp_rate[:, 1], times]), {"cluster": labels}

    return Problem(
        "decay_correlated", ("N0", "k", "t"), N0 * sympy.exp(-k * t),
        lambda X: X[:, 0] / np.exp(X[:, 1] * X[:, 2]),
        draw, ("correlated", "clustered"),
        "Activity N0 and rate k log-normal (medians 100, 0.5), log-correlation 0.75 (hotter samples decay "
        "faster); read at the schedule t = 0.5, 1, 2, 4 with 5 % jitter.",
    )


def _orifice_flow() -> Problem:
    A, h = _sym("A", "h")
    g = sympy.Rational(981, 100)

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        return _correlated_lognormal(rng, n, (0.02, 1.5), (0.5, 0.5), _corr2(0.8)), {}

    return Problem(
        "orifice_flow", ("A", "h"), A * sympy.sqrt(2 * g * h),
        lambda X: X[:, 0] * np.sqrt(19.62 * X[:, 1]),
        draw, ("correlated",),
        "Outlet area A and head h log-normal (medians 0.02 m^2, 1.5 m; log-sd 0.5), log-correlation 0.8 "
        "(larger tanks are deeper); g = 9.81.",
    )


def _resonance_scan() -> Problem:
    f, f0, width = _sym("f", "f0", "width")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        labels = rng.integers(0, 3, n)
        centre = np.array([5.0, 8.0, 12.0])[labels] + 0.3 * rng.standard_normal(n)
        w = np.exp(rng.normal(math.log(0.8), 0.3, n))
        freq = centre + w * rng.normal(0.0, 1.5, n)  # a scan is densest near the peak
        return np.column_stack([freq, centre, w]), {"cluster": labels}

    return Problem(
        "resonance_scan", ("f", "f0", "width"), 1 / (1 + ((f - f0) / width) ** 2),
        lambda X: _lorentzian(X[:, 0], X[:, 1], X[:, 2]),
        draw, ("correlated", "clustered"),
        "Three resonators (f0 near 5, 8, 12); width log-normal (median 0.8); the probe f = f0 + width*N(0, 1.5^2) "
        "crowds near the peak.",
    )


def _lorentzian(f: np.ndarray, f0: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Lorentzian line shape ``width**2 / (width**2 + (f - f0)**2)``, peak value 1."""
    return width**2 / (width**2 + (f - f0) ** 2)


def _gas_process() -> Problem:
    n_mol, T, V = _sym("n", "T", "V")
    R = sympy.Rational(8314, 1000)

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        labels = rng.integers(0, 3, n)
        moles = np.array([1.0, 2.0, 3.0])[labels] * (1 + 0.03 * rng.standard_normal(n))
        t = rng.uniform(0.0, 1.0, n)
        volume = (1.0 + 2.0 * t) * (1 + 0.03 * rng.standard_normal(n))
        temp = 300.0 * (1.0 + 2.0 * t) ** -0.4 * (1 + 0.05 * rng.standard_normal(n))
        return np.column_stack([moles, temp, volume]), {"t": t, "cluster": labels}

    return Problem(
        "gas_process", ("n", "T", "V"), R * n_mol * T / V,
        lambda X: 8.314 * X[:, 0] * X[:, 1] / X[:, 2],
        draw, ("curve", "clustered"),
        "An expansion along a polytrope: t ~ U(0, 1), V = 1 + 2t (3 % scatter), T = 300 (1 + 2t)^-0.4 "
        "(5 % scatter); n from three fillings (1, 2, 3 mol, 3 % scatter).",
    )


def _projectile_range() -> Problem:
    v, theta = _sym("v", "theta")
    g = sympy.Rational(981, 100)

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        return _correlated_normal(rng, n, (20.0, 0.75), (4.0, 0.22), _corr2(-0.7)), {}

    return Problem(
        "projectile_range", ("v", "theta"), v**2 * sympy.sin(2 * theta) / g,
        lambda X: 2.0 * X[:, 0] ** 2 * np.sin(X[:, 1]) * np.cos(X[:, 1]) / 9.81,
        draw, ("correlated",),
        "Launch speed v ~ N(20, 4^2) and angle theta ~ N(0.75, 0.22^2), correlation -0.7 (a launcher "
        "loses speed when raised); g = 9.81.",
    )


def _contrast() -> Problem:
    Imax, Imin = _sym("Imax", "Imin")

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        top = np.exp(rng.normal(math.log(100.0), 0.5, n))
        ratio = rng.beta(2.0, 5.0, n)
        return np.column_stack([top, top * ratio]), {}

    return Problem(
        "fringe_contrast", ("Imax", "Imin"), (Imax - Imin) / (Imax + Imin),
        lambda X: (1.0 - X[:, 1] / X[:, 0]) / (1.0 + X[:, 1] / X[:, 0]),
        draw, ("correlated",),
        "Fringe intensities: Imax log-normal (median 100, log-sd 0.5), Imin = Imax * Beta(2, 5); both positive.",
    )


def _damped_oscillation() -> Problem:
    t, g, w = _sym("t", "g", "w")
    settings = [(0.2, 2.0), (0.5, 3.5), (0.1, 5.0)]

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Latent]:
        labels = rng.integers(0, len(settings), n)
        gw = np.asarray(settings)[labels] * (1 + 0.05 * rng.standard_normal((n, 2)))
        times = 6.0 * rng.uniform(0.0, 1.0, n) ** 1.5  # logged densely after the kick
        return np.column_stack([times, gw]), {"cluster": labels}

    return Problem(
        "damped_oscillation", ("t", "g", "w"), sympy.exp(-g * t) * sympy.cos(w * t),
        lambda X: np.exp(-X[:, 1] * X[:, 0]) * np.cos(X[:, 2] * X[:, 0]),
        draw, ("clustered",),
        "Three oscillator settings (g, w) = (0.2, 2), (0.5, 3.5), (0.1, 5), 5 % scatter; times 6 U^1.5 "
        "(dense early).",
    )


def _build() -> dict[str, Problem]:
    makers = (
        _cubic_correlated, _cubic_curve, _cubic_clusters, _rational_clusters, _parallel_resistance,
        _phase_sum_curve, _coupled_oscillators, _weighted_mean, _distance_tracks, _decay_correlated,
        _orifice_flow, _resonance_scan, _gas_process, _projectile_range, _contrast, _damped_oscillation,
    )
    problems = {}
    for make in makers:
        problem = make()
        problems[problem.id] = problem
    return problems


#: All problems by id, in a fixed order.
PROBLEMS: dict[str, Problem] = _build()


# -- public access ------------------------------------------------------------
def list_problems() -> list[str]:
    """Problem ids in table order."""
    return list(PROBLEMS)


def get(problem_id: str) -> Problem:
    """Return one problem.

    Raises
    ------
    ValueError
        If the id is unknown; the message lists close matches.
    """
    if not isinstance(problem_id, str):
        raise TypeError(f"problem id must be a str such as 'weighted_mean', got {type(problem_id).__name__}")
    if problem_id not in PROBLEMS:
        close = difflib.get_close_matches(problem_id, list(PROBLEMS), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"choose one of {', '.join(PROBLEMS)}"
        raise ValueError(f"unknown non-uniform problem {problem_id!r}; {hint}")
    return PROBLEMS[problem_id]


def _check_n_noise(n: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) or not (
        math.isfinite(noise) and noise >= 0
    ):
        raise ValueError(f"noise must be a finite float >= 0 (e.g. 0.01 for 1%), got {noise!r}")


def sample(
    problem_id: str, n: int, noise: float = 0.0, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, list[str], sympy.Expr]:
    """Draw a data set from a non-uniform problem.

    Parameters
    ----------
    problem_id : str
        One of :func:`list_problems`.
    n : int
        Number of rows (>= 1).
    noise : float, default 0.0
        Relative noise level: ``y + N(0, (noise * std(y))**2)``, with
        ``std`` of the noise-free targets of this draw.
    seed : int or None, default 0
        Seed for ``numpy.random.default_rng``. The inputs depend only on
        the seed, not on `noise`; draw test data with another seed and
        ``noise=0``.

    Returns
    -------
    X : ndarray of shape (n, d), float64
        Inputs, sampled as the problem's ``description`` says.
    y : ndarray of shape (n,), float64
        Targets, with noise if requested.
    names : list of str
        Column names of `X`.
    truth : sympy.Expr
        The noise-free formula.
    """
    return get(problem_id).sample(n, noise, seed)
