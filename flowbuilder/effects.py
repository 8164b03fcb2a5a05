"""Effects: the outside-world work a node asks for during a callback, as plain data.

The engine never performs I/O. A node that needs an HTTP request or a Python function returns an
effect; the driver (callback server, ``simulate()``, the sandbox) performs it with a deadline and
feeds an :class:`EffectResult` back to :func:`flowbuilder.engine.resume`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request whose JSON answer the node maps into variables."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class PythonCall:
    """A registered function (``pkg.mod:func``) called with the call's facts and variables."""

    target: str
    facts: dict[str, Any]
    variables: dict[str, Any]
    timeout_ms: int


Effect = HttpRequest | PythonCall


@dataclass(frozen=True, slots=True)
class EffectResult:
    """What performing an effect gave.

    ``timed_out`` means the deadline passed; ``error`` is a one-line reason when it failed
    otherwise; ``status`` and ``data`` are the HTTP status and decoded JSON (for ``HttpRequest``)
    or the function's return value (for ``PythonCall``).
    """

    status: int | None = None
    data: Any = None
    error: str = ""
    timed_out: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and not self.timed_out
