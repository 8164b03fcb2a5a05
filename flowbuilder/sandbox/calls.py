"""Simulated calls driven over real HTTP: CALLR's REAL-TIME protocol against an app's URL.

Each call is a :class:`~flowbuilder.phone.SimulatedCall` (the one simulator: what the phone does,
what each command returns); this module only carries its POSTs to the app's URL with httpx, as
CALLR does -- all 14 fields, ``Content-Type: application/json``, HTTP Basic auth when the app has
a login or password -- and feeds each answer back.

Unknown in CALLR's docs, chosen here: an answer later than ``answer_timeout_s`` (5 s), an HTTP
status other than 200, or a body that is not a command hangs the call up at once, records why
(``SimulatedCall.fail``) and sends no further POST. The answer to a final POST (``HANGUP``,
``BUSY``...) is ignored whatever it is; a failed final POST is noted in the transcript.

Clocks: ``simulated`` sends each POST as soon as the previous answer is in (a call full of waits
and ring timeouts ends at once; the transcript keeps the call-time durations); ``real`` waits
what each command would take (``NextPost.delay_s``).

Time: the sandbox keeps a :class:`Timeline`, the wall clock unless set. A call starts at its
moment (``started``, epoch seconds; CALLR's ``date_started``), and each of its POSTs is sent at
``started`` plus the call's own clock, which runs with the simulated durations: the timeline is
set to that moment as the POST goes out, so a callback server whose clock is the timeline's
(``serve(flow, clock=sb.now)``) sees the call's time, 30 s later after 30 s of menu.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import httpx

from flowbuilder.callr import wire
from flowbuilder.callr.commands import MAX_AUDIO_DATA_CHARS
from flowbuilder.callr.constants import ANSWER_WINDOW_S
from flowbuilder.callr.nesting import too_deep
from flowbuilder.callr.rpc import shared_ssl_context
from flowbuilder.errors import CallbackError
from flowbuilder.hygiene import protect
from flowbuilder.phone import CallSetup, NextPost, Script, SimulatedCall, Transcript

log = protect(logging.getLogger("flowbuilder.sandbox"))  # its lines cleaned: hygiene

Clock = Literal["simulated", "real"]
CLOCKS: Final = ("simulated", "real")
USER_AGENT: Final = "CALLR REAL-TIME (flowbuilder sandbox)"
ANSWER_PREVIEW_CHARS: Final = 500
#: A callback answer is read up to this size; a longer one fails the call. The largest command
#: (``play_wav_data``, its audio in base64) is 2 MiB; the rest leaves room for the variables.
ANSWER_MAX_BYTES: Final = MAX_AUDIO_DATA_CHARS + 2 * 1024 * 1024


class Timeline:
    """The sandbox's time, epoch seconds: the wall clock shifted to where it was last set.

    It keeps ticking from the moment it is set to. Calls set it to the moment of each POST they
    send; with several calls at once it reads the moment of the latest POST sent.
    """

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()

    def now(self) -> float:
        return time.time() + self._offset

    def set(self, epoch: float) -> None:
        self._offset = epoch - time.time()


def _wall_clock() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Exchange:
    """One callback POST and what came back, as seen on the wire."""

    sent_at: str  # wall clock, UTC
    t: float  # call clock, seconds since the call started
    call_status: str
    request: dict[str, Any]
    http_status: int | None = None
    answer: Any = None  # the decoded JSON answer; None for an empty body
    answer_text: str = ""  # the start of a body that is not JSON
    latency_ms: float | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SandboxCall:
    """One call in the sandbox: its :class:`Transcript` plus the HTTP exchanges.

    ``result(timeout)`` blocks until the call is over (from any thread but the sandbox's);
    ``await call`` waits from asyncio code.
    """

    def __init__(
        self,
        setup: CallSetup,
        script: Script,
        *,
        url: str,
        auth: tuple[str, str] | None,
        started: float | None = None,
    ) -> None:
        self.phone = SimulatedCall(setup, script)
        #: When the call starts, epoch seconds (its POSTs are sent at this plus the call's clock).
        self.started = time.time() if started is None else started
        self.url = url
        self.auth = auth
        self.exchanges: list[Exchange] = []
        self.started_at = _wall_clock()
        self.future: concurrent.futures.Future[Transcript] = concurrent.futures.Future()
        self._wake: asyncio.Event | None = None
        self.hangup_requested = False
        self.pausing = False

    # -- views ------------------------------------------------------------------------------

    @property
    def setup(self) -> CallSetup:
        return self.phone.setup

    @property
    def callid(self) -> int:
        return self.setup.callid

    @property
    def request_hash(self) -> str | None:
        return self.setup.request_hash

    @property
    def app(self) -> str:
        return self.setup.app

    @property
    def direction(self) -> str:
        return self.phone.direction

    @property
    def transcript(self) -> Transcript:
        return self.phone.transcript

    @property
    def status(self) -> str:
        return self.transcript.status

    @property
    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> Transcript:
        """The transcript once the call is over; TimeoutError if it is still going."""
        try:
            return self.future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(
                f"call {self.callid} is still in progress after {timeout:g} s"
            ) from None

    def __await__(self) -> Generator[Any, None, Transcript]:
        return asyncio.wrap_future(self.future).__await__()

    def to_json(self) -> dict[str, Any]:
        return {
            "callid": self.callid,
            "request_hash": self.request_hash,
            "app": self.app,
            "url": self.url,
            "started_at": self.started_at,
            "done": self.done,
            "transcript": self.transcript.to_json(),
            "exchanges": [e.to_json() for e in self.exchanges],
        }

    def __repr__(self) -> str:
        s = self.setup
        who = f"{s.cli_number or 'anonymous'} -> {s.number}"
        return f"<SandboxCall {self.callid} {self.direction} {who} {self.status}>"

    def _repr_html_(self) -> str:
        return self.transcript._repr_html_()


class Phones:
    """Drives calls on the sandbox's event loop, sharing one httpx client."""

    def __init__(
        self,
        *,
        clock: Clock = "simulated",
        answer_timeout_s: float = ANSWER_WINDOW_S,
        max_in_flight: int = 16,
        timeline: Timeline | None = None,
    ) -> None:
        if clock not in CLOCKS:
            raise ValueError(f"clock must be {' or '.join(CLOCKS)}, got {clock!r}")
        self.clock = clock
        self.timeline = timeline or Timeline()
        self.answer_timeout_s = answer_timeout_s
        # POSTs wait here, not in httpx's pool, so queueing never counts against the server
        self._gate = asyncio.Semaphore(max_in_flight)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(answer_timeout_s, pool=None),
            limits=httpx.Limits(
                max_connections=max_in_flight, max_keepalive_connections=max_in_flight
            ),
            trust_env=False,
            verify=shared_ssl_context(),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, call: SandboxCall) -> None:
        """Schedule *call* (on the running loop)."""
        call._wake = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self.drive(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()

    # -- one call ---------------------------------------------------------------------------

    async def drive(self, call: SandboxCall) -> None:
        phone = call.phone
        try:
            post: NextPost | None = phone.start()
            while post is not None:
                post = await self._pause(call, post)
                if post is None:
                    break
                self.timeline.set(call.started + phone.clock)  # the moment this POST goes out
                exchange, content = await self._send(call, post)
                if post.final:
                    if exchange.error:
                        phone.transcript.add(phone.clock, "error", f"final POST: {exchange.error}")
                    break
                if exchange.error:
                    phone.fail(exchange.error)
                    break
                answer: wire.Answer | None = None
                if content.strip():
                    try:
                        answer = wire.parse_answer(content)
                    except CallbackError as exc:
                        exchange.error = f"malformed answer: {exc}"
                        phone.fail(exchange.error)
                        break
                # None (an empty body) fails the call in the phone: a live call needs a command
                post = phone.on_answer(answer, latency_ms=exchange.latency_ms)
        except asyncio.CancelledError:
            phone.fail("the sandbox stopped during the call")
            raise
        except Exception as exc:  # a sandbox bug must not leave a call hanging forever
            log.exception("call %s: sandbox error", call.callid)
            phone.fail(f"sandbox error: {type(exc).__name__}: {exc}")
        finally:
            if not call.future.done():
                call.future.set_result(phone.transcript)

    async def _pause(self, call: SandboxCall, post: NextPost) -> NextPost | None:
        """Wait what the command takes (real clock); turn the POST into HANGUP if asked to."""
        elapsed = 0.0
        if self.clock == "real" and post.delay_s > 0 and call._wake is not None:
            call._wake.clear()
            call.pausing = True
            started = time.monotonic()
            try:
                await asyncio.wait_for(call._wake.wait(), post.delay_s)
            except TimeoutError:
                pass
            finally:
                call.pausing = False
            elapsed = time.monotonic() - started
        if call.hangup_requested and not post.final:
            if post.callback.is_first:
                call.phone.fail("hung up by calls.hangup before the call was up")
                return None
            return call.phone.interrupt(post, elapsed, "hung up by calls.hangup")
        return post

    async def _send(self, call: SandboxCall, post: NextPost) -> tuple[Exchange, bytes]:
        body = wire.render_callback(post.callback)
        exchange = Exchange(
            sent_at=_wall_clock(),
            t=call.phone.clock,
            call_status=post.callback.call_status,
            request=post.callback.to_json(),
        )
        call.exchanges.append(exchange)
        async with self._gate:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.answer_timeout_s):
                    status, content = await self._post(call, body)
            except (TimeoutError, httpx.TimeoutException):
                exchange.error = f"no answer within {self.answer_timeout_s:g} s"
                return exchange, b""
            except httpx.HTTPError as exc:
                exchange.error = f"the callback POST failed: {type(exc).__name__}: {exc}"
                return exchange, b""
            finally:
                exchange.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        exchange.http_status = status
        if content is None:
            exchange.error = f"the answer is over {ANSWER_MAX_BYTES} bytes"
            return exchange, b""
        if content.strip():
            try:
                if too_deep(content):
                    raise ValueError("nested too deep")
                exchange.answer = json.loads(content)
            except (ValueError, UnicodeDecodeError, RecursionError):
                exchange.answer_text = content[:ANSWER_PREVIEW_CHARS].decode("utf-8", "replace")
        if status != 200 and not post.final:
            exchange.error = f"the server answered HTTP {status}"
        return exchange, content

    async def _post(self, call: SandboxCall, body: bytes) -> tuple[int, bytes | None]:
        """POST *body* to the call's URL: the status and the answer (None: over the limit)."""
        auth = httpx.BasicAuth(*call.auth) if call.auth else httpx.USE_CLIENT_DEFAULT
        headers = {"Content-Type": "application/json"}
        async with self._http.stream(
            "POST", call.url, content=body, headers=headers, auth=auth
        ) as response:
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > ANSWER_MAX_BYTES:
                    return response.status_code, None
            return response.status_code, bytes(content)
