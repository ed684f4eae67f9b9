"""Export a graph to networkx, with values and gradients when given.

>>> from compgraph.parser import parse
>>> g = to_networkx(parse("s = x + x"))
>>> sorted(g.edges(keys=True))
[(0, 1, 0), (0, 1, 1)]
>>> g.nodes[1]["op"], g.nodes[1]["name"]
('add', 's')
"""

from __future__ import annotations

from typing import Any

from .graph import Graph


def to_networkx(graph: Graph, values: Any = None, grads: Any = None) -> Any:
    """A ``networkx.MultiDiGraph``: one node per graph node, one edge per operand.

    Edges run operand → user and are keyed by operand index, so ``x + x`` has two edges
    (keys 0 and 1). Node attributes: ``kind``, ``op``, ``name`` (display label or None),
    ``params`` for an op with static parameters (``{"axis": 0}``), ``call`` (the calls of
    user functions it sits in, outermost first) and ``local_name`` (its name in the
    function's body) when the program calls functions, plus ``value`` and
    ``gradient`` when ``values`` / ``grads`` are given; edge
    attributes ``operand`` (the index) and, with ``grads``, ``gradient`` (what it carries back).
    """
    import networkx as nx

    from .differentiate import Gradients
    from .evaluate import Values, require

    if values is not None:
        require(graph, values, Values, "to_networkx", "compgraph.evaluate(graph, ...)")
    if grads is not None:
        require(graph, grads, Gradients, "to_networkx", "compgraph.backward(graph, values)")

    g = nx.MultiDiGraph(output=graph.output, output_name=graph.output_name)
    for node in graph.nodes:
        attrs: dict[str, Any] = {"kind": node.kind, "op": node.op,
                                 "name": graph.labels[node.id]}
        if node.params:
            attrs["params"] = node.kwargs
        if graph.calls:
            attrs["call"] = graph.call_path(node.id)  # ("layer#1", "linear#1"), or ()
            attrs["local_name"] = graph.local_name(node.id)
        if node.kind == "const":
            attrs["value"] = node.value
        if values is not None:
            attrs["value"] = values.nodes[node.id]
        if grads is not None:
            attrs["gradient"] = grads.of(node.id)
        g.add_node(node.id, **attrs)
    for node in graph.nodes:
        for k, j in enumerate(node.operands):
            attrs = {"operand": k}
            if grads is not None and (node.id, k) in grads.edges:
                attrs["gradient"] = grads.edges[(node.id, k)]
            g.add_edge(j, node.id, key=k, **attrs)
    return g
