"""Graph structure: faithful operands, constants, fan-out, versions, aliases, depth, export."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import backward, evaluate, parse, tangents
from compgraph.graph import CONST, INPUT, OP

REPO = Path(__file__).resolve().parents[1]
HOMEWORK = "a = x*y + z\nb = a*(x + x)\nw = a*b + b"


def op_nodes(g, op: str | None = None):
    return [n for n in g.nodes if n.kind == OP and (op is None or n.op == op)]


def node_of(g, name: str):
    return g.nodes[g.latest[name]]


# --- operands are faithful --------------------------------------------------------------

def test_x_plus_x_is_two_edges_in_operand_order() -> None:
    g = parse("s = x + x")
    (add,) = op_nodes(g, "add")
    x = g.inputs[0]
    assert add.operands == (x, x)
    v = evaluate(g, x=3.0)
    grads = backward(g, v)
    assert grads["x"] == 2.0
    assert grads.edges[(add.id, 0)] == 1.0 and grads.edges[(add.id, 1)] == 1.0
    assert tangents(g, v, "x").edges == {(add.id, 0): 1.0, (add.id, 1): 1.0}


def test_subtraction_keeps_its_order_and_is_not_negation() -> None:
    g = parse("d = a - b")
    assert [n.op for n in op_nodes(g)] == ["sub"]
    (sub,) = op_nodes(g)
    assert sub.operands == (g.latest["a"], g.latest["b"])
    assert evaluate(g, a=5.0, b=2.0).output == 3.0
    assert parse("d = b - a") != g
    grads = cg.gradients(g, a=5.0, b=2.0)
    assert (grads["a"], grads["b"]) == (1.0, -1.0)


def test_division_and_power_keep_their_order() -> None:
    g = parse("q = a / b, p = a ** b")
    for n in op_nodes(g):
        assert n.operands == (g.latest["a"], g.latest["b"])
    v = evaluate(g, a=2.0, b=3.0)
    assert v["q"] == 2.0 / 3.0 and v["p"] == 8.0


def test_operands_come_before_their_users() -> None:
    g = parse(HOMEWORK)
    for n in g.nodes:
        assert all(j < n.id for j in n.operands)
    assert list(g.topological_order()) == list(range(len(g.nodes)))


# --- fan-out ------------------------------------------------------------------------------

def test_fan_out_gradient_is_the_sum_of_the_edges() -> None:
    g = parse(HOMEWORK)
    v = evaluate(g, x=2.0, y=3.0, z=1.0)
    grads = backward(g, v)
    x = g.latest["x"]
    into_x = [c for (i, k), c in grads.edges.items() if g.nodes[i].operands[k] == x]
    assert len(into_x) == 3                         # x*y, and twice in x + x
    assert sum(into_x) == grads["x"] == 292.0
    a = g.latest["a"]
    into_a = sorted(c for (i, k), c in grads.edges.items() if g.nodes[i].operands[k] == a)
    assert into_a == [28.0, 32.0] and grads["a"] == 60.0
    # every node's adjoint is the sum of what its outgoing edges carry back
    for node in g.nodes:
        if node.id == g.output:
            continue
        parts = [c for (i, k), c in grads.edges.items() if g.nodes[i].operands[k] == node.id]
        if node.kind == CONST:
            assert parts == []
        else:
            assert sum(parts) == grads.of(node.id)


def test_fan_out_with_arrays_and_broadcasting() -> None:
    g = parse("h = W @ x + b\nC = sum(h * h) + sum(b)")
    W = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    x, b = np.array([1.0, -1.0]), 0.5                       # scalar b broadcast over 3
    v = evaluate(g, W=W, x=x, b=b)
    grads = backward(g, v)
    h = W @ x + b
    assert isinstance(grads["b"], float)
    assert grads["b"] == pytest.approx(float(np.sum(2 * h)) + 1.0, rel=1e-15)
    np.testing.assert_allclose(grads["W"], np.outer(2 * h, x), rtol=1e-15)
    np.testing.assert_allclose(grads["x"], W.T @ (2 * h), rtol=1e-15)


# --- constants, unused inputs ----------------------------------------------------------------

def test_constants_are_nodes_without_gradient() -> None:
    g = parse("y = -2*x + 3")
    consts = [n for n in g.nodes if n.kind == CONST]
    assert sorted(n.value for n in consts) == [-2.0, 3.0]
    assert op_nodes(g, "neg") == []
    v = evaluate(g, x=1.5)
    grads = backward(g, v)
    for c in consts:
        assert grads.nodes[c.id] is None
        assert grads.of(c.id) == 0.0
        assert not any(g.nodes[i].operands[k] == c.id for (i, k) in grads.edges)
    assert tangents(g, v, "x").nodes[consts[0].id] is None
    assert grads["x"] == -2.0
    assert g.depends_on_input[consts[0].id] is False


def test_constant_only_subexpressions_get_no_gradient() -> None:
    g = parse("y = x * (2 + 3)")
    v = evaluate(g, x=1.0)
    grads = backward(g, v)
    inner = op_nodes(g, "add")[0]
    assert grads.nodes[inner.id] is None
    assert grads["x"] == 5.0


def test_unused_inputs_have_zero_gradient() -> None:
    g = parse("u = 5.0\nV = [1, 2]\na = t*3\ny = x*2")
    assert g.input_names == ("u", "V", "t", "x")
    v = evaluate(g, t=1.0, x=4.0)
    grads = backward(g, v)
    assert grads["u"] == 0.0 and grads["t"] == 0.0 and grads["a"] == 0.0
    np.testing.assert_array_equal(grads["V"], [0.0, 0.0])
    assert grads["x"] == 2.0
    assert cg.jacobian(g, "t", t=1.0, x=4.0, mode="forward") == 0.0
    assert not g.ancestors_of_output[g.latest["a"]]


# --- versions and aliases ------------------------------------------------------------------

def test_reassignment_makes_versions_with_primes() -> None:
    g = parse("c = x*2\nc = c + 1\nc = c*c\ny = c + x")
    assert len(g.versions["c"]) == 3
    labels = [g.labels[i] for i in g.versions["c"]]
    assert labels == ["c", "c′", "c″"]
    v = evaluate(g, x=1.0)
    assert v["c"] == 9.0                        # the newest version
    assert [v.nodes[i] for i in g.versions["c"]] == [2.0, 3.0, 9.0]
    grads = backward(g, v)
    assert grads["c"] == 1.0
    assert [grads.of(i) for i in g.versions["c"]] == [6.0, 6.0, 1.0]
    assert list(v) == ["x", "c", "y"]            # one key per name, newest version


def test_eval_json_keys_use_the_newest_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "compgraph", "eval",
                           "c = x*2, c = c + 1, c = c*c", "--at", "x=1", "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc["values"]) == ["x", "c"]
    assert doc["values"]["c"] == 9.0 and doc["gradients"]["c"] == 1.0
    assert doc["gradients"]["x"] == 12.0


def test_alias_is_the_same_node_with_both_names() -> None:
    g = parse("s2 = W @ x + b\nyhat = s2\nC = sum(yhat * yhat)")
    assert g.latest["yhat"] == g.latest["s2"]
    assert g.labels[g.latest["s2"]] == "s2 = yhat"
    assert len(g.nodes) == len(parse("s2 = W @ x + b\nC = sum(s2 * s2)").nodes)
    v = evaluate(g, W=[[1.0, 0.0], [0.0, 2.0]], x=[1.0, 1.0], b=[0.0, 1.0])
    np.testing.assert_array_equal(v["yhat"], v["s2"])
    grads = backward(g, v)
    np.testing.assert_array_equal(grads["yhat"], grads["s2"])


def test_output_alias_of_an_input() -> None:
    g = parse("y = x")
    assert g.output == g.inputs[0]
    assert cg.gradients(g, x=3.0)["x"] == 1.0


# --- immutability and equality -----------------------------------------------------------

def test_graph_is_immutable_data() -> None:
    g = parse("W = [[1, 2], [3, 4]]\ny = sum(W * x)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.nodes[0].name = "V"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.output = 0  # type: ignore[misc]
    # The nodes are stored by column: none of the columns can be written either.
    with pytest.raises(TypeError):
        g.nodes[0] = g.nodes[1]  # type: ignore[index]
    with pytest.raises(TypeError):
        g.nodes.first[2] = 0
    with pytest.raises(TypeError):
        g.nodes.names[0] = "V"  # type: ignore[index]
    with pytest.raises(TypeError):
        g.bindings.nodes[0] = 1
    with pytest.raises(ValueError):
        g.nodes[g.inputs[0]].value[0, 0] = 9.0
    before = (g.nodes, g.bindings)
    evaluate(g, x=2.0)
    cg.gradients(g, x=2.0)
    assert (g.nodes, g.bindings) == before
    assert hash(g) == hash(parse("W = [[1, 2], [3, 4]]\ny = sum(W * x)"))


def test_one_graph_many_evaluations() -> None:
    g = parse(HOMEWORK)
    v1, v2 = evaluate(g, x=2, y=3, z=1), evaluate(g, x=1, y=2, z=3)
    assert (v1.output, v2.output) == (224.0, 60.0)
    assert backward(g, v1)["x"] == 292.0 and backward(g, v2)["x"] == 104.0


def test_equal_graphs_from_different_spellings() -> None:
    assert parse("y = (x*2) + 1") == parse("y = x*2+1   # same")
    assert parse("y = x*2 + 1") != parse("y = 2*x + 1")      # operand order matters
    assert parse("y = x + 1") != parse("y = x + 2")          # constants matter
    assert parse("y = x + 1") != parse("z = x + 1")          # names matter


# --- nodes stored by column ---------------------------------------------------------------

def test_nodes_are_a_sequence_made_on_demand() -> None:
    g = parse("W = [[1, 2], [3, 4]]\ny = sum(W @ x, axis=0) + -2*x\nz = y[0]")
    nodes = list(g.nodes)
    assert [n.id for n in nodes] == list(range(len(g)))
    assert g.nodes[-1] == nodes[-1] and g.nodes[np.int64(2)] == nodes[2]
    assert g.nodes[1:3] == tuple(nodes[1:3]) and list(reversed(g.nodes)) == nodes[::-1]
    assert g.nodes[len(g) - 1] in g.nodes and g.nodes.index(nodes[3]) == 3
    with pytest.raises(IndexError, match="node 8 is not in this graph of 8 nodes"):
        g.nodes[8]
    with pytest.raises(TypeError):
        g.nodes["y"]  # type: ignore[index]
    # The columns say what the nodes do.
    assert [g.nodes.operands(i) for i in range(len(g))] == [n.operands for n in nodes]
    assert dict(g.nodes.names) == {n.id: n.name for n in nodes if n.kind == INPUT}
    assert dict(g.nodes.params) == {n.id: n.params for n in nodes if n.params}
    assert g.nodes.values.keys() == {n.id for n in nodes if n.value is not None}


def test_a_graph_of_node_objects_is_stored_by_column() -> None:
    g = parse(HOMEWORK + "\nc = 2*x")
    again = cg.Graph(tuple(g.nodes), tuple(g.bindings), g.output, g.output_name, g.source)
    assert again == g and hash(again) == hash(g)
    assert [n.span for n in again.nodes] == [n.span for n in g.nodes]
    assert list(again.bindings) == list(g.bindings)
    with pytest.raises(ValueError, match="numbered in order"):
        cg.Graph(tuple(g.nodes)[1:], (), 0, "y")


def test_equality_ignores_spans_and_holds_array_constants() -> None:
    a = parse("y = x * [1, 2]\nz = y")
    b = parse("y   =   x*[1,2] ; z = y")
    assert a == b and hash(a) == hash(b) and a.nodes.starts.obj != b.nodes.starts.obj
    assert a != parse("y = x * [1, 3]\nz = y") and a != parse("y = x * [1, 2]\nw = y")


def test_depends_on_input_deep_in_constants() -> None:
    """Constants combined more levels deep than the NumPy passes look: the same answer
    as a sweep node by node."""
    deep = "c = " + "(" * 12 + "1" + " + 1)" * 12
    g = parse(f"{deep}\ny = c*x + (2*3)\nz = y + c")
    flags = []
    for n in g.nodes:
        flags.append(n.kind == INPUT or (n.kind == OP and any(flags[j] for j in n.operands)))
    assert g.depends_on_input == tuple(flags)
    assert sum(flags) < len(flags) - 12


# --- depth: no recursion anywhere -------------------------------------------------------------

def test_hundred_thousand_statement_chain() -> None:
    n = 100_000
    lines = ["v0 = x*y"]
    for i in range(1, n):
        lines.append(f"v{i} = 0.5*(v{i - 1} + x)" if i % 2 else f"v{i} = v{i - 1} - 0.25*y")
    g = parse("\n".join(lines))
    assert g.output_name == f"v{n - 1}"
    v = evaluate(g, x=0.5, y=2.0)
    grads = backward(g, v)
    t = tangents(g, v, "x")
    assert grads["x"] == pytest.approx(t.output, rel=1e-12)
    assert grads["y"] == pytest.approx(tangents(g, v, "y").output, rel=1e-12)
    # w -> 0.5*(w + x) - 0.25*y contracts to w* = x - 0.5*y, and the last statement is
    # 0.5*(w* + x) = x - 0.25*y: value 0, d/dx 1, d/dy -0.25 (to rounding).
    assert grads["x"] == pytest.approx(1.0, rel=1e-12)
    assert grads["y"] == pytest.approx(-0.25, rel=1e-12)
    assert v.output == pytest.approx(0.0, abs=1e-12)


def test_two_thousand_nested_parentheses() -> None:
    depth = 2000
    g = parse("y = " + "(" * depth + "x + 1" + ")" * depth + " * 2")
    assert evaluate(g, x=1.0).output == 4.0
    assert cg.gradients(g, x=1.0)["x"] == 2.0


def test_two_thousand_nested_calls_and_operators() -> None:
    depth = 2000
    g = parse("y = " + "tanh(" * depth + "x" + ")" * depth)
    v = evaluate(g, x=0.1)
    assert len(op_nodes(g, "tanh")) == depth
    assert backward(g, v)["x"] == pytest.approx(tangents(g, v, "x").output, rel=1e-12)
    g = parse("y = " + "-" * depth + "x")        # an even number of minus signs
    assert evaluate(g, x=3.0).output == 3.0
    g = parse("y = " + "x + " * depth + "x")
    assert cg.gradients(g, x=1.0)["x"] == depth + 1
    g = parse("y = " + "1 ** " * depth + "x")   # right-associative chain
    assert evaluate(g, x=5.0).output == 1.0


# --- export to networkx ---------------------------------------------------------------------

def test_to_networkx_structure() -> None:
    import networkx as nx

    from compgraph.export import to_networkx

    g = parse(HOMEWORK)
    G = to_networkx(g)
    assert isinstance(G, nx.MultiDiGraph)
    assert sorted(G.nodes) == list(range(len(g.nodes)))
    for node in g.nodes:
        attrs = G.nodes[node.id]
        assert attrs["kind"] == node.kind and attrs["op"] == node.op
        assert attrs["name"] == g.labels[node.id]
        assert "gradient" not in attrs
        for k, j in enumerate(node.operands):
            assert G.has_edge(j, node.id, key=k)
    assert G.number_of_edges() == sum(len(n.operands) for n in g.nodes)
    # x + x: two parallel edges keyed 0 and 1
    xx = next(n for n in op_nodes(g, "add") if n.operands[0] == n.operands[1])
    assert set(G[xx.operands[0]][xx.id]) == {0, 1}
    assert nx.is_directed_acyclic_graph(G)
    assert {G.nodes[i]["name"] for i in g.inputs} == {"x", "y", "z"}
    assert G.nodes[g.output]["name"] == "w"
    assert not any("params" in G.nodes[i] for i in G.nodes)
    G = to_networkx(parse("p = softmax(z, axis=0)[1]"))
    assert [G.nodes[i].get("params") for i in G.nodes] == [None, {"axis": 0}, {"index": (1,)}]


def test_parameters_are_part_of_a_node() -> None:
    a, b = parse("s = sum(W, axis=0)"), parse("s = sum(W, axis=1)")
    assert a != b and a.nodes[1].params == (("axis", 0),) and a.nodes[1].kwargs == {"axis": 0}
    assert hash(parse("s = sum(W, axis=0)")) == hash(a) and parse("s = sum(W, axis=0)") == a
    assert a.nodes[1].op_label == "Σ₀" and parse("s = sum(W)").nodes[1].op_label == "Σ"


def test_to_networkx_with_values_and_gradients() -> None:
    from compgraph.export import to_networkx

    g = parse("a = x - y\nb = a*a + 3")
    v = evaluate(g, x=5.0, y=2.0)
    grads = backward(g, v)
    G = to_networkx(g, values=v, grads=grads)
    for node in g.nodes:
        assert G.nodes[node.id]["value"] == v.nodes[node.id]
        assert G.nodes[node.id]["gradient"] == grads.of(node.id)
    sub = op_nodes(g, "sub")[0]
    assert G.nodes[sub.id]["op"] == "sub" and G.nodes[sub.id]["name"] == "a"
    # order of a - b survives export: x is operand 0, y operand 1
    assert G.has_edge(g.latest["x"], sub.id, key=0) and G.has_edge(g.latest["y"], sub.id, key=1)
    assert G.nodes[g.latest["x"]]["gradient"] == 6.0 and G.nodes[g.latest["y"]]["gradient"] == -6.0
    three = next(n for n in g.nodes if n.kind == CONST)
    assert G.nodes[three.id]["kind"] == "const" and G.nodes[three.id]["value"] == 3.0


def test_to_networkx_is_reachable_lazily_from_the_package() -> None:
    g = parse("s = x + x")
    G = cg.to_networkx(g)
    assert sorted(G.edges(keys=True)) == [(0, 1, 0), (0, 1, 1)]
    assert G.nodes[0]["kind"] == INPUT


# --- name lookup behaves like a mapping ------------------------------------------------------

def test_results_are_mappings_keyed_by_name() -> None:
    g = parse("a = x*2\nb = a + y")
    v = evaluate(g, x=1.0, y=2.0)
    grads = backward(g, v)
    tans = tangents(g, v, "x")
    for result in (v, grads, tans):
        assert "a" in result and "q" not in result
        assert result.get("q") is None
        assert list(result) == ["x", "y", "a", "b"]        # inputs first, then statements
        with pytest.raises(KeyError):
            result["q"]
    with pytest.raises(cg.ParseError, match="no variable named 'q'"):
        g.node("q")
    assert dict(grads) == {"x": 2.0, "y": 1.0, "a": 1.0, "b": 1.0}


def test_tangents_of_a_program_without_inputs_is_an_input_error() -> None:
    g = parse("y = 2 + 3")
    with pytest.raises(cg.InputError):
        tangents(g, evaluate(g))


# --- the Python builder makes the same graphs as the language ----------------------------------

def test_builder_matches_the_language() -> None:
    from compgraph.builder import leaky_relu, relu, sum as cg_sum

    p = cg.Program()
    x, y, z = p.inputs("x y z")
    a = p.let("a", x * y + z)
    b = p.let("b", a * (x + x))
    p.let("w", a * b + b)
    assert p.graph() == parse(HOMEWORK)
    assert p.graph("a") == parse(HOMEWORK, output="a")
    assert p.graph(a) == parse(HOMEWORK, output="a")

    q = cg.Program()
    u = q.input("u", 2.0)                       # like `u = 2.0`
    W = q.input("W")
    v = q.input("v")
    c = q.let("c", -2 * u + relu(u) - leaky_relu(u))
    c = q.let("c", c * c)
    q.let("out", cg_sum(np.array([1.0, 2.0]) + W @ v) / c - 2 ** u)
    want = parse("u = 2.0\nc = -2*u + relu(u) - leaky_relu(u)\nc = c*c\n"
                 "out = sum([1, 2] + W @ v) / c - 2 ** u")
    assert q.graph() == want
    point = {"W": [[1.0, 0.0], [0.0, 1.0]], "v": [1.0, 2.0]}
    assert cg.gradients(q.graph(), point)["u"] == cg.gradients(want, point)["u"]


def test_builder_rejects_mistakes() -> None:
    from compgraph.builder import relu

    p, other = cg.Program(), cg.Program()
    x, y = p.input("x"), other.input("y")
    with pytest.raises(ValueError):
        p.let("z", x + y)                       # variables of two programs
    with pytest.raises(ValueError):
        p.let("not a name", x)
    with pytest.raises(TypeError):
        relu(1.0)                               # no compgraph variable to attach to
    with pytest.raises(cg.ParseError):
        cg.Program().graph()                    # empty program
