"""The language: parses a program into a :class:`~compgraph.graph.Graph`.

An operator-precedence parser with explicit stacks (no recursion), so 2,000 nested
parentheses parse as easily as two. Precedence is Python's: ``+ -`` < ``* / @`` < unary
``- +`` < ``**`` (right-associative, its right side may carry a sign) < subscripts, so
``-x**2`` is ``-(x**2)``, ``2**-1`` is ``2**(-1)`` and ``-x[0]**2`` is ``-((x[0])**2)``.

Calls take an operator's static parameters as keyword arguments of constants
(``softmax(z, axis=0)``), and a subscript of constant integers and slices may follow any
operand (``x[0]``, ``W[:, 1]``, ``x[1:3]``, ``f(x)[-1]``).

``def NAME(PARAMS):`` starts a user-defined function, its body the indented lines below
(or the rest of the line), ending in ``return``. Indentation matters only there: a body's
lines share one indentation, deeper than the ``def``'s, and the first line indented no
deeper ends it. Bodies are recorded once and inlined at each call
(``compgraph.functions``), so deep or long chains of calls use no recursion either.

:func:`parse` first offers the program to its fast path (``compgraph.fastparse``), which
takes programs of common statements in bulk and gives the same graph; any other program,
and every mistake, is read by the parser here, so every message comes from it.

>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> g.input_names, g.output_name
(('x', 'y', 'z'), 'w')
>>> parse("y = rleu(x)")
Traceback (most recent call last):
  ...
compgraph.errors.ParseError: line 1, column 5: unknown function 'rleu' (did you mean 'relu'?); known functions: abs, bce, cos, cross_entropy, erf, exp, gelu, gelu_tanh, leaky_relu, log, log_softmax, logsumexp, max, maximum, mean, min, minimum, mse, outer, relu, reshape, sigmoid, sign, sin, softmax, softplus, sqrt, sum, tanh, transpose
  y = rleu(x)
      ^^^^
"""

from __future__ import annotations

import gc
import re

from .errors import ParseError
from .functions import Function, Template, arity_error, inline
from .graph import KEYWORDS, Graph, GraphBuilder
from .lexer import Token, tokenize
from .ops import BINARY, FUNCTIONS, POSTFIX, ParamError, Slice

_AUGMENTED = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}
# parse() offers programs of at least this many characters (about 150 statements) to its
# fast path: the full parser is faster on shorter ones, the fast path's passes costing a
# fraction of a millisecond whatever the size. Short programs (a command line's) do not
# even import it.
FAST_FROM = 4096
_UNARY_PRECEDENCE = 3
_MAX_ARRAY_DIMS = 32
_MAX_INDEX_DIGITS = 18  # an index beyond 10**18 is out of range of any array

# Operator-stack entries: (kind, payload, start, end, base)
#   kind "bin": payload = Op;  "neg": unary minus;  "paren": a group;
#   "call": payload = function name, base = operand-stack height at the call's start;
#   "kw": payload = a keyword argument's name (start, end: the name), above its call.


