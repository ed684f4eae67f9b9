"""One layout, many pictures: a drawn graph whose numbers know the step that computes them.

Stepping through backprop shows the same picture again and again with more numbers on it.
So the graph is laid out and drawn once, in the ``both`` view with every value and
gradient (``dot`` ranks it exactly as the other views), and this module reads that SVG:
every number drawn on it is tagged with the step of a :class:`~compgraph.steps.Walkthrough`
that computes it, and every node and edge with the steps that work on it. A frame, the
HTML stepper and a worksheet are then this one drawing with some numbers left out, a few
shapes highlighted or some numbers boxed, so nothing can move between them.

Numbers are recognised by what the picture itself says they are: a value is drawn in the
theme's value colour and a gradient in its gradient colour, inside the node or edge group
whose ``<title>`` is the DOT id (``v4_a``, ``op3``, ``v0_x->op3``); an annotation group
named ``cg_v4_value`` or ``cg_v4_gradient`` says it outright. Tooltips (which repeat the
numbers) and Graphviz's titles and ids are taken out; each node and edge group keeps its DOT
id in ``data-cg``.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> from compgraph.steps import walkthrough
>>> g = parse("w = x*y")
>>> film = Film(walkthrough(g, evaluate(g, x=2, y=3)))
>>> [("".join(p.itertext()).strip(), p.get("data-show"))  # x's gradient, y = 3, at step 6
...  for p in film.parts if p.get("data-q") == "g0"]
[('3', '6')]
>>> ">6<" in svg_text(film.frame(2)), ">6<" in svg_text(film.frame(3))  # w = 6 at step 3
(False, True)
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterator

from ..errors import RenderError
from ..steps import FORWARD, Walkthrough
from .dot import to_dot
from .files import pipe
from .markup import xml_safe
from .style import theme as get_theme

SVG_NS = "http://www.w3.org/2000/svg"

# What a tagged drawing carries (taken out of frames and worksheets once applied).
SHOW = "data-show"   # a number: the step from which it is shown
HOT = "data-hot"     # a node or edge group: the steps that work on it, space-separated
KIND = "data-kind"   # a number: value or gradient
WHAT = "data-q"      # a number: what it is, v4 (node 4's value), g4 (its gradient), e6.1
                     # (what the edge into operand 1 of node 6 carries back)
CG = "data-cg"       # a node or edge group: its DOT id
_WORKING = (SHOW, HOT, KIND, WHAT)

_ID = re.compile(r"^(v|op|c)(\d+)(?![0-9])")
_ANNOTATION = re.compile(r"^cg_v(\d+)_(value|gradient)$")
_OUTLINES = ("ellipse", "polygon", "path", "polyline")

# The highlight of the current step's nodes and edges, per theme.
HOT_COLOR = {"light": "#ff7f0e", "dark": "#ffd92f"}
HOT_NODE_WIDTH = 4
HOT_EDGE_WIDTH = 3


class Film:
    """The ``both`` picture of a walkthrough, drawn once, with every number and shape tagged.

    ``parts`` are the numbers (each with ``data-show``, ``data-kind``, ``data-q``);
    ``root`` is the whole ``<svg>`` element; ``source`` the DOT it was drawn from.
    ``options`` go to :func:`~compgraph.drawing.to_dot` (``rankdir``, ``theme``,
    ``label_anonymous``, ``costs``).
    """

    def __init__(self, walk: Walkthrough, **options: Any) -> None:
        options.setdefault("legend", False)
        self.walk = walk
        self.theme_name = options.get("theme", "light")
        self.colors = get_theme(self.theme_name).colors
        self.hot_color = HOT_COLOR.get(self.theme_name, HOT_COLOR["light"])
        self.dot = to_dot(walk.graph, "both", walk.values, walk.grads, **options)
        self.source = self.dot.source
        self.root = read_svg(pipe(self.dot, "svg").decode("utf-8"))
        self.parts: list[ET.Element] = []
        self._var: dict[int, ET.Element] = {}
        self._op: dict[int, ET.Element] = {}
        self._result: dict[int, ET.Element] = {}
        self._operand: dict[tuple[int, int], ET.Element] = {}
        for group, title in _titled_groups(self.root):
            self._tag(group, title)
        _drop_tooltips(self.root)
        self._tag_hot()

    # --- tagging ------------------------------------------------------------------------

    def _tag(self, group: ET.Element, title: str) -> None:
        walk, graph = self.walk, self.walk.graph
        group.set(CG, title)
        tail, arrow, head = title.partition("->")
        t = _ID.match(tail)
        if not t:
            return
        kind, i = t.group(1), int(t.group(2))
        if not arrow:
            if kind == "v":
                self._var[i] = group
                self._numbers(group, (walk.value_step[i], f"v{i}"),
                              (walk.gradient_step[i], f"g{i}"))
            elif kind == "op":
                self._op[i] = group
            return
        h = _ID.match(head)
        if not h:
            return
        j, c = i, int(h.group(2))
        if h.group(1) == "op":
            # Operand edges come in operand order; x + x draws two from the same tail.
            free = [k for k, o in enumerate(graph.nodes[c].operands)
                    if o == j and (c, k) not in self._operand]
            if not free:
                return
            k = free[0]
            self._operand[(c, k)] = group
            self._numbers(group, (walk.value_step[j], f"v{j}"),
                          (walk.gradient_step[c], f"e{c}.{k}"))
        elif kind == "op":
            self._result[c] = group
            self._numbers(group, (walk.value_step[c], f"v{c}"), (walk.gradient_step[c], f"g{c}"))

    def _numbers(self, group: ET.Element, value: tuple[int | None, str],
                 gradient: tuple[int | None, str]) -> None:
        """Tag the numbers of one node or edge group with the step that computes them."""
        never = len(self.walk) + 1
        by_kind = {"value": value, "gradient": gradient}
        for el, kind in _numbers_in(group, self.colors["value"], self.colors["gradient"]):
            step, what = by_kind[kind]
            el.set(SHOW, str(never if step is None else step))
            el.set(KIND, kind)
            el.set(WHAT, what)
            self.parts.append(el)

    def _tag_hot(self) -> None:
        marks: dict[int, tuple[ET.Element, list[int]]] = {}

        def add(el: ET.Element | None, step: int) -> None:
            if el is not None:
                marks.setdefault(id(el), (el, []))[1].append(step)

        for step in self.walk.steps:
            i, n = step.node, step.number
            add(self._var.get(i), n)
            add(self._result.get(i), n)
            if step.phase == FORWARD:
                add(self._op.get(i), n)
                for k in range(len(self.walk.graph.nodes[i].operands)):
                    add(self._operand.get((i, k)), n)
            else:  # the edges whose shares add up to this gradient
                for term in step.terms:
                    add(self._operand.get((term.consumer, term.operand)), n)
        for el, steps in marks.values():
            el.set(HOT, " ".join(map(str, steps)))

    # --- pictures -----------------------------------------------------------------------

    def frame(self, step: int) -> ET.Element:
        """The picture after ``step`` steps (0: structure only): later numbers left out,
        the step's nodes and edges highlighted, its new numbers in bold."""
        root = copy.deepcopy(self.root)
        parents = {child: parent for parent in root.iter() for child in parent}
        for el in list(root.iter()):
            shown = el.get(SHOW)
            if shown is not None:
                if int(shown) > step:
                    parents[el].remove(el)
                    continue
                if int(shown) == step:
                    el.set("font-weight", "bold")
            hot = el.get(HOT)
            if hot is not None and str(step) in hot.split():
                self.highlight(el)
        strip_working(root)
        return root

    def highlight(self, group: ET.Element) -> None:
        """Outline a node or edge group in the highlight colour (not its numbers)."""
        edge = "edge" in group.get("class", "").split()
        for el in _outlines(group):
            el.set("stroke", self.hot_color)
            el.set("stroke-width", str(HOT_EDGE_WIDTH if edge else HOT_NODE_WIDTH))
            if edge and el.tag == "polygon":  # the arrowhead
                el.set("fill", self.hot_color)


