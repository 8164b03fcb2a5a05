"""The Tornado side: one handler answers every callback POST through the engine and the wire.

A POST whose ``Content-Length`` is within the body limit (every CALLR callback) is read whole by
Tornado; any other body (chunked, or too big) goes to :class:`StreamedCallbackHandler`, which
counts it as it arrives and keeps no more than the limit.

Checks run in this order, each refusal one plain-text line: POST only (405), a flow at this path
(404), credentials when every flow here shares them (401), ``Content-Type: application/json``
(415), body size (413), a well-formed callback (400), a flow for its ``app`` (404), that flow's
credentials (401). After that the request is a live call and gets a CALLR answer whatever
happens: a bug anywhere gives the engine's fallback (an apology, then a hang-up), never a 500.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlsplit

from tornado.httputil import HTTPServerRequest
from tornado.routing import AnyMatches, Matcher, Rule
from tornado.web import Application, RequestHandler, stream_request_body

from flowbuilder import effect_runner, engine
from flowbuilder.callr import wire
from flowbuilder.effects import Effect, EffectResult, HttpRequest
from flowbuilder.errors import CallbackError
from flowbuilder.hygiene import clean
from flowbuilder.server.eager import EagerApplication
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


class CallbackHandler(RequestHandler):
    """Answers CALLR REAL-TIME callbacks for the flows in its :class:`Router`."""

    router: Router

    def initialize(self, router: Router) -> None:
        self.router = router
        self._started = time.perf_counter()
        self._arrived = time.time()
        router.in_flight += 1
        self._counted = True

    def _body(self) -> bytes:
        return self.request.body

    def _oversize(self) -> int | None:
        """The size of a body over the limit, else None: routed here, it declared one within."""
        return None

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
                # a task of its own: this runs inline in the connection's task (server.eager)
                return asyncio.ensure_future(self._with_effects(deployment, callback, outcome))
            self._reply(deployment, callback, outcome, ())
        except Exception as exc:
            self._bug(deployment, callback, exc)
        return None

    def _accept(self) -> tuple[Deployment, wire.Callback] | None:
        """The deployment and callback of a usable request; else refuse it and give None."""
        router = self.router
        path = self.request.path
        table = router.tables.get(path) or router.tables.get(normalize_path(path))
        if table is None:
            self._refuse(404, f"no flow is served at {path}; POST to {router.paths()}")
            return None
        uniform, auth = table.uniform, table.auth
        auth_header = (
            None if uniform and auth is None else self.request.headers.get("Authorization")
        )
        if uniform and auth is not None and not auth.check(auth_header):
            self._unauthorized()
            return None
        media, charset = _media_type(self.request.headers.get("Content-Type"))
        if media != JSON_TYPE or charset not in ("", "utf-8", "utf8"):
            got = self.request.headers.get("Content-Type") or "none"
            self._refuse(415, f"Content-Type must be application/json, got {got}")
            return None
        size = self._oversize()
        if size is not None:
            self._refuse(413, f"body is {size} bytes; the limit is {router.max_body_bytes}")
            return None
        try:
            callback = wire.parse_callback(self._body())
        except CallbackError as exc:
            self._refuse(exc.status, str(exc))
            return None
        deployment = table.route(callback.app)
        if deployment is None:
            self._refuse(404, f"no flow for app {callback.app!r} at {path}", callback=callback)
            return None
        if not uniform and deployment.auth is not None and not deployment.auth.check(auth_header):
            self._unauthorized(callback)
            return None
        return deployment, callback

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
        latency_ms = (time.perf_counter() - self._started) * 1000
        trace = reply.trace
        router = self.router
        callid = callback.callid
        # the books are kept before the answer leaves: a client that has its answer sees them
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
                self._arrived,
            )
        version = trace.version or deployment.program.version
        # positional, in field order: half the cost of keywords, on every callback
        event = Event(
            self._arrived,  # time
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
        self.finish()
        # after the answer has left: subscribers and logging never delay CALLR
        router.events.publish(event)
        if trace.error:
            logger.warning("call %s (app %s): %s", callid, callback.app, trace.error)
        elif trace.warning:
            logger.warning("call %s (app %s): %s", callid, callback.app, trace.warning)
        elif logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s", event)

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
            reason = (
                f"{self.request.method} is not allowed: this is a CALLR REAL-TIME callback URL, "
                "POST a callback as JSON"
            )
            self._refuse(405, reason, headers={"Allow": "POST"})
        else:
            self._refuse(status_code, self._reason)

    def on_finish(self) -> None:
        self._done()

    def on_connection_close(self) -> None:
        super().on_connection_close()  # unblocks a body still being awaited
        self._done()

    def _done(self) -> None:
        if self._counted:
            self._counted = False
            self.router.in_flight -= 1


@stream_request_body  # the body is bounded while it arrives, not after it is all in memory
class StreamedCallbackHandler(CallbackHandler):
    """The same answers for bodies of unknown length (chunked) or declared over the limit."""

    def initialize(self, router: Router) -> None:
        super().initialize(router)
        self._chunks: list[bytes] = []
        self._received = 0

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.router.max_body_bytes:  # past the limit: read and dropped
            self._chunks.append(chunk)

    def _body(self) -> bytes:
        return b"".join(self._chunks)

    def _oversize(self) -> int | None:
        return self._received if self._received > self.router.max_body_bytes else None


class DeclaredBodyFits(Matcher):
    """Requests that declare a Content-Length within the limit: Tornado reads them whole."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        declared = request.headers.get("Content-Length")
        # not yet checked by Tornado here: anything but a plain number is streamed, and refused
        if declared and len(declared) < 20 and declared.isascii() and declared.isdigit():
            return {} if int(declared) <= self.router.max_body_bytes else None
        return None


def _no_access_log(handler: RequestHandler) -> None:
    """Every request already becomes an Event (and a log line when it matters)."""


def make_app(router: Router) -> Application:
    """The Tornado application: every path goes to the handler, which routes by path and app.
    Callbacks the engine answers at once are answered inline, without a Task each (eager)."""
    kwargs = {"router": router}
    return EagerApplication(
        [
            Rule(DeclaredBodyFits(router), CallbackHandler, kwargs),
            Rule(AnyMatches(), StreamedCallbackHandler, kwargs),
        ],
        log_function=_no_access_log,
        compress_response=False,
    )
