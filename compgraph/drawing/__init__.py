"""Drawing: graphs as ``graphviz.Digraph`` objects in the course's notation, and files.

``to_dot`` builds the picture (no Graphviz binary needed); ``render`` writes svg, png,
pdf or dot files atomically; ``pipe`` returns the bytes of one format. Rendering takes
values, gradients and tangents as arguments and never computes them.
"""

from __future__ import annotations

from .dot import BASE_VIEWS, EDGE_LABELS, EXPLAINING_VIEWS, RANKDIRS, VIEWS, Digraph, to_dot
from .dshape import dshape_svg
from .finish import finish_svg
from .files import FORMATS, MISSING_DOT, pipe, render, write_atomic
from .format import format_value
from .layout import FAST_ABOVE_WORK, LAYOUTS, choose_layout, dot_work
from .style import THEMES

__all__ = [
    "BASE_VIEWS", "Digraph", "EDGE_LABELS", "EXPLAINING_VIEWS", "FAST_ABOVE_WORK", "FORMATS",
    "LAYOUTS", "MISSING_DOT", "RANKDIRS", "THEMES", "VIEWS", "choose_layout", "dot_work",
    "dshape_svg", "finish_svg", "format_value", "pipe", "render", "to_dot", "write_atomic",
]
