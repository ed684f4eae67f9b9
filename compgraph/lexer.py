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
    kind: str   # NUM NAME OP ASSIGN LPAR RPAR LBRK RBRK COMMA SEP EOF
    text: str
    start: int
    end: int


# Identifiers as Python has them, combining marks included (``ŷ`` may arrive as y + U+0302).
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_TOKEN = re.compile(rf"""
    (?P<WS>[ \t\r\f]+|\\\n)
  | (?P<COMMENT>\#[^\n]*)
  | (?P<NL>\n)
  | (?P<NUM>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
  | (?P<NAME>[^\W\d][\w{_MARKS}]*)
  | (?P<CMP>==|!=|<=|>=|<|>)
  | (?P<ASSIGN>[-+*/]=|=(?!=))
  | (?P<OP>\*\*|[-+*/@])
  | (?P<LPAR>\()|(?P<RPAR>\))|(?P<LBRK>\[)|(?P<RBRK>\])
  | (?P<COMMA>,)|(?P<SEMI>;)
""", re.VERBOSE)

_OPENERS = {"LPAR", "LBRK"}
_CLOSERS = {"RPAR", "RBRK"}


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens ending with one ``EOF``.

    Newlines and commas separate statements only outside brackets, so a call's arguments
    and an array literal may span lines. Raises :class:`ParseError` for a character that
    has no place in the language.
    """
    tokens: list[Token] = []
    append = tokens.append
    depth = 0
    pos = 0
    n = len(source)
    match = _TOKEN.match
    while pos < n:
        m = match(source, pos)
        if m is None:
            ch = source[pos]
            hint = " (strings are not part of the language)" if ch in "'\"" else ""
            raise ParseError(f"unexpected character {ch!r}{hint}", source, pos, pos + 1)
        kind = m.lastgroup
        end = m.end()
        if kind == "WS" or kind == "COMMENT":
            pass
        elif kind == "NL":
            if depth == 0:
                append(Token("SEP", "\n", pos, end))
        elif kind == "NAME":
            text = unicodedata.normalize("NFKC", m.group())
            if not text.isidentifier():
                raise ParseError(f"{m.group()!r} is not a valid name", source, pos, end)
            append(Token("NAME", text, pos, end))
        elif kind == "NUM":
            if end < n and (source[end].isalpha() or source[end] == "_"):
                raise ParseError(f"a number runs into a name: write {m.group()}*{source[end]} "
                                 "to multiply", source, pos, end + 1)
            append(Token("NUM", m.group(), pos, end))
        elif kind == "CMP":
            text = m.group()
            hint = "; assign with '='" if text == "==" else ""
            raise ParseError(f"comparison {text!r} is not supported{hint}", source, pos, end)
        elif kind == "COMMA":
            append(Token("COMMA" if depth else "SEP", ",", pos, end))
        elif kind == "SEMI":
            append(Token("SEP", ";", pos, end))
        else:
            if kind in _OPENERS:
                depth += 1
            elif kind in _CLOSERS and depth:
                depth -= 1
            append(Token(kind, m.group(), pos, end))  # type: ignore[arg-type]
        pos = end
    append(Token("EOF", "", n, n))
    return tokens
