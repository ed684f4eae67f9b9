"""Measure a finished SVG picture: its size on a slide, and what its annotations touch.

Reads only the SVG that :func:`compgraph.drawing.pipe` writes. Text boxes are estimated
from the string and the font size (Graphviz does not write text widths), generously and
the same way everywhere (:func:`compgraph.drawing.annotate.text_width`, the ascent and
descent below), so a picture that passes these checks has room to spare in a real font.

- :func:`slide_fit`: the aspect ratio, and the smallest text in pixels once the picture is
  scaled to fit a 1280×720 slide (every font size times the scale);
- :func:`annotation_clashes`: every annotation (value, gradient, tangent beside a
  variable) whose box meets another node's shape, any text that is not its own, or any
  edge (path or arrowhead), or whose nearest node is not its own.

>>> svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="640pt" height="200pt">'
...        '<g class="graph"><text x="0" y="10" font-size="10.00">7</text></g></svg>')
>>> fit = slide_fit(read_svg(svg))
>>> round(fit.aspect, 2), fit.smallest_px
(3.2, 20.0)
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .annotate import text_width

SVG = "{http://www.w3.org/2000/svg}"
ASCENT, DESCENT = 0.8, 0.25  # of the font size, above and below the baseline
SLIDE = (1280, 720)

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in the picture's units (points)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def meets(self, other: "Box") -> bool:
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        return (self.x0 - margin <= x <= self.x1 + margin
                and self.y0 - margin <= y <= self.y1 + margin)

    def distance(self, other: "Box") -> float:
        dx = max(other.x0 - self.x1, self.x0 - other.x1, 0.0)
        dy = max(other.y0 - self.y1, self.y0 - other.y1, 0.0)
        return math.hypot(dx, dy)

    @staticmethod
    def around(boxes: list["Box"]) -> "Box":
        return Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes),
                   max(b.x1 for b in boxes), max(b.y1 for b in boxes))


@dataclass(frozen=True)
class Text:
    string: str
    size: float
    box: Box
    node: str | None        # the DOT node it belongs to (its <title>), if any
    annotation: str | None  # the annotation group it is part of, if any


@dataclass
class Picture:
    """What a picture holds, in the picture's own units (points)."""

    width: float
    height: float
    scale: float = 1.0  # of the drawing inside the viewBox (Graphviz's transform)
    texts: list[Text] = field(default_factory=list)
    shapes: dict[str, list[Box]] = field(default_factory=dict)  # node → outlines
    other_shapes: list[Box] = field(default_factory=list)      # legend samples
    annotations: dict[str, tuple[str, list[Box]]] = field(default_factory=dict)
    edges: list[list[tuple[float, float]]] = field(default_factory=list)  # sampled paths
    arrowheads: list[Box] = field(default_factory=list)


def _points(text: str) -> list[tuple[float, float]]:
    numbers = [float(v) for v in _NUMBER.findall(text)]
    return list(zip(numbers[0::2], numbers[1::2]))


def _path_points(d: str, steps: int = 24) -> list[tuple[float, float]]:
    """Points along a Graphviz edge path (``M`` then cubic ``C`` segments), finely sampled."""
    pts = _points(d)
    if not pts:
        return []
    out = [pts[0]]
    for k in range(1, len(pts) - 2, 3):
        p0, p1, p2, p3 = pts[k - 1], pts[k], pts[k + 1], pts[k + 2]
        for s in range(1, steps + 1):
            t = s / steps
            a, b, c, e = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0],
                        a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
    if len(pts) < 4:  # straight lines (fixed positions draw them)
        out = pts
    return out


_COMMAND = re.compile(r"([MLCAZmlcaz])([^MLCAZmlcaz]*)")


def _arc(p0: tuple[float, float], rx: float, ry: float, large: bool, sweep: bool,
         p1: tuple[float, float], steps: int = 16) -> list[tuple[float, float]]:
    """Points along an unrotated SVG elliptical arc (the SVG spec's centre conversion)."""
    if rx == 0 or ry == 0:
        return [p1]
    x1p, y1p = (p0[0] - p1[0]) / 2, (p0[1] - p1[1]) / 2
    grow = (x1p / rx) ** 2 + (y1p / ry) ** 2
    if grow > 1:
        rx, ry = rx * math.sqrt(grow), ry * math.sqrt(grow)
    num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p
    den = rx * rx * y1p * y1p + ry * ry * x1p * x1p
    k = math.sqrt(max(0.0, num / den)) if den else 0.0
    if large == sweep:
        k = -k
    cx = k * rx * y1p / ry + (p0[0] + p1[0]) / 2
    cy = -k * ry * x1p / rx + (p0[1] + p1[1]) / 2
    t0 = math.atan2((p0[1] - cy) / ry, (p0[0] - cx) / rx)
    t1 = math.atan2((p1[1] - cy) / ry, (p1[0] - cx) / rx)
    dt = t1 - t0
    if sweep and dt < 0:
        dt += 2 * math.pi
    elif not sweep and dt > 0:
        dt -= 2 * math.pi
    return [(cx + rx * math.cos(t0 + dt * s / steps), cy + ry * math.sin(t0 + dt * s / steps))
            for s in range(1, steps + 1)]


def _shape_points(d: str) -> list[tuple[float, float]]:
    """The points of a shape's path (absolute M, L, C, A and Z, as Graphviz and dshape write)."""
    out: list[tuple[float, float]] = []
    for command, args in _COMMAND.findall(d):
        numbers = [float(v) for v in _NUMBER.findall(args)]
        if command == "A":
            for k in range(0, len(numbers) - 6, 7):
                rx, ry, _, large, sweep, x, y = numbers[k:k + 7]
                out += _arc(out[-1], rx, ry, bool(large), bool(sweep), (x, y))
        else:
            out += list(zip(numbers[0::2], numbers[1::2]))
    return out


