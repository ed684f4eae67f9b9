"""The homework, checked: two-layer networks against their closed-form gradients, and the
losses behind the perceptron, Adaline and tanh logistic-regression update rules."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import compgraph as cg

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(stem: str) -> cg.Graph:
    return cg.parse((EXAMPLES / f"{stem}.cg").read_text(encoding="utf-8"))


def run(graph: cg.Graph, point: dict | None = None) -> tuple[cg.Values, cg.Gradients]:
    values = cg.evaluate(graph, point or {})
    return values, cg.backward(graph, values)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# --- 1. two-layer networks -------------------------------------------------------------------

# stem -> (f, f', g, g', dC/dyhat as a function of (yhat, y))
ACT = {
    "relu3": (lambda s: 3 * np.maximum(s, 0), lambda s: 3.0 * (s > 0)),
    "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2),
    "relu": (lambda s: np.maximum(s, 0), lambda s: 1.0 * (s > 0)),
    "identity": (lambda s: s, lambda s: np.ones_like(s)),
    "sigmoid": (sigmoid, lambda s: sigmoid(s) * (1 - sigmoid(s))),
}
SQUARED = lambda yhat, y: 2 * (yhat - y)  # noqa: E731
BCE = lambda yhat, y: (yhat - y) / (yhat * (1 - yhat)) / yhat.size  # noqa: E731

NETWORKS = {
    "two-layer-net": ("relu3", "identity", SQUARED),
    "two-layer-tanh-sigmoid": ("tanh", "sigmoid", SQUARED),
    "two-layer-tanh-sigmoid-bce": ("tanh", "sigmoid", BCE),
    "two-layer-relu-sigmoid": ("relu", "sigmoid", BCE),
}


def closed_form(W1, b1, W2, b2, x, y, f: str, g: str, dloss: Callable) -> dict[str, np.ndarray]:
    """The homework's answers, in numpy."""
    (f_, df), (g_, dg) = ACT[f], ACT[g]
    s1 = W1 @ x + b1
    a1 = f_(s1)
    s2 = W2 @ a1 + b2
    yhat = g_(s2)
    dyhat = dloss(yhat, y)
    delta2 = dyhat * dg(s2)
    delta1 = (W2.T @ delta2) * df(s1)
    return {"yhat": dyhat, "s2": delta2, "W2": np.outer(delta2, a1), "b2": delta2,
            "a1": W2.T @ delta2, "s1": delta1, "W1": np.outer(delta1, x), "b1": delta1,
            "x": W1.T @ delta1, "value_yhat": yhat}


def points(graph: cg.Graph, stem: str):
    """The file's own defaults, then random points of the same shapes (seeded)."""
    defaults = cg.evaluate(graph).inputs
    yield "defaults", dict(defaults)
    rng = np.random.default_rng(sum(map(ord, stem)))
    for k in range(3):
        p = {name: rng.normal(size=np.shape(v)) for name, v in defaults.items()}
        if "bce" in stem or "sigmoid" in stem:
            p["y"] = rng.integers(0, 2, size=np.shape(defaults["y"])).astype(float)
        yield f"random{k}", p


@pytest.mark.parametrize("stem", sorted(NETWORKS))
def test_two_layer_gradients_are_the_closed_forms(stem: str) -> None:
    graph = load(stem)
    f, g, dloss = NETWORKS[stem]
    for label, point in points(graph, stem):
        values, grads = run(graph, point)
        p = values.inputs
        want = closed_form(p["W1"], p["b1"], p["W2"], p["b2"], p["x"], p["y"], f, g, dloss)
        np.testing.assert_allclose(values["yhat"], want["value_yhat"], rtol=1e-12)
        for name in ("yhat", "s2", "W2", "b2", "a1", "s1", "W1", "b1", "x"):
            got = grads[name]
            assert np.shape(got) == np.shape(values[name]), (stem, label, name)
            assert np.shape(got) == np.shape(want[name]), (stem, label, name)
            np.testing.assert_allclose(got, want[name], rtol=1e-10, atol=1e-12,
                                       err_msg=f"{stem} at {label}: dC/d{name}")


def test_the_shapes_are_not_square() -> None:
    # Non-square, non-symmetric matrices: a transposed formula cannot pass by accident.
    for stem in NETWORKS:
        p = cg.evaluate(load(stem)).inputs
        for name in ("W1", "W2"):
            assert p[name].shape[0] != p[name].shape[1]
        assert len(p["x"]) != len(p["b1"]) != len(p["y"])


