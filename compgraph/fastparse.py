"""The parser's fast path: the common statements of a program, parsed in bulk.

Long programs are nearly always lines of ``name = expression`` over names, numbers, the
operators ``+ - * / @ **``, parentheses and calls of the registry's functions, and their
lines repeat a few shapes: ``v7 = 0.5*(v3 + x)`` has the shape ``N=0*(N+N)``. So a chunk
of the program is tokenized at once (a few NumPy passes over its characters), each
distinct line shape is compiled once into a *recipe* (the nodes its statements make, in
the order the parser makes them, with token positions for their spans), and every recipe
is applied to all of its lines at once with NumPy. Names are resolved the same way:
each read takes the newest binding of its name before it (or makes the input, at the
first read of a name never bound), found by sorting a chunk's reads and bindings by name
(keyed by the name's characters, packed into an integer), with each name's newest node
from the chunks before kept in a hash table of NumPy arrays.

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
from typing import Any, Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .graph import (CONST_CODE, INPUT_CODE, OP_CODE, Bindings, Graph, Nodes, freeze_value,
                    int_column)
from .ops import BINARY, FUNCTIONS, OPS, ParamError

# --- tokens -------------------------------------------------------------------------------

# Each character's class is the kind of the token it starts, one letter each, so that a
# line's shape is a string: a name is N, a number 0; ** is p and += -= *= /= are a s m d;
# the other punctuation stands for itself; x is a token no recipe takes (non-ASCII text,
# brackets, comparisons, ...). Space, comments and line continuations separate tokens.
_CLASS = np.full(128, ord("x"), dtype=np.uint8)
for _chars, _kind in (("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_", "N"),
                      ("0123456789", "0"), (" \t\r\f", " ")):
    _CLASS[[ord(c) for c in _chars]] = ord(_kind)
for _c in "+-*/@(),;=\n.#\\":
    _CLASS[ord(_c)] = ord(_c)
_AUGMENTED_KIND = np.zeros(128, dtype=np.uint8)
for _c, _kind in zip("+-*/", "asmd"):
    _AUGMENTED_KIND[ord(_c)] = ord(_kind)
_SP, _NL, _DOT, _NAME, _NUM = (ord(c) for c in " \n.N0")
_EIGHT_ZEROS = np.zeros(8, dtype=np.uint8)
_FIRST_BYTES = np.array([(1 << 8 * k) - 1 for k in range(9)], dtype=np.uint64)  # k low bytes


class _Tokens:
    """The tokens of a chunk of program text, found with NumPy a pass per rule over all
    its characters: ``kinds`` (one letter per token, as above), ``start`` and ``end``
    (offsets in the program), and :meth:`text` for the names and numbers. Token for
    token the lexer's (``compgraph.lexer``) wherever a recipe takes the line; anything
    that would need the lexer's finer rules is refused (:class:`_Decline`)."""

    def __init__(self, text: str, begin: int) -> None:
        self.source_text = text
        self.begin = begin
        if text.isascii():
            chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        else:  # one code point per character, so that positions are offsets
            chars = np.minimum(np.frombuffer(text.encode("utf-32-le", "surrogatepass"),
                                            dtype=np.uint32), 127)
        cls = _CLASS[chars]
        self.chars = chars
        self.windows: np.ndarray | None = None   # 8 characters from each position
        if "#" in text:  # a comment runs from # to the end of its line
            hashes = np.cumsum(cls == ord("#"))
            before_line = np.maximum.accumulate(np.where(cls == _NL, hashes, 0))
            cls[(hashes > before_line) & (cls != _NL)] = _SP
        if "\\" in text:  # a backslash ending a line continues it
            joins = np.flatnonzero((cls[:-1] == ord("\\")) & (cls[1:] == _NL))
            cls[joins] = cls[joins + 1] = _SP
        word = (cls == _NAME) | (cls == _NUM) | (cls == _DOT)
        run_start = word.copy()
        run_start[1:] &= ~word[:-1]
        self._exponents_and_dots(chars, cls, word, run_start)
        # Two-character operators: ** and the augmented assignments.
        second = np.zeros(len(cls), dtype=bool)
        kind = cls.copy()
        if "**" in text:
            stars = np.flatnonzero((cls[:-1] == ord("*")) & (cls[1:] == ord("*")))
            after = np.minimum(stars + 2, len(cls) - 1)
            if ((stars > 0) & (cls[stars - 1] == ord("*"))).any() or \
                    ((stars + 2 < len(cls)) & ((cls[after] == ord("*")) | (cls[after] == ord("=")))).any():
                raise _Decline  # *** or **=: the lexer's order of rules decides, not here
            second[stars + 1] = True
            kind[stars] = ord("p")
        if "=" in text:
            eq = cls[1:] == ord("=")
            if (eq & (cls[:-1] == ord("="))).any():
                raise _Decline  # == (a comparison)
            augmented = np.flatnonzero(eq & (_AUGMENTED_KIND[cls[:-1]] > 0) & ~second[:-1])
            second[augmented + 1] = True
            kind[augmented] = _AUGMENTED_KIND[cls[augmented]]
        starts_here = run_start | (~word & (cls != _SP) & ~second)
        start = np.flatnonzero(starts_here)
        end = start + 1 + second[np.minimum(start + 1, len(cls) - 1)]
        is_word = word[start]
        run_end = word.copy()
        run_end[:-1] &= ~word[1:]
        end[is_word] = np.flatnonzero(run_end) + 1
        kind = kind[start]
        kind[is_word & (kind == _DOT)] = _NUM  # .5
        self.kinds = kind.tobytes().decode("ascii")
        self.line_breaks = np.flatnonzero(kind == _NL)
        self.start = start + begin
        self.end = end + begin

    @staticmethod
    def _exponents_and_dots(chars: np.ndarray, cls: np.ndarray, word: np.ndarray,
                            run_start: np.ndarray) -> None:
        """Join a number's exponent sign into its run (``1e-3``); refuse a name with a
        dot in it (``x.y``, which the lexer reads as three tokens)."""
        dots = np.flatnonzero(cls == _DOT)
        e = (chars[:-2] == ord("e")) | (chars[:-2] == ord("E"))
        signs = np.flatnonzero(e & ((cls[1:-1] == ord("+")) | (cls[1:-1] == ord("-")))
                               & (cls[2:] == _NUM)) + 1
        if not len(dots) and not len(signs):
            return
        runs = np.flatnonzero(run_start)

        def run_class(at: np.ndarray) -> np.ndarray:
            """The class of the first character of the run holding each of ``at``."""
            return cls[runs[np.searchsorted(runs, at, side="right") - 1]]

        if len(dots) and (run_class(dots) == _NAME).any():
            raise _Decline
        signs = signs[run_class(signs - 1) != _NAME]
        word[signs] = True
        run_start[signs + 1] = False

    def name_keys(self, tokens: np.ndarray, long_names: Mapping[str, int]) -> np.ndarray:
        """A key per name token, equal for equal names, made without a string per token:
        the name's characters packed into 64 bits when it has at most 8 (names are ASCII
        and have no NUL, so no key is 0 or has the top bit), else 2**63 + its id in
        ``long_names``."""
        keys, long = self.packed(tokens)
        if len(long):
            ids = np.fromiter(map(long_names.__getitem__, self.text(tokens[long])),
                              dtype=np.uint64, count=len(long))
            keys[long] = ids | np.uint64(1 << 63)
        return keys

    def packed(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The characters of each of ``tokens`` (names or numbers: ASCII, no NUL) packed
        into one little-endian 64-bit integer (0 for no token), and the indices of the
        tokens longer than 8 characters, whose packing holds only their first 8."""
        start = self.start[tokens] - self.begin
        length = self.end[tokens] - self.begin - start
        if self.windows is None:
            padded = np.concatenate((self.chars.astype(np.uint8, copy=False), _EIGHT_ZEROS))
            self.windows = sliding_window_view(padded, 8)
        keys = self.windows[start].view("<u8").ravel()
        keys &= _FIRST_BYTES[np.minimum(length, 8)]
        return keys, np.flatnonzero(length > 8)

    def numbers(self, tokens: np.ndarray) -> np.ndarray:
        """The value of each of ``tokens`` (numbers); :class:`_Decline` for one that is not
        a number as the lexer reads them (``1.2.3``, ``2x``, ``1_``). Each distinct number
        is converted once."""
        keys, long = self.packed(tokens)
        keys[long] = 0   # a long number's first 8 characters may be a short number's
        distinct, first, where = np.unique(keys, return_index=True, return_inverse=True)
        try:
            values = np.fromiter(map(float, self.text(tokens[first])), dtype=np.float64,
                                 count=len(first))[where.ravel()]
            if len(long):
                values[long] = np.fromiter(map(float, self.text(tokens[long])),
                                           dtype=np.float64, count=len(long))
        except ValueError:
            raise _Decline from None
        return values

    def text(self, tokens: np.ndarray) -> list[str]:
        """The text of each of ``tokens`` (indices)."""
        at = self.begin
        return list(map(self.source_text.__getitem__,
                        map(slice, (self.start[tokens] - at).tolist(),
                            (self.end[tokens] - at).tolist())))


# --- recipes ------------------------------------------------------------------------------

# An event is a row of integers: what it is, the token it reads (a name, a number, a
# function's name), the operator, the events of its operands, the tokens where its span
# starts and ends, the sign of a number, the number of a call's arguments.
READ, CONST, APPLY, BIND, BIND_LITERAL, READ_TARGET = range(6)
KIND, TOK, OP, A, B, START, END, SIGN, NARGS = range(9)
_FIELDS = 9
_NAMED = np.zeros(6, dtype=bool)   # the events that read or bind a name
_NAMED[[READ, BIND, BIND_LITERAL, READ_TARGET]] = True
_TOKEN_FIELDS = (TOK, START, END)
_EVENT_FIELDS = (A, B)

_NEG = OP_CODE["neg"]
_BINARY = {("p" if symbol == "**" else symbol): (OP_CODE[op.name], op.precedence)
           for symbol, op in BINARY.items()}
_AUGMENTED = {"a": OP_CODE["add"], "s": OP_CODE["sub"], "m": OP_CODE["mul"], "d": OP_CODE["div"]}
_UNARY_PRECEDENCE = 3


def _default_params(op: str) -> tuple | None:
    try:
        return OPS[op].bind({})
    except ParamError:  # a parameter without a default (reshape's shape)
        return None


class _Functions:
    """The registry's functions as a call's recipe needs them, read when a parse starts:
    each name's code (names of up to 8 characters also by their packed characters), its
    arity, and for a call with all its operands and nothing else, whether the full parser
    takes it and the parameters it stores then (the defaults)."""

    def __init__(self) -> None:
        self.code = {name: OP_CODE[op.name] for name, op in FUNCTIONS.items()}
        short = sorted((int.from_bytes(name.encode(), "little"), code)
                       for name, code in self.code.items() if len(name) <= 8)
        self.keys = np.array([key for key, _ in short], dtype=np.uint64)
        self.key_codes = np.array([code for _, code in short], dtype=np.int64)
        self.arity = np.zeros(256, dtype=np.int64)
        self.params: dict[int, tuple] = {}
        self.callable = np.zeros(256, dtype=bool)
        for op in FUNCTIONS.values():
            code = OP_CODE[op.name]
            self.arity[code] = op.arity
            params = _default_params(op.name) if op.params else ()
            if params is not None:   # reshape(x) needs its shape: the full parser says so
                self.callable[code] = True
                if params:
                    self.params[code] = params


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
        return np.array(rows, dtype=np.int64).reshape(len(rows), _FIELDS).T.copy()

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

def pack_name(name: str) -> int | None:
    """The 64-bit key of a name of at most 8 ASCII characters (its characters, packed as
    :meth:`_Tokens.name_keys` packs them), or ``None``.

    >>> pack_name("ab") == ord("a") + (ord("b") << 8)
    True
    """
    if len(name) > 8 or not name.isascii() or not name.isidentifier():
        return None
    return int.from_bytes(name.encode("ascii"), "little")


_SPREAD = np.uint64(0x9E3779B97F4A7C15)   # 2**64 / golden ratio: spreads packed keys


class _NameTable:
    """Each name's newest node, by name key: an open-addressing hash table held in NumPy
    arrays, so that a chunk's names are looked up and stored in a few passes over all of
    them. (A dict of a million names misses the cache at nearly every lookup: this is
    what made parsing slower per statement as programs grew.)"""

    def __init__(self, bits: int = 12) -> None:
        self.bits = bits
        self.keys = np.zeros(1 << bits, dtype=np.uint64)   # 0: an empty slot (no key is 0)
        self.nodes = np.full(1 << bits, -1, dtype=np.int64)
        self.size = 0

    def slots(self, keys: np.ndarray) -> np.ndarray:
        """Each key's slot: where it is, or the empty slot where it would go (linear
        probing)."""
        mask = (1 << self.bits) - 1
        slot = ((keys * _SPREAD) >> np.uint64(64 - self.bits)).astype(np.int64)
        out = np.empty(len(keys), dtype=np.int64)
        pending = np.arange(len(keys))
        while len(pending):
            here = self.keys[slot]
            done = (here == keys[pending]) | (here == 0)
            out[pending[done]] = slot[done]
            pending = pending[~done]
            slot = (slot[~done] + 1) & mask
        return out

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The node of each key, -1 for a name not seen."""
        return self.nodes[self.slots(keys)]

    def put(self, keys: np.ndarray, nodes: np.ndarray) -> None:
        """Set each key's node (the keys are distinct)."""
        if 2 * (self.size + len(keys)) > len(self.keys):
            old = self.keys != 0
            old_keys, old_nodes = self.keys[old], self.nodes[old]
            self.__init__(max(self.bits + 1, int(2 * (self.size + len(keys))).bit_length() + 1))
            self.put(old_keys, old_nodes)
        slot = self.slots(keys)
        new = np.flatnonzero(self.keys[slot] == 0)
        self.size += len(new)
        while len(new):
            # New keys may want one empty slot: one of them takes it, the others probe
            # again past it.
            self.keys[slot[new]] = keys[new]
            new = new[self.keys[slot[new]] != keys[new]]
            if len(new):
                slot[new] = self.slots(keys[new])
        self.nodes[slot] = nodes


