"""The engine's fast paths give exactly what the general paths give.

Evaluation and reverse mode run a float loop when every value is a Python float, and call
plain functions for a few operators there; batched reverse mode adds into arrays it owns
in place. These tests hold all of that to the registry, bit for bit.
"""

from __future__ import annotations

import importlib
import math
import random

import numpy as np
import pytest

from compgraph import OPS, backward, evaluate, jacobian, parse
from compgraph.evaluate import FLOAT_FORWARDS, Values

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-300, -1e-300, 1e308, -1e308,
           math.inf, -math.inf, math.nan]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


@pytest.mark.parametrize("name", sorted(FLOAT_FORWARDS))
def test_float_forwards_equal_the_registry(name: str) -> None:
    fast, op = FLOAT_FORWARDS[name], OPS[name]
    for args in ([(x,) for x in SPECIAL] if op.arity == 1
                 else [(x, y) for x in SPECIAL for y in SPECIAL]):
        got, want = fast(*args), op.forward(*args)
        assert type(got) is float and same(got, want), (name, args, got, want)


def random_program(rng: random.Random, n: int) -> str:
    names = ["x", "y", "z"]
    forms = ["{p} + {q}", "{p} - {q}", "{p} * {q}", "-{p}", "relu({p})", "tanh({p})",
             "abs({p})", "{p} / ({q} + 3)", "sigmoid({p}) * {q}", "0.5*({p} + {q})",
             "relu({p}) - 0.5*{q}", "exp({p})"]
    lines = []
    for k in range(n):
        p, q = rng.choice(names[-6:]), rng.choice(names)
        lines.append(f"v{k} = " + rng.choice(forms).format(p=p, q=q))
        names.append(f"v{k}")
    return "\n".join(lines)


def general(graph, point):
    """Values and gradients through the registry and the general (any-value) paths only."""
    vals = []
    for node in graph.nodes:
        if node.kind == "input":
            vals.append(float(point[node.name]))
        elif node.kind == "const":
            vals.append(node.value)
        else:
            vals.append(OPS[node.op].forward(*(vals[j] for j in node.operands)))
    values = Values(graph, tuple(vals))  # all_floats unset: the general reverse loop
    return values, backward(graph, values)


@pytest.mark.parametrize("seed", range(20))
def test_float_loops_match_the_general_loops(seed: int) -> None:
    rng = random.Random(seed)
    graph = parse(random_program(rng, 40))
    point = {name: rng.uniform(-2, 2) for name in graph.input_names}
    fast = evaluate(graph, point)
    assert fast.all_floats
    grads = backward(graph, fast)
    values, slow = general(graph, point)
    assert all(same(a, b) for a, b in zip(fast.nodes, values.nodes))
    assert [a is None for a in grads.nodes] == [b is None for b in slow.nodes]
    assert all(same(a, b) for a, b in zip(grads.nodes, slow.nodes) if a is not None)
    assert grads.edges.keys() == slow.edges.keys()
    assert all(same(grads.edges[k], slow.edges[k]) for k in slow.edges)


@pytest.mark.parametrize("seed", range(6))
def test_plans_of_int32_columns_give_the_same_bits(monkeypatch, seed: int) -> None:
    """Small graphs' plans hold node ids as lists, large graphs' as int32 columns: the
    same values and gradients either way, on floats and arrays, with and without wrt."""
    # the module, not the function compgraph.evaluate
    evaluate_module = importlib.import_module("compgraph.evaluate")
    rng = random.Random(seed)
    source = random_program(rng, 60)
    inputs = parse(source).input_names
    point = {name: rng.uniform(-2, 2) for name in inputs}
    batch = {name: np.linspace(-2, 2, 7) * v for name, v in point.items()}
    wrt = [rng.choice(inputs)]
    results = []
    for below in (evaluate_module.LIST_PLANS_BELOW, 0):
        monkeypatch.setattr(evaluate_module, "LIST_PLANS_BELOW", below)
        graph = parse(source)  # a new graph: plans are kept on the graph
        values, arrays = evaluate(graph, point), evaluate(graph, batch)
        assert isinstance(evaluate_module.forward_plan(graph).ids, list if below else memoryview)
        results.append((values, backward(graph, values), backward(graph, values, wrt=wrt),
                        arrays, backward(graph, arrays, seed=1.0)))
    for lists, columns in zip(*results):
        for a, b in zip(lists.nodes, columns.nodes):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)


