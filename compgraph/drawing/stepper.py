"""Backprop step by step: numbered SVG frames and a self-contained HTML stepper.

Both show one drawing (:class:`~compgraph.drawing.film.Film`: laid out once, so a node
never moves) and the arithmetic of each step of a :class:`~compgraph.steps.Walkthrough`:
``a = x · y + z = 6 + 1 = 7`` forward, ``ā = 1·28 + 8·4 = 60`` backward. A frame is an
SVG file with a caption band above the graph; the HTML page is the drawing inline with its
own stylesheet and script (nothing loaded from anywhere), buttons, the arrow keys, a slider,
a panel with the step's arithmetic, and ``#step=N`` or ``#step=last`` in the address.

>>> from compgraph.parser import parse
>>> from compgraph.evaluate import evaluate
>>> g = parse("a = x*y + z, b = a*(x + x), w = a*b + b")
>>> s = stepper(g, evaluate(g, x=2, y=3, z=1))
>>> s.texts[4], s.texts[13]
('a = x · y + z = 6 + 1 = 7', 'ā = 1·28 + 8·4 = 60')
>>> s.texts[-1]
'x̄ = 56·1 + 56·1 + 60·3 = 292'
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Sequence

from ..errors import RenderError
from ..evaluate import Values
from ..graph import CONST, INPUT, Graph
from ..ops import OPS, call_text
from ..steps import FORWARD, Step, Walkthrough, walkthrough
from .dot import to_dot
from .film import Film, svg_text
from .format import MINUS, SMALL_ARRAY, format_shape, format_value, is_array

# How operators are written in the arithmetic (the picture's block labels, with a centred
# dot for products as on a blackboard).
_INFIX = {"add": "+", "sub": MINUS, "mul": "·", "div": "/", "pow": "**", "matmul": "@"}
_ASSOCIATIVE = {"add", "mul"}
_ATOM = 100


# --- the arithmetic of each step ---------------------------------------------------------------

def node_names(graph: Graph) -> list[str]:
    """What the arithmetic calls each node: its name, a constant's number, or the
    expression of an anonymous intermediate (``x · y``), built in one forward pass.

    >>> from compgraph.parser import parse
    >>> node_names(parse("w = (x - y)*(x + 2)"))
    ['x', 'y', 'x − y', '2', 'x + 2', 'w']
    """
    names: list[str] = []
    precedence: list[int] = []
    for node in graph.nodes:
        label = graph.labels[node.id]
        if node.kind == CONST:
            text = format_value(node.value, shape=False)
            names.append(text)
            precedence.append(3 if text.startswith(MINUS) else _ATOM)
        elif label:
            names.append(label.split(" = ")[0])  # an alias "s2 = ŷ": its first name
            precedence.append(_ATOM)
        else:
            args = [(names[j], precedence[j]) for j in node.operands]
            text, p = _expression(node.op, args, node.params)  # type: ignore[arg-type]
            names.append(text)
            precedence.append(p)
    return names


def _expression(op: str, args: Sequence[tuple[str, int]],
                params: Sequence[tuple[str, Any]] = ()) -> tuple[str, int]:
    """``op`` applied to operand texts of known precedence, parenthesised where needed;
    ``params`` are the node's static parameters (``axis=0``, a subscript)."""
    record = OPS[op]
    if op in _INFIX and len(args) == 2:
        p = record.precedence
        (a, pa), (b, pb) = args
        right_assoc = op == "pow"
        if pa < p or (right_assoc and pa == p):
            a = f"({a})"
        if (pb < p or (pb == p and not right_assoc and op not in _ASSOCIATIVE)
                or b.startswith(MINUS)):  # x · (−2), never x · −2
            b = f"({b})"
        return f"{a} {_INFIX[op]} {b}", p
    if op == "neg":
        (a, pa), = args
        return f"{MINUS}{a if pa >= 3 else f'({a})'}", 3
    if op == "index":  # a subscript binds tightest: (x + y)[0]
        (a, pa), = args
        return call_text(op, [a if pa >= _ATOM else f"({a})"], dict(params)), _ATOM
    return call_text(op, [a for a, _ in args], dict(params)), _ATOM


def gradient_name(name: str, anonymous: bool, output: str) -> str:
    """``ā`` for a name (a bar over it), ``∂w/∂(x · y)`` for an anonymous intermediate.

    >>> gradient_name("a", False, "w"), gradient_name("W1", False, "w")
    ('ā', 'W̅1̅')
    """
    if anonymous:
        return f"∂{output}/∂({name})"
    if len(name) == 1:
        return unicodedata.normalize("NFC", name + "\u0304")
    return "".join(ch + "\u0305" for ch in name)


def _result(v: Any) -> str:
    """A value or gradient in arithmetic: a number, a small array's entries (``[1, −2]``),
    or a large array's shape (``3×128 array``)."""
    if is_array(v) and v.size > SMALL_ARRAY:
        return f"{format_shape(v.shape)} array"
    return format_value(v, shape=False)


