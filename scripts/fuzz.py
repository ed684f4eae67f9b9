#!/usr/bin/env python3
"""Fuzz compgraph: ``python scripts/fuzz.py COUNT [--seed N] [--workers K] [--limit S]``.

Runs COUNT programs of the seeded campaign (tests/fuzzing.py: grammar-generated programs and
mutations of valid ones) through parse, evaluate, backward, tangents, local_derivatives,
paths, check_nodes and to_dot, in worker processes, and prints a table of outcomes: per
program (its first answer: ok, ParseError, EvaluationError, InputError, ..., crash, hang),
per stage, the warnings seen, and every crash class with its first example and a minimized
reproducer. A crash is any exception that is not a CompgraphError (or a ParseError after
parse); a hang is a program that takes more than ``--limit`` seconds of CPU time (the
worker's alarm), or that the parent's watchdog finds stuck (in C code, where the alarm
cannot interrupt it); ``disagree`` is a program whose reverse-mode gradient and forward-mode
tangent differ where both are finite (a silent wrong answer in one of them). Every
``--dot-every``-th program also has its pictures drawn by Graphviz's ``dot``: DOT that dot
rejects, SVG that is not XML or holds active content is a crash of the drawing; a
layout slower than the limit is listed apart.

``--save FILE`` appends the reproducers as regression cases (the format of
tests/fuzz_regressions.jsonl). The exit status is 1 when there is a crash, a hang or a disagreement.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzzing  # noqa: E402  (tests/fuzzing.py: the harness the suite uses too)

GRACE = 5.0  # seconds past the limits before the parent kills a stuck worker


def _worker(conn: Connection, seed: int, indices: list[int], limit: float,
            dot_every: int) -> None:
    for i in indices:
        conn.send(("start", i))
        program = fuzzing.program_for(seed, i)
        result = fuzzing.check(program.text, None, seed=program.seed, limit=limit,
                               render=dot_every > 0 and i % dot_every == 0)
        # Keep what the parent needs: crashes travel with their text, tracebacks cut short.
        conn.send(("done", i, program.kind, result))
    conn.send(("end", None))
    conn.close()


class _Slot:
    """One worker process and the indices it still has to run."""

    def __init__(self, ctx: Any, seed: int, indices: list[int], limit: float,
                 dot_every: int) -> None:
        self.seed, self.limit, self.dot_every = seed, limit, dot_every
        self.todo = indices
        self.current: int | None = None
        self.since = time.monotonic()
        self._start(ctx)

    def _start(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_worker, args=(child, self.seed, self.todo, self.limit,
                                                          self.dot_every),
                                daemon=True)
        self.proc.start()
        child.close()

    def restart_after(self, ctx: Any, index: int) -> None:
        self.proc.kill()
        self.proc.join()
        self.todo = self.todo[self.todo.index(index) + 1:]
        self.current = None
        self.since = time.monotonic()
        self._start(ctx)


def run(count: int, seed: int, workers: int, limit: float, start: int = 0,
        dot_every: int = 50, progress: bool = True, grace: float = GRACE) -> dict[str, Any]:
    """Run programs ``start .. start+count`` of campaign ``seed``; return the tallies."""
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    indices = list(range(start, start + count))
    slots = [_Slot(ctx, seed, indices[w::workers], limit, dot_every) for w in range(workers)]
    outcomes: Counter[str] = Counter()
    by_kind: Counter[tuple[str, str]] = Counter()
    stages: Counter[tuple[str, str]] = Counter()
    warned: Counter[str] = Counter()
    crash_programs: Counter[str] = Counter()
    first: dict[str, tuple[int, fuzzing.Crash]] = {}
    hangs: list[int] = []
    disagree: list[tuple[int, str]] = []
    slow: list[int] = []
    done = 0
    live = list(slots)
    began = time.monotonic()
    while live:
        ready = wait([s.conn for s in live], timeout=min(1.0, grace))
        now = time.monotonic()
        for slot in list(live):
            if slot.conn in ready:
                try:
                    msg = slot.conn.recv()
                except EOFError:  # the worker died (a crash of the interpreter itself)
                    msg = ("died", None)
                if msg[0] == "start":
                    slot.current, slot.since = msg[1], now
                elif msg[0] == "done":
                    _, i, kind, result = msg
                    slot.current = None
                    done += 1
                    outcomes[result.outcome] += 1
                    by_kind[(kind, result.outcome)] += 1
                    stages.update(result.stages)
                    warned.update(result.warnings)
                    if result.outcome == "hang":
                        hangs.append(i)
                    for key in {c.key for c in result.crashes}:
                        crash_programs[key] += 1
                    for c in result.crashes:
                        first.setdefault(c.key, (i, c))
                    if ("dot", "slow") in result.stages:
                        slow.append(i)
                    if result.disagreements and len(disagree) < 10:
                        disagree.append((i, result.disagreements[0]))
                    if progress and done % 1000 == 0:
                        rate = done / max(now - began, 1e-9)
                        print(f"  {done}/{count} programs, {outcomes['crash']} crashes, "
                              f"{outcomes['hang']} hangs, {rate:.0f}/s",
                              file=sys.stderr, flush=True)
                elif msg[0] == "end":
                    live.remove(slot)
                    slot.proc.join()
                    continue
                elif msg[0] == "died":
                    i = slot.current
                    live.remove(slot)
                    if i is not None:
                        done += 1
                        outcomes["crash"] += 1
                        key = "worker: the interpreter died"
                        crash_programs[key] += 1
                        first.setdefault(key, (i, fuzzing.Crash("worker", "died", "", "", "")))
                        slot.restart_after(ctx, i)
                        live.append(slot)
                    continue
            # The limit is CPU time; on a busy machine a program's wall time may be a few
            # times that, and dot may take as long again on its pictures.
            if slot.current is not None and now - slot.since > 4 * limit + grace:
                i = slot.current
                done += 1
                outcomes["hang"] += 1
                hangs.append(i)
                slot.restart_after(ctx, i)
    return {"outcomes": outcomes, "by_kind": by_kind, "stages": stages, "warnings": warned,
            "crash_programs": crash_programs, "first": first, "hangs": sorted(hangs),
            "disagree": disagree, "slow": sorted(slow),
            "seconds": time.monotonic() - began}


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def _short(value: Any, n: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + f"... ({len(text)} characters)"


def report(t: dict[str, Any], count: int, seed: int, workers: int, limit: float,
           minimize: bool, save: Path | None) -> str:
    lines = [f"compgraph fuzz: {count} programs, seed {seed}, {workers} workers, "
             f"limit {limit:g} CPU s a program, {t['seconds']:.0f} s", ""]
    kinds = ("grammar", "mutation")
    rows = [("outcome", "programs", *kinds)]
    names = list(fuzzing.OUTCOMES) + sorted(set(t["outcomes"]) - set(fuzzing.OUTCOMES))
    for name in names:
        rows.append((name, str(t["outcomes"][name]),
                     *(str(t["by_kind"][(k, name)]) for k in kinds)))
    rows.append(("total", str(sum(t["outcomes"].values())),
                 *(str(sum(v for (k, _), v in t["by_kind"].items() if k == kk)) for kk in kinds)))
    lines += [_table(rows), ""]
    results = sorted({o for _, o in t["stages"]}, key=lambda o: (o != "ok", o == "crash", o))
    rows = [("stage (calls)", *results)]
    for stage in fuzzing.STAGES:
        rows.append((stage, *(str(t["stages"][(stage, o)]) for o in results)))
    lines += [_table(rows), ""]
    if t["warnings"]:
        lines.append(f"warnings ({sum(t['warnings'].values())} in all):")
        lines += [f"  {v:6d}  {k}" for k, v in t["warnings"].most_common(12)]
        lines.append("")
    if t["disagree"]:
        lines.append("reverse and forward mode disagree (first examples):")
        for i, what in t["disagree"]:
            lines.append(f"  #{i} {_short(fuzzing.program_for(seed, i).text, 200)}: {what[:300]}")
        lines.append("")
    crashes = t["crash_programs"]
    lines.append(f"crash classes: {len(crashes)}")
    saved = []
    for n, (key, programs) in enumerate(crashes.most_common(), 1):
        i, crash = t["first"][key]
        program = fuzzing.program_for(seed, i)
        engine = " [engine]" if crash.in_engine else ""
        lines.append(f"[{n}] {key}{engine}: {programs} programs")
        lines.append(f"    {crash.type}: {crash.message}")
        lines.append(f"    first: program #{i} {_short(program.text)}")
        if crash.inputs is not None:
            lines.append(f"    at {_short(crash.inputs)}")
        if minimize and (crash.inputs is not None or crash.stage == "parse"):
            # A crash in parse needs no inputs; a later one keeps the point it had.
            inputs = [crash.inputs if crash.inputs is not None else {}]
            small = fuzzing.minimize(program.text, inputs, key)
            lines.append(f"    minimized: {_short(small)}")
            saved.append(fuzzing.Regression(small, inputs, key, render=crash.stage == "dot"))
    if t["slow"]:
        lines.append(f"pictures dot took more than {limit:g} s to lay out (Graphviz's time, not "
                     f"a hang of compgraph): {len(t['slow'])} programs, e.g.")
        for i in t["slow"][:3]:
            lines.append(f"    #{i}: {_short(fuzzing.program_for(seed, i).text, 200)}")
    if t["hangs"]:
        lines.append(f"hangs: programs {t['hangs'][:20]}")
        for i in t["hangs"][:5]:
            lines.append(f"    #{i}: {_short(fuzzing.program_for(seed, i).text)}")
    if save is not None and saved:
        with open(save, "a", encoding="utf-8") as f:
            for case in saved:
                f.write(case.to_json() + "\n")
        lines.append(f"saved {len(saved)} reproducers to {save}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("count", type=int, help="how many programs")
    ap.add_argument("--seed", type=int, default=1, help="the campaign (default 1)")
    ap.add_argument("--start", type=int, default=0, help="first program index (default 0)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=float, default=10.0,
                    help="CPU seconds a program may take (default 10)")
    ap.add_argument("--dot-every", type=int, default=50, metavar="N",
                    help="have dot draw the pictures of every Nth program and check the SVG "
                         "(default 50; 0: never)")
    ap.add_argument("--no-minimize", action="store_true",
                    help="do not shrink the first example of each crash class")
    ap.add_argument("--save", type=Path, help="append the reproducers to this file")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    tallies = run(args.count, args.seed, max(1, args.workers), args.limit, args.start,
                  args.dot_every, progress=not args.quiet)
    print(report(tallies, args.count, args.seed, max(1, args.workers), args.limit,
                 not args.no_minimize, args.save))
    bad = ("crash", "hang", "disagree")
    return 1 if any(tallies["outcomes"][o] for o in bad) else 0


if __name__ == "__main__":
    sys.exit(main())