@pytest.mark.parametrize("stem", sorted(NETWORKS))
def test_a_wrong_transpose_or_factor_is_caught(stem: str) -> None:
    """The closed forms with a deliberate mistake differ from compgraph's gradients."""
    graph = load(stem)
    f, g, dloss = NETWORKS[stem]
    values, grads = run(graph)
    W1, b1, W2, b2, x, y = (values.inputs[k] for k in ("W1", "b1", "W2", "b2", "x", "y"))
    (f_, df), (g_, dg) = ACT[f], ACT[g]
    s1 = W1 @ x + b1
    a1 = f_(s1)
    s2 = W2 @ a1 + b2
    yhat = g_(s2)
    delta2 = dloss(yhat, y) * dg(s2)
    wrong = {
        "W2 as a1 delta2^T (transposed)": ("W2", np.outer(a1, delta2)),
        "W1 as x delta1^T (transposed)": ("W1", np.outer(x, (W2.T @ delta2) * df(s1))),
        "W1 without f'(s1)": ("W1", np.outer(W2.T @ delta2, x)),
        "dC/dyhat off by a factor 2 or K": ("yhat", dloss(yhat, y) / 2),
    }
    if g != "identity":
        wrong["b2 without g'(s2)"] = ("b2", dloss(yhat, y))
    if f == "relu3":
        wrong["b1 without the 3 of 3*relu"] = ("b1", (W2.T @ delta2) * ACT["relu"][1](s1))
    # W2 reshaped instead of transposed: the right shape, the wrong numbers
    wrong["W1 with W2 reshaped, not transposed"] = (
        "W1", np.outer((W2.reshape(W2.shape[1], W2.shape[0]) @ delta2) * df(s1), x))
    for what, (name, formula) in wrong.items():
        got = grads[name]
        same = np.shape(got) == np.shape(formula) and np.allclose(got, formula)
        assert not same, f"{stem}: the mistaken formula '{what}' was not caught"


def test_bce_derivative_has_the_one_over_k() -> None:
    graph = load("two-layer-tanh-sigmoid-bce")
    values, grads = run(graph)
    yhat, y = values["yhat"], values.inputs["y"]
    K = yhat.size
    assert K == 2
    np.testing.assert_allclose(grads["yhat"], (yhat - y) / (yhat * (1 - yhat)) / K, rtol=1e-12)
    expected_C = -np.mean(y * np.log(yhat) + (1 - y) * np.log(1 - yhat))
    assert values.output == pytest.approx(expected_C, rel=1e-12)
    # with sigmoid + bce, delta2 simplifies to (yhat - y)/K
    np.testing.assert_allclose(grads["s2"], (yhat - y) / K, rtol=1e-10)


def test_relu_hidden_unit_that_is_off_passes_no_gradient() -> None:
    values, grads = run(load("two-layer-relu-sigmoid"))
    off = values["s1"] <= 0
    assert off.tolist() == [False, False, True, False]
    assert np.all(grads["W1"][off] == 0) and np.all(grads["b1"][off] == 0)
    assert np.all(grads["W2"][:, off] == 0)


def test_batched_gradients_sum_the_per_sample_gradients() -> None:
    batch, single = load("two-layer-batch"), load("two-layer-net")
    values, grads = run(batch)
    p = values.inputs
    X, Y = p["X"], p["Y"]
    assert X.shape == (3, 2) and Y.shape == (3, 2)
    weights = {k: p[k] for k in ("W1", "b1", "W2", "b2")}
    # the per-sample program of the same network has the same weights as defaults
    for k, v in weights.items():
        np.testing.assert_array_equal(cg.evaluate(single).inputs[k], v)
    total_C = 0.0
    summed = {k: np.zeros_like(v) for k, v in weights.items()}
    for xi, yi in zip(X, Y):
        v1, g1 = run(single, {"x": xi, "y": yi})
        total_C += v1.output
        for k in summed:
            summed[k] += g1[k]
        cf = closed_form(*weights.values(), xi, yi, "relu3", "identity", SQUARED)
        for k in summed:
            np.testing.assert_allclose(g1[k], cf[k], rtol=1e-12, atol=1e-12)
    assert values.output == pytest.approx(total_C, rel=1e-12)
    for k, v in summed.items():
        assert grads[k].shape == weights[k].shape
        np.testing.assert_allclose(grads[k], v, rtol=1e-12, atol=1e-12, err_msg=k)
    # and the batched closed forms: dW2 = Delta2^T A1, dW1 = Delta1^T X
    S1 = X @ p["W1"].T + p["b1"]
    A1 = 3 * np.maximum(S1, 0)
    Delta2 = 2 * (A1 @ p["W2"].T + p["b2"] - Y)
    Delta1 = (Delta2 @ p["W2"]) * 3.0 * (S1 > 0)
    np.testing.assert_allclose(grads["W2"], Delta2.T @ A1, rtol=1e-12)
    np.testing.assert_allclose(grads["W1"], Delta1.T @ X, rtol=1e-12)
    np.testing.assert_allclose(grads["b1"], Delta1.sum(axis=0), rtol=1e-12)
    # the per-sample rows of X's gradient stay per sample
    np.testing.assert_allclose(grads["X"], Delta1 @ p["W1"], rtol=1e-12)


# --- 5. losses behind update rules ----------------------------------------------------------

