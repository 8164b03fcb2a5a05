"""The callback server's HTTP/1.1 on raw sockets: what clients other than httpx send (curl's
``Expect: 100-continue``, pipelining, HTTP/1.0, ``Connection: close``) and what a hostile or
broken one gets (a huge head or body, a slow or silent sender, garbage)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from tornado.netutil import bind_sockets

from flowbuilder._loopthread import LoopThread
from flowbuilder.examples import support_line
from flowbuilder.server import ServerHandle, serve
from flowbuilder.server.http1 import MAX_HEAD_BYTES, HTTP1Server, Reply, Request
from tests.test_server import first_post


class Peer:
    """A client on a raw socket that reads responses one by one, whatever arrives together."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next response: status, lower-cased headers, body."""
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed; got {self.buffer!r}"
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill(), "connection closed mid-body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def closed(self) -> bool:
        """True when the server has closed the connection (and sent nothing more)."""
        try:
            return not self._fill() and not self.buffer
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def post(body: bytes, *, version: str = "1.1", extra: str = "") -> bytes:
    head = (
        f"POST / HTTP/{version}\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def callback() -> bytes:
    return json.dumps(first_post()).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with serve(support_line(), name="test-http1") as handle:
        yield handle


@pytest.fixture
def connect() -> Iterator[Callable[[int], Peer]]:
    """Opens raw connections, all closed after the test."""
    opened: list[Peer] = []

    def open_one(port: int) -> Peer:
        opened.append(Peer(port))
        return opened[-1]

    yield open_one
    for peer in opened:
        peer.close()


@pytest.fixture
def peer(server: ServerHandle, connect: Callable[[int], Peer]) -> Peer:
    return connect(server.port)


def still_serving(server: ServerHandle) -> bool:
    return httpx.post(server.url, json=first_post()).status_code == 200


def test_expect_100_continue_gets_its_go_ahead_before_the_body_is_sent(peer: Peer):
    """curl sends ``Expect: 100-continue`` for bodies over 1 KiB and waits a second for it."""
    body = callback()
    head, _, _ = post(body, extra="Expect: 100-continue\r\n").partition(b"\r\n\r\n")
    peer.send(head + b"\r\n\r\n")
    peer.sock.settimeout(0.5)  # far less than curl's wait: the go-ahead is immediate
    assert peer.response()[0] == 100
    peer.sock.settimeout(5)
    peer.send(body)
    status, headers, answer = peer.response()
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(answer)["command"] == "play"  # the welcome


def test_pipelined_callbacks_are_answered_in_order_on_one_connection(peer: Peer):
    bodies = [json.dumps(first_post(callid=callid)).encode() for callid in (901, 902, 903)]
    peer.send(b"".join(post(body) for body in bodies))
    answers = [peer.response() for _ in bodies]
    assert [status for status, _, _ in answers] == [200, 200, 200]
    ids = [json.loads(a)["variables"] for _, _, a in answers]
    assert len({json.dumps(v) for v in ids}) == 3  # three calls, three states
    peer.send(post(bodies[0]))  # a retry of the first POST: the same answer again
    assert peer.response()[2] == answers[0][2]


def test_http_1_0_is_closed_after_its_answer_unless_it_asks_to_keep_alive(
    server: ServerHandle, connect: Callable[[int], Peer]
):
    plain = connect(server.port)
    plain.send(post(callback(), version="1.0"))
    status, headers, _ = plain.response()
    assert status == 200
    assert headers.get("connection") == "close"
    assert plain.closed()
    kept = connect(server.port)
    kept.send(post(callback(), version="1.0", extra="Connection: keep-alive\r\n"))
    assert kept.response()[1].get("connection") == "keep-alive"
    kept.send(post(callback(), version="1.0", extra="Connection: keep-alive\r\n"))
    assert kept.response()[0] == 200


def test_connection_close_is_honoured(peer: Peer):
    peer.send(post(callback(), extra="Connection: close\r\n"))
    status, headers, _ = peer.response()
    assert status == 200
    assert headers["connection"] == "close"
    assert peer.closed()


def test_a_head_over_64_kib_gets_431_in_one_line_and_the_server_goes_on(
    server: ServerHandle, peer: Peer
):
    cookie = "a" * (MAX_HEAD_BYTES + 10)
    peer.send(post(callback(), extra=f"X-Big: {cookie}\r\n"))
    status, headers, body = peer.response()
    assert status == 431
    assert headers["connection"] == "close"
    assert body == b"request head is over 64 KiB\n"
    assert peer.closed()
    assert still_serving(server)


def test_a_body_past_the_hard_limit_is_refused_without_reading_it_all(
    server: ServerHandle, peer: Peer
):
    """Up to 16x the limit a body is read and dropped (the connection stays usable, see
    test_server); past that, 413 at once and the connection closed."""
    huge = 200 * 1024 * 1024
    peer.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
    peer.send(f"Content-Length: {huge}\r\n\r\n".encode())
    sent = 0
    try:
        while sent < huge:  # the server answers long before the body ends
            peer.send(b" " * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert sent < huge
    status, headers, body = peer.response()
    assert status == 413
    assert headers["connection"] == "close"
    assert body.startswith(b"body is over ")
    assert b"the limit is" in body
    assert still_serving(server)


@pytest.mark.parametrize(
    "garbage",
    [
        b"HELLO\r\n\r\n",
        b"POST / HTTP/9.9\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
)
def test_unparsable_requests_get_400_saying_so_and_the_server_goes_on(
    server: ServerHandle, peer: Peer, garbage: bytes
):
    peer.send(garbage)
    status, headers, body = peer.response()
    assert status == 400
    assert headers["connection"] == "close"
    assert body.startswith(b"malformed HTTP request: ")
    assert body.count(b"\n") == 1
    assert peer.closed()
    assert still_serving(server)


def test_a_chunked_callback_is_answered(server: ServerHandle, peer: Peer):
    body = callback()
    chunks = b"".join(b"%x\r\n%b\r\n" % (len(part), part) for part in (body[:50], body[50:]))
    head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    peer.send(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n")
    status, _, answer = peer.response()
    assert status == 200
    assert json.loads(answer)["command"] == "play"  # the welcome


# -- timeouts, on the HTTP layer alone (the server's are 30 s and 75 s) --------------------------


@pytest.fixture
def quick_timeouts() -> Iterator[int]:
    """An HTTP/1.1 server that answers each request with its body's size, with short timeouts."""

    def handle(request: Request, reply: Reply) -> None:
        reply.send(200, {"Content-Type": "text/plain"}, str(request.received).encode())

    thread = LoopThread("test-http1-timeouts")
    server = HTTP1Server(
        handle,
        max_body_bytes=1024,
        hard_max_body_bytes=4096,
        request_timeout_s=0.4,
        idle_timeout_s=0.6,
    )

    async def setup() -> int:
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        return int(sockets[0].getsockname()[1])

    yield thread.start(setup)
    thread.call(server.stop)
    thread.stop()


def test_a_request_not_received_whole_in_time_gets_408(
    quick_timeouts: int, connect: Callable[[int], Peer]
):
    peer = connect(quick_timeouts)
    started = time.monotonic()
    peer.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    time.sleep(0.2)
    peer.send(b"de")  # trickling in does not reset the clock
    status, headers, body = peer.response()
    assert status == 408
    assert headers["connection"] == "close"
    assert body == b"request not received whole within 0.4 s\n"
    assert 0.35 <= time.monotonic() - started < 2
    assert peer.closed()


def test_an_idle_keep_alive_connection_is_closed(
    quick_timeouts: int, connect: Callable[[int], Peer]
):
    peer = connect(quick_timeouts)
    peer.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    assert peer.response()[2] == b"3"
    time.sleep(0.3)
    peer.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab")  # still open
    assert peer.response()[2] == b"2"
    started = time.monotonic()
    assert peer.closed()  # blocks until the server lets go
    assert 0.5 <= time.monotonic() - started < 2


def test_a_client_that_pipelines_hundreds_of_callbacks_cannot_hold_up_another(
    server: ServerHandle, connect: Callable[[int], Peer]
):
    greedy, other = connect(server.port), connect(server.port)
    greedy.send(b"".join(post(callback()) for _ in range(300)))
    other.send(post(callback()))
    assert other.response()[0] == 200
    greedy.sock.setblocking(False)
    try:
        while greedy._fill():
            pass
    except BlockingIOError:
        pass
    answered_before = greedy.buffer.count(b"HTTP/1.1 200 OK")
    assert answered_before < 300  # the other was answered before the greedy one's last
    greedy.sock.setblocking(True)
    answers = [greedy.response() for _ in range(300)]
    assert {status for status, _, _ in answers} == {200}


def test_an_upgrade_request_is_answered_then_closed(server: ServerHandle, peer: Peer):
    peer.send(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    status, headers, body = peer.response()
    assert status == 405
    assert headers["connection"] == "close"
    assert body.startswith(b"GET is not allowed")
    assert peer.closed()
    assert still_serving(server)


def test_a_client_that_never_reads_its_answers_is_not_answered_without_end(
    server: ServerHandle, connect: Callable[[int], Peer]
):
    """Pipelined requests whose answers are never read: the server stops reading too, instead
    of piling up answers in memory."""
    greedy = connect(server.port)
    greedy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"  # a 405 with a line of text, 150+ bytes
    greedy.sock.settimeout(2)

    def stalls() -> bool:
        """True when the server stops taking requests (its answers are not being read)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                greedy.sock.sendall(request * 1000)
            except TimeoutError:
                return True
        return False

    assert stalls()
    assert still_serving(server)
