"""The command line: ``python -m compgraph eval|render|jacobian|plot|backprop|train PROGRAM
[options]`` (backprop and train live in ``compgraph.commands``).

Every failure is one short message on standard error (with the caret excerpt for a bad
program), never a traceback: exit 2 for bad usage or a bad program, 1 for an evaluation or
rendering failure, 0 on success.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from typing import Any, Sequence

import numpy as np

from .differentiate import backward, check_gradients, jacobian
from .errors import (CompgraphError, EvaluationError, InputError, ParseError, RenderError,
                     ShapeWarning)
from .evaluate import Values, evaluate
from .graph import Graph
from .parser import parse

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(CompgraphError, ValueError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, as for every other mistake
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --- shared option handling -------------------------------------------------------------

def read_program(arg: str) -> str:
    """PROGRAM is ``-`` (standard input), a path to a file, or the program text itself."""
    if arg == "-":
        return sys.stdin.read()
    if "\n" not in arg and len(arg) < 4096 and os.path.isfile(arg):
        try:
            with open(arg, encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {arg}: {exc}") from None
    if arg.endswith((".cg", ".txt")) and "=" not in arg and "(" not in arg:
        raise UsageError(f"no such file: {arg}")
    return arg


def _split_top_level(text: str) -> list[str]:
    """Split ``x=1,W=[[1,2],[3,4]]`` on the commas outside brackets."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _number_or_json(name: str, text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise UsageError(f"--at {name}={text}: the value must be a number or a JSON array "
                         f"such as [1, 2] or [[1, 2], [3, 4]]") from None


def parse_at(items: Sequence[str] | None) -> dict[str, Any]:
    """``--at x=2,y=3 --at W=[[1,2],[3,4]]`` as a mapping of names to raw values."""
    out: dict[str, Any] = {}
    for item in items or ():
        for part in _split_top_level(item):
            name, sep, text = part.partition("=")
            if not sep or not name.strip():
                raise UsageError(f"--at {part}: write NAME=VALUE, e.g. --at x=2,y=3")
            out[name.strip()] = _number_or_json(name.strip(), text.strip())
    return out


