"""The difference between two evaluations: one picture, the numbers that changed marked.

The graph is drawn once at the evaluation being shown, in the ``both`` view (the layout of
``render --view both`` at the same point), and every number on it is compared with the same
quantity in the reference evaluation (:class:`~compgraph.drawing.film.Film` knows what each
drawn number is). A number that changed gets a box behind it and turns bold; one whose sign
flipped gets a stronger box; each marked number's tooltip says what it was. A caption above
the graph names the two points and lists how each named variable's value and gradient
moved. Both evaluations are arguments: nothing is computed here but the comparison.

>>> mark(2.0, 2.0), mark(2.0, 3.0), mark(-2.0, 3.0), mark(0.0, 3.0)
(None, 'changed', 'flipped', 'changed')
"""

from __future__ import annotations

import copy
import math
import xml.etree.ElementTree as ET
from typing import Any, Sequence

import numpy as np

from ..evaluate import Values
from ..steps import walkthrough
from .film import WHAT, Film, part_box, strip_working, svg_text, tagged_numbers
from .format import MINUS, format_value, is_array
from .stepper import HEADING_SIZE, MARGIN, framed, gradient_name, node_names, text_width

# Box fills and outlines of the two marks (on the light and the dark theme alike).
MARKS = {"changed": ("#fff2a8", "#e6a700"), "flipped": ("#ffd0ec", "#c2185b")}
CHANGES_SIZE = 12  # points: the lines listing what moved


def mark(before: Any, after: Any) -> str | None:
    """``flipped`` when some entry changed sign (both nonzero), ``changed`` when some entry
    moved (beyond rounding: a relative 1e-9), else ``None``."""
    if isinstance(before, float) and isinstance(after, float):
        # Two numbers: the test below without NumPy's array machinery, which costs a
        # picture of a scalar program a few milliseconds (its every number is compared).
        if before > 0 > after or before < 0 < after:
            return "flipped"
        if before == after or (math.isnan(before) and math.isnan(after)):
            return None
        finite = math.isfinite(before) and math.isfinite(after)
        return None if finite and abs(before - after) <= 1e-9 * abs(after) else "changed"
    a, b = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if a.shape != b.shape:
        return "changed"
    with np.errstate(invalid="ignore"):
        if np.any(np.sign(a) * np.sign(b) < 0):
            return "flipped"
        same = np.isclose(a, b, rtol=1e-9, atol=0.0, equal_nan=True)
    return None if bool(np.all(same)) else "changed"


def _quantity(what: str, values: Values, grads: Any) -> Any:
    """The number a ``data-q`` tag names in one evaluation (``v4``, ``g4``, ``e6.1``)."""
    kind, rest = what[0], what[1:]
    if kind == "v":
        return values.nodes[int(rest)]
    if kind == "g":
        return grads.of(int(rest))
    c, k = (int(n) for n in rest.split("."))
    carried = grads.edges.get((c, k))
    operand = values.nodes[values.graph.nodes[c].operands[k]]
    if carried is None:
        return np.zeros(operand.shape) if is_array(operand) else 0.0
    return carried


def _was(before: Any, after: Any) -> str:
    text = f"was {format_value(before)}"
    if not is_array(before) and not is_array(after):
        delta = float(after) - float(before)
        sign = "+" if delta >= 0 else MINUS
        text += f", change {sign}{format_value(abs(delta))}"
    return text


def _point(values: Values) -> str:
    return ", ".join(f"{name} = {format_value(v)}" for name, v in values.inputs.items())


def _changes(values: Values, grads: Any, ref_values: Values, ref_grads: Any,
             prune: bool = False) -> list[str]:
    """``a 7 → 9``, ``ā 60 → −12 (sign)`` for every named variable whose numbers moved
    (with ``prune``, those the output is computed from: the ones drawn)."""
    graph = values.graph
    names = node_names(graph)
    live = graph.ancestors_of_output
    out = []
    for i, label in enumerate(graph.labels):
        if not label or (prune and not live[i]):
            continue
        pairs = [(names[i], ref_values.nodes[i], values.nodes[i])]
        if live[i] and graph.depends_on_input[i]:
            pairs.append((gradient_name(names[i], False, graph.output_name),
                          ref_grads.of(i), grads.of(i)))
        for name, before, after in pairs:
            kind = mark(before, after)
            if kind is not None:
                out.append(f"{name} {format_value(before)} → {format_value(after)}"
                           + (" (sign)" if kind == "flipped" else ""))
    return out


def _wrap(items: Sequence[str], width: float, size: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for item in items:
        candidate = f"{line} · {item}" if line else item
        if line and text_width(candidate, size) > width:
            lines.append(line)
            line = item
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def diff_svg(values: Values, grads: Any, ref_values: Values, ref_grads: Any, *,
             title: str | None = None, **options: Any) -> str:
    """The picture at ``values`` (with ``grads``) marked where it differs from
    ``ref_values`` (``ref_grads``), as SVG text; both evaluations of one graph.
    ``options`` go to :func:`~compgraph.drawing.to_dot` (``rankdir``, ``theme``, ...).
    """
    graph = values.graph
    film = Film(walkthrough(graph, values, grads), **options)
    root = copy.deepcopy(film.root)
    counts = {"changed": 0, "flipped": 0}
    for parent, el in tagged_numbers(root):
        what = el.get(WHAT, "")
        before = _quantity(what, ref_values, ref_grads)
        after = _quantity(what, values, grads)
        kind = mark(before, after)
        if kind is None:
            continue
        counts[kind] += 1
        box = part_box(el)
        if box is not None:
            x, y, w, h = box
            fill, stroke = MARKS[kind]
            parent.insert(list(parent).index(el), ET.Element("rect", {
                "x": f"{x - 2:.2f}", "y": f"{y - 1.5:.2f}", "width": f"{w + 4:.2f}",
                "height": f"{h + 3:.2f}", "rx": "2.5", "fill": fill, "stroke": stroke,
                "stroke-width": "1.5" if kind == "flipped" else "0.8"}))
        el.set("font-weight", "bold")
        tip = ET.SubElement(el, "title")
        tip.text = _was(before, after)
    strip_working(root)

    w, _ = (float(v) for v in root.get("viewBox", "0 0 0 0").split()[2:])
    width = max(w, 480.0) - 2 * MARGIN
    heading = (f"{title + ' — ' if title else ''}{graph.output_name} at {_point(values)}, "
               f"against {_point(ref_values)}")
    legend = (f"{counts['changed']} changed (yellow boxes), {counts['flipped']} with the sign "
              f"flipped (pink boxes)" if any(counts.values()) else "nothing changed")
    changes = _wrap(_changes(values, grads, ref_values, ref_grads, options.get("prune", False)),
                    width, CHANGES_SIZE)
    colors = film.colors
    lines = [(heading, HEADING_SIZE, colors["local"]), (legend, HEADING_SIZE, colors["text"])]
    lines += [(line, CHANGES_SIZE, colors["text"]) for line in changes]
    band = max([text_width(t, size) for t, size, _ in lines]) + 2 * MARGIN
    return svg_text(framed(root, lines, band, colors["background"]))
