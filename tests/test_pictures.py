"""The finished pictures: annotations beside their own node and clear of everything else,
slide-sized text, PNG and PDF that keep the SVG's shapes, glyphs the fonts have."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

import compgraph as cg
from compgraph.drawing import pipe, to_dot
from compgraph.drawing.finish import finish_svg
from compgraph.drawing.measure import Box, annotation_clashes, read_svg, slide_fit
from compgraph.gallery import examples

ROOT = Path(__file__).resolve().parents[1]
RENDERS = ROOT / "renders"
# The examples' pictures in every view (renders/ also holds plots, frames and pages).
PICTURES = [p for p in sorted(RENDERS.glob("*.svg"))
            if p.stem.rsplit("-", 1)[-1] in ("forward", "backward", "both", "tangent")]
HOMEWORK = "a = x*y + z, b = a*(x + x), w = a*b + b"

needs_rsvg = pytest.mark.skipif(shutil.which("rsvg-convert") is None,
                                reason="librsvg's rsvg-convert is not installed "
                                       "(scripts/setup.sh installs it)")


def test_every_example_view_is_measured() -> None:
    stems = {p.stem for p in PICTURES}
    for path in examples(ROOT / "examples"):
        assert f"{path.stem}-forward" in stems
    assert len(PICTURES) >= 4 * 12


@pytest.mark.parametrize("path", PICTURES, ids=[p.stem for p in PICTURES])
def test_annotations_sit_beside_their_own_node(path: Path) -> None:
    pic = read_svg(path.read_text(encoding="utf-8"))
    assert annotation_clashes(pic) == []
    if not path.stem.endswith("forward"):
        # every variable of a picture with numbers has its annotation; none is empty
        assert pic.annotations and all(parts for _, parts in pic.annotations.values())
        owners = {owner for owner, _ in pic.annotations.values()}
        variables = {n for n in pic.shapes if n.startswith("v")}
        assert owners <= variables and len(owners) >= len(variables) // 2


@pytest.mark.parametrize("path", PICTURES, ids=[p.stem for p in PICTURES])
def test_default_pictures_are_readable_on_a_slide(path: Path) -> None:
    fit = slide_fit(read_svg(path.read_text(encoding="utf-8")))
    assert fit.smallest_px >= 9.0, (
        f"{path.stem}: smallest text {fit.smallest_px:.1f} px at 1280×720 "
        f"(aspect {fit.aspect:.2f}, smallest font {fit.smallest_pt} pt)")


def test_the_two_layer_gradient_shows_all_of_dC_dW() -> None:
    pic = read_svg((RENDERS / "two-layer-net-backward.svg").read_text(encoding="utf-8"))
    texts = {t.annotation: [] for t in pic.texts}
    for t in pic.texts:
        texts[t.annotation].append(t.string)
    graph = cg.parse((ROOT / "examples" / "two-layer-net.cg").read_text())
    grads = cg.backward(graph, cg.evaluate(graph))
    for name in ("W1", "W2"):
        i = graph.latest[name]
        shown = texts[f"cg_v{i}_gradient"]
        entries = grads[name].ravel()
        assert len(shown) == entries.size  # a grid: one text per entry
        assert sorted(float(s.replace("−", "-")) for s in shown) == pytest.approx(
            sorted(entries), rel=1e-3, abs=1e-9)


# --- the measures themselves can fail -------------------------------------------------------

CLASH = """<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="100pt">
<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 96)">
<g id="node1" class="node"><title>v0_x</title>
<g id="cg_v0_value" class="annotation value"><text x="{x}" y="{y}" font-size="11.00">{value}</text></g>
<g id="cg_v0_ellipse" class="shape"><ellipse cx="20" cy="-30" rx="17" ry="17"/></g>
</g>
<g id="node2" class="node dshape_right"><title>op1</title>
<path d="M60,-45 L75,-45 A15,15 0 0 1 75,-15 L60,-15 Z"/></g>
<g id="edge1" class="edge"><title>v0_x-&gt;op1</title><path d="M{edge} C50,-30 55,-30 60,-30"/></g>
</g></svg>"""


CLEAR = {"value": "7", "x": 10, "y": -60, "edge": "37,-30"}


def test_a_clear_annotation_passes() -> None:
    assert annotation_clashes(read_svg(CLASH.format(**CLEAR))) == []


@pytest.mark.parametrize("change,problem", [
    ({"value": "7 777 777", "x": 40, "y": -40}, "meets the shape of op1"),  # into the next node
    ({"x": 14, "y": -28}, "meets the shape of v0_x"),                        # on its own circle
    ({"edge": "12,-62"}, "meets an edge"),                                   # a wire through it
    ({"x": 52, "y": -48}, "nearer to op1"),                                  # beside another node
])
def test_clashes_are_found(change: dict, problem: str) -> None:
    problems = annotation_clashes(read_svg(CLASH.format(**{**CLEAR, **change})))
    assert any(problem in p for p in problems), problems


def test_slide_fit_scales_the_smallest_text() -> None:
    fit = slide_fit(read_svg(CLASH.format(**CLEAR)))
    assert fit.aspect == 2.0 and fit.scale == 6.4 and fit.smallest_px == pytest.approx(70.4)
    assert Box(0, 0, 2, 2).meets(Box(1, 1, 3, 3)) and not Box(0, 0, 1, 1).meets(Box(2, 2, 3, 3))


# --- PNG and PDF keep the SVG's shapes ------------------------------------------------------

def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of an 8-bit RGBA or RGB PNG (what rsvg-convert writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            channels = 4 if color == 6 else 3
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for r in range(height):
        line = raw[r * (stride + 1):(r + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                row[i] = (row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc
                                    else corner)) & 255
        rows.append(bytes(row[k] for k in range(0, stride, channels)))  # red channel
        previous = row
    return width, height, rows


def _difference(a: list[bytes], b: list[bytes]) -> float:
    """The share of pixels whose red channel differs by more than a little."""
    changed = sum(abs(x - y) > 32 for ra, rb in zip(a, b) for x, y in zip(ra, rb))
    return changed / sum(len(r) for r in a)


def _rasterise(svg: bytes) -> bytes:
    return subprocess.run(["rsvg-convert", "--format", "png"], input=svg, check=True,
                          capture_output=True).stdout


@pytest.fixture(scope="module")
def homework_picture():
    g = cg.parse(HOMEWORK)
    values = cg.evaluate(g, x=2, y=3, z=1)
    return to_dot(g, "backward", values, cg.backward(g, values))


@needs_rsvg
@pytest.mark.needs_dot
def test_png_is_the_finished_svg(homework_picture) -> None:
    svg = pipe(homework_picture, "svg")
    png = pipe(homework_picture, "png")
    w, h, ours = _png_pixels(png)
    w2, h2, reference = _png_pixels(_rasterise(svg))
    assert (w, h) == (w2, h2) and _difference(ours, reference) < 0.001
    # ...and not Graphviz's boxes: the unfinished SVG rasterises visibly differently
    raw = homework_picture.pipe(format="svg")
    _, _, boxes = _png_pixels(_rasterise(raw))
    assert _difference(ours, boxes) > 0.002
    assert finish_svg(raw.decode()).encode() == svg


@needs_rsvg
@pytest.mark.needs_dot
def test_pdf_is_the_finished_svg_with_curves(homework_picture) -> None:
    svg = pipe(homework_picture, "svg").decode()
    pdf = pipe(homework_picture, "pdf")
    assert pdf.startswith(b"%PDF") and pipe(homework_picture, "pdf") == pdf  # deterministic
    width, height = (float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"',
                                                  svg).groups())
    box = [float(v) for v in re.search(rb"/MediaBox \[([\d. ]+)\]", pdf).group(1).split()]
    assert box[2:] == pytest.approx([width, height], abs=1)
    content = b"".join(zlib.decompress(m.group(1)) for m in
                       re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S)
                       if m.group(1)[:1] == b"x")
    # circles and D shapes are curves ("c"), as in the SVG; boxes would be rectangles only
    circles = svg.count("<ellipse")
    assert circles >= 9 and len(re.findall(rb"\sc\s", content)) >= 4 * circles


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig's fc-list is absent")
def test_every_glyph_is_in_the_font_it_is_drawn_with() -> None:
    families = {"Helvetica": "Liberation Sans", "Times": "Liberation Serif"}
    needed: dict[str, set[str]] = {}
    for path in PICTURES:
        svg = path.read_text(encoding="utf-8")
        for family, text in re.findall(r'font-family="(\w+)[^"]*"[^>]*>([^<]*)<', svg):
            needed.setdefault(families[family], set()).update(ch for ch in text if ord(ch) > 126)
    assert "←" in needed["Liberation Sans"]  # the legend's gradient-flow arrow
    for family, chars in needed.items():
        for ch in sorted(chars):
            out = subprocess.run(["fc-list", f":charset={ord(ch):x}", "family"],
                                 capture_output=True, text=True).stdout
            assert family in out, f"{ch!r} (U+{ord(ch):04X}) is not in {family}"


# --- direction, rows, fixed positions ------------------------------------------------------

def _rankdir(source: str) -> str:
    return re.search(r"rankdir=(\w+)", source).group(1)


def test_direction_follows_the_graphs_shape() -> None:
    # ten short parallel branches: a tall column left to right, a slide-shaped row top-down
    wide = cg.parse("\n".join([f"a{i} = x{i}*w{i}" for i in range(10)] + ["s = a0 + a1"]))
    assert _rankdir(to_dot(wide).source) == "TB"
    assert _rankdir(to_dot(cg.parse(HOMEWORK)).source) == "LR"
    assert _rankdir(to_dot(wide, rankdir="LR").source) == "LR"


LONG = "\n".join(["v0 = x"] + [f"v{i} = tanh(v{i - 1}) * 0.9" for i in range(1, 10)])


def test_a_long_chain_wraps_into_rows() -> None:
    g = cg.parse(LONG)
    values = cg.evaluate(g, x=0.5)
    src = to_dot(g, "backward", values, cg.backward(g, values)).source
    count = src.count("subgraph cluster_row")
    assert count >= 2
    for k in range(count - 1):  # one connector from each row to the next
        assert src.count(f"-> wrap{k}_out") == 1 and src.count(f"wrap{k}_in ->") == 1
    assert f"wrap{count - 1}_" not in src
    # the arrowhead stays at the real edge's end: the tail, for the gradient flow
    out = next(line for line in src.splitlines() if "-> wrap0_out" in line)
    into = next(line for line in src.splitlines() if "wrap0_in ->" in line)
    assert "dir=back" in out and "dir=none" in into and "label=" in out
    assert "cluster" not in to_dot(g, "backward", values, cg.backward(g, values),
                                   rankdir="LR").source


@pytest.mark.needs_dot
def test_rows_read_top_to_bottom_joined_by_a_connector() -> None:
    g = cg.parse(LONG)
    values = cg.evaluate(g, x=0.5)
    svg = pipe(to_dot(g, "forward", values), "svg").decode()
    rows = {int(r): [float(v) for v in re.findall(r"-?[\d.]+", points)] for r, points in
            re.findall(r"<title>cluster_row(\d)</title>\n<polygon [^>]*points=\"([^\"]*)\"", svg)}
    top = lambda r: min(rows[r][1::2])  # noqa: E731  (SVG y grows downwards)
    assert len(rows) >= 2 and all(top(r) < top(r + 1) for r in range(len(rows) - 1))
    connector = re.search(r'<g id="wrap0" class="edge wrap">\n<title>wrap0</title>\n'
                          r'<path fill="none" stroke="black"[^>]* d="M([^"]*)"', svg)
    assert connector is not None
    pic = read_svg(svg)
    assert annotation_clashes(pic) == [] and slide_fit(pic).smallest_px >= 9


@pytest.mark.needs_dot
def test_fixed_positions_keep_nodes_apart() -> None:
    source = "\n".join(["v0 = x*y"] + [f"v{i} = v{i - 1}*x + relu(v{i - 1})"
                                       for i in range(1, 40)])
    g = cg.parse(source)
    values = cg.evaluate(g, x=0.5, y=0.25)
    dot = to_dot(g, "backward", values, cg.backward(g, values), layout="fast")
    pic = read_svg(pipe(dot, "svg").decode())
    boxes = [(n, b) for n, outlines in pic.shapes.items() if n[0] in "vo" for b in outlines]
    assert len(boxes) > 150
    overlapping = [(a, b) for k, (a, box) in enumerate(boxes) for b, other in boxes[k + 1:]
                   if a != b and box.meets(other)]
    assert overlapping == []


@pytest.mark.needs_dot
def test_missing_converter_names_the_fix(monkeypatch, homework_picture) -> None:
    from compgraph.drawing import convert
    from compgraph.errors import ConverterMissingError

    monkeypatch.setattr(convert.shutil, "which", lambda name: None)
    with pytest.raises(ConverterMissingError) as err:
        pipe(homework_picture, "png")
    assert "apt-get install librsvg2-bin" in str(err.value) and "\n" not in str(err.value)
    assert pipe(homework_picture, "svg").startswith(b"<?xml")  # SVG needs no converter
