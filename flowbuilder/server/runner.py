"""Running the callback server on a loop thread of its own, and its handle.

Servers are kept by name (by default the flow's name): serving again under the same name (a
notebook cell run again) replaces the previous server, which keeps the URL CALLR has (the port,
when ``port=0``), the secret, the event log, the replay guard and the calls in progress, so calls
already running carry on. A *different* flow that happens to share the name is refused rather
than swapped in behind a URL CALLR already uses (see :func:`serve`).
"""

from __future__ import annotations

import asyncio
import atexit
import html
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from flowbuilder._listen import check_port, listen
from flowbuilder._loopthread import LoopThread
from flowbuilder._rerun import Live
from flowbuilder.callr.constants import DEFAULT_ANSWER_BUDGET_MS
from flowbuilder.engine import EngineConfig
from flowbuilder.program import Program
from flowbuilder.server.calls import ActiveCall
from flowbuilder.server.events import EventLog, Subscriber
from flowbuilder.server.handler import make_app
from flowbuilder.server.http1 import HTTP1Server
from flowbuilder.server.loading import Servable, to_program
from flowbuilder.server.replay import ReplayGuard
from flowbuilder.server.routes import Deployment, make_auth, normalize_path, performs_http
from flowbuilder.server.service import CallbackService

if TYPE_CHECKING:
    from flowbuilder.flow import Flow

logger = logging.getLogger("flowbuilder.server")

