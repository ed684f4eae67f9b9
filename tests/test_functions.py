"""User-defined functions (``def``): syntax, inlining, the call records pictures use, and a
table of bad programs with the exact message and position."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import ParseError, evaluate, parse
from compgraph.functions import MAX_INLINED_NODES

REPO = Path(__file__).resolve().parents[1]
TWO_LAYER = (REPO / "examples" / "two-layer-net.cg").read_text(encoding="utf-8")

LINEAR = """\
def linear(W, b, x):
    s = W @ x + b
    return s
"""


def two_layer_with_def() -> str:
    """examples/two-layer-net.cg with both layers written as calls of linear."""
    text = TWO_LAYER.replace("s1 = W1 @ x + b1", "s1 = linear(W1, b1, x)")
    text = text.replace("s2 = W2 @ a1 + b2", "s2 = linear(W2, b2, a1)")
    assert text.count("linear(") == 2
    return LINEAR + text


# --- meaning -----------------------------------------------------------------------------------

def test_two_layer_net_with_def_linear_is_the_same_graph_and_loss() -> None:
    g, flat = parse(two_layer_with_def()), parse(TWO_LAYER)
    assert g == flat  # inlined: the same flat DAG of registry operators
    assert evaluate(g).output == evaluate(flat).output == pytest.approx(20.8025)
    grads, flat_grads = cg.gradients(g), cg.gradients(flat)
    for name in ("W1", "b1", "W2", "b2", "x"):
        assert np.array_equal(grads[name], flat_grads[name])


def test_one_line_def() -> None:
    g = parse("def f(x): return 3*relu(x)\ny = f(u) + f(-u)")
    assert g == parse("y = 3*relu(u) + 3*relu(-u)")
    assert evaluate(g, u=2.0).output == 6.0


def test_one_line_def_with_statements_before_return() -> None:
    g = parse("def f(x): t = 2*x; return t + 1\ny = f(u)")
    assert evaluate(g, u=3.0).output == 7.0


@pytest.mark.parametrize("src", [
    "def f(x):\n    t = x*x\n    return t + 1\ny = f(u)",
    "def f(x):\n\n    # square it\n    t = x*x   # here\n\n    return t + 1\n\ny = f(u)\n",
    "def f(x):\r\n    t = x*x\r\n    return t + 1\r\ny = f(u)\r\n",
    "def f(x):\n\tt = x*x\n\treturn t + 1\ny = f(u)",
    "  def f(x):\n      t = x*x\n      return t + 1\n  y = f(u)",   # all indented alike
    "def f(x):\n    t = x*x; return t + 1\ny = f(u)",
    "def f(x):\n    t = (x *\n  x)\n    return t + 1\ny = f(u)",    # a bracket spans lines
    "def f(x):\n    t = x\n    t *= x\n    return t + 1\ny = f(u)",
])
def test_block_forms(src: str) -> None:
    assert evaluate(parse(src), u=3.0).output == 10.0


def test_functions_call_functions_and_calls_nest() -> None:
    src = ("def sq(x): return x*x\n"
           "def norm2(a, b): return sq(a) + sq(b)\n"
           "y = norm2(sq(u), v)")
    assert evaluate(parse(src), u=2.0, v=3.0).output == 25.0


def test_a_body_may_call_a_function_defined_below_it() -> None:
    src = "def f(x): return g(x) + 1\ndef g(x): return 2*x\ny = f(u)"
    assert evaluate(parse(src), u=3.0).output == 7.0


def test_body_names_are_local() -> None:
    src = LINEAR + "s1 = linear(A, c, u)\nz = s + 1"
    g = parse(src)
    assert "s" in g.input_names  # `s` at the top level is not the body's s: a new input
    assert set(g.latest) == {"A", "u", "c", "s1", "s", "z"}
    # a parameter's name is local too: the function's x is not the program's x
    g = parse("x = 5\ndef f(x): return 2*x\ny = f(u)")
    assert evaluate(g, u=1.0).output == 2.0


def test_a_body_may_reassign_a_parameter() -> None:
    assert evaluate(parse("def f(x):\n    x = x + 1\n    return 2*x\ny = f(u)"), u=1.0).output == 4.0


def test_literal_in_a_body_is_a_constant_not_an_input() -> None:
    g = parse("def f(x):\n    k = 2.5\n    return k*x\ny = f(u)")
    assert g.input_names == ("u",)
    assert evaluate(g, u=2.0).output == 5.0


def test_bodies_use_keyword_arguments_and_subscripts() -> None:
    src = "def second(z):\n    p = softmax(z, axis=0)\n    return p[1]\ny = second(v)"
    g = parse(src)
    assert evaluate(g, v=[0.0, 0.0]).output == 0.5
    assert [n.op for n in g.nodes if n.kind == "op"] == ["softmax", "index"]
    with pytest.raises(ParseError) as e:  # a parameter error inside a body: caret there
        parse("def f(z): return sum(z, axes=0)\ny = f(v)")
    assert (e.value.line, e.value.column) == (1, 25) and "axes" in e.value.message


def test_function_of_no_arguments() -> None:
    assert evaluate(parse("def two(): return 2\ny = two()*u"), u=4.0).output == 8.0


def test_dead_body_statements_and_unused_arguments_are_kept() -> None:
    # Python runs them; a non-finite one would be reported, so the graph keeps them.
    g = parse("def f(x, unused):\n    t = log(x)\n    return 2*x\ny = f(u, 1/v)")
    values = evaluate(g, u=-1.0, v=0.0)
    assert values.output == -2.0
    assert values.nonfinite is not None
    assert len([n for n in g.nodes if n.op == "log"]) == 1


def test_an_evaluation_error_in_a_body_points_into_the_body() -> None:
    g = parse(LINEAR + "y = linear(A, c, u)")
    with pytest.raises(cg.EvaluationError) as e:
        evaluate(g, A=[[1.0, 2.0]], c=[0.0], u=[1.0, 2.0, 3.0])
    assert e.value.line == 2 and "W @ x" in e.value.caret
    assert "in linear#1 (called at line 4)" in e.value.message
    values = evaluate(parse("def f(x): return log(x)\ny = f(u) + f(-u)"), u=2.0)
    assert "in f#2 (called at line 2)" in values.nonfinite_message()


# --- the call records --------------------------------------------------------------------------

def test_calls_record_function_parent_args_result_and_members() -> None:
    src = ("def linear(W, b, x):\n    s = W @ x + b\n    return s\n"
           "def layer(W, b, x): return tanh(linear(W, b, x))\n"
           "a1 = layer(W1, b1, x)\nyhat = linear(W2, b2, a1)")
    g = parse(src)
    assert [(c.id, c.function, c.parent) for c in g.calls] == [
        ("layer#1", "layer", -1), ("linear#1", "linear", 0), ("linear#2", "linear", -1)]
    layer, inner, outer = g.calls
    assert [g.nodes[a].name for a in layer.args] == ["W1", "b1", "x"]
    assert g.nodes[layer.result].op == "tanh" and layer.result == g.latest["a1"]
    assert g.nodes[inner.result].op == "add" and g.local_name(inner.result) == "s"
    assert outer.result == g.latest["yhat"]
    # members: the nodes each body made itself; nested calls' nodes belong to those
    assert [g.nodes[i].op for i in g.call_members[0]] == ["tanh"]
    assert [g.nodes[i].op for i in g.call_members[1]] == ["matmul", "add"]
    tanh = layer.result
    assert g.call_path(tanh) == ("layer#1",)
    assert g.call_path(inner.result) == ("layer#1", "linear#1")
    assert g.call_of(inner.result) is inner
    assert g.call_path(g.latest["x"]) == () and g.call_of(g.latest["x"]) is None
    assert g.call_path(outer.result) == ("linear#2",)


def test_the_call_records_survive_choosing_another_output() -> None:
    g = parse(LINEAR + "s1 = linear(A, c, u)\nz = 2*s1").with_output("s1")
    assert [c.id for c in g.calls] == ["linear#1"]
    assert g.local_name(g.output) == "s"


def test_programs_without_calls_carry_no_call_records() -> None:
    g = parse("a = x*y + z")
    assert g.calls == () and g.node_calls == () and g.local_names == ()
    assert g.call_path(0) == () and g.local_name(0) is None


def test_local_names_are_not_variables_of_the_program() -> None:
    g = parse(LINEAR + "s1 = linear(A, c, u)")
    values = evaluate(g, A=[[1.0, 2.0]], c=[0.5], u=[1.0, 1.0])
    assert "s" not in values and set(values) == {"A", "u", "c", "s1"}
    with pytest.raises(cg.ParseError):
        parse(LINEAR + "s1 = linear(A, c, u)", output="s")


# --- deep and wide ----------------------------------------------------------------------------

def test_three_thousand_nested_calls() -> None:
    src = "def f(x): return x + 1\ny = " + "f(" * 3000 + "u" + ")" * 3000
    g = parse(src)
    assert len(g.calls) == 3000
    assert evaluate(g, u=0.0).output == 3000.0
    assert cg.gradients(g, u=0.0)["u"] == 1.0


def test_a_chain_of_three_thousand_functions() -> None:
    lines = ["def f0(x): return x + 1"]
    lines += [f"def f{k}(x): return f{k - 1}(x)" for k in range(1, 3000)]
    g = parse("\n".join(lines + ["y = f2999(u)"]))
    assert evaluate(g, u=1.0).output == 2.0
    assert len(g.call_path(g.output)) == 3000


def test_calls_that_multiply_past_the_limit_are_refused() -> None:
    lines = ["def f0(x): return x + 1"]
    lines += [f"def f{k}(x): return f{k - 1}(x) + f{k - 1}(x)" for k in range(1, 40)]
    with pytest.raises(ParseError) as e:
        parse("\n".join(lines + ["y = f39(u)"]))
    assert e.value.line == 41 and f"more than {MAX_INLINED_NODES:,}" in e.value.message


# --- errors ------------------------------------------------------------------------------------

BAD = [
    # (program, line, column, fragment of the message)
    ("def f(x):\n    return 2*f(x)\ny = f(1)", 2, 14, "recursion: f calls itself"),
    ("def f(x):\n    return g(x)\ndef g(x):\n    return f(x)\ny = f(2)", 4, 12,
     "recursion: g → f → g"),
    ("def f(x): return g(x)\ndef g(x): return h(x)\ndef h(x): return f(x)", 3, 18,
     "recursion: h → f → g → h"),
    ("def f(x, y):\n    return x*y\nz = f(1)", 3, 5, "f() takes 2 arguments (x, y), got 1"),
    ("def f(x): return g(x, x)\ndef g(a): return a", 1, 18, "g() takes 1 argument (a), got 2"),
    ("W = 2\ndef f(x):\n    return x*W\nz = f(1)", 3, 14,
     "f reads 'W', which is a variable of the program"),
    ("def f(x):\n    return x*W\nz = f(1)", 2, 14, "'W' is neither a parameter of f (x)"),
    ("def f(x):\n    s = 2*x\nz = f(1)", 1, 5, "f has no 'return'"),
    ("def f(x): return\n", 1, 11, "'return' needs an expression"),
    ("def relu(x):\n    return x\n", 1, 5, "would shadow the operator relu"),
    ("def f(x):\n    def g(y):\n        return y\n    return x\n", 2, 5,
     "a def inside a def is not supported"),
    ("def f(x):\n    s = 2*x\n      return s\n", 3, 1, "unexpected indent"),
    ("def f(x):\n    s = 2*x\n  return s\n", 3, 1, "unindent does not match"),
    ("def f(x):\n\ts = 2*x\n        return s\n", 3, 1, "inconsistent use of tabs and spaces"),
    ("def f(x):\nreturn x\n", 2, 1, "expected the indented body of f"),
    ("def f(x):", 1, 10, "expected the body of f after ':'"),
    ("def f(x):\n    return x\n    y = 2\n", 3, 5, "never run"),
    ("def f(x):\n    2*x\n    return x", 2, 5, "an expression's value is unused inside f"),
    ("y = f(2)\ndef f(x): return x", 1, 5, "f is defined later, at line 2"),
    ("def f(x):\n    return h(x)\ny = f(2)", 2, 12, "unknown function 'h' in the body of f"),
    ("def f(x): return rleu(x)", 1, 18, "(did you mean 'relu'?)"),
    ("def f(x): return g(x)\ny = f(2)\ndef g(x): return x", 1, 18,
     "f calls g, which is defined later (line 3)"),
    ("def f(x): return x\ndef f(y): return y", 2, 5, "'f' is already defined at line 1"),
    ("f = 2\ndef f(x): return x", 2, 5, "'f' is already a variable"),
    ("def f(x): return x\nf = 2", 2, 1, "'f' is the name of a function"),
    ("def f(x): return x\ny = f + 1", 2, 5, "'f' is a function: call it"),
    ("return 2", 1, 1, "'return' outside a function"),
    ("y = return + 1", 1, 5, "'return' is a keyword"),
    ("def f(x) return x", 1, 10, "expected ':' after def f(x)"),
    ("def f(x, x): return x", 1, 10, "parameter 'x' appears twice"),
    ("def (x): return x", 1, 5, "expected the function's name after 'def'"),
    ("a = 1; def f(x): return x", 1, 8, "'def' must begin its own line"),
    ("def f(x): return x\ny = f(x=2)", 2, 7, "f() takes its arguments in order, not by keyword"),
]


@pytest.mark.parametrize("src, line, column, fragment", BAD, ids=[b[3][:40] for b in BAD])
def test_bad_definitions(src: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(ParseError) as e:
        parse(src)
    assert fragment in e.value.message, e.value.message
    assert (e.value.line, e.value.column) == (line, column), str(e.value)
    assert "^" in e.value.caret


def test_the_command_line_reports_a_bad_body_with_its_caret() -> None:
    proc = subprocess.run([sys.executable, "-m", "compgraph", "eval",
                           "def f(x):\n    return x*W\ny = f(u)"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "line 2, column 14" in proc.stderr and "^" in proc.stderr


def test_eval_json_lists_program_variables_not_body_locals() -> None:
    proc = subprocess.run([sys.executable, "-m", "compgraph", "eval", "-", "--json"],
                          input=two_layer_with_def(), capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert "s" not in doc["values"] and doc["value"] == pytest.approx(20.8025)


# --- pictures ----------------------------------------------------------------------------------

def test_each_call_is_a_labelled_cluster_and_nested_calls_nest() -> None:
    g = parse((REPO / "examples" / "three-layer-net.cg").read_text(encoding="utf-8"))
    dot = cg.to_dot(g, legend=False)
    source = dot.source
    assert source.count("subgraph cluster_call") == len(g.calls) == 5
    assert [c.function for c in g.calls] == ["layer", "linear", "layer", "linear", "linear"]
    # layer#1 (cluster_call0) holds linear#1 (cluster_call1) inside its braces
    start = source.index("subgraph cluster_call0 {")
    inner = source.index("subgraph cluster_call1 {")
    end = source.index("subgraph cluster_call2 {")
    assert start < inner < end
    block = source[start:end]
    assert block.count("{") == block.count("}")  # call1 closes before call0 does
    assert "label=layer" in block and "label=linear" in block
    # the body's local name labels its circle inside the cluster
    s_node = g.calls[1].result
    assert g.local_name(s_node) == "s" and g.labels[s_node] is None
    line = next(t for t in source.splitlines() if t.strip().startswith(f"v{s_node} [label="))
    assert "<i>s</i>" in line  # the name in its shape cell (the picture's node table)
    assert cg.to_dot(g, legend=False).source == source  # deterministic


def test_networkx_export_carries_the_calls() -> None:
    g = parse("def sq(x):\n    y = x*x\n    return y\nz = sq(u) + 1")
    nxg = cg.to_networkx(g)
    mul = next(i for i, n in enumerate(g.nodes) if n.op == "mul")
    assert nxg.nodes[mul]["call"] == ("sq#1",) and nxg.nodes[mul]["local_name"] == "y"
    assert nxg.nodes[g.output]["call"] == ()
    assert "call" not in cg.to_networkx(parse("z = u*u + 1")).nodes[0]
