"""Where a NaN was born: ``compgraph.find_nonfinite``, ``eval --json``'s ``nonfinite`` key,
and the marking on every picture."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import compgraph as cg
from compgraph import cli
from compgraph.drawing import VIEWS, to_dot
from compgraph.drawing.views.nonfinite import WARNING
from compgraph.nodecheck import check_nodes
from compgraph.nonfinite import find_nonfinite
from compgraph.pathsum import paths

REPO = Path(__file__).resolve().parents[1]


def eval_json(capsys, *argv: str) -> dict:
    assert cli.main(["eval", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_done_when_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "compgraph", "eval", "a = log(x), w = a*y",
                           "--at", "x=-1,y=2", "--json"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["nonfinite"] == {"first": "a", "kind": "value", "line": 1, "column": 5,
                                "path": ["a", "w"]}


def test_no_key_when_everything_is_finite(capsys) -> None:
    assert "nonfinite" not in eval_json(capsys, "w = x*y", "--at", "x=2,y=3")


def test_the_first_in_topological_order_and_the_path_that_kept_it(capsys) -> None:
    # b = 0/0 is NaN, but a = log(x) comes first; relu(-inf) is 0, so the path goes by c
    program = "a = log(x)\nb = (x - x)/(x - x)\nr = relu(a)\nc = a*2\nw = r + c + b"
    doc = eval_json(capsys, program, "--at", "x=0")
    assert doc["nonfinite"] == {"first": "a", "kind": "value", "line": 1, "column": 5,
                                "path": ["a", "c", "r + c", "w"]}


def test_an_anonymous_node_is_named_by_its_text(capsys) -> None:
    doc = eval_json(capsys, "w = y + log(x)*2", "--at", "x=-1,y=1")
    assert doc["nonfinite"]["first"] == "log(x)"
    assert doc["nonfinite"]["path"] == ["log(x)", "log(x)*2", "w"]
    assert doc["nonfinite"]["column"] == 9


def test_a_gradient_that_is_born_non_finite(capsys) -> None:
    # sqrt at 0: the value is 0, the derivative infinite; the reverse sweep makes x's
    # gradient infinite on the edge out of sqrt, and s, w stay finite
    doc = eval_json(capsys, "s = sqrt(x)\nw = s*y + x", "--at", "x=0,y=2")
    assert doc["nonfinite"] == {"first": "x", "kind": "gradient", "line": 1, "column": 10,
                                "path": ["x", "s", "s*y", "w"]}


def test_a_nan_the_output_does_not_see() -> None:
    g = cg.parse("u = log(x), w = 2*y")
    report = find_nonfinite(g, cg.evaluate(g, x=-1, y=1))
    assert report.as_dict()["path"] == ["u"] and report.edges == ()


def test_without_program_text_there_is_no_line() -> None:
    p = cg.Program()
    x = p.input("x")
    p.let("w", cg.builder.log(x) * 2)
    g = p.graph()
    report = find_nonfinite(g, cg.evaluate(g, x=-1.0))
    assert report.as_dict() == {"first": "log(x)", "kind": "value", "line": None,
                                "column": None, "path": ["log(x)", "w"]}


def _all_views(g, values):
    grads = cg.backward(g, values)
    tans = cg.tangents(g, values, "x")
    report = find_nonfinite(g, values, grads)
    extra = {"paths": {"paths": paths(g, values, "x")},
             "check": {"check": check_nodes(g, values, grads)}}
    for view in VIEWS:
        yield view, to_dot(g, view, values, grads, tans, nonfinite=report,
                           **extra.get(view, {})).source


def test_every_view_marks_the_node_and_the_path() -> None:
    g = cg.parse("a = log(x), b = a*y, w = b + y")
    values = cg.evaluate(g, x=-1, y=2)
    for view, src in _all_views(g, values):
        lines = src.splitlines()
        first = next(line for line in lines if line.strip().startswith("v1_a ["))
        # the node's outline (or its shape cell's border) in the warning colour, thick
        assert f'color="{WARNING}"' in first, view
        assert re.search(r'penwidth=4\b|border="4"', first), view
        marked = [line for line in lines if "->" in line and WARNING in line]
        # a → *, * → b, b → +, + → w: the path a, b, w and its operators
        assert {line.strip().split(" [")[0] for line in marked} == {
            "v1_a -> op3", "op3 -> v3_b", "v3_b -> op4", "op4 -> v4_w"}, view
        assert "NaN first appears in the value of a (line 1, column 5)" in src, view


def test_pictures_without_a_report_are_unmarked() -> None:
    g = cg.parse("a = log(x), w = a*y")
    values = cg.evaluate(g, x=2, y=2)
    for view, src in _all_views(g, values):
        assert WARNING not in src, view


def test_render_marks_it_from_the_command_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "nan.dot"
    code = cli.main(["render", "a = log(x), w = a*y", "--at", "x=-1,y=2", "--view", "forward",
                     "-o", str(out)])
    assert code == 0
    assert WARNING in out.read_text(encoding="utf-8")


def test_a_tangent_that_is_born_non_finite_is_said_where(capsys) -> None:
    # forward mode from x at 0: sqrt's tangent is infinite (its value is 0), and the
    # tangent view says so with a caret, as the backward view does for gradients
    g = cg.parse("s = sqrt(x)*0\nw = s + x")
    tans = cg.tangents(g, cg.evaluate(g, x=0.0), "x")
    assert tans.nonfinite == 1  # sqrt(x), the oldest node whose tangent is not finite
    assert tans.nonfinite_message().startswith(
        "line 1, column 5: the tangent ∂/∂x is not finite (infinite) at sqrt(x)")
    assert cg.tangents(g, cg.evaluate(g, x=1.0), "x").nonfinite_message() is None
    assert cli.main(["render", "s = sqrt(x)*0\nw = s + x", "--at", "x=0", "--view", "tangent",
                     "--format", "dot"]) == 0
    err = capsys.readouterr().err
    assert "warning: line 1, column 5: the tangent ∂/∂x is not finite (infinite) at sqrt(x)" in err
