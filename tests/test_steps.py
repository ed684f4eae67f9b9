"""Backprop step by step: the walkthrough, the frames, the HTML page, worksheets, the commands."""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph.cli import main
from compgraph.drawing.film import HOT_COLOR
from compgraph.drawing.stepper import stepper
from compgraph.drawing.worksheet import PAPERS, worksheet_svg
from compgraph.steps import FORWARD, friendly_inputs, walkthrough

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = ROOT / "examples" / "homework-graph.cg"
SVG = "{http://www.w3.org/2000/svg}"


def homework(**point: float):
    g = cg.parse(HOMEWORK.read_text(encoding="utf-8"))
    return g, cg.evaluate(g, point or None)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def texts_of(svg: str) -> list[str]:
    """Every piece of text a reader (or a tooltip) could see in an SVG."""
    root = ET.fromstring(svg)
    found = [t for el in root.iter() for t in (el.text, el.get("title"),
                                               el.get("{http://www.w3.org/1999/xlink}title")) if t]
    return [t.strip() for t in found if t.strip()]


# --- the walkthrough ----------------------------------------------------------------------------

def test_homework_walkthrough_visits_every_node_once_per_pass() -> None:
    g, values = homework(x=2, y=3, z=1)
    walk = walkthrough(g, values)
    assert [s.node for s in walk.forward] == list(range(len(g.nodes)))
    assert [s.node for s in walk.backward] == list(reversed(range(len(g.nodes))))
    assert [s.number for s in walk.steps] == list(range(1, 19))
    grads = cg.backward(g, values)
    for s in walk.backward:
        assert s.value == grads.of(s.node)
        if not s.seed:  # the gradient is the sum of what reaches it
            assert math.isclose(sum(t.carried for t in s.terms), s.value)
            for t in s.terms:
                assert math.isclose(t.upstream * t.local, t.carried)
    assert walk.backward[0].seed and walk.backward[0].node == g.output
    assert walk.steps[-1].value == 292.0


def test_known_from_the_step_that_computes_it() -> None:
    g, values = homework(x=2, y=3, z=1)
    walk = walkthrough(g, values)
    for s in walk.steps:
        if s.phase == FORWARD:
            assert walk.value_step[s.node] == s.number
            # every operand is known before
            assert all(walk.value_step[j] < s.number for j in g.nodes[s.node].operands)
        else:
            assert walk.gradient_step[s.node] == s.number
            # every consumer's gradient is known before: it reaches this node
            assert all(walk.gradient_step[t.consumer] < s.number for t in s.terms)


def test_constants_and_dead_code() -> None:
    g = cg.parse("u = 3*x, v = x*x, w = u + 1")  # v does not reach w
    walk = walkthrough(g, cg.evaluate(g, x=2))
    consts = [n.id for n in g.nodes if n.kind == "const"]
    assert all(walk.value_step[i] == 0 and walk.gradient_step[i] is None for i in consts)
    v = g.latest["v"]
    assert walk.value_step[v] > 0 and walk.gradient_step[v] is None
    assert all(s.node not in consts for s in walk.steps)


def test_array_output_needs_a_scalar() -> None:
    g = cg.parse("h = W @ x")
    with pytest.raises(cg.InputError, match="scalar output.*sum"):
        walkthrough(g, cg.evaluate(g, W=[[1, 2], [3, 4]], x=[1, 1]))


def test_arrays_step_through_with_their_shares() -> None:
    g = cg.parse("h = W @ x, C = sum(h*h)")
    walk = walkthrough(g, cg.evaluate(g, W=[[1, 2], [3, 4]], x=[1, 1]))
    s = stepper(g, walk.values)
    w_bar = s.texts[[st.node for st in walk.steps].index(g.latest["W"], len(walk.forward))]
    assert w_bar.startswith("W̄ = ") and "[[6, 6], [14, 14]]" in w_bar


# --- the arithmetic ------------------------------------------------------------------------------

