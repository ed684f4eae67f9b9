"""Backprop one node at a time: the forward and backward steps of one evaluation, as data.

A walkthrough lists what a learner computes by hand, in order. Forward: each node's value,
its operation applied to its operands' values, inputs first. Backward, from the output
(seeded with 1) back to the inputs: each node's gradient, the sum of what reaches it along
its outgoing edges, each term the consumer's gradient times the local derivative, in the
order the reverse sweep delivers them (newest consumer first). Renderers (numbered frames,
the HTML stepper, worksheets) show a prefix of it; nothing here draws or formats.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> walk = walkthrough(g, evaluate(g, x=2, y=3, z=1))
>>> len(walk.forward), len(walk.backward), len(walk)
(9, 9, 18)
>>> step = next(s for s in walk.backward if g.labels[s.node] == "a")
>>> [(t.upstream, t.local) for t in step.terms], step.value
([(1.0, 28.0), (8.0, 4.0)], 60.0)
>>> walk.steps[-1].value  # the last step: dw/dx
292.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .differentiate import Gradients, backward, local_derivatives
from .errors import InputError
from .evaluate import Values, evaluate, point
from .graph import CONST, Graph

if TYPE_CHECKING:
    import random

Value = Any

FORWARD, BACKWARD = "forward", "backward"


@dataclass(frozen=True)
class Term:
    """What one edge carries back to a node: ``upstream · local = carried``.

    ``consumer`` is the operation whose operand ``operand`` the node is; ``local`` is the
    local derivative when both ends are scalars (``None`` for arrays, where the product is
    not a plain multiplication); ``carried`` is in the node's shape.
    """

    consumer: int
    operand: int
    upstream: Value
    local: Value | None
    carried: Value


@dataclass(frozen=True)
class Step:
    """One step: ``phase`` is ``forward`` (``value`` is the node's value, computed from
    ``operands``, their values in order) or ``backward`` (``value`` is the node's gradient,
    the sum of ``terms``; the output's has no terms: it is the seed). ``number`` counts
    from 1 over both passes."""

    number: int
    phase: str
    node: int
    value: Value
    operands: tuple[Value, ...] = ()
    terms: tuple[Term, ...] = ()

    @property
    def seed(self) -> bool:
        return self.phase == BACKWARD and not self.terms


@dataclass(frozen=True)
class Walkthrough:
    """The steps of one evaluation, and when each number becomes known.

    ``value_step[i]`` is the step that computes node ``i``'s value (0 for a constant, known
    from the start); ``gradient_step[i]`` the step that assembles its gradient (``None``
    where there is none to show: constants, and nodes the output does not depend on). The
    contribution an edge into operation ``i`` carries back is known from
    ``gradient_step[i]`` on.
    """

    graph: Graph
    values: Values
    grads: Gradients
    steps: tuple[Step, ...]
    value_step: tuple[int, ...]
    gradient_step: tuple[int | None, ...]

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def forward(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.phase == FORWARD)

    @property
    def backward(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.phase == BACKWARD)


def walkthrough(graph: Graph, values: Values, grads: Gradients | None = None) -> Walkthrough:
    """Every step of a forward and backward pass at ``values`` (gradients computed when
    not given). The output must be a scalar: an :class:`InputError` says how to pick one.
    """
    out = values.nodes[graph.output]
    if isinstance(out, np.ndarray):
        raise InputError(f"stepping through backprop needs a scalar output and "
                         f"{graph.output_name} has shape {out.shape}; choose one with "
                         f"--output NAME (output= in Python) or wrap it in sum(...)")
    if grads is None:
        grads = backward(graph, values)
    nodes = graph.nodes
    vals = values.nodes
    steps: list[Step] = []
    value_step = [0] * len(nodes)
    for node in nodes:
        if node.kind == CONST:
            continue
        value_step[node.id] = len(steps) + 1
        steps.append(Step(len(steps) + 1, FORWARD, node.id, vals[node.id],
                          tuple(vals[j] for j in node.operands)))

    live, needs = graph.ancestors_of_output, graph.depends_on_input
    local = local_derivatives(graph, values)
    edges = grads.edges
    # Outgoing edges of each node, newest consumer first: the order the sweep delivers them.
    uses: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for node in reversed(nodes):
        if live[node.id]:
            for k, j in enumerate(node.operands):
                uses[j].append((node.id, k))
    gradient_step: list[int | None] = [None] * len(nodes)
    for i in range(len(nodes) - 1, -1, -1):
        if not (live[i] and needs[i]):
            continue
        terms = tuple(Term(c, k, grads.of(c), local.get((c, k)),
                           _zero_if_none(edges.get((c, k)), vals[i]))
                      for c, k in uses[i])
        gradient_step[i] = len(steps) + 1
        steps.append(Step(len(steps) + 1, BACKWARD, i, grads.of(i), terms=terms))
    return Walkthrough(graph, values, grads, tuple(steps), tuple(value_step),
                       tuple(gradient_step))


def _zero_if_none(c: Value, like: Value) -> Value:
    if c is not None:
        return c
    return np.zeros(like.shape) if isinstance(like, np.ndarray) else 0.0


# --- one training step ---------------------------------------------------------------------------

def training_step(graph: Graph, values: Values, rate: float,
                  names: Sequence[str] | None = None) -> dict[str, Value]:
    """The inputs after one step of gradient descent from ``values``: each input in
    ``names`` (default: every input) moves by ``-rate`` times the output's gradient with
    respect to it; the others stay. The output must be a scalar.

    >>> from compgraph.parser import parse
    >>> g = parse("L = (w*x - y)**2")
    >>> training_step(g, evaluate(g, w=1, x=2, y=3), 0.1, ["w"])
    {'w': 1.4, 'x': 2.0, 'y': 3.0}
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not np.isfinite(rate):
        raise InputError(f"the learning rate must be a finite number, not {rate!r}")
    unknown = [n for n in names or () if n not in graph.input_names]
    if unknown:
        raise InputError(f"cannot train {unknown[0]!r}: it is not an input; the inputs are: "
                         f"{', '.join(graph.input_names) or 'none'}")
    grads = backward(graph, values)
    moving = set(graph.input_names if names is None else names)
    point = dict(values.inputs)
    for name in moving:
        point[name] = point[name] - rate * grads[name]
    return point


