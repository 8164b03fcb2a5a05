"""The Tornado side: one handler answers every callback POST through the engine and the wire.

Checks run in this order, each refusal one plain-text line: POST only (405), a flow at this path
(404), credentials when every flow here shares them (401), ``Content-Type: application/json``
(415), body size (413), a well-formed callback (400), a flow for its ``app`` (404), that flow's
credentials (401). After that the request is a live call and gets a CALLR answer whatever
happens: a bug anywhere gives the engine's fallback (an apology, then a hang-up), never a 500.

Most callbacks pass every check and need no effect: :class:`_FastCallback` answers those without
building a :class:`~tornado.web.RequestHandler` (a third of the server's time per callback), with
the same bytes; every other request goes to :class:`CallbackHandler`, unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

import tornado
from tornado.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
    format_timestamp,
)
from tornado.web import Application, RequestHandler, stream_request_body

from flowbuilder import effect_runner, engine
from flowbuilder.callr import wire
from flowbuilder.effects import Effect, EffectResult, HttpRequest
from flowbuilder.errors import CallbackError
from flowbuilder.server.events import Event
from flowbuilder.server.routing import Deployment, Router

logger = logging.getLogger("flowbuilder.server")

JSON_TYPE: Final = "application/json"
#: Below this much of the answer budget left, an effect is not started: it takes ``timeout``.
MIN_EFFECT_MS: Final = 50
#: Extra time given to the effect runner past an effect's own deadline before we stop waiting.
EFFECT_GRACE_MS: Final = 100
_ENDED: Final = wire.ENDED_STATUSES


def normalize_path(path: str) -> str:
    """``/callr/`` and ``/callr`` are the same route; the root is ``/``."""
    return path.rstrip("/") or "/"


@functools.lru_cache(maxsize=64)  # clients send the same few headers again and again
def _media_type(header: str | None) -> tuple[str, str]:
    """(media type, charset) of a Content-Type header, lower-cased."""
    if not header:
        return "", ""
    media, _, params = header.partition(";")
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def describe_effect(effect: Effect, result: EffectResult, elapsed_ms: float) -> str:
    """One line for the event log; a URL's query string (often a key) is left out."""
    if isinstance(effect, HttpRequest):
        try:
            parts = urlsplit(effect.url)
            where = f"{parts.scheme}://{parts.netloc}{parts.path}"
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


class Refusal(NamedTuple):
    """Why a request is not a usable callback (401: the reason is made by the handler)."""

    status: int
    reason: str = ""
    callback: wire.Callback | None = None


def accept(
    router: Router, path: str, headers: HTTPHeaders, size: int, chunks: list[bytes]
) -> tuple[Deployment, wire.Callback] | Refusal:
    """The deployment and callback of a request, checked in the order the module doc gives."""
    table = router.tables.get(path) or router.tables.get(normalize_path(path))
    if table is None:
        return Refusal(404, f"no flow is served at {path}; POST to {router.paths()}")
    uniform, auth = table.uniform, table.auth
    auth_header = None if uniform and auth is None else headers.get("Authorization")
    if uniform and auth is not None and not auth.check(auth_header):
        return Refusal(401)
    content_type = headers.get("Content-Type")
    media, charset = _media_type(content_type)
    if media != JSON_TYPE or charset not in ("", "utf-8", "utf8"):
        return Refusal(415, f"Content-Type must be application/json, got {content_type or 'none'}")
    if size > router.max_body_bytes:
        return Refusal(413, f"body is {size} bytes; the limit is {router.max_body_bytes}")
    try:
        callback = wire.parse_callback(b"".join(chunks))
    except CallbackError as exc:
        return Refusal(exc.status, str(exc))
    deployment = table.route(callback.app)
    if deployment is None:
        return Refusal(404, f"no flow for app {callback.app!r} at {path}", callback)
    if not uniform and deployment.auth is not None and not deployment.auth.check(auth_header):
        return Refusal(401, "", callback)
    return deployment, callback


