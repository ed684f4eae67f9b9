"""The examples' pictures: DOT snapshots of every example in every view, and renders/ kept current."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from compgraph.gallery import VIEWS, dot_hash, example_dot, examples, stamped_svg, svg_stamp

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = examples(ROOT / "examples")
RENDERS = ROOT / "renders"
CASES = [(p, v) for p in EXAMPLES for v in VIEWS]


def test_there_are_examples() -> None:
    stems = {p.stem for p in EXAMPLES}
    assert {"homework-graph", "cs231n-circuit", "sigmoid-neuron", "two-layer-net",
            "reassignment"} <= stems


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
    expected = {f"{p.stem}-{v}.svg" for p, v in CASES} | {"activation-derivatives.svg"}
    stray = sorted(p.name for p in RENDERS.glob("*.svg") if p.name not in expected)
    assert not stray, f"renders/ holds pictures of no example: {stray}"


def test_activation_plot_is_rendered() -> None:
    assert (RENDERS / "activation-derivatives.svg").exists()


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
