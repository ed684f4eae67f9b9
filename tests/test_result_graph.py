"""Values, gradients and tangents know the graph they were computed on (issue 8, item 3):
using them with another graph, or a plain dict in their place, is an ``InputError`` that
says so and names the function to call."""

from __future__ import annotations

import pytest

import compgraph as cg
from compgraph.drawing import render, to_dot
from compgraph.export import to_networkx

XY, YX = "w = x*y", "w = y*x"


def _uses(graph, values):
    """Every public use of values (and of gradients and tangents computed from them)."""
    yield "backward", lambda: cg.backward(graph, values)
    yield "tangents", lambda: cg.tangents(graph, values, "x")
    yield "jacobian", lambda: cg.jacobian(graph, "x", values=values)
    yield "local_derivatives", lambda: cg.local_derivatives(graph, values)
    yield "to_dot", lambda: to_dot(graph, "forward", values)
    yield "to_networkx", lambda: to_networkx(graph, values)


def test_values_of_another_graph_are_refused_everywhere() -> None:
    # The case: backward returned x: 2, y: 3 (the right answer is 3 and 2).
    g, other = cg.parse(XY), cg.parse(YX)
    values = cg.evaluate(other, x=2, y=3)
    for caller, use in _uses(g, values):
        with pytest.raises(cg.InputError, match="computed on another graph") as info:
            use()
        assert str(info.value).startswith(f"{caller}: these Values were computed on another graph")
        assert "compgraph.evaluate(graph, ...)" in str(info.value)


def test_a_graph_of_another_size_is_an_input_error_not_an_index_error() -> None:
    values = cg.evaluate(cg.parse("a = x*y; w = a + x"), x=2, y=3)
    with pytest.raises(cg.InputError, match="another graph"):
        cg.backward(cg.parse(XY), values)


def test_gradients_and_tangents_of_another_graph_are_refused() -> None:
    g, other = cg.parse(XY), cg.parse(YX)
    values = cg.evaluate(other, x=2, y=3)
    grads, tans = cg.backward(other, values), cg.tangents(other, values, "x")
    good = cg.evaluate(g, x=2, y=3)
    for use in (lambda: to_dot(g, "backward", good, grads),
                lambda: to_dot(g, "tangent", good, tangents=tans),
                lambda: to_networkx(g, good, grads)):
        with pytest.raises(cg.InputError, match="these (Gradients|Tangents) were computed on another graph"):
            use()


def test_render_refuses_values_of_another_graph(tmp_path) -> None:
    values = cg.evaluate(cg.parse(YX), x=2, y=3)
    with pytest.raises(cg.InputError, match="another graph"):
        render(cg.parse(XY), tmp_path / "w.dot", values=values)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("bad", [{"x": 2.0, "y": 3.0, "w": 6.0}, [2.0, 3.0, 6.0], None.__class__])
def test_a_plain_dict_or_other_object_names_the_function_to_call(bad) -> None:
    g = cg.parse(XY)
    if bad is None.__class__:
        bad = object()
    for caller in ("backward", "tangents", "local_derivatives"):
        fn = getattr(cg, caller)
        with pytest.raises(cg.InputError) as info:
            fn(g, bad) if caller != "tangents" else fn(g, bad, "x")
        assert str(info.value).startswith(f"{caller} needs the Values that "
                                          "compgraph.evaluate(graph, ...) returns, not ")
    with pytest.raises(cg.InputError, match="jacobian needs the Values"):
        cg.jacobian(g, "x", values=bad)
    if isinstance(bad, dict):
        with pytest.raises(cg.InputError, match="not a plain dict"):
            cg.backward(g, bad)
        with pytest.raises(cg.InputError, match="to_dot needs the Values"):
            to_dot(g, "forward", bad)
        with pytest.raises(cg.InputError, match="to_networkx needs the Values"):
            to_networkx(g, bad)
        with pytest.raises(cg.InputError, match="to_dot needs the Gradients that "
                                                r"compgraph.backward\(graph, values\) returns"):
            to_dot(g, "backward", cg.evaluate(g, x=2, y=3), bad)


def test_values_in_the_place_of_gradients_are_refused() -> None:
    g = cg.parse(XY)
    values = cg.evaluate(g, x=2, y=3)
    with pytest.raises(cg.InputError, match="needs the Gradients .* not a Values"):
        to_dot(g, "backward", values, values)


def test_equal_graphs_share_their_results() -> None:
    # Two parses of one text are equal graphs: the values of one are right for the other.
    g, again = cg.parse(XY), cg.parse(XY)
    assert g is not again and g == again
    values = cg.evaluate(again, x=2, y=3)
    grads = cg.backward(g, values)
    assert (grads["x"], grads["y"]) == (3.0, 2.0)
    cg.tangents(g, values, "x")
    to_dot(g, "both", values, cg.backward(again, values))
    # Statements that name the same computation differently: the values still fit.
    renamed = cg.parse("v = x*y")
    assert cg.backward(renamed, values)["x"] == 3.0


def test_gradients_are_of_one_output() -> None:
    g = cg.parse("a = x*y; w = a*a")
    values = cg.evaluate(g, x=2, y=3)
    as_a = g.with_output("a")
    assert cg.backward(as_a, values)["x"] == 3.0           # values fit: the same nodes
    grads_w = cg.backward(g, values)
    with pytest.raises(cg.InputError, match="Gradients were computed on another graph"):
        to_dot(as_a, "backward", values, grads_w)
