"""CALLR JSON-RPC clients over httpx: :class:`CallrClient` (sync) and :class:`AsyncCallrClient`.

Both send what the official SDKs send (see :mod:`flowbuilder.callr.jsonrpc`) and share the typed
helpers of :mod:`flowbuilder.callr.methods`::

    client = CallrClient(api_key="...")                # or login=/password=, or CALLR_* env vars
    app = client.apps.create("Support", url="https://example.com/callr")
    did = client.apps.get_dids(only_available=True)[0]
    client.apps.assign_did(app, did)
    request_hash = client.calls.realtime(app, "+447890123456", cdr_field="42")
    client.call("apps.get", app.hash)                  # any method, positional params

Errors: :class:`~flowbuilder.errors.CallrApiError` (a JSON-RPC error, whatever the HTTP status),
:class:`~flowbuilder.errors.CallrAuthError` (HTTP 401/403),
:class:`~flowbuilder.errors.CallrTransportError` (network, timeout; the httpx error is chained),
:class:`~flowbuilder.errors.CallrProtocolError` (not a matching JSON-RPC envelope).

Retries: only the read methods in :data:`~flowbuilder.callr.methods.IDEMPOTENT_METHODS` are
retried, once, after 0.2 s, when the connection could not be made or was dropped before an
answer (``retry_reads=False`` turns that off). Nothing else is ever retried: a ``calls.realtime``
sent twice would ring a phone twice.

Credentials never show in reprs, logs or exception texts.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from flowbuilder.callr import jsonrpc, methods
from flowbuilder.callr.constants import CLI_BLOCKED
from flowbuilder.callr.methods import MethodCall
from flowbuilder.callr.types import App, Did
from flowbuilder.errors import CallrProtocolError, CallrTransportError
from flowbuilder.hygiene import protect

T = TypeVar("T")
log = protect(logging.getLogger("flowbuilder.callr"))  # its lines cleaned: hygiene

DEFAULT_TIMEOUT_S = 10.0
RETRY_PAUSE_S = 0.2
USER_AGENT = "flowbuilder (httpx)"
_RETRYABLE = (httpx.ConnectError, httpx.RemoteProtocolError)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one costs ~40 ms (the CA bundle)."""
    return httpx.create_ssl_context(trust_env=False)


