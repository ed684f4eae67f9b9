"""The plot command: sampled derivatives come from compgraph and match the analytic ones."""

from __future__ import annotations

import csv
import io
import math
import os
import sys

import numpy as np
import pytest

from compgraph import cli
from compgraph.plot import INSTALL_HINT, PlotUsageError, parse_range, sample

_erf = np.vectorize(math.erf)


def phi_cdf(x):
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def phi_pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# program -> (f, f') written by hand here, only to check compgraph's sampled curves.
ANALYTIC = {
    "gelu(x)": (lambda x: x * phi_cdf(x), lambda x: phi_cdf(x) + x * phi_pdf(x)),
    "leaky_relu(x, 0.1)": (lambda x: np.where(x > 0, x, 0.1 * x),
                           lambda x: np.where(x > 0, 1.0, 0.1)),
    "relu(x)": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0) * 1.0),
    "tanh(x)": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "x*sigmoid(x)": (lambda x: x * sigmoid(x),
                     lambda x: sigmoid(x) + x * sigmoid(x) * (1.0 - sigmoid(x))),
    "softplus(x)": (lambda x: np.log1p(np.exp(x)), sigmoid),
    "sin(x)**2": (lambda x: np.sin(x) ** 2, lambda x: 2 * np.sin(x) * np.cos(x)),
}


@pytest.mark.parametrize("program", sorted(ANALYTIC))
def test_sampled_derivative_matches_analytic(program: str) -> None:
    f, df = ANALYTIC[program]
    s = sample(program)  # default range [-4, 4], 801 points: 0 is a sample
    assert s.x[0] == -4.0 and s.x[-1] == 4.0 and len(s.x) == 801
    assert 0.0 in s.x
    np.testing.assert_allclose(s.f, f(s.x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.df, df(s.x), rtol=1e-10, atol=1e-12)


def test_kinks_follow_pytorch() -> None:
    relu = sample("relu(x)", -1, 1, 3)
    assert relu.df.tolist() == [0.0, 0.0, 1.0]  # relu'(0) = 0
    leaky = sample("leaky_relu(x, 0.1)", -1, 1, 3)
    assert leaky.df.tolist() == [0.1, 0.1, 1.0]  # slope 0.1, and the slope at 0
    assert leaky.f.tolist() == [-0.1, 0.0, 1.0]


def test_gelu_is_the_exact_erf_form_not_the_tanh_approximation() -> None:
    s = sample("gelu(x)", -3, 3, 61)
    exact = phi_cdf(s.x) + s.x * phi_pdf(s.x)
    np.testing.assert_allclose(s.df, exact, rtol=1e-12, atol=1e-14)
    approx = sample("gelu_tanh(x)", -3, 3, 61)
    assert np.max(np.abs(approx.df - exact)) > 1e-4


def test_derivative_is_compgraphs_own_on_one_batched_array(monkeypatch: pytest.MonkeyPatch) -> None:
    import compgraph.plot as plot

    calls = []
    real = plot.tangents

    def spy(graph, values, wrt):
        calls.append(np.shape(values.inputs[wrt]))
        return real(graph, values, wrt)

    monkeypatch.setattr(plot, "tangents", spy)
    sample("tanh(x)", -2, 2, 101)
    assert calls == [(101,)]


def test_any_input_name_and_multi_statement_programs() -> None:
    s = sample("u = t*t\nv = 3*u + t")
    assert s.wrt == "t" and s.label == "v"
    np.testing.assert_allclose(s.df, 6 * s.x + 1)


@pytest.mark.parametrize("program, words", [
    ("x*y", "exactly one input"),
    ("3.0", "exactly one input"),
    ("sum(x)*x", "elementwise"),
    ("x*mean(x)", "elementwise"),
    ("x @ x", "elementwise"),
])
def test_programs_plot_cannot_draw(program: str, words: str) -> None:
    with pytest.raises(PlotUsageError, match=words):
        sample(program)


def test_range_parsing() -> None:
    assert parse_range("-2,2") == (-2.0, 2.0)
    assert parse_range("[-1.5, 3]") == (-1.5, 3.0)
    for bad in ("1,0", "a,b", "1", "0,inf"):
        with pytest.raises(PlotUsageError):
            parse_range(bad)


# --- the command line -------------------------------------------------------------------------

def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_holds_x_f_and_df_per_program(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["plot", "tanh(x)", "leaky_relu(x, 0.1)", "--csv", "--points", "9",
                          "--range=-2,2"], capsys)
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["x", "tanh(x)", "d/dx tanh(x)", "leaky_relu(x, 0.1)",
                       "d/dx leaky_relu(x, 0.1)"]
    data = np.array(rows[1:], dtype=float)
    assert data.shape == (9, 5)
    x = data[:, 0]
    np.testing.assert_allclose(x, np.linspace(-2, 2, 9))
    np.testing.assert_allclose(data[:, 2], 1 - np.tanh(x) ** 2, rtol=1e-12)
    np.testing.assert_allclose(data[:, 4], np.where(x > 0, 1.0, 0.1))


def test_csv_derivative_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plot", "relu(x)", "--csv", "--derivative-only", "--points", "3",
                        "--range=-1,1"], capsys)
    assert code == 0
    assert out == "x,d/dx relu(x)\n-1.0,0.0\n0.0,0.0\n1.0,1.0\n"


