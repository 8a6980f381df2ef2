"""Exhaustive search over small expression trees (AI Feynman's brute force, vectorised).

Expressions are built bottom-up by size (the number of nodes of the tree) from
the leaves -- the variables, the constant 1 and optionally pi -- with unary
and binary operators.  Each expression is represented by its values on the
sample points, one row of a 2-D block per expression, so that one operator
applied to all expressions (or all pairs) of a size level is one numpy
operation per chunk of rows.

Duplicates are removed by a numeric signature: the values at a few probe
points (data rows moved off the data, so that expressions that agree only on
the data stay apart), rounded to about nine significant digits and hashed.
The first expression of a signature, the smallest, is kept.  Expressions
that are not finite or are constant on the data are dropped, except small
constant subexpressions (``2 = 1 + 1``) that larger expressions are built of.

Every surviving expression ``e`` is scored by the closed-form least squares
fit ``y ~ c*e + d``, all expressions of a chunk at once.  Because the outer
affine map is free, the largest size is not built from operations that only
change it (``-e``, ``e + 1``, ``2*e``).  The two largest sizes are not kept
as building blocks: the one below the largest is kept only while it fits
in memory, for its unary images (else its chunks are made again); the
largest is scored and thrown away, first on 32 rows only: a candidate whose
fit there is more than twice as bad as the worst of the best kept cannot
join them and is never computed in full (most of them).  Memory is bounded
by ``max_bytes`` for the value blocks.

The best few (by a description length: the fit's log-likelihood plus a cost
per node) are scored again on all rows, their ``c`` and ``d`` set to simple
values (0, 1, 1/2, pi, ...) when the fit allows it, and returned as sympy.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from kansr.symbolic._formula import nice_value

__all__ = [
    "BINARY_OPS",
    "DEFAULT_UNARY",
    "UNARY_OPS",
    "Enumeration",
    "Found",
    "enumerate_expressions",
    "run_enumeration",
]

# Values beyond this are treated as overflow: their squares must stay finite in the fit.
_BIG = 1e30
# A row whose spread on the data is below this (relative to its magnitude) is constant.
_CONST_RTOL = 1e-9
# Probe values below this are zero (sin(pi) is 1.2e-16): zero has no relative precision.
_ZERO_ATOL = 1e-13
# Signature precision: mantissa bits kept (of 52), about nine significant digits.
_SIG_BITS = 30
# Rows of the value block per numpy operation (bounds the temporaries to a few MB).
_CHUNK_CELLS = 1 << 19
_N_PROBES = 8
# Data columns the largest size is screened on before its candidates are computed in full.
_N_SCREEN = 32
# RMSE below this fraction of std(y) is round-off: exact fits tie and the smaller wins.
_FLOOR = 1e-7


@dataclass(frozen=True)
class _Op:
    """An operator: its numpy and sympy forms; whether it is applied to constant subexpressions."""

    name: str
    arity: int
    numpy: Callable[..., np.ndarray]
    sympy: Callable[..., sympy.Expr]
    commutative: bool = False
    on_constants: bool = False


#: Unary operators by name.  Only the algebraic ones build constants (2, 1/2, sqrt(pi)):
#: sin(1) or exp(pi) would multiply the search for constants no formula has.
UNARY_OPS: dict[str, _Op] = {op.name: op for op in (
    _Op("neg", 1, np.negative, lambda e: -e, on_constants=True),
    _Op("inv", 1, np.reciprocal, lambda e: 1 / e, on_constants=True),
    _Op("square", 1, np.square, lambda e: e**2, on_constants=True),
    _Op("sqrt", 1, np.sqrt, sympy.sqrt, on_constants=True),
    _Op("exp", 1, np.exp, sympy.exp),
    _Op("log", 1, np.log, sympy.log),
    _Op("sin", 1, np.sin, sympy.sin),
    _Op("cos", 1, np.cos, sympy.cos),
    _Op("arcsin", 1, np.arcsin, sympy.asin),
    _Op("tanh", 1, np.tanh, sympy.tanh),
)}

#: Binary operators by name.
BINARY_OPS: dict[str, _Op] = {op.name: op for op in (
    _Op("add", 2, np.add, lambda a, b: a + b, commutative=True, on_constants=True),
    _Op("sub", 2, np.subtract, lambda a, b: a - b, on_constants=True),
    _Op("mul", 2, np.multiply, lambda a, b: a * b, commutative=True, on_constants=True),
    _Op("div", 2, np.divide, lambda a, b: a / b, on_constants=True),
)}

#: The unary operators used unless others are named (``arcsin`` and ``tanh`` are optional).
DEFAULT_UNARY: tuple[str, ...] = ("neg", "inv", "square", "sqrt", "exp", "log", "sin", "cos")

# Node codes of the tree: 0 a variable, 1 a constant leaf, then the chosen operators.
_VAR, _CONST = 0, 1


class _OutOfTime(Exception):
    """The time limit was reached: stop enumerating, keep what was scored."""


@dataclass(frozen=True)
class Found:
    """One expression of the search and its fit ``y ~ c*e + d``.

    Attributes
    ----------
    expr : sympy.Expr
        ``c*e + d`` with ``c`` and ``d`` snapped to simple exact values where the fit allows.
    rmse : float
        RMSE of ``expr`` on all rows.
    size : int
        Nodes of the tree of ``e`` (leaves and operators).
    fitted : sympy.Expr
        ``c*e + d`` with the least-squares ``c`` and ``d`` as ``sympy.Float`` (for refitting).
    body : sympy.Expr
        ``e`` itself.
    """

    expr: sympy.Expr
    rmse: float
    size: int
    fitted: sympy.Expr
    body: sympy.Expr


@dataclass
class Enumeration:
    """Outcome of :func:`run_enumeration`.

    Attributes
    ----------
    found : list of Found
        The best expressions, best first.
    n_tried : int
        Expressions evaluated (before removing invalid ones and duplicates).
    n_distinct : int
        Valid, distinct expressions kept and scored.  The largest size is
        compared with the smaller ones and within chunks of rows only, not
        with itself (that set would be the largest): its count is an upper bound.
    distinct_by_size : dict of int to int
        ``n_distinct`` by size.
    n_screened : int
        Expressions of the largest size (counted in ``n_tried``) computed on
        32 rows only: their fit there was too poor for the best ones.
    sizes_done : int
        Largest size enumerated completely.
    timed_out : bool
        The time limit stopped the search before ``max_size`` was complete.
    truncated : bool
        A size level was cut at the memory cap (fewer subexpressions for larger sizes).
    seconds : float
    """

    found: list[Found] = field(default_factory=list)
    n_tried: int = 0
    n_distinct: int = 0
    distinct_by_size: dict[int, int] = field(default_factory=dict)
    n_screened: int = 0
    sizes_done: int = 0
    timed_out: bool = False
    truncated: bool = False
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Expressions evaluated per second."""
        return self.n_tried / self.seconds if self.seconds > 0 else math.inf


