"""Long chains in rows: where to cut a left-to-right picture so that it wraps like lines of text.

A long chain drawn left to right is a ribbon: fitted to a 16:9 slide its text gets tiny.
Cut into rows at some edges, each row goes under the one before (each row a cluster of the
same DOT graph, so all share ``dot``'s columns), and each cut edge is drawn as two stubs
(``wrap<k>_out`` after its tail, ``wrap<k>_in`` before its head) that the SVG pass joins by
a connector running back under the row it leaves (finish.py), as a line of text wraps.

A cut (the rank from which ops go to the next row) is allowed only where exactly one edge
crosses it and that edge carries a computed value (not an input used on both sides, which
would need a second connector), so each row reads on from where the one above ends.

>>> chain = [[], [0], [1], [2], [3]]   # x, then four ops each on the one before
>>> kinds = ["input", "op", "op", "op", "op"]
>>> allowed_cuts(chain, kinds, [0, 1, 2, 3, 4])
[2, 3, 4]
>>> rows_for_cuts(chain, kinds, [0, 1, 2, 3, 4], [3])
[0, 0, 0, 1, 1]
>>> rows_for_cuts(chain, kinds, [0, 1, 2, 3, 4], [2, 4])
[0, 0, 1, 1, 2]
>>> allowed_cuts([[], [0], [1], [0, 2]], ["input", "op", "op", "op"], [0, 1, 2, 3])
[]
"""

from __future__ import annotations

import bisect
from typing import Sequence

from .layout import estimate_size

GAP = 16.0     # points between two rows (the connector runs there)
MAX_ROWS = 6   # more rows than this and a picture is a page, not a slide


def _consumers(operands: Sequence[Sequence[int]]) -> list[list[int]]:
    consumers: list[list[int]] = [[] for _ in operands]
    for i, ops in enumerate(operands):
        for j in ops:
            consumers[j].append(i)
    return consumers


def allowed_cuts(operands: Sequence[Sequence[int]], kinds: Sequence[str],
                 rank: Sequence[int]) -> list[int]:
    """The ranks ``t`` at which ops can start a new row: exactly one edge from a computed
    value crosses from below ``t`` to ``t`` or beyond, and no input has consumers on both
    sides. ``rank`` is each graph node's rank (an op's block's); one sweep over the ranks."""
    top = max(rank, default=0) + 2
    edges = [0] * top   # edges from ops crossing each rank boundary (difference array)
    blocked = [0] * top  # inputs or constants used on both sides of it
    for i, ops in enumerate(operands):
        for j in ops:
            if kinds[j] == "op" and rank[j] < rank[i]:
                edges[rank[j] + 1] += 1
                edges[rank[i] + 1] -= 1
    for j, users in enumerate(_consumers(operands)):
        if kinds[j] != "op" and users:
            lo, hi = min(rank[u] for u in users), max(rank[u] for u in users)
            if lo < hi:
                blocked[lo + 1] += 1
                blocked[hi + 1] -= 1
    op_ranks = sorted({rank[i] for i in range(len(kinds)) if kinds[i] == "op"})
    crossing = through = 0
    allowed = []
    for t in range(top):
        crossing += edges[t]
        through += blocked[t]
        if crossing == 1 and through == 0 and op_ranks and op_ranks[0] < t <= op_ranks[-1]:
            allowed.append(t)
    return [t for t in allowed if t in set(op_ranks)]


def rows_for_cuts(operands: Sequence[Sequence[int]], kinds: Sequence[str],
                  rank: Sequence[int], cuts: Sequence[int]) -> list[int] | None:
    """The row of each graph node when ops ranked from ``cuts[k]`` on go to row ``k + 1``
    (an input or constant goes with its first consumer), or ``None`` when a row would be
    empty or a cut crossed by anything but one computed value."""
    n = len(kinds)
    row = [0] * n
    for i in range(n):
        if kinds[i] == "op":
            row[i] = bisect.bisect_right(cuts, rank[i])
    for i, users in enumerate(_consumers(operands)):
        if kinds[i] != "op" and users:
            row[i] = min(row[u] for u in users)
    crossings = [0] * len(cuts)
    for i in range(n):
        for j in operands[i]:
            if row[j] != row[i]:
                if row[i] != row[j] + 1 or kinds[j] != "op":
                    return None
                crossings[row[j]] += 1
    if any(c != 1 for c in crossings):
        return None
    if {row[i] for i in range(n) if kinds[i] == "op"} != set(range(len(cuts) + 1)):
        return None
    return row


def even_cuts(allowed: Sequence[int], op_ranks: Sequence[int], count: int) -> list[int] | None:
    """``count - 1`` allowed cuts as near as may be to splitting the ops' ranks evenly.

    >>> even_cuts([2, 3, 5, 8], list(range(1, 10)), 3)
    [3, 8]
    >>> even_cuts([], [], 2) is None  # no operators (y = x with a very long name): no rows
    True
    """
    if not op_ranks:
        return None
    cuts: list[int] = []
    for b in range(1, count):
        target = op_ranks[min(len(op_ranks) - 1, round(len(op_ranks) * b / count))]
        later = [t for t in allowed if not cuts or t > cuts[-1]]
        if not later:
            return None
        cuts.append(min(later, key=lambda t: (abs(t - target), t)))
    return cuts


def wrapped_size(preds: Sequence[Sequence[int]], sizes: Sequence[tuple[float, float]],
                 labels: dict[tuple[int, int], tuple[float, float]], row_of: Sequence[int],
                 rankdir: str, nodesep: float, ranksep: float) -> tuple[float, float]:
    """A rough size of the picture drawn in rows (``row_of`` each item's row), one under
    another: the widest row, and the rows' heights added up."""
    width = height = 0.0
    for r in sorted(set(row_of)):
        keep = [k for k in range(len(preds)) if row_of[k] == r]
        index = {k: n for n, k in enumerate(keep)}
        sub_preds = [[index[p] for p in preds[k] if p in index] for k in keep]
        sub_labels = {(index[a], index[b]): v for (a, b), v in labels.items()
                      if a in index and b in index}
        w, h = estimate_size(sub_preds, [sizes[k] for k in keep], sub_labels, rankdir,
                             nodesep, ranksep)
        width, height = max(width, w), height + h + (GAP if height else 0.0)
    return width, height