DEFAULT_MAX_BODY_BYTES: Final = 256 * 1024
#: Calls not heard from for this long are forgotten (CALLR never sent their HANGUP).
CALL_IDLE_S: Final = 6 * 3600.0
_PRUNE_EVERY_S: Final = 60.0

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
        service: CallbackService,
        login: str | None,
        password: str | None,
    ) -> None:
        self.name = name
        self.host = host
        self.path = path
        self.public_url = public_url
        self.service = service
        self._requested_port = port
        self._port = port
        self._auth_default = (login, password)
        self._state = "new"
        self._thread = LoopThread(f"flowbuilder-server-{name}")
        self._server: HTTP1Server | None = None
        self._stopped = threading.Event()
        self.started_at: float | None = None

    # -- what it is ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._state == "running" and self._thread.running

    @property
    def status(self) -> str:
        """``running``, ``stopped``, ``failed`` (or ``new``/``stopping``)."""
        if self._state == "running" and not self._thread.running:
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
        return self.service.events

    @property
    def active_calls(self) -> dict[int, ActiveCall]:
        """Calls in progress by callid: where each waits and the nodes it went through."""
        return self.service.calls.snapshot()

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
            for d in self.service.routes.deployments()
        ]

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call *callback(event)* for each request, **from the server's thread**; returns an
        unsubscribe function. Keep it quick; hand work to your own thread or loop."""
        return self.service.events.subscribe(callback)

    # -- changing what is served ---------------------------------------------------------------

    def update(
        self,
        flow: Servable,
        *,
        app: str | None = None,
        path: str | None = None,
        subflows: Mapping[str, Flow] | None = None,
        allow: Iterable[str] | None = None,
    ) -> Program:
        """Hot reload: new calls get *flow*; calls in progress finish on the version they began.

        With several flows served, name the one to replace by *app* (and/or *path*).
        """
        program = to_program(flow, subflows, allow)  # compile errors surface here, in the caller
        norm = normalize_path(path) if path is not None else None

        def swap() -> tuple[str, int]:
            deployment = self._find(app, norm)
            old = deployment.program.version
            self.service.swap(deployment, program)
            if performs_http(program):
                self.service.effects.warm()
            return old, len(deployment.versions)

        old, kept = self._thread.call(swap)
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
        allow: Iterable[str] | None = None,
    ) -> ServerHandle:
        """Serve another flow: for CALLR app *app* (its callbacks' ``app`` field) and/or at URL
        *path*. Credentials default to the server's. Returns the handle, for chaining."""
        program = to_program(flow, subflows, allow)
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
            self.service.routes.add(deployment)
            if performs_http(program):
                self.service.effects.warm()

        self._thread.call(add)
        return self

    def remove(self, *, app: str | None = None, path: str | None = None) -> None:
        """Stop serving one flow (new callbacks for it get 404)."""
        norm = normalize_path(path) if path is not None else None
        self._thread.call(lambda: self.service.routes.remove(self._find(app, norm)))

    def _find(self, app: str | None, path: str | None) -> Deployment:
        try:
            return self.service.routes.find(app=app, path=path)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> ServerHandle:
        """Bind the port (here, so errors show at once) and start the server's thread."""
        if self._state != "new":
            raise RuntimeError(f"server {self.name!r} was already started")
        sockets = listen(self.host, self._requested_port)
        self._port = sockets[0].getsockname()[1]
        try:
            self._thread.start(lambda: self._setup(sockets))
        except BaseException as exc:
            for sock in sockets:
                sock.close()
            self._state = "failed"
            self._stopped.set()
            raise RuntimeError(f"server {self.name!r} did not start: {exc}") from exc
        self._state = "running"
        self.started_at = time.time()
        logger.info("%s: serving %s", self.name, self.describe_flows())
        return self

    async def _setup(self, sockets: list[socket.socket]) -> None:
        limit = self.service.max_body_bytes
        self._server = HTTP1Server(
            make_app(self.service),
            max_body_bytes=limit,
            hard_max_body_bytes=max(16 * limit, 8 * 1024 * 1024),  # up to it: read, dropped
        )
        self._server.add_sockets(sockets)
        self._prune_task = asyncio.get_running_loop().create_task(self._prune_idle_calls())
        if any(performs_http(d.program) for d in self.service.routes.deployments()):
            self.service.effects.warm()  # ready before the first call needs it

    async def _teardown(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()  # no new connections
            # answers being made may leave
            await self.service.in_flight.wait_idle(self.service.answer_budget_ms / 1000 + 0.5)
            try:
                await asyncio.wait_for(server.close_all_connections(), 2.0)
            except TimeoutError:
                logger.warning("%s: some connections did not close in time", self.name)
        self._prune_task.cancel()
        await self.service.effects.aclose()

    async def _prune_idle_calls(self) -> None:
        while True:
            await asyncio.sleep(_PRUNE_EVERY_S)
            dropped = self.service.calls.forget_idle(time.time() - CALL_IDLE_S)
            if dropped:
                self.service.prune_all()
                logger.info("%s: forgot %d call(s) with no callback for hours", self.name, dropped)

    def stop(self) -> None:
        """Stop serving: answers in progress may finish, then the port is released. Idempotent;
        safe from any thread (from the server's own thread it returns without waiting)."""
        _REGISTRY.release(self.name, self)
        if self._state != "running":
            return
        self._state = "stopping"
        self._thread.stop(self._teardown)
        if not self._thread.in_thread():
            self._stopped_now()
        else:  # finishes once the loop is gone
            threading.Thread(target=self._await_stop, daemon=True).start()

    def _await_stop(self) -> None:
        thread = self._thread
        while thread.running:
            time.sleep(0.01)
        self._stopped_now()

    def _stopped_now(self) -> None:
        self._state = "stopped"
        self._stopped.set()
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
        return "; ".join(d.describe() for d in self.service.routes.deployments()) or "nothing"

    def __repr__(self) -> str:
        calls = len(self.service.calls)
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
        calls = sorted(self.active_calls.values(), key=lambda c: c.started)
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


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


# -- the servers of this process -----------------------------------------------------------------

_REGISTRY: Final = Live[ServerHandle]("callback server")


def running_servers() -> list[ServerHandle]:
    """Servers started by :func:`serve` in this process and not stopped."""
    return [h for h in _REGISTRY.items() if h.running]


def stop_all() -> None:
    """Stop every server started by :func:`serve` (also done at interpreter exit)."""
    for handle in _REGISTRY.items():
        handle.stop()


atexit.register(stop_all)


def _check(
    *,
    path: str,
    port: int,
    public_url: str | None,
    login: str | None,
    password: str | None,
    insecure: bool,
    max_body_bytes: int,
    answer_budget_ms: int,
    clock: object,
) -> None:
    """Refuse bad arguments before anything starts, one line each."""
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    check_port(port)
    if public_url is not None:
        if urlsplit(public_url).scheme not in ("http", "https"):
            raise ValueError(
                f"public_url must be an http(s) URL (--public-url on the command line), "
                f"got {public_url!r}"
            )
        if not (login and password) and not insecure:
            raise ValueError(
                "a public URL needs a login and password (the REALTIME10 app's): anyone who "
                "finds the URL could post callbacks; pass --insecure (insecure=True in Python) "
                "to serve it open anyway"
            )
    if bool(login) != bool(password):
        raise ValueError(
            "login needs a password (an empty one would let anyone in)"
            if login
            else "password needs a login"
        )
    if max_body_bytes < 1024:
        raise ValueError(f"max_body_bytes must be at least 1024, got {max_body_bytes}")
    if not 100 <= answer_budget_ms <= 4900:
        raise ValueError(f"answer_budget_ms must be between 100 and 4900, got {answer_budget_ms}")
    if clock is not None and clock != "call" and not callable(clock):
        raise ValueError(f"clock must be a function giving epoch seconds, or 'call', got {clock!r}")


def _same_flows(previous: ServerHandle, programs: list[Program]) -> bool:
    """Whether *programs* look like a new version of what *previous* serves (a cell run again,
    perhaps edited): the same flows, starting at the same nodes."""
    served = sorted(
        (d.program.name, d.program.entry) for d in previous.service.routes.deployments()
    )
    return served == sorted((p.name, p.entry) for p in programs)


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
    insecure: bool = False,
    subflows: Mapping[str, Flow] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    name: str | None = None,
    answer_budget_ms: int = DEFAULT_ANSWER_BUDGET_MS,
    max_events: int = 10_000,
    allow: Iterable[str] | None = None,
    clock: Callable[[], float] | Literal["call"] | None = None,
    replay: ReplayGuard | None = None,
) -> ServerHandle:
    """Serve flows as a CALLR REAL-TIME callback URL, in a background thread; returns at once.

    *flow_or_program*: a Flow, a compiled Program, a saved file (``.json``, or a ``.py`` module),
    or a mapping ``{app_hash: flow}`` to serve several apps at one URL. A single flow answers
    callbacks of any app unless *app* binds it to one. *login*/*password*: the HTTP Basic
    credentials set on the REALTIME10 app (none: no auth). *secret* signs call state (random when
    omitted; give the same one to every process serving the same flows). *public_url*: the URL
    CALLR reaches this server by (a tunnel or reverse proxy); it becomes :attr:`ServerHandle.url`,
    and needs *login* and *password* unless *insecure*. *answer_budget_ms*: effects (HTTP
    requests, Python functions) must finish within this time from the request's arrival, so
    every answer leaves well inside CALLR's 5 s window. *clock*: the time the flow sees (epoch
    seconds), for tests of business hours, e.g. a sandbox's ``sb.now``; ``"call"``: each call's
    ``date_started`` (UTC, as CALLR and the sandbox send it) plus how long the call has run here,
    so a call a sandbox places at a moment is at that moment here; by default the wall clock.
    Logs and events keep the wall clock.

    *name* (by default the flows' names) identifies the server in this process: serving again
    under a name replaces the server that had it (a notebook cell run again) and keeps its URL
    and calls in progress; but when the name was not given and the flows differ (another flow
    with the same name), this raises instead of silently putting it behind the other's URL.

    *allow*: modules whose functions the python nodes of flows read from files may call
    (:mod:`flowbuilder.trust`).

    *replay*: where the last step of each call is kept (a
    :class:`~flowbuilder.server.replay.ReplayGuard`; give servers of one URL the same one); by
    default in this process, bounded. A server that replaces another keeps the other's unless
    given one.
    """
    if isinstance(flow_or_program, Mapping):
        if app is not None:
            raise ValueError("give app= with a single flow, or a mapping {app_hash: flow}")
        entries: list[tuple[str | None, Program]] = [
            (key, to_program(v, subflows, allow)) for key, v in flow_or_program.items()
        ]
        if not entries:
            raise ValueError("nothing to serve: the mapping of flows is empty")
    else:
        entries = [(app, to_program(flow_or_program, subflows, allow))]
    _check(
        path=path,
        port=port,
        public_url=public_url,
        login=login,
        password=password,
        insecure=insecure,
        max_body_bytes=max_body_bytes,
        answer_budget_ms=answer_budget_ms,
        clock=clock,
    )
    key = name or "+".join(dict.fromkeys(p.name for _, p in entries))
    previous = _REGISTRY.previous(key)
    if previous is not None and name is None and not _same_flows(previous, [p for _, p in entries]):
        raise ValueError(
            f"a server named {key!r} already serves {previous.describe_flows()} at "
            f"{previous.url}; serving another flow there would change what that URL plays: "
            "pass name='...' to run both, or stop it first (server.stop())"
        )
    for other in _REGISTRY.items():  # an explicit port: the server holding it gives way
        if port and other is not previous and other.host == host and other.port == port:
            logger.info("%s: stopping %r, which serves on port %d", key, other.name, port)
            other.stop()
    if isinstance(secret, str):
        secret = secret.encode()
    config = EngineConfig(secret=secret or secrets.token_bytes(32))
    service = CallbackService(
        config=config,
        events=EventLog(max_events),
        max_body_bytes=max_body_bytes,
        answer_budget_ms=answer_budget_ms,
        clock=clock,
    )
    if replay is not None:
        service.replay = replay
    norm = normalize_path(path)
    for app_hash, program in entries:
        service.routes.add(Deployment(program, norm, app_hash, make_auth(login, password)))
    if previous is not None:
        port = _take_over(previous, service, host, port, secret is None, replay is None)
    handle = ServerHandle(
        name=key,
        host=host,
        port=port,
        path=path,
        public_url=public_url,
        service=service,
        login=login,
        password=password,
    )
    handle.start()
    _REGISTRY.claim(key, handle)
    return handle


def _take_over(
    previous: ServerHandle,
    service: CallbackService,
    host: str,
    port: int,
    same_secret: bool,
    same_replay: bool,
) -> int:
    """Stop *previous* and carry over into *service* what its calls need; the port to use."""
    logger.info("%s: replacing the server at %s", previous.name, previous.local_url)
    previous.stop()
    old = previous.service
    if same_secret:  # the calls in progress were signed with it
        service.config = old.config
    service.events = old.events
    if same_replay:
        service.replay = old.replay
    service.calls.adopt(old.calls.snapshot())
    for deployment in service.routes.deployments():
        for before in old.routes.deployments():  # calls begun there finish on their version
            if before.path == deployment.path and before.app == deployment.app:
                deployment.versions.update(before.versions)
                if before.program.version != deployment.program.version:
                    deployment.versions[before.program.version] = before.program
    service.prune_all()
    return port or (previous.port if previous.host == host else 0)
