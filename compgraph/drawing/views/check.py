"""The ``check`` view: every node coloured by whether reverse mode agrees with central
differences there (``compgraph.nodecheck``), with both numbers beside it.

Green: they agree; red: they do not (a wrong derivative rule would show here, at the first
node whose gradient is off); orange: a kink, where the function has no derivative and the
two one-sided differences disagree (relu at 0), so no single number is right; lavender:
undefined, where central differences are NaN and so is the gradient or the output (no
slope or no value there: nothing was compared). Nodes without a gradient to check
(constants, nodes the output does not see) keep their colours. Built on the forward
view, without numbers on the wires.
"""

from __future__ import annotations

from typing import Any

from .. import annotate
from .. import markup as mk
from ..format import format_number, is_array
from ..style import SANS
from . import Attrs, Overlay, entry, stacked, text_note, without

FILL = {"ok": "#c7e9c0", "mismatch": "#fcbba1", "kink": "#fdd0a2", "undefined": "#dadaeb"}
MARK = {"ok": "ok", "mismatch": "mismatch,", "kink": "kink", "undefined": "undefined"}
WORDS = {"ok": "autodiff and central differences agree",
         "mismatch": "they disagree", "kink": "kink: one-sided differences disagree",
         "undefined": "undefined: NaN, nothing to compare"}


class Check(Overlay):
    base = "forward"

    def __init__(self, b: Any, report: Any) -> None:
        super().__init__(b)
        self.report = report

    def _check(self, i: int) -> Any:
        """Node ``i``'s check, when its circle shows that node's whole gradient (a collapsed
        call's output that carries back part of it has no number of its own to check)."""
        w = self.b.w
        return self.report.get(w.node(i)) if w.carries_all(i) else None

    def node(self, i: int) -> Attrs:
        c = self._check(i)
        if c is None:
            return {}
        return {"fillcolor": FILL[c.verdict]}

    def annotations(self, i: int) -> tuple[Any, Any] | None:
        c = self._check(i)
        if c is None:
            return None, None
        b = self.b
        text = b.colors["text"]
        mark = MARK[c.verdict]
        if c.verdict == "mismatch":
            # How far off, relative to the larger of the two (a kink has no right number).
            mark += f" error {format_number(c.relative_error)}"
        if not is_array(c.autodiff):
            autodiff = text_note(b, i, "gradient", [(f"∂ {format_number(c.autodiff)}",
                                                     b.colors["gradient"])])
        else:  # the grid dot.py writes for a gradient
            autodiff = b.annotation(i, "gradient", c.autodiff, ())
        if not is_array(c.numeric):
            return autodiff, text_note(b, i, "numeric", [(f"≈ {format_number(c.numeric)}  {mark}",
                                                         text)])
        numeric = annotate.block(c.numeric, text, max_grid=b.max_grid, column=b.across)
        line = text_note(b, i, "numeric", [(f"≈  {mark}", text)])[0]
        return autodiff, (stacked([line, numeric]), {
            **b.marker(i, "numeric"),
            "tooltip": annotate.tooltip_text("central differences", c.numeric, 64)})

    def operand_edge(self, i: int, k: int) -> Attrs:
        return {"label": ""}

    def result_edge(self, i: int) -> Attrs:
        return {"label": ""}

    def key(self, entries: list) -> list:
        colors = self.b.colors
        return without(entries, "value on the wire", "value") + [
            entry("∂ 60", colors["gradient"], "reverse mode"),
            entry("≈ 60", colors["text"], "central differences")]

    def caption(self) -> list[mk.Markup]:
        text = self.b.colors["text"]
        counts = {v: sum(c.verdict == v for c in self.report.values()) for v in FILL}
        title = [mk.cell(mk.font("gradient check at every node: ∂ reverse mode, ≈ central "
                                 "differences", face=SANS, size=11, color=text))]
        entries: list[mk.Markup] = []
        for verdict in FILL:
            if verdict == "undefined" and not counts[verdict]:
                continue  # a NaN is rare: its key only where one is drawn
            entries += [mk.cell(width=8),
                        mk.cell(bgcolor=FILL[verdict], width=14, height=12, border=1, color=text),
                        mk.cell(mk.font(f" {WORDS[verdict]} ({counts[verdict]})", face=SANS,
                                        size=10, color=text))]
        if counts["undefined"]:
            # Four entries and the title make a line wider than most graphs: two lines then.
            return [mk.table([title], cellspacing=2), mk.table([entries[1:]], cellspacing=2)]
        return [mk.table([title + entries], cellspacing=2)]