class _HashSet:
    """A set of uint64 hashes as a few sorted runs (merged like a log-structured tree)."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self._runs)

    def contains(self, h: np.ndarray) -> np.ndarray:
        out = np.zeros(len(h), dtype=bool)
        for run in self._runs:
            pos = np.minimum(np.searchsorted(run, h), len(run) - 1)
            out |= run[pos] == h
        return out

    def add(self, h: np.ndarray) -> None:
        if len(h) == 0:
            return
        self._runs.append(np.sort(h))
        # Merging runs of similar length keeps O(log n) runs at O(n log n) total cost.
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = np.union1d(self._runs[-1], last)


_SIG_HALF = np.uint64(1 << (52 - _SIG_BITS - 1))
_SIG_MASK = np.uint64(~((1 << (52 - _SIG_BITS)) - 1) & 0xFFFFFFFFFFFFFFFF)
_SIG_NONFINITE = np.uint64(0x7FF8000000000000)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _signature(Q: np.ndarray) -> np.ndarray:
    """Hash of each row of probe values, rounded to ``_SIG_BITS`` mantissa bits."""
    Q = np.where(np.abs(Q) < _ZERO_ATOL, 0.0, Q)  # also turns -0.0 into 0.0
    bits = Q.view(np.uint64)
    # Adding half a unit of the kept mantissa rounds the magnitude (sign-magnitude format).
    bits = (bits + _SIG_HALF) & _SIG_MASK
    bits[~np.isfinite(Q)] = _SIG_NONFINITE
    h = np.full(len(Q), 0x243F6A8885A308D3, dtype=np.uint64)
    for k in range(Q.shape[1]):
        h = (h ^ bits[:, k]) * _MIX
        h ^= h >> np.uint64(31)
    return h


def _affine_signature(Q: np.ndarray) -> np.ndarray:
    """Hash of probe values up to an affine map: ``e``, ``-e`` and ``2*e + 1`` share it (and their fit)."""
    finite = np.abs(Q) < _BIG  # huge values would overflow the scale
    Z = np.where(finite, Q, 0.0)
    count = np.maximum(finite.sum(axis=1, keepdims=True), 1)
    mean = Z.sum(axis=1, keepdims=True) / count
    Z = np.where(finite, Z - mean, 0.0)
    scale = np.sqrt((Z * Z).sum(axis=1, keepdims=True) / count)
    Z = Z / np.where(scale > 0, scale, 1.0)
    # The sign is fixed by the first clearly non-zero probe value.
    lead = np.argmax(np.abs(Z) > 1e-6, axis=1)
    Z = Z * np.where(Z[np.arange(len(Z)), lead] < 0, -1.0, 1.0)[:, None]
    return _signature(np.where(finite, Z, np.nan))


@dataclass
class _Chunk:
    """Candidate expressions of one size: values and tree nodes (``op(a, b)``, child ids global).

    A *nested* chunk holds ``op(inner)`` with ``inner = iop(ia, ib)``: unary operators
    applied to expressions of a level that is never stored.
    """

    values: np.ndarray
    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    const: np.ndarray
    inner: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def take(self, idx: np.ndarray) -> _Chunk:
        inner = None if self.inner is None else tuple(part[idx] for part in self.inner)
        return _Chunk(self.values[idx], self.op[idx], self.a[idx], self.b[idx], self.const[idx], inner)

    def descriptors(self, size: int) -> np.ndarray:
        """Rows ``[size, op, a, b, iop, ia, ib]`` (``iop = -1``: not nested)."""
        m = len(self.op)
        if self.inner is None:
            inner = (np.full(m, -1), np.full(m, -1), np.full(m, -1))
        else:
            inner = self.inner
        return np.column_stack([np.full(m, size), self.op, self.a, self.b, *inner]).astype(np.int64)


@dataclass
class _Lazy:
    """Candidates not computed yet: an operator on rows of value blocks, and their tree nodes."""

    fn: Callable[..., np.ndarray]
    blocks: tuple[np.ndarray, ...]
    rows: tuple[np.ndarray, ...]
    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    const: np.ndarray
    inner: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.op)

    def values(self, cols: slice = slice(None)) -> np.ndarray:
        """Values on the columns ``cols`` (a slice: only those are gathered and computed)."""
        with np.errstate(all="ignore"):
            return self.fn(*(block[rows, cols] for block, rows in zip(self.blocks, self.rows)))

    def take(self, idx: np.ndarray) -> _Lazy:
        inner = None if self.inner is None else tuple(part[idx] for part in self.inner)
        return _Lazy(self.fn, self.blocks, tuple(r[idx] for r in self.rows), self.op[idx], self.a[idx], self.b[idx],
                     self.const[idx], inner)

    def chunk(self) -> _Chunk:
        return _Chunk(self.values(), self.op, self.a, self.b, self.const, self.inner)


@dataclass
class _Level:
    """A stored size level: its value block and its nodes; ids ``offset + row``."""

    values: np.ndarray
    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    const: np.ndarray
    offset: int

    def __len__(self) -> int:
        return len(self.op)


class _LevelBuffer:
    """The value block of a stored level, allocated once at its memory share and shrunk when full."""

    def __init__(self, rows: int, width: int) -> None:
        self.values = np.empty((rows, width))
        self.parts: list[_Chunk] = []
        self.m = 0
        self.truncated = False

    def append(self, chunk: _Chunk, rows: np.ndarray) -> None:
        room = len(self.values) - self.m
        if len(rows) > room:
            self.truncated = True
            rows = rows[:room]
        np.take(chunk.values, rows, axis=0, out=self.values[self.m:self.m + len(rows)])  # no temporary copy
        self.m += len(rows)
        self.parts.append(_Chunk(np.empty((0, 0)), chunk.op[rows], chunk.a[rows], chunk.b[rows], chunk.const[rows]))

    def level(self, offset: int) -> _Level:
        self.values.resize((self.m, self.values.shape[1]), refcheck=False)  # in place: no second copy
        nodes = [np.concatenate([getattr(p, f) for p in self.parts] or [np.empty(0, dtype=np.int64)])
                 for f in ("op", "a", "b")]
        const = np.concatenate([p.const for p in self.parts] or [np.empty(0, dtype=bool)])
        return _Level(self.values, *nodes, const, offset)


class _Enumerator:
    """Bottom-up enumeration state: stored levels, signature sets, the best candidates so far."""

    def __init__(self, points: np.ndarray, n_data: int, y: np.ndarray, constants: Sequence[tuple[float, sympy.Expr]],
                 unary: Sequence[str], binary: Sequence[str], max_size: int, max_const_size: int,
                 max_bytes: float, keep: int, deadline: float) -> None:
        self.points, self.n, self.y = points, n_data, y
        self.yc = y - y.mean()
        self.syy = float(self.yc @ self.yc)
        self.floor = _FLOOR * (float(np.std(y)) or 1.0)
        # The largest size is screened on the first columns (a spread subset of the rows, see
        # _enumerator) when there are enough rows for that to save work.
        self.n_screen = _N_SCREEN if n_data >= 3 * _N_SCREEN else 0
        self.yc_screen = y[:self.n_screen] - y[:self.n_screen].mean() if self.n_screen else y[:0]
        self.syy_screen = float(self.yc_screen @ self.yc_screen)
        self.constants = list(constants)
        self.ops: list[_Op | None] = [None, None] + [UNARY_OPS[u] for u in unary] + [BINARY_OPS[b] for b in binary]
        self.unary = [(c, op) for c, op in enumerate(self.ops) if op is not None and op.arity == 1]
        self.binary = [(c, op) for c, op in enumerate(self.ops) if op is not None and op.arity == 2]
        self.max_size, self.max_const_size = max_size, max_const_size
        self.stored_max = max(1, max_size - 2)  # the two largest levels are scored, never kept
        self.row_bytes = points.shape[0] * 8
        self.max_bytes = max_bytes
        self.bytes_left = 0.7 * max_bytes  # the rest: chunk temporaries and the signature sets
        self.keep, self.deadline = keep, deadline
        # Cost of one node in nats: the log of the number of symbols it could be.
        self.node_cost = math.log(points.shape[1] + len(self.constants) + len(self.ops) - 2)
        self.levels: dict[int, _Level] = {}
        self.n_stored = 0
        self.seen = _HashSet()  # exact signatures of every size below the largest
        self.top_key = np.empty(0)
        self.top_rmse = np.empty(0)
        self.top_desc = np.empty((0, 7), dtype=np.int64)
        self.top_hash = np.empty(0, dtype=np.uint64)
        self.report = Enumeration()

    # -- driving -----------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._leaves()
            self.report.sizes_done = 1
            for k in range(2, self.max_size + 1):
                self._level(k)
                self.report.sizes_done = k
        except _OutOfTime:
            self.report.timed_out = True

    def _check_time(self) -> None:
        if time.perf_counter() > self.deadline:
            raise _OutOfTime

    def _leaves(self) -> None:
        d = self.points.shape[1]
        values = np.vstack([self.points.T] + [np.full(self.points.shape[0], v) for v, _ in self.constants])
        n_leaves = len(values)
        chunk = _Chunk(values, np.array([_VAR] * d + [_CONST] * len(self.constants)),
                       np.r_[np.arange(d), np.arange(len(self.constants))], np.full(n_leaves, -1),
                       np.arange(n_leaves) >= d)
        buffer = _LevelBuffer(n_leaves, values.shape[1])
        buffer.append(chunk, self._accept(chunk, 1, final=self.max_size == 1))
        self._store(1, buffer)

    def _level(self, k: int) -> None:
        final = k == self.max_size
        if final:
            for lazy in self._chunks(k, final):
                self._check_time()
                self._final(lazy, k)
        elif k <= self.stored_max:
            buffer = self._buffer(k)
            for lazy in self._chunks(k, final):
                self._check_time()
                chunk = lazy.chunk()
                buffer.append(chunk, self._accept(chunk, k, final))
            self._store(k, buffer)
        else:
            self._streamed(k)

    def _streamed(self, k: int) -> None:
        """The level below the largest: scored, then its unary images scored as the largest size.

        The images are made after the level is complete, so that a time limit
        cuts the largest size only: from the kept values while the memory cap
        allows, else from the same chunks made again.
        """
        buffer = self._buffer(k)
        kept_rows = []
        for lazy in self._chunks(k, False):
            self._check_time()
            chunk = lazy.chunk()
            kept = self._accept(chunk, k, False)
            start = buffer.m
            buffer.append(chunk, kept)
            kept_rows.append((kept, start, buffer.m - start))
        self.report.sizes_done = k
        for lazy, (kept, start, n_kept) in zip(self._chunks(k, False), kept_rows):
            if n_kept == len(kept):
                stored = np.arange(start, start + n_kept)
                lazy = _Lazy(_identity, (buffer.values,), (stored,), *(getattr(lazy.take(kept), f)
                                                                     for f in ("op", "a", "b", "const")))
            else:
                lazy = lazy.take(kept)
            self._nested(lazy, k + 1)

    # -- generating candidates ---------------------------------------------------------------------
    def _chunks(self, k: int, final: bool) -> Iterator[_Lazy]:
        yield from self._unary_chunks(k, final)
        yield from self._binary_chunks(k, final)

    def _rows_per_chunk(self) -> int:
        # A chunk and its temporaries (about eight blocks) take at most a quarter of the memory cap.
        cells = min(_CHUNK_CELLS, int(self.max_bytes / 32 / 8))
        return max(64, cells // self.points.shape[0])

    def _unary_allowed(self, op: _Op, const: np.ndarray, k: int, final: bool) -> np.ndarray:
        """Children an operator may take: constants only for algebraic operators on small sizes."""
        if final or not op.on_constants or k > self.max_const_size:
            return ~const
        return np.ones(len(const), dtype=bool)

    def _unary_chunks(self, k: int, final: bool) -> Iterator[_Lazy]:
        child = self.levels.get(k - 1)
        if child is None:
            return
        step = self._rows_per_chunk()
        for code, op in self.unary:
            if final and op.name == "neg":  # -e is e under the free affine map
                continue
            idx = np.flatnonzero(self._unary_allowed(op, child.const, k, final))
            for start in range(0, len(idx), step):
                sel = idx[start:start + step]
                yield _Lazy(op.numpy, (child.values,), (sel,), np.full(len(sel), code), child.offset + sel,
                            np.full(len(sel), -1), child.const[sel])

    def _binary_chunks(self, k: int, final: bool) -> Iterator[_Lazy]:
        step = self._rows_per_chunk()
        for i in range(1, k - 1):
            left, right = self.levels.get(i), self.levels.get(k - 1 - i)
            if left is None or right is None:
                continue
            for code, op in self.binary:
                if op.commutative and i > k - 1 - i:
                    continue
                n_pairs = len(left) * len(right)
                for start in range(0, n_pairs, step):
                    li, ri = np.divmod(np.arange(start, min(start + step, n_pairs)), len(right))
                    li, ri = self._pair_filter(li, ri, left, right, op, k, final, same=i == k - 1 - i)
                    if len(li) == 0:
                        continue
                    yield _Lazy(op.numpy, (left.values, right.values), (li, ri), np.full(len(li), code),
                                left.offset + li, right.offset + ri, left.const[li] & right.const[ri])

    def _pair_filter(self, li, ri, left: _Level, right: _Level, op: _Op, k: int, final: bool, same: bool):
        """Pairs worth computing: each unordered pair once; no affine-only top operation."""
        keep = np.ones(len(li), dtype=bool)
        if op.commutative and same:
            keep &= li <= ri
        cl, cr = left.const[li], right.const[ri]
        if final:  # e + 1, 2*e, e/pi ... equal e under the free affine map; c/e is affine in 1/e
            keep &= ~cl & ~cr
        elif k > self.max_const_size:
            keep &= ~(cl & cr)
        return li[keep], ri[keep]

    def _nested(self, lazy: _Lazy, k: int) -> None:
        """Unary operators on (kept, made again) candidates of the streamed level, scored as size ``k``."""
        lazy = lazy.take(np.flatnonzero(~lazy.const))
        base = lazy.values()
        m = len(lazy)
        rows = (np.arange(m),)
        for code, op in self.unary:
            if op.name == "neg":
                continue
            self._check_time()
            self._final(_Lazy(op.numpy, (base,), rows, np.full(m, code), np.full(m, -1), np.full(m, -1), lazy.const,
                              (lazy.op, lazy.a, lazy.b)), k)

    def _final(self, lazy: _Lazy, k: int) -> None:
        """Candidates of the largest size: screened on a few columns, only the promising computed in full."""
        if self.n_screen and len(self.top_rmse) >= self.keep:
            passed = np.flatnonzero(self._screen(lazy.values(slice(0, self.n_screen))))
            self.report.n_tried += len(lazy) - len(passed)
            self.report.n_screened += len(lazy) - len(passed)
            lazy = lazy.take(passed)
        self._accept(lazy.chunk(), k, final=True)

    def _screen(self, V: np.ndarray) -> np.ndarray:
        """Rows whose affine fit on the first columns could still reach the best ``keep``.

        Beyond twice the worst RMSE kept they cannot: on 32 rows an RMSE is
        known to about 12 %, so twice is seven or more standard deviations.
        """
        with np.errstate(all="ignore"):
            hi, lo = np.max(V, axis=1), np.min(V, axis=1)
            top = np.maximum(np.abs(hi), np.abs(lo))
            ok = np.flatnonzero((top < _BIG) & (hi - lo > _CONST_RTOL * top))
        out = np.zeros(len(V), dtype=bool)
        rmse = _affine_rmse(V, ok, self.yc_screen, self.syy_screen)
        out[ok] = rmse <= 2.0 * float(np.max(self.top_rmse)) + self.floor
        return out

    # -- filtering, deduplicating, scoring ---------------------------------------------------------
    def _accept(self, chunk: _Chunk, k: int, final: bool) -> np.ndarray:
        """Rows of a chunk that are valid and new (now counted and scored)."""
        self.report.n_tried += len(chunk.op)
        data = chunk.values[:, :self.n]
        with np.errstate(all="ignore"):
            hi, lo = np.max(data, axis=1), np.min(data, axis=1)
            top = np.maximum(np.abs(hi), np.abs(lo))
            varies = hi - lo > _CONST_RTOL * top
        valid = top < _BIG  # False for nan and inf too
        # A constant survives as a building block only while small (and never zero).
        const_ok = (top > 0) & (k <= self.max_const_size and not final)
        idx = np.flatnonzero(valid & np.where(chunk.const, const_ok, varies))
        h = _signature(chunk.values[idx, self.n:])
        _, first = np.unique(h, return_index=True)
        first.sort()  # keep generation order: the first of a signature is the simplest
        idx, h = idx[first], h[first]
        fresh = ~self.seen.contains(h)
        idx, h = idx[fresh], h[fresh]
        if not final:  # the largest size is never built on: its duplicates are removed among the best only
            self.seen.add(h)
        self.report.n_distinct += len(idx)
        self.report.distinct_by_size[k] = self.report.distinct_by_size.get(k, 0) + len(idx)
        self._score(chunk, idx[~chunk.const[idx]], k)
        return idx

    def _score(self, chunk: _Chunk, rows: np.ndarray, k: int) -> None:
        """Rank rows by description length of their affine fit; keep the best ``keep``."""
        if len(rows) == 0:
            return
        rmse = _affine_rmse(chunk.values[:, :self.n], rows, self.yc, self.syy)
        key = self.n * np.log(np.maximum(rmse, self.floor)) + k * self.node_cost
        if len(key) > self.keep:
            best = np.argpartition(key, self.keep)[:self.keep]
            key, rows, rmse = key[best], rows[best], rmse[best]
        best_chunk = chunk.take(rows)
        self.top_key = np.concatenate([self.top_key, key])
        self.top_rmse = np.concatenate([self.top_rmse, rmse])
        self.top_desc = np.concatenate([self.top_desc, best_chunk.descriptors(k)])
        self.top_hash = np.concatenate([self.top_hash, _affine_signature(best_chunk.values[:, self.n:])])
        if len(self.top_key) > 2 * self.keep:  # prune in batches: argpartition per chunk is wasted work
            best = np.argpartition(self.top_key, self.keep)[:self.keep]
            self.top_key, self.top_desc, self.top_hash = self.top_key[best], self.top_desc[best], self.top_hash[best]
            self.top_rmse = self.top_rmse[best]

    # -- storing -----------------------------------------------------------------------------------
    def _buffer(self, k: int) -> _LevelBuffer:
        """A buffer for level ``k``: as many rows as it can have, within what the memory cap leaves."""
        bound = sum(len(self.levels[k - 1]) for _ in self.unary) if k - 1 in self.levels else 0
        for i in range(1, k - 1):
            if i in self.levels and k - 1 - i in self.levels:
                bound += len(self.binary) * len(self.levels[i]) * len(self.levels[k - 1 - i])
        rows = min(bound, max(0, int(self.bytes_left // self.row_bytes)))
        return _LevelBuffer(rows, self.points.shape[0])

    def _store(self, k: int, buffer: _LevelBuffer) -> None:
        level = buffer.level(self.n_stored)
        self.report.truncated |= buffer.truncated
        self.levels[k] = level
        self.n_stored += len(level)
        self.bytes_left -= level.values.nbytes

    # -- results -----------------------------------------------------------------------------------
    def tree(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Global node arrays ``op, a, b`` of every stored expression."""
        levels = [self.levels[k] for k in sorted(self.levels)]
        return tuple(np.concatenate([getattr(lv, f) for lv in levels]) for f in ("op", "a", "b"))

    def best(self) -> np.ndarray:
        """Rows of the best descriptors, best first, one per signature."""
        order = np.argsort(self.top_key, kind="stable")
        _, first = np.unique(self.top_hash[order], return_index=True)
        return self.top_desc[order[np.sort(first)]]


