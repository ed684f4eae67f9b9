"""Views that explain a gradient, drawn as overlays on the base views of ``dot.py``.

A base view (``forward``, ``backward``) places and draws every node and edge; an
:class:`Overlay` then restyles them for one question, without touching how the picture is
laid out: which paths make up the gradient (``paths``), whether autodiff agrees with
central differences at each node (``check``), how large each gradient is (``heatmap``),
and where a NaN was born (:class:`~compgraph.drawing.views.nonfinite.NonFiniteMarker`, on
every view). Each overlay answers a few questions from the builder, each defaulting to
"leave the base alone":

- ``node(i)``, ``op(i)``: attributes for variable ``i``'s node, operator ``i``'s block;
- ``annotations(i)``: what is written before and after variable ``i``'s shape (two
  annotations as ``dot.py`` makes them, either ``None``), or ``None`` for the base view's;
- ``operand_edge(i, k)``, ``result_edge(i)``: attributes for the edge from operand ``k``
  into operator ``i``, and from operator ``i`` to its result;
- ``key(entries)``: the legend's ``(sample, words)`` entries, filtered or added to;
- ``caption()``: rows of markup written under the title (path products, a colour bar):
  part of the picture's data, so shown with or without the legend.

Overlays compute nothing: what they show is given to ``to_dot`` (``compgraph.paths``,
``compgraph.nodecheck``, ``compgraph.nonfinite``) or is already in its values and gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from .. import annotate
from .. import markup as mk

if TYPE_CHECKING:
    from ..dot import Note, _Builder

Attrs = dict[str, str]


class Overlay:
    """The no-op overlay: the base view as it is."""

    base = "forward"  # the view whose drawing the overlay starts from

    def __init__(self, b: "_Builder") -> None:
        self.b = b

    def node(self, i: int) -> Attrs:
        return {}

    def op(self, i: int) -> Attrs:
        return {}

    def annotations(self, i: int) -> "tuple[Note | None, Note | None] | None":
        return None

    def operand_edge(self, i: int, k: int) -> Attrs:
        return {}

    def result_edge(self, i: int) -> Attrs:
        return {}

    def key(self, entries: list) -> list:
        return entries

    def caption(self) -> list[mk.Markup]:
        return []


class Layers(Overlay):
    """Several overlays, later ones winning where two restyle the same thing."""

    def __init__(self, b: "_Builder", layers: Sequence[Overlay]) -> None:
        super().__init__(b)
        self.layers = tuple(layers)

    def node(self, i: int) -> Attrs:
        return _merged(o.node(i) for o in self.layers)

    def op(self, i: int) -> Attrs:
        return _merged(o.op(i) for o in self.layers)

    def annotations(self, i: int) -> "tuple[Note | None, Note | None] | None":
        found = None
        for o in self.layers:
            mine = o.annotations(i)
            if mine is not None:
                found = mine
        return found

    def operand_edge(self, i: int, k: int) -> Attrs:
        return _merged(o.operand_edge(i, k) for o in self.layers)

    def result_edge(self, i: int) -> Attrs:
        return _merged(o.result_edge(i) for o in self.layers)

    def key(self, entries: list) -> list:
        for o in self.layers:
            entries = o.key(entries)
        return entries

    def caption(self) -> list[mk.Markup]:
        return [row for o in self.layers for row in o.caption()]


def _merged(dicts: Any) -> Attrs:
    out: Attrs = {}
    for d in dicts:
        out.update(d)
    return out


# --- annotations and legend entries of the views ---------------------------------------------

def text_note(b: "_Builder", i: int, kind: str, lines: list[tuple[str, str]],
              tooltip: str | None = None) -> "Note":
    """An annotation of lines of ``(text, colour)``, its cell named ``cg_v<i>_<kind>``."""
    blocks = [annotate.Block(mk.font(t, color=c, size=annotate.FONT),
                             annotate.text_width(t, annotate.FONT),
                             annotate.LINE * annotate.FONT) for t, c in lines]
    block = blocks[0] if len(blocks) == 1 else stacked(blocks)
    return block, {**b.marker(i, kind), "tooltip": tooltip or " ".join(t for t, _ in lines)}


def stacked(blocks: list[annotate.Block]) -> annotate.Block:
    """Blocks one under another."""
    return annotate.Block(mk.table([[mk.cell(x.markup)] for x in blocks]),
                          max(x.width for x in blocks), sum(x.height for x in blocks))


def entry(text: str, color: str, words: str) -> tuple[Any, str]:
    """A legend entry: a sample of text in its colour, and what it means."""
    from ..legend import word

    return word(text, color), words


def without(entries: list, *words: str) -> list:
    """The legend entries but those whose words are given."""
    return [e for e in entries if e[1] not in words]


# --- choosing the overlays of a picture -------------------------------------------------------

BASES = {"paths": "forward", "check": "forward", "heatmap": "backward"}
"""The base view each explaining view is drawn on."""


def base_view(view: str) -> str:
    return BASES.get(view, view)


def overlay_for(view: str, b: "_Builder", *, paths: Any = None, path: int | None = None,
                check: Any = None, nonfinite: Any = None) -> Overlay:
    """The overlays of one picture: the view's own, then the NaN marker over any view.

    Raises :class:`~compgraph.errors.RenderError` naming what to compute when a view is
    not given the results it draws.
    """
    from ...errors import RenderError

    layers: list[Overlay] = []
    if view == "paths":
        if paths is None:
            raise RenderError("the paths view draws the result of compgraph.paths(graph, "
                              "values, wrt=NAME): pass it as paths=...")
        from .paths import Paths

        layers.append(Paths(b, paths, path))
    elif view == "check":
        if check is None:
            raise RenderError("the check view draws the result of compgraph.check_nodes(graph, "
                              "values): pass it as check=...")
        from .check import Check

        layers.append(Check(b, check))
    elif view == "heatmap":
        if b.data.adjoints is None:
            raise RenderError("the heatmap view colours by gradient: pass grads="
                              "compgraph.backward(graph, values)")
        from .heatmap import Heatmap

        layers.append(Heatmap(b))
    if nonfinite is not None:
        from .nonfinite import NonFiniteMarker

        layers.append(NonFiniteMarker(b, nonfinite))
    if not layers:
        return Overlay(b)
    return layers[0] if len(layers) == 1 else Layers(b, layers)
