"""Shared test set-up.

- The ``needs_dot`` marker skips only when Graphviz's dot is truly absent.
- A guard fails the run when any test opens a file beside the clone (``../shared`` or any
  other sibling of the repository): a stranger's clone has nothing beside it, so every file
  the suite reads must live in the repository. ``.ci/run`` also runs the suite from a copy
  of the clone in an empty folder, which covers subprocesses too.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BESIDE = os.path.dirname(REPO) + os.sep
_INSIDE = REPO + os.sep

# What sat beside the clone when the run began (pytest's own temporary folders aside).
# Folders the tests create during the run (temporary ones, when the clone itself is in
# the temporary folder) are not neighbours; a neighbour, or anything beside the clone that
# does not exist (../shared on a stranger's machine), is.
_NEIGHBOURS = frozenset(n for n in os.listdir(_BESIDE)
                        if n != os.path.basename(REPO) and not n.startswith("pytest-of-"))

OUTSIDE_READS: list[str] = []


def outside_repository(path: object) -> bool:
    """Whether ``path`` lies beside the clone: in a folder that sat next to it when the
    tests began, or one that does not exist at all.

    >>> outside_repository(os.path.join(REPO, "..", "no-such-folder", "cases.json"))
    True
    >>> outside_repository(os.path.join(REPO, "tests", "cases", "public.json"))
    False
    """
    if isinstance(path, int) or not isinstance(path, (str, bytes, os.PathLike)):
        return False
    full = os.path.abspath(os.fsdecode(path))
    if not full.startswith(_BESIDE) or (full + os.sep).startswith(_INSIDE):
        return False
    top = full[len(_BESIDE):].split(os.sep, 1)[0]
    return top in _NEIGHBOURS or not os.path.exists(_BESIDE + top)


def _audit(event: str, args: tuple) -> None:
    # Called for every open in the process (imports included): keep it to a prefix test.
    if event == "open" and args and outside_repository(args[0]):
        OUTSIDE_READS.append(os.path.abspath(os.fsdecode(args[0])))


sys.addaudithook(_audit)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("dot"):
        return
    skip = pytest.mark.skip(reason="the Graphviz dot binary is not installed (scripts/setup.sh installs it)")
    for item in items:
        if "needs_dot" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OUTSIDE_READS:
        seen = sorted(set(OUTSIDE_READS))
        sys.stderr.write("\nerror: the tests opened files outside the repository (a stranger's "
                         "clone has nothing beside it):\n" + "".join(f"  {p}\n" for p in seen))
        session.exitstatus = 1


@pytest.fixture
def repo() -> Path:
    return Path(REPO)
