"""Fitting a picture to a 16:9 slide: its size estimated before any layout, and the direction.

``rankdir="auto"`` (the default) estimates, from the sizes of the nodes and labels that
:mod:`compgraph.drawing.dot` is about to write, how large ``dot`` will draw the picture
left to right, top-down, and left to right in rows (rows.py), and keeps the one that is
largest on a 1280×720 slide; one left-to-right row, the course's way, wins when they are
close. Only graphs small enough to fit a slide at all are weighed (``AUTO_NODES``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..graph import CONST
from . import annotate, rows
from .format import format_value
from .layout import BEST, estimate_size, ranks

if TYPE_CHECKING:
    from .dot import _Builder

SLIDE = (1280, 720)   # the slide a default picture is made to fit, in pixels
LEGEND_HEIGHT = 24.0  # points: one row of the legend under the picture

# "auto" weighs left-right against top-down only for graphs of at most this many nodes
# (larger ones are never slide-sized; they go left to right, as in the course).
AUTO_NODES = 300
# Top-down is chosen only when it makes the picture this much larger on a slide, and rows
# only when one left-to-right row would be smaller than FIT_SCALE (10-point text under
# 10 pixels) and the rows make it this much larger.
TB_ADVANTAGE = 1.1
FIT_SCALE = 1.0
WRAP_ADVANTAGE = 1.15


def _points(inches: str) -> float:
    return float(inches) * 72


def _label_size(label: str | None) -> tuple[float, float] | None:
    """An estimate of an edge label's size in points (lines of 11-point text)."""
    if not label:
        return None
    if label.startswith("<") and label.endswith(">"):  # HTML-like: its text, line by line
        label = re.sub(r"<(?!br/>)[^>]*>", "", label[1:-1])
    lines = label.split("<br/>")
    return max(annotate.text_width(t, 11) for t in lines), 14.0 * len(lines)


def sizes(b: "_Builder") -> tuple[list[list[int]], list[tuple[float, float]],
                                     dict[tuple[int, int], tuple[float, float]], list[int]]:
    """What a size estimate needs: each DOT node's predecessors and size, the sizes of
    edge labels by (tail, head), and the group (collapse.py) each DOT node belongs to
    (kept per rankdir: trying cuts into rows asks again and again)."""
    if b.rankdir in b._sizes:
        return b._sizes[b.rankdir]
    ids, preds, _ = b.items()
    boxes: list[tuple[float, float]] = []
    labels: dict[tuple[int, int], tuple[float, float]] = {}
    owner: list[int] = []
    where = {name: k for k, name in enumerate(ids)}
    for g, grp in enumerate(b.w.groups):
        v = grp.var
        if grp.kind == CONST:
            text = format_value(b.g.nodes[v].value)
            boxes.append((annotate.text_width(text, 11) + 4, 15.0))
            owner.append(g)
            continue
        if grp.op is not None:
            i = grp.op
            boxes.append(b.op_size(i))
            owner.append(g)
            for k, j in enumerate(grp.operands):
                size = _label_size(b.operand_edge(i, k).get("label"))
                if size:
                    labels[(where[b.var_id(j)], where[b.op_id(i)])] = size
            size = _label_size(b.result_edge(i).get("label"))
            if size:
                labels[(where[b.op_id(i)], where[b.var_id(v)])] = size
        boxes.append(b.variable_size(v))
        owner.append(g)
    b._sizes[b.rankdir] = (preds, boxes, labels, owner)
    return preds, boxes, labels, owner


def estimate(b: "_Builder") -> tuple[float, float]:
    """A rough size in points of the picture ``dot`` will draw in this rankdir (and
    these rows, when wrapped)."""
    preds, boxes, labels, owner = sizes(b)
    nodesep, ranksep = (_points(BEST.graph[k]) for k in ("nodesep", "ranksep"))
    if b.rows is None:
        return estimate_size(preds, boxes, labels, b.rankdir, nodesep, ranksep)
    return rows.wrapped_size(preds, boxes, labels, [b.rows[g] for g in owner],
                             b.rankdir, nodesep, ranksep)


def best_rows(b: "_Builder", legend: bool) -> tuple[float, list[int] | None]:
    """The wrap into rows (two to ``rows.MAX_ROWS``, each about as long) that shows the
    picture largest on a slide: its scale and each group's row (``None`` when no cut is
    allowed)."""
    preds, _, _, owner = sizes(b)
    item_rank = ranks(preds)
    groups = b.w.groups
    rank = [0] * len(groups)
    for k, g in enumerate(owner):  # an op's rank is its block's (its first item)
        if groups[g].kind == "op" and rank[g] == 0:
            rank[g] = item_rank[k]
    kinds = [grp.kind for grp in groups]
    group_of = {grp.var: g for g, grp in enumerate(groups)}
    operands = [tuple(group_of[j] for j in grp.operands) for grp in groups]
    allowed = rows.allowed_cuts(operands, kinds, rank)
    # A function call's box stays in one row: no cut between its first and last op.
    spans: dict[int, list[int]] = {}
    for i, top in enumerate(b.w.top_calls()):
        if top >= 0 and kinds[i] == "op":
            spans.setdefault(top, []).append(rank[i])
    allowed = [t for t in allowed if not any(min(r) < t <= max(r) for r in spans.values())]
    op_ranks = sorted(set(rank[i] for i in range(len(kinds)) if kinds[i] == "op"))
    best: tuple[float, list[int] | None] = (0.0, None)
    for count in range(2, rows.MAX_ROWS + 1):
        cuts = rows.even_cuts(allowed, op_ranks, count)
        row = None if cuts is None else rows.rows_for_cuts(operands, kinds, rank, cuts)
        if row is None:
            continue
        b.rows = row
        scale = slide_scale(estimate(b), legend)
        if scale > best[0]:
            best = (scale, row)
    b.rows = None
    return best


def slide_scale(size: tuple[float, float], legend: bool) -> float:
    """The scale that fits a picture of ``size`` points (and its legend) to the slide."""
    width, height = size
    return min(SLIDE[0] / width, SLIDE[1] / (height + (LEGEND_HEIGHT if legend else 0.0)))


def direction(builder: "_Builder", legend: bool) -> tuple[str, list[int] | None]:
    """LR, TB or LR in rows: whichever shows the graph larger on a 16:9 slide, with a
    preference for a single left-to-right row (the course's way) when they are close."""
    if len(builder.w.groups) > AUTO_NODES:
        return "LR", None
    scale = {}
    for rankdir in ("LR", "TB"):
        builder.rankdir = rankdir
        scale[rankdir] = slide_scale(estimate(builder), legend)
    builder.rankdir = "LR"
    try_rows = scale["LR"] < FIT_SCALE
    wrapped, row = best_rows(builder, legend) if try_rows else (0.0, None)
    if row is not None and wrapped > WRAP_ADVANTAGE * max(scale.values()):
        return "LR", row
    return ("TB" if scale["TB"] > TB_ADVANTAGE * scale["LR"] else "LR"), None