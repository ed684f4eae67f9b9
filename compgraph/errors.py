"""The project's exceptions, and the caret excerpt that points at a place in a program."""

from __future__ import annotations


class CompgraphError(Exception):
    """Base of every error compgraph raises on purpose."""


def excerpt(source: str, start: int, end: int | None = None) -> tuple[int, int, str]:
    """Return ``(line, column, text)`` for the span ``source[start:end]``.

    ``text`` is the offending line followed by a caret line under the span.
    Lines and columns count from 1.

    >>> line, col, text = excerpt("a = x +\\nb = 2", 6, 7)
    >>> (line, col)
    (1, 7)
    >>> print(text)
      a = x +
            ^
    """
    start = max(0, min(start, len(source)))
    end = start + 1 if end is None or end <= start else end
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    if line_end == -1:
        line_end = len(source)
    line = source.count("\n", 0, start) + 1
    col = start - line_start + 1
    text = source[line_start:line_end].replace("\t", " ")
    width = max(1, min(end, line_end) - start)
    return line, col, f"  {text}\n  {' ' * (col - 1)}{'^' * width}"


class LocatedError(CompgraphError):
    """An error about a span of a program: the message carries line, column and caret."""

    def __init__(self, message: str, source: str | None = None,
                 start: int | None = None, end: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line: int | None = None
        self.column: int | None = None
        self.caret = ""
        if source is not None and start is not None:
            self.line, self.column, self.caret = excerpt(source, start, end)
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}, column {self.column}: {self.message}\n{self.caret}"


class ParseError(LocatedError, ValueError):
    """A program that is not valid compgraph language, or names something it does not define."""


class UnknownNameError(ParseError, KeyError):
    """A name the program does not define. Also a ``KeyError``, so that the mappings keyed by
    name (values, gradients, tangents) answer ``in`` and ``get`` as every mapping does."""


class InputError(CompgraphError, ValueError):
    """A value given for an input is missing, unknown or malformed."""


class PathLimitError(InputError):
    """More paths than the limit asked for: ``count`` paths, ``limit`` allowed."""

    def __init__(self, message: str, count: int, limit: int) -> None:
        super().__init__(message)
        self.count = count
        self.limit = limit


class NotComputedError(CompgraphError, KeyError):
    """A gradient that reverse mode was not asked for: ``backward(..., wrt=[...])`` computes
    only the variables named and those between them and the output. Also a ``KeyError``,
    so that ``name in grads`` and ``grads.get(name)`` answer as for any mapping."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class EvaluationError(LocatedError, ValueError):
    """Evaluating or differentiating a graph failed (shapes that do not fit, a non-scalar output)."""


class ShapeWarning(UserWarning):
    """Shapes that broadcast to something larger than both operands (``(3, 1) + (3,)``
    gives ``(3, 3)``): legal NumPy, but usually a column given where a flat list was meant.
    ``evaluate(..., strict=True)`` (``--strict-shapes``) makes it an :class:`EvaluationError`."""


class RenderError(CompgraphError, RuntimeError):
    """Drawing a graph failed."""


class OutputPathError(RenderError, ValueError):
    """An output path whose format cannot be told from its suffix (``w.jpg``)."""


class GraphvizMissingError(RenderError):
    """The Graphviz ``dot`` binary is needed and was not found."""


class GraphTooLargeError(RenderError):
    """A picture whose drawing is estimated to take longer than allowed (``max_seconds``):
    refused before the work, with what would draw it sooner."""


class ConverterMissingError(RenderError):
    """The SVG converter that makes PNG and PDF (librsvg's ``rsvg-convert``) was not found."""
