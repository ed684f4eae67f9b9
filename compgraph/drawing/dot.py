"""Build the ``graphviz.Digraph`` of a graph in one view (forward, backward, both, tangent).

The picture is bipartite, as in the course's block diagrams: variable → operator block →
result variable. Every op node of the graph is two DOT nodes, its block (``op<i>``) and its
result circle (``v<i>``), so an anonymous intermediate such as ``x*y`` is a small circle of
its own. Each operand is its own edge (``x + x`` draws two), in operand order.

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
>>> [line.strip() for line in dot.body if "->" in line]
['v0_x -> op1 [class=operand color=black]', 'v0_x -> op1 [class=operand color=black]', 'op1 -> v1_s [class=result color=black tailport=e]']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import graphviz

from ..errors import RenderError
from ..graph import CONST, INPUT, Graph
from ..ops import OPS
from . import markup as mk
from .format import (EDGE_VALUES, MINUS, NODE_VALUES, TOOLTIP_VALUES, format_shape,
                     format_value, is_array)
from .layout import Layout, choose_layout, layered_order, point
from .style import SANS, Theme, theme as get_theme

VIEWS = ("forward", "backward", "both", "tangent")
EDGE_LABELS = ("gradient", "local", "both")
RANKDIRS = ("LR", "RL", "TB", "BT")

# The side of an operator block that faces its output, per rankdir (the D's rounded side).
OUTPUT_SIDE = {"LR": "right", "RL": "left", "TB": "bottom", "BT": "top"}
_COMPASS = {"right": "e", "left": "w", "bottom": "s", "top": "n"}

# At most this many terms are written out in a fan-out sum ("60 = 28 + 32").
_MAX_SUM_TERMS = 4


class Digraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose notebook display draws operators as D shapes.

    ``note`` is a sentence for the user (e.g. that large-graph layout settings were used),
    or ``None``. ``neato_no_op`` is 2 when every node carries its position (large graphs):
    ``pipe`` and ``render`` then only draw, they do not lay out.
    """

    note: str | None = None
    neato_no_op: int | None = None

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
        from .dshape import dshape_svg  # local: display is the only user here

        return dshape_svg(self.pipe(format="svg", encoding="utf-8"))


@dataclass(frozen=True)
class _Data:
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


def _node_text(value: Any) -> str:
    """A number beside a node: values of arrays up to ``NODE_VALUES`` elements, else the shape."""
    return format_value(value, NODE_VALUES, shape=False)


def _edge_text(value: Any) -> str:
    """A number on a wire: values of arrays up to ``EDGE_VALUES`` elements, else the shape."""
    return format_value(value, EDGE_VALUES, shape=False)


def _sum_text(total: Any, terms: list[Any]) -> str:
    """``60 = 28 + 32`` when a scalar total is the sum of several edge contributions."""
    text = _node_text(total)
    if len(terms) < 2 or any(is_array(t) for t in terms) or is_array(total):
        return text
    if len(terms) > _MAX_SUM_TERMS:
        return f"{text} = Σ of {len(terms)}"
    parts = [format_value(terms[0])]
    for t in terms[1:]:
        s = format_value(t)
        parts.append(f"{MINUS} {s[1:]}" if s.startswith(MINUS) else f"+ {s}")
    return f"{text} = {' '.join(parts)}"


# Variable circles all have the theme's size; a name wider than this (in points, estimated)
# makes the circle an ellipse of the same height instead of a bigger circle.
_CIRCLE_TEXT = 30.0


def _text_width(text: str, fontsize: float) -> float:
    """A generous estimate of a label's width in points (about half an em a character)."""
    return sum(0.3 if ch == " " else 0.5 for ch in text) * fontsize


def _fit(name: str, attrs: Mapping[str, str]) -> dict[str, str]:
    """Shape overrides so a long name (``s2 = yhat``) keeps the row's height: an ellipse."""
    width = _text_width(name, float(attrs.get("fontsize", "14")))
    if width <= _CIRCLE_TEXT:
        return {}
    inches = (width + 18) / 72
    return {"shape": "ellipse", "width": f"{inches:.2f}"}


