"""``python -m compgraph eval`` and ``jacobian``: the table, the JSON of design §5, options,
PROGRAM as text, file or standard input, and exit codes without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HOMEWORK = "a = x*y+z, b = a*(x+x), w = a*b+b"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compgraph", *args], capture_output=True,
                          text=True, cwd=REPO, input=stdin, timeout=120)


def ok_json(*args: str, stdin: str | None = None) -> dict:
    proc = run(*args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.count("\n") == 1 and proc.stdout.endswith("\n")   # exactly one object
    return json.loads(proc.stdout)


def test_done_when_command() -> None:
    doc = ok_json("eval", HOMEWORK, "--at", "x=2,y=3,z=1", "--json")
    assert doc == {
        "output": "w", "value": 224.0,
        "values": {"x": 2.0, "y": 3.0, "z": 1.0, "a": 7.0, "b": 28.0, "w": 224.0},
        "gradients": {"x": 292.0, "y": 120.0, "z": 60.0, "a": 60.0, "b": 8.0, "w": 1.0},
    }
    # keys in the order of design §5: inputs first, then named variables in statement order
    assert list(doc) == ["output", "value", "values", "gradients"]
    assert list(doc["values"]) == ["x", "y", "z", "a", "b", "w"]
    assert list(doc["gradients"]) == ["x", "y", "z", "a", "b", "w"]


def test_at_is_repeatable_and_comma_separated() -> None:
    want = ok_json("eval", HOMEWORK, "--at", "x=2,y=3,z=1", "--json")
    assert ok_json("eval", HOMEWORK, "--at", "x=2", "--at", "y=3", "--at", "z=1", "--json") == want
    assert ok_json("eval", HOMEWORK, "--at", "x=2", "--at", "y=3, z=1", "--json") == want
    assert ok_json("eval", HOMEWORK, "--at", "z=1,x=2.0,y=3e0", "--json") == want
    # the same name twice is a mistake (one of the two is a typo), not last-wins
    proc = run("eval", HOMEWORK, "--at", "x=5,y=3,z=1", "--at", "x=2", "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: --at x is given twice (x=5 and x=2); give each input once\n"


def test_at_takes_json_arrays() -> None:
    doc = ok_json("eval", "h = W @ x + b\nC = sum(h * h)",
                  "--at", "W=[[1, 2], [3, 4]],x=[1,-1]", "--at", "b=[0.5, 0]", "--json")
    # h = [-0.5, -1]; C = 1.25; dC/dh = 2h; dC/dW = outer(2h, x); dC/dx = W^T 2h
    assert doc["value"] == 1.25
    assert doc["values"]["W"] == [[1.0, 2.0], [3.0, 4.0]]
    assert doc["values"]["h"] == [-0.5, -1.0]
    assert doc["gradients"]["h"] == [-1.0, -2.0]
    assert doc["gradients"]["W"] == [[-1.0, 1.0], [-2.0, 2.0]]
    assert doc["gradients"]["x"] == [-7.0, -10.0]
    assert doc["gradients"]["b"] == [-1.0, -2.0]


def test_inputs_file_and_at_overrides_it(tmp_path: Path) -> None:
    f = tmp_path / "point.json"
    f.write_text(json.dumps({"x": 2, "y": 3, "z": 100}), encoding="utf-8")
    doc = ok_json("eval", HOMEWORK, "--inputs", str(f), "--at", "z=1", "--json")
    assert doc["value"] == 224.0 and doc["gradients"]["x"] == 292.0


def test_output_option() -> None:
    doc = ok_json("eval", HOMEWORK, "--at", "x=2,y=3,z=1", "--output", "a", "--json")
    assert doc["output"] == "a" and doc["value"] == 7.0
    assert doc["gradients"]["x"] == 3.0 and doc["gradients"]["a"] == 1.0
    assert doc["gradients"]["w"] == 0.0


def test_program_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    prog = tmp_path / "homework.cg"
    prog.write_text("# the homework graph\na = x*y + z\nb = a*(x + x)\nw = a*b + b\n",
                    encoding="utf-8")
    want = ok_json("eval", HOMEWORK, "--at", "x=2,y=3,z=1", "--json")
    assert ok_json("eval", str(prog), "--at", "x=2,y=3,z=1", "--json") == want
    assert ok_json("eval", "-", "--at", "x=2,y=3,z=1", "--json",
                   stdin=prog.read_text(encoding="utf-8")) == want


def test_defaults_in_the_program_are_used() -> None:
    doc = ok_json("eval", "x = 2.0\ny = x ** 3", "--json")
    assert doc["value"] == 8.0 and doc["gradients"]["x"] == 12.0
    doc = ok_json("eval", "x = 2.0\ny = x ** 3", "--at", "x=1", "--json")
    assert doc["value"] == 1.0


def test_non_finite_numbers_are_json_strings() -> None:
    doc = ok_json("eval", "a = log(x)\nb = a * 0\nc = -exp(e)\nd = b + c", "--at", "x=-1,e=1000",
                  "--json")
    assert doc["values"]["a"] == "NaN"
    assert doc["values"]["b"] == "NaN"
    assert doc["values"]["c"] == "-Infinity"
    assert doc["value"] == "NaN"
    doc = ok_json("eval", "y = exp(x)", "--at", "x=1000", "--json")
    assert doc["value"] == "Infinity" and doc["gradients"]["x"] == "Infinity"
    doc = ok_json("eval", "y = log(x)", "--at", "x=[1, 0, -1]", "--json")
    assert doc["value"] == [0.0, "-Infinity", "NaN"]


def test_non_finite_value_is_reported_with_its_first_node() -> None:
    proc = run("eval", "a = x + 1\nb = log(a)\nc = b * 2", "--at", "x=-3", "--json")
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr
    assert "line 2" in proc.stderr and "log(a)" in proc.stderr
    json.loads(proc.stdout)


def test_derivative_at_a_pole_does_not_crash_the_command_line() -> None:
    doc = ok_json("eval", "y = log(x)", "--at", "x=0", "--json")
    assert doc["value"] == "-Infinity" and doc["gradients"]["x"] == "Infinity"


def test_eval_table() -> None:
    proc = run("eval", HOMEWORK, "--at", "x=2,y=3,z=1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "w = 224"
    assert lines[1].split() == ["name", "value", "gradient"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows == {"x": ["2", "292"], "y": ["3", "120"], "z": ["1", "60"],
                    "a": ["7", "60"], "b": ["28", "8"], "w": ["224", "1"]}


def test_eval_table_with_numeric_check() -> None:
    proc = run("eval", "y = sin(x) * x", "--at", "x=0.5", "--check")
    assert proc.returncode == 0, proc.stderr
    assert "numeric" in proc.stdout


def test_vector_output_eval_json() -> None:
    doc = ok_json("eval", "y = 2 * x", "--at", "x=[1, 2]", "--json")
    assert doc["output"] == "y" and doc["value"] == [2.0, 4.0]
    assert set(doc) == {"output", "value", "values", "gradients"}


def test_jacobian_json_schema() -> None:
    doc = ok_json("jacobian", "y = W @ x", "--at", "W=[[1,2],[3,4],[5,6]],x=[1,1]", "--wrt", "x",
                  "--json")
    assert doc == {"output": "y", "wrt": "x", "shape": [3, 2],
                   "jacobian": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}
    for mode in ("forward", "reverse"):
        assert ok_json("jacobian", "y = W @ x", "--at", "W=[[1,2],[3,4],[5,6]],x=[1,1]",
                       "--wrt", "x", "--mode", mode, "--json") == doc
    doc = ok_json("jacobian", "y = W @ x", "--at", "W=[[1,2],[3,4]],x=[1,-1]", "--wrt", "W",
                  "--json")
    assert doc["shape"] == [2, 2, 2]
    assert doc["jacobian"] == [[[1.0, -1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, -1.0]]]
    doc = ok_json("jacobian", HOMEWORK, "--at", "x=2,y=3,z=1", "--wrt", "y", "--json")
    assert doc == {"output": "w", "wrt": "y", "shape": [], "jacobian": 120.0}


@pytest.mark.parametrize("args", [
    ("eval",),                                              # no PROGRAM
    ("bogus", "y = x"),                                     # unknown command
    ("eval", "y = x*2"),                                    # no value for x
    ("eval", "y = x*2", "--at", "q=1"),                     # unknown input
    ("eval", "y = x*2", "--at", "x"),                       # not NAME=VALUE
    ("eval", "y = x*2", "--at", "x=abc"),                   # not a number or JSON
    ("eval", "y = x*2", "--at", "x=[1, [2]]"),             # ragged array
    ("eval", "y = x*2", "--at", "x=1", "--inputs", "/nonexistent/point.json"),
    ("eval", "y = x*2", "--at", "x=1", "--output", "q"),
    ("eval", "y = x*2", "--at", "x=1", "--bogus-option"),
    ("eval", "missing-file.cg"),
    ("jacobian", "y = x*2", "--at", "x=1"),                 # --wrt is required
    ("jacobian", "y = x*2", "--at", "x=1", "--wrt", "q"),
    ("eval", "y = (x", "--at", "x=1"),
])
def test_bad_usage_or_program_exits_2(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") or proc.stderr.startswith("usage:")
    assert proc.stdout == ""


def test_bad_inputs_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    for path in (bad,):
        proc = run("eval", "y = x", "--inputs", str(path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lst = tmp_path / "list.json"
    lst.write_text("[1, 2]", encoding="utf-8")
    proc = run("eval", "y = x", "--inputs", str(lst))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("program, at, column", [
    ("y = W @ x", "W=[[1,2],[3,4]],x=[1,2,3]", 5),          # shapes do not fit '@'
    ("y = sum(a + b)", "a=[1,2],b=[1,2,3]", 9),             # do not broadcast
])
def test_evaluation_failure_exits_1(program: str, at: str, column: int) -> None:
    proc = run("eval", program, "--at", at, "--json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: line 1, column {column}: cannot apply")
    assert proc.stderr.count("\n") == 3                     # message, source line, carets
    assert proc.stdout == ""


def test_help_exits_0() -> None:
    proc = run("eval", "--help")
    assert proc.returncode == 0 and "--at" in proc.stdout
