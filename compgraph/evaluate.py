"""Forward evaluation: a value for every node of a graph at a point.

>>> from compgraph.parser import parse
>>> values = evaluate(parse("a = x*y + z, b = a*(x + x), w = a*b + b"), x=2, y=3, z=1)
>>> values.output, values["a"], values["b"]
(224.0, 7.0, 28.0)
"""

from __future__ import annotations

import math
import operator
import warnings
from functools import cached_property, partial
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterator

import numpy as np

from .errors import EvaluationError, InputError, ShapeWarning, excerpt
from .graph import CONST_CODE, OP_OF_CODE, Graph, Node, int_column
from .ops import OPS, OperandError

Value = Any


def as_value(raw: Any, name: str = "value") -> Value:
    """A number or (nested) list as compgraph holds it: a float, or a float64 array.

    A float64 array is not copied: compgraph holds a read-only view of it (a batch of a
    million points should not be copied on every evaluation), so it never writes into
    the caller's array; other arrays and lists are converted.

    An integer too large for a float is ±inf, as IEEE arithmetic would make it (and the
    evaluation reports the non-finite value).

    >>> as_value(2), as_value([[1, 2], [3, 4]]).shape, as_value([1, -10**400])
    (2.0, (2, 2), array([  1., -inf]))
    """
    if isinstance(raw, bool) or isinstance(raw, str) or raw is None:
        raise InputError(f"{name}: expected a number or a nested list of numbers, got {raw!r}")
    if isinstance(raw, (int, float)):
        return _to_float(raw)
    if type(raw) is np.ndarray and raw.dtype == np.float64 and raw.size > 0 and raw.ndim:
        view = raw.view()
        view.flags.writeable = False
        return view
    try:
        try:
            arr = np.array(raw, dtype=float)
        except OverflowError:  # an int beyond float range somewhere inside
            arr = np.asarray(np.frompyfunc(_to_float, 1, 1)(np.array(raw, dtype=object)),
                             dtype=float)
    except (ValueError, TypeError):
        raise InputError(f"{name}: expected a number or a rectangular nested list of numbers "
                         f"(a ragged or non-numeric array was given)") from None
    if arr.ndim == 0:
        return float(arr)
    if arr.size == 0:
        raise InputError(f"{name}: an empty array has nothing to evaluate")
    return arr


def _to_float(x: Any) -> float:
    """``float(x)``, with integers beyond the float range as ±inf instead of an error."""
    try:
        return float(x)
    except OverflowError:
        if isinstance(x, int):
            return math.inf if x > 0 else -math.inf
        raise


def is_finite(v: Value) -> bool:
    if isinstance(v, np.ndarray):
        return bool(np.isfinite(v).all())
    return math.isfinite(v)


def check_input_names(graph: Graph, given: Mapping[str, Any]) -> None:
    """Raise :class:`InputError` for the first given name that is not an input, saying
    what it is instead: a computed variable, or close to an input, or nothing.

    >>> from compgraph.parser import parse
    >>> check_input_names(parse("c = a*b"), {"a": 1, "bb": 2})
    Traceback (most recent call last):
      ...
    compgraph.errors.InputError: unknown input 'bb' (did you mean b?); the program's inputs are: a, b
    """
    names = graph.input_names
    for name in given:
        if name in names:
            continue
        if name in graph.latest:
            why = f"{name} is computed by the program, not an input"
        else:
            import difflib

            close = difflib.get_close_matches(str(name), names, n=1)
            why = f"did you mean {close[0]}?" if close else "no input has that name"
        raise InputError(f"unknown input {name!r} ({why}); the program's inputs are: "
                         f"{', '.join(names) or 'none'}")


def point(graph: Graph, inputs: Mapping[str, Any] | None = None, /, **kw: Any) -> dict[str, Value]:
    """The value of every input: given ones first, then the program's defaults.

    Raises :class:`InputError` naming an unknown or missing input and the valid names.
    """
    given = dict(inputs or {})
    given.update(kw)
    check_input_names(graph, given)
    names = graph.input_names
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


