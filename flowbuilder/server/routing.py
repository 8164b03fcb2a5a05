"""What the server serves: programs by URL path and app hash, their versions, and calls in progress.

Everything here is touched only from the server's thread, except :meth:`Router.active_calls`
(a locked snapshot), so request handling needs no locks beyond that one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, NamedTuple

import httpx

from flowbuilder.compiler import Program
from flowbuilder.engine import EngineConfig
from flowbuilder.server.events import EventLog

MAX_PATH_LENGTH: Final = 100  # nodes remembered per call in progress


class BasicAuth:
    """HTTP Basic credentials a callback must carry (the REALTIME10 app's login and password)."""

    __slots__ = ("_expected", "_login", "_password")

    def __init__(self, login: str, password: str) -> None:
        self._login = login.encode()
        self._password = password.encode()
        token = base64.b64encode(self._login + b":" + self._password).decode("ascii")
        self._expected = f"Basic {token}".encode()

    def check(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header value carries these credentials."""
        if not header:
            return False
        raw = header.encode("utf-8", "replace")
        if hmac.compare_digest(raw, self._expected):  # the usual, exact form
            return True
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        login, sep, password = decoded.partition(b":")
        # both compared, always, so timing says nothing about which one was wrong
        ok_login = hmac.compare_digest(login, self._login)
        ok_password = hmac.compare_digest(password, self._password)
        return bool(sep) and ok_login and ok_password

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BasicAuth) and hmac.compare_digest(self._expected, other._expected)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "BasicAuth(***)"


def make_auth(login: str | None, password: str | None) -> BasicAuth | None:
    """Credentials to require, or None when both are empty (CALLR then sends no auth)."""
    if not login and not password:
        return None
    return BasicAuth(login or "", password or "")


@dataclass(eq=False)
class Deployment:
    """One program served at a URL path, for one app hash (``app=None``: any app)."""

    program: Program
    path: str
    app: str | None
    auth: BasicAuth | None
    #: older programs that calls in progress started on, oldest first
    versions: dict[str, Program] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.program.name

    def describe(self) -> str:
        app = self.app or "any app"
        return f"{self.program.name}@{self.program.version} for {app} at {self.path}"


class ActiveCall(NamedTuple):
    """A call in progress: where it waits now and the nodes it went through."""

    callid: int
    app: str
    flow: str
    version: str
    node: str | None
    path: tuple[str, ...]
    started: float
    updated: float
    callbacks: int

    def to_json(self) -> dict[str, object]:
        return {
            "callid": self.callid,
            "app": self.app,
            "flow": self.flow,
            "version": self.version,
            "node": self.node,
            "path": list(self.path),
            "started": self.started,
            "updated": self.updated,
            "callbacks": self.callbacks,
        }


class _Call:
    """The server's own, mutable record of a call in progress (cheap to update per callback)."""

    __slots__ = ("app", "callbacks", "flow", "node", "path", "started", "updated", "version")

    def __init__(
        self, app: str, flow: str, version: str, node: str | None, path: list[str], now: float
    ) -> None:
        self.app, self.flow, self.version, self.node = app, flow, version, node
        self.path = path
        self.started = self.updated = now
        self.callbacks = 1

    def snapshot(self, callid: int) -> ActiveCall:
        return ActiveCall(
            callid,
            self.app,
            self.flow,
            self.version,
            self.node,
            tuple(self.path),
            self.started,
            self.updated,
            self.callbacks,
        )


class Table:
    """The deployments at one URL path, routed by the callback's ``app``."""

    __slots__ = ("any_app", "auth", "by_app", "path", "uniform")

    def __init__(self, path: str) -> None:
        self.path = path
        self.by_app: dict[str, Deployment] = {}
        self.any_app: Deployment | None = None
        #: every deployment here takes the same credentials (``auth``): check them first
        self.uniform = True
        self.auth: BasicAuth | None = None

    def route(self, app: str) -> Deployment | None:
        return self.by_app.get(app) or self.any_app

    def __iter__(self) -> Iterator[Deployment]:
        yield from self.by_app.values()
        if self.any_app is not None:
            yield self.any_app

    def refresh(self) -> None:
        """Recompute ``uniform``/``auth`` after a deployment was added, removed or changed."""
        auths = [d.auth for d in self]
        first = auths[0] if auths else None
        self.uniform = all(a == first for a in auths)
        self.auth = first if self.uniform else None


def _new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(follow_redirects=False)


def performs_http(program: Program) -> bool:
    """Whether *program* (or a subflow) has a node that makes HTTP requests during a call."""
    programs = [program, *program.subflows.values()]
    return any(node.kind == "http_request" for p in programs for node in p.nodes.values())


class Router:
    """Deployments by path and app, the engine settings, the event log and calls in progress."""

    def __init__(
        self,
        *,
        config: EngineConfig,
        events: EventLog,
        max_body_bytes: int,
        answer_budget_ms: int,
        max_versions: int = 8,
        max_calls: int = 100_000,
    ) -> None:
        self.config = config
        self.events = events
        self.max_body_bytes = max_body_bytes
        self.answer_budget_ms = answer_budget_ms
        self.max_versions = max_versions
        self.max_calls = max_calls
        self.tables: dict[str, Table] = {}
        self._calls: dict[int, _Call] = {}
        self._calls_lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None
        self._client_future: asyncio.Future[httpx.AsyncClient] | None = None
        #: requests being answered (a stopping server lets them finish)
        self.in_flight = 0

    # -- effects -------------------------------------------------------------------------------

    async def http_client(self) -> httpx.AsyncClient:
        """The server's one HTTP client for effects. Made on first use, in a worker thread:
        loading TLS certificates takes tens of milliseconds that other calls must not wait."""
        if self._client is None:
            if self._client_future is None:
                self.warm_http_client()
            assert self._client_future is not None
            self._client = await self._client_future
        return self._client

    def warm_http_client(self) -> None:
        """Start making the HTTP client now (on the server's loop), without waiting for it."""
        if self._client is None and self._client_future is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on the server's loop (a stopped server): later
                return
            self._client_future = loop.run_in_executor(None, _new_http_client)

    async def aclose(self) -> None:
        future, self._client_future = self._client_future, None
        if future is not None and self._client is None:
            with contextlib.suppress(Exception):
                self._client = await future
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- deployments ---------------------------------------------------------------------------

    def deployments(self) -> list[Deployment]:
        return [d for table in self.tables.values() for d in table]

    def add(self, deployment: Deployment) -> None:
        table = self.tables.get(deployment.path) or Table(deployment.path)
        taken = table.any_app if deployment.app is None else table.by_app.get(deployment.app)
        if taken is not None:
            who = f"app {deployment.app}" if deployment.app else "any app"
            raise ValueError(
                f"{deployment.path} already serves {taken.name!r} for {who}; use update()"
            )
        if deployment.app is None:
            table.any_app = deployment
        else:
            table.by_app[deployment.app] = deployment
        table.refresh()
        self.tables[deployment.path] = table

    def remove(self, deployment: Deployment) -> None:
        table = self.tables.get(deployment.path)
        if table is None:
            return
        if table.any_app is deployment:
            table.any_app = None
        elif deployment.app is not None and table.by_app.get(deployment.app) is deployment:
            del table.by_app[deployment.app]
        if list(table):
            table.refresh()
        else:
            del self.tables[deployment.path]

    def paths(self) -> str:
        return ", ".join(sorted(self.tables)) or "(nothing served)"

    def find(self, *, app: str | None, path: str | None) -> Deployment:
        """The deployment answering *app* at *path*; with no app, the one for any app."""
        here = [d for d in self.deployments() if path is None or d.path == path]
        if app is not None:
            found = [d for d in here if d.app == app] or [d for d in here if d.app is None]
        else:
            found = here if len(here) == 1 else [d for d in here if d.app is None]
        if len(found) == 1:
            return found[0]
        served = ", ".join(d.describe() for d in self.deployments()) or "nothing"
        if not found:
            raise KeyError(f"no flow served for app={app!r} path={path!r}; serving {served}")
        raise KeyError(f"several flows match app={app!r} path={path!r}; name the app: {served}")

    def swap(self, deployment: Deployment, program: Program) -> None:
        """Serve *program* to new calls; calls in progress keep the version they started on."""
        old = deployment.program
        deployment.program = program
        deployment.versions.pop(program.version, None)
        if old.version != program.version:
            deployment.versions[old.version] = old
        self.prune_versions(deployment)

    def prune_versions(self, deployment: Deployment) -> None:
        live = self.live_versions()
        for version in [v for v in deployment.versions if v not in live]:
            del deployment.versions[version]
        while len(deployment.versions) > self.max_versions:  # oldest first
            del deployment.versions[next(iter(deployment.versions))]

    # -- calls in progress ---------------------------------------------------------------------

    def live_versions(self) -> set[str]:
        with self._calls_lock:
            return {c.version for c in self._calls.values()}

    def active_calls(self) -> dict[int, ActiveCall]:
        with self._calls_lock:
            return {callid: c.snapshot(callid) for callid, c in self._calls.items()}

    def call_seen(
        self,
        callid: int,
        app: str,
        program: Program,
        version: str | None,
        node: str | None,
        path: tuple[str, ...],
        now: float,
    ) -> None:
        with self._calls_lock:
            call = self._calls.get(callid)
            if call is None:
                if len(self._calls) >= self.max_calls:  # drop the longest-idle one
                    oldest = min(self._calls, key=lambda c: self._calls[c].updated)
                    del self._calls[oldest]
                self._calls[callid] = _Call(
                    app, program.name, version or program.version, node, list(path), now
                )
                return
            if version:
                call.version = version
            call.node = node
            if path:
                call.path.extend(path)
                if len(call.path) > MAX_PATH_LENGTH:
                    del call.path[:-MAX_PATH_LENGTH]
            call.updated = now
            call.callbacks += 1

    def call_ended(self, callid: int, deployment: Deployment | None) -> ActiveCall | None:
        with self._calls_lock:
            call = self._calls.pop(callid, None)
        if call is None:
            return None
        if (
            deployment is not None
            and call.version in deployment.versions
            and call.version not in self.live_versions()
        ):
            del deployment.versions[call.version]  # its last call ended
        return call.snapshot(callid)

    def forget_idle_calls(self, before: float) -> int:
        """Drop calls not heard from since *before* (CALLR never sent their HANGUP)."""
        with self._calls_lock:
            stale = [c for c, call in self._calls.items() if call.updated < before]
            for callid in stale:
                del self._calls[callid]
        if stale:
            for deployment in self.deployments():
                self.prune_versions(deployment)
        return len(stale)

    def adopt_calls(self, calls: dict[int, ActiveCall]) -> None:
        """Take over the calls in progress of a server this one replaces."""
        with self._calls_lock:
            for callid, c in calls.items():
                if callid not in self._calls:
                    record = _Call(c.app, c.flow, c.version, c.node, list(c.path), c.started)
                    record.updated, record.callbacks = c.updated, c.callbacks
                    self._calls[callid] = record
