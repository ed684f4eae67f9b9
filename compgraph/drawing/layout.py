"""Layout by graph size: ``dot``'s best-looking layout for small graphs, fixed positions for large.

``dot`` turns every edge label into a virtual node and every edge spanning k ranks into a
chain of k virtual nodes, then minimises crossings and straightens the chains with network
simplex. That is what makes small pictures tidy, and what makes a 1,000-statement program
(hundreds of thousands of virtual nodes when names are reused far apart) take minutes
whatever ``nslimit``/``mclimit``/``splines`` say (``bench/bench_render.py``).

So large graphs are laid out here instead: each DOT node gets a layer (longest path from the
inputs, the graph's own topological order) and a place in its layer (one barycentre sweep,
ties by statement order), and ``neato -n2`` only draws straight edges between the given
positions. :func:`choose_layout` switches by an estimate of ``dot``'s work,
:func:`dot_work`: the nodes it will lay out, its own virtual nodes included. An edge
spanning k ranks costs k - 1 of them, and edge labels double every span, so a program that
reads its input again in every statement (``p_i = p_{i-1}*x + 1``: x's edges span 2, 4, ...
ranks) costs as much at 25 statements as a plain chain at 300; counting edges, as before,
let such programs take a minute. It says so in a note the caller can show the user.

What a picture costs is estimated before it is built (:func:`estimate_cost`): fixed
positions cost a fixed time per DOT node and edge in each step (building the DOT, drawing,
finishing the SVG, converting it to PNG or PDF), and ``dot``'s own layout grows with its
work much faster. The note says "renders in seconds" only when the estimate does, and a
caller can refuse a picture whose estimate is too long (``to_dot(max_seconds=...)``; the
command line refuses above ``MAX_SECONDS``).

>>> choose_layout(10).name, choose_layout(10).note
('best', None)
>>> big = choose_layout(5000)
>>> big.name, big.engine, big.positioned
('fast', 'neato', True)
>>> estimate_cost(FAST, 1000, 1000, 1000, 10**6).total < SECONDS < estimate_cost(
...     FAST, 100_000, 100_000, 100_000, 10**8).total
True
>>> dot_work([[], [0], [1], [0, 2]], labelled=False)  # 4 nodes; 0 -> 3 spans 3 ranks: +2
6
>>> layered_order([[], [], [0, 1], [2]])
[(0, 0), (0, 1), (1, 0), (2, 0)]
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, NamedTuple, Sequence

from ..errors import RenderError

# What drawing costs, in CPU seconds on this project's machines (two shared cores), from
# bench/bench_render.py --calibrate on programs of 1,000 to 20,000 statements of two
# shapes (each statement reading recent names, or any earlier one), rounded up. With fixed
# positions each step costs about the same for every DOT element (a node, an edge, or an
# edge's label, which is a node of its own there): building the DOT, 40-80 us (the
# graphviz package quotes every attribute); drawing it (neato -n2), 23-44 us; finishing
# the SVG, 11-18 us; converting that to PNG or PDF (rsvg-convert), 100-400 us, the most for
# long edges. The estimate counts every edge of a labelled picture as labelled, which
# makes up for the low rounding of the first two.
SECONDS_PER_ELEMENT = MappingProxyType({
    "build": 60e-6, "draw": 40e-6, "finish": 20e-6, "png": 300e-6, "pdf": 300e-6})
# dot's own layout, against its work, at least: DOT_SECONDS at a work of FAST_ABOVE_WORK,
# growing as the work to the power DOT_GROWTH. bench/bench_render.py measures 1-1.5 s at
# 2,000, 4-6 s at 2,900-3,600, 6-7 s (a random program) to 8-21 s at 5,100 and over a
# minute from 6,300 (horner, accumulate) on seven shapes of programs: how fast it grows
# depends on the shape far more than on the work. This is the most favourable shape's
# time, so that layout="best", which asks for dot, is refused only when no shape of that
# size would be drawn in time ("auto" uses dot only up to FAST_ABOVE_WORK).
DOT_SECONDS = 1.0
DOT_GROWTH = 2.0
# librsvg's rsvg-convert, which makes PNG and PDF (convert.py), refuses an SVG of more than
# a million XML elements; a drawn DOT element is about seven of them (bench: 452,012 for
# 63,965, a program of 5,000 statements).
CONVERTER_MAX_XML = 1_000_000
XML_PER_ELEMENT = 7
# A picture estimated to take longer is refused by the command line (the issue's "about a
# minute"), and only one estimated under SECONDS is said to render "in seconds".
MAX_SECONDS = 60.0
SECONDS = 5.0

# dot's work (dot_work) above which "auto" switches to fixed positions. Measured by
# bench/bench_render.py over seven program shapes of 20-300 statements on this project's
# machines: dot's layout takes at most 1.5 s up to 2,000 (a 200-statement chain), 3-5 s
# around 2,500-3,300 and 8-21 s around 3,600-5,100 (a 30-statement program that reads its
# input in every statement, a random 100-statement program).
FAST_ABOVE_WORK = 2000

LAYOUTS = ("auto", "best", "fast")

# Fixed-position spacing in points, added to the sizes of the nodes and edge labels.
LAYER_GAP = 24.0
ORDER_GAP = 12.0


# A NamedTuple, not a frozen dataclass: a quarter of the cost at import, which every
# render pays (bench/bench_render.py --latency).
class Layout(NamedTuple):
    """How one picture is laid out: engine, graph attributes, positions or not, and a note."""

    name: str
    engine: str
    graph: Mapping[str, str]
    positioned: bool = False  # True: every node gets pos="x,y!" and neato -n2 draws it
    note: str | None = None


# Ranks close together: annotations sit across the flow, and a labelled edge gets a rank
# of its own for its label, so the room between ranks is only for the arrows.
BEST = Layout("best", "dot", MappingProxyType({"nodesep": "0.2", "ranksep": "0.25"}))

FAST = Layout("fast", "neato", MappingProxyType({
    # layout=neato lets a plain `dot -Tsvg file.dot` honour the positions too (slower).
    "layout": "neato", "splines": "line", "overlap": "true", "outputorder": "edgesfirst",
}), positioned=True)


def choose_layout(work: int, layout: str = "auto", seconds: float | None = None) -> Layout:
    """The layout for a picture whose ``dot_work`` is ``work``: ``best``, ``fast`` or ``auto``;
    ``seconds``, the estimate of drawing it so (:func:`estimate_cost`), words the note.

    >>> print(choose_layout(5000, seconds=42.0).note)  # doctest: +NORMALIZE_WHITESPACE
    large graph (dot would lay out about 5000 nodes, its own included): drawn with fixed
    layered positions and straight edges, in about 40 s; use layout='best' (--layout best)
    for dot's tidier but much slower layout
    """
    if layout not in LAYOUTS:
        raise RenderError(f"unknown layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    if layout == "best" or (layout == "auto" and work <= FAST_ABOVE_WORK):
        return BEST
    if layout == "fast":
        return FAST
    when = ("" if seconds is None else " so it renders in seconds" if seconds < SECONDS else
            f", in {about(seconds)}")
    return Layout(FAST.name, FAST.engine, FAST.graph, FAST.positioned, note=(
        f"large graph (dot would lay out about {work} nodes, its own included): drawn with "
        f"fixed layered positions and straight edges{when}; use layout='best' (--layout "
        f"best) for dot's tidier but much slower layout"))


def about(seconds: float) -> str:
    """A duration as a person would round it: ``about 40 s``, ``about 3 min``.

    >>> about(7.6), about(42), about(185), about(20000), about(1e9)
    ('about 8 s', 'about 40 s', 'about 3 min', 'about 6 h', 'more than a day')
    """
    if seconds < 10:
        return f"about {max(1, round(seconds))} s"
    if seconds < 100:
        return f"about {round(seconds, -1):.0f} s"
    if seconds < 5400:
        return f"about {max(2, round(seconds / 60))} min"
    if seconds < 86400:
        return f"about {round(seconds / 3600)} h"
    return "more than a day"


class Cost(NamedTuple):
    """Estimated seconds of drawing one picture: building its DOT, laying it out (with
    fixed positions, only drawing it), and finishing it (the SVG pass, a conversion to
    PNG or PDF, writing the file)."""

    build: float
    layout: float
    finish: float

    @property
    def total(self) -> float:
        return self.build + self.layout + self.finish


def dot_seconds(work: int) -> float:
    """An estimate of ``dot``'s layout time for a picture of this ``dot_work``.

    >>> dot_seconds(FAST_ABOVE_WORK), dot_seconds(10 * FAST_ABOVE_WORK) > MAX_SECONDS
    (1.0, True)
    """
    return DOT_SECONDS * (max(work, 1) / FAST_ABOVE_WORK) ** DOT_GROWTH


def drawn_elements(layout: Layout, nodes: int, edges: int, labels: int) -> int:
    """The DOT elements drawn: nodes and edges, and with fixed positions each edge label,
    which is a node of its own there."""
    return nodes + edges + (labels if layout.positioned else 0)


def estimate_cost(layout: Layout, nodes: int, edges: int, labels: int, work: int,
                  format: str = "svg") -> Cost:
    """What drawing a picture of ``nodes`` DOT nodes and ``edges`` edges (``labels`` of
    them labelled) in ``layout`` and ``format`` is estimated to take; ``work`` is its
    ``dot_work``. Counts are all it needs: it is asked before anything is built."""
    per = SECONDS_PER_ELEMENT
    elements = drawn_elements(layout, nodes, edges, labels)
    build = per["build"] * elements
    if format == "dot":
        return Cost(build, 0.0, 0.0)
    drawn = per["draw"] * elements if layout.positioned else dot_seconds(work)
    return Cost(build, drawn, (per["finish"] + per.get(format, 0.0)) * elements)


def dot_work(preds: Sequence[Sequence[int]], labelled: bool) -> int:
    """The number of nodes ``dot`` lays out for a graph: the items (each one's predecessors
    given, in topological order) and the virtual nodes of edges that span several ranks,
    ranks doubled when edges carry labels (``dot`` gives each label a rank of its own)."""
    rank = ranks(preds)
    factor = 2 if labelled else 1
    virtual = sum(max(0, factor * (rank[i] - rank[p]) - 1)
                  for i, ps in enumerate(preds) for p in ps)
    return len(preds) + virtual


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


def point(along: float, across: float, rankdir: str) -> str:
    """The pinned ``pos`` (in points) of an item ``along`` the flow and ``across`` it.

    >>> point(180, 50, "LR"), point(180, 50, "TB")
    ('180,-50!', '50,-180!')
    """
    x, y = {"LR": (along, -across), "RL": (-along, -across),
            "TB": (across, -along), "BT": (across, along)}[rankdir]
    return f"{x + 0.0:g},{y + 0.0:g}!"  # + 0.0 turns -0.0 into 0.0


def fixed_positions(order: Sequence[tuple[int, int]], sizes: Sequence[tuple[float, float]],
                    labels: Mapping[tuple[int, int], tuple[float, float]],
                    rankdir: str) -> list[str]:
    """Pinned positions for ``(layer, place)`` items of the given sizes (width, height).

    Each layer is as deep as its deepest item, plus ``LAYER_GAP`` and room for the labels
    of the edges that leave it; places are ``ORDER_GAP`` plus the largest item apart, so
    that no two items overlap whatever their annotations.

    >>> fixed_positions([(0, 0), (1, 0), (1, 1)], [(36, 36), (40, 20), (36, 60)], {}, "LR")
    ['18,0!', '80,0!', '80,-72!']
    """
    lr = rankdir in ("LR", "RL")
    layers = max((lay for lay, _ in order), default=0) + 1
    depth = [0.0] * layers
    gap = [LAYER_GAP] * layers
    for (lay, _), (w, h) in zip(order, sizes):
        depth[lay] = max(depth[lay], w if lr else h)
    for (tail, _), (w, h) in labels.items():
        lay = order[tail][0]
        gap[lay] = max(gap[lay], LAYER_GAP + (w if lr else h))
    start, at = [0.0] * layers, 0.0
    for lay in range(layers):
        start[lay] = at
        at += depth[lay] + gap[lay]
    step = ORDER_GAP + max((h if lr else w for w, h in sizes), default=0.0)
    return [point(start[lay] + depth[lay] / 2, place * step, rankdir)
            for lay, place in order]


def ranks(preds: Sequence[Sequence[int]]) -> list[int]:
    """Each item's rank as ``dot`` tends to give it: one past its deepest predecessor, and
    a source (an input, a constant) just before its first consumer rather than at rank 0."""
    rank = [0] * len(preds)
    succ: list[list[int]] = [[] for _ in preds]
    for i, ps in enumerate(preds):
        rank[i] = 1 + max((rank[p] for p in ps), default=-1)
        for p in ps:
            succ[p].append(i)
    for i, ps in enumerate(preds):
        if not ps and succ[i]:
            rank[i] = max(0, min(rank[j] for j in succ[i]) - 1)
    return rank


def estimate_size(preds: Sequence[Sequence[int]], sizes: Sequence[tuple[float, float]],
                  labels: Mapping[tuple[int, int], tuple[float, float]], rankdir: str,
                  nodesep: float, ranksep: float) -> tuple[float, float]:
    """A rough ``(width, height)`` in points of what ``dot`` will draw, for choosing a direction.

    ``sizes`` are the items' ``(width, height)`` as drawn, ``labels`` the sizes of edge
    labels by ``(tail, head)``. Along the flow, ranks add up (a labelled gap gets a rank of
    its own for the labels, as in ``dot``); across it, the fullest rank counts, with a
    little room for each edge passing through a rank.

    >>> estimate_size([[], [0], [1]], [(36, 36)] * 3, {}, "LR", 14, 18)
    (144.0, 36.0)
    >>> estimate_size([[], [0], [1]], [(36, 36)] * 3, {}, "TB", 14, 18)
    (36.0, 144.0)
    """
    lr = rankdir in ("LR", "RL")
    rank = ranks(preds)
    depth = max(rank, default=0) + 1
    along = [0.0] * depth
    across = [0.0] * depth
    count = [0] * depth
    for i, (w, h) in enumerate(sizes):
        r = rank[i]
        along[r] = max(along[r], float(w if lr else h))
        across[r] += float(h if lr else w)
        count[r] += 1
    gap = [ranksep] * depth  # the gap after each rank
    for i, ps in enumerate(preds):
        for p in ps:
            for r in range(rank[p] + 1, rank[i]):  # a long edge passes through rank r
                across[r] += nodesep
                count[r] += 1
            label = labels.get((p, i))
            if label is not None:
                g = rank[p]
                gap[g] = max(gap[g], 2 * ranksep + (label[0] if lr else label[1]))
    total_along = sum(along) + sum(gap[:-1])
    total_across = max((a + nodesep * (c - 1) for a, c in zip(across, count) if c), default=0.0)
    return (total_along, total_across) if lr else (total_across, total_along)
