"""The ``paths`` command: the gradient of the output with respect to one variable, written
out as a sum over the paths between them (``compgraph.paths``)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from .pathsum import MAX_PATHS, Path, PathSum, paths

ARROW = " → "

ARRAY_NOTE = ("array program: a local derivative here is a Jacobian, so each path shows the "
              "vector–Jacobian product it carries back from the output; 'carried' lists what "
              "reaches each node of the path, and the product is what reaches the first")


def add_parser(sub: Any, common: Callable[..., None]) -> None:
    """Register ``paths`` on the command line's subparsers."""
    p = sub.add_parser("paths", help="the gradient as a sum over paths, one product per path")
    common(p)
    p.add_argument("--wrt", metavar="NAME", required=True,
                   help="the variable the paths start from (an input or a named variable)")
    p.add_argument("--max-paths", type=_positive, default=MAX_PATHS, metavar="N",
                   help=f"refuse to list more paths than this (default {MAX_PATHS:,})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return n


def as_json(result: PathSum) -> dict[str, Any]:
    """The JSON document of a path sum (numbers and arrays through ``cli.to_json``)."""
    from .cli import to_json

    scalar = result.scalar
    items = []
    for p in result.paths:
        item: dict[str, Any] = {"nodes": result.titles(p),
                                "factors": [to_json(f) for f in p.factors],
                                "product": to_json(p.product)}
        if not scalar:
            item["carried"] = [to_json(c) for c in p.carried]
        items.append(item)
    doc: dict[str, Any] = {"output": result.output, "wrt": result.wrt, "count": len(items),
                           "paths": items, "total": to_json(result.total)}
    if not scalar:
        doc["note"] = ARRAY_NOTE
    return doc


def describe(result: PathSum, p: Path, width: int = 0) -> str:
    """``x → x*y → a → a*b → w   3 × 1 × 28 × 1 = 84`` (scalars), or the path alone; the
    route is padded to ``width`` so that the products line up."""
    from .cli import fmt

    route = ARROW.join(result.titles(p)).ljust(width)
    if any(f is None for f in p.factors):
        return route
    if not p.factors:
        return f"{route}   (the output itself) 1"
    return f"{route}   {' × '.join(fmt(f) for f in p.factors)} = {fmt(p.product)}"


def run(args: argparse.Namespace) -> int:
    from . import cli

    graph, values = cli.load(args)
    cli.warn_nonfinite(values)
    result = paths(graph, values, args.wrt, max_paths=args.max_paths)
    if args.json:
        cli.print_json(as_json(result))
        return cli.EXIT_OK
    out, wrt, n = result.output, result.wrt, len(result.paths)
    if not n:
        print(f"{wrt} does not reach {out}: no paths, ∂{out}/∂{wrt} = {cli.fmt(result.total)}")
        return cli.EXIT_OK
    plural = "path" if n == 1 else "paths"
    width = max(len(ARROW.join(result.titles(p))) for p in result.paths)
    if result.scalar:
        print(f"∂{out}/∂{wrt} as a sum over {n} {plural} (the local derivatives along each, "
              "multiplied):")
        for p in result.paths:
            print(f"  {describe(result, p, width)}")
    else:
        print(f"∂{out}/∂{wrt} as a sum over {n} {plural}; arrays: each path carries a "
              f"vector–Jacobian product back from {out}, and what reaches {wrt} is shown:")
        for p in result.paths:
            print(f"  {describe(result, p)}")
            for line in cli.fmt(p.product).splitlines():
                print(f"    {line}")
    total = cli.fmt(result.total).splitlines()
    print(f"total ∂{out}/∂{wrt} = {total[0]}")
    for line in total[1:]:
        print(f"{' ' * len(f'total ∂{out}/∂{wrt} = ')}{line}")
    return cli.EXIT_OK
