"""The fuzzing harness of issue 8: random programs, and the check that compgraph answers
each one with a result or a documented error, in time.

Programs come from two sources:

- a grammar-based generator covering the whole language: statements and augmented
  assignments, every operator and function of ``compgraph.ops.OPS`` with its arity (and now
  and then a wrong one) and its parameters (``axis=``, ``reshape``'s shape), subscripts,
  ``def`` blocks (indented or on one line) and calls of them, array literals, numbers of
  every form, comments, line continuations, and the ``;`` ``,`` newline separators;
- mutations of valid programs (generated ones and the examples): byte flips, deletions,
  insertions of tokens and of Unicode (combining marks, RTL and zero-width marks, emoji,
  control characters, lone surrogates), long names, deep nesting, huge and non-finite
  numbers (``1e999``, 400 digits), and names such as ``e``, ``pi``, ``sum``, ``o``, ``L``,
  ``lambda`` and ``__class__``.

:func:`check` runs a program through ``parse``, then, for several sets of inputs (scalars,
arrays of fitting and non-fitting shapes, huge, negative and non-finite values, Python
integers too large for a float, malformed values), ``evaluate``, ``backward``, ``tangents``,
``local_derivatives``, ``paths`` and ``check_nodes`` (for the explaining views) and
``to_dot`` in every view. Each call must return or raise a
:class:`~compgraph.errors.CompgraphError` (a :class:`~compgraph.errors.ParseError` only from
``parse``: the later stages are given a graph that parsed); anything else is a *crash*, and
a program that takes longer than the time limit is a *hang*.

``scripts/fuzz.py`` runs it at scale and prints the table of outcomes; the suite runs a small
seeded budget and replays ``tests/fuzz_regressions.jsonl``, every crash found so far.

>>> program = generate(random.Random(3))
>>> result = check(program.text, seed=program.seed)
>>> result.outcome in OUTCOMES
True
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

import compgraph as cg
from compgraph.drawing import to_dot
from compgraph.drawing.dot import VIEWS
from compgraph.errors import CompgraphError, ParseError
from compgraph.ops import BINARY, FUNCTIONS

REPO = Path(__file__).resolve().parents[1]
REGRESSIONS = REPO / "tests" / "fuzz_regressions.jsonl"

# Headline outcomes of a program, in the order the table prints them.
OUTCOMES = ("ok", "ParseError", "InputError", "EvaluationError", "RenderError",
            "CompgraphError", "disagree", "crash", "hang")
STAGES = ("parse", "evaluate", "backward", "tangents", "local_derivatives", "paths",
          "check_nodes", "to_dot", "dot")

# Crashes raised inside these modules belong to the engine (issue 8 items 4-6, branch
# engine-safe); the suite tolerates them in one test only, until that branch is merged.
ENGINE_MODULES = ("compgraph/ops.py", "compgraph/evaluate.py", "compgraph/differentiate.py")

# --- the grammar ------------------------------------------------------------------------

NAMES = ("x", "y", "z", "w", "a", "b", "c", "h", "s", "W", "W1", "b1", "W2", "yhat", "y_hat",
         "C", "L", "o", "e", "pi", "sum", "relu", "lambda", "__class__", "None", "True",
         "_", "x2", "ŷ", "α", "θ_1", "Δ")
SPECIAL_NAMES = ("e", "pi", "sum", "o", "L", "lambda", "__class__", "__init__", "None",
                 "print", "exp", "nan", "inf", "import", "self", "_", "__", "ŷ", "ﬁ", "𝑥")
NUMBERS = ("0", "1", "2", "3", "7", "10", "0.5", ".5", "2.", "3.25", "1e3", "1E-3",
           "2.5e+10", "1e-8", "0e0", "0.0", "1_000", "1_0.2_5", "6.02e23", "007", "1e308",
           "1e999", "1e-400", "9" * 30, "1" + "0" * 400)
BINARY_SYMBOLS = tuple(sorted(BINARY))
AUGMENTED = ("+=", "-=", "*=", "/=")
SEPARATORS = ("\n", "\n", "\n", ";", "; ", ",", ", ", "\n\n", " ;\n", "\r\n")
COMMENTS = ("# a comment", "#", "# x = 1, y = (", "# ŷ → ∂C/∂w", "#\t# #")

# User text that DOT and SVG must carry escaped (titles here; tests/test_escaping.py uses
# it in every surface).
HOSTILE = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>",
    '"]; x [label="pwned', '"]; x [label=<<b>b</b>>]; y [label="', "<<b>html</b>>",
    "<b>bold</b> <i>it</i> <br/> <font color='red'>r</font>",
    "<table><tr><td>cell</td></tr></table>", "</font></td></tr></table>>",
    "&nbsp;", "&bogus;", "&amp;", "&#60;", "&#x3c;script&#x3e;", "&lt;", "a & b", "&",
    "line 1\nline 2", "\n", "a\r\nb", "a\rb", "a\u2028b",
    "\t", "a\tb", "\\", "a\\", "\\N \\G \\l \\n \\r \\E \\T \\H \\L", '\\"', '"', "'", '"""',
    "\x00", "a\x01b", "\x1b[31mred", "\x7f", "\x85", "\x0b\x0c", "\ufffe", "\uffff", "\udcff",
    "]", "]]", "]]]", " ] ", "[", "[]", "]]>", "<![CDATA[x]]>", "-->", "<!--",
    "<?xml version='1.0'?>", "x]", "]x",
    "😀", "👨\u200d👩\u200d👧", "\u200f\u202eevil\u202c", "שלום", "مرحبا", "\u0302", "e\u0301",
    "javascript:alert(1)", "data:text/html,x", "{", "}", ";", ":", "a:b:c", "->", "--",
    "digraph", "node", "subgraph", "strict", "x" * 300, " ", "  leading", "trailing  ",
]
TOKENS = ("(", ")", "[", "]", ",", ";", "=", "+", "-", "*", "/", "**", "@", "+=", "==", "<",
          "#", "\\", "\n", "'", '"', "^", ".", "e", "_", "1", "x", "sum(", "relu(", "[[", "]]",
          "..", "1.2.3", "$", "!", "{", "}", "->", ":", "lambda", "\\\n")