def _identity(values: np.ndarray) -> np.ndarray:
    return values


def _affine_rmse(D: np.ndarray, rows: np.ndarray, yc: np.ndarray, syy: float) -> np.ndarray:
    """RMSE of the least-squares fit ``y ~ c*e + d`` for the rows ``e`` of ``D`` (``yc``: centred y).

    The sums run over the whole block (a strided view: cheaper than gathering
    the rows first); rows whose variance is lost to cancellation in
    ``sum(e**2) - sum(e)**2/n`` are computed again centred.
    """
    n = D.shape[1]
    with np.errstate(all="ignore"):
        s1 = np.sum(D, axis=1)[rows]
        s2 = np.einsum("ij,ij->i", D, D)[rows]
        sxy = (D @ yc)[rows]  # yc sums to 0: this is the centred cross product
        sxx = s2 - s1 * s1 / n
        lost = np.flatnonzero(~(sxx > 1e-8 * s2))
        if len(lost):
            Dc = D[rows[lost]] - (s1[lost] / n)[:, None]
            sxx[lost] = np.einsum("ij,ij->i", Dc, Dc)
        sse = syy - sxy * sxy / sxx
    sse = np.where(np.isfinite(sse), sse, syy)
    return np.sqrt(np.maximum(sse, 0.0) / n)