def _book(
    router: Router,
    deployment: Deployment,
    callback: wire.Callback,
    reply: engine.Reply,
    effects: tuple[str, ...],
    arrived: float,
    started: float,
) -> Event:
    """Keep the books of an answered callback (calls in progress, the event log): done before
    the answer leaves, so a client that has its answer sees them."""
    latency_ms = (time.perf_counter() - started) * 1000
    trace = reply.trace
    callid = callback.callid
    if callback.call_status in _ENDED:
        router.call_ended(callid, deployment)
    else:
        router.call_seen(
            callid,
            callback.app,
            deployment.program,
            trace.version,
            trace.node,
            trace.path,
            arrived,
        )
    version = trace.version or deployment.program.version
    # positional, in field order: half the cost of keywords, on every callback
    event = Event(
        arrived,  # time
        callid,
        callback.app,
        callback.call_status,
        callback.command,
        callback.command_result,
        callback.command_error,
        reply.answer.command.name if reply.answer is not None else None,  # answered
        trace.node,
        trace.path,
        trace.error,
        trace.warning,
        effects,
        latency_ms,
        200,  # status
        (deployment.versions.get(version) or deployment.program).name,  # flow
        version,
        callback.cli_number,  # caller
    )
    router.events.record(event)
    return event


def _after(router: Router, event: Event, callback: wire.Callback) -> None:
    """After the answer has left: subscribers and logging never delay CALLR."""
    router.events.publish(event)
    if event.error:
        logger.warning("call %s (app %s): %s", event.callid, callback.app, event.error)
    elif event.warning:
        logger.warning("call %s (app %s): %s", event.callid, callback.app, event.warning)
    elif logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s", event)


