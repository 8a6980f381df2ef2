"""Safe parsing of formula strings into sympy expressions.

``sympy.sympify`` and ``parse_expr`` evaluate their input as Python code and
resolve names against sympy's namespace, so a formula such as ``2*I/r``
silently uses the imaginary unit and ``gamma*x`` becomes the gamma function.
This module instead walks the Python syntax tree (``ast``, mode ``'eval'``)
and converts only a whitelist of node types; everything else is rejected with
a :class:`~kansr.errors.FormulaError` (a ``ValueError``) that names the offending token and its position.

Every variable becomes ``sympy.Symbol(name, real=True)`` (see
:func:`symbol_for`), so symbols built anywhere in kansr compare equal.
"""
from __future__ import annotations

import ast
import difflib
import keyword
import math
from collections.abc import Callable, Sequence

import mpmath
import sympy

from kansr.errors import FormulaError

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_LENGTH", "MAX_ROOT_DIGITS", "FUNCTIONS", "CONSTANTS", "parse_formula", "symbol_for"]

#: Longest accepted formula, in characters.
MAX_LENGTH = 10_000
#: Deepest accepted nesting of calls, powers and unary operators.
#: Chains such as ``a + b - c + ...`` count as one level.
MAX_DEPTH = 100
#: Most decimal digits all exact numbers (int and rational constants, as
#: written and as sympy folds them) of one formula may hold together.
#: sympy evaluates ``3**50000`` exactly, and Python refuses to print integers
#: above 4300 digits, so the budget stays below that: sums and products of
#: numbers are at most as long as their inputs together, and powers, the only
#: operation that multiplies sizes, are estimated before they are computed.
#: Floats are fixed-size and not counted.
MAX_DIGITS = 4000
#: Most decimal digits the exact numbers under roots (``sqrt(n)``, ``n**(1/3)``)
#: of one formula may hold together: sympy searches them for perfect powers.
MAX_ROOT_DIGITS = 300
# Powers and exponentials beyond 10**±_MAX_LOG10 are refused (see _Converter._check_magnitude).
_MAX_LOG10 = 10_000

#: Functions accepted in formulas (name -> sympy callable).
FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asin": sympy.asin,
    "arcsin": sympy.asin,
    "acos": sympy.acos,
    "arccos": sympy.acos,
    "atan": sympy.atan,
    "arctan": sympy.atan,
    "atanh": sympy.atanh,
    "arctanh": sympy.atanh,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "Abs": sympy.Abs,
    "abs": sympy.Abs,
    "sign": sympy.sign,
}
# Accepted numbers of positional arguments; ``log(x, b)`` is log base b.
_ARITY: dict[str, tuple[int, ...]] = {name: (1,) for name in FUNCTIONS}
_ARITY["log"] = (1, 2)
# Functions that grow like exp(|x|): the only ones besides powers that inflate a number.
_EXPONENTIAL = frozenset({"exp", "sinh", "cosh"})

#: Named constants; a variable of the same name takes precedence.
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E}

# Readable names for rejected node types (the fallback is the class name).
_NODE_WORDS: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slice",
}
_OP_HINTS: dict[type, str] = {
    ast.BitXor: "'^' is not a power; write '**'",
    ast.FloorDiv: "write '/' for division",
    ast.Mod: "modulo is not supported",
}


def symbol_for(name: str) -> sympy.Symbol:
    """Return the canonical kansr symbol for a variable name.

    Parameters
    ----------
    name : str
        Variable name, e.g. ``"theta"`` or ``"gamma"``.

    Returns
    -------
    sympy.Symbol
        ``sympy.Symbol(name, real=True)``. All of kansr builds its symbols
        through this function so that expressions from different modules
        compare equal.
    """
    if not isinstance(name, str):
        raise TypeError(f"symbol name must be a str, got {type(name).__name__}: {name!r}")
    if not name:
        raise ValueError("symbol name must be a non-empty string")
    return sympy.Symbol(name, real=True)


