"""Training (``cg.sgd`` and ``compgraph train``): gradient descent step for step against
NumPy written by hand, the command line's outputs, and its errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import cli
from compgraph.commands import Progress

REPO = Path(__file__).resolve().parents[1]
NET = REPO / "examples" / "two-layer-net.cg"
PARAMS = ["W1", "b1", "W2", "b2"]


def numpy_gradient_descent(point: dict, lr: float, steps: int) -> tuple[list[float], dict]:
    """examples/two-layer-net.cg trained by hand: C = ||W2 3relu(W1 x + b1) + b2 - y||^2."""
    W1, b1, W2, b2 = (np.array(point[k], dtype=float) for k in PARAMS)
    x, y = np.array(point["x"], dtype=float), np.array(point["y"], dtype=float)
    losses = []
    for _ in range(steps):
        s1 = W1 @ x + b1                       # forward
        a1 = 3 * np.maximum(s1, 0)
        yhat = W2 @ a1 + b2
        losses.append(float(np.sum((yhat - y) ** 2)))   # loss
        dyhat = 2 * (yhat - y)                 # zero the gradients: fresh ones each step
        dW2, db2 = np.outer(dyhat, a1), dyhat  # backward
        ds1 = (W2.T @ dyhat) * 3 * (s1 > 0)
        dW1, db1 = np.outer(ds1, x), ds1
        W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2  # step
    return losses, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def defaults() -> dict:
    g = cg.parse(NET.read_text(encoding="utf-8"))
    return {g.nodes[i].name: g.nodes[i].value for i in g.inputs}


@pytest.mark.parametrize("lr, steps", [(0.01, 25), (0.003, 60)])
def test_sgd_matches_numpy_gradient_descent_step_for_step(lr: float, steps: int) -> None:
    graph = cg.parse(NET.read_text(encoding="utf-8"))
    result = cg.sgd(graph, params=PARAMS, lr=lr, steps=steps)
    want_losses, want_params = numpy_gradient_descent(defaults(), lr, steps)
    assert len(result.losses) == steps
    np.testing.assert_allclose(result.losses, want_losses, rtol=1e-9, atol=1e-12)
    for name in PARAMS:
        np.testing.assert_allclose(result.params[name], want_params[name], rtol=1e-9, atol=1e-12)
    assert result.losses[-1] < result.losses[0] / 10  # it learns
    losses, params = result  # unpacks as (losses, params)
    assert losses is result.losses and set(params) == set(PARAMS)


def test_sgd_takes_inputs_and_leaves_the_callers_arrays_alone() -> None:
    graph = cg.parse(NET.read_text(encoding="utf-8"))
    start = defaults()
    W1 = np.array(start["W1"], dtype=float)
    x = np.array([0.5, -1.0])
    result = cg.sgd(graph, {"W1": W1}, params=PARAMS, lr=0.01, steps=5, x=x)
    want_losses, want_params = numpy_gradient_descent({**start, "W1": W1, "x": x}, 0.01, 5)
    np.testing.assert_allclose(result.losses, want_losses, rtol=1e-9)
    np.testing.assert_allclose(result.params["W1"], want_params["W1"], rtol=1e-9)
    np.testing.assert_array_equal(W1, start["W1"])  # not written into


def test_zero_steps_and_the_progress_callback() -> None:
    graph = cg.parse("L = (w - 3)**2")
    assert cg.sgd(graph, params=["w"], lr=0.1, steps=0, w=1.0) == ([], {"w": 1.0})
    seen = []
    cg.sgd(graph, params=["w"], lr=0.25, steps=3, w=1.0, progress=lambda k, v: seen.append((k, v)))
    assert seen == [(0, 4.0), (1, 1.0), (2, 0.25)]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"params": ["z"]}, cg.InputError, "cannot train 'z': it is not an input"),
    ({"params": []}, cg.InputError, "name the parameters"),
    ({"params": ["w", "w"]}, cg.InputError, "named twice"),
    ({"params": ["w"], "steps": -1}, cg.InputError, "steps must be a whole number"),
    ({"params": ["w"], "steps": 2.5}, cg.InputError, "steps must be a whole number"),
    ({"params": ["w"], "lr": float("nan")}, cg.InputError, "learning rate must be a finite"),
])
def test_sgd_errors(kwargs: dict, error: type, message: str) -> None:
    args = {"lr": 0.1, "steps": 2, **kwargs}
    with pytest.raises(error, match=message):
        cg.sgd(cg.parse("L = (w - 3)**2"), w=1.0, **args)


def test_a_vector_loss_is_refused() -> None:
    with pytest.raises(cg.EvaluationError, match="training needs a scalar loss"):
        cg.sgd(cg.parse("L = w*v"), params=["w"], lr=0.1, steps=1, w=1.0, v=[1.0, 2.0])


def test_a_loss_that_blows_up_stops_training_with_what_it_had() -> None:
    with pytest.raises(cg.TrainingError, match="not finite .* at step") as e:
        cg.sgd(cg.parse("L = w**4"), params=["w"], lr=10.0, steps=50, w=3.0)
    assert e.value.losses[0] == 81.0 and len(e.value.losses) >= 2
    assert "w" in e.value.params


# --- the command line -----------------------------------------------------------------------

def main(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_train_json_matches_numpy(capsys) -> None:
    code, out, err = main(["train", str(NET), "--params", "W1,b1,W2,b2", "--lr", "0.01",
                           "--steps", "12", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"losses", "params"}
    want_losses, want_params = numpy_gradient_descent(defaults(), 0.01, 12)
    np.testing.assert_allclose(doc["losses"], want_losses, rtol=1e-9)
    for name in PARAMS:
        np.testing.assert_allclose(doc["params"][name], want_params[name], rtol=1e-9)
    assert err == ""  # no progress bar when standard error is not a terminal


def test_train_prints_the_loss_every_few_steps(capsys) -> None:
    code, out, _ = main(["train", str(NET), "--params", "W1,b1,W2,b2", "--lr", "0.01",
                         "--steps", "30"], capsys)
    assert code == 0
    steps = [line for line in out.splitlines() if line.startswith("step")]
    assert [int(line.split()[1]) for line in steps] == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 29]
    want, _ = numpy_gradient_descent(defaults(), 0.01, 30)
    assert float(steps[-1].split()[-1]) == pytest.approx(want[29], rel=1e-9)
    assert "C: 30 steps of gradient descent, lr 0.01" in out
    assert "parameter" in out and "W1" in out
    code, out, _ = main(["train", str(NET), "--params", "W1", "--lr", "0.01", "--steps", "5",
                         "--every", "2"], capsys)
    assert [line.split()[1] for line in out.splitlines() if line.startswith("step")] == [
        "0", "2", "4"]


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, out = Terminal(), io.StringIO()
    bar = Progress(4, None, out, tty)
    for k, loss in enumerate([4.0, 2.0, 1.0, 0.5]):
        bar(k, loss)
    bar.clear()
    assert "[" + "#" * 30 + "] 4/4  loss 0.5" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[K")  # the line is left clean
    assert out.getvalue().splitlines()[0] == "step 0  loss 4"
    quiet = io.StringIO()
    Progress(4, None, None, quiet)(0, 1.0)
    assert quiet.getvalue() == ""


def test_train_writes_parameters_and_the_loss_curve(tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    params = tmp_path / "out" / "params.json"
    plot = tmp_path / "loss.svg"
    code, out, err = main(["train", str(NET), "--params", "W1,b1,W2,b2", "--lr", "0.01",
                           "--steps", "8", "-o", str(params), "--plot", str(plot)], capsys)
    assert code == 0, err
    assert out.splitlines()[-2:] == [str(params), str(plot)]
    written = json.loads(params.read_text(encoding="utf-8"))
    _, want = numpy_gradient_descent(defaults(), 0.01, 8)
    for name in PARAMS:
        np.testing.assert_allclose(written[name], want[name], rtol=1e-9)
    svg = plot.read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg
    again = tmp_path / "again.svg"
    main(["train", str(NET), "--params", "W1,b1,W2,b2", "--lr", "0.01", "--steps", "8",
          "--plot", str(again)], capsys)
    assert again.read_bytes() == plot.read_bytes()  # deterministic
    # the trained parameters, read back: a lower loss than the program's own
    trained = cg.evaluate(cg.parse(NET.read_text(encoding="utf-8")), written).output
    assert trained < cg.evaluate(cg.parse(NET.read_text(encoding="utf-8"))).output


def test_train_reads_data_from_npz_and_json(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data.npz"
    np.savez(data, x=np.array([0.5, -1.0]), y=np.array([2.0, 0.25]))
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"b1": [0.0, 0.0, 0.0]}), encoding="utf-8")
    code, out, err = main(["train", str(NET), "--params", "W1,b1,W2,b2", "--lr", "0.01",
                           "--steps", "6", "--data", str(data), "--inputs", str(inputs),
                           "--json"], capsys)
    assert code == 0, err
    point = {**defaults(), "x": [0.5, -1.0], "y": [2.0, 0.25], "b1": [0.0, 0.0, 0.0]}
    want, _ = numpy_gradient_descent(point, 0.01, 6)
    np.testing.assert_allclose(json.loads(out)["losses"], want, rtol=1e-9)


@pytest.mark.parametrize("args, code, message", [
    (["--params", "W1,q"], 2, "cannot train 'q': it is not an input"),
    (["--params", "W1", "--data", "missing.npz"], 2, "--data missing.npz"),
    (["--params", "W1", "--plot", "loss.txt"], 2, "--plot loss.txt: the suffix must be one of"),
    (["--params", "W1", "--every", "0"], 2, "--every 0"),
    (["--params", "W2", "--lr", "5", "--steps", "300"], 1, "the loss is not finite"),
    (["--lr", "0.1"], 2, "the following arguments are required: --params"),
])
def test_train_errors(args: list[str], code: int, message: str, capsys) -> None:
    argv = ["train", str(NET)] + args
    if "--lr" not in args:
        argv += ["--lr", "0.01"]
    if "--steps" not in args:
        argv += ["--steps", "3"]
    got, out, err = main(argv, capsys)
    assert got == code, err
    assert message in err and "Traceback" not in err


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from compgraph.cli import main\n"
            f"sys.exit(main(['train', {str(NET)!r}, '--params', 'W1', '--lr', '0.01', "
            f"'--steps', '2', '--plot', {str(tmp_path / 'loss.svg')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert "pip install 'compgraph[plot]'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "loss.svg").exists()
