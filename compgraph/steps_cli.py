"""The ``steps`` and ``worksheet`` commands: backprop step by step, and sheets to fill in.

``steps PROGRAM --at ... -o FOLDER/`` writes one numbered SVG frame per step;
``--format html`` (or ``-o FILE.html``) one self-contained page. ``worksheet PROGRAM
--at ... -o FILE.svg|.pdf|.png`` writes a printable page with the gradients (or values) to
fill in; ``--answers`` its key; ``--seed N`` picks small integer inputs for a class set.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable

from .evaluate import Values, evaluate
from .graph import Graph
from .parser import parse

STEP_FORMATS = ("svg", "html")
SHEET_FORMATS = ("svg", "pdf", "png")  # worksheets and diffs: SVG, or made from it


def _encoded(svg: str, fmt: str) -> bytes:
    """A page compgraph finished in SVG, as ``svg``, ``pdf`` or ``png`` bytes."""
    data = svg.encode("utf-8")
    if fmt == "svg":
        return data
    from .drawing.convert import convert

    return convert(data, fmt)


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``steps`` and ``worksheet`` subcommands to the command line's parser."""
    p = sub.add_parser("steps", help="backprop step by step: numbered SVG frames or an HTML page")
    common(p)
    p.add_argument("-o", "--out", metavar="FOLDER/ | FILE.html",
                   help="a folder for the frames (step-01.svg, ...), or an .html file")
    p.add_argument("--format", choices=STEP_FORMATS,
                   help="svg: one frame per step (default); html: one self-contained page")
    _drawing_options(p)
    p.set_defaults(func=run_steps)

    p = sub.add_parser("worksheet", help="a printable worksheet: gradients or values to fill in")
    common(p)
    p.add_argument("-o", "--out", metavar="FILE", help="output file: .svg, .pdf or .png")
    p.add_argument("--format", choices=SHEET_FORMATS, help="output format (default: the suffix)")
    p.add_argument("--blank", choices=("gradients", "values"), default="gradients",
                   help="what to leave as boxes to fill in (default: gradients)")
    p.add_argument("--answers", action="store_true", help="the answer key: every box filled in")
    p.add_argument("--seed", type=int, metavar="N",
                   help="pick small integer inputs with this seed (the same seed, the same "
                        "sheet); --at still fixes the inputs it names")
    p.add_argument("--paper", choices=("a4", "letter"), default="a4",
                   help="page size (default: a4); the page turns to suit the graph")
    _drawing_options(p, theme=False)
    p.set_defaults(func=run_worksheet)


def _drawing_options(p: argparse.ArgumentParser, theme: bool = True) -> None:
    p.add_argument("--rankdir", choices=("LR", "TB", "BT", "RL"), default="LR",
                   help="layout direction (default: LR)")
    if theme:
        p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument("--label-anonymous", action="store_true",
                   help="label anonymous intermediates 'o'")
    p.add_argument("--title", help="a title for the frames, page or sheet")


def _stem(args: argparse.Namespace, graph: Graph) -> str:
    if args.program != "-" and os.path.isfile(args.program):
        return Path(args.program).stem
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in graph.output_name) or "graph"


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"rankdir": args.rankdir, "label_anonymous": args.label_anonymous}
    if getattr(args, "theme", None):
        options["theme"] = args.theme
    return options


def run_steps(args: argparse.Namespace) -> int:
    from . import cli
    from .drawing.stepper import Stepper
    from .steps import walkthrough

    graph, values = cli.load(args)
    cli.warn_nonfinite(values)
    fmt = args.format
    out = args.out
    if fmt is None:
        fmt = "html" if out is not None and out.lower().endswith((".html", ".htm")) else "svg"
    if out is None:
        out = f"{_stem(args, graph)}-steps" + (".html" if fmt == "html" else "/")
        print(f"note: no -o given, writing {out}", file=sys.stderr)
    if fmt == "svg":
        target = Path(out)
        if target.suffix.lower() in (".svg", ".html", ".htm", ".png", ".pdf") or target.is_file():
            raise cli.UsageError(f"-o {out}: the frames go into a folder (one SVG per step), "
                                 "e.g. -o frames/; for one page give -o FILE.html")
    elif not out.lower().endswith((".html", ".htm")):
        raise cli.UsageError(f"-o {out}: the HTML stepper is one file; name it FILE.html")
    stepper = Stepper(walkthrough(graph, values), title=args.title, **_options(args))
    if fmt == "html":
        print(stepper.write_html(out))
    else:
        for path in stepper.write_frames(out):
            print(path)
    return cli.EXIT_OK


