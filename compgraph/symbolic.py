"""Expressions of the language as trees with shapes: what the registry's symbolic reverse
rules (``Op.vjp_expr``) build and what ``compgraph backprop`` prints.

An :class:`Expr` is a variable (by name), a constant, or a registry operator applied to
expressions; arithmetic on expressions builds new ones, simplifying as it goes, but only
where the result is the same number to the last bit: ``x*1`` is ``x``, ``x + 0`` is ``x``,
``x**1`` is ``x``, ``-(-x)`` is ``x``, and constants are folded by the registry's own
forward. Grouping is never changed (``(a*b)*c`` stays as it is), so a program printed
from a tree evaluates to exactly the numbers the tree stands for.

Broadcasting a cotangent up to an operand's shape (what the reverse rule of ``sum`` does)
is the internal node ``broadcast``: it disappears when multiplied by something of the full
shape, and is printed as a multiplication by a literal of ones otherwise.

>>> x, y = Expr.var("x", ()), Expr.var("y", ())
>>> print(to_text(1.0 * (x * y) + 0.0))
x*y
>>> print(to_text(-(x + y) ** 2 * (2.0 - 1.0)))
-(x + y)**2
>>> W, v = Expr.var("W", (2, 3)), Expr.var("v", (3,))
>>> e = call("transpose", W) @ (W @ v)
>>> e.shape, to_text(e)
((3,), 'transpose(W) @ (W @ v)')
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .errors import CompgraphError

Shape = tuple[int, ...]

BROADCAST = "broadcast"   # internal: args[0] times ones of ``shape``
VAR, CONST = "var", "const"


class SymbolicError(CompgraphError, ValueError):
    """An expression that the language cannot write (or whose shapes do not fit)."""


class Expr:
    """A node of an expression tree: ``op`` is ``"var"``, ``"const"``, ``"broadcast"`` or
    a registry operator; ``shape`` is the shape of its value (``()`` for a scalar)."""

    __slots__ = ("op", "args", "shape", "value", "name", "params", "layout")
    __array_priority__ = 1000  # numpy scalars and arrays on the left defer to Expr

    def __init__(self, op: str, args: tuple["Expr", ...] = (), shape: Shape = (),
                 value: Any = None, name: str | None = None,
                 params: tuple[tuple[str, Any], ...] = ()) -> None:
        self.op = op
        self.args = args
        self.shape = shape
        self.value = value
        self.name = name
        self.params = params  # an operator's static parameters, as Node.params
        # "F" where the printer saw the engine's value laid out column by column (which
        # orientation the reverse rules of `@` compute in: see ops.fortran), else None
        self.layout: str | None = None

    @staticmethod
    def var(name: str, shape: Shape) -> "Expr":
        return Expr(VAR, (), tuple(shape), name=name)

    @staticmethod
    def const(value: Any) -> "Expr":
        if isinstance(value, np.ndarray) and value.ndim:
            arr = np.array(value, dtype=float)
            arr.setflags(write=False)
            return Expr(CONST, (), arr.shape, value=arr)
        return Expr(CONST, (), (), value=float(value))

    def __repr__(self) -> str:
        return f"<Expr {to_text(self)} shape={self.shape}>"

    # --- what it is ---------------------------------------------------------------------

    @property
    def is_const(self) -> bool:
        return self.op == CONST

    def equals(self, c: float) -> bool:
        """Whether this is a constant with every element equal to ``c``."""
        return self.op == CONST and bool(np.all(np.asarray(self.value) == c))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    # --- arithmetic -----------------------------------------------------------------------

    def __add__(self, o: Any) -> "Expr": return call("add", self, o)
    def __radd__(self, o: Any) -> "Expr": return call("add", o, self)
    def __sub__(self, o: Any) -> "Expr": return call("sub", self, o)
    def __rsub__(self, o: Any) -> "Expr": return call("sub", o, self)
    def __mul__(self, o: Any) -> "Expr": return call("mul", self, o)
    def __rmul__(self, o: Any) -> "Expr": return call("mul", o, self)
    def __truediv__(self, o: Any) -> "Expr": return call("div", self, o)
    def __rtruediv__(self, o: Any) -> "Expr": return call("div", o, self)
    def __pow__(self, o: Any) -> "Expr": return call("pow", self, o)
    def __rpow__(self, o: Any) -> "Expr": return call("pow", o, self)
    def __matmul__(self, o: Any) -> "Expr": return call("matmul", self, o)
    def __rmatmul__(self, o: Any) -> "Expr": return call("matmul", o, self)
    def __neg__(self) -> "Expr": return call("neg", self)
    def __pos__(self) -> "Expr": return self


def lift(x: Any) -> Expr:
    """An expression for ``x``: itself, or a constant for a number or an array."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float, np.floating, np.integer, np.ndarray)):
        return Expr.const(x)
    raise SymbolicError(f"cannot use {type(x).__name__} in an expression")


