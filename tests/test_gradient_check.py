"""``gradient_check``: reverse-mode gradients against central differences, with a verdict
(ok, mismatch, kink, undefined), and ``eval --check --json``, which carries it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from compgraph import backward, evaluate, parse
from compgraph.cli import main
from compgraph.differentiate import gradient_check


def check(program: str, **point):
    g = parse(program)
    return gradient_check(g, evaluate(g, point))


@pytest.mark.parametrize("program, point", [
    ("y = sin(x)*x", {"x": 0.5}),
    ("y = x**2", {"x": 0.0}),
    ("y = x**2", {"x": 1e8}),          # a fixed 1e-6 step gives a false gap here
    ("y = x*x*x", {"x": 1e100}),
    ("y = exp(x)", {"x": 20.0}),
    ("y = sin(x)", {"x": 1e9}),        # varies faster than |x|: the step shrinks
    ("y = relu(x)", {"x": 1e-7}),      # near a kink, not at it
    ("y = gelu(x) + softplus(x) + tanh(x)", {"x": -0.3}),
    ("y = mse(W @ x + b, t)", {"W": [[1.0, 2], [3, 4]], "x": [1.0, -1], "b": [0.5, 0],
                               "t": [0.5, 0]}),
    ("y = bce(sigmoid(z), t)", {"z": [0.3, -2.0], "t": [1.0, 0.0]}),
])
def test_smooth_points_are_ok(program: str, point: dict) -> None:
    for name, c in check(program, **point).items():
        assert c["verdict"] == "ok", (name, c)
        assert c["relative_error"] < 1e-5
        assert np.shape(c["numeric"]) == np.shape(point[name])


@pytest.mark.parametrize("program, x", [
    ("y = relu(x)", 0.0), ("y = abs(x)", 0.0), ("y = leaky_relu(x, 0.1)", 0.0),
    ("y = 3*abs(x - 1)", 1.0), ("y = sign(x)", 0.0),
])
def test_kinks_are_named(program: str, x: float) -> None:
    assert check(program, x=x)["x"]["verdict"] == "kink"


def test_a_kink_in_one_element_marks_the_array() -> None:
    c = check("y = sum(relu(x))", x=[0.0, 1.0, -1.0])["x"]
    assert c["verdict"] == "kink"
    assert c["numeric"].tolist() == pytest.approx([0.5, 1.0, 0.0])


def test_a_wrong_gradient_is_a_mismatch() -> None:
    g = parse("y = x**3 + z")
    at_two = evaluate(g, x=2.0, z=1.0)
    wrong = backward(g, evaluate(g, x=3.0, z=1.0))       # the gradient at another point
    report = gradient_check(g, at_two, wrong)
    assert report["x"]["verdict"] == "mismatch"
    assert report["x"]["numeric"] == pytest.approx(12.0)
    assert report["x"]["relative_error"] == pytest.approx(15 / 27, rel=1e-6)
    assert report["z"]["verdict"] == "ok"


def test_a_nan_is_never_ok() -> None:
    # log(-1) is NaN: no value, no slope; nothing to compare, so never "ok"
    c = check("y = log(x)", x=-1.0)["x"]
    assert math.isnan(c["numeric"]) and c["verdict"] == "undefined"
    assert math.isnan(c["relative_error"])
    # an output that is NaN leaves every input's check undefined, a finite gradient too
    report = check("y = log(x)*x + z*z", x=-1.0, z=2.0)
    assert report["z"]["verdict"] == "undefined"
    # a NaN in one element marks the array; the error is over the elements compared
    c = check("y = sum(sqrt(v)) + sum(v*v)", v=[4.0, -1.0])["v"]
    assert c["verdict"] == "undefined"
    # a NaN gradient against a number is a mismatch, not undefined
    g = parse("y = x*x")
    at = evaluate(g, x=3.0)
    wrong = backward(g, at)
    wrong.nodes = tuple(math.nan if k == g.latest["x"] else v for k, v in enumerate(wrong.nodes))
    assert gradient_check(g, at, wrong)["x"]["verdict"] == "mismatch"


def test_eval_says_what_undefined_means(capsys) -> None:
    assert main(["eval", "y = log(x) + w*w", "--at", "x=-1,w=3", "--check"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert rows["x"][-1] == "undefined" and rows["w"][-1] == "undefined"
    assert "nothing could be compared" in out.splitlines()[-1]
    assert "undefined: central differences are NaN there" in out.splitlines()[-1]


def test_eval_json_check(capsys) -> None:
    assert main(["eval", "y = relu(x) + w*w", "--at", "x=0,w=3", "--json", "--check"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["output", "value", "values", "gradients", "check"]
    assert doc["check"]["x"] == {"numeric": pytest.approx(0.5), "relative_error": pytest.approx(0.5),
                                 "verdict": "kink"}
    assert doc["check"]["w"]["verdict"] == "ok" and doc["check"]["w"]["numeric"] == pytest.approx(6)
    # without --check the object keeps its four keys
    assert main(["eval", "y = w*w", "--at", "w=3", "--json"]) == 0
    assert "check" not in json.loads(capsys.readouterr().out)


def test_eval_json_check_with_an_array_output_says_why_it_is_null(capsys) -> None:
    assert main(["eval", "y = 2*x", "--at", "x=[1,2]", "--json", "--check"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["check"] is None and "numeric check need" in err


def test_eval_table_check_column(capsys) -> None:
    assert main(["eval", "y = relu(x) + w*w", "--at", "x=0,w=3", "--check"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert rows["name"][-2:] == ["numeric", "check"]
    assert rows["x"][-1] == "kink" and rows["w"][-1] == "ok"
    assert out.splitlines()[-1].endswith("; kink at x")