def _number(v: Any, first: bool = True) -> str:
    """A number in arithmetic: negatives in parentheses unless they lead."""
    text = format_value(v)
    return text if first or not text.startswith(MINUS) else f"({text})"


def _factor(v: Any) -> str:
    text = format_value(v)
    return f"({text})" if text.startswith(MINUS) else text


def step_text(walk: Walkthrough, step: Step, names: Sequence[str] | None = None) -> str:
    """The arithmetic of one step, as a learner writes it.

    Forward: ``a = x · y + z = 6 + 1 = 7`` (name, expression, operand values, value).
    Backward: ``ā = 1·28 + 8·4 = 60``, one term per edge that reaches the node, each the
    consumer's gradient times the local derivative; an array's terms are what its edges carry.
    """
    graph = walk.graph
    names = node_names(graph) if names is None else names
    i = step.node
    node = graph.nodes[i]
    anonymous = not graph.labels[i]
    if step.phase == FORWARD:
        if node.kind == INPUT:
            return f"{names[i]} = {_result(step.value)}"
        symbolic, _ = _expression(node.op, [(names[j], _precedence(graph, names, j))  # type: ignore[arg-type]
                                            for j in node.operands], node.params)
        head = symbolic if anonymous else f"{names[i]} = {symbolic}"
        if any(is_array(v) for v in step.operands) or is_array(step.value):
            return f"{head} = {_result(step.value)}"
        numbers, _ = _expression(node.op, [  # type: ignore[arg-type]
            (_number(v, k == 0 and node.op in _INFIX), _ATOM)
            for k, v in enumerate(step.operands)], node.params)
        return f"{head} = {numbers} = {_result(step.value)}"
    bar = gradient_name(names[i], anonymous, graph.output_name)
    if step.seed:
        return f"{bar} = {format_value(step.value)} (the seed: ∂{names[i]}/∂{names[i]})"
    parts = []
    for term in step.terms:
        if term.local is None or is_array(term.upstream) or is_array(term.local):
            parts.append(_result(term.carried))
        else:
            parts.append(f"{_factor(term.upstream)}·{_factor(term.local)}")
    if len(parts) == 1 and is_array(step.value):  # one edge brings it all: say it once
        return f"{bar} = {parts[0]}"
    return f"{bar} = {' + '.join(parts)} = {_result(step.value)}"


def _precedence(graph: Graph, names: Sequence[str], j: int) -> int:
    node = graph.nodes[j]
    if node.kind == CONST:
        return 3 if names[j].startswith(MINUS) else _ATOM
    if graph.labels[j] or node.kind == INPUT:
        return _ATOM
    return OPS[node.op].precedence  # type: ignore[index]


def step_heading(walk: Walkthrough, step: Step) -> str:
    """``step 5 of 18 · forward pass``."""
    return f"step {step.number} of {len(walk)} · {step.phase} pass"


# --- frames ------------------------------------------------------------------------------------

CAPTION_SIZE = 16   # points: the arithmetic above each frame
HEADING_SIZE = 12   # points: "step 5 of 18 · forward pass"
MARGIN = 8          # points


def text_width(text: str, size: float) -> float:
    """A generous estimate of a Helvetica line's width in points."""
    return sum(0.3 if ch == " " else 0.0 if unicodedata.combining(ch) else 0.62
               for ch in text) * size


def _viewbox(root: ET.Element) -> tuple[float, float]:
    parts = [float(v) for v in root.get("viewBox", "0 0 0 0").replace(",", " ").split()]
    return parts[2], parts[3]


def framed(root: ET.Element, lines: Sequence[tuple[str, float, str]], width: float,
           background: str) -> ET.Element:
    """The drawing below a caption band of ``lines`` (text, size, colour), at least
    ``width`` wide. The band's height follows the lines' sizes, so frames with the same
    sizes and width are one size."""
    w, h = _viewbox(root)
    band = MARGIN + sum(size * 1.3 for _, size, _ in lines) + MARGIN / 2
    total_w = max(w, width)
    total_h = h + band
    page = ET.Element("svg", {"width": f"{total_w:g}pt", "height": f"{total_h:g}pt",
                              "viewBox": f"0 0 {total_w:g} {total_h:g}"})
    ET.SubElement(page, "rect", {"x": "0", "y": "0", "width": f"{total_w:g}",
                                 "height": f"{total_h:g}", "fill": background})
    y = MARGIN
    for text, size, color in lines:
        y += size
        t = ET.SubElement(page, "text", {"x": f"{MARGIN}", "y": f"{y:g}",
                                         "font-family": "Helvetica,sans-Serif",
                                         "font-size": f"{size:g}", "fill": color})
        t.text = text
        y += size * 0.3
    body = ET.SubElement(page, "g", {"transform": f"translate({(total_w - w) / 2:g} {band:g})"})
    body.extend(list(root))
    return page


