"""compgraph: build, evaluate, differentiate and draw computational graphs.

>>> import compgraph as cg
>>> g = cg.parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> values = cg.evaluate(g, x=2, y=3, z=1)
>>> grads = cg.backward(g, values)
>>> values.output, grads["x"], grads["y"], grads["z"]
(224.0, 292.0, 120.0, 60.0)
>>> [p.product for p in cg.paths(g, values, wrt="x").paths]
[84.0, 84.0, 12.0, 49.0, 49.0, 7.0, 7.0]
"""

from __future__ import annotations

from typing import Any

from .differentiate import (Gradients, Tangents, backward, check_gradients, gradients, jacobian,
                            local_derivatives, numeric_gradients, tangents)
from .errors import (CompgraphError, EvaluationError, GraphvizMissingError, InputError,
                     NotComputedError, ParseError, RenderError, ShapeWarning)
from .evaluate import Values, evaluate
from .graph import Graph, GraphBuilder, Node
from .ops import OPS, Op
from .parser import parse
from .version import __version__


__all__ = [
    "BackpropError", "BackwardProgram", "CompgraphError", "EvaluationError", "Gradients",
    "Graph", "GraphBuilder", "GraphvizMissingError", "InputError", "Node", "NotComputedError",
    "OPS", "Op",
    "ParseError", "Program", "RenderError", "ShapeWarning", "Tangents", "Training",
    "TrainingError", "Values", "Var", "backprop", "backward", "check_gradients", "check_nodes",
    "count_paths", "evaluate", "find_nonfinite", "gradients", "jacobian", "local_derivatives",
    "numeric_gradients", "parse", "paths", "render", "sgd", "stepper", "tangents", "to_dot",
    "to_networkx", "trace", "walkthrough",
]

# Imported on first use: rendering and export (they pull in graphviz and networkx), and
# what neither evaluation nor differentiation needs, so that evaluating from the command
# line starts about as fast as importing numpy.
_LAZY = {"to_dot": "compgraph.drawing", "render": "compgraph.drawing",
         "stepper": "compgraph.drawing.stepper", "to_networkx": "compgraph.export",
         "BackpropError": "compgraph.backprop", "BackwardProgram": "compgraph.backprop",
         "backprop": "compgraph.backprop", "Program": "compgraph.builder",
         "Var": "compgraph.builder", "check_nodes": "compgraph.nodecheck",
         "find_nonfinite": "compgraph.nonfinite", "count_paths": "compgraph.pathsum",
         "paths": "compgraph.pathsum", "walkthrough": "compgraph.steps",
         "trace": "compgraph.tracing", "Training": "compgraph.train",
         "TrainingError": "compgraph.train", "sgd": "compgraph.train"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = globals()[name] = getattr(importlib.import_module(_LAZY[name]), name)
        return value
    raise AttributeError(f"module 'compgraph' has no attribute {name!r}")
