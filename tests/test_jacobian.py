"""Jacobians of linear maps, their sum and their composition: by both modes, through the API
and through ``python -m compgraph jacobian ... --json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SUM = (EXAMPLES / "jacobian-sum.cg").read_text(encoding="utf-8")
COMPOSE = (EXAMPLES / "jacobian-compose.cg").read_text(encoding="utf-8")
MODES = ["forward", "reverse", None]


def random_case(seed: int, m: int, n: int, p: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=(p, m)), rng.normal(size=n)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed, m, n", [(0, 2, 3), (1, 4, 2), (2, 3, 3), (3, 1, 5)])
def test_jacobian_of_a_sum_is_the_sum(seed: int, m: int, n: int, mode: str | None) -> None:
    rng = np.random.default_rng(seed)
    W1, W2, x = rng.normal(size=(m, n)), rng.normal(size=(m, n)), rng.normal(size=n)
    J = cg.jacobian(cg.parse(SUM), "x", W1=W1, W2=W2, x=x, mode=mode)
    assert J.shape == (m, n)
    np.testing.assert_allclose(J, W1 + W2, rtol=1e-12, atol=1e-14)
    # W1 = W2: the Jacobian is 2 W1
    J = cg.jacobian(cg.parse(SUM), "x", W1=W1, W2=W1, x=x, mode=mode)
    np.testing.assert_allclose(J, 2 * W1, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed, m, n, p", [(0, 3, 2, 2), (1, 2, 4, 3), (2, 3, 3, 3), (3, 5, 1, 2)])
def test_jacobian_of_a_composition_is_the_product(seed: int, m: int, n: int, p: int,
                                                  mode: str | None) -> None:
    W1, W2, x = random_case(seed, m, n, p)
    J = cg.jacobian(cg.parse(COMPOSE), "x", W1=W1, W2=W2, x=x, mode=mode)
    assert J.shape == (p, n)
    np.testing.assert_allclose(J, W2 @ W1, rtol=1e-12, atol=1e-14)
    if m != n or p != m:
        # the other order does not even have the right shape
        assert (W1.T @ W2.T).shape != J.shape or not np.allclose(J, W1.T @ W2.T)
    else:
        assert not np.allclose(J, W1 @ W2)  # the order matters
        J = cg.jacobian(cg.parse(COMPOSE), "x", W1=W1, W2=W1, x=x, mode=mode)
        np.testing.assert_allclose(J, W1 @ W1, rtol=1e-12, atol=1e-14)  # W1 squared


def test_both_modes_agree_with_each_other_and_the_numeric_check() -> None:
    rng = np.random.default_rng(5)
    W1, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    g = cg.parse("h = tanh(W1 @ x)")
    fwd = cg.jacobian(g, "x", W1=W1, x=x, mode="forward")
    rev = cg.jacobian(g, "x", W1=W1, x=x, mode="reverse")
    np.testing.assert_allclose(fwd, rev, rtol=1e-12)
    np.testing.assert_allclose(fwd, (1 - np.tanh(W1 @ x) ** 2)[:, None] * W1, rtol=1e-12)


def test_jacobian_with_respect_to_a_matrix_has_output_then_input_shape() -> None:
    W1, W2, x = random_case(6, 3, 2, 2)
    for mode in ("forward", "reverse"):
        J = cg.jacobian(cg.parse(COMPOSE), "W1", W1=W1, W2=W2, x=x, mode=mode)
        assert J.shape == (2, 3, 2)
        # h_i = sum_jk W2_ij W1_jk x_k, so dh_i/dW1_jk = W2_ij x_k
        np.testing.assert_allclose(J, np.einsum("ij,k->ijk", W2, x), rtol=1e-12)


def test_example_defaults() -> None:
    p = cg.evaluate(cg.parse(SUM)).inputs
    np.testing.assert_allclose(cg.jacobian(cg.parse(SUM), "x"), p["W1"] + p["W2"])
    q = cg.evaluate(cg.parse(COMPOSE)).inputs
    np.testing.assert_allclose(cg.jacobian(cg.parse(COMPOSE), "x"), q["W2"] @ q["W1"])


# --- the command line ------------------------------------------------------------------------

def at(**arrays: np.ndarray) -> str:
    return ",".join(f"{k}={json.dumps(np.asarray(v).tolist())}" for k, v in arrays.items())


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.count("\n") == 1  # exactly one JSON object
    return json.loads(out)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_cli_json_sum_and_composition(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    W1, W2, x = random_case(11, 3, 3, 3)
    doc = run_json(["jacobian", str(EXAMPLES / "jacobian-sum.cg"), "--wrt", "x", "--mode", mode,
                    "--at", at(W1=W1, W2=W2, x=x), "--json"], capsys)
    assert list(doc) == ["output", "wrt", "shape", "jacobian"]
    assert doc["output"] == "h" and doc["wrt"] == "x" and doc["shape"] == [3, 3]
    np.testing.assert_allclose(doc["jacobian"], W1 + W2, rtol=1e-12)
    doc = run_json(["jacobian", str(EXAMPLES / "jacobian-sum.cg"), "--wrt", "x", "--mode", mode,
                    "--at", at(W1=W1, W2=W1), "--json"], capsys)
    np.testing.assert_allclose(doc["jacobian"], 2 * W1, rtol=1e-12)
    doc = run_json(["jacobian", str(EXAMPLES / "jacobian-compose.cg"), "--wrt", "x",
                    "--mode", mode, "--at", at(W1=W1, W2=W2, x=x), "--json"], capsys)
    assert doc["shape"] == [3, 3]
    np.testing.assert_allclose(doc["jacobian"], W2 @ W1, rtol=1e-12)
    doc = run_json(["jacobian", str(EXAMPLES / "jacobian-compose.cg"), "--wrt", "x",
                    "--mode", mode, "--at", at(W1=W1, W2=W1, x=x), "--json"], capsys)
    np.testing.assert_allclose(doc["jacobian"], W1 @ W1, rtol=1e-12)


def test_cli_json_shape_is_output_shape_plus_wrt_shape(tmp_path, capsys) -> None:
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"W1": [[1, 2], [3, 4], [5, 6]], "x": [1, -1]}))
    doc = run_json(["jacobian", str(EXAMPLES / "jacobian-compose.cg"), "--wrt", "W1",
                    "--inputs", str(inputs), "--json"], capsys)
    assert doc["shape"] == [2, 3, 2]
    assert np.array(doc["jacobian"]).shape == (2, 3, 2)
    doc = run_json(["jacobian", str(EXAMPLES / "jacobian-compose.cg"), "--wrt", "x",
                    "--output", "f", "--json"], capsys)
    assert doc["output"] == "f" and doc["shape"] == [3, 2]
    doc = run_json(["jacobian", "y = sum(x*x)", "--wrt", "x", "--at", "x=[1,2]", "--json"], capsys)
    assert doc["shape"] == [2] and doc["jacobian"] == [2.0, 4.0]
    doc = run_json(["jacobian", "y = x*x", "--wrt", "x", "--at", "x=3", "--json"], capsys)
    assert doc["shape"] == [] and doc["jacobian"] == 6.0


def test_cli_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["jacobian", str(EXAMPLES / "jacobian-sum.cg"), "--wrt", "x"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "dh/dx  shape (2, 3)"
    assert "1.5" in out


@pytest.mark.parametrize("argv, words", [
    (["jacobian", "h = W @ x", "--at", "W=[[1]],x=[1]"], "--wrt is required"),
    (["jacobian", str(EXAMPLES / "jacobian-compose.cg"), "--output", "f", "--wrt", "h"],
     "f does not depend on h"),
    (["jacobian", str(EXAMPLES / "jacobian-compose.cg"), "--wrt", "q"], "no variable"),
    (["jacobian", "h = W @ x", "--wrt", "x", "--at", "W=[[1,2]],x=[1,2,3]"], "@"),
    (["jacobian", "h = W @ x", "--wrt", "x", "--mode", "sideways"], "invalid choice"),
])
def test_cli_errors(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code in (1, 2) and out == "" and words in err and "Traceback" not in err


def test_python_dash_m_end_to_end() -> None:
    W1, W2, x = random_case(21, 3, 3, 3)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "compgraph", "jacobian", str(EXAMPLES / "jacobian-compose.cg"),
         "--wrt", "x", "--at", at(W1=W1, W2=W2, x=x), "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["shape"] == [3, 3]
    np.testing.assert_allclose(doc["jacobian"], W2 @ W1, rtol=1e-12)


# --- Jacobians between any two variables (the graph cut at --wrt) ---------------------------

TWO_LAYER = EXAMPLES / "two-layer-net.cg"
TANH_SIGMOID = EXAMPLES / "two-layer-tanh-sigmoid.cg"


@pytest.mark.parametrize("mode", MODES)
def test_softmax_jacobian_is_diag_p_minus_p_p_transposed(mode: str | None) -> None:
    z = np.array([1.0, 2.0, 0.5])
    p = np.exp(z) / np.sum(np.exp(z))
    J = cg.jacobian(cg.parse("p = softmax(z)"), "z", z=z, mode=mode)
    np.testing.assert_allclose(J, np.diag(p) - np.outer(p, p), rtol=1e-14, atol=1e-16)
    W = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]])
    J = cg.jacobian(cg.parse("P = softmax(W, axis=0)"), "W", W=W, mode=mode)
    assert J.shape == (2, 3, 2, 3)
    for c in range(3):   # columns are independent: each block is its column's diag(p) - p pᵀ
        q = np.exp(W[:, c]) / np.sum(np.exp(W[:, c]))
        np.testing.assert_allclose(J[:, c, :, c], np.diag(q) - np.outer(q, q), rtol=1e-14)
        for d in set(range(3)) - {c}:
            assert not J[:, c, :, d].any()


def test_done_when_softmax_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(["jacobian", "p = softmax(z)", "--wrt", "z", "--at", "z=[1,2,0.5]", "--json"],
                   capsys)
    p = np.exp([1.0, 2.0, 0.5]) / np.sum(np.exp([1.0, 2.0, 0.5]))
    assert doc["shape"] == [3, 3] and doc["output"] == "p" and doc["wrt"] == "z"
    np.testing.assert_allclose(doc["jacobian"], np.diag(p) - np.outer(p, p), rtol=1e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_done_when_da1_ds1_is_diag_of_three_relu_prime(mode: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(["jacobian", str(TWO_LAYER), "--output", "a1", "--wrt", "s1", "--mode", mode,
                    "--json"], capsys)
    s1 = np.array(cg.evaluate(cg.parse(TWO_LAYER.read_text()))["s1"])
    assert doc["output"] == "a1" and doc["wrt"] == "s1" and doc["shape"] == [3, 3]
    np.testing.assert_array_equal(doc["jacobian"], np.diag(3.0 * (s1 > 0)))
    # at another point, where two units are active
    doc = run_json(["jacobian", str(TWO_LAYER), "--output", "a1", "--wrt", "s1", "--at",
                    "x=[2,1]", "--json"], capsys)
    np.testing.assert_array_equal(doc["jacobian"], np.diag([3.0, 3.0, 0.0]))


def test_the_homeworks_three_jacobians_with_their_shapes() -> None:
    g = cg.parse(TANH_SIGMOID.read_text())
    v = cg.evaluate(g)
    s2, yhat, y = v["s2"], v["yhat"], v["y"]
    dyhat_ds2 = cg.jacobian(g, "s2", values=v, output="yhat")
    np.testing.assert_allclose(dyhat_ds2, np.diag(yhat * (1 - yhat)), rtol=1e-14)   # K×K
    dC_dyhat = cg.jacobian(g, "yhat", values=v)
    assert dC_dyhat.shape == (2,)
    np.testing.assert_allclose(dC_dyhat, 2 * (yhat - y), rtol=1e-14)
    row = cg.jacobian(g, "yhat", values=v, matrix=True)
    assert row.shape == (1, 2)                                                         # 1×K
    np.testing.assert_array_equal(row[0], dC_dyhat)
    da1_ds1 = cg.jacobian(g, "s1", values=v, output="a1", matrix=True)
    np.testing.assert_allclose(da1_ds1, np.diag(1 - np.tanh(v["s1"]) ** 2), rtol=1e-14)
    # the chain rule, factor by factor: ∂C/∂s2 = ∂C/∂ŷ ∂ŷ/∂s2
    np.testing.assert_allclose(row @ dyhat_ds2, [cg.backward(g, v)["s2"]], rtol=1e-14)
    # with g the identity, ŷ is s2 itself (an alias): the identity matrix
    g = cg.parse(TWO_LAYER.read_text())
    np.testing.assert_array_equal(cg.jacobian(g, "s2", output="yhat"), np.eye(2))


@pytest.mark.parametrize("mode", MODES)
def test_chain_rule_through_an_intermediate_every_path_crosses(mode: str | None) -> None:
    g = cg.parse(TANH_SIGMOID.read_text())
    v = cg.evaluate(g)
    dC_ds1 = cg.jacobian(g, "s1", values=v, mode=mode)
    ds1_dx = cg.jacobian(g, "x", values=v, output="s1", mode=mode)
    np.testing.assert_allclose(dC_ds1 @ ds1_dx, cg.jacobian(g, "x", values=v, mode=mode),
                               rtol=1e-13)
    np.testing.assert_allclose(dC_ds1, cg.backward(g, v)["s1"], rtol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_the_cut_holds_everything_not_computed_from_wrt_fixed(mode: str | None) -> None:
    g = cg.parse("s = 2*x\na = s*x + s")
    assert cg.jacobian(g, "s", x=3.0, mode=mode) == 4.0        # x + 1: x held fixed
    assert cg.jacobian(g, "x", x=3.0, mode=mode) == 4 * 3 + 2  # the total derivative
    assert cg.jacobian(g, "a", x=3.0, mode=mode) == 1.0        # itself: the identity
    # the newest version of a reassigned name; an intermediate made of constants only
    g = cg.parse("c = x*2\nc = c + 1\nk = 2*3\ny = c*c*k")
    assert cg.jacobian(g, "c", x=1.0, mode=mode) == 2 * 3 * 6
    assert cg.jacobian(g, "k", x=1.0, mode=mode) == 9.0
    # the cut graph keeps the ids, so the original values serve it
    cut = g.cut("c")
    assert [n.id for n in cut.nodes] == [n.id for n in g.nodes]
    assert cut.nodes[g.latest["c"]].kind == "input" and g.cut("x") is g


def test_a_variable_the_output_does_not_depend_on_is_an_error() -> None:
    g = cg.parse("s1 = W @ x\na1 = relu(s1)\nq = 2*x\nC = sum(a1)")
    with pytest.raises(cg.InputError, match=r"C does not depend on q: no path leads from q to C; "
                                            r"C depends on: W, x, s1, a1"):
        cg.jacobian(g, "q", W=[[1.0]], x=[1.0])
    with pytest.raises(cg.InputError, match=r"s1 does not depend on a1.*a1 is computed from s1: "
                                            r"the other way round, output a1 with respect to s1\?"):
        cg.jacobian(g, "a1", W=[[1.0]], x=[1.0], output="s1")
    with pytest.raises(cg.InputError, match="no variable of that name; its variables are: W, x"):
        cg.jacobian(g, "nope", W=[[1.0]], x=[1.0])
    with pytest.raises(cg.InputError, match="output names a variable"):
        cg.jacobian(g, "x", W=[[1.0]], x=[1.0], output=3)
    # an input that does not reach the output still has a zero derivative (eval's gradient)
    assert cg.jacobian(cg.parse("a = t*3\ny = x*2"), "t", t=1.0, x=1.0) == 0.0