class _Tree:
    """Evaluates and converts the nodes of the enumeration (memoised by global id)."""

    def __init__(self, ops: list[_Op | None], tree: tuple[np.ndarray, np.ndarray, np.ndarray],
                 variables: Sequence[sympy.Symbol], constants: Sequence[tuple[float, sympy.Expr]]) -> None:
        self.ops, (self.op, self.a, self.b) = ops, tree
        self.variables, self.constants = list(variables), list(constants)
        self._sym: dict[int, sympy.Expr] = {}

    def values(self, desc: np.ndarray, X: np.ndarray, memo: dict[int, np.ndarray]) -> np.ndarray:
        _, op, a, b, iop, ia, ib = (int(v) for v in desc)
        if iop >= 0:
            return self._apply(op, self._node_values(iop, ia, ib, X, memo), None)
        return self._node_values(op, a, b, X, memo)

    def sympy(self, desc: np.ndarray) -> sympy.Expr:
        _, op, a, b, iop, ia, ib = (int(v) for v in desc)
        if iop >= 0:
            return self.ops[op].sympy(self._node_sympy(iop, ia, ib))
        return self._node_sympy(op, a, b)

    def _apply(self, op: int, u: np.ndarray, v: np.ndarray | None) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.ops[op].numpy(u) if v is None else self.ops[op].numpy(u, v)

    def _node_values(self, op: int, a: int, b: int, X: np.ndarray, memo: dict[int, np.ndarray]) -> np.ndarray:
        if op == _VAR:
            return X[:, a]
        if op == _CONST:
            return np.full(len(X), self.constants[a][0])
        u = self._id_values(a, X, memo)
        return self._apply(op, u, None if b < 0 else self._id_values(b, X, memo))

    def _id_values(self, i: int, X: np.ndarray, memo: dict[int, np.ndarray]) -> np.ndarray:
        if i not in memo:
            memo[i] = self._node_values(int(self.op[i]), int(self.a[i]), int(self.b[i]), X, memo)
        return memo[i]

    def _node_sympy(self, op: int, a: int, b: int) -> sympy.Expr:
        if op == _VAR:
            return self.variables[a]
        if op == _CONST:
            return self.constants[a][1]
        u = self._id_sympy(a)
        return self.ops[op].sympy(u) if b < 0 else self.ops[op].sympy(u, self._id_sympy(b))

    def _id_sympy(self, i: int) -> sympy.Expr:
        if i not in self._sym:
            self._sym[i] = self._node_sympy(int(self.op[i]), int(self.a[i]), int(self.b[i]))
        return self._sym[i]


