"""The ``paths`` view: the gradient as a sum over paths, each path in its own colour.

Every edge that some path takes is drawn in the colours of the paths through it, side by
side (Graphviz's colour lists draw parallel strokes), and labelled with its local
derivative, the factor it contributes to each of them; edges no path takes are muted.
Under the title a table lists the paths, each with its colour, its route and its product
(the local derivatives multiplied), and their total, which is the gradient.

For arrays a local derivative is a Jacobian, so edges carry no factor and each product is
the vector–Jacobian product the path carries back to the chosen variable; the table says so.

One picture can tell apart at most ``len(PALETTE)`` paths; with ``path=k`` (``render -o
FOLDER/``) a picture shows path ``k`` alone, as many pictures as paths.
"""

from __future__ import annotations

from typing import Any

from ...errors import RenderError
from .. import markup as mk
from ..format import MINUS, format_value
from ..style import SANS
from . import Attrs, Overlay, text_note

# Tableau's ten, grey last: distinct on white and in print.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f")
ROUTE_STEPS = 8  # longer routes are shortened in the table: x → … → w (12 steps)
_FONT = 10
_GAP = 12  # points between a route and its product
SHOWN_VALUES = 4  # a product or total with more entries is written as its shape


def _number(v: Any) -> str:
    """A product or a total: a number, a short array's values, or a long one's shape."""
    return format_value(v, SHOWN_VALUES, shape=False)


