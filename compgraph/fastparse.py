"""The parser's fast path: the common statements of a program, parsed in bulk.

Long programs are nearly always lines of ``name = expression`` over names, numbers, the
operators ``+ - * / @ **``, parentheses and calls of the registry's functions, and their
lines repeat a few shapes: ``v7 = 0.5*(v3 + x)`` has the shape ``N=0*(N+N)``. So a chunk
of the program is tokenized at once (one regular expression over the chunk, in C), each
distinct line shape is compiled once into a *recipe* (the nodes its statements make, in
the order the parser makes them, with token positions for their spans), and every recipe
is applied to all of its lines at once with NumPy. Names are resolved the same way:
each read takes the newest binding of its name before it (or makes the input, at the
first read of a name never bound), found by sorting the reads and bindings by name.

Anything else — ``def``, subscripts, keyword arguments, array literals, a bare
expression, an augmented assignment to a name never seen, ``leaky_relu``'s default
argument, a line that is not valid — makes :func:`parse_common` return ``None`` and the
full parser (:mod:`compgraph.parser`) reads the program instead. Every error therefore
comes from the full parser, with its message and position. The graph made here is the
one the full parser makes, node for node and span for span (``tests/test_fastparse.py``
holds them equal on generated programs); its numbering is already canonical, because the
recipes make nodes in post-order and no node is left unused.

>>> g = parse_common("a = x*y + z\\nb = a*(x + x); w = a*b + b")
>>> g.output_name, g.input_names, len(g)
('w', ('x', 'y', 'z'), 9)
>>> parse_common("y = x[0]") is None   # a subscript: the full parser's job
True
"""

from __future__ import annotations

import re
from collections import defaultdict
from itertools import count
from operator import itemgetter
from typing import Any, Callable

import numpy as np

from .graph import (CONST_CODE, INPUT_CODE, OP_CODE, Bindings, Graph, Nodes, freeze_value,
                    int_column)
from .ops import BINARY, FUNCTIONS, OPS, ParamError

# --- tokens -------------------------------------------------------------------------------

# The lexer's tokens, ASCII only (a non-ASCII name goes to the full parser, which
# normalizes it), each with the whitespace, comments and line continuations before it.
# Anything the language does not have becomes a one-character token that no recipe takes.
_TOKEN = (r"[A-Za-z_][A-Za-z0-9_]*"                              # a name
          r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"   # a number
          r"|\*\*|[-+*/]=|\n|[^ \t\r\f#\n]")                       # operators, the rest
_SPLIT = re.compile(r"([ \t\r\f]*(?:(?:#[^\n]*|\\\n)[ \t\r\f]*)*)(" + _TOKEN + ")")

# Token kinds, one character each, so that a line's shape is a string: a name is N, a
# number 0, ** is p, += -= *= /= are a s m d; the other punctuation stands for itself;
# x (and any character not listed) is a token no recipe takes.
_FIRST_CHAR_KIND = str.maketrans({**{c: "N" for c in "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ_"},
                                  **{c: "0" for c in "0123456789."}})
_KIND = {"+": "+", "-": "-", "*": "*", "/": "/", "@": "@", "**": "p", "(": "(", ")": ")",
         ",": ",", ";": ";", "=": "=", "+=": "a", "-=": "s", "*=": "m", "/=": "d",
         "\n": "\n", ".": "x"}

# --- recipes ------------------------------------------------------------------------------

# An event is a row of integers: what it is, the token it reads (a name, a number, a
# function's name), the operator, the events of its operands, the tokens where its span
# starts and ends, the sign of a number, the number of a call's arguments.
READ, CONST, APPLY, BIND, BIND_LITERAL, READ_TARGET = range(6)
KIND, TOK, OP, A, B, START, END, SIGN, NARGS = range(9)
_FIELDS = 9
_TOKEN_FIELDS = (TOK, START, END)
_EVENT_FIELDS = (A, B)

_NEG = OP_CODE["neg"]
_BINARY = {("p" if symbol == "**" else symbol): (OP_CODE[op.name], op.precedence)
           for symbol, op in BINARY.items()}
_AUGMENTED = {"a": OP_CODE["add"], "s": OP_CODE["sub"], "m": OP_CODE["mul"], "d": OP_CODE["div"]}
_UNARY_PRECEDENCE = 3
_KEYWORDS = ("def", "return")


def _default_params(op: str) -> tuple | None:
    try:
        return OPS[op].bind({})
    except ParamError:  # a parameter without a default (reshape's shape)
        return None