UNICODE = ("\u0302", "\u200f", "\u202e", "\u200b", "\u200d", "\ufeff", "\x00", "\x01", "\x0b",
           "\x0c", "\x1c", "\x7f", "\x85", "\u2028", "\u2029", "😀", "𝑥", "ﬁ", "１", "²", "µ",
           "İ", "ß", "\udcff", "\ud800", "\t", "\r", "\u00a0", "\u3000", "−", "×", "·", "∂",
           "ŷ", "\U0010ffff", "\ufffe", "\uffff", "x\u0302", "\u0663")


def _number(r: random.Random) -> str:
    if r.random() < 0.85:
        return r.choice(NUMBERS[:19])  # ordinary ones most of the time
    return r.choice(NUMBERS)


def _array(r: random.Random) -> str:
    """An array literal: a vector or a matrix (now and then deeper, signed, multiline)."""
    def items(n: int) -> list[str]:
        return [("-" if r.random() < 0.2 else "+" if r.random() < 0.05 else "") + _number(r)
                for _ in range(n)]

    ndim = r.choice((1, 1, 2, 2, 3))
    shape = [r.choice((1, 2, 3)) for _ in range(ndim)]

    def build(dims: list[int]) -> str:
        if len(dims) == 1:
            return "[" + ", ".join(items(dims[0])) + "]"
        sep = ",\n  " if r.random() < 0.2 else ", "
        return "[" + sep.join(build(dims[1:]) for _ in range(dims[0])) + "]"

    return build(shape)


# Values for operator parameters, by the registry's parameter names (keyword ``axis=``,
# positional ``reshape(x, [2, 3])``); some are out of range or of the wrong kind.
PARAM_VALUES = {
    "axis": ("0", "1", "-1", "0", "-2", "2", "[0, 1]", "[0]", "[1, 0]", "0.0", "1.5", "[]",
             "[0, 0]", "x"),
    "shape": ("[2, 3]", "[-1]", "[3, -1]", "[6]", "[1, -1]", "[3, 3]", "[1, 3]", "[9]",
              "[-1, -1]", "[0]", "[2.5]", "3"),
}
SUBSCRIPTS = ("[0]", "[-1]", "[1]", "[:, 1]", "[1:3]", "[::-1]", "[0, 0]", "[:]", "[1:]",
              "[:2, ::2]", "[5]", "[0][0]", "[-1, :]", "[::2]", "[0:0]", "[:, :, 0]", "[-4]")
BAD_SUBSCRIPTS = ("[::0]", "[1.5]", "[x]", "[]", "[0,,1]", "[...]")
FUNCTION_NAMES = ("f", "g", "layer", "linear", "net", "h1", "φ", "f", "g", "sum")
PARAMETER_NAMES = ("a", "b", "u", "v", "W", "x", "s", "t")
INDENTS = ("    ", "    ", "  ", "\t", "        ")


