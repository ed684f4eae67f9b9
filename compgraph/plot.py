"""Plots of one-input programs and their derivatives, differentiated by compgraph itself.

Each program is evaluated once on a whole array of sample points, and its derivative is
the forward-mode tangent of that one batched evaluation (direction: ones), so the curve
of f' is what compgraph's own rules compute, never a formula written here.

>>> s = sample("relu(x)", -1.0, 1.0, 5)
>>> s.x.tolist(), s.f.tolist(), s.df.tolist()
([-1.0, -0.5, 0.0, 0.5, 1.0], [0.0, 0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.0, 1.0, 1.0])
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .differentiate import tangents
from .drawing.files import check_folder, write_atomic
from .errors import EvaluationError, InputError, RenderError
from .evaluate import evaluate
from .graph import Graph
from .parser import parse

INSTALL_HINT = "pip install 'compgraph[plot]'"
FORMATS = ("svg", "png", "pdf")
# The most samples a plot takes: a million points of a small program take about a second
# and some hundreds of megabytes (each node holds a million-point array); a billion would
# take the machine's memory.
MAX_POINTS = 1_000_000


class PlotUsageError(InputError):
    """A program or option that ``plot`` cannot draw (exit 2 on the command line)."""


@dataclass(frozen=True)
class Samples:
    """One program sampled on a grid: ``f`` its values and ``df`` its derivative at ``x``."""

    label: str
    wrt: str
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray


def _label(text: str, graph: Graph) -> str:
    """The program itself when it is one short line, otherwise its output's name."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()
             and not ln.strip().startswith("#")]
    if len(lines) == 1 and len(lines[0]) <= 40:
        return lines[0]
    return graph.output_name


def sample(program: str | Graph, lo: float = -4.0, hi: float = 4.0, points: int = 801,
           label: str | None = None) -> Samples:
    """Evaluate a one-input, elementwise program on ``points`` samples of [lo, hi] and
    differentiate it there with forward mode.

    Raises :class:`PlotUsageError` when the program has other than one input or does not
    act elementwise (a ``sum``, ``mean`` or ``@`` mixes the samples).

    >>> s = sample("x*sigmoid(x)", 0.0, 0.0, 1)
    >>> float(s.f[0]), float(s.df[0])
    (0.0, 0.5)
    """
    graph = parse(program) if isinstance(program, str) else program
    if label is None:
        label = _label(program, graph) if isinstance(program, str) else graph.output_name
    if len(graph.input_names) != 1:
        names = ", ".join(graph.input_names) or "none"
        raise PlotUsageError(f"plot draws programs of exactly one input; {label!r} has "
                             f"{len(graph.input_names)} ({names})")
    wrt = graph.input_names[0]
    check_points(points)
    x = np.linspace(float(lo), float(hi), int(points))
    values = evaluate(graph, {wrt: x})
    f = values.output
    if not isinstance(f, np.ndarray) or f.shape != x.shape or not _elementwise(graph, wrt, x, f):
        raise PlotUsageError(f"plot draws functions applied elementwise to {wrt}; {label!r} "
                             f"mixes the samples (a sum, mean or @ over {wrt})")
    df = np.array(tangents(graph, values, wrt).output, dtype=float)
    return Samples(label, wrt, x, np.array(f, dtype=float), np.broadcast_to(df, x.shape).copy())


