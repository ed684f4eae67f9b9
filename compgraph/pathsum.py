"""The gradient as a sum over paths: every path from a node to the output, with the local
derivatives along it, their product, and the total, which is the gradient.

Paths are counted at edge granularity: ``x + x`` joins ``x`` to the sum by two edges, so a
path through it is two paths. They are grouped by the operation the chosen node enters
first (in program order: for x in the homework graph, the paths through ``x*y`` come
before those through ``x + x``), and within a group listed in the order backprop expands
the chain rule: from the output, each operand in turn (operand 0 first).
Each path's ``nodes`` run from the chosen node to the output, and ``factors[k]`` is the
local derivative ∂nodes[k+1]/∂nodes[k] on the edge between them.

For arrays a local derivative is a Jacobian, too large to print; each path then carries
what reverse mode would carry along it alone, a vector–Jacobian product: ``carried[k]``
is what reaches ``nodes[k]`` from the output along this path (``carried[0]`` is the
product, shaped like the chosen node), and ``factors[k]`` is ``None`` where either end of
the edge is an array. Summed over all paths the products are the gradient, in both cases.

The number of paths can grow exponentially with depth (a chain of ``h = h + h`` doubles
it each step), so it is counted first, by dynamic programming over the graph, and
listing refuses above ``max_paths`` with the count in the message.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> result = paths(g, evaluate(g, x=2, y=3, z=1), wrt="x")
>>> [p.product for p in result.paths], result.total
([84.0, 84.0, 12.0, 49.0, 49.0, 7.0, 7.0], 292.0)
>>> result.titles(result.paths[0]), result.paths[0].factors
(['x', 'x*y', 'a', 'a*b', 'w'], (3.0, 1.0, 28.0, 1.0))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .differentiate import unbroadcast
from .errors import EvaluationError, PathLimitError
from .evaluate import Values
from .graph import OP, Graph
from .ops import OPS
from .tracing import node_title

Value = Any

MAX_PATHS = 10_000


@dataclass(frozen=True)
class Path:
    """One path from the chosen node to the output."""

    nodes: tuple[int, ...]                 # node ids, the chosen node first, the output last
    edges: tuple[tuple[int, int], ...]     # (consumer, operand index) of each step
    factors: tuple[Value, ...]             # local derivative per edge; None on array edges
    carried: tuple[Value, ...]             # what reaches nodes[k] from the output along it
    product: Value                         # carried[0]: the path's share of the gradient


@dataclass(frozen=True)
class PathSum:
    """Every path from ``wrt`` to ``output``, and their total (the gradient)."""

    graph: Graph
    wrt: str
    wrt_node: int
    output: str
    paths: tuple[Path, ...]
    total: Value

    @property
    def scalar(self) -> bool:
        """Whether every local derivative is a number (no arrays on any path)."""
        return all(f is not None for p in self.paths for f in p.factors)

    def titles(self, path: Path) -> list[str]:
        """The path's nodes as text (names, or the program text of anonymous ones)."""
        return [node_title(self.graph, i) for i in path.nodes]


def count_paths(graph: Graph, source: int, target: int | None = None) -> int:
    """How many paths lead from node ``source`` to ``target`` (default: the output), one per
    edge sequence, by one sweep over the graph: a node's count is the sum of its operands'.

    >>> from compgraph.parser import parse
    >>> g = parse("h1 = x + x, h2 = h1 + h1, h3 = h2 + h2")
    >>> count_paths(g, 0)
    8
    """
    target = graph.output if target is None else target
    if target < source:
        return 0
    counts = [0] * (target + 1)
    counts[source] = 1
    nodes = graph.nodes
    for i in range(source + 1, target + 1):
        n = 0
        for j in nodes[i].operands:
            n += counts[j]
        counts[i] = n
    return counts[target]


