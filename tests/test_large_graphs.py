"""Large graphs never hang (issue 13, target 5): what drawing is estimated to cost, the
refusal of a picture that would take too long, the note's wording, and the progress line.

Every test here is fast: limits are lowered (``max_seconds``, a patched ``MAX_SECONDS``)
instead of drawing large graphs; bench/bench_render.py --issue13 measures the real ones.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

import compgraph as cg
from compgraph.cli import main
from compgraph.drawing import layout, to_dot
from compgraph.drawing.dot import _Builder
from compgraph.errors import GraphTooLargeError, RenderError
from compgraph.progress import Progress

DEF_PROGRAM = "def lin(v):\n    return 2*v + 1\nh = lin(x)\nw = lin(h) * x\n"


def horner(n: int) -> str:
    return "\n".join(["p0 = x"] + [f"p{i} = p{i - 1}*x + 1" for i in range(1, n)])


HORNER_40 = horner(40)


def _built(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record whether a picture was built (the refusal must come before)."""
    built: list[bool] = []
    real = _Builder.build

    def build(self, *args, **kwargs):
        built.append(True)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(_Builder, "build", build)
    return built


# --- the estimate ------------------------------------------------------------------------

def test_the_estimate_grows_with_the_picture_and_the_format() -> None:
    fast = layout.choose_layout(10**6, "fast")
    small = layout.estimate_cost(fast, 100, 120, 120, 10**6)
    large = layout.estimate_cost(fast, 100_000, 120_000, 120_000, 10**6)
    assert 0 < small.total < large.total
    assert large.total == pytest.approx(1000 * small.total)
    png = layout.estimate_cost(fast, 100_000, 120_000, 120_000, 10**6, "png")
    dot_only = layout.estimate_cost(fast, 100_000, 120_000, 120_000, 10**6, "dot")
    assert png.total > large.total > dot_only.total == dot_only.build == large.build
    # dot's own layout grows with its work, not with the counts
    best = layout.choose_layout(10, "best")
    assert (layout.estimate_cost(best, 100, 120, 120, 40_000).layout
            > 100 * layout.estimate_cost(best, 100, 120, 120, 2_000).layout)


def test_to_dot_gives_its_estimate() -> None:
    g = cg.parse(HORNER_40)
    values = cg.evaluate(g, x=0.5)
    picture = to_dot(g, "backward", values, cg.backward(g, values))
    assert picture.cost is not None and 0 < picture.cost.total < layout.SECONDS
    assert to_dot(g, output_format="png").cost.total > to_dot(g).cost.total


# --- the refusal -----------------------------------------------------------------------------

def test_a_picture_estimated_too_long_is_refused_before_it_is_built(monkeypatch) -> None:
    built = _built(monkeypatch)
    g = cg.parse(DEF_PROGRAM)
    with pytest.raises(GraphTooLargeError) as err:
        to_dot(g, max_seconds=1e-9)
    assert built == []
    message = str(err.value)
    assert isinstance(err.value, RenderError) and "\n" not in message
    assert message.startswith("this picture would take about 1 s to draw (")
    assert "more than the 1e-09 s allowed" in message
    assert "(collapse=True, --collapse)" in message  # the program has def calls
    assert "(format='dot', --format dot;" in message
    # Collapsed already: that advice is not given again; no calls: never given.
    with pytest.raises(GraphTooLargeError) as err:
        to_dot(g, collapse=True, max_seconds=1e-9)
    assert "--collapse" not in str(err.value)
    with pytest.raises(GraphTooLargeError) as err:
        to_dot(cg.parse("w = x*y"), max_seconds=1e-9)
    assert "--collapse" not in str(err.value)
    # Within the limit: drawn as always.
    assert to_dot(g, max_seconds=layout.MAX_SECONDS).cost.total < layout.MAX_SECONDS
    assert built == [True]


