"""The immutable computational graph: nodes with ordered operands, and names bound to them.

A :class:`Graph` is plain data. Nodes are numbered in one topological order (every
operand before its users), so a forward sweep is a loop over ``range(len(nodes))`` and a
reverse sweep the same loop backwards: no recursion anywhere. Values, gradients and
tangents are separate mappings computed from a graph (``compgraph.evaluate``,
``compgraph.differentiate``); the graph itself never changes.

Nodes are stored by column (:class:`Nodes`: an operator code and two operand ids per
node in compact arrays, names, values and parameters only where a node has them), about
20 bytes a node instead of several hundred for an object per node, so that a program of
a million statements fits in memory. ``graph.nodes[i]`` makes node ``i``'s :class:`Node`
when asked; code that walks every node reads the columns instead.

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

import unicodedata
from array import array
from operator import index
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from .errors import ParseError, UnknownNameError
from .ops import OPS

Value = Any

INPUT, CONST, OP = "input", "const", "op"

# A node's code, one byte: 0 an input, 1 a constant, 2 + k the k-th operator of the registry.
INPUT_CODE, CONST_CODE = 0, 1
OP_CODE: dict[str, int] = {name: k + 2 for k, name in enumerate(OPS)}
OP_OF_CODE: tuple[str | None, ...] = (None, None) + tuple(OPS)
KIND_OF_CODE: tuple[str, ...] = (INPUT, CONST) + (OP,) * len(OPS)
assert len(OP_OF_CODE) <= 256, "node codes are one byte"

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


def int_column(values: Iterable[int] | np.ndarray | array) -> memoryview:
    """A read-only column of 32-bit integers (node ids, offsets in the program text).

    >>> col = int_column([3, -1, 7])
    >>> list(col), col[2], col.readonly
    ([3, -1, 7], 7, True)
    """
    if isinstance(values, np.ndarray):
        data = np.ascontiguousarray(values, dtype=np.int32).tobytes()
    elif isinstance(values, array) and values.typecode == "i":
        data = values.tobytes()
    else:
        data = array("i", values).tobytes()
    return memoryview(data).cast("i")


_new_node = object.__new__


class _Rows(Sequence):
    """A sequence whose items are made from columns when asked for (``_item``)."""

    __slots__ = ()
    _what = "item"

    def _item(self, i: int) -> Any:
        raise NotImplementedError

    def __getitem__(self, i: Any) -> Any:
        n = len(self)
        if isinstance(i, slice):
            return tuple(map(self._item, range(*i.indices(n))))
        i = index(i)   # a NumPy integer too; anything else is a TypeError
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"{self._what} {i} is not in this graph of {n} {self._what}s")
        return self._item(i)

    def __iter__(self) -> Iterator[Any]:
        return map(self._item, range(len(self)))

    def __reversed__(self) -> Iterator[Any]:
        return map(self._item, range(len(self) - 1, -1, -1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class Nodes(_Rows):
    """A graph's nodes, stored by column; ``nodes[i]`` makes node ``i``'s :class:`Node`.

    The columns are read-only: ``codes`` (one byte per node: :data:`INPUT_CODE`,
    :data:`CONST_CODE` or ``OP_CODE[op]``), ``first`` and ``second`` (the first two
    operand ids, -1 where there is none), ``starts`` and ``ends`` (each node's span in
    the program text, -1 without one), and mappings from node id, holding only the nodes
    that have an entry: ``names`` (inputs), ``values`` (constants, and inputs' defaults),
    ``params`` (operators with static parameters) and ``more`` (the whole operand tuple
    of an operator with more than two). Equality and hashing are those of the nodes:
    spans do not take part.

    >>> from compgraph.parser import parse
    >>> nodes = parse("y = 2*x").nodes
    >>> nodes[2], [OP_OF_CODE[c] for c in nodes.codes], list(nodes.first)
    (Node(id=2, kind='op', op='mul', operands=(0, 1), name=None, value=None, span=(4, 7), params=()), [None, None, 'mul'], [-1, -1, 0])
    """

    __slots__ = ("codes", "first", "second", "starts", "ends", "_names", "_values", "_params",
                 "_more", "_hash")
    _what = "node"

    def __init__(self, codes: bytes, first: memoryview, second: memoryview,
                 starts: memoryview, ends: memoryview, names: dict[int, str] | None = None,
                 values: dict[int, Value] | None = None,
                 params: dict[int, tuple[tuple[str, Any], ...]] | None = None,
                 more: dict[int, tuple[int, ...]] | None = None) -> None:
        n = len(codes)
        if not (len(first) == len(second) == len(starts) == len(ends) == n):
            raise ValueError("the columns of a graph's nodes must have one length")
        self.codes = bytes(codes)
        self.first = first
        self.second = second
        self.starts = starts
        self.ends = ends
        self._names = names or {}
        self._values = values or {}
        self._params = params or {}
        self._more = more or {}
        self._hash: int | None = None

    @classmethod
    def of(cls, nodes: Iterable[Node]) -> "Nodes":
        """The columns of a sequence of :class:`Node` objects numbered 0, 1, 2, ..."""
        codes = bytearray()
        first, second, starts, ends = array("i"), array("i"), array("i"), array("i")
        names: dict[int, str] = {}
        values: dict[int, Value] = {}
        params: dict[int, tuple[tuple[str, Any], ...]] = {}
        more: dict[int, tuple[int, ...]] = {}
        for i, node in enumerate(nodes):
            if node.id != i:
                raise ValueError(f"node {node.id} is at position {i}: nodes are numbered in order")
            codes.append(INPUT_CODE if node.kind == INPUT else CONST_CODE if node.kind == CONST
                         else OP_CODE[node.op])  # type: ignore[index]
            ops = node.operands
            first.append(ops[0] if ops else -1)
            second.append(ops[1] if len(ops) > 1 else -1)
            if len(ops) > 2:
                more[i] = tuple(ops)
            starts.append(node.span[0] if node.span is not None else -1)
            ends.append(node.span[1] if node.span is not None else -1)
            if node.name is not None:
                names[i] = node.name
            if node.value is not None:
                values[i] = node.value
            if node.params:
                params[i] = node.params
        return cls(bytes(codes), int_column(first), int_column(second), int_column(starts),
                   int_column(ends), names, values, params, more)

    # --- the columns' mappings, read-only ---------------------------------------------

    @property
    def names(self) -> Mapping[int, str]:
        return MappingProxyType(self._names)

    @property
    def values(self) -> Mapping[int, Value]:
        return MappingProxyType(self._values)

    @property
    def params(self) -> Mapping[int, tuple[tuple[str, Any], ...]]:
        return MappingProxyType(self._params)

    @property
    def more(self) -> Mapping[int, tuple[int, ...]]:
        return MappingProxyType(self._more)

    def value_list(self) -> list[Value]:
        """Each node's value (a constant's, an input's default) or ``None``, as a list."""
        out: list[Value] = [None] * len(self.codes)
        for i, value in self._values.items():
            out[i] = value
        return out

    def numpy(self, column: str) -> np.ndarray:
        """A column as a read-only NumPy array: ``codes`` (uint8) or an int32 column."""
        if column == "codes":
            return np.frombuffer(self.codes, dtype=np.uint8)
        return np.frombuffer(getattr(self, column).obj, dtype=np.int32)

    def operands(self, i: int) -> tuple[int, ...]:
        """Node ``i``'s operand ids, in order."""
        a = self.first[i]
        if a < 0:
            return ()
        b = self.second[i]
        if b < 0:
            return (a,)
        if self._more and i in self._more:
            return self._more[i]
        return (a, b)

    # --- the sequence of nodes ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self.codes)

    def _item(self, i: int) -> Node:
        # Node's own __init__ costs a frozen-dataclass setattr per field: the same fields,
        # filled directly, in field order so that the instances share their keys.
        code = self.codes[i]
        node = _new_node(Node)
        fields = node.__dict__
        fields["id"] = i
        fields["kind"] = KIND_OF_CODE[code]
        fields["op"] = OP_OF_CODE[code]
        fields["operands"] = self.operands(i)
        fields["name"] = self._names.get(i)
        fields["value"] = self._values.get(i)
        start = self.starts[i]
        fields["span"] = None if start < 0 else (start, self.ends[i])
        fields["params"] = self._params.get(i, ())
        return node

    # --- equality: the nodes', spans aside ----------------------------------------------

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Nodes):
            return NotImplemented
        return (self.codes == other.codes and self.first.obj == other.first.obj
                and self.second.obj == other.second.obj and self._names == other._names
                and self._params == other._params and self._more == other._more
                and self._values.keys() == other._values.keys()
                and all(_value_key(v) == _value_key(other._values[i])
                        for i, v in self._values.items()))

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.codes, self.first.obj, self.second.obj,
                               tuple(sorted(self._names.items())),
                               tuple(sorted((i, _value_key(v)) for i, v in self._values.items())),
                               tuple(sorted(self._params.items())),
                               tuple(sorted(self._more.items()))))
        return self._hash

    def with_input(self, i: int, name: str) -> "Nodes":
        """The same nodes with node ``i`` turned into an input called ``name`` (a leaf)."""
        def put(column: memoryview, value: int) -> memoryview:
            data = array("i", column)
            data[i] = value
            return int_column(data)

        names = {**self._names, i: name}
        values = {k: v for k, v in self._values.items() if k != i}
        params = {k: v for k, v in self._params.items() if k != i}
        more = {k: v for k, v in self._more.items() if k != i}
        codes = self.codes[:i] + bytes([INPUT_CODE]) + self.codes[i + 1:]
        return Nodes(codes, put(self.first, -1), put(self.second, -1), self.starts, self.ends,
                     names, values, params, more)