def _nice_candidates(v: float) -> list[sympy.Expr]:
    """Simple exact values near ``v``: close matches, then loose simple ones (see :func:`nice_value`)."""
    out: list[sympy.Expr] = []
    for tol, size in ((1e-6, None), (1e-2, 4)):
        nice = nice_value(v, rel_tol=tol, max_denominator=12, max_size=size)
        if nice is not None and nice != 0 and all(nice != o for o in out):
            out.append(nice)
    return out


def _affine_form(e: np.ndarray, y: np.ndarray, floor: float) -> tuple[sympy.Expr, sympy.Expr, float, float, float]:
    """The simplest ``(c, d)`` of ``y ~ c*e + d`` whose fit is as good as least squares.

    A constant is set to 0 or a simple value when the sum of squares rises by
    less than 9 sigma^2 for each (three standard deviations of one parameter's
    chi-square), plus round-off.

    Returns
    -------
    c, d : sympy.Expr
        Exact numbers or ``sympy.Float``.
    sse : float
        Sum of squared residuals of the chosen form.
    c_fit, d_fit : float
        The least-squares values.
    """
    n = len(y)
    A = np.column_stack([e, np.ones(n)])
    (c_fit, d_fit), *_ = np.linalg.lstsq(A, y, rcond=None)
    sse_fit = float(np.sum((y - c_fit * e - d_fit) ** 2))
    sigma2 = sse_fit / max(n - 2, 1)
    slack = 9.0 * sigma2 + n * floor**2

    def sse_of(c: float, d: float) -> float:
        return float(np.sum((y - c * e - d) ** 2))

    # (number of free floats, sse, c, d): exact values first, then one float, then both.
    options: list[tuple[int, float, sympy.Expr, sympy.Expr]] = [(2, sse_fit, sympy.Float(c_fit, 17),
                                                                 sympy.Float(d_fit, 17))]
    c0 = float(e @ y / (e @ e))
    options.append((1, sse_of(c0, 0.0), sympy.Float(c0, 17), sympy.Integer(0)))
    c_nices = _nice_candidates(c_fit)
    c_nices += [v for v in _nice_candidates(c0) if all(v != o for o in c_nices)]
    for c_nice in c_nices:
        cv = float(c_nice)
        d_ref = float(np.mean(y - cv * e))
        options.append((0, sse_of(cv, 0.0), c_nice, sympy.Integer(0)))
        options.append((1, sse_of(cv, d_ref), c_nice, sympy.Float(d_ref, 17)))
        options += [(0, sse_of(cv, float(d)), c_nice, d) for d in _nice_candidates(d_ref)]
    for d_nice in _nice_candidates(d_fit):
        dv = float(d_nice)
        c_ref = float((e @ (y - dv)) / (e @ e))
        options.append((1, sse_of(c_ref, dv), sympy.Float(c_ref, 17), d_nice))
    n_free = 2
    good = [o for o in options if o[1] <= sse_fit + slack * (n_free - o[0])]
    _, sse, c, d = min(good, key=lambda o: (o[0], o[1]))
    return c, d, sse, float(c_fit), float(d_fit)


