"""The operator registry: one record per operator with its forward and both derivative rules.

Every rule is pure and per operand. A reverse rule ``vjp(g, out, *args)`` maps the
cotangent ``g`` of the result to this operand's contribution; a forward rule
``jvp(t, out, *args)`` maps this operand's tangent ``t`` to its part of the result's
tangent. The engine (``compgraph.differentiate``) sums contributions, skips constants and
un-broadcasts, so no rule does any of that.

Values are Python floats for scalars and float64 ``numpy`` arrays otherwise; every forward
handles both, so scalar programs run on plain floats. The registry wraps every forward and
rule (:func:`_total`) so that on floats, too, they give inf or NaN where Python's float
arithmetic would raise: the same numbers as on arrays, never an exception.

>>> OPS["mul"].forward(2.0, 3.0)
6.0
>>> OPS["mul"].vjp[0](1.0, 6.0, 2.0, 3.0)  # d(x*y)/dx at (2, 3) is y
3.0
>>> sorted(FUNCTIONS)[:4]
['abs', 'bce', 'cos', 'exp']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

Value = Any  # float | numpy.ndarray
Rule = Callable[..., Value]


@dataclass(frozen=True)
class Op:
    """Everything about one operator, in one place."""

    name: str                      # registry key, e.g. "mul"
    label: str                     # what a picture shows on the block, e.g. "*"
    arity: int                     # operands in the graph
    forward: Callable[..., Value]
    vjp: tuple[Rule, ...]          # reverse rule per operand
    jvp: tuple[Rule, ...]          # forward rule per operand
    symbol: str | None = None      # infix or prefix symbol in the language ("*", "-")
    precedence: int = 100          # printing: 1 (+ -), 2 (* / @), 3 (unary), 4 (**), 100 (call)
    cost: bool = False             # a loss: drawn as a cost square; (prediction, target) of one shape
    defaults: tuple[float, ...] = ()  # values for omitted trailing arguments
    doc: str = ""
    # Elementwise ops whose reverse rule is ``g * partial(out, *args)`` give the partials
    # too, so that reverse mode can skip the multiplication when ``g`` is all ones.
    partials: tuple[Rule, ...] | None = None
    # Per operand: whether the reverse rule's result, when it is an array, is always a new
    # array that nothing else refers to (``g * y`` is; ``g`` itself or a view of it is
    # not). Reverse mode adds later contributions into such an array in place instead of
    # allocating a sum; ``()`` claims nothing, which is always safe.
    fresh: tuple[bool, ...] = ()
    # Elementwise with NumPy broadcasting between the operands (evaluation warns when the
    # result is larger than every operand: an outer broadcast, usually a shape mistake).
    broadcasts: bool = False

    @property
    def min_arity(self) -> int:
        return self.arity - len(self.defaults)


def is_array(v: Value) -> bool:
    return isinstance(v, np.ndarray)


def _scalar_or_array(scalar: Callable, array: Callable) -> Callable:
    """A forward that runs ``scalar`` on floats and ``array`` on arrays (the registry makes
    it total: see :func:`_total`)."""

    def forward(*args: Value) -> Value:
        if any(type(a) is np.ndarray for a in args):
            return array(*args)
        return scalar(*args)

    return forward


def _total(rule: Callable) -> Callable:
    """``rule`` with IEEE results on Python floats, never an exception.

    Python's float arithmetic and ``math`` raise where IEEE gives inf or nan
    (``math.log(0)``, ``1.0/0.0``, ``math.cos(inf)``, ``1e200 ** 3``) and give a complex
    number for ``(-8.0) ** 0.5``. Such a call is run again with the floats as 0-d arrays,
    where numpy gives inf or nan like the rule's array version, and the engine reports
    the non-finite value. The registry applies this to every forward and every rule.
    A call on arrays that raises (operands whose shapes do not fit) still raises.

    >>> OPS["log"].forward(0.0), OPS["cos"].vjp[0](1.0, math.nan, math.inf)
    (-inf, nan)
    """

    def run(*args: Value) -> Value:
        try:
            out = rule(*args)
        except (ArithmeticError, ValueError):
            if not any(type(a) is float for a in args):
                raise
            return _on_0d_arrays(rule, args)
        if type(out) is float or type(out) is np.ndarray:
            return out
        if isinstance(out, complex):
            return _on_0d_arrays(rule, args)
        return float(out)  # numpy scalars, ints and bools from scalar arithmetic

    run.__wrapped__ = rule  # type: ignore[attr-defined]
    run.__doc__ = rule.__doc__
    return run


def _on_0d_arrays(rule: Callable, args: tuple[Value, ...]) -> Value:
    with np.errstate(all="ignore"):
        out = rule(*(np.array(a) if type(a) is float else a for a in args))
    return float(out) if np.ndim(out) == 0 else out


def _const_like(x: Value, c: float) -> Value:
    return np.full(np.shape(x), c) if is_array(x) else c


def _where(cond_array, cond_scalar: bool, a: Value, b: Value) -> Value:
    return np.where(cond_array, a, b) if is_array(cond_array) else (a if cond_scalar else b)


# --- elementwise helpers -------------------------------------------------------------------

def _unary(name: str, label: str, f_scalar: Callable, f_array: Callable,
           deriv: Callable[[Value, Value], Value], doc: str) -> Op:
    """An elementwise one-operand op given its derivative ``deriv(x, out)``."""
    return Op(
        name=name, label=label, arity=1,
        forward=_scalar_or_array(f_scalar, f_array),
        vjp=(lambda g, out, x: g * deriv(x, out),),
        jvp=(lambda t, out, x: t * deriv(x, out),),
        doc=doc, partials=(lambda out, x: deriv(x, out),), fresh=(True,),
    )


def _binary(name: str, label: str, symbol: str | None, precedence: int,
            f: Callable, f_array: Callable, dx: Callable, dy: Callable, doc: str,
            defaults: tuple[float, ...] = ()) -> Op:
    """An elementwise two-operand op given its partials ``dx(x, y, out)``, ``dy(x, y, out)``."""
    return Op(
        name=name, label=label, arity=2, symbol=symbol, precedence=precedence,
        forward=_scalar_or_array(f, f_array),
        vjp=(lambda g, out, x, y: g * dx(x, y, out), lambda g, out, x, y: g * dy(x, y, out)),
        jvp=(lambda t, out, x, y: t * dx(x, y, out), lambda t, out, x, y: t * dy(x, y, out)),
        doc=doc, defaults=defaults,
        partials=(lambda out, x, y: dx(x, y, out), lambda out, x, y: dy(x, y, out)),
        fresh=(True, True), broadcasts=True,
    )


# --- scalar helpers that keep IEEE semantics -------------------------------------------------

def _relu(x: float) -> float:
    """max(x, 0) on a float, NaN staying NaN as in ``numpy.maximum``."""
    return 0.0 if x <= 0 else x


def _relu_d(x: Value, out: Value) -> Value:
    return (x > 0) * 1.0 if is_array(x) else (1.0 if x > 0 else 0.0)


def _abs_d(x: Value, out: Value) -> Value:
    return np.sign(x) if is_array(x) else _sign(x)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else (0.0 if x == 0 else math.nan))


def _sigmoid_scalar(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(-np.logaddexp(0.0, -x))


def _softplus_scalar(x: float) -> float:
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erf_array = np.vectorize(math.erf, otypes=[float])


def _phi_cdf(x: Value) -> Value:
    if is_array(x):
        return 0.5 * (1.0 + _erf_array(x * _SQRT1_2))
    return 0.5 * (1.0 + math.erf(x * _SQRT1_2))


def _phi_pdf(x: Value) -> Value:
    return _INV_SQRT_2PI * (np.exp(-0.5 * x * x) if is_array(x) else math.exp(-0.5 * x * x))


_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu_tanh(x: Value) -> Value:
    th = np.tanh if is_array(x) else math.tanh
    return 0.5 * x * (1.0 + th(_GELU_C * (x + 0.044715 * x ** 3)))


def _gelu_tanh_d(x: Value, out: Value) -> Value:
    th = np.tanh if is_array(x) else math.tanh
    u = _GELU_C * (x + 0.044715 * x ** 3)
    t = th(u)
    sech2 = 1.0 - t * t
    slope = x * sech2 * _GELU_C * (1.0 + 3 * 0.044715 * x * x)
    # Far from 0, sech² is exactly 0 while x² overflows: 0 × inf would make a NaN of a
    # derivative that is 0 or 1 there.
    if is_array(x):
        slope = np.where(sech2 == 0, 0.0, slope)
    elif sech2 == 0:
        slope = 0.0
    return 0.5 * (1.0 + t) + 0.5 * slope


def _log_d(x: Value, out: Value) -> Value:
    """1/x, and NaN where log is undefined (x < 0): no slope where there is no value."""
    if is_array(x):
        return np.where(x < 0, np.nan, 1.0 / x)
    return math.nan if x < 0 else 1.0 / x


def _pow_dy(x: Value, y: Value, out: Value) -> Value:
    """d(x**y)/dy = out * log(x), taken as 0 where x == 0 and y >= 0 (as PyTorch does);
    NaN for a negative base, where x**y has no derivative in y."""
    if is_array(x) or is_array(y):
        return np.where((np.asarray(x) == 0) & (np.asarray(y) >= 0), 0.0, out * np.log(x))
    return 0.0 if x == 0 and y >= 0 else out * math.log(x)


def _pow_dx(x: Value, y: Value, out: Value) -> Value:
    """y * x**(y - 1); NaN for a negative base and a fractional power, where x**y itself is
    undefined (y - 1 can round to an integer: (-2) ** (1e-320 - 1) is a number)."""
    if is_array(x) or is_array(y):
        return np.where((np.asarray(x) < 0) & (np.floor(y) != y), np.nan, y * x ** (y - 1.0))
    return math.nan if x < 0 and math.floor(y) != y else y * x ** (y - 1.0)


# --- matmul ---------------------------------------------------------------------------------

def _matmul_check(a: Value, b: Value) -> None:
    if not (is_array(a) and is_array(b)) or a.ndim == 0 or b.ndim == 0:
        raise ValueError("'@' multiplies arrays (vectors or matrices); use '*' for scalars")


def _matmul(a: Value, b: Value) -> Value:
    _matmul_check(a, b)
    out = np.matmul(a, b)
    return float(out) if out.ndim == 0 else out


def _matmul_vjp_a(g: Value, out: Value, a: np.ndarray, b: np.ndarray) -> Value:
    if a.ndim == 1 and b.ndim == 1:  # a dot product: the cotangent is a scalar
        return g * b
    g = np.asarray(g)
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    b2 = b[:, None] if b.ndim == 1 else b
    da = np.matmul(g, np.swapaxes(b2, -1, -2))
    return da[..., 0, :] if a.ndim == 1 else da


def _matmul_vjp_b(g: Value, out: Value, a: np.ndarray, b: np.ndarray) -> Value:
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    g = np.asarray(g)
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    a2 = a[None, :] if a.ndim == 1 else a
    db = np.matmul(np.swapaxes(a2, -1, -2), g)
    return db[..., 0] if b.ndim == 1 else db


def _as_value(v: Value) -> Value:
    """Reductions give numpy scalars; keep scalars as Python floats."""
    return float(v) if np.ndim(v) == 0 else v


def _transpose(x: Value) -> Value:
    return np.transpose(x) if is_array(x) else x


def _size(x: Value) -> int:
    return x.size if is_array(x) else 1


# bce follows PyTorch's binary_cross_entropy where the textbook formula breaks down:
# 0 log 0 = 0, so a perfect prediction (yhat = y = 0 or 1) costs 0 instead of NaN, and a
# certain wrong one (yhat = 0 where y = 1) costs inf (PyTorch clamps the value too and
# says 100; the true inf is kept and reported as non-finite); the derivatives are PyTorch's,
# finite for every yhat in [0, 1]: d/dyhat = (yhat - y) / max(yhat (1 - yhat), 1e-12) / K,
# d/dy = (log(1 - yhat) - log yhat) / K with each log clamped at -100. Where yhat is not
# in [0, 1] the cost is undefined: value and both derivatives are NaN.
_BCE_LOG_FLOOR = -100.0   # its clamp of log in the target's derivative
_BCE_EPS = 1e-12          # its floor under yhat (1 - yhat) in the prediction's derivative


def _xlog(a: Value, b: Value) -> Value:
    """a * log(b) with 0 log 0 = 0 (0 wherever a == 0 and b >= 0)."""
    return np.where((np.asarray(a) == 0) & (np.asarray(b) >= 0), 0.0, a * np.log(b))


def _outside_unit(yhat: Value) -> Value:
    """Where a prediction is not a probability (NaN included): bce is undefined there."""
    return ~((np.asarray(yhat) >= 0) & (np.asarray(yhat) <= 1))


def _bce_forward(yhat: Value, y: Value) -> Value:
    with np.errstate(all="ignore"):
        terms = -(_xlog(y, yhat) + _xlog(1.0 - y, 1.0 - yhat))
    return _as_value(np.mean(terms))


def _bce_d_yhat(yhat: Value, y: Value) -> Value:
    k = max(_size(yhat), _size(y))
    with np.errstate(all="ignore"):
        d = (yhat - y) / np.maximum(yhat * (1.0 - yhat), _BCE_EPS) / k
        return _as_value(np.where(_outside_unit(yhat), np.nan, d))


def _bce_d_y(yhat: Value, y: Value) -> Value:
    k = max(_size(yhat), _size(y))
    with np.errstate(all="ignore"):
        d = (np.maximum(np.log(1.0 - yhat), _BCE_LOG_FLOOR)
             - np.maximum(np.log(yhat), _BCE_LOG_FLOOR)) / k
        return _as_value(np.where(_outside_unit(yhat), np.nan, d))


def _POW(x: float, y: float) -> float:
    return x ** y


def _ew(fn: Callable) -> Callable:
    """A numpy forward run with floating-point warnings silenced (the engine reports them)."""

    def run(*args: Value) -> Value:
        with np.errstate(all="ignore"):
            return fn(*args)

    return run


# --- the registry ---------------------------------------------------------------------------

_RECORDS: list[Op] = [
    # Infix arithmetic. Precedence is Python's: + - (1) < * / @ (2) < unary (3) < ** (4).
    Op("add", "+", 2, symbol="+", precedence=1,
       forward=_scalar_or_array(lambda x, y: x + y, _ew(np.add)), broadcasts=True,
       vjp=(lambda g, out, x, y: g, lambda g, out, x, y: g),
       jvp=(lambda t, out, x, y: t, lambda t, out, x, y: t),
       doc="x + y"),
    Op("sub", "−", 2, symbol="-", precedence=1,
       forward=_scalar_or_array(lambda x, y: x - y, _ew(np.subtract)), broadcasts=True,
       vjp=(lambda g, out, x, y: g, lambda g, out, x, y: -g), fresh=(False, True),
       jvp=(lambda t, out, x, y: t, lambda t, out, x, y: -t),
       doc="x - y"),
    _binary("mul", "*", "*", 2, lambda x, y: x * y, _ew(np.multiply),
            lambda x, y, out: y, lambda x, y, out: x, "x * y (elementwise)"),
    Op("div", "/", 2, symbol="/", precedence=2,
       forward=_scalar_or_array(lambda x, y: x / y, _ew(np.divide)), broadcasts=True,
       vjp=(lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y), fresh=(True, True),
       jvp=(lambda t, out, x, y: t / y, lambda t, out, x, y: -t * out / y),
       doc="x / y (elementwise)"),
    _binary("pow", "**", "**", 4, _POW, _ew(np.power), _pow_dx, _pow_dy,
            "x ** y (elementwise)"),
    Op("matmul", "@", 2, symbol="@", precedence=2,
       forward=_matmul,
       vjp=(_matmul_vjp_a, _matmul_vjp_b), fresh=(True, True),
       jvp=(lambda t, out, a, b: _as_value(np.matmul(t, b)),
            lambda t, out, a, b: _as_value(np.matmul(a, t))),
       doc="a @ b, as numpy.matmul"),
    Op("neg", "−", 1, symbol="-", precedence=3,
       forward=lambda x: -x,
       vjp=(lambda g, out, x: -g,), fresh=(True,),
       jvp=(lambda t, out, x: -t,),
       doc="-x"),
    # Functions.
    _unary("relu", "relu", _relu, lambda x: np.maximum(x, 0.0),
           _relu_d, "max(x, 0); relu'(0) = 0"),
    _unary("tanh", "tanh", math.tanh, np.tanh, lambda x, out: 1.0 - out * out, "tanh(x)"),
    _unary("sigmoid", "σ", _sigmoid_scalar, _sigmoid_array, lambda x, out: out * (1.0 - out),
           "1 / (1 + exp(-x))"),
    _unary("exp", "exp", math.exp, _ew(np.exp), lambda x, out: out, "e ** x"),
    _unary("log", "log", math.log, _ew(np.log), _log_d,
           "natural logarithm"),
    _unary("sin", "sin", math.sin, np.sin,
           lambda x, out: np.cos(x) if is_array(x) else math.cos(x), "sin(x)"),
    _unary("cos", "cos", math.cos, np.cos,
           lambda x, out: -(np.sin(x) if is_array(x) else math.sin(x)), "cos(x)"),
    _unary("sqrt", "sqrt", math.sqrt, _ew(np.sqrt), lambda x, out: 0.5 / out,
           "square root"),
    _unary("abs", "abs", abs, np.abs, _abs_d, "|x|; abs'(0) = 0"),
    _unary("sign", "sign", _sign, np.sign, lambda x, out: _const_like(x, 0.0),
           "-1, 0 or 1; derivative 0 everywhere"),
    _unary("gelu", "gelu", lambda x: x * _phi_cdf(x), lambda x: x * _phi_cdf(x),
           lambda x, out: _phi_cdf(x) + x * _phi_pdf(x), "x * Phi(x), exact (erf) form"),
    _unary("gelu_tanh", "gelu", _gelu_tanh, _gelu_tanh, _gelu_tanh_d,
           "gelu's tanh approximation"),
    _unary("softplus", "softplus", _softplus_scalar, lambda x: np.logaddexp(0.0, x),
           lambda x, out: _sigmoid_scalar(x) if not is_array(x) else _sigmoid_array(x),
           "log(1 + exp(x))"),
    _binary("leaky_relu", "leaky_relu", None, 100,
            lambda x, s: x if x > 0 else s * x, lambda x, s: np.where(x > 0, x, s * x),
            lambda x, s, out: _where(x > 0, x > 0, 1.0, s) * 1.0,
            lambda x, s, out: _where(x > 0, x > 0, 0.0, x) * 1.0,
            "x if x > 0 else slope * x; slope defaults to 0.01; derivative at 0 is slope",
            defaults=(0.01,)),
    Op("sum", "Σ", 1,
       forward=lambda x: _as_value(np.sum(x)) if is_array(x) else x,
       vjp=(lambda g, out, x: np.broadcast_to(g, np.shape(x)) if is_array(x) else g,),
       jvp=(lambda t, out, x: _as_value(np.sum(t)),),
       doc="sum of all elements"),
    Op("mean", "mean", 1,
       forward=lambda x: _as_value(np.mean(x)) if is_array(x) else x,
       vjp=(lambda g, out, x: np.broadcast_to(g / x.size, x.shape) if is_array(x) else g,),
       jvp=(lambda t, out, x: _as_value(np.mean(t)) if is_array(x) else t,),
       doc="mean of all elements"),
    Op("transpose", "ᵀ", 1,
       forward=_transpose,
       vjp=(lambda g, out, x: _transpose(g),),
       jvp=(lambda t, out, x: _transpose(t),),
       doc="matrix transpose (reverses all axes)"),
    Op("mse", "mse", 2, cost=True,
       forward=lambda yhat, y: _as_value(np.sum(np.square(np.subtract(yhat, y)))),
       vjp=(lambda g, out, yhat, y: g * 2.0 * (yhat - y), lambda g, out, yhat, y: g * -2.0 * (yhat - y)),
       fresh=(True, True),
       jvp=(lambda t, out, yhat, y: _as_value(np.sum(t * 2.0 * (yhat - y))),
            lambda t, out, yhat, y: _as_value(np.sum(t * -2.0 * (yhat - y)))),
       doc="squared error ||yhat - y||**2, as the homework defines it (no 1/K)"),
    Op("bce", "bce", 2, cost=True,
       forward=_bce_forward,
       vjp=(lambda g, out, yhat, y: g * _bce_d_yhat(yhat, y), lambda g, out, yhat, y: g * _bce_d_y(yhat, y)),
       fresh=(True, True),
       jvp=(lambda t, out, yhat, y: _as_value(np.sum(t * _bce_d_yhat(yhat, y))),
            lambda t, out, yhat, y: _as_value(np.sum(t * _bce_d_y(yhat, y)))),
       doc="binary cross-entropy (1/K) sum -[y log yhat + (1-y) log(1-yhat)]; as PyTorch: "
           "0 log 0 = 0, derivatives finite for yhat in [0, 1] (log clamped at -100), "
           "NaN for yhat outside [0, 1]"),
]


def _made_total(op: Op) -> Op:
    """The record with every forward and rule wrapped by :func:`_total`: on Python floats
    they return inf or NaN as their array versions do, and never raise."""
    return replace(op, forward=_total(op.forward), vjp=tuple(map(_total, op.vjp)),
                   jvp=tuple(map(_total, op.jvp)),
                   partials=None if op.partials is None else tuple(map(_total, op.partials)))


_RECORDS = [_made_total(op) for op in _RECORDS]

OPS: dict[str, Op] = {op.name: op for op in _RECORDS}
"""Every operator by name."""

BINARY: dict[str, Op] = {op.symbol: op for op in _RECORDS if op.symbol and op.arity == 2}
"""Infix operators by symbol: ``+ - * / ** @``."""

UNARY: dict[str, Op] = {op.symbol: op for op in _RECORDS if op.symbol and op.arity == 1}
"""Prefix operators by symbol: ``-``."""

FUNCTIONS: dict[str, Op] = {op.name: op for op in _RECORDS if op.symbol is None}
"""Operators written as calls, ``relu(x)``, by name."""
