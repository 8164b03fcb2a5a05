"""Performing effects (HTTP requests, Python functions) with deadlines: the I/O edge of nodes.

Used by the callback server (async) and by in-process drivers such as ``simulate()`` (sync). A
late effect gives ``EffectResult(timed_out=True)``; any failure gives a one-line ``error``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowbuilder.effects import Effect, EffectResult, HttpRequest, PythonCall

if TYPE_CHECKING:
    import httpx  # imported where requests are made: simulate() and scenarios rarely need it

# Python effects run here so a slow function never blocks the event loop.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="fb-effect")


def resolve(target: str) -> Callable[..., Any]:
    """``pkg.mod:func`` -> the function; raises ValueError with a one-line reason."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{target!r} is not an import path like 'pkg.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ValueError(f"{module_name!r} has no attribute {attr!r}")
    if not callable(obj):
        raise ValueError(f"{target!r} is not callable")
    return obj  # type: ignore[no-any-return]


def _http_result(response: httpx.Response) -> EffectResult:
    try:
        data = response.json() if response.content else None
    except (ValueError, UnicodeDecodeError):
        data = None
        if response.is_success:
            return EffectResult(status=response.status_code, error="the answer is not JSON")
    if not response.is_success:
        return EffectResult(
            status=response.status_code, data=data, error=f"HTTP {response.status_code}"
        )
    return EffectResult(status=response.status_code, data=data)


def _request_kwargs(effect: HttpRequest) -> dict[str, Any]:
    return {
        "method": effect.method,
        "url": effect.url,
        "headers": effect.headers,
        "content": effect.body.encode() if effect.body is not None else None,
        "timeout": effect.timeout_ms / 1000,
    }


def _http_failure(exc: Exception) -> EffectResult:
    """A request that got no answer: past its deadline, or an HTTP-level failure."""
    import httpx

    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return EffectResult(timed_out=True)
    return EffectResult(error=f"{type(exc).__name__}: {exc}")


def _python_job(effect: PythonCall) -> Callable[[], EffectResult] | EffectResult:
    """What a pool thread runs for *effect* (its result checked and mapped there), or at once
    the result for a target that does not resolve. A TimeoutError the function raises is left
    to the waiter, which treats it as the deadline passing."""
    try:
        fn = resolve(effect.target)
    except ValueError as exc:
        return EffectResult(error=str(exc))

    def job() -> EffectResult:
        try:
            value = fn(facts=dict(effect.facts), variables=dict(effect.variables))
        except TimeoutError:
            raise
        except Exception as exc:
            return EffectResult(error=f"{type(exc).__name__}: {exc}")
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return EffectResult(
                error=f"the function returned {type(value).__name__}, not JSON data"
            )
        return EffectResult(data=value)

    return job


def perform(effect: Effect, *, client: httpx.Client | None = None) -> EffectResult:
    """Perform *effect* synchronously within its deadline."""
    if isinstance(effect, HttpRequest):
        import httpx

        try:
            if client is not None:
                return _http_result(client.request(**_request_kwargs(effect)))
            with httpx.Client() as own:
                return _http_result(own.request(**_request_kwargs(effect)))
        except (TimeoutError, httpx.HTTPError) as exc:
            return _http_failure(exc)
    job = _python_job(effect)
    if isinstance(job, EffectResult):
        return job
    try:
        return _POOL.submit(job).result(timeout=effect.timeout_ms / 1000)
    except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError
        return EffectResult(timed_out=True)


async def perform_async(effect: Effect, *, client: httpx.AsyncClient) -> EffectResult:
    """Perform *effect* without blocking the event loop, within its deadline."""
    timeout_s = effect.timeout_ms / 1000
    if isinstance(effect, HttpRequest):
        import httpx

        try:
            response = await asyncio.wait_for(client.request(**_request_kwargs(effect)), timeout_s)
            return _http_result(response)
        except (TimeoutError, httpx.HTTPError) as exc:
            return _http_failure(exc)
    job = _python_job(effect)
    if isinstance(job, EffectResult):
        return job
    try:
        return await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(_POOL, job), timeout_s
        )
    except TimeoutError:  # asyncio's TimeoutError is TimeoutError
        return EffectResult(timed_out=True)