# --- small integer inputs for a class set ---------------------------------------------------

# Candidates for an input, small and nonzero (a zero input makes products vanish and
# divisions fail), and how far a friendly number may go.
_CHOICES = (-3, -2, -1, 1, 2, 3, 4, 5)
_FRIENDLY_UP_TO = 999.0
_TRIES = 400


def friendly_inputs(graph: Graph, seed: int, given: Mapping[str, Any] | None = None) -> dict[str, Value]:
    """Small integer inputs picked by ``seed`` (the same seed, the same inputs, on every
    machine), for the inputs not in ``given``, so that every value and gradient is finite,
    and, where the program allows it, an integer of at most three digits.

    An input whose default (or given value) is an array gets an array of the same shape.
    Tries candidates in a fixed order and keeps the friendliest: all integers first, then
    all finite and small, then all finite. :class:`InputError` when none is finite.

    >>> from compgraph.parser import parse
    >>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
    >>> friendly_inputs(g, 1) == friendly_inputs(g, 1) != friendly_inputs(g, 2)
    True
    >>> sorted(friendly_inputs(g, 7, {"z": 1}).items())[2]
    ('z', 1)
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"the seed must be a whole number, not {seed!r}")
    import random  # here: the diff view and the stepper, which import this module, need none

    given = dict(given or {})
    template = _template(graph, given)
    rng = random.Random(seed)
    fallback: tuple[int, dict[str, Value]] | None = None
    for _ in range(_TRIES):
        candidate = {name: _draw(rng, shape) for name, shape in template.items()}
        rank = _friendliness(graph, {**given, **candidate})
        if rank == 0:
            return {**given, **candidate}
        if rank is not None and (fallback is None or rank < fallback[0]):
            fallback = (rank, {**given, **candidate})
    if fallback is None:
        raise InputError(f"no small integer inputs for {', '.join(template) or 'this program'} "
                         f"give finite values and gradients (tried {_TRIES} with seed {seed}); "
                         "give the inputs with --at instead")
    return fallback[1]


def _template(graph: Graph, given: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shape of each input to pick: from the given value or the default, else a scalar."""
    unknown = [k for k in given if k not in graph.input_names]
    if unknown:
        raise InputError(f"unknown input {unknown[0]!r}; the program's inputs are: "
                         f"{', '.join(graph.input_names) or 'none'}")
    shapes: dict[str, tuple[int, ...]] = {}
    for i, name in zip(graph.inputs, graph.input_names):
        if name not in given:
            shapes[name] = tuple(np.shape(graph.nodes[i].value)) if graph.nodes[i].value is not None else ()
    return shapes


def _draw(rng: random.Random, shape: tuple[int, ...]) -> Value:
    if not shape:
        return float(rng.choice(_CHOICES))
    count = int(np.prod(shape))
    return np.array([float(rng.choice(_CHOICES)) for _ in range(count)]).reshape(shape)


def _friendliness(graph: Graph, inputs: Mapping[str, Any]) -> int | None:
    """0: every number an integer up to three digits; 1: small; 2: finite; None: not finite."""
    try:
        values = evaluate(graph, point(graph, inputs))
        if values.nonfinite is not None:
            return None
        grads = backward(graph, values)
    except (InputError, ArithmeticError, ValueError):
        return None
    numbers = [v for v in values.nodes] + [grads.of(i) for i in range(len(graph.nodes))]
    flat = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in numbers])
    if not np.isfinite(flat).all():
        return None
    if np.abs(flat).max(initial=0.0) > _FRIENDLY_UP_TO:
        return 2
    return 0 if all(float(v).is_integer() for v in flat) else 1


__all__ = ["BACKWARD", "FORWARD", "Step", "Term", "Walkthrough", "friendly_inputs", "training_step",
           "walkthrough"]
