"""The operator registry: one record per operator with its forward and both derivative rules.

Every rule is pure and per operand. A reverse rule ``vjp(g, out, *args)`` maps the
cotangent ``g`` of the result to this operand's contribution; a forward rule
``jvp(t, out, *args)`` maps this operand's tangent ``t`` to its part of the result's
tangent. The symbolic reverse rule ``vjp_expr(g, out, *args)`` is the same computation on
expressions (``compgraph.symbolic``), written with the same grouping, so that the backward
pass printed as a program (``compgraph backprop``) gives the engine's numbers exactly; it
returns ``None`` for a contribution that is always zero. The engine (``compgraph.differentiate``) sums contributions, skips constants and
un-broadcasts, so no rule does any of that.

Values are Python floats for scalars and float64 ``numpy`` arrays otherwise; every forward
handles both, so scalar programs run on plain floats. The registry wraps every forward and
rule (:func:`_total`) so that on floats, too, they give inf or NaN where Python's float
arithmetic would raise: the same numbers as on arrays, never an exception.

Some operators have static parameters (:class:`Param`: an axis, a shape, an index), fixed
when the graph is built and never differentiated. A node stores them (``Node.params``) and
the engine passes them to the forward and to every rule as keyword arguments:
``vjp(g, out, x, axis=0)``.

>>> OPS["mul"].forward(2.0, 3.0)
6.0
>>> OPS["mul"].vjp[0](1.0, 6.0, 2.0, 3.0)  # d(x*y)/dx at (2, 3) is y
3.0
>>> sorted(FUNCTIONS)[:4]
['abs', 'bce', 'cos', 'cross_entropy']
>>> OPS["sum"].forward(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)
array([4., 6.])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .symbolic import SymbolicError, broadcast as sym_broadcast, call as sym

Value = Any  # float | numpy.ndarray
Rule = Callable[..., Value]

_REQUIRED = object()


class OperandError(ValueError):
    """An operand an operator cannot take (an axis or an index out of range, sizes that do
    not reshape); the message is a whole sentence, which evaluation places in the program."""


class ParamError(ValueError):
    """A static parameter that is unknown or has a bad value; ``name`` is the parameter."""

    def __init__(self, name: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.reason = reason or message  # the message without the operator's name


@dataclass(frozen=True)
class Param:
    """A static parameter of an operator: in the language a keyword argument (``axis=0``),
    or, when ``positional``, a constant after the operands (``reshape(x, [2, 3])``).

    ``check`` turns a given value (a number or a nested list, as literals are) into the
    stored one, hashable and canonical (``0.0`` and ``0`` both become ``0``), or raises
    ``ValueError``; ``text`` writes a stored value back in the language.
    """

    name: str
    check: Callable[[Any], Any]
    text: Callable[[Any], str]
    default: Any = _REQUIRED
    positional: bool = False
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


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
    precedence: int = 100          # printing: 1 (+ -), 2 (* / @), 3 (unary), 4 (**), 5 (x[i]), 100 (call)
    cost: bool = False             # a loss: drawn as a cost square; (prediction, target) of one shape
    defaults: tuple[float, ...] = ()  # values for omitted trailing arguments
    doc: str = ""
    # Elementwise ops whose reverse rule is ``g * partial(out, *args)`` give the partials
    # too, so that reverse mode can skip the multiplication when ``g`` is all ones.
    partials: tuple[Rule, ...] | None = None
    params: tuple[Param, ...] = ()    # static parameters, passed to every rule by keyword
    show: Callable[..., str] | None = None  # the block's label from the parameters
    # Per operand: whether the reverse rule's result, when it is an array, is always a new
    # array that nothing else refers to (``g * y`` is; ``g`` itself or a view of it is
    # not). Reverse mode adds later contributions into such an array in place instead of
    # allocating a sum; ``()`` claims nothing, which is always safe.
    fresh: tuple[bool, ...] = ()
    # Elementwise with NumPy broadcasting between the operands (evaluation warns when the
    # result is larger than every operand: an outer broadcast, usually a shape mistake).
    broadcasts: bool = False
    # The reverse rule per operand on symbolic expressions (see the module's docstring).
    vjp_expr: tuple[Rule, ...] | None = None
    # The forward on float64 arrays written into a given array: ``into(out, *args)``, for
    # elementwise operators whose forward always gives a new array on arrays. Evaluation
    # may then compute an anonymous intermediate's only user into the intermediate's own
    # array (evaluation made that array, and nothing else refers to it) instead of
    # allocating another one, as NumPy reuses the temporary of ``x*y + z``; and
    # ``into(None, *args)`` is the forward on arrays, a new array.
    into: Callable[..., Any] | None = None
    # Per operand's reverse rule (and partial): the values it reads, ``"o"`` for the
    # result and ``"0"``, ``"1"`` for the operands (``"1"`` for ``g * y``); ``None`` claims
    # nothing, which is always safe. A value that no rule to be run reads need not be kept.
    reads: tuple[str, ...] | None = None

    @property
    def min_arity(self) -> int:
        return self.arity - len(self.defaults)

    def label_for(self, params: Mapping[str, Any]) -> str:
        """What a picture shows on the block: ``Σ`` for ``sum(x)``, ``Σ₀`` for
        ``sum(x, axis=0)``, ``[:, 1]`` for ``W[:, 1]``."""
        return self.show(**params) if self.show is not None else self.label

    def param(self, name: str) -> Param:
        """The parameter ``name``; :class:`ParamError` listing the valid ones otherwise."""
        for p in self.params:
            if p.name == name:
                return p
        if not self.params:
            plural = "" if self.arity == 1 else "s"
            raise ParamError(name, f"{self.name}() takes no keyword arguments ({name}=): give "
                                   f"its argument{plural} in order")
        valid = ", ".join(p.name for p in self.params)
        raise ParamError(name, f"{self.name}() has no parameter {name!r}; its "
                               f"keyword{'s' if len(self.params) > 1 else ''}: {valid}")

    def bind(self, given: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
        """The stored parameters of one use: each given value checked and made canonical,
        defaults filled in, in the record's order (so that ``softmax(x)`` and
        ``softmax(x, axis=-1)`` make equal graphs). Raises :class:`ParamError`.

        >>> OPS["sum"].bind({"axis": 1.0})
        (('axis', 1),)
        >>> OPS["softmax"].bind({})
        (('axis', -1),)
        """
        for name in given:
            self.param(name)
        out = []
        for p in self.params:
            if p.name in given:
                try:
                    value = p.check(given[p.name])
                except ValueError as exc:
                    raise ParamError(p.name, f"{self.name}(): {exc}", str(exc)) from None
            elif p.required:
                raise ParamError(p.name, f"{self.name}() needs its {p.name} ({p.doc})")
            else:
                value = p.default
            out.append((p.name, value))
        return tuple(out)


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

    def run(*args: Value, **params: Any) -> Value:
        try:
            out = rule(*args, **params)
        except OperandError:  # the operator's own sentence about its operand, not arithmetic
            raise
        except (ArithmeticError, ValueError):
            if not any(type(a) is float for a in args):
                raise
            return _on_0d_arrays(rule, args, params)
        if type(out) is float or type(out) is np.ndarray:
            return out
        if isinstance(out, complex):
            return _on_0d_arrays(rule, args, params)
        return float(out)  # numpy scalars, ints and bools from scalar arithmetic

    run.__wrapped__ = rule  # type: ignore[attr-defined]
    run.__doc__ = rule.__doc__
    return run


def _on_0d_arrays(rule: Callable, args: tuple[Value, ...], params: Mapping[str, Any]) -> Value:
    with np.errstate(all="ignore"):
        out = rule(*(np.array(a) if type(a) is float else a for a in args), **params)
    return float(out) if np.ndim(out) == 0 else out


def _const_like(x: Value, c: float) -> Value:
    return np.full(np.shape(x), c) if is_array(x) else c


def _where(cond_array, cond_scalar: bool, a: Value, b: Value) -> Value:
    return np.where(cond_array, a, b) if is_array(cond_array) else (a if cond_scalar else b)


# --- elementwise helpers -------------------------------------------------------------------

def _times(g: Any, d: Any) -> Any:
    """``g * d`` on expressions, where ``d`` is ``None`` for a derivative that is always 0."""
    return None if d is None else g * d


def _unary(name: str, label: str, f_scalar: Callable, f_array: Callable,
           deriv: Callable[[Value, Value], Value], doc: str,
           deriv_expr: Callable[[Any, Any], Any] | None = None, *,
           into: Callable[..., Any] | None = None, reads: str | None = None) -> Op:
    """An elementwise one-operand op given its derivative ``deriv(x, out)`` (and the same
    derivative on expressions, ``deriv_expr``; by default ``deriv`` itself, which suits
    derivatives written with arithmetic only); ``reads`` says which of x ("0") and out
    ("o") the derivative reads, ``into`` is ``Op.into``."""
    sym_d = deriv if deriv_expr is None else deriv_expr
    return Op(
        name=name, label=label, arity=1,
        forward=_scalar_or_array(f_scalar, f_array),
        vjp=(lambda g, out, x: g * deriv(x, out),),
        jvp=(lambda t, out, x: t * deriv(x, out),),
        doc=doc, partials=(lambda out, x: deriv(x, out),), fresh=(True,),
        vjp_expr=(lambda g, out, x: _times(g, sym_d(x, out)),),
        into=into, reads=None if reads is None else (reads,),
    )


def _binary(name: str, label: str, symbol: str | None, precedence: int,
            f: Callable, f_array: Callable, dx: Callable, dy: Callable, doc: str,
            defaults: tuple[float, ...] = (), dx_expr: Callable | None = None,
            dy_expr: Callable | None = None, into: Callable[..., Any] | None = None,
            reads: tuple[str, str] | None = None) -> Op:
    """An elementwise two-operand op given its partials ``dx(x, y, out)``, ``dy(x, y, out)``
    (and on expressions ``dx_expr``, ``dy_expr``, by default the same functions)."""
    sx = dx if dx_expr is None else dx_expr
    sy = dy if dy_expr is None else dy_expr
    return Op(
        name=name, label=label, arity=2, symbol=symbol, precedence=precedence,
        forward=_scalar_or_array(f, f_array),
        vjp=(lambda g, out, x, y: g * dx(x, y, out), lambda g, out, x, y: g * dy(x, y, out)),
        jvp=(lambda t, out, x, y: t * dx(x, y, out), lambda t, out, x, y: t * dy(x, y, out)),
        doc=doc, defaults=defaults,
        partials=(lambda out, x, y: dx(x, y, out), lambda out, x, y: dy(x, y, out)),
        fresh=(True, True), broadcasts=True,
        vjp_expr=(lambda g, out, x, y: _times(g, sx(x, y, out)),
                  lambda g, out, x, y: _times(g, sy(x, y, out))),
        into=into, reads=reads,
    )


# --- scalar helpers that keep IEEE semantics -------------------------------------------------

def _relu(x: float) -> float:
    """max(x, 0) on a float, NaN staying NaN as in ``numpy.maximum``."""
    return 0.0 if x <= 0 else x


def _relu_d(x: Value, out: Value) -> Value:
    return (x > 0) * 1.0 if is_array(x) else (1.0 if x > 0 else 0.0)


def _relu_vjp(g: Value, out: Value, x: Value) -> Value:
    # g times the mask itself: NumPy multiplies by a boolean as by 1.0 or 0.0 (the same
    # bits as g * relu'(x), -0.0 and NaN included), one pass over a batch fewer.
    return g * (x > 0) if is_array(x) else g * _relu_d(x, out)


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
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_d(x: Value, out: Value) -> Value:
    return _TWO_OVER_SQRT_PI * (np.exp(-x * x) if is_array(x) else math.exp(-x * x))


def _times_vanishing(x: Value, small: Value) -> Value:
    """``x * small`` where ``small`` decays faster than x grows (Phi(x), phi(x) as x -> ±inf):
    0 where ``small`` is exactly 0, so gelu(-inf) is 0 and gelu'(±inf) is 0 or 1, not NaN."""
    with np.errstate(invalid="ignore"):
        product = x * small
    if is_array(product):
        return np.where(small == 0, 0.0, product)
    return 0.0 if small == 0 else product


