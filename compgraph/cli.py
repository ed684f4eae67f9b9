"""The command line: ``python -m compgraph eval|render|jacobian|plot|backprop|train PROGRAM
[options]`` (backprop and train live in ``compgraph.commands``).

Every failure is one short message on standard error (with the caret excerpt for a bad
program), never a traceback: exit 2 for bad usage or a bad program, 1 for an evaluation or
rendering failure, 0 on success.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .cli_input import (UsageError, check_argv_text, check_point, parse_at, read_inputs,
                        read_program)
from .differentiate import backward, check_wrt, gradient_check, jacobian
from .errors import (CompgraphError, EvaluationError, InputError, OutputPathError, ParseError,
                     RenderError, ShapeWarning)
from .evaluate import Values, evaluate
from .graph import Graph
from .parser import parse

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

__all__ = ["UsageError", "main", "read_program", "build_parser"]


class _Parser(argparse.ArgumentParser):
    _adding = False

    def error(self, message: str) -> None:  # one line and exit 2, as for every other mistake
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        self._adding = True
        try:
            return super().add_argument(*args, **kwargs)
        finally:
            self._adding = False

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse checks each argument it adds (its metavar) with a help formatter, which
        # asks the terminal its width and loads shutil to do so; the check needs no width.
        if self._adding:
            return self.formatter_class(prog=self.prog, width=80)  # type: ignore[call-arg]
        return super()._get_formatter()


# --- shared option handling (what the user typed is read in cli_input) ------------------

def load(args: argparse.Namespace) -> tuple[Graph, Values]:
    """Parse PROGRAM, pick the output, evaluate at the given point."""
    graph = load_graph(args)
    return graph, evaluate_at(args, graph)


def load_graph(args: argparse.Namespace) -> Graph:
    """PROGRAM parsed, with ``--output`` as its output."""
    return parse(read_program(args.program), output=getattr(args, "output", None))


def evaluate_at(args: argparse.Namespace, graph: Graph) -> Values:
    """The graph evaluated at ``--inputs`` and ``--at`` (which overrides the file)."""
    point = {**read_inputs(args.inputs), **parse_at(args.at)}
    check_point(graph, point)
    return evaluate(graph, point, strict=getattr(args, "strict_shapes", False))


def warn_nonfinite(values: Values | Any) -> None:
    """The non-finite report of values or gradients (``Gradients``) as one warning line."""
    message = values.nonfinite_message()
    if message:
        print(f"warning: {message}", file=sys.stderr)


def to_json(v: Any) -> Any:
    """Numbers and arrays as JSON: nested lists, non-finite numbers as strings."""
    if isinstance(v, np.ndarray):
        return [to_json(x) for x in v.tolist()] if v.ndim else to_json(float(v))
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def fmt(v: Any) -> str:
    """A value for a terminal table (``-0`` is printed as ``0``); arrays may span lines.

    >>> fmt(-0.0), fmt(224.0), fmt(np.array([-0.0, 1.5]))
    ('0', '224', '[0, 1.5]')
    """
    if isinstance(v, np.ndarray):
        return np.array2string(v + 0.0, precision=6, suppress_small=True, separator=", ",
                               max_line_width=72, formatter={"float_kind": _short})
    return f"{float(v) + 0.0:.10g}"


def _short(x: float) -> str:
    return f"{float(x) + 0.0:.6g}"


# --- commands ----------------------------------------------------------------------------

def cmd_eval(args: argparse.Namespace) -> int:
    graph = load_graph(args)
    wrt = None
    if args.wrt is not None:
        wrt, _ = check_wrt(graph, [n.strip() for n in args.wrt.split(",") if n.strip()],
                           "--wrt")
    values = evaluate_at(args, graph)
    warn_nonfinite(values)
    grads = None
    if not isinstance(values.output, np.ndarray):
        grads = backward(graph, values, wrt=wrt)
        warn_nonfinite(grads)
    elif not args.json or args.check:
        what = "gradients and the numeric check need" if args.check else "gradients need"
        print(f"note: {graph.output_name} has shape {values.output.shape}; {what} a "
              "scalar output (use 'jacobian', or sum(...))", file=sys.stderr)
    check = gradient_check(graph, values, grads) if args.check and grads is not None else None
    if args.json:
        doc = {
            "output": graph.output_name,
            "value": to_json(values.output),
            "values": {k: to_json(v) for k, v in values.items()},
            "gradients": None if grads is None else {k: to_json(v) for k, v in grads.items()},
        }
        if wrt is not None:
            doc["wrt"] = list(wrt)
        if args.check:
            doc["check"] = None if check is None else {
                name: {"numeric": to_json(c["numeric"]),
                       "relative_error": to_json(c["relative_error"]),
                       "verdict": c["verdict"]} for name, c in check.items()}
        from .nonfinite import find_nonfinite

        report = find_nonfinite(graph, values, grads)
        if report is not None:  # where a NaN or an infinity was born, and how it travelled
            doc["nonfinite"] = report.as_dict()
        print_json(doc)
        return EXIT_OK
    rows = [("name", "value", "gradient", "numeric" if check else "", "check" if check else "")]
    for name in values:
        c = check.get(name) if check and graph.latest[name] in graph.inputs else None
        rows.append((name, fmt(values[name]), fmt(grads[name]) if grads and name in grads else "",
                     fmt(c["numeric"]) if c else "", c["verdict"] if c else ""))
    print(f"{graph.output_name} = {fmt(values.output)}")
    _table(rows)
    if check:
        compared = [c["relative_error"] for c in check.values() if c["verdict"] != "undefined"]
        worst = max(compared, key=lambda e: (e != e, e), default=None)
        odd = [f"{c['verdict']} at {name}" for name, c in check.items() if c["verdict"] != "ok"]
        said = ("nothing could be compared" if worst is None
                else f"largest relative error {worst:.3g}")
        why = ("" if all(c["verdict"] != "undefined" for c in check.values()) else
               " (undefined: central differences are NaN there, as is the gradient or the "
               "output itself, so nothing was compared)")
        print(f"numeric check (central differences, step scaled with |x|): {said}"
              + (f"; {', '.join(odd)}" if odd else "") + why)
    return EXIT_OK


def shown(text: str) -> str:
    """``text`` as the terminal will show it: characters its encoding lacks escaped
    (``\\u03b1``), so that columns line up on a cp1252 or ASCII terminal too."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text


