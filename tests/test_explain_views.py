"""The views that explain a gradient: ``paths``, ``check`` (with ``compgraph.check_nodes``)
and ``heatmap``, from the API and from ``render``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import cli
from compgraph.drawing import to_dot
from compgraph.drawing.views.check import FILL
from compgraph.drawing.views.heatmap import BAR_CELLS, BAR_WIDTH, MAX_CELLS, ZERO, Scale, viridis
from compgraph.drawing.views.paths import PALETTE
from compgraph.errors import InputError, RenderError
from compgraph.nodecheck import check_nodes, cut_graph
from compgraph.ops import OPS
from compgraph.pathsum import paths

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = "a = x*y+z, b = a*(x+x), w = a*b+b"


def example(name: str):
    g = cg.parse((ROOT / "examples" / f"{name}.cg").read_text(encoding="utf-8"))
    values = cg.evaluate(g)
    return g, values, cg.backward(g, values)


def filled(text: str, colour: str) -> int:
    """How often ``text`` fills something with ``colour`` (a node's fill, or a table cell's
    background where the variable's shape is a cell)."""
    return len(re.findall(rf'(?:fill|bg)color="{re.escape(colour)}"', text))


def attrs_of(src: str, dot_id: str) -> str:
    return next(line for line in src.splitlines() if line.strip().startswith(dot_id + " ["))


# --- check ------------------------------------------------------------------------------------

def test_check_every_node_of_the_homework() -> None:
    g, values, grads = example("homework-graph")
    report = check_nodes(g, values, grads)
    assert len(report) == 9 and all(c.verdict == "ok" for c in report.values())
    for i, c in report.items():
        assert c.autodiff == grads.of(i)
        assert c.numeric == pytest.approx(c.autodiff, rel=1e-8)
    src = to_dot(g, "check", values, grads, check=report).source
    variables = [line for line in src.splitlines() if re.match(r"\tv\d", line)]
    assert sum(filled(line, FILL["ok"]) > 0 for line in variables) == 9
    assert "∂ 292" in attrs_of(src, "v0_x") and "≈ 292" in attrs_of(src, "v0_x")


def test_check_marks_kinks_as_kinks() -> None:
    g, values, grads = example("relu-at-zero")
    report = check_nodes(g, values, grads)
    verdicts = [(g.labels[i], c.verdict) for i, c in report.items()]
    # y = relu(w*x + b) + 0.5*x at w*x + b = 0: every node below relu sits on the kink
    assert verdicts == [("x", "kink"), ("w", "kink"), ("b", "kink"), (None, "kink"),
                        ("s", "kink"), ("h", "ok"), (None, "ok"), ("y", "ok")]
    x = report[g.latest["x"]]
    assert (x.autodiff, x.numeric) == (0.5, pytest.approx(1.5))  # relu'(0) = 0, PyTorch's
    src = to_dot(g, "check", values, grads, check=report).source
    s = attrs_of(src, f"v{g.latest['s']}_s")
    assert filled(s, FILL["kink"]) and "kink" in s and "error" not in s


def test_check_finds_a_wrong_rule_at_its_node(monkeypatch: pytest.MonkeyPatch) -> None:
    sin = OPS["sin"]
    monkeypatch.setitem(OPS, "sin", dataclasses.replace(
        sin, vjp=(lambda g, out, x: g * 2.0 * np.cos(x),), partials=None))
    g = cg.parse("s = sin(x), w = s*y")
    values = cg.evaluate(g, x=0.3, y=2)
    report = check_nodes(g, values)
    by_name = {g.labels[i]: c.verdict for i, c in report.items()}
    # the node above the wrong rule is right; the wrong factor shows from sin's operand down
    assert by_name == {"x": "mismatch", "y": "ok", "s": "ok", "w": "ok"}
    src = to_dot(g, "check", values, cg.backward(g, values), check=report).source
    assert filled(attrs_of(src, "v0_x"), FILL["mismatch"])
    assert "mismatch, error" in attrs_of(src, "v0_x")


def test_the_cut_graph_is_the_output_as_a_function_of_one_node() -> None:
    g, values, grads = example("homework-graph")
    a = g.latest["a"]
    cut = cut_graph(g, values, a)
    assert cut.input_names == ("cut",)
    assert cg.evaluate(cut, cut=7.0).output == 224.0
    assert cg.gradients(cut, cut=7.0)["cut"] == grads.of(a) == 60.0


def test_check_refuses_too_many_numbers_and_arrays_outputs() -> None:
    g = cg.parse("C = sum(W @ x)")
    values = cg.evaluate(g, W=np.ones((40, 40)), x=np.ones(40))
    with pytest.raises(InputError, match="1,681 numbers"):  # W, x, W @ x and C
        check_nodes(g, values, max_entries=1000)
    h = cg.parse("h = 2*x")
    with pytest.raises(cg.EvaluationError, match="scalar output"):
        check_nodes(h, cg.evaluate(h, x=[1, 2]))


def test_check_on_arrays_writes_the_verdict_for_large_ones() -> None:
    g, values, grads = example("two-layer-net")
    report = check_nodes(g, values, grads)
    assert all(c.verdict == "ok" for c in report.values())
    src = to_dot(g, "check", values, grads, check=report).source
    assert "ok" in attrs_of(src, "v0_W1")
    assert attrs_of(src, "v1_b1").count("13.35") >= 2  # reverse mode and central differences


# --- heatmap ----------------------------------------------------------------------------------

def _fills(src: str) -> dict[str, str]:
    return dict(re.findall(r'^\t(v\d+_\w+) \[.*?(?:fill|bg)color="(#[0-9a-f]{6})"', src, re.M))


def test_heatmap_colours_grow_with_the_gradient() -> None:
    g, values, grads = example("deep-sigmoid-chain")
    src = to_dot(g, "heatmap", values, grads).source
    fills = _fills(src)
    order = [f"v{g.latest[n]}_{n}" for n in ("x", "h1", "h2", "h3", "h4", "h5", "h6")]
    ramp = [viridis(k / 100) for k in range(101)]
    positions = [ramp.index(min(ramp, key=lambda c: _distance(c, fills[n]))) for n in order]
    assert positions == sorted(positions) and positions[0] <= 20 and positions[-1] > 80
    assert "|∂h6/∂·|, log scale" in src and "0.0001" in src  # the colour bar's decades
    assert "style=solid" in src and "penwidth=3" in src


def _distance(a: str, b: str) -> int:
    return sum(abs(int(a[k:k + 2], 16) - int(b[k:k + 2], 16)) for k in (1, 3, 5))


def test_heatmap_scale_decades_and_zero() -> None:
    scale = Scale([0.0, 3e-5, 250.0])
    assert (scale.lo, scale.hi, scale.zero) == (-5, 3, True)
    assert scale.colour(0.0) == ZERO and scale.colour(1e-5) == viridis(0.0)
    assert scale.colour(1e3) == viridis(1.0)
    g = cg.parse("u = relu(x), w = u + y")
    values = cg.evaluate(g, x=-1, y=2)
    src = to_dot(g, "heatmap", values, cg.backward(g, values)).source
    assert filled(attrs_of(src, "v0_x"), ZERO)  # relu at -1: no gradient
    with pytest.raises(RenderError, match="grads="):
        to_dot(g, "heatmap", values)


def test_heatmap_bar_ends_past_the_floats_range() -> None:
    # The bar runs from the decade under the smallest magnitude to the one above the
    # largest: 10^309 over a gradient of 1.8e308 (10.0 ** 309 overflowed), 10^-324 under a
    # subnormal one (10.0 ** -324 is 0, which the bar wrote as its lowest decade).
    g = cg.parse("y = 1e308/x")
    values = cg.evaluate(g, x=0.747)
    src = to_dot(g, "heatmap", values, cg.backward(g, values)).source
    assert ">1e309<" in src and ">∞<" not in src
    g = cg.parse("y = x*5e-324")
    values = cg.evaluate(g, x=1.0)
    src = to_dot(g, "heatmap", values, cg.backward(g, values)).source
    assert ">1e−324<" in src and ">0<" not in src


def test_heatmap_bar_keeps_its_width_over_hundreds_of_decades() -> None:
    # 600 decades: a cell spans 20 of them, labels every 200, about as wide as 3 decades
    g = cg.parse("y = x*1e-300 + z*1e300")
    values = cg.evaluate(g, x=1.0, z=1.0)
    src = to_dot(g, "heatmap", values, cg.backward(g, values)).source
    bar = src[src.index("log scale"):]
    widths = [int(w) for w in re.findall(r'bgcolor="#[0-9a-f]{6}" width="(\d+)" height="12"', bar)]
    assert len(widths) <= MAX_CELLS and sum(widths) <= 2 * BAR_WIDTH
    for tick in (">1e−300<", ">1e−100<", ">1e100<", ">1e300<"):
        assert tick in bar
    assert ">1e−280<" not in bar
    # a few decades are drawn as before: several cells a decade
    g = cg.parse("y = x*1e-3")
    values = cg.evaluate(g, x=1.0)
    bar = to_dot(g, "heatmap", values, cg.backward(g, values)).source
    assert len(re.findall(r'bgcolor="#[0-9a-f]{6}" width="\d+" height="12"', bar)) >= BAR_CELLS


# --- paths ------------------------------------------------------------------------------------

def test_paths_view_colours_each_path_and_lists_the_products() -> None:
    g, values, grads = example("homework-graph")
    result = paths(g, values, "x")
    src = to_dot(g, "paths", values, grads, paths=result).source
    # w's + takes a*b (paths 1-4) and b (paths 5-7): its result edge carries all seven
    out_edge = next(line for line in src.splitlines() if "-> v8_w" in line)
    assert f'color="{":".join(PALETTE[:7])}"' in out_edge
    for text in ("3 × 1 × 28 × 1 = 84", "1 × 7 × 1 = 7", "total (the gradient)", "= 292",
                 "∂w/∂x as a sum over 7 paths"):
        assert text in src
    y_edge = next(line for line in src.splitlines() if line.strip().startswith("v1_y ->"))
    assert "#b0b0b0" in y_edge  # no path from x takes y's edge: muted
    assert 'label="∂ 28"' in src  # a*b's local derivative with respect to a is b = 28


def test_one_path_alone_and_too_many_for_one_picture() -> None:
    g, values, grads = example("homework-graph")
    result = paths(g, values, "x")
    src = to_dot(g, "paths", values, grads, paths=result, path=4).source
    assert "path 5 of 7 from x to w" in src and "49 of Σ = 292" in src
    assert PALETTE[4] in src and PALETTE[0] not in src
    with pytest.raises(RenderError, match="no path 8"):
        to_dot(g, "paths", values, paths=result, path=7)
    wide = cg.parse("h = x + x\nh = h + h\nh = h + h\nh = h + h")  # 16 paths
    v = cg.evaluate(wide, x=1)
    with pytest.raises(RenderError, match="16 paths.*-o FOLDER/"):
        to_dot(wide, "paths", v, paths=paths(wide, v, "x"))
    with pytest.raises(RenderError, match="paths=..."):
        to_dot(g, "paths", values)
    apart = cg.parse("u = 2*y, w = 3*x")
    v = cg.evaluate(apart, x=1, y=1)
    assert "y does not reach w: no paths, ∂w/∂y = 0" in to_dot(
        apart, "paths", v, paths=paths(apart, v, "y")).source


# --- render from the command line ----------------------------------------------------------------

def test_render_paths_into_a_folder(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "paths"
    code = cli.main(["render", "examples/homework-graph.cg", "--view", "paths", "--wrt", "x",
                     "--format", "dot", "-o", f"{folder}/"])
    out, err = capsys.readouterr()
    assert code == 0, err
    written = sorted(p.name for p in folder.iterdir())
    assert written == [f"homework-graph-paths-{k}.dot" for k in range(1, 8)]
    assert out.splitlines() == [str(folder / name) for name in written]
    assert "path 5 of 7" in (folder / "homework-graph-paths-5.dot").read_text(encoding="utf-8")


def test_a_folder_of_pictures_is_made_only_inside_one_that_exists(tmp_path: Path,
                                                                   capsys) -> None:
    target = tmp_path / "missing" / "paths"
    code = cli.main(["render", "examples/homework-graph.cg", "--view", "paths", "--wrt", "x",
                     "--format", "dot", "-o", f"{target}/"])
    err = capsys.readouterr().err
    assert code == 1 and f"the folder {tmp_path / 'missing'} does not exist" in err
    assert not (tmp_path / "missing").exists()


def test_render_usage_errors(tmp_path: Path, capsys) -> None:
    code = cli.main(["render", HOMEWORK, "--at", "x=2,y=3,z=1", "--view", "paths",
                     "--format", "dot"])
    assert code == 2 and "--wrt" in capsys.readouterr().err
    code = cli.main(["render", HOMEWORK, "--at", "x=2,y=3,z=1", "--view", "heatmap",
                     "-o", f"{tmp_path}/"])
    assert code == 2 and "a folder is for --view paths" in capsys.readouterr().err
    code = cli.main(["render", "h = 2*x", "--at", "x=[1,2]", "--view", "heatmap",
                     "--format", "dot"])
    assert code == 2 and "scalar output" in capsys.readouterr().err
    code = cli.main(["render", "h = x + x\n" + "h = h + h\n" * 10, "--at", "x=1",
                     "--view", "paths", "--wrt", "x", "--format", "dot"])
    err = capsys.readouterr().err
    assert code == 2 and "2,048 paths" in err and "paths command" in err


@pytest.mark.needs_dot
@pytest.mark.parametrize("view", ["check", "heatmap", "paths"])
def test_render_writes_svg(view: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / f"{view}.svg"
    code = cli.main(["render", "examples/homework-graph.cg", "--view", view, "--wrt", "x",
                     "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_check_on_a_program_ending_in_a_bare_expression() -> None:
    # The output's name is the expression's text; the cut graphs keep it without binding it
    # (binding refused it as a name, so the check view of such a program was an error).
    g = cg.parse("a = x*x\nsin(a)")
    values = cg.evaluate(g, x=1.0)
    cut = cut_graph(g, values, g.latest["a"])
    assert cut.output_name == "sin(a)"
    report = check_nodes(g, values)
    assert {g.labels[i]: c.verdict for i, c in report.items()} == {"x": "ok", "a": "ok",
                                                                   "sin(a)": "ok"}