def rule_points(seed: int, n: int = 12):
    """Random (w, b, x, y) with labels +1/-1, both right and wrong predictions."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield {"w": rng.normal(size=3), "b": float(rng.normal()), "x": rng.normal(size=3),
               "y": float(rng.choice([-1.0, 1.0]))}


def rule(values: cg.Values) -> tuple[np.ndarray, float]:
    """The update direction (y - ỹ) x, and (y - ỹ) for b."""
    r = values.inputs["y"] - values["ỹ"]
    return r * values.inputs["x"], r


@pytest.mark.parametrize("stem", ["perceptron", "adaline", "logistic-tanh"])
def test_minus_gradient_is_the_update_rule(stem: str) -> None:
    graph = load(stem)
    seen_right = seen_wrong = False
    for point in [{}, *rule_points(len(stem))]:
        values, grads = run(graph, point)
        dw, db = rule(values)
        np.testing.assert_allclose(-grads["w"], dw, rtol=1e-10, atol=1e-12)
        assert -grads["b"] == pytest.approx(db, rel=1e-10, abs=1e-12)
        right = np.sign(values.inputs["b"] + values.inputs["w"] @ values.inputs["x"]) == values.inputs["y"]
        seen_right |= bool(right)
        seen_wrong |= not right
    assert seen_right and seen_wrong


def test_perceptron_loss_is_twice_the_perceptron_criterion() -> None:
    graph = load("perceptron")
    criterion = cg.parse("s = b + w @ x\nL = relu(-y*s)")
    for point in [{}, *rule_points(7)]:
        values, grads = run(graph, point)
        cvalues, cgrads = run(criterion, values.inputs)
        assert values.output == pytest.approx(2 * cvalues.output, abs=1e-12)
        np.testing.assert_allclose(grads["w"], 2 * cgrads["w"], atol=1e-12)
        # right: no step; wrong: the step 2 y x
        if values["ỹ"] == values.inputs["y"]:
            assert np.all(grads["w"] == 0)
        else:
            np.testing.assert_allclose(-grads["w"], 2 * values.inputs["y"] * values.inputs["x"])


def test_perceptron_on_the_boundary_is_where_the_criterion_differs() -> None:
    # s = 0: sign(0) = 0, so the rule still steps by y x; relu'(0) = 0 takes no step.
    point = {"w": [1.0, -1.0, 0.0], "b": 0.0, "x": [2.0, 2.0, 5.0], "y": 1.0}
    values, grads = run(load("perceptron"), point)
    assert values["s"] == 0.0 and values["ỹ"] == 0.0
    np.testing.assert_allclose(-grads["w"], [2.0, 2.0, 5.0])  # (y - ỹ) x
    _, cgrads = run(cg.parse("s = b + w @ x\nL = relu(-y*s)"), point)
    np.testing.assert_allclose(cgrads["w"], 0.0)


def test_squared_error_of_the_perceptron_never_moves() -> None:
    graph = load("perceptron-squared-error")
    assert cg.OPS["sign"].vjp[0](1.0, 1.0, 3.0) == 0.0
    for point in [{}, *rule_points(3)]:
        values, grads = run(graph, point)
        np.testing.assert_array_equal(grads["w"], 0.0)
        assert grads["b"] == 0.0
        if values["ỹ"] != values.inputs["y"]:
            assert values.output > 0  # a mistake, yet no gradient
    assert run(graph)[0].output == 2.0


def test_adaline_is_least_squares() -> None:
    values, grads = run(load("adaline"))
    w, b, x, y = (values.inputs[k] for k in "wbxy")
    assert values.output == pytest.approx(0.5 * (y - (b + w @ x)) ** 2)
    np.testing.assert_allclose(-grads["w"], (y - (b + w @ x)) * x)


def test_tanh_logistic_loss_is_log_cosh_minus_ys() -> None:
    graph = load("logistic-tanh")
    log_cosh = cg.parse("s = b + w @ x\nL = log((exp(s) + exp(-s))/2) - y*s + log(2)")
    for point in [{}, *rule_points(11)]:
        a, ga = run(graph, point)
        c, gc = run(log_cosh, a.inputs)
        assert a.output == pytest.approx(c.output, rel=1e-9)
        np.testing.assert_allclose(ga["w"], gc["w"], rtol=1e-9, atol=1e-12)


def test_tanh_with_squared_error_is_not_the_rule() -> None:
    graph = load("logistic-tanh-squared-error")
    values, grads = run(graph)
    dw, _ = rule(values)
    yt = values["ỹ"]
    # what it is: the rule times tanh' = 1 - ỹ^2
    np.testing.assert_allclose(-grads["w"], dw * (1 - yt ** 2), rtol=1e-12)
    # what it is not
    assert not np.allclose(-grads["w"], dw)
    assert np.linalg.norm(grads["w"]) < 0.1 * np.linalg.norm(dw)  # a badly wrong point barely moves
