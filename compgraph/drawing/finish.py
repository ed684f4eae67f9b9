"""SVG post-processing: the course's shapes Graphviz lacks, and named groups for annotations.

Graphviz draws what :mod:`compgraph.drawing.dot` asks for, and this pass, reading only the
SVG text, finishes it:

- an operator box whose node has the class ``dshape_<side>`` becomes a D (dshape.py);
- a table cell named ``cg_<owner>_ellipse`` (``cg_v3_ellipse``, ``cg_legend_input_ellipse``) (a variable's shape, a legend sample) is drawn
  by Graphviz as a filled rectangle and a border: both become one ellipse inscribed in the
  cell (a circle when the cell is square), so edges, which end on the middle of the cell's
  sides, touch its outline; ``cg_<owner>_dshape_<side>`` becomes a D the same way;
- every other named cell (``cg_v3_value``, ``cg_v3_gradient``, ``cg_v3_tangent``) becomes a
  group ``<g id="cg_v3_value" class="annotation value">`` with its tooltip as a ``<title>``,
  so tests and stylesheets can find each annotation and the node it belongs to.

Cells are named through Graphviz's ``href``, the only cell attribute that reaches the SVG;
the link it makes is removed here. The result depends on nothing but the input text.

>>> svg = ('<g id="a_cg_v0_ellipse"><a xlink:href="#cg_v0_ellipse" xlink:title="x">\\n'
...        '<polygon fill="#dddddd" stroke="transparent" points="0,0 0,-36 36,-36 36,0 0,0"/>\\n'
...        '<polygon fill="none" stroke="black" stroke-width="2" points="1,-1 1,-35 35,-35 35,-1 1,-1"/>\\n'
...        '<text x="14" y="-14">x</text>\\n</a>\\n</g>')
>>> print(finish_svg(svg))
<g id="cg_v0_ellipse" class="shape"><title>x</title>
<ellipse fill="#dddddd" stroke="black" stroke-width="2" cx="18" cy="-18" rx="17" ry="17"/>
<text x="14" y="-14">x</text>
</g>
"""

from __future__ import annotations

import re

from .dshape import _n, d_path, dshape_svg

_MARKED = re.compile(
    r'<g id="a_(cg_(\w+?)_(ellipse|dshape_(?:right|left|top|bottom)|value|gradient|tangent))">'
    r'<a xlink:href="[^"]*"'
    r'(?: xlink:title="([^"]*)")?>\n(.*?)</a>\n</g>', re.S)
_POLYGON = re.compile(r'<polygon ([^>]*?)points="([^"]*)"([^>]*)/>\n?')
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _box(points: str) -> tuple[float, float, float, float]:
    numbers = [float(v) for v in _NUMBER.findall(points)]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _outline(body: str, kind: str) -> str:
    """Replace a cell's fill and border rectangles (before its text) by one shape."""
    cut = body.find("<text")
    head, tail = (body, "") if cut < 0 else (body[:cut], body[cut:])
    polygons = list(_POLYGON.finditer(head))
    if not polygons:
        return body
    style: dict[str, str] = {"fill": "none", "stroke": "none"}
    box = None
    for m in polygons:
        attrs = dict(_ATTR.findall(m.group(1) + m.group(3)))
        if attrs.get("fill", "none") != "none":
            style["fill"] = attrs["fill"]
            box = box or _box(m.group(2))
        if attrs.get("stroke", "transparent") not in ("transparent", "none"):
            style["stroke"] = attrs["stroke"]
            style["stroke-width"] = attrs.get("stroke-width", "1")
            box = _box(m.group(2))  # the border's centre line: the stroke stays in the cell
    x0, y0, x1, y1 = box  # type: ignore[misc]
    paint = " ".join(f'{k}="{v}"' for k, v in style.items())
    if kind == "ellipse":
        shape = (f'<ellipse {paint} cx="{_n((x0 + x1) / 2)}" cy="{_n((y0 + y1) / 2)}" '
                 f'rx="{_n((x1 - x0) / 2)}" ry="{_n((y1 - y0) / 2)}"/>\n')
    else:
        shape = f'<path {paint} d="{d_path(x0, y0, x1, y1, kind[len("dshape_"):])}"/>\n'
    rest = _POLYGON.sub("", head)
    return rest + shape + tail


def _finish(m: re.Match[str]) -> str:
    name, _, kind, title, body = m.groups()
    title_xml = f"<title>{title}</title>\n" if title else ""
    if kind == "ellipse" or kind.startswith("dshape_"):
        return f'<g id="{name}" class="shape">{title_xml.rstrip()}\n{_outline(body, kind)}</g>'
    return f'<g id="{name}" class="annotation {kind}">{title_xml.rstrip()}\n{body}</g>'


