"""The Tornado side: one handler answers every callback POST through the engine and the wire.

A POST whose ``Content-Length`` is within the body limit (every CALLR callback) is read whole by
Tornado; any other body (chunked, or too big) goes to :class:`StreamedCallbackHandler`, which
counts it as it arrives and keeps no more than the limit.

Checks run in this order, each refusal one plain-text line: POST only (405), a flow at this path
(404), credentials when every flow here shares them (401), ``Content-Type: application/json``
(415), body size (413), a well-formed callback (400), a flow for its ``app`` (404), that flow's
credentials (401), the replay guard (409: an older step, a POST after the call's HANGUP...).
After that the request is a live call and gets a CALLR answer whatever happens: a bug anywhere
gives the engine's fallback (an apology, then a hang-up), never a 500.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable
from typing import Any, Final

from tornado.httputil import HTTPServerRequest
from tornado.routing import AnyMatches, Matcher, Rule
from tornado.web import Application, RequestHandler, stream_request_body

from flowbuilder import engine
from flowbuilder.budget import AnswerBudget
from flowbuilder.callr import wire
from flowbuilder.errors import CallbackError
from flowbuilder.server import replay
from flowbuilder.server.events import Event
from flowbuilder.server.routes import Deployment
from flowbuilder.server.service import CallbackService

logger = logging.getLogger("flowbuilder.server")

JSON_TYPE: Final = "application/json"
#: How often a retry that arrived while its first copy is being answered looks again.
PENDING_POLL_S: Final = 0.02


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


class CallbackHandler(RequestHandler):
    """Answers CALLR REAL-TIME callbacks for the flows of its :class:`CallbackService`."""

    service: CallbackService

    def initialize(self, service: CallbackService) -> None:
        self.service = service
        self._started = time.perf_counter()
        self._arrived = time.time()
        service.in_flight.begin()
        self._counted = True

    def _body(self) -> bytes:
        return self.request.body

    def _now(self) -> float:
        """The time the engine sees now: the service's clock, else the wall clock (also when
        the clock fails: a live call still gets its answer)."""
        clock = self.service.clock
        if clock is not None:
            try:
                return float(clock())
            except Exception:
                logger.exception("the server's clock failed; using the wall clock")
        return time.time()

    def _oversize(self) -> int | None:
        """The size of a body over the limit, else None: routed here, it declared one within."""
        return None

    # -- the request --------------------------------------------------------------------------

    def post(self) -> Awaitable[None] | None:
        # a coroutine only when the answer must wait (effects, a retry in flight): the common
        # path answers without one
        found = self._accept()
        if found is None:
            return None
        deployment, callback = found
        # a live call from here on: it gets a CALLR answer, whatever happens
        digest = hashlib.blake2b(self._body(), digest_size=16).digest()
        verdict = self._check(callback, digest)
        if verdict is not None:
            return self._verdict(deployment, callback, digest, verdict)
        return self._answer(deployment, callback, digest)

    def _answer(
        self, deployment: Deployment, callback: wire.Callback, digest: bytes
    ) -> Awaitable[None] | None:
        try:
            clock = self.service.clock
            outcome = engine.step(
                deployment.program,
                callback,
                config=self.service.config,
                now=self._arrived if clock is None else self._now(),
                versions=deployment.versions,
            )
            if isinstance(outcome, engine.EffectNeeded):
                return self._with_effects(deployment, callback, digest, outcome)
            self._reply(deployment, callback, digest, outcome, ())
        except BaseException as exc:  # node code raising SystemExit must not stop the server
            self._bug(deployment, callback, digest, exc)
        return None

    def _check(self, callback: wire.Callback, digest: bytes) -> replay.Verdict | None:
        """The replay guard's verdict on a live POST; None: answer it."""
        if callback.call_status in wire.ENDED_STATUSES:
            return None
        verdict = self.service.replay.check(callback.callid, callback.command_id, digest)
        return None if isinstance(verdict, replay.Proceed) else verdict

    def _verdict(
        self,
        deployment: Deployment,
        callback: wire.Callback,
        digest: bytes,
        verdict: replay.Verdict,
    ) -> Awaitable[None] | None:
        match verdict:
            case replay.Repeat(body):
                self._repeat(deployment, callback, body)
            case replay.Refuse(reason):
                self._refuse(409, reason, callback=callback)
            case _:  # Pending: the same POST is being answered; its answer is ours
                return self._after_pending(deployment, callback, digest)
        return None

    async def _after_pending(
        self, deployment: Deployment, callback: wire.Callback, digest: bytes
    ) -> None:
        deadline = self._started + self.service.answer_budget_ms / 1000
        while time.perf_counter() < deadline:
            await asyncio.sleep(PENDING_POLL_S)
            verdict = self._check(callback, digest)
            if not isinstance(verdict, replay.Pending):
                if verdict is None:  # the first copy was abandoned: answer this one
                    await self._await(self._answer(deployment, callback, digest))
                else:
                    await self._await(self._verdict(deployment, callback, digest, verdict))
                return
        self._refuse(409, f"call {callback.callid}: the same POST is still being answered")

    @staticmethod
    async def _await(awaitable: Awaitable[None] | None) -> None:
        if awaitable is not None:
            await awaitable

    def _accept(self) -> tuple[Deployment, wire.Callback] | None:
        """The deployment and callback of a usable request; else refuse it and give None."""
        service = self.service
        path = self.request.path
        table = service.routes.table(path)
        if table is None:
            self._refuse(404, f"no flow is served at {path}; POST to {service.routes.paths()}")
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
            self._refuse(413, f"body is {size} bytes; the limit is {service.max_body_bytes}")
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
        self,
        deployment: Deployment,
        callback: wire.Callback,
        digest: bytes,
        outcome: engine.Outcome,
    ) -> None:
        notes: list[str] = []
        budget = AnswerBudget(self.service.answer_budget_ms, started=self._started)
        try:
            while isinstance(outcome, engine.EffectNeeded):
                result = await self.service.effects.perform(outcome.effect, budget, notes)
                outcome = engine.resume(outcome, result, now=self._now())
            self._reply(deployment, callback, digest, outcome, tuple(notes))
        except asyncio.CancelledError:
            self.service.replay.abandoned(callback.callid, digest)
            raise
        except BaseException as exc:
            self._bug(deployment, callback, digest, exc, tuple(notes))

    # -- answers ------------------------------------------------------------------------------

    def _reply(
        self,
        deployment: Deployment,
        callback: wire.Callback,
        digest: bytes,
        reply: engine.Reply,
        effects: tuple[str, ...],
    ) -> None:
        body = reply.body
        if body:
            self.set_header("Content-Type", JSON_TYPE)
            self.write(body)
        else:  # HANGUP and never-answered calls: 200, empty
            self.clear_header("Content-Type")
        trace = reply.trace
        service = self.service
        callid = callback.callid
        version = trace.version or deployment.program.version
        # the books are kept before the answer leaves: a client that has its answer sees them
        if callback.call_status in wire.ENDED_STATUSES:
            service.replay.ended(callid)
            if service.calls.ended(callid) is not None:
                service.prune_versions(deployment)  # its last call may have ended
        else:
            if reply.answer is not None:
                service.replay.answered(callid, digest, reply.answer.command_id, body)
            service.calls.seen(
                callid,
                app=callback.app,
                flow=deployment.program.name,
                version=version,
                node=trace.node,
                path=trace.path,
                now=self._arrived,
            )
        event = Event(
            time=self._arrived,
            callid=callid,
            app=callback.app,
            call_status=callback.call_status,
            command=callback.command,
            command_result=callback.command_result,
            command_error=callback.command_error,
            answered=reply.answer.command.name if reply.answer is not None else None,
            node=trace.node,
            path=trace.path,
            error=trace.error,
            warning=trace.warning,
            effects=effects,
            latency_ms=(time.perf_counter() - self._started) * 1000,
            flow=(deployment.versions.get(version) or deployment.program).name,
            version=version,
            caller=callback.cli_number,
        )
        self._finish_with(event)
        if trace.error:
            logger.warning("call %s (app %s): %s", callid, callback.app, trace.error)
        elif trace.warning:
            logger.warning("call %s (app %s): %s", callid, callback.app, trace.warning)

    def _repeat(self, deployment: Deployment, callback: wire.Callback, body: bytes) -> None:
        """A retry of the POST just answered: the same bytes, nothing run again."""
        if body:
            self.set_header("Content-Type", JSON_TYPE)
            self.write(body)
        self.service.calls.touch(callback.callid, self._arrived)
        event = Event(
            time=self._arrived,
            callid=callback.callid,
            app=callback.app,
            call_status=callback.call_status,
            command=callback.command,
            command_result=callback.command_result,
            command_error=callback.command_error,
            warning="a retry: answered again with the same answer",
            latency_ms=(time.perf_counter() - self._started) * 1000,
            flow=deployment.program.name,
            caller=callback.cli_number,
        )
        self._finish_with(event)

    def _finish_with(self, event: Event) -> None:
        events = self.service.events
        events.record(event)
        self.finish()
        # after the answer has left: subscribers and logging never delay CALLR
        events.publish(event)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s", event)

    def _bug(
        self,
        deployment: Deployment,
        callback: wire.Callback,
        digest: bytes,
        exc: BaseException,
        effects: tuple[str, ...] = (),
    ) -> None:
        """Our own failure during a live call: log it, answer with the engine's fallback."""
        logger.error("call %s (app %s): server error", callback.callid, callback.app, exc_info=exc)
        self.service.replay.abandoned(callback.callid, digest)
        if self._finished:
            return
        self.clear()
        reason = f"server error: {type(exc).__name__}: {exc}"
        reply = engine.fallback(
            deployment.program, callback, config=self.service.config, now=self._now(), reason=reason
        )
        try:
            self._reply(deployment, callback, digest, reply, effects)
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
        events = self.service.events
        events.record(event)
        self.finish(reason + "\n")
        events.publish(event)
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
            self.service.in_flight.end()