def test_nonfinite_found_in_the_float_path() -> None:
    values = evaluate(parse("a = x*1e308, b = a*10, c = b - b, d = x"), x=1.0)
    assert values.all_floats
    assert values.nonfinite == values.graph.latest["b"]
    assert evaluate(parse("a = x*1e308, b = a + a, c = b*0"), x=1.0).nonfinite is not None
    # A sum that overflows while every term is finite is not a non-finite value.
    assert evaluate(parse("a = x*1e308, b = a*1.5, c = a*1.7"), x=1.0).nonfinite is None


def test_batched_accumulation_leaves_inputs_seed_and_edges_alone() -> None:
    graph = parse("a = x*y + z; b = a*(x + x); w = a*b + b")
    rng = np.random.default_rng(1)
    x, y, z = (rng.uniform(-1, 1, 5) for _ in range(3))
    copies = [x.copy(), y.copy(), z.copy()]
    seed = np.ones(5)
    values = evaluate(graph, x=x, y=y, z=z)
    grads = backward(graph, values, seed=seed)
    for v, c in zip((x, y, z), copies):
        np.testing.assert_array_equal(v, c)
    np.testing.assert_array_equal(seed, np.ones(5))
    # Every node's adjoint is still the sum of what its edges carried.
    for j in range(len(graph)):
        carried = [c for (i, k), c in grads.edges.items() if graph.nodes[i].operands[k] == j]
        if carried:
            np.testing.assert_allclose(grads.nodes[j], sum(carried), rtol=1e-15)
    a = x * y + z
    b = a * (x + x)
    gb = a + 1.0
    ga = b + gb * (x + x)
    np.testing.assert_allclose(grads["x"], ga * y + 2.0 * gb * a, rtol=1e-12)
    np.testing.assert_allclose(grads["y"], ga * x, rtol=1e-12)
    np.testing.assert_allclose(grads["z"], ga, rtol=1e-12)


def test_float64_inputs_are_held_as_read_only_views() -> None:
    x = np.array([1.0, 2.0])
    values = evaluate(parse("y = x*x"), x=x)
    held = values.nodes[values.graph.latest["x"]]
    assert np.shares_memory(held, x) and not held.flags.writeable
    assert x.flags.writeable
    ints = np.array([1, 2])
    converted = evaluate(parse("y = x*x"), x=ints).nodes[0]
    assert converted.dtype == np.float64 and not np.shares_memory(converted, ints)


def test_batched_edges_are_what_the_sweep_added() -> None:
    # Fan-in through every kind of edge: repeated operand, broadcast scalar, constant.
    graph = parse("a = x*w + w; b = a*a - 2*x; c = b*s + relu(a)/s")
    rng = np.random.default_rng(2)
    point = dict(x=rng.uniform(-1, 1, 4), w=rng.uniform(-1, 1, 4), s=1.5)
    values = evaluate(graph, point)
    grads = backward(graph, values, seed=np.ones(4))
    for j in range(len(graph)):
        carried = [c for (i, k), c in grads.edges.items() if graph.nodes[i].operands[k] == j]
        if carried:
            np.testing.assert_array_equal(grads.nodes[j], sum(carried[1:], carried[0]))
    assert np.ndim(grads["s"]) == 0


def _without_ones_shortcut(monkeypatch, graph, values, seed):
    """Gradients through the registry's rules only: the seed never recognised as ones."""
    import compgraph.differentiate as differentiate

    with monkeypatch.context() as m:
        m.setattr(differentiate, "_all_ones", lambda seed: False)
        return backward(graph, values, seed=seed)