class _Operand:
    """An entry of the operand stack: a node plus where its text is."""

    __slots__ = ("node", "start", "end", "literal", "keyword")

    def __init__(self, node: int, start: int, end: int, literal: object = None) -> None:
        self.node = node
        self.start = start
        self.end = end
        self.literal = literal  # the number or nested list, when the operand is a bare literal
        self.keyword: tuple[str, int, int] | None = None  # (name, start, end) of name=value


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.builder: GraphBuilder | Template = GraphBuilder(source)
        self.scope: dict[str, int] = {}   # name -> newest node
        self.pos = 0
        self.functions: dict[str, Function] = {}
        self.defining: Function | None = None   # the def whose body is being read
        self.outer_scope: dict[str, int] = {}     # the program's names, while reading a body
        # Calls, inside bodies, of functions not defined yet: (caller, name, span)
        self.pending: list[tuple[Function, str, tuple[int, int] | None]] = []

    # --- errors -------------------------------------------------------------------------

    def error(self, message: str, start: int, end: int | None = None) -> ParseError:
        return ParseError(message, self.source, start, end)

    def describe(self, tok: Token) -> str:
        if tok.kind == "EOF":
            return "the end of the program"
        if tok.kind == "SEP":
            return "the end of the line" if tok.text == "\n" else f"{tok.text!r}"
        return f"{tok.text!r}"

    # --- program ------------------------------------------------------------------------

    def program(self, output: str | None) -> Graph:
        tokens = self.tokens
        last_expr: tuple[int, str] | None = None
        while tokens[self.pos].kind != "EOF":
            tok = tokens[self.pos]
            if tok.kind == "SEP":
                self.pos += 1
                continue
            if last_expr is not None:
                raise self.error("an expression's value is unused; assign it to a name "
                                 "(e.g. y = ...) or make it the last line", *self._stmt_span)
            nxt = tokens[self.pos + 1]
            if tok.kind == "NAME" and tok.text in KEYWORDS:
                if tok.text == "return":
                    raise self.error("'return' outside a function: it ends the body of a def",
                                     tok.start, tok.end)
                self.definition(tok)
            elif tok.kind == "NAME" and nxt.kind == "ASSIGN":
                self.pos += 2
                self.assignment(tok, nxt)
            else:
                start = tok.start
                operand = self.expression()
                end = operand.end
                self._stmt_span = (start, end)
                last_expr = (operand.node, _expression_name(self.source[start:end]))
        self.check_pending()
        if not self.builder.statements and last_expr is None:  # type: ignore[union-attr]
            raise self.error("empty program: write at least one statement, e.g. y = 2*x", 0, 1)
        if output is not None:
            if output not in self.scope:
                known = ", ".join(sorted(self.scope)) or "none"
                raise ParseError(f"no variable named {output!r} to use as the output; "
                                 f"the program has: {known}")
            return self.builder.build(self.scope[output], output)  # type: ignore[union-attr]
        if last_expr is not None:
            return self.builder.build(*last_expr)  # type: ignore[union-attr]
        return self.builder.build()  # type: ignore[union-attr]

    def assignment(self, target: Token, assign: Token) -> None:
        name = target.text
        if self.defining is None and name in self.functions:
            raise self.error(f"{name!r} is the name of a function (def at line "
                             f"{self.functions[name].line}); choose another variable name",
                             target.start, target.end)
        operand = self.expression()
        if assign.text in _AUGMENTED:
            left = self.read(name, target.start, target.end)
            node = self.builder.apply(_AUGMENTED[assign.text], (left, operand.node),
                                      (target.start, operand.end))
        elif operand.literal is not None and name not in self.scope and self.defining is None:
            # `x = 2.0` or `W = [[1, 2], [3, 4]]`: an input with a default value.
            node = self.builder.input(name, operand.literal, (target.start, target.end))  # type: ignore[union-attr]
        else:
            node = operand.node
        self.builder.bind(name, node, (target.start, operand.end))
        self.scope[name] = node

    def read(self, name: str, start: int, end: int) -> int:
        node = self.scope.get(name)
        if node is None:
            if name in KEYWORDS:
                raise self.error(f"{name!r} is a keyword, not a variable", start, end)
            if name in self.functions:
                raise self.error(f"{name!r} is a function: call it, {name}(...)", start, end)
            if self.defining is not None:
                raise self.undefined_in_body(name, start, end)
            node = self.scope[name] = self.builder.input(name, span=(start, end))  # type: ignore[union-attr]
        return node

    def undefined_in_body(self, name: str, start: int, end: int) -> ParseError:
        fn = self.defining
        assert fn is not None
        params = ", ".join(fn.params) or "none"
        if name in self.outer_scope:
            # A body that read the program's variables would silently make inputs of
            # names it misspelt; a function sees only its parameters and its own names.
            return self.error(f"{fn.name} reads {name!r}, which is a variable of the program, "
                              f"not of the function (its parameters: {params}); pass it in: "
                              f"def {fn.name}({', '.join(fn.params + (name,))})", start, end)
        return self.error(f"{name!r} is neither a parameter of {fn.name} ({params}) nor "
                          f"assigned in its body before this line; a function sees only its "
                          f"parameters and its own names", start, end)

    # --- user-defined functions ---------------------------------------------------------

    def indent(self, tok: Token) -> str | None:
        """The whitespace before ``tok`` when it is the first token of its line, else None."""
        line_start = self.source.rfind("\n", 0, tok.start) + 1
        prefix = self.source[line_start:tok.start]
        return prefix if not prefix.strip(" \t\f") else None

    def expect(self, kind: str, what: str, after: str) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != kind:
            raise self.error(f"expected {what} after {after}, found {self.describe(tok)}",
                             tok.start, max(tok.end, tok.start + 1))
        self.pos += 1
        return tok

    def definition(self, def_tok: Token) -> None:
        """``def NAME(PARAMS):`` and its body: indented lines below, or one line after ':'."""
        tokens = self.tokens
        if self.defining is not None:
            raise self.error(f"a def inside a def is not supported: define it at the top "
                             f"level, before {self.defining.name}", def_tok.start, def_tok.end)
        def_indent = self.indent(def_tok)
        if def_indent is None:
            raise self.error("'def' must begin its own line", def_tok.start, def_tok.end)
        self.pos += 1
        name_tok = self.expect("NAME", "the function's name", "'def'")
        name = name_tok.text
        span = (name_tok.start, name_tok.end)
        if name in KEYWORDS:
            raise self.error(f"{name!r} is a keyword and cannot name a function", *span)
        if name in FUNCTIONS:
            raise self.error(f"a function named {name!r} would shadow the operator {name}; "
                             "choose another name", *span)
        if name in self.functions:
            raise self.error(f"{name!r} is already defined at line {self.functions[name].line}; "
                             "give this function another name", *span)
        if name in self.scope:
            raise self.error(f"{name!r} is already a variable of the program; give the "
                             "function another name", *span)
        self.expect("LPAR", "'('", f"def {name}")
        params: list[str] = []
        while tokens[self.pos].kind != "RPAR":
            if params:
                self.expect("COMMA", "',' or ')'", f"parameter {params[-1]!r}")
            p = self.expect("NAME", "a parameter name", f"def {name}(")
            if p.text in KEYWORDS:
                raise self.error(f"{p.text!r} is a keyword and cannot name a parameter",
                                 p.start, p.end)
            if p.text in params:
                raise self.error(f"parameter {p.text!r} appears twice in def {name}",
                                 p.start, p.end)
            params.append(p.text)
        self.pos += 1
        self.expect("COLON", "':'", f"def {name}({', '.join(params)})")
        line = self.source.count("\n", 0, def_tok.start) + 1
        fn = Function(name, tuple(params), span, line, order=len(self.functions))
        outer = (self.builder, self.scope)
        self.builder = fn.template
        self.scope = {p: fn.template.param(k) for k, p in enumerate(params)}
        self.outer_scope = outer[1]
        self.defining = fn
        try:
            tok = tokens[self.pos]
            if tok.kind == "SEP" and tok.text == "\n":
                self.block(fn, def_indent)
            elif tok.kind in ("SEP", "EOF"):
                raise self.error(f"expected the body of {name} after ':' (a statement on the "
                                 "same line, or indented lines below)", tok.start, tok.end + 1)
            else:
                self.one_line(fn)
        finally:
            self.builder, self.scope = outer
            self.defining = None
        if fn.template.result < 0:
            raise self.error(f"{name} has no 'return': end its body with return EXPRESSION",
                             *span)
        self.functions[name] = fn
        self.check_cycles(fn)

    def one_line(self, fn: Function) -> None:
        """``def f(x): return 3*relu(x)`` (statements separated by ';' may come first)."""
        tokens = self.tokens
        while True:
            tok = tokens[self.pos]
            if tok.kind == "EOF" or (tok.kind == "SEP" and tok.text == "\n"):
                return
            if tok.kind == "SEP":
                self.pos += 1
                continue
            self.body_statement(fn, tok)

    def block(self, fn: Function, def_indent: str) -> None:
        """The indented lines under ``def ...:``, up to the first line indented no deeper
        than the ``def``. Every line of the body has the same indentation."""
        tokens = self.tokens
        while tokens[self.pos].kind == "SEP":
            self.pos += 1
        first = tokens[self.pos]
        body_indent = self.indent(first)
        if (first.kind == "EOF" or body_indent is None or len(body_indent) <= len(def_indent)
                or not body_indent.startswith(def_indent)):
            raise self.error(f"expected the indented body of {fn.name} on the lines below "
                             f"'def {fn.signature()}:'", first.start, max(first.end, first.start + 1))
        while True:
            tok = tokens[self.pos]
            if tok.kind == "SEP":
                self.pos += 1
                continue
            if tok.kind == "EOF":
                return
            here = self.indent(tok)
            if here is not None and here != body_indent:
                if len(here) <= len(def_indent):
                    return  # the body ends; the program goes on
                if here.startswith(body_indent):
                    message = (f"unexpected indent: the body of {fn.name} is indented "
                               f"{len(body_indent)} columns (blocks do not nest)")
                elif body_indent.startswith(here):
                    message = (f"unindent does not match: indent by {len(body_indent)} columns "
                               f"to stay in the body of {fn.name}, or by {len(def_indent)} to "
                               "leave it")
                else:
                    message = ("inconsistent use of tabs and spaces in indentation: the body "
                               f"of {fn.name} is indented with {body_indent!r}")
                raise self.error(message, tok.start - len(here), tok.start + 1)
            self.body_statement(fn, tok)

    def body_statement(self, fn: Function, tok: Token) -> None:
        tokens = self.tokens
        template = fn.template
        if template.result >= 0:
            raise self.error(f"this statement is never run: 'return' ends the body of "
                             f"{fn.name} (put return last)", tok.start, tok.end)
        nxt = tokens[self.pos + 1]
        if tok.kind == "NAME" and tok.text == "return":
            self.pos += 1
            if tokens[self.pos].kind in ("SEP", "EOF"):
                raise self.error(f"'return' needs an expression: {fn.name} must return a "
                                 "value", tok.start, tok.end)
            template.result = self.expression().node
        elif tok.kind == "NAME" and tok.text == "def":
            raise self.error(f"a def inside a def is not supported: define it at the top "
                             f"level, before {fn.name}", tok.start, tok.end)
        elif tok.kind == "NAME" and nxt.kind == "ASSIGN":
            self.pos += 2
            self.assignment(tok, nxt)
        else:
            start = tok.start
            end = self.expression().end
            raise self.error(f"an expression's value is unused inside {fn.name}; assign it "
                             "to a name or return it", start, end)

    def call_user(self, fn: Function, args: list[int], span: tuple[int, int]) -> int:
        """A call of a user function: recorded in a body being read, inlined elsewhere."""
        if len(args) != len(fn.params):
            raise arity_error(fn, len(args), self.source, span)
        if self.defining is not None:
            return self.builder.call(fn.name, args, span)  # type: ignore[union-attr]
        return inline(self.builder, self.functions, fn, tuple(args), span,  # type: ignore[arg-type]
                      self.source, self.missing_callee)

    def missing_callee(self, caller: Function, name: str,
                       where: tuple[int, int] | None) -> ParseError:
        """The error for a body that calls ``name`` when no such function is defined yet."""
        where = where or caller.span
        later = self.defined_later(name)
        if later:
            line = self.source.count("\n", 0, self.tokens[self.pos].start) + 1
            return self.error(f"{caller.name} calls {name}, which is defined later (line "
                              f"{later}) than this call of it runs (line {line}): define "
                              f"{name} first", *where)
        known = sorted(set(FUNCTIONS) | set(self.functions))
        import difflib  # only a misspelt name needs it

        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return self.error(f"unknown function {name!r} in the body of {caller.name}{hint}; "
                          f"known functions: {', '.join(known)}", *where)

    def check_cycles(self, fn: Function) -> None:
        """Refuse recursion as soon as the definition that closes a cycle is read."""
        if not any(name == fn.name for _, name, _ in self.pending):
            # Earlier bodies can reach fn only through a call written before fn existed;
            # without one, fn closes no cycle (direct recursion is refused in the body).
            return
        # Iterative depth-first search over the calls written in bodies, from fn.
        stack: list[tuple[str, list[str], tuple[int, int] | None]] = [
            (callee, [fn.name], where) for callee, where, _ in reversed(fn.template.calls())]
        seen: set[str] = set()
        while stack:
            name, chain, where = stack.pop()
            if name == fn.name:
                cycle = " → ".join(chain + [name])
                raise self.error(f"recursion: {cycle}; calls are inlined into the graph, so a "
                                 "function cannot call itself, directly or through others",
                                 *(where or fn.span))
            if name in seen or name not in self.functions:
                continue
            seen.add(name)
            for callee, _, _ in reversed(self.functions[name].template.calls()):
                stack.append((callee, chain + [name], where))

    def check_pending(self) -> None:
        """Calls, inside bodies, of functions that the program never defines or calls with
        the wrong number of arguments (reported even when no one calls the caller)."""
        for caller in self.functions.values():
            for name, span, given in caller.template.calls():
                callee = self.functions.get(name)
                if callee is not None and given != len(callee.params):
                    raise arity_error(callee, given, self.source, span)
        for caller, name, span in self.pending:
            if name not in self.functions:
                raise self.missing_callee(caller, name, span)

    # --- expressions --------------------------------------------------------------------

    def expression(self) -> _Operand:
        """Parse one expression up to a statement separator; leave ``pos`` on it."""
        tokens = self.tokens
        builder = self.builder
        operands: list[_Operand] = []
        stack: list[tuple] = []
        expect_operand = True
        prev: Token | None = None

        def reduce() -> None:
            kind, payload, start, end, base = stack.pop()
            if kind == "neg":
                x = operands.pop()
                if x.literal is not None and not isinstance(x.literal, list):
                    value = -x.literal
                    operands.append(_Operand(builder.const(value, (start, x.end)), start, x.end, value))
                else:
                    node = builder.apply("neg", (x.node,), (start, x.end))
                    operands.append(_Operand(node, start, x.end))
            else:  # "bin"
                b = operands.pop()
                a = operands.pop()
                node = builder.apply(payload.name, (a.node, b.node), (a.start, b.end))
                operands.append(_Operand(node, a.start, b.end))

        while True:
            tok = tokens[self.pos]
            kind = tok.kind
            if expect_operand:
                if kind == "NUM":
                    value = float(tok.text.replace("_", ""))
                    operands.append(_Operand(builder.const(value, (tok.start, tok.end)),
                                             tok.start, tok.end, value))
                    expect_operand = False
                elif kind == "NAME":
                    nxt = tokens[self.pos + 1]
                    if (nxt.kind == "ASSIGN" and nxt.text == "=" and stack
                            and stack[-1][0] == "call"):
                        # name=value starting an argument: a keyword argument
                        stack.append(("kw", tok.text, tok.start, tok.end, len(operands)))
                        self.pos += 1  # the "="
                    elif nxt.kind == "LPAR":
                        self.function(tok)
                        # the frame's end is the "(" (errors point at it), its start the name
                        lpar = tokens[self.pos + 1]
                        stack.append(("call", tok.text, tok.start, lpar.end, len(operands)))
                        self.pos += 1  # the "("
                        if tokens[self.pos + 1].kind == "RPAR":
                            self.pos += 1
                            self.finish_call(stack.pop(), operands, tokens[self.pos])
                            expect_operand = False
                    else:
                        node = self.read(tok.text, tok.start, tok.end)
                        operands.append(_Operand(node, tok.start, tok.end))
                        expect_operand = False
                elif kind == "LPAR":
                    stack.append(("paren", None, tok.start, tok.end, len(operands)))
                elif kind == "LBRK":
                    operands.append(self.array())
                    expect_operand = False
                elif kind == "OP" and tok.text in "-+":
                    if tok.text == "-":
                        stack.append(("neg", None, tok.start, tok.end, 0))
                else:
                    raise self.missing_operand(tok, prev, stack)
            else:
                if kind == "OP":
                    op = BINARY[tok.text]
                    p = op.precedence
                    right = tok.text == "**"
                    while stack and stack[-1][0] in ("bin", "neg"):
                        top = stack[-1]
                        tp = top[1].precedence if top[0] == "bin" else _UNARY_PRECEDENCE
                        if tp > p or (tp == p and not right):
                            reduce()
                        else:
                            break
                    stack.append(("bin", op, tok.start, tok.end, 0))
                    expect_operand = True
                elif kind == "LBRK":
                    self.subscript(operands)
                elif kind in ("RPAR", "RBRK", "COMMA"):
                    while stack and stack[-1][0] in ("bin", "neg"):
                        reduce()
                    if stack and stack[-1][0] == "kw":
                        _, name, start, end, _ = stack.pop()
                        operands[-1].keyword = (name, start, end)
                    if not stack:
                        if kind == "COMMA":
                            raise self.error("a comma outside a call or an array", tok.start, tok.end)
                        raise self.error(f"unmatched {tok.text!r}", tok.start, tok.end)
                    frame = stack[-1]
                    if kind == "COMMA":
                        if frame[0] != "call":
                            raise self.error("a comma inside parentheses: tuples are not part "
                                             "of the language", tok.start, tok.end)
                        expect_operand = True
                    elif kind == "RBRK":
                        raise self.error(f"unmatched ']' (the open bracket is "
                                         f"{self.source[frame[3] - 1]!r})", tok.start, tok.end)
                    else:
                        stack.pop()
                        if frame[0] == "call":
                            self.finish_call(frame, operands, tok)
                        else:
                            inner = operands[-1]
                            inner.start, inner.end = frame[2], tok.end
                            inner.literal = None if isinstance(inner.literal, list) else inner.literal
                elif kind in ("SEP", "EOF"):
                    break
                elif kind == "ASSIGN":
                    raise self.error(f"cannot assign here: the left of {tok.text!r} must be a "
                                     "single name", self._statement_start(), tok.end)
                else:
                    raise self.error(f"expected an operator (such as '*') before "
                                     f"{self.describe(tok)}", tok.start, tok.end)
            prev = tok
            self.pos += 1

        while stack:
            if stack[-1][0] == "kw":  # inside a call that is never closed: said just below
                stack.pop()
                continue
            if stack[-1][0] in ("paren", "call"):
                frame = stack[-1]
                raise self.error(f"{self.source[frame[3] - 1]!r} is never closed",
                                 frame[3] - 1, frame[3])
            reduce()
        return operands[-1]

    def missing_operand(self, tok: Token, prev: Token | None, stack: list) -> ParseError:
        if tok.kind in ("SEP", "EOF") and prev is not None and prev.kind == "OP":
            return self.error(f"dangling operator {prev.text!r}: it needs something on its right",
                              prev.start, prev.end)
        if tok.kind in ("SEP", "EOF") and stack and stack[-1][0] in ("paren", "call"):
            frame = stack[-1]
            return self.error(f"{self.source[frame[3] - 1]!r} is never closed", frame[3] - 1, frame[3])
        if tok.kind in ("SEP", "EOF"):
            return self.error("expected an expression after '='", tok.start, tok.end + 1)
        if tok.kind == "RPAR" and stack and stack[-1][0] == "paren":
            return self.error("empty parentheses", stack[-1][2], tok.end)
        if stack and stack[-1][0] == "kw":
            _, name, start, end, _ = stack[-1]
            return self.error(f"the keyword argument {name}= needs a value", start, tok.start)
        if tok.kind == "ASSIGN":
            return self.error(f"unexpected {tok.text!r}: write one assignment per statement",
                              tok.start, tok.end)
        return self.error(f"expected a number, a name or '(' but found {self.describe(tok)}",
                          tok.start, tok.end)

    def _statement_start(self) -> int:
        i = self.pos
        while i > 0 and self.tokens[i - 1].kind != "SEP":
            i -= 1
        return self.tokens[i].start

    def function(self, tok: Token) -> None:
        name = tok.text
        if name in FUNCTIONS or name in self.functions:
            return
        if self.defining is not None:
            if name == self.defining.name:
                raise self.error(f"recursion: {name} calls itself; calls are inlined into the "
                                 "graph, so a function cannot call itself", tok.start, tok.end)
            # Python looks a name up when the call runs: a body may call a function
            # defined further down (check_pending reports one that never is).
            self.pending.append((self.defining, name, (tok.start, tok.end)))
            return
        known = sorted(set(FUNCTIONS) | set(self.functions))
        later = self.defined_later(name)
        if later:
            raise self.error(f"{name} is defined later, at line {later}: define a function "
                             "before calling it", tok.start, tok.end)
        import difflib  # only a misspelt name needs it

        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise self.error(f"unknown function {name!r}{hint}; known functions: "
                         f"{', '.join(known)}", tok.start, tok.end)

    def defined_later(self, name: str) -> int | None:
        tokens = self.tokens
        for k in range(self.pos, len(tokens) - 1):
            if (tokens[k].kind == "NAME" and tokens[k].text == "def"
                    and tokens[k + 1].text == name):
                return self.source.count("\n", 0, tokens[k].start) + 1
        return None

    def finish_call(self, frame: tuple, operands: list[_Operand], close: Token) -> None:
        _, name, start, end, base = frame
        if name not in FUNCTIONS:
            args = operands[base:]
            del operands[base:]
            span = (start, close.end)
            for a in args:
                if a.keyword is not None:
                    raise self.error(f"{name}() takes its arguments in order, not by keyword",
                                     a.keyword[1], a.end)
            fn = self.functions.get(name)
            if fn is None:  # a body calling a function defined further down
                node = self.builder.call(name, [a.node for a in args], span)  # type: ignore[union-attr]
            else:
                node = self.call_user(fn, [a.node for a in args], span)
            operands.append(_Operand(node, start, close.end))
            return
        op = FUNCTIONS[name]
        args = operands[base:]
        del operands[base:]
        positional: list[_Operand] = []
        keywords: dict[str, _Operand] = {}
        for a in args:
            if a.keyword is None:
                if keywords:
                    raise self.error("a positional argument after a keyword argument", a.start, a.end)
                positional.append(a)
            elif a.keyword[0] in keywords:
                raise self.error(f"{a.keyword[0]}= is given twice", a.keyword[1], a.end)
            else:
                keywords[a.keyword[0]] = a
        # Constants after the operands fill the positional parameters: reshape(x, [2, 3]).
        slots = [p.name for p in op.params if p.positional]
        extra = positional[op.arity:]
        if len(positional) < op.min_arity or len(extra) > len(slots):
            raise self.error(self._arity_message(op, len(positional)), start, close.end)
        given: dict[str, _Operand] = dict(zip(slots, extra))
        for key, a in keywords.items():
            if key in given:
                raise self.error(f"{key} is given twice (by position and as {key}=)",
                                 a.keyword[1], a.end)  # type: ignore[index]
            given[key] = a
        params = {}
        for key, a in given.items():
            p = next((p for p in op.params if p.name == key), None)
            if p is not None and a.literal is None:
                raise self.error(f"{name}()'s {key} is a constant ({p.doc}), not an "
                                 "expression", a.start, a.end)
            params[key] = a.literal
        operand_args = positional[:op.arity]
        nodes = [a.node for a in operand_args]
        for value in op.defaults[len(operand_args) - op.min_arity:]:
            nodes.append(self.builder.const(value, (start, close.end)))
        try:
            node = self.builder.apply(op.name, nodes, (start, close.end), params=params)
        except ParamError as exc:
            a = given.get(exc.name)
            if a is None:       # a parameter that is missing: the whole call
                where = (start, close.end)
            elif a.keyword is not None and not any(p.name == exc.name for p in op.params):
                where = a.keyword[1:]  # a keyword this function does not have: the name
            else:
                where = (a.start, a.end)  # a bad value
            raise self.error(str(exc), *where) from None
        operands.append(_Operand(node, start, close.end))

    @staticmethod
    def _arity_message(op, got: int) -> str:
        most = op.arity + sum(1 for p in op.params if p.positional)
        least = op.min_arity + sum(1 for p in op.params if p.positional and p.required)
        want = f"{most}" if least == most else f"{least} or {most}"
        plural = "" if most == 1 else "s"
        text = f"{op.name}() takes {want} argument{plural}, got {got}"
        keyword_only = [p for p in op.params if not p.positional]
        if keyword_only and got > op.arity:
            p = keyword_only[0]
            text += f"; give {p.name} by keyword, as in {op.name}(x, {p.name}=0)"
        if f"{op.name}imum" in FUNCTIONS and got == 2:
            text += f" (for the elementwise {op.name}imum of two values: {op.name}imum(a, b))"
        return text

    def subscript(self, operands: list[_Operand]) -> None:
        """``[...]`` after an operand: constant integers and slices, separated by commas;
        the operand on top of the stack becomes its indexed element(s). ``pos`` ends on
        the ``]``."""
        tokens = self.tokens
        open_tok = tokens[self.pos]
        entries: list[int | Slice] = []
        parts: list[int | None] = [None]   # the entry being read: start[:stop[:step]]
        entry_start = open_tok.end
        self.pos += 1
        while True:
            tok = tokens[self.pos]
            kind = tok.kind
            if kind == "NUM" or (kind == "OP" and tok.text in "-+"
                                 and tokens[self.pos + 1].kind == "NUM"):
                first = tok
                sign = 1
                if kind == "OP":
                    sign = -1 if tok.text == "-" else 1
                    self.pos += 1
                    tok = tokens[self.pos]
                if parts[-1] is not None:
                    raise self.error(f"expected ',', ':' or ']' in the index, found "
                                     f"{self.describe(first)}", first.start, tok.end)
                digits = tok.text.replace("_", "")
                if not digits.isdigit():
                    raise self.error(f"an index is a whole number, not {tok.text}",
                                     first.start, tok.end)
                if len(digits) > _MAX_INDEX_DIGITS:  # int() refuses 4,300 digits and more
                    raise self.error(f"an index of {len(digits)} digits is beyond any array",
                                     first.start, tok.end)
                parts[-1] = sign * int(digits)
            elif kind == "COLON":
                if len(parts) == 3:
                    raise self.error("a slice has at most two ':' (start:stop:step)",
                                     tok.start, tok.end)
                parts.append(None)
            elif kind in ("COMMA", "RBRK"):
                if parts == [None]:
                    raise self.error("an empty place in the index: write an integer or a "
                                     "slice such as 1:3 or :", entry_start, tok.end)
                entries.append(parts[0] if len(parts) == 1  # type: ignore[arg-type]
                               else Slice(*parts, *([None] * (3 - len(parts)))))
                if kind == "RBRK":
                    break
                parts = [None]
                entry_start = tok.end
            elif kind in ("SEP", "EOF"):
                raise self.error("'[' is never closed", open_tok.start, open_tok.end)
            else:
                raise self.error(f"an index holds constant integers and slices (x[0], "
                                 f"W[:, 1], x[1:3]), found {self.describe(tok)}",
                                 tok.start, tok.end)
            self.pos += 1
        target = operands[-1]
        try:
            node = self.builder.apply(POSTFIX["[]"].name, (target.node,), (target.start, tok.end),
                                      params={"index": tuple(entries)})
        except ParamError as exc:
            raise self.error(exc.reason, open_tok.start, tok.end) from None
        operands[-1] = _Operand(node, target.start, tok.end)

    def array(self) -> _Operand:
        """An array literal of numbers, nested for matrices; ``pos`` ends on its ``]``."""
        tokens = self.tokens
        open_tok = tokens[self.pos]
        rows: list[tuple[list, int]] = [([], open_tok.start)]   # (elements, start offset)
        spans: dict[int, tuple[int, int]] = {}
        self.pos += 1
        expect_item = True
        while True:
            tok = tokens[self.pos]
            if expect_item:
                if tok.kind == "LBRK":
                    if len(rows) >= _MAX_ARRAY_DIMS:
                        raise self.error(f"array literal nested deeper than {_MAX_ARRAY_DIMS}",
                                         tok.start, tok.end)
                    rows.append(([], tok.start))
                    self.pos += 1
                    continue
                sign = 1.0
                start = tok.start
                if tok.kind == "OP" and tok.text in "-+":
                    sign = -1.0 if tok.text == "-" else 1.0
                    self.pos += 1
                    tok = tokens[self.pos]
                if tok.kind == "RBRK" and not rows[-1][0] and sign == 1.0 and start == tok.start:
                    raise self.error("empty array literal", rows[-1][1], tok.end)
                if tok.kind != "NUM":
                    what = ("a name" if tok.kind == "NAME" else self.describe(tok))
                    raise self.error(f"array literals hold numbers only, found {what}",
                                     tok.start, tok.end)
                rows[-1][0].append(sign * float(tok.text.replace("_", "")))
                expect_item = False
            else:
                if tok.kind == "COMMA":
                    expect_item = True
                elif tok.kind == "RBRK":
                    items, start = rows.pop()
                    spans[id(items)] = (start, tok.end)
                    self._check_rectangular(items, spans)
                    if not rows:
                        return _Operand(self.builder.const(items, (start, tok.end)),
                                        start, tok.end, items)
                    rows[-1][0].append(items)
                else:
                    if tok.kind in ("SEP", "EOF"):
                        raise self.error("'[' is never closed", rows[-1][1], rows[-1][1] + 1)
                    raise self.error(f"expected ',' or ']' in the array literal, found "
                                     f"{self.describe(tok)}", tok.start, tok.end)
            self.pos += 1

    def _check_rectangular(self, items: list, spans: dict) -> None:
        def shape(x: object) -> tuple:
            return (len(x),) + shape(x[0]) if isinstance(x, list) else ()

        first = shape(items[0])
        for k, item in enumerate(items):
            if shape(item) != first:
                start, end = spans.get(id(item), spans[id(items)])
                raise self.error(f"ragged array literal: element {k + 1} has shape "
                                 f"{shape(item)}, element 1 has shape {first}", start, end)


