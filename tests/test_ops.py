"""Every operator in the registry, checked numerically in both modes over a shape menu.

The check walks ``compgraph.ops.OPS``: each operator is applied to fresh inputs in a
one-node graph, its reverse rules run through ``backward`` (seeded with a random
cotangent) and its forward rules through ``tangents`` (along a random direction), and
both are compared with central differences of the same forward. An operator added to the
registry without an entry in ``DOMAINS`` below makes ``test_every_operator_has_a_domain``
fail, and its parametrized check fails too.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
import pytest

from compgraph import OPS, backward, evaluate, tangents
from compgraph.differentiate import unbroadcast
from compgraph.graph import GraphBuilder

Sampler = Callable[[np.random.Generator, tuple], object]


# --- per-operand input domains ------------------------------------------------------------

def _draw(rng: np.random.Generator, shape: tuple, lo: float, hi: float) -> object:
    v = rng.uniform(lo, hi, size=shape)
    return float(v) if shape == () else v


def anywhere(rng, shape):
    return _draw(rng, shape, -2.0, 2.0)


def positive(rng, shape):
    return _draw(rng, shape, 0.5, 3.0)


def away_from_zero(rng, shape):
    """Both signs, but at least 0.2 from a kink (relu, abs, leaky_relu, sign) or a pole (div)."""
    magnitude = rng.uniform(0.2, 2.0, size=shape)
    sign = rng.choice([-1.0, 1.0], size=shape)
    v = magnitude * sign
    return float(v) if shape == () else v


def probability(rng, shape):
    return _draw(rng, shape, 0.05, 0.95)


def target(rng, shape):
    return _draw(rng, shape, 0.0, 1.0)


def moderate(rng, shape):
    return _draw(rng, shape, -1.5, 1.5)


def slope(rng, shape):
    return _draw(rng, shape, 0.01, 0.5)


def distinct(rng, shape):
    """Values at least 0.1 apart, so that no two tie (max, min: a tie is a kink)."""
    n = int(np.prod(shape)) if shape else 1
    v = (rng.permutation(n) - n / 2) * 0.3 + rng.uniform(0.0, 0.05, size=n)
    return float(v[0]) if shape == () else v.reshape(shape)


class Case(NamedTuple):
    """One entry of a shape menu: the operands' shapes, and the operator's parameters."""

    shapes: tuple
    params: dict


def at(*shapes: tuple, **params) -> Case:
    """A menu entry with parameters: ``at(M, axis=0)`` is ``sum(x, axis=0)`` on a 2×3 x."""
    return Case(shapes, params)


S, V, M, ROW = (), (3,), (2, 3), (1, 3)
T3 = (2, 3, 2)
UNARY_SHAPES = [(S,), (V,), (M,)]
AXIS_MENU = [at(V, axis=0), at(M, axis=0), at(M, axis=1), at(M, axis=-1), at(M, axis=[0, 1]),
             at(T3, axis=1), at(T3, axis=[0, 2]), at(T3, axis=[-1, 0])]
SOFTMAX_MENU = [(V,), (M,), at(V, axis=0), at(M, axis=0), at(M, axis=1), at(M, axis=-2),
                at(T3, axis=1), at(T3, axis=-1)]
BINARY_SHAPES = [(S, S), (V, V), (M, M), (ROW, M), (M, ROW), (S, V), (M, S)]
MATMUL_SHAPES = [
    ((3,), (3, 2)),       # vector @ matrix
    ((2, 3), (3,)),       # matrix @ vector
    ((2, 3), (3, 4)),     # matrix @ matrix
    ((3,), (3,)),         # vector @ vector
    ((2, 2, 3), (3, 4)),  # batched 3-D @ matrix
    ((2, 2, 3), (2, 3, 2)),  # batched 3-D @ batched 3-D
]

# name -> (operand samplers, shape menu)
DOMAINS: dict[str, tuple[tuple[Sampler, ...], list[tuple[tuple, ...]]]] = {
    "add": ((anywhere, anywhere), BINARY_SHAPES),
    "sub": ((anywhere, anywhere), BINARY_SHAPES),
    "mul": ((anywhere, anywhere), BINARY_SHAPES),
    "div": ((anywhere, away_from_zero), BINARY_SHAPES),
    "pow": ((positive, anywhere), BINARY_SHAPES),
    "matmul": ((anywhere, anywhere), MATMUL_SHAPES),
    "neg": ((anywhere,), UNARY_SHAPES),
    "relu": ((away_from_zero,), UNARY_SHAPES),
    "tanh": ((anywhere,), UNARY_SHAPES),
    "sigmoid": ((anywhere,), UNARY_SHAPES),
    "exp": ((anywhere,), UNARY_SHAPES),
    "log": ((positive,), UNARY_SHAPES),
    "sin": ((anywhere,), UNARY_SHAPES),
    "cos": ((anywhere,), UNARY_SHAPES),
    "sqrt": ((positive,), UNARY_SHAPES),
    "abs": ((away_from_zero,), UNARY_SHAPES),
    "sign": ((away_from_zero,), UNARY_SHAPES),
    "gelu": ((anywhere,), UNARY_SHAPES),
    "erf": ((anywhere,), UNARY_SHAPES),
    "gelu_tanh": ((anywhere,), UNARY_SHAPES),
    "softplus": ((anywhere,), UNARY_SHAPES),
    "leaky_relu": ((away_from_zero, slope), [(S, S), (V, S), (M, S), (M, ROW)]),
    "sum": ((anywhere,), UNARY_SHAPES + AXIS_MENU),
    "mean": ((anywhere,), UNARY_SHAPES + AXIS_MENU),
    "transpose": ((anywhere,), UNARY_SHAPES),
    # A cost's prediction and target have one shape (evaluation refuses others).
    "mse": ((moderate, moderate), [(S, S), (V, V), (M, M)]),
    "bce": ((probability, target), [(S, S), (V, V), (M, M)]),
    "softmax": ((anywhere,), SOFTMAX_MENU),
    "log_softmax": ((anywhere,), SOFTMAX_MENU),
    "logsumexp": ((anywhere,), UNARY_SHAPES + AXIS_MENU),
    "cross_entropy": ((anywhere, target), [(V, V), (M, M), (ROW, ROW), (T3, T3)]),
    "max": ((distinct,), UNARY_SHAPES + AXIS_MENU),
    "min": ((distinct,), UNARY_SHAPES + AXIS_MENU),
    "maximum": ((anywhere, anywhere), BINARY_SHAPES),
    "minimum": ((anywhere, anywhere), BINARY_SHAPES),
    "outer": ((anywhere, anywhere), [(V, (4,)), (V, V), ((1,), (2,))]),
    "reshape": ((anywhere,), [at(M, shape=[3, 2]), at(M, shape=[6]), at(M, shape=[-1]),
                              at(V, shape=[3, 1]), at(S, shape=[1]), at(T3, shape=[2, -1]),
                              at(T3, shape=[3, 2, 2]), at((1,), shape=[1, 1])]),
    "index": ((anywhere,), [at(V, index=0), at(V, index=-1), at(V, index=slice(1, 3)),
                            at(V, index=slice(None, None, -1)), at(M, index=1),
                            at(M, index=(slice(None), 1)), at(M, index=(1, -2)),
                            at(M, index=(slice(None, None, -1), slice(0, 3, 2))),
                            at(T3, index=(0, slice(1, None))), at(T3, index=(-1, 2, 0))]),
}


def _menu(name: str) -> list[Case]:
    return [c if isinstance(c, Case) else Case(c, {}) for c in DOMAINS[name][1]]


def _cases() -> list:
    out = []
    for name in sorted(OPS):
        if name not in DOMAINS:
            # Keeps the operator visible as a failing case instead of silently unchecked.
            out.append(pytest.param(name, None, id=f"{name}-NO-DOMAIN"))
            continue
        for case in _menu(name):
            sid = "_".join("x".join(map(str, s)) or "scalar" for s in case.shapes)
            sid += "".join(f"-{k}={_param_id(v)}" for k, v in case.params.items())
            out.append(pytest.param(name, case, id=f"{name}-{sid}"))
    return out


def _param_id(v) -> str:
    if isinstance(v, slice):
        return ":".join("" if p is None else str(p) for p in (v.start, v.stop, v.step))
    if isinstance(v, (tuple, list)):
        return ",".join(_param_id(e) for e in v)
    return str(v)


def _one_op_graph(name: str, params: dict | None = None):
    b = GraphBuilder()
    ids = [b.input(f"x{k}") for k in range(OPS[name].arity)]
    b.bind("y", b.apply(name, ids, params=params))
    return b.build()


def _seed_for(name: str) -> int:
    return sum(map(ord, name))


EPS = 1e-6


def _close(got, want, what: str) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=what)


@pytest.mark.parametrize("name, case", _cases())
def test_operator_rules_match_central_differences(name: str, case: Case) -> None:
    assert case is not None, (f"operator {name!r} has no input domain in tests/test_ops.py "
                              "DOMAINS: add one so its rules are checked")
    samplers, _ = DOMAINS[name]
    shapes = case.shapes
    rng = np.random.default_rng(_seed_for(name) + len(shapes) + sum(map(len, shapes)))
    g = _one_op_graph(name, case.params)
    point = {f"x{k}": samplers[k](rng, shapes[k]) for k in range(len(shapes))}
    values = evaluate(g, point)
    out = values.output
    out_shape = np.shape(out)

    def f(p: dict) -> object:
        return evaluate(g, p).output

    def perturbed(k: int, index: tuple, h: float) -> dict:
        p = dict(point)
        v = np.array(point[f"x{k}"], dtype=float)
        v[index] += h
        p[f"x{k}"] = float(v) if v.ndim == 0 else v
        return p

    # Reverse mode: <cotangent, f> differentiated numerically, element by element.
    cot = _draw(rng, out_shape, -1.0, 1.0)
    grads = backward(g, values, seed=cot)
    for k, i in enumerate(g.inputs):
        x = np.asarray(point[f"x{k}"])
        numeric = np.zeros(x.shape)
        for index in np.ndindex(*x.shape):
            up = np.sum(np.asarray(cot) * np.asarray(f(perturbed(k, index, EPS))))
            down = np.sum(np.asarray(cot) * np.asarray(f(perturbed(k, index, -EPS))))
            numeric[index] = (up - down) / (2 * EPS)
        _close(grads.of(i), numeric, f"{name} reverse rule for operand {k}")

    # Forward mode: the tangent of the output along a random direction in all operands.
    direction = {f"x{k}": _draw(rng, np.shape(point[f"x{k}"]), -1.0, 1.0)
                 for k in range(len(shapes))}
    tans = tangents(g, values, direction)
    up = {n: np.asarray(point[n]) + EPS * np.asarray(direction[n]) for n in point}
    down = {n: np.asarray(point[n]) - EPS * np.asarray(direction[n]) for n in point}
    up = {n: float(v) if v.ndim == 0 else v for n, v in up.items()}
    down = {n: float(v) if v.ndim == 0 else v for n, v in down.items()}
    numeric_t = (np.asarray(f(up)) - np.asarray(f(down))) / (2 * EPS)
    _close(tans.output, numeric_t, f"{name} forward rules")

    # Each operand's forward rule on its own, too (so one wrong rule cannot hide behind a
    # compensating other one).
    for k in range(len(shapes)):
        single = tangents(g, values, {f"x{k}": direction[f"x{k}"]})
        u, d = dict(point), dict(point)
        u[f"x{k}"], d[f"x{k}"] = up[f"x{k}"], down[f"x{k}"]
        _close(single.output, (np.asarray(f(u)) - np.asarray(f(d))) / (2 * EPS),
               f"{name} forward rule for operand {k}")


@pytest.mark.parametrize("name, case", [c for c in _cases() if c.values[1] is not None])
def test_a_seed_of_ones_gives_the_reverse_rules_bits(name: str, case: Case) -> None:
    # Under a cotangent of ones the engine takes an operator's partials instead of
    # multiplying by ones: exactly what the reverse rule gives, bit for bit.
    samplers, _ = DOMAINS[name]
    shapes = case.shapes
    rng = np.random.default_rng(_seed_for(name) + 7)
    g = _one_op_graph(name, case.params)
    params = g.nodes[-1].kwargs
    point = {f"x{k}": samplers[k](rng, shapes[k]) for k in range(len(shapes))}
    values = evaluate(g, point)
    out = values.output
    seed = np.ones(np.shape(out)) if isinstance(out, np.ndarray) else 1.0
    grads = backward(g, values, seed=seed)
    args = [values.nodes[i] for i in g.inputs]
    op = OPS[name]
    assert op.partials is None or len(op.partials) == op.arity
    with np.errstate(all="ignore"):
        for k, i in enumerate(g.inputs):
            want = unbroadcast(op.vjp[k](seed, out, *args, **params), args[k])
            np.testing.assert_array_equal(grads.of(i), want, err_msg=f"{name} operand {k}")
            assert type(grads.of(i)) is type(want)


def test_every_operator_has_a_domain() -> None:
    missing = sorted(set(OPS) - set(DOMAINS))
    assert not missing, f"operators without an input domain in DOMAINS: {missing}"
    stale = sorted(set(DOMAINS) - set(OPS))
    assert not stale, f"DOMAINS names operators the registry does not have: {stale}"


def test_domains_match_arity() -> None:
    for name, (samplers, _) in DOMAINS.items():
        assert len(samplers) == OPS[name].arity, name
        assert all(len(c.shapes) == OPS[name].arity for c in _menu(name)), name


def test_every_parameter_is_varied_in_the_menu() -> None:
    """Each operator with a parameter is checked with it given, and, where it has a
    default, left out too; an axis parameter with a negative axis and with a list."""
    for name, op in OPS.items():
        menu = _menu(name)
        for p in op.params:
            assert any(p.name in c.params for c in menu), f"{name}: {p.name} never given"
            if not p.required:
                assert any(p.name not in c.params for c in menu), f"{name}: {p.name} default"
            if p.name == "axis":
                given = [c.params["axis"] for c in menu if "axis" in c.params]
                assert any(isinstance(a, int) and a < 0 for a in given), name
                if p.default is None:
                    assert any(isinstance(a, list) for a in given), name


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_operator_has_every_rule(name: str) -> None:
    op = OPS[name]
    assert op.name == name
    assert op.arity >= 1
    assert callable(op.forward)
    assert len(op.vjp) == op.arity, f"{name}: {len(op.vjp)} reverse rules for arity {op.arity}"
    assert len(op.jvp) == op.arity, f"{name}: {len(op.jvp)} forward rules for arity {op.arity}"
    assert all(callable(r) for r in op.vjp + op.jvp)
    assert op.label
    assert len(op.defaults) <= op.arity


def test_design_functions_are_registered() -> None:
    wanted = {"relu", "tanh", "sigmoid", "exp", "log", "sin", "cos", "sqrt", "abs", "gelu",
              "leaky_relu", "softplus", "sum", "mean", "transpose", "mse", "bce"}
    assert wanted <= set(OPS)
    symbols = {op.symbol for op in OPS.values() if op.symbol}
    assert {"+", "-", "*", "/", "**", "@"} <= symbols


# --- PyTorch's conventions at kinks (design §2.3) -------------------------------------------

def _derivative_both_modes(src: str, x) -> tuple:
    from compgraph import parse

    g = parse(src)
    values = evaluate(g, x=x)
    seed = None if np.ndim(values.output) == 0 else np.ones(np.shape(values.output))
    rev = backward(g, values, seed=seed)["x"]
    fwd = tangents(g, values, "x").output
    return rev, fwd


@pytest.mark.parametrize("src, want", [
    ("y = relu(x)", 0.0),
    ("y = abs(x)", 0.0),
    ("y = leaky_relu(x, 0.2)", 0.2),
    ("y = leaky_relu(x)", 0.01),
    ("y = sign(x)", 0.0),
])
def test_derivative_at_kink_is_pytorchs(src: str, want: float) -> None:
    rev, fwd = _derivative_both_modes(src, 0.0)
    assert rev == want and fwd == want
    rev, fwd = _derivative_both_modes(src, [0.0, 0.0])
    np.testing.assert_array_equal(rev, [want, want])
    np.testing.assert_array_equal(fwd, [want, want])


def test_kink_derivatives_either_side() -> None:
    assert _derivative_both_modes("y = relu(x)", -1.0) == (0.0, 0.0)
    assert _derivative_both_modes("y = relu(x)", 1.0) == (1.0, 1.0)
    assert _derivative_both_modes("y = abs(x)", -1.0) == (-1.0, -1.0)
    assert _derivative_both_modes("y = leaky_relu(x, 0.3)", 2.0) == (1.0, 1.0)


@pytest.mark.parametrize("x", [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5])
def test_gelu_is_the_exact_erf_form(x: float) -> None:
    want = 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))
    got = OPS["gelu"].forward(x)
    assert abs(got - want) <= 1e-15 + 1e-15 * abs(want)
    arr = OPS["gelu"].forward(np.array([x, x]))
    np.testing.assert_allclose(arr, [want, want], rtol=1e-15, atol=1e-15)
    dwant = 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    rev, fwd = _derivative_both_modes("y = gelu(x)", x)
    assert abs(rev - dwant) <= 1e-14 and abs(fwd - dwant) <= 1e-14


def test_gelu_published_values() -> None:
    # torch.nn.functional.gelu(torch.tensor([1., -1., 2.], dtype=torch.float64))
    np.testing.assert_allclose(OPS["gelu"].forward(np.array([1.0, -1.0, 2.0])),
                               [0.8413447460685429, -0.15865525393145707, 1.9544997361036416],
                               rtol=1e-15)
    # ... and the tanh approximation is a different function (approximate="tanh")
    assert abs(OPS["gelu_tanh"].forward(1.0) - 0.8411919906082768) < 1e-15
    assert abs(OPS["gelu"].forward(1.0) - OPS["gelu_tanh"].forward(1.0)) > 1e-4


def test_mse_is_the_sum_of_squares() -> None:
    from compgraph import parse

    g = parse("C = mse(yhat, y)")
    v = evaluate(g, yhat=[1.0, 2.0, 3.0], y=[0.0, 0.0, 1.0])
    assert v.output == 1.0 + 4.0 + 4.0          # ||yhat - y||^2, no 1/K
    grads = backward(g, v)
    np.testing.assert_array_equal(grads["yhat"], [2.0, 4.0, 4.0])
    np.testing.assert_array_equal(grads["y"], [-2.0, -4.0, -4.0])
    assert evaluate(g, yhat=3.0, y=1.0).output == 4.0


def test_bce_is_the_mean_cross_entropy() -> None:
    from compgraph import parse

    yhat, y = np.array([0.9, 0.2, 0.6, 0.3]), np.array([1.0, 0.0, 1.0, 1.0])
    g = parse("C = bce(yhat, y)")
    v = evaluate(g, yhat=yhat, y=y)
    want = np.mean(-(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)))
    assert abs(v.output - want) <= 1e-15
    grads = backward(g, v)
    np.testing.assert_allclose(grads["yhat"], (yhat - y) / (yhat * (1 - yhat)) / 4, rtol=1e-14)
    assert abs(evaluate(g, yhat=0.25, y=1.0).output - (-math.log(0.25))) <= 1e-15


@pytest.mark.parametrize("src, point", [
    ("y = log(x)", {"x": 0.0}),
    ("y = sqrt(x)", {"x": 0.0}),
    ("y = 1 / x", {"x": 0.0}),
    ("y = x / z", {"x": 1.0, "z": 0.0}),
    ("y = x ** 0.5", {"x": 0.0}),
    ("y = x ** 0.5", {"x": -4.0}),
    ("y = x ** z", {"x": 0.0, "z": -1.0}),
    ("y = bce(p, t)", {"p": 0.0, "t": 1.0}),
    ("y = bce(p, t)", {"p": 1.0, "t": 0.0}),
    ("y = exp(x) * exp(x)", {"x": 400.0}),
])
def test_derivatives_at_a_pole_are_non_finite_not_a_crash(src: str, point: dict) -> None:
    """Design §2.3: a non-finite value does not crash; derivatives there are IEEE inf/nan."""
    from compgraph import parse

    g = parse(src)
    values = evaluate(g, point)
    grads = backward(g, values)          # must not raise ZeroDivisionError / OverflowError
    for name in g.input_names:
        assert isinstance(grads[name], float)
        tans = tangents(g, values, name)
        assert isinstance(tans.output, float)
    assert not all(math.isfinite(grads[n]) for n in g.input_names) or not math.isfinite(values.output)


# --- softmax and its relatives: stable forms, known values ----------------------------------

def _grad_both_modes(src: str, **point):
    """d(output)/d(every input) by reverse mode and by forward mode (Jacobian columns)."""
    from compgraph import jacobian, parse

    g = parse(src)
    values = evaluate(g, point)
    rev = backward(g, values)
    return {n: (rev[n], jacobian(g, n, values=values, mode="forward")) for n in g.input_names}


def test_softmax_and_logsumexp_are_shifted_by_the_maximum() -> None:
    big = np.array([1000.0, 1001.0, 1002.0])
    want = np.exp([0.0, 1.0, 2.0]) / np.sum(np.exp([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(OPS["softmax"].forward(big), want, rtol=1e-15)
    np.testing.assert_allclose(OPS["softmax"].forward(-big), want[::-1], rtol=1e-15)
    np.testing.assert_allclose(OPS["log_softmax"].forward(np.array([-1000.0, 0.0])),
                               [-1000.0, 0.0], atol=1e-12)
    assert OPS["logsumexp"].forward(np.array([1000.0, 1000.0])) == 1000.0 + math.log(2.0)
    assert OPS["logsumexp"].forward(np.array([-1000.0, -1000.0])) == -1000.0 + math.log(2.0)
    np.testing.assert_allclose(OPS["logsumexp"].forward(np.array([[1000.0, 0.0], [1.0, 1.0]]),
                                                        axis=1),
                               [1000.0, 1.0 + math.log(2.0)], rtol=1e-15)
    grads = _grad_both_modes("C = cross_entropy(z, t)", z=[1000.0, -1000.0, 0.0], t=[0, 1, 0])
    rev, fwd = grads["z"]
    assert np.all(np.isfinite(rev)) and np.allclose(rev, [1.0, -1.0, 0.0])
    np.testing.assert_allclose(fwd, rev, atol=1e-15)


def test_softmax_sums_to_one_along_its_axis_and_keeps_the_order() -> None:
    x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    for axis in (0, 1, -1):
        p = OPS["softmax"].forward(x, axis=axis)
        np.testing.assert_allclose(np.sum(p, axis=axis), 1.0, rtol=1e-15)
        assert (np.argsort(p, axis=axis) == np.argsort(x, axis=axis)).all()


def test_cross_entropy_of_a_one_hot_target_is_minus_the_log_probability() -> None:
    from compgraph import parse

    z = np.array([2.0, -1.0, 0.5])
    g = parse("D = -log_softmax(z)[2]\nC = cross_entropy(z, t)")
    v = evaluate(g, z=z, t=[0.0, 0.0, 1.0])
    assert v["C"] == pytest.approx(v["D"], rel=1e-15)
    want = -(0.5 - math.log(np.sum(np.exp(z))))
    assert v["C"] == pytest.approx(want, rel=1e-14)
    np.testing.assert_allclose(backward(g.with_output("D"), v)["z"], backward(g, v)["z"],
                               rtol=1e-14)
    grads = backward(g, v)
    p = np.exp(z) / np.sum(np.exp(z))
    np.testing.assert_allclose(grads["z"], p - [0, 0, 1], rtol=1e-14)   # softmax - y
    np.testing.assert_allclose(grads["t"], -np.log(p), rtol=1e-14)


def test_cross_entropy_averages_over_the_rows_of_a_batch() -> None:
    # torch.nn.functional.cross_entropy(Z, T) with probability targets, reduction="mean"
    Z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    T = np.array([[0.2, 0.7, 0.1], [0.0, 0.0, 1.0]])
    ls = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    want = -np.sum(T * ls) / 2
    from compgraph import parse

    g = parse("C = cross_entropy(Z, T)")
    v = evaluate(g, Z=Z, T=T)
    assert v.output == pytest.approx(want, rel=1e-14)
    np.testing.assert_allclose(backward(g, v)["Z"], (np.exp(ls) - T) / 2, rtol=1e-13)
    # a probability target with a zero where the logit is -inf: 0 log 0 counts as 0
    assert evaluate(g, Z=[[0.0, -np.inf]], T=[[1.0, 0.0]]).output == 0.0


# --- ties: PyTorch's rules -------------------------------------------------------------------

def test_max_and_min_reductions_share_the_gradient_evenly_among_ties() -> None:
    """torch.amax/amin: each of k tied extremes gets 1/k (torch.max(x) would give all to one)."""
    rev, fwd = _grad_both_modes("m = max(x)", x=[1.0, 3.0, 3.0])["x"]
    np.testing.assert_array_equal(rev, [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(fwd, [0.0, 0.5, 0.5])
    rev, fwd = _grad_both_modes("m = min(x)", x=[2.0, 2.0, 2.0, 5.0])["x"]
    np.testing.assert_allclose(rev, [1 / 3, 1 / 3, 1 / 3, 0.0], rtol=1e-15)
    np.testing.assert_allclose(fwd, rev, rtol=1e-15)
    # along an axis, ties counted per row
    rev, _ = _grad_both_modes("m = sum(max(W, axis=1))", W=[[1.0, 4.0, 4.0], [7.0, 0.0, 1.0]])["W"]
    np.testing.assert_array_equal(rev, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    rev, _ = _grad_both_modes("m = sum(min(W, axis=0))", W=[[1.0, 4.0], [1.0, 0.0]])["W"]
    np.testing.assert_array_equal(rev, [[0.5, 0.0], [0.5, 1.0]])


def test_maximum_and_minimum_halve_the_gradient_at_a_tie() -> None:
    """torch.maximum/minimum: at x == y each side gets half."""
    for fn in ("maximum", "minimum"):
        grads = _grad_both_modes(f"m = {fn}(x, y)", x=2.0, y=2.0)
        assert grads["x"] == (0.5, 0.5) and grads["y"] == (0.5, 0.5)
        grads = _grad_both_modes(f"m = sum({fn}(x, y))", x=[1.0, 2.0, 3.0], y=[3.0, 2.0, 1.0])
        big, small = ([0.0, 0.5, 1.0], [1.0, 0.5, 0.0]) if fn == "maximum" else \
            ([1.0, 0.5, 0.0], [0.0, 0.5, 1.0])
        np.testing.assert_array_equal(grads["x"][0], big)
        np.testing.assert_array_equal(grads["y"][0], small)
        np.testing.assert_array_equal(grads["x"][1], big)
    assert OPS["maximum"].forward(math.nan, 1.0) != OPS["maximum"].forward(math.nan, 1.0)
    assert math.isnan(OPS["maximum"].forward(1.0, math.nan))   # NaN wins in either order
    assert math.isnan(OPS["minimum"].forward(1.0, math.nan))


# --- sums along an axis, shapes and subscripts -----------------------------------------------

def test_sum_and_mean_without_an_axis_take_every_element() -> None:
    from compgraph import parse

    W = np.arange(6.0).reshape(2, 3)
    assert evaluate(parse("s = sum(W)"), W=W).output == 15.0
    np.testing.assert_array_equal(evaluate(parse("s = sum(W, axis=0)"), W=W).output, [3, 5, 7])
    np.testing.assert_array_equal(evaluate(parse("s = mean(W, axis=1)"), W=W).output, [1, 4])
    np.testing.assert_array_equal(evaluate(parse("s = mean(W, axis=[0, 1])"), W=W).output, 2.5)
    grads = backward(parse("s = sum(mean(W, axis=0) * [1, 2, 3])"), evaluate(
        parse("s = sum(mean(W, axis=0) * [1, 2, 3])"), W=W))
    np.testing.assert_array_equal(grads["W"], [[0.5, 1.0, 1.5], [0.5, 1.0, 1.5]])


def test_the_gradient_of_a_subscript_scatters_into_zeros() -> None:
    from compgraph import parse

    g = parse("y = 2*W[:, 1] + W[-1, 0]*[1, 1]\nC = sum(y)")
    grads = backward(g, evaluate(g, W=np.arange(6.0).reshape(2, 3)))
    np.testing.assert_array_equal(grads["W"], [[0, 2, 0], [2, 2, 0]])
    g = parse("C = sum(x[1:3]) + x[::-1][0]*10")
    np.testing.assert_array_equal(backward(g, evaluate(g, x=[1.0, 2, 3, 4]))["x"], [0, 1, 1, 10])


def test_outer_and_reshape_values() -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    np.testing.assert_array_equal(OPS["outer"].forward(a, b), [[3, 4, 5], [6, 8, 10]])
    x = np.arange(6.0)
    np.testing.assert_array_equal(OPS["reshape"].forward(x, shape=(2, -1)), [[0, 1, 2], [3, 4, 5]])
    assert OPS["reshape"].forward(2.0, shape=(1,)).shape == (1,)
    assert OPS["reshape"].forward(np.array([[2.0]]), shape=(1,)).shape == (1,)


@pytest.mark.parametrize("name, params, label", [
    ("sum", {}, "Σ"), ("sum", {"axis": 0}, "Σ₀"), ("sum", {"axis": [0, -1]}, "Σ₀,₋₁"),
    ("mean", {"axis": 1}, "mean₁"), ("softmax", {}, "softmax"), ("softmax", {"axis": 0}, "softmax₀"),
    ("log_softmax", {}, "log softmax"), ("logsumexp", {}, "logsumexp"),
    ("max", {"axis": -1}, "max₋₁"), ("min", {}, "min"), ("cross_entropy", {}, "CE"),
    ("maximum", {}, "maximum"), ("outer", {}, "outer"), ("reshape", {"shape": [2, 3]}, "reshape 2×3"),
    ("index", {"index": 0}, "[0]"), ("index", {"index": (slice(None), 1)}, "[:, 1]"),
    ("index", {"index": slice(1, 3)}, "[1:3]"), ("index", {"index": (-1, slice(None, None, 2))}, "[-1, ::2]"),
])
def test_labels_show_the_parameters(name: str, params: dict, label: str) -> None:
    op = OPS[name]
    assert op.label_for(dict(op.bind(params))) == label


def test_cost_operators() -> None:
    assert {n for n, op in OPS.items() if op.cost} == {"mse", "bce", "cross_entropy"}
