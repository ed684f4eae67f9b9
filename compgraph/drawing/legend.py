"""The legend: a compact key under the picture (or under the title), in the graph's label.

Each entry is a small sample of a node kind present in the graph (a shaded circle, a D
block, a cost square, ...; coloured by the same theme table as the picture) followed by a
short description, or a coloured sample number of the view's colour key. The entries are
one HTML-like table in the graph's own label, so Graphviz puts them right under the drawing
without moving a node, and the picture grows by one line of text, whatever the rankdir.
The samples' circles and D shapes are drawn by the SVG pass (finish.py), from cells named
``cg_legend_<role>_ellipse`` or ``cg_legend_<role>_dshape_<side>``.

>>> from compgraph import parse
>>> from compgraph.drawing import to_dot
>>> src = to_dot(parse("y = 2*x")).source
>>> "cg_legend_input_ellipse" in src and "constant" in src and "labelloc=b" in src
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

from . import markup as mk
from .annotate import text_width
from .style import SANS

if TYPE_CHECKING:
    from .dot import _Builder

FONT = 10.0       # points: the words, and the key's sample numbers
GAP = 4           # points between a sample and its words
SPACE = 12        # points between one entry's words and the next sample
TITLE_FONT = 16

# Sample sizes in points: smaller than in the picture, so the legend stays a footnote.
_SIZES = {"input": (19, 19), "variable": (19, 19), "output": (19, 19),
          "anonymous": (10, 10), "op": (23, 16), "cost": (16, 16)}
_SAMPLE_WIDTH = 23  # the widest sample; a number sample is narrower


Sample = tuple[mk.Markup, int]  # a sample's cell and its width in points


def _sample(b: "_Builder", role: str, label: str, words: str) -> Sample:
    """A cell drawing a small node of ``role`` (the SVG pass rounds circles and D shapes)."""
    style = b.theme.node[role]
    width, height = _SIZES[role]
    kind = {"op": f"dshape_{_side(b)}", "cost": None}.get(role, "ellipse")
    name = f"cg_legend_{role}_{kind}"
    marker = {"id": name, "href": f"#{name}", "tooltip": words} if kind else {}
    content = (mk.font(label, size=11, face=style.get("fontname", SANS),
                       color=style.get("fontcolor")) if label else mk.Markup(""))
    return mk.cell(content, **marker, fixedsize="true", width=width, height=height,
                   bgcolor=style["fillcolor"], color=style["color"],
                   border=b.theme.node_defaults["penwidth"]), width


def _side(b: "_Builder") -> str:
    from .dot import OUTPUT_SIDE

    return OUTPUT_SIDE[b.rankdir]


def _entries(b: "_Builder") -> list[tuple[Sample, str]]:
    """``(sample cell, description)`` for each node kind present and the view's colours."""
    w = b.w
    entries = [(_sample(b, "input", "x", "input"), "input")]
    if any(grp.op is not None and w.label(grp.var) for grp in w.groups):
        entries.append((_sample(b, "variable", "a", "variable"), "variable"))
    if any(grp.op is not None and not w.label(grp.var) for grp in w.groups):
        entries.append((_sample(b, "anonymous", "o" if b.label_anonymous else "",
                                "intermediate (o)"), "intermediate (o)"))
    if any(grp.op is not None and grp.op not in b.costs for grp in w.groups):
        entries.append((_sample(b, "op", "f", "operator"), "operator"))
    if b.costs:
        entries.append((_sample(b, "cost", "C", "cost"), "cost"))
    if any(grp.kind == "const" for grp in w.groups):
        entries.append((word("2", b.colors["text"]), "constant"))
    c = b.colors
    if b.data.values is not None:
        entries.append((word("7", c["value"]),
                        "value" if b.view != "forward" else "value on the wire"))
    if b.view in ("backward", "both") and b.data.adjoints is not None:
        entries.append((word("60", c["gradient"]), "gradient (Σ of edges)"))
        if b.edge_labels in ("local", "both") and b.data.local:
            local = b.edge_labels == "local"
            entries.append((word("∂ 4" if local else "8 × 4", c["local"]),
                            "local derivative" if local else "upstream × local"))
    elif b.view == "tangent" and b.data.tangents is not None:
        entries.append((word("3", c["tangent"]), "tangent (forward mode)"))
    if b.view == "backward":
        # U+2190 and the en dash are in Helvetica's metric twins (Liberation Sans, Arial).
        entries.append((word("←– –", c["gradient"]), "gradient flow"))
    return b.overlay.key(entries)


def word(text: str, color: str) -> Sample:
    """A sample of text in a colour (a number, an arrow), as wide as the samples of shapes."""
    width = max(_SAMPLE_WIDTH, math.ceil(text_width(text, FONT)))
    return mk.cell(mk.font(text, color=color, size=FONT), width=width), width


def legend_table(b: "_Builder", width: float | None = None) -> mk.Markup:
    """The entries in rows no wider than ``width`` points (one row when ``None``), each
    row its own table so that rows of different entries need not share columns."""
    rows: list[list[tuple[Sample, str]]] = [[]]
    used = 0.0
    for sample, words in _entries(b):
        w = _entry_width(sample, words)
        if rows[-1] and width is not None and used + w > width:
            rows.append([])
            used = 0.0
        rows[-1].append((sample, words))
        used += w
    tables = []
    for entries in rows:
        row: list[mk.Markup] = []
        row_width = 0
        for (sample, sample_width), words in entries:
            if row:
                row.append(mk.cell(width=SPACE))
                row_width += SPACE
            text = math.ceil(text_width(words, FONT))
            row += [sample, mk.cell(width=GAP),
                    mk.cell(mk.font(words, face=SANS, size=FONT, color=b.colors["text"]),
                            align="left", width=text)]
            row_width += sample_width + GAP + text
        height = max(h for _, h in _SIZES.values())
        # Fixed, or Graphviz would stretch a shorter row's cells to the longest row's width.
        tables.append([mk.cell(mk.table([row], fixedsize="true", width=row_width,
                                        height=height))])
    return mk.table(tables)


def _entry_width(sample: Sample, words: str) -> float:
    """The width in points of one entry: its sample, its words and the space after."""
    return sample[1] + GAP + math.ceil(text_width(words, FONT)) + SPACE


def caption(b: "_Builder", title: str | None, legend: bool) -> dict[str, str]:
    """Graph attributes for the title (top), an explaining view's caption (the paths and
    their products, a colour bar: part of the picture's data, so shown without the legend
    too) and the legend (under them, or at the bottom when there is neither)."""
    rows: list[list[mk.Markup]] = []
    if title:
        rows.append([mk.cell(mk.font(title, size=TITLE_FONT, color=b.colors["text"]))])
    rows += [[mk.cell(row)] for row in b.overlay.caption()]
    top = bool(rows)
    if legend:
        rows.append([mk.cell(legend_table(b, b.legend_width))])
    if not rows:
        return {}
    return {"label": mk.label(mk.table(rows, cellspacing=4)),
            "labelloc": "t" if top else "b", "labeljust": "c"}