def parse_formula(text: str, variables: Sequence[str]) -> sympy.Expr:
    """Parse a formula string into a sympy expression without evaluating code.

    Parameters
    ----------
    text : str
        Formula in Python syntax, e.g. ``"exp(-theta**2/2)/sqrt(2*pi)"``.
        Allowed: int and float literals, the names in `variables`, ``+ - * /
        **``, unary ``+``/``-``, parentheses, calls of the functions in
        :data:`FUNCTIONS` (``arcsin``/``arccos``/``arctan``/``arctanh`` and
        ``ln`` are aliases) and the constants ``pi`` and ``E``.
    variables : sequence of str
        Variable names. Each becomes ``Symbol(name, real=True)``, even when it
        clashes with a sympy name (``gamma``, ``beta``, ``I``, ``E``, ``N``,
        ``S``, ...). A variable shadows a constant of the same name.

    Returns
    -------
    sympy.Expr
        The parsed expression (sympy's automatic simplification applied,
        e.g. ``1/2`` becomes ``Rational(1, 2)``).

    Raises
    ------
    TypeError
        If `text` is not a str or `variables` is not a sequence of str.
    FormulaError (a ValueError)
        If the formula is too long, nested too deeply, not valid syntax,
        uses anything outside the whitelist, or holds numbers too large to
        compute with: exact numbers of more than :data:`MAX_DIGITS` digits
        together (:data:`MAX_ROOT_DIGITS` under roots), counting what powers
        such as ``3**50000`` would produce, or powers and exponentials beyond
        ``10**±10000``.  The message names the offending token and its
        0-based character position.

    Examples
    --------
    >>> parse_formula("1/(gamma-1)*pr*V", ["gamma", "pr", "V"])
    V*pr/(gamma - 1)
    """
    if not isinstance(text, str):
        raise TypeError(f"formula must be a str, got {type(text).__name__}")
    symbols = _symbols_for_variables(variables)
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}. "
            "Simplify or split the formula."
        )
    stripped = text.strip()
    if not stripped:
        raise FormulaError("formula is empty; pass an expression such as 'x*y'")
    lead = len(text) - len(text.lstrip())
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        where = f" at position {lead + max((exc.offset or 1) - 1, 0)}" if exc.lineno == 1 else ""
        raise FormulaError(f"invalid formula syntax{where}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise FormulaError(
            f"formula is nested too deeply or is too long to parse; keep nesting under {MAX_DEPTH} levels"
        ) from None
    except ValueError as exc:  # e.g. null bytes on older Pythons
        raise FormulaError(f"invalid formula: {exc}") from None
    try:
        return _Converter(stripped, lead, symbols).convert(tree.body, 0)
    except (OverflowError, MemoryError):  # a backstop: the size checks should refuse such numbers first
        raise FormulaError("formula's numbers are too large to evaluate; write large constants as floats") from None


def _symbols_for_variables(variables: Sequence[str]) -> dict[str, sympy.Symbol]:
    if isinstance(variables, str) or not isinstance(variables, Sequence):
        raise TypeError(
            "variables must be a sequence of names such as ['x', 'y'], "
            f"got {type(variables).__name__}: {variables!r}"
        )
    out: dict[str, sympy.Symbol] = {}
    for name in variables:
        if not isinstance(name, str):
            raise TypeError(f"variable names must be str, got {type(name).__name__}: {name!r}")
        if not name.isidentifier() or keyword.iskeyword(name):
            hint = " (e.g. 'lambd' for 'lambda')" if keyword.iskeyword(name) else ""
            raise FormulaError(f"variable name {name!r} is not a valid identifier; rename it{hint}")
        if name in FUNCTIONS:
            raise FormulaError(f"variable name {name!r} clashes with the function {name}(); rename the variable")
        if name in out:
            raise FormulaError(f"variable name {name!r} is listed twice")
        out[name] = symbol_for(name)
    return out


