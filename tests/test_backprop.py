"""The backward pass printed as a program (``compgraph backprop``): it parses, and evaluating
it gives the engine's gradients exactly, on every example, on every operator of the
registry and on random programs; ``--latex``, ``--in-terms-of`` and second derivatives."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

import compgraph as cg
from compgraph.backprop import BackpropError, BackwardProgram, backprop
from compgraph.graph import GraphBuilder
from compgraph.ops import OPS
from compgraph.symbolic import walk
from test_ops import DOMAINS, _menu
from test_properties import SETTINGS, program_text, programs

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("*.cg"))
HOMEWORK = "a = x*y + z, b = a*(x + x), w = a*b + b"

def same(a, b) -> bool:
    """Equal to the last bit (NaN equals NaN), and of the same shape."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def check_exact(graph: cg.Graph, point: dict | None = None, **kw) -> BackwardProgram:
    """Print the backward pass, parse and evaluate it, and hold every adjoint it names
    equal to the engine's, bit for bit."""
    point = dict(point or {})
    program = backprop(graph, point, **kw)
    printed = cg.parse(program.text())
    values = cg.evaluate(printed, point)
    grads = cg.gradients(graph, point)
    adjoints = program.adjoints()
    assert adjoints
    for node, name in adjoints.items():
        assert same(values[name], grads.of(node)), (
            f"{name}: printed program gives {values[name]}, the engine {grads.of(node)}\n"
            + program.text())
    return program


# --- the registry ----------------------------------------------------------------------------

def test_every_operator_has_a_symbolic_reverse_rule_per_operand() -> None:
    for name, op in OPS.items():
        assert op.vjp_expr is not None, f"{name} has no vjp_expr"
        assert len(op.vjp_expr) == op.arity, name
        assert all(callable(r) for r in op.vjp_expr), name


def _registry_cases() -> list:
    out = []
    for name in sorted(OPS):
        for case in _menu(name) if name in DOMAINS else []:
            sid = "_".join("x".join(map(str, sh)) or "scalar" for sh in case.shapes)
            sid += "".join(f"-{k}={v}" for k, v in case.params.items())
            out.append(pytest.param(name, case, id=f"{name}-{sid}"))
    return out


@pytest.mark.parametrize("name, case", _registry_cases())
def test_each_operators_printed_rule_gives_the_engines_numbers(name: str, case) -> None:
    """y = op(x0, ...), L = sum(y * r): the printed adjoints of every operand, exactly."""
    samplers, _ = DOMAINS[name]
    shapes = case.shapes
    rng = np.random.default_rng(sum(map(ord, name)) + 7 * len(shapes))
    point = {f"x{k}": samplers[k](rng, shapes[k]) for k in range(len(shapes))}
    b = GraphBuilder()
    xs = [b.input(f"x{k}") for k in range(len(shapes))]
    y = b.apply(name, xs, params=case.params)
    b.bind("y", y)
    out_shape = np.shape(cg.evaluate(b.build(), point).output)
    if out_shape:
        r = b.input("r")
        point["r"] = rng.uniform(-1.0, 1.0, size=out_shape)
        b.bind("L", b.apply("sum", (b.apply("mul", (y, r)),)))
    graph = b.build()
    if name == "matmul" and any(len(sh) > 2 for sh in shapes):
        with pytest.raises(BackpropError, match="vectors and matrices"):
            backprop(graph, point)
        return
    check_exact(graph, point)


# --- examples --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_backprop_program_gives_the_engines_gradients(path: Path) -> None:
    graph = cg.parse(path.read_text(encoding="utf-8"))
    if np.shape(cg.evaluate(graph).output):
        with pytest.raises(BackpropError, match="needs a scalar output"):
            backprop(graph)
        graph = cg.parse(path.read_text(encoding="utf-8") + "\nL = sum(h*h)")
    program = check_exact(graph)
    assert_simplified(program)


