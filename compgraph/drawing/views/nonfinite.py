"""Where a NaN was born, marked on any view: the first non-finite node and the path that
carried it to the output (``compgraph.nonfinite``), in one warning colour, with a line
under the title saying which node, where in the program, and whether its value or its
gradient is not finite."""

from __future__ import annotations

from typing import Any

from ...tracing import node_title  # the same names as eval --json's report
from .. import markup as mk
from ..style import SANS
from . import Attrs, Overlay

WARNING = "#e6007e"  # magenta: not a colour any view uses for anything else


class NonFiniteMarker(Overlay):
    def __init__(self, b: Any, report: Any) -> None:
        super().__init__(b)
        self.report = report
        self.edges = set(report.edges)
        self.results = set(report.path[1:])  # ops whose result edge the path goes through

    def node(self, i: int) -> Attrs:
        node = self.b.w.node(i)
        if node == self.report.first:
            return {"color": WARNING, "penwidth": "4"}
        if node in self.report.path:
            return {"color": WARNING}
        return {}

    def _marked(self, i: int) -> bool:
        """Whether op ``i``'s block is on the path: a collapsed call is when its result
        is, or the NaN was born inside it."""
        w = self.b.w
        if not w.is_block(i):
            return i in self.results
        return w.node(w.result(i)) in self.results or w.hides(i, self.report.first)

    def op(self, i: int) -> Attrs:
        if self.b.w.is_block(i) and self.b.w.hides(i, self.report.first):
            return {"color": WARNING, "penwidth": "4"}
        return {"color": WARNING} if self._marked(i) else {}

    def operand_edge(self, i: int, k: int) -> Attrs:
        marked = any(e in self.edges for e in self.b.w.edges(i, k))
        return {"color": WARNING, "penwidth": "3"} if marked else {}

    def result_edge(self, i: int) -> Attrs:
        return {"color": WARNING, "penwidth": "3"} if self._marked(i) else {}

    def caption(self) -> list[mk.Markup]:
        r = self.report
        what = "NaN" if r.nan else "an infinity"
        where = f" (line {r.line}, column {r.column})" if r.line is not None else ""
        carried = (f", carried to {node_title(r.graph, r.path[-1])} along the marked path"
                   if len(r.path) > 1 else ", and the output does not depend on it")
        text = (f"{what} first appears in the {r.kind} of {node_title(r.graph, r.first)}"
                f"{where}{carried}")
        return [mk.font(text, face=SANS, size=11, color=WARNING)]
