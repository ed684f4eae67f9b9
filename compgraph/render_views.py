"""What the ``render`` command computes for the explaining views, and the paths view's
one-picture-per-path folder (``render --view paths --wrt x -o FOLDER/``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .differentiate import Gradients, backward
from .errors import InputError, PathLimitError
from .evaluate import Values
from .graph import Graph

EXPLAINING = ("paths", "check", "heatmap")
NEEDS_GRADIENTS = ("backward", "both", "check", "heatmap")
# One picture per path: at most this many files from one command.
MAX_PICTURES = 100


def gradients_for(view: str, graph: Graph, values: Values | None) -> Gradients | None:
    """Reverse mode for the views that draw it, and for the NaN report of the others (when
    the output is a scalar); ``None`` when there are no values."""
    if values is None:
        return None
    if isinstance(values.output, np.ndarray):
        if view in NEEDS_GRADIENTS:
            raise InputError(f"the {view} view needs a scalar output and {graph.output_name} "
                             f"has shape {values.output.shape}; choose one with --output or "
                             "wrap it in sum(...)")
        return None
    return backward(graph, values)


def view_options(args: argparse.Namespace, graph: Graph, values: Values | None,
                 grads: Gradients | None) -> dict[str, Any]:
    """``to_dot``'s keyword arguments for the view's own results and the NaN marker."""
    options: dict[str, Any] = {}
    if values is not None and (values.nonfinite is not None or
                               (grads is not None and grads.nonfinite is not None)):
        from .nonfinite import find_nonfinite  # only a picture with a NaN needs it

        report = find_nonfinite(graph, values, grads)
        if report is not None:
            options["nonfinite"] = report
    if args.view == "paths":
        from .pathsum import paths

        if not args.wrt:
            raise InputError(f"the paths view needs --wrt NAME, the variable the paths start "
                             f"from; the program has: {', '.join(graph.latest)}")
        try:
            options["paths"] = paths(graph, values, args.wrt,  # type: ignore[arg-type]
                                     max_paths=MAX_PICTURES)
        except PathLimitError as exc:
            raise PathLimitError(
                f"{args.wrt} reaches {graph.output_name} along {exc.count:,} paths; pictures "
                f"are drawn for at most {MAX_PICTURES}: list them all with the paths command",
                count=exc.count, limit=MAX_PICTURES) from None
    elif args.view == "check":
        from .nodecheck import check_nodes

        options["check"] = check_nodes(graph, values, grads)  # type: ignore[arg-type]
    return options


def _folder(args: argparse.Namespace) -> bool:
    """Whether ``-o`` names a folder: it ends with a slash (said, never guessed: ``-o
    pic.svg`` where pic.svg happens to be a folder is a file that cannot be written)."""
    out = args.out
    return bool(out) and out.endswith(("/", os.sep))


def wants_folder(args: argparse.Namespace) -> bool:
    """Whether this render writes a folder of pictures, one per path."""
    if not _folder(args):
        return False
    if args.view != "paths":
        from .cli import UsageError

        raise UsageError(f"-o {args.out}: a folder is for --view paths (one picture per path); "
                         "give a file name such as graph.svg")
    return True


def write_each_path(args: argparse.Namespace, stem: str,
                    draw: Callable[[int], Any], count: int) -> list[Path]:
    """One picture per path, ``FOLDER/<stem>-<k>.<format>``, each drawn by ``draw(k)``;
    all are drawn before any is written."""
    from .drawing import pipe, write_atomic
    from .drawing.files import check_folder

    fmt = args.format or "svg"
    folder = Path(args.out)
    digits = len(str(count))
    drawn = [(folder / f"{stem}-{k + 1:0{digits}d}.{fmt}", pipe(draw(k), fmt))
             for k in range(count)]
    if not drawn:
        print(f"note: {args.wrt} does not reach the output: no paths, no pictures",
              file=sys.stderr)
        return []
    if not folder.is_dir():
        check_folder(folder)  # only the folder named is made, inside one that exists
        folder.mkdir()
    return [write_atomic(path, data) for path, data in drawn]
