"""HTTP/1.1 for the callback server: Tornado's TCP server and streams, httptools' parser.

Tornado's own HTTP/1 connection parses in Python and hands each request through several
coroutines; for a callback server that answers small POSTs most of its time went there. Here a
connection reads what has arrived, lets httptools (llhttp, the parser of Node.js and uvicorn)
parse it in C, and answers each request with one write. Everything else stays Tornado's public
API: ``TCPServer.handle_stream`` and ``IOStream``.

Limits, each refusal one plain-text line: a head over :data:`MAX_HEAD_BYTES` gets 431, a body
over the server's hard limit 413, a request not received whole within :data:`REQUEST_TIMEOUT_S`
408, anything llhttp cannot parse 400; the connection is closed after each of them. Requests
are answered in the order they arrived, one at a time (a client may pipeline); a keep-alive
connection with no request for :data:`IDLE_TIMEOUT_S` is closed.

Fair under load: a request whose bytes were already there (read at once, or pipelined) waits
one turn of the event loop, so a client that always has its next request ready cannot hold up
the other connections; and a client that does not read its answers is not read either.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Final, cast

import httptools
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpserver import TCPServer

logger = logging.getLogger("flowbuilder.server")

#: Request line and headers together; past it, 431 (Tornado's default limit).
MAX_HEAD_BYTES: Final = 64 * 1024
#: From a request's first byte to its last (a slow sender holds a connection no longer).
REQUEST_TIMEOUT_S: Final = 30.0
#: A keep-alive connection with nothing to do is closed after this (nginx's default).
IDLE_TIMEOUT_S: Final = 75.0
READ_BYTES: Final = 64 * 1024
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class Request:
    """One request as it was received: what a handler reads."""

    __slots__ = (
        "chunks",
        "headers",
        "keep_alive",
        "method",
        "path",
        "received",
        "remote_ip",
        "version",
    )

    def __init__(self, remote_ip: str) -> None:
        self.method = ""
        self.path = ""
        self.version = "1.1"
        self.headers: dict[str, str] = {}  # lower-cased names; repeated fields joined by ", "
        self.chunks: list[bytes] = []  # the body up to the server's limit; past it, only counted
        self.received = 0  # the body's size, whatever was kept
        self.remote_ip = remote_ip
        self.keep_alive = True  # False: answered with Connection: close, then the connection shut

    @property
    def body(self) -> bytes:
        return self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)


class Reply:
    """How a handler answers its request, once, now or later; ``on_close`` is called if the
    client leaves before."""

    __slots__ = ("_connection", "_request", "on_close", "sent", "waiter")

    def __init__(self, connection: _Connection, request: Request) -> None:
        self._connection = connection
        self._request = request
        self.sent = False
        self.waiter: asyncio.Future[None] | None = None
        self.on_close: Callable[[], None] | None = None

    def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Status, headers and body (sized: the connection stays open). Content-Length and Date
        are added here; a HEAD request gets the length, never the body."""
        if self.sent:
            return
        self.sent = True
        self.on_close = None  # the handler holds its reply: no cycle keeps the request alive
        self._connection.write(self._request, status, headers, body)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def closed(self) -> None:
        on_close, self.on_close = self.on_close, None
        if not self.sent and on_close is not None:
            on_close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


Handler = Callable[[Request, Reply], None]