# Graphviz lays text out with the fonts that fontconfig gives for Helvetica and Times
# (Liberation Sans and Serif, their metric twins, on Linux) but writes only "Helvetica,
# sans-Serif": a renderer may then take its sans-serif font (DejaVu Sans, wider) and the
# numbers overrun their cells. Naming the twins keeps every renderer on the same widths.
_FONTS = {'font-family="Helvetica,sans-Serif"':
          'font-family="Helvetica,Arial,Liberation Sans,sans-serif"',
          'font-family="Times,serif"':
          'font-family="Times,Times New Roman,Liberation Serif,serif"'}
_FONT = re.compile("|".join(re.escape(k) for k in _FONTS))


_STUB = re.compile(r'<title>wrap(\d+)_(out|in)</title>\n<ellipse [^>]*cx="([-\d.]+)" '
                   r'cy="([-\d.]+)"')
_ROW = re.compile(r'<title>cluster_row(\d+)</title>\n<polygon [^>]*points="([^"]*)"')
_STUB_PATH = re.compile(r'<title>[^<]*&#45;&gt;wrap(\d+)_out</title>\n(?:<g [^>]*><a [^>]*>\n)?'
                        r'<path fill="none" ([^>]*?) d="')
_CORNER = 4.0  # points: the radius of the connector's bends


def _rounded(points: list[tuple[float, float]]) -> str:
    """Path data through ``points`` with small rounded bends."""
    d = f"M{_n(points[0][0])},{_n(points[0][1])}"
    for (x0, y0), (x1, y1), (x2, y2) in zip(points, points[1:], points[2:]):
        a = min(_CORNER, abs(x1 - x0) + abs(y1 - y0)) / max(abs(x1 - x0) + abs(y1 - y0), 1e-9)
        b = min(_CORNER, abs(x2 - x1) + abs(y2 - y1)) / max(abs(x2 - x1) + abs(y2 - y1), 1e-9)
        d += (f" L{_n(x1 - (x1 - x0) * a)},{_n(y1 - (y1 - y0) * a)}"
              f" Q{_n(x1)},{_n(y1)} {_n(x1 + (x2 - x1) * b)},{_n(y1 + (y2 - y1) * b)}")
    return d + f" L{_n(points[-1][0])},{_n(points[-1][1])}"


def _connect_rows(svg: str) -> str:
    """Join each ``wrap<k>_out`` stub to its ``wrap<k>_in`` (rows.py): right a little, down
    to the middle of the gap between the two rows, left past the rows' left edge (into the
    picture's padding), down to the next row's stub and into it; styled as the stub."""
    stubs: dict[tuple[str, str], tuple[float, float]] = {
        (k, end): (float(x), float(y)) for k, end, x, y in _STUB.findall(svg)}
    if not stubs:
        return svg
    boxes = [_box(points) for _, points in sorted(_ROW.findall(svg))]
    styles = dict(_STUB_PATH.findall(svg))
    left = min(b[0] for b in boxes) - 10
    groups = []
    for k in sorted({k for k, _ in stubs}, key=int):
        (xo, yo), (xi, yi) = stubs[(k, "out")], stubs[(k, "in")]
        upper = next(b for b in boxes if b[1] <= yo <= b[3])
        lower = next(b for b in boxes if b[1] <= yi <= b[3])
        gap = (upper[3] + lower[1]) / 2 if upper[3] <= lower[1] else (upper[1] + lower[3]) / 2
        path = _rounded([(xo, yo), (xo + 6, yo), (xo + 6, gap), (left, gap), (left, yi),
                         (xi, yi)])
        style = styles.get(k, 'stroke="black"')
        groups.append(f'<g id="wrap{k}" class="edge wrap">\n<title>wrap{k}</title>\n'
                      f'<path fill="none" {style} d="{path}"/>\n</g>\n')
    end = svg.rfind("</g>\n</svg>")
    return svg[:end] + "".join(groups) + svg[end:]


def finish_svg(svg: str) -> str:
    """The finished picture: D-shaped operators, round variables, named annotations, rows
    joined, and font names that every renderer resolves to the fonts the layout was
    measured with."""
    svg = _connect_rows(_MARKED.sub(_finish, dshape_svg(svg)))
    return _FONT.sub(lambda m: _FONTS[m.group(0)], svg)