def _outline(el: ET.Element) -> Box | None:
    tag = el.tag.replace(SVG, "")
    if tag == "ellipse":
        cx, cy = float(el.get("cx", 0)), float(el.get("cy", 0))
        rx, ry = float(el.get("rx", 0)), float(el.get("ry", 0))
        return Box(cx - rx, cy - ry, cx + rx, cy + ry)
    if tag in ("polygon", "polyline", "path"):
        pts = _points(el.get("points", "")) if tag != "path" else _shape_points(el.get("d", ""))
        if pts:
            return Box(min(p[0] for p in pts), min(p[1] for p in pts),
                       max(p[0] for p in pts), max(p[1] for p in pts))
    return None


def _text_box(el: ET.Element, string: str, size: float) -> Box:
    x, y = float(el.get("x", 0)), float(el.get("y", 0))
    italic = el.get("font-style") == "italic"
    width = text_width(string, size) * (0.85 if italic else 1.0)
    anchor = el.get("text-anchor", "start")
    x0 = x - width / 2 if anchor == "middle" else (x - width if anchor == "end" else x)
    return Box(x0, y - ASCENT * size, x0 + width, y + DESCENT * size)


def _size(value: str | None) -> float:
    return float(re.sub(r"[a-z]+$", "", value or "0") or 0)


def read_svg(svg: str) -> Picture:
    """Read the texts, node outlines, annotations and edges of a finished picture."""
    root = ET.fromstring(svg)
    pic = Picture(width=_size(root.get("width")), height=_size(root.get("height")))

    def walk(el: ET.Element, node: str | None, annotation: str | None, edge: bool,
             shape: bool) -> None:
        tag = el.tag.replace(SVG, "")
        classes = (el.get("class") or "").split()
        if tag == "g":
            if "graph" in classes:
                m = re.match(r"scale\(([\d.]+)", el.get("transform", ""))
                pic.scale = float(m.group(1)) if m else 1.0
            if "node" in classes:
                title = el.find(f"{SVG}title")
                node = title.text if title is not None else None
                pic.shapes.setdefault(node or "", [])
            if "edge" in classes:
                edge = True
            if "annotation" in classes:
                annotation = el.get("id")
                pic.annotations[annotation or ""] = (node or "", [])
            if "shape" in classes:
                shape = True
        elif tag == "text":
            string = "".join(el.itertext())
            size = float(el.get("font-size", "14"))
            box = _text_box(el, string, size)
            pic.texts.append(Text(string, size, box, node, annotation))
            if annotation is not None:
                pic.annotations[annotation][1].append(box)
        elif edge and tag == "path":
            pic.edges.append(_path_points(el.get("d", "")))
        elif edge and tag == "polygon":
            box = _outline(el)
            if box is not None:
                pic.arrowheads.append(box)
        elif annotation is not None:
            box = _outline(el)  # a grid's brackets
            if box is not None:
                pic.annotations[annotation][1].append(box)
        elif tag in ("ellipse", "path", "polygon") and (node or shape):
            box = _outline(el)
            if box is not None and node is not None:
                pic.shapes[node].append(box)
            elif box is not None:
                pic.other_shapes.append(box)
        for child in el:
            walk(child, node, annotation, edge, shape)

    walk(root, None, None, False, False)
    for node, outlines in pic.shapes.items():
        if not outlines:  # a constant is its text
            outlines += [t.box for t in pic.texts if t.node == node and t.string.strip()]
    return pic


@dataclass(frozen=True)
class Fit:
    aspect: float       # width / height
    scale: float        # of the picture, to fit the slide
    smallest_pt: float  # the smallest font size in the picture
    smallest_px: float  # the same once scaled to fit the slide


def slide_fit(pic: Picture, slide: tuple[int, int] = SLIDE) -> Fit:
    """How the picture sits on a slide: aspect ratio, and its smallest text once fitted."""
    scale = min(slide[0] / pic.width, slide[1] / pic.height)
    smallest = min((t.size * pic.scale for t in pic.texts if t.string.strip()), default=0.0)
    return Fit(pic.width / pic.height, scale, smallest, smallest * scale)


def annotation_clashes(pic: Picture) -> list[str]:
    """One line per annotation that meets something not its own, or sits nearer another node."""
    problems = []
    for name, (owner, parts) in sorted(pic.annotations.items()):
        if not parts:
            continue
        box = Box.around(parts)
        what = f"{name} (of {owner})"
        for node, outlines in pic.shapes.items():
            if any(box.meets(b) for b in outlines):
                problems.append(f"{what} meets the shape of {node}")
        if any(box.meets(b) for b in pic.other_shapes):
            problems.append(f"{what} meets a legend sample")
        for t in pic.texts:
            if t.annotation != name and t.string.strip() and box.meets(t.box):
                problems.append(f"{what} meets the text {t.string!r}")
        if any(box.contains(x, y, margin=1.0) for path in pic.edges for x, y in path):
            problems.append(f"{what} meets an edge")
        if any(box.meets(b) for b in pic.arrowheads):
            problems.append(f"{what} meets an arrowhead")
        distances = {node: min(box.distance(b) for b in outlines)
                     for node, outlines in pic.shapes.items() if outlines}
        nearest = min(distances, key=lambda n: (distances[n], n != owner))
        if nearest != owner:
            problems.append(f"{what} is nearer to {nearest} ({distances[nearest]:.1f}) than "
                            f"to its own node ({distances.get(owner, math.inf):.1f})")
    return problems
