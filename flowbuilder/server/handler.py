"""The HTTP side: each callback POST is answered through the engine and the wire.

Requests come whole from :mod:`flowbuilder.server.http1` (Tornado's TCP server, httptools'
parser): no ``RequestHandler``, no routing table and no task per request, so a callback the
engine answers at once is answered where it arrives. The body was counted as it arrived and kept
up to the limit only, whatever its framing (sized or chunked).

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
from collections.abc import Callable, Coroutine
from typing import Any, Final

from flowbuilder import engine
from flowbuilder.budget import AnswerBudget
from flowbuilder.callr import wire
from flowbuilder.clock import from_date_started
from flowbuilder.errors import CallbackError
from flowbuilder.server import replay
from flowbuilder.server.events import Event
from flowbuilder.server.http1 import Reply, Request
from flowbuilder.server.routes import Deployment
from flowbuilder.server.service import CallbackService

logger = logging.getLogger("flowbuilder.server")

JSON_TYPE: Final = "application/json"
_TEXT_TYPE: Final = "text/plain; charset=utf-8"
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


class CallbackRequest:
    """One request, received whole: checked, then answered now or once its effects are done."""

    __slots__ = (
        "_arrived",
        "_counted",
        "_started",
        "reply",
        "request",
        "service",
    )

    def __init__(self, service: CallbackService, request: Request, reply: Reply) -> None:
        self.service = service
        self.request = request
        self.reply = reply
        self._started = time.perf_counter()
        self._arrived = time.time()
        service.in_flight.begin()
        self._counted = True
        reply.on_close = self._done

    def run(self) -> None:
        try:
            found = self._accept()
            if found is None:
                return
            deployment, callback, body = found
            # a live call from here on: it gets a CALLR answer, whatever happens
            digest = hashlib.blake2b(body, digest_size=16).digest()
            verdict = self._check(callback, digest)
            if verdict is None:
                self._answer(deployment, callback, digest)
            else:
                self._verdict(deployment, callback, digest, verdict)
        except Exception:  # a bug before the request was a call: the client sees it
            logger.exception("%s %s: server error", self.request.method, self.request.path)
            if not self.reply.sent:
                self._refuse(500, "server error")

    # -- the request ----------------------------------------------------------------------------

    def _accept(self) -> tuple[Deployment, wire.Callback, bytes] | None:
        """The deployment, callback and body of a usable request; else refuse it, None."""
        service, request = self.service, self.request
        if request.method != "POST":
            reason = (
                f"{request.method} is not allowed: this is a CALLR REAL-TIME callback URL, "
                "POST a callback as JSON"
            )
            self._refuse(405, reason, headers={"Allow": "POST"})
            return None
        table = service.routes.table(request.path)
        if table is None:
            self._refuse(
                404, f"no flow is served at {request.path}; POST to {service.routes.paths()}"
            )
            return None
        uniform, auth = table.uniform, table.auth
        auth_header = None if uniform and auth is None else request.headers.get("authorization")
        if uniform and auth is not None and not auth.check(auth_header):
            self._unauthorized()
            return None
        media, charset = _media_type(request.headers.get("content-type"))
        if media != JSON_TYPE or charset not in ("", "utf-8", "utf8"):
            got = request.headers.get("content-type") or "none"
            self._refuse(415, f"Content-Type must be application/json, got {got}")
            return None
        if request.received > service.max_body_bytes:
            limit = service.max_body_bytes
            self._refuse(413, f"body is {request.received} bytes; the limit is {limit}")
            return None
        body = request.body
        try:
            callback = wire.parse_callback(body)
        except CallbackError as exc:
            self._refuse(exc.status, str(exc))
            return None
        deployment = table.route(callback.app)
        if deployment is None:
            self._refuse(
                404, f"no flow for app {callback.app!r} at {request.path}", callback=callback
            )
            return None
        if not uniform and deployment.auth is not None and not deployment.auth.check(auth_header):
            self._unauthorized(callback)
            return None
        return deployment, callback, body

    def _now(self, callback: wire.Callback) -> float:
        """The time the engine sees now: the service's clock, else the wall clock (also when
        the clock fails: a live call still gets its answer)."""
        clock = self.service.clock
        try:
            if clock == "call":
                started = self.service.calls.started(callback.callid) or self._arrived
                return from_date_started(callback.date_started) + max(0.0, time.time() - started)
            if clock is not None:
                return float(clock())
        except Exception:
            logger.exception("the server's clock failed; using the wall clock")
        return time.time()

    def _answer(self, deployment: Deployment, callback: wire.Callback, digest: bytes) -> None:
        try:
            outcome = engine.step(
                deployment.program,
                callback,
                config=self.service.config,
                now=self._arrived if self.service.clock is None else self._now(callback),
                versions=deployment.versions,
            )
            if isinstance(outcome, engine.EffectNeeded):
                self._later(self._with_effects(deployment, callback, digest, outcome))
            else:
                self._reply(deployment, callback, digest, outcome, ())
        except BaseException as exc:  # node code raising SystemExit must not stop the server
            self._bug(deployment, callback, digest, exc)

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Answer once *work* is done (effects, a retry waiting for its first copy); the
        connection reads no other request meanwhile."""
        self.service.start(work)

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
    ) -> None:
        match verdict:
            case replay.Repeat(body):
                self._repeat(deployment, callback, body)
            case replay.Refuse(reason):
                self._refuse(409, reason, callback=callback)
            case _:  # Pending: the same POST is being answered; its answer is ours
                self._later(self._after_pending(deployment, callback, digest))

    async def _after_pending(
        self, deployment: Deployment, callback: wire.Callback, digest: bytes
    ) -> None:
        deadline = self._started + self.service.answer_budget_ms / 1000
        while time.perf_counter() < deadline:
            await asyncio.sleep(PENDING_POLL_S)
            verdict = self._check(callback, digest)
            if not isinstance(verdict, replay.Pending):
                if verdict is None:  # the first copy was abandoned: answer this one
                    self._answer(deployment, callback, digest)
                else:
                    self._verdict(deployment, callback, digest, verdict)
                return
        self._refuse(409, f"call {callback.callid}: the same POST is still being answered")

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
                outcome = engine.resume(outcome, result, now=self._now(callback))
            self._reply(deployment, callback, digest, outcome, tuple(notes))
        except asyncio.CancelledError:
            self.service.replay.abandoned(callback.callid, digest)
            raise
        except BaseException as exc:
            self._bug(deployment, callback, digest, exc, tuple(notes))

    # -- answers --------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """The response: *status*, *headers*, *body* (sized, so the connection stays open)."""
        try:
            self.reply.send(status, headers, body)
        finally:
            self._done()

    def _reply(
        self,
        deployment: Deployment,
        callback: wire.Callback,
        digest: bytes,
        reply: engine.Reply,
        effects: tuple[str, ...],
    ) -> None:
        body = reply.body
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
        # HANGUP and never-answered calls: 200, empty
        self._finish_with(event, 200, body, {"Content-Type": JSON_TYPE} if body else {})
        if trace.error:
            logger.warning("call %s (app %s): %s", callid, callback.app, trace.error)
        elif trace.warning:
            logger.warning("call %s (app %s): %s", callid, callback.app, trace.warning)

    def _repeat(self, deployment: Deployment, callback: wire.Callback, body: bytes) -> None:
        """A retry of the POST just answered: the same bytes, nothing run again."""
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
        self._finish_with(event, 200, body, {"Content-Type": JSON_TYPE} if body else {})

    def _finish_with(self, event: Event, status: int, body: bytes, headers: dict[str, str]) -> None:
        events = self.service.events
        events.record(event)
        self._send(status, body, headers)
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
        if self.reply.sent:
            return
        reason = f"server error: {type(exc).__name__}: {exc}"
        reply = engine.fallback(
            deployment.program,
            callback,
            config=self.service.config,
            now=self._now(callback),
            reason=reason,
        )
        try:
            self._reply(deployment, callback, digest, reply, effects)
        except Exception:  # even the books failed: the answer still goes out
            logger.exception("call %s: server error while answering", callback.callid)
            if not self.reply.sent:
                self._send(200, reply.body, {"Content-Type": JSON_TYPE})

    def _refuse(
        self,
        status: int,
        reason: str,
        *,
        callback: wire.Callback | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A request that is not a usable callback: *status* and one line saying why."""
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
        line = (reason + "\n").encode("utf-8", "replace")
        self._finish_with(event, status, line, {**(headers or {}), "Content-Type": _TEXT_TYPE})
        logger.info(
            "refused %s %s from %s: %d %s",
            self.request.method,
            self.request.path,
            self.request.remote_ip,
            status,
            reason,
        )

    def _unauthorized(self, callback: wire.Callback | None = None) -> None:
        given = "wrong credentials" if self.request.headers.get("authorization") else "none given"
        self._refuse(
            401,
            f"HTTP Basic credentials of the REALTIME10 app required ({given})",
            callback=callback,
            headers={"WWW-Authenticate": 'Basic realm="flowbuilder", charset="UTF-8"'},
        )

    def _done(self) -> None:
        if self._counted:
            self._counted = False
            self.service.in_flight.end()


def make_app(service: CallbackService) -> Callable[[Request, Reply], None]:
    """What :class:`~flowbuilder.server.http1.HTTP1Server` serves: every request, whatever its
    path, to the service."""

    def handle(request: Request, reply: Reply) -> None:
        CallbackRequest(service, request, reply).run()

    return handle