class _Grammar:
    """Random expressions and statements of the language, from the registry: every
    operator with its arity and parameters, subscripts, and calls of the program's own
    functions (``functions``: name -> number of parameters)."""

    def __init__(self, r: random.Random, names: list[str],
                 functions: dict[str, int] | None = None) -> None:
        self.r = r
        self.names = names  # names defined so far (and some that are not: they are inputs)
        self.functions = functions if functions is not None else {}

    def space(self) -> str:
        r = self.r.random()
        return "" if r < 0.6 else " " if r < 0.9 else "\t" if r < 0.95 else "  "

    def atom(self) -> str:
        r = self.r.random()
        if r < 0.55:
            return self.subscript(self.r.choice(self.names))
        if r < 0.85:
            return _number(self.r)
        return self.subscript(_array(self.r))

    def subscript(self, operand: str) -> str:
        """Now and then a subscript after an operand: ``x[0]``, ``W[:, 1]``, ``x[::-1]``."""
        r = self.r.random()
        if r < 0.07:
            return operand + self.r.choice(SUBSCRIPTS if r < 0.065 else BAD_SUBSCRIPTS)
        return operand

    def call(self, depth: int) -> str:
        if self.functions and self.r.random() < 0.25:
            name = self.r.choice(sorted(self.functions))
            n = self.functions[name]
            if self.r.random() < 0.03:  # a wrong number of arguments
                n = self.r.choice([k for k in range(4) if k != n])
            args = [self.expr(depth - 1) for _ in range(n)]
            return self.subscript(f"{name}({', '.join(args)})")
        name = self.r.choice(sorted(FUNCTIONS))
        op = FUNCTIONS[name]
        n = self.r.randint(op.min_arity, op.arity)
        if self.r.random() < 0.03:  # a wrong number of arguments: a ParseError
            n = self.r.choice([k for k in range(4) if not op.min_arity <= k <= op.arity])
        args = [self.expr(depth - 1) for _ in range(n)]
        for param in op.params:
            value = self.r.choice(PARAM_VALUES.get(param.name, NUMBERS[:8]))
            if param.positional:
                if param.required or self.r.random() < 0.5:
                    args.append(value)
            elif param.required or self.r.random() < 0.4:
                args.append(f"{param.name}={value}")
        if self.r.random() < 0.02:  # a keyword the operator does not have
            args.append(f"{self.r.choice(('axis', 'slope', 'foo', 'shape'))}=1")
        sep = ", " if self.r.random() < 0.9 else ",\n    "
        return self.subscript(f"{name}({sep.join(args)})")

    def expr(self, depth: int) -> str:
        r = self.r.random()
        if depth <= 0 or r < 0.25:
            return self.atom()
        if r < 0.6:
            symbol = self.r.choice(BINARY_SYMBOLS)
            s = self.space()
            joint = f"{s}{symbol}{s}"
            if self.r.random() < 0.03:
                joint = f" {symbol} \\\n  "  # a line continuation
            return f"{self.expr(depth - 1)}{joint}{self.expr(depth - 1)}"
        if r < 0.68:
            return self.r.choice(("-", "+", "- ", "--")) + self.expr(depth - 1)
        if r < 0.78:
            return self.subscript(f"({self.space()}{self.expr(depth - 1)}{self.space()})")
        return self.call(depth)

    def statement(self) -> str:
        name = self.r.choice(NAMES) if self.r.random() < 0.7 else f"v{self.r.randint(0, 9)}"
        assign = "=" if self.r.random() < 0.85 else self.r.choice(AUGMENTED)
        text = f"{name}{self.space() or ' '}{assign} {self.expr(self.r.randint(0, 4))}"
        self.names.append(name)
        return text

    def function(self) -> str:
        """A ``def`` block, indented or on one line; its body sees only its parameters and
        its own names (now and then a program name, or a call of itself: errors)."""
        name = self.r.choice(FUNCTION_NAMES) if self.r.random() < 0.8 else f"fn{len(self.functions)}"
        params = self.r.sample(PARAMETER_NAMES, self.r.randint(1, 3))
        body = _Grammar(self.r, list(params) + (["y"] if self.r.random() < 0.05 else []),
                        dict(self.functions))
        if self.r.random() < 0.05:
            body.functions[name] = len(params)  # recursion
        if self.r.random() < 0.35:
            text = f"def {name}({', '.join(params)}): return {body.expr(2)}"
        else:
            indent = self.r.choice(INDENTS)
            lines = [f"def {name}({', '.join(params)}):"]
            for _ in range(self.r.randint(0, 3)):
                lines.append(indent + body.statement())
            lines.append(f"{indent}return {body.expr(3)}")
            if self.r.random() < 0.03:
                lines[-1] = " " + lines[-1]  # inconsistent indentation
            text = "\n".join(lines)
        self.functions[name] = len(params)
        return text


def generate_valid(r: random.Random) -> str:
    """A program of the grammar (valid but for rare mistakes: a wrong argument count, a
    parameter out of range, a recursive function...)."""
    g = _Grammar(r, list(r.sample(NAMES, 3)))
    parts: list[str] = []
    if r.random() < 0.1:
        parts.append(r.choice(COMMENTS) + "\n")
    if r.random() < 0.25:
        for _ in range(r.randint(1, 2)):
            parts.append(g.function() + r.choice(("\n", "\n\n", "\n# between\n")))
    for k in range(r.randint(1, 6)):
        if k:
            sep = r.choice(SEPARATORS)
            if sep.endswith("\n") and r.random() < 0.1:
                sep = f"  {r.choice(COMMENTS)}{sep}"
            parts.append(sep)
        parts.append(g.statement())
    if r.random() < 0.15:  # a bare expression as the last line
        parts.append("\n" + g.expr(2))
    return "".join(parts)


# --- mutations --------------------------------------------------------------------------

def _flip_byte(r: random.Random, s: str) -> str:
    data = bytearray(s.encode("utf-8", "surrogatepass"))
    if not data:
        return s
    data[r.randrange(len(data))] ^= 1 << r.randrange(8)
    return data.decode("utf-8", r.choice(("replace", "surrogateescape")))


def _span(r: random.Random, s: str) -> tuple[int, int]:
    i = r.randrange(len(s) + 1)
    return i, min(len(s), i + r.randint(1, 8))