class Bindings(_Rows):
    """A graph's statements by column (``names``, and ``nodes``, ``starts``, ``ends`` as
    read-only integer columns, -1 for no span); ``bindings[k]`` makes the k-th
    :class:`Binding`. Equality is that of the bindings: spans do not take part.

    Instead of ``names``, a parser may give ``name_text = (source, name_ends)``: each name
    is then the program text from its statement's start to its ``name_ends`` entry, read
    the first time the names are asked for (parsing a long program makes no string per
    statement for a name nobody looks up)."""

    __slots__ = ("_names", "_name_text", "nodes", "starts", "ends")
    _what = "binding"

    def __init__(self, names: tuple[str, ...] | None, nodes: memoryview, starts: memoryview,
                 ends: memoryview, name_text: tuple[str, memoryview] | None = None) -> None:
        count = len(names) if names is not None else len(name_text[1])  # type: ignore[index]
        if not (count == len(nodes) == len(starts) == len(ends)):
            raise ValueError("the columns of a graph's bindings must have one length")
        self._names = None if names is None else tuple(names)
        self._name_text = name_text if names is None else None
        self.nodes = nodes
        self.starts = starts
        self.ends = ends

    @property
    def names(self) -> tuple[str, ...]:
        names = self._names
        if names is None:
            source, name_ends = self._name_text  # type: ignore[misc]
            names = self._names = tuple(map(source.__getitem__,
                                            map(slice, self.starts, name_ends)))
            self._name_text = None
        return names

    @classmethod
    def of(cls, bindings: Iterable[Binding]) -> "Bindings":
        bindings = list(bindings)
        return cls(tuple(b.name for b in bindings), int_column(b.node for b in bindings),
                   int_column(b.span[0] if b.span else -1 for b in bindings),
                   int_column(b.span[1] if b.span else -1 for b in bindings))

    def __len__(self) -> int:
        return len(self.nodes)

    def _item(self, k: int) -> Binding:
        start = self.starts[k]
        return Binding(self.names[k], self.nodes[k], None if start < 0 else (start, self.ends[k]))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Bindings):
            return NotImplemented
        return self.names == other.names and self.nodes.obj == other.nodes.obj

    def __hash__(self) -> int:
        return hash((self.names, self.nodes.obj))


