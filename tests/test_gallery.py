"""The examples' pictures: DOT snapshots of every example in every view, and renders/ kept current."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from compgraph.gallery import (EXPLAINING, dot_hash, example_dot, examples, stamped_svg,
                               svg_stamp, views_of)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = examples(ROOT / "examples")
RENDERS = ROOT / "renders"
CASES = [(p, v) for p in EXAMPLES for v in views_of(p)]


def test_there_are_examples() -> None:
    stems = {p.stem for p in EXAMPLES}
    assert {"homework-graph", "cs231n-circuit", "sigmoid-neuron", "two-layer-net",
            "reassignment", "deep-sigmoid-chain", "deep-tanh-chain"} <= stems
    assert set(EXPLAINING) <= stems, "EXPLAINING names an example that is not there"
    # each explaining view on the homework graph and on a two-layer net (issue 11)
    for stem in ("homework-graph", "two-layer-net"):
        assert set(EXPLAINING[stem]) == {"paths", "check", "heatmap"}


@pytest.mark.parametrize("path,view", CASES, ids=[f"{p.stem}-{v}" for p, v in CASES])
def test_dot_snapshot(path: Path, view: str, snapshot) -> None:
    dot, why = example_dot(path, view)
    assert (dot.source if dot is not None else f"no picture: {why}") == snapshot


@pytest.mark.parametrize("path,view", CASES, ids=[f"{p.stem}-{v}" for p, v in CASES])
def test_renders_are_current(path: Path, view: str) -> None:
    dot, _ = example_dot(path, view)
    target = RENDERS / f"{path.stem}-{view}.svg"
    if dot is None:
        assert not target.exists(), f"{target} is left over from an older version"
        return
    assert target.exists(), f"{target} is missing: run bash scripts/render-examples.sh"
    text = target.read_text(encoding="utf-8")
    assert svg_stamp(text) == dot_hash(dot.source), (
        f"{target} is stale: run bash scripts/render-examples.sh and commit renders/")
    ET.fromstring(text)  # well-formed


def test_no_stray_renders() -> None:
    expected = {f"{p.stem}-{v}.svg" for p, v in CASES} | {"activation-derivatives.svg",
                                                           "two-layer-net-loss.svg"}
    stray = sorted(p.name for p in RENDERS.glob("*.svg") if p.name not in expected)
    assert not stray, f"renders/ holds pictures of no example: {stray}"


def test_activation_plot_is_rendered() -> None:
    assert (RENDERS / "activation-derivatives.svg").exists()


def test_the_main_job_draws_the_loss_curve(tmp_path: Path) -> None:
    """renders/two-layer-net-loss.svg (docs/homework.md 7.1) is drawn by the main job, the
    same bytes each time (like the activation plot, its bytes depend on matplotlib's
    version, so the saved file is not compared)."""
    pytest.importorskip("matplotlib")
    from compgraph.gallery import _loss_curve

    assert (RENDERS / "two-layer-net-loss.svg").exists()
    first = list(_loss_curve(ROOT / "examples", tmp_path / "a"))
    again = list(_loss_curve(ROOT / "examples", tmp_path / "b"))
    assert first == [str(tmp_path / "a" / "two-layer-net-loss.svg")], first
    assert again == [str(tmp_path / "b" / "two-layer-net-loss.svg")], again
    assert ((tmp_path / "a" / "two-layer-net-loss.svg").read_bytes()
            == (tmp_path / "b" / "two-layer-net-loss.svg").read_bytes())


def test_stamp_round_trip() -> None:
    svg = b'<?xml version="1.0"?>\n<svg/>'
    stamped = stamped_svg(svg, "digraph {}").decode()
    assert svg_stamp(stamped) == dot_hash("digraph {}")
    assert svg_stamp(stamped) != dot_hash("digraph { a }")
    ET.fromstring(stamped)


def test_homework_backward_shows_the_numbers() -> None:
    dot, _ = example_dot(ROOT / "examples" / "homework-graph.cg", "backward")
    for number in ("224", "292", "120", "60", "28", "32"):
        assert number in dot.source


# --- backprop step by step: frames, the HTML stepper, a worksheet and its key ----------------

from compgraph.gallery import WALKTHROUGHS, walkthrough_sources  # noqa: E402


@pytest.mark.parametrize("stem", WALKTHROUGHS)
def test_step_pictures_are_current(stem: str) -> None:
    sources = walkthrough_sources(ROOT / "examples" / f"{stem}.cg")
    assert len([n for n in sources if n.startswith(f"steps/{stem}/")]) >= 2
    for name, source in sources.items():
        target = RENDERS / name
        assert target.exists(), f"{target} is missing: run bash scripts/render-examples.sh"
        text = target.read_text(encoding="utf-8")
        assert svg_stamp(text) == dot_hash(source), (
            f"{target} is stale: run bash scripts/render-examples.sh and commit renders/")
        if name.endswith(".svg"):
            ET.fromstring(text)


@pytest.mark.parametrize("stem", WALKTHROUGHS)
def test_no_stray_step_pictures(stem: str) -> None:
    expected = set(walkthrough_sources(ROOT / "examples" / f"{stem}.cg"))
    present = {p.relative_to(RENDERS).as_posix() for folder in ("steps", "worksheets")
               for p in (RENDERS / folder).rglob("*") if p.is_file()}
    everyone = set().union(*(walkthrough_sources(ROOT / "examples" / f"{s}.cg")
                             for s in WALKTHROUGHS))
    assert expected <= present
    assert not present - everyone, f"stray step pictures: {sorted(present - everyone)}"


# Attributes that hold coordinates and sizes: a number in them (an arrowhead at x = 292.9)
# is geometry, not an answer written on the sheet.
GEOMETRY = {"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "rx", "ry", "width", "height",
            "points", "d", "transform", "viewBox", "font-size", "stroke-width"}


def written(svg: str) -> list[str]:
    """Everything an SVG writes: its texts and titles, and every attribute that is not
    geometry (comments, such as the stamp's hash, are not shown)."""
    root = ET.fromstring(svg)
    out: list[str] = []
    for el in root.iter():
        out += [t for t in (el.text, el.tail) if t and t.strip()]
        out += [v for k, v in el.attrib.items() if k not in GEOMETRY]
    return out


def test_committed_worksheet_keeps_its_answers_to_the_key() -> None:
    blank = (RENDERS / "worksheets" / "homework-graph-worksheet.svg").read_text(encoding="utf-8")
    key = (RENDERS / "worksheets" / "homework-graph-worksheet-answers.svg").read_text(encoding="utf-8")
    assert not [t for t in written(blank) if "292" in t or "120" in t]
    assert "292" in written(key)