@pytest.mark.parametrize("argv, words", [
    (["plot", "x*y", "--csv"], "exactly one input"),
    (["plot", "sum(x)", "--csv"], "elementwise"),
    (["plot", "tanh(x)"], "-o FILE"),
    (["plot", "tanh(x)", "--csv", "--range=3,1"], "LO < HI"),
    (["plot", "tanh(x)", "--csv", "--points", "1"], "at least 2"),
    (["plot", "tanh(x)", "-o", "out.jpg"], "svg, png, pdf"),
    (["plot", "tanh(", "--csv"], "line 1"),
])
def test_usage_errors_exit_2_with_one_message(argv: list[str], words: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and words in err and "Traceback" not in err


def test_without_matplotlib_one_line_names_the_install(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path, capsys) -> None:
    # None in sys.modules makes `import matplotlib` raise ImportError.
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    target = tmp_path / "a.svg"
    code, out, err = run(["plot", "tanh(x)", "-o", str(target)], capsys)
    assert code == 1 and out == ""
    assert err == f"error: plot needs matplotlib: {INSTALL_HINT}\n"
    assert not target.exists()
    # --csv alone needs no matplotlib
    code, out, err = run(["plot", "tanh(x)", "--csv", "--points", "2"], capsys)
    assert code == 0 and out.startswith("x,tanh(x),d/dx tanh(x)\n")


def test_svg_is_written_atomically_and_deterministically(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    programs = ["gelu(x)", "leaky_relu(x, 0.1)", "relu(x)", "tanh(x)"]
    (tmp_path / "sub").mkdir()
    a, b = tmp_path / "sub" / "a.svg", tmp_path / "sub" / "b.svg"
    assert run(["plot", *programs, "-o", str(a)], capsys) == (0, f"{a}\n", "")
    assert run(["plot", *programs, "-o", str(b)], capsys)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    assert text.startswith("<?xml") and "<svg" in text and "dc:date" not in text
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.svg", "b.svg"]  # no temp files


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_other_formats(tmp_path, capsys, suffix: str, magic: bytes) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / f"d{suffix}"
    code, _, _ = run(["plot", "tanh(x)", "x*sigmoid(x)", "softplus(x)", "--derivative-only",
                      "-o", str(target)], capsys)
    assert code == 0 and target.read_bytes().startswith(magic)


def test_csv_and_picture_together(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "t.svg"
    code, out, err = run(["plot", "tanh(x)", "--csv", "--points", "2", "-o", str(target)], capsys)
    assert code == 0 and out.count("\n") == 3 and err == f"{target}\n"
    assert os.path.getsize(target) > 1000


def test_derivative_only_panels_are_titled_f_prime(tmp_path, monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from compgraph.plot import draw, sample

    titles: dict[bool, list[str]] = {}

    def keep_titles(fig, *args, **kwargs):
        titles[only] = [ax.get_title() for ax in fig.axes if ax.get_visible()]

    monkeypatch.setattr(Figure, "savefig", keep_titles)
    samples = [sample("gelu(x)", points=5), sample("x*sigmoid(x)", points=5)]
    for only in (True, False):
        draw(samples, str(tmp_path / f"p{only}.svg"), derivative_only=only)
    assert titles[True] == ["gelu′(x)", "(x*sigmoid(x))′"]
    assert titles[False] == ["gelu(x)", "x*sigmoid(x)"]
