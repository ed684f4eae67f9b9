"""The immutable computational graph: nodes with ordered operands, and names bound to them.

A :class:`Graph` is plain data. Nodes are numbered in one topological order (every
operand before its users), so a forward sweep is a loop over ``range(len(nodes))`` and a
reverse sweep the same loop backwards: no recursion anywhere. Values, gradients and
tangents are separate mappings computed from a graph (``compgraph.evaluate``,
``compgraph.differentiate``); the graph itself never changes.

Graphs are built by :class:`GraphBuilder`, which the language parser and the Python
builder both use.

Calls of user-defined functions (``def``) are inlined: the graph stays a flat DAG of
registry operators, and :attr:`Graph.calls` records each call (``linear#1``: the first
call of ``linear``) with the nodes its body made, so that pictures can draw a call as a
labelled cluster. Names bound inside a body are local to it: they are not the program's
variables (not in :attr:`Graph.latest`, nor in the values and gradients by name), and
:meth:`Graph.local_name` gives them for pictures. ``build()`` renumbers nodes canonically (statements in order, each
statement's expression post-order, operands left to right), so the same computation gives
an equal graph however it was written down.

>>> b = GraphBuilder()
>>> x = b.input("x")
>>> s = b.apply("add", (x, x))
>>> b.bind("s", s)
>>> g = b.build()
>>> [(n.kind, n.op, n.operands) for n in g.nodes]
[('input', None, ()), ('op', 'add', (0, 0))]
>>> g.output_name, g.input_names
('s', ('x',))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import ParseError, UnknownNameError
from .ops import OPS

Value = Any

INPUT, CONST, OP = "input", "const", "op"

_PRIMES = ("", "′", "″", "‴")


def freeze_value(value: Value) -> Value:
    """Scalars become floats; arrays become read-only float64 arrays (so graphs stay immutable)."""
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        arr = np.array(value, dtype=float)
        if arr.ndim == 0:
            return float(arr)
        arr.setflags(write=False)
        return arr
    return float(value)


def _value_key(v: Value) -> Any:
    if isinstance(v, np.ndarray):
        return ("array", v.shape, tuple(v.ravel().tolist()))
    return v


@dataclass(frozen=True, eq=False)
class Node:
    """One node: an ``input``, a ``const`` or an ``op`` applied to ordered operands.

    ``value`` is a constant's value or an input's default (``None`` when it has none).
    ``span`` is the ``(start, end)`` offset of the node in the program text, for errors.
    ``params`` are an op's static parameters as ``(name, value)`` pairs in the registry's
    order, defaults included (``(("axis", 0),)`` for ``sum(x, axis=0)``).
    """

    id: int
    kind: str
    op: str | None = None
    operands: tuple[int, ...] = ()
    name: str | None = None
    value: Value = None
    span: tuple[int, int] | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def key(self) -> tuple:
        """What makes two nodes the same (the span does not)."""
        return (self.id, self.kind, self.op, self.operands, self.name, _value_key(self.value),
                self.params)

    @property
    def kwargs(self) -> dict[str, Any]:
        """The static parameters as the keyword arguments the operator's rules take."""
        return dict(self.params)

    @property
    def op_label(self) -> str:
        """What a picture writes on this op's block (``Σ₀`` for ``sum(x, axis=0)``)."""
        return OPS[self.op].label_for(self.kwargs)  # type: ignore[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())


@dataclass(frozen=True)
class Binding:
    """A statement ``name = ...``: the name now refers to ``node`` (a new version of it)."""

    name: str
    node: int
    span: tuple[int, int] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Call:
    """One call of a user-defined function, inlined into the graph.

    ``id`` is ``name#k`` for the k-th call of function ``name`` in the program (calls
    made inside other calls count too, in the order they are inlined); ``parent`` is the
    index in :attr:`Graph.calls` of the call this one sits in, -1 at the top level;
    ``args`` are the argument nodes, ``result`` the node of its ``return``.
    """

    id: str
    function: str
    parent: int
    args: tuple[int, ...]
    result: int
    span: tuple[int, int] | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False)