def paths(graph: Graph, values: Values, wrt: str, output: str | None = None, *,
          max_paths: int = MAX_PATHS) -> PathSum:
    """Every path from the variable ``wrt`` to the output (or ``output``), with the local
    derivatives along each, their product, and the total: ∂output/∂wrt.

    Raises :class:`~compgraph.errors.PathLimitError` when there are more than ``max_paths``
    paths (the message has the count), and :class:`EvaluationError` when the output is
    not a scalar.
    """
    graph = graph.with_output(output)
    source = graph.node(wrt).id
    target = graph.output
    vals = values.nodes
    if len(vals) != len(graph.nodes):
        raise EvaluationError("these values were computed on another graph; evaluate this one")
    if isinstance(vals[target], np.ndarray):
        raise EvaluationError(
            f"paths multiply local derivatives back from a scalar output, and "
            f"{graph.output_name} has shape {vals[target].shape}; choose a scalar with "
            f"--output (output=...) or make it one with sum(...)")
    n = count_paths(graph, source, target)
    if n > max_paths:
        raise PathLimitError(
            f"{wrt} reaches {graph.output_name} along {n:,} paths, more than the limit of "
            f"{max_paths:,}; raise it with --max-paths (max_paths=...) or ask about a node "
            f"closer to the output", count=n, limit=max_paths)
    found = _enumerate(graph, vals, source, target)
    # A stable sort: by the first operation each path enters, backprop's order within.
    found.sort(key=lambda p: p.edges[0][0] if p.edges else -1)
    total = _zero_like(vals[source])
    for p in found:
        total = total + p.product
    return PathSum(graph, wrt, source, graph.output_name, tuple(found), total)


def _zero_like(v: Value) -> Value:
    return np.zeros(v.shape) if isinstance(v, np.ndarray) else 0.0


def _enumerate(graph: Graph, vals: tuple[Value, ...], source: int, target: int) -> list[Path]:
    """Depth first from the output, operand 0 first, without recursion. A stack entry is a
    node, what reaches it along the path so far, and that path as a linked list (shared
    by all the paths that continue it)."""
    nodes = graph.nodes
    reaches = [False] * len(nodes)  # whether a node depends on the source
    reaches[source] = True
    for i in range(source + 1, target + 1):
        reaches[i] = any(reaches[j] for j in nodes[i].operands)
    found: list[Path] = []
    if not reaches[target]:
        return found
    # A link is (node, carried, step) with step = (edge, factor, the link toward the
    # output), or None at the output itself.
    stack: list[tuple[int, Value, Any]] = [(target, 1.0, None)]
    with np.errstate(all="ignore"):
        while stack:
            i, g, link = stack.pop()
            here = (i, g, link)
            if i == source:
                found.append(_path(here))
                continue
            node = nodes[i]
            if node.kind != OP:
                continue
            rules = OPS[node.op].vjp  # type: ignore[index]
            kw = node.kwargs
            outv = vals[i]
            args = tuple(vals[j] for j in node.operands)
            step = []
            for k, j in enumerate(node.operands):
                if not reaches[j]:
                    continue
                scalar = type(outv) is float and type(vals[j]) is float
                if scalar:
                    factor = rules[k](1.0, outv, *args, **kw)
                    carried = g * factor
                else:
                    factor = None
                    carried = unbroadcast(rules[k](g, outv, *args, **kw), vals[j])
                step.append((j, carried, ((i, k), factor, here)))
            stack.extend(reversed(step))  # operand 0 is explored first
    return found


def _path(leaf: tuple) -> Path:
    """Unwind a linked list from the source to the output into a :class:`Path`."""
    ids, carried, edges, factors = [], [], [], []
    link: Any = leaf
    while link is not None:
        i, g, rest = link
        ids.append(i)
        carried.append(g)
        if rest is None:
            break
        edge, factor, link = rest
        edges.append(edge)
        factors.append(factor)
    return Path(tuple(ids), tuple(edges), tuple(factors), tuple(carried), carried[0])
