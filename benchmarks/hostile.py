"""Hostile traffic against flowbuilder's servers, shared by ``benchmarks/fuzz.py`` and the fuzz
tests (``tests/test_fuzz.py``).

The servers run as the user runs them, in processes of their own started through the CLI
(``flowbuilder serve`` with HTTP Basic auth and a fixed secret, ``flowbuilder sandbox`` with an
API key), so their memory (``rss_mib``, from /proc) is theirs alone. Requests go over raw
keep-alive sockets (:class:`Connection`), which can send what an HTTP library will not (broken
headers, chunked bodies, bodies over any limit) and see exactly how each request ended: an HTTP
status, or ``DROPPED`` when the connection ended before a whole response.

:func:`replay_probes` plays the replays an attacker who recorded a call would try, and counts
those the server accepted (a live command other than the safe fallback or a hang-up):

- an earlier step's ``command_id`` and ``variables`` posted again with another result;
- a step posted after the call's ``HANGUP``;
- a "first" POST (``command=""``, ``command_id=0``) in the middle of a call, with forged
  variables.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

APP: Final = "4346423A"
LOGIN: Final = "callr"
PASSWORD: Final = "fuzz-password-3f9a"
SECRET: Final = "fuzz-secret-0123456789abcdef"
API_KEY: Final = "fuzz-api-key-5b21c0"
FALLBACK: Final = "Sorry, something went wrong. Goodbye."
DROPPED: Final = -1
AUTH_HEADER: Final = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
_CALLIDS = itertools.count(7_000_000_000 + random.randrange(10**9))


def fuzz_flow() -> Any:
    """An IVR touching every kind of work a callback can cause: a menu with retries, a branch
    with a regex on the caller's name, variables, a Python function and an HTTP request."""
    from flowbuilder import Flow

    flow = Flow("fuzz").configure(allow_private_network=True)
    flow.add("welcome", "play", prompt="Welcome {caller_name}.")
    flow.add(
        "route",
        "branch",
        conditions=[
            {"name": "named", "subject": "caller_name", "op": "regex", "value": r"^(a+)+$"},
            {"name": "vip", "subject": "tier", "op": "equals", "value": "gold"},
        ],
    )
    flow.add(
        "lookup",
        "python",
        function="flowbuilder.examples:lookup_customer",
        outcomes=["known", "unknown"],
        sets=["customer_name", "customer_tier"],
    )
    flow.add(
        "fetch",
        "http_request",
        url="http://127.0.0.1:9/status?n={caller}",
        timeout_ms=300,
        map={"status": "status"},
    )
    flow.add(
        "menu",
        "menu",
        prompt="Press 1 for sales, 2 for support.",
        options=[{"outcome": "sales", "digits": "1"}, {"outcome": "support", "digits": "2"}],
        max_failures=3,
    )
    flow.add("sales", "dial", targets=[{"number": "+33123456789", "timeout": 20}])
    flow.add("support", "voicemail")
    flow.add("note", "set", values={"seen": "yes {caller}"})
    flow.add("bye", "hangup")
    flow.connect("welcome", "route")
    for outcome in ("named", "vip", "else"):
        flow.connect("route", "lookup", outcome)
    for outcome in ("known", "unknown", "error", "timeout"):
        flow.connect("lookup", "fetch", outcome)
    for outcome in ("success", "failed", "timeout"):
        flow.connect("fetch", "note", outcome)
    flow.connect("note", "menu")
    flow.connect("menu", "sales", "sales").connect("menu", "support", "support")
    flow.connect("menu", "bye", "invalid").connect("menu", "bye", "timeout")
    for outcome in ("answered", "no_answer", "busy", "failed"):
        flow.connect("sales", "bye", outcome)
    flow.connect("support", "bye")
    return flow


