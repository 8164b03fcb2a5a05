"""Functions for ``python`` node tests, reached by import path (the test puts this folder on
``sys.path``, as a user's project would be): ``sample_functions:<name>``."""

from __future__ import annotations

import time
from typing import Any


def route_by_tier(*, facts: dict[str, Any], variables: dict[str, Any]) -> str:
    """A plain outcome name."""
    return "vip" if variables.get("tier") == "gold" else "standard"


def greet_pair(*, facts: dict[str, Any], variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An (outcome, variables) pair built from the call facts."""
    return "vip", {"greeting": f"Welcome back {facts['caller']}", "direction": facts["direction"]}


def mutate(*, facts: dict[str, Any], variables: dict[str, Any]) -> str:
    """Changes its arguments in place: the call must not see it."""
    variables["tier"] = "hacked"
    facts["caller"] = "nobody"
    return "standard"


def undeclared(*, facts: dict[str, Any], variables: dict[str, Any]) -> str:
    return "platinum"


def explode(*, facts: dict[str, Any], variables: dict[str, Any]) -> str:
    raise ValueError("the CRM is down")


def slow(*, facts: dict[str, Any], variables: dict[str, Any]) -> str:
    time.sleep(0.5)
    return "vip"


def not_json(*, facts: dict[str, Any], variables: dict[str, Any]) -> Any:
    return {"outcome": "vip", "variables": {"when": object()}}


def bad_names(*, facts: dict[str, Any], variables: dict[str, Any]) -> Any:
    return {"outcome": "vip", "variables": {"_fb": "forged"}}


def extra_keys(*, facts: dict[str, Any], variables: dict[str, Any]) -> Any:
    return {"outcome": "vip", "goto": "admin"}


def nothing(*, facts: dict[str, Any], variables: dict[str, Any]) -> None:
    return None


NOT_CALLABLE = 42
