"""The gradient check at every node: each node's adjoint against central differences.

A node's adjoint is the derivative of the output with respect to that node's value, with
everything downstream recomputed and everything upstream held fixed. That is the
gradient of another graph: this one cut at the node, the node made its only input and
the program's inputs made constants. So each node is checked by
``compgraph.differentiate.gradient_check`` on its cut graph, with the same step (scaled
with |x|), tolerance and verdicts (``ok``, ``mismatch``, ``kink``, ``undefined``) as ``eval --check``.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> report = check_nodes(g, evaluate(g, x=2, y=3, z=1))
>>> c = report[g.latest["a"]]
>>> c.autodiff, round(c.numeric, 6), c.verdict
(60.0, 60.0, 'ok')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .differentiate import Gradients, backward, gradient_check
from .errors import EvaluationError, InputError
from .evaluate import Values, evaluate
from .graph import CONST, INPUT, Graph, GraphBuilder

Value = Any

# Every entry of every node is perturbed, a few evaluations each: refuse above this many.
MAX_ENTRIES = 5_000
CUT = "cut"  # the name of the one input of a cut graph


@dataclass(frozen=True)
class NodeCheck:
    """One node's check: reverse mode's ``autodiff`` against central differences."""

    node: int
    autodiff: Value
    numeric: Value
    relative_error: float
    verdict: str  # "ok" | "mismatch" | "kink" | "undefined"


def checked_nodes(graph: Graph) -> list[int]:
    """The nodes with a gradient to check: not constants, moved by an input, and seen by
    the output."""
    live, moved = graph.ancestors_of_output, graph.depends_on_input
    return [n.id for n in graph.nodes if n.kind != CONST and live[n.id] and moved[n.id]]


def cut_graph(graph: Graph, values: Values, i: int) -> Graph:
    """``graph`` seen from node ``i``: ``i`` is the only input (called ``cut``), the other
    inputs are constants at their values, and the output is the same."""
    b = GraphBuilder()
    new: list[int] = []
    vals = values.nodes
    for node in graph.nodes[:graph.output + 1]:
        j = node.id
        if j == i:
            new.append(b.input(CUT))
        elif node.kind in (INPUT, CONST):
            new.append(b.const(vals[j]))
        else:
            new.append(b.apply(node.op, [new[k] for k in node.operands],  # type: ignore[arg-type]
                               params=node.kwargs))
    # The output's name as the program gave it, which for a bare expression (``sin(a)``)
    # is its text, not a name a statement could bind.
    return b.build(new[graph.output], graph.output_name)


def check_nodes(graph: Graph, values: Values, grads: Gradients | None = None, *,
                max_entries: int = MAX_ENTRIES) -> dict[int, NodeCheck]:
    """Every checked node's adjoint (from ``grads``, computed when not given) against
    central differences of the output with respect to that node's value.

    Needs a scalar output; refuses (:class:`InputError`) when the nodes hold more than
    ``max_entries`` numbers in all, since each is perturbed separately.
    """
    if isinstance(values.output, np.ndarray):
        raise EvaluationError(f"the gradient check needs a scalar output; "
                              f"{graph.output_name} has shape {values.output.shape}")
    ids = checked_nodes(graph)
    entries = sum(int(np.size(values.nodes[i])) for i in ids)
    if entries > max_entries:
        raise InputError(f"checking every node perturbs each of its {entries:,} numbers, "
                         f"more than the limit of {max_entries:,}; check the inputs only "
                         "(eval --check) or a smaller program")
    grads = backward(graph, values) if grads is None else grads
    report: dict[int, NodeCheck] = {}
    for i in ids:
        if i == graph.output:
            numeric, error, verdict = 1.0, 0.0, "ok"  # d(output)/d(output), nothing to probe
        else:
            cut = cut_graph(graph, values, i)
            found = gradient_check(cut, evaluate(cut, {CUT: values.nodes[i]}))[CUT]
            numeric, error, verdict = found["numeric"], found["relative_error"], found["verdict"]
        report[i] = NodeCheck(i, grads.of(i), numeric, error, verdict)
    return report
