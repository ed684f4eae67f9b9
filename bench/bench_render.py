"""Rendering benchmark: the layout compgraph chooses, and what dot's own layout would cost.

Run by hand (never a timed test)::

    python bench/bench_render.py            # 7 shapes, N = 20 ... 300 and 1000; ~15 minutes
    python bench/bench_render.py --quick    # N = 20, 100, 1000, dot capped at 5 s
    python bench/bench_render.py --shapes horner,random --sizes 20,25,30
    python bench/bench_render.py --latency  # issue 13, target 1: the homework graph, every view
    python bench/bench_render.py --issue13  # issue 13, targets 1 and 5, each beside its target
    python bench/bench_render.py --calibrate  # the cost model's seconds per DOT element

Programs of several shapes (``SHAPES``), because dot's time depends on the shape far more
than on the number of edges:

- ``horner``: ``p0 = x``, then ``p_i = p_{i-1}*x + 1``: every statement reads x again, so
  x's edges span 2, 4, 6, ... ranks (dot draws each as a chain of virtual nodes);
- ``accumulate``: ``c = c*x + y`` repeated: two inputs read by every statement;
- ``random``: the engine benchmark's seeded program (``make_program`` in bench_engine.py),
  each statement reading a recent name and any earlier one (long-range fan-out);
- ``local``: seeded too, each statement reading two of the eight newest names;
- ``chain``: ``v_i = tanh(v_{i-1}) * 0.9``: long and thin;
- ``wide``: N statements on the inputs alone, then one sum of them all;
- ``tree``: a pairwise sum of N/2 leaves;
- ``mlp``: ``h_i = tanh(W @ h_{i-1} + b)`` layers, arrays (no labels on the wires).

For each shape, size and view it prints compgraph's estimate of dot's work (``dot_work``:
nodes including dot's virtual ones), the layout ``auto`` picks, the time of the whole
default render (DOT built, laid out, SVG finished) and the time of dot's best layout
(``> cap`` when it was stopped; not measured again for larger N once a smaller one was
over the cap). The summary gives the slowest default render (target: every one under
10 s up to 1,000 statements), and dot's times against its work, which set
``FAST_ABOVE_WORK`` in compgraph/drawing/layout.py. Times are seconds of wall clock on
this machine; compare rows within one run.

``--latency`` times ``python -m compgraph render examples/homework-graph.cg --view V -o
V.svg`` for every view against its baseline, ``python -c "import numpy"`` followed by
``dot -Tsvg`` on the same DOT (the one ``--format dot`` prints; for the diff view, which
marks a drawing of the ``both`` view, that view's DOT), the two interleaved, as medians
of wall-clock and CPU time (the child processes' user + system time). The verdicts are
the CPU times': on a shared machine the wall clock also times the others.

``--issue13`` prints that table and target 5's: the default render (in one process:
DOT built, laid out, SVG finished) of random and local programs of 50-300 statements
(three seeds each) and of the two input-reusing chains at 20-100 statements, slowest of
each against 10 s; and ``python -m compgraph render FILE --view backward -o FILE.svg`` of
local and random (fan-out) programs of 1,000, 5,000 and 20,000 statements, end to end,
with what it did (written or refused), the estimate it printed, and the target (at
20,000: written within 120 s or refused within 15 s). ``--calibrate`` times each step
of drawing such programs (CPU seconds) against the estimate (layout.estimate_cost), and
per DOT element, which is what SECONDS_PER_ELEMENT in compgraph/drawing/layout.py is
set from.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import make_program  # noqa: E402

import numpy as np  # noqa: E402

import compgraph as cg  # noqa: E402
from compgraph.drawing import FAST_ABOVE_WORK, pipe, to_dot  # noqa: E402

TARGET_SECONDS = 10.0
TARGET_LATENCY = 1.3  # issue 13, target 1: render / (import numpy + dot -Tsvg)

ROOT = Path(__file__).resolve().parent.parent
HOMEWORK = ROOT / "examples" / "homework-graph.cg"
# The options each view of `render` needs on the homework graph.
LATENCY_VIEWS = {"forward": [], "backward": [], "both": [], "tangent": ["--wrt", "x"],
                 "diff": ["--against", "x=3"], "paths": ["--wrt", "x"], "check": [],
                 "heatmap": []}


def horner(n: int) -> tuple[str, dict]:
    return "\n".join(["p0 = x"] + [f"p{i} = p{i - 1}*x + 1" for i in range(1, n)]), {"x": 0.5}


def accumulate(n: int) -> tuple[str, dict]:
    return "\n".join(["c = x"] + ["c = c*x + y"] * (n - 1)), {"x": 0.5, "y": 0.25}


def random_program(n: int, seed: int = 0) -> tuple[str, dict]:
    source, _, point = make_program(n, seed)
    return source, point


def local_program(n: int, seed: int = 0) -> tuple[str, dict]:
    """``n`` statements, each reading two of the eight newest names (no long edges)."""
    rng = random.Random(seed)
    names, lines = ["x", "y", "z"], []
    for k in range(n):
        count = len(names)
        p, q = (names[rng.randrange(max(0, count - 8), count)] for _ in range(2))
        v, op = f"v{k + 1}", rng.randrange(3)
        lines.append(f"{v} = 0.5*({p} + {q})" if op == 0 else f"{v} = {p} * {q}" if op == 1
                     else f"{v} = relu({p}) - 0.5*{q}")
        names.append(v)
    return "\n".join(lines), {"x": 0.5, "y": -0.25, "z": 0.75}


def chain(n: int) -> tuple[str, dict]:
    return "\n".join(["v0 = x"] + [f"v{i} = tanh(v{i - 1}) * 0.9" for i in range(1, n)]), {"x": 0.5}


def wide(n: int) -> tuple[str, dict]:
    lines = [f"a{i} = x*{i % 7 + 1} + y" for i in range(n - 1)]
    return "\n".join(lines + ["s = " + " + ".join(f"a{i}" for i in range(n - 1))]), \
        {"x": 0.5, "y": 0.25}


def tree(n: int) -> tuple[str, dict]:
    lines = [f"t0_{i} = x*{i + 1}" for i in range(max(2, n // 2))]
    level, width = 0, max(2, n // 2)
    while width > 1:
        lines += [f"t{level + 1}_{i} = t{level}_{2 * i} + t{level}_{2 * i + 1}"
                  for i in range(width // 2)]
        if width % 2:
            lines.append(f"t{level + 1}_{width // 2} = t{level}_{width - 1}")
        level, width = level + 1, (width + 1) // 2
    return "\n".join(lines), {"x": 0.5}


def mlp(n: int) -> tuple[str, dict]:
    layers = max(2, n // 2)
    lines = ["h0 = x"]
    for i in range(1, layers):
        lines += [f"h{i} = tanh(W @ h{i - 1} + b)"]
    lines.append(f"C = sum(h{layers - 1}**2)")
    return "\n".join(lines), {"x": [0.5, -0.5], "W": [[0.5, 0.1], [-0.2, 0.3]], "b": [0.1, 0.0]}


SHAPES = {"horner": horner, "accumulate": accumulate, "random": random_program,
          "local": local_program, "chain": chain, "wide": wide, "tree": tree, "mlp": mlp}
VIEWS = ("forward", "backward")


def run_dot(dot, cap: float) -> float | None:
    """Wall time of Graphviz drawing ``dot`` as SVG; None past ``cap`` seconds."""
    cmd = [dot.engine, "-Tsvg"] + ([f"-n{dot.neato_no_op}"] if dot.neato_no_op else [])
    start = time.perf_counter()
    try:
        subprocess.run(cmd, input=dot.source.encode("utf-8"), capture_output=True,
                       timeout=cap, check=True)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def _timed(cmds: list[list[str]], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU time (user + system, of the children) of running ``cmds`` in turn."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def latency(runs: int, views: list[str]) -> bool:
    """Issue 13, target 1: print each view's render time against its baseline."""
    scratch = Path(tempfile.mkdtemp(prefix="compgraph-bench-render-"))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # As installed: with compiled bytecode for both commands (pip compiles on install),
    # kept in a scratch folder rather than in the working tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pyc")
    render = [sys.executable, "-m", "compgraph", "render", str(HOMEWORK)]
    print(f"render latency, homework graph, medians of {runs} interleaved runs: "
          f"`compgraph render --view V -o V.svg` vs `python -c \"import numpy\"` + "
          f"`dot -Tsvg V.dot`")
    print(f"{'view':<9} {'render':>8} {'baseline':>9} {'wall':>6} | {'CPU render':>10} "
          f"{'baseline':>9} {'ratio':>6} {'target':>7}  verdict")
    met = True
    try:
        for view in views:
            options = ["--view", view] + LATENCY_VIEWS[view]
            dot_options = (["--view", "both"] if view == "diff" else options)
            dot_file = scratch / f"{view}.dot"
            dot_file.write_bytes(subprocess.run(render + dot_options + ["--format", "dot"],
                                                env=env, check=True, capture_output=True).stdout)
            ours = render + options + ["-o", str(scratch / f"{view}.svg")]
            base = [[sys.executable, "-c", "import numpy"],
                    ["dot", "-Tsvg", str(dot_file), "-o", str(scratch / f"{view}-dot.svg")]]
            _timed([ours], env), _timed(base, env)  # bytecode written, files cached
            samples: list[tuple[float, float, float, float]] = []
            for _ in range(runs):
                w_ours, c_ours = _timed([ours], env)
                w_base, c_base = _timed(base, env)
                samples.append((w_ours, w_base, c_ours, c_base))
            w_ours, w_base, c_ours, c_base = (statistics.median(s) for s in zip(*samples))
            ratio = c_ours / c_base
            met &= ratio <= TARGET_LATENCY
            print(f"{view:<9} {w_ours * 1e3:6.0f}ms {w_base * 1e3:7.0f}ms {w_ours / w_base:5.2f}x"
                  f" | {c_ours * 1e3:8.0f}ms {c_base * 1e3:7.0f}ms {ratio:5.2f}x "
                  f"{'<= ' + str(TARGET_LATENCY):>7}x  {'ok' if ratio <= TARGET_LATENCY else 'MISS'}",
                  flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return met


# --- issue 13, target 5: large graphs never hang -------------------------------------------

TARGET_LARGE = (120.0, 15.0)  # at 20,000 statements: written within, or refused within
SMALL = {"random": [50, 100, 200, 300], "local": [50, 100, 200, 300],
         "horner": [20, 30, 40, 60, 80, 100], "accumulate": [20, 30, 40, 60, 80, 100]}
SEEDS = (0, 1, 2)
LARGE = (1_000, 5_000, 20_000)
LARGE_SHAPES = {"local": local_program, "fan-out": random_program}


def evaluated(source: str, point: dict) -> tuple[cg.Graph, object, object]:
    """The graph, its values at ``point`` (the inputs it has), and its gradients."""
    graph = cg.parse(source)
    values = cg.evaluate(graph, {k: v for k, v in point.items() if k in graph.input_names})
    grads = None if isinstance(values.output, np.ndarray) else cg.backward(graph, values)
    return graph, values, grads


def default_render(source: str, point: dict, view: str) -> float:
    """Seconds of the default render in this process: DOT built, laid out, SVG finished."""
    graph, values, grads = evaluated(source, point)
    start = time.perf_counter()
    pipe(to_dot(graph, view, values, grads if view == "backward" else None), "svg")
    return time.perf_counter() - start


def small_rows() -> bool:
    print(f"\ndefault render (DOT built, laid out, SVG finished, in one process), slowest of "
          f"forward and backward; target < {TARGET_SECONDS:.0f} s each")
    met = True
    for shape, sizes in SMALL.items():
        seeds = SEEDS if shape in ("random", "local") else (0,)
        times = []
        for n in sizes:
            for seed in seeds:
                source, point = (SHAPES[shape](n, seed) if len(seeds) > 1 else SHAPES[shape](n))
                for view in VIEWS:
                    times.append((default_render(source, point, view), n, seed, view))
        worst = max(times)
        met &= worst[0] < TARGET_SECONDS
        shown = ", ".join(f"{n}: {max(t for t, m, _, _ in times if m == n):.2f}" for n in sizes)
        print(f"  {shape:<10} N (seconds) {shown}; slowest {worst[0]:.2f} s "
              f"({worst[1]} statements{f', seed {worst[2]}' if len(seeds) > 1 else ''}, "
              f"{worst[3]}): {'ok' if worst[0] < TARGET_SECONDS else 'MISS'}", flush=True)
    return met


# What a refusal may offer instead (dot.py, _Builder.too_large and choose).
ADVICE = ("--collapse", "--output NAME", "--layout fast", "SVG instead", "--format dot")

_ESTIMATE = re.compile(r"(?:renders in seconds|in (about [\d.]+ \w+)|would take (about [\d.]+ "
                       r"\w+|more than a day))")


def large_rows(sizes: tuple[int, ...] = LARGE) -> bool:
    print(f"\n`python -m compgraph render FILE --view backward -o FILE.svg` (and .png at "
          f"{sizes[-1]:,}), end to end (wall clock; CPU time of the process and its "
          f"children); target at {sizes[-1]:,} statements: written within "
          f"{TARGET_LARGE[0]:.0f} s or refused within {TARGET_LARGE[1]:.0f} s")
    print(f"  {'shape':<8} {'N':>6} {'file':<4} {'did':<8} {'wall':>7} {'CPU':>7}  "
          f"what it said")
    scratch = Path(tempfile.mkdtemp(prefix="compgraph-bench-large-"))
    met = True
    try:
        for shape, make in LARGE_SHAPES.items():
            for n in sizes:
                source, point = make(n)
                # The inputs' values as statements (x = 0.5), as the examples give them.
                used = cg.parse(source).input_names
                program = scratch / f"{shape}-{n}.cg"
                program.write_text("".join(f"{k} = {v}\n" for k, v in point.items() if k in used)
                                   + source)
                for fmt in ("svg", "png") if n == sizes[-1] else ("svg",):
                    out = scratch / f"{shape}-{n}.{fmt}"
                    cmd = [sys.executable, "-m", "compgraph", "render", str(program),
                           "--view", "backward", "-o", str(out)]
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    start = time.perf_counter()
                    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                    wall = time.perf_counter() - start
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime
                                                               + before.ru_stime)
                    refused = "error: this picture" in done.stderr
                    did = ("written" if done.returncode == 0 and out.exists() else
                           "refused" if refused else f"exit {done.returncode}")
                    m = _ESTIMATE.search(done.stderr)
                    said = ("-" if m is None else "in seconds"
                            if m.group(0) == "renders in seconds" else m.group(1) or m.group(2))
                    if refused:
                        said = done.stderr.strip().split(";")[0][len("error: "):]
                        offers = [flag for flag in ADVICE if flag in done.stderr]
                        said += f" (advice: {', '.join(offers) or 'none'})"
                    verdict = ""
                    if n == sizes[-1]:
                        limit = TARGET_LARGE[0] if did == "written" else TARGET_LARGE[1]
                        ok = did in ("written", "refused") and wall <= limit
                        met &= ok
                        verdict = f"  [{did} within {limit:.0f} s: {'ok' if ok else 'MISS'}]"
                    print(f"  {shape:<8} {n:>6,} {fmt:<4} {did:<8} {wall:6.1f}s {cpu:6.1f}s  "
                          f"{said}{verdict}", flush=True)
                    out.unlink(missing_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return met


def calibrate(sizes: tuple[int, ...], formats: tuple[str, ...]) -> None:
    """Each step's CPU seconds against the estimate, and per DOT element."""
    from compgraph.drawing.convert import convert
    from compgraph.drawing.finish import finish_svg

    print("CPU seconds of each step (estimate in brackets), and microseconds per DOT element "
          "(nodes, edges, and labels' nodes as drawn)")
    print(f"  {'program':<15} {'view':<8} {'elements':>9} | {'build':>13} {'draw':>13} "
          f"{'finish':>13} {'convert':>14} | per element: build draw finish convert")
    for shape, make in LARGE_SHAPES.items():
        for n in sizes:
            source, point = make(n)
            graph, values, grads = evaluated(source, point)
            for view in VIEWS:
                for fmt in formats:
                    t = time.process_time()
                    dot = to_dot(graph, view, values, grads if view == "backward" else None,
                                 output_format=fmt)
                    build = time.process_time() - t
                    elements = sum(1 for line in dot.body if line.startswith("\t")
                                   and " [" in line and not line.startswith("\tgraph")
                                   and not line.startswith("\tnode")
                                   and not line.startswith("\tedge"))
                    children = resource.getrusage(resource.RUSAGE_CHILDREN)
                    svg = dot.pipe(format="svg", quiet=True)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    draw = (after.ru_utime + after.ru_stime) - (children.ru_utime
                                                                + children.ru_stime)
                    t = time.process_time()
                    finished = finish_svg(svg.decode("utf-8")).encode("utf-8")
                    finish = time.process_time() - t
                    converted = 0.0
                    if fmt in ("png", "pdf"):
                        children = resource.getrusage(resource.RUSAGE_CHILDREN)
                        convert(finished, fmt)
                        after = resource.getrusage(resource.RUSAGE_CHILDREN)
                        converted = (after.ru_utime + after.ru_stime) - (children.ru_utime
                                                                         + children.ru_stime)
                    est = dot.cost
                    per = [s / elements * 1e6 for s in (build, draw, finish, converted)]
                    print(f"  {shape + ' ' + str(n):<15} {view:<8} {elements:>9,} | "
                          f"{build:5.1f} [{est.build:5.1f}] {draw:5.1f} [{est.layout:5.1f}] "
                          f"{finish:5.1f} [{est.finish:5.1f}] {converted:6.1f} {fmt:<5}  | "
                          f"{per[0]:5.1f} {per[1]:5.1f} {per[2]:5.1f} {per[3]:5.1f}",
                          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 20, 100, 1000; cap 5 s")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes")
    parser.add_argument("--sizes", default=None, help="comma-separated N")
    parser.add_argument("--cap", type=float, default=None, help="seconds allowed to dot's best")
    parser.add_argument("--latency", action="store_true",
                        help="issue 13, target 1: render latency of the homework graph per view")
    parser.add_argument("--runs", type=int, default=15, help="--latency: runs per view")
    parser.add_argument("--views", default=",".join(LATENCY_VIEWS),
                        help="--latency: comma-separated views")
    parser.add_argument("--issue13", action="store_true",
                        help="issue 13's targets 1 and 5, each with its target and verdict")
    parser.add_argument("--calibrate", action="store_true",
                        help="the cost model: each drawing step's CPU time per DOT element")
    parser.add_argument("--formats", default="svg,png",
                        help="--calibrate: comma-separated formats")
    args = parser.parse_args(argv)
    if not shutil.which("dot"):
        print("needs the Graphviz dot binary (apt-get install graphviz)")
        return 1
    if args.latency:
        latency(args.runs, args.views.split(","))
        return 0
    if args.calibrate:
        calibrate(tuple(int(s) for s in args.sizes.split(",")) if args.sizes else LARGE,
                  tuple(args.formats.split(",")))
        return 0
    if args.issue13:
        met = [latency(args.runs, args.views.split(",")), small_rows(),
               large_rows(tuple(int(s) for s in args.sizes.split(",")) if args.sizes
                          else LARGE)]
        print(f"\nissue 13 targets 1 and 5: {'all met' if all(met) else 'NOT all met'}")
        return 0
    sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes else
             [20, 100, 1000] if args.quick else [20, 40, 60, 100, 150, 200, 300, 1000])
    cap = args.cap or (5.0 if args.quick else 15.0)

    print(f"{'shape':<11} {'N':>5} {'view':<9} {'work':>7} {'auto':<5} {'default':>8} "
          f"{'dot best':>9}")
    slowest = (0.0, "")
    measured: list[tuple[int, float | None, str]] = []
    for shape in args.shapes.split(","):
        over_cap: set[str] = set()
        for n in sizes:
            source, point = SHAPES[shape](n)
            graph, values, grads = evaluated(source, point)
            for view in VIEWS:
                if view == "backward" and grads is None:
                    continue
                start = time.perf_counter()
                dot = to_dot(graph, view, values, grads if view == "backward" else None)
                pipe(dot, "svg")
                total = time.perf_counter() - start
                best_dot = to_dot(graph, view, values, grads if view == "backward" else None,
                                  layout="best")
                work = dot.work
                chosen = "fast" if dot.note else "best"
                best: float | None
                if n > 300 or view in over_cap:
                    best, best_text = None, "-"
                else:
                    best = total if chosen == "best" else run_dot(best_dot, cap)
                    best_text = f"> {cap:.0f}" if best is None else f"{best:.2f}"
                    measured.append((work, best, f"{shape} {n} {view}"))
                    if best is None:
                        over_cap.add(view)
                slowest = max(slowest, (total, f"{shape} {n} {view}"))
                print(f"{shape:<11} {n:>5} {view:<9} {work:>7} {chosen:<5} {total:>7.2f}s "
                      f"{best_text:>9}", flush=True)
    print(f"\nslowest default render: {slowest[0]:.2f} s ({slowest[1]}); target < "
          f"{TARGET_SECONDS:.0f} s: {'met' if slowest[0] < TARGET_SECONDS else 'NOT met'}")
    print(f"\ndot's best layout against its work (auto switches above {FAST_ABOVE_WORK}):")
    for work, best, what in sorted(measured, key=lambda m: m[0]):
        if work >= FAST_ABOVE_WORK // 2:
            shown = f"> {cap:.0f} s" if best is None else f"{best:.2f} s"
            print(f"  {work:>7}  {shown:>8}  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
