"""Shared test set-up: the needs_dot marker skips only when Graphviz's dot is truly absent."""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("dot"):
        return
    skip = pytest.mark.skip(reason="the Graphviz dot binary is not installed (scripts/setup.sh installs it)")
    for item in items:
        if "needs_dot" in item.keywords:
            item.add_marker(skip)
