"""The trace table (``compgraph table``): one row per node in topological order, in CSV,
Markdown, LaTeX and JSON, with tangents along ``--wrt`` and gradients."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

import compgraph as cg
from compgraph import cli
from compgraph.table_cli import tex_text
from compgraph.tracing import node_title, trace

HOMEWORK = "a = x*y+z, b = a*(x+x), w = a*b+b"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_done_when_csv_row_a(capsys) -> None:
    code, out, err = run(capsys, "table", "examples/homework-graph.cg", "--format", "csv")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "name,op,operands,value,tangent,gradient"
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["a"]["value"] == "7" and rows["a"]["gradient"] == "60"
    assert rows["a"]["op"] == "+" and rows["a"]["operands"] == "x*y; z"
    assert [r["name"] for r in csv.DictReader(io.StringIO(out))] == [
        "x", "y", "z", "x*y", "a", "x + x", "b", "a*b", "w"]  # topological order
    assert rows["x"]["op"] == "input" and rows["x"]["tangent"] == ""


def test_tangents_along_wrt_and_full_precision(capsys) -> None:
    code, out, _ = run(capsys, "table", HOMEWORK, "--at", "x=2,y=3,z=0.1", "--wrt", "x",
                       "--format", "csv")
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out))}
    g = cg.parse(HOMEWORK)
    values = cg.evaluate(g, x=2, y=3, z=0.1)
    tans = cg.tangents(g, values, "x")
    for name in ("a", "b", "w"):
        assert float(rows[name]["tangent"]) == tans[name]  # exactly: the shortest round trip
        assert float(rows[name]["value"]) == values[name]
    # forward mode = reverse mode (to rounding: they add in different orders)
    assert float(rows["w"]["tangent"]) == pytest.approx(float(rows["x"]["gradient"]), rel=1e-15)


def test_constants_are_operands_and_every_other_node_a_row() -> None:
    g = cg.parse("y = 3*relu(x) - 0.5")
    rows = trace(g, cg.evaluate(g, x=2))
    assert [r.name for r in rows] == ["x", "relu(x)", "3*relu(x)", "y"]
    assert rows[2].operands == ("3", "relu(x)") and rows[3].operands == ("3*relu(x)", "0.5")
    assert len(rows) == sum(n.kind != "const" for n in g.nodes)


def test_markdown_drops_empty_columns(capsys) -> None:
    code, out, _ = run(capsys, "table", HOMEWORK, "--at", "x=2,y=3,z=1")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "| name | op | operands | value | gradient |"
    assert "| `a` | `+` | `x*y, z` | 7 | 60 |" in lines
    code, out, _ = run(capsys, "table", HOMEWORK, "--at", "x=2,y=3,z=1", "--wrt", "y",
                       "--format", "md")
    assert out.splitlines()[0] == "| name | op | operands | value | tangent | gradient |"


def test_latex_tabular_for_a_handout(capsys) -> None:
    code, out, _ = run(capsys, "table", "examples/two-layer-net.cg", "--format", "tex")
    assert code == 0
    assert r"\begin{tabular}{lllrr}" in out and out.rstrip().endswith(r"\end{tabular}")
    assert r"W1 & \texttt{input} &  & $\begin{bmatrix} 1 & -1 \\ 0.5 & 2 \\ -1.5 & 0.25 \end{bmatrix}$" in out
    assert r"s2 = yhat & \texttt{+}" in out
    body = [line for line in out.splitlines() if line.endswith(r"\\")]
    cells = [re.sub(r"\$[^$]*\$", "N", line) for line in body]  # a matrix is one cell
    assert all(line.count(" & ") == 4 for line in cells), cells  # five columns every row
    assert tex_text("b_2 & 50% #1 {x} ~^\\") == (r"b\_2 \& 50\% \#1 \{x\} \textasciitilde{}"
                                                 r"\textasciicircum{}\textbackslash{}")
    assert tex_text("c′") == r"c$'$"


def test_json_rows(capsys) -> None:
    code, out, _ = run(capsys, "table", HOMEWORK, "--at", "x=2,y=3,z=1", "--format", "json")
    doc = json.loads(out)
    assert doc["output"] == "w" and doc["wrt"] is None
    a = next(r for r in doc["rows"] if r["name"] == "a")
    assert a == {"name": "a", "op": "+", "operands": ["x*y", "z"], "value": 7.0,
                 "tangent": None, "gradient": 60.0}


def test_array_output_has_no_gradient_column(capsys) -> None:
    code, out, err = run(capsys, "table", "h = 2*x", "--at", "x=[1,2]", "--format", "csv")
    assert code == 0 and "scalar output" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[-1]["value"] == "[2, 4]" and rows[-1]["gradient"] == ""


def test_non_finite_numbers_and_reassigned_names(capsys) -> None:
    code, out, _ = run(capsys, "table", "c = log(x), c = c*2", "--at", "x=0", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["x", "c", "c′"]
    assert rows[1]["value"] == "-Infinity" and rows[2]["operands"] == "c; 2"


def test_titles_without_program_text() -> None:
    p = cg.Program()
    x, y = p.inputs("x y")
    p.let("w", x * y + 1.5)
    g = p.graph()
    assert [node_title(g, i) for i in range(len(g.nodes))] == ["x", "y", "mul(x, y)", "1.5", "w"]
    assert np.isclose(trace(g, cg.evaluate(g, x=2, y=3))[-1].value, 7.5)


def test_nodes_of_a_function_body_are_named_by_their_call() -> None:
    g = cg.parse("def lin(w, v):\n    s = w*v + 1\n    return s\n"
                 "h = lin(a, x)\nout = lin(b, h)")
    titles = [r.name for r in trace(g, cg.evaluate(g, a=2, b=3, x=1))]
    assert "lin#1: w*v" in titles and "lin#2: w*v" in titles  # the same text, two calls
    assert titles.count("h") == 1 and titles[-1] == "out"