def assert_simplified(program: BackwardProgram) -> None:
    """No multiplication by one, no adding (or subtracting) zero, no x**1."""
    for s in program.backward:
        for e in walk(s.expr):
            ones = [a for a in e.args if a.op == "const" and a.shape == () and a.value == 1.0]
            zeros = [a for a in e.args if a.op == "const" and a.shape == () and a.value == 0.0]
            assert not (e.op in ("mul", "div", "matmul") and ones and e.args[-1] in ones
                        or e.op == "mul" and ones), s.text()
            assert not (e.op in ("add", "sub") and zeros), s.text()
            assert not (e.op == "pow" and ones and e.args[1] is ones[0]), s.text()


def test_the_gallerys_backprop_example_is_current() -> None:
    """examples/homework-graph-backprop.cg is `compgraph backprop examples/homework-graph.cg`
    (the gallery draws the graph of the gradient computation from it)."""
    graph = cg.parse((REPO / "examples" / "homework-graph.cg").read_text(encoding="utf-8"))
    saved = (REPO / "examples" / "homework-graph-backprop.cg").read_text(encoding="utf-8")
    assert saved == backprop(graph).text() + "\n", (
        "regenerate it: python -m compgraph backprop examples/homework-graph.cg "
        "-o examples/homework-graph-backprop.cg")


def test_the_homework_graph() -> None:
    program = check_exact(cg.parse(HOMEWORK), {"x": 2.0, "y": 3.0, "z": 1.0})
    backward = [s.text() for s in program.backward]
    assert backward == [
        "dw_dw = 1",
        "dw_db = 1 + a",
        "dw_da = b + dw_db*(x + x)",
        "dw_dz = dw_da",
        "dw_dx = dw_db*a + dw_db*a + dw_da*y",  # fan-out: x reaches w along three edges
        "dw_dy = dw_da*x",
    ]
    assert program.notes == []  # the values were given
    assert "derived for scalar inputs x, y, z" in backprop(cg.parse(HOMEWORK)).text()


def test_two_layer_net_reads_like_the_homework() -> None:
    graph = cg.parse((REPO / "examples" / "two-layer-net.cg").read_text(encoding="utf-8"))
    program = check_exact(graph)
    assert_simplified(program)
    lines = [s.text() for s in program.backward]
    assert lines[:3] == ["dC_dC = 1", "dC_dyhat = 2*(yhat - y)", "dC_ds2 = dC_dyhat"]
    assert "dC_dW2 = outer(dC_dyhat, a1)" in lines
    assert "dC_da1 = transpose(W2) @ dC_dyhat" in lines
    assert "dC_ds1 = dC_da1*3*sign(relu(s1))" in lines
    assert "dC_dW1 = outer(dC_ds1, x)" in lines


def test_matrix_products_need_no_outer_product() -> None:
    # S = X @ W: dW = transpose(X) @ dS, dX = dS @ transpose(W)
    program = check_exact(cg.parse("S = X @ W\nL = sum(S*S)"),
                          {"X": np.arange(6.0).reshape(2, 3) / 5, "W": np.ones((3, 2)) / 3})
    text = program.text()
    assert "dL_dW = transpose(X) @ dL_dS" in text and "dL_dX = dL_dS @ transpose(W)" in text


def test_transposed_weights_read_like_the_textbook() -> None:
    # S = X @ transpose(W), the batch form of the course: dW = transpose(dS) @ X, computed
    # that way by the engine too (the adjoint laid out as W), so the numbers are its own
    rng = np.random.default_rng(3)
    point = {"X": rng.standard_normal((4, 3)), "W": rng.standard_normal((2, 3)),
             "V": rng.standard_normal((4, 5))}
    program = check_exact(cg.parse("S = X @ transpose(W)\nT = transpose(V) @ X\n"
                                   "L = sum(S*S) + sum(T*T)"), point)
    text = program.text()
    assert "dL_dW = transpose(dL_dS) @ X" in text
    assert "dL_dV = X @ transpose(dL_dT)" in text
    batch = (REPO / "examples" / "two-layer-batch.cg").read_text(encoding="utf-8")
    text = check_exact(cg.parse(batch)).text()
    assert "dC_dW1 = transpose(dC_dS1) @ X" in text
    assert "dC_dW2 = transpose(dC_dYhat) @ A1" in text


