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
  | (?P<NUM>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
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


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens ending with one ``EOF``.

    Newlines and commas separate statements only outside brackets, so a call's arguments
    and an array literal may span lines. Raises :class:`ParseError` for a character that
    has no place in the language.
    """
    tokens: list[Token] = []
    append = tokens.append
    depth = 0
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
        elif kind == "OP" or kind == "ASSIGN":
            append(_new_token(Token, (kind, m.group(), pos, end)))
        elif kind == "NUM":
            if end < n and (source[end].isalpha() or source[end] == "_"):
                raise ParseError(f"a number runs into a name: write {m.group()}*{source[end]} "
                                 "to multiply", source, pos, end + 1)
            append(_new_token(Token, ("NUM", m.group(), pos, end)))
        elif kind == "NL":
            if depth == 0:
                append(_new_token(Token, ("SEP", "\n", pos, end)))
        elif kind == "COMMA":
            append(_new_token(Token, ("COMMA" if depth else "SEP", ",", pos, end)))
        elif kind == "SEMI":
            append(_new_token(Token, ("SEP", ";", pos, end)))
        elif kind == "CMP":
            text = m.group()
            hint = "; assign with '='" if text == "==" else ""
            raise ParseError(f"comparison {text!r} is not supported{hint}", source, pos, end)
        elif kind == "BAD":
            ch = source[pos]
            hint = " (strings are not part of the language)" if ch in "'\"" else ""
            raise ParseError(f"unexpected character {ch!r}{hint}", source, pos, pos + 1)
        else:
            if kind in _OPENERS:
                depth += 1
            elif kind in _CLOSERS and depth:
                depth -= 1
            append(_new_token(Token, (kind, m.group(), pos, end)))  # type: ignore[arg-type]
    append(Token("EOF", "", n, n))
    return tokens
