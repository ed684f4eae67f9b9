"""PNG and PDF from the finished SVG, by librsvg's ``rsvg-convert``.

Graphviz's own PNG and PDF renderers never see the SVG pass (finish.py), so they would draw
rounded boxes instead of the course's D shapes and circles; pages that compgraph finishes
in SVG itself (worksheets, diffs) exist only as SVG. Converting the finished SVG keeps
every shape, colour and glyph the SVG has, and the page size; librsvg lays text out with
Pango and fontconfig, as Graphviz did, so the fonts are the ones the layout was measured
with.

``rsvg-convert`` is librsvg's command-line tool (Debian/Ubuntu: ``librsvg2-bin``; macOS:
``brew install librsvg``), maintained with GNOME; ``scripts/setup.sh`` installs it. The
output is deterministic: 96 pixels per inch, and PDFs dated by ``SOURCE_DATE_EPOCH``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from ..errors import ConverterMissingError, RenderError

CONVERTER = "rsvg-convert"
DPI = 96
# Cairo cannot make images larger than 32767 pixels a side, and one of 16,000 is already
# larger than any screen and slow to draw: huge pictures are scaled down to that.
MAX_PIXELS = 16000

MISSING_CONVERTER = (
    "PNG and PDF are made from the SVG by librsvg's `rsvg-convert`, which was not found on "
    "PATH; install it (Debian/Ubuntu: sudo apt-get install librsvg2-bin; macOS: brew "
    "install librsvg; conda: conda install -c conda-forge librsvg) or write SVG with "
    "--format svg")

_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def zoom_for(svg: bytes) -> float:
    """1, or the scale that keeps a huge picture within Cairo's largest image.

    >>> zoom_for(b'<svg width="720pt" height="100pt"'), zoom_for(b'<svg width="48000pt" height="10pt"')
    (1.0, 0.25)
    """
    m = _SIZE.search(svg[:2000].decode("utf-8", "replace"))
    if not m:
        return 1.0
    largest = max(float(m.group(1)), float(m.group(2))) * DPI / 72
    return 1.0 if largest <= MAX_PIXELS else MAX_PIXELS / largest


def convert(svg: bytes, format: str) -> bytes:
    """The picture ``svg`` (finished SVG bytes) as ``png`` or ``pdf`` bytes."""
    if format not in ("png", "pdf"):
        raise RenderError(f"cannot convert SVG to {format!r}; choose one of: png, pdf")
    exe = shutil.which(CONVERTER)
    if exe is None:
        raise ConverterMissingError(MISSING_CONVERTER)
    cmd = [exe, "--format", format, "--dpi-x", str(DPI), "--dpi-y", str(DPI),
           "--zoom", f"{zoom_for(svg):.6f}", "--unlimited"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    try:
        done = subprocess.run(cmd, input=svg, capture_output=True, env=env, check=False)
    except OSError as err:
        raise RenderError(f"{CONVERTER} could not be run: {err.strerror or err}") from None
    if done.returncode != 0 or not done.stdout:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[0] if lines else f"exit status {done.returncode}"
        raise RenderError(f"{CONVERTER} failed to convert the picture to {format}: {detail}")
    return done.stdout
