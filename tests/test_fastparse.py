"""The parser's fast path (compgraph.fastparse) against the full parser.

Whatever the fast path accepts, the full parser must parse to the same graph: the same
nodes in the same numbering, the same spans, statements, values (the sign of a zero
included), output and inputs. Whatever it does not, it must decline, so that parse()
gives the full parser's result or error. Programs come from a grammar that covers the
whole language (def blocks, subscripts, keyword arguments, arrays, comments, line
continuations, brackets across lines), with mutations that make most of them invalid.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compgraph.fastparse as fastparse
from compgraph import ParseError, parse
from compgraph.fastparse import parse_common
from compgraph.ops import FUNCTIONS
from compgraph.parser import parse_full

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def same_graph(a, b) -> None:
    assert a == b
    assert list(a.nodes) == list(b.nodes)
    assert [n.span for n in a.nodes] == [n.span for n in b.nodes]
    assert [repr(n.value) for n in a.nodes] == [repr(n.value) for n in b.nodes]
    assert [(s.name, s.node, s.span) for s in a.bindings] == \
        [(s.name, s.node, s.span) for s in b.bindings]
    assert (a.output, a.output_name, a.source, a.input_names, a.latest) == \
        (b.output, b.output_name, b.source, b.input_names, b.latest)


def outcome(parser, source: str, output: str | None = None):
    try:
        return parser(source, output)
    except ParseError as exc:
        return str(exc)


def check(source: str, output: str | None = None) -> bool:
    """The fast path's graph equals the full parser's, or it declined; parse() agrees
    with the full parser either way. Returns whether the fast path took the program."""
    fast = parse_common(source, output)
    full = outcome(parse_full, source, output)
    if fast is not None:
        assert not isinstance(full, str), f"the fast path accepted a program the full parser refuses: {full}"
        same_graph(fast, full)
    got = outcome(parse, source, output)
    if isinstance(full, str):
        assert got == full
    else:
        same_graph(got, full)
    return fast is not None


# --- programs the fast path takes ------------------------------------------------------

TAKEN = [
    "y = 2*x",
    "a = x*y + z, b = a*(x + x), w = a*b + b",
    "a = x*y+z; b = a*(x+x); w = a*b+b;",
    "x = 2.0\ny = 3*x\nx = 4.0\nz = x*y",
    "x = -2.0\ny = (3)\nz = -(-(0))*x + y",
    "y = -0.0*x\nz = - 0*y + --0 - -x",
    "y = 2**-x**-2\nz = -x**2 + (-x)**2 + 2**3**x",
    "y = x / 2 @ w - 1e-3 * .5 + 3. - 1E+2",
    "s = sum(x) + mean(x*x)\nt = softmax(s) + leaky_relu(s, 0.1) + maximum(s, t0)",
    "v = relu(x)\nrelu = 3*v\nw = relu + relu(v)",
    "y = f0 * x   # a comment, (with a bracket\n# only a comment\n\n  z = y - 1  \t",
    "y = x + \\\n    1\nz = tanh(\n    y\n)",
    "c = x\nc += 1\nc -= c\nc *= 2\nc /= y",
    "b = 1\nb += 0+b\ny = z\nz *= y",
    "y = x\nz = y\nw = z\nx = w*2\nv = x + y + z + w",
    "y = (((x)))\nz = ((x + y) * (y - x))",
    "y = x\r\nz = y*y\r\n",
    "y = x,, z = 2;;\n;",
    "y = 1_000*x + 0_7 - 1e1_0",
    "y = 0.1234567*x + 0.123456*x - 0.123456789 + 0.12345678 - 0.1234567890 + 12345678",
    "y = softplus(x) + log_softmax(x) + logsumexp(x) + cross_entropy(x, y) + gelu_tanh(x)",
    "abcdefgh = 1.0\nabcdefghi = abcdefgh*2\nabcdefghij = abcdefghi + abcdefgh\n"
    "long_name_one = abcdefghij*long_name_two + abcdefgi\nabcdefgh = long_name_one",
    "y = exp(log(sigmoid(tanh(x)))) + abs(sin(cos(x))) - sqrt(softplus(x))",
]


@pytest.mark.parametrize("source", TAKEN)
def test_the_fast_path_takes_the_common_statements(source: str) -> None:
    assert check(source)


def test_an_output_by_name() -> None:
    for output in ("a", "b", "x", "w"):
        assert check("a = x*y + z, b = a*(x + x), w = a*b + b", output)
    assert not check("a = x*y", "nope")


DECLINED = [
    "y = 2x", "y = x[0]", "y = [1, 2]*x", "y = sum(x, axis=0)", "y = leaky_relu(x)",
    "y = reshape(x, [2, 3])", "c += 1", "b += 0+b", "y = x == 2", "y = x ^ 2", "y = 'x'", "x*y",
    "y = x\nx*y", "", "# nothing", "y = ", "y = x +", "y = (x", "y = x)", "y = f(x)",
    "y = relu()", "y = relu(x, x)", "y = maximum(x)", "def = 2", "y = return*2",
    "def f(x):\n    return 2*x\ny = f(u)", "y = x.y", "y = 1.2.3", "y = 1__000*x", "y = 1_*x",
    "ŷ = x", "y = x # ŷ\nz = ŷ", "y = x; z = ", "y = (x, x)",
    "y = x = 2", "y = x *= 2", "y = 2 x", "y = x \\ 2", "y = x;\n)",
    "y = max(x, 0)", "y = x**=2", "y = x +\n 2", "y = softplus2(x)", "y = softplu(x)",
]


@pytest.mark.parametrize("source", DECLINED)
def test_anything_else_goes_to_the_full_parser(source: str) -> None:
    assert not check(source)


def test_parse_takes_the_fast_path_for_long_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long programs of common statements never reach the full parser; short ones, and
    long ones with anything else in them, do."""
    import compgraph.parser as parser_module

    lines = "\n".join(f"v{k} = relu(v{k - 1}) * x - 0.5" for k in range(1, 300))
    long_program = "v0 = x\n" + lines
    assert len(long_program) >= parser_module.FAST_FROM
    full = parse_full(long_program)

    class Refused(parser_module._Parser):
        def __init__(self, source: str) -> None:
            raise AssertionError("the full parser was asked")

    monkeypatch.setattr(parser_module, "_Parser", Refused)
    same_graph(parse(long_program), full)
    with pytest.raises(AssertionError, match="full parser was asked"):
        parse("y = 2*x")
    with pytest.raises(AssertionError, match="full parser was asked"):
        parse(long_program + "\nz = v1[0]")


