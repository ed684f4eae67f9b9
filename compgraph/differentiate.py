"""Reverse mode (backprop), forward mode (tangents), Jacobians and the numeric check.

The engine owns what the operator rules leave out: it skips constants, sums fan-out,
sums a broadcast operand's contribution back to the operand's shape, and gives each
edge's contribution (upstream adjoint × local derivative) so that a picture can show
how a node's gradient is the sum of what reaches it. Graphs are compiled once into a
plan of records; when every value is a Python float the sweep applies the common rules
inline, and edge contributions are computed from the final adjoints when first asked for.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> grads = backward(g, evaluate(g, x=2, y=3, z=1))
>>> grads["x"], grads["y"], grads["z"], grads["a"]
(292.0, 120.0, 60.0, 60.0)
>>> a = g.latest["a"]
>>> sorted(c for (i, k), c in grads.edges.items() if g.nodes[i].operands[k] == a)
[28.0, 32.0]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from .errors import EvaluationError, InputError, NotComputedError
from .evaluate import (Patched, Recomputed, Values, as_value, computed_from, describe_node,
                       evaluate, forward_plan, is_finite, kind_of_nonfinite, node_id,
                       require, same_nodes)
from .graph import CONST_CODE, INPUT, OP, OP_OF_CODE, Graph
from .ops import OPS

Value = Any


def unbroadcast(c: Value, like: Value) -> Value:
    """Sum a contribution back to the shape of the operand ``like`` it flows into.

    >>> unbroadcast(np.ones((4, 3)), np.zeros(3))
    array([4., 4., 4.])
    >>> unbroadcast(np.ones((2, 2)), 5.0)
    4.0
    """
    if not isinstance(like, np.ndarray):
        return float(np.sum(c)) if isinstance(c, np.ndarray) else c
    if not isinstance(c, np.ndarray):
        return np.full(like.shape, c, dtype=float)
    if c.shape == like.shape:
        return c
    extra = c.ndim - like.ndim
    if extra > 0:
        c = c.sum(axis=tuple(range(extra)))
    axes = tuple(k for k, n in enumerate(like.shape) if n == 1 and c.shape[k] != 1)
    if axes:
        c = c.sum(axis=axes, keepdims=True)
    if c.shape != like.shape:
        c = np.broadcast_to(c, like.shape)
    return c


_F = TypeVar("_F", bound=Callable[..., Any])
_EVALUATE = "compgraph.evaluate(graph, ...)"


def _quiet(fn: _F) -> _F:
    """``fn`` with NumPy's floating-point warnings silenced: the project's non-finite
    report (``Values.nonfinite``, ``Gradients.nonfinite``) is the one message a user sees."""

    @functools.wraps(fn)
    def run(*args: Any, **kw: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(*args, **kw)

    return run  # type: ignore[return-value]


def _zero_like(v: Value) -> Value:
    return np.zeros(v.shape) if isinstance(v, np.ndarray) else 0.0


class _PerNode(Mapping):
    """Per-node results (adjoints or tangents) with name lookup; ``None`` means zero."""

    def __init__(self, graph: Graph, values: Values, nodes: tuple[Value, ...],
                 edges: dict[tuple[int, int], Value] | None = None) -> None:
        self.graph = graph
        self.values = values
        self.nodes = nodes
        self._edges = edges

    @property
    def edges(self) -> dict[tuple[int, int], Value]:
        """``(node, operand index)`` -> what that edge carries."""
        if self._edges is None:
            self._edges = self._compute_edges()
        return self._edges

    @edges.setter
    def edges(self, edges: dict[tuple[int, int], Value]) -> None:
        self._edges = edges

    def _compute_edges(self) -> dict[tuple[int, int], Value]:
        return {}

    def fits(self, graph: Graph) -> bool:
        """Whether these results are right for ``graph`` (see ``evaluate.same_nodes``)."""
        return same_nodes(self.graph, graph)

    def of(self, i: int) -> Value:
        """Node ``i``'s result, zeros of its shape where nothing reached it."""
        v = self.nodes[i]
        return _zero_like(self.values.nodes[i]) if v is None else v

    def __getitem__(self, name: str) -> Value:
        return self.of(node_id(self.graph, name))

    def __iter__(self) -> Iterator[str]:
        return iter(self.graph.latest)

    def __len__(self) -> int:
        return len(self.graph.latest)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self)!r})"


