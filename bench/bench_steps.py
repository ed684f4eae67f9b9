"""Stepping benchmark: what frames, the HTML page and a worksheet cost over one drawing.

Run by hand (never a timed test)::

    python bench/bench_steps.py            # the homework graph and 10-, 30-, 60-statement programs

The baseline is one ``render --view both`` SVG of the same program (``to_dot`` and Graphviz),
timed in the same process. Every stepping product lays the graph out once and post-processes
that SVG, so the ratios say what the post-processing adds: frames (one SVG per step), the
HTML page (one inline drawing, whatever the step count), a worksheet. It also prints the
page's size, which grows with the drawing, not with the number of steps times the drawing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import make_program  # noqa: E402

import compgraph as cg  # noqa: E402
from compgraph.drawing import pipe, to_dot  # noqa: E402
from compgraph.drawing.stepper import Stepper  # noqa: E402
from compgraph.drawing.worksheet import worksheet_svg  # noqa: E402
from compgraph.steps import walkthrough  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    cases = [("homework", (ROOT / "examples" / "homework-graph.cg").read_text(), {})]
    for n in (10, 30, 60):
        text, _, point = make_program(n)
        cases.append((f"{n} statements", text, point))
    print(f"{'program':<16}{'steps':>6}{'both SVG (s)':>14}{'frames ×':>10}{'page ×':>9}"
          f"{'sheet ×':>9}{'page KB':>9}{'frames KB':>11}")
    for name, text, point in cases:
        g = cg.parse(text)
        values = cg.evaluate(g, {k: v for k, v in point.items() if k in g.input_names} or None)
        grads = cg.backward(g, values)
        base = best_of(lambda: pipe(to_dot(g, "both", values, grads, legend=False), "svg"))
        walk = walkthrough(g, values, grads)
        frames = best_of(lambda: Stepper(walk).frames(), repeat=1)
        page = best_of(lambda: Stepper(walk).html())
        sheet = best_of(lambda: worksheet_svg(walk))
        stepper = Stepper(walk)
        html_kb = len(stepper.html().encode()) / 1024
        frames_kb = sum(len(f.encode()) for f in stepper.frames()) / 1024
        print(f"{name:<16}{len(walk):>6}{base:>14.3f}{frames / base:>10.1f}{page / base:>9.2f}"
              f"{sheet / base:>9.2f}{html_kb:>9.0f}{frames_kb:>11.0f}")


if __name__ == "__main__":
    main()