def test_step_texts_of_the_homework() -> None:
    g, values = homework(x=2, y=3, z=1)
    s = stepper(g, values)
    assert s.texts[:9] == [
        "x = 2", "y = 3", "z = 1", "x · y = 2 · 3 = 6", "a = x · y + z = 6 + 1 = 7",
        "x + x = 2 + 2 = 4", "b = a · (x + x) = 7 · 4 = 28", "a · b = 7 · 28 = 196",
        "w = a · b + b = 196 + 28 = 224"]
    assert s.texts[9:] == [
        "w̄ = 1 (the seed: ∂w/∂w)", "∂w/∂(a · b) = 1·1 = 1", "b̄ = 1·1 + 1·7 = 8",
        "∂w/∂(x + x) = 8·7 = 56", "ā = 1·28 + 8·4 = 60", "∂w/∂(x · y) = 60·1 = 60",
        "z̄ = 60·1 = 60", "ȳ = 60·2 = 120", "x̄ = 56·1 + 56·1 + 60·3 = 292"]


def test_negative_numbers_and_functions_read_right() -> None:
    g = cg.parse("s = x - y, f = tanh(s)*(-2)")
    texts = stepper(g, cg.evaluate(g, x=1, y=-1)).texts
    assert "s = x − y = 1 − (−1) = 2" in texts
    assert any(t.startswith("tanh(s) = tanh(2) = 0.964") for t in texts)
    assert "f = tanh(s) · (−2) = 0.964 · (−2) = −1.928" in texts
    assert "ȳ = (−0.1413)·(−1) = 0.1413" in texts


def test_parameters_subscripts_and_constant_arrays_are_written_as_in_the_language() -> None:
    g = cg.parse("L = cross_entropy(softmax(z), [0, 1, 0]) + (x + y)[0]*2 + sum(W, axis=0)[1]")
    texts = stepper(g, cg.evaluate(g, z=[1, 2, 3], x=[1, 2], y=[3, 4], W=[[1, 2], [3, 4]])).texts
    assert "(x + y)[0] = 4" in texts and "sum(W, axis=0) = [4, 6]" in texts
    assert "cross_entropy(softmax(z), [0, 1, 0]) = 1.218" in texts
    assert "W̄ = [[0, 1], [0, 1]]" in texts


# --- frames --------------------------------------------------------------------------------------

def positions(svg: str) -> tuple[tuple, dict[str, tuple[float, float]]]:
    """The frame's size and transforms, and the centre of every node's shape."""
    root = ET.fromstring(svg)
    frame = (root.get("width"), root.get("height"), root.get("viewBox"),
             tuple(g.get("transform") for g in root.iter(f"{SVG}g") if g.get("transform")))
    centres = {}
    for g in root.iter(f"{SVG}g"):
        name = g.get("data-cg")
        if not name or "->" in name:
            continue
        shapes = [el for el in g.iter() if el.tag in (f"{SVG}ellipse", f"{SVG}path",
                                                       f"{SVG}polygon")]
        shape = next((el for el in shapes if el.tag == f"{SVG}ellipse"), shapes[0] if shapes else None)
        if shape is None:
            continue
        if shape.tag == f"{SVG}ellipse":
            centres[name] = (float(shape.get("cx")), float(shape.get("cy")))
        else:
            numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?",
                                                     shape.get("d") or shape.get("points"))]
            xs, ys = numbers[0::2], numbers[1::2]
            centres[name] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    return frame, centres


