"""Effects performed by the callback server during a callback, within what is left of its budget.

One HTTP client serves every call (made on first use, in a worker thread: loading TLS
certificates takes tens of milliseconds that other calls must not wait for), and every effect
gets the time left of the answer budget at most, so each answer leaves well inside CALLR's
5-second window. A late effect is a ``timeout`` result, never a late answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from flowbuilder import effect_runner
from flowbuilder.budget import AnswerBudget
from flowbuilder.effects import Effect, EffectResult, HttpRequest
from flowbuilder.hygiene import clean

if TYPE_CHECKING:
    import httpx  # imported with the client: a flow that makes no request never needs it

#: Extra time given to the effect runner past an effect's own deadline before we stop waiting.
EFFECT_GRACE_MS: Final = 100


def describe_effect(effect: Effect, result: EffectResult, elapsed_ms: float) -> str:
    """One line for the event log; a URL's credentials (``user:password@``) and query string
    (often a key) are left out, and control characters escaped."""
    if isinstance(effect, HttpRequest):
        try:
            parts = urlsplit(effect.url)
            host = parts.netloc.rpartition("@")[2]
            where = clean(f"{parts.scheme}://{host}{parts.path}")
        except ValueError:
            where = "(bad URL)"
        what = f"{effect.method} {where}"
    else:
        what = f"python {effect.target}"
    if result.timed_out:
        got = f"timed out after {effect.timeout_ms} ms"
    elif result.error:
        got = f"failed: {result.error}"
    else:
        got = f"HTTP {result.status}" if result.status is not None else "ok"
    return f"{what}: {got} ({elapsed_ms:.0f} ms)"


def _new_http_client() -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(follow_redirects=False)


class EffectClient:
    """Performs effects for the server's callbacks (on the server's loop)."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._making: asyncio.Future[httpx.AsyncClient] | None = None

    @property
    def ready(self) -> bool:
        """Whether the HTTP client is made (and not closed)."""
        return self._client is not None

    def warm(self) -> None:
        """Start making the HTTP client now (on the server's loop), without waiting for it."""
        if self._client is None and self._making is None:
            with contextlib.suppress(RuntimeError):  # not on a running loop: made on first use
                loop = asyncio.get_running_loop()
                self._making = loop.run_in_executor(None, _new_http_client)

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self.warm()
            assert self._making is not None
            self._client = await self._making
        return self._client

    async def perform(self, effect: Effect, budget: AnswerBudget, notes: list[str]) -> EffectResult:
        """Perform *effect* within what is left of *budget*; a line for the log goes to
        *notes*. Never raises but for cancellation."""
        fitted = budget.fit(effect)
        if isinstance(fitted, EffectResult):
            notes.append(describe_effect(effect, fitted, 0.0) + " [no time left]")
            return fitted
        began = time.perf_counter()
        try:
            client = await self._http()
            fitted = budget.fit(fitted)  # making the client may have taken a little of it
            if isinstance(fitted, EffectResult):
                result = fitted
            else:
                effect = fitted
                result = await asyncio.wait_for(
                    effect_runner.perform_async(effect, client=client),
                    (effect.timeout_ms + EFFECT_GRACE_MS) / 1000,
                )
        except TimeoutError:
            result = EffectResult(timed_out=True)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the runner should not raise; if it does, the node sees why
            result = EffectResult(error=f"{type(exc).__name__}: {exc}")
        result = budget.settle(effect, result)
        notes.append(describe_effect(effect, result, (time.perf_counter() - began) * 1000))
        return result

    async def aclose(self) -> None:
        making, self._making = self._making, None
        if making is not None and self._client is None:
            with contextlib.suppress(Exception):
                self._client = await making
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