def test_vector_times_matrix_and_dot_products() -> None:
    program = check_exact(cg.parse("h = v @ [[1, 2], [0, -1], [0.5, 3]]\nL = sum(h*h) + v @ v"),
                          {"v": np.array([1.0, -2.0, 0.5])})
    assert "[[1, 2], [0, -1], [0.5, 3]] @ dL_dh" in program.text()


def test_broadcasting_to_a_scalar_is_summed_back() -> None:
    program = check_exact(cg.parse("y = a*v + b\nL = sum(y*y)"),
                          {"a": 0.5, "b": -1.0, "v": np.array([1.0, 2.0, 3.0])})
    assert "sum(" in program.text().split("# backward")[1]


def test_an_adjoint_that_only_repeats_the_seed_is_written_with_ones() -> None:
    program = check_exact(cg.parse("L = sum(v)"), {"v": np.array([1.0, 2.0, 3.0])})
    assert program.backward[-1].text() == "dL_dv = [1, 1, 1]"


def test_names_that_would_clash_get_a_suffix() -> None:
    program = check_exact(cg.parse("dy_dx = 2*x\ny = dy_dx*x"), {"x": 3.0})
    names = [s.name for s in program.statements]
    assert len(names) == len(set(names))
    assert "dy_dx_" in names


def test_reassigned_names_get_one_name_per_version() -> None:
    program = check_exact(cg.parse((REPO / "examples" / "reassignment.cg").read_text()))
    forward = [s.text() for s in program.forward]
    assert forward[-3:] == ["c = x*y", "c_1 = c + x", "c_2 = c_1*c_1"]


def test_an_unnamed_output_is_named_out() -> None:
    program = check_exact(cg.parse("x*y + 1"), {"x": 2.0, "y": 5.0})
    assert program.forward[-1].text() == "out = x*y + 1"


def test_a_chain_of_three_thousand_statements_and_a_deep_expression() -> None:
    text = "a0 = x\n" + "\n".join(f"a{k} = sin(a{k - 1})" for k in range(1, 3001))
    check_exact(cg.parse(text), {"x": 0.7})
    deep = "def f(x): return x + 1\ny = " + "f(" * 3000 + "u" + ")" * 3000
    program = check_exact(cg.parse(deep), {"u": 0.5})
    assert program.backward[-1].text() == "dy_du = 1"


def test_a_program_with_functions_is_printed_inlined() -> None:
    src = "def sq(x): return x*x\ny = sq(u) + sq(2*u)"
    program = check_exact(cg.parse(src), {"u": 1.5})
    assert "def" not in program.text()


def test_errors_name_the_problem() -> None:
    with pytest.raises(BackpropError, match="needs a scalar output; h has shape"):
        backprop(cg.parse("h = 2*v"), {"v": [1.0, 2.0]})
    with pytest.raises(cg.InputError, match="unknown input 'q'"):
        backprop(cg.parse("y = 2*x"), {"q": 1.0})
    with pytest.raises(BackpropError, match="vectors and matrices"):
        backprop(cg.parse("L = sum(A @ B)"), {"A": np.ones((2, 2, 3)), "B": np.ones((3, 2))})


# --- second derivatives ----------------------------------------------------------------------

@pytest.mark.parametrize("x", [-1.3, 0.4, 2.0])
def test_backprop_of_backprop_gives_the_second_derivative(x: float) -> None:
    # w = x sin x: dw/dx = sin x + x cos x, d2w/dx2 = 2 cos x - x sin x (by hand)
    first = backprop(cg.parse("w = x*sin(x)"), {"x": x})
    second = backprop(cg.parse(first.text(), output="dw_dx"), {"x": x})
    values = cg.evaluate(cg.parse(second.text()), {"x": x})
    assert values["dw_dx"] == pytest.approx(math.sin(x) + x * math.cos(x), rel=1e-14)
    name = second.adjoint_name("x")
    assert name == "ddw_dx_dx"
    assert values[name] == pytest.approx(2 * math.cos(x) - x * math.sin(x), rel=1e-12)