@stream_request_body  # the body is bounded while it arrives, not after it is all in memory
class CallbackHandler(RequestHandler):
    """Answers CALLR REAL-TIME callbacks for the flows in its :class:`Router`."""

    router: Router

    def initialize(self, router: Router) -> None:
        self.router = router
        self._started = time.perf_counter()
        self._arrived = time.time()
        self._chunks: list[bytes] = []
        self._size = 0
        router.in_flight += 1
        self._counted = True

    # -- body ---------------------------------------------------------------------------------

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.router.max_body_bytes:  # past the limit: read and dropped
            self._chunks.append(chunk)

    # -- the request --------------------------------------------------------------------------

    def post(self) -> Awaitable[None] | None:
        # returns a coroutine only when effects must be awaited: the common path stays sync
        found = self._accept()
        if found is None:
            return None
        deployment, callback = found
        # a live call from here on: it gets a CALLR answer, whatever happens
        try:
            outcome = engine.step(
                deployment.program,
                callback,
                config=self.router.config,
                now=self._arrived,
                versions=deployment.versions,
            )
            if isinstance(outcome, engine.EffectNeeded):
                return self._with_effects(deployment, callback, outcome)
            self._reply(deployment, callback, outcome, ())
        except Exception as exc:
            self._bug(deployment, callback, exc)
        return None

    def _accept(self) -> tuple[Deployment, wire.Callback] | None:
        """The deployment and callback of a usable request; else refuse it and give None."""
        request = self.request
        found = accept(self.router, request.path, request.headers, self._size, self._chunks)
        if isinstance(found, Refusal):
            if found.status == 401:
                self._unauthorized(found.callback)
            else:
                self._refuse(found.status, found.reason, callback=found.callback)
            return None
        return found

    async def _with_effects(
        self, deployment: Deployment, callback: wire.Callback, outcome: engine.Outcome
    ) -> None:
        notes: list[str] = []
        try:
            while isinstance(outcome, engine.EffectNeeded):
                result = await self._perform(outcome.effect, notes)
                outcome = engine.resume(outcome, result, now=time.time())
            self._reply(deployment, callback, outcome, tuple(notes))
        except Exception as exc:
            self._bug(deployment, callback, exc, tuple(notes))

    async def _perform(self, effect: Effect, notes: list[str]) -> EffectResult:
        """Perform *effect* within what is left of the answer budget."""
        left_ms = self.router.answer_budget_ms - (time.perf_counter() - self._started) * 1000
        if left_ms < MIN_EFFECT_MS:
            result = EffectResult(timed_out=True)
            notes.append(describe_effect(effect, result, 0.0) + " [no time left]")
            return result
        if effect.timeout_ms > left_ms:
            effect = replace(effect, timeout_ms=int(left_ms))
        began = time.perf_counter()
        try:
            client = await self.router.http_client()
            left_ms = self.router.answer_budget_ms - (time.perf_counter() - self._started) * 1000
            if effect.timeout_ms > left_ms:  # making the client took a little of the budget
                effect = replace(effect, timeout_ms=max(1, int(left_ms)))
            result = await asyncio.wait_for(
                effect_runner.perform_async(effect, client=client),
                (effect.timeout_ms + EFFECT_GRACE_MS) / 1000,
            )
        except TimeoutError:
            result = EffectResult(timed_out=True)
        except Exception as exc:  # the runner should not raise; if it does, the node sees why
            result = EffectResult(error=f"{type(exc).__name__}: {exc}")
        notes.append(describe_effect(effect, result, (time.perf_counter() - began) * 1000))
        return result

    # -- answers ------------------------------------------------------------------------------

    def _reply(
        self,
        deployment: Deployment,
        callback: wire.Callback,
        reply: engine.Reply,
        effects: tuple[str, ...],
    ) -> None:
        body = reply.body
        if body:
            self.set_header("Content-Type", JSON_TYPE)
            self.write(body)
        else:  # HANGUP and never-answered calls: 200, empty
            self.clear_header("Content-Type")
        event = _book(
            self.router, deployment, callback, reply, effects, self._arrived, self._started
        )
        self.finish()
        _after(self.router, event, callback)

    def _bug(
        self,
        deployment: Deployment,
        callback: wire.Callback,
        exc: Exception,
        effects: tuple[str, ...] = (),
    ) -> None:
        """Our own failure during a live call: log it, answer with the engine's fallback."""
        logger.exception("call %s (app %s): server error", callback.callid, callback.app)
        reason = f"server error: {type(exc).__name__}: {exc}"
        if self._finished:
            return
        self.clear()
        reply = engine.fallback(
            deployment.program, callback, config=self.router.config, now=time.time(), reason=reason
        )
        try:
            self._reply(deployment, callback, reply, effects)
        except Exception:  # even the books failed: the answer still goes out
            logger.exception("call %s: server error while answering", callback.callid)
            if not self._finished:
                self.clear()
                self.set_header("Content-Type", JSON_TYPE)
                self.finish(reply.body)

    def _refuse(
        self,
        status: int,
        reason: str,
        *,
        callback: wire.Callback | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A request that is not a usable callback: *status* and one line saying why."""
        self.set_status(status)
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        event = Event(
            time=self._arrived,
            callid=callback.callid if callback else None,
            app=callback.app if callback else None,
            call_status=callback.call_status if callback else None,
            command=callback.command if callback else "",
            caller=callback.cli_number if callback else "",
            error=reason,
            latency_ms=(time.perf_counter() - self._started) * 1000,
            status=status,
        )
        self.router.events.record(event)
        self.finish(reason + "\n")
        self.router.events.publish(event)
        logger.info(
            "refused %s %s from %s: %d %s",
            self.request.method,
            self.request.path,
            self.request.remote_ip,
            status,
            reason,
        )

    def _unauthorized(self, callback: wire.Callback | None = None) -> None:
        given = "wrong credentials" if self.request.headers.get("Authorization") else "none given"
        self._refuse(
            401,
            f"HTTP Basic credentials of the REALTIME10 app required ({given})",
            callback=callback,
            headers={"WWW-Authenticate": 'Basic realm="flowbuilder", charset="UTF-8"'},
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Tornado's own refusals (other methods, a bug outside a live call): one line too."""
        if status_code == 405:
            self.set_header("Allow", "POST")
            reason = (
                f"{self.request.method} is not allowed: this is a CALLR REAL-TIME callback URL, "
                "POST a callback as JSON"
            )
        else:
            reason = self._reason
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        event = Event(
            time=self._arrived,
            error=reason,
            latency_ms=(time.perf_counter() - self._started) * 1000,
            status=status_code,
        )
        self.router.events.record(event)
        self.finish(reason + "\n")
        self.router.events.publish(event)

    def on_finish(self) -> None:
        self._done()

    def on_connection_close(self) -> None:
        super().on_connection_close()  # unblocks a body still being awaited
        self._done()

    def _done(self) -> None:
        if self._counted:
            self._counted = False
            self.router.in_flight -= 1


def _no_access_log(handler: RequestHandler) -> None:
    """Every request already becomes an Event (and a log line when it matters)."""


_SERVER_HEADER: Final = f"TornadoServer/{tornado.version}"
_OK: Final = ResponseStartLine("", 200, "OK")
_date: list[Any] = [-1, ""]  # (second, Date header): one formatting a second, not one a call


def _date_header(now: float) -> str:
    second = int(now)
    if _date[0] != second:
        _date[:] = [second, format_timestamp(second)]
    return str(_date[1])


class _FastCallback(HTTPMessageDelegate):
    """The common case without :class:`tornado.web.RequestHandler`'s machinery: a POST whose
    body is within the limit, a well-formed callback for a served flow with the right
    credentials, answered by the engine without effects. It writes what the handler would
    write, byte for byte. Anything else (a refusal, effects, a bug) is handed, headers and
    body, to :class:`CallbackHandler`, which then answers exactly as it always does."""

    __slots__ = (
        "_app",
        "_arrived",
        "_chunks",
        "_connection",
        "_counted",
        "_handler",
        "_headers",
        "_sent",
        "_server_conn",
        "_size",
        "_start_line",
        "_started",
        "router",
    )

    def __init__(
        self,
        app: _CallbackApplication,
        server_conn: object,
        connection: HTTPConnection,
    ) -> None:
        self._app = app
        self.router = app.router
        self._server_conn = server_conn
        self._connection = connection
        self._handler: HTTPMessageDelegate | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._counted = False
        self._sent = False

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        length = headers.get("Content-Length")
        if (
            isinstance(start_line, RequestStartLine)
            and start_line.method == "POST"
            and length is not None
            and length.isascii()
            and length.isdigit()
            and int(length) <= self.router.max_body_bytes
            and "Transfer-Encoding" not in headers
        ):
            self._start_line, self._headers = start_line, headers
            self._started = time.perf_counter()
            self._arrived = time.time()
            self.router.in_flight += 1
            self._counted = True
            return None
        handler = self._handler = self._app.tornado_request(self._server_conn, self._connection)
        return handler.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._handler is not None:
            return self._handler.data_received(chunk)
        self._size += len(chunk)  # at most Content-Length, within the limit
        self._chunks.append(chunk)
        return None

    def finish(self) -> None:
        if self._handler is not None:
            self._handler.finish()
            return
        try:
            answered = self._answer()
        except Exception:
            if self._sent:  # too late to answer again
                logger.exception("server error while sending an answer")
            # else the handler answers (with its fallback, if the bug is still there)
            answered = self._sent
        self._done()
        if not answered:
            self._hand_over()

    def on_connection_close(self) -> None:
        if self._handler is not None:
            self._handler.on_connection_close()
        self._done()

    def _done(self) -> None:
        if self._counted:
            self._counted = False
            self.router.in_flight -= 1

    def _answer(self) -> bool:
        """Answer the callback if it is the common case; else do nothing and say so."""
        router = self.router
        path = self._start_line.path.partition("?")[0]  # as HTTPServerRequest.path
        found = accept(router, path, self._headers, self._size, self._chunks)
        if isinstance(found, Refusal):
            return False
        deployment, callback = found
        outcome = engine.step(
            deployment.program,
            callback,
            config=router.config,
            now=self._arrived,
            versions=deployment.versions,
        )
        if not isinstance(outcome, engine.Reply):
            return False  # effects: the handler awaits them
        body = outcome.body
        event = _book(router, deployment, callback, outcome, (), self._arrived, self._started)
        # the headers RequestHandler sends, in its order
        response = HTTPHeaders()
        response["Server"] = _SERVER_HEADER
        if body:
            response["Content-Type"] = JSON_TYPE
        response["Date"] = _date_header(time.time())
        response["Content-Length"] = str(len(body))
        self._sent = True
        self._connection.write_headers(_OK, response, body)
        self._connection.finish()
        _after(router, event, callback)
        return True

    def _hand_over(self) -> None:
        """Give the request, as received, to :class:`CallbackHandler`."""
        handler = self._handler = self._app.tornado_request(self._server_conn, self._connection)
        handler.headers_received(self._start_line, self._headers)
        handler.data_received(b"".join(self._chunks))
        handler.finish()


class _CallbackApplication(Application):
    """Tornado's application, with the common callback answered on a short path."""

    def __init__(self, router: Router) -> None:
        super().__init__(
            [(r"/.*", CallbackHandler, {"router": router})],
            log_function=_no_access_log,
            compress_response=False,
        )
        self.router = router

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        return _FastCallback(self, server_conn, request_conn)

    def tornado_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        """Tornado's own handling of a request: :class:`CallbackHandler`."""
        return super().start_request(server_conn, request_conn)


def make_app(router: Router) -> Application:
    """The Tornado application: every path goes to the handler, which routes by path and app."""
    return _CallbackApplication(router)