class _Converter:
    """Convert a whitelisted ``ast`` tree to sympy; reject everything else."""

    def __init__(self, text: str, lead: int, symbols: dict[str, sympy.Symbol]) -> None:
        self.text = text
        self.lead = lead
        self.symbols = symbols
        self.lines = text.splitlines(keepends=True)
        self.digits = 0.0  # spent of MAX_DIGITS
        self.root_digits = 0.0  # spent of MAX_ROOT_DIGITS

    # -- error helpers -------------------------------------------------
    def _position(self, node: ast.AST) -> int:
        lineno = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)  # counted in UTF-8 bytes
        before = "".join(self.lines[: lineno - 1])
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self.lead + len(before) + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

    def _fail(self, node: ast.AST, what: str, hint: str = "") -> FormulaError:
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        if len(segment) > 40:
            segment = segment[:37] + "..."
        msg = f"{what} {segment!r} at position {self._position(node)} is not allowed in a formula"
        return FormulaError(msg + (f"; {hint}" if hint else ""))

    # -- conversion ----------------------------------------------------
    def convert(self, node: ast.AST, depth: int) -> sympy.Expr:
        if depth > MAX_DEPTH:
            raise FormulaError(
                f"formula is nested more than {MAX_DEPTH} levels deep at position {self._position(node)}; simplify it"
            )
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        word = _NODE_WORDS.get(type(node), type(node).__name__)
        raise self._fail(node, word, "use only numbers, variables, + - * / ** and whitelisted functions")

    def _constant(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "string" if isinstance(value, (str, bytes)) else f"{type(value).__name__} literal"
            raise self._fail(node, kind, "only int and float numbers are allowed")
        if isinstance(value, int):
            number = sympy.Integer(value)
            self._spend(node, "number", _digits(number))
            return number
        return sympy.Float(value)

    def _name(self, node: ast.Name) -> sympy.Expr:
        name = node.id
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self._fail(node, "function name", f"call it, e.g. {name}(x)")
        known = [*self.symbols, *CONSTANTS, *FUNCTIONS]
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {', '.join(map(repr, close))}?" if close else ""
        listed = ", ".join(self.symbols) or "none"
        raise self._fail(
            node, "unknown name", f"declared variables: {listed}" + (f"; {hint}" if hint else "")
        )

    def _binop(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        op = type(node.op)
        if op in (ast.Add, ast.Sub):
            # Walk left-nested chains iteratively so long sums do not count as depth.
            terms: list[sympy.Expr] = []
            cur: ast.AST = node
            while isinstance(cur, ast.BinOp) and isinstance(cur.op, (ast.Add, ast.Sub)):
                right = self.convert(cur.right, depth + 1)
                terms.append(-right if isinstance(cur.op, ast.Sub) else right)
                cur = cur.left
            terms.append(self.convert(cur, depth + 1))
            return sympy.Add(*reversed(terms))
        if op in (ast.Mult, ast.Div):
            factors: list[sympy.Expr] = []
            cur = node
            while isinstance(cur, ast.BinOp) and isinstance(cur.op, (ast.Mult, ast.Div)):
                right = self.convert(cur.right, depth + 1)
                if isinstance(cur.op, ast.Div):
                    right = sympy.Pow(right, -1)
                factors.append(right)
                cur = cur.left
            factors.append(self.convert(cur, depth + 1))
            return sympy.Mul(*reversed(factors))
        if op is ast.Pow:
            base = self.convert(node.left, depth + 1)
            exponent = self.convert(node.right, depth + 1)
            self._check_power_size(node, base, exponent)
            return sympy.Pow(base, exponent)
        symbol = {ast.BitXor: "^", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@"}.get(op, op.__name__)
        raise self._fail(node, f"operator '{symbol}' in", _OP_HINTS.get(op, "use + - * / **"))

    def _spend(self, node: ast.AST, what: str, digits: float = 0.0, root_digits: float = 0.0) -> None:
        """Charge new exact digits to the formula's budgets (:data:`MAX_DIGITS`, :data:`MAX_ROOT_DIGITS`)."""
        self.digits += digits
        self.root_digits += root_digits
        for spent, limit, kind in ((self.digits, MAX_DIGITS, "exact numbers"),
                                   (self.root_digits, MAX_ROOT_DIGITS, "exact numbers under roots")):
            if spent > limit:
                amount = f"about {spent:.0f}" if spent < 1e12 else "astronomically many"
                raise self._fail(
                    node, what, f"the formula's {kind} would hold {amount} digits, over the limit of {limit}; "
                    "write large constants as floats (e.g. 3.1e50)"
                )

    def _check_power_size(self, node: ast.AST, base: sympy.Expr, exponent: sympy.Expr) -> None:
        """Refuse a numeric power before sympy computes it, from an estimate of the result's size."""
        if not (exponent.is_Rational or exponent.is_Float):
            return  # sympy evaluates powers only for these exponents (2.0**pi stays as it is)
        size = abs(float(exponent))  # inf for astronomically large exponents: refused below
        # sympy distributes a numeric power over the base's numeric factors ((2*x)**3 -> 8*x**3).
        factors = [f for f in sympy.Mul.make_args(base) if f.is_number]
        if not (exponent.is_Float or any(f.is_Float for f in factors)):  # else a float result: fixed size
            # Exact factors as (number, power): rationals, and roots of rationals such as sqrt(2).
            exact = [(f, None) if f.is_Rational else (f.base, f.exp) for f in factors
                     if f.is_Rational or (f.is_Pow and f.base.is_Rational and f.exp.is_Rational)]
            weight = sum(_digits(number) * (1.0 if power is None else abs(float(power))) for number, power in exact)
            grown = weight * size - weight if weight and size > 1 else 0.0  # the result: |exponent| times the digits
            # A root makes sympy look for perfect powers and small prime factors of the number, a cost
            # growing with the cube of its length, again when roots merge (sqrt(2)*sqrt(3) -> sqrt(6)).
            rooted = sum(_digits(number) for number, power in exact if power is not None or not exponent.is_Integer)
            self._spend(node, "numeric power", grown, rooted)
        bounds = [_log10_bound(f) for f in factors]
        scale = sum(abs(b) for b in bounds if b is not None and b > -math.inf)  # |log10| of the numeric part
        if scale:
            self._check_magnitude(node, size * scale, "numeric power")

    def _check_magnitude(self, node: ast.AST, log10_size: float, what: str) -> None:
        # Floats keep 15 digits but an exact decimal exponent, which sympy prints and computes with
        # at a cost growing with its length (not at all beyond 4300 digits); exp(n) of an exact n is
        # evaluated (to compare it) with as many digits as n has before the point.
        if log10_size > _MAX_LOG10:
            raise self._fail(node, what, f"its value would be beyond 10**±{_MAX_LOG10}, outside any physical scale")

    def _unary(self, node: ast.UnaryOp, depth: int) -> sympy.Expr:
        if isinstance(node.op, ast.USub):
            return -self.convert(node.operand, depth + 1)
        if isinstance(node.op, ast.UAdd):
            return self.convert(node.operand, depth + 1)
        word = "'not'" if isinstance(node.op, ast.Not) else "'~'"
        raise self._fail(node, f"unary operator {word} in", "only unary '-' and '+' are allowed")

    def _call(self, node: ast.Call, depth: int) -> sympy.Expr:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self._fail(func, "call target", "only direct calls such as sin(x) are allowed")
        name = func.id
        if name not in FUNCTIONS:
            if name in self.symbols:
                raise self._fail(func, "call of variable", f"{name!r} is a variable, not a function")
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=3)
            hint = f"did you mean {', '.join(map(repr, close))}?" if close else (
                f"allowed functions: {', '.join(sorted(FUNCTIONS))}"
            )
            raise self._fail(func, "unknown function", hint)
        if node.keywords:
            raise self._fail(node.keywords[0], "keyword argument", f"pass arguments of {name}() by position")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._fail(arg, "starred argument", f"pass arguments of {name}() explicitly")
        if len(node.args) not in _ARITY[name]:
            expected = " or ".join(map(str, _ARITY[name]))
            raise self._fail(node, "call", f"{name}() takes {expected} argument(s), got {len(node.args)}")
        args = [self.convert(arg, depth + 1) for arg in node.args]
        if name == "sqrt":
            self._check_power_size(node, args[0], sympy.S.Half)
        elif name in _EXPONENTIAL and args[0].is_number:
            self._check_magnitude(node, _exp_log10(_log10_bound(args[0])), "call")
        return FUNCTIONS[name](*args)


def _digits(number: sympy.Rational) -> float:
    """``log10`` of the numerator and denominator of ``number``: about how many digits they hold."""
    return math.log10(abs(number.p) or 1) + math.log10(number.q)


def _log10_bound(number: sympy.Expr) -> float | None:
    """An upper bound of ``log10(|number|)`` (``-inf`` for zero), or None for numbers it cannot bound.

    Built from the expression tree without evaluating it, so without the cost
    (or the double overflow) of evaluating huge values.
    """
    if number.is_Rational:
        return math.log10(abs(number.p)) - math.log10(number.q) if number.p else -math.inf
    if number.is_Float:  # mpmath: log10(0) is -inf
        return float(mpmath.log10(abs(mpmath.mpf(number))))
    if number.is_NumberSymbol:  # pi, E
        return math.log10(float(number))
    parts = [_log10_bound(arg) for arg in number.args]
    if None in parts:
        return None
    if number.is_Mul:
        return sum(parts)
    if number.is_Add:
        return max(parts) + math.log10(len(parts))
    if number.is_Pow:  # |b**e| <= 10**(|e| * |log10 |b||)
        base, exponent = parts
        return 0.0 if base in (0.0, -math.inf) else _power_of_ten(exponent) * abs(base)
    if isinstance(number, sympy.exp):
        return _exp_log10(parts[0])
    return None


def _power_of_ten(log10_value: float) -> float:
    """``10**log10_value``, inf instead of an overflow."""
    return 10.0 ** log10_value if log10_value < 300 else math.inf


def _exp_log10(log10_arg: float | None) -> float:
    """A bound of ``log10 |exp(x)|`` from one of ``log10 |x|`` (0 when unknown)."""
    return 0.0 if log10_arg is None else _power_of_ten(log10_arg) / math.log(10)