def test_second_derivative_of_the_homework_graph() -> None:
    # w = a*b + b with a = xy + z, b = 2ax: w = 2x a^2 + 2x a; d2w/dx2 by hand below
    point = {"x": 2.0, "y": 3.0, "z": 1.0}
    first = backprop(cg.parse(HOMEWORK), point)
    second = backprop(cg.parse(first.text(), output="dw_dx"), point)
    values = cg.evaluate(cg.parse(second.text()), point)
    x, y, z = 2.0, 3.0, 1.0
    a = x * y + z
    # dw/dx = 2a^2 + 4axy + 2a + 2xy; d2w/dx2 = 4ay + 4ay + 4xy^2 + 2y + 2y
    assert values["dw_dx"] == 2 * a * a + 4 * a * x * y + 2 * a + 2 * x * y == 292.0
    assert values[second.adjoint_name("x")] == 8 * a * y + 4 * x * y * y + 4 * y


# --- in terms of, and LaTeX ------------------------------------------------------------------

def test_in_terms_of_the_homeworks_jacobians() -> None:
    graph = cg.parse((REPO / "examples" / "two-layer-net.cg").read_text(encoding="utf-8"))
    terms = ["dC_dyhat", "da1_ds1", "dyhat_ds2"]
    program = backprop(graph, in_terms_of=terms)
    lines = [s.text() for s in program.backward]
    assert "dyhat_ds2 = [[1, 0], [0, 1]]" in lines
    assert "dC_ds2 = dC_dyhat @ dyhat_ds2" in lines
    assert "da1_ds1 = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]*(3*sign(relu(s1)))" in lines
    assert "dC_ds1 = dC_da1 @ da1_ds1" in lines
    assert "dC_dW2 = outer(dC_ds2, a1)" in lines  # read through dC_ds2 from there on
    values = cg.evaluate(cg.parse(program.text()))
    grads = cg.gradients(graph)
    for node, name in program.adjoints().items():
        np.testing.assert_allclose(values[name], grads.of(node), rtol=1e-13)
    s1 = cg.evaluate(graph)["s1"]
    np.testing.assert_array_equal(values["da1_ds1"], np.diag(3.0 * (s1 > 0)))
    latex = program.latex()
    assert r"\frac{\partial a_{1}}{\partial s_{1}} &= \operatorname{diag}\left(3 \mathbb{1}[s_{1} > 0]\right)" in latex
    assert r"\frac{\partial C}{\partial s_{1}} &= \frac{\partial C}{\partial a_{1}} \frac{\partial a_{1}}{\partial s_{1}}" in latex
    assert r"\frac{\partial \hat{y}}{\partial s_{2}} &= I" in latex


def test_in_terms_of_a_scalar_chain() -> None:
    point = {"w": 0.5, "x": 2.0, "y": 0.1}
    program = backprop(cg.parse("s = w*x\na = tanh(s)\nL = (a - y)**2"), point,
                       in_terms_of=["da_ds", "dL_da"])
    lines = [s.text() for s in program.backward]
    assert "da_ds = 1 - a*a" in lines and "dL_ds = dL_da*da_ds" in lines
    values = cg.evaluate(cg.parse(program.text()), point)
    assert values["dL_dw"] == pytest.approx(cg.gradients(program.graph, point)["w"], rel=1e-14)


@pytest.mark.parametrize("terms, message", [
    (["dL_dq"], "write dA_dB with A and B variables"),
    (["dL_dsomething"], "write dA_dB"),
    (["dm_dy"], "Jacobians are written between vectors or scalars of the same size"),
    (["da_dm"], "goes through '@', which is not elementwise"),
    (["dx_da"], "does not depend on"),
    (["dm_ds", "dm_ds"], "already writes the adjoint of s"),
])
def test_in_terms_of_errors(terms: list[str], message: str) -> None:
    graph = cg.parse("s = 2*x\nm = s*y\na = [[1, 0], [2, 1]] @ m + m\nL = sum(a*a)")
    point = {"x": np.array([1.0, 2.0]), "y": 0.5}
    with pytest.raises(BackpropError, match=re.escape(message)):
        backprop(graph, point, in_terms_of=terms)


def test_in_terms_of_refuses_a_variable_that_reaches_the_output_another_way() -> None:
    graph = cg.parse("a = tanh(s)\nL = a*s")
    with pytest.raises(BackpropError, match="reaches the output other than through a"):
        backprop(graph, {"s": 0.3}, in_terms_of=["da_ds"])


