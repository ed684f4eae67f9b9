"""What a command line run loads and how it leaves (issue 13: render latency).

A ``render`` pays for every module it imports and for tearing the interpreter down; these
tests hold what was taken out of its path. Times are measured in bench/bench_render.py
(--latency), never here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HOMEWORK = REPO / "examples" / "homework-graph.cg"

# Modules a render of the homework graph does not need: other commands' (the walkthrough,
# training, backprop's program, path sums, node checks, the trace table), what only a NaN,
# a PNG or a misspelt name needs, and standard modules that only other options use.
NOT_FOR_RENDER = (
    "compgraph.steps", "compgraph.train", "compgraph.pathsum", "compgraph.nodecheck",
    "compgraph.tracing", "compgraph.nonfinite", "compgraph.backprop",
    "compgraph.paths_cli", "compgraph.table_cli", "compgraph.commands",
    "compgraph.drawing.convert", "compgraph.drawing.stepper", "compgraph.drawing.film",
    "html", "json", "csv", "difflib", "tempfile", "random", "shutil", "heapq",
)


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(sorted(sys.modules))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(ast.literal_eval(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.needs_dot
def test_render_loads_only_what_it_draws_with(tmp_path: Path) -> None:
    out = tmp_path / "w.svg"
    code = ("import contextlib, io\nfrom compgraph.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['render', {str(HOMEWORK)!r}, '--view', 'backward', "
            f"'-o', {str(out)!r}]) == 0")
    loaded = _modules_after(code)
    assert out.read_bytes().startswith(b"<?xml")  # the probe did draw and write
    # What the dependencies load themselves is theirs (numpy 1.22 and graphviz 0.20 import
    # json and random): only what compgraph adds to them counts.
    theirs = _modules_after("import numpy, graphviz")
    assert sorted((loaded - theirs) & set(NOT_FOR_RENDER)) == []


def test_the_command_being_run_is_the_only_one_built() -> None:
    from compgraph.cli import build_parser

    whole = build_parser()
    one = build_parser("render")
    commands = next(a for a in whole._actions if a.dest == "command").choices
    assert "render" in commands and "train" in commands
    assert list(next(a for a in one._actions if a.dest == "command").choices) == ["render"]
    # Not a command: the whole parser, so that the error lists every choice.
    assert (list(next(a for a in build_parser("rendr")._actions
                      if a.dest == "command").choices) == list(commands))
    args = one.parse_args(["render", "w = x*y", "--view", "backward"])
    assert args.view == "backward" and args.func.__name__ == "cmd_render"


def test_a_mistyped_command_still_lists_every_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "compgraph", "rendr", "w = x"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert "invalid choice: 'rendr'" in proc.stderr
    for name in ("eval", "render", "steps", "paths", "table", "backprop", "train"):
        assert f"'{name}'" in proc.stderr


def test_lazy_names_are_the_functions_even_after_their_modules_are_imported() -> None:
    code = ("import compgraph as cg\nimport compgraph.backprop, compgraph.evaluate, "
            "compgraph.steps, compgraph.train\n"
            "assert callable(cg.backprop) and callable(cg.evaluate), (cg.backprop, cg.evaluate)\n"
            "assert cg.walkthrough.__module__ == 'compgraph.steps'\n"
            "assert cg.sgd.__module__ == 'compgraph.train'\n"
            "assert set(cg.__all__) <= set(dir(cg))\n"
            "for name in cg.__all__:\n    getattr(cg, name)")
    assert "compgraph.steps" in _modules_after(code)


def test_import_compgraph_loads_nothing_until_a_name_is_used() -> None:
    loaded = _modules_after("import compgraph")
    assert sorted(m for m in loaded if m.startswith("compgraph.")) == [
        "compgraph.errors", "compgraph.version"]
    assert "numpy" not in loaded


def _python_m(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compgraph", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def test_python_m_leaves_with_the_exit_code_and_all_output_written() -> None:
    ok = _python_m("eval", "w = x*y", "--at", "x=2,y=3", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["value"] == 6.0
    bad = _python_m("eval", "w = x*", "--at", "x=2")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    # Block-buffered standard output (a pipe) is flushed before the process leaves.
    many = "\n".join(f"v{i} = x*{i}" for i in range(2000))
    dot = _python_m("render", many, "--at", "x=1", "--format", "dot")
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.rstrip().endswith("}") and len(dot.stdout) > 100_000


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pipe closed by its reader")
def test_python_m_is_quiet_when_the_reader_leaves_early() -> None:
    many = "\n".join(f"v{i} = x*{i}" for i in range(2000))
    proc = subprocess.run(f"{sys.executable} -m compgraph render - --at x=1 --format dot"
                          " | head -c 10", shell=True, input=many, capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert proc.stdout == "digraph co"
    assert "Exception" not in proc.stderr and "Error" not in proc.stderr, proc.stderr


class _Stream:
    def __init__(self, error: type[OSError] | None = None) -> None:
        self.error, self.flushed = error, False

    def flush(self) -> None:
        self.flushed = True
        if self.error is not None:
            raise self.error()


@pytest.mark.parametrize("error, code, left", [(None, 2, 2), (None, 0, 0),
                                               (BrokenPipeError, 0, 0), (OSError, 0, 1),
                                               (OSError, 2, 2)])
def test_run_flushes_the_streams_and_leaves_without_teardown(
        monkeypatch: pytest.MonkeyPatch, error: type[OSError] | None, code: int,
        left: int) -> None:
    """``python -m compgraph`` ends in os._exit (no teardown) with main's exit code, once
    standard output and error are flushed; standard output that cannot be written (a full
    disk) is a failure, a reader that left is not."""
    import compgraph.__main__ as entry

    exits: list[int] = []
    out, err = _Stream(error), _Stream()
    monkeypatch.setattr(entry, "main", lambda: code)
    monkeypatch.setattr(entry.os, "_exit", exits.append)
    monkeypatch.setattr(entry.sys, "stdout", out)
    monkeypatch.setattr(entry.sys, "stderr", err)
    entry.run()
    assert exits == [left]
    assert out.flushed and err.flushed