def _first_nonfinite_kept(nodes: Recomputed) -> int | None:
    """The first non-finite value where some were not kept. A value taken over carries a
    non-finite number on into the value kept at the end of its chain (the users are
    operators that do), so only those whose chain ends at or after the first non-finite
    value kept are computed again to look."""
    taken, stand_ins = nodes.taken, nodes.stand_ins
    first = next((i for i, v in enumerate(stand_ins) if i not in taken and not is_finite(v)),
                 None)
    if first is None:
        return None
    return next((t for t in sorted(taken) if t < first and nodes.chain_end(t) >= first
                 and not is_finite(nodes[t])), first)


def node_id(graph: Graph, name: str) -> int:
    """The newest node of ``name``; :class:`~compgraph.errors.UnknownNameError` listing the
    names otherwise (as ``Graph.node``, without making the node)."""
    i = graph.latest.get(name) if isinstance(name, str) else None
    return graph.node(name).id if i is None else i


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
        if isinstance(nodes, Recomputed):
            found = _first_nonfinite_kept(nodes)
        # A float sum is finite only if every term is (inf, -inf and nan all propagate).
        elif not (self.all_floats and math.isfinite(sum(nodes))):
            found = next((i for i, v in enumerate(nodes) if not is_finite(v)), None)
        self._nonfinite = found
        return found

    def fits(self, graph: Graph) -> bool:
        """Whether these values are right for ``graph``: see :func:`same_nodes`."""
        return same_nodes(self.graph, graph)

    def __getitem__(self, name: str) -> Value:
        return self.nodes[node_id(self.graph, name)]

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
        what = f"the value is not finite ({kind_of_nonfinite(self.nodes[i])})"
        return describe_node(self.graph, i, what + self.graph.call_note(i))


def same_nodes(a: Graph, b: Graph) -> bool:
    """Whether two graphs compute the same thing node for node.

    "The same graph" for values, gradients and tangents means equal nodes, not the same
    object: two parses of one program text are equal and the values of one are right
    for the other, while ``w = x*y`` and ``w = y*x`` number their inputs differently and
    are not. It is less than ``Graph.__eq__``, which also compares the statements: the
    values of ``a = x*y`` are right for ``b = x*y`` too (gradients also need the same
    output, which ``Gradients.fits`` adds).
    """
    return a is b or a.nodes is b.nodes or a.nodes == b.nodes


def require(graph: Graph, result: Any, kind: type, caller: str, make: str) -> None:
    """Raise :class:`InputError` unless ``result`` is a ``kind`` computed on ``graph``.

    ``caller`` names the function being called; ``make`` how to compute the right thing
    (``compgraph.evaluate(graph, ...)``).
    """
    what = kind.__name__
    if not isinstance(result, kind):
        got = "a plain dict" if isinstance(result, dict) else f"a {type(result).__name__}"
        raise InputError(f"{caller} needs the {what} that {make} returns, not {got}")
    if not result.fits(graph):
        raise InputError(f"{caller}: these {what} were computed on another graph "
                         f"({result.graph!r}), not on this one ({graph!r}); compute them on "
                         f"this graph with {make}")


def kind_of_nonfinite(v: Value) -> str:
    """``NaN`` when any element is NaN, else ``infinite``."""
    a = np.asarray(v)
    return "NaN" if np.isnan(a).any() else "infinite"


def describe_node(graph: Graph, i: int, what: str) -> str:
    node = graph.nodes[i]
    name = graph.labels[i]
    if node.span is not None and graph.source is not None:
        from .errors import excerpt
        line, col, caret = excerpt(graph.source, *node.span)
        text = " ".join(graph.source[node.span[0]:node.span[1]].split())
        # An alias's label already holds its text ("x = y" for `y = x`): say it once.
        subject = f"{name} = {text}" if name and text not in name.split(" = ") else name or text
        return f"line {line}, column {col}: {what} at {subject}\n{caret}"
    label = name or (node.op or node.kind)
    return f"{what} at {label}"


def _shape(v: Value) -> str:
    return str(tuple(v.shape)) if isinstance(v, np.ndarray) else "scalar"