# --- reading and writing SVG ------------------------------------------------------------------

def read_svg(text: str) -> ET.Element:
    """Graphviz's SVG as a tree with plain tag and attribute names (``g``, ``href``): it is
    written back without prefixes, inline in HTML or with one ``xmlns`` on the root."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise RenderError(f"Graphviz wrote SVG that is not well-formed XML ({err}); "
                          "a name or title may hold characters it does not escape") from None
    for el in root.iter():
        el.tag = el.tag.rpartition("}")[2]
        for key in [k for k in el.attrib if k.startswith("{")]:
            el.attrib[key.rpartition("}")[2]] = el.attrib.pop(key)
    return root


def svg_text(root: ET.Element, *, standalone: bool = True) -> str:
    """The SVG markup of a tree: a file's (with the namespace and an XML declaration) or,
    ``standalone=False``, an element to put inside HTML (which needs neither)."""
    root = copy.copy(root)
    root.attrib = {k: v for k, v in root.attrib.items() if k != "xmlns"}
    if standalone:
        root.attrib = {"xmlns": SVG_NS, **root.attrib}
    # Titles and names may hold characters XML cannot: shown as escapes, as in DOT.
    text = xml_safe(ET.tostring(root, encoding="unicode", short_empty_elements=True))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + text + "\n"
            if standalone else text)


def tagged_numbers(root: ET.Element) -> list[tuple[ET.Element, ET.Element]]:
    """``(parent, number)`` for every tagged number in a copy of the drawing, in order."""
    return [(parent, child) for parent in root.iter() for child in parent
            if child.get(SHOW) is not None]


def strip_working(root: ET.Element) -> None:
    """Take out the tags of a tagged drawing (after they have been applied)."""
    for el in root.iter():
        for key in _WORKING:
            el.attrib.pop(key, None)


def _titled_groups(root: ET.Element) -> Iterator[tuple[ET.Element, str]]:
    """Graphviz's node and edge groups with the DOT id of their ``<title>``; their own ids
    (``node3``, ``edge7``) go, so that two drawings on one HTML page cannot clash."""
    for group in root.iter("g"):
        classes = group.get("class", "").split()
        if "node" not in classes and "edge" not in classes:
            continue
        title = group.find("title")
        group.attrib.pop("id", None)
        if title is not None and title.text:
            yield group, title.text.strip()


def _drop_tooltips(root: ET.Element) -> None:
    """Every ``<title>`` and tooltip link, kept only for their content: they repeat the
    numbers that a frame may not show yet. Iterative, like every traversal here."""
    stack = [root]
    while stack:
        el = stack.pop()
        kept: list[ET.Element] = []
        queue = list(el)
        while queue:
            child = queue.pop(0)
            if child.tag == "title":
                continue
            # Graphviz wraps a tooltip as <g id="a_node1"><a xlink:title="...">...</a></g>.
            if child.tag == "a" or (child.tag == "g" and "class" not in child.attrib
                                    and child.get("id", "").startswith("a_")):
                queue[0:0] = list(child)
                continue
            kept.append(child)
        if kept != list(el):
            for child in list(el):
                el.remove(child)
            el.extend(kept)
        stack.extend(kept)


def _numbers_in(group: ET.Element, value_color: str, gradient_color: str
                ) -> Iterator[tuple[ET.Element, str]]:
    """The number elements of a group and their kind: a whole annotation group named for
    its kind, and texts drawn in the value or gradient colour."""
    value_color, gradient_color = value_color.lower(), gradient_color.lower()
    stack = [group]
    while stack:
        el = stack.pop()
        m = _ANNOTATION.match(el.get("id", "")) if el.tag == "g" else None
        if m:
            yield el, m.group(2)
            continue
        if el.tag == "text":
            fill = el.get("fill", "").lower()
            if fill == value_color:
                yield el, "value"
            elif fill == gradient_color:
                yield el, "gradient"
            continue
        stack.extend(reversed(list(el)))


def text_box(el: ET.Element, stretch: float = 1.08) -> tuple[float, float, float, float]:
    """The box ``(x, y, width, height)`` a text element occupies, estimated generously
    (``stretch``: the fonts a viewer falls back to run wider than Helvetica)."""
    from .stepper import text_width

    size = float(el.get("font-size", "11"))
    text = "".join(el.itertext())
    width = text_width(text, size) * stretch
    x, y = float(el.get("x", "0")), float(el.get("y", "0"))
    anchor = el.get("text-anchor", "start")
    left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
    return left, y - 0.8 * size, width, size


def part_box(el: ET.Element) -> tuple[float, float, float, float] | None:
    """The box around a tagged number (a text, or an annotation group of texts)."""
    texts = [el] if el.tag == "text" else list(el.iter("text"))
    boxes = [text_box(t) for t in texts if "".join(t.itertext()).strip()]
    if not boxes:
        return None
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _outlines(group: ET.Element) -> Iterator[ET.Element]:
    """The drawn outlines of a node or edge group, leaving out its numbers."""
    stack = list(group)
    while stack:
        el = stack.pop()
        if el.get(SHOW) is not None or el.tag == "text":
            continue
        if el.tag in _OUTLINES:
            yield el
        stack.extend(el)
