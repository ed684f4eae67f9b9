"""The main job: render every ``examples/*.cg`` in every view into ``renders/``.

Every example is drawn in the four base views; the views that explain a gradient (paths,
check, heatmap: each costs more, the check most) are drawn for the examples listed in
``EXPLAINING``, chosen to show what each view is for; the examples in ``COLLAPSED`` are
drawn again with each call of a function as one block (``collapsed-backward``: ``render
--view backward --collapse``).

Each SVG carries the SHA-256 of the DOT it was drawn from, so a test can tell a stale
picture without comparing SVG bytes (which vary across Graphviz versions).

``python -m compgraph.gallery [EXAMPLES_DIR] [RENDERS_DIR]`` runs it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .differentiate import backward, tangents
from .evaluate import evaluate
from .nodecheck import check_nodes
from .parser import parse
from .pathsum import paths

VIEWS = ("forward", "backward", "both", "tangent")
# Backprop step by step (frames, an HTML stepper) and a worksheet with its key, for these.
WALKTHROUGHS = ("homework-graph",)
EXPLAINING = {
    "homework-graph": ("paths", "check", "heatmap"),
    "two-layer-net": ("paths", "check", "heatmap"),
    "relu-at-zero": ("check",),               # a kink, marked as one
    "deep-sigmoid-chain": ("heatmap",),       # a vanishing gradient
    "deep-tanh-chain": ("heatmap",),          # exploding, then vanishing
}
# Drawn again with every call of a function as one block, beside the open pictures.
COLLAPSED = {
    "two-layer-net-def": VIEWS,                # the course's figure of the two-layer net
    "three-layer-net": ("backward",),          # nested calls: the outermost collapsed
}
COLLAPSED_PREFIX = "collapsed-"
ACTIVATIONS = ("gelu(x)", "leaky_relu(x, 0.1)", "relu(x)", "tanh(x)")
DOT_HASH = "compgraph-dot-sha256"


def tangent_input(input_names: tuple[str, ...]) -> str:
    """The input a tangent picture follows: ``x`` when there is one, else the first."""
    return "x" if "x" in input_names else input_names[0]


def views_of(path: Path) -> tuple[str, ...]:
    """The views the gallery draws an example in (``collapsed-VIEW``: with calls collapsed)."""
    collapsed = tuple(COLLAPSED_PREFIX + v for v in COLLAPSED.get(path.stem, ()))
    return VIEWS + EXPLAINING.get(path.stem, ()) + collapsed


def example_dot(path: Path, view: str) -> tuple[Any, str]:
    """One example's picture in one view (a ``graphviz.Digraph``), or ``None`` and why not."""
    from .drawing import to_dot

    graph = parse(path.read_text(encoding="utf-8"))
    values = evaluate(graph)
    grads = tans = None
    options: dict[str, Any] = {}
    if view.startswith(COLLAPSED_PREFIX):
        view = view[len(COLLAPSED_PREFIX):]
        options["collapse"] = True
    if view not in ("forward", "tangent"):
        if isinstance(values.output, np.ndarray):
            return None, (f"the output {graph.output_name} is not a scalar "
                          "(its derivatives are a Jacobian)")
        grads = backward(graph, values)
    if view == "tangent":
        tans = tangents(graph, values, tangent_input(graph.input_names))
    elif view == "paths":
        options["paths"] = paths(graph, values, tangent_input(graph.input_names))
    elif view == "check":
        options["check"] = check_nodes(graph, values, grads)
    # The defaults are the point: direction, legend and grids chosen for a 16:9 slide.
    return to_dot(graph, view, values, grads, tans, **options), ""


def dot_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def stamped_svg(svg: bytes, source: str) -> bytes:
    """The SVG with a comment holding the hash of its DOT, right after the XML declaration."""
    text = svg.decode("utf-8")
    stamp = f"<!-- {DOT_HASH}: {dot_hash(source)} -->\n"
    head, sep, rest = text.partition("?>\n")
    return (head + sep + stamp + rest if sep else stamp + text).encode("utf-8")


def svg_stamp(svg_text: str) -> str | None:
    """The DOT hash a rendered SVG was stamped with, if any."""
    marker = f"<!-- {DOT_HASH}: "
    start = svg_text.find(marker)
    if start < 0:
        return None
    return svg_text[start + len(marker):svg_text.find(" -->", start)]


def stamped_html(page: str, source: str) -> bytes:
    """An HTML page with the hash of what it was made from, in a comment after its doctype."""
    head, sep, rest = page.partition("\n")
    return f"{head}{sep}<!-- {DOT_HASH}: {dot_hash(source)} -->\n{rest}".encode("utf-8")