def _subject(graph: Graph, j: int) -> str:
    """How a message names operand node ``j``: its name, else its program text."""
    label = graph.labels[j]
    if label:
        return label
    span = graph.nodes[j].span
    if span is not None and graph.source is not None:
        return "'" + " ".join(graph.source[span[0]:span[1]].split()) + "'"
    return graph.nodes[j].op or "a constant"


# Forwards that are exact and total on Python floats (never raise, always give a float):
# the float loop calls them directly instead of the registry's scalar-or-array forward.
# tests/test_engine_fastpaths.py holds them equal to the registry on every kind of float.
FLOAT_FORWARDS: dict[str, Any] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "neg": operator.neg,
    "relu": lambda x: 0.0 if x <= 0 else x,  # NaN stays NaN, as numpy.maximum keeps it
    "tanh": math.tanh,
    "abs": abs,
}


class ForwardPlan:
    """A graph compiled once for evaluation: constants in place, then the operations as
    parallel columns (node, forward, a, b), with ``b`` an operand id, -1 for a one-operand
    op, or -2 for an op with more operands (``graph.nodes.operands(node)``). Columns rather
    than a record per operation: a quarter of a million small tuples would wake the cyclic
    collector, which would then walk the whole graph several times; on a large graph the
    node ids are int32 columns (4 bytes each, not a Python int: :func:`id_column`).
    Reverse mode reads the same columns backwards (``compgraph.differentiate``).

    The two columns of forwards are made when first read: an evaluation on floats reads
    only ``float_forwards``, one on arrays only ``forwards``, and a one-shot command pays
    for every column it builds."""

    def __init__(self, template: list[Value], inputs: tuple[tuple[int, str], ...],
                 ids: Sequence[int], a: Sequence[int], b: Sequence[int],
                 consts_are_floats: bool, checks: bytes, codes: bytes,
                 params: Mapping[int, Any], op_ids: np.ndarray) -> None:
        self.template = template          # constants at their ids, None elsewhere
        self.inputs = inputs              # (node id, name)
        self.ids = ids
        self.a = a
        self.b = b
        self.consts_are_floats = consts_are_floats
        self.checks = checks              # _SAME_SHAPES, _BROADCASTS or 0, per operation
        self.codes = codes                # each operation's node code (OP_OF_CODE: its operator)
        self._params = params             # node id -> static parameters
        self.op_ids = op_ids              # the operations' node ids, an array

    @cached_property
    def forwards(self) -> list[Any]:
        """The registry's forwards, for any values."""
        return self._column(lambda op: op.forward)

    @cached_property
    def float_forwards(self) -> list[Any]:
        """FLOAT_FORWARDS where there is one, else the registry's forward."""
        return self._column(lambda op: FLOAT_FORWARDS.get(op.name, op.forward))

    def _column(self, rule: Callable[[Any], Any]) -> list[Any]:
        column = _per_code(rule, None)[np.frombuffer(self.codes, dtype=np.uint8)].tolist()
        for i, params in self._params.items():
            k = int(np.searchsorted(self.op_ids, i))
            column[k] = partial(column[k], **dict(params))
        return column


# Shape checks on array values (design: never a silent wrong answer): a cost's prediction
# and target must have one shape; an elementwise result larger than both operands is an
# outer broadcast, warned about (an error with strict=True).
_SAME_SHAPES, _BROADCASTS = 1, 2


def forward_plan(graph: Graph) -> ForwardPlan:
    """The graph's :class:`ForwardPlan`, built on first use and kept on the graph."""
    plan = graph.memo.get("forward")
    if plan is None:
        plan = graph.memo["forward"] = _compile_forward(graph)
    return plan


def _per_code(rule: Callable[[Any], Any], fill: Any, dtype: Any = object) -> np.ndarray:
    """A table indexed by node code: ``rule(record)`` for each operator of the registry
    (read now: a test may have replaced a record), ``fill`` for inputs and constants."""
    return np.array([fill if op is None else rule(OPS[op]) for op in OP_OF_CODE], dtype=dtype)