def test_latex_of_the_homework_graph() -> None:
    latex = backprop(cg.parse(HOMEWORK), {"x": 2.0, "y": 3.0, "z": 1.0}).latex()
    assert latex.splitlines() == [
        r"\begin{aligned}",
        r"a &= x \cdot y + z \\",
        r"b &= a \cdot \left(x + x\right) \\",
        r"w &= a \cdot b + b \\",
        r"\frac{\partial w}{\partial w} &= 1 \\",
        r"\frac{\partial w}{\partial b} &= 1 + a \\",
        r"\frac{\partial w}{\partial a} &= b + \frac{\partial w}{\partial b} \cdot \left(x + x\right) \\",
        r"\frac{\partial w}{\partial z} &= \frac{\partial w}{\partial a} \\",
        r"\frac{\partial w}{\partial x} &= \frac{\partial w}{\partial b} \cdot a + \frac{\partial w}{\partial b} \cdot a + \frac{\partial w}{\partial a} \cdot y \\",
        r"\frac{\partial w}{\partial y} &= \frac{\partial w}{\partial a} \cdot x",
        r"\end{aligned}",
    ]


# --- random programs -------------------------------------------------------------------------

def _check_random(statements, point) -> None:
    graph = cg.parse(program_text(statements))
    if graph.input_names:
        check_exact(graph, point)


@SETTINGS
@given(programs(vectors=False))
def test_random_scalar_programs_print_exact_backward_passes(drawn) -> None:
    _check_random(*drawn)


@SETTINGS
@given(programs(vectors=True))
def test_random_vector_programs_print_exact_backward_passes(drawn) -> None:
    _check_random(*drawn)


# --- the command line ------------------------------------------------------------------------

def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compgraph", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def test_command_line_backprop_piped_into_eval() -> None:
    at = "w=[0.25,1,-1],b=0.5,x=[2,-1,0.5],y=-1"
    printed = run("backprop", "examples/adaline.cg")
    assert printed.returncode == 0, printed.stderr
    evaluated = run("eval", "-", "--at", at, "--output", "dL_dw", "--json", stdin=printed.stdout)
    assert evaluated.returncode == 0, evaluated.stderr
    reference = json.loads(run("eval", "examples/adaline.cg", "--at", at, "--json").stdout)
    assert json.loads(evaluated.stdout)["value"] == reference["gradients"]["w"]


def test_done_when_two_layer_dC_dW1_equals_evals_gradient() -> None:
    at = "x=[0.5,-1.5],y=[2,0.25]"
    printed = run("backprop", "examples/two-layer-net.cg")
    assert printed.returncode == 0, printed.stderr
    evaluated = run("eval", "-", "--at", at, "--output", "dC_dW1", "--json", stdin=printed.stdout)
    reference = json.loads(run("eval", "examples/two-layer-net.cg", "--at", at, "--json").stdout)
    assert json.loads(evaluated.stdout)["value"] == reference["gradients"]["W1"]


def test_command_line_latex_in_terms_of_and_output_file(tmp_path: Path) -> None:
    latex = run("backprop", HOMEWORK, "--at", "x=2,y=3,z=1", "--latex")
    assert latex.returncode == 0 and latex.stdout.startswith(r"\begin{aligned}")
    out = tmp_path / "sub" / "hw-backprop.cg"
    written = run("backprop", HOMEWORK, "--output", "b", "-o", str(out))
    assert written.returncode == 0 and written.stdout.strip() == str(out)
    assert "db_dx" in out.read_text(encoding="utf-8")
    bad = run("backprop", "y = W @ v", "--at", "W=[[1,2]],v=[1,1]", "--in-terms-of", "dz_dy")
    assert bad.returncode == 2 or bad.returncode == 1
    assert "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_command_line_errors_without_traceback() -> None:
    nonscalar = run("backprop", "h = 2*v", "--at", "v=[1,2]")
    assert nonscalar.returncode == 1 and "needs a scalar output" in nonscalar.stderr
    syntax = run("backprop", "y = 2*")
    assert syntax.returncode == 2 and "^" in syntax.stderr
    for proc in (nonscalar, syntax):
        assert "Traceback" not in proc.stderr