class _Builder:
    """One to_dot call: the graph, the caller's numbers and the chosen style."""

    def __init__(self, graph: Graph, view: str, data: _Data, *, edge_labels: str,
                 rankdir: str, theme: Theme, layout: Layout, label_anonymous: bool,
                 costs: frozenset[int]) -> None:
        self.g = graph
        self.view = view
        self.data = data
        self.edge_labels = edge_labels
        self.rankdir = rankdir
        self.theme = theme
        self.layout = layout
        self.label_anonymous = label_anonymous
        self.costs = costs
        self.colors = theme.colors
        self.live = graph.ancestors_of_output
        self.pos: dict[str, str] | None = None  # pinned positions (fast layout only)
        # Outgoing operand edges of each node, in (consumer, operand index) order.
        self.uses: list[list[tuple[int, int]]] = [[] for _ in graph.nodes]
        for n in graph.nodes:
            for k, j in enumerate(n.operands):
                self.uses[j].append((n.id, k))

    # --- ids -------------------------------------------------------------------------------

    def var_id(self, i: int) -> str:
        node = self.g.nodes[i]
        if node.kind == CONST:
            return f"c{i}"
        label = self.g.labels[i]
        return f"v{i}_{label}" if label else f"v{i}"

    @staticmethod
    def op_id(i: int) -> str:
        return f"op{i}"

    # --- numbers ---------------------------------------------------------------------------

    def value(self, i: int) -> Any:
        vals = self.data.values
        return None if vals is None else vals[i]

    def adjoint(self, i: int) -> Any:
        adj = self.data.adjoints
        if adj is None or not self.live[i] or not self.g.depends_on_input[i]:
            return None
        a = adj[i]
        return 0.0 if a is None else a  # None means zero for a node the output depends on

    def contribution(self, i: int, k: int) -> Any:
        if self.data.adjoints is None or not self.live[i]:
            return None
        j = self.g.nodes[i].operands[k]
        if not self.g.depends_on_input[j]:
            return None
        c = self.data.grad_edges.get((i, k))
        return 0.0 if c is None else c

    def tangent(self, i: int) -> Any:
        """Node ``i``'s tangent; ``None`` when it does not depend on the chosen input."""
        tan = self.data.tangents
        return None if tan is None else tan[i]

    def tangent_edge(self, i: int, k: int) -> Any:
        """What operand ``k`` adds to op ``i``'s tangent; ``None`` when its operand is fixed."""
        tan = self.data.tangents
        if tan is None or tan[self.g.nodes[i].operands[k]] is None:
            return None
        t = self.data.tangent_edges.get((i, k))
        return 0.0 if t is None else t

    # --- nodes -----------------------------------------------------------------------------

    def variable_attrs(self, i: int) -> tuple[str, dict[str, str]]:
        """Label and attributes of variable ``i``'s circle (input, named or anonymous)."""
        node = self.g.nodes[i]
        # A name given only inside a function's body is shown in its call's cluster.
        label = self.g.labels[i] or self.g.local_name(i)
        if node.kind == INPUT:
            role = "input"
        elif i == self.g.output:
            role = "output"
        elif label:
            role = "variable"
        else:
            role = "anonymous"
        attrs = dict(self.theme.node[role])
        value = self.value(i)
        if value is None and node.kind == INPUT:
            value = node.value  # an input's default still tells its shape
        if role == "anonymous":
            text = "o" if self.label_anonymous else ""
            if self.label_anonymous:
                attrs["fontsize"] = "11"
            dot_label = mk.plain(text)
        elif is_array(value):
            dot_label = mk.html(mk.italic(label or ""),
                                mk.font(format_shape(value.shape), face=SANS, size=9))
        else:
            dot_label = mk.plain(label or "")
        if role != "anonymous":
            attrs.update(_fit(label or "", attrs))
        attrs["tooltip"] = mk.plain(self.tooltip(i, label))
        annotation = self.annotation(i)
        if annotation is not None:
            attrs["xlabel"] = annotation
        attrs["class"] = role
        return dot_label, attrs

    def tooltip(self, i: int, label: str | None) -> str:
        parts = [label or "o"]
        if self.value(i) is not None:
            parts.append(f"value {format_value(self.value(i), TOOLTIP_VALUES)}")
        if self.view in ("backward", "both") and self.adjoint(i) is not None:
            parts.append(f"gradient {format_value(self.adjoint(i), TOOLTIP_VALUES)}")
        if self.view == "tangent" and self.tangent(i) is not None:
            parts.append(f"tangent {format_value(self.tangent(i), TOOLTIP_VALUES)}")
        return ", ".join(parts)

    def annotation(self, i: int) -> str | None:
        """The value (green) and gradient or tangent (red, blue) written beside a variable."""
        if self.view == "forward":
            return None
        pieces: list[str] = []
        value = self.value(i)
        if is_array(value) and value.size > NODE_VALUES:
            # Too many numbers to write beside a circle (the tooltip has them): the shape
            # once, and only where the circle does not already carry it (anonymous ones).
            if self.g.labels[i]:
                return None
            return mk.html(mk.font(format_shape(value.shape), face=SANS, size=10,
                                   color=self.colors["text"]))
        if value is not None:
            pieces.append(mk.font(_node_text(value), color=self.colors["value"]))
        if self.view in ("backward", "both"):
            adj = self.adjoint(i)
            if adj is not None:
                # Fan-out made visible: the total is the sum of what the edges carry.
                terms = [c for c in (self.contribution(*u) for u in self.uses[i])
                         if c is not None]
                pieces.append(mk.font(_sum_text(adj, terms), color=self.colors["gradient"]))
        elif self.view == "tangent":
            t = self.tangent(i)
            if t is not None:
                # Fan-in made visible; operands that do not move with the input add nothing.
                terms = [c for c in (self.tangent_edge(i, k)
                                     for k in range(len(self.g.nodes[i].operands)))
                         if c is not None]
                pieces.append(mk.font(_sum_text(t, terms), color=self.colors["tangent"]))
        if not pieces:
            return None
        return mk.html(mk.font(mk.Markup("  ".join(pieces)), face=SANS, size=11))

    def op_attrs(self, i: int) -> tuple[str, dict[str, str]]:
        node = self.g.nodes[i]
        record = OPS[node.op]
        cost = i in self.costs
        attrs = dict(self.theme.node["cost" if cost else "op"])
        attrs["tooltip"] = mk.plain(record.doc or record.name)
        # The class tells dshape.py which boxes to round, and on which side.
        attrs["class"] = "cost" if cost else f"dshape_{OUTPUT_SIDE[self.rankdir]}"
        return mk.plain(node.op_label), attrs

    # --- edge labels -----------------------------------------------------------------------

    def edge_label(self, lines: list[tuple[str, str]]) -> dict[str, str]:
        """An edge label from ``(text, colour role)`` lines, on the layout's label attribute."""
        lines = [(t, role) for t, role in lines if t]
        if not lines:
            return {}
        if len(lines) == 1:
            t, role = lines[0]
            return {"label": mk.plain(t), "fontcolor": self.colors[role]}
        return {"label": mk.html(*(
            mk.font(t, color=self.colors[role], size=None if n == 0 else 10)
            for n, (t, role) in enumerate(lines)))}

    def operand_edge(self, i: int, k: int) -> dict[str, str]:
        """Attributes of the edge from operand ``k`` into op ``i``'s block."""
        j = self.g.nodes[i].operands[k]
        const = not self.g.depends_on_input[j]
        attrs: dict[str, str] = {"class": "operand"}
        if const:
            attrs.update(self.theme.edge["const"])
            if self.view == "backward":
                attrs["dir"] = "none"
            return attrs
        val = self.value(j)
        lines: list[tuple[str, str]] = []
        if self.view == "forward":
            attrs.update(self.theme.edge["forward"])
            if val is not None:
                lines.append((_edge_text(val), "value"))
        elif self.view == "tangent":
            t = self.tangent_edge(i, k)
            fixed = self.data.tangents is not None and t is None
            # Edges outside the input's cone of influence carry no tangent: drawn muted.
            attrs.update(self.theme.edge["const" if fixed else "tangent"])
            if t is not None:
                lines.append((_edge_text(t), "tangent"))
        else:
            live = self.live[i]
            attrs.update(self.theme.edge["forward" if self.view == "both" else "gradient"])
            if not live:
                attrs.update(self.theme.edge["dead"])
            if self.view == "backward":
                attrs["dir"] = "back"
            if self.view == "both" and val is not None:
                lines.append((_edge_text(val), "value"))
            lines += self.gradient_lines(i, k)
        attrs.update(self.edge_label(lines))
        return attrs

    def gradient_lines(self, i: int, k: int) -> list[tuple[str, str]]:
        c = self.contribution(i, k)
        local = self.data.local.get((i, k))
        lines: list[tuple[str, str]] = []
        if self.edge_labels in ("gradient", "both") and c is not None:
            lines.append((_edge_text(c), "gradient"))
        if self.edge_labels in ("local", "both") and local is not None:
            if self.edge_labels == "both" and self.adjoint(i) is not None:
                # The chain rule on the wire: what it carries = upstream × local.
                lines.append((f"{_edge_text(self.adjoint(i))} × {_edge_text(local)}",
                              "local"))
            else:
                lines.append((f"∂ {_edge_text(local)}", "local"))
        return lines

    def result_edge(self, i: int) -> dict[str, str]:
        """Attributes of the edge from op ``i``'s block to its result circle."""
        attrs: dict[str, str] = {"class": "result"}
        # Leave the block at the apex of its rounded side.
        attrs["tailport"] = _COMPASS[OUTPUT_SIDE[self.rankdir]]
        lines: list[tuple[str, str]] = []
        val = self.value(i)
        if self.view == "forward":
            attrs.update(self.theme.edge["forward"])
            if val is not None:
                lines.append((_edge_text(val), "value"))
        elif self.view == "tangent":
            t = self.tangent(i)
            fixed = self.data.tangents is not None and t is None
            attrs.update(self.theme.edge["const" if fixed else "tangent"])
            if t is not None:
                lines.append((_edge_text(t), "tangent"))
        else:
            const = not self.g.depends_on_input[i]
            style = "const" if const else ("forward" if self.view == "both" else "gradient")
            attrs.update(self.theme.edge[style])
            if not self.live[i] and not const:
                attrs.update(self.theme.edge["dead"])
            if self.view == "backward":
                attrs["dir"] = "none" if const else "back"
            if self.view == "both" and val is not None:
                lines.append((_edge_text(val), "value"))
            adj = self.adjoint(i)
            if adj is not None and self.edge_labels != "local":
                lines.append((_edge_text(adj), "gradient"))
        attrs.update(self.edge_label(lines))
        return attrs

    # --- the whole picture -----------------------------------------------------------------

    def positions(self) -> dict[str, str]:
        """Pinned ``pos`` of every DOT node, for the fast layout of large graphs."""
        ids: list[str] = []
        index: dict[str, int] = {}
        preds: list[list[int]] = []
        consts: list[tuple[int, int]] = []  # (item, consuming op's item)

        def add(name: str, ps: list[int]) -> int:
            index[name] = len(ids)
            ids.append(name)
            preds.append(ps)
            return index[name]

        for node in self.g.nodes:
            if node.kind == CONST:
                add(self.var_id(node.id), [])
            elif node.kind == INPUT:
                add(self.var_id(node.id), [])
            else:
                operands = [index[self.var_id(j)] for j in node.operands]
                op = add(self.op_id(node.id), operands)
                consts += [(index[self.var_id(j)], op) for j in node.operands
                           if self.g.nodes[j].kind == CONST]
                add(self.var_id(node.id), [op])
        layer_of = {}
        # A constant sits just before its (first) consumer instead of with the inputs.
        first = layered_order(preds)
        for c, op in consts:
            layer_of.setdefault(c, max(0, first[op][0] - 1))
        order = layered_order(preds, layer_of) if layer_of else first
        return {name: point(lay, place, self.rankdir) for name, (lay, place) in zip(ids, order)}

    def node(self, dot: graphviz.Digraph, name: str, label: str, attrs: dict[str, str]) -> None:
        if self.pos is not None:
            attrs = {**attrs, "pos": self.pos[name]}
        dot.node(name, label, _attributes=attrs)

    def build(self, title: str | None, legend: bool) -> Digraph:
        dot = Digraph(name="compgraph", engine=self.layout.engine)
        if self.layout.positioned:
            dot.neato_no_op = 2
            self.pos = self.positions()
        graph_attrs = {"rankdir": self.rankdir, "forcelabels": "true", **self.theme.graph,
                       **self.layout.graph}
        if title:
            graph_attrs.update({"label": mk.html(mk.font(title, size=16)), "labelloc": "t",
                                "labeljust": "c"})
        dot.attr("graph", _attributes=graph_attrs)
        dot.attr("node", _attributes=dict(self.theme.node_defaults))
        dot.attr("edge", _attributes=dict(self.theme.edge_defaults))
        for node in self.g.nodes:
            i = node.id
            if node.kind == CONST:
                self.node(dot, self.var_id(i), mk.plain(format_value(node.value)),
                          {**self.theme.node["const"], "class": "const"})
                continue
            if node.kind == INPUT:
                label, attrs = self.variable_attrs(i)
                self.node(dot, self.var_id(i), label, attrs)
                continue
            label, attrs = self.op_attrs(i)
            self.node(dot, self.op_id(i), label, attrs)
            for k, j in enumerate(node.operands):
                dot.edge(self.var_id(j), self.op_id(i), _attributes=self.operand_edge(i, k))
            label, attrs = self.variable_attrs(i)
            self.node(dot, self.var_id(i), label, attrs)
            dot.edge(self.op_id(i), self.var_id(i), _attributes=self.result_edge(i))
        if self.g.calls:
            self.clusters(dot)
        if legend:
            from .legend import add_legend  # the legend is optional furniture

            add_legend(dot, self)
        dot.note = self.layout.note
        return dot

    def clusters(self, dot: graphviz.Digraph) -> None:
        """Each inlined call of a user function as a cluster labelled with the function's
        name, holding the blocks and circles its body made (nested calls nest). Built from
        the innermost call outwards, without recursion: a call's index is larger than its
        parent's."""
        g = self.g
        subs = []
        children: list[list[int]] = [[] for _ in g.calls]
        for k, call in enumerate(g.calls):
            sub = graphviz.Digraph(name=f"cluster_call{k}")
            sub.attr("graph", _attributes={
                "label": mk.plain(call.function), "tooltip": mk.plain(call.id),
                "style": "rounded,dashed", "color": self.colors["muted"],
                "fontcolor": self.colors["text"], "fontname": SANS, "fontsize": "12",
                "labeljust": "l"})
            for i in g.call_members[k]:
                if g.nodes[i].kind == CONST:
                    sub.node(self.var_id(i))
                else:
                    sub.node(self.op_id(i))
                    sub.node(self.var_id(i))
            subs.append(sub)
            if call.parent >= 0:
                children[call.parent].append(k)
        for k in range(len(g.calls) - 1, -1, -1):
            for child in children[k]:
                subs[k].subgraph(subs[child])
        for k, call in enumerate(g.calls):
            if call.parent < 0:
                dot.subgraph(subs[k])

    def edge_count(self) -> int:
        return sum(len(n.operands) + 1 for n in self.g.nodes if n.kind == "op")


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
           edge_labels: str = "gradient", legend: bool = True, rankdir: str = "LR",
           theme: str = "light", label_anonymous: bool = False, title: str | None = None,
           costs: Iterable[str] = (), layout: str = "auto") -> Digraph:
    """The picture of ``graph`` in ``view`` as a ``graphviz.Digraph`` (no binary needed).

    ``values`` (``compgraph.evaluate``), ``grads`` (``compgraph.backward``), ``tangents``
    (``compgraph.tangents``) and ``local`` (``compgraph.local_derivatives``) are optional;
    what is given is written on the picture, nothing is computed here. ``edge_labels``
    chooses what the backward view writes on operand edges: the ``gradient`` each carries,
    the ``local`` derivative, or ``both`` (``32`` over ``8 × 4``: upstream × local).
    ``costs`` names variables to draw as cost squares (``mse`` and ``bce`` always are).
    ``layout`` is ``auto`` (fast settings for large graphs, see ``.note``), ``best`` or
    ``fast``.

    >>> from compgraph.graph import GraphBuilder
    >>> b = GraphBuilder()
    >>> x, y = b.input("x"), b.input("y")
    >>> b.bind("p", b.apply("mul", (x, y)))
    >>> dot = to_dot(b.build(), "forward", values=[2.0, 3.0, 6.0], legend=False)
    >>> print([line.strip() for line in dot.body if line.strip().startswith("op2 ->")][0])
    op2 -> v2_p [class=result color=black fontcolor="#2ca02c" label=6 tailport=e]
    """
    _choice("view", view, VIEWS)
    _choice("edge_labels", edge_labels, EDGE_LABELS)
    _choice("rankdir", rankdir, RANKDIRS)
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
    builder = _Builder(graph, view, data, edge_labels=edge_labels, rankdir=rankdir,
                       theme=get_theme(theme), layout=choose_layout(0, "best"),
                       label_anonymous=label_anonymous, costs=_cost_nodes(graph, costs))
    builder.layout = choose_layout(builder.edge_count(), layout)
    return builder.build(title, legend)