def _delete(r: random.Random, s: str) -> str:
    i, j = _span(r, s)
    return s[:i] + s[j:]


def _insert(r: random.Random, s: str, what: str) -> str:
    i = r.randrange(len(s) + 1)
    return s[:i] + what + s[i:]


def _duplicate(r: random.Random, s: str) -> str:
    i, j = _span(r, s)
    return _insert(r, s, s[i:j])


def _replace_name(r: random.Random, s: str, new: str) -> str:
    import re

    names = list(re.finditer(r"[^\W\d]\w*", s))
    if not names:
        return new + " = " + s
    m = r.choice(names)
    if r.random() < 0.5:  # every occurrence: keeps the program meaningful
        every = re.sub(rf"\b{re.escape(m.group())}\b", lambda _: new, s)
        if len(every) <= _MAX_PROGRAM:
            return every
    return s[:m.start()] + new + s[m.end():]


# Programs stay below this many characters (a 20,000-character name in each of 5,000 terms
# would be 100 MB, which no time limit can parse).
_MAX_PROGRAM = 2_000_000


def _replace_number(r: random.Random, s: str) -> str:
    import re

    nums = list(re.finditer(r"\d[\d_.]*(?:[eE][-+]?\d+)?", s))
    big = r.choice(("1e999", "-1e999", "1e-999", "1" + "0" * 400, "9" * 5000, "0e0", "1e308",
                    "2e308", "5e-324", "1e-320", "-0.0", "00000", "1_", "1__0", "0.1e"))
    if not nums:
        return _insert(r, s, big)
    m = r.choice(nums)
    return s[:m.start()] + big + s[m.end():]


def _deep(r: random.Random, s: str, scale: float) -> str:
    """Deep nesting around a statement's right side."""
    n = max(5, int(r.choice((50, 500, 2000, 5000)) * scale))
    head, sep, rhs = s.partition("=")
    if not sep:
        head, rhs = "", s
    rhs = rhs.split("\n")[0].split(";")[0]
    kind = r.randrange(6)
    if kind == 0:
        body = "(" * n + rhs + ")" * n
    elif kind == 1:
        body = "-" * n + rhs
    elif kind == 2:
        body = "tanh(" * n + rhs + ")" * n
    elif kind == 3:
        body = "**".join(["1.0001"] * min(n, 500))
    elif kind == 4:
        d = r.choice((3, 31, 32, 33, 100))
        body = "[" * d + "1" + "]" * d
    else:
        body = " + ".join(["x"] * n)
    return (head + sep if sep else "y = ") + body


def _long(r: random.Random, s: str, scale: float) -> str:
    kind = r.randrange(3)
    if kind == 0:
        return _replace_name(r, s, "n" * int(r.choice((100, 1000, 20000)) * scale))
    if kind == 1:  # many statements
        return "\n".join(f"v{k} = v{k - 1} * 1.01" if k else "v0 = x"
                         for k in range(int(r.choice((100, 2000)) * scale))) + "\n" + s
    return s + "\n" + "# " + "x" * int(100_000 * scale)


def mutate(r: random.Random, s: str, scale: float = 1.0) -> str:
    """One to three random mutations of ``s``; ``scale`` multiplies the sizes of deep
    nesting and long names and programs (the suite runs at a tenth)."""
    for _ in range(r.randint(1, 3)):
        k = r.randrange(11)
        if k == 0:
            s = _flip_byte(r, s)
        elif k == 1:
            s = _delete(r, s)
        elif k == 2:
            s = _insert(r, s, r.choice(TOKENS))
        elif k == 3:
            s = _insert(r, s, r.choice(UNICODE))
        elif k == 4:
            s = _duplicate(r, s)
        elif k == 5:
            s = _replace_name(r, s, r.choice(SPECIAL_NAMES))
        elif k == 6:
            s = _replace_number(r, s)
        elif k == 7:
            s = _deep(r, s, scale)
        elif k == 8:
            s = _long(r, s, scale)
        elif k == 9:
            s = _replace_name(r, s, r.choice(NAMES) + r.choice(UNICODE))
        else:
            s = r.choice(("\ufeff", " ", "\n", "\t", "#!\n", "")) + s
    return s


def _examples() -> list[str]:
    folder = REPO / "examples"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.cg"))]


_EXAMPLES: list[str] | None = None


# --- inputs -----------------------------------------------------------------------------

SHAPES = ((), (3,), (1, 3), (3, 1), (2, 3), (3, 3), (2,), (1,))
EXTREMES: tuple[Any, ...] = (1e308, -1e308, math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324,
                             -1.0, 0, -7, 1e-300, 710.0, -745.5, 1e200, 1e154, -1e16,
                             [[1e308, -1e308]], [0.0, -0.0, 1.0], [math.nan, 1.0], [-1e200, 3])
