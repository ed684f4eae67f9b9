"""The ``render`` command: evaluate what the view needs, draw it, write the files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .differentiate import local_derivatives, tangents
from .errors import InputError
from .evaluate import Values
from .graph import Graph
from .render_views import NEEDS_GRADIENTS, gradients_for, view_options, wants_folder, write_each_path

if TYPE_CHECKING:
    from .progress import Progress


def _default_path(args: argparse.Namespace, graph: Graph, fmt: str) -> Path:
    """``examples/homework-graph.cg`` → ``homework-graph-backward.svg``; inline → ``w-backward.svg``."""
    if args.program != "-" and os.path.isfile(args.program):
        stem = Path(args.program).stem
    else:
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in graph.output_name) or "graph"
    return Path(f"{stem}-{args.view}.{fmt}")


def run_render(args: argparse.Namespace) -> int:
    from .progress import Progress

    # A large picture takes a while: its steps and the time so far on standard error
    # (a terminal only), from two seconds on.
    with Progress(sys.stderr, "render") as progress:
        return _render(args, progress)


def _render(args: argparse.Namespace, progress: Progress) -> int:
    from . import cli
    from .drawing import pipe, to_dot, write_atomic
    from .drawing.files import check_folder, format_of
    from .drawing.layout import MAX_SECONDS, about

    if args.view == "diff":
        from .steps_cli import run_diff

        if args.collapse or args.expand:
            # Its marks compare the numbers of the graph's own operators, so it draws every
            # call open (drawing/diff.py); ignoring the flag would be a silent surprise.
            raise cli.UsageError("--collapse and --expand are not available in the diff "
                                 "view, which draws every call open: leave them out, or "
                                 "draw --view both --collapse at each point")
        return run_diff(args)
    if args.against is not None or args.train_step is not None:
        raise cli.UsageError("--against and --train-step belong to the diff view: add --view diff")
    values: Values | None = None
    grads = tans = local = None
    progress.step("reading and evaluating the program")
    graph = cli.load_graph(args)   # once: PROGRAM may be standard input
    try:
        values = cli.evaluate_at(args, graph)
    except InputError:
        # The forward view can be drawn without numbers; every other view needs them.
        if args.view != "forward" or args.at or args.inputs:
            raise
        print("note: no values for some inputs, so the picture shows the structure only "
              "(give them with --at NAME=VALUE)", file=sys.stderr)
    if values is not None:
        cli.warn_nonfinite(values)
        if args.no_values and args.view == "forward":
            values = None
    folder = wants_folder(args)
    all_grads = gradients_for(args.view, graph, values)
    if args.view in NEEDS_GRADIENTS:
        grads = all_grads
        cli.warn_nonfinite(grads)
    if args.view in ("backward", "both"):
        if args.edge_labels != "gradient":
            local = local_derivatives(graph, values)  # type: ignore[arg-type]
    elif args.view == "tangent":
        wrt = args.wrt or (graph.input_names[0] if graph.input_names else None)
        if wrt is None:
            raise InputError("the tangent view needs an input; this program has none")
        tans = tangents(graph, values, wrt)  # type: ignore[arg-type]
        cli.warn_nonfinite(tans)

    _check_costs(graph, args.cost)
    _check_expand(graph, args.collapse, args.expand)
    if args.max_grid < 0:
        raise cli.UsageError(f"--max-grid {args.max_grid}: give 0 or more rows and columns "
                             "(0 draws every array as its shape and range)")
    options = view_options(args, graph, values, all_grads)
    # The format first: a picture estimated to take longer than MAX_SECONDS to draw in it
    # is refused before it is built (DOT alone is always written: it is the way out).
    if args.out is not None and not folder:
        fmt = format_of(args.out, args.format)
    else:
        fmt = args.format or "svg"

    def draw(path: int | None = None) -> Any:
        return to_dot(graph, args.view, values, grads, tans, local,
                      edge_labels=args.edge_labels, legend=not args.no_legend,
                      rankdir=args.rankdir, theme=args.theme,
                      label_anonymous=args.label_anonymous, title=args.title,
                      costs=args.cost, layout=args.layout, max_grid=args.max_grid, path=path,
                      collapse=args.collapse, expand=args.expand,
                      prune=getattr(args, "output", None) is not None,
                      max_seconds=None if fmt == "dot" else MAX_SECONDS,
                      output_format=fmt, **options)

    progress.step("building the picture")
    if folder:
        for written in write_each_path(args, _default_path(args, graph, "x").stem,
                                       draw, len(options["paths"].paths)):
            print(written)
        return cli.EXIT_OK
    dot = draw()
    if dot.note:
        progress.say(f"note: {dot.note}")

    if args.out is not None:
        path = Path(args.out)
    elif fmt == "dot":
        progress.close()  # the DOT goes to the terminal the progress line is on
        cli.write_utf8(dot.source)
        return cli.EXIT_OK
    else:
        path = _default_path(args, graph, fmt)
        progress.say(f"note: no -o given, writing {path}")
    check_folder(path)   # before Graphviz runs: a mistyped folder fails at once
    progress.step(f"laying out with {dot.engine} ({about(dot.cost.layout + dot.cost.finish)})")
    data = pipe(dot, fmt)
    progress.step(f"writing {path}")
    written = write_atomic(path, data)
    progress.close()
    print(written)
    if args.open_viewer:
        import graphviz

        graphviz.view(str(written), quiet=True)
    return cli.EXIT_OK


def _check_costs(graph: Graph, names: list[str]) -> None:
    """``--cost NAME`` names a variable of the program (a typo is a usage error)."""
    from . import cli

    for name in names:
        if name not in graph.latest:
            import difflib

            close = difflib.get_close_matches(name, list(graph.latest), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise cli.UsageError(f"--cost {name}: the program has no variable of that name"
                                 f"{hint}; it has: {', '.join(graph.latest)}")


def _check_expand(graph: Graph, collapse: bool, names: list[str]) -> None:
    """``--expand NAME`` names a call of the program, and opens it in a collapsed picture
    (a mistake is a usage error, the message listing the calls there are)."""
    from . import cli
    from .drawing.collapse import calls_named
    from .errors import RenderError

    if names and not collapse:
        raise cli.UsageError(f"--expand {names[0]}: calls are drawn open unless collapsed; "
                             "add --collapse")
    try:
        calls_named(graph, names)
    except RenderError as exc:
        raise cli.UsageError(f"--expand: {exc}") from None
