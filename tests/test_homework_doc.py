"""docs/homework.md and docs/views.md cannot go stale: every ``$ python -m compgraph ...``
line in their ```console blocks is run, and its output compared with the lines shown under it.

Conventions of the blocks:
- the lines after a command, up to the next command or the end of the block, are its
  output (standard output, then standard error); numbers are compared to 1e-9 relative,
  everything else exactly; a line ``...`` stands for any number of lines;
- a command whose shown output has an ``error:`` line must fail; every other must succeed;
- ```console render: the block renders graphs. It runs once the ``render`` command is
  wired (compgraph/render_cli.py exists) and Graphviz's ``dot`` is installed; its output
  is not compared, but each ``-o`` file must be written (a ``-o FOLDER/`` must hold files).

Commands run in a scratch folder holding a link to examples/ and an empty renders/, so
the files they write never touch the repository.
"""

from __future__ import annotations

import math
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from compgraph import cli

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "homework.md"
DOCS = (DOC, ROOT / "docs" / "views.md")
PROMPT = "$ python -m compgraph "


@dataclass
class Command:
    doc: str
    line: int
    argv: list[str]
    expected: list[str]
    render: bool


def commands(text: str, doc: str = "homework.md") -> list[Command]:
    found: list[Command] = []
    in_block, render = False, False
    current: Command | None = None
    for n, line in enumerate(text.splitlines(), 1):
        fence = line.strip()
        if not in_block and fence.startswith("```console"):
            in_block, render = True, "render" in fence.split()[1:]
            continue
        if in_block and fence == "```":
            in_block, current = False, None
            continue
        if not in_block:
            continue
        if line.startswith(PROMPT):
            current = Command(doc, n, shlex.split(line[len(PROMPT):], comments=True), [],
                              render)
            found.append(current)
        elif line.startswith("$ "):
            raise AssertionError(f"docs/{doc}:{n}: only python -m compgraph commands "
                                 f"can be checked: {line}")
        elif current is not None:
            current.expected.append(line)
    return found


ALL = [c for doc in DOCS for c in commands(doc.read_text(encoding="utf-8"), doc.name)]

_TOKEN = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|\S")


def same_line(got: str, want: str) -> bool:
    if got.rstrip() == want.rstrip():
        return True
    a, b = _TOKEN.findall(got), _TOKEN.findall(want)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if not (math.isclose(fx, fy, rel_tol=1e-9, abs_tol=1e-12)
                or (math.isnan(fx) and math.isnan(fy))):
            return False
    return True


def matches(got: list[str], want: list[str]) -> bool:
    """Line by line, with ``...`` matching any run of lines."""
    if not want:
        return not got
    if want[0] == "...":
        return any(matches(got[k:], want[1:]) for k in range(len(got) + 1))
    return bool(got) and same_line(got[0], want[0]) and matches(got[1:], want[1:])


def test_the_walkthrough_has_commands_of_every_kind() -> None:
    kinds = {c.argv[0] for c in ALL if c.doc == "homework.md"}
    assert {"eval", "jacobian", "plot", "render", "backprop", "train"} <= kinds
    assert any("renders/activation-derivatives.svg" in c.argv for c in ALL)


def test_the_views_page_runs_every_explaining_command() -> None:
    mine = [c for c in ALL if c.doc == "views.md"]
    assert {"paths", "table", "eval", "render"} <= {c.argv[0] for c in mine}
    views = {c.argv[c.argv.index("--view") + 1] for c in mine if "--view" in c.argv}
    assert {"paths", "check", "heatmap"} <= views
    assert {"csv", "tex"} <= {c.argv[c.argv.index("--format") + 1] for c in mine
                              if "--format" in c.argv}


@pytest.fixture()
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    (tmp_path / "renders").mkdir()  # as in the repository
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ALL,
                         ids=[f"{Path(c.doc).stem}-line{c.line}-{c.argv[0]}" for c in ALL])
def test_command(command: Command, scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if command.render:
        if not (ROOT / "compgraph" / "render_cli.py").exists():
            pytest.skip("the render command is not wired yet (compgraph/render_cli.py)")
        if not shutil.which("dot"):
            pytest.skip("Graphviz's dot is not installed")
    if ("plot" == command.argv[0] or "--plot" in command.argv) and any(
            a.endswith((".svg", ".png", ".pdf")) for a in command.argv):
        pytest.importorskip("matplotlib")
    code = cli.main(command.argv)
    out, err = capsys.readouterr()
    got = (out + err).splitlines()
    where = f"docs/{command.doc}:{command.line}: {shlex.join(command.argv)}"
    fails = any(line.startswith("error:") for line in command.expected)
    assert (code != 0) == fails, f"{where}\nexit {code}\n{out}{err}"
    if command.render:
        for k, arg in enumerate(command.argv):
            if arg in ("-o", "--out"):
                written = scratch / command.argv[k + 1]
                if command.argv[k + 1].endswith("/"):
                    assert written.is_dir() and any(written.iterdir()), where
                    continue
                assert written.is_file() and written.stat().st_size > 0, where
        return
    expected = list(command.expected)
    while expected and not expected[-1].strip():
        expected.pop()
    assert matches(got, expected), (
        f"{where}\n--- shown in the doc ---\n" + "\n".join(expected)
        + "\n--- printed now ---\n" + "\n".join(got))


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_picture_linked_is_one_the_walkthrough_or_render_script_makes(doc: Path) -> None:
    from compgraph.gallery import examples, views_of

    text = doc.read_text(encoding="utf-8")
    linked = re.findall(r"\]\(\.\./(renders/[^)]+)\)", text)
    assert linked
    made = {a for c in ALL for a in c.argv if a.startswith("renders/")}
    by_script = {f"renders/{p.stem}-{v}.svg" for p in examples(ROOT / "examples")
                 for v in views_of(p)}
    for path in linked:
        assert path in made or path in by_script, f"{path}: nothing makes this picture"
        assert (ROOT / path).is_file() or path in made, f"{path} is not in renders/"
