"""Options for the whole suite: ``--soak`` runs the fuzz tests twenty times longer; browser
tests skip on a machine without Chromium; programs that ``flowbuilder serve`` caches go to a
directory of this run's own, not the user's."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    os.environ["FLOWBUILDER_CACHE"] = tempfile.mkdtemp(prefix="flowbuilder-test-cache-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="fuzz tests: 20x the examples (also env FLOWBUILDER_FUZZ_SCALE=N)",
    )


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a machine without Chromium every browser test is skipped, saying so in one line
    (``make test`` installs it where it can: as root, with apt)."""
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"no Chromium at {CHROMIUM}: apt-get install chromium (make test does, as root)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