@pytest.mark.parametrize("source", [
    "w = x + x", "w = x * x", "w = x - x", "w = x*y + x", "w = x*y", "w = (x + y) * x",
    "a = x*y + z; b = a*(x + x); w = a*b + b", "a = x*x; w = a + a*y - relu(a)",
    "a = tanh(x); w = a*a + exp(y)*a",
])
def test_a_seed_of_ones_gives_the_rules_bits(monkeypatch, source: str) -> None:
    # Where the cotangent is the seed's ones the engine uses the local derivative (and
    # adds 1.0 for the seed) instead of multiplying and adding arrays of ones.
    graph = parse(source)
    rng = np.random.default_rng(3)
    point = {n: rng.uniform(-1, 1, 6) for n in graph.input_names}
    copies = {n: v.copy() for n, v in point.items()}
    values = evaluate(graph, point)
    value_copies = [np.copy(v) for v in values.nodes]
    seed = np.ones(6)
    grads = backward(graph, values, seed=seed)
    again = backward(graph, values, seed=seed)  # the same seed, reused
    want = _without_ones_shortcut(monkeypatch, graph, values, seed)
    for got in (grads, again):
        for a, b in zip(got.nodes, want.nodes):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)
        assert got.edges.keys() == want.edges.keys()
        for key, c in want.edges.items():
            np.testing.assert_array_equal(got.edges[key], c)
    # Nothing the caller gave or the evaluation made was written.
    np.testing.assert_array_equal(seed, np.ones(6))
    for n, v in point.items():
        np.testing.assert_array_equal(v, copies[n])
    for v, c in zip(values.nodes, value_copies):
        np.testing.assert_array_equal(v, c)