def load_for_sheet(args: argparse.Namespace) -> tuple[Graph, Values]:
    """Like the other commands' loading, but ``--seed`` fills in the inputs ``--at`` and
    ``--inputs`` leave out."""
    from . import cli
    from .steps import friendly_inputs

    if args.seed is None:
        return cli.load(args)
    graph = parse(cli.read_program(args.program), output=args.output)
    given = {**cli.read_inputs(args.inputs), **cli.parse_at(args.at)}
    return graph, evaluate(graph, friendly_inputs(graph, args.seed, given))


def run_worksheet(args: argparse.Namespace) -> int:
    from . import cli
    from .drawing.files import write_atomic
    from .drawing.worksheet import worksheet_svg
    from .steps import walkthrough

    fmt = args.format
    if args.out is not None and fmt is None:
        suffix = Path(args.out).suffix.lstrip(".").lower()
        if suffix not in SHEET_FORMATS:
            raise cli.UsageError(f"cannot tell the format of {args.out!r} from its suffix; "
                                 "use .svg, .pdf or .png, or give --format")
        fmt = suffix
    graph, values = load_for_sheet(args)
    cli.warn_nonfinite(values)
    fmt = fmt or "svg"
    out = args.out
    if out is None:
        out = f"{_stem(args, graph)}-worksheet{'-answers' if args.answers else ''}.{fmt}"
        print(f"note: no -o given, writing {out}", file=sys.stderr)
    svg = worksheet_svg(walkthrough(graph, values), blank=args.blank, answers=args.answers,
                        paper=args.paper, title=args.title, **_options(args))
    print(write_atomic(out, _encoded(svg, fmt)))
    return cli.EXIT_OK


# --- render --view diff ---------------------------------------------------------------------------

def add_diff_options(p: argparse.ArgumentParser) -> None:
    """The ``render`` options of the ``diff`` view."""
    p.add_argument("--against", action="append", metavar="NAME=VALUE",
                   help="diff view: the point to compare with (inputs not named keep their "
                        "--at values)")
    p.add_argument("--train-step", type=float, metavar="RATE",
                   help="diff view: compare one step of gradient descent from --at (at this "
                        "learning rate) with --at itself")
    p.add_argument("--train", metavar="NAMES",
                   help="with --train-step: the inputs the step moves, comma-separated "
                        "(default: every input)")


def run_diff(args: argparse.Namespace) -> int:
    from . import cli
    from .differentiate import backward
    from .drawing.files import write_atomic
    from .drawing.diff import diff_svg
    from .steps import training_step

    if (args.against is None) == (args.train_step is None):
        raise cli.UsageError("the diff view compares two evaluations: give --against "
                             "NAME=VALUE (the point to compare with) or --train-step RATE "
                             "(one step of gradient descent from --at), one of them")
    if args.train is not None and args.train_step is None:
        raise cli.UsageError("--train names the inputs a --train-step moves; give --train-step RATE")
    fmt = args.format
    if args.out is not None and fmt is None:
        fmt = Path(args.out).suffix.lstrip(".").lower()
    if fmt is not None and fmt not in SHEET_FORMATS:
        raise cli.UsageError(f"the diff view is drawn as SVG (or PDF or PNG made from it), not "
                             f"{fmt!r}: its marks are added to the drawing; use .svg, .pdf or .png")
    graph, values = cli.load(args)
    cli.warn_nonfinite(values)
    if not isinstance(values.output, float):
        raise cli.InputError(f"the diff view needs a scalar output and {graph.output_name} has "
                             f"shape {values.output.shape}; choose one with --output or wrap "
                             "it in sum(...)")
    if args.train_step is not None:
        names = [n.strip() for n in args.train.split(",") if n.strip()] if args.train else None
        reference = values
        values = evaluate(graph, training_step(graph, values, args.train_step, names))
    else:
        reference = evaluate(graph, {**values.inputs, **cli.parse_at(args.against)})
    cli.warn_nonfinite(reference)
    title = args.title
    if args.train_step is not None and title is None:
        title = f"after one training step (rate {args.train_step:g})"
    svg = diff_svg(values, backward(graph, values), reference, backward(graph, reference),
                   title=title, rankdir=args.rankdir, theme=args.theme,
                   label_anonymous=args.label_anonymous, costs=args.cost,
                   prune=getattr(args, "output", None) is not None)
    fmt = fmt or "svg"
    out = args.out
    if out is None:
        out = f"{_stem(args, graph)}-diff.{fmt}"
        print(f"note: no -o given, writing {out}", file=sys.stderr)
    print(write_atomic(out, _encoded(svg, fmt)))
    return cli.EXIT_OK
