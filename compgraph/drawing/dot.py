"""Build the ``graphviz.Digraph`` of a graph in one view (forward, backward, both, tangent).

The picture is bipartite, as in the course's block diagrams: variable → operator block →
result variable. Every op node of the graph is two DOT nodes, its block (``op<i>``) and its
result variable (``v<i>``), so an anonymous intermediate such as ``x*y`` is a small circle
of its own. Each operand is its own edge (``x + x`` draws two), in operand order.

A variable's DOT node is a borderless table: its shape cell (the port ``v`` its edges end
on, drawn as a circle or ellipse by the SVG pass, finish.py) with its value before and its
gradient or tangent after, across the flow (annotate.py). The numbers are thus part of
their own node: Graphviz keeps every other node, edge and label off them. Scalars travel
on the wires; arrays are grids beside their nodes.

``rankdir="auto"`` estimates the picture's size left to right, top-down, and left to right
in two rows (rows.py), and keeps the one that is largest on a 16:9 slide.

All views place nodes the same way: the backward view keeps every edge's tail and head and
draws it with ``dir=back``, so ``dot`` ranks the graph exactly as in the forward view and
the two pictures overlay. Values, gradients and tangents are arguments; this module never
computes them.

DOT ids come from statement order and names (``v3_a``, ``op2``, ``c5``), attributes are
plain dicts (which the ``graphviz`` package writes sorted), and every number goes through
:mod:`compgraph.drawing.format`, so the same program gives the same bytes on every run.

>>> from compgraph.graph import GraphBuilder
>>> b = GraphBuilder()
>>> x = b.input("x")
>>> b.bind("s", b.apply("add", (x, x)))
>>> dot = to_dot(b.build(), legend=False)
>>> for line in dot.body:
...     if "->" in line:
...         print(line.strip())
v0_x -> op1 [class=operand color=black tailport="v:e"]
v0_x -> op1 [class=operand color=black tailport="v:e"]
op1 -> v1_s [class=result color=black headport="v:w" tailport=e weight=8]
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import graphviz

from ..errors import GraphTooLargeError, RenderError
from ..graph import CONST, INPUT, Graph
from ..ops import OPS
from . import annotate, fit
from . import markup as mk
from .collapse import Wiring
from .format import TOOLTIP_VALUES, format_shape, format_value, is_array
from .layout import (BEST, CONVERTER_MAX_XML, XML_PER_ELEMENT, Cost, Layout, about,
                     choose_layout, dot_work, drawn_elements, estimate_cost, fixed_positions,
                     layered_order)
from .style import SANS, SERIF_ITALIC, Theme, theme as get_theme

BASE_VIEWS = ("forward", "backward", "both", "tangent")
# The views that explain a gradient (views/): each draws a result it is given.
EXPLAINING_VIEWS = ("paths", "check", "heatmap")
VIEWS = BASE_VIEWS + EXPLAINING_VIEWS
EDGE_LABELS = ("gradient", "local", "both")
DIRECTIONS = ("LR", "RL", "TB", "BT")
RANKDIRS = ("auto",) + DIRECTIONS


# The side of an operator block that faces its output, per rankdir (the D's rounded side).
OUTPUT_SIDE = {"LR": "right", "RL": "left", "TB": "bottom", "BT": "top"}
# The side facing the inputs, where a variable's incoming edge ends.
INPUT_SIDE = {"LR": "left", "RL": "right", "TB": "top", "BT": "bottom"}
_COMPASS = {"right": "e", "left": "w", "bottom": "s", "top": "n"}

# At most this many terms are written out in a fan-out sum ("60 = 28 + 32").
_MAX_SUM_TERMS = 4


class Digraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose notebook display draws operators as D shapes.

    ``note`` is a sentence for the user (e.g. that large-graph layout settings were used),
    or ``None``; ``work`` the estimate of dot's work the layout was chosen by, ``cost`` the
    estimate of the time drawing takes (layout.estimate_cost). ``neato_no_op`` is 2 when
    every node carries its position (large graphs): ``pipe`` and ``render`` then only
    draw, they do not lay out.
    """

    note: str | None = None
    neato_no_op: int | None = None
    work: int = 0  # the estimate of dot's work that chose the layout (layout.dot_work)
    cost: Cost | None = None

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op: int | None = None,
             quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None) -> bytes | str:
        return super().pipe(format=format, renderer=renderer, formatter=formatter,
                            neato_no_op=self.neato_no_op if neato_no_op is None else neato_no_op,
                            quiet=quiet, engine=engine, encoding=encoding)

    def render(self, *args: Any, **kwargs: Any) -> str:
        kwargs.setdefault("neato_no_op", self.neato_no_op)
        return super().render(*args, **kwargs)

    def _repr_image_svg_xml(self) -> str:
        from .finish import finish_svg  # local: display is the only user here

        return finish_svg(self.pipe(format="svg", encoding="utf-8"))


# A NamedTuple, not a frozen dataclass: a quarter of the cost at import, which every
# render pays (bench/bench_render.py --latency).
class _Data(NamedTuple):
    """Per-node and per-edge numbers given by the caller, looked up without computing."""

    values: Sequence[Any] | None
    adjoints: Sequence[Any] | None
    grad_edges: Mapping[tuple[int, int], Any]
    tangents: Sequence[Any] | None
    tangent_edges: Mapping[tuple[int, int], Any]
    local: Mapping[tuple[int, int], Any]