def read_inputs(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise UsageError(f"--inputs {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"--inputs {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--inputs {path}: expected one JSON object mapping input names to "
                         "numbers or nested lists")
    return data


def load(args: argparse.Namespace) -> tuple[Graph, Values]:
    """Parse PROGRAM, pick the output, evaluate at the given point."""
    graph = parse(read_program(args.program), output=getattr(args, "output", None))
    point = {**read_inputs(args.inputs), **parse_at(args.at)}
    return graph, evaluate(graph, point, strict=getattr(args, "strict_shapes", False))


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
    graph, values = load(args)
    warn_nonfinite(values)
    grads = None
    if not isinstance(values.output, np.ndarray):
        grads = backward(graph, values)
        warn_nonfinite(grads)
    elif not args.json:
        print(f"note: {graph.output_name} has shape {values.output.shape}; gradients need a "
              "scalar output (use 'jacobian', or sum(...))", file=sys.stderr)
    if args.json:
        doc = {
            "output": graph.output_name,
            "value": to_json(values.output),
            "values": {k: to_json(v) for k, v in values.items()},
            "gradients": None if grads is None else {k: to_json(v) for k, v in grads.items()},
        }
        print(json.dumps(doc, ensure_ascii=False))
        return EXIT_OK
    check = check_gradients(graph, values.inputs) if args.check and grads is not None else {}
    rows = [("name", "value", "gradient", "numeric" if check else "")]
    for name in values:
        numeric = fmt(check[name][1]) if name in check else ""
        rows.append((name, fmt(values[name]), fmt(grads[name]) if grads else "", numeric))
    print(f"{graph.output_name} = {fmt(values.output)}")
    _table(rows)
    if check:
        worst = max(gap for _, _, gap in check.values())
        print(f"numeric check (central differences): largest gap {worst:.3g}")
    return EXIT_OK


def _table(rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest line; a cell with several lines (a matrix) makes
    its row that tall."""
    cols = [c for c in range(len(rows[0])) if any(r[c] for r in rows)]
    cells = [[r[c].split("\n") for c in cols] for r in rows]
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
        print(json.dumps({"output": graph.output_name, "wrt": args.wrt, "shape": shape,
                          "jacobian": to_json(jac)}, ensure_ascii=False))
    else:
        print(f"d{graph.output_name}/d{args.wrt}  shape {tuple(shape)}")
        print(fmt(jac) if np.ndim(jac) else fmt(jac))
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from .render_cli import run_render

    return run_render(args, load)


def cmd_plot(args: argparse.Namespace) -> int:
    from .plot import run_plot

    return run_plot(args, read_program)


# --- argument parsing ----------------------------------------------------------------------

def _common(p: argparse.ArgumentParser, output: bool = True) -> None:
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
        p.add_argument("--output", metavar="NAME", help="the variable to treat as the output")


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = _Parser(prog="compgraph",
                     description="Build, evaluate, differentiate and draw computational graphs.")
    parser.add_argument("--version", action="version", version=f"compgraph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("eval", help="print values and gradients")
    _common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--check", action="store_true",
                   help="compare each gradient with central differences")
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
    _common(p)
    p.add_argument("-o", "--out", metavar="FILE", help="output file; the format is its suffix")
    p.add_argument("--format", choices=("svg", "png", "pdf", "dot"),
                   help="output format (dot without -o prints to standard output)")
    p.add_argument("--view", default="forward",
                   choices=("forward", "backward", "both", "tangent", "diff"),
                   help="what to draw (default: forward); diff: against another evaluation")
    p.add_argument("--wrt", metavar="NAME", help="the input whose tangents the tangent view shows")
    p.add_argument("--edge-labels", choices=("gradient", "local", "both"), default="gradient",
                   help="backward view: what gradient edges show (default: gradient)")
    p.add_argument("--rankdir", choices=("LR", "TB", "BT", "RL"), default="LR",
                   help="layout direction (default: LR)")
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
    p.add_argument("--open", action="store_true", dest="open_viewer",
                   help="open the written file with the system viewer")
    from .steps_cli import add_diff_options

    add_diff_options(p)
    p.set_defaults(func=cmd_render)

    from .steps_cli import register as register_steps  # steps, worksheet

    register_steps(sub, _common)

    p = sub.add_parser("plot", help="plot one-input functions and their derivatives")
    p.add_argument("programs", nargs="+", metavar="PROGRAM",
                   help='one-input programs such as "tanh(x)" or "leaky_relu(x, 0.1)"')
    p.add_argument("-o", "--out", metavar="FILE", help="output image (svg, png, pdf)")
    p.add_argument("--range", default="-4,4", metavar="LO,HI", help="x range (default -4,4)")
    p.add_argument("--points", type=int, default=801, help="samples (default 801)")
    p.add_argument("--derivative-only", action="store_true", help="draw only the derivatives")
    p.add_argument("--csv", action="store_true", help="print the sampled values as CSV")
    p.set_defaults(func=cmd_plot)

    from .commands import add_commands  # backprop and train

    add_commands(sub, _common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # `--range -2,2`: argparse would read "-2,2" as an option; glue it to its flag.
    for k in range(len(argv) - 1):
        if argv[k] == "--range" and argv[k + 1].startswith("-"):
            argv[k:k + 2] = [f"--range={argv[k + 1]}"]
            break
    try:
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            _show_warnings_once()
            return args.func(args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (ParseError, InputError, UsageError) as exc:
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
    except Exception as exc:  # a bug of ours: still no traceback for the user
        print(f"error: internal error ({type(exc).__name__}: {exc}); please report it",
              file=sys.stderr)
        return EXIT_FAILED


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
