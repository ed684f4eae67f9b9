"""PNG and PDF from a finished SVG, by librsvg's ``rsvg-convert``.

Pages that compgraph finishes in SVG itself (worksheets with boxes to fill in, diffs with
their marks and caption band) exist only as SVG; librsvg converts them, keeping the page
size. Same interface as the converter the pictures' PNG and PDF are moving to.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ..errors import RenderError

CONVERTER = "rsvg-convert"
DPI = 96

MISSING_CONVERTER = (
    "PNG and PDF are made from the SVG by librsvg's `rsvg-convert`, which was not found on "
    "PATH; install it (Debian/Ubuntu: sudo apt-get install librsvg2-bin; macOS: brew "
    "install librsvg) or write SVG")


def convert(svg: bytes, format: str) -> bytes:
    """The picture ``svg`` (SVG bytes) as ``png`` or ``pdf`` bytes."""
    if format not in ("png", "pdf"):
        raise RenderError(f"cannot convert SVG to {format!r}; choose one of: png, pdf")
    exe = shutil.which(CONVERTER)
    if exe is None:
        raise RenderError(MISSING_CONVERTER)
    cmd = [exe, "--format", format, "--dpi-x", str(DPI), "--dpi-y", str(DPI)]
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
