"""Run Graphviz and write picture files atomically (svg, png, pdf, dot).

A file is written to a temporary file in the same folder and moved over the target with
``os.replace``, so a failure (a layout error, a full disk, an interrupt) leaves no partial
file and never clobbers the previous picture. Every output is produced before the first
file is written. The ``dot`` format needs no Graphviz binary; the others raise
:class:`~compgraph.errors.GraphvizMissingError` with the fix when it is absent.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import graphviz

from ..errors import GraphvizMissingError, RenderError
from ..graph import Graph
from .dot import to_dot
from .dshape import dshape_svg

FORMATS = ("svg", "png", "pdf", "dot")

MISSING_DOT = ("Graphviz's `dot` program was not found on PATH; install it "
               "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
               "others: https://graphviz.org/download/) or write DOT with --format dot")


def pipe(dot: graphviz.Digraph, format: str = "svg", engine: str | None = None) -> bytes:
    """The picture in ``format`` as bytes; SVG gets the D-shaped operators.

    ``format="dot"`` returns the DOT source and needs no binary. ``engine`` defaults to
    the one the picture was built for (``dot``, or ``neato`` for large graphs).

    >>> from compgraph.graph import GraphBuilder
    >>> b = GraphBuilder(); b.bind("y", b.apply("neg", (b.input("x"),)))
    >>> from compgraph.drawing.dot import to_dot
    >>> pipe(to_dot(b.build(), legend=False), "dot").decode().splitlines()[0]
    'digraph compgraph {'
    """
    if format not in FORMATS:
        raise RenderError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    if format == "dot":
        return dot.source.encode("utf-8")
    try:
        data = dot.pipe(format=format, engine=engine, quiet=True)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(MISSING_DOT) from None
    except graphviz.CalledProcessError as err:
        stderr = (err.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        detail = stderr[0] if stderr else f"exit status {err.returncode}"
        raise RenderError(f"Graphviz failed to draw the graph: {detail}") from None
    if format == "svg":
        data = dshape_svg(data.decode("utf-8")).encode("utf-8")
    return data


def _mode_for(path: Path) -> int:
    """The old file's permissions, or what a new file gets under the current umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` all at once: either the whole new file or the old one stays.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "a.txt", b"hi").read_bytes()
    b'hi'
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise RenderError(f"cannot write {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes a private (0600) file; the picture gets the usual permissions.
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise RenderError(f"cannot write {path}: {err.strerror or err}") from None
        raise
    return path


def _targets(path: str | os.PathLike[str], format: str | Iterable[str] | None
             ) -> list[tuple[Path, str]]:
    """Which files to write: the format from the suffix, or each format next to ``path``."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if format is None:
        formats = [suffix if suffix in FORMATS else "svg"]
    else:
        formats = [format] if isinstance(format, str) else list(format)
    for f in formats:
        if f not in FORMATS:
            raise RenderError(f"unknown format {f!r}; choose one of: {', '.join(FORMATS)}")
    if len(formats) == 1 and suffix == formats[0]:
        return [(path, formats[0])]
    base = path.with_suffix("") if suffix in FORMATS else path
    return [(base.with_name(f"{base.name}.{f}"), f) for f in dict.fromkeys(formats)]


def render(graph: Graph, path: str | os.PathLike[str], view: str = "forward",
           values: Any = None, grads: Any = None, tangents: Any = None,
           local: Mapping[tuple[int, int], Any] | None = None, *,
           format: str | Iterable[str] | None = None, engine: str | None = None,
           **options: Any) -> list[Path]:
    """Draw ``graph`` to ``path`` and return the paths written.

    The format comes from the suffix (``w.svg``), or ``format`` names one or several
    (``["svg", "png"]`` writes ``w.svg`` and ``w.png``). ``options`` are those of
    :func:`~compgraph.drawing.to_dot` (``edge_labels``, ``legend``, ``rankdir``, ``theme``,
    ``label_anonymous``, ``title``, ``costs``, ``layout``).

    >>> import tempfile, pathlib
    >>> from compgraph import parse
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "w.dot"
    >>> [p.name for p in render(parse("w = x*y"), out, values=[2.0, 3.0, 6.0])]
    ['w.dot']
    """
    targets = _targets(path, format)
    dot = to_dot(graph, view, values, grads, tangents, local, **options)
    # Everything is drawn before anything is written: a failure leaves no file behind.
    outputs = [(p, pipe(dot, f, engine)) for p, f in targets]
    return [write_atomic(p, data) for p, data in outputs]
