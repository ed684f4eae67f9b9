"""What a picture wires together: each call of a user-defined function drawn as its body or as one block.

Calls are inlined into the graph (compgraph/functions.py), so by default a picture draws a
call's body inside a labelled cluster. Collapsed (``to_dot(..., collapse=True)``, ``render
--collapse``), each outermost call is one D-shaped block instead, named by its function
with the call's number as a subscript when there are several (``linear₁``), as in the
course's figure of the two-layer net, x → linear₁ → s1 → f → a1 → linear₂ → s2 → g → ŷ → C.
The block's inputs are the call's arguments (parameters such as W1 and b1 stay visible),
its output the value it returns, named as the program names it; ``expand`` opens chosen
calls again as clusters (``linear#2``, or ``linear`` for all its calls), their nested calls
then drawn as blocks.

A :class:`Wiring` says what is drawn, in keys the builder (dot.py) uses throughout:

- a *variable key* is a graph node id, or ``n + c`` (``n`` nodes) for the output of call
  ``c`` when that call returns one of its arguments unchanged (``def g(s): return s``): the
  graph has one node for both, the picture a circle for each;
- an *operator key* is a graph operator's node id, or ``n + c`` for collapsed call ``c``;
- a *wire* ``(op, k)`` is the ``k``-th edge into an operator; :meth:`Wiring.edges` gives the
  graph edges it stands for (a block's wire from W1: every edge from W1 into the body), so
  that the gradient it carries back, the vector–Jacobian product, is the engine's: the
  argument's own adjoint when the wire stands for all of that node's edges (the usual
  case), else the sum of the engine's per-edge contributions in the engine's order.

Without collapsed calls the wiring is the graph itself: every key is its node id.

Which circle a later use of a returned argument reads (``yhat`` or ``s2``, one node in the
graph) is read from the program text: the names and calls written in the using
expression, in order. When the text does not tell (a body's statements, a program built in
Python), the use reads the argument's circle.

>>> from compgraph.parser import parse
>>> g = parse("def sq(x):\\n    y = x*x\\n    return y\\nz = sq(u) + 1")
>>> w = Wiring(g, collapse=True)
>>> [(grp.kind, grp.var, grp.op, grp.operands) for grp in w.groups]
[('input', 0, None, ()), ('op', 1, 4, (0,)), ('const', 2, None, ()), ('op', 3, 3, (1, 2))]
>>> w.block_label(4), w.edges(4, 0)
('sq', ((1, 0), (1, 1)))
"""

from __future__ import annotations

import re
from typing import Iterable, NamedTuple, Sequence

from ..errors import RenderError
from ..graph import CONST, INPUT, KIND_OF_CODE, OP, Graph

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
# A name as the language writes it; not a function's (followed by "(") nor a keyword
# argument's (followed by "=").
_NAME = re.compile(r"(?<![\w.])([^\W\d]\w*)(?!\w)(?!\s*\()(?!\s*=)")
_MARK = re.compile(r"(?:[′″‴]|⁽\d+⁾)$")  # a version mark on a label (graph.labels)

Span = tuple[int, int]


# A NamedTuple, not a frozen dataclass: a quarter of the cost at import, which every
# render pays (bench/bench_render.py --latency).
class Group(NamedTuple):
    """What a picture draws for one variable: a leaf (``input``, ``const``), or an operator
    (a graph operator or a collapsed call, ``op``) with the variable it makes (``var``),
    its wires coming from the variables ``operands``."""

    kind: str
    var: int
    op: int | None = None
    operands: tuple[int, ...] = ()


def call_names(graph: Graph) -> str:
    """The calls of a program, for a message: ``linear#1, linear#2, f#1``."""
    return ", ".join(c.id for c in graph.calls)


