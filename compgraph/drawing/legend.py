"""The legend: a compact key beside (LR, RL) or below (TB, BT) the picture.

Each entry is one DOT node: a small real sample of the node kind (a shaded circle, a D
block, a cost square, ...; styled by the same theme table as the picture) whose label runs
on to the right of the sample with a short description in a small font, so every sample is
immediately followed by its words. Only the kinds present in the graph are listed, and the
colour key matches the view. There is no box and no title.

A node's label is centred on the node, so an entry's label is a one-row table
``[blank | sample | gap | words]`` whose blank is as wide as the words: the sample then sits
in the middle, inside its shape. Entries share one rank (``rank=sink``, or ``source`` when
the picture grows towards the left or top), which ``dot`` stacks as a column for LR/RL and
lines up as a row for TB/BT; in a row the blank overlaps the gap before it (``fixedsize``
keeps it out of the layout) and an invisible spacer after each entry keeps room for its
words. With fixed positions (large graphs, ``neato -n2``) the entries are pinned in a row
under the drawing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import graphviz

from . import markup as mk
from .style import SANS

if TYPE_CHECKING:
    from .dot import _Builder

FONT = 10.0        # points: the words, and the key's sample numbers
GAP = 4.0          # points between a sample and its words
CHAR = 0.56 * FONT  # a generous width of one character at FONT (Helvetica)
SPACE = 14.0       # points between one entry's words and the next sample (fixed positions)

# Sample sizes in inches: smaller than in the picture, so the legend stays a footnote.
_SIZES = {"input": ("0.26", "0.26"), "variable": ("0.26", "0.26"), "output": ("0.26", "0.26"),
          "anonymous": ("0.14", "0.14"), "op": ("0.32", "0.22"), "cost": ("0.22", "0.22")}


def _words_width(text: str) -> float:
    return round(len(text) * CHAR + 2)


def _entries(b: "_Builder") -> list[tuple[str, dict[str, str], str, str]]:
    """``(role, attributes, sample markup, description)`` for each node kind present."""
    g = b.g

    def sample(role: str, label: str, description: str) -> tuple[str, dict, str, str]:
        attrs = dict(b.theme.node[role])
        if role in _SIZES:
            width, height = _SIZES[role]
            attrs.update({"width": width, "height": height})
            if role != "anonymous":
                attrs["fontsize"] = "11"
            if role == "op":
                attrs["class"] = f"dshape_{_side(b)}"
            # (an empty <font></font> is a syntax error in Graphviz)
            text = mk.font(label, size=float(attrs.get("fontsize", FONT)),
                           face=attrs.get("fontname")) if label else mk.Markup("")
        else:  # a constant: plain text, as in the picture
            attrs.update({"width": "0.1", "height": "0.1"})
            text = mk.font(label, size=FONT)
        return role, attrs, text, description

    kinds = {n.kind for n in g.nodes}
    entries = [sample("input", "x", "input")]
    if any(n.kind == "op" and g.labels[n.id] for n in g.nodes):
        entries.append(sample("variable", "a", "variable"))
    if any(n.kind == "op" and not g.labels[n.id] for n in g.nodes):
        entries.append(sample("anonymous", "o" if b.label_anonymous else "",
                              "intermediate (o)"))
    if any(n.kind == "op" and n.id not in b.costs for n in g.nodes):
        entries.append(sample("op", "f", "operator"))
    if b.costs:
        entries.append(sample("cost", "C", "cost"))
    if "const" in kinds:
        entries.append(sample("const", "2", "constant"))
    return entries


def _side(b: "_Builder") -> str:
    from .dot import OUTPUT_SIDE

    return OUTPUT_SIDE[b.rankdir]


def _key(b: "_Builder") -> list[tuple[str, dict[str, str], str, str]]:
    """The colour key of the view: sample numbers in their colours, and what they mean."""
    c = b.colors
    style = {"shape": "plaintext", "width": "0.1", "height": "0.1"}
    rows: list[tuple[str, dict[str, str], str, str]] = []

    def row(role: str, color: str, sample: str, description: str) -> None:
        rows.append((role, dict(style), mk.font(sample, color=color, size=FONT), description))

    if b.data.values is not None and b.view != "forward":
        row("value", c["value"], "7", "value")
    elif b.data.values is not None:
        row("value", c["value"], "7", "value on the wire")
    if b.view in ("backward", "both") and b.data.adjoints is not None:
        row("gradient", c["gradient"], "60", "gradient (Σ of edges)")
        if b.edge_labels in ("local", "both") and b.data.local:
            local = b.edge_labels == "local"
            row("local", c["local"], "∂ 4" if local else "8 × 4",
                "local derivative" if local else "upstream × local")
    elif b.view == "tangent" and b.data.tangents is not None:
        row("tangent", c["tangent"], "3", "tangent (forward mode)")
    if b.view == "backward":
        row("flow", c["gradient"], "◂- -", "gradient flow")
    return rows


def _points(inches: str) -> float:
    return float(inches) * 72


def _label(sample: str, slot: float, height: float, words: str, width: float,
           color: str) -> str:
    """``[blank | sample | gap | words]``: centred on the sample, the words to its right."""
    cell = '<td fixedsize="true" width="{:g}" height="{:g}"{}>{}</td>'
    return ('<<table border="0" cellborder="0" cellspacing="0" cellpadding="0"><tr>'
            + cell.format(width + GAP, height, "", "")
            + cell.format(slot, height, "", sample)
            + cell.format(GAP, height, "", "")
            + cell.format(width, height, ' align="left"',
                          mk.font(words, face=SANS, size=FONT, color=color))
            + "</tr></table>>")


def add_legend(dot: graphviz.Digraph, b: "_Builder") -> None:
    """Add the legend entries to ``dot`` (after the graph, so it does not reorder it)."""
    rows = _entries(b) + _key(b)
    positioned = b.pos is not None
    if b.rankdir in ("LR", "BT") and not positioned:
        rows.reverse()  # dot stacks them bottom to top in these directions
    # One slot width for every sample, so the words line up in a column.
    slot = max(max(_points(a["width"]) for _, a, _, _ in rows), 3 * CHAR + 2)
    height = max(_points(a["height"]) for _, a, _, _ in rows)
    words = max(_words_width(d) for _, _, _, d in rows)
    if positioned:
        xs = [float(p.rstrip("!").split(",")[0]) for p in b.pos.values()]
        ys = [float(p.rstrip("!").split(",")[1]) for p in b.pos.values()]
        x, y = min(xs) + slot / 2, min(ys) - 60
    previous = ""
    with dot.subgraph(name="legend") as sub:
        if not positioned and b.rankdir in ("LR", "RL"):
            # One rank of its own after the output (before it for RL): a column at the right.
            sub.attr("graph", _attributes={"rank": "sink" if b.rankdir == "LR" else "source"})
        for role, attrs, sample, description in rows:
            name = f"legend_{role}"
            own = _words_width(description) if positioned else words
            attrs.update({"tooltip": mk.plain(description), "margin": "0",
                          "fixedsize": "shape"})
            if positioned:
                # A row under the drawing; the blank half of a label may overlap the gap.
                attrs["pos"] = f"{x:g},{y:g}!"
                x += slot + GAP + own + SPACE
            sub.node(name, _label(sample, slot, height, description, own, b.colors["text"]),
                     _attributes=attrs)
            if not positioned and b.rankdir in ("TB", "BT"):
                # A chain of its own: dot ranks it as a column beside the drawing.
                if previous:
                    sub.edge(previous, name, _attributes={"style": "invis"})
                previous = name
