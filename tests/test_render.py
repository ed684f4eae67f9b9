"""Rendering: views and their labels, determinism, escaping, SVG and the D shape, files, errors."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import GraphvizMissingError, RenderError
from compgraph.drawing import (BASE_VIEWS, FAST_ABOVE_WORK, VIEWS, dot_work, dshape_svg, pipe,
                              render, to_dot, write_atomic)
from compgraph.nodecheck import check_nodes
from compgraph.pathsum import paths
from compgraph.drawing.format import format_value

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = "a = x*y + z, b = a*(x + x), w = a*b + b"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def homework():
    g = cg.parse(HOMEWORK)
    values = cg.evaluate(g, x=2, y=3, z=1)
    grads = cg.backward(g, values)
    return g, values, grads, cg.tangents(g, values, wrt="x"), cg.local_derivatives(g, values)


def explaining(homework, view: str) -> dict:
    """What an explaining view draws, for a graph with an input x."""
    g, values, grads = homework[:3]
    if view == "paths":
        return {"paths": paths(g, values, "x")}
    if view == "check":
        return {"check": check_nodes(g, values, grads)}
    return {}


def picture(homework, view: str, **options) -> str:
    g, values, grads, tangents, local = homework
    return to_dot(g, view, values, grads, tangents, local, **explaining(homework, view),
                  **options).source


def node_line(source: str, node_id: str) -> str:
    """The DOT statement of one node."""
    return next(line for line in source.splitlines() if line.strip().startswith(node_id + " ["))


def edge_lines(source: str, tail: str, head: str) -> list[str]:
    return [line for line in source.splitlines() if line.strip().startswith(f"{tail} -> {head} ")]


# --- the views ---------------------------------------------------------------------------

def test_forward_is_bipartite_with_faithful_operands(homework) -> None:
    src = picture(homework, "forward")
    # x + x is two edges into one block; x*y's result is its own small anonymous circle.
    assert len(edge_lines(src, "v0_x", "op5")) == 2
    assert "class=anonymous" in node_line(src, "v2")
    assert "class=dshape_right" in node_line(src, "op2")
    assert 'bgcolor="#dddddd"' in node_line(src, "v0_x")  # the shaded input's shape cell
    # each edge carries its forward value
    assert "label=224" in edge_lines(src, "op8", "v8_w")[0]
    assert all(re.search(r"label=2\b", line) for line in edge_lines(src, "v0_x", "op5"))


def test_backward_shows_values_gradients_and_fan_out_sums(homework) -> None:
    src = picture(homework, "backward")
    w = node_line(src, "v8_w")
    assert ">224<" in w and ">1<" in w
    for node, grad in (("v0_x", "292"), ("v1_y", "120"), ("v3_z", "60")):
        assert f">{grad}" in node_line(src, node)
    # a fans out: its total is visibly the sum of what its two edges carry
    a = node_line(src, "v4_a")
    assert "60 = 32 + 28" in a
    assert "label=32" in edge_lines(src, "v4_a", "op6")[0]
    assert "label=28" in edge_lines(src, "v4_a", "op7")[0]
    assert "292 = 180 + 56 + 56" in node_line(src, "v0_x")
    # gradient edges: red, dashed, drawn against the arrows without changing the layout
    edge = edge_lines(src, "v1_y", "op2")[0]
    assert "dir=back" in edge and "style=dashed" in edge and "#d62728" in edge


def test_backward_keeps_the_forward_structure(homework) -> None:
    def structure(src: str) -> list[str]:
        return [re.sub(r" \[.*", "", line.strip()) for line in src.splitlines()
                if "[" in line and not line.strip().startswith(("graph", "node", "edge"))]

    assert (structure(picture(homework, "forward", legend=False))
            == structure(picture(homework, "backward", legend=False)))


def test_edge_label_modes(homework) -> None:
    local = picture(homework, "backward", edge_labels="local")
    assert "label=\"∂ 4\"" in edge_lines(local, "v4_a", "op6")[0]
    both = picture(homework, "backward", edge_labels="both")
    line = edge_lines(both, "v4_a", "op6")[0]
    assert ">32<" in line and "8 × 4" in line  # what it carries = upstream × local


def test_both_view_has_value_above_gradient(homework) -> None:
    line = edge_lines(picture(homework, "both"), "v4_a", "op6")[0]
    assert re.search(r'color="#2ca02c">7</font><br/><font color="#d62728"[^>]*>32<', line)


def test_tangent_view(homework) -> None:
    src = picture(homework, "tangent")
    assert "292 = 266 + 26" in node_line(src, "v8_w")
    assert "∂x" in src  # the title names the input
    # y does not move with x: its edge is muted and unlabelled
    assert "label" not in edge_lines(src, "v1_y", "op2")[0]


def test_views_without_numbers_draw_the_structure() -> None:
    g = cg.parse(HOMEWORK)
    for view in BASE_VIEWS:
        src = to_dot(g, view).source
        assert "xlabel" not in src and "op8 -> v8_w" in src


def test_labelled_anonymous_constants_and_costs() -> None:
    g = cg.parse("L = mse(2*x, y)")
    src = to_dot(g, label_anonymous=True).source
    assert re.search(r"c\d+ \[label=2 ", src)
    assert '>o</font>' in src
    assert "class=cost" in src and "#ffe1e1" in src
    marked = to_dot(cg.parse("u = x*y, r = u + 1"), costs=["r"]).source
    assert "class=cost" in marked
    with pytest.raises(RenderError, match="no such name"):
        to_dot(g, costs=["nope"])


def test_arrays_are_grids_beside_their_nodes() -> None:
    program = (ROOT / "examples" / "two-layer-net.cg").read_text()
    g = cg.parse(program)
    values = cg.evaluate(g)
    grads = cg.backward(g, values)
    src = to_dot(g, "backward", values, grads).source
    w1 = node_line(src, "v0_W1")
    # every entry of W1 and of dC/dW1, each in a cell of a grid, value before gradient
    value, gradient = w1.index("cg_v0_value"), w1.index("cg_v0_gradient")
    for entry in ("1", "−1", "0.5", "2", "−1.5", "0.25"):
        assert f">{entry}</font></td>" in w1[value:gradient]
    for entry in ("0", "13.35", "26.7"):
        assert f">{entry}</font></td>" in w1[gradient:]
    assert 'tooltip="gradient 3×2 [[0, 0], [13.35, 26.7], [0, 0]]"' in w1
    assert 'sides="LTB"' in w1 and 'sides="RTB"' in w1  # brackets
    # edges carry no array numbers, only a tooltip with them
    edge = next(line for line in src.splitlines() if line.strip().startswith("v0_W1 -> "))
    assert "label" not in edge and 'tooltip="gradient 3×2 [[0, 0], [13.35, 26.7]' in edge
    # a larger array than max_grid: its shape and range, the values in the tooltip
    big = to_dot(cg.parse("s = sum(W)"), "forward", values=[np.arange(12.0).reshape(4, 3), 66.0],
                 max_grid=2).source
    w = node_line(big, "v0_W")
    assert ">4×3</font>" in w and ">0 … 11</font>" in w and "[[0, 1, 2]" in w
    assert "<td align" not in w  # no grid
    assert ">4×3</font>" not in node_line(to_dot(cg.parse("s = sum(W)"), "forward",
                                                 values=[np.ones((4, 3)), 12.0]).source, "v0_W")
    with pytest.raises(RenderError, match="max_grid"):
        to_dot(g, max_grid=-1)


def test_vectors_run_across_the_flow() -> None:
    g = cg.parse("s = sum(v)")
    values = [np.array([1.0, 2.0, 3.0]), 6.0]
    column = node_line(to_dot(g, "forward", values=values).source, "v0_v")
    row = node_line(to_dot(g, "forward", values=values, rankdir="TB").source, "v0_v")
    grid = lambda line: line[line.index("cg_v0_value"):line.index("cg_v0_ellipse")]  # noqa: E731
    next_row = '</tr><tr><td align="right"'  # a grid's second and later rows
    assert grid(column).count(next_row) == 2 and grid(row).count(next_row) == 0


def test_array_sums_of_several_edges_say_so() -> None:
    g = cg.parse("y = sum(v*v)")
    values = cg.evaluate(g, v=[1.0, 2.0])
    src = to_dot(g, "backward", values, cg.backward(g, values)).source
    assert "Σ of 2 edges" in node_line(src, "v0_v")


def test_long_names_keep_the_row_height() -> None:
    src = to_dot(cg.parse("s2 = x*y, yhat = s2, w = yhat + 1")).source
    alias = next(line for line in src.splitlines() if "s2 = yhat" in line)
    short = node_line(src, "v0_x")
    size = re.compile(r'cg_v\d+_ellipse" [^>]*width="(\d+)" height="(\d+)"')
    (w, h), (w0, h0) = size.search(alias).groups(), size.search(short).groups()
    assert h == h0 == "36" and w0 == "36" and int(w) > 80  # an ellipse as high as a circle


def test_rankdir_and_theme_and_legend(homework) -> None:
    tb = picture(homework, "forward", rankdir="TB")
    assert "rankdir=TB" in tb and "dshape_bottom" in tb and "tailport=s" in tb
    assert 'tailport="v:s"' in tb and 'headport="v:n"' in tb
    dark = picture(homework, "forward", theme="dark")
    assert "bgcolor=black" in dark and "#fccde5" in dark
    assert "cg_legend_input_ellipse" in picture(homework, "forward")
    assert "legend" not in picture(homework, "forward", legend=False)
    # compact: one row in the graph's label, under the picture, with a sample of each kind
    lr = picture(homework, "backward")
    assert "cluster" not in lr and "labelloc=b" in lr
    assert "cg_legend_op_dshape_right" in lr and "gradient flow" in lr and "←" in lr
    assert "cg_legend_op_dshape_left" in picture(homework, "backward", rankdir="RL")
    titled = to_dot(homework[0], title="The graph").source
    assert "labelloc=t" in titled and titled.index("The graph") < titled.index("cg_legend")


def test_bad_choices_list_the_valid_ones(homework) -> None:
    for option, value in (("view", "sideways"), ("rankdir", "XY"), ("theme", "neon"),
                          ("edge_labels", "all"), ("layout", "quick")):
        with pytest.raises(RenderError, match="choose one of"):
            g = homework[0]
            to_dot(g, **{option: value})


def test_values_from_another_graph_are_refused(homework) -> None:
    with pytest.raises(cg.InputError, match="another graph"):
        to_dot(cg.parse("y = x + 1"), values=homework[1])
    with pytest.raises(RenderError, match="entries"):
        to_dot(cg.parse("y = x + 1"), values=[1.0, 2.0, 3.0, 4.0])


# --- determinism ---------------------------------------------------------------------------

def test_dot_is_the_same_bytes_every_time(homework) -> None:
    for view in VIEWS:
        assert picture(homework, view) == picture(homework, view)


def test_dot_is_the_same_bytes_in_another_process(homework) -> None:
    code = ("import compgraph as cg, sys; from compgraph.drawing import to_dot\n"
            f"g = cg.parse({HOMEWORK!r}); v = cg.evaluate(g, x=2, y=3, z=1)\n"
            "sys.stdout.write(to_dot(g, 'backward', v, cg.backward(g, v)).source)")
    outputs = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env,
                             check=True, cwd=ROOT).stdout.decode("utf-8")
        outputs.add(out)
    outputs.add(picture(homework, "backward"))
    assert len(outputs) == 1


def test_ids_come_from_statement_order_and_names(homework) -> None:
    src = picture(homework, "forward")
    ids = [i for i in re.findall(r"^\t(\S+) \[", src, re.M) if i not in ("graph", "node", "edge")]
    assert ids[:4] == ["v0_x", "v1_y", "op2", "v2"]
    assert not any(re.search(r"\d{6,}", i) for i in ids)  # nothing like id()


# --- escaping ------------------------------------------------------------------------------

NASTY_TITLE = 'He said "a<b" & c\\d \\N <b>bold</b>'


def test_user_text_is_escaped() -> None:
    g = cg.parse("node = edge * graph, digraph = node + subgraph")
    src = to_dot(g, title=NASTY_TITLE).source
    # backslashes doubled: Graphviz reads \N as the node's name even in HTML-like labels
    assert "&quot;a&lt;b&quot; &amp; c\\\\d \\\\N &lt;b&gt;bold&lt;/b&gt;" in src
    assert "<b>" not in src
    for name in ("node", "edge", "graph", "digraph", "subgraph"):
        assert re.search(rf'"?v\d+_{name}"? \[label=<.*<i>{name}</i>', src), name


@pytest.mark.needs_dot
def test_escaped_text_renders() -> None:
    g = cg.parse("node = edge * graph, digraph = node + subgraph")
    svg = pipe(to_dot(g, title=NASTY_TITLE), "svg").decode("utf-8")
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert NASTY_TITLE in texts
    for name in ("node", "edge", "graph", "digraph", "subgraph"):
        assert name in texts


# --- SVG and the D shape ---------------------------------------------------------------------

@pytest.mark.needs_dot
@pytest.mark.parametrize("view", VIEWS)
def test_svg_parses_and_names_every_variable(homework, view: str) -> None:
    g, values, grads, tangents, local = homework
    svg = pipe(to_dot(g, view, values, grads, tangents, local, **explaining(homework, view)),
               "svg").decode("utf-8")
    root = ET.fromstring(svg)
    texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
    assert {"x", "y", "z", "a", "b", "w"} <= texts
    if view == "backward":
        assert {"292 = 180 + 56 + 56", "224", "120"} <= {s.strip() for t in texts
                                                          for s in t.split("  ")}


@pytest.mark.needs_dot
@pytest.mark.parametrize("rankdir,side", [("LR", "right"), ("TB", "bottom"),
                                          ("RL", "left"), ("BT", "top")])
def test_d_shapes_in_svg(homework, rankdir: str, side: str) -> None:
    dot = to_dot(homework[0], rankdir=rankdir, legend=False)
    raw = dot.pipe(format="svg", encoding="utf-8")
    svg = dshape_svg(raw)
    assert dshape_svg(raw) == svg  # deterministic
    groups = re.findall(rf'<g id="node\d+" class="node dshape_{side}">(.*?)</g>', svg, re.S)
    assert len(groups) == 6  # the six operators
    for body in groups:
        outline = body[:body.index("<text")]
        assert "<polygon" not in outline and re.search(r' d="M[^"]* A[\d.]+,[\d.]+ 0 0 [01] ', outline)
    # everything that is not an operator outline is untouched
    strip = re.compile(r'<path[^>]* d="[^"]*"/>|<polygon[^>]*/>')
    assert len(strip.findall(svg)) == len(strip.findall(raw))


def test_dshape_leaves_other_svg_alone() -> None:
    text = '<svg><g id="node1" class="node"><title>v0_x</title><ellipse cx="1"/></g></svg>'
    assert dshape_svg(text) == text


# --- large graphs --------------------------------------------------------------------------

def chain(n: int) -> cg.Graph:
    lines = ["v1 = x*y + 0.5"] + [f"v{k} = v{k - 1}*x + relu(v{k - 1})" for k in range(2, n)]
    return cg.parse("\n".join(lines))


def horner(n: int) -> cg.Graph:
    """Reads its input in every statement: few edges, but they span many ranks."""
    return cg.parse("\n".join(["p0 = x"] + [f"p{i} = p{i - 1}*x + 1" for i in range(1, n)]))


def test_large_graphs_switch_to_fixed_positions_with_a_note() -> None:
    big = chain(400)
    dot = to_dot(big)
    assert dot.note and "large graph" in dot.note and dot.engine == "neato"
    assert all('pos="' in line for line in dot.body if line.strip().startswith(("v", "op")) and "->" not in line)
    small = to_dot(cg.parse(HOMEWORK))
    assert small.note is None and small.engine == "dot" and "pos=" not in small.source
    assert to_dot(big, layout="best").note is None
    assert to_dot(big, layout="fast").source == to_dot(big, layout="fast").source


def test_the_switch_weighs_long_edges_not_edge_counts() -> None:
    # 40 statements reusing x: about 230 edges, but dot would lay out thousands of nodes
    reuse = horner(40)
    edges = sum(len(n.operands) + 1 for n in reuse.nodes if n.kind == "op")
    # more edges, each spanning a rank or three
    plain = cg.parse("\n".join(["v0 = x"] + [f"v{k} = tanh(v{k - 1}) + v{k - 1}"
                                            for k in range(1, edges // 4)]))
    assert sum(len(n.operands) + 1 for n in plain.nodes if n.kind == "op") >= edges
    values = cg.evaluate(reuse, x=0.5)
    assert to_dot(reuse, values=values).note is not None
    assert to_dot(plain).note is None
    assert to_dot(reuse, values=values).work > FAST_ABOVE_WORK >= to_dot(plain).work
    # labels double dot's ranks, and so its virtual nodes
    assert to_dot(reuse, values=values).work > 1.8 * to_dot(reuse).work
    assert dot_work([[], [0], [1], [0, 2]], labelled=True) == 4 + 1 + 1 + 1 + 5


@pytest.mark.needs_dot
def test_fixed_position_layout_renders(homework) -> None:
    g, values, grads, *_ = homework
    svg = pipe(to_dot(g, "backward", values, grads, layout="fast"), "svg").decode("utf-8")
    assert "dshape_right" in svg and ET.fromstring(svg) is not None


# --- files and the binary -------------------------------------------------------------------

def test_dot_format_needs_no_binary(tmp_path: Path, monkeypatch, homework) -> None:
    monkeypatch.setenv("PATH", "")
    [path] = render(homework[0], tmp_path / "w.dot")
    assert path.read_text(encoding="utf-8").startswith("digraph compgraph {")


def test_missing_binary_names_the_fix(tmp_path: Path, monkeypatch, homework) -> None:
    old = tmp_path / "w.svg"
    old.write_text("old picture")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizMissingError) as err:
        render(homework[0], old)
    message = str(err.value)
    assert "\n" not in message and "apt-get install graphviz" in message
    assert "graphviz.org/download" in message
    assert old.read_text() == "old picture" and sorted(tmp_path.iterdir()) == [old]


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "pic.svg"
    target.write_bytes(b"old")

    def broken(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(RenderError, match="No space left"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [target]
    fresh = tmp_path / "fresh.svg"
    with pytest.raises(RenderError):
        write_atomic(fresh, b"new")
    assert not fresh.exists() and sorted(tmp_path.iterdir()) == [target]


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        fresh = write_atomic(tmp_path / "fresh.svg", b"x")
        kept = tmp_path / "kept.svg"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        write_atomic(kept, b"new")
    finally:
        os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o644
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_bytes() == b"new"


def test_write_into_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="does not exist"):
        write_atomic(tmp_path / "nope" / "w.svg", b"x")


def test_render_refuses_a_suffix_it_cannot_write_like_the_command_line(tmp_path: Path, homework,
                                                                       capsys) -> None:
    from compgraph.cli import main
    from compgraph.errors import OutputPathError

    with pytest.raises(OutputPathError) as err:
        render(homework[0], tmp_path / "w.jpg")
    assert isinstance(err.value, ValueError) and list(tmp_path.iterdir()) == []
    assert main(["render", "w = x", "--at", "x=1", "-o", str(tmp_path / "w.jpg")]) == 2
    assert capsys.readouterr().err == f"error: {err.value}\n"     # the same message
    with pytest.raises(OutputPathError):
        render(homework[0], tmp_path / "w")                            # no suffix, no format
    assert [p.name for p in render(homework[0], tmp_path / "w", format="dot")] == ["w.dot"]


def test_output_folder_problems_name_the_users_path(tmp_path: Path, homework) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    with pytest.raises(RenderError, match=f"{blocker} is a file, not a folder"):
        render(homework[0], blocker / "deeper" / "w.dot")
    with pytest.raises(RenderError, match="the folder .*nope does not exist"):
        render(homework[0], tmp_path / "nope" / "w.dot")
    (tmp_path / "pic.dot").mkdir()
    with pytest.raises(RenderError, match="pic.dot: it is a folder"):
        render(homework[0], tmp_path / "pic.dot")
    assert not (tmp_path / "nope").exists()


def test_a_refused_temporary_file_is_reported_as_the_target(tmp_path: Path, monkeypatch) -> None:
    def refused(path: str, flags: int, mode: int = 0o777):     # as in a read-only folder
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(RenderError) as err:
        write_atomic(tmp_path / "w.svg", b"x")
    assert str(err.value) == f"cannot write {tmp_path / 'w.svg'}: Permission denied"


def test_the_temporary_file_is_private_and_another_name_is_taken_when_one_is_in_use(
        tmp_path: Path, monkeypatch) -> None:
    from compgraph.drawing import files

    made: list[tuple[str, int]] = []
    real_open = os.open

    def opened(path: str, flags: int, mode: int = 0o777) -> int:
        made.append((path, mode))
        if len(made) == 1:  # a name in use: the next one is tried
            raise FileExistsError(17, "File exists", path)
        return real_open(path, flags, mode)

    monkeypatch.setattr(files.os, "open", opened)
    (tmp_path / "w.svg").write_bytes(b"old")
    assert write_atomic(tmp_path / "w.svg", b"new").read_bytes() == b"new"
    assert len(made) == 2 and made[0][0] != made[1][0]
    assert all(Path(p).parent == tmp_path and Path(p).name.startswith(".w.svg.")
               and p.endswith(".tmp") and mode == 0o600 for p, mode in made)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.svg"]


@pytest.mark.needs_dot
def test_render_writes_every_format(tmp_path: Path, homework) -> None:
    g, values, grads, *_ = homework
    paths = render(g, tmp_path / "w", "backward", values, grads,
                   format=["svg", "png", "pdf", "dot"])
    assert [p.name for p in paths] == ["w.svg", "w.png", "w.pdf", "w.dot"]
    assert paths[1].read_bytes().startswith(b"\x89PNG")
    assert paths[2].read_bytes().startswith(b"%PDF")
    assert render(g, tmp_path / "one.png") == [tmp_path / "one.png"]
    with pytest.raises(RenderError, match="choose one of"):
        render(g, tmp_path / "w.gif", format="gif")


# --- numbers and layering --------------------------------------------------------------------

@pytest.mark.parametrize("value,text", [
    (224.0, "224"), (-0.0, "0"), (0.1 + 0.2, "0.3"), (2 / 3, "0.6667"), (-1e-9, "−1e−9"),
    (float("nan"), "NaN"), (float("inf"), "∞"), (-float("inf"), "−∞"), (1e20, "1e20"),
    (np.array([1.0, -0.0]), "2 [1, 0]"), (np.zeros((3, 2)), "3×2 [[0, 0], [0, 0], [0, 0]]"),
    (np.zeros((7,)), "7"), (np.array(3.0), "3"),
])
def test_one_number_formatter(value, text: str) -> None:
    assert format_value(value) == text


def test_rendering_never_imports_evaluation() -> None:
    for path in sorted((ROOT / "compgraph" / "render").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            for name in names:
                assert not re.search(r"(^|\.)(evaluate|differentiate)$", name), (path, name)


# --- operators with parameters ----------------------------------------------------------------

NEW_OPS = ("h = relu(W @ x)[0:2]\n"
           "p = softmax(reshape(outer(h, h), [4]), axis=0)\n"
           "m = maximum(max(W, axis=1), min(W, axis=0)[1])\n"
           "C = cross_entropy(log_softmax(p) + logsumexp(h)*sum(m, axis=0)*mean(W), t) + W[:, 1][-1]")
NEW_OPS_POINT = {"W": [[1.0, -1.0, 0.5], [0.5, 2.0, -1.0], [-1.5, 0.25, 1.0]],
                 "x": [1.0, 2.0, 0.5], "t": [0.0, 1.0, 0.0, 0.0]}
NEW_LABELS = {"[0:2]", "softmax₀", "reshape 4", "outer", "maximum", "max₁", "min₀", "[1]", "CE",
              "log softmax", "logsumexp", "Σ₀", "mean", "[:, 1]", "[-1]"}


@pytest.mark.needs_dot
@pytest.mark.parametrize("view", VIEWS)
def test_new_operators_are_labelled_and_render(view: str) -> None:
    g = cg.parse(NEW_OPS)
    values = cg.evaluate(g, NEW_OPS_POINT)
    grads = cg.backward(g, values)
    tans = cg.tangents(g, values, "x")
    dot = to_dot(g, view, values, grads, tans, **explaining((g, values, grads), view))
    labels = {n.op_label for n in g.nodes if n.kind == "op"}
    assert NEW_LABELS <= labels
    texts = {"".join(t.itertext()).strip()
             for t in ET.fromstring(pipe(dot, "svg").decode("utf-8")).iter(f"{SVG}text")}
    assert NEW_LABELS <= texts, NEW_LABELS - texts
    ce = next(n.id for n in g.nodes if n.op == "cross_entropy")
    assert "class=cost" in node_line(dot.source, f"op{ce}")


@pytest.mark.needs_dot
def test_text_with_backslashes_renders_as_written() -> None:
    # Names are identifiers (the builders refuse anything else, see test_escaping.py), so
    # such text reaches a picture as a title; it is in an HTML-like label.
    text = 'a\\N<b>&"c'
    with pytest.raises(cg.ParseError, match="not a valid name"):
        cg.GraphBuilder().input(text)
    svg = pipe(to_dot(cg.parse("w = -x"), title=text), "svg").decode("utf-8")
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert text in texts