def _finish(enum: _Enumerator, X: np.ndarray, y: np.ndarray, variables: Sequence[sympy.Symbol],
            constants: Sequence[tuple[float, sympy.Expr]], top: int) -> list[Found]:
    """Re-score the best candidates on all rows, snap the constants of the leaders, rank them, best first."""
    if len(enum.top_desc) == 0:
        return []
    tree = _Tree(enum.ops, enum.tree(), variables, constants)
    n = len(y)
    floor = _FLOOR * (float(np.std(y)) or 1.0)

    def key(rmse: float, size: int, n_floats: int) -> float:
        # Description length in nats: misfit, a cost per node and BIC's cost per real constant.
        return n * math.log(max(rmse, floor)) + size * enum.node_cost + 0.5 * n_floats * math.log(n)

    memo: dict[int, np.ndarray] = {}
    scored = []
    for desc in enum.best():
        e = tree.values(desc, X, memo)
        with np.errstate(all="ignore"):
            top_abs = np.max(np.abs(e))
            ok = np.all(np.isfinite(e)) and top_abs < _BIG and np.ptp(e) > _CONST_RTOL * top_abs
        if not ok:  # finite on the enumeration rows, not on all: never returned
            continue
        rmse = float(_affine_rmse(e[None, :], np.zeros(1, dtype=np.int64), y - y.mean(), float(np.var(y) * n))[0])
        scored.append((key(rmse, int(desc[0]), 2), desc, e))
    scored.sort(key=lambda r: r[0])
    ranked = []
    for _, desc, e in scored[:2 * top]:  # snapping is slow (exact candidates): the leaders only
        c, d, sse, c_fit, d_fit = _affine_form(e, y, floor)
        rmse = math.sqrt(sse / n)
        n_floats = sum(isinstance(v, sympy.Float) for v in (c, d))
        ranked.append((key(rmse, int(desc[0]), n_floats), rmse, desc, c, d, c_fit, d_fit))
    ranked.sort(key=lambda r: r[0])
    out: list[Found] = []
    for _, rmse, desc, c, d, c_fit, d_fit in ranked:
        body = tree.sympy(desc)
        expr = c * body + d
        if any(expr == f.expr for f in out):  # c = 0 (a constant y) makes every body the same formula
            continue
        out.append(Found(expr, rmse, int(desc[0]), sympy.Float(c_fit, 17) * body + sympy.Float(d_fit, 17), body))
        if len(out) == top:
            break
    return out


