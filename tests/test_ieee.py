"""Numbers follow IEEE everywhere (issue 8, items 4 to 6): no rule raises, no NumPy warning
leaks, undefined values have undefined (NaN) derivatives, and bce at a perfect prediction
is 0 with finite derivatives, as in PyTorch.

The registry walk calls every forward and every rule of every operator on IEEE edge
values, as Python floats and as arrays, and holds the two to the same numbers.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import compgraph as cg
from compgraph import OPS
from compgraph.plot import sample

EDGES = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, -1e308, 1e-320]
FINITE = [0.0, -0.0, 1e308, -1e308, 1e-320, 1.0, -1.0, 0.5, 2.0, -2.5, 3.0]
COTANGENTS = [1.0, -0.0, math.inf, math.nan]
# Operators that take arrays only (they normalize along an axis, or reshape or index one),
# with the parameters a call needs; they are walked on small arrays of edge values.
ARRAY_ONLY = {"softmax": {}, "log_softmax": {}, "cross_entropy": {}, "outer": {},
              "reshape": {"shape": (-1,)}, "index": {"index": (0,)}}
ELEMENTWISE = sorted(name for name in OPS if name != "matmul" and name not in ARRAY_ONLY)


def _agree(scalar, array, what: str) -> None:
    assert type(scalar) is float, f"{what}: {type(scalar).__name__} on floats, not float"
    assert isinstance(array, (float, np.ndarray)), f"{what}: {type(array).__name__} on arrays"
    np.testing.assert_allclose(np.ravel(array), [scalar], rtol=1e-12, atol=0, equal_nan=True,
                               err_msg=what)


def _calls(name: str, args: tuple[float, ...]):
    """(what, scalar call, array call) for the forward and every rule of ``name`` at args."""
    op = OPS[name]
    arrays = tuple(np.array([a]) for a in args)
    out_s = op.forward(*args)
    out_a = op.forward(*arrays)
    yield "forward", out_s, out_a
    rules = [("vjp", r) for r in op.vjp] + [("jvp", r) for r in op.jvp]
    for (kind, rule), g in itertools.product(rules, COTANGENTS):
        g_a = np.full(np.shape(out_a), g) if kind == "vjp" else np.array([g])
        g_a = float(g) if g_a.ndim == 0 else g_a
        yield f"{kind} g={g}", rule(g, out_s, *args), rule(g_a, out_a, *arrays)
    for k, partial in enumerate(op.partials or ()):
        yield f"partial {k}", partial(out_s, *args), partial(out_a, *arrays)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_every_rule_is_total_on_edge_values_and_floats_agree_with_arrays(name: str) -> None:
    with np.errstate(all="ignore"):
        for args in itertools.product(EDGES, repeat=OPS[name].arity):
            for what, s, a in _calls(name, args):
                _agree(s, a, f"{name}{args} {what}")


@pytest.mark.parametrize("name", sorted(ARRAY_ONLY))
def test_array_operators_are_total_on_edge_values(name: str) -> None:
    op, params = OPS[name], ARRAY_ONLY[name]
    with np.errstate(all="ignore"):  # the engine's setting (test_no_numpy_warning_leaks)
        for values in itertools.product(EDGES, repeat=2):
            args = tuple(np.array(values) for _ in range(op.arity))
            out = op.forward(*args, **params)
            g = np.ones(np.shape(out)) if np.ndim(out) else 1.0
            for k in range(op.arity):
                assert np.shape(op.vjp[k](g, out, *args, **params)) in (np.shape(args[k]), ())
                assert np.shape(op.jvp[k](np.ones(2), out, *args, **params)) == np.shape(out)


def test_matmul_rules_are_total_on_edge_values() -> None:
    op = OPS["matmul"]
    with np.errstate(all="ignore"):
        for a, b in itertools.product(EDGES, repeat=2):
            for A, B in [(np.full(2, a), np.full(2, b)), (np.full((2, 2), a), np.full(2, b)),
                         (np.full(2, a), np.full((2, 3), b)),
                         (np.full((2, 2), a), np.full((2, 3), b))]:
                out = op.forward(A, B)
                g = np.ones(np.shape(out)) if np.ndim(out) else 1.0
                assert np.shape(op.vjp[0](g, out, A, B)) == A.shape
                assert np.shape(op.vjp[1](g, out, A, B)) == B.shape
                assert np.shape(op.jvp[0](np.ones(A.shape), out, A, B)) == np.shape(out)
                assert np.shape(op.jvp[1](np.ones(B.shape), out, A, B)) == np.shape(out)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_undefined_values_have_undefined_derivatives(name: str) -> None:
    # Issue 8 item 4: where an operator gives NaN at finite operands (log or sqrt of a
    # negative, a negative base to a fractional power, bce outside [0, 1]), no rule
    # pretends there is a slope.
    op = OPS[name]
    with np.errstate(all="ignore"):
        for args in itertools.product(FINITE, repeat=op.arity):
            out = op.forward(*args)
            if not math.isnan(out):
                continue
            for k in range(op.arity):
                for rule in (op.vjp[k], op.jvp[k]):
                    d = rule(1.0, out, *args)
                    assert not math.isfinite(d), f"{name}{args}: rule {k} gives {d}"


@pytest.mark.parametrize("src, point", [
    ("y = log(x)", {"x": -1.0}),
    ("y = sqrt(x)", {"x": -4.0}),
    ("y = x ** 0.5", {"x": -4.0}),
    ("y = x ** p", {"x": -2.0, "p": 1.5}),
    ("C = bce(yhat, y)", {"yhat": 1.5, "y": 1.0}),
    ("C = bce(yhat, y)", {"yhat": -0.5, "y": 0.0}),
    ("a = log(x); b = relu(a); y = 3*b + x", {"x": -1.0}),
    ("a = log(x); y = sign(a) + x", {"x": -1.0}),
])
def test_every_gradient_through_an_undefined_node_is_nan(src: str, point: dict) -> None:
    g = cg.parse(src)
    values = cg.evaluate(g, point)
    assert math.isnan(values.output) or values.nonfinite is not None
    grads = cg.backward(g, values)
    first = g.input_names[0]
    assert math.isnan(grads[first])
    assert math.isnan(cg.tangents(g, values, first).output)
    # ... batched, with a seed of ones (the engine's partials path) and without
    batch = {n: np.array([v, v]) for n, v in point.items()}
    bvalues = cg.evaluate(g, batch)
    for seed in (np.ones(2), np.array([1.0, 0.5])):
        assert np.isnan(cg.backward(g, bvalues, seed=seed)[first]).all()
    assert np.isnan(cg.tangents(g, bvalues, first).output).all()
    assert grads.nonfinite is not None
    assert "the gradient is not finite (NaN)" in grads.nonfinite_message()


def test_log_at_minus_one_is_nan_in_every_view() -> None:
    g = cg.parse("y = log(x)")
    values = cg.evaluate(g, x=-1.0)
    grads = cg.backward(g, values)
    assert math.isnan(grads["x"])                                 # was -1
    assert all(math.isnan(c) for c in grads.edges.values())
    assert all(math.isnan(d) for d in cg.local_derivatives(g, values).values())
    assert math.isnan(cg.jacobian(g, "x", values=values))


def test_gradients_report_where_they_first_become_nonfinite() -> None:
    # Every value is finite; sqrt has no finite slope at 0, so a's gradient is infinite,
    # and x's (inf * 2x at x = 0) is NaN. The report names the node where the reverse
    # sweep first met a non-finite gradient: the newest such node, a.
    g = cg.parse("a = x*x\nb = sqrt(a)\nw = b*y + y")
    values = cg.evaluate(g, x=0.0, y=2.0)
    assert values.nonfinite is None
    grads = cg.backward(g, values)
    assert grads.nonfinite == g.latest["a"]
    assert math.isinf(grads["a"]) and math.isnan(grads["x"])
    assert grads.nonfinite_message() == ("line 1, column 5: the gradient is not finite "
                                         "(infinite) at a = x*x\n  a = x*x\n      ^^^")
    batched = cg.backward(g, cg.evaluate(g, x=[0.0, 1.0], y=[2.0, 2.0]), seed=np.ones(2))
    assert batched.nonfinite == g.latest["a"]
    fine = cg.backward(g, cg.evaluate(g, x=3.0, y=2.0))
    assert fine.nonfinite is None and fine.nonfinite_message() is None


def test_a_report_at_an_alias_names_it_once() -> None:
    # `y = x` makes y another name of input x: the label is "x = y", the text "x".
    g = cg.parse("y = x; w = log(y)")
    grads = cg.backward(g, cg.evaluate(g, x=-1.0))
    assert grads.nonfinite_message().splitlines()[0] == (
        "line 1, column 5: the gradient is not finite (NaN) at x = y")


def test_plot_leaves_gaps_where_the_function_is_undefined() -> None:
    s = sample("log(x)", -2.0, 2.0, 9)
    undefined = s.x < 0
    assert np.isnan(s.f[undefined]).all() and np.isnan(s.df[undefined]).all()
    defined = s.x > 0
    np.testing.assert_allclose(s.df[defined], 1.0 / s.x[defined])
    s = sample("sqrt(x)", -1.0, 1.0, 5)
    assert np.isnan(s.df[s.x < 0]).all()


# --- item 5: bce at a perfect prediction ------------------------------------------------------

def test_bce_at_a_perfect_prediction_is_zero_with_pytorchs_finite_gradients() -> None:
    g = cg.parse("C = bce(yhat, y)")
    values = cg.evaluate(g, yhat=[0.0, 1.0], y=[0.0, 1.0])
    assert values.output == 0.0 and values.nonfinite is None
    grads = cg.backward(g, values)
    # torch.nn.functional.binary_cross_entropy(yhat, y) at yhat = y = [0, 1]: the loss is
    # 0, d/dyhat = (yhat - y) / max(yhat (1 - yhat), 1e-12) / 2 = [0, 0], and d/dy =
    # (log(1 - yhat) - log(yhat)) / 2 with logs clamped at -100 = [50, -50].
    np.testing.assert_array_equal(grads["yhat"], [0.0, 0.0])
    np.testing.assert_array_equal(grads["y"], [50.0, -50.0])
    assert grads.nonfinite is None
    for yhat, y in [(0.0, 0.0), (1.0, 1.0)]:
        scalar = cg.evaluate(g, yhat=yhat, y=y)
        assert scalar.output == 0.0
        assert all(math.isfinite(v) for v in cg.backward(g, scalar).nodes if v is not None)
        assert math.isfinite(cg.tangents(g, scalar, "yhat").output)


def test_bce_near_the_edges_matches_pytorchs_formulas() -> None:
    g = cg.parse("C = bce(yhat, y)")
    yhat, y = np.array([1e-13, 0.3, 1.0 - 1e-13]), np.array([1.0, 0.0, 0.0])
    grads = cg.backward(g, cg.evaluate(g, yhat=yhat, y=y))
    np.testing.assert_allclose(grads["yhat"], (yhat - y) / np.maximum(yhat * (1 - yhat), 1e-12) / 3)
    # a certain wrong prediction: the cost is +inf (reported), the derivatives finite
    wrong = cg.evaluate(g, yhat=[0.0], y=[1.0])
    assert wrong.output == math.inf and wrong.nonfinite is not None
    assert np.isfinite(cg.backward(g, wrong)["yhat"]).all()


# --- item 6: integers beyond float range, rules that raised -----------------------------------

def test_huge_integers_become_infinities_with_the_usual_report() -> None:
    g = cg.parse("w = x")
    values = cg.evaluate(g, x=-10**400)
    assert values.output == -math.inf
    assert "the value is not finite (infinite)" in values.nonfinite_message()
    nested = cg.evaluate(cg.parse("w = sum(x)"), x=[[1, 10**400], [2, -(10**500)]])
    np.testing.assert_array_equal(nested["x"], [[1.0, math.inf], [2.0, -math.inf]])
    with pytest.raises(cg.InputError, match="rectangular"):
        cg.evaluate(cg.parse("w = sum(x)"), x=[[1, 10**400], [2]])


@pytest.mark.parametrize("src, point", [
    ("y = cos(1e999)/1", {}),
    ("y = sin(x)", {"x": math.inf}),
    ("y = gelu_tanh(x)", {"x": 1e200}),
    ("y = gelu_tanh(x) * exp(x)", {"x": -1e200}),
    ("y = x ** 3", {"x": 1e200}),
    ("y = exp(x) / x", {"x": 1000.0}),
    ("y = tanh(x) * log(x)", {"x": 0.0}),
    ("y = softplus(x) + sigmoid(x)", {"x": -math.inf}),
])
def test_scalar_rules_never_raise(src: str, point: dict) -> None:
    g = cg.parse(src)
    values = cg.evaluate(g, point)
    cg.local_derivatives(g, values)
    grads = cg.backward(g, values)
    _ = grads.edges
    for name in g.input_names:
        cg.tangents(g, values, name)


def test_gelu_tanh_far_from_zero_has_its_limits() -> None:
    g = cg.parse("y = gelu_tanh(x)")
    assert cg.gradients(g, x=1e200)["x"] == 1.0
    assert cg.gradients(g, x=-1e200)["x"] == 0.0
    np.testing.assert_array_equal(cg.jacobian(g, "x", x=[1e200, -1e200]), [[1.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("op", ["gelu", "gelu_tanh"])
def test_gelu_at_the_infinities_takes_its_limits(op: str) -> None:
    # x * Phi(x) at -inf is -inf * 0 in floating point: NaN, where the function tends to 0.
    g = cg.parse(f"y = {op}(x)")
    assert cg.evaluate(g, x=-math.inf)["y"] == 0.0
    assert cg.evaluate(g, x=math.inf)["y"] == math.inf
    assert cg.gradients(g, x=-math.inf)["x"] == 0.0
    assert cg.gradients(g, x=math.inf)["x"] == 1.0
    np.testing.assert_array_equal(cg.jacobian(g, "x", x=[math.inf, -math.inf]), [[1.0, 0.0], [0.0, 0.0]])
    assert math.isnan(cg.gradients(g, x=math.nan)["x"])


# --- NumPy's RuntimeWarnings never leak ---------------------------------------------------------

# Each of these printed NumPy RuntimeWarnings before the engine silenced them.
NONFINITE_PROGRAMS = [
    ("y = sum(x)", {"x": [1e308, 1e308]}),                               # overflow in reduce
    ("y = sum(sin(x) * cos(x))", {"x": [math.inf, 1.0]}),                # invalid value in sin
    ("y = mse(x, x*0)", {"x": [1e308, 1.0]}),                            # overflow in square
    ("y = sum(W @ x)", {"W": [[1e308, 1e308]], "x": [1e308, 1.0]}),      # overflow in matmul
    ("y = sum(gelu(x) + softplus(x) + sigmoid(x) + tanh(x))", {"x": [math.inf, -math.inf, math.nan]}),
    ("y = sum(log(x) * sqrt(x) / (x - x))", {"x": [-1.0, 0.0, math.inf, math.nan]}),
    ("y = sum(exp(x) * x ** 0.5 + x / 0)", {"x": [1e308, -1e308, 0.0, math.nan]}),
    ("C = bce(p, t) + mse(p * 1e308, t * 1e308)", {"p": [0.0, 1.5, math.nan], "t": [1.0, 0.0, 0.5]}),
    ("y = sum(W @ x - W @ x)", {"W": [[math.inf, 1.0], [0.0, -math.inf]], "x": [math.inf, 0.0]}),
]


@pytest.mark.parametrize("src, point", NONFINITE_PROGRAMS)
def test_no_numpy_warning_leaks_from_any_engine_path(src: str, point: dict) -> None:
    g = cg.parse(src)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        values = cg.evaluate(g, point)
        assert values.nonfinite is not None
        grads = cg.backward(g, values)
        _ = grads.edges, grads.nonfinite_message()
        cg.local_derivatives(g, values)
        for name in g.input_names:
            cg.tangents(g, values, name)
            cg.jacobian(g, name, values=values, mode="forward")
            cg.jacobian(g, name, values=values, mode="reverse")
        cg.check_gradients(g, point)
        cg.numeric_gradients(g, point)