# Per function name: its code, and for a call with all its operands and nothing else, the
# parameters the full parser stores (None: such a call needs more, the full parser says so).
_FUNCTION_CODE = {name: OP_CODE[op.name] for name, op in FUNCTIONS.items()}
_ARITY_OF_CODE = np.zeros(256, dtype=np.int64)
_PARAMS_OF_CODE: dict[int, tuple] = {}
_CALLABLE = np.zeros(256, dtype=bool)
for _name, _op in FUNCTIONS.items():
    _code = OP_CODE[_op.name]
    _ARITY_OF_CODE[_code] = _op.arity
    _params = _default_params(_op.name) if _op.params else ()
    if _params is not None:
        _CALLABLE[_code] = True
        if _params:
            _PARAMS_OF_CODE[_code] = _params


class _Recipe:
    """Compiles one line shape into its events, as the full parser would make them."""

    def __init__(self, shape: str) -> None:
        self.shape = shape
        self.events: list[list[int]] = []
        self.dropped: set[int] = set()  # constants a sign folded into a new one

    def emit(self, kind: int, tok: int = -1, op: int = -1, a: int = -1, b: int = -1,
             start: int = -1, end: int = -1, sign: int = 1, nargs: int = 0) -> int:
        self.events.append([kind, tok, op, a, b, start, end, sign, nargs])
        return len(self.events) - 1

    def compile(self) -> np.ndarray | None:
        shape = self.shape
        k = 0
        while k < len(shape):
            if shape[k] in ";,":  # an empty statement
                k += 1
                continue
            if shape[k] != "N" or shape[k + 1:k + 2] not in ("=", "a", "s", "m", "d"):
                return None  # a bare expression, a def, or not a statement at all
            target, assign = k, shape[k + 1]
            parsed = self.expression(k + 2)
            if parsed is None:
                return None
            (event, _, end, literal), k = parsed
            if assign != "=":
                left = self.emit(READ_TARGET, tok=target)
                event = self.emit(APPLY, op=_AUGMENTED[assign], a=left, b=event, start=target,
                                  end=end)
                self.emit(BIND, tok=target, a=event, end=end)
            else:
                self.emit(BIND_LITERAL if literal else BIND, tok=target, a=event, end=end)
        kept = [i for i in range(len(self.events)) if i not in self.dropped]
        new = {old: k for k, old in enumerate(kept)}
        rows = []
        for old in kept:
            row = list(self.events[old])
            for f in _EVENT_FIELDS:
                if row[f] >= 0:
                    row[f] = new[row[f]]  # a dropped constant is never an operand
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(rows), _FIELDS)

    def expression(self, k: int) -> tuple[list, int] | None:
        """The operator-precedence parse of the full parser (``_Parser.expression``) over
        token kinds, from ``k`` to the end of the statement. Operands are ``[event, first
        token, last token, is a literal]``."""
        shape = self.shape
        operands: list[list] = []
        stack: list[tuple] = []   # ("bin", op, precedence), ("neg", tok), ("paren", tok), ("call", tok, base)
        depth = 0                 # parentheses and calls open
        expect_operand = True
        while True:
            c = shape[k] if k < len(shape) else ""
            if c == "n":  # a line break inside brackets
                if not depth:
                    return None
            elif expect_operand:
                if c == "0":
                    event = self.emit(CONST, tok=k, start=k, end=k)
                    operands.append([event, k, k, True])
                    expect_operand = False
                elif c == "N" and shape[k + 1:k + 2] == "(":
                    stack.append(("call", k, len(operands)))
                    depth += 1
                    k += 1
                elif c == "N":
                    event = self.emit(READ, tok=k, start=k, end=k)
                    operands.append([event, k, k, False])
                    expect_operand = False
                elif c == "(":
                    stack.append(("paren", k))
                    depth += 1
                elif c == "-":
                    stack.append(("neg", k))
                elif c != "+":  # a unary plus changes nothing
                    return None
            elif c in _BINARY:
                op, precedence = _BINARY[c]
                while stack and stack[-1][0] in ("bin", "neg"):
                    top = stack[-1][2] if stack[-1][0] == "bin" else _UNARY_PRECEDENCE
                    if top > precedence or (top == precedence and c != "p"):
                        self.reduce(stack, operands)
                    else:
                        break
                stack.append(("bin", op, precedence))
                expect_operand = True
            elif c == ")" or (c == "," and depth):
                if not depth:
                    return None  # an unmatched ')'
                while stack[-1][0] in ("bin", "neg"):
                    self.reduce(stack, operands)
                frame = stack[-1]
                if c == ",":
                    if frame[0] != "call":
                        return None
                    expect_operand = True
                else:
                    stack.pop()
                    depth -= 1
                    if frame[0] == "call":
                        if not self.call(frame, operands, k):
                            return None
                    else:  # the group's operand now spans its parentheses
                        operands[-1][1] = frame[1]
                        operands[-1][2] = k
            elif c in ("", ";", ","):
                break
            else:
                return None
            k += 1
        if depth:
            return None
        while stack:
            self.reduce(stack, operands)
        return operands[0], k

    def reduce(self, stack: list[tuple], operands: list[list]) -> None:
        frame = stack.pop()
        if frame[0] == "neg":
            x = operands[-1]
            if x[3]:  # -literal: a new constant, as the full parser folds it
                self.dropped.add(x[0])
                old = self.events[x[0]]
                event = self.emit(CONST, tok=old[TOK], start=frame[1], end=x[2], sign=-old[SIGN])
                operands[-1] = [event, frame[1], x[2], True]
            else:
                event = self.emit(APPLY, op=_NEG, a=x[0], start=frame[1], end=x[2])
                operands[-1] = [event, frame[1], x[2], False]
        else:
            y = operands.pop()
            x = operands[-1]
            event = self.emit(APPLY, op=frame[1], a=x[0], b=y[0], start=x[1], end=y[2])
            operands[-1] = [event, x[1], y[2], False]

    def call(self, frame: tuple, operands: list[list], close: int) -> bool:
        _, name, base = frame
        args = operands[base:]
        del operands[base:]
        if len(args) > 2:  # no registry function takes more operands
            return False
        event = self.emit(APPLY, tok=name, a=args[0][0], b=args[1][0] if len(args) > 1 else -1,
                          start=name, end=close, nargs=len(args))
        operands.append([event, name, close, False])
        return True