def examples(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.cg"))


def walkthrough_sources(path: Path) -> dict[str, str]:
    """The step-by-step pictures of one example, as their paths under ``renders/`` and what
    each is made from (no Graphviz needed): one frame per step in ``steps/NAME/``, the HTML
    stepper ``steps/NAME.html``, and in ``worksheets/`` the worksheet and its answer key."""
    from .drawing.stepper import stepper_source
    from .drawing.worksheet import worksheet_source
    from .steps import walkthrough

    graph = parse(path.read_text(encoding="utf-8"))
    walk = walkthrough(graph, evaluate(graph))
    source = stepper_source(walk)
    digits = max(2, len(str(len(walk))))
    out = {f"steps/{path.stem}/step-{n:0{digits}d}.svg": source for n in range(1, len(walk) + 1)}
    out[f"steps/{path.stem}.html"] = source
    for answers in (False, True):
        name = f"worksheets/{path.stem}-worksheet{'-answers' if answers else ''}.svg"
        out[name] = worksheet_source(walk, answers=answers)
    return out


def walkthrough_pictures(path: Path) -> list[tuple[str, bytes]]:
    """The files of :func:`walkthrough_sources`, drawn and stamped."""
    from .drawing.stepper import Stepper
    from .drawing.worksheet import worksheet_svg
    from .steps import walkthrough

    graph = parse(path.read_text(encoding="utf-8"))
    walk = walkthrough(graph, evaluate(graph))
    stepper = Stepper(walk)
    sources = walkthrough_sources(path)
    names = list(sources)
    drawn = [frame.encode("utf-8") for frame in stepper.frames()]
    out = [(name, stamped_svg(svg, sources[name])) for name, svg in zip(names, drawn)]
    html = names[len(drawn)]
    out.append((html, stamped_html(stepper.html(), sources[html])))
    for name, answers in zip(names[len(drawn) + 1:], (False, True)):
        svg = worksheet_svg(walk, answers=answers).encode("utf-8")
        out.append((name, stamped_svg(svg, sources[name])))
    return out


def render_all(examples_dir: Path, renders_dir: Path) -> Iterator[str]:
    """Render everything; yields one line of progress per picture."""
    from .plot import draw, sample
    from .drawing import pipe, write_atomic

    renders_dir.mkdir(parents=True, exist_ok=True)
    for path in examples(examples_dir):
        for view in views_of(path):
            dot, why = example_dot(path, view)
            target = renders_dir / f"{path.stem}-{view}.svg"
            if dot is None:
                yield f"skipped {target.name}: {why}"
                continue
            write_atomic(target, stamped_svg(pipe(dot, "svg"), dot.source))
            yield str(target)
    for stem in WALKTHROUGHS:
        pictures = walkthrough_pictures(examples_dir / f"{stem}.cg")
        folder = renders_dir / "steps" / stem
        folder.mkdir(parents=True, exist_ok=True)
        (renders_dir / "worksheets").mkdir(parents=True, exist_ok=True)
        written = set()
        for name, data in pictures:
            written.add(write_atomic(renders_dir / name, data))
            yield str(renders_dir / name)
        for old in folder.glob("*.svg"):  # frames of an older, longer walkthrough
            if old not in written:
                old.unlink()
    target = renders_dir / "activation-derivatives.svg"
    try:
        draw([sample(p) for p in ACTIVATIONS], str(target))
        yield str(target)
    except Exception as exc:  # matplotlib is an optional extra
        yield f"skipped {target.name}: {exc}"
    yield from _loss_curve(examples_dir, renders_dir)


LOSS_CURVE = ("two-layer-net", ["W1", "b1", "W2", "b2"], 0.01, 100)
"""The training shown in docs/homework.md 7.1: example, parameters, learning rate, steps."""


def _loss_curve(examples_dir: Path, renders_dir: Path) -> Iterator[str]:
    from .parser import parse
    from .train import sgd
    from .train_plot import draw_losses

    stem, params, lr, steps = LOSS_CURVE
    target = renders_dir / f"{stem}-loss.svg"
    try:
        graph = parse((examples_dir / f"{stem}.cg").read_text(encoding="utf-8"))
        draw_losses(sgd(graph, params=params, lr=lr, steps=steps).losses, str(target),
                    title=graph.output_name)
        yield str(target)
    except Exception as exc:  # matplotlib is an optional extra
        yield f"skipped {target.name}: {exc}"


def main(argv: list[str] | None = None) -> int:
    from .errors import CompgraphError

    args = sys.argv[1:] if argv is None else argv
    examples_dir = Path(args[0]) if args else Path("examples")
    renders_dir = Path(args[1]) if len(args) > 1 else Path("renders")
    try:
        for line in render_all(examples_dir, renders_dir):
            print(line)
    except CompgraphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