# Python integers too large for a float (rarer: one input in twenty at the extreme point).
HUGE_INTEGERS: tuple[Any, ...] = (10**400, -10**400, 2**1024, [10**400, 1], [[1], [-10**309]])
MALFORMED: tuple[Any, ...] = (True, None, "2", [], [[1, 2], [3]], [[[]]], 1j, [1, "a"],
                              {"a": 1}, (1.0, 2.0), np.float32(2.5), np.array([1, 2, 3]),
                              np.array([[1.5, 2.5]], dtype=np.float32), np.int64(3))


def _random_array(r: random.Random, shape: tuple[int, ...], scale: float = 2.0) -> Any:
    if not shape:
        return round(r.gauss(0, scale), 3)
    return np.round(np.array([r.gauss(0, scale) for _ in range(math.prod(shape))]).reshape(shape), 3).tolist()


def input_sets(r: random.Random, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Several sets of inputs for ``names``: scalars, fitting arrays, random (often
    non-fitting) shapes, extreme values, and now and then malformed values."""
    sets: list[dict[str, Any]] = [
        {n: _random_array(r, ()) for n in names},
        {n: _random_array(r, (3,)) for n in names},
        {n: _random_array(r, (3, 3)) for n in names},
        {n: _random_array(r, r.choice(SHAPES)) for n in names},
        {n: r.choice(HUGE_INTEGERS) if r.random() < 0.05 else
         r.choice(EXTREMES) if r.random() < 0.7 else _random_array(r, (), 1e3) for n in names},
    ]
    if names and r.random() < 0.2:
        bad = dict(sets[0])
        bad[r.choice(names)] = r.choice(MALFORMED)
        sets.append(bad)
    return sets


# --- programs ---------------------------------------------------------------------------

@dataclass
class Program:
    """A fuzzed program: its text, how it was made, and the seed of its input sets (drawn
    from the graph's input names once it parses, by :func:`input_sets`)."""

    text: str
    kind: str          # "grammar" or "mutation"
    seed: str


def generate(r: random.Random, scale: float = 1.0) -> Program:
    """A random program: from the grammar, or a mutation of a valid one (or of an example)."""
    global _EXAMPLES
    seed = str(r.random())
    if r.random() < 0.45:
        return Program(generate_valid(r), "grammar", seed)
    if r.random() < 0.2:
        if _EXAMPLES is None:
            _EXAMPLES = _examples()
        base = r.choice(_EXAMPLES) if _EXAMPLES else generate_valid(r)
    else:
        base = generate_valid(r)
    return Program(mutate(r, base, scale), "mutation", seed)


def program_for(seed: int, index: int, scale: float = 1.0) -> Program:
    """Program ``index`` of the campaign ``seed``: the same one on every machine and run."""
    return generate(random.Random(f"compgraph-fuzz/{seed}/{index}"), scale)


# --- the check --------------------------------------------------------------------------

class Hang(BaseException):
    """The time limit passed (a BaseException: no ``except Exception`` can swallow it)."""


@dataclass
class Crash:
    """An exception that is not a CompgraphError (or a ParseError after parsing), with
    where it came from."""

    stage: str
    type: str
    message: str
    where: str               # innermost compgraph frame: "compgraph/evaluate.py:as_value"
    traceback: str
    inputs: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        """The crash class: stage, exception type and the compgraph function that raised."""
        return f"{self.stage}: {self.type} in {self.where}"

    @property
    def in_engine(self) -> bool:
        return self.where.startswith(ENGINE_MODULES)


@dataclass
class Result:
    """What one program did: its headline outcome, and what each stage answered."""

    outcome: str
    stages: dict[tuple[str, str], int] = field(default_factory=dict)  # (stage, outcome) -> n
    crashes: list[Crash] = field(default_factory=list)
    # "category at place (message)" -> n; compgraph's own warnings by category alone
    warnings: dict[str, int] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)
    # DOT sources for dot to check, with the point they were drawn at.
    pictures: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, stage: str, outcome: str) -> None:
        self.stages[(stage, outcome)] = self.stages.get((stage, outcome), 0) + 1


def _where(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    where = "outside compgraph"
    for f in frames:
        path = f.filename.replace(os.sep, "/")
        if "/compgraph/" in path and "/tests/" not in path:
            where = f"compgraph/{path.rsplit('/compgraph/', 1)[1]}:{f.name}"
    return where, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-12:])


def _class_name(exc: CompgraphError) -> str:
    """The documented class a CompgraphError counts as in the table."""
    for name in OUTCOMES[1:6]:
        if any(c.__name__ == name for c in type(exc).__mro__):
            return name
    return "CompgraphError"