class _Refusal(Exception):
    """A request the connection refuses itself (too big, too slow, unparsable), then closes."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@functools.lru_cache(maxsize=2)  # the same second for every answer made in it
def _http_date(second: int) -> bytes:
    """The ``Date`` header HTTP/1.1 servers send (RFC 9110): ``Thu, 03 Dec 2026 21:08:02 GMT``."""
    return formatdate(second, usegmt=True).encode()


@functools.lru_cache(maxsize=32)
def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


class _Connection:
    """One client connection: httptools' callbacks fill :class:`Request` objects, :meth:`run`
    answers them in order."""

    def __init__(self, server: HTTP1Server, stream: IOStream, remote_ip: str) -> None:
        self.server = server
        self.stream = stream
        self.remote_ip = remote_ip
        self.parser = httptools.HttpRequestParser(self)
        self.ready: collections.deque[Request] = collections.deque()
        self.request: Request | None = None  # the one being received
        self.head_bytes = 0
        self.deadline = 0.0  # when the request being received must be whole
        self.url = b""
        self.reply: Reply | None = None  # the one being answered
        self.flushing: asyncio.Future[None] | None = None  # the last answer's write
        self.buffer = bytearray(READ_BYTES)
        self.view = memoryview(self.buffer)

    # -- httptools' callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.request = Request(self.remote_ip)
        self.head_bytes = 0
        self.url = b""
        self.deadline = time.monotonic() + self.server.request_timeout_s

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        assert self.request is not None
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers = self.request.headers
        headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        request = self.request
        assert request is not None
        request.method = self.parser.get_method().decode("ascii", "replace")
        request.version = self.parser.get_http_version()
        request.path = self.url.decode("latin-1").partition("?")[0]
        if request.headers.get("expect", "").lower() == "100-continue" and request.version == "1.1":
            self.stream.write(_CONTINUE)  # the client waits for it before sending the body

    def on_body(self, chunk: bytes) -> None:
        request = self.request
        assert request is not None
        request.received += len(chunk)
        if request.received <= self.server.max_body_bytes:  # past the limit: counted, dropped
            request.chunks.append(chunk)
        elif request.received > self.server.hard_max_body_bytes:
            limit = self.server.max_body_bytes
            raise _Refusal(413, f"body is over {request.received} bytes; the limit is {limit}")

    def on_message_complete(self) -> None:
        request, self.request = self.request, None
        assert request is not None
        request.keep_alive = self.parser.should_keep_alive()
        self.ready.append(request)

    def _count_head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > MAX_HEAD_BYTES:
            raise _Refusal(431, f"request head is over {MAX_HEAD_BYTES // 1024} KiB")

    # -- the connection -----------------------------------------------------------------------

    async def run(self) -> None:
        stream = self.stream
        stream.set_nodelay(True)  # each answer is one write: send it now
        stream.set_close_callback(self._closed)
        handle = self.server.handle
        try:
            while True:
                while self.ready:
                    request = self.ready.popleft()
                    reply = self.reply = Reply(self, request)
                    handle(request, reply)
                    if not reply.sent:
                        reply.waiter = asyncio.get_running_loop().create_future()
                        await reply.waiter
                    self.reply = None
                    if not reply.sent or stream.closed():
                        return
                    if self.flushing is not None and not self.flushing.done():
                        await self.flushing  # a client that does not read is not answered more
                    if not request.keep_alive:
                        stream.close()
                        return
                    if self.ready:  # pipelined: the other connections get a turn between
                        await asyncio.sleep(0)
                if not self._feed(await self._read()):
                    return
        except StreamClosedError:
            pass
        finally:
            stream.close()

    async def _read(self) -> memoryview:
        """What has arrived, in the connection's own buffer (valid until the next read: no
        allocation per read); closes the connection when nothing comes in time."""
        arrived = cast("asyncio.Future[int]", self.stream.read_into(self.buffer, partial=True))
        if arrived.done():
            # it was there already: a turn of the loop first, or a client whose next request
            # is always there would keep the other connections waiting
            await asyncio.sleep(0)
            if self.request is not None and time.monotonic() > self.deadline:
                self._too_slow()
                raise StreamClosedError()
            return self.view[: arrived.result()]
        loop = asyncio.get_running_loop()
        if self.request is None:
            timer = loop.call_later(self.server.idle_timeout_s, self.stream.close)
        else:
            wait = max(0.0, self.deadline - time.monotonic())
            timer = loop.call_later(wait, self._too_slow)
        try:
            return self.view[: await arrived]
        finally:
            timer.cancel()

    def _too_slow(self) -> None:
        within = self.server.request_timeout_s
        self._refuse(408, f"request not received whole within {within:g} s")

    def _feed(self, data: memoryview) -> bool:
        """Parse *data*; False when the connection was refused and closed."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # no protocol switch here: the request is answered, then the connection closed
            for request in self.ready:
                request.keep_alive = False
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refusal):
                self._refuse(cause.status, str(cause))
            else:  # our own bug while parsing: the client sees a 500, the log the traceback
                logger.error("HTTP parsing failed", exc_info=cause)
                self._refuse(500, "server error")
            return False
        except httptools.HttpParserError as exc:
            self._refuse(400, f"malformed HTTP request: {exc}")
            return False
        return True

    def _refuse(self, status: int, reason: str) -> None:
        """Answer *status* with a one-line reason and close the connection."""
        logger.info("refused a request from %s: %d %s", self.remote_ip, status, reason)
        if self.reply is None and not self.stream.closed():
            head = Request(self.remote_ip)
            head.keep_alive = False
            line = (reason + "\n").encode("utf-8", "replace")
            self.write(head, status, {"Content-Type": "text/plain; charset=utf-8"}, line)
        self.stream.close()

    def write(self, request: Request, status: int, headers: dict[str, str], body: bytes) -> None:
        if self.stream.closed():
            return
        parts = [_status_line(status)]
        for name, value in headers.items():
            parts.append(f"{name}: {value}\r\n".encode("latin-1"))
        date = _http_date(int(time.time()))
        parts.append(b"Content-Length: %d\r\nDate: %b\r\n" % (len(body), date))
        if not request.keep_alive:
            parts.append(b"Connection: close\r\n")
        elif request.version == "1.0":
            parts.append(b"Connection: keep-alive\r\n")
        parts.append(b"\r\n")
        if request.method != "HEAD":
            parts.append(body)
        with contextlib.suppress(StreamClosedError):  # the client left before its answer
            self.flushing = self.stream.write(b"".join(parts))

    def _closed(self) -> None:
        if self.reply is not None:
            self.reply.closed()


class HTTP1Server(TCPServer):
    """Serves every request of every connection to *handle*; a body is kept up to
    *max_body_bytes* and read (then dropped) up to *hard_max_body_bytes*."""

    def __init__(
        self,
        handle: Handler,
        *,
        max_body_bytes: int,
        hard_max_body_bytes: int,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        super().__init__(max_buffer_size=2 * READ_BYTES + MAX_HEAD_BYTES)
        self.handle = handle
        self.max_body_bytes = max_body_bytes
        self.hard_max_body_bytes = hard_max_body_bytes
        self.request_timeout_s = request_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._connections: dict[_Connection, asyncio.Future[None]] = {}  # each with its task

    async def handle_stream(self, stream: IOStream, address: tuple[str, int]) -> None:
        connection = _Connection(self, stream, str(address[0]))
        self._connections[connection] = cast("asyncio.Future[None]", asyncio.current_task())
        try:
            await connection.run()
        finally:
            del self._connections[connection]

    async def close_all_connections(self) -> None:
        """Close every connection (after :meth:`stop`) and wait until each has let go."""
        running = list(self._connections.values())
        for connection in list(self._connections):
            connection.stream.close()
        await asyncio.gather(*running, return_exceptions=True)