def _gelu(x: Value) -> Value:
    return _times_vanishing(x, _phi_cdf(x))


def _gelu_d(x: Value, out: Value) -> Value:
    return _phi_cdf(x) + _times_vanishing(x, _phi_pdf(x))


def _gelu_d_expr(x: Any, out: Any) -> Any:
    """gelu' = Phi(x) + x phi(x), grouped as _phi_cdf and _phi_pdf compute it."""
    cdf = 0.5 * (1.0 + sym("erf", x * _SQRT1_2))
    return cdf + x * (_INV_SQRT_2PI * sym("exp", -0.5 * x * x))


def _gelu_tanh(x: Value) -> Value:
    th = np.tanh if is_array(x) else math.tanh
    with np.errstate(over="ignore"):
        u = _GELU_C * (x + 0.044715 * x ** 3)
    return 0.5 * _times_vanishing(x, 1.0 + th(u))


def _gelu_tanh_d(x: Value, out: Value, tanh: Callable | None = None) -> Value:
    th = tanh or (np.tanh if is_array(x) else math.tanh)
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
        if type(y) is float and math.isfinite(y) and math.floor(y) == y:  # x**2: no NaN to place
            return y * x ** (y - 1.0)
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


def _matmul_into(out: np.ndarray | None, a: Value, b: Value) -> Value:
    """``a @ b`` written into ``out`` (evaluation gives it an array of the product's shape),
    or with no ``out`` the forward itself: a product of two vectors is a number."""
    if out is None:
        return _matmul(a, b)
    return np.matmul(a, b, out=out)


