"""What is written beside a variable, as label markup: numbers, fan-out sums, grids, summaries.

An annotation belongs to its variable's own DOT node: the node is a borderless HTML-like
table whose middle cell is the variable's shape (drawn as an ellipse by
:mod:`compgraph.drawing.finish`) with the annotations in the cells before and after it,
across the direction of the flow (above and below for LR, left and right for TB). Graphviz
then reserves their room like any other part of a node, so no other node, edge or label can
land on them, and edges end at the shape cell's port, never on the numbers.

Scalars are one line of text (``292 = 180 + 56 + 56`` when a gradient is the sum of what
several edges carry); vectors and matrices up to ``max_grid`` rows and columns are a grid
of numbers between brackets (vectors across the flow: a column in LR, a row in TB); larger
arrays are their shape and the range of their entries, with every value in the tooltip.

>>> import numpy as np
>>> column = block(np.array([1.0, 2.0]), "green", max_grid=4, column=True)
>>> column.markup.count("<tr>"), column.width, column.height   # two rows, in points
(2, 18, 24)
>>> print(block(3.5, "red", max_grid=4, column=True, terms=[1.5, 2.0]).markup)
<font color="red" point-size="11">3.5 = 1.5 + 2</font>
>>> print(block(np.ones((5, 5)), "red", max_grid=4, column=True).markup)  # doctest: +ELLIPSIS
<table ...>5×5</font>...>1 … 1</font>...
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy as np

from . import markup as mk
from .format import MINUS, format_number, format_shape, format_value, is_array

FONT = 11        # points: a scalar or a sum beside a node
GRID_FONT = 10   # points: the numbers of a grid and the lines of a summary
BRACKET = 3      # points: the width of a grid's bracket
ROW = 12         # points: the height of a grid's row (a line of GRID_FONT)
LINE = 1.3       # a line of text is this many times its font size high
GAP = 6          # points between two columns of a grid
SPACING = 2      # points between a shape and its annotations

# At most this many terms are written out in a fan-out sum ("60 = 28 + 32").
MAX_SUM_TERMS = 4


def text_width(text: str, size: float) -> float:
    """A generous estimate of a Helvetica line's width in points (wide digits, narrow spaces).

    >>> text_width("292", 10)
    18.0
    """
    narrow = sum(ch in " .,:;'|!il()[]" for ch in text)  # digits are all 0.556 em
    return round((0.6 * (len(text) - narrow) + 0.35 * narrow) * size, 1)


def sum_text(total: Any, terms: Sequence[Any]) -> str:
    """``60 = 28 + 32`` when a scalar total is the sum of several edge contributions.

    >>> sum_text(1.0, [3.0, -2.0]), sum_text(5.0, [1.0] * 5), sum_text(2.0, [2.0])
    ('1 = 3 − 2', '5 = Σ of 5', '2')
    """
    text = format_value(total)
    if len(terms) < 2 or any(is_array(t) for t in terms) or is_array(total):
        return text
    if len(terms) > MAX_SUM_TERMS:
        return f"{text} = Σ of {len(terms)}"
    parts = [format_value(terms[0])]
    for t in terms[1:]:
        s = format_value(t)
        parts.append(f"{MINUS} {s[1:]}" if s.startswith(MINUS) else f"+ {s}")
    return f"{text} = {' '.join(parts)}"


def fits_grid(value: Any, max_grid: int) -> bool:
    """Whether an array is drawn as a grid: a vector or matrix of at most ``max_grid`` a side."""
    return (is_array(value) and value.ndim <= 2 and value.size > 0
            and max(value.shape) <= max_grid)


# A NamedTuple, not a frozen dataclass: a quarter of the cost at import, which every
# render pays (bench/bench_render.py --latency).
class Block(NamedTuple):
    """Markup of an annotation and a generous estimate of its size in points."""

    markup: mk.Markup
    width: float
    height: float


def _line(text: str, color: str, size: float) -> Block:
    return Block(mk.font(text, color=color, size=size), text_width(text, size),
                 LINE * size)


def _stack(blocks: list[Block]) -> Block:
    return Block(mk.table([[mk.cell(b.markup)] for b in blocks]),
                 max(b.width for b in blocks), sum(b.height for b in blocks))


def grid(value: np.ndarray, color: str, column: bool) -> Block:
    """The entries of a vector or matrix as a bracketed grid; a vector is a column or a row."""
    rows = value.reshape(-1, 1) if value.ndim == 1 and column else np.atleast_2d(value)
    texts = [[format_number(v) for v in row] for row in rows]
    # Graphviz takes whole points only; a column is as wide as its widest number and a gap.
    widths = [math.ceil(max(text_width(t[c], GRID_FONT) for t in texts) + GAP)
              for c in range(rows.shape[1])]
    n = rows.shape[0]
    cells_of_rows = []
    for r, row in enumerate(texts):
        cells = [mk.cell(mk.font(t, color=color, size=GRID_FONT), align="right", width=w)
                 for t, w in zip(row, widths)]
        if r == 0:
            cells = ([mk.cell(rowspan=n, sides="LTB", border=1, color=color, width=BRACKET)]
                     + cells
                     + [mk.cell(rowspan=n, sides="RTB", border=1, color=color,
                                width=BRACKET)])
        cells_of_rows.append(cells)
    width, height = sum(widths) + 2 * BRACKET, n * ROW
    # A fixed size keeps the brackets hugging the numbers when the cell around is wider
    # (a long name's ellipse): Graphviz would otherwise spread the columns apart.
    return Block(mk.table(cells_of_rows, fixedsize="true", width=width, height=height),
                 width, height)


def summary(value: np.ndarray, color: str) -> Block:
    """A large array in two lines: its shape, and the range of its finite entries."""
    finite = value[np.isfinite(value)]
    if finite.size:
        span = f"{format_number(finite.min())} … {format_number(finite.max())}"
    else:
        span = "no finite entry"
    if finite.size < value.size:
        span += f" ({value.size - finite.size} not finite)"
    return _stack([_line(format_shape(value.shape), color, GRID_FONT),
                   _line(span, color, GRID_FONT)])


def block(value: Any, color: str, *, max_grid: int, column: bool,
          terms: Sequence[Any] = ()) -> Block:
    """One number beside a node: a scalar (a sum when ``terms`` has several), a grid of a
    small array, or the summary of a large one.

    An array that is the sum of several edges' contributions says so under its grid.
    """
    if not is_array(value):
        return _line(sum_text(value, list(terms)), color, FONT)
    body = grid(value, color, column) if fits_grid(value, max_grid) else summary(value, color)
    if len(terms) < 2:
        return body
    return _stack([body, _line(f"Σ of {len(terms)} edges", color, GRID_FONT)])


def tooltip_text(what: str, value: Any, limit: int) -> str:
    """``value 3×2 [[1, 2], ...]``: the full numbers for a tooltip, up to ``limit`` entries."""
    return f"{what} {format_value(value, limit)}"


def around(shape: mk.Markup, size: tuple[float, float],
           before: tuple[Block, dict[str, str]] | None,
           after: tuple[Block, dict[str, str]] | None, rankdir: str) -> mk.Markup:
    """A variable's node: its shape cell (``size`` in points) between its annotations.

    Annotations go across the flow: above and below the shape when it runs left-right, to
    its left and right when it runs up-down. They may stick out past the shape on the side
    the flow comes from, never on the side it goes to: there the shape's port (where edges
    leave, fanning out) lies on the node's border, so an edge leaves the node at once and
    cannot bend back across an annotation. On the other side only the variable's own
    result edge arrives, straight from its operator. A blank cell ``pad`` wide holds the
    room; the annotations line up with the shape's downstream side.

    ``before`` and ``after`` are an annotation's block and its cell's attributes.
    """
    across = rankdir in ("LR", "RL")
    parts = [p for p in (before, after) if p is not None]
    extent = max((b.width if across else b.height for b, _ in parts), default=0.0)
    pad = max(0, math.ceil(extent - (size[0] if across else size[1])))
    downstream = {"LR": "right", "RL": "left", "TB": "bottom", "BT": "top"}[rankdir]

    def note(part: tuple[Block, dict[str, str]], **attrs: object) -> mk.Markup:
        block, cell_attrs = part
        return mk.cell(block.markup, **cell_attrs, **attrs)

    if across:
        align = {"align": downstream} if pad else {}
        span = {"colspan": 2} if pad else {}
        blank = [mk.cell(width=pad)] if pad else []
        middle = blank + [shape] if downstream == "right" else [shape] + blank
        rows = ([[note(before, **span, **align)]] if before else []) + [middle] + (
            [[note(after, **span, **align)]] if after else [])
    else:
        valign = {"valign": downstream, "rowspan": 2} if pad else {}
        row = ([note(before, **valign)] if before else []) + [shape] + (
            [note(after, **valign)] if after else [])
        if not pad:
            rows = [row]
        elif downstream == "bottom":
            at = 1 if before else 0  # the blank goes where the shape is, the shape under it
            rows = [row[:at] + [mk.cell(height=pad)] + row[at + 1:], [shape]]
        else:
            rows = [row, [mk.cell(height=pad)]]
    return mk.table(rows, cellspacing=SPACING)
