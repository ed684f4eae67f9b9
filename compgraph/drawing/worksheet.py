"""Printable worksheets: the graph with its gradients (or values) as boxes to fill in.

A worksheet is one page (A4 or US Letter, turned to suit the graph) with a title line and
fields for a name and a date, what to do, the inputs, the program, the graph drawn once
(:class:`~compgraph.drawing.film.Film`, the same drawing the stepper shows) and a table of
every named variable. The numbers of the chosen kind become empty boxes where they would
be written, on the graph and in the table, except the ones a learner is given: the inputs'
values, and the output's gradient (1). The answer key is the same page with every box
filled in: laid over the sheet, each answer sits in its box. Blank boxes are drawn from the
positions alone, so a blank sheet holds none of its answers (not even in a tooltip).

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> from compgraph.steps import walkthrough
>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> walk = walkthrough(g, evaluate(g, x=2, y=3, z=1))
>>> ">292" in worksheet_svg(walk), ">292" in worksheet_svg(walk, answers=True)
(False, True)
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

from ..errors import RenderError
from ..graph import INPUT
from ..steps import Walkthrough
from .dot import to_dot
from .film import KIND, WHAT, Film, part_box, strip_working, svg_text, tagged_numbers
from .format import format_value
from .stepper import _expression, _precedence, node_names

PAPERS = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}  # portrait, in points
BLANKS = ("gradients", "values")

MARGIN = 42.0        # points (about 15 mm): printers leave 5 mm or so unprinted
FONT = "Helvetica,Arial,sans-Serif"
MONO = "Courier,monospace"
BOX_STROKE = "#555555"
MIN_BOX = 26.0       # points: the narrowest box on the graph
ROW = 20.0           # points: a row of the table
CELL = 110.0         # points: a column of the table



def _kind(blank: str) -> str:
    if blank not in BLANKS:
        raise RenderError(f"unknown blank {blank!r}; choose one of: {', '.join(BLANKS)}")
    return "gradient" if blank == "gradients" else "value"


def _given(walk: Walkthrough, what: str) -> bool:
    """Whether a number of the blanked kind is given anyway: an input's value (``v3``), the
    output's gradient (``g8``, the seed)."""
    if what.startswith("v"):
        return walk.graph.nodes[int(what[1:])].kind == INPUT
    return what == f"g{walk.graph.output}"


def _box(x: float, y: float, w: float, h: float, fill: str = "white") -> ET.Element:
    """A box to write in around ``(x, y, w, h)``, at least ``MIN_BOX`` wide, centred on it."""
    width = max(w + 6, MIN_BOX)
    return ET.Element("rect", {"x": f"{x + w / 2 - width / 2:.2f}", "y": f"{y - 2:.2f}",
                               "width": f"{width:.2f}", "height": f"{h + 4:.2f}", "rx": "2",
                               "fill": fill, "stroke": BOX_STROKE, "stroke-width": "0.8"})


def _graph_with_boxes(film: Film, kind: str, answers: bool) -> ET.Element:
    """The film's drawing with every number of ``kind`` (not given) boxed: empty, or with
    its answer in it."""
    walk = film.walk
    root = copy.deepcopy(film.root)
    for parent, el in tagged_numbers(root):
        if el.get(KIND) != kind or _given(walk, el.get(WHAT, "")):
            continue
        box = part_box(el)
        where = list(parent).index(el)
        if box is not None:
            parent.insert(where, _box(*box, fill="white" if not answers else film.colors["background"]))
            where += 1
        if not answers:
            parent.remove(el)
    strip_working(root)
    return root


def _statements(walk: Walkthrough) -> list[str]:
    """The program as statements in the arithmetic's notation, without input values (a class
    set's sheets each have their own inputs)."""
    graph = walk.graph
    names = node_names(graph)
    seen: dict[int, str] = {}
    lines = []
    for binding in graph.bindings:
        node = graph.nodes[binding.node]
        if node.kind == INPUT:
            continue
        if binding.node in seen:
            lines.append(f"{binding.name} = {seen[binding.node]}")
            continue
        seen[binding.node] = binding.name
        text, _ = _expression(node.op, [(names[j], _precedence(graph, names, j))  # type: ignore[arg-type]
                                        for j in node.operands], node.params)
        lines.append(f"{binding.name} = {text}")
    return lines


def _text(parent: ET.Element, x: float, y: float, text: str, size: float, *,
          anchor: str = "start", weight: str | None = None, family: str = FONT,
          color: str = "black") -> ET.Element:
    attrs = {"x": f"{x:.2f}", "y": f"{y:.2f}", "font-family": family, "font-size": f"{size:g}",
             "fill": color}
    if anchor != "start":
        attrs["text-anchor"] = anchor
    if weight:
        attrs["font-weight"] = weight
    el = ET.SubElement(parent, "text", attrs)
    el.text = text
    return el


def _line(parent: ET.Element, x0: float, y0: float, x1: float, y1: float, width: float = 0.8) -> None:
    ET.SubElement(parent, "line", {"x1": f"{x0:.2f}", "y1": f"{y0:.2f}", "x2": f"{x1:.2f}",
                                   "y2": f"{y1:.2f}", "stroke": "black",
                                   "stroke-width": f"{width:g}"})


