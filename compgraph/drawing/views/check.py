"""The ``check`` view: every node coloured by whether reverse mode agrees with central
differences there (``compgraph.nodecheck``), with both numbers beside it.

Green: they agree; red: they do not (a wrong derivative rule would show here, at the first
node whose gradient is off); orange: a kink, where the function has no derivative and the
two one-sided differences disagree (relu at 0), so no single number is right. Nodes
without a gradient to check (constants, nodes the output does not see) keep their colours.
Built on the forward view, without numbers on the wires.
"""

from __future__ import annotations

from typing import Any

from .. import markup as mk
from ..format import NODE_VALUES, format_number, format_value, is_array
from ..style import SANS
from . import Attrs, Overlay, cell, table

SHOWN_ENTRIES = NODE_VALUES  # arrays up to this size have both numbers written out
FILL = {"ok": "#c7e9c0", "mismatch": "#fcbba1", "kink": "#fdd0a2"}
MARK = {"ok": "ok", "mismatch": "mismatch,", "kink": "kink"}
WORDS = {"ok": "autodiff and central differences agree",
         "mismatch": "they disagree", "kink": "kink: one-sided differences disagree"}


class Check(Overlay):
    base = "forward"

    def __init__(self, b: Any, report: Any) -> None:
        super().__init__(b)
        self.report = report

    def node(self, i: int) -> Attrs:
        c = self.report.get(i)
        if c is None:
            return {}
        return {"style": "filled", "fillcolor": FILL[c.verdict]}

    def annotation(self, i: int) -> list[tuple[str, str]] | None:
        c = self.report.get(i)
        if c is None:
            return []
        colors = self.b.colors
        if is_array(c.autodiff) and c.autodiff.size > SHOWN_ENTRIES:
            # Too many numbers to write twice: the verdict covers every entry.
            pieces = [(f"∂ ≈ on all {c.autodiff.size} entries", colors["text"])]
        else:
            pieces = [(f"∂ {format_value(c.autodiff, SHOWN_ENTRIES, shape=False)}",
                       colors["gradient"]),
                      (f"≈ {format_value(c.numeric, SHOWN_ENTRIES, shape=False)}",
                       colors["text"])]
        if c.verdict == "mismatch":
            # How far off, relative to the larger of the two (a kink has no right number).
            pieces.append((f"{MARK['mismatch']} error {format_number(c.relative_error)}",
                           colors["text"]))
        else:
            pieces.append((MARK[c.verdict], colors["text"]))
        return pieces

    def operand_edge(self, i: int, k: int) -> Attrs:
        return {"label": ""}

    def result_edge(self, i: int) -> Attrs:
        return {"label": ""}

    def key(self, rows: list) -> list:
        return [r for r in rows if r[0] != "value"]

    def caption(self) -> list[mk.Markup]:
        text = self.b.colors["text"]
        counts = {v: sum(c.verdict == v for c in self.report.values()) for v in FILL}
        cells = [cell(mk.font("gradient check at every node: ∂ reverse mode, ≈ central "
                              "differences", face=SANS, size=11, color=text))]
        for verdict in FILL:
            cells += [cell(width=8),
                      cell(bgcolor=FILL[verdict], width=14, height=12, border=1, color=text),
                      cell(mk.font(f" {WORDS[verdict]} ({counts[verdict]})", face=SANS, size=10,
                                   color=text))]
        return [table([cells], cellspacing=2)]
