"""Every worked case in ``tests/cases/public.json``, through the API and the command line.

The file is the project's own copy of the team's worked cases; its ``about`` header names
where it came from, and each case its published source.

Each case is checked for its value and its gradients with respect to every input in
reverse mode, in forward mode (tangents, one input element at a time) and as Jacobians in
both modes, and through ``python -m compgraph eval PROGRAM --inputs FILE --json``, at the
file's tolerance ``abs(got - want) <= 1e-12 + 1e-12 * abs(want)``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg

REPO = Path(__file__).resolve().parents[1]
CASES_FILE = Path(__file__).resolve().parent / "cases" / "public.json"


def _load_cases() -> list[dict]:
    if not CASES_FILE.is_file():
        # Fail loudly: a missing file must never turn into a silently empty test run.
        return [{"name": "MISSING", "_missing": True}]
    with open(CASES_FILE, encoding="utf-8") as f:
        return json.load(f)["cases"]


CASES = _load_cases()


def _case_id(case: dict) -> str:
    return case["name"]


def _require(case: dict) -> None:
    if case.get("_missing"):
        pytest.fail(f"the worked cases are missing: expected {CASES_FILE}")


def assert_close(got, want, what: str) -> None:
    """The cases file's tolerance, elementwise, with matching shapes."""
    got_a = np.asarray(got, dtype=float)
    want_a = np.asarray(want, dtype=float)
    assert got_a.shape == want_a.shape, f"{what}: shape {got_a.shape}, expected {want_a.shape}"
    bad = np.abs(got_a - want_a) > 1e-12 + 1e-12 * np.abs(want_a)
    assert not bad.any(), f"{what}: got {got_a.tolist()}, expected {want_a.tolist()}"


def test_cases_file_is_present_and_well_formed() -> None:
    assert CASES_FILE.is_file(), f"missing {CASES_FILE}"
    with open(CASES_FILE, encoding="utf-8") as f:
        assert "shared/cases/public.json" in json.load(f)["about"]
    assert len(CASES) >= 5
    for case in CASES:
        assert {"name", "dsl", "inputs", "output", "value", "gradients"} <= set(case), case.get("name")
        assert set(case["gradients"]) == set(case["inputs"]), case["name"]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case_value_and_reverse_gradients(case: dict) -> None:
    _require(case)
    g = cg.parse(case["dsl"])
    assert g.output_name == case["output"]
    assert set(g.input_names) == set(case["inputs"])
    values = cg.evaluate(g, case["inputs"])
    assert_close(values.output, case["value"], f"{case['name']} value")
    assert_close(values[case["output"]], case["value"], f"{case['name']} value by name")
    grads = cg.backward(g, values)
    for name, want in case["gradients"].items():
        assert_close(grads[name], want, f"{case['name']} reverse d{case['output']}/d{name}")
    # gradients() is evaluate + backward in one call
    again = cg.gradients(g, case["inputs"])
    for name, want in case["gradients"].items():
        assert_close(again[name], want, f"{case['name']} gradients() d/d{name}")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case_forward_mode_tangents(case: dict) -> None:
    _require(case)
    g = cg.parse(case["dsl"])
    values = cg.evaluate(g, case["inputs"])
    for name, want in case["gradients"].items():
        want_a = np.asarray(want, dtype=float)
        got = np.zeros(want_a.shape)
        for index in np.ndindex(*want_a.shape):
            direction = np.zeros(want_a.shape)
            direction[index] = 1.0
            d = float(direction) if direction.ndim == 0 else direction
            t = cg.tangents(g, values, {name: d})
            got[index] = t.output
        assert_close(got, want, f"{case['name']} forward-mode d{case['output']}/d{name}")
        if want_a.ndim == 0:
            assert_close(cg.tangents(g, values, name).output, want, f"{case['name']} tangents({name!r})")


@pytest.mark.parametrize("mode", ["forward", "reverse", None])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case_jacobian(case: dict, mode: str | None) -> None:
    _require(case)
    g = cg.parse(case["dsl"])
    for name, want in case["gradients"].items():
        got = cg.jacobian(g, name, case["inputs"], mode=mode)
        assert_close(got, want, f"{case['name']} jacobian({name!r}, mode={mode})")


def _run_eval(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compgraph", "eval", *args],
                          capture_output=True, text=True, cwd=REPO, input=stdin, timeout=120)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case_through_the_command_line(case: dict, tmp_path: Path) -> None:
    _require(case)
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(case["inputs"]), encoding="utf-8")
    proc = _run_eval([case["dsl"], "--inputs", str(inputs), "--json"])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"output", "value", "values", "gradients"}
    assert doc["output"] == case["output"]
    assert_close(doc["value"], case["value"], f"{case['name']} CLI value")
    for name, want in case["gradients"].items():
        assert_close(doc["gradients"][name], want, f"{case['name']} CLI d/d{name}")
        assert_close(doc["values"][name], case["inputs"][name], f"{case['name']} CLI input {name}")


@pytest.mark.parametrize("case", [c for c in CASES if c.get("_missing") or
                                  all(not isinstance(v, list) for v in c["inputs"].values())],
                         ids=_case_id)
def test_scalar_case_with_at_options(case: dict) -> None:
    _require(case)
    at = ",".join(f"{k}={v!r}" for k, v in case["inputs"].items())
    proc = _run_eval([case["dsl"], "--at", at, "--json"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert_close(doc["value"], case["value"], f"{case['name']} CLI --at value")
    for name, want in case["gradients"].items():
        assert_close(doc["gradients"][name], want, f"{case['name']} CLI --at d/d{name}")


@pytest.mark.parametrize("case", [c for c in CASES if c.get("_missing") or
                                  any(isinstance(v, list) for v in c["inputs"].values())],
                         ids=_case_id)
def test_array_case_with_json_arrays_in_at(case: dict) -> None:
    _require(case)
    args = [case["dsl"], "--json"]
    for k, v in case["inputs"].items():
        args += ["--at", f"{k}={json.dumps(v)}"]
    proc = _run_eval(args)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert_close(doc["value"], case["value"], f"{case['name']} CLI --at value")
    for name, want in case["gradients"].items():
        assert_close(doc["gradients"][name], want, f"{case['name']} CLI --at d/d{name}")
