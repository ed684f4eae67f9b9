"""Gradients only where asked: ``backward(graph, values, wrt=[...])`` (issue 13).

Reverse mode then computes adjoints only on the paths from the named variables to the
output. What it computes must be exactly what the full sweep computes (the same bits: the
same contributions are added in the same order); what it does not compute is an error
naming ``wrt`` rather than a zero; and the rules of operands that nobody asked about are
never called (data inputs cost nothing).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import compgraph as cg
from compgraph.errors import InputError, NotComputedError
from test_properties import SETTINGS, program_text, programs

TWO_LAYER = """S1 = X @ transpose(W1) + b1
A1 = 3*relu(S1)
S2 = A1 @ transpose(W2) + b2
C = sum((S2 - Y)**2)"""


def _same(a, b) -> None:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _depends_on(graph: cg.Graph, name: str, asked: set[str]) -> bool:
    """Whether variable ``name`` is one of ``asked`` or computed from one of them, by a
    walk over the operands (independent of the engine's own flags)."""
    targets = {graph.latest[n] for n in asked}
    stack, seen = [graph.latest[name]], set()
    while stack:
        i = stack.pop()
        if i in targets:
            return True
        if i not in seen:
            seen.add(i)
            stack.extend(graph.nodes[i].operands)
    return False


@SETTINGS
@given(programs(vectors=True), st.data())
def test_gradients_with_wrt_are_the_full_sweeps_bits(drawn, data) -> None:
    statements, point = drawn
    graph = cg.parse(program_text(statements))
    values = cg.evaluate(graph, point)
    full = cg.backward(graph, values)
    names = list(graph.latest)
    asked = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names),
                               unique=True))
    grads = cg.backward(graph, values, wrt=asked)
    assert grads.wrt == tuple(asked)
    # It holds the names asked for and those computed from them, in the program's order.
    on_paths = [n for n in names if _depends_on(graph, n, set(asked))]
    assert list(grads) == on_paths and len(grads) == len(on_paths)
    for name in on_paths:
        _same(grads[name], full[name])
    for name in set(names) - set(on_paths):
        assert name not in grads
        with pytest.raises(NotComputedError, match=f"gradient of {name} was not computed.*wrt"):
            grads[name]
    # The edges a picture would draw are the full sweep's, on the paths.
    for (i, k), c in grads.edges.items():
        _same(c, full.edges[(i, k)])


def test_a_gradient_not_asked_for_is_an_error_not_a_zero() -> None:
    g = cg.parse("s = w*x + b, L = s**2")
    grads = cg.backward(g, cg.evaluate(g, w=2, x=3, b=1), wrt=["w"])
    with pytest.raises(NotComputedError) as caught:
        grads["x"]
    assert str(caught.value) == ("the gradient of x was not computed: reverse mode was asked "
                                 "for wrt w only (those and the variables between them and "
                                 "L); add x to wrt to have it")
    assert isinstance(caught.value, KeyError)  # so `in` and get() answer as for a mapping
    assert "x" not in grads and grads.get("x") is None and grads.get("w") == 42.0
    with pytest.raises(NotComputedError, match="gradient of x was not computed"):
        grads.of(g.latest["x"])
    assert dict(grads) == {"w": 42.0, "s": 14.0, "L": 1.0}
    # an intermediate may be asked for: its full adjoint, and nothing below it
    grads = cg.backward(g, cg.evaluate(g, w=2, x=3, b=1), wrt="s")
    assert dict(grads) == {"s": 14.0, "L": 1.0}
    # an input the output does not depend on: computed, and zero
    g2 = cg.parse("L = 2*x + 0*y, M = 3*z")
    assert cg.backward(g2.with_output("L"), cg.evaluate(g2, x=1, y=1, z=1), wrt=["z"])["z"] == 0


@pytest.mark.parametrize("wrt, message", [
    ([], "wrt is empty: name the variables whose gradients you need, e.g. wrt=['w', 'x']"),
    (["q"], "cannot differentiate with respect to 'q': the program has no variable of that "
            "name; its variables are: w, x, b, s, L"),
    (["ss"], "cannot differentiate with respect to 'ss': the program has no variable of that "
             "name (did you mean s?); its variables are: w, x, b, s, L"),
    (["w", "x", "w"], "wrt names w twice: w, x, w"),
    ([1], "wrt names variables by their names, not 1"),
])
def test_wrt_errors(wrt, message: str) -> None:
    g = cg.parse("s = w*x + b, L = s**2")
    with pytest.raises(InputError) as caught:
        cg.backward(g, cg.evaluate(g, w=2, x=3, b=1), wrt=wrt)
    assert str(caught.value) == message


