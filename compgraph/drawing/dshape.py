"""SVG post-processing: turn each operator box into the course's D shape.

Graphviz has no D-shaped node. Operators are drawn as boxes whose SVG group carries the
class ``dshape_right`` (or ``_left``, ``_top``, ``_bottom``: the side facing the output,
from the rankdir); this module replaces the box outline of each such group with a path
whose output side is a half ellipse (a semicircle for a square-ish box). It reads only the
SVG text, so the result depends on nothing but its input; PNG and PDF are made from the
finished SVG (convert.py), so they have the D shapes too.

>>> svg = ('<g id="node2" class="node dshape_right">\\n<title>op2</title>\\n'
...        '<polygon fill="white" stroke="#6666ff" points="10,-40 10,-10 50,-10 50,-40 10,-40"/>\\n'
...        '<text x="30" y="-20">*</text>\\n</g>')
>>> print(dshape_svg(svg).splitlines()[2])
<path fill="white" stroke="#6666ff" d="M10,-40 L35,-40 A15,15 0 0 1 35,-10 L10,-10 Z"/>
"""

from __future__ import annotations

import re

_GROUP = re.compile(
    r'(<g id="[^"]*" class="node(?: [^"]*)? dshape_(right|left|top|bottom)(?: [^"]*)?">)'
    r'(.*?)(</g>)', re.S)
_OUTLINE = re.compile(r'<(path|polygon)\b([^>]*?)\s(d|points)="([^"]*)"([^>]*)/>')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _n(v: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros (deterministic text)."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def d_path(x0: float, y0: float, x1: float, y1: float, side: str) -> str:
    """The SVG path data of a D in the box ``(x0, y0)``–``(x1, y1)``, rounded on ``side``.

    >>> d_path(0, 0, 40, 20, "bottom")
    'M0,0 L40,0 L40,10 A20,10 0 0 1 0,10 Z'
    """
    w, h = x1 - x0, y1 - y0
    if side in ("right", "left"):
        rx, ry = min(w / 2, h / 2), h / 2
    else:
        rx, ry = w / 2, min(w / 2, h / 2)
    r = f"A{_n(rx)},{_n(ry)} 0 0"
    if side == "right":
        return (f"M{_n(x0)},{_n(y0)} L{_n(x1 - rx)},{_n(y0)} {r} 1 {_n(x1 - rx)},{_n(y1)} "
                f"L{_n(x0)},{_n(y1)} Z")
    if side == "left":
        return (f"M{_n(x1)},{_n(y0)} L{_n(x0 + rx)},{_n(y0)} {r} 0 {_n(x0 + rx)},{_n(y1)} "
                f"L{_n(x1)},{_n(y1)} Z")
    if side == "bottom":
        return (f"M{_n(x0)},{_n(y0)} L{_n(x1)},{_n(y0)} L{_n(x1)},{_n(y1 - ry)} "
                f"{r} 1 {_n(x0)},{_n(y1 - ry)} Z")
    return (f"M{_n(x0)},{_n(y1)} L{_n(x1)},{_n(y1)} L{_n(x1)},{_n(y0 + ry)} "
            f"{r} 0 {_n(x0)},{_n(y0 + ry)} Z")


def _reshape(match: re.Match[str]) -> str:
    head, side, body, tail = match.groups()

    def outline(m: re.Match[str]) -> str:
        _, before, _, coords, after = m.groups()
        numbers = [float(v) for v in _NUMBER.findall(coords)]
        xs, ys = numbers[0::2], numbers[1::2]
        if not xs or len(xs) != len(ys):
            return m.group(0)
        # The box's control points span exactly its bounding box, rounded corners or not.
        d = d_path(min(xs), min(ys), max(xs), max(ys), side)
        return f'<path{before} d="{d}"{after}/>'

    # Only the outline(s) before the label text: the label itself is left alone.
    cut = body.find("<text")
    cut = len(body) if cut < 0 else cut
    return head + _OUTLINE.sub(outline, body[:cut]) + body[cut:] + tail


def dshape_svg(svg: str) -> str:
    """Rewrite every ``dshape_*`` node's box as a D; everything else is copied unchanged."""
    return _GROUP.sub(_reshape, svg)