class Stepper:
    """A walkthrough shown step by step: SVG frames, an HTML page, and inline in Jupyter.

    ``texts[k]`` is the arithmetic of step ``k + 1``; :meth:`frames` gives one SVG text per
    step; :meth:`html` the self-contained page; ``source`` is what the pictures are made
    from (the DOT and the texts), for staleness checks.
    """

    def __init__(self, walk: Walkthrough, *, title: str | None = None, **options: Any) -> None:
        self.walk = walk
        self.title = title
        self.film = Film(walk, **options)
        names = node_names(walk.graph)
        self.texts = [step_text(walk, s, names) for s in walk.steps]
        self.headings = [step_heading(walk, s) for s in walk.steps]
        self.source = stepper_source(walk, title=title, **options)

    def __len__(self) -> int:
        return len(self.walk)

    def __repr__(self) -> str:
        return (f"<Stepper {len(self)} steps ({len(self.walk.forward)} forward, "
                f"{len(self.walk.backward)} backward) of {self.walk.graph.output_name}>")

    # --- SVG frames ---

    def frame(self, number: int) -> str:
        """Step ``number``'s frame (1 to ``len(self)``) as SVG text."""
        if not 1 <= number <= len(self):
            raise IndexError(f"step {number} does not exist; the steps are 1 to {len(self)}")
        colors = self.film.colors
        heading = self.headings[number - 1]
        if self.title:
            heading = f"{self.title} — {heading}"
        lines = [(heading, HEADING_SIZE, colors["local"]),
                 (self.texts[number - 1], CAPTION_SIZE, colors["text"])]
        return svg_text(framed(self.film.frame(number), lines, self._band_width(),
                               colors["background"]))

    def frames(self) -> list[str]:
        """Every frame, in order, as SVG texts of one size with every node in one place."""
        return [self.frame(n) for n in range(1, len(self) + 1)]

    def _band_width(self) -> float:
        widest = max([text_width(t, CAPTION_SIZE) for t in self.texts]
                     + [text_width(f"{self.title or ''} — {h}", HEADING_SIZE)
                        for h in self.headings])
        return widest + 2 * MARGIN

    def write_frames(self, folder: str | Path) -> list[Path]:
        """Write ``step-01.svg`` ... into ``folder`` (made if missing, inside a folder that
        exists), atomically each; older frames of a longer walkthrough left there are
        removed. Returns the paths."""
        from .files import write_atomic

        folder = Path(folder)
        if not folder.parent.is_dir():
            raise RenderError(f"cannot write the frames into {folder}: the folder "
                              f"{folder.parent} does not exist")
        texts = self.frames()  # everything drawn before anything is written
        folder.mkdir(exist_ok=True)
        digits = max(2, len(str(len(self))))
        paths = [write_atomic(folder / f"step-{n:0{digits}d}.svg", t.encode("utf-8"))
                 for n, t in enumerate(texts, 1)]
        keep = {p.name for p in paths}
        for old in folder.glob("step-*.svg"):
            stem = old.stem[len("step-"):]
            if stem.isdigit() and old.name not in keep:
                old.unlink()
        return paths

    # --- HTML ---

    def html(self, *, standalone: bool = True) -> str:
        """The stepper as one self-contained HTML page (``standalone``) or as a fragment
        for a notebook cell; either way nothing is loaded from anywhere."""
        from .stepper_page import page

        return page(self, standalone=standalone)

    def _repr_html_(self) -> str:
        return self.html(standalone=False)

    def write_html(self, path: str | Path) -> Path:
        from .files import write_atomic

        return write_atomic(Path(path), self.html().encode("utf-8"))


def stepper_source(walk: Walkthrough, *, title: str | None = None, **options: Any) -> str:
    """What a stepper's pictures are made from (the DOT of its drawing and its texts), without
    running Graphviz: the gallery stamps its files with the hash of this."""
    options.setdefault("legend", False)
    dot = to_dot(walk.graph, "both", walk.values, walk.grads, **options)
    names = node_names(walk.graph)
    texts = [step_text(walk, s, names) for s in walk.steps]
    import json  # here: the diff view, which shares this module, does not need it

    from .stepper_page import TEMPLATE  # the page's style and script make it too

    return dot.source + json.dumps({"title": title, "texts": texts, "page": TEMPLATE},
                                   ensure_ascii=False, sort_keys=True)


def stepper(graph: Graph, values: Values, grads: Any = None, *, title: str | None = None,
            **options: Any) -> Stepper:
    """Step through backprop on ``graph`` at ``values``: a :class:`Stepper` (frames, an HTML
    page, inline display in Jupyter). ``options`` go to :func:`~compgraph.drawing.to_dot`
    (``rankdir``, ``theme``, ``label_anonymous``, ``costs``).
    """
    return Stepper(walkthrough(graph, values, grads), title=title, **options)