def highlighted(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {g.get("data-cg") for g in root.iter(f"{SVG}g")
            if g.get("data-cg") and "->" not in g.get("data-cg")
            and any(el.get("stroke") == HOT_COLOR["light"] for el in g.iter())}


@pytest.mark.needs_dot
def test_steps_command_writes_a_frame_per_node_per_pass_all_in_one_layout(tmp_path: Path) -> None:
    code, out, err = run("steps", str(HOMEWORK), "--at", "x=2,y=3,z=1", "-o", str(tmp_path / "f/"))
    assert code == 0, err
    frames = sorted((tmp_path / "f").glob("step-*.svg"))
    assert out.split() == [str(p) for p in frames]
    g, values = homework()
    walk = walkthrough(g, values)
    assert len(frames) == len(walk) == 2 * len(g.nodes)
    svgs = [p.read_text(encoding="utf-8") for p in frames]
    first = positions(svgs[0])
    assert len(first[1]) == len(g.nodes) + sum(n.kind == "op" for n in g.nodes)  # circles and blocks
    for svg in svgs[1:]:
        assert positions(svg) == first
    # One frame per node in each pass: each frame highlights its node (and its block).
    forward = [highlighted(svg) for svg in svgs[:len(walk.forward)]]
    backward = [highlighted(svg) for svg in svgs[len(walk.forward):]]
    var_ids = [next(k for k in first[1] if re.match(rf"v{i}(_|$)", k)) for i in range(len(g.nodes))]
    assert [var_ids[i] in hot for i, hot in enumerate(forward)] == [True] * len(g.nodes)
    assert [hot & set(var_ids) for hot in backward] == [{var_ids[i]} for i in reversed(range(len(g.nodes)))]
    # Each frame shows its arithmetic and only the numbers known by then.
    assert "a = x · y + z = 6 + 1 = 7" in texts_of(svgs[4])
    assert "224" not in texts_of(svgs[7]) and "224" in texts_of(svgs[8])
    assert not any("292" in t for t in texts_of(svgs[-2]))
    assert "x̄ = 56·1 + 56·1 + 60·3 = 292" in texts_of(svgs[-1])
    assert "292 = 180 + 56 + 56" in texts_of(svgs[-1])


@pytest.mark.needs_dot
def test_frames_reveal_numbers_step_by_step() -> None:
    g, values = homework(x=2, y=3, z=1)
    s = stepper(g, values)
    film = s.film
    colors = film.colors
    counts = []
    for n in range(1, len(s) + 1):
        root = ET.fromstring(s.frame(n))
        fills = [el.get("fill") for el in root.iter(f"{SVG}text")]
        counts.append((fills.count(colors["value"]), fills.count(colors["gradient"])))
        assert "data-show" not in s.frame(n)  # the working tags are gone
    values_shown = [v for v, _ in counts]
    grads_shown = [gr for _, gr in counts]
    assert values_shown == sorted(values_shown) and grads_shown == sorted(grads_shown)
    assert grads_shown[len(s.walk.forward) - 1] == 0 < grads_shown[len(s.walk.forward)]
    # Every number of the full picture is tagged (itself or its annotation group): none is
    # shown before its step by mistake.
    parents = {child: parent for parent in film.root.iter() for child in parent}

    def tagged(el) -> bool:
        while el is not None:
            if el.get("data-show"):
                return True
            el = parents.get(el)
        return False

    full = [el for el in film.root.iter("text") if el.get("fill") in (colors["value"], colors["gradient"])]
    assert full and all(tagged(el) for el in full)


@pytest.mark.needs_dot
def test_frames_have_no_tooltips_that_tell_the_future() -> None:
    g, values = homework(x=2, y=3, z=1)
    frame = stepper(g, values).frame(1)
    assert "title" not in frame and "292" not in " ".join(texts_of(frame))


@pytest.mark.needs_dot
def test_old_frames_of_a_longer_walkthrough_are_removed(tmp_path: Path) -> None:
    assert run("steps", str(HOMEWORK), "-o", str(tmp_path))[0] == 0
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert run("steps", "w = x*y", "--at", "x=2,y=3", "-o", str(tmp_path))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt", "step-01.svg", "step-02.svg", "step-03.svg", "step-04.svg",
        "step-05.svg", "step-06.svg"]


# --- the HTML page -------------------------------------------------------------------------------