# A plan of fewer operations than this holds its node ids as lists of Python ints, a larger
# one as the graph's int32 columns. A list's ints are made once, where a column makes an
# int at every read (a quarter slower on a graph of a thousand statements); on large
# graphs the column, 4 bytes an id read in order, is as fast as ints scattered over the
# heap, and keeps memory to a few bytes a node (a list costs about 40 bytes an id).
LIST_PLANS_BELOW = 1 << 15


def id_column(ids: np.ndarray) -> Sequence[int]:
    """Node ids for a plan: a list when there are few, else a read-only int32 column.

    >>> id_column(np.arange(3)), type(id_column(np.arange(LIST_PLANS_BELOW))).__name__
    ([0, 1, 2], 'memoryview')
    """
    return ids.tolist() if len(ids) < LIST_PLANS_BELOW else int_column(ids)


def _compile_forward(graph: Graph) -> ForwardPlan:
    # From the graph's columns, with per-operator tables: a one-shot command pays for this
    # on every run, and a Node object per node would cost more than the evaluation.
    nodes = graph.nodes
    codes = nodes.numpy("codes")
    # Every value the graph holds in place: the constants, and the inputs' defaults,
    # which evaluation replaces with the inputs' values.
    template = nodes.value_list()
    consts_are_floats = set(map(type, nodes.values.values())) <= {float}
    inputs = tuple(zip(graph.inputs, graph.input_names))
    op_ids = np.flatnonzero(codes > CONST_CODE)
    op_codes = codes[op_ids]
    checks = _per_code(lambda op: _SAME_SHAPES if op.cost and op.arity == 2 else
                       _BROADCASTS if op.broadcasts and op.arity == 2 else 0,
                       0, np.uint8)[op_codes].tobytes()
    second = nodes.numpy("second")[op_ids]
    if nodes.more:
        second = second.copy()
        second[np.isin(op_ids, list(nodes.more))] = -2
    return ForwardPlan(template, inputs, id_column(op_ids),
                       id_column(nodes.numpy("first")[op_ids]), id_column(second),
                       consts_are_floats, checks, bytes(op_codes), nodes.params, op_ids)


def computed_from(graph: Graph, ids: tuple[int, ...] | None) -> bytes:
    """Per node, 1 where it is one of the nodes ``ids`` or is computed from one of them
    (``None``: from any input), else 0: the nodes whose adjoints reverse mode computes
    (it differentiates with respect to ``ids``). Kept on the graph per ``ids``.

    >>> from compgraph.parser import parse
    >>> list(computed_from(parse("a = 2*x, b = a + y"), None))  # 2, x, 2*x, y, a + y
    [0, 1, 1, 1, 1]
    """
    key = ("reach", ids)
    flags = graph.memo.get(key)
    if flags is None:
        if ids is None:  # from any input: what the graph already knows
            flags = graph.memo[key] = graph.input_dependence
            return flags
        plan = forward_plan(graph)
        more = graph.nodes.more
        reach = bytearray(len(graph.nodes))
        for i in ids:
            reach[i] = 1
        for i, a, b in zip(plan.ids, plan.a, plan.b):
            if b >= 0:
                if reach[a] or reach[b]:
                    reach[i] = 1
            elif b == -1:
                if reach[a]:
                    reach[i] = 1
            elif any(reach[j] for j in more[i]):
                reach[i] = 1
        flags = graph.memo[key] = bytes(reach)
    return flags


# Evaluation computes an anonymous intermediate's only user into the intermediate's own
# array (Op.into) when no reverse rule that may run reads the intermediate, as NumPy
# reuses the temporary of ``x*y + z``: one array fewer to allocate and fill, which on large
# batches is most of the time. The intermediate's value is then computed again when
# someone asks for it (:class:`Recomputed`). Only arrays of at least IN_PLACE_BYTES: on
# small ones there is nothing to save. The users are operators that carry a non-finite
# operand into a non-finite result (inf*0 is NaN), so that the values kept show where a
# NaN or an infinity appeared (see Values.nonfinite).
IN_PLACE_BYTES = 1 << 17
_CARRIES_NONFINITE = frozenset({"add", "sub", "mul", "neg"})