def test_an_adjoint_that_is_a_value_is_read_only() -> None:
    # Under a seed of ones d(a*b)/db is a's value itself: handed on as a read-only view.
    graph = parse("a = x + 1; b = a*y; w = a*b")
    values = evaluate(graph, x=np.arange(3.0), y=np.full(3, 2.0))
    grads = backward(graph, values, seed=np.ones(3))
    assert np.shares_memory(grads["b"], values["a"])
    assert not grads["b"].flags.writeable
    with pytest.raises(ValueError):
        grads["b"][0] = 99.0
    np.testing.assert_array_equal(values["a"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(grads["a"], values["b"] + values["a"] * 2.0)


def test_a_scalar_seed_of_one_on_a_batch() -> None:
    # seed=1.0 on an array output: the same numbers as an explicit array of ones.
    graph = parse("a = x*y + z; b = a*(x + x); w = a*b + b")
    rng = np.random.default_rng(4)
    point = {n: rng.uniform(-1, 1, 5) for n in "xyz"}
    values = evaluate(graph, point)
    by_scalar = backward(graph, values, seed=1.0)
    by_array = backward(graph, values, seed=np.ones(5))
    for name in "xyz":
        np.testing.assert_array_equal(by_scalar[name], by_array[name])


def test_an_almost_ones_seed_is_multiplied() -> None:
    graph = parse("w = x*y")
    values = evaluate(graph, x=np.array([1.0, 2.0]), y=np.array([3.0, 4.0]))
    seed = np.array([1.0, 0.5])
    np.testing.assert_array_equal(backward(graph, values, seed=seed)["x"], [3.0, 2.0])
    np.testing.assert_array_equal(seed, [1.0, 0.5])


# --- intermediates computed in place (issue 13) --------------------------------------------

import importlib  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from compgraph.evaluate import Recomputed  # noqa: E402
from test_ownership import fan_out_programs  # noqa: E402
from test_properties import SETTINGS, program_text, programs  # noqa: E402

EVALUATE = importlib.import_module("compgraph.evaluate")


@contextmanager
def in_place_above(size: int):
    """Evaluation takes over intermediates' arrays of at least ``size`` bytes."""
    saved = EVALUATE.IN_PLACE_BYTES
    EVALUATE.IN_PLACE_BYTES = size
    try:
        yield
    finally:
        EVALUATE.IN_PLACE_BYTES = saved


def node_by_node(graph, point):
    """Every value through the registry's forwards, each kept (no plan, no take-over)."""
    vals = []
    for node in graph.nodes:
        if node.kind == "input":
            vals.append(EVALUATE.as_value(point[node.name]))
        elif node.kind == "const":
            vals.append(node.value)
        else:
            with np.errstate(all="ignore"):
                vals.append(OPS[node.op].forward(*(vals[j] for j in node.operands),
                                                 **node.kwargs))
    return Values(graph, tuple(vals))


def assert_same(a, b) -> None:
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_array_equal(a, b)
        assert np.shape(a) == np.shape(b)


def test_a_large_batch_computes_intermediates_in_place() -> None:
    graph = parse("a = x*y + z; b = a*(x + x); w = a*b + b")
    n = (1 << 20) // 8  # a 1 MiB array per value: IN_PLACE_BYTES
    rng = np.random.default_rng(5)
    point = {name: rng.uniform(-1, 1, n) for name in "xyz"}
    values = evaluate(graph, point)
    assert isinstance(values.nodes, Recomputed)
    xy, a, ab, w = (next(i for i, node in enumerate(graph.nodes) if node.operands == ops)
                    for ops in ((0, 1), (2, 3), (4, 6), (7, 6)))
    # x*y is computed into by '+ z', a*b by '+ b': their arrays became a's and w's
    assert values.nodes.taken == {xy: a, ab: w}
    assert values.nodes.stand_ins[a] is values.nodes[a] is values["a"]
    want = node_by_node(graph, point)
    for i in range(len(graph)):  # the values not kept are computed again, the same bits
        assert_same(values.nodes[i], want.nodes[i])
    assert values.nodes[xy] is values.nodes[xy]  # once
    assert list(values.nodes) == list(values.nodes[0:len(graph)]) and len(values.nodes) == 9
    assert values.nodes[-1] is values.output
    for seed in (1.0, np.ones(n), rng.uniform(-1, 1, n)):
        got, ref = backward(graph, values, seed=seed), backward(graph, want, seed=seed)
        for g1, g2 in zip(got.nodes, ref.nodes):
            assert_same(g1, g2)
    # Smaller arrays are kept: nothing to save there.
    small = evaluate(graph, {k: v[:1000] for k, v in point.items()})
    assert type(small.nodes) is tuple


@pytest.mark.parametrize("source, taken", [
    ("w = x*y + z", 1),             # x*y into '+ z'
    ("w = -(x*y)", 1),
    ("w = 3*(x*y)", 1),             # the constant's rule, which reads x*y, never runs
    ("w = relu(x) + z", 1),         # relu's rule reads x, not its result
    ("w = x*Z + z", 1),             # (2, 5) + (5,) fits x*Z's array
    ("t = x*y; w = (x*y) + (x*y)*z", 1),  # the first (x*y); the second is read by z's rule
    ("p = x*y; w = p + z", 0),      # named: a variable the user may ask for
    ("w = (x*y) * z", 0),           # z's rule reads x*y
    ("w = tanh(x*y) - z", 0),       # tanh would not carry a NaN on; tanh's rule reads tanh
    ("w = tanh(x) + z", 0),         # tanh's rule reads its result
    ("w = sigmoid(x) + z", 0),      # sigmoid has no into
])
def test_which_intermediates_are_computed_in_place(source: str, taken: int) -> None:
    graph = parse(source)
    rng = np.random.default_rng(6)
    point = {name: rng.uniform(-1, 1, (2, 5) if name == "Z" else 5)
             for name in graph.input_names}
    with in_place_above(0):
        values = evaluate(graph, point)
    got = values.nodes.taken if isinstance(values.nodes, Recomputed) else {}
    assert len(got) == taken
    want = node_by_node(graph, point)
    for i in range(len(graph)):
        assert_same(values.nodes[i], want.nodes[i])


def test_a_products_array_takes_the_bias() -> None:
    # S = X @ transpose(W) + b: b is added into the product's array (NumPy's `X @ W.T + b`
    # makes one array fewer by hand too), and the product is computed again when asked for
    graph = parse("S = X @ transpose(W) + b; L = sum(S*S)")
    rng = np.random.default_rng(8)
    point = dict(X=rng.uniform(-1, 1, (4, 3)), W=rng.uniform(-1, 1, (5, 3)),
                 b=rng.uniform(-1, 1, 5))
    with in_place_above(0):
        values = evaluate(graph, point)
    assert isinstance(values.nodes, Recomputed) and len(values.nodes.taken) == 1
    want = node_by_node(graph, point)
    for i in range(len(graph)):
        assert_same(values.nodes[i], want.nodes[i])
    for g1, g2 in zip(backward(graph, values).nodes, backward(graph, want).nodes):
        assert_same(g1, g2)
    # two vectors make a number: nothing to compute into
    with in_place_above(0):
        dot = evaluate(parse("w = x @ y + 1"), x=[1.0, 2.0], y=[3.0, 4.0])
    assert dot.output == 12.0


@pytest.mark.parametrize("source", [
    "S = X @ transpose(W) + b; A = 3*relu(S); L = sum((A @ transpose(V) + c - Y)**2)",
    "S = transpose(W) @ transpose(X) - 1; L = sum(S*S) + sum(transpose(S) @ W)",
    "P = X @ transpose(W); Q = P @ transpose(transpose(V)) * 2; L = sum(-(Q + P @ V) + Q*Q)",
    "S = (X @ transpose(W) + b) @ transpose(W); L = sum(tanh(S)) + sum(S @ transpose(X))",
])
def test_matrix_programs_in_place_give_the_same_bits(source: str) -> None:
    # products computed into, biases added into them, adjoints laid out as their operands:
    # every value and gradient the same bits as a node-by-node evaluation, seeds of all kinds
    graph = parse(source)
    rng = np.random.default_rng(10)
    shapes = {"X": (5, 3), "W": (3, 3), "b": (3,), "V": (3, 3), "c": (3,), "Y": (5, 3)}
    point = {k: rng.uniform(-1, 1, shapes[k]) for k in graph.input_names}
    with in_place_above(0):
        values = evaluate(graph, point)
    want = node_by_node(graph, point)
    for i in range(len(graph)):
        assert_same(values.nodes[i], want.nodes[i])
    for wrt in (None, list(graph.input_names[:2])):
        got, ref = backward(graph, values, wrt=wrt), backward(graph, want, wrt=wrt)
        for g1, g2 in zip(got.nodes, ref.nodes):
            assert_same(g1, g2)
        for name in (wrt or graph.input_names):
            np.testing.assert_array_equal(got[name], ref[name])


def test_an_operands_adjoint_is_laid_out_as_the_operand() -> None:
    # transpose(W) is W's memory read by columns: its adjoint is computed as the transpose
    # of transpose(G) @ X, so that W's own is transpose(G) @ X, row by row as W is (and
    # BLAS makes that product of a batch faster than transpose(X) @ G)
    rng = np.random.default_rng(9)
    X, W, V = rng.standard_normal((6, 4)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    graph = parse("S = X @ transpose(W); T = X @ V; L = sum(S*S) + sum(T*T)")
    values = evaluate(graph, X=X, W=W, V=V)
    grads = backward(graph, values)
    dS, dT = 2 * values["S"], 2 * values["T"]
    assert grads["W"].flags.c_contiguous and grads["V"].flags.c_contiguous
    assert np.array_equal(grads["W"], np.matmul(dS.T, X))
    assert np.array_equal(grads["V"], np.matmul(X.T, dT))
    # on the left: S = transpose(W) @ Y gives W's adjoint as Y @ transpose(G)
    Y = rng.standard_normal((3, 5))
    graph = parse("S = transpose(W) @ Y; L = sum(S*S)")
    values = evaluate(graph, W=W, Y=Y)
    dW = backward(graph, values)["W"]
    assert dW.flags.c_contiguous
    assert np.array_equal(dW, np.matmul(Y, (2 * values["S"]).T))


def test_an_intermediate_is_not_computed_into_when_the_result_is_larger() -> None:
    # (5,) + (2, 5) is (2, 5): the result does not fit the intermediate's array
    graph = parse("w = x*y + Z")
    rng = np.random.default_rng(7)
    point = dict(x=rng.uniform(-1, 1, 5), y=rng.uniform(-1, 1, 5), Z=rng.uniform(-1, 1, (2, 5)))
    with in_place_above(0):
        values = evaluate(graph, point)
    assert type(values.nodes) is tuple
    np.testing.assert_array_equal(values.output, point["x"] * point["y"] + point["Z"])


@SETTINGS
@given(programs(vectors=True), st.data())
def test_in_place_evaluation_gives_the_same_values_and_gradients(drawn, data) -> None:
    statements, point = drawn
    graph = parse(program_text(statements))
    kept = evaluate(graph, point)
    with in_place_above(0):
        values = evaluate(graph, point)
    for i in range(len(graph)):
        assert_same(values.nodes[i], kept.nodes[i])
    assert values.nonfinite == kept.nonfinite
    names = list(graph.latest)
    wrt = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(names), min_size=1,
                                                   unique=True)))
    # values computed again on request: backward must not have needed them
    fresh = values if not isinstance(values.nodes, Recomputed) else evaluate_in_place(graph, point)
    got, want = backward(graph, fresh, wrt=wrt), backward(graph, kept, wrt=wrt)
    if isinstance(fresh.nodes, Recomputed):
        assert fresh.nodes._again == {}  # reverse mode read no value that was not kept
    for g1, g2 in zip(got.nodes, want.nodes):
        assert_same(g1, g2)


