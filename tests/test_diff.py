"""render --view diff: one evaluation drawn and marked where it differs from another."""

from __future__ import annotations

import contextlib
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph.cli import main
from compgraph.drawing.diff import MARKS, diff_svg, mark
from compgraph.steps import training_step

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = ROOT / "examples" / "homework-graph.cg"
SVG = "{http://www.w3.org/2000/svg}"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def marked(svg: str) -> dict[str, list[tuple[str, str]]]:
    """The numbers of a diff picture by mark: (text, tooltip) under each box colour. A
    number is a text, or an annotation group of texts; a marked one follows its box."""
    root = ET.fromstring(svg)
    found: dict[str, list[tuple[str, str]]] = {"changed": [], "flipped": [], "plain": []}
    for parent in root.iter():
        if "annotation" in parent.get("class", ""):
            continue  # its texts are read with the group
        children = list(parent)
        for k, el in enumerate(children):
            number = (el.tag == f"{SVG}text" and el.get("fill")) or "annotation" in el.get("class", "")
            if not number:
                continue
            before = children[k - 1] if k else None
            kind = "plain"
            if before is not None and before.tag == f"{SVG}rect" and before.get("rx") == "2.5":
                kind = next(name for name, (fill, _) in MARKS.items() if before.get("fill") == fill)
            tip = el.find(f"{SVG}title")
            text = "".join(t.text or "" for t in el.iter(f"{SVG}text")).strip()
            found[kind].append((text, tip.text if tip is not None else ""))
    return found


def test_marks() -> None:
    assert mark(1.0, 1.0 + 1e-12) is None
    assert mark(1.0, 1.5) == "changed" and mark(-1.0, 1.5) == "flipped"
    assert mark(np.array([1.0, 2.0]), np.array([1.0, -2.0])) == "flipped"
    assert mark(np.array([1.0, 2.0]), np.array([1.0, 2.0])) is None
    assert mark(float("nan"), float("nan")) is None


def test_marks_of_two_numbers_are_those_of_their_arrays() -> None:
    """Two floats take a path of their own (no NumPy): the same answers as 0-d arrays."""
    specials = [0.0, -0.0, 1.0, -1.0, 1.0 + 1e-12, 1.0 + 1e-8, 1e-300, -1e-300, 1e300,
                float("inf"), float("-inf"), float("nan"), 2.0, -2.0, 3.5]
    for a in specials:
        for b in specials:
            assert mark(a, b) == mark(np.array(a), np.array(b)), (a, b)
            assert mark(np.float64(a), np.float64(b)) == mark(np.array(a), np.array(b))


@pytest.mark.needs_dot
def test_diff_marks_what_changed_and_sign_flips() -> None:
    g = cg.parse(HOMEWORK.read_text(encoding="utf-8"))
    now, before = cg.evaluate(g, x=2, y=3, z=1), cg.evaluate(g, x=-1, y=3, z=1)
    svg = diff_svg(now, cg.backward(g, now), before, cg.backward(g, before), legend=False)
    found = marked(svg)
    plain = [t for t, _ in found["plain"]]
    flipped = dict(found["flipped"])
    changed = dict(found["changed"])
    # y and z did not move: their values stay unmarked (on the nodes and on their edges).
    assert plain.count("3") >= 2 and plain.count("1") >= 2
    # x went from -1 to 2: its value flipped sign; so did w (−4 → 224); dw/dx grew (22 → 292).
    assert flipped["2"].startswith("was −1, change +3")
    assert flipped["224"] == "was −4, change +228"
    assert changed["292 = 180 + 56 + 56"].startswith("was 22")
    text = " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert "x −1 → 2 (sign)" in text and "x̄ 22 → 292" in text and "against x = −1" in text


@pytest.mark.needs_dot
def test_diff_keeps_the_layout_of_the_both_view(tmp_path: Path) -> None:
    both = tmp_path / "both.svg"
    diff = tmp_path / "diff.svg"
    assert run("render", str(HOMEWORK), "--view", "both", "--no-legend", "-o", str(both))[0] == 0
    code, _, err = run("render", str(HOMEWORK), "--view", "diff", "--against", "x=1", "-o", str(diff))
    assert code == 0, err

    def centres(path: Path) -> list[tuple[str, str]]:
        return sorted((e.get("cx"), e.get("cy")) for e in ET.parse(path).getroot().iter(f"{SVG}ellipse"))

    assert centres(both) == centres(diff) and len(centres(both)) == 9


def test_diff_with_output_draws_and_lists_only_its_part(tmp_path: Path) -> None:
    # the homework graph up to a = x*y + z: x, y, z and a drawn, b and w nowhere
    out = tmp_path / "a.svg"
    code, _, err = run("render", str(HOMEWORK), "--view", "diff", "--against", "x=1",
                       "--output", "a", "-o", str(out))
    assert code == 0, err
    root = ET.parse(out).getroot()
    assert len(list(root.iter(f"{SVG}ellipse"))) == 5  # x, y, z, x*y and a (of 9)
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "a at x = 2" in text and "a 4 → 7" in text
    assert "x 1 → 2 · ȳ 1 → 2 · a 4 → 7" in text  # the changes listed: none of b or w
    assert "· b " not in text and "· w " not in text


@pytest.mark.needs_dot
def test_diff_of_one_training_step(tmp_path: Path) -> None:
    out = tmp_path / "step.svg"
    code, printed, err = run("render", str(ROOT / "examples" / "sigmoid-neuron.cg"), "--view", "diff",
                             "--train-step", "0.5", "--train", "w0,w1,w2", "-o", str(out))
    assert code == 0, err
    svg = out.read_text(encoding="utf-8")
    text = " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert "after one training step (rate 0.5)" in text
    assert "against w0 = 2, x0 = −1, w1 = −3, x1 = −2, w2 = −3" in text
    assert "x0 −1 →" not in text and "w0 2 → 2.098" in text  # data inputs do not move
    assert "f 0.7311 → 0.6011" in text


def test_training_step_is_gradient_descent() -> None:
    g = cg.parse("L = (w*x - y)**2")
    values = cg.evaluate(g, w=1, x=2, y=3)
    grads = cg.backward(g, values)
    point = training_step(g, values, 0.1)
    assert point == pytest.approx({n: values.inputs[n] - 0.1 * grads[n] for n in ("w", "x", "y")})
    assert training_step(g, values, 0.1, ["w"])["x"] == 2.0
    with pytest.raises(cg.InputError, match="cannot train 'q'.*inputs are: w, x, y"):
        training_step(g, values, 0.1, ["q"])


@pytest.mark.parametrize("argv,message", [
    (["render", "w = x*y", "--at", "x=1,y=2", "--view", "diff"], "give --against NAME=VALUE"),
    (["render", "w = x*y", "--at", "x=1,y=2", "--against", "x=2"], "add --view diff"),
    (["render", "w = x*y", "--at", "x=1,y=2", "--view", "diff", "--against", "x=2",
      "--train-step", "0.1"], "one of them"),
    (["render", "w = x*y", "--at", "x=1,y=2", "--view", "diff", "--against", "x=2",
      "--format", "dot"], "drawn as SVG"),
    (["render", "h = W @ x", "--at", "W=[[1,2],[3,4]],x=[1,1]", "--view", "diff",
      "--against", "x=[0,1]"], "needs a scalar output"),
    (["render", "w = x*y", "--at", "x=1,y=2", "--view", "diff", "--train-step", "0.1",
      "--train", "q"], "cannot train 'q'"),
])
def test_diff_mistakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str],
                       message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(*argv)
    assert code == 2 and message in err, err
    assert not list(tmp_path.iterdir())
