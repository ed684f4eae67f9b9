"""Forward evaluation: a value for every node of a graph at a point.

>>> from compgraph.parser import parse
>>> values = evaluate(parse("a = x*y + z, b = a*(x + x), w = a*b + b"), x=2, y=3, z=1)
>>> values.output, values["a"], values["b"]
(224.0, 7.0, 28.0)
"""

from __future__ import annotations

import math
import operator
from functools import partial
from collections.abc import Mapping
from typing import Any, Iterator, NamedTuple

import numpy as np

from .errors import EvaluationError, InputError
from .graph import INPUT, OP, Graph, Node
from .ops import OPS, OperandError

Value = Any


def as_value(raw: Any, name: str = "value") -> Value:
    """A number or (nested) list as compgraph holds it: a float, or a float64 array.

    A float64 array is not copied: compgraph holds a read-only view of it (a batch of a
    million points should not be copied on every evaluation), so it never writes into
    the caller's array; other arrays and lists are converted.

    >>> as_value(2), as_value([[1, 2], [3, 4]]).shape
    (2.0, (2, 2))
    """
    if isinstance(raw, bool) or isinstance(raw, str) or raw is None:
        raise InputError(f"{name}: expected a number or a nested list of numbers, got {raw!r}")
    if isinstance(raw, (int, float)):
        return float(raw)
    if type(raw) is np.ndarray and raw.dtype == np.float64 and raw.size > 0 and raw.ndim:
        view = raw.view()
        view.flags.writeable = False
        return view
    try:
        arr = np.array(raw, dtype=float)
    except (ValueError, TypeError):
        raise InputError(f"{name}: expected a number or a rectangular nested list of numbers "
                         f"(a ragged or non-numeric array was given)") from None
    if arr.ndim == 0:
        return float(arr)
    if arr.size == 0:
        raise InputError(f"{name}: an empty array has nothing to evaluate")
    return arr


def is_finite(v: Value) -> bool:
    if isinstance(v, np.ndarray):
        return bool(np.isfinite(v).all())
    return math.isfinite(v)


def point(graph: Graph, inputs: Mapping[str, Any] | None = None, /, **kw: Any) -> dict[str, Value]:
    """The value of every input: given ones first, then the program's defaults.

    Raises :class:`InputError` naming an unknown or missing input and the valid names.
    """
    given = dict(inputs or {})
    given.update(kw)
    names = graph.input_names
    unknown = [k for k in given if k not in names]
    if unknown:
        raise InputError(f"unknown input {unknown[0]!r}; the program's inputs are: "
                         f"{', '.join(names) or 'none'}")
    out: dict[str, Value] = {}
    for i, name in zip(graph.inputs, names):
        if name in given:
            out[name] = as_value(given[name], name)
        elif graph.nodes[i].value is not None:
            out[name] = graph.nodes[i].value
        else:
            missing = [n for n, j in zip(names, graph.inputs)
                       if n not in given and graph.nodes[j].value is None]
            raise InputError(f"no value for input{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)}; give "
                             f"{'them' if len(missing) > 1 else 'it'} (e.g. {missing[0]}=1.0)")
    return out


class Values(Mapping):
    """The value of every node. Indexing by name gives the newest version of that name.

    ``nodes[i]`` is node ``i``'s value; ``nonfinite`` is the first node, in topological
    order, whose value is not finite (``None`` when all are).
    """

    def __init__(self, graph: Graph, nodes: tuple[Value, ...], *, all_floats: bool = False) -> None:
        self.graph = graph
        self.nodes = nodes
        # Set by evaluate() when every value is a Python float; reverse mode then runs
        # its float loop without looking at types.
        self.all_floats = all_floats

    @property
    def nonfinite(self) -> int | None:
        # Computed on first use: a large batched evaluation should not pay a pass over
        # every array for a check nobody asked for.
        try:
            return self._nonfinite
        except AttributeError:
            pass
        nodes = self.nodes
        found: int | None = None
        # A float sum is finite only if every term is (inf, -inf and nan all propagate).
        if not (self.all_floats and math.isfinite(sum(nodes))):
            found = next((i for i, v in enumerate(nodes) if not is_finite(v)), None)
        self._nonfinite = found
        return found

    def __getitem__(self, name: str) -> Value:
        return self.nodes[self.graph.node(name).id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.graph.latest)

    def __len__(self) -> int:
        return len(self.graph.latest)

    def __repr__(self) -> str:
        return f"Values({dict(self)!r})"

    @property
    def output(self) -> Value:
        return self.nodes[self.graph.output]

    @property
    def inputs(self) -> dict[str, Value]:
        return {self.graph.nodes[i].name: self.nodes[i] for i in self.graph.inputs}

    def nonfinite_message(self) -> str | None:
        """A sentence naming the first non-finite node and where it is, or ``None``."""
        i = self.nonfinite
        if i is None:
            return None
        return describe_node(self.graph, i, f"the value is not finite ({_kind_of_nonfinite(self.nodes[i])})")


def _kind_of_nonfinite(v: Value) -> str:
    a = np.asarray(v)
    return "NaN" if np.isnan(a).any() else "infinite"


def describe_node(graph: Graph, i: int, what: str) -> str:
    node = graph.nodes[i]
    name = graph.labels[i]
    if node.span is not None and graph.source is not None:
        from .errors import excerpt
        line, col, caret = excerpt(graph.source, *node.span)
        text = " ".join(graph.source[node.span[0]:node.span[1]].split())
        subject = f"{name} = {text}" if name and name != text else text
        return f"line {line}, column {col}: {what} at {subject}\n{caret}"
    label = name or (node.op or node.kind)
    return f"{what} at {label}"


