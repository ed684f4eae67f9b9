"""The fuzzing campaign in the suite (issue 8): a seeded budget of programs, and every crash
ever found replayed from tests/fuzz_regressions.jsonl.

Each program must give a result or a documented CompgraphError in parse, evaluate,
backward, tangents, local_derivatives, paths, check_nodes and to_dot (a ParseError only from
parse), within the time limit, with reverse and
forward mode agreeing (tests/fuzzing.py). ``scripts/fuzz.py COUNT`` runs the same campaign
at scale.
"""

from __future__ import annotations

from collections import Counter

import pytest

from fuzzing import OUTCOMES, REGRESSIONS, Result, campaign, check, load_regressions

SEED = 2026
BUDGET = 2000   # programs; sizes at a tenth of the campaign's (deep nesting, long names)
LIMIT = 20.0    # CPU seconds a program, generous: a hang is a program stuck, not a slow machine


@pytest.fixture(scope="module")
def budget() -> list[tuple[int, str, Result]]:
    return [(i, p.text, r) for i, p, r in campaign(SEED, range(BUDGET), limit=LIMIT, scale=0.1,
                                                   draw=False)]


def describe(found: list[tuple[int, str, Result]]) -> str:
    lines = []
    for i, text, r in found[:5]:
        what = "; ".join(f"{c.key}: {c.message}" for c in r.crashes) or r.outcome
        lines.append(f"program {i} {text[:200]!r}: {what}")
    return "\n".join(lines)


def test_the_budget_covers_the_language(budget) -> None:
    outcomes = Counter(r.outcome for _, _, r in budget)
    assert set(outcomes) <= set(OUTCOMES)
    # Both valid and invalid programs, evaluated and drawn: a campaign that only ever hit
    # parse errors would prove nothing.
    assert outcomes["ok"] > BUDGET // 10 and outcomes["ParseError"] > BUDGET // 10
    stages = Counter()
    for _, _, r in budget:
        stages.update(r.stages)
    for stage in ("evaluate", "backward", "tangents", "local_derivatives", "to_dot"):
        assert stages[(stage, "ok")] > BUDGET // 10, stage


def test_the_budget_has_no_hang_and_no_disagreement(budget) -> None:
    bad = [b for b in budget if b[2].outcome == "hang" or b[2].disagreements]
    assert not bad, describe(bad)


def test_the_budget_has_no_crash(budget) -> None:
    bad = [b for b in budget if b[2].crashes]
    assert not bad, describe(bad)


def _regressions() -> list:
    params = []
    for case in load_regressions(REGRESSIONS):
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        params.append(pytest.param(case, marks=marks, id=f"line{case.line}"))
    return params


@pytest.mark.parametrize("case", _regressions())
def test_regression(case) -> None:
    result = check(case.program, case.inputs, limit=LIMIT, render=case.render)
    assert not result.crashes, "; ".join(f"{c.key}: {c.message}" for c in result.crashes)
    assert result.outcome != "hang" and not result.disagreements


def test_regressions_include_the_crashes_of_the_issue() -> None:
    cases = {(c.program, repr(c.inputs)) for c in load_regressions(REGRESSIONS)}
    assert ("w = x", repr([{"x": -10**400}])) in cases
    assert ("y = cos(1e999)/1", repr([{}])) in cases


def test_a_crash_is_caught_with_its_class_and_place(monkeypatch) -> None:
    import compgraph as cg

    def broken(*_args, **_kw):
        return [][1]  # an IndexError, as a bug in the engine would raise

    monkeypatch.setattr(cg, "evaluate", broken)
    result = check("y = 2*x", [{"x": 1.0}, {"x": 2.0}])
    assert result.outcome == "crash"
    assert [c.key for c in result.crashes] == ["evaluate: IndexError in outside compgraph"] * 2
    assert result.stages == {("parse", "ok"): 1, ("evaluate", "crash"): 2}
    assert not result.crashes[0].in_engine