def _elementwise(graph: Graph, wrt: str, x: np.ndarray, f: np.ndarray) -> bool:
    """Spot-check that the batched values are the values at each point alone."""
    for k in sorted({0, len(x) // 3, len(x) // 2, len(x) - 1}):
        try:
            alone = evaluate(graph, {wrt: float(x[k])}).output
        except EvaluationError:
            return False
        if isinstance(alone, np.ndarray) or not (
                alone == f[k] or (math.isnan(alone) and math.isnan(f[k]))
                or math.isclose(alone, f[k], rel_tol=1e-9, abs_tol=1e-12)):
            return False
    return True


def check_points(points: int, least: int = 1) -> None:
    """At least ``least`` samples (a plot needs 2) and at most :data:`MAX_POINTS`.

    >>> check_points(10**9)
    Traceback (most recent call last):
      ...
    compgraph.plot.PlotUsageError: --points 1000000000: need at least 1 and at most 1,000,000
    """
    if not least <= points <= MAX_POINTS:
        raise PlotUsageError(f"--points {points}: need at least {least} and at most "
                             f"{MAX_POINTS:,}")


def parse_range(text: str) -> tuple[float, float]:
    """``"LO,HI"`` as two finite numbers with LO < HI.

    >>> parse_range("-4,4")
    (-4.0, 4.0)
    """
    parts = text.replace(":", ",").strip().strip("[]()").split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise PlotUsageError(f"--range {text}: write LO,HI such as --range=-4,4") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and math.isfinite(hi - lo)):
        raise PlotUsageError(f"--range {text}: need finite LO < HI, less than 1.8e308 apart")
    return lo, hi


def write_csv(samples: Sequence[Samples], out: Any = None, derivative_only: bool = False) -> None:
    """The sampled values as CSV: x, then f and f' of each program (or f' only)."""
    out = out or sys.stdout
    wrts = {s.wrt for s in samples}
    head = [wrts.pop() if len(wrts) == 1 else "x"]
    for s in samples:
        if not derivative_only:
            head.append(s.label)
        head.append(f"d/d{s.wrt} {s.label}")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(head)
    for k, x in enumerate(samples[0].x):
        row = [repr(float(x))]
        for s in samples:
            if not derivative_only:
                row.append(repr(float(s.f[k])))
            row.append(repr(float(s.df[k])))
        w.writerow(row)


def derivative_title(label: str) -> str:
    """The name of a panel that shows only the derivative: ``gelu(x)`` → ``gelu′(x)``.

    >>> derivative_title("gelu(x)"), derivative_title("leaky_relu(x, 0.1)")
    ('gelu′(x)', 'leaky_relu′(x, 0.1)')
    >>> derivative_title("x*sigmoid(x)"), derivative_title("act.cg")
    ('(x*sigmoid(x))′', 'act.cg′')
    """
    head, paren, rest = label.partition("(")
    if paren and head.isidentifier() and rest.endswith(")") and _balanced(rest[:-1]):
        return f"{head}′({rest}"
    if all(ch.isalnum() or ch in "._-" for ch in label):
        return f"{label}′"
    return f"({label})′"


def _balanced(text: str) -> bool:
    """Whether parentheses in ``text`` never close more than they open and end level."""
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise RenderError(f"plot needs matplotlib: {INSTALL_HINT}") from None
    return matplotlib, Figure


_F_COLOUR, _DF_COLOUR = "#1f5fa8", "#d1495b"   # function blue, derivative red


def draw(samples: Sequence[Samples], path: str, derivative_only: bool = False) -> str:
    """Draw one panel per program, the function and its derivative together, into ``path``.

    The format is the suffix of ``path`` (svg, png or pdf). The file is written atomically
    (a temporary file, then a rename), and SVG and PDF output is the same bytes for the
    same input and matplotlib version (fixed hash salt, no date).
    """
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise PlotUsageError(f"-o {path}: the suffix must be one of {', '.join(FORMATS)}")
    matplotlib, Figure = _matplotlib()
    n = len(samples)
    ncols = 1 if n == 1 else (2 if n in (2, 4) else 3)
    nrows = -(-n // ncols)
    style = {"svg.hashsalt": "compgraph", "svg.fonttype": "path", "font.size": 10,
             "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(style):
        fig = Figure(figsize=(3.9 * ncols + 0.4, 3.0 * nrows + 0.3), layout="constrained")
        axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False).ravel()
        for k, (ax, s) in enumerate(zip(axes, samples)):
            if not derivative_only:
                ax.plot(s.x, s.f, color=_F_COLOUR, linewidth=2.0, label=f"f({s.wrt})")
            ax.plot(s.x, s.df, color=_DF_COLOUR, linewidth=1.6,
                    linestyle="-" if derivative_only else "--",
                    label=f"f′({s.wrt}), by compgraph")
            ax.axhline(0.0, color="#888888", linewidth=0.6, zorder=0)
            ax.axvline(0.0, color="#888888", linewidth=0.6, zorder=0)
            ax.grid(True, color="#e6e6e6", linewidth=0.6)
            ax.set_title(derivative_title(s.label) if derivative_only else s.label,
                         fontsize=11, family="monospace")
            if k + ncols >= n:  # the lowest panel of its column
                ax.set_xlabel(s.wrt)
                ax.xaxis.set_tick_params(labelbottom=True)
            ax.legend(loc="best", frameon=False, fontsize=8.5)
        for ax in axes[n:]:
            ax.set_visible(False)
        axes[0].set_xlim(samples[0].x[0], samples[0].x[-1])
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None},
                    "png": {"Software": None}}[fmt]
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata=metadata)
    # Everything is drawn before the file is touched; write_atomic never leaves half a file
    # (and, like render, never creates a missing folder: a mistyped one would be).
    write_atomic(path, buffer.getvalue())
    return path


def run_plot(args: argparse.Namespace, read_program: Callable[[str], str]) -> int:
    """The ``plot`` command: sample every program, then print CSV and/or draw the figure.

    ``read_program`` turns a PROGRAM argument (text, file or ``-``) into program text.
    """
    if args.out is None and not args.csv:
        raise PlotUsageError("plot needs -o FILE (svg, png or pdf) or --csv")
    if args.out is not None and os.path.splitext(args.out)[1].lstrip(".").lower() not in FORMATS:
        raise PlotUsageError(f"-o {args.out}: the suffix must be one of {', '.join(FORMATS)}")
    check_points(args.points, least=2)
    lo, hi = parse_range(args.range)
    if args.out is not None:
        check_folder(args.out)
    samples = []
    for arg in args.programs:
        text = read_program(arg)
        label = os.path.basename(arg) if arg != "-" and text is not arg else None
        samples.append(sample(text, lo, hi, args.points, label=label))
    for s in samples:
        bad = int(np.count_nonzero(~np.isfinite(s.f)))
        if bad:
            print(f"note: {s.label} is not finite at {bad} of {len(s.x)} points "
                  "(left as gaps)", file=sys.stderr)
    if args.out is not None:
        _matplotlib()  # fail before writing CSV when the picture cannot be drawn
    if args.csv:
        write_csv(samples, derivative_only=args.derivative_only)
    if args.out is not None:
        print(draw(samples, args.out, derivative_only=args.derivative_only),
              file=sys.stderr if args.csv else sys.stdout)
    return 0