def array_plan(graph: Graph) -> tuple[list[int], list[Any]]:
    """What evaluation on arrays adds to the forward plan, per operation: the operand (0
    or 1) whose array it may compute into, or -1 (an anonymous operation used once, by
    this one, whose value no reverse rule reads: neither this operation's rules that may
    run, nor its own); and its operator's ``into`` (``into(None, *args)`` is the forward
    on arrays, without the wrappers that make it total on floats)."""
    cached = graph.memo.get("arrays")
    if cached is not None:
        return cached
    plan = forward_plan(graph)
    # Per node code (OP_OF_CODE), then per operation.
    into_of = [None if op is None or OPS[op].params else OPS[op].into for op in OP_OF_CODE]
    user_of = [op in _CARRIES_NONFINITE and OPS[op].into is not None
               and OPS[op].reads is not None for op in OP_OF_CODE]
    intos = list(map(into_of.__getitem__, plan.codes))
    takeover = [-1] * len(plan.ids)
    users = list(map(user_of.__getitem__, plan.codes))
    if any(users):
        nodes = graph.nodes
        codes = nodes.codes
        first, second = nodes.numpy("first"), nodes.numpy("second")
        used = [first[first >= 0], second[second >= 0]]
        used += [np.array(ops[2:], dtype=np.int32) for ops in nodes.more.values()]
        uses = np.bincount(np.concatenate(used), minlength=len(nodes)).tolist()
        labels = graph.labels
        needs = computed_from(graph, None)  # the rules that may run read these operands
        for k_op, (i, user) in enumerate(zip(plan.ids, users)):
            if not user:
                continue
            operands = nodes.operands(i)
            reads = OPS[OP_OF_CODE[plan.codes[k_op]]].reads  # type: ignore[index]
            for k, t in enumerate(operands):
                code = codes[t]
                if (code <= CONST_CODE or uses[t] != 1 or labels[t] is not None
                        or any(str(k) in reads[m] for m, j in enumerate(operands)  # type: ignore[index]
                               if needs[j])):
                    continue
                own = OPS[OP_OF_CODE[code]]  # type: ignore[index]
                if (own.into is None or own.reads is None
                        or any("o" in own.reads[m] for m, j in enumerate(nodes.operands(t))
                               if needs[j])):
                    continue
                takeover[k_op] = k
                break
    cached = graph.memo["arrays"] = (takeover, intos)
    return cached


def _take_over(graph: Graph, i: int, k: int, a: int, b: int, vals: list[Value],
               taken: dict[int, int]) -> bool:
    """Compute node ``i`` into the array of its operand ``k`` (see :func:`array_plan`)
    when that is an array of at least IN_PLACE_BYTES that already has the result's shape."""
    t = a if k == 0 else b
    buf = vals[t]
    if type(buf) is not np.ndarray or buf.nbytes < IN_PLACE_BYTES:
        return False
    if b >= 0:
        other = np.shape(vals[b if k == 0 else a])
        if other != buf.shape:
            try:
                if np.broadcast_shapes(other, buf.shape) != buf.shape:
                    return False
            except ValueError:
                return False  # the ordinary path reports it
        args = (vals[a], vals[b])
    else:
        args = (buf,)
    # The operand's operator has ``into``, so its forward made this array: a new one,
    # held by nothing but this evaluation, which now hands it on.
    OPS[OP_OF_CODE[graph.nodes.codes[i]]].into(buf, *args)  # type: ignore[index, misc]
    vals[i] = buf
    vals[t] = np.broadcast_to(_NAN, buf.shape)  # a stand-in of its shape, never read
    taken[t] = i
    return True


_NAN = np.float64(np.nan)


class Patched(Sequence):
    """A per-node sequence whose few missing entries are computed when first asked for:
    indices and slices as a tuple's, each entry from :meth:`_at` (subclasses say how)."""

    _stored: list[Value]

    def __len__(self) -> int:
        return len(self._stored)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        return self._at(i + len(self) if i < 0 else i)

    def _at(self, i: int) -> Any:
        raise NotImplementedError