@stream_request_body  # the body is bounded while it arrives, not after it is all in memory
class StreamedCallbackHandler(CallbackHandler):
    """The same answers for bodies of unknown length (chunked) or declared over the limit."""

    def initialize(self, service: CallbackService) -> None:
        super().initialize(service)
        self._chunks: list[bytes] = []
        self._received = 0

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.service.max_body_bytes:  # past the limit: read and dropped
            self._chunks.append(chunk)

    def _body(self) -> bytes:
        return b"".join(self._chunks)

    def _oversize(self) -> int | None:
        return self._received if self._received > self.service.max_body_bytes else None


class DeclaredBodyFits(Matcher):
    """Requests that declare a Content-Length within the limit: Tornado reads them whole."""

    def __init__(self, service: CallbackService) -> None:
        self.service = service

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        declared = request.headers.get("Content-Length")
        # not yet checked by Tornado here: anything but a plain number is streamed, and refused
        if declared and len(declared) < 20 and declared.isascii() and declared.isdigit():
            return {} if int(declared) <= self.service.max_body_bytes else None
        return None


def _no_access_log(handler: RequestHandler) -> None:
    """Every request already becomes an Event (and a log line when it matters)."""


def make_app(service: CallbackService) -> Application:
    """The Tornado application: every path goes to the handler, which routes by path and app."""
    kwargs = {"service": service}
    return Application(
        [
            Rule(DeclaredBodyFits(service), CallbackHandler, kwargs),
            Rule(AnyMatches(), StreamedCallbackHandler, kwargs),
        ],
        log_function=_no_access_log,
        compress_response=False,
    )