class Gradients(_PerNode):
    """Reverse mode: ``adjoints[i]`` is d(output)/d(node i); ``edges[(i, k)]`` is what the
    edge into operand ``k`` of node ``i`` carries back (already in the operand's shape).

    ``wrt`` is ``None`` when every gradient was computed, else the names that
    ``backward(..., wrt=...)`` was asked for. Then only those and the variables on the
    paths between them and the output have a gradient: those are the names this mapping
    holds, and any other raises :class:`~compgraph.errors.NotComputedError` naming ``wrt``
    (never a silent zero: the gradient was not computed, it is not known to be zero).
    """

    wrt: tuple[str, ...] | None = None
    # Per node, whether its adjoint was computed (``None``: all were). A computed node
    # whose adjoint is None received nothing: its gradient is zero.
    computed: bytes | None = None

    def _compute_edges(self) -> dict[tuple[int, int], Value]:
        # The sweep does not keep them: the rules are pure, so the same computation from
        # the final adjoints gives the same numbers, and only pictures ever ask.
        edges: dict[tuple[int, int], Value] = {}
        graph, values, adjoints = self.graph, self.values, self.nodes
        needs = self.computed if self.computed is not None else computed_from(graph, None)
        nodes = graph.nodes
        for i in range(len(nodes) - 1, -1, -1):  # newest node first, as the sweep went
            if adjoints[i] is not None and nodes[i].kind == OP:
                for k, c in enumerate(_edge_contributions(graph, values, adjoints, i, needs)):
                    if c is not None:
                        edges[(i, k)] = c
        return edges

    @property
    def adjoints(self) -> tuple[Value, ...]:
        return self.nodes

    def of(self, i: int) -> Value:
        """Node ``i``'s gradient, zeros of its shape where nothing reached it; a
        :class:`~compgraph.errors.NotComputedError` when ``wrt`` left it out."""
        if self.computed is not None and not self.computed[i]:
            raise self._not_computed(self.graph.labels[i] or f"node {i}")
        return super().of(i)

    def __getitem__(self, name: str) -> Value:
        i = node_id(self.graph, name)
        if self.computed is not None and not self.computed[i]:
            raise self._not_computed(name)
        return super().of(i)

    def __iter__(self) -> Iterator[str]:
        if self.computed is None:
            return iter(self.graph.latest)
        computed = self.computed
        return iter([name for name, i in self.graph.latest.items() if computed[i]])

    def __len__(self) -> int:
        if self.computed is None:
            return len(self.graph.latest)
        return sum(1 for _ in self)

    def _not_computed(self, name: str) -> NotComputedError:
        asked = ", ".join(self.wrt or ())
        return NotComputedError(
            f"the gradient of {name} was not computed: reverse mode was asked for wrt "
            f"{asked} only (those and the variables between them and "
            f"{self.graph.output_name}); add {name} to wrt to have it")

    def fits(self, graph: Graph) -> bool:
        # Adjoints are derivatives of one output: another output is another answer.
        return same_nodes(self.graph, graph) and self.graph.output == graph.output

    @property
    def nonfinite(self) -> int | None:
        """The node where the reverse sweep first made a gradient non-finite: of the nodes
        whose gradient is not finite, the newest (the sweep runs newest first, so this is
        where the NaN or inf came in, as ``Values.nonfinite`` is for values); ``None``
        when every gradient is finite."""
        try:
            return self._nonfinite
        except AttributeError:
            pass
        nodes = self.nodes
        if isinstance(nodes, HandedOn):
            raw, handed = nodes.adjoints, nodes.handed
            self._nonfinite = next(
                (i for i in range(len(nodes) - 1, -1, -1)
                 if (raw[i] is not None and not is_finite(raw[i])) or
                 (i in handed and not nodes.surely_finite(i) and not is_finite(nodes[i]))),
                None)
            return self._nonfinite
        self._nonfinite: int | None = next(
            (i for i in range(len(nodes) - 1, -1, -1)
             if nodes[i] is not None and not is_finite(nodes[i])), None)
        return self._nonfinite

    def nonfinite_message(self) -> str | None:
        """A sentence naming the node where a gradient first became non-finite, or ``None``."""
        i = self.nonfinite
        if i is None:
            return None
        return describe_node(self.graph, i, "the gradient is not finite "
                                            f"({kind_of_nonfinite(self.nodes[i])})")


class Tangents(_PerNode):
    """Forward mode: ``nodes[i]`` is d(node i)/d(direction); ``edges[(i, k)]`` is operand
    ``k``'s part of node ``i``'s tangent. ``wrt`` names the direction."""

    wrt: str = ""

    @property
    def output(self) -> Value:
        return self.of(self.graph.output)

    @property
    def nonfinite(self) -> int | None:
        """The node where forward mode first made a tangent non-finite: of the nodes whose
        tangent is not finite, the oldest (forward mode runs oldest first, so this is where
        the NaN or inf came in); ``None`` when every tangent is finite."""
        nodes = self.nodes
        return next((i for i in range(len(nodes))
                     if nodes[i] is not None and not is_finite(nodes[i])), None)

    def nonfinite_message(self) -> str | None:
        """A sentence naming the node where a tangent first became non-finite, or ``None``.

        >>> from compgraph.parser import parse
        >>> from compgraph.evaluate import evaluate
        >>> g = parse("y = sqrt(x) + x")
        >>> print(tangents(g, evaluate(g, x=0.0), "x").nonfinite_message())
        line 1, column 5: the tangent ∂/∂x is not finite (infinite) at sqrt(x)
          y = sqrt(x) + x
              ^^^^^^^
        """
        i = self.nonfinite
        if i is None:
            return None
        what = f"the tangent ∂/∂{self.wrt}" if self.wrt and "," not in self.wrt else "the tangent"
        return describe_node(self.graph, i, f"{what} is not finite "
                                            f"({kind_of_nonfinite(self.nodes[i])})")


# Reverse rules the float loop applies inline (exactly the registry's arithmetic; held
# equal to it by tests/test_engine_fastpaths.py); every other operator calls its rules.
_GENERIC, _ADD, _SUB, _MUL, _NEG, _RELU = range(6)
_FLOAT_CODES = {"add": _ADD, "sub": _SUB, "mul": _MUL, "neg": _NEG, "relu": _RELU}


