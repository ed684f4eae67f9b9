"""User text in DOT: the only place label markup and node ids are written from it.

User text (names, titles) can hold ``&``, ``<``, quotes, backslashes, brackets and control
characters. :func:`visible` first turns it into what a picture shows: line breaks as
``\\n``, a tab as a space, and every character that cannot appear in SVG (XML 1.0) or that
Graphviz drops silently (control characters, lone surrogates, U+FFFE, U+FFFF) as a visible
escape such as ``\\x01`` (a byte of a command-line argument that was not UTF-8, which
Python holds as a lone surrogate, as ``\\xff``). Then

- :func:`text` escapes it for an HTML-like label (every HTML-like label is built from
  escaped pieces, so nothing a user writes can open a tag or end a DOT string, and a
  backslash stays a backslash: Graphviz expands ``\\G`` or ``\\N`` there too);
- :func:`plain` makes a plain (quoted) label or attribute that shows it literally: no HTML,
  no escape sequences such as ``\\N`` or ``\\l``, no entities such as ``&nbsp;`` (Graphviz
  decodes entities in plain strings too);
- :func:`node_id` keeps user text out of DOT ids unless it is made of identifier
  characters: Graphviz copies ids into SVG unescaped (``&bogus;`` there is not XML), and
  the ``graphviz`` package reads a ``:`` in an id as a port.

>>> html(font(text('a < b & "c"'), color="#d62728"), font("7", size=9))
'<<font color="#d62728">a &lt; b &amp; &quot;c&quot;</font><br/><font point-size="9">7</font>>'
>>> visible("tab\\there\\x00\\r\\nbell\\x07")
'tab here\\\\x00\\nbell\\\\x07'
"""

from __future__ import annotations

import re
import unicodedata

import graphviz

# What html.escape(s, quote=True) does, in one pass; the html module itself loads its
# table of entities, which the command line would pay for on every picture.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                          "'": "&#x27;"})


def _escape(s: str) -> str:
    """``s`` with ``& < > " '`` as entities (as ``html.escape``).

    >>> import html
    >>> sample = 'a<b & "c" ' + "'d' &amp;"
    >>> _escape(sample) == html.escape(sample), _escape(sample)
    (True, 'a&lt;b &amp; &quot;c&quot; &#x27;d&#x27; &amp;amp;')
    """
    return s.translate(_ESCAPES)


class Markup(str):
    """A string that is already valid HTML-like label markup (escaped)."""


# Characters a picture cannot carry as they are: C0 and C1 controls (but the line break),
# DEL, lone surrogates and the two XML non-characters. Line and paragraph separators are
# line breaks.
_INVISIBLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile("\r\n|[\r\u2028\u2029]")