# --- the program ----------------------------------------------------------------------------

class _Decline(Exception):
    """The program needs the full parser."""


CHUNK = 1 << 20   # characters tokenized at once: bounds the memory tokens take


class _BulkParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.shape_ids: defaultdict[str, int] = defaultdict(count().__next__)
        self.recipes: list[np.ndarray] = []
        self.name_ids: defaultdict[str, int] = defaultdict(count().__next__)
        self.scope = np.full(1024, -1, dtype=np.int64)   # per name id: its newest node
        self.nodes = 0
        self.parts: dict[str, list] = defaultdict(list)
        self.names: dict[int, str] = {}
        self.values: dict[int, Any] = {}
        self.params: dict[int, tuple] = {}

    def run(self, output: str | None) -> Graph:
        source = self.source
        begin = 0
        while begin < len(source):
            end = _chunk_end(source, begin)
            self.chunk(begin, end)
            begin = end
        if any(word in self.name_ids for word in _KEYWORDS):
            raise _Decline
        bind_names = [name for part in self.parts["bind_names"] for name in part]
        if not bind_names:
            raise _Decline  # an empty program: the full parser says so
        column = self.column
        nodes = Nodes(column("codes", np.uint8).tobytes(), int_column(column("first")),
                      int_column(column("second")), int_column(column("starts")),
                      int_column(column("ends")), self.names, self.values, self.params)
        bind_nodes = column("bind_nodes")
        bindings = Bindings(tuple(bind_names), int_column(bind_nodes),
                            int_column(column("bind_starts")), int_column(column("bind_ends")))
        if output is None:
            return Graph(nodes, bindings, int(bind_nodes[-1]), bind_names[-1], source)
        k = self.name_ids.get(output)
        if k is None or self.scope[k] < 0:
            raise _Decline  # no such variable: the full parser's message
        return Graph(nodes, bindings, int(self.scope[k]), output, source)

    def column(self, name: str, dtype: Any = np.int64) -> np.ndarray:
        parts = self.parts[name]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    def chunk(self, begin: int, end: int) -> None:
        text = self.source[begin:end]
        if end == len(self.source) and not text.endswith("\n"):
            # A comment on the last line ends at a line break like any other (a lone
            # backslash at the very end would become a line continuation: refused).
            if text.endswith("\\"):
                raise _Decline
            text += "\n"
        pieces = _SPLIT.split(text)
        if any(pieces[0::3]):
            raise _Decline  # text the tokens skipped (never expected: every character has a place)
        tokens = pieces[2::3]
        if not tokens:
            return
        # Where each token starts and ends, from the lengths of everything before it.
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        offsets = np.cumsum(lengths) + begin
        tok_start = offsets[1::3][:len(tokens)]
        tok_end = offsets[2::3][:len(tokens)]
        first = "".join(map(itemgetter(0), tokens)).translate(_FIRST_CHAR_KIND)
        kinds = "".join(map(_KIND.get, tokens, first))
        lines, line_tok = _lines(kinds)
        shape_ids = self.shape_ids
        sid = np.fromiter(map(shape_ids.__getitem__, lines), dtype=np.intp, count=len(lines))
        for shape in list(shape_ids)[len(self.recipes):]:
            recipe = _Recipe(shape).compile()
            if recipe is None:
                raise _Decline
            self.recipes.append(recipe)
        self.apply(sid, line_tok, tokens, tok_start, tok_end)

    def apply(self, sid: np.ndarray, line_tok: np.ndarray, tokens: list[str],
              tok_start: np.ndarray, tok_end: np.ndarray) -> None:
        recipes = self.recipes
        per_line = np.array([len(r) for r in recipes], dtype=np.int64)[sid]
        ev = np.concatenate(list(map(recipes.__getitem__, sid.tolist())))
        if not len(ev):
            return
        line_event = np.cumsum(per_line) - per_line
        for field, base in ((_TOKEN_FIELDS, np.repeat(line_tok, per_line)),
                            (_EVENT_FIELDS, np.repeat(line_event, per_line))):
            for f in field:
                column = ev[:, f]
                column += np.where(column >= 0, base, 0)
        kind = ev[:, KIND]
        n_events = len(ev)

        # Calls: the function from its name; anything the recipe cannot know is declined.
        calls = np.flatnonzero((kind == APPLY) & (ev[:, OP] < 0))
        if len(calls):
            codes = [_FUNCTION_CODE.get(tokens[t], -1) for t in ev[calls, TOK].tolist()]
            codes = np.array(codes, dtype=np.int64)
            if (codes < 0).any() or not _CALLABLE[codes].all() or \
                    (_ARITY_OF_CODE[codes] != ev[calls, NARGS]).any():
                raise _Decline
            ev[calls, OP] = codes

        # Names: sorted by name, each read takes the newest binding before it.
        named = np.flatnonzero((kind == READ) | (kind == BIND) | (kind == BIND_LITERAL) |
                               (kind == READ_TARGET))
        name_text = list(map(tokens.__getitem__, ev[named, TOK].tolist()))
        name_id = np.fromiter(map(self.name_ids.__getitem__, name_text), dtype=np.int64,
                              count=len(name_text))
        if len(self.name_ids) > len(self.scope):
            grown = np.full(2 * len(self.name_ids), -1, dtype=np.int64)
            grown[:len(self.scope)] = self.scope
            self.scope = grown
        order = np.argsort(name_id, kind="stable")
        s_id = name_id[order]
        s_event = named[order]
        s_kind = kind[s_event]
        first = np.ones(len(order), dtype=bool)
        first[1:] = s_id[1:] != s_id[:-1]
        carried = np.where(first, self.scope[s_id], -1)
        new_name = first & (carried < 0)
        reads = (s_kind == READ) | (s_kind == READ_TARGET)
        if (new_name & (s_kind == READ_TARGET)).any():
            raise _Decline  # x += 1 with x never seen: the input comes after the operand
        new_input = new_name & (reads | (s_kind == BIND_LITERAL))

        creates = (kind == CONST) | (kind == APPLY)
        creates[s_event[new_input]] = True
        literal_inputs = s_event[new_input & (s_kind == BIND_LITERAL)]
        creates[ev[literal_inputs, A]] = False   # x = 2.0: an input with a default instead
        is_literal_input = np.zeros(n_events, dtype=bool)
        is_literal_input[literal_inputs] = True
        node = np.cumsum(creates) - 1 + self.nodes
        value = np.where(creates, node, -1)
        known = first & (carried >= 0) & reads   # a name a chunk before this one made
        value[s_event[known]] = carried[known]
        # What each event's node is: its own, or another event's (a read takes its
        # binding's, a binding its expression's), followed to the end.
        target = np.arange(n_events)
        source = first | (s_kind == BIND) | (s_kind == BIND_LITERAL)
        latest = np.maximum.accumulate(np.where(source, np.arange(len(order)), 0))
        follows = ~source
        target[s_event[follows]] = s_event[latest[follows]]
        bound = (kind == BIND) | ((kind == BIND_LITERAL) & ~is_literal_input)
        target[bound] = ev[bound, A]
        while True:
            further = target[target]
            if np.array_equal(further, target):
                break
            target = further
        value = value[target]

        # The nodes, in the order made.
        made = np.flatnonzero(creates)
        m_kind = kind[made]
        is_op = m_kind == APPLY
        codes = np.where(is_op, ev[made, OP], np.where(m_kind == CONST, CONST_CODE, INPUT_CODE))
        a = ev[made, A]
        b = ev[made, B]
        first_operand = np.where(is_op, value[a], -1)
        second_operand = np.where(is_op & (b >= 0), value[b], -1)
        span_tok = np.where(m_kind == BIND_LITERAL, ev[made, TOK], ev[made, START])
        span_end = np.where(m_kind == BIND_LITERAL, ev[made, TOK], ev[made, END])
        self.parts["codes"].append(codes)
        self.parts["first"].append(first_operand)
        self.parts["second"].append(second_operand)
        self.parts["starts"].append(tok_start[span_tok])
        self.parts["ends"].append(tok_end[span_end])

        inputs = made[(m_kind == READ) | (m_kind == BIND_LITERAL)]
        self.names.update(zip(value[inputs].tolist(),
                              map(tokens.__getitem__, ev[inputs, TOK].tolist())))
        consts = np.flatnonzero(kind == CONST)   # orphans too: a literal input's default
        numbers = np.fromiter(map(float, map(tokens.__getitem__, ev[consts, TOK].tolist())),
                              dtype=np.float64, count=len(consts))
        numbers *= ev[consts, SIGN]
        number = np.zeros(n_events)
        number[consts] = numbers
        kept = consts[creates[consts]]
        self.values.update(zip(value[kept].tolist(), number[kept].tolist()))
        self.values.update(zip(value[literal_inputs].tolist(),
                               map(freeze_value, number[ev[literal_inputs, A]].tolist())))
        with_params = made[is_op & np.isin(codes, list(_PARAMS_OF_CODE))]
        for event, code in zip(value[with_params].tolist(), ev[with_params, OP].tolist()):
            self.params[event] = _PARAMS_OF_CODE[code]

        # The statements, and each name's newest node for the chunks after this one.
        binds = np.flatnonzero((kind == BIND) | (kind == BIND_LITERAL))
        self.parts["bind_names"].append(list(map(tokens.__getitem__, ev[binds, TOK].tolist())))
        self.parts["bind_nodes"].append(value[binds])
        self.parts["bind_starts"].append(tok_start[ev[binds, TOK]])
        self.parts["bind_ends"].append(tok_end[ev[binds, END]])
        last = np.ones(len(order), dtype=bool)
        last[:-1] = s_id[1:] != s_id[:-1]
        self.scope[s_id[last]] = value[s_event[last]]
        self.nodes += len(made)