@dataclass(frozen=True, eq=False)
class Graph:
    """A computational graph: nodes in topological order, named bindings, one output."""

    nodes: Nodes              # a tuple of Node objects is accepted too, and stored by column
    bindings: Bindings        # likewise for a tuple of Binding objects
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

    def __post_init__(self) -> None:
        if not isinstance(self.nodes, Nodes):
            object.__setattr__(self, "nodes", Nodes.of(self.nodes))
        if not isinstance(self.bindings, Bindings):
            object.__setattr__(self, "bindings", Bindings.of(self.bindings))

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
        return tuple(sorted(self.nodes.names))

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        names = self.nodes.names
        return tuple(names[i] for i in self.inputs)

    @cached_property
    def versions(self) -> dict[str, tuple[int, ...]]:
        """Each name's nodes, oldest first: an input is version 0 of its name."""
        out: dict[str, list[int]] = {name: [i] for i, name in zip(self.inputs, self.input_names)}
        for name, node in zip(self.bindings.names, self.bindings.nodes):
            seen = out.setdefault(name, [])
            if not seen or seen[-1] != node:
                seen.append(node)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def latest(self) -> dict[str, int]:
        """Each name's newest node, in order of first appearance (inputs first, as in
        :attr:`versions`, which it equals at the last version of each name)."""
        # Straight from the columns: the versions of a million names are not needed for this.
        out = dict(zip(self.input_names, self.inputs))
        out.update(zip(self.bindings.names, self.bindings.nodes))
        return out

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
        nodes = self.nodes
        first, second, more = nodes.first, nodes.second, nodes.more
        flags = bytearray(len(nodes))
        flags[self.output] = 1
        for i in range(self.output, -1, -1):
            if flags[i]:
                a = first[i]
                if a >= 0:
                    flags[a] = 1
                    b = second[i]
                    if b >= 0:
                        flags[b] = 1
                        if more and i in more:
                            for j in more[i]:
                                flags[j] = 1
        return tuple(map(bool, flags))

    @cached_property
    def depends_on_input(self) -> tuple[bool, ...]:
        """Whether each node depends on some input (constants and their results do not)."""
        return tuple(map(bool, self.input_dependence))

    @cached_property
    def input_dependence(self) -> bytes:
        """:attr:`depends_on_input` as bytes, 1 where a node depends on some input: what
        reverse mode reads (a tuple of a bool per node costs a one-shot run more)."""
        nodes = self.nodes
        if not nodes.more:
            # The nodes that do not are the constants and the operations on them only,
            # found a level of such operations per pass over all the nodes (NumPy); a
            # program rarely computes from constants alone more than a level or two deep.
            codes = nodes.numpy("codes")
            first, second = nodes.numpy("first"), nodes.numpy("second")
            is_op = codes > CONST_CODE
            constant = codes == CONST_CODE
            for _ in range(8):
                now = constant | (is_op & constant[first] & ((second < 0) | constant[second]))
                if np.array_equal(now, constant):
                    return (~constant).view(np.uint8).tobytes()
                constant = now
        more = nodes.more
        flags = bytearray(len(nodes))
        i = 0
        for code, a, b in zip(nodes.codes, nodes.first, nodes.second):
            if code == INPUT_CODE:
                flags[i] = 1
            elif a >= 0 and (flags[a] or (b >= 0 and flags[b])):
                flags[i] = 1
            elif more and i in more and any(flags[j] for j in more[i]):
                flags[i] = 1
            i += 1
        return bytes(flags)

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
        return replace(self, nodes=self.nodes.with_input(node.id, name))  # the rest as it is

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


