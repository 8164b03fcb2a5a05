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
from typing import Any

import httpx

from flowbuilder.effects import Effect, EffectResult, HttpRequest, PythonCall

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


def _python_kwargs(effect: PythonCall) -> dict[str, Any]:
    return {"facts": dict(effect.facts), "variables": dict(effect.variables)}


def _python_result(value: Any) -> EffectResult:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return EffectResult(error=f"the function returned {type(value).__name__}, not JSON data")
    return EffectResult(data=value)


def perform(effect: Effect, *, client: httpx.Client | None = None) -> EffectResult:
    """Perform *effect* synchronously within its deadline."""
    if isinstance(effect, HttpRequest):
        try:
            if client is not None:
                return _http_result(client.request(**_request_kwargs(effect)))
            with httpx.Client() as own:
                return _http_result(own.request(**_request_kwargs(effect)))
        except httpx.TimeoutException:
            return EffectResult(timed_out=True, error="")
        except httpx.HTTPError as exc:
            return EffectResult(error=f"{type(exc).__name__}: {exc}")
    try:
        fn = resolve(effect.target)
    except ValueError as exc:
        return EffectResult(error=str(exc))
    future = _POOL.submit(fn, **_python_kwargs(effect))
    try:
        return _python_result(future.result(timeout=effect.timeout_ms / 1000))
    except concurrent.futures.TimeoutError:
        return EffectResult(timed_out=True)
    except Exception as exc:
        return EffectResult(error=f"{type(exc).__name__}: {exc}")


async def perform_async(effect: Effect, *, client: httpx.AsyncClient) -> EffectResult:
    """Perform *effect* without blocking the event loop, within its deadline."""
    timeout_s = effect.timeout_ms / 1000
    if isinstance(effect, HttpRequest):
        try:
            response = await asyncio.wait_for(client.request(**_request_kwargs(effect)), timeout_s)
            return _http_result(response)
        except (TimeoutError, httpx.TimeoutException):
            return EffectResult(timed_out=True)
        except httpx.HTTPError as exc:
            return EffectResult(error=f"{type(exc).__name__}: {exc}")
    try:
        fn = resolve(effect.target)
    except ValueError as exc:
        return EffectResult(error=str(exc))
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_POOL, lambda: fn(**_python_kwargs(effect)))
    try:
        return _python_result(await asyncio.wait_for(future, timeout_s))
    except TimeoutError:
        return EffectResult(timed_out=True)
    except Exception as exc:
        return EffectResult(error=f"{type(exc).__name__}: {exc}")