class Recomputed(Patched):
    """Node values where some anonymous intermediates' arrays were taken over by their
    only users (see :data:`IN_PLACE_BYTES`). Such a value is computed again, the same
    bits, when first asked for; :attr:`stand_ins` is what reverse mode reads instead, a
    read-only array of NaN of the right shape that no rule it runs reads."""

    def __init__(self, graph: Graph, stand_ins: list[Value], taken: dict[int, int]) -> None:
        self.graph = graph
        self.stand_ins = stand_ins
        self.taken = taken  # node -> the node that took over its array
        self._again: dict[int, Value] = {}
        self._stored = stand_ins

    def _at(self, i: int) -> Any:
        if i in self.taken:
            return self._recompute(i)
        return self.stand_ins[i]

    def _recompute(self, i: int) -> Value:
        again = self._again
        if i in again:
            return again[i]
        nodes, taken = self.graph.nodes, self.taken
        todo: set[int] = set()
        stack = [i]
        while stack:  # the taken-over nodes it is computed from, without recursion
            j = stack.pop()
            if j not in todo and j not in again:
                todo.add(j)
                stack.extend(o for o in nodes[j].operands if o in taken)
        with np.errstate(all="ignore"):
            for j in sorted(todo):  # operands first
                node = nodes[j]
                args = [again[o] if o in taken else self.stand_ins[o] for o in node.operands]
                again[j] = OPS[node.op].forward(*args, **node.kwargs)  # type: ignore[index]
        return again[i]

    def chain_end(self, i: int) -> int:
        """The kept node whose value was computed in the array of taken-over node ``i``."""
        taken = self.taken
        while i in taken:
            i = taken[i]
        return i


def evaluate(graph: Graph, inputs: Mapping[str, Any] | None = None, /, *,
             strict: bool = False, **kw: Any) -> Values:
    """Evaluate every node; inputs by mapping and/or keywords, the rest from the defaults.

    A non-finite value does not stop evaluation: see ``Values.nonfinite``. Operands whose
    shapes do not fit raise :class:`EvaluationError` pointing at the operation, and so
    does a cost (``mse``, ``bce``) whose prediction and target differ in shape. An
    elementwise operation whose result is larger than both operands (``(3, 1) + (3,)``
    gives ``(3, 3)``) warns with a :class:`~compgraph.errors.ShapeWarning`, or raises
    with ``strict=True``. (An input called ``strict`` is given in the mapping.)

    >>> from compgraph.parser import parse
    >>> evaluate(parse("C = mse(yhat, y)"), yhat=[1, 2, 3], y=[[1], [2], [3]])
    Traceback (most recent call last):
      ...
    compgraph.errors.EvaluationError: line 1, column 5: mse compares a prediction with a target of the same shape, but the prediction yhat has shape (3,) and the target y has shape (3, 1); give y as a flat list of 3 numbers, like yhat
      C = mse(yhat, y)
          ^^^^^^^^^^^^
    """
    if type(strict) is not bool:
        raise InputError(f"strict must be True or False, got {strict!r}; an input called "
                         "strict is given in the mapping: evaluate(graph, {'strict': ...})")
    given = point(graph, inputs, **kw)
    plan = forward_plan(graph)
    vals = plan.template.copy()
    for i, name in plan.inputs:
        vals[i] = given[name]
    all_floats = plan.consts_are_floats and all(type(v) is float for v in given.values())
    i = -1
    try:
        # NumPy's own RuntimeWarnings never reach the user: Values.nonfinite reports the
        # first non-finite value, once, with its place in the program.
        with np.errstate(all="ignore"):
            if all_floats:
                # Every value is a float: no shapes to check.
                for i, forward, a, b in zip(plan.ids, plan.float_forwards, plan.a, plan.b):
                    if b >= 0:
                        vals[i] = forward(vals[a], vals[b])
                    elif b == -1:
                        vals[i] = forward(vals[a])
                    else:
                        vals[i] = forward(*[vals[j] for j in graph.nodes.operands(i)])
            else:
                taken = {}
                takeover, intos = array_plan(graph)
                for i, forward, a, b, check, k, into in zip(plan.ids, plan.forwards, plan.a,
                                                            plan.b, plan.checks, takeover,
                                                            intos):
                    if k >= 0 and _take_over(graph, i, k, a, b, vals, taken):
                        continue
                    if b >= 0:
                        x, y = vals[a], vals[b]
                        if check == _SAME_SHAPES and np.shape(x) != np.shape(y):
                            raise _located(graph, i, _cost_shapes(graph, i, x, y))
                        if into is not None and (type(x) is np.ndarray or type(y) is np.ndarray):
                            out = vals[i] = into(None, x, y)  # the forward on arrays, directly
                        else:
                            out = vals[i] = forward(x, y)
                        if (check == _BROADCASTS and type(out) is np.ndarray
                                and out.shape != np.shape(x) and out.shape != np.shape(y)):
                            _outer_broadcast(graph, i, x, y, out, strict)
                    elif b == -1:
                        x = vals[a]
                        vals[i] = into(None, x) if into is not None and type(x) is np.ndarray \
                            else forward(x)
                    else:
                        vals[i] = forward(*[vals[j] for j in graph.nodes.operands(i)])
                if taken:
                    return Values(graph, Recomputed(graph, vals, taken))
    except (ValueError, TypeError, IndexError) as exc:
        if isinstance(exc, EvaluationError):
            raise
        node = graph.nodes[i]
        raise _located(graph, i, _why(node, [vals[j] for j in node.operands], exc)) from None
    return Values(graph, tuple(vals), all_floats=all_floats)


