"""Rendering benchmark: building the DOT versus Graphviz layout, per view and size.

Run by hand (never a timed test)::

    python bench/bench_render.py              # N = 100, 300, 1000; about 3 minutes
    python bench/bench_render.py --quick      # N = 100, 300 and a 10 s cap on dot
    python bench/bench_render.py --full       # also dot's best layout of every view at every N

The workload is the engine benchmark's seeded straight-line program (``make_program`` in
``bench_engine.py``: ``v = 0.5*(p + q)``, ``v = p * q`` or ``v = relu(p) - 0.5*q`` over
earlier names, inputs in [-1, 1]). For each size and view it prints the time to build the
DOT (``to_dot``), the SVG layout time with the layout compgraph picks (``auto``), the build
time as a share of that, and the time of ``dot``'s best-looking layout, capped (``> cap``
when the cap was hit). Targets from issue 3: build under 5 % of layout, and a
1,000-statement render under 10 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import make_program  # noqa: E402

import compgraph as cg  # noqa: E402
from compgraph.drawing import to_dot  # noqa: E402
from compgraph.drawing.dshape import dshape_svg  # noqa: E402

VIEWS = ("forward", "backward", "both", "tangent")
TARGET_SECONDS = 10.0
TARGET_BUILD_SHARE = 0.05


def layout_seconds(dot, cap: float) -> float | None:
    """Wall time of Graphviz drawing ``dot`` as SVG (plus the D-shape pass); None past ``cap``."""
    cmd = [dot.engine, "-Tsvg"]
    if getattr(dot, "neato_no_op", None):
        cmd.append(f"-n{dot.neato_no_op}")
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, input=dot.source.encode("utf-8"), capture_output=True,
                             timeout=cap, check=True).stdout
    except subprocess.TimeoutExpired:
        return None
    dshape_svg(out.decode("utf-8"))
    return time.perf_counter() - start


def fmt(seconds: float | None, cap: float) -> str:
    return f"> {cap:.0f} s" if seconds is None else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100, 300; cap dot at 10 s")
    parser.add_argument("--full", action="store_true",
                        help="measure dot's best layout for every view at every N")
    parser.add_argument("--cap", type=float, default=None, help="seconds allowed to dot")
    args = parser.parse_args(argv)
    if not shutil.which("dot"):
        print("needs the Graphviz dot binary (apt-get install graphviz)")
        return 1
    sizes = [100, 300] if args.quick else [100, 300, 1000]
    cap = args.cap or (10.0 if args.quick else 30.0)

    print(f"{'N':>5} {'view':<9} {'edges':>6} {'layout':<6} {'build':>8} {'layout':>9} "
          f"{'build %':>8} {'total':>8} {'dot best':>9}")
    worst_total = 0.0
    worst_share = 0.0
    for n in sizes:
        source, _, point = make_program(n)
        graph = cg.parse(source)
        values = cg.evaluate(graph, **point)
        grads = cg.backward(graph, values)
        tangents = cg.tangents(graph, values, wrt="x")
        for view in VIEWS:
            start = time.perf_counter()
            dot = to_dot(graph, view, values, grads, tangents)
            build = time.perf_counter() - start
            edges = sum(len(node.operands) + 1 for node in graph.nodes if node.kind == "op")
            layout = layout_seconds(dot, max(cap, 120.0))
            chosen = "fast" if dot.note else "best"
            best: float | None
            # dot's own layout is what "auto" already used below the threshold.
            if chosen == "best":
                best = layout
            elif args.full or view == "backward":
                best = layout_seconds(to_dot(graph, view, values, grads, tangents,
                                             layout="best"), cap)
            else:
                best = float("nan")
            total = build + (layout or float("inf"))
            worst_total = max(worst_total, total if n >= 1000 else 0.0)
            share = build / layout if layout else float("inf")
            worst_share = max(worst_share, share)
            best_text = "-" if best != best else fmt(best, cap)
            print(f"{n:>5} {view:<9} {edges:>6} {chosen:<6} {build:>7.3f}s "
                  f"{fmt(layout, 120):>9} {100 * share:>7.1f}% {total:>7.2f}s {best_text:>9}")
    if not args.quick:
        ok = worst_total < TARGET_SECONDS
        print(f"\n1,000 statements, slowest view: {worst_total:.2f} s "
              f"(target < {TARGET_SECONDS:.0f} s): {'met' if ok else 'NOT met'}")
    print(f"largest build share of layout: {100 * worst_share:.1f} % "
          f"(target < {100 * TARGET_BUILD_SHARE:.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
