"""Bad command-line invocations: each gets one ordinary message and the documented exit code
(2 for bad usage or input, 1 for an evaluation or writing failure, 0 with a warning where the
input is accepted), never a traceback, never "internal error", and nothing written.

The table is meant to grow: add a row for every bad invocation found. Rows run in-process
through ``compgraph.cli.main`` in a scratch folder holding the files below (``examples/``
copied from the repository, so the "did you mean" suggestions are fixed); a few that need
a real process (terminal encodings, bytes in argv, NumPy's warnings, standard input) run as
subprocesses at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compgraph.cli import main

REPO = Path(__file__).resolve().parents[1]
HW = "a = x*y+z, b = a*(x+x), w = a*b+b"
AT = ["--at", "x=2,y=3,z=1"]
DOT = ["--format", "dot"]
BIG = "1" + "0" * 5000                      # past Python's 4,300-digit int limit
HUGE = "1" + "0" * 400                      # past the largest double
DEEP = "[" * 5000 + "1" + "]" * 5000       # past the recursion limit of json
DEEP40 = "[" * 40 + "1" + "]" * 40         # past NumPy's dimensions

# The scratch folder's files: name -> bytes (None: a folder).
FILES: dict[str, bytes | None] = {
    "folder": None,
    "pic.svg": None,                                    # a folder with a picture's name
    "blocker": b"a file where a folder should be",
    "bom.cg": b"\xef\xbb\xbfy = 2*x\n",
    "latin1.cg": b"y = 2*x  # caf\xe9\n",
    "empty.cg": b"",
    "bom.json": b'\xef\xbb\xbf{"x": 2}',
    "latin1.json": b'{"x": 1, "caf\xe9": 2}',
    "bad.json": b"{not json",
    "list.json": b"[1, 2]",
    "dup.json": b'{"x": 1, "x": 2}',
    "deep.json": b'{"x": ' + DEEP.encode() + b"}",
    "deep40.json": b'{"x": ' + DEEP40.encode() + b"}",
    "big.json": b'{"x": ' + BIG.encode() + b"}",
    "huge-list.json": b'{"x": [' + HUGE.encode() + b", -" + HUGE.encode() + b"]}",
    "strings.json": b'{"x": "2"}',
}

# (argv, exit code or codes, a fragment of standard error)
ROWS: list[tuple[list[str], int | tuple[int, ...], str]] = [
    # --- PROGRAM: a path is never an expression (issue 8, item 1) ------------------------
    (["render", "examples/homework-graph", "-o", "hg.png"], 2,
     "error: no such file: examples/homework-graph (did you mean examples/homework-graph.cg?)"),
    (["eval", "two-layer-net"], 2, "no such file: two-layer-net (did you mean examples/two-layer-net.cg?)"),
    (["eval", "examples"], 2, "error: examples is a folder, not a program file"),
    (["eval", "examples/"], 2, "is a folder, not a program file"),
    (["eval", "folder", *AT], 2, "folder is a folder"),
    (["eval", "nope.cg"], 2, "error: no such file: nope.cg\n"),
    (["eval", "examples/homework-graf.cg", *AT], 2, "did you mean examples/homework-graph.cg?"),
    (["eval", "exmples/homework-graph.cg"], 2, "did you mean examples/homework-graph.cg?"),
    (["jacobian", "examples/two-layer-nett.cg", "--wrt", "x"], 2, "did you mean examples/two-layer-net.cg?"),
    (["render", "examples/two-layer-net", "-o", "net.svg"], 2, "no such file"),
    (["render", "examples/two-layer-net", *DOT], 2, "no such file"),
    (["eval", "x*y", "--at", "x=1,y=2"], 2, "neither a file nor a program"),
    (["eval", "tanh"], 2, "'tanh' is neither a file nor a program"),
    (["eval", "notes.txt"], 2, "no such file: notes.txt"),
    (["plot", "tanh", "--csv"], 2, "to plot a function, write it applied to its input"),
    (["plot", "examples/homework-graph", "--csv"], 2, "did you mean examples/homework-graph.cg?"),
    (["plot", "two-layer-net", "--csv"], 2, "did you mean examples/two-layer-net.cg?"),
    (["plot", "foo.txt", "--csv"], 2, "no such file: foo.txt"),
    (["plot", "nope/tanh(x)", "--csv"], 2, "no such file"),
    (["plot", "relu(x", "--csv"], 2, "'(' is never closed"),
    (["eval", "latin1.cg"], 2, "cannot read latin1.cg: it is not UTF-8 text (byte 0xe9 on line 1)"),
    (["eval", "empty.cg"], 2, "empty program"),
    (["eval", "bom.cg", "--at", "x=1"], 0, ""),                          # a BOM is accepted
    (["eval", "examples/nothing-like-it.cg"], 2, "error: no such file: examples/nothing-like-it.cg\n"),
    (["eval", "a\0b"], 2, "neither a file nor a program"),
    (["eval", ""], 2, "empty program"),
    (["eval", "  "], 2, "empty program"),
    # --- --at ----------------------------------------------------------------------------
    (["eval", "y = x", "--at", "x"], 2, "write NAME=VALUE"),
    # --- eval --wrt: gradients only where asked (issue 13) ----------------------------------
    (["eval", HW, *AT, "--wrt", "q"], 2, "error: cannot differentiate with respect to 'q': "
     "the program has no variable of that name; its variables are: x, y, z, a, b, w\n"),
    (["eval", HW, *AT, "--wrt", "x,aa"], 2, "'aa': the program has no variable of that name "
     "(did you mean a?)"),
    (["eval", HW, *AT, "--wrt", " , "], 2, "error: --wrt is empty: name the variables whose "
     "gradients you need, e.g. --wrt x,y\n"),
    (["eval", HW, *AT, "--wrt", "x,y,x"], 2, "error: --wrt names x twice: x, y, x\n"),
    (["eval", HW, "--wrt", "q"], 2, "cannot differentiate with respect to 'q'"),  # before --at
    (["eval", "y = x", "--at", "=1"], 2, "write NAME=VALUE"),
    (["eval", "y = x", "--at", "x="], 2, "must be a number or a JSON array"),
    (["eval", "y = x", "--at", "x=abc"], 2, "must be a number or a JSON array"),
    (["eval", "y = x", "--at", "x=0x10"], 2, "must be a number or a JSON array"),
    (["eval", "y = x", "--at", "x=[1,2"], 2, "must be a number or a JSON array"),
    (["eval", "y = x", "--at", "x=[1, [2]]"], 2, "rectangular"),
    (["eval", "y = x", "--at", "x=[]"], 2, "empty array"),
    (["eval", "y = x", "--at", "x=[[]]"], 2, "empty array"),
    (["eval", "y = x", "--at", "x=true"], 2, "expected a number"),
    (["eval", "y = x", "--at", "x=null"], 2, "expected a number"),
    (["eval", "y = x", "--at", 'x="2"'], 2, "expected a number"),
    (["eval", "y = x", "--at", "x={}"], 2, "expected a number"),
    (["eval", "y = sum(x)", "--at", f"x={DEEP}"], 2, "nested more than 32 deep"),
    (["eval", "y = sum(x)", "--at", f"x={DEEP40}"], 2, "nested more than 32 deep"),
    (["eval", "y = x", "--at", f"x={BIG}"], 0, "the value is not finite (infinite)"),
    (["eval", "y = sum(x)", "--at", f"x=[{BIG}]"], 0, "not finite (infinite)"),
    (["eval", "y = sum(x)", "--at", f"x=[{HUGE}, 1]"], 0, "not finite (infinite)"),
    (["eval", "y = x", "--at", f"x=-{HUGE}"], 0, "not finite (infinite)"),
    (["eval", "y = x", "--at", "x=1e999"], 0, "not finite (infinite)"),
    (["eval", "y = x", "--at", "x=nan"], 0, "not finite (NaN)"),
    (["eval", HW, "--at", "x=2", "--at", "x=5"], 2, "--at x is given twice (x=2 and x=5)"),
    (["eval", HW, "--at", "x=2,y=3,z=1,x=2"], 2, "given twice"),
    (["eval", "c = a*b", "--at", "a=1,bb=2"], 2, "unknown input 'bb' (did you mean b?)"),
    (["eval", HW, "--at", "x=2,y=3,z=1,a=1"], 2, "a is computed by the program, not an input"),
    (["eval", HW, "--at", "x=1"], 2, "no value for inputs y, z; give them with --at y=...,z=..."),
    (["eval", "y = 2*x"], 2, "no value for input x; give it with --at x=..."),
    (["eval", HW, *AT, "--output", "q"], 2, "no variable named 'q'"),
    # --- --inputs ------------------------------------------------------------------------
    (["eval", "y = 2*x", "--inputs", "nope.json"], 2, "--inputs nope.json: No such file"),
    (["eval", "y = 2*x", "--inputs", "folder"], 2, "is a folder, not a JSON file"),
    (["eval", "y = 2*x", "--inputs", "bad.json"], 2, "not valid JSON"),
    (["eval", "y = 2*x", "--inputs", "list.json"], 2, "expected one JSON object"),
    (["eval", "y = 2*x", "--inputs", "dup.json"], 2, "'x' is given twice"),
    (["eval", "y = 2*x", "--inputs", "deep.json"], 2, "nested more than 32 deep"),
    (["eval", "y = 2*x", "--inputs", "deep40.json"], 2, "nested more than 32 deep"),
    (["eval", "y = 2*x", "--inputs", "big.json"], 0, "not finite (infinite)"),
    (["eval", "y = sum(x)", "--inputs", "huge-list.json"], 0, "not finite"),
    (["eval", "y = 2*x", "--inputs", "latin1.json"], 2, "not UTF-8 text"),
    (["eval", "y = 2*x", "--inputs", "strings.json"], 2, "expected a number"),
    (["eval", "y = 2*x", "--inputs", "bom.json"], 0, ""),
    # --- values the rules must survive (the engine gives NaN/inf; never an internal error) -
    (["eval", "y = sin(x)", "--at", "x=inf"], 0, "not finite"),
    (["eval", "y = gelu_tanh(x)", "--at", "x=1e200"], 0, ""),
    (["eval", "y = cos(x)/1", "--at", "x=1e999"], 0, "not finite"),
    (["eval", "y = sin(x)", "--at", "x=inf", "--json", "--check"], 0, "not finite"),
    (["jacobian", "y = sin(x)", "--at", "x=inf", "--wrt", "x"], 0, "not finite"),
    (["render", "y = sin(x)", "--at", "x=-inf", "--view", "backward", *DOT], 0, "not finite"),
    (["eval", "y = sum(W @ x)", "--at", "W=[[1e200,1e200]],x=[1e200,1]"], 0, "not finite"),
    # --- render ----------------------------------------------------------------------------
    (["render", HW, *AT, "-o", "w.jpg"], 2, "cannot tell the format of 'w.jpg' from its suffix"),
    (["render", HW, *AT, "-o", "w"], 2, "cannot tell the format of 'w'"),
    (["render", HW, *AT, "-o", "nodir/w.svg"], 1,
     "error: cannot write nodir/w.svg: the folder nodir does not exist"),
    (["render", HW, *AT, "-o", "nodir/deeper/w.dot"], 1, "the folder nodir/deeper does not exist"),
    (["render", HW, *AT, "-o", "blocker/w.svg"], 1, "blocker is a file, not a folder"),
    (["render", HW, *AT, "-o", "blocker/sub/w.dot"], 1, "blocker is a file, not a folder"),
    (["render", HW, *AT, "-o", "pic.svg"], 1, "cannot write pic.svg: it is a folder"),
    (["render", HW, *AT, "--cost", "q", *DOT], 2, "--cost q: the program has no variable"),
    (["render", HW, *AT, "--cost", "ww", *DOT], 2, "(did you mean w?)"),
    (["render", HW, *AT, "--view", "sideways"], 2, "invalid choice"),
    (["render", HW, *AT, "--format", "gif"], 2, "invalid choice"),
    (["render", HW, *AT, "--rankdir", "XX"], 2, "invalid choice"),
    (["render", HW, "--view", "backward", *DOT], 2, "no value for inputs x, y, z"),
    (["render", HW, *AT, "--view", "tangent", "--wrt", "q", *DOT], 2, "the inputs are: x, y, z"),
    (["render", "y = 2*x", "--at", "x=[1,2]", "--view", "backward", *DOT], 2, "scalar output"),
    (["render", "examples/two-layer-net-def.cg", "--collapse", "--expand", "lin", *DOT], 2,
     "--expand: no call named 'lin' to expand (did you mean linear?); the calls are "
     "linear#1, f#1, linear#2, g#1, or a function's name for all of its calls: linear, f, g"),
    (["render", "examples/two-layer-net-def.cg", "--expand", "linear", *DOT], 2,
     "--expand linear: calls are drawn open unless collapsed; add --collapse"),
    (["render", HW, *AT, "--collapse", "--expand", "f", *DOT], 2,
     "the program calls no function defined with def"),
    (["render", "examples/two-layer-net-def.cg", "--view", "diff", "--against", "x=[2,1]",
      "--collapse", "-o", "d.svg"], 2, "not available in the diff view"),
    (["render", HW, *AT, *DOT, "--title", "caf\udce9"], 2,
     "--title: the argument holds bytes that are not text"),
    (["render", HW, *AT, *DOT, "--title=\udcff"], 2, "--title: the argument holds bytes"),
    (["eval", "y = 2*x", "--at", "\udcff=1"], 2, "--at: the argument holds bytes"),
    (["eval", "y\udcff = 2*x"], 2, "argument 2: the argument holds bytes"),
    # --- plot ------------------------------------------------------------------------------
    (["plot", "tanh(x)", "--points", "1000000000", "--csv"], 2, "at most 1,000,000"),
    (["plot", "tanh(x)", "--points", "1", "--csv"], 2, "need at least 2"),
    (["plot", "tanh(x)", "--points", "-5", "--csv"], 2, "need at least 2"),
    (["plot", "tanh(x)", "--points", "abc", "--csv"], 2, "invalid int value"),
    (["plot", "tanh(x)", "--range", "1,0", "--csv"], 2, "need finite LO < HI"),
    (["plot", "tanh(x)", "--range", "-1e308,1e308", "--csv"], 2, "need finite LO < HI"),
    (["plot", "tanh(x)", "--range", "-inf,0", "--csv"], 2, "need finite LO < HI"),
    (["plot", "tanh(x)", "--range", "a,b", "--csv"], 2, "write LO,HI"),
    (["plot", "x*y", "--csv"], 2, "plot draws programs of exactly one input"),
    (["plot", "sum(x)", "--csv"], 2, "mixes the samples"),
    (["plot", "tanh(x)"], 2, "plot needs -o FILE"),
    (["plot", "tanh(x)", "-o", "w.jpg"], 2, "the suffix must be one of"),
    (["plot", "tanh(x)", "-o", "nodir/w.svg"], 1, "the folder nodir does not exist"),
    # --- flags and commands ---------------------------------------------------------------
    ([], 2, "the following arguments are required"),
    (["bogus", "y = x"], 2, "invalid choice"),
    (["eval"], 2, "the following arguments are required: PROGRAM"),
    (["eval", "y = x", "--at", "x=1", "--bogus-option"], 2, "unrecognized arguments"),
    (["jacobian", "y = 2*x", "--at", "x=1"], 2, "--wrt is required"),
    (["jacobian", "y = 2*x", "--at", "x=1", "--wrt", "q"], 2, "no variable of that name"),
    (["jacobian", "y = 2*x", "--at", "x=1", "--wrt", "x", "--mode", "sideways"], 2, "invalid choice"),
    # --- the language, through the command line -------------------------------------------
    (["eval", "y = x^2", "--at", "x=1"], 2, "for a power write **"),
    (["eval", "y = 1_ + x", "--at", "x=1"], 2, "between two digits"),
    (["eval", "y = 1__0*x", "--at", "x=1"], 2, "between two digits"),
    (["eval", "x = 1\ny = sin(x + 2\nz = y*2"], 2, "line 2, column 8: '(' is never closed"),
    (["eval", "y = relu(x, slope=0.1)", "--at", "x=1"], 2, "keyword"),
    (["eval", "y = rleu(x)", "--at", "x=1"], 2, "did you mean 'relu'?"),
]


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    for name, data in FILES.items():
        if data is None:
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _id(argv: list[str]) -> str:
    text = " ".join(argv)
    return (text[:70] + "...") if len(text) > 70 else text


@pytest.mark.parametrize("argv, code, fragment", ROWS, ids=[_id(r[0]) for r in ROWS])
def test_bad_invocation(argv: list[str], code: int | tuple[int, ...], fragment: str,
                        scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = listing(scratch)
    got = main(list(argv))
    out, err = capsys.readouterr()
    assert got in (code if isinstance(code, tuple) else (code,)), (got, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert fragment in err, err
    if got:
        assert err.startswith("error: ") or "\nerror: " in err, err
        assert err.rstrip("\n").split("\n")[-1].strip(), err     # no trailing empty message
        assert out == ""
    assert listing(scratch) == before                             # nothing written


def test_a_missing_absolute_path_is_suggested_in_the_same_spelling(scratch: Path, capsys) -> None:
    missing = scratch / "examples" / "homework-grap.cg"
    assert main(["eval", str(missing)]) == 2
    assert capsys.readouterr().err == (f"error: no such file: {missing} (did you mean "
                                       f"{scratch / 'examples' / 'homework-graph.cg'}?)\n")


@pytest.mark.parametrize("raised, code, message", [
    (ValueError("math domain error"), 1, "error: arithmetic failed at these values (math domain error)"),
    (OverflowError(34, "Numerical result out of range"), 1,
     "error: arithmetic failed at these values (Numerical result out of range)"),
    (ValueError("something else"), 1, "error: internal error (ValueError: something else)"),
])
def test_a_rule_that_still_raises_is_an_ordinary_message(raised: Exception, code: int, message: str,
                                                        monkeypatch, capsys) -> None:
    # The engine's rules give inf or NaN; should one raise, the user still gets one line,
    # and only what is not arithmetic is called a bug.
    import compgraph.cli

    def rule(*_args, **_kw):
        raise raised

    monkeypatch.setattr(compgraph.cli, "backward", rule)
    assert main(["eval", "y = sin(x)", "--at", "x=1"]) == code
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_the_table_covers_every_command() -> None:
    assert len(ROWS) >= 60
    assert {argv[0] for argv, _, _ in ROWS if argv} == {"eval", "jacobian", "render", "plot", "bogus"}


# --- through a real process: encodings, argv bytes, NumPy's warnings, standard input -------

def run(args: list[str | bytes], env: dict[str, str] | None = None,
        stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compgraph", *args], capture_output=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, input=stdin, timeout=120)


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_a_terminal_that_cannot_show_the_name(encoding: str) -> None:
    proc = run(["eval", "α = 2*x", "--at", "x=1"], {"PYTHONIOENCODING": encoding})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("ascii").splitlines()[0] == "\\u03b1 = 2"   # escaped, not lost
    proc = run(["eval", "ŷ = 2*x", "--at", "x=1", "--json"], {"PYTHONIOENCODING": encoding})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.decode("ascii"))["values"] == {"x": 1.0, "ŷ": 2.0}


def test_dot_is_utf8_whatever_the_terminal() -> None:
    utf8 = run(["render", "ŷ = 2*x", "--at", "x=1", "--format", "dot"])
    ascii_ = run(["render", "ŷ = 2*x", "--at", "x=1", "--format", "dot"], {"PYTHONIOENCODING": "ascii"})
    assert ascii_.returncode == 0 and b"internal error" not in ascii_.stderr, ascii_.stderr
    assert ascii_.stdout == utf8.stdout and "ŷ".encode() in ascii_.stdout


def test_bytes_that_are_not_text_in_argv() -> None:
    proc = run(["render", "y = 2*x", "--at", "x=1", "--format", "dot", "--title", b"caf\xe9"],
               {"LC_ALL": "C.UTF-8"})
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.startswith(b"error: --title: the argument holds bytes that are not text")
    assert b"b'caf\\xe9'" in proc.stderr and b"Traceback" not in proc.stderr


def test_numpy_warnings_do_not_leak() -> None:
    for args in (["eval", "y = sum(W @ x)", "--at", "W=[[1e200,1e200]],x=[1e200,1]"],
                 ["eval", "C = mse(a, b)", "--at", "a=[1e200],b=[0]"],
                 ["eval", "y = sum(sqrt(x))", "--at", "x=[0,1]"]):
        proc = run(args)
        err = proc.stderr.decode()
        assert proc.returncode == 0 and "RuntimeWarning" not in err, err
        assert err.count("warning:") <= 1, err                     # the project's one report


def test_standard_input_with_a_bom_and_without_utf8() -> None:
    proc = run(["eval", "-", "--at", "x=1"], stdin=b"\xef\xbb\xbfy = 2*x\n")
    assert proc.returncode == 0 and proc.stdout.decode().startswith("y = 2\n"), proc.stderr
    proc = run(["eval", "-", "--at", "x=1"], stdin=b"y = 2*x # caf\xe9\n")
    assert proc.returncode == 2
    assert proc.stderr == b"error: cannot read standard input: it is not UTF-8 text (byte 0xe9 on line 1)\n"


def test_render_reads_standard_input_once() -> None:
    # Without values the forward view falls back to the structure: PROGRAM is not read again.
    proc = run(["render", "-", "--format", "dot"], stdin=b"y = 2*x\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"digraph") and b"structure only" in proc.stderr
