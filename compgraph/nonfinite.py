"""Where a NaN was born: the first non-finite node, and the path that carried it to the output.

A value is checked before a gradient: a non-finite value usually makes gradients
non-finite too, and the value is where it began. For values the node is the first in
topological order whose value is not finite (``Values.nonfinite``). For gradients it is
the node where the reverse sweep first made a gradient non-finite (``Gradients.nonfinite``):
the newest node whose gradient is not finite (the sweep runs newest first), because every
node after it still has a finite gradient and the NaN or inf came in on an edge into it.

The path runs from that node to the output. For a value it goes through as many
non-finite values as it can (the way the NaN travelled; a path that loses it, through
``relu`` of ``-inf`` say, is taken only when there is no other); for a gradient it leaves
the node by an edge that carried a non-finite contribution. Ties go to the earlier
consumer, so the report is deterministic.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> g = parse("a = log(x), w = a*y")
>>> report = find_nonfinite(g, evaluate(g, x=-1, y=2))
>>> report.as_dict()
{'first': 'a', 'kind': 'value', 'line': 1, 'column': 5, 'path': ['a', 'w']}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import excerpt
from .evaluate import Values, is_finite, kind_of_nonfinite
from .graph import Graph
from .tracing import node_title

Value = Any


@dataclass(frozen=True)
class NonFinite:
    """The first non-finite node (``first``), whether its ``value`` or its ``gradient`` is,
    and the path (node ids and the ``(consumer, operand index)`` edges between them) from
    it to the output; ``path`` is just ``(first,)`` when the output does not depend on it."""

    graph: Graph
    first: int
    kind: str
    nan: bool                            # NaN (else an infinity)
    path: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def line(self) -> int | None:
        return self._place()[0]

    @property
    def column(self) -> int | None:
        return self._place()[1]

    def _place(self) -> tuple[int | None, int | None]:
        span = self.graph.nodes[self.first].span
        if span is None or self.graph.source is None:
            return None, None
        line, column, _ = excerpt(self.graph.source, *span)
        return line, column

    def as_dict(self) -> dict[str, Any]:
        """The report as ``eval --json`` writes it: names (or program text) for nodes."""
        return {"first": node_title(self.graph, self.first), "kind": self.kind,
                "line": self.line, "column": self.column,
                "path": [node_title(self.graph, i) for i in self.path]}


def _nan(v: Value) -> bool:
    return kind_of_nonfinite(v) == "NaN"


def find_nonfinite(graph: Graph, values: Values, grads: Any = None) -> NonFinite | None:
    """The first non-finite value, else the first non-finite gradient (with ``grads``,
    from ``compgraph.backward``), and the path that carried it; ``None`` when all are finite.
    """
    first = values.nonfinite
    if first is not None:
        bad = [not is_finite(v) for v in values.nodes]
        path, edges = _path(graph, first, bad, {})
        return NonFinite(graph, first, "value", _nan(values.nodes[first]), path, edges)
    if grads is None:
        return None
    first = grads.nonfinite
    if first is None:
        return None
    bad = [g is not None and not is_finite(g) for g in grads.nodes]
    # Out of the first node: the edges that brought the non-finite contribution in.
    preferred = {e: 0 for e, c in grads.edges.items()
                 if graph.nodes[e[0]].operands[e[1]] == first and not is_finite(c)}
    path, edges = _path(graph, first, bad, preferred)
    return NonFinite(graph, first, "gradient", _nan(grads.nodes[first]), path, edges)


def _path(graph: Graph, first: int, bad: list[bool], preferred: dict[tuple[int, int], int]
          ) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """From ``first`` to the output through the fewest nodes not marked ``bad``, leaving
    ``first`` by a ``preferred`` edge when there is one; one backward sweep, no recursion."""
    out = graph.output
    live = graph.ancestors_of_output
    if first > out or not live[first]:
        return (first,), ()
    nodes = graph.nodes
    # cost[i]: good nodes on the best path from i to the output; step[i]: its first edge.
    cost: list[float] = [np.inf] * (out + 1)
    step: list[tuple[int, int] | None] = [None] * (out + 1)
    cost[out] = 0 if bad[out] else 1
    uses: dict[int, list[tuple[int, int]]] = {}
    for c in range(first + 1, out + 1):
        if live[c]:
            for k, j in enumerate(nodes[c].operands):
                uses.setdefault(j, []).append((c, k))
    for i in range(out - 1, first - 1, -1):
        if not live[i]:
            continue
        best, choice = np.inf, None
        for c, k in uses.get(i, ()):
            rank = cost[c] + (0 if i != first or not preferred or (c, k) in preferred else out)
            if rank < best:
                best, choice = rank, (c, k)
        cost[i] = best + (0 if bad[i] else 1)
        step[i] = choice
    ids, edges = [first], []
    i = first
    while i != out:
        edge = step[i]
        assert edge is not None  # every live node reaches the output
        edges.append(edge)
        i = edge[0]
        ids.append(i)
    return tuple(ids), tuple(edges)