def _check_inputs(X, y, variables) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must have shape (n_samples, n_vars) with n_samples = len(y) = {len(y)}; got {X.shape}")
    if X.shape[1] != len(variables):
        raise ValueError(f"{len(variables)} variables given for {X.shape[1]} columns of X; give one symbol per column")
    if len(y) < 3:
        raise ValueError(f"at least 3 rows are needed to fit y ~ c*e + d; got {len(y)}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite; drop or impute rows with nan or inf")
    return X, y


def _probe_points(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Data rows moved off the data: single-signed columns by a factor (keeping the sign), others by a shift."""
    rows = X[rng.choice(len(X), _N_PROBES, replace=len(X) < _N_PROBES)]
    z = rng.standard_normal(rows.shape)
    signed = np.all(X > 0, axis=0) | np.all(X < 0, axis=0)
    shifted = rows + 0.1 * (np.std(X, axis=0) + 1e-3 * np.abs(rows)) * z
    return np.where(signed, rows * np.exp(0.1 * z), shifted)


def _enumerator(X: np.ndarray, y: np.ndarray, constants: Sequence[tuple[float, sympy.Expr]], *,
                unary: Sequence[str], binary: Sequence[str], max_size: int, max_const_size: int, n_points: int,
                max_bytes: float, keep: int, deadline: float, seed: int) -> _Enumerator:
    """The search's state for checked data: the row subset and probe points drawn, operators checked."""
    if not isinstance(max_size, int) or max_size < 1:
        raise ValueError(f"max_size must be a positive integer; got {max_size!r}")
    unknown = [u for u in unary if u not in UNARY_OPS] + [b for b in binary if b not in BINARY_OPS]
    if unknown:
        raise ValueError(f"unknown operator(s) {unknown}; unary ones are {list(UNARY_OPS)}, binary {list(BINARY_OPS)}")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(X), n_points, replace=False)) if len(X) > n_points else np.arange(len(X))
    # The screening columns come first, spread over the rows (data may be sorted along a curve).
    screen = np.unique(np.linspace(0, len(rows) - 1, min(_N_SCREEN, len(rows))).astype(int))
    rows = np.r_[rows[screen], np.delete(rows, screen)]
    points = np.vstack([X[rows], _probe_points(X, rng)])
    return _Enumerator(points, len(rows), y[rows], constants, unary, binary, max_size, max_const_size,
                       max_bytes, keep, deadline)