def _expression_name(text: str) -> str:
    """The name of a bare last expression: its text on one line, without comments and line
    continuations (an array literal or a call may span lines).

    >>> _expression_name("sum(x,  # the batch\\n    y) \\\\\\n + 1")
    'sum(x, y) + 1'
    """
    return " ".join(_COMMENT_OR_CONTINUATION.sub(" ", text).split())


_COMMENT_OR_CONTINUATION = re.compile(r"#[^\n]*|\\\n")


def parse(source: str, output: str | None = None) -> Graph:
    """Parse a program into a graph; ``output`` names the output (default: the last statement).

    Raises :class:`~compgraph.errors.ParseError` with line, column and a caret excerpt.
    """
    if not isinstance(source, str):
        raise TypeError(f"parse() takes the program text, not {type(source).__name__}")
    # Parsing makes a few objects per token and no reference cycles; left on, the cyclic
    # collector would walk the growing graph again and again (a third of the time for a
    # 100,000-statement program) and find nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        # Common statements in bulk (compgraph.fastparse); anything else, every error,
        # and short programs (the fast path's NumPy passes cost more than they save
        # there) from the parser above.
        if len(source) >= FAST_FROM:
            from .fastparse import parse_common

            graph = parse_common(source, output)
            if graph is not None:
                return graph
        return _Parser(source).program(output)
    finally:
        if collecting:
            gc.enable()


def parse_full(source: str, output: str | None = None) -> Graph:
    """:func:`parse` without its fast path: the parser above for every program (the
    tests hold the two to the same graphs).

    >>> parse_full("y = 2*x") == parse("y = 2*x")
    True
    """
    return _Parser(source).program(output)