def _dense(g: Value) -> Value:
    """``g`` in contiguous memory. A cotangent may be a broadcast view (what a sum over an
    axis hands back), and NumPy may multiply such a view by a matrix in another order of
    additions than the same numbers laid out densely: the last bits would then depend on
    how the engine stored ``g``, and no longer equal what ``backprop``'s program computes."""
    return np.ascontiguousarray(g) if is_array(g) else g


def fortran(m: Any) -> bool:
    """Whether the matrix ``m`` is laid out column by column (a transposed view, as
    ``transpose(W)`` of a matrix ``W`` is): on expressions, what the printer saw the engine's
    value to be (``Expr.layout``).

    The reverse rules of ``@`` lay an operand's adjoint out as the operand: for
    ``S = X @ transpose(W)`` the adjoint of ``transpose(W)`` is ``transpose(transpose(G) @ X)``,
    the same numbers as ``transpose(X) @ G``, so ``W``'s own is ``transpose(G) @ X``, row by
    row as ``W`` is. BLAS makes that product of a batch about a fifth faster than the other
    (784-128, batch 256), and it is the textbook's dW = dSᵀX."""
    if isinstance(m, np.ndarray):
        return m.ndim == 2 and m.flags.f_contiguous and not m.flags.c_contiguous
    return getattr(m, "layout", None) == "F"


def _matmul_vjp_a(g: Value, out: Value, a: np.ndarray, b: np.ndarray) -> Value:
    if a.ndim == 1 and b.ndim == 1:  # a dot product: the cotangent is a scalar
        return g * b
    g = np.asarray(_dense(g))
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    if a.ndim == 2 and b.ndim == 2 and fortran(a):
        return np.matmul(b, g.T).T  # laid out as a: see fortran
    b2 = b[:, None] if b.ndim == 1 else b
    da = np.matmul(g, np.swapaxes(b2, -1, -2))
    return da[..., 0, :] if a.ndim == 1 else da


def _matmul_dims(a: Any, b: Any) -> tuple[int, int]:
    if a.ndim > 2 or b.ndim > 2:
        raise SymbolicError("the backward pass of '@' is written for vectors and matrices; "
                            f"shapes {a.shape} and {b.shape} need a transpose of the last two "
                            "axes, which the language does not have")
    return a.ndim, b.ndim


def _matmul_vjp_a_expr(g: Any, out: Any, a: Any, b: Any) -> Any:
    da, db = _matmul_dims(a, b)
    if db == 1:
        return g * b if da == 1 else sym("outer", g, b)
    if da == 2 and db == 2 and fortran(a):
        return sym("transpose", b @ sym("transpose", g))
    return b @ g if da == 1 else g @ sym("transpose", b)


def _matmul_vjp_b_expr(g: Any, out: Any, a: Any, b: Any) -> Any:
    da, db = _matmul_dims(a, b)
    if da == 1:
        return g * a if db == 1 else sym("outer", a, g)
    if da == 2 and db == 2 and fortran(b):
        return sym("transpose", sym("transpose", g) @ a)
    return sym("transpose", a) @ g


def _matmul_vjp_b(g: Value, out: Value, a: np.ndarray, b: np.ndarray) -> Value:
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    g = np.asarray(_dense(g))
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    if a.ndim == 2 and b.ndim == 2 and fortran(b):
        return np.matmul(g.T, a).T  # laid out as b: see fortran
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


def _ln(x: Value) -> Value:
    """The natural logarithm as the ``log`` operator computes it: NumPy's on arrays, the C
    library's on floats (their last bits can differ, and ``backprop`` prints rules with
    ``log``, whose results must match the engine's exactly)."""
    if is_array(x):
        return np.log(x)
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


def _bce_d_y(yhat: Value, y: Value) -> Value:
    k = max(_size(yhat), _size(y))
    with np.errstate(all="ignore"):
        d = (np.maximum(_ln(1.0 - yhat), _BCE_LOG_FLOOR)
             - np.maximum(_ln(yhat), _BCE_LOG_FLOOR)) / k
        return _as_value(np.where(_outside_unit(yhat), np.nan, d))


def _bce_vjp_exprs() -> tuple[Rule, Rule]:
    def k(yhat: Any, y: Any) -> float:
        return float(max(int(np.prod(yhat.shape)), int(np.prod(y.shape))))

    # As the numeric rules, clamps included (exact inside [0, 1]; outside it the engine
    # gives NaN, which the language has no `where` to write).
    def d_yhat(g: Any, out: Any, yhat: Any, y: Any) -> Any:
        return g * ((yhat - y) / sym("maximum", yhat * (1.0 - yhat), _BCE_EPS) / k(yhat, y))

    def d_y(g: Any, out: Any, yhat: Any, y: Any) -> Any:
        return g * ((sym("maximum", sym("log", 1.0 - yhat), _BCE_LOG_FLOOR)
                     - sym("maximum", sym("log", yhat), _BCE_LOG_FLOOR)) / k(yhat, y))

    return d_yhat, d_y


def _relu_d_expr(x: Any, out: Any) -> Any:
    """relu'(x) = 1 where x > 0, else 0: the sign of relu(x)."""
    return sym("sign", out)


def _leaky_dx_expr(x: Any, s: Any, out: Any) -> Any:
    """1 where x > 0, else the slope: 1 + 0*s or 0 + 1*s, exact for a finite slope."""
    above = sym("sign", sym("relu", x))
    return above + (1.0 - above) * s


def _leaky_ds_expr(x: Any, s: Any, out: Any) -> Any:
    """0 where x > 0, else x: x - relu(x), exact."""
    return x - sym("relu", x)


def _POW(x: float, y: float) -> float:
    return x ** y


def _ew(fn: Callable) -> Callable:
    """A numpy forward run with floating-point warnings silenced (the engine reports them)."""

    def run(*args: Value) -> Value:
        with np.errstate(all="ignore"):
            return fn(*args)

    return run


# --- static parameters: axes, shapes, indices ------------------------------------------------

def _integer(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} must be an integer, not {v!r}")
    # An int is whole already (and 10**400 fits no float).
    if not isinstance(v, (int, np.integer)) and not float(v).is_integer():
        raise ValueError(f"{what} must be an integer, not {v!r}")
    return int(v)


