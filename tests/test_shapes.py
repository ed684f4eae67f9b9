"""Shape mistakes are never silent (issue 8, item 2): a cost refuses a prediction and a
target of different shapes; an outer broadcast warns (an error with ``strict=True`` or
``--strict-shapes``); a bias broadcast over a batch stays silent."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import OPS
from compgraph.errors import ShapeWarning

REPO = Path(__file__).resolve().parents[1]
COSTS = sorted(name for name, op in OPS.items() if op.cost)


def test_the_registry_marks_mse_and_bce_as_costs() -> None:
    assert {"mse", "bce"} <= set(COSTS)
    assert all(OPS[name].arity == 2 for name in COSTS)


@pytest.mark.parametrize("name", COSTS)
@pytest.mark.parametrize("yhat, y, fix", [
    ([0.5, 0.25, 0.75], [[0.5], [0.25], [0.75]], "give y as a flat list of 3 numbers, like yhat"),
    ([0.5, 0.25, 0.75], [[0.5, 0.25, 0.75]], "give y as a flat list of 3 numbers, like yhat"),
    ([[0.5, 0.25, 0.75]], [[0.5], [0.25], [0.75]], "transpose(...) one of them"),
    ([0.5, 0.25, 0.75], 1.0, "a cost needs one target per prediction"),
    ([0.5, 0.25, 0.75], [0.5, 0.25], "give yhat and y the same shape"),
])
def test_a_cost_needs_prediction_and_target_of_one_shape(name: str, yhat, y, fix: str) -> None:
    g = cg.parse(f"C = {name}(yhat, y)")
    with pytest.raises(cg.EvaluationError) as info:
        cg.evaluate(g, yhat=yhat, y=y)
    text = str(info.value)
    shape = lambda v: "is a scalar" if np.ndim(v) == 0 else f"has shape {np.shape(v)}"  # noqa: E731
    assert text.startswith(f"line 1, column 5: {name} compares a prediction with a target of "
                           f"the same shape, but the prediction yhat {shape(yhat)} and the "
                           f"target y {shape(y)}; ")
    assert fix in text
    assert text.endswith(f"C = {name}(yhat, y)\n      {'^' * (len(name) + 9)}")


def test_the_students_mse_mistake_is_an_error_not_twelve() -> None:
    with pytest.raises(cg.EvaluationError, match=r"\(3,\) and the target y has shape \(3, 1\)"):
        cg.evaluate(cg.parse("C = mse(yhat, y)"), yhat=[1, 2, 3], y=[[1], [2], [3]])
    # an operand named by its text when it has no name
    with pytest.raises(cg.EvaluationError, match=r"the target 'transpose\(y\)' has shape \(1, 3\)"):
        cg.evaluate(cg.parse("C = mse(yhat, transpose(y))"), yhat=[1, 2, 3], y=[[1], [2], [3]])


def test_costs_of_one_shape_are_fine() -> None:
    for name in COSTS:
        g = cg.parse(f"C = {name}(yhat, y)")
        for yhat, y in [(0.5, 1.0), ([0.5, 0.25], [1.0, 0.0]), ([[0.5], [0.25]], [[1.0], [0.0]])]:
            if name == "cross_entropy" and np.ndim(yhat) == 0:
                continue  # logits need a class axis
            cg.evaluate(g, yhat=yhat, y=y, strict=True)


TWO_LAYER = "h = W1 @ x + b1\nC = sum(h * h)"
W1 = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_an_outer_broadcast_warns_with_both_shapes_and_the_caret() -> None:
    g = cg.parse(TWO_LAYER)
    with pytest.warns(ShapeWarning) as record:
        values = cg.evaluate(g, W1=W1, x=[[1.0], [2.0]], b1=[1.0, 2.0, 3.0])
    assert values["h"].shape == (3, 3)
    [w] = record
    assert str(w.message) == (
        "line 1, column 5: 'W1 @ x' has shape (3, 1) and b1 has shape (3,): '+' broadcasts "
        "them to (3, 3), larger than both (an outer broadcast, often a column given where a "
        "flat list was meant); give them matching shapes; --strict-shapes (or strict=True) "
        "makes this an error\n  h = W1 @ x + b1\n      ^^^^^^^^^^^")
    assert issubclass(ShapeWarning, UserWarning)


def test_strict_makes_an_outer_broadcast_an_error() -> None:
    g = cg.parse(TWO_LAYER)
    point = dict(W1=W1, x=[[1.0], [2.0]], b1=[1.0, 2.0, 3.0])
    with pytest.raises(cg.EvaluationError, match=r"broadcasts them to \(3, 3\)") as info:
        cg.evaluate(g, point, strict=True)
    assert "strict" not in str(info.value)
    assert str(info.value).endswith("^^^^^^^^^^^")
    with pytest.raises(cg.EvaluationError, match="outer broadcast"):
        cg.gradients(g, point, strict=True)
    with pytest.raises(cg.EvaluationError, match="outer broadcast"):
        cg.jacobian(g, "x", point, strict=True)
    with pytest.raises(cg.InputError, match="strict must be True or False"):
        cg.evaluate(g, point, strict="yes")
    # an input called strict still works, through the mapping
    assert cg.evaluate(cg.parse("y = 2*strict"), {"strict": 3.0}).output == 6.0


@pytest.mark.parametrize("src, point", [
    (TWO_LAYER, dict(W1=W1, x=[1.0, 2.0], b1=[1.0, 2.0, 3.0])),           # the right shapes
    ("H = X @ W + b\nC = sum(H)", dict(X=np.ones((4, 2)), W=np.ones((2, 3)), b=np.ones(3))),
    ("H = X @ W + b\nC = sum(H)", dict(X=np.ones((4, 2)), W=np.ones((2, 3)), b=np.ones((1, 3)))),
    ("y = sum(2*x + 1)", dict(x=[1.0, 2.0])),                              # scalars broadcast
    ("y = sum(x * s)", dict(x=np.ones((2, 3)), s=2.0)),
    ("y = sum(leaky_relu(x, s))", dict(x=np.ones((2, 3)), s=np.full(3, 0.1))),
])
def test_a_bias_over_a_batch_stays_silent(src: str, point: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cg.evaluate(cg.parse(src), point)
        cg.evaluate(cg.parse(src), point, strict=True)


@pytest.mark.parametrize("src, point", [
    ("y = sum(a * b)", dict(a=np.ones((3, 1)), b=np.ones((1, 3)))),
    ("y = sum(a - b)", dict(a=np.ones((2, 1, 3)), b=np.ones((4, 3)))),
    ("y = sum(a / b)", dict(a=np.ones((3, 1)), b=np.ones(3))),
    ("y = sum(a ** b)", dict(a=np.ones((3, 1)), b=np.ones(3))),
    ("y = sum(leaky_relu(a, b))", dict(a=np.ones((3, 1)), b=np.full(3, 0.1))),
])
def test_every_broadcasting_operator_warns(src: str, point: dict) -> None:
    with pytest.warns(ShapeWarning):
        cg.evaluate(cg.parse(src), point)
    with pytest.raises(cg.EvaluationError):
        cg.evaluate(cg.parse(src), point, strict=True)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compgraph", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


AT = ["--at", "W1=[[1,2],[3,4],[5,6]],x=[[1],[2]],b1=[1,2,3]"]


@pytest.mark.parametrize("command", [["eval", "--check"], ["jacobian", "--wrt", "b1"],
                                     ["render", "--format", "dot"]])
def test_the_command_line_warns_once_and_strict_shapes_fails(command: list[str]) -> None:
    proc = _cli(command[0], TWO_LAYER, *AT, *command[1:])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning: line 1, column 5: 'W1 @ x' has shape (3, 1)") == 1
    assert "ShapeWarning" not in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli(command[0], TWO_LAYER, *AT, *command[1:], "--strict-shapes")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: line 1, column 5: 'W1 @ x' has shape (3, 1)")
    assert "warning" not in proc.stderr and proc.stdout == ""


def test_the_command_line_refuses_a_cost_of_two_shapes() -> None:
    proc = _cli("eval", "C = mse(yhat, y)", "--at", "yhat=[1,2,3],y=[[1],[2],[3]]")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: line 1, column 5: mse compares a prediction")
