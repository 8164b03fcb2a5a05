"""A function for the ``python`` node in sandbox end-to-end tests, reached by import path
(the test puts this folder on ``sys.path``): ``sandbox_slow:slow_lookup``."""

from __future__ import annotations

import time
from typing import Any


def slow_lookup(*, facts: dict[str, Any], variables: dict[str, Any]) -> str:
    """Takes 0.6 s: inside the flow's own timeout, but later than a tight answer window."""
    time.sleep(0.6)
    return "next"