@pytest.mark.needs_dot
def test_html_page_is_self_contained(tmp_path: Path) -> None:
    out = tmp_path / "hw.html"
    code, printed, err = run("steps", str(HOMEWORK), "--at", "x=2,y=3,z=1", "-o", str(out))
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script>" in page
    # Nothing is loaded from anywhere, and no address of any kind is written down.
    for needle in ("//", "http", "src=", "href", "url(", "@import", "<link", "<iframe", "<img",
                   "<object", "<embed", "xmlns", "fetch(", "XMLHttpRequest"):
        assert needle not in page, needle
    assert page.count("<script") == 2  # the step texts (JSON) and the script
    assert "x̄ = 56·1 + 56·1 + 60·3 = 292" in page


@pytest.mark.needs_dot
def test_step_texts_cannot_end_the_script_early() -> None:
    g = cg.parse("w = x*y")
    s = stepper(g, cg.evaluate(g, x=2, y=3), title="</script><b>")
    page = s.html()
    assert page.count("</script>") == 2 and "<b>" not in page


@pytest.mark.needs_dot
def test_stepper_displays_inline_in_jupyter() -> None:
    g = cg.parse("w = x*y")
    s = cg.stepper(g, cg.evaluate(g, x=2, y=3))
    fragment = s._repr_html_()
    assert fragment.startswith('<div class="cg-stepper" tabindex="0">')  # not data-standalone
    assert "<html" not in fragment and "<svg" in fragment
    assert repr(s) == "<Stepper 6 steps (3 forward, 3 backward) of w>"


# --- worksheets ----------------------------------------------------------------------------------

@pytest.mark.needs_dot
def test_blank_worksheet_hides_292_and_the_key_has_it(tmp_path: Path) -> None:
    blank, key = tmp_path / "sheet.svg", tmp_path / "key.svg"
    assert run("worksheet", str(HOMEWORK), "--at", "x=2,y=3,z=1", "-o", str(blank))[0] == 0
    assert run("worksheet", str(HOMEWORK), "--at", "x=2,y=3,z=1", "--answers",
               "-o", str(key))[0] == 0
    blank_texts, key_texts = texts_of(blank.read_text("utf-8")), texts_of(key.read_text("utf-8"))
    assert not any("292" in t or "120" in t for t in blank_texts)
    assert "292" in key_texts and "292 = 180 + 56 + 56" in key_texts
    # Given on the sheet: the values, and the seed 1.
    assert {"2", "3", "7", "28", "224", "1"} <= set(blank_texts)
    # The key is the sheet with its boxes filled: the same boxes in the same places.
    def boxes(path: Path) -> list[tuple]:
        return [(r.get("x"), r.get("y"), r.get("width"), r.get("height"))
                for r in ET.parse(path).getroot().iter(f"{SVG}rect") if r.get("rx")]
    assert boxes(blank) == boxes(key) and len(boxes(blank)) >= 20


@pytest.mark.needs_dot
def test_values_worksheet_gives_inputs_and_gradients() -> None:
    g, values = homework(x=2, y=3, z=1)
    texts = texts_of(worksheet_svg(walkthrough(g, values), blank="values"))
    assert "292" in texts and "224" not in texts and "196" not in texts
    assert "Inputs: x = 2, y = 3, z = 1" in texts


@pytest.mark.needs_dot
@pytest.mark.parametrize("paper", sorted(PAPERS))
def test_worksheet_is_a_page(paper: str) -> None:
    g, values = homework(x=2, y=3, z=1)
    root = ET.fromstring(worksheet_svg(walkthrough(g, values), paper=paper))
    size = sorted(float(root.get(k).removesuffix("pt")) for k in ("width", "height"))
    assert size == sorted(PAPERS[paper])
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert any(t and t.startswith("Name: ") and "Date: " in t for t in texts)