def broadcast(e: Any, shape: Shape) -> Expr:
    """``e`` repeated to ``shape`` (``e`` times ones of that shape)."""
    e = lift(e)
    shape = tuple(shape)
    if e.shape == shape:
        return e
    if e.op == BROADCAST:
        e = e.args[0]
    if e.op == CONST and e.shape:
        with np.errstate(all="ignore"):
            return Expr.const(np.broadcast_to(e.value, shape) * 1.0)
    # A number stays a number: `3*[1, 1]` meets `sign(x)` as `3*sign(x)`, not `[3, 3]*...`
    return Expr(BROADCAST, (e,), shape)


def zeros(shape: Shape) -> Expr:
    return Expr.const(np.zeros(shape)) if shape else Expr.const(0.0)


def _dummy(e: Expr) -> Any:
    """A stand-in value of ``e``'s shape for working out a result's shape."""
    if e.op == CONST:
        return e.value
    return np.ones(e.shape) if e.shape else 1.0


def _registry() -> dict[str, Any]:
    """The operator registry (which imports this module: looked up when first needed)."""
    global _OPS
    if _OPS is None:
        from .ops import OPS

        _OPS = OPS
    return _OPS


_OPS: dict[str, Any] | None = None


def _shape_of(op: str, args: tuple[Expr, ...], params: tuple[tuple[str, Any], ...]) -> Shape:
    try:
        with np.errstate(all="ignore"):
            out = _registry()[op].forward(*(_dummy(a) for a in args), **dict(params))
    except (ValueError, TypeError, IndexError) as exc:
        shapes = ", ".join(str(a.shape) for a in args)
        raise SymbolicError(f"cannot apply {op} to shapes {shapes}: {exc}") from None
    return tuple(np.shape(out))


def _fold(op: str, args: tuple[Expr, ...], params: tuple[tuple[str, Any], ...]) -> Expr:
    with np.errstate(all="ignore"):
        out = _registry()[op].forward(*(a.value for a in args), **dict(params))
    return Expr.const(out)


def call(op: str, *raw: Any, **params: Any) -> Expr:
    """``op`` applied to ``raw`` (expressions or numbers) with the operator's static
    parameters ``params`` (``axis=0``), simplified where that keeps every number to the
    last bit; ``SymbolicError`` when the shapes do not fit."""
    record = _registry().get(op)
    if record is None:
        raise SymbolicError(f"the language has no operator {op!r}")
    bound = record.bind(params) if (record.params or params) else ()
    args = tuple(lift(a) for a in raw)
    if all(a.op == CONST for a in args):
        return _fold(op, args, bound)
    simpler = _simplify(op, args, dict(bound))
    if simpler is not None:
        return simpler
    return Expr(op, args, _shape_of(op, args, bound), params=bound)


def _simplify(op: str, args: tuple[Expr, ...], params: dict[str, Any]) -> Expr | None:
    if op in ("add", "sub", "mul", "div"):
        a, b = args
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        # A broadcast operand meets one of the full shape: the ones multiply away.
        if a.op == BROADCAST and b.shape == a.shape:
            return call(op, a.args[0], b)
        if b.op == BROADCAST and a.shape == b.shape:
            return call(op, a, b.args[0])
        if a.op == BROADCAST and b.op == CONST and b.shape == () and op in ("mul", "div"):
            return broadcast(call(op, a.args[0], b), a.shape)
        if op == "add":
            if a.equals(0.0) and b.shape == shape:
                return b
            if b.equals(0.0) and a.shape == shape:
                return a
        elif op == "sub":
            if b.equals(0.0) and a.shape == shape:
                return a
            if a.equals(0.0) and b.shape == shape:
                return call("neg", b)
        elif op == "mul":
            if a.equals(1.0) and b.shape == shape:
                return b
            if b.equals(1.0) and a.shape == shape:
                return a
            if a.equals(-1.0) and b.shape == shape:
                return call("neg", b)
            if b.equals(-1.0) and a.shape == shape:
                return call("neg", a)
        elif op == "div":
            if b.equals(1.0) and a.shape == shape:
                return a
        return None
    if op == "neg":
        (a,) = args
        if a.op == "neg":
            return a.args[0]
        if a.op == BROADCAST:
            return broadcast(call("neg", a.args[0]), a.shape)
        return None
    if op == "pow":
        a, b = args
        if b.equals(1.0) and b.shape == ():  # x**1 is x, in numpy and in Python floats
            return a
        return None
    if op == "transpose":
        (a,) = args
        if a.ndim <= 1:
            return a
        if a.op == "transpose":
            return a.args[0]
        return None
    if op == "reshape" and args[0].shape == tuple(params["shape"]):
        return args[0]
    return None