def print_json(doc: Any) -> None:
    """One JSON object on one line: UTF-8 text where standard output can show it, ASCII
    escapes (``\\u03b1``, still the same JSON) where it cannot."""
    import json  # here: only --json prints it

    text = json.dumps(doc, ensure_ascii=False)
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(doc)
    print(text)


def _table(rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest line; a cell with several lines (a matrix) makes
    its row that tall."""
    cols = [c for c in range(len(rows[0])) if any(r[c] for r in rows)]
    cells = [[shown(r[c]).split("\n") for c in cols] for r in rows]
    widths = [max(len(line) for row in cells for line in row[k]) for k in range(len(cols))]
    for row in cells:
        for h in range(max(len(cell) for cell in row)):
            parts = [(cell[h] if h < len(cell) else "").ljust(w) for cell, w in zip(row, widths)]
            print("  ".join(parts).rstrip())


def cmd_jacobian(args: argparse.Namespace) -> int:
    graph, values = load(args)
    warn_nonfinite(values)
    if args.wrt is None:
        raise UsageError(f"--wrt is required; the variables are: {', '.join(graph.latest)}")
    jac = jacobian(graph, args.wrt, values=values, mode=args.mode, matrix=args.matrix)
    shape = list(np.shape(jac))
    if args.json:
        print_json({"output": graph.output_name, "wrt": args.wrt, "shape": shape,
                    "jacobian": to_json(jac)})
    else:
        print(f"d{graph.output_name}/d{args.wrt}  shape {tuple(shape)}")
        print(fmt(jac) if np.ndim(jac) else fmt(jac))
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from .render_cli import run_render

    return run_render(args)


def cmd_plot(args: argparse.Namespace) -> int:
    from .plot import run_plot

    return run_plot(args, lambda arg: read_program(arg, expression_ok=True))


# --- argument parsing ----------------------------------------------------------------------

def _common(p: argparse.ArgumentParser, output: bool = True,
            output_help: str = "the variable to treat as the output") -> None:
    p.add_argument("program", metavar="PROGRAM",
                   help="program text, a path to a file, or - for standard input")
    p.add_argument("--at", action="append", metavar="NAME=VALUE",
                   help="input values, repeatable or comma-separated; VALUE is a number or a "
                        "JSON array (--at x=2,y=3 --at W=[[1,2],[3,4]])")
    p.add_argument("--inputs", metavar="FILE.json", help="a JSON object of input values")
    p.add_argument("--strict-shapes", action="store_true",
                   help="make an outer broadcast (an elementwise result larger than both "
                        "operands, such as (3, 1) + (3,)) an error instead of a warning")
    if output:
        p.add_argument("--output", metavar="NAME", help=output_help)


class _Skipped:
    """The parser of a command that is not being run: takes every call and builds nothing."""

    def __getattr__(self, name: str) -> Callable[..., _Skipped]:
        return lambda *args, **kwargs: self


class _Commands:
    """The sub-command parsers, all of them or only the one about to run (``only``): argparse
    checks every argument it adds with a help formatter, and one run of the command line
    needs one command's arguments (the others' modules are not even imported)."""

    def __init__(self, action: Any, only: str | None) -> None:
        self.action, self.only, self.found = action, only, False

    def wants(self, *names: str) -> bool:
        return self.only is None or self.only in names

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if not self.wants(name):
            return _Skipped()
        self.found = True
        return self.action.add_parser(name, **kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, a command's name, the parser of that
    command alone (the whole one when there is no such command, for its error message)."""
    from .version import __version__

    parser = _Parser(prog="compgraph",
                     description="Build, evaluate, differentiate and draw computational graphs.")
    parser.add_argument("--version", action="version", version=f"compgraph {__version__}")
    # prog given, as argparse would make it (from a help formatter: see _Parser)
    action = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                   prog="compgraph")
    action.required = True
    sub = _Commands(action, only)

    p = sub.add_parser("eval", help="print values and gradients")
    _common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--check", action="store_true",
                   help="compare each gradient with central differences")
    p.add_argument("--wrt", metavar="NAME,...",
                   help="compute only these gradients (e.g. W1,b1): the others are not "
                        "computed, and the gradients shown are these and those of the "
                        "variables between them and the output")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("jacobian", help="print d(output)/d(variable) for any shapes")
    _common(p)
    p.add_argument("--wrt", metavar="NAME",
                   help="the variable to differentiate with respect to: an input, or any "
                        "variable the output depends on (the graph is cut there)")
    p.add_argument("--matrix", action="store_true",
                   help="print it as a matrix: a row per output element, a column per "
                        "element of --wrt (a scalar output gives one row)")
    p.add_argument("--mode", choices=("forward", "reverse"),
                   help="forward or reverse mode (default: the one with fewer sweeps)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_jacobian)

    p = sub.add_parser("render", help="draw the graph (svg, png, pdf, dot)")
    _common(p, output_help="draw this variable as the output, with only what it is computed "
                           "from (a part of a large program); default: the whole program")
    p.add_argument("-o", "--out", metavar="FILE", help="output file; the format is its suffix "
                   "(--view paths: a FOLDER/ gets one picture per path)")
    p.add_argument("--format", choices=("svg", "png", "pdf", "dot"),
                   help="output format (dot without -o prints to standard output)")
    p.add_argument("--view", default="forward",
                   choices=("forward", "backward", "both", "tangent", "diff", "paths", "check",
                            "heatmap"),
                   help="what to draw (default: forward); diff: against another evaluation; "
                        "paths, check and heatmap explain the gradient (docs/views.md)")
    p.add_argument("--wrt", metavar="NAME", help="the input whose tangents the tangent view "
                   "shows; the variable the paths view starts from")
    p.add_argument("--edge-labels", choices=("gradient", "local", "both"), default="gradient",
                   help="backward view: what gradient edges show (default: gradient)")
    p.add_argument("--rankdir", choices=("auto", "LR", "TB", "BT", "RL"), default="auto",
                   help="layout direction (default: auto, left to right or top-down, in "
                        "one or two rows, whichever fits a 16:9 slide best)")
    p.add_argument("--max-grid", type=int, default=4, metavar="N",
                   help="draw vectors and matrices of at most N rows and columns as grids "
                        "of numbers, larger ones as shape and range (default: 4)")
    p.add_argument("--no-legend", action="store_true", help="leave out the legend")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument("--label-anonymous", action="store_true",
                   help="label anonymous intermediates 'o'")
    p.add_argument("--title", help="a title above the picture")
    p.add_argument("--cost", action="append", default=[], metavar="NAME",
                   help="draw this variable as a cost square (mse and bce always are)")
    p.add_argument("--layout", choices=("auto", "best", "fast"), default="auto",
                   help="Graphviz settings: best-looking, fast (fixed positions, for large "
                        "graphs), or auto (fast above a size, with a note)")
    p.add_argument("--no-values", action="store_true",
                   help="forward view: draw the structure only, without values")
    p.add_argument("--collapse", action="store_true",
                   help="draw each call of a function defined with def as one block "
                        "(linear₁), not its body")
    p.add_argument("--expand", action="append", default=[], metavar="NAME",
                   help="with --collapse, draw this call's body again (linear#2, or "
                        "linear for all its calls); repeatable")
    p.add_argument("--open", action="store_true", dest="open_viewer",
                   help="open the written file with the system viewer")
    from .steps_cli import add_diff_options

    add_diff_options(p)
    p.set_defaults(func=cmd_render)

    if sub.wants("steps", "worksheet"):
        from .steps_cli import register as register_steps

        register_steps(sub, _common)
    if sub.wants("paths"):
        from . import paths_cli

        paths_cli.add_parser(sub, _common)
    if sub.wants("table"):
        from . import table_cli

        table_cli.add_parser(sub, _common)

    p = sub.add_parser("plot", help="plot one-input functions and their derivatives")
    p.add_argument("programs", nargs="+", metavar="PROGRAM",
                   help='one-input programs such as "tanh(x)" or "leaky_relu(x, 0.1)"')
    p.add_argument("-o", "--out", metavar="FILE", help="output image (svg, png, pdf)")
    p.add_argument("--range", default="-4,4", metavar="LO,HI", help="x range (default -4,4)")
    p.add_argument("--points", type=int, default=801, help="samples (default 801)")
    p.add_argument("--derivative-only", action="store_true", help="draw only the derivatives")
    p.add_argument("--csv", action="store_true", help="print the sampled values as CSV")
    p.set_defaults(func=cmd_plot)

    if sub.wants("backprop", "train"):
        from .commands import add_commands

        add_commands(sub, _common)
    if only is not None and not sub.found:
        return build_parser()
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # `--range -2,2`: argparse would read "-2,2" as an option; glue it to its flag.
    for k in range(len(argv) - 1):
        if argv[k] == "--range" and argv[k + 1].startswith("-"):
            argv[k:k + 2] = [f"--range={argv[k + 1]}"]
            break
    _escape_what_the_terminal_cannot_show()
    try:
        check_argv_text(argv)
        command = argv[0] if argv and not argv[0].startswith("-") else None
        args = build_parser(command).parse_args(argv)
        # The non-finite report (warn_nonfinite) is the one message about NaN and inf;
        # NumPy's own RuntimeWarnings would repeat it, without saying where.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            _show_warnings_once()
            warnings.simplefilter("ignore", RuntimeWarning)
            return args.func(args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (ParseError, InputError, UsageError, OutputPathError) as exc:
        return _fail(exc, EXIT_USAGE)
    except (EvaluationError, RenderError) as exc:
        return _fail(exc, EXIT_FAILED)
    except CompgraphError as exc:
        return _fail(exc, EXIT_FAILED)
    except BrokenPipeError:  # `... | head`: the reader left, nothing went wrong
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file that cannot be written or read: say which, and why
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except MemoryError:
        print("error: out of memory (the inputs or the program are too large for this "
              "machine)", file=sys.stderr)
        return EXIT_FAILED
    except (ArithmeticError, ValueError) as exc:
        # A scalar rule that raised instead of giving inf or NaN (the engine's rules are
        # meant not to; this keeps a remaining one an ordinary message, not a bug report).
        if not isinstance(exc, ArithmeticError) and str(exc) != "math domain error":
            return _internal(exc)
        why = exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else exc
        print(f"error: arithmetic failed at these values ({why}): a value is too large "
              "or not finite", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug of ours: still no traceback for the user
        return _internal(exc)


def _internal(exc: Exception) -> int:
    print(f"error: internal error ({type(exc).__name__}: {exc}); please report it",
          file=sys.stderr)
    return EXIT_FAILED


def _escape_what_the_terminal_cannot_show() -> None:
    """On a terminal whose encoding cannot show a character (cp1252, ASCII: some Windows
    consoles and CI logs), print it escaped (``\\u03b1``) rather than fail. Files and
    ``--format dot`` are always UTF-8 and do not pass through here."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if (getattr(stream, "errors", None) == "strict" and encoding not in ("utf8", "")
                and hasattr(stream, "reconfigure")):
            stream.reconfigure(errors="backslashreplace")


def write_utf8(text: str) -> None:
    """Text for another program (DOT) to standard output as UTF-8, whatever the terminal's
    encoding."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def _show_warnings_once() -> None:
    """Inside ``warnings.catch_warnings()``: each of compgraph's warnings (a
    :class:`ShapeWarning`) as one ``warning: ...`` line on standard error, each text once
    (a gradient check evaluates the program many times). Other warnings are left to
    Python's own filters and display."""
    shown: set[str] = set()
    default = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if not issubclass(category, ShapeWarning):
            default(message, category, filename, lineno, file, line)
            return
        text = str(message)
        if text not in shown:
            shown.add(text)
            print(f"warning: {text}", file=sys.stderr)

    warnings.simplefilter("always", ShapeWarning)
    warnings.showwarning = show


def _fail(exc: Exception, code: int) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return code