def _call(result: Result, stage: str, fn: Callable[[], Any],
          inputs: dict[str, Any] | None = None) -> tuple[bool, Any]:
    """Run one stage; ``(True, value)`` when it returned, ``(False, outcome)`` otherwise."""
    try:
        value = fn()
    except (Hang, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - every other exception is the finding
        # A documented error is an answer; a ParseError only from parse: the later stages
        # are given a graph that parsed, so refusing it as a program (a graph they build
        # from it, say) is a bug, however documented the class.
        if isinstance(exc, CompgraphError) and (stage == "parse"
                                                or not isinstance(exc, ParseError)):
            name = _class_name(exc)
            result.count(stage, name)
            return False, name
        where, tb = _where(exc)
        result.crashes.append(Crash(stage, type(exc).__name__, str(exc)[:300], where, tb, inputs))
        result.count(stage, "crash")
        return False, "crash"
    result.count(stage, "ok")
    return True, value


def _run(result: Result, text: str, inputs: list[dict[str, Any]] | None, seed: str,
         draw: bool, render: bool) -> str:
    ok, graph = _call(result, "parse", lambda: cg.parse(text))
    if not ok:
        return graph
    if inputs is None:
        inputs = input_sets(random.Random(seed), graph.input_names)
    # What the pictures carry besides the graph: a title (now and then a hostile one) and
    # now and then a variable marked as a cost.
    r = random.Random(seed + "/picture")
    picture = {"title": graph.output_name if r.random() < 0.7 else r.choice(HOSTILE),
               "costs": [r.choice(list(graph.latest))] if graph.latest and r.random() < 0.2
               else [],
               "edge_labels": r.choice(("gradient", "local", "both"))}
    # Drawing a large graph costs far more than evaluating it: small graphs are drawn in
    # every view at the first point and at the extreme one, large graphs in one view once.
    small = len(graph.nodes) <= _SMALL_GRAPH
    sources: list[tuple[str, dict[str, Any]]] | None = [] if render and small else None
    headline = None
    for k, given in enumerate(inputs):
        # Given sets fit the program: inputs it does not have are left out, and those it
        # has but the set lacks are 1.0 (a minimized program may have new inputs).
        given = {n: given.get(n, 1.0) for n in graph.input_names}
        if draw and small and k in (0, 4):
            views: tuple[str, ...] = VIEWS
        else:
            views = ("backward",) if k == 0 else ()
        outcome = _run_inputs(result, graph, given, views, picture, sources)
        headline = headline or outcome
    result.pictures = sources or []
    return headline or "ok"


def _check_pictures(result: Result, limit: float) -> None:
    """Have ``dot`` draw the program's pictures: DOT it rejects or SVG that is not clean
    is a crash of the drawing; a layout slower than ``limit`` is counted apart (``slow``),
    as it is Graphviz's time, not compgraph's."""
    try:
        problems = picture_problems([source for source, _ in result.pictures], timeout=limit)
    except TimeoutError:
        result.count("dot", "slow")
        return
    for problem, (source, given) in zip(problems, result.pictures):
        if problem is not None:
            result.crashes.append(Crash("dot", "BadPicture", problem[:300],
                                        "compgraph/drawing/dot.py:to_dot", source[:2000],
                                        given))
            result.count("dot", "crash")
        else:
            result.count("dot", "ok")


_SMALL_GRAPH = 200


def _run_inputs(result: Result, graph: cg.Graph, given: dict[str, Any],
                views: tuple[str, ...], picture: dict[str, Any],
                sources: list[tuple[str, dict[str, Any]]] | None) -> str:
    """Every stage at one point; returns the first stage's failure, or ``ok``. The DOT of
    each view drawn is added to ``sources`` (when it is a list), with the point, for ``dot``
    to check."""
    first = None
    ok, values = _call(result, "evaluate", lambda: cg.evaluate(graph, given), given)
    if not ok:
        return values
    ok, grads = _call(result, "backward", lambda: cg.backward(graph, values), given)
    if not ok:
        first, grads = grads, None
    tans = None
    for name in graph.input_names[:2]:
        ok, t = _call(result, "tangents", lambda: cg.tangents(graph, values, name), given)
        if ok and tans is None:
            tans = t
        if ok and grads is not None:
            _agree(result, graph, grads, t, name, given)
        first = first or (None if ok else t)
    ok, local = _call(result, "local_derivatives", lambda: cg.local_derivatives(graph, values),
                      given)
    if not ok:
        first, local = first or local, None
    # The explaining views draw results computed for them: the paths from the first input
    # to the output, and every node's gradient checked against central differences.
    explain: dict[str, dict[str, Any]] = {}
    if "paths" in views and graph.input_names:
        ok, found = _call(result, "paths",
                          lambda: cg.paths(graph, values, graph.input_names[0]), given)
        if ok:
            explain["paths"] = {"paths": found}
    if "check" in views and grads is not None:
        ok, checked = _call(result, "check_nodes", lambda: cg.check_nodes(graph, values, grads),
                            given)
        if ok:
            explain["check"] = {"check": checked}
    for view in views:
        if view in ("paths", "check") and view not in explain:
            continue
        ok, dot = _call(result, "to_dot", lambda: to_dot(graph, view, values, grads, tans, local,
                                                         **picture, **explain.get(view, {})
                                                         ).source, given)
        if ok and sources is not None:
            sources.append((dot, given))
        first = first or (None if ok else dot)
    return first or "ok"


def _agree(result: Result, graph: cg.Graph, grads: Any, tans: Any, name: str,
           given: dict[str, Any]) -> None:
    """Reverse and forward mode must give the same directional derivative (along ones):
    a disagreement is a silent wrong answer in one of them.

    The two sum the same chain-rule terms in different orders, so they may differ by
    rounding in proportion to the largest term (``W/c/W`` has a derivative of 0 made of two
    terms of 1e8 that cancel; ``1e23 * logsumexp(log_softmax(L))`` is constant in ``L``,
    its reverse-mode partials of 1e23 cancel): the tolerance grows with the largest
    adjoint of a node times the tangent of an operand or of its edge."""
    i = graph.inputs[graph.input_names.index(name)]
    rev, fwd = grads.adjoints[i], tans.nodes[graph.output]
    scale = 0.0

    def size(v: Any) -> float:
        return 0.0 if v is None else float(np.sum(np.abs(v)))

    with np.errstate(all="ignore"):
        rev = 0.0 if rev is None else float(np.sum(rev))
        fwd = 0.0 if fwd is None else float(np.sum(fwd))
        for (node, k), t in tans.edges.items():
            operand = graph.nodes[node].operands[k]
            scale = max(scale, size(grads.adjoints[node])
                        * max(size(t), size(tans.nodes[operand])))
    if not all(math.isfinite(v) and abs(v) < 1e100 for v in (rev, fwd, scale)):
        return
    if abs(rev - fwd) > 1e-9 * scale + 1e-6 * (1.0 + abs(rev) + abs(fwd)):
        result.disagreements.append(f"d{graph.output_name}/d{name}: reverse {rev!r}, "
                                    f"forward {fwd!r} at {given!r}")


def check(text: str, inputs: list[dict[str, Any]] | None = None, *, seed: str = "0",
          limit: float = 10.0, draw: bool = True, render: bool = False) -> Result:
    """Run ``text`` through every stage; see the module's docstring.

    ``inputs`` are the input sets to evaluate at (default: :func:`input_sets` for the
    program's inputs, from ``seed``; a set's missing inputs are 1.0). ``limit`` is the
    time limit for the whole program in seconds of CPU time; ``draw`` draws every view
    (else only the backward one); ``render`` also has ``dot`` draw the pictures of small
    graphs and checks the SVG (:func:`picture_problems`), after the time limit and with a
    limit of its own.
    """
    result = Result("ok")
    alarm = limit > 0 and hasattr(signal, "setitimer")
    if alarm:
        def on_alarm(*_: Any) -> None:
            raise Hang()

        # CPU time, not wall time: a busy machine must not turn slow programs into hangs.
        previous = signal.signal(signal.SIGPROF, on_alarm)
        signal.setitimer(signal.ITIMER_PROF, limit)
    start = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result.outcome = _run(result, text, inputs, seed, draw, render)
        except Hang:
            result.outcome = "hang"
        except Exception as exc:  # noqa: BLE001 - a bug of the harness: report, go on
            where, tb = _where(exc)
            result.crashes.append(Crash("harness", type(exc).__name__, str(exc)[:300],
                                        where, tb))
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, previous)
    result.seconds = time.process_time() - start
    if result.pictures and result.outcome != "hang":
        _check_pictures(result, limit if limit > 0 else 60.0)
    result.pictures = []
    if limit > 0 and result.seconds > limit:
        result.outcome = "hang"  # stuck in C code the alarm could not interrupt
    elif result.crashes:
        result.outcome = "crash"
    elif result.disagreements:
        result.outcome = "disagree"
    for w in caught:
        if w.category.__module__.startswith("compgraph"):
            key = w.category.__name__  # compgraph's own, e.g. ShapeWarning: a documented answer
        else:
            path = str(w.filename).replace(os.sep, "/")
            place = path.rsplit("/", 1)[-1] if "/compgraph/" not in path else \
                "compgraph/" + path.rsplit("/compgraph/", 1)[1]
            key = f"{w.category.__name__} at {place}:{w.lineno} ({str(w.message)[:60]})"
        result.warnings[key] = result.warnings.get(key, 0) + 1
    return result


