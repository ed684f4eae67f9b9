"""Run Graphviz and write picture files atomically (svg, png, pdf, dot).

A file is written to a temporary file in the same folder and moved over the target with
``os.replace``, so a failure (a layout error, a full disk, an interrupt) leaves no partial
file and never clobbers the previous picture. Every output is produced before the first
file is written. The ``dot`` format needs no Graphviz binary; the others raise
:class:`~compgraph.errors.GraphvizMissingError` with the fix when it is absent.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any, Iterable, Mapping

import graphviz

from ..errors import GraphvizMissingError, OutputPathError, RenderError
from ..graph import Graph
from .dot import to_dot
from .finish import finish_svg

FORMATS = ("svg", "png", "pdf", "dot")

MISSING_DOT = ("Graphviz's `dot` program was not found on PATH; install it "
               "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
               "others: https://graphviz.org/download/) or write DOT with --format dot")


def pipe(dot: graphviz.Digraph, format: str = "svg", engine: str | None = None) -> bytes:
    """The picture in ``format`` as bytes; SVG gets the course's shapes, and PNG and PDF are
    made from that SVG.

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
    if format in ("png", "pdf"):
        # From the finished SVG, so that they keep its shapes (convert.py).
        from .convert import convert

        return convert(pipe(dot, "svg", engine), format)
    try:
        data = dot.pipe(format=format, engine=engine, quiet=True)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(MISSING_DOT) from None
    except graphviz.CalledProcessError as err:
        stderr = (err.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        detail = stderr[0] if stderr else f"exit status {err.returncode}"
        raise RenderError(f"Graphviz failed to draw the graph: {detail}") from None
    if format == "svg":
        data = finish_svg(data.decode("utf-8")).encode("utf-8")
    return data


def _mode_for(path: Path) -> int:
    """The old file's permissions, or what a new file gets under the current umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def check_folder(path: str | os.PathLike[str]) -> None:
    """Raise :class:`RenderError` naming the problem when ``path`` cannot be written for
    want of a folder: the folder does not exist (it is never created: a mistyped tree
    would be), or a file stands where a folder should be, or ``path`` is itself a folder.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "notes.txt").write_text("")
    0
    >>> check_folder(folder / "notes.txt" / "w.svg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    compgraph.errors.RenderError: cannot write .../notes.txt/w.svg: .../notes.txt is a file, not a folder
    """
    path = Path(path)
    folder = path.parent
    if os.path.isdir(path):
        raise RenderError(f"cannot write {path}: it is a folder")
    if os.path.isdir(folder):
        return
    part = folder
    while not os.path.lexists(part) and part != part.parent:
        part = part.parent
    if os.path.lexists(part) and not os.path.isdir(part):
        raise RenderError(f"cannot write {path}: {part} is a file, not a folder")
    raise RenderError(f"cannot write {path}: the folder {folder} does not exist")


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new private (0600) file beside ``path`` (``.w.svg.<random>.tmp``), open for
    writing, made as ``tempfile.mkstemp`` makes it: tempfile itself loads ``random`` and
    ``shutil``, a few milliseconds of every picture the command line writes."""
    flags = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_BINARY", 0))
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` all at once: either the whole new file or the old one stays.

    The folder must exist (see :func:`check_folder`). Every failure names ``path``, never
    the temporary file beside it.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "a.txt", b"hi").read_bytes()
    b'hi'
    """
    path = Path(path)
    check_folder(path)
    try:
        fd, tmp = _temporary_beside(path)
    except OSError as err:
        raise RenderError(f"cannot write {path}: {err.strerror or err}") from None
    try:
        # The temporary file is private (0600); the picture gets the usual permissions.
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


def format_of(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The format to write ``path`` in: ``format`` if given, else the path's suffix
    (``.gv`` is DOT). The command line and :func:`render` share it, and its error.

    >>> format_of("w.svg"), format_of("w.gv"), format_of("w", "png")
    ('svg', 'dot', 'png')
    >>> format_of("w.jpg")
    Traceback (most recent call last):
      ...
    compgraph.errors.OutputPathError: cannot tell the format of 'w.jpg' from its suffix; use .svg, .png, .pdf or .dot, or name the format (--format on the command line, format= in Python)
    """
    if format is not None:
        if format not in FORMATS:
            raise RenderError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
        return format
    suffix = Path(path).suffix.lower().lstrip(".")
    suffix = "dot" if suffix == "gv" else suffix
    if suffix not in FORMATS:
        raise OutputPathError(f"cannot tell the format of {str(path)!r} from its suffix; use "
                              ".svg, .png, .pdf or .dot, or name the format (--format on the "
                              "command line, format= in Python)")
    return suffix


def _targets(path: str | os.PathLike[str], format: str | Iterable[str] | None
             ) -> list[tuple[Path, str]]:
    """Which files to write: the format from the suffix, or each format next to ``path``."""
    path = Path(path)
    if format is None:
        return [(path, format_of(path))]
    formats = [format] if isinstance(format, str) else list(format)
    for f in formats:
        format_of(path, f)
    suffix = path.suffix.lower().lstrip(".")
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

    The format comes from the suffix (``w.svg``; another suffix is an
    :class:`~compgraph.errors.OutputPathError`), or ``format`` names one or several
    (``["svg", "png"]`` writes ``w.svg`` and ``w.png``). The folder must exist. ``options`` are those of
    :func:`~compgraph.drawing.to_dot` (``edge_labels``, ``legend``, ``rankdir``, ``theme``,
    ``label_anonymous``, ``title``, ``costs``, ``layout``).

    >>> import tempfile, pathlib
    >>> from compgraph import parse
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "w.dot"
    >>> [p.name for p in render(parse("w = x*y"), out, values=[2.0, 3.0, 6.0])]
    ['w.dot']
    """
    targets = _targets(path, format)
    for target, _ in targets:
        check_folder(target)
    dot = to_dot(graph, view, values, grads, tangents, local, **options)
    # Everything is drawn before anything is written: a failure leaves no file behind.
    outputs = [(p, pipe(dot, f, engine)) for p, f in targets]
    return [write_atomic(p, data) for p, data in outputs]