def check_wrt(graph: Graph, wrt: str | Sequence[str] | None, what: str = "wrt"
              ) -> tuple[tuple[str, ...] | None, tuple[int, ...] | None]:
    """``wrt`` checked: the names, and their nodes in increasing order (``None``: all).
    Raises :class:`InputError` for an empty list, a name given twice or one the program
    does not have (with the nearest name); ``what`` is how the message calls ``wrt``.

    >>> from compgraph.parser import parse
    >>> check_wrt(parse("s = w*x, L = s*s"), ["w", "s"])
    (('w', 's'), (0, 2))
    """
    if wrt is None:
        return None, None
    names = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    if not names:
        raise InputError(f"{what} is empty: name the variables whose gradients you need, "
                         f"e.g. {what}{'=' if what == 'wrt' else ' '}"
                         f"{_example(graph.input_names[:2], what == 'wrt')}")
    for k, name in enumerate(names):
        if not isinstance(name, str):
            raise InputError(f"{what} names variables by their names, not {name!r}")
        if name not in graph.latest:
            import difflib

            close = difflib.get_close_matches(name, list(graph.latest), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InputError(f"cannot differentiate with respect to {name!r}: the program has "
                             f"no variable of that name{hint}; its variables are: "
                             f"{', '.join(graph.latest)}")
        if name in names[:k]:
            raise InputError(f"{what} names {name} twice: {', '.join(names)}")
    return names, tuple(sorted(graph.latest[name] for name in names))


def _example(names: Sequence[str], as_list: bool) -> str:
    return f"[{', '.join(map(repr, names))}]" if as_list else ",".join(names)


def _backward_plan(graph: Graph, ids: tuple[int, ...] | None) -> tuple[Sequence[int], ...]:
    """The operations, as parallel columns (node, code, a, b, needs a, needs b): the
    forward plan's node and operand columns, which the sweeps read backwards (with
    ``reversed``: no copies), then the rest newest first, and whether each operand's
    adjoint is wanted (it is one of the nodes ``ids`` or computed from one; ``None``: from
    any input). Columns rather than a record per operation, so that compiling a large
    graph neither wakes the cyclic collector nor holds a Python int per operand (see
    ``evaluate.id_column``)."""
    key = ("backward", ids)
    plan = graph.memo.get(key)
    if plan is None:
        forward = forward_plan(graph)
        # The codes and the wanted operands computed with NumPy from the forward plan's
        # and the graph's columns.
        nodes = graph.nodes
        op_ids = forward.op_ids
        float_code = np.array([_FLOAT_CODES.get(op, _GENERIC) for op in OP_OF_CODE], np.uint8)
        op_codes = float_code[np.frombuffer(forward.codes, dtype=np.uint8)]
        if nodes.more:  # three operands or more: the registry's rules
            op_codes[np.isin(op_ids, list(nodes.more))] = _GENERIC
        # one more byte, 0: an operand -1 (none) reads it
        needs = np.frombuffer(computed_from(graph, ids) + b"\x00", dtype=np.uint8)
        needs_first = needs[nodes.numpy("first")[op_ids]]
        needs_second = needs[nodes.numpy("second")[op_ids]]
        plan = graph.memo[key] = (forward.ids, op_codes[::-1].tobytes(), forward.a,
                                  forward.b, needs_first[::-1].tobytes(),
                                  needs_second[::-1].tobytes())
    return plan


def backward(graph: Graph, values: Values, seed: Value = None, *,
             wrt: str | Sequence[str] | None = None) -> Gradients:
    """Reverse mode from the output, seeded with 1 (or ``seed``, shaped like the output).

    ``wrt`` names the variables whose gradients you want (inputs, or any named variable;
    default: every input). Adjoints are then computed only on the paths from those to the
    output: data inputs, and whatever is computed from them alone, cost nothing. The
    result holds the names asked for and the variables on those paths; asking it for
    another raises :class:`~compgraph.errors.NotComputedError`, which names ``wrt``.

    Raises :class:`EvaluationError` when the output is not a scalar and no seed is given,
    and :class:`InputError` when ``values`` were not computed on ``graph`` or ``wrt``
    names something the program does not have.

    >>> from compgraph.parser import parse
    >>> from compgraph.evaluate import evaluate
    >>> g = parse("s = w*x + b, L = s**2")
    >>> grads = backward(g, evaluate(g, w=2, x=3, b=1), wrt=["w"])
    >>> dict(grads)
    {'w': 42.0, 's': 14.0, 'L': 1.0}
    >>> grads["x"]
    Traceback (most recent call last):
      ...
    compgraph.errors.NotComputedError: the gradient of x was not computed: reverse mode was asked for wrt w only (those and the variables between them and L); add x to wrt to have it
    """
    require(graph, values, Values, "backward", _EVALUATE)
    names, ids = check_wrt(graph, wrt)
    nodes = graph.nodes
    vals = values.nodes
    if isinstance(vals, Recomputed):
        # Values not kept are never read by the rules that run (see evaluate.array_plan).
        vals = vals.stand_ins
    out = graph.output
    ones = None
    if seed is None:
        if isinstance(vals[out], np.ndarray):
            raise EvaluationError(
                f"reverse mode needs a scalar output, and {graph.output_name} has shape "
                f"{vals[out].shape}; use jacobian (the 'jacobian' command) for every "
                f"derivative, or make the output a scalar with sum(...) or mean(...)")
        seed = 1.0
    elif type(seed) is np.ndarray:
        # The caller's array is the output's adjoint and flows on through every rule that
        # passes g along (x + y): handed on read-only, so no one writes through to it.
        seed = seed.view()
        seed.flags.writeable = False
        ones = seed if _all_ones(seed) else None
    elif type(seed) is float and seed == 1.0 and type(vals[out]) is np.ndarray:
        # Every point of a batch seeded with 1: ones of the output's shape that take no
        # memory (read-only, as any adjoint the sweep did not make).
        seed = ones = np.broadcast_to(_ONE, vals[out].shape)
    plan = _backward_plan(graph, ids)
    needs = computed_from(graph, ids)
    adj: list[Value] = [None] * len(nodes)
    adj[out] = seed
    with np.errstate(all="ignore"):
        if getattr(values, "all_floats", False) and type(seed) is float:
            _float_sweep(graph, plan, vals, adj, needs)
        else:
            handed = _general_sweep(graph, reversed(plan[0]), vals, adj, needs, ones)
            if handed:
                grads = Gradients(graph, values, HandedOn(graph, values, adj, handed, needs))
                if names is not None:
                    grads.wrt, grads.computed = names, needs
                return grads
    grads = Gradients(graph, values, tuple(adj))
    if names is not None:
        grads.wrt, grads.computed = names, needs
    return grads


_NO_PARAMS: dict[str, Any] = {}  # never written
_ONE = np.float64(1.0)


def _all_ones(seed: Value) -> bool:
    """Whether ``seed`` is a float64 array of ones (a batch seeded with 1 at every point)."""
    return (type(seed) is np.ndarray and seed.dtype == np.float64 and seed.size > 0
            and seed.flat[0] == 1.0 and bool((seed == 1.0).all()))


def _float_sweep(graph: Graph, plan: tuple[list, ...], vals: tuple[Value, ...],
                 adj: list[Value], needs: bytes) -> None:
    """Reverse sweep when every value is a Python float: common rules inline."""
    ids, codes, first, second, needs_first, needs_second = plan
    for i, code, a, b, na, nb in zip(reversed(ids), codes, reversed(first), reversed(second),
                                     needs_first, needs_second):
        g = adj[i]
        if g is None:
            continue
        if code == _MUL:
            if na:
                c = g * vals[b]
                p = adj[a]
                adj[a] = c if p is None else p + c
            if nb:
                c = g * vals[a]
                p = adj[b]
                adj[b] = c if p is None else p + c
        elif code == _ADD or code == _SUB:
            if na:
                p = adj[a]
                adj[a] = g if p is None else p + g
            if nb:
                c = g if code == _ADD else -g
                p = adj[b]
                adj[b] = c if p is None else p + c
        elif code == _RELU or code == _NEG:
            if na:
                c = g * (1.0 if vals[a] > 0 else 0.0) if code == _RELU else -g
                p = adj[a]
                adj[a] = c if p is None else p + c
        else:
            _general_node(graph, i, g, vals, adj, needs, None)


def _general_sweep(graph: Graph, ids: Iterable[int], vals: tuple[Value, ...],
                   adj: list[Value], needs: bytes, ones: Value = None) -> dict[int, int]:
    """Reverse sweep for any values: registry rules, un-broadcasting, in-place sums.

    Contributions are not kept (``Gradients.edges`` computes them again when asked), so a
    contribution array that the sweep itself allocated becomes the operand's running sum
    and later ones are added into it in place: fan-in costs no new arrays. Which arrays
    those are is known, not guessed: a rule's result when the registry marks that rule
    ``fresh`` (``g * y`` is a new array; ``g`` itself is not), and the sums and
    un-broadcasts the engine makes. Anything else (the user's inputs, values, the seed,
    an adjoint already handed on as some node's ``g``) is never written. ``ones`` is the
    seed when it is all ones (it is never written, so any adjoint that is this very
    array is all ones too).

    An anonymous node's adjoint that the sweep made and that goes on unchanged to one
    operand (``x + x``, ``p - q``'s p) is handed on: it becomes that operand's running
    sum, and the node's own adjoint is computed again from its users when asked for
    (:class:`HandedOn`), as NumPy reuses the temporary of ``2*gb*a``. Returns the handed
    nodes and the operand each handed its array to.
    """
    owned: set[int] = set()  # ids of adjoints this sweep allocated and nothing else holds
    handed: dict[int, int] = {}
    anonymous = _anonymous(graph)
    for i in ids:
        g = adj[i]
        if g is None:
            continue
        mine = id(g) in owned
        # From here on g may be shared with edges and other adjoints: never written again
        # (unless it is handed on whole: then it is an operand's running sum, and owned).
        owned.discard(id(g))
        _general_node(graph, i, g, vals, adj, needs, owned, ones,
                      handed if mine and anonymous[i] else None)
    for i in handed:
        adj[i] = None  # its array is now another node's: see HandedOn
    return handed


def _times_one(d: Value, g: Value) -> bool:
    """Whether ``g * d``, for a ``g`` of ones, is exactly ``d``: the same type and shape."""
    if type(d) is float:
        return type(g) is float
    return (type(d) is np.ndarray and d.dtype == np.float64 and d.ndim > 0
            and (type(g) is float or d.shape == np.shape(g)))


def _general_node(graph: Graph, i: int, g: Value, vals: tuple[Value, ...], adj: list[Value],
                  needs: bytes, owned: set[int] | None, ones: Value = None,
                  handed: dict[int, int] | None = None) -> None:
    """One node's edges: each operand's contribution, added to its adjoint (in place
    where ``owned`` says the adjoint is an array only this sweep refers to). With
    ``handed``, g is the sweep's own and may be handed on whole to one operand."""
    op, operands, kw = _rule_record(graph, i)
    rules = op.vjp
    fresh_rules = op.fresh
    # Multiplying by ones is exact, so where g is all ones a rule's contribution is its
    # local derivative: a pass over the batch (and a new array) saved.
    partials = op.partials if g is ones or (type(g) is float and g == 1.0) else None
    outv = vals[i]
    args = tuple([vals[j] for j in operands])
    for k, j in enumerate(operands):
        if not needs[j]:
            continue
        like = vals[j]
        c = None
        if partials is not None:
            c = partials[k](outv, *args, **kw)
            if not _times_one(c, g):
                c = None
            elif type(c) is np.ndarray:
                # Often a value (y for x*y): handed on read-only, so that no adjoint can
                # ever be written through to it, and never owned.
                c = c.view()
                c.flags.writeable = False
        made = False  # whether c is an array this sweep allocated and nothing else holds
        if c is None:
            c = rules[k](g, outv, *args, **kw)
            made = k < len(fresh_rules) and fresh_rules[k]
        if type(like) is not float or type(c) is not float:
            summed = unbroadcast(c, like)
            # A sum or a fill made here is the sweep's own (a broadcast view fails below).
            made = made or summed is not c
            c = summed
            del summed  # no second name on c: it may be freed before the next operand's
        prev = adj[j]
        if owned is None:
            adj[j] = c if prev is None else prev + c
            continue
        if c is g and handed is not None:
            receiver = handed.get(i)
            if receiver is None and prev is None:
                adj[j] = g  # handed on: j's running sum from here
                owned.add(id(g))
                handed[i] = j
                continue
            if receiver is not None and receiver != j:
                # g goes to a second operand too: shared by both, so written by neither
                owned.discard(id(g))
                del handed[i]
        fresh = (made and type(c) is np.ndarray and c.base is None and c.flags.writeable)
        if ones is not None and prev is not None:
            # The seed's ones added as the number 1.0: the same sums, one array less to read.
            if prev is ones and type(c) is np.ndarray and c.shape == ones.shape:
                prev = 1.0
            elif c is ones and type(prev) is np.ndarray and prev.shape == ones.shape:
                c = 1.0
        if prev is None:
            adj[j] = c
        elif id(prev) in owned:
            prev += c
            continue
        elif fresh and (type(prev) is float or
                        type(prev) is np.ndarray and prev.shape == c.shape):
            c += prev  # addition commutes exactly: the same bits as prev + c
            adj[j] = c
        else:
            c = adj[j] = prev + c
            fresh = type(c) is np.ndarray
        if fresh:
            owned.add(id(c))


def _rule_record(graph: Graph, i: int) -> tuple[Any, tuple[int, ...], dict[str, Any]]:
    """Node ``i``'s operator record, operand ids and keyword parameters, made once per
    graph and node: a Node view costs more than the rules of a small batch."""
    records = graph.memo.get("rule records")
    if records is None:
        records = graph.memo["rule records"] = {}
    record = records.get(i)
    if record is None:
        node = graph.nodes[i]
        record = records[i] = (OPS[node.op], node.operands,  # type: ignore[index]
                               node.kwargs if node.params else _NO_PARAMS)
    return record


def _anonymous(graph: Graph) -> bytes:
    """Per node, 1 where no name refers to it (not the output either): a node whose
    adjoint only pictures ask for, by its id."""
    flags = graph.memo.get("anonymous")
    if flags is None:
        flags = bytearray(label is None for label in graph.labels)
        flags[graph.output] = 0
        flags = graph.memo["anonymous"] = bytes(flags)
    return flags


class HandedOn(Patched):
    """Adjoints where some anonymous nodes' arrays were handed on to an operand as its
    running sum (see ``_general_sweep``). Such an adjoint is computed again when first
    asked for: the sum of what its users' edges carry, in the sweep's order, the same
    bits. ``handed`` maps each such node to the operand it handed its array to."""

    def __init__(self, graph: Graph, values: Values, adjoints: list[Value],
                 handed: dict[int, int], needs: bytes) -> None:
        self.graph = graph
        self.values = values
        self.adjoints = adjoints  # None where handed on
        self.handed = handed
        self.needs = needs
        self._again: dict[int, Value] = {}
        self._stored = adjoints

    def _at(self, i: int) -> Any:
        if i not in self.handed:
            return self.adjoints[i]
        if i not in self._again:
            # Newest first, so that a handed user's adjoint is there when needed: no
            # recursion however long a chain of handed nodes.
            for h in sorted((h for h in self.handed if h >= i and h not in self._again),
                            reverse=True):
                self._again[h] = self._from_users(h)
        return self._again[i]

    def _from_users(self, i: int) -> Value:
        total: Value = None
        for u in _users(self.graph)[i]:  # newest first, as the sweep went
            if self[u] is None:
                continue
            cs = _edge_contributions(self.graph, self.values, self, u, self.needs)
            for k, j in enumerate(self.graph.nodes[u].operands):
                if j == i and cs[k] is not None:
                    total = cs[k] if total is None else total + cs[k]
        return total

    def surely_finite(self, i: int) -> bool:
        """Whether handed node ``i``'s adjoint is known to be finite without computing it:
        it is a term of the sum its array became, and a sum with a NaN or an infinity
        among its terms is not finite."""
        while i in self.handed:
            i = self.handed[i]
        return is_finite(self.adjoints[i])


def _users(graph: Graph) -> dict[int, list[int]]:
    """Each node's users (nodes it is an operand of), newest first; kept on the graph."""
    users = graph.memo.get("users")
    if users is None:
        users = {}
        for node in reversed(graph.nodes):
            for j in dict.fromkeys(node.operands):
                users.setdefault(j, []).append(node.id)
        graph.memo["users"] = users
    return users


def _edge_contributions(graph: Graph, values: Values, adjoints: tuple[Value, ...],
                        i: int, needs: bytes) -> tuple[Value, ...]:
    """What each edge into node ``i`` carried in the reverse sweep (the same computation)."""
    node = graph.nodes[i]
    rules = OPS[node.op].vjp  # type: ignore[index]
    vals = values.nodes
    g, outv = adjoints[i], vals[i]
    args = tuple(vals[j] for j in node.operands)
    kw = node.kwargs
    cs: list[Value] = []
    with np.errstate(all="ignore"):
        for k, j in enumerate(node.operands):
            if not needs[j]:
                cs.append(None)
                continue
            c = rules[k](g, outv, *args, **kw)
            if type(vals[j]) is not float or type(c) is not float:
                c = unbroadcast(c, vals[j])
            cs.append(c)
    return tuple(cs)


def tangents(graph: Graph, values: Values, wrt: str | Mapping[str, Any] = None) -> Tangents:  # type: ignore[assignment]
    """Forward mode: the tangent of every node along a direction in input space.

    ``wrt`` is an input name (direction: ones in that input's shape) or a mapping from
    input names to direction values; the default is the first input.
    """
    if wrt is None:
        if not graph.input_names:
            raise InputError("forward mode needs an input to differentiate with respect to, "
                             "and this program has none")
        wrt = graph.input_names[0]
    require(graph, values, Values, "tangents", _EVALUATE)
    direction = _direction(graph, values, wrt)
    nodes = graph.nodes
    vals = values.nodes
    tan: list[Value] = [None] * len(nodes)
    edges: dict[tuple[int, int], Value] = {}
    for i, t in direction.items():
        tan[i] = t
    with np.errstate(all="ignore"):
        for node in nodes:
            if node.kind != OP:
                continue
            i = node.id
            operands = node.operands
            if all(tan[j] is None for j in operands):
                continue
            rules = OPS[node.op].jvp  # type: ignore[index]
            outv = vals[i]
            args = tuple(vals[j] for j in operands)
            kw = node.kwargs
            acc: Value = None
            for k, j in enumerate(operands):
                t = tan[j]
                if t is None:
                    continue
                c = rules[k](t, outv, *args, **kw)
                edges[(i, k)] = c
                acc = c if acc is None else acc + c
            tan[i] = _reshape_like(acc, outv)
    result = Tangents(graph, values, tuple(tan), edges)
    result.wrt = wrt if isinstance(wrt, str) else ", ".join(wrt)
    return result


def _reshape_like(t: Value, like: Value) -> Value:
    if isinstance(like, np.ndarray):
        if not isinstance(t, np.ndarray) or t.shape != like.shape:
            return np.broadcast_to(t, like.shape)
        return t
    return float(np.sum(t)) if isinstance(t, np.ndarray) else t


def _input_id(graph: Graph, name: str) -> int:
    """The node of input ``name``; anything else is an :class:`InputError` listing the inputs."""
    if name not in graph.input_names:
        raise InputError(f"cannot differentiate with respect to {name!r}: it is not an input; "
                         f"the inputs are: {', '.join(graph.input_names) or 'none'}")
    return graph.inputs[graph.input_names.index(name)]


def _direction(graph: Graph, values: Values, wrt: str | Mapping[str, Any]) -> dict[int, Value]:
    items = {wrt: None} if isinstance(wrt, str) else dict(wrt)
    out: dict[int, Value] = {}
    for name, raw in items.items():
        i = _input_id(graph, name)
        like = values.nodes[i]
        if raw is None:
            out[i] = np.ones(like.shape) if isinstance(like, np.ndarray) else 1.0
        else:
            t = as_value(raw, f"direction for {name}")
            if np.shape(t) != np.shape(like):
                raise InputError(f"the direction for {name} has shape {np.shape(t)}, "
                                 f"but {name} has shape {np.shape(like)}")
            out[i] = t
    return out


def gradients(graph: Graph, inputs: Mapping[str, Any] | None = None, /, *,
              strict: bool = False, **kw: Any) -> Gradients:
    """Evaluate at a point and run reverse mode: d(output)/d(every named node).

    >>> from compgraph.parser import parse
    >>> gradients(parse("y = x**2"), x=3)["x"]
    6.0
    """
    return backward(graph, evaluate(graph, inputs, strict=strict, **kw))


def local_derivatives(graph: Graph, values: Values) -> dict[tuple[int, int], Value]:
    """d(node)/d(operand) for every edge whose ends are scalars (colah's edge labels)."""
    require(graph, values, Values, "local_derivatives", _EVALUATE)
    out: dict[tuple[int, int], Value] = {}
    vals = values.nodes
    for node in graph.nodes:
        if node.kind != OP or isinstance(vals[node.id], np.ndarray):
            continue
        args = tuple(vals[j] for j in node.operands)
        if any(isinstance(a, np.ndarray) for a in args):
            continue
        rules = OPS[node.op].vjp  # type: ignore[index]
        kw = node.kwargs
        with np.errstate(all="ignore"):
            for k in range(len(args)):
                out[(node.id, k)] = rules[k](1.0, vals[node.id], *args, **kw)
    return out


def _one_hot(shape: tuple[int, ...], k: int) -> Value:
    if shape == ():
        return 1.0
    e = np.zeros(int(np.prod(shape)))
    e[k] = 1.0
    return e.reshape(shape)


def jacobian(graph: Graph, wrt: str, inputs: Mapping[str, Any] | None = None, /, *,
             mode: str | None = None, values: Values | None = None, output: str | None = None,
             matrix: bool = False, strict: bool = False, **kw: Any) -> Value:
    """d(output)/d(wrt), shaped ``output.shape + wrt.shape`` (a float when both are scalars).

    ``wrt`` is any variable the output depends on: an input, or a named intermediate. For
    an intermediate the graph is cut there (:meth:`~compgraph.graph.Graph.cut`): its node
    is treated as a leaf, so the result is the derivative with respect to that variable
    itself, everything not computed from it held fixed, as the chain rule's factors are
    (∂a1/∂s1 for ``a1 = 3*relu(s1)`` is diag(3·relu′(s1))). A variable the output does
    not depend on is an :class:`InputError`; an input it does not depend on gives zeros.
    ``output`` names another variable as the output (default: the graph's).

    ``mode`` is ``"reverse"`` (one sweep per output element), ``"forward"`` (one per input
    element) or ``None`` for whichever needs fewer sweeps. ``matrix=True`` gives the
    Jacobian as a matrix, one row per output element and one column per element of
    ``wrt`` (row-major), as the homework writes it: ∂C/∂ŷ of a scalar C is a 1×K row.
    (Inputs called ``mode``, ``values``, ``output`` or ``matrix`` are given in the mapping.)

    >>> from compgraph.parser import parse
    >>> jacobian(parse("y = W @ x"), "x", W=[[1, 2], [3, 4]], x=[1, 1])
    array([[1., 2.],
           [3., 4.]])
    >>> g = parse("s = 2*x, a = s**2, C = sum(a)")
    >>> jacobian(g, "s", x=[1, 3], output="a")
    array([[ 4.,  0.],
           [ 0., 12.]])
    >>> jacobian(g, "a", x=[1, 3], matrix=True)
    array([[1., 1.]])
    """
    if output is not None and not isinstance(output, str):
        raise InputError(f"output names a variable, not {output!r}; give an input called "
                         "output in the mapping: jacobian(graph, wrt, {'output': ...})")
    if type(matrix) is not bool:
        raise InputError(f"matrix must be True or False, not {matrix!r}; give an input "
                         "called matrix in the mapping: jacobian(graph, wrt, {'matrix': ...})")
    if values is None:
        values = evaluate(graph, inputs, strict=strict, **kw)
    else:
        require(graph, values, Values, "jacobian", _EVALUATE)
    graph = graph.with_output(output)
    graph, x_id = _leaf(graph, wrt)
    if graph is not values.graph:
        # Values not kept were left out for the rules that run on the whole graph; the cut
        # graph runs others: every value, kept.
        nodes = values.nodes if not isinstance(values.nodes, Recomputed) else tuple(values.nodes)
        values = Values(graph, nodes, all_floats=values.all_floats)
    in_shape = np.shape(values.nodes[x_id])
    out_shape = np.shape(values.output)
    n_in = int(np.prod(in_shape))
    n_out = int(np.prod(out_shape))
    if mode is None:
        mode = "reverse" if n_out <= n_in else "forward"
    if mode not in ("forward", "reverse"):
        raise InputError(f"unknown mode {mode!r}; choose forward or reverse")
    jac = np.zeros((n_out, n_in))
    if mode == "reverse":
        for r in range(n_out):
            grads = backward(graph, values, seed=_one_hot(out_shape, r))
            jac[r, :] = np.ravel(grads.of(x_id))
    else:
        for c in range(n_in):
            tans = tangents(graph, values, {wrt: _one_hot(in_shape, c)})
            jac[:, c] = np.ravel(tans.output)
    if matrix:
        return jac
    if out_shape == () and in_shape == ():
        return float(jac[0, 0])
    return jac.reshape(out_shape + in_shape)


def _leaf(graph: Graph, wrt: str) -> tuple[Graph, int]:
    """The graph to differentiate in, and the node of ``wrt`` in it: an input as it is, a
    named intermediate as a leaf of the graph cut there."""
    if wrt in graph.input_names:
        return graph, _input_id(graph, wrt)
    if wrt not in graph.latest:
        raise InputError(f"cannot differentiate with respect to {wrt!r}: the program has no "
                         f"variable of that name; its variables are: {', '.join(graph.latest)}")
    i = graph.latest[wrt]
    if not graph.ancestors_of_output[i]:
        out = graph.output_name
        after = graph.with_output(wrt).ancestors_of_output[graph.output]
        hint = (f" ({wrt} is computed from {out}: the other way round, output {wrt} "
                f"with respect to {out}?)" if after else "")
        raise InputError(f"{out} does not depend on {wrt}: no path leads from {wrt} to "
                         f"{out}{hint}; {out} depends on: "
                         f"{', '.join(_named_ancestors(graph)) or 'nothing named'}")
    return graph.cut(wrt), i


def _named_ancestors(graph: Graph) -> list[str]:
    """The names whose newest node the output depends on (itself excluded), in order."""
    flags = graph.ancestors_of_output
    return [name for name, i in graph.latest.items() if flags[i] and i != graph.output]


def numeric_gradients(graph: Graph, inputs: Mapping[str, Any] | None = None, /, *,
                      eps: float = 1e-6, **kw: Any) -> dict[str, Value]:
    """Central differences of the (scalar) output with respect to every input.

    >>> from compgraph.parser import parse
    >>> round(numeric_gradients(parse("y = x**3"), x=2.0)["x"], 6)
    12.0
    """
    from .evaluate import point

    base = point(graph, inputs, **kw)
    out: dict[str, Value] = {}
    for name, value in base.items():
        flat = np.array(value, dtype=float).ravel()
        grad = np.zeros_like(flat)
        for k in range(flat.size):
            shifted = []
            for sign in (1.0, -1.0):
                probe = flat.copy()
                probe[k] += sign * eps
                v = probe.reshape(np.shape(value)) if np.ndim(value) else float(probe[0])
                result = evaluate(graph, {**base, name: v}).output
                if isinstance(result, np.ndarray):
                    raise EvaluationError(f"the numeric check needs a scalar output; "
                                          f"{graph.output_name} has shape {result.shape}")
                shifted.append(result)
            grad[k] = (shifted[0] - shifted[1]) / (2 * eps)
        out[name] = grad.reshape(np.shape(value)) if np.ndim(value) else float(grad[0])
    return out


@_quiet
def check_gradients(graph: Graph, inputs: Mapping[str, Any] | None = None, /, *,
                    eps: float = 1e-6, **kw: Any) -> dict[str, tuple[Value, Value, float]]:
    """For every input: (reverse-mode gradient, central difference, largest absolute gap).

    >>> from compgraph.parser import parse
    >>> analytic, numeric, gap = check_gradients(parse("y = sin(x)*x"), x=0.5)["x"]
    >>> gap < 1e-8
    True
    """
    values = evaluate(graph, inputs, **kw)
    grads = backward(graph, values)
    numeric = numeric_gradients(graph, values.inputs, eps=eps)
    report = {}
    for name, i in zip(graph.input_names, graph.inputs):
        a = grads.of(i)
        gap = float(np.max(np.abs(np.asarray(a) - np.asarray(numeric[name]))))
        report[name] = (a, numeric[name], gap)
    return report


# The first step of gradient_check, relative to max(1, |x|): the cube root of the machine
# epsilon balances a central difference's rounding error against its truncation error for
# functions that vary on the scale of |x|; for those that do not (sin at 1e9) it shrinks.
CHECK_STEP = float(np.finfo(float).eps) ** (1 / 3)
CHECK_TOLERANCE = 1e-4
_EPS = float(np.finfo(float).eps)


# The verdicts of gradient_check, the one that outweighs the others first.
VERDICTS = ("mismatch", "kink", "undefined", "ok")


def gradient_check(graph: Graph, values: Values, grads: Gradients | None = None
                   ) -> dict[str, dict[str, Any]]:
    """Every input's reverse-mode gradient against central differences, with a verdict.

    For each element x of an input the step starts at ``CHECK_STEP * max(1, |x|)`` (a
    fixed step reports false gaps for large |x|) and shrinks by 16 while the differences
    at h and 2h still disagree (a function that varies faster than |x|, or x near a kink).
    Per input: ``numeric`` (shaped like the input), ``relative_error`` (the largest
    ``|gradient − numeric| / max(1, |gradient|, |numeric|)``) and ``verdict``: ``"kink"``
    where the function is not differentiable (the one-sided differences disagree, and
    their gap stays when the step doubles, where a smooth curve's doubles too; or the
    function jumps), else ``"ok"`` within ``CHECK_TOLERANCE`` plus rounding noise, else
    ``"mismatch"``; ``"undefined"`` where the numeric difference is NaN and so is the
    gradient or the output itself (the function has no slope or no value there: there is
    nothing to compare, and calling that ``ok`` would pass off a NaN as checked). In an
    array a mismatch outweighs a kink, a kink an undefined element, and that an ok;
    ``relative_error`` is over the elements compared (NaN when none was). The same
    infinity on both sides agrees. Needs a scalar output.
    Given ``grads`` computed with ``wrt``, only the inputs among those are checked.

    >>> from compgraph.parser import parse
    >>> g = parse("y = relu(x) + sin(z)")
    >>> check = gradient_check(g, evaluate(g, x=0.0, z=1e9))
    >>> check["x"]["verdict"], check["z"]["verdict"], round(check["z"]["numeric"], 6)
    ('kink', 'ok', 0.837887)
    """
    if isinstance(values.output, np.ndarray):
        raise EvaluationError(f"the gradient check needs a scalar output; "
                              f"{graph.output_name} has shape {values.output.shape}")
    grads = backward(graph, values) if grads is None else grads
    base = values.inputs
    f0 = float(values.output)
    report: dict[str, dict[str, Any]] = {}
    for name, i in zip(graph.input_names, graph.inputs):
        if grads.computed is not None and not grads.computed[i]:
            continue  # not asked for (backward's wrt): nothing to check
        shape = np.shape(base[name])
        flat = np.array(base[name], dtype=float).ravel()
        analytic = np.broadcast_to(np.asarray(grads.of(i), dtype=float), shape).ravel()
        numeric = np.zeros_like(flat)
        errors, verdicts = [], set()

        def f(k: int, x: float) -> float:
            probe = flat.copy()
            probe[k] = x
            return float(evaluate(graph, {**base, name: probe.reshape(shape) if shape
                                          else float(probe[0])}).output)

        with np.errstate(all="ignore"):
            for k, x in enumerate(flat.tolist()):
                numeric[k], error, verdict = _check_one(lambda v: f(k, v), x, f0,
                                                        float(analytic[k]))
                if verdict != "undefined":
                    errors.append(error)
                verdicts.add(verdict)
        report[name] = {"numeric": numeric.reshape(shape) if shape else float(numeric[0]),
                        "relative_error": max(errors, key=lambda e: (e != e, e), default=math.nan),
                        "verdict": next(v for v in VERDICTS if v in verdicts)}
    return report


def _check_one(f: Any, x: float, f0: float, a: float) -> tuple[float, float, str]:
    """(numeric, relative error, verdict) of one element; see :func:`gradient_check`."""
    floor = 64 * float(np.spacing(abs(x))) if x else 1e-300

    def central(h: float) -> tuple[float, float, float, float]:
        h = (x + h) - x            # a step the floats represent exactly
        fp, fm = f(x + h), f(x - h)
        return h, fp, fm, (fp - fm) / (2 * h)

    h, fp, fm, n = central(CHECK_STEP * max(1.0, abs(x)))
    for _ in range(8):
        # A difference that still changes when the step shrinks 16-fold has not settled:
        # the function varies faster than |x| (sin at 1e9), or x is near a kink.
        h2, fp2, fm2, n2 = central(h / 16)
        noise = 4 * _EPS * max(abs(f0), abs(fp2), abs(fm2)) / h2
        settled = abs(n2 - n) <= CHECK_TOLERANCE * max(1.0, abs(a), abs(n2)) + 10 * noise
        h, fp, fm, n = h2, fp2, fm2, n2
        if settled or h / 16 < floor:
            break
    if not (math.isfinite(a) and math.isfinite(n)):
        if math.isnan(n) and (math.isnan(a) or math.isnan(f0)):
            return n, math.nan, "undefined"  # no slope, or no value at all: nothing to compare
        return n, 0.0 if a == n else math.nan, "ok" if a == n else "mismatch"
    scale = max(1.0, abs(a), abs(n))
    fp2, fm2 = f(x + 2 * h), f(x - 2 * h)
    noise = 4 * _EPS * max(abs(f0), abs(fp), abs(fm), abs(fp2), abs(fm2)) / h
    # One-sided differences: at a kink they disagree by the same amount at h and 2h (a
    # smooth curve's gap doubles); at a jump the rise itself does not shrink with h.
    gap, gap2 = (fp - f0) / h - (f0 - fm) / h, (fp2 - f0) / (2 * h) - (f0 - fm2) / (2 * h)
    rise, rise2 = fp - fm, fp2 - fm2
    kink = abs(gap) > max(1e-3 * scale, 100 * noise) and abs(gap2 - gap) < 0.5 * abs(gap)
    jump = abs(rise) > 100 * noise * h and abs(rise2 - rise) < 0.5 * abs(rise)
    error = abs(a - n) / scale
    if kink or jump:
        return n, error, "kink"
    return n, error, "ok" if abs(a - n) <= CHECK_TOLERANCE * scale + 10 * noise else "mismatch"
