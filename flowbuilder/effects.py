"""Effects: the outside-world work a node asks for during a callback, as plain data.

The engine never performs I/O. A node that needs an HTTP request or a Python function returns an
effect; the driver (callback server, ``simulate()``, the sandbox) performs it with a deadline and
feeds an :class:`EffectResult` back to :func:`flowbuilder.engine.resume`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from flowbuilder.trust import TRUSTED, Trust

#: An HTTP answer is read up to this many bytes (the node's ``max_bytes``); past it, refused.
HTTP_MAX_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request whose JSON answer the node maps into variables.

    The answer is read up to ``max_bytes``. Link-local and cloud metadata addresses are always
    refused; loopback and private ones unless ``allow_private_network`` (a flow setting).
    """

    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    timeout_ms: int
    max_bytes: int = HTTP_MAX_BYTES
    allow_private_network: bool = False


@dataclass(frozen=True, slots=True)
class PythonCall:
    """A function (``pkg.mod:func``) called with the call's facts and variables, imported only
    as ``trust`` (the flow's policy, :mod:`flowbuilder.trust`) allows."""

    target: str
    facts: dict[str, Any]
    variables: dict[str, Any]
    timeout_ms: int
    trust: Trust = TRUSTED


Effect = HttpRequest | PythonCall


@dataclass(frozen=True, slots=True)
class EffectResult:
    """What performing an effect gave.

    ``timed_out`` means the deadline passed; ``error`` is a one-line reason when it failed
    otherwise; ``status`` and ``data`` are the HTTP status and decoded JSON (for ``HttpRequest``)
    or the function's return value (for ``PythonCall``). When it timed out, ``limit_ms`` is
    the time it was given, which the callback's answer budget (``budget_ms``) may have cut
    below the node's own ``timeout_ms``.
    """

    status: int | None = None
    data: Any = None
    error: str = ""
    timed_out: bool = False
    limit_ms: int | None = None
    budget_ms: int | None = None

    @property
    def ok(self) -> bool:
        return not self.error and not self.timed_out

    def given_ms(self, timeout_ms: int) -> int:
        """How long it was given, for a node whose own timeout is *timeout_ms*."""
        return self.limit_ms if self.limit_ms is not None else timeout_ms

    def budget_note(self, timeout_ms: int) -> str:
        """``": the callback's answer budget was nearly spent..."`` when the budget cut the
        node's *timeout_ms* short, else ``""``: what a timeout message adds to be honest."""
        if self.given_ms(timeout_ms) < timeout_ms and self.budget_ms is not None:
            return (
                f": the callback's {self.budget_ms} ms answer budget was nearly spent "
                f"(the node allows {timeout_ms} ms)"
            )
        return ""