def run_enumeration(
    X: np.ndarray,
    y: np.ndarray,
    variables: Sequence[sympy.Symbol],
    *,
    max_size: int = 7,
    time_limit: float | None = None,
    top: int = 10,
    unary: Sequence[str] = DEFAULT_UNARY,
    binary: Sequence[str] = tuple(BINARY_OPS),
    use_pi: bool = False,
    max_const_size: int = 3,
    n_points: int = 200,
    max_bytes: float = 200e6,
    seed: int = 0,
) -> Enumeration:
    """Search all expression trees up to ``max_size`` nodes for ``y ~ c*e + d``; report counts too.

    Parameters are those of :func:`enumerate_expressions`; this returns an
    :class:`Enumeration` with the counts and timings besides the expressions.
    """
    t0 = time.perf_counter()
    X, y = _check_inputs(X, y, variables)
    constants = [(1.0, sympy.Integer(1))] + ([(math.pi, sympy.pi)] if use_pi else [])
    # The last part of the limit is kept for re-scoring on all rows and building sympy forms.
    deadline = math.inf if time_limit is None else t0 + max(0.0, time_limit - min(0.2, 0.1 * time_limit))
    enum = _enumerator(X, y, constants, unary=unary, binary=binary, max_size=max_size, max_const_size=max_const_size,
                       n_points=n_points, max_bytes=max_bytes, keep=max(5 * top, 50), deadline=deadline, seed=seed)
    enum.run()
    report = enum.report
    report.found = _finish(enum, X, y, variables, constants, top)
    report.seconds = time.perf_counter() - t0
    return report


def enumerate_expressions(
    X: np.ndarray,
    y: np.ndarray,
    variables: Sequence[sympy.Symbol],
    *,
    max_size: int = 7,
    time_limit: float | None = None,
    top: int = 10,
    unary: Sequence[str] = DEFAULT_UNARY,
    binary: Sequence[str] = tuple(BINARY_OPS),
    use_pi: bool = False,
    max_const_size: int = 3,
    n_points: int = 200,
    max_bytes: float = 200e6,
    seed: int = 0,
) -> list[tuple[sympy.Expr, float]]:
    """The best small expressions ``y ~ c*e + d`` by exhaustive search.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_vars) or (n_samples,)
        Inputs; meant for 1-3 variables (the count of trees grows as
        ``(n_vars + ...)**max_size``).
    y : ndarray of shape (n_samples,)
    variables : sequence of sympy.Symbol
        One symbol per column of ``X``.
    max_size : int, default 7
        Most nodes (leaves and operators) of ``e``: ``sqrt(x0**2 + x1**2)`` has 6.
    time_limit : float, optional
        Seconds; the search stops then and returns the best found so far
        (about 0.1 s more are spent re-scoring).  Default: no limit.
    top : int, default 10
        How many expressions to return.
    unary : sequence of str
        Unary operators, from :data:`UNARY_OPS` (``arcsin`` and ``tanh`` are off by default).
    binary : sequence of str
        Binary operators, from :data:`BINARY_OPS`.
    use_pi : bool, default False
        Also a leaf ``pi``.
    max_const_size : int, default 3
        Largest constant subexpression (``2 = 1 + 1`` has size 3).
    n_points : int, default 200
        Rows the enumeration evaluates (a random subset of larger data); the
        best candidates are scored again on all rows.
    max_bytes : float, default 200e6
        Memory for the value blocks: 70 % for the stored size levels (a
        level beyond it is cut, its first expressions kept), the rest for
        the chunks being computed.  The signature sets (8 bytes per distinct
        expression below the largest size) come on top.
    seed : int, default 0
        Seed of the row subset and the probe points.

    Returns
    -------
    list of (sympy.Expr, float)
        ``(c*e + d, rmse)``, best first: ranked by ``n*log(rmse)`` plus a
        cost per node and per floating constant, so exact fits go to the
        smallest tree.  ``c`` and ``d`` are exact simple numbers where the
        fit allows, else ``sympy.Float``; RMSE is on all rows.  Empty if no
        expression is finite and non-constant on the data.

    Raises
    ------
    ValueError
        Shapes that do not match, non-finite data, fewer than 3 rows, an
        unknown operator or a ``max_size`` below 1.

    Examples
    --------
    >>> import numpy as np, sympy
    >>> a, b = sympy.symbols("a b", positive=True)
    >>> X = np.random.default_rng(0).uniform(1, 3, (300, 2))
    >>> best = enumerate_expressions(X, X[:, 0] * X[:, 1] / (X[:, 0] + X[:, 1]), [a, b], max_size=6)
    >>> sympy.simplify(best[0][0] - a * b / (a + b))
    0
    """
    report = run_enumeration(X, y, variables, max_size=max_size, time_limit=time_limit, top=top, unary=unary,
                             binary=binary, use_pi=use_pi, max_const_size=max_const_size, n_points=n_points,
                             max_bytes=max_bytes, seed=seed)
    return [(f.expr, f.rmse) for f in report.found]