def _axis_or_axes(v: Any) -> int | tuple[int, ...] | None:
    """``None`` (every element), an integer, or a list of distinct integers."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        axes = tuple(_integer(a, "each axis") for a in v)
        if not axes:
            raise ValueError("an empty list of axes; leave axis out to reduce every element")
        if len(set(axes)) != len(axes):
            raise ValueError(f"an axis appears twice in {list(axes)}")
        return axes[0] if len(axes) == 1 else axes
    return _integer(v, "an axis")


def _one_axis(v: Any) -> int:
    return _integer(v, "the axis")


def _shape(v: Any) -> tuple[int, ...]:
    """A list of sizes, at most one of them -1 (inferred), the others positive."""
    sizes = v if isinstance(v, (list, tuple)) else [v]
    shape = tuple(_integer(s, "each size") for s in sizes)
    if not shape:
        raise ValueError("an empty shape; a shape lists the sizes, e.g. [2, 3]")
    if any(s == 0 or s < -1 for s in shape) or shape.count(-1) > 1:
        raise ValueError(f"the sizes of a shape are positive, with at most one -1 for a "
                         f"size to infer; got {list(shape)}")
    return shape


class Slice(NamedTuple):
    """One slice of an index, ``start:stop:step``, each part ``None`` when left out."""

    start: int | None
    stop: int | None
    step: int | None


def _index(v: Any) -> tuple[int | Slice, ...]:
    """An index as the engine stores it: a tuple of integers and :class:`Slice` entries.
    Takes Python's forms too (``0``, ``slice(1, 3)``, ``(slice(None), 1)``)."""
    entries = v if isinstance(v, tuple) and not isinstance(v, Slice) else (v,)
    out: list[int | Slice] = []
    for e in entries:
        if isinstance(e, slice):
            e = Slice(e.start, e.stop, e.step)
        if isinstance(e, Slice):
            parts = tuple(None if p is None else _integer(p, "a slice bound") for p in e)
            if parts[2] == 0:
                raise ValueError("a slice step cannot be zero")
            out.append(Slice(*parts))
        else:
            out.append(_integer(e, "an index"))
    if not out:
        raise ValueError("an empty index")
    return tuple(out)


def _key(index: tuple[int | Slice, ...]) -> tuple[int | slice, ...]:
    return tuple(slice(*e) if isinstance(e, Slice) else e for e in index)


def _axis_text(v: Any) -> str:
    return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, tuple) else str(v)


def index_text(index: tuple[int | Slice, ...]) -> str:
    """An index as the language writes it between brackets.

    >>> index_text((Slice(None, None, None), 1)), index_text((Slice(1, 3, None),))
    (':, 1', '1:3')
    >>> index_text((Slice(None, None, -1),)), index_text((-1,))
    ('::-1', '-1')
    """
    def one(e: int | Slice) -> str:
        if not isinstance(e, Slice):
            return str(e)
        text = ":".join("" if p is None else str(p) for p in e[:2])
        return text if e.step is None else f"{text}:{e.step}"

    return ", ".join(one(e) for e in index)


_SUBSCRIPTS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def _with_axis(label: str, default: Any = None) -> Callable[..., str]:
    """A label with the axis as a subscript (``Σ₀``), plain for the default axis."""

    def show(axis: Any) -> str:
        if axis == default:
            return label
        axes = axis if isinstance(axis, tuple) else (axis,)
        return label + ",".join(str(a) for a in axes).translate(_SUBSCRIPTS)

    return show


AXIS_ALL = Param("axis", _axis_or_axes, _axis_text, default=None,
                 doc="an integer or a list of them; leave it out for every element")
AXIS_LAST = Param("axis", _one_axis, str, default=-1, doc="an integer; the last axis by default")
SHAPE = Param("shape", _shape, _axis_text, positional=True,
              doc="a constant list of sizes such as [2, 3], one of them may be -1")
INDEX = Param("index", _index, index_text, doc="integers and slices")


def call_text(name: str, args: Sequence[str], params: Mapping[str, Any] | None = None) -> str:
    """A use of operator ``name`` written in the language, given its operands' text
    (already parenthesized as needed) and its parameters; defaults are left out.

    >>> call_text("sum", ["x"], {"axis": 0}), call_text("softmax", ["z"], {"axis": -1})
    ('sum(x, axis=0)', 'softmax(z)')
    >>> call_text("index", ["W"], {"index": (Slice(None, None, None), 1)})
    'W[:, 1]'
    >>> call_text("reshape", ["x"], {"shape": (2, 3)})
    'reshape(x, [2, 3])'
    """
    op = OPS[name]
    params = params or {}
    if op is OPS["index"]:
        return f"{args[0]}[{index_text(params['index'])}]"
    parts = list(args)
    for p in op.params:
        value = params.get(p.name, p.default)
        if p.positional:
            parts.append(p.text(value))
        elif value != p.default:
            parts.append(f"{p.name}={p.text(value)}")
    return f"{name}({', '.join(parts)})"


# --- reductions, softmax and friends ---------------------------------------------------------

def _shape_text(shape: tuple[int, ...]) -> str:
    return "a scalar" if shape == () else f"shape {shape}"


def _axes_of(name: str, x: Value, axis: Any) -> tuple[int, ...] | None:
    """``axis`` as non-negative axes of ``x``; :class:`OperandError` when one is out of range."""
    if axis is None:
        return None
    ndim = np.ndim(x)
    axes = axis if isinstance(axis, tuple) else (axis,)
    for a in axes:
        if not -ndim <= a < ndim:
            valid = (f"its axes are {', '.join(map(str, range(ndim)))} (or "
                     f"{', '.join(map(str, range(-ndim, 0)))} from the end)" if ndim else
                     "a scalar has no axes")
            raise OperandError(f"{name} over axis {a}: the operand has {_shape_text(np.shape(x))}; "
                               f"{valid}")
    normal = tuple(a % ndim for a in axes)
    if len(set(normal)) != len(normal):
        raise OperandError(f"{name} over axes {list(axes)}: they name the same axis twice")
    return normal


def _keep(v: Value, axes: tuple[int, ...] | None, ndim: int) -> Value:
    """A reduced value with the reduced axes put back as size 1 (so it broadcasts)."""
    if axes is None:
        return np.reshape(v, (1,) * ndim)
    return np.expand_dims(v, axes)


def _spread(g: Value, x: Value, axes: tuple[int, ...] | None) -> Value:
    """A reduction's cotangent broadcast back over the reduced axes (read-only view)."""
    return np.broadcast_to(_keep(g, axes, x.ndim), x.shape)


def _reduction(name: str, fn: Callable) -> Callable:
    def forward(x: Value, axis: Any = None) -> Value:
        axes = _axes_of(name, x, axis)
        if not is_array(x):
            return x
        return _as_value(fn(x, axis=axes))

    return forward


def _sum_vjp(g: Value, out: Value, x: Value, axis: Any = None) -> Value:
    return _spread(g, x, _axes_of("sum", x, axis)) if is_array(x) else g


def _sum_jvp(t: Value, out: Value, x: Value, axis: Any = None) -> Value:
    return _as_value(np.sum(t, axis=_axes_of("sum", x, axis))) if is_array(x) else t


