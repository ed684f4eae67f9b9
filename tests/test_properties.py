"""Property tests over random straight-line programs.

A program is drawn as a list of statements, each a small expression tree over earlier
names (inputs and previous statements) and constants, from templates with safe domains
(log and sqrt of 1 + p*p, division by 1.5 + sin(q), exp of a tanh). The same trees are
printed as program text and built with ``compgraph.Program``; the properties are:

- the builder's graph equals the parser's graph (keyword arguments, subscripts and
  constant shapes included);
- the value equals a NumPy reference evaluation of the trees;
- reverse mode == forward mode (tangents and ``jacobian(mode="forward")``) == central
  differences, for every input, on scalar inputs and on vectors mixed with scalars.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import compgraph as cg
from compgraph import builder as cgb

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SCALAR, VECTOR = (), (3,)
KINKED = {"relu", "abs", "leaky_relu"}

# --- expression trees ----------------------------------------------------------------------
# ("var", name) | ("const", c) | ("bin", symbol, a, b) | ("call", function, args, keywords)
# | ("neg", a) | ("index", a, key) | ("lit", list): a constant list argument (a shape)


def var(n): return ("var", n)
def const(c): return ("const", c)
def bin_(s, a, b): return ("bin", s, a, b)
def call(f, *args, **keywords): return ("call", f, args, keywords)
def neg(a): return ("neg", a)
def index(a, key): return ("index", a, key)
def lit(values): return ("lit", values)


# Templates: (needs, result shape rule, builder of the tree from names p, q and constant c).
# needs: "any" (any shapes), "vec2" (both vectors), "same" (one shape: a cost's prediction
# and target); shape: "ew" broadcast of p (and q), "p",
# or "scalar".
TEMPLATES = [
    ("any", "ew", lambda p, q, c: bin_("+", p, q)),
    ("any", "ew", lambda p, q, c: bin_("-", p, q)),
    ("any", "ew", lambda p, q, c: bin_("*", p, q)),
    ("any", "p", lambda p, q, c: bin_("*", const(c), p)),
    ("any", "p", lambda p, q, c: bin_("-", p, const(c))),
    ("any", "p", lambda p, q, c: bin_("-", const(c), p)),
    ("any", "p", lambda p, q, c: bin_("+", p, const(c))),
    ("any", "ew", lambda p, q, c: bin_("/", p, bin_("+", const(1.5), call("sin", q)))),
    ("any", "p", lambda p, q, c: bin_("/", const(c), bin_("+", const(1.5), call("cos", p)))),
    ("any", "p", lambda p, q, c: bin_("**", p, const(2.0))),
    ("any", "p", lambda p, q, c: bin_("**", bin_("+", const(1.25), call("sin", p)), const(c))),
    ("any", "p", lambda p, q, c: neg(p)),
    ("any", "p", lambda p, q, c: call("tanh", p)),
    ("any", "p", lambda p, q, c: call("sigmoid", p)),
    ("any", "p", lambda p, q, c: call("sin", p)),
    ("any", "p", lambda p, q, c: call("cos", p)),
    ("any", "p", lambda p, q, c: call("softplus", p)),
    ("any", "p", lambda p, q, c: call("gelu", p)),
    ("any", "p", lambda p, q, c: call("relu", p)),
    ("any", "p", lambda p, q, c: call("abs", p)),
    ("any", "p", lambda p, q, c: call("leaky_relu", p, const(0.1))),
    ("any", "p", lambda p, q, c: call("leaky_relu", p)),
    ("any", "p", lambda p, q, c: call("exp", call("tanh", p))),
    ("any", "p", lambda p, q, c: call("log", bin_("+", const(1.0), bin_("*", p, p)))),
    ("any", "p", lambda p, q, c: call("sqrt", bin_("+", const(1.0), bin_("*", p, p)))),
    ("any", "scalar", lambda p, q, c: call("sum", p)),
    ("any", "scalar", lambda p, q, c: call("mean", p)),
    ("same", "scalar", lambda p, q, c: call("mse", p, q)),
    ("same", "scalar", lambda p, q, c: call("bce", call("sigmoid", p), call("sigmoid", q))),
    ("any", "p", lambda p, q, c: call("transpose", p)),
    ("vec2", "scalar", lambda p, q, c: bin_("@", p, q)),
    # Operators with parameters, subscripts, and shape changes that come back to a vector.
    ("vec", "p", lambda p, q, c: call("softmax", p)),
    ("vec", "p", lambda p, q, c: call("softmax", p, axis=0)),
    ("vec", "p", lambda p, q, c: call("log_softmax", p, axis=-1)),
    ("any", "scalar", lambda p, q, c: call("logsumexp", p)),
    ("vec", "scalar", lambda p, q, c: call("max", p)),
    ("vec", "scalar", lambda p, q, c: call("min", p, axis=0)),
    ("any", "ew", lambda p, q, c: call("maximum", p, q)),
    ("any", "p", lambda p, q, c: call("minimum", p, const(c))),
    ("vec2", "scalar", lambda p, q, c: call("cross_entropy", p, call("softmax", q))),
    ("vec2", "p", lambda p, q, c: call("sum", call("outer", p, q), axis=0)),
    ("vec2", "p", lambda p, q, c: call("mean", call("outer", p, q), axis=-1)),
    ("vec", "p", lambda p, q, c: index(call("reshape", p, lit([1, 3])), 0)),
    ("vec", "p", lambda p, q, c: call("reshape", call("reshape", p, lit([3, 1])), lit([-1]))),
    ("vec", "p", lambda p, q, c: index(p, slice(None, None, -1))),
    ("vec", "scalar", lambda p, q, c: index(p, -1)),
    ("vec", "scalar", lambda p, q, c: call("sum", index(p, slice(1, 3)))),
    ("vec", "scalar", lambda p, q, c: bin_("*", index(bin_("+", p, q), 1), index(p, 0))),
]


def names_in(t) -> set:
    kind = t[0]
    if kind == "var":
        return {t[1]}
    if kind in ("const", "lit"):
        return set()
    children = (t[2] if kind == "call" else t[2:] if kind == "bin" else
                t[1:2] if kind == "index" else t[1:])
    return set().union(*(names_in(a) for a in children))


def key_text(key) -> str:
    def one(k) -> str:
        if isinstance(k, slice):
            text = ":".join("" if v is None else str(v) for v in (k.start, k.stop))
            return text if k.step is None else f"{text}:{k.step}"
        return str(k)

    return ", ".join(one(k) for k in (key if isinstance(key, tuple) else (key,)))


def to_text(t) -> str:
    kind = t[0]
    if kind == "var":
        return t[1]
    if kind == "const":
        return repr(t[1]) if t[1] >= 0 else f"({t[1]!r})"
    if kind == "lit":
        return repr(t[1])
    if kind == "bin":
        return f"({to_text(t[2])} {t[1]} {to_text(t[3])})"
    if kind == "call":
        args = [to_text(a) for a in t[2]] + [f"{k}={v!r}" for k, v in t[3].items()]
        return f"{t[1]}({', '.join(args)})"
    if kind == "index":
        return f"{to_text(t[1])}[{key_text(t[2])}]"
    return f"(-{to_text(t[1])})"


_PY_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "**": operator.pow, "@": operator.matmul}


def build(t, env: dict):
    """The tree as Python: Vars from ``env`` (compgraph builder) or arrays (the reference)."""
    kind = t[0]
    if kind == "var":
        return env[t[1]]
    if kind in ("const", "lit"):
        return t[1]
    if kind == "bin":
        return _PY_OPS[t[1]](build(t[2], env), build(t[3], env))
    if kind == "call":
        return env["__functions__"][t[1]](*(build(a, env) for a in t[2]), **t[3])
    if kind == "index":
        return build(t[1], env)[t[2]]
    return -build(t[1], env)


def _erf(x):
    return np.vectorize(math.erf, otypes=[float])(x)


REFERENCE = {
    "tanh": np.tanh, "sin": np.sin, "cos": np.cos, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "abs": np.abs,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(np.asarray(x) / math.sqrt(2.0))),
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x, s=0.01: np.where(np.asarray(x) > 0, x, s * np.asarray(x)),
    "sum": np.sum, "mean": np.mean, "transpose": np.transpose,
    "mse": lambda a, b: np.sum((np.asarray(a) - b) ** 2),
    "bce": lambda p, y: np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))),
    "softmax": lambda x, axis=-1: np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True),
    "log_softmax": lambda x, axis=-1: x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True)),
    "logsumexp": lambda x, axis=None: np.log(np.sum(np.exp(x), axis=axis)),
    "max": np.max, "min": np.min, "maximum": np.maximum, "minimum": np.minimum,
    "cross_entropy": lambda z, t: -np.sum(t * (z - np.log(np.sum(np.exp(z))))),
    "outer": np.outer, "reshape": np.reshape,
}
BUILDER = {name: getattr(cgb, name) for name in REFERENCE}


@st.composite
def programs(draw, vectors: bool):
    inputs = {"x": SCALAR, "y": SCALAR}
    if vectors:
        inputs.update({"u": VECTOR, "w": VECTOR})
    names = list(inputs)
    shapes = dict(inputs)
    statements = []
    for i in range(draw(st.integers(1, 7))):
        needs, rule, make = draw(st.sampled_from(TEMPLATES))
        pick = st.integers(0, len(names) - 1)
        if needs in ("vec", "vec2"):
            vecs = [n for n in names if shapes[n] == VECTOR]
            if not vecs:
                continue
            p = draw(st.sampled_from(vecs))
            q = draw(st.sampled_from(vecs if needs == "vec2" else names))
        else:
            # lean towards recent names so programs grow deep as well as wide
            p = names[max(draw(pick), draw(pick))]
            q = names[draw(pick)]
            if needs == "same":
                q = draw(st.sampled_from([n for n in names if shapes[n] == shapes[p]]))
        c = draw(st.sampled_from([0.5, 2.0, -0.75, 3.0, 1e-1]))
        tree = make(var(p), var(q), c)
        if rule == "scalar":
            shape = SCALAR
        elif rule == "p":
            shape = shapes[p]
        else:
            shape = VECTOR if VECTOR in (shapes[p], shapes[q]) else SCALAR
        name = f"v{i}"
        statements.append((name, tree))
        names.append(name)
        shapes[name] = shape
    assume(statements)
    last = statements[-1][0]
    if shapes[last] == VECTOR:
        statements.append(("out", call("sum", var(last))))
    used = set().union(*(names_in(t) for _, t in statements))
    point = {}
    for n in inputs:
        if n not in used:
            continue
        if inputs[n] == SCALAR:
            point[n] = draw(st.floats(-1.5, 1.5, allow_nan=False))
        else:
            point[n] = np.array(draw(st.lists(st.floats(-1.5, 1.5, allow_nan=False),
                                              min_size=3, max_size=3)))
    return statements, point


def program_text(statements) -> str:
    return "\n".join(f"{name} = {to_text(tree)}" for name, tree in statements)


def usable(g, values) -> bool:
    """Finite, moderate values, and every kink operand away from its kink."""
    for i, v in enumerate(values.nodes):
        a = np.asarray(v)
        if not np.all(np.isfinite(a)) or np.max(np.abs(a)) > 1e3:
            return False
    for n in g.nodes:
        if n.op in KINKED and np.min(np.abs(values.nodes[n.operands[0]])) < 1e-3:
            return False
        # A tie is a kink of max and min (unless both sides are the same node).
        if n.op in ("maximum", "minimum") and n.operands[0] != n.operands[1]:
            a, b = (np.asarray(values.nodes[j]) for j in n.operands)
            if np.min(np.abs(a - b)) < 1e-3:
                return False
        if n.op in ("max", "min"):
            v = np.sort(np.ravel(values.nodes[n.operands[0]]))
            if v.size > 1 and np.min(np.diff(v)) < 1e-3:
                return False
    return True


def central(g, point: dict, name: str, eps: float = 1e-6):
    x = np.asarray(point[name], dtype=float)
    out = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        probes = []
        for h in (eps, -eps):
            v = x.copy()
            v[index] += h
            probes.append(cg.evaluate(g, {**point, name: float(v) if v.ndim == 0 else v}).output)
        out[index] = (probes[0] - probes[1]) / (2 * eps)
    return out


def _check_modes_agree(statements, point) -> None:
    g = cg.parse(program_text(statements))
    assume(g.input_names)
    values = cg.evaluate(g, point)
    assume(usable(g, values))
    grads = cg.backward(g, values)
    scale = 1.0 + max(float(np.max(np.abs(np.asarray(v)))) for v in values.nodes)
    for name in g.input_names:
        rev = np.asarray(grads[name], dtype=float)
        fwd = np.asarray(cg.jacobian(g, name, values=values, mode="forward"), dtype=float)
        jrev = np.asarray(cg.jacobian(g, name, values=values, mode="reverse"), dtype=float)
        num = central(g, point, name)
        assert rev.shape == np.shape(point[name]) == fwd.shape
        np.testing.assert_allclose(fwd, rev, rtol=1e-9, atol=1e-12 * scale,
                                   err_msg=f"forward != reverse for {name}")
        np.testing.assert_allclose(jrev, rev, rtol=1e-12, atol=1e-14 * scale)
        np.testing.assert_allclose(num, rev, rtol=1e-5, atol=1e-6 * scale,
                                   err_msg=f"central differences != reverse for {name}")
        if rev.ndim == 0:
            t = cg.tangents(g, values, name).output
            assert t == pytest.approx(float(rev), rel=1e-9, abs=1e-12 * scale)


@SETTINGS
@given(programs(vectors=False))
def test_scalar_programs_reverse_forward_and_numeric_agree(drawn) -> None:
    _check_modes_agree(*drawn)


@SETTINGS
@given(programs(vectors=True))
def test_vector_programs_reverse_forward_and_numeric_agree(drawn) -> None:
    _check_modes_agree(*drawn)


@SETTINGS
@given(programs(vectors=True))
def test_value_matches_a_numpy_reference(drawn) -> None:
    statements, point = drawn
    g = cg.parse(program_text(statements))
    values = cg.evaluate(g, point)
    env = {**{k: np.asarray(v) if isinstance(v, np.ndarray) else v for k, v in point.items()},
           "__functions__": REFERENCE}
    with np.errstate(all="ignore"):
        for name, tree in statements:
            env[name] = build(tree, env)
    want = np.asarray(env[statements[-1][0]], dtype=float)
    got = np.asarray(values.output, dtype=float)
    assume(np.all(np.isfinite(want)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(programs(vectors=True))
def test_builder_gives_the_parsers_graph(drawn) -> None:
    statements, point = drawn
    text = program_text(statements)
    p = cg.Program()
    env = {"__functions__": BUILDER}
    for name in cg.parse(text).input_names:
        env[name] = p.input(name)
    for name, tree in statements:
        env[name] = p.let(name, build(tree, env))
    assert p.graph() == cg.parse(text), text


def test_text_printer_round_trip_examples() -> None:
    """The printer used above prints what it means (so the properties test the parser)."""
    tree = bin_("-", const(-0.75), bin_("**", var("x"), const(2.0)))
    assert to_text(tree) == "((-0.75) - (x ** 2.0))"
    g = cg.parse(f"y = {to_text(tree)}")
    assert cg.evaluate(g, x=2.0).output == -4.75
    assert [n.value for n in g.nodes if n.kind == "const"] == [-0.75, 2.0]
    assert not [n for n in g.nodes if n.op == "neg"]
