"""Turns program text into tokens with their offsets; knows nothing of meaning.

>>> [(t.kind, t.text) for t in tokenize("a = 2*x, b = f(a, 1e-3)")][:6]
[('NAME', 'a'), ('ASSIGN', '='), ('NUM', '2'), ('OP', '*'), ('NAME', 'x'), ('SEP', ',')]
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from .errors import ParseError


class Token(NamedTuple):
    kind: str   # NUM NAME OP ASSIGN LPAR RPAR LBRK RBRK COMMA COLON SEP EOF
    text: str
    start: int
    end: int


# Identifiers as Python has them, combining marks included (``ŷ`` may arrive as y + U+0302).
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_TOKEN = re.compile(rf"""
    (?P<WS>[ \t\r\f]+|\\\n)
  | (?P<COMMENT>\#[^\n]*)
  | (?P<NL>\n)
  | (?P<NUM>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)
  | (?P<NAME>[^\W\d][\w{_MARKS}]*)
  | (?P<CMP>==|!=|<=|>=|<|>)
  | (?P<ASSIGN>[-+*/]=|=(?!=))
  | (?P<OP>\*\*|[-+*/@])
  | (?P<LPAR>\()|(?P<RPAR>\))|(?P<LBRK>\[)|(?P<RBRK>\])
  | (?P<COMMA>,)|(?P<SEMI>;)|(?P<COLON>:)
  | (?P<BAD>.)
""", re.VERBOSE)

# Tokens are built as plain tuples: Token(...) costs a Python-level call per token.
_new_token = tuple.__new__

_OPENERS = {"LPAR", "LBRK"}
_CLOSERS = {"RPAR", "RBRK"}

# Python's rule for underscores in numbers: one at a time, between two digits.
_DIGITS = r"\d(?:_?\d)*"
_PYTHON_NUMBER = re.compile(rf"(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?")


def _check_underscores(source: str, start: int, text: str) -> None:
    """Refuse ``1_``, ``1__0``, ``1_.5`` with the caret under the first stray underscore.

    >>> _check_underscores("x = 1__0", 4, "1__0")
    Traceback (most recent call last):
      ...
    compgraph.errors.ParseError: line 1, column 6: a '_' in a number goes between two digits (as in 1_000)
      x = 1__0
           ^
    """
    if _PYTHON_NUMBER.fullmatch(text):
        return
    for k, ch in enumerate(text):
        if ch == "_" and not (0 < k < len(text) - 1 and text[k - 1].isdigit()
                              and text[k + 1].isdigit()):
            raise ParseError("a '_' in a number goes between two digits (as in 1_000)",
                             source, start + k, start + k + 1)


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens ending with one ``EOF``.

    Newlines and commas separate statements only outside brackets, so a call's arguments
    and an array literal may span lines. Raises :class:`ParseError` for a character that
    has no place in the language.
    """
    tokens: list[Token] = []
    append = tokens.append
    openers: list[int] = []   # offsets of the brackets still open
    n = len(source)
    for m in _TOKEN.finditer(source):
        kind = m.lastgroup
        if kind == "WS" or kind == "COMMENT":
            continue
        pos, end = m.span()
        if kind == "NAME":
            text = m.group()
            if not text.isascii():  # ASCII names are already NFKC-normal identifiers
                text = unicodedata.normalize("NFKC", text)
                if not text.isidentifier():
                    raise ParseError(f"{m.group()!r} is not a valid name", source, pos, end)
            append(_new_token(Token, ("NAME", text, pos, end)))
        elif kind == "OP":
            append(_new_token(Token, (kind, m.group(), pos, end)))
        elif kind == "ASSIGN":
            if openers and _starts_a_statement(source, tokens, openers[-1]):
                opener = openers[-1]
                raise ParseError(f"{source[opener]!r} is never closed", source, opener, opener + 1)
            append(_new_token(Token, (kind, m.group(), pos, end)))
        elif kind == "NUM":
            text = m.group()
            if "_" in text:
                _check_underscores(source, pos, text)
            if end < n and (source[end].isalpha() or source[end] == "_"):
                raise ParseError(f"a number runs into a name: write {text}*{source[end]} "
                                 "to multiply", source, pos, end + 1)
            append(_new_token(Token, ("NUM", text, pos, end)))
        elif kind == "NL":
            if not openers:
                append(_new_token(Token, ("SEP", "\n", pos, end)))
        elif kind == "COMMA":
            append(_new_token(Token, ("COMMA" if openers else "SEP", ",", pos, end)))
        elif kind == "SEMI":
            append(_new_token(Token, ("SEP", ";", pos, end)))
        elif kind == "CMP":
            text = m.group()
            hint = "; assign with '='" if text == "==" else ""
            raise ParseError(f"comparison {text!r} is not supported{hint}", source, pos, end)
        elif kind == "BAD":
            ch = source[pos]
            hint = (" (strings are not part of the language)" if ch in "'\"" else
                    " (for a power write **, as in x**2)" if ch == "^" else "")
            raise ParseError(f"unexpected character {ch!r}{hint}", source, pos, pos + 1)
        else:
            if kind in _OPENERS:
                openers.append(pos)
            elif kind in _CLOSERS and openers:
                openers.pop()
            append(_new_token(Token, (kind, m.group(), pos, end)))  # type: ignore[arg-type]
    append(Token("EOF", "", n, n))
    return tokens


def _starts_a_statement(source: str, tokens: list[Token], opener: int) -> bool:
    """Whether an assignment inside brackets is really a new statement: its name begins a
    later line than the open bracket, and the line before ended an operand (a keyword
    argument ``axis=0`` on a line of its own follows a ``,`` or the ``(`` instead). Then the
    bracket was never closed, and that is the mistake to report."""
    if len(tokens) < 2 or tokens[-1][0] != "NAME":
        return False
    name_start = tokens[-1][2]
    line_start = source.rfind("\n", 0, name_start) + 1
    return (line_start > opener and not source[line_start:name_start].strip()
            and tokens[-2][0] not in ("COMMA", "LPAR"))
