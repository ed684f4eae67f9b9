"""User-defined functions (``def``): a body recorded once as a template, inlined at each call.

A body is parsed once, when its ``def`` is read, into a :class:`Template`: its parameters,
constants, operator applications and calls of other user functions, in the order written.
Each call then copies the template into the graph with the arguments in place of the
parameters (:func:`inline`), so the graph stays a flat DAG of registry operators and every
node it makes remembers its call (``GraphBuilder.begin_call``). Calls made inside a body are
expanded with an explicit stack, never by recursion: a chain of 3,000 functions each calling
the previous inlines as easily as one.

>>> from compgraph.parser import parse
>>> g = parse("def linear(W, b, x):\\n    s = W @ x + b\\n    return s\\ny = linear(A, c, u)")
>>> [c.id for c in g.calls], g.input_names
(['linear#1'], ('A', 'u', 'c'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import ParseError
from .graph import GraphBuilder, freeze_value
from .ops import OPS

PARAM, CONST, OP, CALL = "param", "const", "op", "call"

# Inlining copies a body once per call, so nested calls multiply: f calling g twice,
# g calling h twice, ... A call that would make more nodes than this is refused.
MAX_INLINED_NODES = 2_000_000


class Template:
    """A function body as recorded by the parser: the ``GraphBuilder`` calls it makes
    (``const``, ``apply``, ``bind``), plus parameters and calls of user functions."""

    def __init__(self) -> None:
        self.kind: list[str] = []
        self.payload: list[Any] = []     # parameter index, constant, operator or function name
        self.operands: list[tuple[int, ...]] = []
        self.span: list[tuple[int, int] | None] = []
        self.params: dict[int, dict[str, Any]] = {}  # static parameters of operators
        self.bindings: list[tuple[str, int]] = []   # local names, in statement order
        self.result = -1                 # the node of the ``return``

    def _add(self, kind: str, payload: Any, operands: tuple[int, ...],
             span: tuple[int, int] | None) -> int:
        self.kind.append(kind)
        self.payload.append(payload)
        self.operands.append(operands)
        self.span.append(span)
        return len(self.kind) - 1

    def param(self, k: int) -> int:
        return self._add(PARAM, k, (), None)

    def const(self, value: Any, span: tuple[int, int] | None = None) -> int:
        return self._add(CONST, freeze_value(value), (), span)

    def apply(self, op: str, operands: Any, span: tuple[int, int] | None = None,
              params: Mapping[str, Any] | None = None) -> int:
        operands = tuple(operands)
        record = OPS[op]
        if len(operands) != record.arity:
            raise ValueError(f"{op} takes {record.arity} operands, got {len(operands)}")
        # Checked now (ParamError, with the caret in the body), stored completed.
        bound = record.bind(params or {}) if (record.params or params) else ()
        i = self._add(OP, op, operands, span)
        if bound:
            self.params[i] = dict(bound)
        return i

    def call(self, function: str, operands: Any, span: tuple[int, int] | None = None) -> int:
        return self._add(CALL, function, tuple(operands), span)

    def bind(self, name: str, node: int, span: tuple[int, int] | None = None) -> None:
        self.bindings.append((name, node))

    def calls(self) -> list[tuple[str, tuple[int, int] | None, int]]:
        """The user functions this body calls: (name, span of the call, argument count)."""
        return [(self.payload[i], self.span[i], len(self.operands[i]))
                for i, kind in enumerate(self.kind) if kind == CALL]


@dataclass
class Function:
    """A ``def``: its name, parameters, body template and where it is written."""

    name: str
    params: tuple[str, ...]
    span: tuple[int, int]           # the name in the ``def`` line
    line: int
    template: Template = field(default_factory=Template)
    order: int = 0                  # definitions are numbered in program order
    size: int | None = None         # nodes one call makes, once known (expanded_size)

    def signature(self) -> str:
        return f"{self.name}({', '.join(self.params)})"


def arity_error(function: Function, given: int, source: str,
                span: tuple[int, int] | None) -> ParseError:
    want = len(function.params)
    plural = "" if want == 1 else "s"
    return ParseError(f"{function.name}() takes {want} argument{plural} "
                      f"({', '.join(function.params) or 'none'}), got {given}; it is defined "
                      f"as def {function.signature()} at line {function.line}",
                      source, *(span or (None, None)))


def inline(builder: GraphBuilder, functions: dict[str, Function], function: Function,
           args: tuple[int, ...], span: tuple[int, int] | None, source: str,
           missing: Callable[[Function, str, tuple[int, int] | None], ParseError]) -> int:
    """Copy ``function``'s body into ``builder`` with ``args`` for its parameters; return
    the node of its ``return``. Calls inside the body are expanded the same way, with an
    explicit stack. ``functions`` holds the definitions read so far (a body may call a
    function defined after it, but only once that definition has been read); ``missing``
    makes the error for a body calling a function that is not (yet) defined."""
    size = expanded_size(function, functions)
    if size is not None and size > MAX_INLINED_NODES:
        raise ParseError(f"calling {function.name} would inline {size:,} nodes, more than "
                         f"{MAX_INLINED_NODES:,} (calls nested inside calls multiply)",
                         source, *(span or (None, None)))
    active = {function.name}
    builder.begin_call(function.name, args, span)
    # Frames: [function, arguments, next template position, template node -> graph node]
    stack: list[list[Any]] = [[function, args, 0, []]]
    while True:
        frame = stack[-1]
        fn, fargs, pos, mapping = frame
        t = fn.template
        if pos == len(t.kind):
            result = mapping[t.result]
            for name, node in t.bindings:
                builder.name_local(mapping[node], name)
            builder.end_call(result)
            stack.pop()
            active.discard(fn.name)
            if not stack:
                return result
            stack[-1][3].append(result)
            stack[-1][2] += 1
            continue
        kind = t.kind[pos]
        if kind == PARAM:
            mapping.append(fargs[t.payload[pos]])
        elif kind == CONST:
            mapping.append(builder.const(t.payload[pos], t.span[pos]))
        elif kind == OP:
            mapping.append(builder.apply(t.payload[pos], [mapping[j] for j in t.operands[pos]],
                                         t.span[pos], params=t.params.get(pos)))
        else:
            name = t.payload[pos]
            callee = functions.get(name)
            where = t.span[pos] or (None, None)
            if callee is None:
                raise missing(fn, name, t.span[pos])
            if name in active:  # the parser refuses recursion first; never loop here
                chain = [f[0].name for f in stack]
                cycle = " → ".join(chain[chain.index(name):] + [name])
                raise ParseError(f"recursion: {cycle}; calls are inlined into the graph, so a "
                                 "function cannot call itself, directly or through others",
                                 source, *where)
            cargs = tuple(mapping[j] for j in t.operands[pos])
            if len(cargs) != len(callee.params):
                raise arity_error(callee, len(cargs), source, t.span[pos])
            active.add(name)
            builder.begin_call(name, cargs, t.span[pos])
            stack.append([callee, cargs, 0, []])
            continue
        frame[2] = pos + 1


def expanded_size(function: Function, functions: dict[str, Function]) -> int | None:
    """How many nodes one call of ``function`` makes, its nested calls included (``None``
    while a function it calls is not defined yet). Iterative, memoised on the functions."""
    stack = [function]
    entered: set[str] = set()
    while stack:
        fn = stack[-1]
        if fn.size is not None:
            stack.pop()
            continue
        callees = []
        for name, _, _ in fn.template.calls():
            callee = functions.get(name)
            if callee is None:
                return None  # inline reports the missing function
            callees.append(callee)
        todo = [c for c in callees if c.size is None]
        if todo and fn.name not in entered:
            entered.add(fn.name)
            stack += todo
            continue
        if todo:
            return None  # a cycle: the parser refuses it before any call is inlined
        fn.size = (sum(1 for kind in fn.template.kind if kind in (CONST, OP))
                   + sum(c.size for c in callees))  # type: ignore[misc]
        stack.pop()
    return function.size