def _lines(kinds: str) -> tuple[list[str], np.ndarray]:
    """The shapes of the lines of a chunk and the index of each line's first token. A
    line whose brackets stay open goes on to the next (``n`` marks the line break)."""
    lines = kinds.split("\n")
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1
    starts = np.cumsum(lengths) - lengths
    if "(" not in kinds:
        return lines, starts
    open_after = [line.count("(") - line.count(")") for line in lines]
    if not any(open_after):
        return lines, starts
    merged: list[str] = []
    merged_starts: list[int] = []
    depth = 0
    for line, start, change in zip(lines, starts.tolist(), open_after):
        if depth > 0:
            merged[-1] += "n" + line
        else:
            merged.append(line)
            merged_starts.append(start)
        depth += change
    return merged, np.array(merged_starts, dtype=np.int64)


_STATEMENT_START = re.compile(r"(?<!\\)\n(?=[A-Za-z_])")


def _chunk_end(source: str, begin: int) -> int:
    """Where the chunk from ``begin`` ends: about CHUNK characters on, just before a line
    that starts a statement (so that no statement spans two chunks), or the end."""
    if len(source) - begin <= CHUNK:
        return len(source)
    m = _STATEMENT_START.search(source, begin + CHUNK)
    return len(source) if m is None else m.start() + 1


def parse_common(source: str, output: str | None = None) -> Graph | None:
    """The graph of ``source`` when it is made of common statements, else ``None`` (the
    full parser then reads it, errors included)."""
    try:
        return _BulkParser(source).run(output)
    except _Decline:
        return None