def _per_node(graph: Graph, obj: Any, attr: str, what: str) -> Sequence[Any] | None:
    """The per-node sequence of ``values``, ``gradients`` or ``tangents``: the result
    objects computed on ``graph`` (anything else of theirs, or a dict, is an
    ``InputError`` naming the function to call), or a plain sequence, one entry per node."""
    if obj is None:
        return None
    from ..differentiate import Gradients, Tangents
    from ..evaluate import Values, require

    kind, make = {"values": (Values, "compgraph.evaluate(graph, ...)"),
                  "gradients": (Gradients, "compgraph.backward(graph, values)"),
                  "tangents": (Tangents, "compgraph.tangents(graph, values, wrt)")}[what]
    if isinstance(obj, Mapping) or hasattr(obj, "graph"):
        require(graph, obj, kind, "to_dot", make)
    n = len(graph.nodes)
    seq = getattr(obj, attr, obj)
    if len(seq) != n:
        raise RenderError(f"{what} has {len(seq)} entries but the graph has {n} nodes; "
                          f"pass the {what} computed from this graph")
    return seq


def _choice(name: str, value: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise RenderError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


# An annotation: its block of numbers and the attributes of the cell that holds it.
Note = tuple[annotate.Block, dict[str, str]]

WRAP_PAD = "0.3,0.0555"  # inches left and right, above and below, of a picture in rows
LEGEND_MIN_WIDTH = 300.0  # points: a legend may be this wide under a narrower picture

# Edge weights: dot straightens heavy edges first, so a chain of operations is drawn
# straight and inputs join it from the side (their edges have weight 1).
CHAIN_WEIGHT = 8    # an operator and its result: always in line
OPERAND_WEIGHT = 2  # a computed operand and its consumer: in line unless inputs say otherwise

LABEL_OFFSET = 8.0  # points between a straight edge and its label (fixed positions)

# Room around a variable's name: a name wider than the circle (``s2 = yhat``) widens it
# into an ellipse of the same height, never a bigger circle. An ellipse is narrower than
# its box above and below the middle, hence the factor.
NAME_PADDING = 16.0
NAME_STRETCH = 1.15


def _name_width(text: str, fontsize: float) -> float:
    """A generous estimate of an italic serif name's width in points (half an em a letter)."""
    return sum(0.3 if ch == " " else 0.5 for ch in text) * fontsize


def _points(inches: str) -> float:
    return float(inches) * 72


def _xy(pos: str) -> tuple[float, float]:
    x, y = pos.rstrip("!").split(",")
    return float(x), float(y)


class _Builder:
    """One to_dot call: the graph, the caller's numbers and the chosen style."""

    def __init__(self, graph: Graph, view: str, data: _Data, *, edge_labels: str,
                 rankdir: str, theme: Theme, layout: Layout, label_anonymous: bool,
                 costs: frozenset[int], max_grid: int, wiring: Wiring | None = None) -> None:
        from .views import Overlay

        self.g = graph
        # What is drawn: operators and variables by key (collapse.py); without collapsed
        # calls every key is the graph node's id.
        self.w = wiring if wiring is not None else Wiring(graph)
        self.view = view
        self.data = data
        self.edge_labels = edge_labels
        self.rankdir = rankdir
        self.theme = theme
        self.layout = layout
        self.label_anonymous = label_anonymous
        self.costs = costs
        self.max_grid = max_grid
        self.overlay: Overlay = Overlay(self)  # the explaining views' restyling (views/)
        self.legend_width: float | None = None  # the legend's widest row, in points
        self.rows: list[int] | None = None  # each group's row when wrapped (rows.py)
        self._sizes: dict[str, Any] = {}  # fit.sizes() by rankdir
        self._memo: dict[tuple, Any] = {}  # annotations and edge attributes by rankdir
        self._positioned = 0  # DOT nodes with fixed positions, before the edge labels
        self.colors = theme.colors
        self.live = graph.ancestors_of_output
        self.pos: dict[str, str] | None = None  # pinned positions (fast layout only)
        self._group_of: dict[int, int] | None = None  # variable -> its group (row())

    # --- ids -------------------------------------------------------------------------------

    def var_id(self, i: int) -> str:
        if self.w.kind(i) == CONST:
            return f"c{i}"
        return mk.node_id(f"v{i}", self.w.label(i))

    def op_id(self, i: int) -> str:
        if self.w.is_block(i):
            return f"call{self.w.call(i)}_{self.g.calls[self.w.call(i)].function}"
        return f"op{i}"

    # --- numbers ---------------------------------------------------------------------------

    def value(self, i: int) -> Any:
        vals = self.data.values
        return None if vals is None else vals[self.w.node(i)]

    def adjoint(self, i: int) -> Any:
        """Variable ``i``'s gradient: its node's adjoint; for the output of a call that
        returns its argument unchanged, what its own wires carry back (the adjoint itself
        when they are all of the node's edges)."""
        adj = self.data.adjoints
        node = self.w.node(i)
        if adj is None or not self.live[node] or not self.g.depends_on_input[node]:
            return None
        if node != i and i != self.w.output_var:
            return self._carried(i, [e for use in self.w.uses(i) for e in self.w.edges(*use)])
        a = adj[node]
        return 0.0 if a is None else a  # None means zero for a node the output depends on

    def live_op(self, i: int) -> bool:
        """Whether operator ``i``'s result reaches the output."""
        return self.live[self.w.node(self.w.result(i))]

    def contribution(self, i: int, k: int) -> Any:
        """What wire ``k`` into operator ``i`` carries back: the engine's contribution of a
        graph edge; into a block, the vector–Jacobian product (collapse.py)."""
        if self.data.adjoints is None or not self.live_op(i):
            return None
        j = self.w.operands(i)[k]
        if not self.g.depends_on_input[self.w.node(j)]:
            return None
        edges = self.w.edges(i, k)
        if edges == ((i, k),):
            c = self.data.grad_edges.get((i, k))
            return 0.0 if c is None else c
        return self._carried(j, edges)

    def _carried(self, var: int, edges: Sequence[tuple[int, int]]) -> Any:
        """What ``edges`` out of ``var``'s node carry back together: the node's adjoint
        when they are all its edges, else their contributions added in the engine's order
        (newest user first)."""
        node = self.w.node(var)
        adj = self.data.adjoints
        if adj is not None and node != self.g.output and self.w.complete(var, edges):
            return 0.0 if adj[node] is None else adj[node]
        total = None
        for e in sorted(edges, key=lambda e: (-e[0], e[1])):
            c = self.data.grad_edges.get(e)
            if c is not None:
                total = c if total is None else total + c
        return 0.0 if total is None else total

    def tangent(self, i: int) -> Any:
        """Variable ``i``'s tangent; ``None`` when it does not depend on the chosen input."""
        tan = self.data.tangents
        return None if tan is None else tan[self.w.node(i)]

    def tangent_edge(self, i: int, k: int) -> Any:
        """What operand ``k`` adds to op ``i``'s tangent; ``None`` when its operand is fixed.
        Into a block, the tangent that enters it (its argument's)."""
        source = self.w.operands(i)[k]
        if self.tangent(source) is None:
            return None
        if self.w.is_block(i):
            return self.tangent(source)
        t = self.data.tangent_edges.get((i, k))
        return 0.0 if t is None else t

    # --- ports ----------------------------------------------------------------------------

    @property
    def across(self) -> bool:
        """Whether annotations go above and below the shape (LR, RL) rather than beside it."""
        return self.rankdir in ("LR", "RL")

    def out_port(self, j: int) -> dict[str, str]:
        """Where edges leave variable ``j``: its shape cell, on the side facing the flow."""
        if self.w.kind(j) == CONST:
            return {}
        return {"tailport": f"v:{_COMPASS[OUTPUT_SIDE[self.rankdir]]}"}

    def in_port(self) -> dict[str, str]:
        """Where an op's result edge enters its variable: the shape cell's upstream side."""
        return {"headport": f"v:{_COMPASS[INPUT_SIDE[self.rankdir]]}"}

    def weight(self, j: int) -> dict[str, str]:
        """A computed operand pulls its consumer into line (see ``OPERAND_WEIGHT``)."""
        return {"weight": str(OPERAND_WEIGHT)} if self.w.kind(j) == "op" else {}

    # --- nodes -----------------------------------------------------------------------------

    def name(self, i: int) -> str | None:
        """Variable ``i``'s name: the program's, or one given only inside a function's body
        (shown in its call's cluster; a collapsed call's output has the program's only)."""
        label = self.w.label(i)
        if label or self.w.block_result(i):
            return label
        return self.g.local_name(i)

    def role(self, i: int) -> str:
        kind = self.w.kind(i)
        if kind == INPUT:
            return "input"
        if i == self.w.output_var:
            return "output"
        return "variable" if self.name(i) else "anonymous"

    def variable_attrs(self, i: int) -> tuple[str, dict[str, str]]:
        """Label and attributes of variable ``i``: a table of its shape and annotations.

        The shape is a cell (the port ``v`` that edges end on) drawn as a circle or ellipse
        by the SVG pass; the value goes before it and the gradient or tangent after it,
        across the flow (annotate.py).
        """
        label = self.name(i)
        role = self.role(i)
        style = {**self.theme.node[role], **self.overlay.node(i)}
        value = self.value(i)
        if value is None and role == "input":
            value = self.g.nodes[i].value  # an input's default still tells its shape
        before, after = self.annotations(i)
        size = float(style.get("fontsize", "14"))
        lines: list[mk.Markup] = []
        if role == "anonymous":
            if self.label_anonymous:
                size = 11
                lines.append(mk.font("o", size=size, color=style["fontcolor"]))
        else:
            lines.append(mk.font(mk.italic(label or ""), face=SERIF_ITALIC, size=size,
                                 color=style["fontcolor"]))
            if is_array(value) and before is None:
                # No numbers beside it: the shape at least, under the name.
                lines.append(mk.font(format_shape(value.shape), face=SANS, size=10,
                                     color=style["fontcolor"]))
        width, height = self.shape_size(i)
        shape = mk.cell(mk.Markup("<br/>".join(lines)), port="v", **self.marker(i, "ellipse"),
                        fixedsize="true", width=width, height=height,
                        bgcolor=style["fillcolor"], color=style["color"],
                        border=style.get("penwidth", self.theme.node_defaults["penwidth"]))
        attrs = {"shape": "none", "margin": "0", "class": role,
                 "tooltip": mk.plain(self.tooltip(i, label))}
        table = annotate.around(shape, (width, height), before, after, self.rankdir)
        return mk.label(table), attrs

    def shape_size(self, i: int) -> tuple[int, int]:
        """The width and height in points of variable ``i``'s circle or ellipse."""
        role = self.role(i)
        style = self.theme.node[role]
        width, height = _points(style["width"]), _points(style["height"])
        if role != "anonymous":
            size = float(style.get("fontsize", "14"))
            name = self.w.label(i) or ""
            width = max(width, _name_width(name, size) * NAME_STRETCH + NAME_PADDING)
        return round(width), round(height)

    def variable_size(self, i: int) -> tuple[float, float]:
        """An estimate of variable ``i``'s node in points: its shape and its annotations."""
        width, height = self.shape_size(i)
        blocks = [note[0] for note in self.annotations(i) if note is not None]
        spacing = annotate.SPACING * len(blocks)
        if self.across:
            return (max([width] + [b.width for b in blocks]),
                    height + sum(b.height for b in blocks) + spacing)
        return (width + sum(b.width for b in blocks) + spacing,
                max([height] + [b.height for b in blocks]))

    def op_label(self, i: int) -> str:
        """What operator ``i``'s block says: ``@``, ``Σ₀``, or a collapsed call's ``linear₁``."""
        return self.w.block_label(i) if self.w.is_block(i) else self.g.nodes[i].op_label

    def op_size(self, i: int) -> tuple[float, float]:
        style = self.theme.node["cost" if i in self.costs else "op"]
        size = float(style.get("fontsize", "14"))
        label = self.op_label(i)
        width = max(_points(style["width"]), annotate.text_width(label, size) + 16)
        return width, max(_points(style.get("height", style["width"])), 1.3 * size + 8)

    @staticmethod
    def marker(i: int, kind: str) -> dict[str, str]:
        """Cell attributes that name a cell in the SVG (``cg_v3_value``), for finish.py."""
        name = f"cg_v{i}_{kind}"
        return {"id": name, "href": f"#{name}"}

    def tooltip(self, i: int, label: str | None) -> str:
        parts = [label or "o"]
        if self.value(i) is not None:
            parts.append(f"value {format_value(self.value(i), TOOLTIP_VALUES)}")
        if self.view in ("backward", "both") and self.adjoint(i) is not None:
            parts.append(f"gradient {format_value(self.adjoint(i), TOOLTIP_VALUES)}")
        if self.view == "tangent" and self.tangent(i) is not None:
            parts.append(f"tangent {format_value(self.tangent(i), TOOLTIP_VALUES)}")
        return ", ".join(parts)

    def annotations(self, i: int) -> tuple[Note | None, Note | None]:
        """Variable ``i``'s annotations (see ``_annotations``), made once per direction."""
        key = ("notes", self.rankdir, i)
        if key not in self._memo:
            self._memo[key] = self._annotations(i)
        return self._memo[key]

    def _annotations(self, i: int) -> tuple[Note | None, Note | None]:
        """The value (green) before the shape and the gradient or tangent (red, blue) after.

        The forward view writes scalar values on the wires, so only arrays get their value
        beside the node there; the other views annotate every variable they have numbers for.
        An explaining view may write others (views/).
        """
        mine = self.overlay.annotations(i)
        if mine is not None:
            return mine
        value = self.value(i)
        before = after = None
        if value is not None and (self.view != "forward" or is_array(value)):
            before = self.annotation(i, "value", value, ())
        if self.view in ("backward", "both"):
            adj = self.adjoint(i)
            if adj is not None:
                # Fan-out made visible: the total is the sum of what the edges carry.
                terms = [c for c in (self.contribution(*u) for u in self.w.uses(i))
                         if c is not None]
                after = self.annotation(i, "gradient", adj, terms)
        elif self.view == "tangent":
            t = self.tangent(i)
            if t is not None:
                # Fan-in made visible; operands that do not move with the input add nothing.
                # A block's wires carry what enters it, which does not add up to its result.
                op = self.w.producer(i)
                terms = [] if op is None or self.w.is_block(op) else [
                    c for c in (self.tangent_edge(op, k)
                                for k in range(len(self.w.operands(op))))
                    if c is not None]
                after = self.annotation(i, "tangent", t, terms)
        return before, after

    def annotation(self, i: int, kind: str, value: Any, terms: Sequence[Any]) -> Note:
        """One annotation: the numbers in their colour, and its cell named for the SVG pass."""
        body = annotate.block(value, self.colors[kind], max_grid=self.max_grid,
                              column=self.across, terms=terms)
        return body, {**self.marker(i, kind),
                      "tooltip": annotate.tooltip_text(kind, value, TOOLTIP_VALUES)}

    def op_attrs(self, i: int) -> tuple[str, dict[str, str]]:
        cost = i in self.costs
        attrs = dict(self.theme.node["cost" if cost else "op"])
        if self.w.is_block(i):
            call = self.g.calls[self.w.call(i)]
            attrs["tooltip"] = mk.plain(f"{call.id}, collapsed (expand {call.id} to draw "
                                        "its body)")
        else:
            record = OPS[self.g.nodes[i].op]
            attrs["tooltip"] = mk.plain(record.doc or record.name)
        # The class tells dshape.py which boxes to round, and on which side.
        attrs["class"] = "cost" if cost else f"dshape_{OUTPUT_SIDE[self.rankdir]}"
        attrs.update(self.overlay.op(i))
        return mk.plain(self.op_label(i)), attrs

    # --- edge labels -----------------------------------------------------------------------

    def edge_label(self, lines: list[tuple[str, Any, str]]) -> dict[str, str]:
        """Label and tooltip of an edge from ``(what, number, colour role)`` lines.

        Scalars are written on the wire; arrays are not (their numbers are beside their
        nodes), but every line, arrays in full, is in the edge's tooltip.
        """
        def text(v: Any, limit: int) -> str:
            return v if isinstance(v, str) else format_value(v, limit)

        shown = [(text(v, 0), role) for _, v, role in lines if not is_array(v)]
        attrs: dict[str, str] = {}
        if lines:
            attrs["tooltip"] = mk.plain("; ".join(
                f"{what} {text(v, TOOLTIP_VALUES)}" for what, v, _ in lines))
        if len(shown) == 1:
            t, role = shown[0]
            attrs.update({"label": mk.plain(t), "fontcolor": self.colors[role]})
        elif shown:
            attrs["label"] = mk.html(*(
                mk.font(t, color=self.colors[role], size=None if n == 0 else 10)
                for n, (t, role) in enumerate(shown)))
        return attrs

    def operand_edge(self, i: int, k: int) -> dict[str, str]:
        """Attributes of the edge from operand ``k`` into op ``i``'s block (made once per
        direction; not to be changed by the caller)."""
        key = ("operand", self.rankdir, i, k)
        if key not in self._memo:
            self._memo[key] = self._operand_edge(i, k)
        return self._memo[key]

    def _operand_edge(self, i: int, k: int) -> dict[str, str]:
        j = self.w.operands(i)[k]
        const = not self.g.depends_on_input[self.w.node(j)]
        attrs: dict[str, str] = {"class": "operand", **self.out_port(j), **self.weight(j)}
        if const:
            attrs.update(self.theme.edge["const"])
            if self.view == "backward":
                attrs["dir"] = "none"
            attrs.update(self.overlay.operand_edge(i, k))
            return attrs
        val = self.value(j)
        lines: list[tuple[str, Any, str]] = []
        if self.view == "forward":
            attrs.update(self.theme.edge["forward"])
            if val is not None:
                lines.append(("value", val, "value"))
        elif self.view == "tangent":
            t = self.tangent_edge(i, k)
            fixed = self.data.tangents is not None and t is None
            # Edges outside the input's cone of influence carry no tangent: drawn muted.
            attrs.update(self.theme.edge["const" if fixed else "tangent"])
            if t is not None:
                lines.append(("tangent", t, "tangent"))
        else:
            live = self.live_op(i)
            attrs.update(self.theme.edge["forward" if self.view == "both" else "gradient"])
            if not live:
                attrs.update(self.theme.edge["dead"])
            if self.view == "backward":
                attrs["dir"] = "back"
            if self.view == "both" and val is not None:
                lines.append(("value", val, "value"))
            lines += self.gradient_lines(i, k)
        attrs.update(self.edge_label(lines))
        attrs.update(self.overlay.operand_edge(i, k))
        return attrs

    def gradient_lines(self, i: int, k: int) -> list[tuple[str, Any, str]]:
        c = self.contribution(i, k)
        local = self.data.local.get((i, k))
        lines: list[tuple[str, Any, str]] = []
        if self.edge_labels in ("gradient", "both") and c is not None:
            lines.append(("gradient", c, "gradient"))
        if self.edge_labels in ("local", "both") and local is not None:
            adj = self.adjoint(self.w.result(i))
            if (self.edge_labels == "both" and adj is not None and not is_array(adj)
                    and not is_array(local)):
                # The chain rule on the wire: what it carries = upstream × local.
                lines.append(("upstream × local",
                              f"{format_value(adj)} × {format_value(local)}", "local"))
            elif is_array(local):
                lines.append(("local derivative", local, "local"))
            else:
                lines.append(("local derivative", f"∂ {format_value(local)}", "local"))
        return lines

    def result_edge(self, i: int) -> dict[str, str]:
        """Attributes of the edge from op ``i``'s block to its result variable (made once
        per direction; not to be changed by the caller)."""
        key = ("result", self.rankdir, i)
        if key not in self._memo:
            self._memo[key] = self._result_edge(i)
        return self._memo[key]

    def _result_edge(self, i: int) -> dict[str, str]:
        """The attributes of ``result_edge``.

        Only the forward view writes on it (the value, when it is a scalar); in the other
        views every number it carries is the variable's own, written right beside it, so
        the edge keeps them in its tooltip and the chain stays short.
        """
        # Leave the block at the apex of its rounded side, enter the shape cell's near side.
        attrs: dict[str, str] = {"class": "result", "weight": str(CHAIN_WEIGHT),
                                 "tailport": _COMPASS[OUTPUT_SIDE[self.rankdir]],
                                 **self.in_port()}
        lines: list[tuple[str, Any, str]] = []
        r = self.w.result(i)
        val = self.value(r)
        if self.view == "forward":
            attrs.update(self.theme.edge["forward"])
            if val is not None:
                lines.append(("value", val, "value"))
        elif self.view == "tangent":
            t = self.tangent(r)
            fixed = self.data.tangents is not None and t is None
            attrs.update(self.theme.edge["const" if fixed else "tangent"])
            if t is not None:
                lines.append(("tangent", t, "tangent"))
        else:
            const = not self.g.depends_on_input[self.w.node(r)]
            style = "const" if const else ("forward" if self.view == "both" else "gradient")
            attrs.update(self.theme.edge[style])
            if not self.live_op(i) and not const:
                attrs.update(self.theme.edge["dead"])
            if self.view == "backward":
                attrs["dir"] = "none" if const else "back"
            if self.view == "both" and val is not None:
                lines.append(("value", val, "value"))
            adj = self.adjoint(r)
            if adj is not None:
                lines.append(("gradient", adj, "gradient"))
        label = self.edge_label(lines)
        if self.view != "forward":
            label = {k: v for k, v in label.items() if k == "tooltip"}
        attrs.update(label)
        attrs.update(self.overlay.result_edge(i))
        return attrs

    # --- the whole picture -----------------------------------------------------------------

    def items(self) -> tuple[list[str], list[list[int]], list[tuple[int, int]]]:
        """The DOT nodes in order (ids), each one's predecessors (as indices), and each
        constant with the op that consumes it first."""
        ids: list[str] = []
        index: dict[str, int] = {}
        preds: list[list[int]] = []
        consts: list[tuple[int, int]] = []  # (item, consuming op's item)

        def add(name: str, ps: list[int]) -> int:
            index[name] = len(ids)
            ids.append(name)
            preds.append(ps)
            return index[name]

        for grp in self.w.groups:
            if grp.op is None:
                add(self.var_id(grp.var), [])
            else:
                operands = [index[self.var_id(j)] for j in grp.operands]
                op = add(self.op_id(grp.op), operands)
                consts += [(index[self.var_id(j)], op) for j in grp.operands
                           if self.w.kind(j) == CONST]
                add(self.var_id(grp.var), [op])
        return ids, preds, consts

    def positions(self) -> dict[str, str]:
        """Pinned ``pos`` of every DOT node, for the fast layout of large graphs."""
        ids, preds, consts = self.items()
        layer_of = {}
        # A constant sits just before its (first) consumer instead of with the inputs.
        first = layered_order(preds)
        for c, op in consts:
            layer_of.setdefault(c, max(0, first[op][0] - 1))
        order = layered_order(preds, layer_of) if layer_of else first
        _, sizes, labels, _ = fit.sizes(self)
        return dict(zip(ids, fixed_positions(order, sizes, labels, self.rankdir)))

    def node(self, dot: graphviz.Digraph, name: str, label: str, attrs: dict[str, str]) -> None:
        if self.pos is not None:
            attrs = {**attrs, "pos": self.pos[name]}
        dot.node(name, label, _attributes=attrs)

    def edge(self, dot: graphviz.Digraph, tail: str, head: str, attrs: dict[str, str]) -> None:
        """An edge; with fixed positions, its label is a node of its own at the middle of
        the edge, a little to its side: ``neato -n2`` routes labelled edges slowly (13 s
        instead of 2 s for 1,000 statements, bench/bench_render.py)."""
        if self.pos is None or "label" not in attrs:
            dot.edge(tail, head, _attributes=attrs)
            return
        attrs = dict(attrs)
        label = attrs.pop("label")
        text = {"fontcolor": attrs.pop("fontcolor")} if "fontcolor" in attrs else {}
        (x0, y0), (x1, y1) = (_xy(self.pos[tail]), _xy(self.pos[head]))
        side = (0.0, LABEL_OFFSET) if self.across else (LABEL_OFFSET, 0.0)
        name = f"label{len(self.pos) - self._positioned}"
        self.pos[name] = f"{(x0 + x1) / 2 + side[0]:g},{(y0 + y1) / 2 + side[1]:g}!"
        self.node(dot, name, label, {"shape": "plaintext", "width": "0", "height": "0",
                                     "margin": "0", "fontsize": self.theme.edge_defaults[
                                         "fontsize"], "class": "edgelabel", **text})
        dot.edge(tail, head, _attributes=attrs)

    def build(self, title: str | None, legend: bool) -> Digraph:
        dot = Digraph(name="compgraph", engine=self.layout.engine)
        if self.layout.positioned:
            dot.neato_no_op = 2
            self.pos = self.positions()
            self._positioned = len(self.pos)
        graph_attrs = {"rankdir": self.rankdir, **self.theme.graph, **self.layout.graph}
        from .legend import caption  # the legend is optional furniture

        graph_attrs.update(caption(self, title, legend))
        row_graphs: list[graphviz.Digraph] = []
        if self.rows is not None:
            # Room on the left for the connector that leads each row into the next.
            graph_attrs["pad"] = WRAP_PAD
            for r in range(max(self.rows) + 1):
                row_graph = graphviz.Digraph(name=f"cluster_row{r}")
                # Invisible (but drawn, so that the SVG pass can read where rows are), and
                # not inheriting the legend.
                row_graph.attr("graph", _attributes={"label": "", "pencolor": "transparent",
                                                     "margin": "6"})
                row_graphs.append(row_graph)
        dot.attr("graph", _attributes=graph_attrs)
        dot.attr("node", _attributes=dict(self.theme.node_defaults))
        dot.attr("edge", _attributes=dict(self.theme.edge_defaults))
        # In rows, the edges come after the rows' nodes, and the rows last to first: dot
        # stacks disconnected parts in the order their first nodes appear, the first at
        # the bottom of a left-to-right picture, and the first row belongs on top.
        edges = graphviz.Digraph() if self.rows is not None else dot
        for g, grp in enumerate(self.w.groups):
            v = grp.var
            where = self.container(g, dot, row_graphs)
            if grp.kind == CONST:
                self.node(where, self.var_id(v), mk.plain(format_value(self.g.nodes[v].value)),
                          {**self.theme.node["const"], "class": "const"})
                continue
            if grp.op is None:
                label, attrs = self.variable_attrs(v)
                self.node(where, self.var_id(v), label, attrs)
                continue
            i = grp.op
            label, attrs = self.op_attrs(i)
            self.node(where, self.op_id(i), label, attrs)
            for k, j in enumerate(grp.operands):
                attrs = self.operand_edge(i, k)
                if self.rows is not None and self.row(j) != self.rows[g]:
                    self.wrap_edge(edges, row_graphs, j, i, attrs)
                else:
                    self.edge(edges, self.var_id(j), self.op_id(i), attrs)
            label, attrs = self.variable_attrs(v)
            self.node(where, self.var_id(v), label, attrs)
            self.edge(edges, self.op_id(i), self.var_id(v), self.result_edge(i))
        if self.w.opened:
            self.clusters(dot, row_graphs)
        for row_graph in reversed(row_graphs):
            dot.subgraph(row_graph)
        if edges is not dot:
            dot.body += edges.body
        dot.note = self.layout.note
        return dot

    def row(self, var: int) -> int:
        """The row of the group that draws variable ``var`` (pictures in rows only)."""
        if self._group_of is None:
            self._group_of = {grp.var: g for g, grp in enumerate(self.w.groups)}
        return self.rows[self._group_of[var]]  # type: ignore[index]

    def clusters(self, dot: graphviz.Digraph, row_graphs: list[graphviz.Digraph]) -> None:
        """Each inlined call of a user function that is not collapsed as a cluster labelled
        with the function's name, holding the blocks and circles its body made (nested calls
        nest, collapsed ones as blocks; an outermost call sits in its row's cluster when the
        picture is in rows, fit.py keeping each call in one row). Built from the innermost
        call outwards, without recursion: a call's index is larger than its parent's."""
        g, w = self.g, self.w
        subs: dict[int, graphviz.Digraph] = {}
        children: dict[int, list[int]] = {k: [] for k in w.opened}
        for k, call in enumerate(g.calls):
            if k not in w.opened:
                continue
            sub = graphviz.Digraph(name=f"cluster_call{k}")
            sub.attr("graph", _attributes={
                "label": mk.plain(call.function), "tooltip": mk.plain(call.id),
                "style": "rounded,dashed", "color": self.colors["muted"],
                "pencolor": self.colors["muted"],  # not a row's transparent outline
                "fontcolor": self.colors["text"], "fontname": SANS, "fontsize": "12",
                "labeljust": "l", "labelloc": "t"})  # not the legend's place
            for i in g.call_members[k]:
                if g.nodes[i].kind == CONST:
                    sub.node(self.var_id(i))
                else:
                    sub.node(self.op_id(i))
                    sub.node(self.var_id(i))
            subs[k] = sub
            if call.parent >= 0:
                children[call.parent].append(k)
        for c in w.blocks:  # a collapsed call inside an open one: its block and output
            parent = g.calls[c].parent
            if parent >= 0:
                op = len(g.nodes) + c
                subs[parent].node(self.op_id(op))
                subs[parent].node(self.var_id(w.result(op)))
        for k in sorted(subs, reverse=True):
            for child in children[k]:
                subs[k].subgraph(subs[child])
        home = {k: i for i, k in reversed(list(enumerate(w.top_calls()))) if k >= 0}
        for k in sorted(subs):
            if g.calls[k].parent < 0:
                where = self.container(home[k], dot, row_graphs) if k in home else dot
                where.subgraph(subs[k])

    def container(self, g: int, dot: graphviz.Digraph,
                  row_graphs: list[graphviz.Digraph]) -> graphviz.Digraph:
        """The (sub)graph that holds group ``g``'s DOT nodes: its row's cluster when the
        picture is in rows, else the picture itself. The one place that says where a node
        goes, so that clusters of other kinds (a function call's nodes, drawn as one
        labelled box) nest here."""
        return row_graphs[self.rows[g]] if self.rows is not None else dot

    def wrap_edge(self, dot: graphviz.Digraph, row_graphs: list[graphviz.Digraph], j: int,
                  i: int, attrs: dict[str, str]) -> None:
        """The edge from ``j`` (a row's end) to op ``i`` (the next row's start) as two stubs,
        ``wrap<k>_out`` and ``wrap<k>_in``, which the SVG pass joins (rows.py, finish.py).
        The first keeps the label; each arrowhead stays at its end of the real edge."""
        k = sum(1 for line in dot.body if "-> wrap" in line)
        out, into = f"wrap{k}_out", f"wrap{k}_in"
        point = {"shape": "point", "width": "0.04", "color": attrs.get("color", "black"),
                 "class": "wrap"}
        row_graphs[self.row(j)].node(out, "", _attributes=point)
        row_graphs[self.row(self.w.result(i))].node(into, "", _attributes=point)
        back = attrs.get("dir") == "back"
        first = {**attrs, "class": "operand wrap", "dir": "back" if back else "none"}
        second = {key: v for key, v in attrs.items()
                  if key not in ("label", "fontcolor", "tailport", "tooltip")}
        second.update({"class": "operand wrap",
                       "dir": "none" if back or attrs.get("dir") == "none" else "forward"})
        dot.edge(self.var_id(j), out, _attributes=first)
        dot.edge(into, self.op_id(i), _attributes=second)

    def choose(self, layout: str, output_format: str,
               max_seconds: float | None) -> tuple[int, Cost]:
        """Choose the layout (its note worded by the estimate of the time it takes), from
        counts only: a picture estimated to take longer than ``max_seconds`` is refused
        here, before anything is built. Returns dot's work and the estimate."""
        _, preds, _ = self.items()
        labelled = self.labelled()
        work = dot_work(preds, labelled)
        nodes, edges = len(preds), sum(len(p) for p in preds)
        counts = (nodes, edges, edges if labelled else 0, work)
        chosen = choose_layout(work, layout)
        cost = estimate_cost(chosen, *counts, output_format)
        if chosen.note:
            chosen = choose_layout(work, layout, cost.total)
        xml = XML_PER_ELEMENT * drawn_elements(chosen, *counts[:3])
        if output_format in ("png", "pdf") and xml > CONVERTER_MAX_XML:
            svg = estimate_cost(chosen, *counts, "svg")
            raise GraphTooLargeError(
                f"this picture is too large for {output_format.upper()}: rsvg-convert, which "
                f"makes it from the SVG, reads at most {CONVERTER_MAX_XML:,} SVG elements and "
                f"it would have about {xml:,}; write SVG instead ({about(svg.total)}), "
                f"{self.part_advice()}, or write the DOT (format='dot', --format dot; "
                f"{about(cost.build)})")
        if max_seconds is not None and cost.total > max_seconds:
            raise GraphTooLargeError(self.too_large(chosen, cost, counts, output_format,
                                                    max_seconds))
        self.layout = chosen
        return work, cost

    def too_large(self, chosen: Layout, cost: Cost, counts: tuple[int, int, int, int],
                  output_format: str, max_seconds: float) -> str:
        """Why a picture is refused, and what would draw it in time."""
        nodes, edges = counts[:2]
        how = "fixed positions" if chosen.positioned else "dot's layout"
        advice = []
        if self.g.calls and not self.w.blocks:
            advice.append("draw each function call as one block (collapse=True, --collapse)")
        advice.append(self.part_advice())
        if not chosen.positioned:
            fast = estimate_cost(choose_layout(counts[3], "fast"), *counts, output_format)
            if fast.total <= max_seconds:
                advice.append(f"lay it out with fixed positions (layout='fast', --layout "
                              f"fast; {about(fast.total)})")
        if output_format in ("png", "pdf"):
            svg = estimate_cost(chosen, *counts, "svg")
            if svg.total <= max_seconds:
                advice.append(f"write SVG instead ({about(svg.total)})")
        advice.append(f"write the DOT and lay it out yourself (format='dot', --format dot; "
                      f"{about(cost.build)})")
        return (f"this picture would take {about(cost.total)} to draw ({nodes:,} DOT "
                f"nodes and {edges:,} edges, {output_format.upper()} with {how}), more "
                f"than the {max_seconds:g} s allowed; " + ", or ".join(advice))

    def part_advice(self) -> str:
        """The advice to draw a part of the program (pruned at an output)."""
        part = "an earlier variable" if self.w.keep is not None else "one variable"
        return (f"draw only the part {part} is computed from (--output NAME; "
                f"graph.with_output(NAME) and prune=True)")

    def labelled(self) -> bool:
        """Whether any edge carries a label (then ``dot`` doubles its ranks)."""
        for grp in self.w.groups:
            if grp.op is not None:
                if "label" in self.result_edge(grp.op):
                    return True
                if any("label" in self.operand_edge(grp.op, k)
                       for k in range(len(grp.operands))):
                    return True
        return False


def _cost_nodes(graph: Graph, names: Iterable[str]) -> frozenset[int]:
    costs = {n.id for n in graph.nodes if n.kind == "op" and OPS[n.op].cost}
    for name in names:
        if name not in graph.latest:
            raise RenderError(f"cannot mark {name!r} as a cost: the program has no such "
                              f"name; it has: {', '.join(graph.latest)}")
        i = graph.latest[name]
        if graph.nodes[i].kind == "op":
            costs.add(i)
    return frozenset(costs)


def to_dot(graph: Graph, view: str = "forward", values: Any = None, grads: Any = None,
           tangents: Any = None, local: Mapping[tuple[int, int], Any] | None = None, *,
           edge_labels: str = "gradient", legend: bool = True, rankdir: str = "auto",
           theme: str = "light", label_anonymous: bool = False, title: str | None = None,
           costs: Iterable[str] = (), layout: str = "auto", max_grid: int = 4,
           paths: Any = None, path: int | None = None, check: Any = None,
           nonfinite: Any = None, collapse: bool = False,
           expand: Iterable[str] = (), prune: bool = False,
           max_seconds: float | None = None, output_format: str = "svg") -> Digraph:
    """The picture of ``graph`` in ``view`` as a ``graphviz.Digraph`` (no binary needed).

    ``values`` (``compgraph.evaluate``), ``grads`` (``compgraph.backward``), ``tangents``
    (``compgraph.tangents``) and ``local`` (``compgraph.local_derivatives``) are optional;
    what is given is written on the picture, nothing is computed here. ``edge_labels``
    chooses what the backward view writes on operand edges: the ``gradient`` each carries,
    the ``local`` derivative, or ``both`` (``32`` over ``8 × 4``: upstream × local).
    ``costs`` names variables to draw as cost squares (``mse`` and ``bce`` always are).
    ``layout`` is ``auto`` (fast settings for large graphs, see ``.note``), ``best`` or
    ``fast``. Vectors and matrices of at most ``max_grid`` rows and columns are written
    beside their nodes as grids of numbers; larger arrays as their shape and range.
    ``rankdir`` is ``auto`` (left to right, or top-down when that shows the graph larger on
    a 16:9 slide) or one of LR, RL, TB, BT.

    Each call of a user-defined function is drawn as its body in a labelled cluster, or
    with ``collapse=True`` as one block (``linear₁``) from its arguments to the value it
    returns, the gradient on its wires the vector–Jacobian product (collapse.py);
    ``expand`` names calls to open again (``"linear#2"``, or ``"linear"`` for all of them).

    Everything the program computes is drawn, what does not reach the output muted; with
    ``prune=True`` only the output and what it is computed from are (a part of a large
    program: ``to_dot(graph.with_output("h3"), ..., prune=True)``, ``--output h3``).

    The explaining views draw what they are given: ``paths`` the result of
    ``compgraph.paths`` (``path=k``: path ``k`` alone), ``check`` that of
    ``compgraph.check_nodes``, ``heatmap`` the gradients; ``nonfinite``
    (``compgraph.find_nonfinite``) marks where a NaN was born, on any view.

    ``.cost`` estimates the time the picture takes to draw in ``output_format`` (svg, png,
    pdf, or dot: building only), from its size alone; with ``max_seconds``, a picture
    estimated to take longer is a :class:`~compgraph.errors.GraphTooLargeError` raised
    before it is built, which says what would draw it in time.

    >>> from compgraph.graph import GraphBuilder
    >>> b = GraphBuilder()
    >>> x, y = b.input("x"), b.input("y")
    >>> b.bind("p", b.apply("mul", (x, y)))
    >>> dot = to_dot(b.build(), "forward", values=[2.0, 3.0, 6.0], legend=False)
    >>> print([line.strip() for line in dot.body if line.strip().startswith("op2 ->")][0])
    op2 -> v2_p [class=result color=black fontcolor="#2ca02c" headport="v:w" label=6 tailport=e tooltip="value 6" weight=8]
    """
    _choice("view", view, VIEWS)
    _choice("edge_labels", edge_labels, EDGE_LABELS)
    _choice("rankdir", rankdir, RANKDIRS)
    _choice("output_format", output_format, ("svg", "png", "pdf", "dot"))
    if isinstance(max_grid, bool) or not isinstance(max_grid, int) or max_grid < 0:
        raise RenderError(f"max_grid must be a whole number of rows and columns (0 or more), "
                          f"not {max_grid!r}")
    data = _Data(
        values=_per_node(graph, values, "nodes", "values"),
        adjoints=_per_node(graph, grads, "adjoints", "gradients"),
        grad_edges=dict(getattr(grads, "edges", None) or {}),
        tangents=_per_node(graph, tangents, "nodes", "tangents"),
        tangent_edges=dict(getattr(tangents, "edges", None) or {}),
        local=dict(local or {}),
    )
    if title is None and view == "tangent" and tangents is not None:
        wrt = getattr(tangents, "wrt", None)
        if wrt is not None:
            title = f"forward mode: tangents ∂ · / ∂{wrt}"
    from .views import base_view, overlay_for

    if isinstance(expand, str):
        expand = [expand]
    wiring = Wiring(graph, collapse=bool(collapse), expand=tuple(expand), prune=bool(prune))
    builder = _Builder(graph, base_view(view), data, edge_labels=edge_labels,
                       rankdir="LR" if rankdir == "auto" else rankdir,
                       theme=get_theme(theme), layout=BEST,
                       label_anonymous=label_anonymous, costs=_cost_nodes(graph, costs),
                       max_grid=max_grid, wiring=wiring)
    builder.overlay = overlay_for(view, builder, paths=paths, path=path, check=check,
                                  nonfinite=nonfinite)
    work, cost = builder.choose(layout, output_format, max_seconds)
    if rankdir == "auto" and not builder.layout.positioned:
        builder.rankdir, builder.rows = fit.direction(builder, legend)
    if legend and len(wiring.groups) <= fit.AUTO_NODES:
        # No wider than the picture (or a few entries, for a narrow one).
        builder.legend_width = max(fit.estimate(builder)[0], LEGEND_MIN_WIDTH)
    dot = builder.build(title, legend)
    dot.work = work
    dot.cost = cost
    return dot