# -- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    """A server in a process of its own, answering at ``host:port``."""

    popen: subprocess.Popen[bytes]
    port: int
    workdir: Path
    host: str = "127.0.0.1"

    def rss_mib(self) -> float:
        """The process's resident memory, MiB (Linux /proc; 0.0 elsewhere)."""
        try:
            status = Path(f"/proc/{self.popen.pid}/status").read_text()
        except OSError:
            return 0.0
        kib = int(status.split("VmRSS:")[1].split()[0])
        return kib / 1024

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start(args: list[str], port: int, workdir: Path, env: dict[str, str]) -> Process:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLOWBUILDER_", "CALLR_"))
    }
    environment.update(env)
    popen = subprocess.Popen(  # its lines (one per request) are not read: they go nowhere
        [sys.executable, "-m", "flowbuilder", *args],
        cwd=workdir,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process = Process(popen, port, workdir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not process.alive:
            raise RuntimeError(f"flowbuilder {args[0]} exited with {popen.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process
        time.sleep(0.05)
    process.stop()
    raise RuntimeError(f"flowbuilder {args[0]} did not listen on {port}")


def serve_process(workdir: Path | None = None) -> Process:
    """``flowbuilder serve`` of :func:`fuzz_flow`, with Basic auth and a fixed secret."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="fb-fuzz-"))
    fuzz_flow().save(workdir / "fuzz.json")
    port = free_port()
    env = {"FLOWBUILDER_PASSWORD": PASSWORD, "FLOWBUILDER_SECRET": SECRET}
    args = ["serve", "fuzz.json", "--port", str(port), "--login", LOGIN]
    return _start(args, port, workdir, env)


def sandbox_process(workdir: Path | None = None) -> Process:
    """``flowbuilder sandbox`` with an API key."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="fb-fuzz-"))
    port = free_port()
    return _start(["sandbox", "--port", str(port), "--api-key", API_KEY], port, workdir, {})


# -- the wire ------------------------------------------------------------------------------------


@dataclass
class Request:
    """One HTTP request, as bytes go: *body* is sent as is, or in *chunks* (chunked)."""

    method: str = "POST"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: list[bytes] | None = None
    kind: str = "callback"  # what it is, for the report

    def encode(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        headers = dict(self.headers)
        if self.chunks is not None:
            headers.setdefault("Transfer-Encoding", "chunked")
        elif self.method in ("POST", "PUT") or self.body:
            headers.setdefault("Content-Length", str(len(self.body)))
        lines += [f"{k}: {v}" for k, v in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        if self.chunks is None:
            return head + self.body
        body = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in self.chunks if c)
        return head + body + b"0\r\n\r\n"


@dataclass
class Response:
    status: int  # DROPPED: the connection ended before a whole response
    headers: dict[str, str]
    body: bytes

    @property
    def dropped(self) -> bool:
        return self.status == DROPPED

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """A keep-alive HTTP/1.1 connection, made again when the server closes it."""

    def __init__(self, host: str, port: int, timeout_s: float = 15.0) -> None:
        self.address = (host, port)
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock, self._buffer = None, b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: Request) -> Response:
        if self._sock is None:
            self._sock = socket.create_connection(self.address, self.timeout_s)
        try:
            self._sock.sendall(request.encode())
            response = self._read(head_only=request.method == "HEAD")
        except OSError:  # reset, broken pipe, timeout: no whole answer
            response = Response(DROPPED, {}, b"")
        if response.dropped or response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def _fill(self) -> bool:
        assert self._sock is not None
        data = self._sock.recv(65536)
        self._buffer += data
        return bool(data)

    def _read(self, head_only: bool = False) -> Response:
        while b"\r\n\r\n" not in self._buffer:
            if not self._fill():
                return Response(DROPPED, {}, b"")
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if head_only or status in (204, 304) or 100 <= status < 200:
            return Response(status, headers, b"")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self._buffer:
                    if not self._fill():
                        return Response(DROPPED, headers, body)
                size_line, _, self._buffer = self._buffer.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(self._buffer) < size + 2:
                    if not self._fill():
                        return Response(DROPPED, headers, body)
                body += self._buffer[:size]
                self._buffer = self._buffer[size + 2 :]
                if size == 0:
                    return Response(status, headers, body)
        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(self._buffer) < length:
                if not self._fill():
                    return Response(DROPPED, headers, self._buffer)
            body, self._buffer = self._buffer[:length], self._buffer[length:]
            return Response(status, headers, body)
        while self._fill():  # the body runs to the end of the connection
            pass
        body, self._buffer = self._buffer, b""
        self.close()
        return Response(status, headers, body)


# -- callbacks -----------------------------------------------------------------------------------


def callback(callid: int | None = None, **changes: Any) -> dict[str, Any]:
    """A call's first POST, as CALLR sends it (all 14 fields), with *changes*."""
    data: dict[str, Any] = {
        "app": APP,
        "callid": next(_CALLIDS) if callid is None else callid,
        "request_hash": None,
        "cli_name": "",
        "cli_number": "+33612345678",
        "date_started": "2026-01-01 10:00:00",
        "number": "+33912345678",
        "command": "",
        "command_id": 0,
        "command_result": "",
        "command_error": "",
        "call_status": "UP",
        "cdr_field": "",
        "variables": {},
    }
    data.update(changes)
    return data


def post(body: bytes | dict[str, Any], *, auth: bool = True, **headers: str) -> Request:
    """A callback POST: JSON, with the server's credentials unless *auth* is False."""
    sent = {"Content-Type": "application/json"}
    if auth:
        sent["Authorization"] = AUTH_HEADER
    sent.update(headers)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request(headers=sent, body=data)


def next_post(previous: dict[str, Any], answer: dict[str, Any], result: str) -> dict[str, Any]:
    """The POST CALLR makes once *answer*'s command finished with *result*."""
    return {
        **previous,
        "command": answer["command"],
        "command_id": answer["command_id"],
        "command_result": result,
        "command_error": "",
        "variables": answer["variables"],
    }


def moves_the_call(response: Response) -> bool:
    """Whether the server acted on a request: a live command that is neither the safe
    fallback (its apology) nor a hang-up; refusals (4xx) and empty answers do not count."""
    if response.status != 200 or not response.body:
        return False
    try:
        answer = response.json()
    except ValueError:
        return False
    command = answer.get("command")
    if command in (None, "hangup"):
        return False
    media = str(answer.get("params", {}).get("media_id", ""))
    return not media.endswith(FALLBACK)


def replay_probes(conn: Connection, calls: int) -> tuple[int, int]:
    """Play *calls* recorded calls and the three replays of each; (attempts, accepted)."""
    attempts = accepted = 0
    for _ in range(calls):
        first = callback()
        at_welcome = conn.send(post(first)).json()  # play welcome
        at_menu = conn.send(post(next_post(first, at_welcome, "0"))).json()  # read: the menu
        step = next_post(first, at_welcome, "0")
        wrong = next_post(step, at_menu, "9")  # a wrong key: the menu counts a failure
        after_wrong = conn.send(post(wrong)).json()
        # 1. the menu step again, from its old variables and command_id, now pressing 1 (sales)
        attempts += 1
        accepted += moves_the_call(conn.send(post(next_post(step, at_menu, "1"))))
        # 2. a "first" POST in the middle of the call, variables forged
        attempts += 1
        restart = {**first, "variables": {"tier": "gold", "customer_name": "Admin"}}
        accepted += moves_the_call(conn.send(post(restart)))
        # 3. after the call's HANGUP, an earlier step again
        hangup = {**next_post(wrong, after_wrong, "0"), "call_status": "HANGUP"}
        conn.send(post(hangup))
        attempts += 1
        accepted += moves_the_call(conn.send(post(next_post(step, at_menu, "2"))))
    return attempts, accepted


# -- hostile requests, from a seed (the benchmark; the tests draw theirs with hypothesis) --------


def _deep(levels: int, rng: random.Random) -> bytes:
    opener = rng.choice([b"[", b'{"a":'])
    closer = b"]" if opener == b"[" else b"}"
    return opener * levels + b"1" + closer * levels


def _garbage(rng: random.Random, size: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(size))


_ODD_VALUES: Final = (
    None,
    True,
    -1,
    2**70,
    1.5,
    "",
    "\x1b[2J\x07\r\n",
    "\u202e\ufeff",
    "é" * 300,
    [],
    {},
    [1, [2, [3]]],
    "0" * 9000,
)


def hostile_requests(rng: random.Random) -> Iterator[Request]:
    """An endless, seeded stream of hostile requests of every kind."""
    fields = list(callback())
    while True:
        kind = rng.choices(
            [
                "valid",
                "mutated",
                "huge_field",
                "deep",
                "deep_variables",
                "malformed",
                "no_auth",
                "bad_auth",
                "content_type",
                "method",
                "path",
                "chunked",
                "over_limit",
                "huge_variables",
            ],
            weights=[10, 12, 6, 4, 4, 6, 5, 4, 4, 3, 3, 4, 2, 2],
        )[0]
        body = callback(cli_name=rng.choice(["", "Ada", "a" * 200 + "!"]))
        if kind == "valid":
            yield post(body)
        elif kind == "mutated":
            for _ in range(rng.randint(1, 4)):
                name = rng.choice(fields)
                if rng.random() < 0.2:
                    body.pop(name, None)
                else:
                    body[name] = rng.choice(_ODD_VALUES)
            if rng.random() < 0.2:
                body[rng.choice(["extra", "_fb", "__proto__"])] = rng.choice(_ODD_VALUES)
            yield post(body)
        elif kind == "huge_field":
            name = rng.choice(
                [
                    "app",
                    "cli_name",
                    "cli_number",
                    "command",
                    "command_result",
                    "command_error",
                    "cdr_field",
                    "number",
                    "date_started",
                ]
            )
            body[name] = "x" * rng.choice([65, 257, 8193, 100_000, 250_000])
            yield post(body)
        elif kind == "deep":
            yield post(_deep(rng.choice([65, 990, 1100, 5000, 50_000]), rng))
        elif kind == "deep_variables":
            levels = rng.choice([63, 100, 300, 600, 900])
            text = json.dumps(body).encode()
            yield post(text[:-3] + b'{"d":' + _deep(levels, rng) + b"}}")
        elif kind == "malformed":
            text = json.dumps(body).encode()
            yield post(
                rng.choice(
                    [
                        b"",
                        b"{",
                        b"null",
                        b"[]",
                        b"\xff\xfe\x00",
                        text[: rng.randrange(len(text))],
                        text.replace(b'"UP"', b"NaN"),
                        _garbage(rng, rng.randrange(1, 2000)),
                    ]
                )
            )
        elif kind == "no_auth":
            yield post(body, auth=False)
        elif kind == "bad_auth":
            value = rng.choice(
                [
                    "Basic Zm9vOmJhcg==",
                    "Basic !!!",
                    "Bearer x",
                    "Basic " + "A" * 4000,
                    "basic " + base64.b64encode(b"callr:").decode(),
                ]
            )
            yield post(body, Authorization=value)
        elif kind == "content_type":
            value = rng.choice(
                [
                    "text/plain",
                    "application/json; charset=latin-1",
                    "",
                    "application/json; charset=utf-16",
                    "multipart/form-data",
                ]
            )
            yield post(body, **{"Content-Type": value})
        elif kind == "method":
            yield Request(
                method=rng.choice(["GET", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"]),
                headers={"Authorization": AUTH_HEADER},
                kind="method",
            )
        elif kind == "path":
            path = rng.choice(["/x", "/%00", "/" + "a" * 3000, "/../../etc/passwd", "//", "/?a=1"])
            yield Request(
                path=path,
                headers={"Authorization": AUTH_HEADER, "Content-Type": "application/json"},
                body=json.dumps(body).encode(),
                kind="path",
            )
        elif kind == "chunked":
            text = json.dumps(body).encode()
            cut = sorted(rng.sample(range(1, len(text)), 3))
            pieces = [text[: cut[0]], text[cut[0] : cut[1]], text[cut[1] : cut[2]], text[cut[2] :]]
            request = post(b"")
            request.headers.pop("Content-Length", None)
            request.chunks = pieces
            yield request
        elif kind == "over_limit":
            request = post(b"")
            if rng.random() < 0.5:
                request.body = b"{" + b" " * (300 * 1024) + b"}"
            else:
                request.chunks = [b" " * 65536] * 5
            yield request
        else:  # huge_variables: wide, within the body limit
            body["variables"] = {f"v{i}": "x" * 100 for i in range(rng.randrange(100, 2400))}
            yield post(body)


# -- JSON-RPC (the sandbox) ----------------------------------------------------------------------

RPC_PATH: Final = "/json-rpc/v1.1/"
RPC_METHODS: Final = (
    "apps.create",
    "apps.get",
    "apps.edit",
    "apps.delete",
    "apps.get_list",
    "apps.assign_did",
    "apps.remove_did",
    "apps.get_dids",
    "calls.realtime",
    "calls.hangup",
    "calls.realtime_break",
    "dialr/call.realtime",
    "no.such",
)
_RPC_VALUES: Final = (
    *_ODD_VALUES,
    "REALTIME10",
    "4346423A",
    "²",
    "http://[::1",
    "https://h:99999/",
    {"url": "http://127.0.0.1:9/"},
    {"url": "http://[::1"},
    {"number": "+447890123456", "timeout": 10},
    {"cli": ["+33199000001"]},
    {"cdr_field": {"x": 1}},
)


def rpc(method: str, params: Any, request_id: Any = 1, **headers: str) -> Request:
    envelope = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    sent = {"Content-Type": "application/json-rpc", "Authorization": f"Api-Key {API_KEY}"}
    sent.update(headers)
    return Request(path=RPC_PATH, headers=sent, body=json.dumps(envelope).encode(), kind="rpc")


def hostile_rpc_requests(rng: random.Random) -> Iterator[Request]:
    """An endless, seeded stream of hostile JSON-RPC and control API requests."""
    while True:
        kind = rng.choices(
            ["call", "envelope", "deep", "garbage", "auth", "control", "big"],
            weights=[40, 12, 6, 6, 6, 8, 2],
        )[0]
        if kind == "call":
            params = [rng.choice(_RPC_VALUES) for _ in range(rng.randint(0, 4))]
            yield rpc(rng.choice(RPC_METHODS), params, rng.choice([1, "x", 2**40]))
        elif kind == "envelope":
            envelope: Any = rng.choice(
                [
                    {"jsonrpc": "2.0", "method": "apps.get_list"},
                    {"jsonrpc": "1.0", "id": 1, "method": "apps.get_list", "params": []},
                    {"jsonrpc": "2.0", "id": None, "method": "apps.get_list"},
                    {"jsonrpc": "2.0", "id": [1], "method": "apps.get_list"},
                    {"jsonrpc": "2.0", "id": 1, "method": 5},
                    {"jsonrpc": "2.0", "id": 1, "method": "apps.get", "params": {"app": "x"}},
                    [{"jsonrpc": "2.0", "id": 1, "method": "apps.get_list"}],
                    "hello",
                ]
            )
            request = rpc("x", [])
            request.body = json.dumps(envelope).encode()
            yield request
        elif kind == "deep":
            request = rpc("x", [])
            levels = rng.choice([65, 300, 990, 5000, 100_000])
            request.body = (
                b'{"jsonrpc": "2.0", "id": 1, "method": "apps.get", "params": '
                + _deep(levels, rng)
                + b"}"
            )
            yield request
        elif kind == "garbage":
            request = rpc("x", [])
            request.body = rng.choice(
                [b"", b"{", b"\xff\xfe", _garbage(rng, rng.randrange(1, 3000))]
            )
            yield request
        elif kind == "auth":
            value = rng.choice(["", "Api-Key nope", "Basic !!!", "Basic " + "A" * 5000])
            yield rpc("apps.get_list", [], **{"Authorization": value})
        elif kind == "control":
            method, path = rng.choice(
                [
                    ("GET", "/sandbox/calls"),
                    ("GET", "/sandbox/calls/²"),
                    ("GET", "/sandbox/calls/" + "9" * 30),
                    ("POST", "/sandbox/call_in"),
                    ("PUT", "/sandbox/callees/+447890123456"),
                    ("PUT", "/sandbox/callees/nope"),
                ]
            )
            body = rng.choice(
                [
                    b"",
                    b"{}",
                    b"[]",
                    _deep(5000, rng),
                    b'{"did": 5, "script": []}',
                    b'{"presses": "x"}',
                    _garbage(rng, 100),
                ]
            )
            yield Request(
                method=method,
                path=path,
                body=body if method != "GET" else b"",
                headers={"Authorization": f"Api-Key {API_KEY}"},
                kind="control",
            )
        else:
            request = rpc("apps.get_list", [])
            request.body = b'{"jsonrpc": "2.0", "id": 1, "method": "apps.get_list", "params": ["'
            request.body += b"x" * (2 * 1024 * 1024) + b'"]}'
            yield request
