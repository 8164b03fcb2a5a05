"""Options for the whole suite: ``--soak`` runs the fuzz tests twenty times longer."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="fuzz tests: 20x the examples (also env FLOWBUILDER_FUZZ_SCALE=N)",
    )
