"""The language of design §2: syntax, meaning, and a table of bad programs with the exact
error class, line and column (and no traceback from the command line for any of them)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import CompgraphError, ParseError, evaluate, parse

REPO = Path(__file__).resolve().parents[1]

HOMEWORK = "a = x*y + z\nb = a*(x + x)\nw = a*b + b"


def value(src: str, **point) -> float:
    return evaluate(parse(src), point).output


# --- statements and separators ----------------------------------------------------------

@pytest.mark.parametrize("src", [
    "a = x*y+z, b = a*(x+x), w = a*b+b",
    "a = x*y+z; b = a*(x+x); w = a*b+b",
    "a = x*y+z\nb = a*(x+x)\nw = a*b+b",
    "a = x*y+z\r\nb = a*(x+x)\r\nw = a*b+b\r\n",
    "# the homework graph\n\na = x*y + z   # first\n\n\nb = a*(x + x);\nw = a*b + b\n",
    "a = x*y+z,\nb = a*(x+x);;\nw = a*b+b,",
])
def test_separators_and_comments_give_one_program(src: str) -> None:
    assert parse(src) == parse(HOMEWORK)


def test_commas_inside_calls_and_arrays_are_not_separators() -> None:
    g = parse("y = leaky_relu(x, 0.5), z = y + 1")
    assert g.output_name == "z"
    assert value("y = leaky_relu(x, 0.5), z = y + 1", x=-2.0) == 0.0
    g = parse("W = [[1, 2],\n     [3, 4]]\ny = sum(W @ x)")
    assert g.nodes[g.inputs[0]].value.shape == (2, 2)


def test_call_arguments_may_span_lines() -> None:
    assert value("y = leaky_relu(x,\n  0.5)", x=-2.0) == -1.0


# --- numbers and names --------------------------------------------------------------------

@pytest.mark.parametrize("text, want", [
    ("2", 2.0), ("2.5", 2.5), ("2.", 2.0), (".5", 0.5), ("1e3", 1000.0), ("1E3", 1000.0),
    ("1e-3", 0.001), ("2.5e+2", 250.0), ("1_000", 1000.0), ("0", 0.0), ("007", 7.0),
])
def test_numbers(text: str, want: float) -> None:
    g = parse(f"y = x + {text}")
    const = [n for n in g.nodes if n.kind == "const"]
    assert len(const) == 1 and const[0].value == want


@pytest.mark.parametrize("name", ["ŷ", "α", "W1", "b_2", "_h", "x\u0302", "δloss"])
def test_unicode_and_python_identifiers(name: str) -> None:
    g = parse(f"out = 2*{name}")
    assert len(g.input_names) == 1
    assert g.input_names[0].isidentifier()
    assert evaluate(g, {g.input_names[0]: 3.0}).output == 6.0


def test_combining_mark_name_is_the_composed_name() -> None:
    # y + COMBINING CIRCUMFLEX and the precomposed ŷ are one variable (NFKC, as Python does)
    g = parse("ŷ = 2*x\nC = y\u0302 * 3")
    assert g.input_names == ("x",)
    assert evaluate(g, x=1.0).output == 6.0


# --- precedence and associativity (Python's) -------------------------------------------------

@pytest.mark.parametrize("expr, x", [
    ("-x**2", 3.0), ("2**-x", 3.0), ("2**3**2", 1.0), ("-2**2", 1.0), ("x - 1 - 2", 5.0),
    ("x / 2 / 4", 8.0), ("2*x + 3*x*x", 1.5), ("x - -x", 2.0), ("+x", 4.0), ("--x", 4.0),
    ("-x*2", 3.0), ("2**-x**2", 1.5), ("(1 + x)**2 / (x - 3)", 2.0), ("x**2**-1", 4.0),
    ("-(-(x))", 2.0), ("1 - x**2 * 3 + 4 / x", 2.0), ("(((x)))", 1.25), ("x*-1", 2.0),
])
def test_precedence_is_pythons(expr: str, x: float) -> None:
    want = eval(expr, {"x": x})  # the test's oracle is Python itself (trusted test text)
    g = parse(f"y = {expr}")
    point = {"x": x} if "x" in g.input_names else {}
    assert evaluate(g, point).output == pytest.approx(want, rel=1e-15)


def test_matmul_binds_like_multiplication() -> None:
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([1.0, -1.0])
    got = evaluate(parse("y = 2 * W @ v + v"), W=W, v=v).output
    np.testing.assert_array_equal(got, 2 * W @ v + v)


def test_minus_number_is_a_constant_not_a_negation() -> None:
    g = parse("y = -2*x")
    assert [n.op for n in g.nodes if n.kind == "op"] == ["mul"]
    assert [n.value for n in g.nodes if n.kind == "const"] == [-2.0]
    g = parse("y = -x")
    assert [n.op for n in g.nodes if n.kind == "op"] == ["neg"]


# --- meaning ------------------------------------------------------------------------------

def test_inputs_are_ordered_by_first_appearance() -> None:
    assert parse("a = z*y + x\nb = w + a").input_names == ("z", "y", "x", "w")


def test_literal_assignment_declares_an_input_with_a_default() -> None:
    g = parse("x = 2.0\nW = [[1, 2], [3, 4]]\nv = -1\ny = x * sum(W) * v")
    assert g.input_names == ("x", "W", "v")
    assert all(g.nodes[i].kind == "input" for i in g.inputs)
    assert evaluate(g).output == -20.0
    assert evaluate(g, x=1.0).output == -10.0                    # --at overrides
    assert evaluate(g, W=[[0, 0], [0, 1]], v=2).output == 4.0
    assert cg.gradients(g)["x"] == -10.0                          # defaults are inputs: gradients


def test_missing_input_value_is_an_input_error_naming_it() -> None:
    with pytest.raises(cg.InputError, match=r"\by\b"):
        evaluate(parse("z = x*y"), x=1.0)
    with pytest.raises(cg.InputError, match="unknown input 'q'"):
        evaluate(parse("z = x*y"), x=1.0, y=2.0, q=3.0)


def test_a_name_that_is_not_an_input_says_what_it_is() -> None:
    g = parse("c = a*b\nd = c + 1")
    with pytest.raises(cg.InputError, match=r"unknown input 'bb' \(did you mean b\?\)"):
        evaluate(g, a=1.0, bb=2.0)
    with pytest.raises(cg.InputError, match=r"'c' \(c is computed by the program, not an input\)"):
        evaluate(g, a=1.0, b=2.0, c=3.0)


def test_reassignment_reads_the_newest_version() -> None:
    g = parse("c = x + 1\nc = c * 2\nd = c + x")
    assert g.input_names == ("x",)
    assert evaluate(g, x=3.0).output == 11.0
    assert len(g.versions["c"]) == 2


@pytest.mark.parametrize("op, want", [("+=", 5.0 + 2.0 * 3.0), ("-=", 5.0 - 6.0),
                                      ("*=", 30.0), ("/=", 5.0 / 6.0)])
def test_augmented_assignment(op: str, want: float) -> None:
    src = f"c = x + 2\nc {op} 2*x"
    assert value(src, x=3.0) == pytest.approx(want, rel=1e-15)
    # c op= e  means  c = c op (e)
    assert parse(src) == parse(f"c = x + 2\nc = c {op[0]} (2*x)")


def test_augmented_assignment_of_an_input_reads_the_input() -> None:
    g = parse("x += 1")
    assert g.input_names == ("x",)
    assert evaluate(g, x=2.0).output == 3.0


def test_output_default_and_by_name() -> None:
    assert parse(HOMEWORK).output_name == "w"
    g = parse(HOMEWORK, output="a")
    assert g.output_name == "a"
    assert evaluate(g, x=2, y=3, z=1).output == 7.0
    assert cg.gradients(g, x=2, y=3, z=1)["x"] == 3.0
    assert parse(HOMEWORK).with_output("b") == parse(HOMEWORK, output="b")


def test_bare_expression_as_last_line_is_the_output() -> None:
    g = parse("a = x*2\na + 1")
    assert evaluate(g, x=1.0).output == 3.0


def test_default_leaky_relu_slope() -> None:
    assert value("y = leaky_relu(x)", x=-2.0) == pytest.approx(-0.02, rel=1e-15)
    assert parse("y = leaky_relu(x)") == parse("y = leaky_relu(x, 0.01)")


def test_no_eval_of_user_text() -> None:
    for module in ("lexer", "parser"):
        text = (REPO / "compgraph" / f"{module}.py").read_text(encoding="utf-8")
        assert not re.search(r"(?<![\w.])(eval|exec|compile)\s*\(|literal_eval", text), module
    with pytest.raises(ParseError):
        parse("y = __import__('os')")


# --- bad programs ---------------------------------------------------------------------------

# (program, exact class, line, column, a fragment of the message)
BAD = [
    ("y = rleu(x)", ParseError, 1, 5, "unknown function 'rleu'"),
    ("y = foo(x)", ParseError, 1, 5, "known functions: abs"),
    ("a = 1\ny = relu(x, 2)", ParseError, 2, 5, "relu() takes 1 argument, got 2"),
    ("y = mse(x)", ParseError, 1, 5, "mse() takes 2 arguments, got 1"),
    ("y = leaky_relu()", ParseError, 1, 5, "takes 1 or 2 arguments, got 0"),
    ("y = leaky_relu(x, 1, 2)", ParseError, 1, 5, "takes 1 or 2 arguments, got 3"),
    ("y = (x + 1", ParseError, 1, 5, "never closed"),
    ("y = relu(x", ParseError, 1, 9, "'(' is never closed"),
    ("y = relu (x", ParseError, 1, 10, "'(' is never closed"),
    ("y = relu(x]", ParseError, 1, 11, "unmatched ']' (the open bracket is '(')"),
    ("y = x + 1)", ParseError, 1, 10, "unmatched ')'"),
    ("y = [1, 2", ParseError, 1, 5, "never closed"),
    ("y = 1]", ParseError, 1, 6, "unmatched ']'"),
    ("y = (x]", ParseError, 1, 7, "unmatched ']'"),
    ("y = x +", ParseError, 1, 7, "dangling operator '+'"),
    ("y = x *\nz = 2", ParseError, 1, 7, "dangling operator '*'"),
    ("a = 1\n\ny = 2 ** ", ParseError, 3, 7, "dangling operator '**'"),
    ("y = * x", ParseError, 1, 5, "expected a number, a name or '('"),
    ("y =", ParseError, 1, 4, "expected an expression"),
    ("", ParseError, 1, 1, "empty program"),
    ("  \n# only a comment\n;;", ParseError, 1, 1, "empty program"),
    ("x*y = 3", ParseError, 1, 1, "left of '=' must be a single name"),
    ("a = 1\n2 = x", ParseError, 2, 1, "single name"),
    ("y == x", ParseError, 1, 3, "'=='"),
    ("y = x == 2", ParseError, 1, 7, "'=='"),
    ("y = x < 2", ParseError, 1, 7, "comparison"),
    ("y = x $ 2", ParseError, 1, 7, "unexpected character '$'"),
    ("y = 'x'", ParseError, 1, 5, "strings are not part of the language"),
    ("y = [[1, 2], [3]]", ParseError, 1, 14, "ragged array literal"),
    ("y = [[1, 2], 3]", ParseError, 1, 5, "ragged array literal"),
    ("y = [x, 2]", ParseError, 1, 6, "numbers only"),
    ("y = []", ParseError, 1, 5, "empty array literal"),
    ("y = 2x", ParseError, 1, 5, "write 2*x"),
    ("x + 1\ny = x", ParseError, 1, 1, "value is unused"),
    ("y = ()", ParseError, 1, 5, "empty parentheses"),
    ("y = (x, 1)", ParseError, 1, 7, "tuples are not part"),
    ("y = x y", ParseError, 1, 7, "expected an operator"),
    ("y = x = 2", ParseError, 1, 1, "single name"),
    ("y = x^2", ParseError, 1, 6, "for a power write **"),
    ("y = 1_ + x", ParseError, 1, 6, "a '_' in a number goes between two digits"),
    ("y = 1__0*x", ParseError, 1, 6, "between two digits"),
    ("y = 1_.5*x", ParseError, 1, 6, "between two digits"),
    ("y = 1._5*x", ParseError, 1, 7, "between two digits"),
    ("y = 1e1__0*x", ParseError, 1, 8, "between two digits"),
    # an unclosed bracket, then a new statement: the bracket is the mistake, not line 3
    ("x = 1\ny = sin(x + 2\nz = y*2", ParseError, 2, 8, "'(' is never closed"),
    ("a = (x + 1\nb = 2", ParseError, 1, 5, "'(' is never closed"),
    ("W = [1, 2\nb += 3", ParseError, 1, 5, "'[' is never closed"),
    ("y = relu(sin(x)\n  + 1\nz = y", ParseError, 1, 9, "'(' is never closed"),
    ("y = (x +\nz = 2", ParseError, 1, 5, "'(' is never closed"),
]


# Keyword arguments, constant parameters and subscripts (checked through the API only: the
# command line's handling of a ParseError is the same for all and tested above).
BAD_CALLS = [
    ("y = softmax(z, dim=0)", ParseError, 1, 16, "softmax() has no parameter 'dim'; its keyword: axis"),
    ("y = relu(x, axis=0)", ParseError, 1, 13, "relu() takes no keyword arguments"),
    ("y = sum(x, 0)", ParseError, 1, 5, "give axis by keyword, as in sum(x, axis=0)"),
    ("y = max(x, 0)", ParseError, 1, 5, "elementwise maximum of two values: maximum(a, b)"),
    ("y = softmax(z, axis=w)", ParseError, 1, 21, "axis is a constant"),
    ("y = softmax(z, axis=1.5)", ParseError, 1, 21, "must be an integer, not 1.5"),
    ("y = sum(z, axis=[0, 0])", ParseError, 1, 17, "an axis appears twice"),
    ("y = softmax(z, axis=)", ParseError, 1, 16, "axis= needs a value"),
    ("y = softmax(axis=0, z)", ParseError, 1, 21, "positional argument after a keyword"),
    ("y = sum(x, axis=0, axis=1)", ParseError, 1, 20, "axis= is given twice"),
    ("y = softmax(z, axis=0", ParseError, 1, 12, "'(' is never closed"),
    ("y = reshape(x)", ParseError, 1, 5, "reshape() needs its shape (a constant list"),
    ("y = reshape(x, [2, 3], [6])", ParseError, 1, 5, "reshape() takes 2 arguments, got 3"),
    ("y = reshape(x, [2, 0])", ParseError, 1, 16, "sizes of a shape are positive"),
    ("y = reshape(x, [2, -1, -1])", ParseError, 1, 16, "at most one -1"),
    ("y = reshape(x, s)", ParseError, 1, 16, "shape is a constant"),
    ("y = reshape(x, [2, 3], shape=[6])", ParseError, 1, 24, "shape is given twice"),
    ("y = x[1.5]", ParseError, 1, 7, "an index is a whole number, not 1.5"),
    ("y = x[a]", ParseError, 1, 7, "constant integers and slices"),
    ("y = x[]", ParseError, 1, 7, "an empty place in the index"),
    ("y = x[0,]", ParseError, 1, 9, "an empty place in the index"),
    ("y = x[0 1]", ParseError, 1, 9, "expected ',', ':' or ']'"),
    ("y = x[1:2:3:4]", ParseError, 1, 12, "at most two ':'"),
    ("y = x[::0]", ParseError, 1, 6, "a slice step cannot be zero"),
    ("y = x[0", ParseError, 1, 6, "'[' is never closed"),
    ("y = x[" + "1" + "0" * 400 + "]", ParseError, 1, 7, "an index of 401 digits is beyond"),
    ("y = x[:, -" + "9" * 5000 + "]", ParseError, 1, 10, "an index of 5000 digits is beyond"),
    ("y = x[0]]", ParseError, 1, 9, "unmatched ']'"),
    ("y = x : 2", ParseError, 1, 7, "expected an operator"),
]


@pytest.mark.parametrize("src, cls, line, column, fragment", BAD + BAD_CALLS,
                         ids=[b[0] for b in BAD + BAD_CALLS])
def test_bad_program(src: str, cls: type, line: int, column: int, fragment: str) -> None:
    with pytest.raises(CompgraphError) as info:
        parse(src)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, ValueError)                     # ParseError is also a ValueError
    assert (err.line, err.column) == (line, column), str(err)
    assert fragment in err.message, err.message
    # the message carries the place and a caret line under it
    text = str(err)
    assert text.startswith(f"line {line}, column {column}: ")
    lines = text.split("\n")
    caret = lines[-1]
    assert caret.strip() and set(caret.strip()) == {"^"}
    assert caret.index("^") - 2 == column - 1              # two spaces of indent, then the column
    source_line = src.split("\n")[line - 1] if src else ""
    assert lines[-2] == "  " + source_line.replace("\t", " ")


def test_underscores_in_numbers_follow_python() -> None:
    for text in ("1_000", "1_000.5", "1_0e1_0", ".5_5", "1.", "0_0"):
        g = parse(f"y = {text} * x")
        assert g.nodes[0].value == float(text), text   # Python reads them the same way


def test_a_bracket_may_still_span_lines() -> None:
    g = parse("y = (x\n  + 1)\nz = relu(\n  y)\np = softmax(z,\n  axis=0)")
    assert g.output_name == "p"


def test_unknown_function_suggests_and_lists() -> None:
    with pytest.raises(ParseError) as info:
        parse("y = sigmod(x)")
    assert "did you mean 'sigmoid'" in info.value.message
    for name in ("relu", "tanh", "sigmoid", "mse", "bce", "leaky_relu"):
        assert name in info.value.message


def test_unknown_output_name() -> None:
    with pytest.raises(ParseError) as info:
        parse("a = x*2\nb = a + 1", output="q")
    err = info.value
    assert type(err) is ParseError
    assert "'q'" in str(err) and "a" in str(err) and "b" in str(err)
    # the output is not a place in the program text: no line or column to point at
    assert err.line is None and err.column is None


def test_parse_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        parse(b"y = x")  # type: ignore[arg-type]


CLI_BAD = [(src, line, column) for src, cls, line, column, _ in BAD if src.strip()]


@pytest.mark.parametrize("src, line, column", CLI_BAD, ids=[c[0] for c in CLI_BAD])
def test_command_line_reports_bad_program_without_traceback(src: str, line: int,
                                                            column: int) -> None:
    proc = subprocess.run([sys.executable, "-m", "compgraph", "eval", src, "--at", "x=1"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.rstrip("\n").split("\n")
    assert len(lines) == 3, proc.stderr                    # one message + the caret excerpt
    assert lines[0].startswith(f"error: line {line}, column {column}: ")
    assert set(lines[2].strip()) == {"^"}


@pytest.mark.parametrize("args", [
    ["eval", ""],
    ["eval", "a = 1\nb = a", "--output", "q"],
    ["eval", "   "],
])
def test_command_line_bad_program_without_place(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "compgraph", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")


# --- keyword arguments, parameters and subscripts --------------------------------------------

def test_keyword_defaults_and_positional_shapes_make_equal_graphs() -> None:
    assert parse("p = softmax(z)") == parse("p = softmax(z, axis=-1)")
    assert parse("p = softmax(z, axis=-1.0)") == parse("p = softmax(z, axis=-1)")
    assert parse("s = sum(W, axis=[1])") == parse("s = sum(W, axis=1)")
    assert parse("s = sum(W)") != parse("s = sum(W, axis=0)")
    assert parse("r = reshape(x, [2, 3])") == parse("r = reshape(x, shape=[2, 3])")
    assert parse("p = softmax(z,\n    axis=0)") == parse("p = softmax(z, axis=0)")


@pytest.mark.parametrize("expr, want", [
    ("x[0]", 1.0), ("x[-1]", 4.0), ("-x[1]**2", -4.0), ("2*x[2] + 1", 7.0), ("x[1]**x[0]", 2.0),
    ("(x + 1)[0]", 2.0), ("sum(x[1:3])", 5.0), ("x[::-1][0]", 4.0), ("x[::2][1]", 3.0),
    ("sum(softmax(x))", 1.0),
    ("reshape(x, [2, 2])[1, 0]", 3.0), ("reshape(x, [2, 2])[:, 1][0]", 2.0),
    ("[10, 20, 30][1] * x[0]", 20.0), ("max(x) - min(x, axis=0)", 3.0), ("x [0]", 1.0),
])
def test_subscripts_bind_tightest(expr: str, want: float) -> None:
    assert value(f"y = {expr}", x=np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(want, rel=1e-15)


def test_a_subscript_never_makes_an_input_default() -> None:
    g = parse("x = [1, 2, 3][0]\ny = 2*x")
    assert g.input_names == ()
    assert evaluate(g).output == 2.0


def test_two_thousand_nested_calls_with_keywords_and_subscripts() -> None:
    depth = 2000
    g = parse("y = " + "softmax(" * depth + "x" + ", axis=0)" * depth)
    v = evaluate(g, x=[1.0, 2.0])
    assert len([n for n in g.nodes if n.op == "softmax"]) == depth
    g = parse("y = " + "(" * depth + "x" + ")[::-1]" * depth + "[0]")
    assert evaluate(g, x=[1.0, 2.0]).output == 1.0                      # an even number of flips
    np.testing.assert_array_equal(cg.gradients(g, x=[1.0, 2.0])["x"], [1.0, 0.0])
    assert v.output.shape == (2,)


# (program, point, column, fragment): evaluation errors, with the caret under the operation
BAD_OPERANDS = [
    ("y = softmax(z, axis=1)", {"z": [1, 2, 3]}, 5, "softmax over axis 1: the operand has shape (3,)"),
    ("y = sum(W, axis=2)", {"W": [[1, 2]]}, 5, "its axes are 0, 1 (or -2, -1 from the end)"),
    ("y = logsumexp(z, axis=-2)", {"z": [1, 2]}, 5, "logsumexp over axis -2"),
    ("y = 2*max(z, axis=0)", {"z": 1.0}, 7, "a scalar has no axes"),
    ("y = softmax(z)", {"z": 1.0}, 5, "softmax needs an array"),
    ("y = z[3]", {"z": [1, 2, 3]}, 5, "index 3 is out of range for axis 0 of shape (3,)"),
    ("y = 1 + z[-4]", {"z": [1, 2, 3]}, 9, "its indices are 0..2 (or -3..-1 from the end)"),
    ("y = z[0, 1]", {"z": [1, 2, 3]}, 5, "[0, 1] indexes 2 axes, but the operand has shape (3,)"),
    ("y = z[0]", {"z": 2.0}, 5, "cannot index a scalar"),
    ("y = z[2:1]", {"z": [1, 2, 3]}, 5, "[2:1] selects no elements"),
    ("y = reshape(z, [2, 2])", {"z": [1, 2, 3]}, 5, "cannot reshape an operand of shape (3,) "
                                                     "(3 elements) into [2, 2] (4 elements)"),
    ("y = reshape(z, [2, -1])", {"z": [1, 2, 3]}, 5, "(a multiple of 2 elements)"),
    ("y = outer(z, 2)", {"z": [1, 2]}, 5, "outer takes two vectors"),
    ("y = cross_entropy(z, t)", {"z": [1, 2], "t": [1, 0, 0]}, 5,
     "the prediction z has shape (2,) and the target t has shape (3,)"),
    ("y = cross_entropy(z, t)", {"z": 1.0, "t": 1.0}, 5, "the logits are a scalar"),
]


@pytest.mark.parametrize("src, point, column, fragment", BAD_OPERANDS, ids=[b[0] for b in BAD_OPERANDS])
def test_bad_operands_are_evaluation_errors_at_the_spot(src: str, point: dict, column: int,
                                                        fragment: str) -> None:
    with pytest.raises(cg.EvaluationError) as info:
        evaluate(parse(src), point)
    err = info.value
    assert (err.line, err.column) == (1, column), str(err)
    assert fragment in err.message, err.message
    assert str(err).split("\n")[-1].strip("^ ") == ""


def test_call_text_writes_what_the_parser_reads() -> None:
    """compgraph.ops.call_text (for printers of programs) round-trips every parameter kind."""
    from compgraph.ops import OPS, call_text

    cases = [("sum", {"axis": [0, -1]}), ("mean", {}), ("softmax", {"axis": 0}),
             ("log_softmax", {}), ("logsumexp", {"axis": 1}), ("max", {"axis": -1}),
             ("reshape", {"shape": [3, -1]}), ("index", {"index": (slice(None), 1)}),
             ("index", {"index": (slice(1, None, -2), -1)}), ("index", {"index": 0})]
    for name, params in cases:
        p = cg.Program()
        x = p.input("x")
        p.let("y", p.apply(name, x, **params))
        stored = dict(OPS[name].bind(params))
        text = call_text(name, ["x"], stored)
        assert parse(f"y = {text}") == p.graph(), text


def test_builder_parameters_and_their_errors() -> None:
    from compgraph import builder as cgb

    p = cg.Program()
    x, W = p.inputs("x W")
    p.let("y", cgb.sum(W[:, 1], axis=0) + cgb.reshape(x, [2, 2])[1, 0] + cgb.max(x[1:3]))
    assert p.graph() == parse("y = sum(W[:, 1], axis=0) + reshape(x, [2, 2])[1, 0] + max(x[1:3])")
    with pytest.raises(TypeError, match="no parameter 'dim'; its keyword: axis"):
        cgb.softmax(x, dim=0)
    with pytest.raises(ValueError, match="must be an integer"):
        cgb.sum(x, axis=0.5)
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(x)
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