_KEYWORD_KEYS = np.array([pack_name(word) for word in ("def", "return")], dtype=np.uint64)


class _Decline(Exception):
    """The program needs the full parser."""


CHUNK = 1 << 16   # characters tokenized at once: bounds the memory the tokens and events take


class _BulkParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.shape_ids: defaultdict[str, int] = defaultdict(count().__next__)
        self.recipes: list[np.ndarray] = []   # per shape id: its events, a row per field
        self.recipe_sizes: list[int] = []
        self.all_recipes = np.zeros((_FIELDS, 0), dtype=np.int64)   # every recipe, one after another
        self.recipe_at = np.zeros(0, dtype=np.int64)
        self.open_shapes: list[int] = []  # shapes whose brackets stay open at the line's end
        self.declined_shapes: list[int] = []  # shapes without a recipe (open ones too)
        self.long_names: defaultdict[str, int] = defaultdict(count().__next__)
        self.scope = _NameTable()   # each name's newest node
        self.functions = _Functions()
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
        column = self.column
        bind_nodes = column("bind_nodes")
        if not len(bind_nodes):
            raise _Decline  # an empty program: the full parser says so
        nodes = Nodes(column("codes", np.uint8).tobytes(), int_column(column("first")),
                      int_column(column("second")), int_column(column("starts")),
                      int_column(column("ends")), self.names, self.values, self.params)
        bind_starts = column("bind_starts")
        name_ends = column("bind_name_ends")
        bindings = Bindings(None, int_column(bind_nodes), int_column(bind_starts),
                            int_column(column("bind_ends")), (source, int_column(name_ends)))
        if output is None:
            return Graph(nodes, bindings, int(bind_nodes[-1]),
                         source[bind_starts[-1]:name_ends[-1]], source)
        key = pack_name(output)
        if key is None:
            key = self.long_names.get(output, -1) | 1 << 63
        node = int(self.scope.get(np.array([key], dtype=np.uint64))[0]) if key > 0 else -1
        if node < 0:
            raise _Decline  # no such variable: the full parser's message
        return Graph(nodes, bindings, node, output, source)

    def column(self, name: str, dtype: Any = np.int64) -> np.ndarray:
        parts = self.parts[name]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    def chunk(self, begin: int, end: int) -> None:
        tokens = _Tokens(self.source[begin:end], begin)
        if not tokens.kinds:
            return
        lines = tokens.kinds.split("\n")
        line_tok = np.concatenate(([0], tokens.line_breaks + 1))
        sid = self.shape_of(lines)
        if self.open_shapes and np.isin(sid, self.open_shapes).any():
            lines, line_tok = _join_open_lines(lines, line_tok)
            sid = self.shape_of(lines)
        if self.declined_shapes and np.isin(sid, self.declined_shapes).any():
            raise _Decline
        self.apply(sid, line_tok, tokens)

    def shape_of(self, lines: list[str]) -> np.ndarray:
        """Each line's shape id; the recipe of a shape not seen before is compiled (a
        shape whose brackets stay open has none: its lines are joined to the next)."""
        shape_ids = self.shape_ids
        sid = np.fromiter(map(shape_ids.__getitem__, lines), dtype=np.intp, count=len(lines))
        for shape in list(shape_ids)[len(self.recipes):]:
            recipe = None
            if shape.count("(") > shape.count(")"):
                self.open_shapes.append(len(self.recipes))
            else:
                recipe = _Recipe(shape).compile()
            if recipe is None:
                self.declined_shapes.append(len(self.recipes))
            self.recipes.append(recipe)
            self.recipe_sizes.append(0 if recipe is None else recipe.shape[1])
        return sid

    def apply(self, sid: np.ndarray, line_tok: np.ndarray, tokens: _Tokens) -> None:
        # Every line's recipe, one after another: ev[field] is a row over all the events.
        if len(self.recipe_at) != len(self.recipes):   # shapes new in this chunk
            self.all_recipes = np.concatenate([r for r in self.recipes if r is not None], axis=1)
            sizes = np.array(self.recipe_sizes, dtype=np.int64)
            self.recipe_at = np.cumsum(sizes) - sizes   # where each recipe starts in all_recipes
        per_line = np.array(self.recipe_sizes, dtype=np.int64)[sid]
        line_event = np.cumsum(per_line) - per_line
        n_events = int(line_event[-1] + per_line[-1])
        if not n_events:
            return
        ev = self.all_recipes[:, np.arange(n_events) + np.repeat(self.recipe_at[sid] - line_event,
                                                                  per_line)]
        for fields, base in ((_TOKEN_FIELDS, np.repeat(line_tok, per_line)),
                             (_EVENT_FIELDS, np.repeat(line_event, per_line))):
            for f in fields:
                np.add(ev[f], base, out=ev[f], where=ev[f] >= 0)
        kind = ev[KIND]

        # Calls: the function from its name; anything the recipe cannot know is declined.
        calls = np.flatnonzero((kind == APPLY) & (ev[OP] < 0))
        functions = self.functions
        if len(calls):
            keys, long = tokens.packed(ev[TOK, calls])
            at = np.minimum(np.searchsorted(functions.keys, keys), len(functions.keys) - 1)
            codes = np.where(functions.keys[at] == keys, functions.key_codes[at], -1)
            codes[long] = [functions.code.get(name, -1)
                           for name in tokens.text(ev[TOK, calls[long]])]
            if (codes < 0).any() or not functions.callable[codes].all() or \
                    (functions.arity[codes] != ev[NARGS, calls]).any():
                raise _Decline
            ev[OP, calls] = codes

        # Names: sorted by name, each read takes the newest binding before it.
        named = np.flatnonzero(_NAMED[kind])
        keys = tokens.name_keys(ev[TOK, named], self.long_names)
        order = np.argsort(keys, kind="stable")
        s_key = keys[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = s_key[1:] != s_key[:-1]
        names = s_key[first]   # each name once
        if np.isin(names, _KEYWORD_KEYS).any():
            raise _Decline  # def, return: the full parser's
        s_event = named[order]
        s_kind = kind[s_event]
        carried = np.full(len(order), -1, dtype=np.int64)
        carried[first] = self.scope.get(names)
        new_name = first & (carried < 0)
        reads = (s_kind == READ) | (s_kind == READ_TARGET)
        if (new_name & (s_kind == READ_TARGET)).any():
            raise _Decline  # x += 1 with x never seen: the input comes after the operand
        new_input = new_name & (reads | (s_kind == BIND_LITERAL))

        creates = (kind == CONST) | (kind == APPLY)
        creates[s_event[new_input]] = True
        literal_inputs = s_event[new_input & (s_kind == BIND_LITERAL)]
        creates[ev[A, literal_inputs]] = False   # x = 2.0: an input with a default instead
        is_literal_input = np.zeros(n_events, dtype=bool)
        is_literal_input[literal_inputs] = True
        value = np.where(creates, np.cumsum(creates) - 1 + self.nodes, -1)
        known = first & (carried >= 0) & reads   # a name a chunk before this one made
        value[s_event[known]] = carried[known]
        # What each event's node is: its own, or another event's (a read takes its
        # binding's, a binding its expression's), followed to the end.
        target = np.arange(n_events)
        source = first | (s_kind == BIND) | (s_kind == BIND_LITERAL)
        latest = np.maximum.accumulate(np.where(source, np.arange(len(order)), 0))
        targets = np.flatnonzero(s_kind == READ_TARGET)
        sources = latest[targets]
        made_here = new_input[sources]
        if made_here.any():
            # x += ... where x is an input the same line made: the full parser's graph
            # numbers x before the operand's nodes, not in the order made.
            line = np.repeat(np.arange(len(per_line)), per_line)
            if (line[s_event[sources[made_here]]] == line[s_event[targets[made_here]]]).any():
                raise _Decline
        follows = ~source
        target[s_event[follows]] = s_event[latest[follows]]
        bound = (kind == BIND) | ((kind == BIND_LITERAL) & ~is_literal_input)
        target[bound] = ev[A, bound]
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
        is_input = (m_kind == READ) | (m_kind == BIND_LITERAL)
        codes = np.where(is_op, ev[OP, made], np.where(is_input, INPUT_CODE, CONST_CODE))
        b = ev[B, made]
        self.parts["codes"].append(codes)
        self.parts["first"].append(np.where(is_op, value[ev[A, made]], -1))
        self.parts["second"].append(np.where(is_op & (b >= 0), value[b], -1))
        literal = m_kind == BIND_LITERAL   # the input's span is its name
        self.parts["starts"].append(tokens.start[np.where(literal, ev[TOK, made], ev[START, made])])
        self.parts["ends"].append(tokens.end[np.where(literal, ev[TOK, made], ev[END, made])])
        inputs = made[is_input]
        self.names.update(zip(value[inputs].tolist(), tokens.text(ev[TOK, inputs])))
        consts = np.flatnonzero(kind == CONST)   # orphans too: a literal input's default
        number = np.zeros(n_events)
        number[consts] = tokens.numbers(ev[TOK, consts]) * ev[SIGN, consts]
        kept = consts[creates[consts]]
        self.values.update(zip(value[kept].tolist(), number[kept].tolist()))
        self.values.update(zip(value[literal_inputs].tolist(),
                               map(freeze_value, number[ev[A, literal_inputs]].tolist())))
        with_params = made[is_op & np.isin(codes, list(functions.params))]
        for node, code in zip(value[with_params].tolist(), ev[OP, with_params].tolist()):
            self.params[node] = functions.params[code]

        # The statements, and each name's newest node for the chunks after this one.
        binds = np.flatnonzero((kind == BIND) | (kind == BIND_LITERAL))
        self.parts["bind_name_ends"].append(tokens.end[ev[TOK, binds]])
        self.parts["bind_nodes"].append(value[binds])
        self.parts["bind_starts"].append(tokens.start[ev[TOK, binds]])
        self.parts["bind_ends"].append(tokens.end[ev[END, binds]])
        last = np.ones(len(order), dtype=bool)
        last[:-1] = first[1:]
        self.scope.put(names, value[s_event[last]])
        self.nodes += len(made)


def _join_open_lines(lines: list[str], starts: np.ndarray) -> tuple[list[str], np.ndarray]:
    """A line whose brackets stay open goes on to the next (``n`` marks the line break,
    a token the lexer drops inside brackets)."""
    merged: list[str] = []
    merged_starts: list[int] = []
    depth = 0
    for line, start in zip(lines, starts.tolist()):
        if depth > 0:
            merged[-1] += "n" + line
        else:
            merged.append(line)
            merged_starts.append(start)
        depth += line.count("(") - line.count(")")
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