def _escape_char(m: re.Match[str]) -> str:
    ch = m.group()
    if ch == "\t":
        return " "
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (Python's surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Graphviz (2.43) rejects a DOT string or id longer than 16,384 bytes; user text is cut
# well below that, so that even escaped (``&amp;`` is five bytes) it fits.
MAX_TEXT = 2000


def visible(s: object) -> str:
    """``s`` as a picture shows it: line breaks as ``\\n``, a tab as a space, the
    characters no SVG can hold (controls, lone surrogates, U+FFFE, U+FFFF) as escapes, and
    text longer than ``MAX_TEXT`` characters cut with an ellipsis.

    >>> visible("a\\u2028b\\rc"), visible("\\ud800"), visible("é\\u200f😀")
    ('a\\nb\\nc', '\\\\ud800', 'é\\u200f😀')
    >>> print(visible(b"caf\\xe9".decode("utf-8", "surrogateescape")))  # a Latin-1 argument
    caf\\xe9
    """
    s = str(s)
    if len(s) > MAX_TEXT:
        s = s[:MAX_TEXT - 1] + "…"
    return _INVISIBLE.sub(_escape_char, _BREAKS.sub("\n", s))


# What XML 1.0 cannot hold at all: C0 controls but tab and line breaks, lone surrogates,
# U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(s: str) -> str:
    """``s`` with the characters XML cannot hold as visible escapes (the rest untouched):
    for SVG written directly, where the markup itself is escaped by its writer.

    >>> xml_safe("<text>a\\x01b\\nc</text>")
    '<text>a\\\\x01b\\nc</text>'
    """
    return _NOT_XML.sub(_escape_char, s)


# Graphviz (2.43) loses a text run of one or two "]" between tags, or rejects the label:
# such a run is written with character references.
_BRACKETS_ONLY = re.compile(r"[ \]]*\][ \]]*")


def text(s: object) -> Markup:
    """Escape user text for an HTML-like label; line breaks become ``<br/>``.

    >>> print(text("x\\\\y <i>"))
    x\\\\y &lt;i&gt;
    >>> text("]\\nline 2")
    '&#93;<br/>line 2'
    """
    s = str(s)
    if len(s) > MAX_TEXT or not s.isprintable():  # most labels are short and printable
        s = visible(s)
    lines = []
    for line in s.split("\n"):
        # Graphviz expands \G, \N, \E ... in HTML-like labels too; a doubled backslash
        # is a literal one.
        line = _escape(line).replace("\\", "\\\\")
        if "]" in line and _BRACKETS_ONLY.fullmatch(line):
            line = line.replace("]", "&#93;")
        lines.append(line)
    return Markup("<br/>".join(lines))


def font(content: str, *, color: str | None = None, size: float | None = None,
         face: str | None = None) -> Markup:
    """Wrap markup (or text, which is escaped) in a ``<font>`` with fixed attribute order."""
    if not isinstance(content, Markup):
        content = text(content)
    attrs = ""
    if color is not None:
        attrs += f' color="{_escape(color)}"'
    if face is not None:
        attrs += f' face="{_escape(face)}"'
    if size is not None:
        attrs += f' point-size="{size:g}"'
    return Markup(f"<font{attrs}>{content}</font>" if attrs else content)


def italic(content: str) -> Markup:
    if not isinstance(content, Markup):
        content = text(content)
    return Markup(f"<i>{content}</i>")


def html(*lines: str) -> str:
    """An HTML-like label: the lines (markup or text) one under another."""
    body = "<br/>".join(line if isinstance(line, Markup) else text(line) for line in lines)
    return f"<{body}>"


def plain(s: object) -> str:
    """A plain DOT label or attribute showing ``s`` literally (no HTML, no escape
    sequences, no entities).

    >>> plain("a&nbsp;b\\\\N <i>")
    'a&amp;nbsp;b\\\\\\\\N <i>'
    """
    return graphviz.escape(visible(s).replace("&", "&amp;"))


def _attributes(attrs: dict[str, object]) -> str:
    """`` name="value"`` pairs in the given order, escaped; ``None`` values are left out."""
    out = ""
    for name, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = f"{value:.2f}".rstrip("0").rstrip(".")
        out += f' {name}="{_escape(str(value))}"'
    return out


def cell(content: str = "", **attrs: object) -> Markup:
    """A ``<td>`` holding markup (or text, which is escaped); attributes in the given order.

    >>> cell("1 < 2", align="right", width=12.5)
    '<td align="right" width="12.5">1 &lt; 2</td>'
    """
    if not isinstance(content, Markup):
        content = text(content)
    return Markup(f"<td{_attributes(attrs)}>{content}</td>")


def table(rows: list[list[Markup]], **attrs: object) -> Markup:
    """A borderless ``<table>`` of rows of cells (``border``, ``cellpadding``... may override).

    >>> table([[cell("a"), cell("b")]])
    '<table border="0" cellborder="0" cellspacing="0" cellpadding="0"><tr><td>a</td><td>b</td></tr></table>'
    """
    base: dict[str, object] = {"border": 0, "cellborder": 0, "cellspacing": 0, "cellpadding": 0}
    base.update(attrs)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return Markup(f"<table{_attributes(base)}>{body}</table>")


def label(content: Markup) -> str:
    """An HTML-like DOT label holding one piece of markup (a table, usually)."""
    return f"<{content}>"


def _id_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_′″‴⁽⁾ =" or unicodedata.category(ch) in ("Mn", "Mc")


# Names longer than this stay out of ids (ids are for people reading the DOT).
_MAX_ID_NAME = 64


def node_id(prefix: str, label: str | None) -> str:
    """A DOT node id: ``prefix_label`` when the label is a name (identifier characters,
    and the primes and `` = `` of versions and aliases) of at most 64 characters, else
    ``prefix`` alone.

    >>> node_id("v3", "a"), node_id("v4", "c′"), node_id("v5", "x + 1"), node_id("v6", None)
    ('v3_a', 'v4_c′', 'v5', 'v6')
    """
    if label and len(label) <= _MAX_ID_NAME and all(_id_char(ch) for ch in label):
        return f"{prefix}_{label}"
    return prefix