def test_a_hang_is_caught(monkeypatch) -> None:
    import compgraph as cg

    def stuck(*_args, **_kw):
        while True:
            pass

    monkeypatch.setattr(cg, "parse", stuck)
    result = check("y = 2*x", [{"x": 1.0}], limit=0.2)
    assert result.outcome == "hang" and result.seconds < 5


def test_documented_errors_are_outcomes_not_crashes() -> None:
    assert check("y = 2*", [{}]).outcome == "ParseError"
    assert check("y = [1, 2] @ x", [{"x": 1.0}]).outcome == "EvaluationError"
    assert check("y = 2*x", [{"x": "2"}]).outcome == "InputError"
    result = check("y = x*x", [{"x": 3.0}])
    assert result.outcome == "ok" and not result.crashes and not result.disagreements


def test_a_parse_error_after_parsing_is_a_crash(monkeypatch) -> None:
    import compgraph as cg

    def refuses(graph, values, *_args, **_kw):
        cg.GraphBuilder().bind("not a name", 0)  # a stage rebuilding a graph it was given

    monkeypatch.setattr(cg, "local_derivatives", refuses)
    result = check("y = x*x", [{"x": 3.0}], draw=False)
    assert result.outcome == "crash"
    assert [c.key for c in result.crashes] == [
        "local_derivatives: ParseError in compgraph/graph.py:check_name"]


def test_a_program_without_names_is_checked_whatever_the_seed() -> None:
    for seed in range(30):  # the harness once chose a cost among no names and died
        assert check("0.0", seed=str(seed)).outcome == "ok"


def test_reverse_and_forward_mode_must_agree(monkeypatch) -> None:
    import types

    import compgraph as cg

    real = cg.backward

    def twice(graph, values):
        grads = real(graph, values)
        return types.SimpleNamespace(adjoints=tuple(None if a is None else 2 * a
                                                    for a in grads.adjoints), edges={})

    monkeypatch.setattr(cg, "backward", twice)
    result = check("y = x*x", [{"x": 3.0}], draw=False)  # no node check of the stand-in
    assert result.outcome == "disagree"
    assert result.disagreements == ["dy/dx: reverse 12.0, forward 6.0 at {'x': 3.0}"]


# --- the script ----------------------------------------------------------------------------

def _script():
    import importlib.util

    from fuzzing import REPO

    spec = importlib.util.spec_from_file_location("fuzz_script", REPO / "scripts" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_script_prints_the_table(capsys) -> None:
    script = _script()
    code = script.main(["40", "--seed", "3", "--workers", "2", "--quiet", "--no-minimize",
                        "--dot-every", "10"])
    out = capsys.readouterr().out
    assert out.startswith("compgraph fuzz: 40 programs, seed 3, 2 workers")
    table = out.split("\n\n")[1].splitlines()  # the first table, after the heading line
    assert table[0].split() == ["outcome", "programs", "grammar", "mutation"]
    rows = dict(line.split()[:2] for line in table[1:])
    assert rows["total"] == "40" and sum(int(rows[o]) for o in OUTCOMES) == 40
    assert "stage (calls)" in out and "\ndot " in out
    assert code == (1 if any(int(rows[o]) for o in ("crash", "hang", "disagree")) else 0)


def test_the_watchdog_catches_a_worker_stuck_outside_python(monkeypatch) -> None:
    import time as _time

    import fuzzing

    script = _script()

    def stuck_in_c(*_args, **_kw):
        _time.sleep(60)  # no CPU time passes: the worker's own alarm never fires

    monkeypatch.setattr(fuzzing, "check", stuck_in_c)
    start = _time.monotonic()
    tallies = script.run(2, seed=3, workers=1, limit=0.1, progress=False, grace=0.3)
    assert tallies["outcomes"]["hang"] == 2 and tallies["hangs"] == [0, 1]
    assert _time.monotonic() - start < 10