KEYWORDS = frozenset({"def", "return"})
"""Words of the language that cannot be names."""


def check_name(name: object) -> str:
    """``name`` if it is a name the language could write, else a :class:`ParseError` saying why.

    Names are identifiers (letters, digits and ``_``, not starting with a digit) in NFKC
    form, which is how the language reads them, so a graph built in Python never holds a
    name that a program could not (nor one that would garble a picture).

    >>> check_name("ŷ")
    'ŷ'
    >>> check_name("a:b")
    Traceback (most recent call last):
      ...
    compgraph.errors.ParseError: 'a:b' is not a valid name: a name is made of letters, digits and '_' and does not start with a digit (as in the language)
    """
    if not isinstance(name, str):
        raise TypeError(f"a name is a string, not {type(name).__name__}")
    if not name.isidentifier():
        raise ParseError(f"{name!r} is not a valid name: a name is made of letters, digits "
                         "and '_' and does not start with a digit (as in the language)")
    if name in KEYWORDS:
        raise ParseError(f"{name!r} is a keyword of the language, not a valid name")
    if not name.isascii():
        normal = unicodedata.normalize("NFKC", name)
        if normal != name:
            raise ParseError(f"{name!r} is not a valid name as written: the language reads "
                             f"it as {normal!r} (NFKC); use {normal!r}")
    return name


