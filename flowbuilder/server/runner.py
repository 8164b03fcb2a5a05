"""Running the callback server: a background thread with its own event loop, and its handle.

The server never runs on the caller's event loop, so the same code works in a notebook (whose
kernel already runs a loop), in a script, in a thread and from the CLI, and a blocking request
from the caller's thread (a sync httpx client, the sandbox) can never deadlock it.

Servers are kept in a registry by name (by default the flow's name) and by (host, port): serving
again under the same name, or on the same explicit port, stops the previous server first. The new
one keeps the old one's port (when ``port=0``), secret, event log and calls in progress, so
re-running a notebook cell keeps the URL given to CALLR and calls already running carry on.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import errno
import html
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

from tornado.httpserver import HTTPServer

from flowbuilder.compiler import Program
from flowbuilder.engine import EngineConfig
from flowbuilder.flow import Flow
from flowbuilder.server.events import EventLog, Subscriber
from flowbuilder.server.handler import make_app, normalize_path
from flowbuilder.server.loading import Servable, to_program
from flowbuilder.server.routing import (
    ActiveCall,
    Deployment,
    Router,
    make_auth,
    performs_http,
)

logger = logging.getLogger("flowbuilder.server")

DEFAULT_MAX_BODY_BYTES: Final = 256 * 1024
DEFAULT_ANSWER_BUDGET_MS: Final = 4000
#: Calls not heard from for this long are forgotten (CALLR never sent their HANGUP).
CALL_IDLE_S: Final = 6 * 3600.0
_PRUNE_EVERY_S: Final = 60.0
_START_TIMEOUT_S: Final = 10.0

T = TypeVar("T")


class _Inherit:
    def __repr__(self) -> str:
        return "<same as the server>"


INHERIT: Final = _Inherit()


class ServerHandle:
    """A running (or stopped) callback server. Made by :func:`serve`; see the module docstring.

    ``url`` is what to give CALLR as the REALTIME10 app's URL (``public_url`` when set).
    Safe to use from any thread; ``stop()`` is idempotent.
    """

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        path: str,
        public_url: str | None,
        router: Router,
        login: str | None,
        password: str | None,
    ) -> None:
        self.name = name
        self.host = host
        self.path = path
        self.public_url = public_url
        self.router = router
        self._requested_port = port
        self._port = port
        self._auth_default = (login, password)
        self._secret = router.config.secret
        self._state = "new"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._stopped = threading.Event()
        self.started_at: float | None = None

    # -- what it is ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._state == "running" and self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        """``running``, ``stopped``, ``failed`` (or ``new``/``starting``/``stopping``)."""
        if self._state == "running" and not self.running:
            return "failed"
        return self._state

    @property
    def local_url(self) -> str:
        """``http://host:port/path`` as reachable from this machine."""
        return f"http://{_url_host(self.host)}:{self._port}{self.path}"

    @property
    def url(self) -> str:
        """The URL to give CALLR: ``public_url`` when set, else :attr:`local_url`."""
        return self.public_url or self.local_url

    def url_for(self, *, app: str | None = None, path: str | None = None) -> str:
        """The URL of one served flow (they differ when flows are served at several paths)."""
        deployment = self._find(app, path)
        local = f"http://{_url_host(self.host)}:{self._port}{deployment.path}"
        if not self.public_url or deployment.path == normalize_path(self.path):
            return self.public_url or local
        parts = urlsplit(self.public_url)  # a tunnel forwards the whole server: swap the path
        return urlunsplit((parts.scheme, parts.netloc, deployment.path, "", ""))

    @property
    def events(self) -> EventLog:
        return self.router.events

    @property
    def active_calls(self) -> dict[int, ActiveCall]:
        """Calls in progress by callid: where each waits and the nodes it went through."""
        return self.router.active_calls()

    @property
    def flows(self) -> list[dict[str, Any]]:
        """What is served: app, path, flow name, version, and older versions kept for calls."""
        return [
            {
                "app": d.app,
                "path": d.path,
                "flow": d.program.name,
                "version": d.program.version,
                "older_versions": list(d.versions),
                "auth": d.auth is not None,
            }
            for d in self.router.deployments()
        ]

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call *callback(event)* for each request, **from the server's thread**; returns an
        unsubscribe function. Keep it quick; hand work to your own thread or loop."""
        return self.router.events.subscribe(callback)

    # -- changing what is served ---------------------------------------------------------------

    def update(
        self,
        flow: Servable,
        *,
        app: str | None = None,
        path: str | None = None,
        subflows: Mapping[str, Flow] | None = None,
    ) -> Program:
        """Hot reload: new calls get *flow*; calls in progress finish on the version they began.

        With several flows served, name the one to replace by *app* (and/or *path*).
        """
        program = to_program(flow, subflows)  # compile errors surface here, in the caller
        norm = normalize_path(path) if path is not None else None

        def swap() -> tuple[str, int]:
            deployment = self._find(app, norm)
            old = deployment.program.version
            self.router.swap(deployment, program)
            if performs_http(program):
                self.router.warm_http_client()
            return old, len(deployment.versions)

        old, kept = self._in_loop(swap)
        if old != program.version:
            logger.info(
                "%s: now serving %s@%s (was %s; %d older version(s) kept for calls in progress)",
                self.name,
                program.name,
                program.version,
                old,
                kept,
            )
        return program

    def add(
        self,
        flow: Servable,
        *,
        app: str | None = None,
        path: str | None = None,
        login: str | _Inherit | None = INHERIT,
        password: str | _Inherit | None = INHERIT,
        subflows: Mapping[str, Flow] | None = None,
    ) -> ServerHandle:
        """Serve another flow: for CALLR app *app* (its callbacks' ``app`` field) and/or at URL
        *path*. Credentials default to the server's. Returns the handle, for chaining."""
        program = to_program(flow, subflows)
        default_login, default_password = self._auth_default
        deployment = Deployment(
            program=program,
            path=normalize_path(path if path is not None else self.path),
            app=app,
            auth=make_auth(
                default_login if isinstance(login, _Inherit) else login,
                default_password if isinstance(password, _Inherit) else password,
            ),
        )

        def add() -> None:
            self.router.add(deployment)
            if performs_http(program):
                self.router.warm_http_client()

        self._in_loop(add)
        return self

    def remove(self, *, app: str | None = None, path: str | None = None) -> None:
        """Stop serving one flow (new callbacks for it get 404)."""
        norm = normalize_path(path) if path is not None else None
        self._in_loop(lambda: self.router.remove(self._find(app, norm)))

    def _find(self, app: str | None, path: str | None) -> Deployment:
        try:
            return self.router.find(app=app, path=path)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None

    def _in_loop(self, fn: Callable[[], T]) -> T:
        """Run *fn* on the server's thread (where requests read the routes) and wait for it."""
        loop = self._loop
        if (
            loop is None
            or not self.running
            or threading.current_thread() is self._thread
            or loop.is_closed()
        ):
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=_START_TIMEOUT_S)

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> ServerHandle:
        """Bind the port (here, so errors show at once) and start the server's thread."""
        if self._state != "new":
            raise RuntimeError(f"server {self.name!r} was already started")
        try:
            sockets = _bind(self.host, self._requested_port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(
                    exc.errno,
                    f"cannot serve on {self.host}:{self._requested_port}: the address is in use "
                    "by another program; stop it or choose another port",
                ) from None
            raise
        self._port = sockets[0].getsockname()[1]
        self._state = "starting"
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(sockets, ready),
            name=f"flowbuilder-server-{self.name}-{self._port}",
            daemon=True,
        )
        self._thread.start()
        if not ready.wait(_START_TIMEOUT_S) or self._failure is not None:
            self.stop()
            raise RuntimeError(f"server {self.name!r} did not start: {self._failure}")
        self.started_at = time.time()
        logger.info("%s: serving %s", self.name, self.describe_flows())
        return self

    def _run(self, sockets: list[socket.socket], ready: threading.Event) -> None:
        try:
            asyncio.run(self._main(sockets, ready))
        except BaseException as exc:  # startup failures are re-raised by start()
            self._failure = exc
            logger.exception("%s: the server thread failed", self.name)
        finally:
            for sock in sockets:
                sock.close()
            self._state = "stopped" if self._failure is None else "failed"
            self._stopped.set()
            ready.set()

    async def _main(self, sockets: list[socket.socket], ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        limit = self.router.max_body_bytes
        server = HTTPServer(
            make_app(self.router),
            max_body_size=max(16 * limit, 8 * 1024 * 1024),  # beyond the limit: read, dropped
            decompress_request=False,
        )
        server.add_sockets(sockets)
        pruner = asyncio.create_task(self._prune_idle_calls())
        if any(performs_http(d.program) for d in self.router.deployments()):
            self.router.warm_http_client()  # ready before the first call needs it
        self._state = "running"
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.stop()  # no new connections
            deadline = time.monotonic() + self.router.answer_budget_ms / 1000 + 0.5
            while self.router.in_flight and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # let answers being made leave
            try:
                await asyncio.wait_for(server.close_all_connections(), 2.0)
            except TimeoutError:
                logger.warning("%s: some connections did not close in time", self.name)
            pruner.cancel()
            await self.router.aclose()

    async def _prune_idle_calls(self) -> None:
        while True:
            await asyncio.sleep(_PRUNE_EVERY_S)
            dropped = self.router.forget_idle_calls(time.time() - CALL_IDLE_S)
            if dropped:
                logger.info("%s: forgot %d call(s) with no callback for hours", self.name, dropped)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: answers in progress may finish, then the port is released. Idempotent;
        safe from any thread (from the server's own thread it returns without waiting)."""
        with self._lock:
            state = self._state
            if state in ("running", "starting"):
                self._state = "stopping"
        _unregister(self)
        if state not in ("running", "starting", "stopping"):
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stopping.set)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("%s: the server thread did not stop within %ss", self.name, timeout)
        if state != "stopping":
            logger.info("%s: stopped (was %s)", self.name, self.local_url)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (True) or *timeout* passes (False)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- display -------------------------------------------------------------------------------

    def describe_flows(self) -> str:
        return "; ".join(d.describe() for d in self.router.deployments()) or "nothing"

    def __repr__(self) -> str:
        calls = len(self.router.active_calls())
        where = self.url if self.url == self.local_url else f"{self.url} (local {self.local_url})"
        return (
            f"<ServerHandle {self.name!r} {self.status} at {where}: {self.describe_flows()}; "
            f"{calls} call(s) in progress, {len(self.events)} event(s)>"
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        color = {"running": "#2ca02c", "failed": "#d62728"}.get(self.status, "#7f7f7f")
        rows = "".join(
            f"<tr><td>{esc(f['app'] or 'any app')}</td><td>{esc(f['path'])}</td>"
            f"<td>{esc(f['flow'])}</td><td><code>{esc(f['version'])}</code></td>"
            f"<td>{esc(', '.join(f['older_versions']) or '-')}</td>"
            f"<td>{'Basic' if f['auth'] else 'none'}</td></tr>"
            for f in self.flows
        )
        now = time.time()
        calls = sorted(self.router.active_calls().values(), key=lambda c: c.started)
        call_rows = "".join(
            f"<tr><td>{c.callid}</td><td>{esc(c.app)}</td><td>{esc(c.node or '-')}</td>"
            f"<td>{esc(' > '.join(c.path[-6:]))}</td><td>{now - c.started:.0f}s</td></tr>"
            for c in calls[:50]
        )
        more = f"<p>… and {len(calls) - 50} more</p>" if len(calls) > 50 else ""
        local = (
            f" <small>(local {esc(self.local_url)})</small>" if self.url != self.local_url else ""
        )
        last = "".join(f"<li><code>{esc(str(e))}</code></li>" for e in self.events.tail(5))
        return (
            f'<div class="flowbuilder-server"><b>Callback server {esc(self.name)}</b> '
            f'<span style="color:{color}">● {esc(self.status)}</span><br>'
            f"URL for CALLR: <code>{esc(self.url)}</code>{local}"
            "<table><tr><th>app</th><th>path</th><th>flow</th><th>version</th>"
            f"<th>older versions</th><th>auth</th></tr>{rows}</table>"
            f"<p>{len(calls)} call(s) in progress</p>"
            + (
                "<table><tr><th>callid</th><th>app</th><th>at</th><th>path</th><th>for</th></tr>"
                f"{call_rows}</table>{more}"
                if calls
                else ""
            )
            + (f"<p>Last events:</p><ul>{last}</ul>" if last else "")
            + "</div>"
        )


def _bind(host: str, port: int, backlog: int = 1024) -> list[socket.socket]:
    """Listening sockets for every address of *host* (one port for all), SO_REUSEADDR set so a
    restarted server can bind at once. Unlike tornado's bind_sockets, nothing leaks on failure."""
    infos = socket.getaddrinfo(
        host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in sorted(set(infos), key=lambda info: info[0]):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # a separate IPv4 socket serves IPv4
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:  # the same free port on every address
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.setblocking(False)
            sock.bind(address)
            sock.listen(backlog)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


# -- the registry of live servers ----------------------------------------------------------------

_LIVE: dict[str, ServerHandle] = {}
_LIVE_LOCK = threading.RLock()


def _unregister(handle: ServerHandle) -> None:
    with _LIVE_LOCK:
        if _LIVE.get(handle.name) is handle:
            del _LIVE[handle.name]


def running_servers() -> list[ServerHandle]:
    """Servers started by :func:`serve` in this process and not stopped."""
    with _LIVE_LOCK:
        return [h for h in _LIVE.values() if h.running]


def stop_all() -> None:
    """Stop every server started by :func:`serve` (also done at interpreter exit)."""
    with _LIVE_LOCK:
        handles = list(_LIVE.values())
    for handle in handles:
        handle.stop()


atexit.register(stop_all)


# -- serve() -------------------------------------------------------------------------------------


def serve(
    flow_or_program: Servable | Mapping[str, Servable],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str = "/",
    login: str | None = None,
    password: str | None = None,
    secret: str | bytes | None = None,
    app: str | None = None,
    public_url: str | None = None,
    subflows: Mapping[str, Flow] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    name: str | None = None,
    answer_budget_ms: int = DEFAULT_ANSWER_BUDGET_MS,
    max_events: int = 10_000,
) -> ServerHandle:
    """Serve flows as a CALLR REAL-TIME callback URL, in a background thread; returns at once.

    *flow_or_program*: a Flow, a compiled Program, a saved file (``.json``, or a ``.py`` module),
    or a mapping ``{app_hash: flow}`` to serve several apps at one URL. A single flow answers
    callbacks of any app unless *app* binds it to one. *login*/*password*: the HTTP Basic
    credentials set on the REALTIME10 app (none: no auth). *secret* signs call state (random when
    omitted; give the same one to every process serving the same flows). *public_url*: the URL
    CALLR reaches this server by (a tunnel or reverse proxy); it becomes :attr:`ServerHandle.url`.
    *answer_budget_ms*: effects (HTTP requests, Python functions) must finish within this time
    from the request's arrival, so every answer leaves well inside CALLR's 5 s window.
    """
    if isinstance(flow_or_program, Mapping):
        if app is not None:
            raise ValueError("give app= with a single flow, or a mapping {app_hash: flow}")
        entries: list[tuple[str | None, Program]] = [
            (key, to_program(v, subflows)) for key, v in flow_or_program.items()
        ]
        if not entries:
            raise ValueError("nothing to serve: the mapping of flows is empty")
    else:
        entries = [(app, to_program(flow_or_program, subflows))]
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    if public_url is not None and urlsplit(public_url).scheme not in ("http", "https"):
        raise ValueError(f"public_url must be an http(s) URL, got {public_url!r}")
    if max_body_bytes < 1024:
        raise ValueError(f"max_body_bytes must be at least 1024, got {max_body_bytes}")
    if not 100 <= answer_budget_ms <= 4900:
        raise ValueError(f"answer_budget_ms must be between 100 and 4900, got {answer_budget_ms}")
    name = name or "+".join(dict.fromkeys(p.name for _, p in entries))

    with _LIVE_LOCK:
        previous = _LIVE.get(name)
        clashing = [
            h
            for h in _LIVE.values()
            if port and h is not previous and h.host == host and h.port == port
        ]
        for handle in clashing:
            logger.info("%s: stopping %r, which serves on port %d", name, handle.name, port)
            handle.stop()
        inherited_calls: dict[int, ActiveCall] = {}
        old_programs: list[Deployment] = []
        events = EventLog(max_events)
        if previous is not None:
            logger.info("%s: replacing the server at %s", name, previous.local_url)
            previous.stop()
            if not port and previous.host == host:
                port = previous.port  # keep the URL CALLR has
            if secret is None:
                secret = previous._secret
            inherited_calls = previous.router.active_calls()
            old_programs = previous.router.deployments()
            events = previous.router.events
        if isinstance(secret, str):
            secret = secret.encode()
        config = EngineConfig(secret=secret if secret is not None else secrets.token_bytes(32))
        router = Router(
            config=config,
            events=events,
            max_body_bytes=max_body_bytes,
            answer_budget_ms=answer_budget_ms,
        )
        norm = normalize_path(path)
        for key, program in entries:
            deployment = Deployment(program, norm, key, make_auth(login, password))
            for old in old_programs:  # calls begun on the old server finish on their version
                if old.path == norm and old.app == key:
                    deployment.versions.update(old.versions)
                    if old.program.version != program.version:
                        deployment.versions[old.program.version] = old.program
            router.add(deployment)
        router.adopt_calls(inherited_calls)
        for deployment in router.deployments():
            router.prune_versions(deployment)
        handle = ServerHandle(
            name=name,
            host=host,
            port=port,
            path=path,
            public_url=public_url,
            router=router,
            login=login,
            password=password,
        )
        handle.start()
        _LIVE[name] = handle
    return handle