class Paths(Overlay):
    base = "forward"

    def __init__(self, b: Any, result: Any, only: int | None = None) -> None:
        super().__init__(b)
        self.result = result
        n = len(result.paths)
        if only is not None and not 0 <= only < n:
            raise RenderError(f"there is no path {only + 1}: {result.wrt} reaches "
                              f"{result.output} along {n} path{'s' if n != 1 else ''}")
        if only is None and n > len(PALETTE):
            raise RenderError(
                f"{result.wrt} reaches {result.output} along {n} paths, and one picture tells "
                f"apart at most {len(PALETTE)}; write one picture per path with -o FOLDER/ "
                f"(render(..., path=k) from Python), or list them with the paths command")
        self.only = only
        self.shown = [only] if only is not None else list(range(n))
        # The circle the paths start from: with collapsed calls one graph node can be drawn
        # as several circles (s2 → g → ŷ when g returns its argument); the chosen name's.
        self.start = b.w.variable(result.wrt)
        self.after_start = b.w.passed_on(self.start)
        # Which shown paths take each edge, and which pass through each node.
        self.on_edge: dict[tuple[int, int], list[int]] = {}
        self.on_node: dict[int, list[int]] = {}
        self.factor: dict[tuple[int, int], Any] = {}
        for p in self.shown:
            path = result.paths[p]
            for edge, factor in zip(path.edges, path.factors):
                self.on_edge.setdefault(edge, []).append(p)
                self.factor[edge] = factor
            for i in path.nodes:
                self.on_node.setdefault(i, [])
                if p not in self.on_node[i]:
                    self.on_node[i].append(p)

    def colour(self, p: int) -> str:
        return PALETTE[p % len(PALETTE)]

    def _stroke(self, ps: list[int]) -> Attrs:
        return {"color": ":".join(self.colour(p) for p in ps), "penwidth": "2.5",
                "style": "solid"}

    def _muted(self) -> Attrs:
        return {**self.b.theme.edge["const"], "label": "", "style": "solid"}

    def node(self, i: int) -> Attrs:
        if i == self.start:
            return {"penwidth": "4"}
        return {}

    def _before_start(self, var: int) -> bool:
        """Whether ``var`` holds the chosen variable's node but comes before its circle
        (``s2`` when the paths start from ``ŷ = g(s2)``): no path goes through it."""
        return self.b.w.node(var) == self.result.wrt_node and var not in self.after_start

    def annotations(self, i: int) -> tuple[Any, Any]:
        """The value before every variable; after the chosen one, the gradient (the sum of
        the products), or this path's share of it."""
        b, result = self.b, self.result
        value = b.value(i)
        before = None if value is None else b.annotation(i, "value", value, ())
        if i != self.start or not result.paths:
            return before, None
        total = _number(result.total)
        if self.only is not None:
            text = f"{_number(result.paths[self.only].product)} of Σ = {total}"
        else:
            text = f"Σ = {total}"
        return before, text_note(b, i, "gradient", [(text, b.colors["gradient"])])

    def operand_edge(self, i: int, k: int) -> Attrs:
        # A collapsed call's wire stands for edges into its body: on every path they are
        # on, and with no one factor (their Jacobian).
        edges = self.b.w.edges(i, k)
        ps = sorted({p for e in edges for p in self.on_edge.get(e, ())})
        if not ps or self._before_start(self.b.w.operands(i)[k]):
            return self._muted()
        attrs = self._stroke(ps)
        factor = self.factor[edges[0]] if edges == ((i, k),) else None
        attrs["label"] = "" if factor is None else mk.plain(f"∂ {format_value(factor)}")
        attrs["fontcolor"] = self.b.colors["local"]
        return attrs

    def result_edge(self, i: int) -> Attrs:
        # Into the chosen variable's node: only a block passing it on from the start circle.
        var = self.b.w.result(i)
        node = self.b.w.node(var)
        ps = self.on_node.get(node, [])
        if node == self.result.wrt_node and (var == self.start or var not in self.after_start):
            ps = []
        if not ps:
            return self._muted()
        return {**self._stroke(ps), "label": ""}

    def key(self, entries: list) -> list:
        # values beside the variables here, the wires carry local derivatives
        return [(sample, "value" if words == "value on the wire" else words)
                for sample, words in entries]

    def caption(self) -> list[mk.Markup]:
        result, b = self.result, self.b
        text = b.colors["text"]
        scalar = result.scalar
        n = len(result.paths)
        head = f"∂{result.output}/∂{result.wrt}"
        if not n:
            return [mk.font(f"{result.wrt} does not reach {result.output}: no paths, "
                            f"{head} = {_number(result.total)}", face=SANS, size=_FONT + 1,
                            color=text)]
        if self.only is not None:
            heading = f"path {self.only + 1} of {n} from {result.wrt} to {result.output}"
        elif scalar:
            heading = (f"{head} as a sum over {n} path{'s' if n != 1 else ''}: "
                       "the local derivatives along each, multiplied")
        else:
            heading = (f"{head} as a sum over {n} path{'s' if n != 1 else ''}: arrays, so each "
                       f"product is the vector–Jacobian product the path carries back to "
                       f"{result.wrt}")
        rows = []
        for p in self.shown:
            path = result.paths[p]
            rows.append([
                mk.cell(mk.table([[mk.cell(bgcolor=self.colour(p), width=18, height=4)]]),
                        valign="middle"),
                mk.cell(mk.font(self._route(path), face=SANS, size=_FONT, color=text),
                     align="left"),
                mk.cell(width=_GAP),
                mk.cell(mk.font(self._product(path), face=SANS, size=_FONT, color=text),
                     align="left")])
        if self.only is None:
            total = _number(result.total)
            rows.append([mk.cell(), mk.cell(mk.font("total (the gradient)", face=SANS, size=_FONT,
                                              color=text), align="left"),
                         mk.cell(width=_GAP),
                         mk.cell(mk.font(f"= {total}", face=SANS, size=_FONT,
                                      color=b.colors["gradient"]), align="left")])
        return [mk.font(heading, face=SANS, size=_FONT + 1, color=text),
                mk.table(rows, cellspacing=2)]

    def _route(self, path: Any) -> str:
        names = self.result.titles(path)
        if len(names) > ROUTE_STEPS + 1:
            names = names[:2] + ["…"] + names[-2:] + [f"({len(path.edges)} steps)"]
        return " → ".join(names)

    def _product(self, path: Any) -> str:
        if any(f is None for f in path.factors):
            return f"= {_number(path.product)}"
        factors = [format_value(f) for f in path.factors]
        if len(factors) > ROUTE_STEPS:
            factors = factors[:3] + ["…"] + factors[-2:]
        shown = " × ".join(f"({f})" if f.startswith(MINUS) else f for f in factors) or "1"
        return f"{shown} = {format_value(path.product)}"