def test_the_advice_names_what_would_draw_it_in_time(monkeypatch) -> None:
    g = cg.parse(HORNER_40)  # auto: fixed positions, dot's work far over the switch
    svg = to_dot(g).cost.total
    png = to_dot(g, output_format="png").cost.total
    with pytest.raises(GraphTooLargeError) as err:
        to_dot(g, output_format="png", max_seconds=(svg + png) / 2)
    assert "PNG with fixed positions" in str(err.value)
    assert "write SVG instead (about" in str(err.value)
    # dot forced on a graph it cannot lay out in time: fixed positions would do
    g = cg.parse(horner(100))
    assert layout.dot_seconds(to_dot(g).work) > layout.MAX_SECONDS
    with pytest.raises(GraphTooLargeError) as err:
        to_dot(g, layout="best", max_seconds=layout.MAX_SECONDS)
    assert "SVG with dot's layout" in str(err.value)
    assert "lay it out with fixed positions (layout='fast', --layout fast; about" in str(
        err.value)


def test_the_command_line_refuses_in_one_line_and_writes_nothing(
        tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(layout, "MAX_SECONDS", 1e-9)
    program = tmp_path / "net.cg"
    program.write_text(DEF_PROGRAM, encoding="utf-8")
    for out in ("w.svg", "w.png", "w.pdf"):
        code = main(["render", str(program), "--at", "x=2", "--view", "backward",
                     "-o", str(tmp_path / out)])
        captured = capsys.readouterr()
        assert code == 1, captured.err
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: this picture would take")
        assert "--collapse" in lines[0] and "--format dot" in lines[0]
        assert "draw only the part one variable is computed from (--output NAME" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.cg"]
    # The DOT, the way out, is always written.
    assert main(["render", str(program), "--at", "x=2", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph compgraph {")
    assert main(["render", str(program), "--at", "x=2", "-o", str(tmp_path / "w.dot")]) == 0
    assert (tmp_path / "w.dot").read_text(encoding="utf-8").startswith("digraph compgraph {")


def test_the_command_line_refuses_a_large_program_within_seconds(
        tmp_path: Path, monkeypatch, capsys) -> None:
    """20,000 statements are refused before any picture is built (the limit lowered so
    that this one is over it; the bench refuses and draws real ones)."""
    built = _built(monkeypatch)
    monkeypatch.setattr(layout, "MAX_SECONDS", 5.0)
    source = "\n".join(["v0 = x"] + [f"v{i} = v{i - 1}*0.5 + x" for i in range(1, 20_000)])
    start = time.process_time()
    code = main(["render", source, "--at", "x=1", "-o", str(tmp_path / "w.svg")])
    spent = time.process_time() - start
    err = capsys.readouterr().err
    assert code == 1 and "error: this picture would take" in err, err
    assert built == [] and list(tmp_path.iterdir()) == []
    assert spent < 60  # a sanity bound, not a timing: building alone would be far longer


# --- the note -----------------------------------------------------------------------------

def test_the_note_says_renders_in_seconds_only_when_the_estimate_does(monkeypatch) -> None:
    g = cg.parse(HORNER_40)
    quick = to_dot(g)
    assert quick.cost.total < layout.SECONDS and "so it renders in seconds" in quick.note
    # The same picture on a machine ten thousand times slower, as the estimate sees it.
    slow = {k: v * 10_000 for k, v in layout.SECONDS_PER_ELEMENT.items()}
    monkeypatch.setattr(layout, "SECONDS_PER_ELEMENT", slow)
    long = to_dot(g)
    assert long.cost.total > layout.SECONDS
    assert "in seconds" not in long.note
    assert f"straight edges, in {layout.about(long.cost.total)}; use layout='best'" in long.note
    assert layout.choose_layout(5000, seconds=3.0).note.count("so it renders in seconds") == 1
    assert ", in about 2 min;" in layout.choose_layout(5000, seconds=130.0).note
    # Without an estimate, no claim about the time at all.
    unknown = layout.choose_layout(5000).note
    assert "seconds" not in unknown and "about" not in unknown.split(":")[1]


# --- the progress line ----------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_shows_steps_and_elapsed_time_on_a_terminal_after_two_seconds() -> None:
    term, clock = FakeTerminal(), Clock()
    progress = Progress(term, "render", every=3600.0, clock=clock)
    with progress:
        progress.step("building the picture")
        assert term.getvalue() == ""  # not yet two seconds
        clock.now += 2.5
        progress.draw()
        assert term.getvalue() == "\rrender: building the picture, 2 s so far\x1b[K"
        clock.now += 10.0
        progress.step("laying out with neato (about 20 s)")
        progress.say("note: something to read")
        progress.step("writing w.svg")
    assert term.getvalue() == (
        "\rrender: building the picture, 2 s so far\x1b[K"
        "\rrender: laying out with neato (about 20 s), 12 s so far\x1b[K"
        "\r\x1b[Knote: something to read\n"
        "\rrender: laying out with neato (about 20 s), 12 s so far\x1b[K"
        "\rrender: writing w.svg, 12 s so far\x1b[K"
        "\r\x1b[K")  # taken away at the end


def test_progress_redraws_while_a_step_runs() -> None:
    drawn = threading.Event()

    class Watched(FakeTerminal):
        def write(self, text: str) -> int:
            if self.getvalue().count("\r") >= 2:
                drawn.set()
            return super().write(text)

    term = Watched()
    with Progress(term, "render", after=0.0, every=0.01) as progress:
        progress.step("laying out with neato")
        assert drawn.wait(30), term.getvalue()
    assert term.getvalue().count("render: laying out with neato, ") >= 2
    assert term.getvalue().endswith("\r\x1b[K")


def test_progress_says_nothing_when_standard_error_is_not_a_terminal() -> None:
    stream, clock = io.StringIO(), Clock()
    with Progress(stream, "render", after=0.0, clock=clock) as progress:
        clock.now += 1000.0
        progress.step("laying out with neato")
        progress.draw()
    assert stream.getvalue() == "" and progress._ticker is None


@pytest.mark.needs_dot
def test_render_shows_its_steps_on_a_terminal(tmp_path: Path, monkeypatch, capsys) -> None:
    term = FakeTerminal()
    monkeypatch.setattr("sys.stderr", term)
    monkeypatch.setattr(Progress, "AFTER", 0.0)  # every step shown, however quick
    monkeypatch.setattr(Progress, "EVERY", 3600.0)
    out = tmp_path / "w.svg"
    assert main(["render", "w = x*y", "--at", "x=2,y=3", "-o", str(out)]) == 0
    shown = term.getvalue()
    for step in ("render: reading and evaluating the program, 0 s so far",
                 "render: building the picture, ", "render: laying out with dot (about ",
                 f"render: writing {out}, "):
        assert step in shown, shown
    assert shown.endswith("\r\x1b[K")
    assert capsys.readouterr().out == f"{out}\n"


@pytest.mark.needs_dot
def test_render_shows_nothing_when_standard_error_is_not_a_terminal(
        tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(Progress, "AFTER", 0.0)
    assert main(["render", "w = x*y", "--at", "x=2,y=3", "-o", str(tmp_path / "w.svg")]) == 0
    assert capsys.readouterr().err == ""


def test_png_and_pdf_are_refused_past_what_the_converter_reads(monkeypatch) -> None:
    from compgraph.drawing import dot as dot_module

    g = cg.parse(HORNER_40)
    monkeypatch.setattr(dot_module, "CONVERTER_MAX_XML", 100)  # rsvg-convert's is a million
    for fmt in ("png", "pdf"):
        with pytest.raises(GraphTooLargeError) as err:
            to_dot(g, output_format=fmt)
        assert str(err.value).startswith(f"this picture is too large for {fmt.upper()}: "
                                         "rsvg-convert, which makes it from the SVG, reads at "
                                         "most 100 SVG elements and it would have about ")
        assert "write SVG instead (about" in str(err.value)
    assert to_dot(g, output_format="svg").cost is not None
