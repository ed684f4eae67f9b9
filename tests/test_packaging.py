"""The package's metadata: the dependency bounds are the tested ones, the supported Python
versions are stated once, and the console script is declared.

``scripts/check-pythons.sh`` installs ``tests/requirements-min.txt`` on the oldest supported
Python and runs the suite there, so every lower bound in ``pyproject.toml`` must be exactly
a version pinned in that file; ``scripts/check-wheel.sh`` builds and uses the wheel.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import compgraph

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8")


def _bounds() -> dict[str, str]:
    """``name -> lower bound`` of every dependency and extra in pyproject.toml."""
    return dict(re.findall(r'"([A-Za-z][\w.-]*)>=([\d.]+)"', PYPROJECT.split("[project.scripts]")[0]))


def _pins() -> dict[str, str]:
    lines = (REPO / "tests" / "requirements-min.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def _same_version(a: str, b: str) -> bool:
    pad = lambda v: [int(p) for p in v.split(".")] + [0] * (3 - len(v.split(".")))  # noqa: E731
    return pad(a) == pad(b)


def test_every_lower_bound_is_the_tested_minimum() -> None:
    bounds = {k: v for k, v in _bounds().items() if k != "setuptools"}
    pins = _pins()
    assert {"graphviz", "numpy", "networkx", "pytest", "hypothesis", "syrupy", "matplotlib"} <= set(bounds)
    assert set(bounds) == set(pins), (bounds, pins)
    for name, bound in bounds.items():
        assert _same_version(bound, pins[name]), f"{name}: pyproject says >={bound}, tested {pins[name]}"


def test_supported_pythons_are_stated_and_include_this_one() -> None:
    oldest = int(re.search(r'requires-python = ">=3\.(\d+)"', PYPROJECT).group(1))
    listed = sorted(int(m) for m in re.findall(r'"Programming Language :: Python :: 3\.(\d+)"', PYPROJECT))
    assert listed == list(range(oldest, listed[-1] + 1)), "every minor version from the oldest, no gaps"
    assert oldest <= sys.version_info[1] <= listed[-1]


def test_console_script_and_version() -> None:
    assert 'compgraph = "compgraph.cli:main"' in PYPROJECT
    proc = subprocess.run([sys.executable, "-m", "compgraph", "--version"], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"compgraph {compgraph.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", compgraph.__version__)
