"""The ``render`` command: evaluate what the view needs, draw it, write the files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from .differentiate import backward, local_derivatives, tangents
from .errors import InputError
from .evaluate import Values
from .graph import Graph
from .parser import parse


def _default_path(args: argparse.Namespace, graph: Graph, fmt: str) -> Path:
    """``examples/homework-graph.cg`` → ``homework-graph-backward.svg``; inline → ``w-backward.svg``."""
    if args.program != "-" and os.path.isfile(args.program):
        stem = Path(args.program).stem
    else:
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in graph.output_name) or "graph"
    return Path(f"{stem}-{args.view}.{fmt}")


def run_render(args: argparse.Namespace,
               load: Callable[[argparse.Namespace], tuple[Graph, Values]]) -> int:
    from . import cli
    from .drawing import pipe, to_dot, write_atomic

    if args.view == "diff":
        from .steps_cli import run_diff

        return run_diff(args)
    if args.against is not None or args.train_step is not None:
        raise cli.UsageError("--against and --train-step belong to the diff view: add --view diff")
    values = grads = tans = local = None
    try:
        graph, values = load(args)
    except InputError:
        # The forward view can be drawn without numbers; every other view needs them.
        if args.view != "forward" or args.at or args.inputs:
            raise
        graph = parse(cli.read_program(args.program), output=args.output)
        print("note: no values for some inputs, so the picture shows the structure only "
              "(give them with --at NAME=VALUE)", file=sys.stderr)
    if values is not None:
        cli.warn_nonfinite(values)
        if args.no_values and args.view == "forward":
            values = None
    if args.view in ("backward", "both"):
        if isinstance(values.output, np.ndarray):  # type: ignore[union-attr]
            raise InputError(f"the {args.view} view needs a scalar output and "
                             f"{graph.output_name} has shape {values.output.shape}; "  # type: ignore[union-attr]
                             "choose one with --output or wrap it in sum(...)")
        grads = backward(graph, values)  # type: ignore[arg-type]
        cli.warn_nonfinite(grads)
        if args.edge_labels != "gradient":
            local = local_derivatives(graph, values)  # type: ignore[arg-type]
    elif args.view == "tangent":
        wrt = args.wrt or (graph.input_names[0] if graph.input_names else None)
        if wrt is None:
            raise InputError("the tangent view needs an input; this program has none")
        tans = tangents(graph, values, wrt)  # type: ignore[arg-type]

    dot = to_dot(graph, args.view, values, grads, tans, local,
                 edge_labels=args.edge_labels, legend=not args.no_legend, rankdir=args.rankdir,
                 theme=args.theme, label_anonymous=args.label_anonymous, title=args.title,
                 costs=args.cost, layout=args.layout)
    if dot.note:
        print(f"note: {dot.note}", file=sys.stderr)

    fmt = args.format
    if args.out is not None:
        path = Path(args.out)
        suffix = path.suffix.lstrip(".").lower()
        if fmt is None:
            if suffix not in ("svg", "png", "pdf", "dot", "gv"):
                raise cli.UsageError(f"cannot tell the format of {args.out!r} from its suffix; "
                                     "use .svg, .png, .pdf or .dot, or give --format")
            fmt = "dot" if suffix == "gv" else suffix
    elif fmt == "dot":
        sys.stdout.write(dot.source)
        return cli.EXIT_OK
    else:
        fmt = fmt or "svg"
        path = _default_path(args, graph, fmt)
        print(f"note: no -o given, writing {path}", file=sys.stderr)
    data = pipe(dot, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = write_atomic(path, data)
    print(written)
    if args.open_viewer:
        import graphviz

        graphviz.view(str(written), quiet=True)
    return cli.EXIT_OK
