"""Benchmark of the explaining commands, each against reverse mode on the same graph.

Run by hand (never a timed test)::

    python bench/bench_explain.py

Rows (best of several repeats; ratios against ``backward`` run in the same process):

- counting paths by dynamic programming, and listing them, on a long chain and on a
  doubling ladder (``h = h + h``: 2**k paths, counted at once, listed up to the limit);
- the non-finite report ``eval --json`` adds (a pass over values, with and without a NaN);
- the trace table's rows;
- the node-by-node check (``check_nodes``) against the inputs-only check (``gradient_check``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import compgraph as cg  # noqa: E402
from compgraph.differentiate import gradient_check  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def best(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(name: str, seconds: float, baseline: float) -> None:
    print(f"{name:58s} {seconds * 1e3:10.2f} ms   {seconds / baseline:8.2f} × backward")


def main() -> None:
    chain = cg.parse("h = x\n" + "h = tanh(h)*0.9 + 0.01\n" * 20_000)
    values = cg.evaluate(chain, x=0.3)
    base = best(lambda: cg.backward(chain, values))
    print(f"chain of 20,000 statements ({len(chain.nodes):,} nodes): backward "
          f"{base * 1e3:.2f} ms")
    row("count_paths (dynamic programming)", best(lambda: cg.count_paths(chain, 0)), base)
    row("paths (1 path of 60,000 edges, listed)", best(lambda: cg.paths(chain, values, "x")), base)
    # Values and Gradients remember their non-finite scan, so time it with a fresh sweep.
    row("backward, then find_nonfinite (all finite)", best(lambda: cg.find_nonfinite(
        chain, values, cg.backward(chain, values))), base)
    bad = cg.evaluate(chain, x=float("nan"))
    row("find_nonfinite, NaN from the input on (path of 100,001 nodes)",
        best(lambda: cg.find_nonfinite(chain, bad)), base)
    row("trace rows", best(lambda: cg.trace(chain, values)), base)

    ladder = cg.parse("h = x + x\n" + "h = h*0.5 + h*0.5\n" * 12)  # 2 * 2**12 paths
    lv = cg.evaluate(ladder, x=1.0)
    lbase = best(lambda: cg.backward(ladder, lv), 50)
    n = cg.count_paths(ladder, 0)
    print(f"\nladder of 13 statements, {n:,} paths: backward {lbase * 1e6:.1f} µs")
    row("count_paths", best(lambda: cg.count_paths(ladder, 0), 50), lbase)
    row(f"paths (all {n:,} listed)", best(lambda: cg.paths(ladder, lv, "x")), lbase)
    big = cg.parse("h = x + x\n" + "h = h + h\n" * 200)  # 2**201 paths: counted only
    bv = cg.evaluate(big, x=1.0)
    row("count_paths with 2**201 paths (the refusal's count)",
        best(lambda: cg.count_paths(big, 0)), best(lambda: cg.backward(big, bv)))

    for stem in ("homework-graph", "two-layer-net"):
        g = cg.parse((ROOT / "examples" / f"{stem}.cg").read_text(encoding="utf-8"))
        v = cg.evaluate(g)
        gb = best(lambda: cg.backward(g, v), 20)
        inputs = best(lambda: gradient_check(g, v), 3)
        nodes = best(lambda: cg.check_nodes(g, v), 3)
        print(f"\n{stem}: backward {gb * 1e6:.1f} µs")
        row("gradient_check (inputs only)", inputs, gb)
        row(f"check_nodes ({len(cg.check_nodes(g, v))} nodes)", nodes, gb)
        print(f"{'check_nodes / gradient_check':58s} {nodes / inputs:10.2f} ×")


if __name__ == "__main__":
    main()