def _shape(v: Value) -> str:
    return str(tuple(v.shape)) if isinstance(v, np.ndarray) else "scalar"


# Forwards that are exact and total on Python floats (never raise, always give a float):
# the float loop calls them directly instead of the registry's scalar-or-array forward.
# tests/test_engine_fastpaths.py holds them equal to the registry on every kind of float.
FLOAT_FORWARDS: dict[str, Any] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "neg": operator.neg,
    "relu": lambda x: x if x > 0 else 0.0,
    "tanh": math.tanh,
    "abs": abs,
}


class ForwardPlan(NamedTuple):
    """A graph compiled once for evaluation: constants in place, then the operations as
    parallel lists (node, forward, a, b), with ``b`` an operand id, -1 for a one-operand
    op, or -2 when ``a`` is the tuple of all operand ids. Parallel lists rather than a
    record per operation: a quarter of a million small tuples would wake the cyclic
    collector, which would then walk the whole graph several times."""

    template: list[Value]                 # constants at their ids, None elsewhere
    inputs: tuple[tuple[int, str], ...]   # (node id, name)
    ids: list[int]
    forwards: list[Any]                   # registry forwards, for any values
    float_forwards: list[Any]             # FLOAT_FORWARDS where there is one
    a: list[Any]
    b: list[int]
    consts_are_floats: bool


def forward_plan(graph: Graph) -> ForwardPlan:
    """The graph's :class:`ForwardPlan`, built on first use and kept on the graph."""
    plan = graph.memo.get("forward")
    if plan is None:
        plan = graph.memo["forward"] = _compile_forward(graph)
    return plan


def _compile_forward(graph: Graph) -> ForwardPlan:
    template: list[Value] = [None] * len(graph.nodes)
    inputs: list[tuple[int, str]] = []
    ids: list[int] = []
    forwards: list[Any] = []
    float_forwards: list[Any] = []
    first: list[Any] = []
    second: list[int] = []
    consts_are_floats = True
    fast = FLOAT_FORWARDS
    for node in graph.nodes:
        kind = node.kind
        if kind == OP:
            ops = node.operands
            if len(ops) == 2:
                first.append(ops[0])
                second.append(ops[1])
            elif len(ops) == 1:
                first.append(ops[0])
                second.append(-1)
            else:
                first.append(ops)
                second.append(-2)
            ids.append(node.id)
            forward = OPS[node.op].forward  # type: ignore[index]
            if node.params:
                forward = partial(forward, **node.kwargs)
            forwards.append(forward)
            float_forwards.append(fast.get(node.op, forward))  # type: ignore[arg-type]
        elif kind == INPUT:
            inputs.append((node.id, node.name))  # type: ignore[arg-type]
        else:
            template[node.id] = node.value
            consts_are_floats = consts_are_floats and type(node.value) is float
    return ForwardPlan(template, tuple(inputs), ids, forwards, float_forwards, first, second,
                       consts_are_floats)


def evaluate(graph: Graph, inputs: Mapping[str, Any] | None = None, /, **kw: Any) -> Values:
    """Evaluate every node; inputs by mapping and/or keywords, the rest from the defaults.

    A non-finite value does not stop evaluation: see ``Values.nonfinite``. Operands whose
    shapes do not fit raise :class:`EvaluationError` pointing at the operation.
    """
    given = point(graph, inputs, **kw)
    plan = forward_plan(graph)
    vals = plan.template.copy()
    for i, name in plan.inputs:
        vals[i] = given[name]
    all_floats = plan.consts_are_floats and all(type(v) is float for v in given.values())
    forwards = plan.float_forwards if all_floats else plan.forwards
    i = -1
    try:
        for i, forward, a, b in zip(plan.ids, forwards, plan.a, plan.b):
            if b >= 0:
                vals[i] = forward(vals[a], vals[b])
            elif b == -1:
                vals[i] = forward(vals[a])
            else:
                vals[i] = forward(*[vals[j] for j in a])
    except (ValueError, TypeError, IndexError) as exc:
        node = graph.nodes[i]
        raise _located(graph, i, _why(node, [vals[j] for j in node.operands], exc)) from None
    return Values(graph, tuple(vals), all_floats=all_floats)


def _why(node: Node, args: list[Value], exc: Exception) -> str:
    """A sentence for an operation that failed, naming the shapes involved."""
    if isinstance(exc, OperandError):  # the operator's own sentence
        return str(exc)
    op = node.op
    label = node.op_label
    shapes = " and ".join(_shape(a) for a in args)
    if op == "matmul" and all(isinstance(a, np.ndarray) and a.ndim for a in args):
        a, b = args
        k = 0 if b.ndim == 1 else -2
        return (f"cannot apply '@' to shapes {shapes}: the left's last dimension ({a.shape[-1]}) "
                f"must equal the right's {'only' if b.ndim == 1 else 'second-to-last'} "
                f"dimension ({b.shape[k]})")
    if "broadcast" in str(exc):
        return (f"cannot apply {label!r} to shapes {shapes}: they do not broadcast together "
                "(NumPy's rules: trailing dimensions must be equal or 1)")
    return f"cannot apply {label!r} to {shapes}: {exc}"


def _located(graph: Graph, i: int, message: str) -> EvaluationError:
    span = graph.nodes[i].span
    if span is None or graph.source is None:
        return EvaluationError(message)
    return EvaluationError(message, graph.source, *span)
