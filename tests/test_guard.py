"""The guard of conftest.py is live: opening a file beside the clone is recorded (and would
fail the run at its end)."""

from __future__ import annotations

import os

import conftest


def test_an_open_beside_the_clone_is_recorded() -> None:
    beside = os.path.join(conftest.REPO, "..", "no-such-shared-folder", "cases.json")
    before = len(conftest.OUTSIDE_READS)
    try:
        open(beside, encoding="utf-8").close()
    except OSError:
        pass
    recorded = conftest.OUTSIDE_READS[before:]
    # This test's own read is expected: take it back so that the run stays green.
    del conftest.OUTSIDE_READS[before:]
    assert recorded == [os.path.abspath(beside)]


def test_reads_inside_the_repository_are_not_recorded() -> None:
    before = len(conftest.OUTSIDE_READS)
    with open(os.path.join(conftest.REPO, "pyproject.toml"), encoding="utf-8") as f:
        f.read(1)
    assert conftest.OUTSIDE_READS[before:] == []