def evaluate_in_place(graph, point):
    with in_place_above(0):
        return evaluate(graph, point)


@pytest.mark.parametrize("point, first", [
    (dict(x=1e200, y=1e200, z=1.0), "x*y"),      # the product overflows, not kept
    (dict(x=1.0, y=2.0, z=np.inf), "z"),           # x*y computed again: it is finite
    (dict(x=np.inf, y=0.0, z=1.0), "x"),
    (dict(x=1.0, y=2.0, z=3.0), None),
])
def test_the_first_nonfinite_value_counts_values_not_kept(point, first) -> None:
    graph = parse("w = x*y + z")
    with in_place_above(0):
        values = evaluate(graph, {k: np.full(4, v) for k, v in point.items()})
    assert isinstance(values.nodes, Recomputed)
    where = {"x*y": 2, "x": 0, "z": 3, None: None}[first]
    assert values.nonfinite == where
    if first in ("x", None):  # known without computing x*y again
        assert values.nodes._again == {}


def test_relus_rule_multiplies_by_the_mask_itself() -> None:
    # g * (x > 0) on arrays: the bits of g * relu'(x), -0.0 and NaN included
    g, x = np.meshgrid(SPECIAL, SPECIAL)
    g, x = g.ravel(), x.ravel()
    relu = OPS["relu"]
    with np.errstate(all="ignore"):
        got = relu.vjp[0](g, None, x)
        want = g * relu.partials[0](None, x)
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    for a, b in zip(g[:40].tolist(), x[:40].tolist()):  # floats, and a float g on an array x
        assert same(relu.vjp[0](a, None, b), a * relu.partials[0](None, b))
    np.testing.assert_array_equal(relu.vjp[0](2.0, None, x), 2.0 * relu.partials[0](None, x))


