"""Graphviz HTML-like labels built from escaped text: the only place label markup is written.

User text (names, titles) can hold ``&``, ``<``, quotes or backslashes; :func:`text`
escapes it, and every HTML-like label is built from escaped pieces, so nothing a user
writes can open a tag or end a DOT string. Plain (non-HTML) labels go through
:func:`plain`, which stops the ``graphviz`` package from reading ``<...>`` as HTML and
doubles backslashes so that ``\\N`` or ``\\l`` stay literal.

>>> html(font(text('a < b & "c"'), color="#d62728"), font("7", size=9))
'<<font color="#d62728">a &lt; b &amp; &quot;c&quot;</font><br/><font point-size="9">7</font>>'
"""

from __future__ import annotations

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


def text(s: str) -> Markup:
    """Escape user text for an HTML-like label; newlines become line breaks, and a
    backslash is doubled (Graphviz reads ``\\N`` even in an HTML-like label as the node's
    name, and ``\\\\`` as one backslash).

    >>> text("x\\\\N <i>")
    'x\\\\\\\\N &lt;i&gt;'
    """
    escaped = _escape(str(s)).replace("\\", "\\\\")
    return Markup(escaped.replace("\n", "<br/>"))


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


def plain(s: str) -> str:
    """A plain DOT label showing ``s`` literally (no HTML, no escape sequences)."""
    return graphviz.escape(str(s))


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
