"""The evaluation trace: one row per node in topological order, and how a node is named in it.

A row holds what a handout's trace table shows (the classic Wengert list): the node's name,
its operator, its operands, its value, its tangent along a chosen input (forward mode) and
its gradient (reverse mode). Rows hold numbers, not text; the ``table`` command formats them
(md, csv, tex, json). Constants are not rows of their own: they appear, by value, among the
operands of the node that uses them.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> from compgraph.differentiate import backward
>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> values = evaluate(g, x=2, y=3, z=1)
>>> rows = trace(g, values, grads=backward(g, values))
>>> [(r.name, r.op, r.operands, r.value, r.gradient) for r in rows[2:4]]
[('x*y', '*', ('x', 'y'), 6.0, 60.0), ('z', 'input', (), 1.0, 60.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .evaluate import Values
from .graph import CONST, Graph
from .ops import OPS

Value = Any


def node_title(graph: Graph, i: int) -> str:
    """How node ``i`` is named in text: its name (``a``, ``c′`` for a second version), else
    its program text with spaces collapsed (``x*y``, the anonymous intermediate of
    ``a = x*y + z``), a constant's value, or, for a graph built without program text, the
    operator applied to its operands' titles (``mul(x, y)``). A node a function's body
    made is named by its call and its name or text there (``linear#2: W @ x``).

    >>> from compgraph.parser import parse
    >>> g = parse("a = x*y + z")
    >>> [node_title(g, i) for i in range(len(g.nodes))]
    ['x', 'y', 'x*y', 'z', 'a']
    """
    label = graph.labels[i]
    if label:
        return label
    node = graph.nodes[i]
    calls = graph.call_path(i)
    if calls:  # inside a function's body: the same text is there once per call
        inner = graph.local_name(i) or _text(graph, i) or node.op or node.kind
        return f"{calls[-1]}: {inner}"
    text = _text(graph, i)
    if text:
        return text
    if node.kind == CONST:
        return _constant_text(node.value)
    operands = ", ".join(graph.labels[j] or "…" for j in node.operands)
    return f"{node.op}({operands})"


def _text(graph: Graph, i: int) -> str:
    """Node ``i``'s program text with spaces collapsed, or ``""``."""
    span = graph.nodes[i].span
    if span is None or graph.source is None:
        return ""
    return " ".join(graph.source[span[0]:span[1]].split())


def op_title(graph: Graph, i: int) -> str:
    """The operator of node ``i`` as the language writes it (``*``, ``relu``), or ``input``."""
    node = graph.nodes[i]
    if node.kind != "op":
        return node.kind
    record = OPS[node.op]  # type: ignore[index]
    return record.symbol or record.name


@dataclass(frozen=True)
class Row:
    """One line of the trace: numbers as compgraph holds them (``None`` where not computed)."""

    node: int
    name: str
    op: str
    operands: tuple[str, ...]
    value: Value
    tangent: Value = None
    gradient: Value = None


def trace(graph: Graph, values: Values, *, tangents: Any = None, grads: Any = None) -> list[Row]:
    """The rows of the evaluation trace, in topological order (constants inside operands).

    ``tangents`` (``compgraph.tangents``) and ``grads`` (``compgraph.backward``) are
    optional; a node the chosen input does not move has tangent 0, and a node the output
    does not depend on has gradient 0.
    """
    rows: list[Row] = []
    for node in graph.nodes:
        i = node.id
        if node.kind == CONST:
            continue
        operands = tuple(node_title(graph, j) for j in node.operands)
        rows.append(Row(
            node=i, name=node_title(graph, i), op=op_title(graph, i), operands=operands,
            value=values.nodes[i],
            tangent=None if tangents is None else tangents.of(i),
            gradient=None if grads is None else grads.of(i)))
    return rows


def _constant_text(v: Value) -> str:
    if isinstance(v, np.ndarray):
        return "×".join(map(str, v.shape)) + " constant"
    return f"{v:.6g}"
