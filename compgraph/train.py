"""Training: full-batch gradient descent on a program's (scalar) output.

Each step is the homework's five: evaluate the graph forward, read the loss (its output),
start from zero gradients (every reverse sweep does: adjoints are computed afresh, never
accumulated across steps), run reverse mode, and step every parameter against its
gradient, ``p = p - lr * dp``. Reverse mode is asked for the parameters only
(``backward(..., wrt=params)``): the gradients of the data are never computed.

>>> from compgraph.parser import parse
>>> result = sgd(parse("L = (w*x - y)**2"), params=["w"], lr=0.1, steps=3, w=0.0, x=1.0, y=2.0)
>>> [round(v, 6) for v in result.losses], round(result.params["w"], 6)
([4.0, 2.56, 1.6384], 0.976)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from .differentiate import backward
from .errors import EvaluationError, InputError
from .evaluate import as_value, evaluate, point
from .graph import Graph

Value = Any


class Training(NamedTuple):
    """What :func:`sgd` returns: the loss before each step, and the parameters after the
    last one (``losses, params = sgd(...)`` unpacks them)."""

    losses: list[float]
    params: dict[str, Value]


class TrainingError(EvaluationError):
    """Training stopped (a loss that is not finite); ``losses`` and ``params`` are the
    losses so far and the parameters the failing step started from."""

    losses: list[float]
    params: dict[str, Value]


def sgd(graph: Graph, inputs: Mapping[str, Any] | None = None, /, *, params: Sequence[str],
        lr: float, steps: int, progress: Callable[[int, float], None] | None = None,
        **kw: Any) -> Training:
    """Run ``steps`` steps of full-batch gradient descent on the output of ``graph``.

    ``params`` are inputs of the program, trained from their given or default values; the
    other inputs stay fixed. Inputs come as a mapping and/or keywords (an input called
    ``params``, ``lr``, ``steps`` or ``progress`` goes in the mapping). ``progress(step,
    loss)`` is called after each step's forward pass. Raises
    :class:`InputError` for a parameter that is not an input or a bad ``lr``/``steps``,
    :class:`EvaluationError` for a non-scalar output, and :class:`TrainingError` when a
    loss is not finite.
    """
    names = list(params)
    if not names:
        raise InputError("name the parameters to train, e.g. params=['W1', 'b1']")
    for name in names:
        if name not in graph.input_names:
            raise InputError(f"cannot train {name!r}: it is not an input of the program; the "
                             f"inputs are: {', '.join(graph.input_names) or 'none'}")
    if len(set(names)) != len(names):
        raise InputError(f"a parameter is named twice: {', '.join(names)}")
    lr = float(lr)
    if not np.isfinite(lr):
        raise InputError(f"the learning rate must be a finite number, not {lr}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise InputError(f"steps must be a whole number >= 0, not {steps!r}")
    current = point(graph, inputs, **kw)
    for name in names:  # our own copies: a step never writes into the caller's arrays
        value = current[name]
        current[name] = np.array(value, dtype=float) if isinstance(value, np.ndarray) else value
    losses: list[float] = []
    wrt = tuple(names)
    for step in range(int(steps)):
        values = evaluate(graph, current)  # 1. forward
        loss = values.output               # 2. the loss
        if isinstance(loss, np.ndarray):
            raise EvaluationError(f"training needs a scalar loss; {graph.output_name} has shape "
                                  f"{loss.shape}: make it one with sum(...) or mean(...)")
        if not np.isfinite(loss):
            error = TrainingError(f"the loss is not finite ({loss}) at step {step}; a smaller "
                                  f"learning rate than {lr:g} may help")
            error.losses, error.params = losses, {n: current[n] for n in names}
            raise error
        losses.append(float(loss))
        if progress is not None:
            progress(step, float(loss))
        grads = backward(graph, values, wrt=wrt)  # 3-4. zero gradients, backward
        for name in names:                 # 5. the step
            current[name] = as_value(current[name] - lr * grads[name], name)
    return Training(losses, {name: current[name] for name in names})