def test_the_name_table_is_a_mapping() -> None:
    """The NumPy hash table of names against a dict, through growth and probing."""
    rng = np.random.default_rng(0)
    table = fastparse._NameTable(bits=4)
    reference: dict[int, int] = {}
    for round_ in range(60):
        keys = np.unique(rng.integers(1, 5000, size=rng.integers(1, 200)).astype(np.uint64))
        nodes = rng.integers(0, 10**6, size=len(keys))
        table.put(keys, nodes)
        reference.update(zip(keys.tolist(), nodes.tolist()))
        probe = rng.integers(1, 6000, size=300).astype(np.uint64)
        assert table.get(probe).tolist() == [reference.get(k, -1) for k in probe.tolist()]
    assert table.size == len(reference)


def test_statements_spanning_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [f"v{k} = 0.5*(v{k - 1} + x) - relu(v{max(0, k - 7)})" for k in range(1, 400)]
    source = "v0 = -x\n" + "\n".join(lines) + "\n\n;\n# shapes new in a later chunk\nx = 2.0\nw = x*v399"
    monkeypatch.setattr(fastparse, "CHUNK", 97)
    assert check(source)
    assert check(source, "v17")


# --- generated programs -----------------------------------------------------------------

NAMES = ["x", "y", "z", "a", "b", "W", "v1", "_t", "e", "sum", "relu", "xx", "weights_1",
         "weights_2", "weights", "def"]
NUMBERS = ["0", "2", "0.5", "1e-3", "1E+2", ".5", "3.", "007", "1_0", "2x", "1e", "10"]
FUNCS = sorted(FUNCTIONS) + ["foo"]
SPACE = st.sampled_from(["", "", "", " ", "  ", "\t", " \\\n ", "\n "])
# The common statements only: what the fast path is for (programs from these are mostly
# taken, declined for an unlucky combination such as a call with the wrong arity).
COMMON = dict(names=NAMES[:-1], numbers=["0", "2", "0.5", "1e-3", "1E+2", ".5", "3.", "007", "10"],
              funcs=[f for f in FUNCS if f not in ("reshape", "foo")], space=st.sampled_from(
                  ["", "", " ", "  ", "\t"]), rare=False)
ANY = dict(names=NAMES, numbers=NUMBERS, funcs=FUNCS, space=SPACE, rare=True)