class _ClientBase:
    """Settings, credentials and request ids shared by both clients."""

    def __init__(
        self,
        login: str | None = None,
        password: str | None = None,
        *,
        api_key: str | None = None,
        login_as: str | tuple[str, str] | None = None,
        url: str = jsonrpc.DEFAULT_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry_reads: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http(s) URL, got {url!r}")
        if parts.username or parts.password:
            raise ValueError("put credentials in login=/password= or api_key=, not in the URL")
        self.url = url
        self.timeout = timeout
        self.retry_reads = retry_reads
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._credentials = jsonrpc.resolve_credentials(
            login, password, api_key, login_as, os.environ if env is None else env
        )
        # like the SDKs: a random start, then one more per request
        self._ids = itertools.count(random.randint(100, 999))
        self._ids_lock = threading.Lock()

    @property
    def auth_mode(self) -> str:
        """``api-key`` or ``basic``."""
        return self._credentials.mode

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} auth={self.auth_mode}>"

    def _build(self, method: str, params: list[Any]) -> jsonrpc.Request:
        with self._ids_lock:
            request_id = next(self._ids)
        return jsonrpc.build_request(
            method,
            params,
            request_id=request_id,
            credentials=self._credentials,
            user_agent=USER_AGENT,
        )

    def _retry_pause(self, request: jsonrpc.Request, attempt: int, exc: httpx.HTTPError) -> float:
        """Seconds to wait before sending *request* again after attempt *attempt* failed with
        *exc*; raises the CallrTransportError (chained to *exc*) when it is not sent again."""
        attempts = 2 if self.retry_reads and request.method in methods.IDEMPOTENT_METHODS else 1
        if isinstance(exc, _RETRYABLE) and attempt < attempts:
            log.debug("%s id=%s: %s; retrying once", request.method, request.id, type(exc).__name__)
            return RETRY_PAUSE_S
        raise self._transport_error(request.method, exc) from exc

    def _transport_error(self, method: str, exc: httpx.HTTPError) -> CallrTransportError:
        if isinstance(exc, httpx.TimeoutException):
            text = f"no answer from {self._origin} within {self.timeout:g} s ({type(exc).__name__})"
        elif isinstance(exc, httpx.ConnectError):
            text = f"cannot connect to {self._origin}: {exc or type(exc).__name__}"
        else:
            text = f"{type(exc).__name__} talking to {self._origin}: {exc}"
        return CallrTransportError(text, method=method)

    def _finish(self, request: jsonrpc.Request, response: httpx.Response, started: float) -> Any:
        log.debug(
            "%s id=%s -> HTTP %s in %.1f ms",
            request.method,
            request.id,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return jsonrpc.parse_response(
            request.method,
            request.id,
            response.status_code,
            response.content,
            response.headers.get("content-type"),
        )


def _convert(call: MethodCall[T], result: Any) -> T:
    try:
        return call.convert(result)
    except (ValueError, TypeError) as exc:
        raise CallrProtocolError(f"unexpected result: {exc}", method=call.method) from None


class CallrClient(_ClientBase):
    """Synchronous CALLR client; safe to use from a notebook cell.

    ``transport`` replaces httpx's (``httpx.MockTransport`` in tests). Use as a context manager
    or call :meth:`close`.
    """

    def __init__(
        self,
        login: str | None = None,
        password: str | None = None,
        *,
        api_key: str | None = None,
        login_as: str | tuple[str, str] | None = None,
        url: str = jsonrpc.DEFAULT_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry_reads: bool = True,
        transport: httpx.BaseTransport | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            login,
            password,
            api_key=api_key,
            login_as=login_as,
            url=url,
            timeout=timeout,
            retry_reads=retry_reads,
            env=env,
        )
        self._http = httpx.Client(
            timeout=timeout, transport=transport, trust_env=False, verify=shared_ssl_context()
        )
        self.apps = Apps(self)
        self.calls = Calls(self)

    def call(self, method: str, *params: Any) -> Any:
        """Any method, positional params, like the SDKs' ``api.call(method, *params)``."""
        request = self._build(method, list(params))
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                response = self._http.post(self.url, content=request.body, headers=request.headers)
            except httpx.HTTPError as exc:
                time.sleep(self._retry_pause(request, attempt, exc))
                attempt += 1
                continue
            return self._finish(request, response, started)

    def run(self, call: MethodCall[T]) -> T:
        """Send a prepared :class:`~flowbuilder.callr.methods.MethodCall`, typed result back."""
        return _convert(call, self.call(call.method, *call.params))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CallrClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncCallrClient(_ClientBase):
    """The same client for asyncio code: ``await client.apps.create(...)``."""

    def __init__(
        self,
        login: str | None = None,
        password: str | None = None,
        *,
        api_key: str | None = None,
        login_as: str | tuple[str, str] | None = None,
        url: str = jsonrpc.DEFAULT_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry_reads: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            login,
            password,
            api_key=api_key,
            login_as=login_as,
            url=url,
            timeout=timeout,
            retry_reads=retry_reads,
            env=env,
        )
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=20)
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            trust_env=False,
            verify=shared_ssl_context(),
            limits=limits,
        )
        # Requests beyond the pool size wait here, not in httpcore's queue, which is scanned
        # against every connection for every request (1,000 gathered calls would crawl), and
        # so the timeout counts from the moment a request is sent. A small pool is faster, too.
        self._gate = asyncio.Semaphore(limits.max_connections or 20)
        self.apps = AsyncApps(self)
        self.calls = AsyncCalls(self)

    async def call(self, method: str, *params: Any) -> Any:
        """Any method, positional params."""
        request = self._build(method, list(params))
        attempt = 1
        while True:
            try:
                async with self._gate:
                    started = time.perf_counter()
                    response = await self._http.post(
                        self.url, content=request.body, headers=request.headers
                    )
            except httpx.HTTPError as exc:
                await asyncio.sleep(self._retry_pause(request, attempt, exc))
                attempt += 1
                continue
            return self._finish(request, response, started)

    async def run(self, call: MethodCall[T]) -> T:
        return _convert(call, await self.call(call.method, *call.params))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncCallrClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


# -- typed helpers -------------------------------------------------------------------------------


def _merge(
    current: App, url: str | None, login: str | None, password: str | None
) -> tuple[str, str, str]:
    return (
        current.url if url is None else url,
        current.login if login is None else login,
        current.password if password is None else password,
    )


