"""SVG pages made by compgraph itself (worksheets, diffs) as PDF or PNG, through rsvg-convert.

Graphviz draws its own PNG and PDF, but a page that compgraph finished in SVG (boxes to
fill in, marks, caption bands) exists only as SVG; librsvg converts it, keeping the page
size. PNG is written at 150 dots per inch, on white.
"""

from __future__ import annotations

import shutil
import subprocess

from ..errors import RenderError

FORMATS = ("svg", "pdf", "png")
PNG_DPI = 150

MISSING_CONVERTER = ("writing this picture as PDF or PNG needs rsvg-convert (Debian/Ubuntu: "
                     "apt-get install librsvg2-bin; macOS: brew install librsvg); or write "
                     "SVG (-o FILE.svg)")


def convert(svg: str, format: str) -> bytes:
    """``svg`` as ``svg``, ``pdf`` or ``png`` bytes.

    >>> convert("<svg/>", "svg")
    b'<svg/>'
    """
    if format not in FORMATS:
        raise RenderError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    if format == "svg":
        return svg.encode("utf-8")
    tool = shutil.which("rsvg-convert")
    if tool is None:
        raise RenderError(MISSING_CONVERTER)
    command = [tool, "-f", format]
    if format == "png":
        command += ["-d", str(PNG_DPI), "-p", str(PNG_DPI), "-b", "white"]
    proc = subprocess.run(command, input=svg.encode("utf-8"), capture_output=True, timeout=120)
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"rsvg-convert could not convert the picture to {format}: "
                          f"{detail[0] if detail else f'exit status {proc.returncode}'}")
    return proc.stdout
