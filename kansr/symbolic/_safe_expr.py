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
from collections.abc import Callable, Sequence

import sympy

from kansr.errors import FormulaError

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "FUNCTIONS", "CONSTANTS", "parse_formula", "symbol_for"]

#: Longest accepted formula, in characters.
MAX_LENGTH = 10_000
#: Deepest accepted nesting of calls, powers and unary operators.
#: Chains such as ``a + b - c + ...`` count as one level.
MAX_DEPTH = 100
# A numeric power whose exact result would exceed this many bits is refused:
# sympy evaluates ``9**9**9`` exactly and would never return.
_MAX_POWER_BITS = 100_000

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
        If the formula is too long, nested too deeply, not valid syntax, or
        uses anything outside the whitelist; the message names the offending
        token and its 0-based character position.

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
    return _Converter(stripped, lead, symbols).convert(tree.body, 0)


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
            return sympy.Integer(value)
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

    def _check_power_size(self, node: ast.AST, base: sympy.Expr, exponent: sympy.Expr) -> None:
        if not (base.is_Rational and exponent.is_Integer):
            return  # symbolic or float powers are cheap to build
        big = max(abs(base.p), abs(base.q))
        if big > 1 and abs(int(exponent)) * big.bit_length() > _MAX_POWER_BITS:
            raise self._fail(node, "numeric power", "its exact value is too large to compute")

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
        return FUNCTIONS[name](*args)