class Apps:
    """``client.apps``: REALTIME10 apps and the DIDs assigned to them."""

    def __init__(self, client: CallrClient) -> None:
        self._client = client

    def create(self, name: str, *, url: str, login: str = "", password: str = "") -> App:
        """A REALTIME10 app posting to *url* (with HTTP Basic auth when login/password are set)."""
        return self._client.run(methods.apps_create(name, url=url, login=login, password=password))

    def get(self, app: str | App) -> App:
        return self._client.run(methods.apps_get(app))

    def edit(
        self,
        app: str | App,
        *,
        name: str | None = None,
        url: str | None = None,
        login: str | None = None,
        password: str | None = None,
    ) -> App:
        """Change the name and/or params; params left out keep their value (read first)."""
        if url is None or login is None or password is None:
            url, login, password = _merge(self.get(app), url, login, password)
        return self._client.run(
            methods.apps_edit(app, name=name, url=url, login=login, password=password)
        )

    def delete(self, app: str | App) -> bool:
        """Delete the app; its DIDs are released."""
        return self._client.run(methods.apps_delete(app))

    def get_list(self, with_numbers: bool = True) -> list[App]:
        return self._client.run(methods.apps_get_list(with_numbers))

    def assign_did(self, app: str | App, did: str | Did) -> bool:
        return self._client.run(methods.apps_assign_did(app, did))

    def remove_did(self, did: str | Did) -> bool:
        return self._client.run(methods.apps_remove_did(did))

    def get_dids(self, only_available: bool = False) -> list[Did]:
        return self._client.run(methods.apps_get_dids(only_available))


class Calls:
    """``client.calls``: outbound REAL-TIME calls."""

    def __init__(self, client: CallrClient) -> None:
        self._client = client

    def realtime(
        self,
        app: str | App,
        number: str,
        timeout: int = 30,
        cdr_field: str = "",
        cli: str = CLI_BLOCKED,
    ) -> str:
        """Call *number* (ringing *timeout* s) and let the app drive it; the request hash back.

        Never retried: sending it twice would ring the phone twice.
        """
        return self._client.run(
            methods.realtime(app, number, timeout=timeout, cdr_field=cdr_field, cli=cli)
        )

    def hangup(self, callid: int) -> bool:
        return self._client.run(methods.hangup(callid))

    def realtime_break(self, callid: int) -> bool:
        """End the running command now."""
        return self._client.run(methods.realtime_break(callid))


class AsyncApps:
    """``client.apps`` of :class:`AsyncCallrClient`."""

    def __init__(self, client: AsyncCallrClient) -> None:
        self._client = client

    async def create(self, name: str, *, url: str, login: str = "", password: str = "") -> App:
        return await self._client.run(
            methods.apps_create(name, url=url, login=login, password=password)
        )

    async def get(self, app: str | App) -> App:
        return await self._client.run(methods.apps_get(app))

    async def edit(
        self,
        app: str | App,
        *,
        name: str | None = None,
        url: str | None = None,
        login: str | None = None,
        password: str | None = None,
    ) -> App:
        if url is None or login is None or password is None:
            url, login, password = _merge(await self.get(app), url, login, password)
        return await self._client.run(
            methods.apps_edit(app, name=name, url=url, login=login, password=password)
        )

    async def delete(self, app: str | App) -> bool:
        return await self._client.run(methods.apps_delete(app))

    async def get_list(self, with_numbers: bool = True) -> list[App]:
        return await self._client.run(methods.apps_get_list(with_numbers))

    async def assign_did(self, app: str | App, did: str | Did) -> bool:
        return await self._client.run(methods.apps_assign_did(app, did))

    async def remove_did(self, did: str | Did) -> bool:
        return await self._client.run(methods.apps_remove_did(did))

    async def get_dids(self, only_available: bool = False) -> list[Did]:
        return await self._client.run(methods.apps_get_dids(only_available))


class AsyncCalls:
    """``client.calls`` of :class:`AsyncCallrClient`."""

    def __init__(self, client: AsyncCallrClient) -> None:
        self._client = client

    async def realtime(
        self,
        app: str | App,
        number: str,
        timeout: int = 30,
        cdr_field: str = "",
        cli: str = CLI_BLOCKED,
    ) -> str:
        return await self._client.run(
            methods.realtime(app, number, timeout=timeout, cdr_field=cdr_field, cli=cli)
        )

    async def hangup(self, callid: int) -> bool:
        return await self._client.run(methods.hangup(callid))

    async def realtime_break(self, callid: int) -> bool:
        return await self._client.run(methods.realtime_break(callid))
