"""The loss curve of ``compgraph train --plot FILE`` (matplotlib, the optional ``plot`` extra).

>>> check_plot_path("loss.txt")
Traceback (most recent call last):
  ...
compgraph.plot.PlotUsageError: --plot loss.txt: the suffix must be one of svg, png, pdf
"""

from __future__ import annotations

import io
import os
from typing import Sequence

from .drawing.files import write_atomic
from .plot import FORMATS, PlotUsageError, _matplotlib


def check_plot_path(path: str) -> str:
    """The format of ``path`` (its suffix); raises before any work is done when the suffix
    is not a picture format or matplotlib is missing."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise PlotUsageError(f"--plot {path}: the suffix must be one of {', '.join(FORMATS)}")
    _matplotlib()
    return fmt


def draw_losses(losses: Sequence[float], path: str, title: str = "loss") -> str:
    """The loss before each step against the step, written atomically to ``path``; SVG and
    PDF bytes are the same for the same losses (fixed hash salt, no date)."""
    fmt = check_plot_path(path)
    matplotlib, Figure = _matplotlib()
    style = {"svg.hashsalt": "compgraph", "svg.fonttype": "path", "font.size": 10,
             "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(style):
        fig = Figure(figsize=(5.0, 3.2), layout="constrained")
        ax = fig.subplots()
        ax.plot(range(len(losses)), losses, color="#1f5fa8", linewidth=1.8)
        ax.set_xlabel("step")
        ax.set_ylabel(title)
        ax.grid(True, color="#e6e6e6", linewidth=0.6)
        if losses and min(losses) > 0 and max(losses) / min(losses) > 100:
            ax.set_yscale("log")
        ax.set_title(f"{title} before each step of gradient descent", fontsize=11)
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None},
                    "png": {"Software": None}}[fmt]
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata=metadata)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomic(path, buffer.getvalue())
    return path