class Graph:
    """A computational graph: nodes in topological order, named bindings, one output."""

    nodes: tuple[Node, ...]
    bindings: tuple[Binding, ...]
    output: int
    output_name: str
    source: str | None = None
    # Inlined calls of user-defined functions; per node, the index of the innermost call
    # that made it (-1: the top level), and names local to a body. Both per-node tuples are
    # empty when the program has no calls. Like spans, they do not take part in equality:
    # a program written with ``def`` equals the same program written out.
    calls: tuple[Call, ...] = ()
    node_calls: tuple[int, ...] = ()
    local_names: tuple[str | None, ...] = ()

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Graph) and self.nodes == other.nodes
                and self.bindings == other.bindings and self.output == other.output
                and self.output_name == other.output_name)

    def __hash__(self) -> int:
        return hash((self.nodes, self.bindings, self.output))

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return (f"<Graph {len(self.nodes)} nodes, inputs {', '.join(self.input_names) or '-'}, "
                f"output {self.output_name}>")

    # --- derived views (computed once, the graph never changes) --------------------------

    @cached_property
    def inputs(self) -> tuple[int, ...]:
        """Input node ids, ordered by first appearance."""
        return tuple(n.id for n in self.nodes if n.kind == INPUT)

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.nodes[i].name for i in self.inputs)  # type: ignore[misc]

    @cached_property
    def versions(self) -> dict[str, tuple[int, ...]]:
        """Each name's nodes, oldest first: an input is version 0 of its name."""
        out: dict[str, list[int]] = {}
        for i in self.inputs:
            out[self.nodes[i].name] = [i]  # type: ignore[index]
        for b in self.bindings:
            seen = out.setdefault(b.name, [])
            if not seen or seen[-1] != b.node:
                seen.append(b.node)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def latest(self) -> dict[str, int]:
        """Each name's newest node, in order of first appearance."""
        return {name: ids[-1] for name, ids in self.versions.items()}

    @cached_property
    def labels(self) -> tuple[str | None, ...]:
        """Each node's display name: ``a``, ``c′`` for a second version, ``s2 = ŷ`` for an alias,
        ``None`` for an anonymous intermediate or a constant."""
        names: list[list[str]] = [[] for _ in self.nodes]
        for name, ids in self.versions.items():
            for version, i in enumerate(ids):
                mark = _PRIMES[version] if version < len(_PRIMES) else f"⁽{version}⁾"
                label = name + mark
                if label not in names[i]:
                    names[i].append(label)
        if not names[self.output]:
            names[self.output].append(self.output_name)
        return tuple(" = ".join(n) if n else None for n in names)

    @cached_property
    def ancestors_of_output(self) -> tuple[bool, ...]:
        """Whether each node can influence the output (an iterative sweep, newest first)."""
        flags = [False] * len(self.nodes)
        flags[self.output] = True
        for i in range(self.output, -1, -1):
            if flags[i]:
                for j in self.nodes[i].operands:
                    flags[j] = True
        return tuple(flags)

    @cached_property
    def depends_on_input(self) -> tuple[bool, ...]:
        """Whether each node depends on some input (constants and their results do not)."""
        flags: list[bool] = []
        for n in self.nodes:
            depends = n.kind == INPUT
            if n.kind == OP:
                for j in n.operands:  # a loop, not any(...): no generator object per node
                    if flags[j]:
                        depends = True
                        break
            flags.append(depends)
        return tuple(flags)

    @cached_property
    def memo(self) -> dict[str, Any]:
        """Plans that evaluation and differentiation derive from the graph once and reuse
        (see ``compgraph.evaluate``); the graph never changes, so they never go stale."""
        return {}

    def topological_order(self) -> range:
        """Node ids, every operand before its users (the numbering is already topological)."""
        return range(len(self.nodes))

    def node(self, name: str) -> Node:
        """The newest node bound to ``name``."""
        try:
            return self.nodes[self.latest[name]]
        except KeyError:
            raise UnknownNameError(
                f"no variable named {name!r}; the program has: {', '.join(self.latest) or 'none'}"
            ) from None

    def with_output(self, name: str | None) -> "Graph":
        """The same graph with another named variable as its output (``None``: unchanged)."""
        if name is None or name == self.output_name:
            return self
        node = self.node(name)
        return Graph(self.nodes, self.bindings, node.id, name, self.source, self.calls,
                     self.node_calls, self.local_names)

    def cut(self, name: str) -> "Graph":
        """The same graph with the newest node of ``name`` turned into an input (a leaf).

        What reaches that node from its operands is cut off, so differentiating the cut
        graph with respect to ``name`` gives the derivative of the output with respect to
        that variable itself, everything else held fixed: for ``a1 = 3*relu(s1)``, cutting
        at ``s1`` gives ∂a1/∂s1 = diag(3·relu′(s1)) whatever s1 was computed from. Node ids
        are kept, so the original graph's values are the cut graph's values too. An input's
        name gives the graph itself.

        >>> b = GraphBuilder()
        >>> x = b.input("x")
        >>> s = b.apply("mul", (x, x))
        >>> b.bind("s", s)
        >>> b.bind("a", b.apply("neg", (s,)))
        >>> cut = b.build().cut("s")
        >>> cut.input_names, [n.kind for n in cut.nodes]
        (('x', 's'), ['input', 'input', 'op'])
        """
        node = self.node(name)
        if node.kind == INPUT:
            return self
        leaf = Node(node.id, INPUT, name=name, value=None, span=node.span)
        nodes = self.nodes[:node.id] + (leaf,) + self.nodes[node.id + 1:]
        return replace(self, nodes=nodes)  # every other field as it is

    def label(self, i: int) -> str | None:
        return self.labels[i]

    # --- inlined calls of user-defined functions ----------------------------------------

    def call_of(self, i: int) -> Call | None:
        """The innermost call whose body made node ``i`` (``None`` at the top level).

        >>> from compgraph.parser import parse
        >>> g = parse("def f(x):\\n    y = 3*x\\n    return y\\nz = f(u) + 1")
        >>> [(n.op, g.call_of(n.id) and g.call_of(n.id).id) for n in g.nodes if n.kind == "op"]
        [('mul', 'f#1'), ('add', None)]
        """
        if not self.node_calls:
            return None
        k = self.node_calls[i]
        return None if k < 0 else self.calls[k]

    def call_path(self, i: int) -> tuple[str, ...]:
        """The calls node ``i`` sits in, outermost first: ``("net#1", "linear#2")``."""
        k = self.node_calls[i] if self.node_calls else -1
        path: list[str] = []
        while k >= 0:
            path.append(self.calls[k].id)
            k = self.calls[k].parent
        return tuple(reversed(path))

    @cached_property
    def call_members(self) -> tuple[tuple[int, ...], ...]:
        """Per call (indexed like :attr:`calls`), the nodes its body made directly (the
        nodes of calls nested in it belong to those)."""
        members: list[list[int]] = [[] for _ in self.calls]
        for i, k in enumerate(self.node_calls):
            if k >= 0:
                members[k].append(i)
        return tuple(tuple(m) for m in members)

    def call_note(self, i: int) -> str:
        """`` in linear#2 (called at line 12)`` for a node a function's body made, so that a
        message pointing into the body says which call it is about; ``""`` otherwise."""
        call = self.call_of(i)
        if call is None:
            return ""
        where = ""
        if call.span is not None and self.source is not None:
            where = f" (called at line {self.source.count(chr(10), 0, call.span[0]) + 1})"
        return f" in {call.id}{where}"

    def local_name(self, i: int) -> str | None:
        """The name node ``i`` was given inside a function's body (``s`` in
        ``def linear(W, b, x): s = W @ x + b ...``), or ``None``."""
        return self.local_names[i] if self.local_names else None