def worksheet_svg(walk: Walkthrough, *, blank: str = "gradients", answers: bool = False,
                  paper: str = "a4", title: str | None = None, **options: Any) -> str:
    """The worksheet page as SVG text. ``blank`` is ``gradients`` (values shown, gradients
    to fill in) or ``values`` (the reverse); ``answers`` fills every box in; ``paper`` is
    ``a4`` or ``letter``. ``options`` go to :func:`~compgraph.drawing.to_dot`.
    """
    kind = _kind(blank)
    if paper not in PAPERS:
        raise RenderError(f"unknown paper {paper!r}; choose one of: {', '.join(PAPERS)}")
    film = Film(walk, **options)
    graph_svg = _graph_with_boxes(film, kind, answers)
    gw, gh = (float(v) for v in graph_svg.get("viewBox", "0 0 1 1").split()[2:])
    graph = walk.graph
    statements = _statements(walk)
    rows = [i for i, label in enumerate(graph.labels) if label]

    # Portrait or landscape: whichever draws the graph larger.
    pw, ph = PAPERS[paper]
    fixed = 86 + 15 * (len(statements) + 1) + ROW * (len(rows) + 1) + 24
    def scale_for(w: float, h: float) -> float:
        return min((w - 2 * MARGIN) / gw, max(h - 2 * MARGIN - fixed, 40) / gh, 1.5)
    if scale_for(ph, pw) > scale_for(pw, ph):
        pw, ph = ph, pw
    scale = scale_for(pw, ph)

    page = ET.Element("svg", {"width": f"{pw:g}pt", "height": f"{ph:g}pt",
                              "viewBox": f"0 0 {pw:g} {ph:g}"})
    ET.SubElement(page, "rect", {"x": "0", "y": "0", "width": f"{pw:g}", "height": f"{ph:g}",
                                 "fill": "white"})
    left, right = MARGIN, pw - MARGIN
    y = MARGIN + 14
    heading = title or f"Backpropagation: {graph.output_name}"
    if answers:
        heading += " — answer key"
    _text(page, left, y, heading, 16, weight="bold")
    _text(page, right, y, "Name: ____________________   Date: ____________", 11, anchor="end")
    y += 8
    _line(page, left, y, right, y, 1.2)
    y += 18
    output = graph.output_name
    if kind == "gradient":
        task = (f"Fill in each box: beside each variable its gradient ∂{output}/∂(variable), "
                f"on each edge the gradient it carries back. Start from ∂{output}/∂{output} = 1.")
    else:
        task = ("Fill in each box: beside each variable its value, on each edge the value it "
                "carries forward. The inputs are given.")
    _text(page, left, y, task, 10.5)
    y += 16
    inputs = ", ".join(f"{graph.nodes[i].name} = {format_value(walk.values.nodes[i])}"
                       for i in graph.inputs)
    _text(page, left, y, f"Inputs: {inputs}" if inputs else "No inputs.", 10.5)
    for statement in statements:
        y += 15
        _text(page, left + 12, y, statement, 11, family=MONO)
    y += 14

    # The graph, centred, as large as fits.
    dx = left + ((right - left) - gw * scale) / 2
    body = ET.SubElement(page, "g", {"transform": f"translate({dx:.2f} {y:.2f}) scale({scale:.4f})"})
    body.extend(list(graph_svg))
    y += gh * scale + 18

    # The table: every named variable, its value and gradient.
    names = node_names(graph)
    columns = [left, left + 90, left + 90 + CELL]
    _text(page, columns[0], y, "variable", 10.5, weight="bold")
    _text(page, columns[1], y, "value", 10.5, weight="bold")
    _text(page, columns[2], y, f"∂{output}/∂(variable)", 10.5, weight="bold")
    y += 6
    _line(page, left, y, left + 90 + 2 * CELL, y)
    for i in rows:
        y += ROW
        _text(page, columns[0], y - 5, names[i], 12, family="Times,serif")
        for col, this, number in ((1, "value", walk.values.nodes[i]),
                                  (2, "gradient", walk.grads.of(i) if walk.gradient_step[i] else None)):
            if number is None:
                continue
            text = format_value(number)
            boxed = this == kind and not _given(walk, f"{this[0]}{i}")
            if boxed:
                ET.SubElement(page, "rect", {"x": f"{columns[col] - 3:.2f}", "y": f"{y - 16:.2f}",
                                             "width": f"{CELL - 14:g}", "height": "16", "rx": "2",
                                             "fill": "white", "stroke": BOX_STROKE,
                                             "stroke-width": "0.8"})
            if answers or not boxed:
                _text(page, columns[col], y - 5, text, 11,
                      color=film.colors["value" if this == "value" else "gradient"])
    _text(page, right, ph - MARGIN / 2, "made with compgraph", 8, anchor="end", color="#888888")
    return svg_text(page)


def worksheet_source(walk: Walkthrough, *, blank: str = "gradients", answers: bool = False,
                     paper: str = "a4", title: str | None = None, **options: Any) -> str:
    """What a worksheet is made from (the DOT of its drawing, its settings and statements),
    without running Graphviz: the gallery stamps the file with the hash of this."""
    options.setdefault("legend", False)
    dot = to_dot(walk.graph, "both", walk.values, walk.grads, **options)
    return dot.source + json.dumps({"blank": blank, "answers": answers, "paper": paper,
                                    "title": title, "statements": _statements(walk)},
                                   ensure_ascii=False, sort_keys=True)