def _two_layer_point(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return dict(X=rng.standard_normal((5, 4)), Y=rng.standard_normal((5, 2)),
                W1=rng.standard_normal((3, 4)), b1=rng.standard_normal(3),
                W2=rng.standard_normal((2, 3)), b2=rng.standard_normal(2))


def test_data_inputs_cost_nothing(monkeypatch) -> None:
    # Count the matrix products' reverse rules, per operand: with wrt the parameters, the
    # rule for the data X is never called (A1's is: it lies on the path to W1 and b1).
    calls: list[int] = []
    record = cg.OPS["matmul"]

    def counted(k: int):
        rule = record.vjp[k]
        return lambda *args, **kw: (calls.append(k), rule(*args, **kw))[1]

    monkeypatch.setitem(cg.OPS, "matmul", replace(record, vjp=(counted(0), counted(1)),
                                                  partials=None))
    g = cg.parse(TWO_LAYER)
    values = cg.evaluate(g, _two_layer_point(np.random.default_rng(0)))
    full = cg.backward(g, values)
    assert sorted(calls) == [0, 0, 1, 1]  # dX, dA1, d(W1ᵀ), d(W2ᵀ)
    calls.clear()
    grads = cg.backward(g, values, wrt=["W1", "b1", "W2", "b2"])
    assert sorted(calls) == [0, 1, 1]  # dA1 (on W1's path), d(W1ᵀ), d(W2ᵀ): never dX
    assert "X" not in grads and "Y" not in grads
    for name in ("W1", "b1", "W2", "b2", "S1", "A1"):
        _same(grads[name], full[name])
    calls.clear()
    cg.backward(g, values, wrt=["W2"])
    assert calls == [1]  # only d(W2ᵀ): nothing below S2 is on W2's path


def test_wrt_on_the_float_path_and_a_batch() -> None:
    g = cg.parse("a = x*y + z; b = a*(x + x); w = a*b + b")
    values = cg.evaluate(g, x=2.0, y=3.0, z=1.0)
    assert values.all_floats
    grads = cg.backward(g, values, wrt=["y"])
    assert dict(grads) == {"y": 120.0, "a": 60.0, "b": 8.0, "w": 1.0}
    rng = np.random.default_rng(1)
    point = {n: rng.uniform(-1, 1, 7) for n in "xyz"}
    values = cg.evaluate(g, point)
    for seed in (1.0, np.ones(7), rng.uniform(-1, 1, 7)):
        full = cg.backward(g, values, seed=seed)
        part = cg.backward(g, values, seed=seed, wrt=["z", "x"])
        assert list(part) == ["x", "z", "a", "b", "w"]
        for name in part:
            _same(part[name], full[name])


def test_sgd_asks_for_the_parameters_only(monkeypatch) -> None:
    import compgraph.train as train

    asked: list = []
    real = train.backward

    def spy(graph, values, seed=None, *, wrt=None):
        asked.append(wrt)
        return real(graph, values, seed, wrt=wrt)

    monkeypatch.setattr(train, "backward", spy)
    g = cg.parse(TWO_LAYER)
    point = _two_layer_point(np.random.default_rng(2))
    result = cg.sgd(g, point, params=["W2", "b2"], lr=0.01, steps=3)
    assert asked == [("W2", "b2")] * 3
    # the same steps as by hand
    W2, b2 = point["W2"].copy(), point["b2"].copy()
    A1 = 3 * np.maximum(point["X"] @ point["W1"].T + point["b1"], 0)
    for _ in range(3):
        d = 2 * (A1 @ W2.T + b2 - point["Y"])
        W2, b2 = W2 - 0.01 * (d.T @ A1), b2 - 0.01 * d.sum(axis=0)
    np.testing.assert_allclose(result.params["W2"], W2, rtol=1e-12)
    np.testing.assert_allclose(result.params["b2"], b2, rtol=1e-12)


def test_eval_wrt_on_the_command_line(capsys) -> None:
    import json

    from compgraph.cli import main

    hw = "a = x*y+z, b = a*(x+x), w = a*b+b"
    assert main(["eval", hw, "--at", "x=2,y=3,z=1", "--wrt", "y, a", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # the names asked for and the variables between them and the output; every value
    assert doc["wrt"] == ["y", "a"]
    assert doc["gradients"] == {"y": 120.0, "a": 60.0, "b": 8.0, "w": 1.0}
    assert list(doc["values"]) == ["x", "y", "z", "a", "b", "w"]
    assert main(["eval", hw, "--at", "x=2,y=3,z=1", "--wrt", "z"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table == ["w = 224",
                     "name  value  gradient",
                     "x     2",
                     "y     3",
                     "z     1      60",
                     "a     7      60",
                     "b     28     8",
                     "w     224    1"]
    # the numeric check covers the inputs asked for
    assert main(["eval", hw, "--at", "x=2,y=3,z=1", "--wrt", "z,b", "--json", "--check"]) == 0
    assert list(json.loads(capsys.readouterr().out)["check"]) == ["z"]
    # without --wrt: every gradient, and no "wrt" key
    assert main(["eval", hw, "--at", "x=2,y=3,z=1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "wrt" not in doc and list(doc["gradients"]) == ["x", "y", "z", "a", "b", "w"]