class GraphBuilder:
    """Collects nodes and statements in any order; :meth:`build` makes the canonical graph."""

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        self._kind: list[str] = []
        self._op: list[str | None] = []
        self._operands: list[tuple[int, ...]] = []
        self._name: list[str | None] = []
        self._value: list[Value] = []
        self._span: list[tuple[int, int] | None] = []
        self._params: dict[int, tuple[tuple[str, Any], ...]] = {}  # only ops that have some
        self._bindings: list[tuple[str, int, tuple[int, int] | None]] = []
        self._inputs: dict[str, int] = {}
        # Inlined calls: the nodes made while ``call`` >= 0 belong to that call.
        self.call = -1
        self._call: list[int] = []
        self._calls: list[list[Any]] = []   # [id, function, parent, args, result, span]
        self._call_counts: dict[str, int] = {}
        self._local: dict[int, str] = {}

    def _add(self, kind: str, op: str | None, operands: tuple[int, ...], name: str | None,
             value: Value, span: tuple[int, int] | None) -> int:
        self._kind.append(kind)
        self._op.append(op)
        self._operands.append(operands)
        self._name.append(name)
        self._value.append(value)
        self._span.append(span)
        self._call.append(self.call)
        return len(self._kind) - 1

    def input(self, name: str, default: Value = None, span: tuple[int, int] | None = None) -> int:
        """The input called ``name`` (created on first use)."""
        i = self._inputs.get(name)
        if i is None:
            value = None if default is None else freeze_value(default)
            i = self._inputs[name] = self._add(INPUT, None, (), name, value, span)
        return i

    def const(self, value: Value, span: tuple[int, int] | None = None) -> int:
        return self._add(CONST, None, (), None, freeze_value(value), span)

    def apply(self, op: str, operands: Iterable[int], span: tuple[int, int] | None = None,
              params: Mapping[str, Any] | None = None) -> int:
        """Operator ``op`` on ``operands``; ``params`` are its static parameters, checked and
        completed with their defaults (:meth:`compgraph.ops.Op.bind`)."""
        operands = tuple(operands)
        record = OPS[op]
        if len(operands) != record.arity:
            raise ValueError(f"{op} takes {record.arity} operands, got {len(operands)}")
        i = self._add(OP, op, operands, None, None, span)
        if record.params:
            self._params[i] = record.bind(params or {})
        elif params:
            record.bind(params)  # raises: this operator takes none
        return i

    def bind(self, name: str, node: int, span: tuple[int, int] | None = None) -> None:
        """A statement: ``name`` now refers to ``node``."""
        self._bindings.append((name, node, span))

    def begin_call(self, function: str, args: Iterable[int],
                   span: tuple[int, int] | None = None) -> int:
        """Start inlining a call of ``function``: the nodes made until :meth:`end_call`
        belong to it. Returns the call's index; calls nest."""
        count = self._call_counts[function] = self._call_counts.get(function, 0) + 1
        self._calls.append([f"{function}#{count}", function, self.call, tuple(args), -1, span])
        self.call = len(self._calls) - 1
        return self.call

    def end_call(self, result: int) -> None:
        """Finish the innermost call: its ``return`` gave ``result``."""
        record = self._calls[self.call]
        record[4] = result
        self.call = record[2]

    def name_local(self, node: int, name: str) -> None:
        """Name ``node`` inside the body of the call that made it (a local variable)."""
        if 0 <= self._call[node] == self.call:
            self._local[node] = name

    def build(self, output: int | None = None, output_name: str | None = None) -> Graph:
        """The canonical graph; the output defaults to the last statement's node."""
        if output is None:
            if not self._bindings:
                raise ParseError("empty program: write at least one statement, e.g. y = 2*x")
            output_name, output, _ = self._bindings[-1]
        elif output_name is None:
            output_name = next((b[0] for b in reversed(self._bindings) if b[1] == output), "output")
        roots = [b[1] for b in self._bindings] + [output]
        if self._calls:
            # Python runs a body's dead statements and evaluates unused arguments: keep them.
            roots += sorted(self._local)
            for record in self._calls:
                roots += [*record[3], record[4]]
        operands = self._operands
        new_id = [-1] * len(operands)
        order: list[int] = []
        # Iterative post-order, operands left to right: a node stays on the stack until
        # its operands are numbered. Operands are always created before their users, so
        # most nodes find theirs numbered at the first look.
        for root in roots:
            if new_id[root] >= 0:
                continue
            stack = [root]
            while stack:
                i = stack[-1]
                for j in operands[i]:
                    if new_id[j] < 0:
                        stack.append(j)
                        break
                else:
                    stack.pop()
                    if new_id[i] < 0:
                        new_id[i] = len(order)
                        order.append(i)
        renumber = new_id.__getitem__
        kinds, ops, names, values, spans = self._kind, self._op, self._name, self._value, self._span
        params = self._params
        new_node = object.__new__
        nodes_list = []
        for new, old in enumerate(order):
            # Node's own __init__ costs a frozen-dataclass setattr per field; a graph of
            # 100,000 statements builds a quarter of a million nodes. Same fields, filled
            # directly.
            node = new_node(Node)
            fields = node.__dict__  # filled key by key, in field order, so keys are shared
            fields["id"] = new
            fields["kind"] = kinds[old]
            fields["op"] = ops[old]
            fields["operands"] = tuple(map(renumber, operands[old]))
            fields["name"] = names[old]
            fields["value"] = values[old]
            fields["span"] = spans[old]
            fields["params"] = params.get(old, ()) if params else ()
            nodes_list.append(node)
        nodes = tuple(nodes_list)
        bindings = tuple(Binding(name, new_id[i], span) for name, i, span in self._bindings)
        calls: tuple[Call, ...] = ()
        node_calls: tuple[int, ...] = ()
        local_names: tuple[str | None, ...] = ()
        if self._calls:
            calls = tuple(Call(cid, fn, parent, tuple(new_id[a] for a in args), new_id[res], span)
                          for cid, fn, parent, args, res, span in self._calls)
            node_calls = tuple(self._call[old] for old in order)
            local = self._local
            local_names = tuple(local.get(old) for old in order)
        return Graph(nodes, bindings, new_id[output], output_name, self.source, calls,
                     node_calls, local_names)
