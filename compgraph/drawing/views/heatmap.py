"""The ``heatmap`` view: nodes and edges coloured by the size of their gradient, on a log scale.

Vanishing and exploding gradients are a matter of orders of magnitude, so the colour is
taken from log10 |gradient| between the decades just below the smallest and just above
the largest non-zero magnitude in the picture, through viridis (perceptually even, and
readable by colour-blind viewers): dark for small, bright for large. A variable's fill
shows its total gradient; an edge shows what it carries (its contribution). For an array
the magnitude is its largest |entry|. A gradient of exactly zero is grey, outside the
scale; a non-finite one is left to the NaN marker. A colour bar under the title gives the
scale. Built on the backward view, so the numbers are written as there.

>>> viridis(0.0), viridis(1.0), viridis(0.5)
('#440154', '#fde725', '#21918c')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import markup as mk
from ..format import MINUS, format_number
from ..style import SANS
from . import Attrs, Overlay, without

# Viridis at nine evenly spaced points (matplotlib's table); colours between are mixed.
_VIRIDIS = ("#440154", "#472c7a", "#3b518b", "#2c718e", "#21918c", "#27ad81", "#5cc863",
            "#aadc32", "#fde725")
ZERO = "#d0d0d0"
BAR_CELLS = 9          # colour cells in the bar, at least
BAR_WIDTH = 198        # points: the bar's width, about
BAR_CELL = 22          # points: the width of the zero swatch
MAX_TICKS = 6          # decade labels under the bar, at most
MAX_CELLS = 48         # colour cells in the bar, at most (a cell spans several decades then)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def viridis(t: float) -> str:
    """The colour at ``t`` in [0, 1] (clipped), as ``#rrggbb``."""
    t = min(1.0, max(0.0, t)) * (len(_VIRIDIS) - 1)
    k = min(int(t), len(_VIRIDIS) - 2)
    f = t - k
    a, b = _rgb(_VIRIDIS[k]), _rgb(_VIRIDIS[k + 1])
    mixed = (round(x + (y - x) * f) for x, y in zip(a, b))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _dark(hex_colour: str) -> bool:
    r, g, b = _rgb(hex_colour)
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


def magnitude(v: Any) -> float | None:
    """|v|, the largest |entry| of an array; ``None`` when not finite (the NaN marker's)."""
    if v is None:
        return None
    m = float(np.max(np.abs(v))) if isinstance(v, np.ndarray) else abs(float(v))
    return m if math.isfinite(m) else None


class Scale:
    """log10 magnitudes mapped to [0, 1] between whole decades."""

    def __init__(self, magnitudes: list[float]) -> None:
        positive = [m for m in magnitudes if m > 0]
        if positive:
            self.lo = math.floor(math.log10(min(positive)))
            self.hi = math.ceil(math.log10(max(positive)))
        else:
            self.lo, self.hi = 0, 1
        if self.hi <= self.lo:
            self.hi = self.lo + 1
        self.zero = any(m == 0 for m in magnitudes)

    def colour(self, m: float) -> str:
        if m == 0:
            return ZERO
        return viridis((math.log10(m) - self.lo) / (self.hi - self.lo))


class Heatmap(Overlay):
    base = "backward"

    def __init__(self, b: Any) -> None:
        super().__init__(b)
        groups = b.w.groups
        found = [magnitude(b.adjoint(grp.var)) for grp in groups if grp.kind != "const"]
        for grp in groups:
            if grp.op is not None:
                found += [magnitude(b.contribution(grp.op, k))
                          for k in range(len(grp.operands))]
        self.scale = Scale([m for m in found if m is not None])

    def _fill(self, v: Any) -> Attrs:
        m = magnitude(v)
        if m is None:
            return {}
        colour = self.scale.colour(m)
        return {"style": "filled", "fillcolor": colour,
                "fontcolor": "white" if _dark(colour) else "black"}

    def node(self, i: int) -> Attrs:
        return self._fill(self.b.adjoint(i))

    def _edge(self, v: Any) -> Attrs:
        m = magnitude(v)
        if m is None:
            return {}
        if m == 0:
            return {"color": ZERO, "style": "dotted"}
        return {"color": self.scale.colour(m), "style": "solid", "penwidth": "3"}

    def operand_edge(self, i: int, k: int) -> Attrs:
        return self._edge(self.b.contribution(i, k))

    def result_edge(self, i: int) -> Attrs:
        return self._edge(self.b.adjoint(self.b.w.result(i)))

    def key(self, entries: list) -> list:
        return without(entries, "gradient flow")  # the edges are solid here

    def caption(self) -> list[mk.Markup]:
        return [colour_bar(self.scale, self.b.g.output_name, self.b.colors["text"])]


def decade(k: int) -> str:
    """10^k as :func:`format_number` writes it, also where no float holds it: the bar's ends
    are the decades around the magnitudes, so reach 10^309 above 1e308 and 10^−324 below
    the smallest subnormal (where ``10.0 ** k`` overflows or is 0).

    >>> decade(3), decade(-7), decade(309), decade(-324)
    ('1000', '1e−7', '1e309', '1e−324')
    """
    if -300 <= k <= 300:
        return format_number(10.0 ** k)
    return f"1e{k}".replace("-", MINUS)


def _round_up(x: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at least ``x``.

    >>> _round_up(12.5), _round_up(6), _round_up(1)
    (20, 10, 1)
    """
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= x:
                return m * step
        step *= 10


def colour_bar(scale: Scale, output: str, text: str) -> mk.Markup:
    """``|∂w/∂·|`` and the colour cells from 10^lo to 10^hi, a decade's bound under the
    start of its cells (every few decades when there are many) and the top one at the end.
    Over many decades a cell spans several (at most MAX_CELLS cells): the bar keeps about
    BAR_WIDTH points whether the gradients span 3 decades or 600."""
    size = 10
    decades = scale.hi - scale.lo
    per = 1 if decades <= MAX_CELLS else _round_up(decades / MAX_CELLS)  # decades a cell
    sub = max(1, BAR_CELLS // decades)              # cells a decade (a few decades: several)
    starts = list(range(0, decades, per))           # each label cell's first decade
    n = len(starts) * sub
    width = max(4, BAR_WIDTH // n)
    colours, labels = [], []
    every = math.ceil(len(starts) / (MAX_TICKS - 1))   # cells between labels
    every = max(1, every if per == 1 else _round_up(every))  # 1e−300, 1e−100, ...
    for c, d in enumerate(starts):
        span = min(per, decades - d)  # the last cell may span fewer decades
        for k in range(sub):
            middle = (d + span * (k + 0.5) / sub) / decades
            colours.append(mk.cell(bgcolor=viridis(middle),
                                   width=max(2, round(width * span / per)), height=12))
        tick = decade(scale.lo + d) if c % every == 0 else ""
        labels.append(mk.cell(mk.font(tick, face=SANS, size=size, color=text) if tick else "",
                              colspan=sub, align="left"))
    top = mk.font(decade(scale.hi), face=SANS, size=size, color=text)
    bar = mk.table([colours + [mk.cell(top, rowspan=2, valign="top", align="left")], labels])
    parts = [mk.cell(mk.font(f"|∂{output}/∂·|, log scale", face=SANS, size=10, color=text)),
             mk.cell(bar)]
    if scale.zero:
        parts += [mk.cell(width=8), mk.cell(bgcolor=ZERO, width=BAR_CELL, height=12),
                  mk.cell(mk.font(" 0", face=SANS, size=size, color=text))]
    return mk.table([parts], cellspacing=4)
