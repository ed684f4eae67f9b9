"""The legend: the node kinds a picture uses and what its colours mean, as a boxed cluster.

Each entry is a real sample of the node (a shaded circle, a D block, ...), styled by the
same theme table as the picture, next to a short description; only the kinds present in
the graph are listed, and the colour key matches the view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import graphviz

from . import markup as mk
from .style import SANS

if TYPE_CHECKING:
    from .dot import _Builder


def _entries(b: "_Builder") -> list[tuple[str, dict[str, str], str, str]]:
    """``(role, attributes, sample label, description)`` for each node kind present."""
    g = b.g

    def sample(role: str, label: str, description: str) -> tuple[str, dict, str, str]:
        attrs = dict(b.theme.node[role])
        if role in ("input", "variable", "op", "cost"):
            # Smaller than in the picture, so the legend stays a footnote.
            attrs.update({"width": "0.35", "fontsize": "12"})
            if role == "op":
                attrs.update({"height": "0.28", "class": f"dshape_{_side(b)}"})
        return role, attrs, mk.plain(label), description

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
    """Colour rows of the view: sample numbers in their colours, and what they mean."""
    c = b.colors
    samples: list[tuple[str, str]] = []  # (colour role, sample text)
    meanings: list[str] = []
    if b.data.values is not None:
        samples.append(("value", "7"))
        meanings.append("value")
    if b.view in ("backward", "both") and b.data.adjoints is not None:
        samples.append(("gradient", "60"))
        meanings.append("gradient (a total sums its edges)")
        if b.edge_labels in ("local", "both") and b.data.local:
            samples.append(("local", "∂ 4" if b.edge_labels == "local" else "8 × 4"))
            meanings.append("local derivative" if b.edge_labels == "local"
                            else "upstream × local derivative")
    elif b.view == "tangent" and b.data.tangents is not None:
        samples.append(("tangent", "3"))
        meanings.append("tangent (forward mode)")
    style = {"shape": "plaintext", "fontname": SANS, "fontsize": "11", "margin": "0.02",
             "height": "0"}
    rows = []
    if samples:
        sample = mk.html(mk.Markup("  ".join(mk.font(t, color=c[role]) for role, t in samples)))
        rows.append(("key", style, sample, ", ".join(meanings)))
    if b.view == "backward":
        rows.append(("flow", {**style, "fontcolor": c["gradient"]}, mk.plain("◂- -"),
                     "gradient flow"))
    return rows


def _description(text: str, width: int) -> str:
    """A left-aligned text cell; all rows get the same width so their left edges line up."""
    return (f'<<table border="0" cellpadding="0" cellspacing="0"><tr>'
            f'<td width="{width}" align="left">{mk.text(text)}</td></tr></table>>')


def add_legend(dot: graphviz.Digraph, b: "_Builder") -> None:
    """Add the legend cluster to ``dot`` (after the graph, so it does not reorder it).

    Samples share one rank and their descriptions the next, so the legend is two tidy
    columns (rows, for a vertical rankdir) in the order written. No edges chain the samples:
    flat edges would double the space between rows in a graph with edge labels.
    """
    c = b.colors
    rows = _entries(b) + _key(b)
    width = round(max(len(d) for _, _, _, d in rows) * 5.5) + 4  # ~5.5 pt a character at 11 pt
    text_style = {"shape": "plaintext", "fontname": SANS, "fontsize": "11",
                  "fontcolor": c["text"], "margin": "0.02", "height": "0"}
    # Fixed positions (large graphs) have no cluster box: neato -n2 draws no clusters.
    positioned = b.pos is not None
    with dot.subgraph(name="legend" if positioned else "cluster_legend") as sub:
        if not positioned:
            sub.attr("graph", _attributes={"label": mk.plain("legend"), "fontname": SANS,
                               "fontsize": "11", "fontcolor": c["text"], "color": c["muted"],
                               "style": "rounded", "margin": "8"})
        for row, (role, attrs, sample, description) in enumerate(rows):
            name = f"legend_{role}"
            attrs["tooltip"] = mk.plain(description)
            text = dict(text_style)
            if positioned:
                # Above the drawing (below it when it grows upwards), one row per entry.
                y = (60 + (len(rows) - 1 - row) * 40) * (-1 if b.rankdir == "BT" else 1)
                attrs["pos"] = f"0,{y}!"
                text["pos"] = f"{24 + width // 2},{y}!"
            sub.node(name, sample, _attributes=attrs)
            sub.node(f"{name}_text", _description(description, width), _attributes=text)
            if not positioned:
                sub.edge(name, f"{name}_text", _attributes={"style": "invis"})