# --- adjoints handed on (issue 13) -----------------------------------------------------------

DIFFERENTIATE = importlib.import_module("compgraph.differentiate")


@contextmanager
def nothing_handed_on():
    """Reverse mode keeps every adjoint where the sweep left it (no node is anonymous)."""
    saved = DIFFERENTIATE._anonymous
    DIFFERENTIATE._anonymous = lambda graph: bytes(len(graph.nodes))
    try:
        yield
    finally:
        DIFFERENTIATE._anonymous = saved


def test_an_anonymous_adjoint_is_handed_on_and_computed_again() -> None:
    # (x + x)'s adjoint, made by the sweep, goes on whole to x: it becomes x's running sum
    # (doubled in place, then x*y's contribution added), and is computed again when asked.
    graph = parse("a = x*y + z; b = a*(x + x); w = a*b + b")
    rng = np.random.default_rng(8)
    point = {n: rng.uniform(-1, 1, 6) for n in "xyz"}
    values = evaluate(graph, point)
    xx = next(i for i, node in enumerate(graph.nodes) if node.operands == (0, 0))
    for seed in (1.0, np.ones(6), rng.uniform(-1, 1, 6)):
        grads = backward(graph, values, seed=seed)
        assert isinstance(grads.nodes, DIFFERENTIATE.HandedOn)
        assert grads.nodes.handed == {xx: 0}
        with nothing_handed_on():
            want = backward(graph, values, seed=seed)
        assert type(want.nodes) is tuple
        for i in range(len(graph)):
            assert_same(grads.nodes[i], want.nodes[i])
        assert grads.edges.keys() == want.edges.keys()
        for key in want.edges:
            assert_same(grads.edges[key], want.edges[key])
        # d w/d(x + x) = (dw/db) * a = (a + 1) * a, times the seed
        np.testing.assert_allclose(grads.nodes[xx], seed * (values["a"] + 1) * values["a"])
    assert list(grads.nodes[xx:xx + 1]) == [grads.nodes[xx]] and grads.nodes[-1] is grads.nodes[8]


