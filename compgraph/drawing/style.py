"""The look of every role (input, variable, operator, cost, edge, value, ...) per theme.

Style is data: a table of roles to Graphviz attributes, one table per theme, so a picture's
look can be read top to bottom and a new theme touches only this file. ``light`` follows
the course's notation (``notation.md``: LeCun's DLSP20 block diagrams, CS231n's green
values and red gradients); ``dark`` is Canziani's DLSP21 palette (ColorBrewer Set3).

>>> theme("light").node["input"]["fillcolor"]
'#dddddd'
>>> theme("dark").colors["gradient"]
'#fb8072'
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, NamedTuple

from ..errors import RenderError

Attrs = Mapping[str, str]

SERIF_ITALIC = "Times-Italic"  # variables: italic serif, as in the course's figures
SANS = "Helvetica"              # operators and numbers


# A NamedTuple, not a frozen dataclass: a quarter of the cost at import, which every
# render pays (bench/bench_render.py --latency).
class Theme(NamedTuple):
    """Graphviz attributes by role, and the colours that labels use inside HTML markup."""

    name: str
    graph: Attrs              # graph-level attributes
    node: Mapping[str, Attrs]  # input, variable, output, anonymous, op, cost, const
    edge: Mapping[str, Attrs]  # forward, gradient, tangent, const, dead
    colors: Mapping[str, str]  # value, gradient, tangent, local, text, muted
    node_defaults: Attrs       # shared by every node: written once, not on each node
    edge_defaults: Attrs       # shared by every edge


def _freeze(table: dict[str, dict[str, str]]) -> Mapping[str, Attrs]:
    return MappingProxyType({k: MappingProxyType(v) for k, v in table.items()})


_LIGHT_COLORS = {
    "value": "#2ca02c", "gradient": "#d62728", "tangent": "#1f77b4", "local": "#7f7f7f",
    "text": "black", "muted": "#b0b0b0", "background": "white",
}

_DARK_COLORS = {
    "value": "#b3de69", "gradient": "#fb8072", "tangent": "#80b1d3", "local": "#d9d9d9",
    "text": "white", "muted": "#666666", "background": "black",
}


def _tables(c: dict[str, str], *, inp: dict[str, str], var: dict[str, str],
            out: dict[str, str], op: dict[str, str], cost: dict[str, str],
            edge: str) -> tuple[dict, dict]:
    """Node and edge tables for one palette; the shapes and sizes are shared by all themes."""
    # Circles have one fixed size, so a row of variables stays even; a long name ("s2 = ŷ")
    # gets an ellipse of the same height instead (dot.py), never a bigger circle.
    circle = {"shape": "circle", "width": "0.5", "height": "0.5", "fixedsize": "true",
              "fontname": SERIF_ITALIC, "fontsize": "16"}
    node = {
        "input": {**circle, "style": "filled", **inp},
        "variable": {**circle, "style": "filled", **var},
        "output": {**circle, "style": "filled", **out},
        "anonymous": {**circle, "width": "0.25", "height": "0.25", "style": "filled", **var},
        # Drawn as a rounded box; the SVG post-processing turns it into a D (dshape.py).
        "op": {"shape": "box", "style": "rounded,filled", "width": "0.5", "height": "0.4",
               "fontsize": "14", **op},
        "cost": {"shape": "square", "style": "filled", "width": "0.5", "fontsize": "12",
                 **cost},
        "const": {"shape": "plaintext", "width": "0", "height": "0", "margin": "0.02",
                  "fontsize": "11", "fontcolor": c["text"]},
    }
    edges = {
        "forward": {"color": edge},
        "gradient": {"color": c["gradient"], "style": "dashed", "fontcolor": c["gradient"]},
        "tangent": {"color": c["tangent"], "fontcolor": c["tangent"]},
        "const": {"color": c["muted"], "penwidth": "1", "arrowsize": "0.6"},
        "dead": {"color": c["muted"], "style": "dotted", "penwidth": "1", "arrowsize": "0.6"},
    }
    return node, edges


def _theme(name: str, colors: dict[str, str], **palette) -> Theme:
    node, edge = _tables(colors, **palette)
    graph = {"bgcolor": colors["background"], "fontcolor": colors["text"], "fontname": SANS}
    node_defaults = {"fontname": SANS, "penwidth": "2"}
    edge_defaults = {"arrowsize": "0.8", "fontname": SANS, "fontsize": "11", "penwidth": "1.5"}
    return Theme(name, MappingProxyType(graph), _freeze(node), _freeze(edge),
                 MappingProxyType(colors), MappingProxyType(node_defaults),
                 MappingProxyType(edge_defaults))


THEMES: Mapping[str, Theme] = MappingProxyType({
    # notation.md: observed #dddddd/black, computed white/#9999ff, function white/#6666ff,
    # cost #ffe1e1/#ff3333.
    "light": _theme(
        "light", _LIGHT_COLORS,
        inp={"fillcolor": "#dddddd", "color": "black", "fontcolor": "black"},
        var={"fillcolor": "white", "color": "#9999ff", "fontcolor": "black"},
        out={"fillcolor": "white", "color": "#9999ff", "fontcolor": "black"},
        op={"fillcolor": "white", "color": "#6666ff", "fontcolor": "black"},
        cost={"fillcolor": "#ffe1e1", "color": "#ff3333", "fontcolor": "black"},
        edge="black",
    ),
    # Canziani: x pink #fccde5, h green #b3de69, ỹ violet #bc80bd, blocks lavender #bebada,
    # costs red #fb8072; dark fills so the coloured outlines carry the meaning.
    "dark": _theme(
        "dark", _DARK_COLORS,
        inp={"fillcolor": "#2b2b2b", "color": "#fccde5", "fontcolor": "#fccde5"},
        var={"fillcolor": "black", "color": "#b3de69", "fontcolor": "#b3de69"},
        out={"fillcolor": "black", "color": "#bc80bd", "fontcolor": "#bc80bd"},
        op={"fillcolor": "black", "color": "#bebada", "fontcolor": "white"},
        cost={"fillcolor": "black", "color": "#fb8072", "fontcolor": "#fb8072"},
        edge="white",
    ),
})


def theme(name: str) -> Theme:
    """The theme called ``name``; an unknown name is a :class:`RenderError` listing the choices."""
    try:
        return THEMES[name]
    except KeyError:
        raise RenderError(
            f"unknown theme {name!r}; choose one of: {', '.join(THEMES)}") from None