def calls_named(graph: Graph, names: Iterable[str]) -> frozenset[int]:
    """The calls ``names`` choose: ``linear#2`` one call, ``linear`` every call of it.

    >>> from compgraph.parser import parse
    >>> g = parse("def f(x): return 2*x\\ny = f(f(u))")
    >>> sorted(calls_named(g, ["f#2"])), sorted(calls_named(g, ["f"]))
    ([1], [0, 1])
    >>> calls_named(g, ["ff"])
    Traceback (most recent call last):
      ...
    compgraph.errors.RenderError: no call named 'ff' to expand (did you mean f?); the calls are f#1, f#2, or a function's name for all of its calls: f
    """
    chosen: set[int] = set()
    for name in names:
        found = [k for k, c in enumerate(graph.calls) if name in (c.id, c.function)]
        if not found:
            if not graph.calls:
                raise RenderError(f"no call named {name!r} to expand: the program calls no "
                                  "function defined with def")
            functions = list(dict.fromkeys(c.function for c in graph.calls))
            import difflib  # only a misspelt name needs it

            close = difflib.get_close_matches(name, functions + [c.id for c in graph.calls],
                                              n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise RenderError(f"no call named {name!r} to expand{hint}; the calls are "
                              f"{call_names(graph)}, or a function's name for all of its "
                              f"calls: {', '.join(functions)}")
        chosen.update(found)
    return frozenset(chosen)


def _within(inner: Span, outer: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


class Wiring:
    """The operators, variables and wires of one picture (see the module's docstring)."""

    def __init__(self, graph: Graph, collapse: bool = False, expand: Sequence[str] = (),
                 prune: bool = False) -> None:
        self.g = graph
        self.n = n = len(graph.nodes)
        # prune: only the output and what it is computed from are drawn
        self.keep: tuple[bool, ...] | None = graph.ancestors_of_output if prune else None
        if expand and not collapse:
            raise RenderError("expand opens calls of a collapsed picture: pass collapse=True "
                              "too (--collapse on the command line)")
        expanded = calls_named(graph, expand)
        self.output_var = graph.output
        self.blocks: tuple[int, ...] = ()        # calls drawn as blocks, in call order
        self.opened: frozenset[int] = frozenset(range(len(graph.calls)))  # drawn as clusters
        self.hidden: list[int] | None = None     # per node, the block hiding it (-1: drawn)
        self._operands: dict[int, tuple[int, ...]] = {}   # a block's wires' sources
        self._args: dict[int, tuple[int, ...]] = {}       # a block's wires' graph nodes
        self._result: dict[int, int] = {}                 # a block's output variable
        self._made_by: dict[int, int] = {}                # a block's output -> the block
        self._redirect: dict[tuple[int, int], int] = {}   # operand edges read from a block
        self._edges: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {}
        self._labels: dict[int, str | None] = {}
        self._groups: list[Group] | None = None
        self._uses: dict[int, list[tuple[int, int]]] | None = None
        self._consumers: list[int] | None = None
        self._calls_of: dict[str, int] | None = None      # calls per function
        self._owner: dict[int, int] = {}   # binding -> the block output it names
        if collapse and graph.calls:
            self._collapse(expanded)

    # --- keys --------------------------------------------------------------------------------

    def is_block(self, op: int) -> bool:
        return op >= self.n

    def call(self, op: int) -> int:
        """The call a block draws."""
        return op - self.n

    def node(self, var: int) -> int:
        """The graph node whose numbers variable ``var`` shows."""
        return var if var < self.n else self.g.calls[var - self.n].result

    def kind(self, var: int) -> str:
        """``input``, ``const`` or ``op`` (a variable some operator or block makes)."""
        if var in self._made_by:
            return OP
        return KIND_OF_CODE[self.g.nodes.codes[var]]  # from the column: no Node view made

    def operands(self, op: int) -> tuple[int, ...]:
        """The variables operator ``op``'s wires come from, in order."""
        if op >= self.n:
            return self._operands[op]
        operands = self.g.nodes[op].operands
        if not self._redirect:
            return operands
        return tuple(self._redirect.get((op, k), j) for k, j in enumerate(operands))

    def result(self, op: int) -> int:
        """The variable operator ``op`` makes."""
        return self._result.get(op, op)

    def producer(self, var: int) -> int | None:
        """The operator that makes ``var`` (``None`` for a leaf)."""
        if var in self._made_by:
            return self._made_by[var]
        return var if self.g.nodes[var].kind == OP else None

    def edges(self, op: int, k: int) -> tuple[tuple[int, int], ...]:
        """The graph edges ``(node, operand index)`` that wire ``(op, k)`` stands for."""
        return self._edges.get((op, k), ((op, k),))

    def complete(self, var: int, edges: Sequence[tuple[int, int]]) -> bool:
        """Whether ``edges`` are all the graph edges out of ``var``'s node."""
        if self._consumers is None:
            counts = [0] * self.n
            keep = self.keep
            for node in self.g.nodes:
                if keep is None or keep[node.id]:  # a pruned node's edges are not drawn
                    for j in node.operands:
                        counts[j] += 1
            self._consumers = counts
        return len(edges) == self._consumers[self.node(var)]

    def label(self, var: int) -> str | None:
        """The program's names of ``var`` (``s1``, ``c′``, ``s2 = yhat``), or ``None``."""
        if var in self._labels:
            return self._labels[var]
        return self.g.labels[var] if var < self.n else None

    def block_label(self, op: int) -> str:
        """``linear₂``: the function's name, the call's number as a subscript when the
        program calls it more than once (``f`` alone otherwise, as the course writes it)."""
        call = self.g.calls[self.call(op)]
        if self._calls_of is None:
            self._calls_of = {}
            for c in self.g.calls:
                self._calls_of[c.function] = self._calls_of.get(c.function, 0) + 1
        if self._calls_of[call.function] == 1:
            return call.function
        return call.function + call.id.rsplit("#", 1)[1].translate(_SUBSCRIPT)

    def hides(self, op: int, node: int) -> bool:
        """Whether block ``op`` draws graph node ``node`` inside it (a node of its body)."""
        return self.hidden is not None and op >= self.n and self.hidden[node] == op - self.n

    def variable(self, name: str) -> int:
        """The variable drawn for the program's name ``name`` (its newest statement): the
        output of the block that bound it when that call returns an argument unchanged
        (``ŷ = g(s2)``: ŷ's circle, not s2's), else its graph node."""
        node = self.g.node(name).id
        bound = [b for b, binding in enumerate(self.g.bindings) if binding.name == name]
        return self._owner.get(bound[-1], node) if bound else node

    def carries_all(self, var: int) -> bool:
        """Whether ``var``'s gradient is its graph node's whole adjoint: true of the node's
        own circle and of the output; a returned argument's other circle only when its
        wires stand for every edge out of the node (else it carries back a part)."""
        if var < self.n or var == self.output_var:
            return True
        return self.complete(var, [e for use in self.uses(var) for e in self.edges(*use)])

    def passed_on(self, var: int) -> set[int]:
        """``var`` and the circles it reaches unchanged, through blocks that return it
        (``s2`` → g → ``ŷ``): the variables that hold the same graph node after it."""
        node = self.node(var)
        reached = {var}
        for grp in self.groups:  # operands come before their users
            if (grp.op is not None and self.is_block(grp.op) and self.node(grp.var) == node
                    and any(j in reached for j in grp.operands)):
                reached.add(grp.var)
        return reached

    def block_result(self, var: int) -> bool:
        """Whether ``var`` is the output of a block (its name is the program's only)."""
        return var in self._made_by

    @property
    def groups(self) -> list[Group]:
        """What is drawn, every operand before its users (the graph's order when nothing
        is collapsed)."""
        if self._groups is None:
            keep = self.keep
            self._groups = [Group(n.kind, n.id, n.id if n.kind == OP else None, n.operands)
                            for n in self.g.nodes if keep is None or keep[n.id]]
        return self._groups

    def uses(self, var: int) -> list[tuple[int, int]]:
        """The wires out of ``var``, in drawing order."""
        if self._uses is None:
            uses: dict[int, list[tuple[int, int]]] = {}
            for grp in self.groups:
                if grp.op is not None:
                    for k, j in enumerate(grp.operands):
                        uses.setdefault(j, []).append((grp.op, k))
            self._uses = uses
        return self._uses.get(var, [])

    def top_calls(self) -> list[int]:
        """Per group, the outermost call whose cluster holds it (-1: none)."""
        g = self.g
        out = []
        for grp in self.groups:
            if grp.op is not None and grp.op >= self.n:
                k = g.calls[self.call(grp.op)].parent
            elif grp.var < self.n and g.node_calls:
                k = g.node_calls[grp.var]
            else:
                k = -1
            while k >= 0 and g.calls[k].parent >= 0:
                k = g.calls[k].parent
            out.append(k)
        return out

    # --- collapsing ------------------------------------------------------------------------

    def _collapse(self, expanded: frozenset[int]) -> None:
        g, n = self.g, self.n
        calls = g.calls
        opened = set()
        for k in expanded:  # a call is opened with every call around it
            while k >= 0 and k not in opened:
                opened.add(k)
                k = calls[k].parent
        self.opened = frozenset(opened)
        hider = [-1] * len(calls)  # the block that hides each call's nodes
        blocks = []
        for k, call in enumerate(calls):  # a parent comes before its children
            if call.parent >= 0 and hider[call.parent] >= 0:
                hider[k] = hider[call.parent]
            elif k not in opened:
                hider[k] = k
                blocks.append(k)
        self.blocks = tuple(blocks)
        hidden = self.hidden = [hider[c] if c >= 0 else -1 for c in g.node_calls]
        # Each body's edges from outside it: from the call's arguments.
        body: dict[tuple[int, int], list[tuple[int, int]]] = {}
        extra: dict[int, list[int]] = {}
        for node in g.nodes:
            h = hidden[node.id]
            if h >= 0 and node.kind == OP:
                for k, j in enumerate(node.operands):
                    if hidden[j] != h:
                        body.setdefault((h, j), []).append((node.id, k))
                        if j not in calls[h].args and j not in extra.setdefault(h, []):
                            extra[h].append(j)  # cannot happen: bodies see parameters only
        returned: dict[int, list[int]] = {}  # a node -> the blocks that return it unchanged
        for c in blocks:
            call = calls[c]
            self._args[n + c] = tuple(dict.fromkeys(call.args + tuple(extra.get(c, ()))))
            r = call.result
            out = r if hidden[r] == c else n + c
            self._result[n + c] = out
            self._made_by[out] = n + c
            if out != r:
                returned.setdefault(r, []).append(c)
        sources: dict[tuple[int, int], int] = {}  # (block op, arg node) -> variable
        for r, passing in returned.items():
            self._attribute(r, passing, sources)
        for c in blocks:
            op = n + c
            self._operands[op] = tuple(sources.get((op, a), a) for a in self._args[op])
        self._groups = self._order(hidden)
        # Each block's wires, from the last group back: a block returning an argument
        # carries back what leaves its output, whose users come later.
        for grp in reversed(self._groups):
            if grp.op is None or grp.op < n:
                continue
            c = self.call(grp.op)
            for k, a in enumerate(self._args[grp.op]):
                edges = list(body.get((c, a), ()))
                if grp.var == n + c and a == calls[c].result:
                    for use in self.uses(grp.var):
                        edges += self.edges(*use)
                self._edges[(grp.op, k)] = tuple(edges)

    def _order(self, hidden: list[int]) -> list[Group]:
        """The drawn groups in an order with every operand before its users: by graph id
        where that allows (a block in its result's place), found by Kahn's algorithm."""
        import heapq  # here: only a collapsed picture orders its groups

        g, n = self.g, self.n
        keyed: list[tuple[tuple[int, int, int], Group]] = []
        keep = self.keep
        for node in g.nodes:
            if hidden[node.id] < 0 and (keep is None or keep[node.id]):
                op = node.id if node.kind == OP else None
                keyed.append(((node.id, 0, 0), Group(node.kind, node.id, op,
                                                     self.operands(node.id) if op is not None
                                                     else ())))
        for c in self.blocks:
            if keep is not None and not keep[g.calls[c].result]:
                continue
            op = n + c
            out = self._result[op]
            key = (out, 0, 0) if out < n else (g.calls[c].result, 1, c)
            keyed.append((key, Group(OP, out, op, self._operands[op])))
        group_of = {grp.var: k for k, (_, grp) in enumerate(keyed)}
        waiting = [0] * len(keyed)
        users: list[list[int]] = [[] for _ in keyed]
        for k, (_, grp) in enumerate(keyed):
            for j in grp.operands:
                users[group_of[j]].append(k)
                waiting[k] += 1
        ready = [(key, k) for k, (key, _) in enumerate(keyed) if waiting[k] == 0]
        heapq.heapify(ready)
        order: list[Group] = []
        while ready:
            _, k = heapq.heappop(ready)
            order.append(keyed[k][1])
            for u in users[k]:
                waiting[u] -= 1
                if waiting[u] == 0:
                    heapq.heappush(ready, (keyed[u][0], u))
        return order

    # --- a call that returns an argument unchanged -------------------------------------------

    def _attribute(self, r: int, passing: list[int], sources: dict[tuple[int, int], int]) -> None:
        """Decide which uses of node ``r`` read the output of a block in ``passing`` (each
        returns ``r`` unchanged), from the program text; name those outputs."""
        g, n = self.g, self.n
        calls = g.calls
        source_text = g.source
        hidden = self.hidden
        assert hidden is not None
        # Top-level statements binding r by a passing call: their names go to its output.
        owner: dict[int, int] = {}  # binding index -> variable
        for b, binding in enumerate(g.bindings):
            if binding.node != r or binding.span is None:
                continue
            inside = [c for c in passing if calls[c].span is not None
                      and _within(calls[c].span, binding.span)]
            if inside:
                outer = min(inside, key=lambda c: (calls[c].span[0], -calls[c].span[1]))
                owner[b] = n + outer
        # Who reads r, where: (scope, span, op or block, operand indices that are r).
        readers: list[tuple[int, Span | None, int, list[int]]] = []
        for node in g.nodes:
            if node.kind == OP and hidden[node.id] < 0 and r in node.operands:
                scope = g.node_calls[node.id]
                readers.append((scope, node.span, node.id,
                                [k for k, j in enumerate(node.operands) if j == r]))
        for c in self.blocks:
            if r in self._args[n + c]:
                readers.append((calls[c].parent, calls[c].span, n + c,
                                [list(self._args[n + c]).index(r)]))
        for scope, span, op, ks in readers:
            if span is None or source_text is None:
                continue
            if op >= n and calls[self.call(op)].args.count(r) > 1:
                continue  # f(yhat, s2): one wire from r into the body, whichever name
            found = self._references(r, scope, span, op, readers, owner, source_text)
            if found is None or len(found) != len(ks):
                continue
            for k, var in zip(ks, found):
                if var == r:
                    continue
                if op >= n:
                    sources[(op, r)] = var
                else:
                    self._redirect[(op, k)] = var
        self._owner.update(owner)
        self._name_outputs(r, owner)
        g_output = [b for b, binding in enumerate(g.bindings)
                    if binding.node == g.output and binding.name == g.output_name]
        if g_output and g_output[-1] in owner:
            self.output_var = owner[g_output[-1]]

    def _references(self, r: int, scope: int, span: Span, op: int,
                    readers: list[tuple[int, Span | None, int, list[int]]],
                    owner: dict[int, int], text: str) -> list[int] | None:
        """The variables a reader of ``r`` reads it from, in the order they are written:
        the calls written directly in its expression that give ``r`` (a block returning it
        gives its output), then, at the top level, the names of ``r`` written there."""
        g, n = self.g, self.n
        calls = g.calls
        me = self.call(op) if op >= n else -1
        nested = [c for c in range(len(calls)) if c != me and calls[c].parent == scope
                  and calls[c].span is not None and _within(calls[c].span, span)
                  and calls[c].span != span]
        # Operators within that read r themselves (calls within are in nested).
        others = [s for sc, s, o, _ in readers if o != op and o < n and sc == scope
                  and s is not None and _within(s, span) and s != span]
        # Written directly: not inside another call or another reader of r within.
        direct = [c for c in nested
                  if not any(d != c and _within(calls[c].span, calls[d].span) for d in nested)
                  and not any(_within(calls[c].span, s) for s in others)]
        found: list[tuple[int, int]] = []
        for c in direct:
            if calls[c].result == r:
                found.append((calls[c].span[0], n + c if (n + c) in self._made_by
                              and self._result.get(n + c) == n + c else r))
        if scope >= 0:
            return [v for _, v in sorted(found)]
        skip = [calls[c].span for c in direct] + others
        start, end = span
        for m in _NAME.finditer(text, start, end):
            at = m.start()
            if any(s[0] <= at < s[1] for s in skip):
                continue
            var = self._name_at(m.group(1), at, r, owner)
            if var is not None:
                found.append((at, var))
        return [v for _, v in sorted(found)]

    def _name_at(self, name: str, at: int, r: int, owner: dict[int, int]) -> int | None:
        """The variable ``name`` means at offset ``at`` when it means node ``r``: its latest
        statement before, or the input ``r``; ``None`` when it means something else."""
        g = self.g
        latest = None
        for b, binding in enumerate(g.bindings):
            if binding.name == name and binding.span is not None and binding.span[1] <= at:
                latest = b
        if latest is None:
            node = g.nodes[r]
            return r if node.kind == INPUT and node.name == name else None
        if g.bindings[latest].node != r:
            return None
        return owner.get(latest, r)

    def _name_outputs(self, r: int, owner: dict[int, int]) -> None:
        """Split ``r``'s names (``s2 = yhat``) between its circle and the outputs of the
        calls that returned it (``yhat``)."""
        g = self.g
        parts = (g.labels[r] or "").split(" = ") if g.labels[r] else []
        claimed: dict[int, list[str]] = {}
        for b, var in sorted(owner.items()):
            name = g.bindings[b].name
            part = next((p for p in parts if _MARK.sub("", p) == name), name)
            if part not in claimed.setdefault(var, []):
                claimed[var].append(part)
        taken = {p for names in claimed.values() for p in names}
        rest = [p for p in parts if p not in taken]
        self._labels[r] = " = ".join(rest) or None
        for var, names in claimed.items():
            self._labels[var] = " = ".join(names)