@SETTINGS
@given(programs(vectors=True), st.data())
def test_handing_adjoints_on_gives_the_same_gradients(drawn, data) -> None:
    statements, point = drawn
    graph = parse(program_text(statements))
    in_place = data.draw(st.booleans())
    with in_place_above(0 if in_place else 1 << 60):
        values = evaluate(graph, point)
    names = list(graph.latest)
    wrt = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(names), min_size=1,
                                                   unique=True)))
    out_shape = np.shape(values.output)
    seed = None if not out_shape else data.draw(st.sampled_from(["ones", "random", "one"]))
    seed = {None: None, "ones": np.ones(out_shape), "one": 1.0,
            "random": np.linspace(-1, 2, int(np.prod(out_shape))).reshape(out_shape)}[seed]
    got = backward(graph, values, seed=seed, wrt=wrt)
    with nothing_handed_on():
        want = backward(graph, values, seed=seed, wrt=wrt)
    for i in range(len(graph)):
        assert_same(got.nodes[i], want.nodes[i])
    assert got.nonfinite == want.nonfinite
    for key in want.edges:
        assert_same(got.edges[key], want.edges[key])


@pytest.mark.parametrize("x, first", [(np.inf, "x + x"), (1.0, None), (np.nan, "x + x")])
def test_a_handed_adjoint_that_is_not_finite_is_found(x: float, first) -> None:
    # (x + x)'s adjoint, q*(y*s), is the sweep's own: handed on to x
    graph = parse("w = ((y*s)*(x + x))*q")
    point = dict(x=np.full(3, 1.0), y=np.full(3, x), s=np.full(3, 2.0), q=np.full(3, 0.5))
    values = evaluate(graph, point)
    grads = backward(graph, values, seed=1.0)
    with nothing_handed_on():
        want = backward(graph, values, seed=1.0)
    assert isinstance(grads.nodes, DIFFERENTIATE.HandedOn) and grads.nodes.handed
    assert grads.nonfinite == want.nonfinite
    assert (grads.nonfinite is None) == (first is None)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(fan_out_programs(), st.data())
def test_fan_out_programs_in_place_and_handed_on_give_the_same_bits(drawn, data) -> None:
    # Programs of batches where intermediates are often computed in place and adjoints
    # handed on: values, gradients, edges and the non-finite reports are those of an
    # evaluation that keeps every value and a sweep that keeps every adjoint.
    text, point = drawn
    graph = parse(text)
    point = {n: v for n, v in point.items() if n in graph.input_names}
    kept = evaluate(graph, point)
    with in_place_above(0):
        values = evaluate(graph, point)
    for i in range(len(graph)):
        assert_same(values.nodes[i], kept.nodes[i])
    shape = np.shape(kept.output)
    seed = data.draw(st.sampled_from([1.0, "ones", "random"]))
    seed = {"ones": np.ones(shape), "random": np.linspace(-2, 1, kept.output.size).reshape(shape)
            }.get(seed, seed)
    wrt = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(list(graph.latest)),
                                                   min_size=1, unique=True)))
    got = backward(graph, values, seed=seed, wrt=wrt)
    with nothing_handed_on():
        want = backward(graph, kept, seed=seed, wrt=wrt)
    for i in range(len(graph)):
        assert_same(got.nodes[i], want.nodes[i])
    assert got.nonfinite == want.nonfinite
    assert got.edges.keys() == want.edges.keys()
    for key in want.edges:
        assert_same(got.edges[key], want.edges[key])


def test_a_jacobian_through_a_cut_reads_every_value() -> None:
    # x*y is computed into by '* k' because k's rule, which reads x*y, never runs: k is
    # computed from constants only. Cut at k, it is an input, and its rule runs.
    graph = parse("k = [1.0, 2.0, 3.0, 4.0] * 2, w = (x*y) * k")
    x, y = np.array([0.5, -1.0, 2.0, 3.0]), np.array([2.0, 3.0, -1.0, 0.25])
    with in_place_above(0):
        values = evaluate(graph, x=x, y=y)
        assert isinstance(values.nodes, Recomputed) and values.nodes.taken
        jac = jacobian(graph, "k", values=values)
    np.testing.assert_array_equal(jac, np.diag(x * y))