def _mean_vjp(g: Value, out: Value, x: Value, axis: Any = None) -> Value:
    if not is_array(x):
        return g
    return _spread(g, x, _axes_of("mean", x, axis)) / (x.size // max(np.size(out), 1))


def _mean_jvp(t: Value, out: Value, x: Value, axis: Any = None) -> Value:
    return _as_value(np.mean(t, axis=_axes_of("mean", x, axis))) if is_array(x) else t


def _tie_weights(name: str, x: np.ndarray, out: Value, axis: Any) -> np.ndarray:
    """1/k at each of the k elements equal to the extreme, 0 elsewhere (torch.amax's rule)."""
    axes = _axes_of(name, x, axis)
    hit = x == _keep(out, axes, x.ndim)
    return hit / np.sum(hit, axis=axes, keepdims=True)


def _weighted_reduction(name: str, label: str, forward: Callable,
                        weights: Callable[[np.ndarray, Value, Any], np.ndarray], doc: str) -> Op:
    """A reduction over ``axis`` (every element by default) whose derivative with respect
    to each element is ``weights(x, out, axis)``: max and min (the ties), logsumexp (the
    softmax). A scalar operand is its own reduction; its weight is taken as for a
    one-element array (a NaN max or an infinite logsumexp has a NaN slope, as on arrays and
    in PyTorch)."""

    def scalar_weight(x: float, out: float, axis: Any) -> float:
        with np.errstate(all="ignore"):
            return float(weights(np.array([x]), out, axis)[0])

    return Op(
        name=name, label=label, arity=1, params=(AXIS_ALL,), show=_with_axis(label),
        forward=forward,
        vjp=(lambda g, out, x, axis=None:
             _spread(g, x, _axes_of(name, x, axis)) * weights(x, out, axis)
             if is_array(x) else g * scalar_weight(x, out, axis),),
        vjp_expr=(lambda g, out, x, axis=None:
                  _spread_expr(g, x, _axes_expr(x, axis)) * _weights_expr(name)(x, out, axis)
                  if x.shape else g,),
        jvp=(lambda t, out, x, axis=None:
             _as_value(np.sum(t * weights(x, out, axis), axis=_axes_of(name, x, axis)))
             if is_array(x) else t * scalar_weight(x, out, axis),),
        doc=doc)


def _extreme(name: str, fn: Callable) -> Op:
    return _weighted_reduction(
        name, name, _reduction(name, fn),
        lambda x, out, axis: _tie_weights(name, x, out, axis),
        f"the {'largest' if name == 'max' else 'smallest'} element (over axis, or all); "
        f"ties share the gradient evenly, as torch.amax/amin (not torch.{name}, which "
        f"gives it all to one index)")


def _shifted(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``x`` minus its maximum along ``axes`` (where that is finite): exp cannot overflow."""
    m = np.max(x, axis=axes, keepdims=True)
    return x - np.where(np.isfinite(m), m, 0.0)


def _logsumexp(x: Value, axis: Any = None) -> Value:
    axes = _axes_of("logsumexp", x, axis)
    if not is_array(x):
        return x
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(all="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return _as_value(np.squeeze(out, axis=axes) if axes is not None else out.reshape(()))


def _lse_weights(x: np.ndarray, out: Value, axis: Any) -> np.ndarray:
    """d logsumexp / dx: the softmax over the reduced axes."""
    with np.errstate(all="ignore"):
        return np.exp(x - _keep(out, _axes_of("logsumexp", x, axis), x.ndim))


def _class_axis(name: str, x: Value, axis: int) -> tuple[int, ...]:
    if not is_array(x):
        raise OperandError(f"{name} needs an array (it normalizes along an axis); "
                           "the operand is a scalar")
    return _axes_of(name, x, axis)  # type: ignore[return-value]


def _softmax(x: Value, axis: int = -1) -> Value:
    axes = _class_axis("softmax", x, axis)
    with np.errstate(all="ignore"):
        e = np.exp(_shifted(x, axes))
        return e / np.sum(e, axis=axes, keepdims=True)


def _softmax_rule(g: Value, out: Value, x: Value, axis: int = -1) -> Value:
    # J = diag(p) - p pᵀ is symmetric: the same map in both modes.
    return out * (g - np.sum(g * out, axis=axis, keepdims=True))


def _log_softmax(x: Value, axis: int = -1) -> Value:
    axes = _class_axis("log_softmax", x, axis)
    with np.errstate(all="ignore"):
        z = _shifted(x, axes)
        return z - np.log(np.sum(np.exp(z), axis=axes, keepdims=True))


def _ce_parts(z: Value, t: Value) -> tuple[np.ndarray, int]:
    """(log_softmax of the logits over the last axis, the number of samples)."""
    if not is_array(z):
        raise OperandError("cross_entropy needs logits with a class axis (a vector, or one "
                           "row per sample); the logits are a scalar")
    if np.shape(t) != z.shape:
        raise OperandError(f"cross_entropy compares logits with a target of the same shape "
                           f"(probabilities or one-hot), but the logits have shape {z.shape} "
                           f"and the target " + ("is a scalar" if np.shape(t) == () else
                                                 f"has shape {np.shape(t)}"))
    return _log_softmax(z, -1), z.size // z.shape[-1]


def _cross_entropy(z: Value, t: Value) -> Value:
    ls, n = _ce_parts(z, t)
    with np.errstate(all="ignore"):
        terms = np.where(np.asarray(t) == 0, 0.0, t * ls)  # 0 log 0 = 0
    return _as_value(-np.sum(terms) / n)


def _ce_d_logits(z: Value, t: Value) -> np.ndarray:
    ls, n = _ce_parts(z, t)
    return (np.exp(ls) * np.sum(t, axis=-1, keepdims=True) - t) / n


def _ce_d_target(z: Value, t: Value) -> np.ndarray:
    ls, n = _ce_parts(z, t)
    return -ls / n


def _max_d(x: Value, y: Value, out: Value) -> Value:
    """d maximum(x, y) / dx: 1 where x wins, 1/2 at a tie (as torch.maximum), else 0."""
    if is_array(x) or is_array(y):
        return np.where(np.greater(x, y), 1.0, np.where(np.equal(x, y), 0.5, 0.0))
    return 1.0 if x > y else (0.5 if x == y else 0.0)


def _max_scalar(x: float, y: float) -> float:
    """As numpy.maximum: NaN if either is NaN (Python's max would depend on the order)."""
    return x if x >= y else (y if y > x else x + y)


def _min_scalar(x: float, y: float) -> float:
    return x if x <= y else (y if y < x else x + y)


def _min_d(x: Value, y: Value, out: Value) -> Value:
    return _max_d(y, x, out)


def _outer(a: Value, b: Value) -> Value:
    if not (is_array(a) and is_array(b) and a.ndim == 1 and b.ndim == 1):
        raise OperandError(f"outer takes two vectors, got {_shape_text(np.shape(a))} and "
                           f"{_shape_text(np.shape(b))}")
    return np.outer(a, b)


def _reshape(x: Value, shape: tuple[int, ...]) -> Value:
    size = int(np.size(x))
    known = int(np.prod([s for s in shape if s != -1]))
    fits = size % known == 0 if -1 in shape else size == known
    if not fits:
        want = (f"a multiple of {known} elements" if -1 in shape else f"{known} elements")
        what = "a scalar" if np.shape(x) == () else f"an operand of shape {np.shape(x)}"
        raise OperandError(f"cannot reshape {what} ({size} element"
                           f"{'s' if size != 1 else ''}) into {list(shape)} ({want})")
    return _as_value(np.reshape(x, shape))


def _check_index(x: Value, index: tuple[int | Slice, ...]) -> tuple[int | slice, ...]:
    if not is_array(x):
        raise OperandError(f"cannot index a scalar with [{index_text(index)}]")
    if len(index) > x.ndim:
        raise OperandError(f"[{index_text(index)}] indexes {len(index)} axes, but the operand "
                           f"has shape {x.shape} ({x.ndim} ax{'is' if x.ndim == 1 else 'es'})")
    for axis, e in enumerate(index):
        n = x.shape[axis]
        if not isinstance(e, Slice) and not -n <= e < n:
            raise OperandError(f"index {e} is out of range for axis {axis} of shape {x.shape}: "
                               f"its indices are 0..{n - 1} (or -{n}..-1 from the end)")
    key = _key(index)
    if np.shape(x[key]) and not x[key].size:
        raise OperandError(f"[{index_text(index)}] selects no elements of shape {x.shape}")
    return key


def _index_forward(x: Value, index: tuple) -> Value:
    return _as_value(x[_check_index(x, index)])


def _index_vjp(g: Value, out: Value, x: Value, index: tuple) -> Value:
    # Basic indexing selects each element at most once: the cotangent lands where it came from.
    d = np.zeros(x.shape)
    d[_key(index)] = g
    return d


# --- the same rules on expressions (compgraph backprop) -------------------------------------
# Each mirrors its numeric rule's grouping. keepdims is written as a reshape, and only
# where broadcasting would not line the reduced value up by itself (leading axes do).

def _axes_expr(x: Any, axis: Any) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % len(x.shape) for a in axes)


def _kept_expr(v: Any, x: Any, axes: tuple[int, ...] | None) -> Any:
    """A reduced expression that broadcasts against ``x`` as numpy's keepdims does."""
    if axes is None or axes == tuple(range(len(axes))):
        return v
    kept = tuple(1 if k in axes else n for k, n in enumerate(x.shape))
    return sym("reshape", v, shape=kept)


def _spread_expr(g: Any, x: Any, axes: tuple[int, ...] | None) -> Any:
    return sym_broadcast(_kept_expr(g, x, axes), x.shape)


def _sum_axis(v: Any, axes: tuple[int, ...] | None) -> Any:
    return sym("sum", v) if axes is None else sym("sum", v, axis=axes)


def _sum_vjp_expr(g: Any, out: Any, x: Any, axis: Any = None) -> Any:
    return _spread_expr(g, x, _axes_expr(x, axis)) if x.shape else g


def _mean_vjp_expr(g: Any, out: Any, x: Any, axis: Any = None) -> Any:
    if not x.shape:
        return g
    n = int(np.prod(x.shape)) // max(int(np.prod(out.shape)), 1)
    return _spread_expr(g, x, _axes_expr(x, axis)) / float(n)


def _weights_expr(name: str) -> Callable[[Any, Any, Any], Any]:
    """The derivative of a reduction element by element, as ``_tie_weights`` and
    ``_lse_weights`` compute it: ties of max/min found as x - m == 0 (exact)."""

    def weights(x: Any, out: Any, axis: Any) -> Any:
        axes = _axes_expr(x, axis)
        m = _kept_expr(out, x, axes)
        if name == "logsumexp":
            return sym("exp", x - m)
        hit = 1.0 - sym("sign", sym("abs", x - m))
        return hit / _kept_expr(_sum_axis(hit, axes), x, axes)

    return weights


def _softmax_vjp_expr(g: Any, out: Any, x: Any, axis: int = -1) -> Any:
    axes = _axes_expr(x, axis)
    return out * (g - _kept_expr(_sum_axis(g * out, axes), x, axes))


def _log_softmax_vjp_expr(g: Any, out: Any, x: Any, axis: int = -1) -> Any:
    axes = _axes_expr(x, axis)
    return g - sym("exp", out) * _kept_expr(_sum_axis(g, axes), x, axes)


def _ce_vjp_exprs() -> tuple[Rule, Rule]:
    def n(z: Any) -> float:
        return float(int(np.prod(z.shape)) // z.shape[-1])

    def d_logits(g: Any, out: Any, z: Any, t: Any) -> Any:
        axes = (len(z.shape) - 1,)
        p = sym("exp", sym("log_softmax", z))
        return g * ((p * _kept_expr(_sum_axis(t, axes), z, axes) - t) / n(z))

    def d_target(g: Any, out: Any, z: Any, t: Any) -> Any:
        return g * (-sym("log_softmax", z) / n(z))

    return d_logits, d_target


def _max_d_expr(x: Any, y: Any, out: Any) -> Any:
    """1 where x > y, 1/2 at a tie, 0 below: (1 + sign(x - y)) / 2, exact."""
    return (1.0 + sym("sign", x - y)) / 2.0


def _reshape_vjp_expr(g: Any, out: Any, x: Any, shape: Any) -> Any:
    return sym("reshape", g, shape=x.shape) if x.shape else sym("sum", g)


_MAX_SELECTION = 100_000


def _index_vjp_expr(g: Any, out: Any, x: Any, index: tuple) -> Any:
    """The cotangent put back where the index took it from, zeros elsewhere: a constant
    0/1 selection (a mask times g, or a matrix times g flattened); exact for finite g."""
    positions = np.arange(int(np.prod(x.shape))).reshape(x.shape)[_key(index)]
    taken = np.ravel(positions)
    select = np.zeros((int(np.prod(x.shape)), taken.size))
    select[taken, np.arange(taken.size)] = 1.0
    if select.size > _MAX_SELECTION:
        raise SymbolicError(f"the gradient of [{index_text(index)}] on shape {x.shape} would be "
                            f"written with a {select.shape[0]}×{select.shape[1]} selection "
                            "matrix; compgraph writes it for smaller arrays only")
    if not g.shape:
        return select[:, 0].reshape(x.shape) * g
    flat = g if len(g.shape) == 1 else sym("reshape", g, shape=(-1,))
    placed = select @ flat
    return placed if len(x.shape) == 1 else sym("reshape", placed, shape=x.shape)


# --- the registry ---------------------------------------------------------------------------

_RECORDS: list[Op] = [
    # Infix arithmetic. Precedence is Python's: + - (1) < * / @ (2) < unary (3) < ** (4).
    Op("add", "+", 2, symbol="+", precedence=1,
       forward=_scalar_or_array(lambda x, y: x + y, _ew(np.add)), broadcasts=True,
       into=lambda out, x, y: np.add(x, y, out=out), reads=("", ""),
       vjp=(lambda g, out, x, y: g, lambda g, out, x, y: g),
       jvp=(lambda t, out, x, y: t, lambda t, out, x, y: t),
       doc="x + y",
       vjp_expr=(lambda g, out, x, y: g, lambda g, out, x, y: g)),
    Op("sub", "−", 2, symbol="-", precedence=1,
       forward=_scalar_or_array(lambda x, y: x - y, _ew(np.subtract)), broadcasts=True,
       into=lambda out, x, y: np.subtract(x, y, out=out), reads=("", ""),
       vjp=(lambda g, out, x, y: g, lambda g, out, x, y: -g), fresh=(False, True),
       jvp=(lambda t, out, x, y: t, lambda t, out, x, y: -t),
       doc="x - y",
       vjp_expr=(lambda g, out, x, y: g, lambda g, out, x, y: -g)),
    _binary("mul", "*", "*", 2, lambda x, y: x * y, _ew(np.multiply),
            lambda x, y, out: y, lambda x, y, out: x, "x * y (elementwise)",
            into=lambda out, x, y: np.multiply(x, y, out=out), reads=("1", "0")),
    Op("div", "/", 2, symbol="/", precedence=2,
       forward=_scalar_or_array(lambda x, y: x / y, _ew(np.divide)), broadcasts=True,
       into=lambda out, x, y: np.divide(x, y, out=out), reads=("1", "o1"),
       vjp=(lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y), fresh=(True, True),
       jvp=(lambda t, out, x, y: t / y, lambda t, out, x, y: -t * out / y),
       doc="x / y (elementwise)",
       vjp_expr=(lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y)),
    # On expressions, d/dy is out*log(x) everywhere: at x == 0 it gives NaN where the
    # engine takes PyTorch's 0 (the language has no `where` to write that case).
    _binary("pow", "**", "**", 4, _POW, _ew(np.power), _pow_dx, _pow_dy,
            "x ** y (elementwise)", dx_expr=lambda x, y, out: y * x ** (y - 1.0),
            dy_expr=lambda x, y, out: out * sym("log", x)),
    Op("matmul", "@", 2, symbol="@", precedence=2,
       forward=_matmul,
       # into: the bias of `X @ transpose(W) + b` is added into the product's own array
       into=_matmul_into, reads=("01", "01"),
       vjp=(_matmul_vjp_a, _matmul_vjp_b), fresh=(True, True),
       jvp=(lambda t, out, a, b: _as_value(np.matmul(t, b)),
            lambda t, out, a, b: _as_value(np.matmul(a, t))),
       doc="a @ b, as numpy.matmul",
       vjp_expr=(_matmul_vjp_a_expr, _matmul_vjp_b_expr)),
    Op("neg", "−", 1, symbol="-", precedence=3,
       forward=lambda x: -x,
       into=lambda out, x: np.negative(x, out=out), reads=("",),
       vjp=(lambda g, out, x: -g,), fresh=(True,),
       jvp=(lambda t, out, x: -t,),
       doc="-x",
       vjp_expr=(lambda g, out, x: -g,)),
    # Functions.
    replace(_unary("relu", "relu", _relu, lambda x: np.maximum(x, 0.0),
                   _relu_d, "max(x, 0); relu'(0) = 0", _relu_d_expr,
                   into=lambda out, x: np.maximum(x, 0.0, out=out), reads="0"),
            vjp=(_relu_vjp,)),
    _unary("tanh", "tanh", math.tanh, np.tanh, lambda x, out: 1.0 - out * out, "tanh(x)",
           into=lambda out, x: np.tanh(x, out=out), reads="o"),
    _unary("sigmoid", "σ", _sigmoid_scalar, _sigmoid_array, lambda x, out: out * (1.0 - out),
           "1 / (1 + exp(-x))"),
    _unary("exp", "exp", math.exp, _ew(np.exp), lambda x, out: out, "e ** x",
           into=lambda out, x: np.exp(x, out=out), reads="o"),
    _unary("log", "log", math.log, _ew(np.log), _log_d,
           "natural logarithm", lambda x, out: 1.0 / x),
    _unary("sin", "sin", math.sin, np.sin,
           lambda x, out: np.cos(x) if is_array(x) else math.cos(x), "sin(x)",
           lambda x, out: sym("cos", x)),
    _unary("cos", "cos", math.cos, np.cos,
           lambda x, out: -(np.sin(x) if is_array(x) else math.sin(x)), "cos(x)",
           lambda x, out: -sym("sin", x)),
    _unary("sqrt", "sqrt", math.sqrt, _ew(np.sqrt), lambda x, out: 0.5 / out,
           "square root"),
    _unary("abs", "abs", abs, np.abs, _abs_d, "|x|; abs'(0) = 0",
           lambda x, out: sym("sign", x)),
    _unary("sign", "sign", _sign, np.sign, lambda x, out: _const_like(x, 0.0),
           "-1, 0 or 1; derivative 0 everywhere", lambda x, out: None),
    _unary("erf", "erf", math.erf, _erf_array, _erf_d, "the error function",
           lambda x, out: _TWO_OVER_SQRT_PI * sym("exp", -x * x)),
    _unary("gelu", "gelu", _gelu, _gelu, _gelu_d, "x * Phi(x), exact (erf) form",
           _gelu_d_expr),
    _unary("gelu_tanh", "gelu", _gelu_tanh, _gelu_tanh, _gelu_tanh_d,
           "gelu's tanh approximation",
           lambda x, out: _gelu_tanh_d(x, out, tanh=lambda u: sym("tanh", u))),
    _unary("softplus", "softplus", _softplus_scalar, lambda x: np.logaddexp(0.0, x),
           lambda x, out: _sigmoid_scalar(x) if not is_array(x) else _sigmoid_array(x),
           "log(1 + exp(x))", lambda x, out: sym("sigmoid", x)),
    _binary("leaky_relu", "leaky_relu", None, 100,
            lambda x, s: x if x > 0 else s * x, lambda x, s: np.where(x > 0, x, s * x),
            lambda x, s, out: _where(x > 0, x > 0, 1.0, s) * 1.0,
            lambda x, s, out: _where(x > 0, x > 0, 0.0, x) * 1.0,
            "x if x > 0 else slope * x; slope defaults to 0.01; derivative at 0 is slope",
            defaults=(0.01,), dx_expr=_leaky_dx_expr, dy_expr=_leaky_ds_expr),
    Op("sum", "Σ", 1, params=(AXIS_ALL,), show=_with_axis("Σ"),
       forward=_reduction("sum", np.sum), vjp=(_sum_vjp,), jvp=(_sum_jvp,),
       doc="sum of all elements, or along an axis", vjp_expr=(_sum_vjp_expr,)),
    Op("mean", "mean", 1, params=(AXIS_ALL,), show=_with_axis("mean"),
       forward=_reduction("mean", np.mean), vjp=(_mean_vjp,), jvp=(_mean_jvp,),
       doc="mean of all elements, or along an axis", vjp_expr=(_mean_vjp_expr,)),
    Op("transpose", "ᵀ", 1,
       forward=_transpose,
       vjp=(lambda g, out, x: _transpose(g),),
       jvp=(lambda t, out, x: _transpose(t),),
       doc="matrix transpose (reverses all axes)",
       vjp_expr=(lambda g, out, x: sym("transpose", g),)),
    Op("mse", "mse", 2, cost=True,
       forward=lambda yhat, y: _as_value(np.sum(np.square(np.subtract(yhat, y)))),
       vjp=(lambda g, out, yhat, y: g * 2.0 * (yhat - y), lambda g, out, yhat, y: g * -2.0 * (yhat - y)),
       fresh=(True, True),
       jvp=(lambda t, out, yhat, y: _as_value(np.sum(t * 2.0 * (yhat - y))),
            lambda t, out, yhat, y: _as_value(np.sum(t * -2.0 * (yhat - y)))),
       doc="squared error ||yhat - y||**2, as the homework defines it (no 1/K)",
       vjp_expr=(lambda g, out, yhat, y: g * 2.0 * (yhat - y),
                 lambda g, out, yhat, y: g * -2.0 * (yhat - y))),
    Op("bce", "bce", 2, cost=True,
       forward=_bce_forward,
       vjp=(lambda g, out, yhat, y: g * _bce_d_yhat(yhat, y), lambda g, out, yhat, y: g * _bce_d_y(yhat, y)),
       fresh=(True, True),
       jvp=(lambda t, out, yhat, y: _as_value(np.sum(t * _bce_d_yhat(yhat, y))),
            lambda t, out, yhat, y: _as_value(np.sum(t * _bce_d_y(yhat, y)))),
       doc="binary cross-entropy (1/K) sum -[y log yhat + (1-y) log(1-yhat)]; as PyTorch: "
           "0 log 0 = 0, derivatives finite for yhat in [0, 1] (log clamped at -100), "
           "NaN for yhat outside [0, 1]",
       vjp_expr=_bce_vjp_exprs()),
    # Softmax and its relatives, shifted by the maximum so that exp never overflows.
    Op("softmax", "softmax", 1, params=(AXIS_LAST,), show=_with_axis("softmax", -1),
       forward=_softmax, vjp=(_softmax_rule,), jvp=(_softmax_rule,),
       doc="exp(x) / sum(exp(x)) along axis (the last by default)",
       vjp_expr=(_softmax_vjp_expr,)),
    Op("log_softmax", "log softmax", 1, params=(AXIS_LAST,),
       show=_with_axis("log softmax", -1),
       forward=_log_softmax,
       vjp=(lambda g, out, x, axis=-1: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),),
       jvp=(lambda t, out, x, axis=-1: t - np.sum(np.exp(out) * t, axis=axis, keepdims=True),),
       doc="x - logsumexp(x) along axis (the last by default)",
       vjp_expr=(_log_softmax_vjp_expr,)),
    _weighted_reduction("logsumexp", "logsumexp", _logsumexp, _lse_weights,
                        "log(sum(exp(x))) over all elements, or along axis"),
    Op("cross_entropy", "CE", 2, cost=True,
       forward=_cross_entropy,
       vjp=(lambda g, out, z, t: g * _ce_d_logits(z, t), lambda g, out, z, t: g * _ce_d_target(z, t)),
       jvp=(lambda t_, out, z, t: _as_value(np.sum(t_ * _ce_d_logits(z, t))),
            lambda t_, out, z, t: _as_value(np.sum(t_ * _ce_d_target(z, t)))),
       doc="cross-entropy of logits against a target of probabilities or one-hot, classes "
           "along the last axis: -sum(target * log_softmax(logits)), averaged over the rows "
           "of a batch (PyTorch's cross_entropy with probability targets)",
       vjp_expr=_ce_vjp_exprs()),
    # Extremes: reductions (ties share the gradient) and elementwise (ties halve it).
    _extreme("max", np.max),
    _extreme("min", np.min),
    _binary("maximum", "maximum", None, 100, _max_scalar, _ew(np.maximum), _max_d,
            lambda x, y, out: _max_d(y, x, out),
            "the larger of x and y, elementwise; at a tie each gets half the gradient "
            "(torch.maximum)", dx_expr=_max_d_expr,
            dy_expr=lambda x, y, out: _max_d_expr(y, x, out)),
    _binary("minimum", "minimum", None, 100, _min_scalar, _ew(np.minimum), _min_d,
            lambda x, y, out: _min_d(y, x, out),
            "the smaller of x and y, elementwise; at a tie each gets half the gradient "
            "(torch.minimum)", dx_expr=lambda x, y, out: _max_d_expr(y, x, out),
            dy_expr=_max_d_expr),
    # Shapes: outer products, reshaping, indexing by constants.
    Op("outer", "outer", 2,
       forward=_outer,
       vjp=(lambda g, out, a, b: _dense(g) @ b, lambda g, out, a, b: a @ _dense(g)),
       jvp=(lambda t, out, a, b: np.outer(t, b), lambda t, out, a, b: np.outer(a, t)),
       doc="outer product a bᵀ of two vectors",
       vjp_expr=(lambda g, out, a, b: g @ b, lambda g, out, a, b: a @ g)),
    Op("reshape", "reshape", 1, params=(SHAPE,),
       show=lambda shape: "reshape " + "×".join(map(str, shape)),
       forward=_reshape,
       vjp=(lambda g, out, x, shape: _as_value(np.reshape(g, np.shape(x))),),
       jvp=(lambda t, out, x, shape: _as_value(np.reshape(t, np.shape(out))),),
       doc="the same elements in another shape (row-major), one size may be -1",
       vjp_expr=(_reshape_vjp_expr,)),
    Op("index", "[]", 1, symbol="[]", precedence=5, params=(INDEX,),
       show=lambda index: f"[{index_text(index)}]",
       forward=_index_forward,
       vjp=(_index_vjp,),
       jvp=(lambda t, out, x, index: _as_value(np.asarray(t)[_key(index)]),),
       doc="x[i], W[:, j], x[1:3]: constant integers and slices, as NumPy's basic indexing; "
           "the gradient goes back to the elements selected, zeros elsewhere",
       vjp_expr=(_index_vjp_expr,)),
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

UNARY: dict[str, Op] = {op.symbol: op for op in _RECORDS
                        if op.symbol and op.arity == 1 and op.precedence == 3}
"""Prefix operators by symbol: ``-``."""

POSTFIX: dict[str, Op] = {op.symbol: op for op in _RECORDS if op.precedence == 5}
"""Postfix operators by symbol: ``[]``, the subscript ``x[0]`` (binds tightest)."""

FUNCTIONS: dict[str, Op] = {op.name: op for op in _RECORDS if op.symbol is None}
"""Operators written as calls, ``relu(x)``, by name."""
