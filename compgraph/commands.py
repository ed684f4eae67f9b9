"""The ``backprop`` and ``train`` commands of the command line (``compgraph.cli`` wires them).

``backprop PROGRAM`` prints the backward pass as a program (or ``--latex``); ``train
PROGRAM --params ... --lr ... --steps ...`` runs gradient descent and prints the loss every
few steps, a progress bar on a terminal, ``--json``, ``--plot`` and ``-o`` on request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, TextIO

import numpy as np

from .errors import InputError
from .parser import parse


def add_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``backprop`` and ``train`` to the sub-command parsers; ``common`` adds PROGRAM,
    --at, --inputs and --output."""
    p = sub.add_parser("backprop", help="print the backward pass as a program (or LaTeX)")
    common(p)
    p.add_argument("--latex", action="store_true", help="print the equations in LaTeX")
    p.add_argument("--in-terms-of", metavar="dA_dB,...",
                   help="write the equations with these derivatives: gradients d<output>_dB, "
                        "or Jacobians dA_dB along an elementwise path (e.g. "
                        "dC_dyhat,da1_ds1,dyhat_ds2)")
    p.add_argument("-o", "--out", metavar="FILE", help="write the program to FILE")
    p.set_defaults(func=run_backprop)

    p = sub.add_parser("train", help="run gradient descent on the program's output")
    common(p)
    p.add_argument("--params", required=True, metavar="NAME,...",
                   help="the inputs to train, comma-separated (e.g. W1,b1,W2,b2)")
    p.add_argument("--lr", required=True, type=float, metavar="LR", help="the learning rate")
    p.add_argument("--steps", required=True, type=int, metavar="N", help="how many steps")
    p.add_argument("--data", metavar="FILE.npz", help="input arrays by name (numpy .npz)")
    p.add_argument("--every", type=int, metavar="K",
                   help="print the loss every K steps (default: about ten lines)")
    p.add_argument("--json", action="store_true",
                   help='print {"losses": [...], "params": {...}} (the loss before each step)')
    p.add_argument("--plot", metavar="FILE", help="draw the loss curve (svg, png or pdf)")
    p.add_argument("-o", "--out", metavar="FILE.json", help="write the final parameters")
    p.set_defaults(func=run_train)


def _read_program(arg: str) -> str:
    from .cli import read_program

    return read_program(arg)


def _point(args: argparse.Namespace) -> dict[str, Any]:
    from .cli import parse_at, read_inputs

    return {**read_data(getattr(args, "data", None)), **read_inputs(args.inputs),
            **parse_at(args.at)}


def _write(path: str, text: str) -> None:
    from .drawing.files import write_atomic

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomic(path, text.encode("utf-8"))


def read_data(path: str | None) -> dict[str, Any]:
    """Arrays by name from a numpy ``.npz`` file (``numpy.savez``)."""
    if path is None:
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise InputError(f"--data {path}: expected a .npz file of named arrays "
                                 "(numpy.savez), not a single array")
            return {name: np.array(data[name], dtype=float) for name in data.files}
    except OSError as exc:
        raise InputError(f"--data {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise InputError(f"--data {path}: not a .npz file of numbers ({exc})") from None


def run_backprop(args: argparse.Namespace) -> int:
    from .backprop import backprop  # on use: start-up stays short

    graph = parse(_read_program(args.program), output=args.output)
    terms = [t.strip() for t in (args.in_terms_of or "").split(",") if t.strip()]
    program = backprop(graph, _point(args), in_terms_of=terms)
    text = program.latex() if args.latex else program.text()
    if args.out:
        _write(args.out, text + "\n")
        print(args.out)
    else:
        print(text)
    return 0


class Progress:
    """A progress bar on standard error when it is a terminal (nothing otherwise), redrawn
    at most every 0.1 s, and the loss printed on standard output every ``every`` steps."""

    WIDTH = 30

    def __init__(self, steps: int, every: int | None, out: TextIO | None, err: TextIO) -> None:
        self.steps = steps
        self.every = every if every else max(1, steps // 10)
        self.out = out
        self.err = err
        self.tty = err.isatty()
        self.last_draw = 0.0
        self.drawn = False

    def __call__(self, step: int, loss: float) -> None:
        from .cli import fmt

        if self.out is not None and (step % self.every == 0 or step == self.steps - 1):
            self.clear()
            print(f"step {step:>{len(str(self.steps))}}  loss {fmt(loss)}", file=self.out,
                  flush=True)
        if self.tty:
            now = time.monotonic()
            if now - self.last_draw >= 0.1 or step == self.steps - 1:
                done = (step + 1) * self.WIDTH // max(1, self.steps)
                bar = "#" * done + "-" * (self.WIDTH - done)
                self.err.write(f"\r[{bar}] {step + 1}/{self.steps}  loss {fmt(loss)}\x1b[K")
                self.err.flush()
                self.last_draw = now
                self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.drawn = False


def run_train(args: argparse.Namespace) -> int:
    from .cli import _table, fmt, to_json
    from .train import sgd  # on use: start-up stays short

    graph = parse(_read_program(args.program), output=args.output)
    params = [p.strip() for p in args.params.split(",") if p.strip()]
    if args.every is not None and args.every < 1:
        raise InputError(f"--every {args.every}: give a whole number >= 1")
    if args.plot:
        from .train_plot import check_plot_path

        check_plot_path(args.plot)  # before the work: a bad name or no matplotlib
    progress = Progress(args.steps, args.every, None if args.json else sys.stdout, sys.stderr)
    try:
        result = sgd(graph, _point(args), params=params, lr=args.lr, steps=args.steps,
                     progress=progress)
    finally:
        progress.clear()  # the error message, or the summary, starts on a clean line
    if args.out:
        doc = {name: to_json(value) for name, value in result.params.items()}
        _write(args.out, json.dumps(doc, ensure_ascii=False) + "\n")
    if args.plot:
        from .train_plot import draw_losses

        draw_losses(result.losses, args.plot, title=graph.output_name)
    if args.json:
        print(json.dumps({"losses": [to_json(v) for v in result.losses],
                          "params": {k: to_json(v) for k, v in result.params.items()}},
                         ensure_ascii=False))
        return 0
    print(f"{graph.output_name}: {len(result.losses)} steps of gradient descent, lr {args.lr:g}")
    rows = [("parameter", "value")]
    rows += [(name, fmt(value)) for name, value in result.params.items()]
    _table(rows)
    for path in (args.out, args.plot):
        if path:
            print(path)
    return 0