# --- printing --------------------------------------------------------------------------

def format_number(x: float) -> str:
    """A float as the language reads it back exactly: ``2``, ``0.1``, ``1e-05``, ``1e999``.

    >>> format_number(2.0), format_number(-0.5), format_number(1e-5), format_number(float("inf"))
    ('2', '-0.5', '1e-05', '1e999')
    """
    x = float(x)
    if x != x:
        raise SymbolicError("NaN cannot be written as a number of the language")
    if x in (float("inf"), float("-inf")):
        return "1e999" if x > 0 else "-1e999"
    text = repr(x)
    if text.endswith(".0"):
        text = text[:-2]
    if text == "-0":
        text = "-0.0"
    return text


def format_array(a: np.ndarray) -> str:
    """A nested list literal of ``a``, every number exact."""
    if a.ndim == 1:
        return "[" + ", ".join(format_number(v) for v in a) + "]"
    return "[" + ", ".join(format_array(row) for row in a) + "]"


_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}
_SPACED = {"add", "sub", "matmul"}
_ATOM = 100


def _const_text(e: Expr) -> tuple[str, int]:
    if e.shape:
        return format_array(np.asarray(e.value)), _ATOM
    text = format_number(e.value)
    # A negative number reads back as a constant only where a sign may start an operand.
    return text, (3 if text.startswith("-") else _ATOM)


def to_text(root: Expr) -> str:
    """The expression in the language, with the parentheses its grouping needs (and no
    more), so that parsing the text gives the same tree. Iterative: depth is no limit."""
    return _render(root, _text_node)[0]


def _text_node(e: Expr, parts: list[tuple[str, int]]) -> tuple[str, int]:
    op = e.op
    if op == VAR:
        return e.name or "?", _ATOM
    if op == CONST:
        return _const_text(e)
    if op == BROADCAST:
        (inner,) = parts
        if e.args[0].op == CONST:  # a number repeated: the literal itself
            return format_array(np.full(e.shape, e.args[0].value)), _ATOM
        return f"{_wrap(inner, 2, False)}*{format_array(np.ones(e.shape))}", 2
    if op == "neg":
        (inner,) = parts
        return "-" + _wrap(inner, 4, False), 3
    if op in _SYMBOL:
        (left, right) = parts
        p = _PRECEDENCE[op]
        if op == "pow":  # right-associative; the right side may carry a sign
            text = f"{_wrap(left, 5, False)}**{_wrap(right, 3, False)}"
        else:
            sep = f" {_SYMBOL[op]} " if op in _SPACED else _SYMBOL[op]
            text = f"{_wrap(left, p, False)}{sep}{_wrap(right, p + 1, True)}"
        return text, p
    if e.params:
        from .ops import call_text

        if op == "index":  # a subscript binds tightest: (a + b)[0]
            return call_text(op, [_wrap(parts[0], 5, False)], dict(e.params)), 5
        return call_text(op, [t for t, _ in parts], dict(e.params)), _ATOM
    return f"{op}({', '.join(t for t, _ in parts)})", _ATOM


def _wrap(part: tuple[str, int], need: int, right: bool) -> str:
    text, p = part
    if p < need or (right and p == 3):
        return f"({text})"
    return text


def _render(root: Expr, node_text: Any) -> Any:
    """Post-order over the tree with an explicit stack; ``node_text(e, parts)`` makes a
    node's result from its children's."""
    done: dict[int, Any] = {}
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in done:
            continue
        if ready or not e.args:
            done[id(e)] = node_text(e, [done[id(a)] for a in e.args])
            continue
        stack.append((e, True))
        for a in reversed(e.args):
            if id(a) not in done:
                stack.append((a, False))
    return done[id(root)]


def walk(root: Expr) -> Iterable[Expr]:
    """Every node of the tree, each once, children before parents (iteratively)."""
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in seen:
            continue
        if ready or not e.args:
            seen.add(id(e))
            yield e
            continue
        stack.append((e, True))
        stack.extend((a, False) for a in reversed(e.args) if id(a) not in seen)