def test_seeded_inputs_are_small_integers_and_repeatable() -> None:
    g, _ = homework()
    sheets = [friendly_inputs(g, seed) for seed in range(20)]
    assert friendly_inputs(g, 3) == sheets[3]
    assert len({tuple(sorted(s.items())) for s in sheets}) > 10
    for point in sheets:
        values = cg.evaluate(g, point)
        grads = cg.backward(g, values)
        numbers = [*values.nodes, *(grads.of(i) for i in range(len(g.nodes)))]
        assert all(float(v).is_integer() and abs(v) <= 999 for v in numbers)
        assert all(v in (-3, -2, -1, 1, 2, 3, 4, 5) for v in point.values())


def test_seeded_inputs_avoid_division_by_zero() -> None:
    g = cg.parse("w = 1/(x - y) + log(z)")
    for seed in range(10):
        point = friendly_inputs(g, seed)
        assert point["x"] != point["y"] and point["z"] > 0


def test_seeded_arrays_keep_their_shape_and_given_inputs_stay() -> None:
    g = cg.parse((ROOT / "examples" / "two-layer-net.cg").read_text(encoding="utf-8"))
    point = friendly_inputs(g, 5, {"x": [1, 2]})
    assert point["x"] == [1, 2] and np.shape(point["W1"]) == (3, 2)


@pytest.mark.needs_dot
def test_worksheet_seed_same_sheet_and_other_inputs(tmp_path: Path) -> None:
    paths = [tmp_path / f"{n}.svg" for n in range(3)]
    for path, seed in zip(paths, ("4", "4", "5")):
        assert run("worksheet", str(HOMEWORK), "--seed", seed, "-o", str(path))[0] == 0
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b != c
    assert "Inputs: x = 1, y = 2, z = −2" in texts_of(a.decode())  # friendly_inputs(g, 4)


@pytest.mark.needs_dot
@pytest.mark.skipif(shutil.which("rsvg-convert") is None,
                    reason="rsvg-convert is not installed (apt-get install librsvg2-bin; "
                           "bash scripts/setup.sh installs it)")
@pytest.mark.parametrize("fmt,magic", [("pdf", b"%PDF"), ("png", b"\x89PNG")])
def test_worksheet_as_pdf_and_png(tmp_path: Path, fmt: str, magic: bytes) -> None:
    out = tmp_path / f"sheet.{fmt}"
    code, _, err = run("worksheet", str(HOMEWORK), "--paper", "letter", "-o", str(out))
    assert code == 0, err
    assert out.read_bytes().startswith(magic)


# --- command-line mistakes -----------------------------------------------------------------------

@pytest.mark.parametrize("argv,message", [
    (["steps", "w = x*y", "--at", "x=1,y=2", "-o", "frames.svg"], "the frames go into a folder"),
    (["steps", "w = x*y", "--at", "x=1,y=2", "--format", "html", "-o", "page/"], "name it FILE.html"),
    (["steps", "h = W @ x", "--at", "W=[[1,2],[3,4]],x=[1,1]"], "needs a scalar output"),
    (["worksheet", "w = x*y", "--at", "x=1,y=2", "-o", "sheet.txt"], "use .svg, .pdf or .png"),
    (["worksheet", "w = x*y", "--blank", "names"], "invalid choice: 'names'"),
    (["worksheet", "w = x*y", "--seed", "1", "--at", "q=1"], "unknown input 'q'"),
])
def test_mistakes_are_one_line_and_exit_2(tmp_path: Path, argv: list[str], message: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(*argv)
    assert code == 2 and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_steps_and_worksheet_are_listed_in_help() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "steps" in out and "worksheet" in out


@pytest.mark.needs_dot
def test_a_missing_folder_is_named_not_made(tmp_path: Path) -> None:
    for argv in (["steps", "w = x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "no" / "frames/")],
                 ["steps", "w = x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "no" / "w.html")],
                 ["worksheet", "w = x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "no" / "w.svg")]):
        code, _, err = run(*argv)
        assert code == 1 and f"{tmp_path / 'no'} does not exist" in err
    assert not (tmp_path / "no").exists()
