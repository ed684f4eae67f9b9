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

import sys
import types
from typing import TYPE_CHECKING, Any

from .errors import (CompgraphError, EvaluationError, GraphvizMissingError, InputError,
                     NotComputedError, ParseError, RenderError, ShapeWarning)
from .version import __version__

if TYPE_CHECKING:
    from .backprop import BackpropError, BackwardProgram, backprop
    from .builder import Program, Var
    from .differentiate import (Gradients, Tangents, backward, check_gradients, gradients,
                                jacobian, local_derivatives, numeric_gradients, tangents)
    from .drawing import render, to_dot
    from .drawing.stepper import stepper
    from .evaluate import Values, evaluate
    from .export import to_networkx
    from .graph import Graph, GraphBuilder, Node
    from .nodecheck import check_nodes
    from .nonfinite import find_nonfinite
    from .ops import OPS, Op
    from .parser import parse
    from .pathsum import count_paths, paths
    from .steps import walkthrough
    from .tracing import trace
    from .train import Training, TrainingError, sgd


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

# Every other name is imported from its module on first use: a command imports what it
# runs and no more (`render` never loads training or the walkthrough, and evaluating never
# loads graphviz or networkx), so that start-up stays close to importing numpy.
_LAZY = {
    **dict.fromkeys(("BackpropError", "BackwardProgram", "backprop"), "compgraph.backprop"),
    **dict.fromkeys(("Program", "Var"), "compgraph.builder"),
    **dict.fromkeys(("Gradients", "Tangents", "backward", "check_gradients", "gradients",
                     "jacobian", "local_derivatives", "numeric_gradients", "tangents"),
                    "compgraph.differentiate"),
    **dict.fromkeys(("Values", "evaluate"), "compgraph.evaluate"),
    **dict.fromkeys(("Graph", "GraphBuilder", "Node"), "compgraph.graph"),
    "check_nodes": "compgraph.nodecheck",
    "find_nonfinite": "compgraph.nonfinite",
    **dict.fromkeys(("OPS", "Op"), "compgraph.ops"),
    "parse": "compgraph.parser",
    **dict.fromkeys(("count_paths", "paths"), "compgraph.pathsum"),
    "walkthrough": "compgraph.steps",
    "trace": "compgraph.tracing",
    **dict.fromkeys(("Training", "TrainingError", "sgd"), "compgraph.train"),
    **dict.fromkeys(("to_dot", "render"), "compgraph.drawing"),
    "stepper": "compgraph.drawing.stepper",
    "to_networkx": "compgraph.export",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # found directly from now on
        return value
    raise AttributeError(f"module 'compgraph' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package, whose functions named as their modules (``evaluate``, ``backprop``)
    stay functions: importing such a module (``from compgraph.evaluate import ...``, as
    commands do) binds it as an attribute of its package, and would hide the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not (name in _LAZY and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
