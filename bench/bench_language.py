"""Benchmark of issue 10's language work: user-defined functions, backprop, training.

Run by hand (never a timed test)::

    python bench/bench_language.py            # N = 10,000
    python bench/bench_language.py --quick    # N = 2,000

Every number is a ratio against a baseline run in the same process:

- parsing N calls of a function against parsing the same statements written out;
- printing the backward pass of an N-statement chain against evaluating and
  differentiating it with the engine;
- one step of ``cg.sgd`` on the two-layer network against the same step in NumPy by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import compgraph as cg  # noqa: E402


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def with_def(n: int) -> tuple[str, str]:
    body = "def layer(w, b, x):\n    s = w*x + b\n    return tanh(s)\n"
    calls = ["h0 = x"] + [f"h{k} = layer(w, b, h{k - 1})" for k in range(1, n + 1)]
    flat = ["h0 = x"] + [f"h{k} = tanh(w*h{k - 1} + b)" for k in range(1, n + 1)]
    return body + "\n".join(calls), "\n".join(flat)


def numpy_step(p: dict, x: np.ndarray, y: np.ndarray, lr: float) -> float:
    s1 = p["W1"] @ x + p["b1"]
    a1 = 3 * np.maximum(s1, 0)
    yhat = p["W2"] @ a1 + p["b2"]
    loss = float(np.sum((yhat - y) ** 2))
    d = 2 * (yhat - y)
    ds1 = (p["W2"].T @ d) * 3 * (s1 > 0)
    p["W2"] = p["W2"] - lr * np.outer(d, a1)
    p["b2"] = p["b2"] - lr * d
    p["W1"] = p["W1"] - lr * np.outer(ds1, x)
    p["b1"] = p["b1"] - lr * ds1
    return loss


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n = 2_000 if args.quick else 10_000
    reps = 3 if args.quick else 5

    src_def, src_flat = with_def(n)
    assert cg.parse(src_def) == cg.parse(src_flat)
    t_def = best_of(lambda: cg.parse(src_def), reps)
    t_flat = best_of(lambda: cg.parse(src_flat), reps)
    print(f"parse, {n:,} calls of a def vs written out: {t_def * 1e3:8.1f} ms vs "
          f"{t_flat * 1e3:8.1f} ms  ratio {t_def / t_flat:5.2f}")

    chain = "\n".join(["a0 = x"] + [f"a{k} = sin(a{k - 1})*1.5 + a{k - 1}"
                                    for k in range(1, n + 1)])
    g = cg.parse(chain)
    t_engine = best_of(lambda: cg.backward(g, cg.evaluate(g, x=0.3)), reps)
    t_print = best_of(lambda: cg.backprop(g, {"x": 0.3}).text(), reps)
    text = cg.backprop(g, {"x": 0.3}).text()
    t_parse_back = best_of(lambda: cg.parse(text), reps)
    print(f"backprop of a {n:,}-statement chain: print {t_print * 1e3:8.1f} ms, parse the "
          f"printed program {t_parse_back * 1e3:8.1f} ms, engine (evaluate + backward) "
          f"{t_engine * 1e3:8.1f} ms  ratio print/engine {t_print / t_engine:6.1f}")

    net = cg.parse((ROOT / "examples" / "two-layer-net.cg").read_text(encoding="utf-8"))
    start = {net.nodes[i].name: net.nodes[i].value for i in net.inputs}
    steps = 200
    t_sgd = best_of(lambda: cg.sgd(net, params=["W1", "b1", "W2", "b2"], lr=0.01,
                                   steps=steps), reps) / steps

    def by_hand() -> None:
        p = {k: np.array(start[k]) for k in ("W1", "b1", "W2", "b2")}
        for _ in range(steps):
            numpy_step(p, np.array(start["x"]), np.array(start["y"]), 0.01)

    t_np = best_of(by_hand, reps) / steps
    print(f"one sgd step on the two-layer network: {t_sgd * 1e6:7.1f} us vs NumPy by hand "
          f"{t_np * 1e6:7.1f} us  ratio {t_sgd / t_np:5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
