"""``python -m compgraph render``: the Done-when picture, formats, file handling and errors."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from compgraph.cli import main

HOMEWORK = "a = x*y+z, b = a*(x+x), w = a*b+b"
SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compgraph", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def svg_texts(path: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(path).iter(SVG_TEXT)]


@pytest.mark.needs_dot
def test_done_when_backward_picture(tmp_path: Path) -> None:
    proc = run("render", HOMEWORK, "--at", "x=2,y=3,z=1", "--view", "backward", "-o", "w.svg",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "w.svg"
    texts = " ".join(svg_texts(tmp_path / "w.svg"))
    for label in ("x", "y", "z", "a", "b", "w"):
        assert label in svg_texts(tmp_path / "w.svg")
    for number in ("224", "292", "120", "60", "28", "32"):
        assert number in texts


@pytest.mark.needs_dot
@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_png_and_pdf(tmp_path: Path, fmt: str, magic: bytes) -> None:
    out = tmp_path / f"w.{fmt}"
    assert main(["render", HOMEWORK, "--at", "x=2,y=3,z=1", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_dot_to_stdout_needs_no_graphviz_binary(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": ""}
    proc = run("render", HOMEWORK, "--at", "x=2,y=3,z=1", "--format", "dot", cwd=tmp_path,
               env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("digraph")
    assert proc.stdout == run("render", HOMEWORK, "--at", "x=2,y=3,z=1", "--format", "dot",
                              cwd=tmp_path, env=env).stdout


def test_missing_binary_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    proc = run("render", HOMEWORK, "--at", "x=2,y=3,z=1", "-o", "w.svg", cwd=tmp_path,
               env={**os.environ, "PATH": ""})
    assert proc.returncode == 1
    assert "apt-get install graphviz" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w.svg").exists()


@pytest.mark.needs_dot
def test_without_output_file_a_name_is_chosen_and_said(tmp_path: Path) -> None:
    program = tmp_path / "hw.cg"
    program.write_text("x = 2\ny = 3\nz = 1\n" + HOMEWORK.replace(", ", "\n"))
    proc = run("render", str(program), "--view", "both", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "hw-both.svg").exists()
    assert "hw-both.svg" in proc.stderr and "hw-both.svg" in proc.stdout


def test_forward_view_without_values_draws_the_structure(capsys) -> None:
    assert main(["render", HOMEWORK, "--format", "dot"]) == 0
    out, err = capsys.readouterr()
    assert "digraph" in out and "structure only" in err


def test_output_draws_only_the_part_it_is_computed_from(capsys) -> None:
    # `--output a` of the homework graph: x, y, z and a; b and w are left out
    assert main(["render", HOMEWORK, "--at", "x=1,y=2,z=3", "--view", "backward",
                 "--output", "a", "--format", "dot"]) == 0
    part = capsys.readouterr().out
    assert "_a " in part and "_b " not in part and "_w " not in part
    assert main(["render", HOMEWORK, "--at", "x=1,y=2,z=3", "--format", "dot"]) == 0
    whole = capsys.readouterr().out
    assert "_b " in whole and "_w " in whole


@pytest.mark.parametrize("args,code,message", [
    (["--view", "backward", "--format", "dot"], 2, "no value for inputs x, y, z"),
    (["--at", "x=1,y=2,z=3", "-o", "w.txt"], 2, "suffix"),
    (["--at", "x=1,y=2,z=3", "--view", "tangent", "--wrt", "q", "--format", "dot"], 2,
     "the inputs are: x, y, z"),
    (["--at", "x=1,y=2,z=3", "--view", "sideways"], 2, "invalid choice"),
])
def test_bad_usage(args: list[str], code: int, message: str, capsys) -> None:
    assert main(["render", HOMEWORK, *args]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_non_scalar_output_has_no_backward_view(capsys) -> None:
    assert main(["render", "y = 2*x", "--at", "x=[1,2]", "--view", "backward",
                 "--format", "dot"]) == 2
    assert "scalar output" in capsys.readouterr().err


@pytest.mark.needs_dot
def test_unwritable_target_is_a_clean_error(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["render", HOMEWORK, "--at", "x=1,y=2,z=3", "-o", str(blocker / "w.svg")])
    err = capsys.readouterr().err
    assert code == 1 and "internal error" not in err and str(blocker) in err


def test_missing_output_folder_is_an_error_not_created(tmp_path: Path, capsys) -> None:
    # A mistyped folder must not silently become a new tree; the API says the same.
    out = tmp_path / "new" / "deeper" / "w.svg"
    assert main(["render", HOMEWORK, "--at", "x=1,y=2,z=3", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: cannot write {out}: the folder {out.parent} does not exist\n"
    assert list(tmp_path.iterdir()) == []


def test_options_reach_the_picture(capsys) -> None:
    base = ["render", HOMEWORK, "--at", "x=1,y=2,z=3", "--format", "dot"]
    assert main(base) == 0
    plain = capsys.readouterr().out
    assert main([*base, "--no-legend", "--rankdir", "TB", "--theme", "dark"]) == 0
    styled = capsys.readouterr().out
    assert "legend" in plain and "legend" not in styled
    assert "rankdir=LR" in plain and "rankdir=TB" in styled
    assert plain != styled


def test_library_render_and_to_dot_are_functions(tmp_path: Path) -> None:
    import compgraph as cg
    import compgraph.drawing  # noqa: F401  (importing the package must not shadow cg.render)

    g = cg.parse(HOMEWORK)
    values = cg.evaluate(g, x=2, y=3, z=1)
    grads = cg.backward(g, values)
    dot = cg.to_dot(g, "backward", values, grads)
    assert "292" in dot.source
    written = cg.render(g, tmp_path / "w.dot", "backward", values, grads)
    assert [p.name for p in written] == ["w.dot"]
    assert (tmp_path / "w.dot").read_text() == dot.source


def test_max_grid_and_automatic_direction(capsys) -> None:
    net = str(Path(__file__).resolve().parents[1] / "examples" / "two-layer-net.cg")
    base = ["render", net, "--view", "backward", "--format", "dot"]
    assert main(base) == 0
    grids = capsys.readouterr().out
    assert main([*base, "--max-grid", "2"]) == 0
    summaries = capsys.readouterr().out
    assert "sides=\"LTB\"" in grids and "3×2</font>" in summaries and "…" in summaries
    assert "rankdir=LR" in grids  # auto: the two-layer net fits a slide best left to right
    assert main([*base, "--max-grid", "-1"]) == 2
    assert "--max-grid -1" in capsys.readouterr().err
