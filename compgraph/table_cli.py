"""The ``table`` command: the evaluation trace (``compgraph.trace``) as Markdown, CSV,
a LaTeX ``tabular`` for a handout, or JSON.

Columns: name (or the anonymous intermediate's program text), operator, operands, value,
tangent (forward mode along ``--wrt``), gradient (reverse mode, for a scalar output).
CSV always has all six columns, the header exactly ``name,op,operands,value,tangent,gradient``,
operands separated by ``; `` (a semicolon cannot occur inside an expression, a comma can)
and numbers at full precision (the shortest text that reads back as the same float);
Markdown and LaTeX leave out a column with nothing in it and round to 6 significant digits.

>>> print(csv_number(7.0), csv_number(0.1), csv_number([[1.0, -0.5]]), csv_number(float("nan")))
7 0.1 [[1, -0.5]] NaN
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # the command imports the tracing on use: start-up stays short
    from .tracing import Row

FORMATS = ("md", "csv", "tex", "json")
COLUMNS = ("name", "op", "operands", "value", "tangent", "gradient")
# LaTeX writes an array as a matrix up to this many entries, else as its shape.
TEX_MATRIX_ENTRIES = 16


def add_parser(sub: Any, common: Callable[..., None]) -> None:
    """Register ``table`` on the command line's subparsers."""
    p = sub.add_parser("table", help="the evaluation trace, one row per node (md, csv, tex, json)")
    common(p)
    p.add_argument("--wrt", metavar="NAME", help="add the tangents along this input (forward mode)")
    p.add_argument("--format", choices=FORMATS, default="md",
                   help="md (default), csv, tex (a LaTeX tabular) or json")
    p.set_defaults(func=run)


# --- numbers ---------------------------------------------------------------------------------

def _nested(v: Any, number: Callable[[float], str]) -> str:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return number(float(a))
    return "[" + ", ".join(_nested(x, number) for x in a) + "]"


def _exact(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    text = repr(x + 0.0)  # shortest round trip; -0.0 as 0
    return text[:-2] if text.endswith(".0") else text


def _short(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x + 0.0:.6g}"


def csv_number(v: Any) -> str:
    """A value at full precision; arrays as nested lists."""
    return "" if v is None else _nested(v, _exact)


def md_number(v: Any) -> str:
    return "" if v is None else _nested(v, _short)


def tex_number(v: Any) -> str:
    """A value in math mode: a ``bmatrix`` for a small array (amsmath), else its shape."""
    if v is None:
        return ""
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"${_tex_scalar(float(a))}$"
    if a.size > TEX_MATRIX_ENTRIES or a.ndim > 2:
        return "$" + r"\times ".join(map(str, a.shape)) + "$ array"
    rows = a.reshape(1, -1) if a.ndim == 1 else a
    body = r" \\ ".join(" & ".join(_tex_scalar(float(x)) for x in row) for row in rows)
    return rf"$\begin{{bmatrix}} {body} \end{{bmatrix}}$"


def _tex_scalar(x: float) -> str:
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    text = f"{x + 0.0:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}",
                "′": "$'$", "″": "$''$", "‴": "$'''$"}


def tex_text(s: str) -> str:
    r"""Text for a LaTeX cell, its special characters escaped and the primes of a second
    version (``c′``) as math primes (pdfLaTeX has no glyph for U+2032).

    >>> print(tex_text("b_2 & 50%"), tex_text("c′"))
    b\_2 \& 50\% c$'$
    """
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in s)


# --- formats -----------------------------------------------------------------------------------

def to_csv(rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow((r.name, r.op, "; ".join(r.operands), csv_number(r.value),
                         csv_number(r.tangent), csv_number(r.gradient)))
    return buffer.getvalue()


def _present(rows: Sequence[Row]) -> list[str]:
    """The columns with something in them (tangent only with --wrt, gradient for a scalar output)."""
    return [c for c in COLUMNS if c not in ("tangent", "gradient")
            or any(getattr(r, c) is not None for r in rows)]


def to_markdown(rows: Sequence[Row]) -> str:
    columns = _present(rows)

    def cell(r: Row, c: str) -> str:
        if c in ("value", "tangent", "gradient"):
            text = md_number(getattr(r, c))
        elif c == "operands":
            text = ", ".join(r.operands)
        else:
            text = getattr(r, c)
        # A pipe would end the cell; a backtick-free code span keeps * and _ literal.
        text = text.replace("|", "\\|")
        return f"`{text}`" if c in ("name", "op", "operands") and text else text

    lines = ["| " + " | ".join(columns) + " |",
             "| " + " | ".join("---:" if c in ("value", "tangent", "gradient") else "---"
                               for c in columns) + " |"]
    lines += ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def to_tex(rows: Sequence[Row]) -> str:
    columns = _present(rows)

    def cell(r: Row, c: str) -> str:
        if c in ("value", "tangent", "gradient"):
            return tex_number(getattr(r, c))
        if c == "operands":
            return ", ".join(tex_text(o) for o in r.operands)
        if c == "op":
            return r"\texttt{" + tex_text(r.op) + "}"
        return tex_text(getattr(r, c))

    spec = "".join("r" if c in ("value", "tangent", "gradient") else "l" for c in columns)
    lines = [f"% compgraph table: the evaluation trace; matrices need \\usepackage{{amsmath}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\hline",
             " & ".join(columns) + r" \\", r"\hline"]
    lines += [" & ".join(cell(r, c) for c in columns) + r" \\" for r in rows]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_json_doc(rows: Sequence[Row], output: str, wrt: str | None) -> dict[str, Any]:
    from .cli import to_json

    return {"output": output, "wrt": wrt, "rows": [
        {"name": r.name, "op": r.op, "operands": list(r.operands), "value": to_json(r.value),
         "tangent": to_json(r.tangent), "gradient": to_json(r.gradient)} for r in rows]}


def run(args: argparse.Namespace) -> int:
    from . import cli
    from .differentiate import backward, tangents
    from .tracing import trace

    graph, values = cli.load(args)
    cli.warn_nonfinite(values)
    grads = None
    if isinstance(values.output, np.ndarray):
        print(f"note: {graph.output_name} has shape {values.output.shape}; the gradient column "
              "needs a scalar output (choose one with --output, or sum(...))", file=sys.stderr)
    else:
        grads = backward(graph, values)
    tans = tangents(graph, values, args.wrt) if args.wrt else None
    rows = trace(graph, values, tangents=tans, grads=grads)
    if args.format == "csv":
        sys.stdout.write(to_csv(rows))
    elif args.format == "tex":
        sys.stdout.write(to_tex(rows))
    elif args.format == "json":
        cli.print_json(to_json_doc(rows, graph.output_name, args.wrt))
    else:
        sys.stdout.write(to_markdown(rows))
    return cli.EXIT_OK
