"""Layout by graph size: ``dot``'s best-looking layout for small graphs, fixed positions for large.

``dot`` turns every edge label into a virtual node and every edge spanning k ranks into a
chain of k virtual nodes, then minimises crossings and straightens the chains with network
simplex. That is what makes small pictures tidy, and what makes a 1,000-statement program
(hundreds of thousands of virtual nodes when names are reused far apart) take minutes
whatever ``nslimit``/``mclimit``/``splines`` say (``bench/bench_render.py``).

So large graphs are laid out here instead: each DOT node gets a layer (longest path from the
inputs, the graph's own topological order) and a place in its layer (one barycentre sweep,
ties by statement order), and ``neato -n2`` only draws straight edges between the given
positions. :func:`choose_layout` switches by the number of drawn edges and says so in a
note the caller can show the user.

>>> choose_layout(10).name, choose_layout(10).note
('best', None)
>>> big = choose_layout(5000)
>>> big.name, big.engine, big.positioned
('fast', 'neato', True)
>>> layered_order([[], [], [0, 1], [2]])
[(0, 0), (0, 1), (1, 0), (2, 0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

from ..errors import RenderError

# Drawn edges above which "auto" switches to fixed positions. On the benchmark program
# (bench/bench_render.py) dot's best layout takes about 2 s at 590 edges (100 statements),
# 11-14 s at 880 (150) and about a minute at 1,150 (200).
FAST_ABOVE_EDGES = 600

LAYOUTS = ("auto", "best", "fast")

# Fixed-position spacing in points: room for a node and an edge label between layers.
LAYER_GAP = 90.0
ORDER_GAP = 50.0


@dataclass(frozen=True)
class Layout:
    """How one picture is laid out: engine, graph attributes, positions or not, and a note."""

    name: str
    engine: str
    graph: Mapping[str, str]
    positioned: bool = False  # True: every node gets pos="x,y!" and neato -n2 draws it
    note: str | None = None


BEST = Layout("best", "dot", MappingProxyType({"nodesep": "0.35", "ranksep": "0.5"}))

FAST = Layout("fast", "neato", MappingProxyType({
    # layout=neato lets a plain `dot -Tsvg file.dot` honour the positions too (slower).
    "layout": "neato", "splines": "line", "overlap": "true", "outputorder": "edgesfirst",
}), positioned=True)


def choose_layout(edges: int, layout: str = "auto") -> Layout:
    """The layout for a picture with ``edges`` drawn edges: ``best``, ``fast`` or ``auto``."""
    if layout not in LAYOUTS:
        raise RenderError(f"unknown layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    if layout == "best" or (layout == "auto" and edges <= FAST_ABOVE_EDGES):
        return BEST
    if layout == "fast":
        return FAST
    return Layout(FAST.name, FAST.engine, FAST.graph, FAST.positioned, note=(
        f"large graph ({edges} edges): drawn with fixed layered positions and straight "
        f"edges so it renders in seconds; use layout='best' (--layout best) for dot's "
        f"tidier but much slower layout"))


def layered_order(preds: Sequence[Sequence[int]],
                  layer_of: Mapping[int, int] | None = None) -> list[tuple[int, int]]:
    """``(layer, place in layer)`` of each item, given each item's predecessors.

    Items are in topological order (predecessors first). An item's layer is one more than
    its deepest predecessor's (or ``layer_of[item]`` when given); within a layer, items are
    sorted by the mean place of their predecessors, ties by item number. Iterative and
    deterministic.
    """
    n = len(preds)
    layer = [0] * n
    for i, ps in enumerate(preds):
        if layer_of is not None and i in layer_of:
            layer[i] = layer_of[i]
        else:
            layer[i] = 1 + max((layer[p] for p in ps), default=-1)
    by_layer: dict[int, list[int]] = {}
    for i in range(n):
        by_layer.setdefault(layer[i], []).append(i)
    place = [0] * n
    done = [False] * n
    for lay in sorted(by_layer):
        items = by_layer[lay]
        centre: dict[int, float] = {}
        for i in items:
            known = [place[p] for p in preds[i] if done[p]]
            centre[i] = sum(known) / len(known) if known else -1.0
        # In barycentre order, each item as near its predecessors as the one before allows
        # (gaps are fine: they keep edges short).
        previous = -1
        for i in sorted(items, key=lambda i: (centre[i], i)):
            previous = place[i] = max(previous + 1, round(centre[i]))
        for i in items:
            done[i] = True
    return list(zip(layer, place))


def point(layer: int, place: int, rankdir: str) -> str:
    """The pinned ``pos`` of a layered item in points, for ``rankdir``.

    >>> point(2, 1, "LR"), point(2, 1, "TB")
    ('180,-50!', '50,-180!')
    """
    along, across = layer * LAYER_GAP, place * ORDER_GAP
    x, y = {"LR": (along, -across), "RL": (-along, -across),
            "TB": (across, -along), "BT": (across, along)}[rankdir]
    return f"{x + 0.0:g},{y + 0.0:g}!"  # + 0.0 turns -0.0 into 0.0