@st.composite
def expressions(draw, depth: int = 0, v: dict = ANY) -> str:
    s = draw(v["space"])
    choice = draw(st.integers(0, (9 if v["rare"] else 8) if depth < 3 else 2))
    if choice == 0:
        return s + draw(st.sampled_from(v["numbers"]))
    if choice in (1, 2):
        return s + draw(st.sampled_from(v["names"]))
    if choice == 3:
        return s + "(" + draw(expressions(depth + 1, v)) + draw(v["space"]) + ")"
    if choice == 4:
        return s + draw(st.sampled_from(["-", "+", "--", "- "])) + draw(expressions(depth + 1, v))
    if choice == 5:
        f = draw(st.sampled_from(v["funcs"]))
        arity = FUNCTIONS[f].arity if f in FUNCTIONS and not v["rare"] else draw(st.integers(0, 3))
        args = [draw(expressions(depth + 1, v)) for _ in range(arity)]
        if v["rare"] and draw(st.integers(0, 5)) == 0:
            args.append(draw(st.sampled_from(["axis=0", "axis = -1", "shape=[2, 3]", "[1, 2]"])))
        sep = draw(st.sampled_from([",", ", ", ",\n   "]))
        return s + f + "(" + sep.join(args) + draw(v["space"]) + ")"
    if choice == 9:
        return draw(expressions(depth + 1, v)) + draw(st.sampled_from(["[0]", "[:, 1]", "[1:2]"]))
    op = draw(st.sampled_from(["+", "-", "*", "/", "@", "**", " ** ", " + ", " * "]))
    return draw(expressions(depth + 1, v)) + draw(v["space"]) + op + draw(expressions(depth + 1, v))


@st.composite
def programs(draw, v: dict = ANY) -> str:
    out = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 12 if v["rare"] else 11))
        name = draw(st.sampled_from(v["names"]))
        if kind <= 7:
            out.append(f"{name} = {draw(expressions(0, v))}")
        elif kind == 8:
            out.append(f"{name} {draw(st.sampled_from(['+=', '-=', '*=', '/=']))} "
                       f"{draw(expressions(0, v))}")
        elif kind == 9:
            out.append(f"{name} = {draw(st.sampled_from(v['numbers']))}")
        elif kind == 10:
            out.append(draw(st.sampled_from(["# a comment", "", "   ", "def f(u):\n    return u*2",
                                             "y = f(x)"] if v["rare"] else ["# a (comment", "", " "])))
        elif kind == 11:
            out.append(f"{name} = -{draw(st.sampled_from(v['numbers']))}")
        else:
            out.append(draw(expressions(0, v)))
        out.append(draw(st.sampled_from(["\n", "\n", "\n", "; ", ", ", "  # note\n", "\n\n"])))
    source = "".join(out)
    if v["rare"] and draw(st.integers(0, 3)) == 0:  # a mutation: most programs become invalid
        k = draw(st.integers(0, len(source)))
        source = source[:k] + draw(st.sampled_from(["", "(", ")", "=", ",", "*", "\n", "x", "2", "#"])) \
            + source[k + draw(st.integers(0, 1)):]
    return source


@SETTINGS
@given(programs())
def test_generated_programs(source: str) -> None:
    check(source)


@SETTINGS
@given(programs(COMMON))
def test_generated_common_programs(source: str) -> None:
    check(source)


@SETTINGS
@given(programs(COMMON))
def test_generated_programs_a_line_per_chunk(source: str) -> None:
    """Names bound in one chunk and read in later ones, and shapes new in later chunks."""
    chunk = fastparse.CHUNK
    fastparse.CHUNK = 8
    try:
        check(source)
    finally:
        fastparse.CHUNK = chunk


@SETTINGS
@given(programs(COMMON), st.sampled_from(["x", "y", "a", "W", "sum"]))
def test_generated_programs_with_an_output(source: str, output: str) -> None:
    check(source, output)


def test_the_generators_reach_both_paths() -> None:
    """The generated programs exercise the fast path, not only the full parser."""
    taken: dict[str, list[bool]] = {"common": [], "any": []}

    @settings(max_examples=120, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(programs(COMMON), programs(ANY))
    def run(common: str, anything: str) -> None:
        taken["common"].append(parse_common(common) is not None)
        taken["any"].append(parse_common(anything) is not None)

    run()
    assert sum(taken["common"]) > 0.6 * len(taken["common"])
    assert 0.02 * len(taken["any"]) < sum(taken["any"]) < 0.5 * len(taken["any"])