class GraphBuilder:
    """Collects nodes and statements in any order; :meth:`build` makes the canonical graph.

    Names (of inputs and statements) must be identifiers, as in the language
    (:func:`check_name`); the parser's names already are.
    """

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        # Nodes by column, as the graph keeps them (see Nodes), in the order they are made.
        self._code = bytearray()
        self._first = array("i")
        self._second = array("i")
        self._start = array("i")
        self._end = array("i")
        self._names: dict[int, str] = {}
        self._values: dict[int, Value] = {}
        self._params: dict[int, tuple[tuple[str, Any], ...]] = {}  # only ops that have some
        self._more: dict[int, tuple[int, ...]] = {}  # operators with more than two operands
        self._bind_names: list[str] = []
        self._bind_nodes = array("i")
        self._bind_start = array("i")
        self._bind_end = array("i")
        self._inputs: dict[str, int] = {}
        # Inlined calls: the nodes made while ``call`` >= 0 belong to that call.
        self.call = -1
        self._call = array("i")
        self._calls: list[list[Any]] = []   # [id, function, parent, args, result, span]
        self._call_counts: dict[str, int] = {}
        self._local: dict[int, str] = {}

    def _add(self, code: int, operands: tuple[int, ...], span: tuple[int, int] | None) -> int:
        i = len(self._code)
        self._code.append(code)
        self._first.append(operands[0] if operands else -1)
        self._second.append(operands[1] if len(operands) > 1 else -1)
        if len(operands) > 2:
            self._more[i] = operands
        if span is None:
            self._start.append(-1)
            self._end.append(-1)
        else:
            self._start.append(span[0])
            self._end.append(span[1])
        self._call.append(self.call)
        return i

    def input(self, name: str, default: Value = None, span: tuple[int, int] | None = None) -> int:
        """The input called ``name`` (created on first use)."""
        i = self._inputs.get(name)
        if i is None:
            check_name(name)
            i = self._inputs[name] = self._add(INPUT_CODE, (), span)
            self._names[i] = name
            if default is not None:
                self._values[i] = freeze_value(default)
        return i

    def const(self, value: Value, span: tuple[int, int] | None = None) -> int:
        value = freeze_value(value)
        i = self._add(CONST_CODE, (), span)
        self._values[i] = value
        return i

    def apply(self, op: str, operands: Iterable[int], span: tuple[int, int] | None = None,
              params: Mapping[str, Any] | None = None) -> int:
        """Operator ``op`` on ``operands``; ``params`` are its static parameters, checked and
        completed with their defaults (:meth:`compgraph.ops.Op.bind`)."""
        operands = tuple(operands)
        record = OPS[op]
        if len(operands) != record.arity:
            raise ValueError(f"{op} takes {record.arity} operands, got {len(operands)}")
        bound = record.bind(params or {}) if record.params or params else ()  # raises first
        i = self._add(OP_CODE[op], operands, span)
        if bound:
            self._params[i] = bound
        return i

    def bind(self, name: str, node: int, span: tuple[int, int] | None = None) -> None:
        """A statement: ``name`` now refers to ``node``."""
        if name not in self._inputs:
            check_name(name)
        self._bind_names.append(name)
        self._bind_nodes.append(node)
        self._bind_start.append(-1 if span is None else span[0])
        self._bind_end.append(-1 if span is None else span[1])

    @property
    def statements(self) -> int:
        """How many statements (bindings) have been made."""
        return len(self._bind_names)

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

    def _canonical_order(self, roots: list[int]) -> tuple[list[int], list[int]]:
        """The nodes reachable from ``roots``, numbered canonically: ``(order, new_id)``
        with ``order[new] = old`` and ``new_id[old] = new`` (-1 for a node left out)."""
        first, second, more = self._first, self._second, self._more
        new_id = [-1] * len(self._code)
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
                a = first[i]
                if a >= 0 and new_id[a] < 0:
                    stack.append(a)
                    continue
                b = second[i]
                if b >= 0 and new_id[b] < 0:
                    stack.append(b)
                    continue
                if more and i in more:
                    later = [j for j in more[i][2:] if new_id[j] < 0]
                    if later:
                        stack.append(later[0])
                        continue
                stack.pop()
                if new_id[i] < 0:
                    new_id[i] = len(order)
                    order.append(i)
        return order, new_id

    def build(self, output: int | None = None, output_name: str | None = None) -> Graph:
        """The canonical graph; the output defaults to the last statement's node."""
        if output is None:
            if not self._bind_names:
                raise ParseError("empty program: write at least one statement, e.g. y = 2*x")
            output_name, output = self._bind_names[-1], self._bind_nodes[-1]
        elif output_name is None:
            output_name = next((name for name, node in zip(reversed(self._bind_names),
                                                            reversed(self._bind_nodes))
                                if node == output), "output")
        roots = list(self._bind_nodes) + [output]
        if self._calls:
            # Python runs a body's dead statements and evaluates unused arguments: keep them.
            roots += sorted(self._local)
            for record in self._calls:
                roots += [*record[3], record[4]]
        order, new_id = self._canonical_order(roots)
        n = len(self._code)
        if len(order) == n and order == list(range(n)):
            # Already canonical (the parser makes most programs' nodes in this order).
            nodes = Nodes(bytes(self._code), int_column(self._first), int_column(self._second),
                          int_column(self._start), int_column(self._end), dict(self._names),
                          dict(self._values), dict(self._params), dict(self._more))
            bind_nodes = int_column(self._bind_nodes)
        else:
            nodes = self._renumbered(order, new_id)
            bind_nodes = int_column([new_id[i] for i in self._bind_nodes])
        bindings = Bindings(tuple(self._bind_names), bind_nodes, int_column(self._bind_start),
                            int_column(self._bind_end))
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

    def _renumbered(self, order: list[int], new_id: list[int]) -> Nodes:
        """The nodes in ``order``, their operands renumbered by ``new_id``."""
        old = np.array(order, dtype=np.intp)
        renumber = np.array(new_id + [-1], dtype=np.int32)  # index -1: "no operand" stays -1

        def column(data: array, ids: bool) -> memoryview:
            picked = np.frombuffer(data, dtype=np.int32)[old] if len(data) else np.zeros(0, np.int32)
            return int_column(renumber[picked] if ids else picked)

        def keep(mapping: dict[int, Any]) -> dict[int, Any]:
            return {new_id[i]: v for i, v in mapping.items() if new_id[i] >= 0}

        codes = np.frombuffer(self._code, dtype=np.uint8)[old].tobytes() if order else b""
        more = {new_id[i]: tuple(new_id[j] for j in ops)
                for i, ops in self._more.items() if new_id[i] >= 0}
        return Nodes(codes, column(self._first, True), column(self._second, True),
                     column(self._start, False), column(self._end, False), keep(self._names),
                     keep(self._values), keep(self._params), more)