def _has_shape(v: Value) -> str:
    return f"has shape {tuple(v.shape)}" if isinstance(v, np.ndarray) else "is a scalar"


def _cost_shapes(graph: Graph, i: int, yhat: Value, y: Value) -> str:
    """The message for a cost whose prediction and target differ in shape, with the fix."""
    node = graph.nodes[i]
    p, t = (_subject(graph, j) for j in node.operands)
    sp, st = np.shape(yhat), np.shape(y)
    if len(sp) == 1 and np.size(y) == sp[0]:
        fix = f"give {t} as a flat list of {sp[0]} numbers, like {p}"
    elif sp and st == sp[::-1]:
        fix = f"transpose(...) one of them, or give {t} in the shape of {p}, {sp}"
    elif sp and np.size(y) == np.size(yhat):
        fix = f"give {t} in the shape of {p}, {sp}"
    elif not st:
        fix = f"a cost needs one target per prediction: give {t} the shape of {p}, {sp}"
    else:
        fix = f"give {p} and {t} the same shape"
    return (f"{node.op} compares a prediction with a target of the same shape, but the "
            f"prediction {p} {_has_shape(yhat)} and the target {t} {_has_shape(y)}; {fix}")


def _outer_broadcast(graph: Graph, i: int, x: Value, y: Value, out: np.ndarray,
                     strict: bool) -> None:
    """Warn (or, strict, raise) about an elementwise result larger than both operands."""
    node = graph.nodes[i]
    a, b = (_subject(graph, j) for j in node.operands)
    message = (f"{a} {_has_shape(x)} and {b} {_has_shape(y)}: {OPS[node.op].label!r} "
               f"broadcasts them to {tuple(out.shape)}, larger than both (an outer "
               f"broadcast, often a column given where a flat list was meant); give them "
               f"matching shapes")
    if strict:
        raise _located(graph, i, message)
    note = "; --strict-shapes (or strict=True) makes this an error"
    span = node.span
    if span is not None and graph.source is not None:
        line, col, caret = excerpt(graph.source, *span)
        message = f"line {line}, column {col}: {message}{note}\n{caret}"
    else:
        message += note
    warnings.warn(ShapeWarning(message), stacklevel=3)


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
    message += graph.call_note(i)  # inside a function's body: which call
    span = graph.nodes[i].span
    if span is None or graph.source is None:
        return EvaluationError(message)
    return EvaluationError(message, graph.source, *span)