# --- pictures: DOT that dot accepts, SVG that is XML with nothing active in it ------------

_SVG_NS = "{http://www.w3.org/2000/svg}"
_ACTIVE_TAGS = {"script", "foreignObject", "iframe", "object", "embed", "handler", "listener"}


def svg_problems(svg: str) -> list[str]:
    """What is wrong with an SVG picture: not well-formed XML, or active content (a script
    or foreign element, an ``on...`` event attribute, a ``javascript:`` or ``data:`` link).

    >>> svg_problems('<svg xmlns="http://www.w3.org/2000/svg"><text>a &amp; b</text></svg>')
    []
    >>> svg_problems('<svg><text>&nbsp;</text></svg>')
    ['not XML: undefined entity: line 1, column 11']
    >>> svg_problems('<svg><a href=" JavaScript:x()" onclick="y()"/></svg>')
    ['active content: <a href=" JavaScript:x()">', 'active content: <a onclick=...>']
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        return [f"not XML: {exc}"]
    problems = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in _ACTIVE_TAGS:
            problems.append(f"active content: <{tag}>")
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local.lower().startswith("on"):
                problems.append(f"active content: <{tag} {local}=...>")
            link = "".join(value.split()).lower()
            if link.startswith(("javascript:", "data:", "vbscript:")):
                problems.append(f"active content: <{tag} {local}={value!r}>".replace("'", '"'))
    return problems


def _dot(source: str, timeout: float) -> tuple[int, str, str]:
    import subprocess

    try:
        run = subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"),
                             capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"dot took more than {timeout:g} s") from None
    return run.returncode, run.stdout.decode("utf-8", "replace"), \
        run.stderr.decode("utf-8", "replace")


def render_svgs(sources: list[str], timeout: float = 120.0) -> list[tuple[str | None, str]]:
    """``(problem, svg)`` for each DOT source, from one ``dot`` run for all of them when they
    all pass (the DOT language allows several graphs in one input), else one run each.
    ``problem`` is ``dot``'s error, ``None`` when it drew the graph without one. Raises
    ``TimeoutError`` when ``dot`` takes longer than ``timeout`` seconds."""
    from compgraph.drawing.dshape import dshape_svg

    if not sources:
        return []
    code, out, err = _dot("\n".join(sources), timeout)
    docs = out.split("<?xml")[1:]
    if code == 0 and "Error" not in err and len(docs) == len(sources):
        return [(None, dshape_svg("<?xml" + d)) for d in docs]
    results: list[tuple[str | None, str]] = []
    for source in sources:
        code, out, err = _dot(source, timeout)
        bad = code != 0 or "Error" in err
        results.append((err.strip() or f"dot exited with {code}" if bad else None,
                        dshape_svg(out)))
    return results


def picture_problems(sources: list[str], timeout: float = 120.0) -> list[str | None]:
    """For each DOT source: what ``dot`` or the SVG check objects to, ``None`` when nothing."""
    out: list[str | None] = []
    for problem, svg in render_svgs(sources, timeout):
        if problem is None:
            found = svg_problems(svg)
            problem = "; ".join(found) if found else None
        out.append(problem)
    return out


# --- minimizing a crash ---------------------------------------------------------------------

def minimize(text: str, inputs: list[dict[str, Any]] | None, key: str,
             budget: int = 400) -> str:
    """A shorter program that still crashes with the crash class ``key`` (greedy deletion of
    ever smaller chunks, at most ``budget`` checks)."""
    def still(candidate: str) -> bool:
        r = check(candidate, inputs, limit=5.0, draw=True, render=key.startswith("dot:"))
        return any(c.key == key for c in r.crashes)

    chunk = max(1, len(text) // 2)
    tries = 0
    while chunk >= 1 and tries < budget:
        i = 0
        shrunk = False
        while i < len(text) and tries < budget:
            candidate = text[:i] + text[i + chunk:]
            tries += 1
            if candidate.strip() and still(candidate):
                text, shrunk = candidate, True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    return text


# --- the regression cases -------------------------------------------------------------------

def _encode(value: Any) -> Any:
    """Inputs as JSON: numpy arrays become lists, complex and other types a tagged form."""
    if isinstance(value, np.ndarray):
        return {"ndarray": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return {"numpy": value.item(), "dtype": str(value.dtype)}
    if isinstance(value, complex):
        return {"complex": [value.real, value.imag]}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": {k: _encode(v) for k, v in value.items()}}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "ndarray" in value:
            return np.array(value["ndarray"], dtype=value["dtype"])
        if "numpy" in value:
            return np.dtype(value["dtype"]).type(value["numpy"])
        if "complex" in value:
            return complex(*value["complex"])
        if "tuple" in value:
            return tuple(_decode(v) for v in value["tuple"])
        if "dict" in value:
            return {k: _decode(v) for k, v in value["dict"].items()}
    return value


@dataclass
class Regression:
    """A crash found by fuzzing, kept so that the suite replays it."""

    program: str
    inputs: list[dict[str, Any]]
    crash: str                   # the crash classes it had when found, "; "-separated
    xfail: str | None = None     # why it still fails on this branch (the fix is elsewhere)
    render: bool = False         # also have dot draw its pictures (a crash of the drawing)
    line: int = 0

    def to_json(self) -> str:
        record: dict[str, Any] = {"program": self.program,
                                  "inputs": [{k: _encode(v) for k, v in s.items()}
                                             for s in self.inputs],
                                  "crash": self.crash}
        if self.xfail:
            record["xfail"] = self.xfail
        if self.render:
            record["render"] = True
        return json.dumps(record, ensure_ascii=True)


def load_regressions(path: Path = REGRESSIONS) -> list[Regression]:
    """The cases of the regression file (one JSON object a line; ``#`` lines are comments)."""
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        rec = json.loads(line)
        inputs = [{k: _decode(v) for k, v in s.items()} for s in rec["inputs"]]
        cases.append(Regression(rec["program"], inputs, rec["crash"], rec.get("xfail"),
                                rec.get("render", False), n))
    return cases


# --- a campaign -----------------------------------------------------------------------------

def campaign(seed: int, indices: range, *, limit: float = 10.0, scale: float = 1.0,
             draw: bool = True) -> Iterator[tuple[int, Program, Result]]:
    """Programs ``indices`` of campaign ``seed`` (sizes times ``scale``), each with its result."""
    for i in indices:
        program = program_for(seed, i, scale)
        yield i, program, check(program.text, None, seed=program.seed, limit=limit, draw=draw)
