"""Graphviz layout settings by graph size: the best-looking ones for small graphs, fast ones for large.

``dot`` lays labelled edges out by turning every label into a virtual node and then
minimising crossings and straightening splines; that is what makes small pictures look
good and what makes a 1,000-statement program take minutes. :func:`choose_layout` picks
one of two settings by the number of drawn edges (see ``bench/bench_render.py`` for the
measurements behind the threshold) and says so in a note the caller can show the user.

>>> choose_layout(10).name, choose_layout(10).note
('best', None)
>>> big = choose_layout(5000)
>>> big.name, big.edge_label
('fast', 'xlabel')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..errors import RenderError

# Drawn edges above which "auto" switches to the fast settings (bench/bench_render.py).
FAST_ABOVE_EDGES = 400

LAYOUTS = ("auto", "best", "fast")


@dataclass(frozen=True)
class Layout:
    """Graph attributes for one layout, which attribute carries edge labels, and a note."""

    name: str
    graph: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    edge_label: str = "label"   # "label" reserves room in the layout; "xlabel" does not
    note: str | None = None


BEST = Layout("best", MappingProxyType({"nodesep": "0.3", "ranksep": "0.4"}), "label")

# Straight edges and bounded crossing minimisation; edge labels placed after layout.
FAST = Layout(
    "fast",
    MappingProxyType({"nodesep": "0.3", "ranksep": "0.4", "splines": "line",
                      "nslimit": "2", "nslimit1": "2", "mclimit": "0.1",
                      "remincross": "false", "searchsize": "10", "forcelabels": "false"}),
    "xlabel",
)


def choose_layout(edges: int, layout: str = "auto") -> Layout:
    """The layout for a picture with ``edges`` drawn edges: ``best``, ``fast`` or ``auto``."""
    if layout not in LAYOUTS:
        raise RenderError(f"unknown layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    if layout == "best" or (layout == "auto" and edges <= FAST_ABOVE_EDGES):
        return BEST
    note = (f"large graph ({edges} edges): using fast layout settings (straight edges, "
            f"labels placed after layout); pass layout='best' (--layout best) for the "
            f"slower, tidier picture") if layout == "auto" else None
    return Layout(FAST.name, FAST.graph, FAST.edge_label, note)
