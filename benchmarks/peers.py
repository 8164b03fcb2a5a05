"""flowbuilder's callback server against the same IVR written by hand for FastAPI and for Tornado.

The flow is the support line of ``flowbuilder.examples.support_line()``. flowbuilder serves it as
``flowbuilder serve flow.json`` does, one line per callback on its standard output (a file);
``flowbuilder_quiet`` is the same with ``--quiet``. The peers (``benchmarks/peers/``) are what a
CALLR user would write after CALLR's REAL-TIME tutorial, the call's state kept as plain JSON in
``variables``: ``fastapi`` on uvicorn with uvloop and httptools, ``tornado`` a plain Tornado
handler.

First, every server plays every caller script of ``SCRIPTS`` (menu choices, wrong keys, silence,
hang-ups, dial outcomes, failing commands, outbound calls) over real HTTP, with CALLR played by
flowbuilder's simulated phone; each answer must give the same command, command id, params and
user variables as flowbuilder's (each server's own state key apart: ``_fb``, ``ivr``), or the
script stops with one line saying where they differ. Then interleaved rounds: each server in its
own process, pinned to CPU 0, the load generator in this one pinned to CPU 1 (when the machine
has two CPUs and ``os.sched_setaffinity``; ``pinned`` says). The load generator replays the
recorded calls on keep-alive connections, several calls at once, with fresh call ids and each
POST carrying the variables of the answer before it, as CALLR does; every answer is checked
against the server's own recorded one (flowbuilder's state signature apart, which covers the
call id). Ratios are medians of per-round ratios, with their quartiles.

``load_generator`` shows the client is not the bottleneck: the same client against a server that
only answers (``peers/trivial.py``), and the client's CPU share during the rounds.
``cold_start_ms`` is the time from spawning ``flowbuilder serve flow.json`` to its first answered
callback (median of several): a restart, which runs the program cached by the starts before
(``flowbuilder.server.program_cache``, in a directory of this run's own);
``cold_start_ms_uncached`` the same with the cache off (the first start after an edit of the
flow); ``cold_start_ms_tornado`` / ``_fastapi`` the same for the peers. flowbuilder's modules are
byte-compiled first, as ``pip install`` does: the peers' libraries come with their bytecode, and
an editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module at
every start (medians of 9 alternated starts here: 199 ms against 264 ms).
``output_on_vs_quiet`` is what the line per callback costs, and
``flowbuilder_output_lines_per_callback`` shows that every callback got its line (counted after
SIGTERM: nothing lost). ``--ablations`` adds
flowbuilder without each of its speed-ups (``WITHOUT``); ``speedups`` gives flowbuilder over each
(above 1: it pays), in throughput and in CPU per callback. ``--python PATH`` (repeatable) adds
flowbuilder served by another interpreter in the same rounds; ``other_pythons`` gives each over
the one running this script (above 1: it serves faster).

    python benchmarks/peers.py            # about two minutes
    python benchmarks/peers.py --quick    # a few seconds: checks the script works
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import dataclasses
import http.client
import importlib.util
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PEERS_DIR = Path(__file__).resolve().parent / "peers"
APP = "4346423A"
CALLID_MARK = 987654321987
SERVER_CPU, CLIENT_CPU = 0, 1
COMMAND_ERROR = "PROPERTY_VALUE_ERROR [params.media_id]"

# (what the caller does, flowbuilder's phone script + "outbound", "withheld", "error_at")
SCRIPTS: list[tuple[str, dict[str, Any]]] = [
    ("sales, answered", {"presses": ["1"]}),
    ("sales, no answer: voicemail", {"presses": ["1"], "dial": ["NOANSWER"]}),
    ("sales, busy: voicemail", {"presses": ["1"], "dial": ["BUSY"]}),
    ("sales, congestion: voicemail", {"presses": ["1"], "dial": ["CONGESTION"]}),
    ("sales, cancelled: voicemail", {"presses": ["1"], "dial": ["CANCEL"]}),
    ("support: voicemail", {"presses": ["2"]}),
    ("operator, answered", {"presses": ["0"]}),
    ("operator, busy: message, voicemail", {"presses": ["0"], "dial": ["BUSY"]}),
    ("operator unavailable", {"presses": ["0"], "dial": ["CHANUNAVAIL"]}),
    ("three wrong keys", {"presses": ["7", "9", "5"]}),
    ("silence twice", {"presses": []}),
    ("a wrong key, then support", {"presses": ["5", "2"]}),
    ("silence, then sales", {"presses": [None, "1"], "dial": ["NOANSWER"]}),
    ("wrong, silence, wrong, then operator", {"presses": ["9", None, "8", "0"]}),
    ("wrong, silence, wrong, wrong", {"presses": ["9", None, "8", "4"]}),
    ("hangs up during the welcome", {"presses": [], "hangup_after": 1}),
    ("hangs up during the menu", {"presses": [], "hangup_after": 2}),
    ("hangs up while leaving a message", {"presses": ["2"], "hangup_after": 4}),
    ("withheld number, sales", {"presses": ["1"], "withheld": True}),
    ("outbound, answered, support", {"presses": ["2"], "outbound": True}),
    ("outbound, busy", {"answer": "busy", "outbound": True}),
    ("outbound, no answer", {"answer": "no_answer", "outbound": True}),
    ("the menu fails", {"presses": ["1"], "error_at": 2}),
    ("the recording fails", {"presses": ["2"], "error_at": 4}),
    ("the dialout fails", {"presses": ["0"], "error_at": 3}),
    ("the welcome fails", {"presses": ["1"], "error_at": 1}),
]


# -- the servers ---------------------------------------------------------------------------------


@dataclass
class Server:
    """One server process: how to start it, and what it answered."""

    name: str
    argv: list[str]
    state_key: str
    checked: bool = True  # its answers are compared with flowbuilder's and checked under load
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    output: Path | None = None
    #: per script, each answer (signature masked) as recorded when checking
    expected: list[list[bytes | None]] = field(default_factory=list)
    callbacks: int = 0  # callbacks it answered in all, checks and warm-ups included, probes not


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def can_pin() -> tuple[bool, str]:
    if not hasattr(os, "sched_setaffinity"):
        return False, "os.sched_setaffinity is not available on this platform"
    available = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= available:
        return False, f"CPUs {SERVER_CPU} and {CLIENT_CPU} are not both available ({available})"
    return True, f"servers on CPU {SERVER_CPU}, the load generator on CPU {CLIENT_CPU}"


def spawn(
    argv: list[str], output: Path, pin: bool, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    def on_server_cpu() -> None:  # in the child, before exec: every thread it starts inherits it
        os.sched_setaffinity(0, {SERVER_CPU})

    with open(output, "wb") as out:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=on_server_cpu if pin else None,
            env=env,
        )


# "is it up?" calls: ids of their own, apart from the measured calls (and their lines uncounted:
# a try that timed out may still have been answered)
PROBE_CALLIDS = itertools.count(990_000_000_000)
_PROBE_LINE = b" call 990"


def first_post() -> bytes:
    from flowbuilder.callr import wire
    from flowbuilder.phone import CallSetup

    callid = next(PROBE_CALLIDS)
    setup = CallSetup(app=APP, callid=callid, number="+33900000000", cli_number="+33612345678")
    return wire.render_callback(setup.callback())


def wait_for_first_answer(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Post a call's first callback until it is answered with a command (raises on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("POST", "/", first_post(), {"Content-Type": "application/json"})
                response = conn.getresponse()
                if response.status == 200 and b'"command"' in response.read():
                    return
            finally:
                conn.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no answer within {timeout:g} s")
        time.sleep(0.002)


def start(server: Server, workdir: Path, pin: bool) -> None:
    server.port = free_port()
    server.output = workdir / f"{server.name}.out"
    server.process = spawn([*server.argv, "--port", str(server.port)], server.output, pin)
    try:
        wait_for_first_answer(server.process, server.port, 60)
    except RuntimeError as exc:
        stop(server)
        raise RuntimeError(f"{server.name} did not start: {exc}\n{tail(server.output)}") from None


def stop(server: Server) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def cold_start_ms(
    argv: list[str], workdir: Path, pin: bool, env: dict[str, str] | None = None
) -> float:
    """From spawning *argv* (plus a free port) to its first answered callback."""
    port = free_port()
    began = time.perf_counter()
    process = spawn([*argv, "--port", str(port)], workdir / "cold.out", pin, env)
    try:
        wait_for_first_answer(process, port, 60)
        return (time.perf_counter() - began) * 1000
    finally:
        stop(Server("cold", argv, "", process=process))


# -- caller scripts over HTTP --------------------------------------------------------------------


@dataclass
class Exchange:
    request: bytes  # the POST body, with the call id CALLID_MARK + the script's number
    status: int
    answer: bytes


def play_script(
    conn: http.client.HTTPConnection, data: dict[str, Any], callid: int
) -> list[Exchange]:
    """One call driven by flowbuilder's simulated phone (CALLR's side), over *conn*."""
    from flowbuilder.callr import wire
    from flowbuilder.phone import CallSetup, Script, SimulatedCall

    script = {k: v for k, v in data.items() if k not in ("outbound", "withheld", "error_at")}
    setup = CallSetup(
        app=APP,
        callid=callid,
        number="+33900000000",
        cli_number="" if data.get("withheld") else "+33612345678",
        request_hash="4260XMAQ" if data.get("outbound") else None,
    )
    call = SimulatedCall(setup, Script.from_data(script))
    post = call.start()
    exchanges: list[Exchange] = []
    commands = 0
    while post is not None:
        callback = post.callback
        if commands == data.get("error_at") and not post.final:  # CALLR reports a failure
            callback = dataclasses.replace(callback, command_result="", command_error=COMMAND_ERROR)
        body = wire.render_callback(callback)
        conn.request("POST", "/", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        exchanges.append(Exchange(body, response.status, response.read()))
        if post.final or response.status != 200:
            break
        answer = exchanges[-1].answer
        post = call.on_answer(wire.parse_answer(answer) if answer else None)
        commands += 1
    return exchanges


def comparable(exchange: Exchange, state_key: str) -> dict[str, Any]:
    """What must be the same from every server: status, command, command id, params, and the
    variables but the server's own state."""
    if not exchange.answer:
        return {"status": exchange.status, "answer": "(empty)"}
    try:
        data = json.loads(exchange.answer)
        variables = {k: v for k, v in data["variables"].items() if k != state_key}
        return {
            "status": exchange.status,
            "command": data["command"],
            "command_id": data["command_id"],
            "params": data["params"],
            "variables": variables,
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return {"status": exchange.status, "answer": exchange.answer.decode(errors="replace")}


class Mismatch(Exception):
    pass


def check_answers(servers: list[Server]) -> tuple[int, list[list[Exchange]]]:
    """Play every script on every server; raise Mismatch at the first answer that differs from
    flowbuilder's. Returns the number of answers compared and flowbuilder's recorded calls."""
    recorded: dict[str, list[list[Exchange]]] = {}
    for server in servers:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            recorded[server.name] = [
                play_script(conn, data, CALLID_MARK + n) for n, (_, data) in enumerate(SCRIPTS)
            ]
        except OSError as exc:
            raise RuntimeError(f"{server.name} failed: {exc}\n{tail(server.output)}") from None
        finally:
            conn.close()
        server.callbacks += sum(len(call) for call in recorded[server.name])
        server.expected = [[masked(x.answer) for x in call] for call in recorded[server.name]]
    reference = recorded["flowbuilder"]
    compared = 0
    for server in servers:
        if not server.checked or server.name == "flowbuilder":
            continue
        for (title, _), ours, theirs in zip(SCRIPTS, reference, recorded[server.name], strict=True):
            for n, (a, b) in enumerate(zip(ours, theirs, strict=False), start=1):
                want, got = comparable(a, "_fb"), comparable(b, server.state_key)
                if want != got:
                    raise Mismatch(
                        f"{server.name} answers differently from flowbuilder on script "
                        f"{title!r}, POST {n}: {difference(want, got)}"
                    )
                compared += 1
            if len(ours) != len(theirs):
                raise Mismatch(
                    f"{server.name} answers differently from flowbuilder on script {title!r}: "
                    f"the call took {len(theirs)} POSTs instead of {len(ours)}"
                )
    return compared, reference


def difference(want: dict[str, Any], got: dict[str, Any]) -> str:
    for key in dict.fromkeys([*want, *got]):
        if want.get(key) != got.get(key):
            return f"{key}: flowbuilder {want.get(key)!r}, peer {got.get(key)!r}"
    return "?"


_SIGNATURE = b'"h":"'


def masked(answer: bytes) -> bytes:
    """*answer* without flowbuilder's state signature, which covers the call id."""
    at = answer.find(_SIGNATURE)
    if at < 0:
        return answer
    at += len(_SIGNATURE)
    return answer[:at] + answer[at + 32 :]


# -- the load generator --------------------------------------------------------------------------

_VARIABLES = b'"variables": '  # the last field of every POST (wire.render_callback)
_ANSWER_VARIABLES = b'"variables":'
_HEAD = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
Template = tuple[bytes, bytes]  # the POST body before and after its call id, variables cut off


def templates(calls: list[list[Exchange]]) -> list[list[Template]]:
    out = []
    for n, call in enumerate(calls):
        mark = b'"callid": %d' % (CALLID_MARK + n)
        steps = []
        for x in call:
            body = x.request[: x.request.rindex(_VARIABLES) + len(_VARIABLES)]
            before, after = body.split(mark)
            steps.append((before + b'"callid": ', after))
        out.append(steps)
    return out


def echoed(answer: bytes) -> bytes:
    """The variables object of a JSON answer: its last field, in flowbuilder's and the peers'."""
    at = answer.find(_ANSWER_VARIABLES)
    return answer[at + len(_ANSWER_VARIABLES) : answer.rindex(b"}")] if at >= 0 else b"{}"


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


class Caller(asyncio.Protocol):
    """A keep-alive connection playing CALLR for one call after another, one POST at a time."""

    def __init__(
        self,
        calls: list[list[Template]],
        expected: list[list[bytes | None]] | None,
        first_callid: int,
        offset: int,
        tally: Tally,
    ) -> None:
        self.calls = calls
        self.expected = expected
        self.callid = first_callid
        self.call = offset % len(calls)
        self.step = 0
        self.echo = b"{}"
        self.tally = tally
        self.buffer = b""
        self.until = 0.0
        self.sent_at = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("the server closed the connection"))

    def begin(self, until: float) -> None:
        self.until = until
        self.send()

    def send(self) -> None:
        before, after = self.calls[self.call][self.step]
        body = b"%b%d%b%b}" % (before, self.callid, after, self.echo)
        assert self.transport is not None
        self.transport.write(b"%b%d\r\n\r\n%b" % (_HEAD, len(body), body))
        self.sent_at = time.perf_counter()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buffer
            return
        head = buffer[:end].lower()
        at = head.find(b"content-length:")
        length = 0
        if at >= 0:
            line_end = head.find(b"\r\n", at)
            length = int(head[at + 15 : line_end if line_end >= 0 else None])
        if len(buffer) < end + 4 + length:
            self.buffer = buffer
            return
        self.buffer = b""
        answer = buffer[end + 4 : end + 4 + length]
        now = time.perf_counter()
        tally = self.tally
        tally.requests += 1
        tally.latencies.append(now - self.sent_at)
        if buffer[9:12] != b"200" or (
            self.expected is not None and masked(answer) != self.expected[self.call][self.step]
        ):
            tally.errors += 1
        self.step += 1
        if self.step == len(self.calls[self.call]):
            self.step, self.echo = 0, b"{}"
            self.call = (self.call + 1) % len(self.calls)
            self.callid += 1
        elif answer:
            self.echo = echoed(answer)
        if now >= self.until:
            self.done.set_result(None)
        else:
            self.send()


@dataclass
class Phase:
    requests: int
    errors: int
    seconds: float
    server_cpu_s: float
    client_cpu_s: float
    latencies: list[float]

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time, all its threads (0 where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


async def run_phase(
    server: Server,
    calls: list[list[Template]],
    *,
    connections: int,
    seconds: float,
    first_callid: int,
) -> Phase:
    loop = asyncio.get_running_loop()
    tally = Tally()
    callers = []
    for i in range(connections):
        _, caller = await loop.create_connection(
            lambda i=i: Caller(
                calls,
                server.expected if server.checked else None,
                first_callid + i * 10_000_000,
                i,
                tally,
            ),
            "127.0.0.1",
            server.port,
        )
        callers.append(caller)
    assert server.process is not None
    cpu0, server0, began = time.process_time(), cpu_seconds(server.process.pid), time.perf_counter()
    for caller in callers:
        caller.begin(began + seconds)
    try:
        await asyncio.gather(*(c.done for c in callers))
    finally:
        elapsed = time.perf_counter() - began
        server_cpu = cpu_seconds(server.process.pid) - server0
        for caller in callers:
            if caller.transport is not None:
                caller.transport.close()
    server.callbacks += tally.requests
    return Phase(
        tally.requests,
        tally.errors,
        elapsed,
        server_cpu,
        time.process_time() - cpu0,
        tally.latencies,
    )


# -- the run -------------------------------------------------------------------------------------


# flowbuilder without one of its speed-ups (``--ablations``): what each one buys
_CLI = "from flowbuilder.cli import main; sys.exit(main(sys.argv[1:]))"
WITHOUT: dict[str, str] = {
    # the line per callback printed and flushed by the server's thread, as before
    "flowbuilder_sync_output": """
import sys
from flowbuilder import _cli_util
from flowbuilder.server import command

class Printer:
    def __init__(self, out, as_json, text):
        self.show = _cli_util.line_printer(out, as_json, text)
    def __call__(self, item):
        self.show(item)
    def start(self):
        return self
    def close(self):
        pass

command.BackgroundLines = Printer
""",
    # asyncio's own event loop instead of uvloop's
    "flowbuilder_asyncio_loop": "import sys\nsys.modules['uvloop'] = None\n",
    # tasks started one loop turn later, as without asyncio.eager_task_factory (3.12+)
    "flowbuilder_no_eager": "import asyncio, sys\ndel asyncio.eager_task_factory\n",
    # neither
    "flowbuilder_asyncio_no_eager": (
        "import asyncio, sys\nsys.modules['uvloop'] = None\ndel asyncio.eager_task_factory\n"
    ),
}


def ablations() -> list[str]:
    """The variants that differ from flowbuilder here."""
    names = ["flowbuilder_sync_output"]
    eager = hasattr(asyncio, "eager_task_factory")
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return [*names, "flowbuilder_no_eager"] if eager else names
    names.append("flowbuilder_asyncio_loop")
    if eager:
        names.append("flowbuilder_asyncio_no_eager")
        if sys.version_info < (3, 13):  # uvloop with eager tasks only before 3.13
            names.append("flowbuilder_no_eager")
    return names


def served_by(python: str, flow_file: Path) -> list[str]:
    """``flowbuilder serve flow_file`` as that interpreter's environment runs it."""
    console = Path(python).with_name("flowbuilder")
    serve = [str(console)] if console.exists() else [python, "-m", "flowbuilder"]
    return [*serve, "serve", str(flow_file)]


def other_pythons(pythons: list[str], flow_file: Path) -> list[Server]:
    """flowbuilder served by each of these interpreters (which must have it installed)."""
    servers = []
    for python in pythons:
        found = subprocess.run(
            [python, "-c", "import platform, flowbuilder; print(platform.python_version())"],
            capture_output=True,
            text=True,
        )
        if found.returncode != 0:
            raise SystemExit(f"peers.py: {python} cannot import flowbuilder: install it there")
        name = f"flowbuilder_py{found.stdout.strip()}"
        servers.append(Server(name, served_by(python, flow_file), "_fb"))
    return servers


def servers_for(names: list[str], peers_dir: Path, flow_file: Path) -> list[Server]:
    python = sys.executable
    serve = served_by(python, flow_file)
    known = {
        "flowbuilder": Server("flowbuilder", serve, "_fb"),
        "flowbuilder_quiet": Server("flowbuilder_quiet", [*serve, "--quiet"], "_fb"),
        **{
            name: Server(name, [python, "-c", prelude + _CLI, "serve", str(flow_file)], "_fb")
            for name, prelude in WITHOUT.items()
        },
        "fastapi": Server("fastapi", [python, str(peers_dir / "fastapi_peer.py")], "ivr"),
        "tornado": Server("tornado", [python, str(peers_dir / "tornado_peer.py")], "ivr"),
        "trivial": Server("trivial", [python, str(peers_dir / "trivial.py")], "", checked=False),
    }
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit(f"peers.py: unknown server(s) {sorted(unknown)}; known: {list(known)}")
    return [known[name] for name in names]


def quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [round(values[0], 3)] * 3 if values else []
    return [round(q, 3) for q in statistics.quantiles(values, n=4)]


def percentile_ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3) if values else 0


def count_call_lines(path: Path | None) -> int:
    """Lines about the measured calls in a server's output."""
    if path is None or not path.exists():
        return 0
    with open(path, "rb") as f:
        return sum(1 for line in f if b" call " in line and _PROBE_LINE not in line)


@contextlib.contextmanager
def running(servers: list[Server], workdir: Path, pin: bool) -> Iterator[None]:
    try:
        for server in servers:
            start(server, workdir, pin)
        yield
    finally:
        for server in servers:
            stop(server)


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round: checks it works")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="length of each run")
    parser.add_argument("--connections", type=int, default=16, help="calls in progress at once")
    parser.add_argument("--cold-starts", type=int, default=None, help="spawns timed per server")
    parser.add_argument(
        "--servers",
        default="flowbuilder,flowbuilder_quiet,fastapi,tornado",
        help="which to measure, in order (flowbuilder must be one)",
    )
    parser.add_argument(
        "--ablations",
        action="store_true",
        help="also flowbuilder without each of its speed-ups (" + ", ".join(WITHOUT) + ")",
    )
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="also flowbuilder served by this interpreter, in the same rounds (repeatable)",
    )
    parser.add_argument("--peers-dir", type=Path, default=PEERS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 20)
    seconds = args.seconds or (0.3 if args.quick else 0.5)
    cold_starts = args.cold_starts or (1 if args.quick else 7)
    names = args.servers.split(",") + (ablations() if args.ablations else [])
    if "flowbuilder" not in names:
        parser.error("--servers must include flowbuilder: the answers are compared with its")
    pin, pinning = can_pin()

    from flowbuilder.examples import support_line

    workdir = Path(tempfile.mkdtemp(prefix="flowbuilder-peers-"))
    os.environ["FLOWBUILDER_CACHE"] = str(workdir / "cache")  # the servers spawned inherit it
    loop = new_loop()
    try:
        flow_file = support_line().save(workdir / "support_line.json")
        servers = servers_for(names, args.peers_dir, flow_file)
        servers += other_pythons(args.python, flow_file)
        trivial = servers_for(["trivial"], args.peers_dir, flow_file)[0]
        with running([*servers, trivial], workdir, pin):
            if pin:
                os.sched_setaffinity(0, {CLIENT_CPU})
            try:
                compared, reference = check_answers(servers)
            except Mismatch as exc:
                print(f"peers.py: {exc}", file=sys.stderr)
                raise SystemExit(1) from None
            calls = templates(reference)
            callid = 1
            results: dict[str, list[Phase]] = {s.name: [] for s in servers}
            for server in [*servers, trivial]:  # warm up: imports, caches, connections
                loop.run_until_complete(
                    run_phase(
                        server,
                        calls,
                        connections=args.connections,
                        seconds=min(1.0, seconds * 2),
                        first_callid=callid,
                    )
                )
                callid += 10**9
            for r in range(rounds):
                for server in servers if r % 2 == 0 else servers[::-1]:
                    phase = loop.run_until_complete(
                        run_phase(
                            server,
                            calls,
                            connections=args.connections,
                            seconds=seconds,
                            first_callid=callid,
                        )
                    )
                    results[server.name].append(phase)
                    callid += 10**9
            trivial_phase = loop.run_until_complete(
                run_phase(
                    trivial,
                    calls,
                    connections=args.connections,
                    seconds=seconds * 2,
                    first_callid=callid,
                )
            )
        flowbuilder_lines = {
            s.name: count_call_lines(s.output) / max(1, s.callbacks)
            for s in servers
            if s.name.startswith("flowbuilder")
        }
        spawn_argv = {s.name: s.argv for s in servers}
        cold: dict[str, list[float]] = {
            name: [] for name in ("flowbuilder", "tornado", "fastapi") if name in spawn_argv
        }
        cold["flowbuilder_uncached"] = []
        spec = importlib.util.find_spec("flowbuilder")  # the package the servers import
        assert spec is not None
        assert spec.origin is not None
        compileall.compile_dir(Path(spec.origin).parent, quiet=2)  # see the module's docstring
        uncached = {**os.environ, "FLOWBUILDER_CACHE": "off"}
        for _ in range(cold_starts):  # in turn, like the rounds
            for name, times in cold.items():
                argv = spawn_argv[name.removesuffix("_uncached")]
                env = uncached if name.endswith("_uncached") else None
                times.append(cold_start_ms(argv, workdir, pin, env))
    finally:
        loop.close()
        shutil.rmtree(workdir, ignore_errors=True)

    def ratios(name: str, peer: str) -> list[float]:
        pairs = zip(results[name], results[peer], strict=True)
        return [a.per_s / b.per_s for a, b in pairs if b.per_s]

    def cpu_us(name: str) -> float:
        phases = results[name]
        return 1e6 * sum(p.server_cpu_s for p in phases) / max(1, sum(p.requests for p in phases))

    def summary(name: str) -> dict[str, Any]:
        phases = results[name]
        wall = sum(p.seconds for p in phases)
        latencies = [x for p in phases for x in p.latencies]
        return {
            "callbacks_per_s": round(sum(p.requests for p in phases) / wall, 1),
            "server_cpu_us_per_callback": round(cpu_us(name), 1),
            "server_cpu_share": round(sum(p.server_cpu_s for p in phases) / wall, 2),
            "p50_ms": percentile_ms(latencies, 0.5),
            "p99_ms": percentile_ms(latencies, 0.99),
            "requests": sum(p.requests for p in phases),
            "errors": sum(p.errors for p in phases),
        }

    out: dict[str, Any] = {"benchmark": "flowbuilder serve vs hand-written FastAPI and Tornado"}
    peer_keys = {"fastapi": "vs_fastapi", "tornado": "vs_tornado_handwritten"}
    for peer, key in peer_keys.items():
        if peer not in results:
            continue
        for name, prefix in (("flowbuilder", ""), ("flowbuilder_quiet", "quiet_")):
            if name in results:
                values = ratios(name, peer)
                out[prefix + key] = round(statistics.median(values), 3)
                out[prefix + key + "_quartiles"] = quartiles(values)
    if "fastapi" in results:
        out["cpu_per_callback_vs_fastapi"] = round(cpu_us("flowbuilder") / cpu_us("fastapi"), 3)
    if "tornado" in results:
        out["cpu_per_callback_vs_tornado_handwritten"] = round(
            cpu_us("flowbuilder") / cpu_us("tornado"), 3
        )
    if "flowbuilder_quiet" in results:
        values = ratios("flowbuilder", "flowbuilder_quiet")
        out["output_on_vs_quiet"] = round(statistics.median(values), 3)
        out["output_on_vs_quiet_quartiles"] = quartiles(values)
    for name in results:  # above 1: this interpreter serves faster than the one running this
        if name.startswith("flowbuilder_py"):
            values = ratios(name, "flowbuilder")
            out.setdefault("other_pythons", {})[name.removeprefix("flowbuilder_")] = {
                "vs_flowbuilder": round(statistics.median(values), 3),
                "quartiles": quartiles(values),
                "cpu_per_callback": round(cpu_us(name) / cpu_us("flowbuilder"), 3),
            }
    for name in WITHOUT:
        if name in results:  # above 1: the speed-up pays
            values = ratios("flowbuilder", name)
            out.setdefault("speedups", {})[name.replace("flowbuilder_", "vs_")] = {
                "median": round(statistics.median(values), 3),
                "quartiles": quartiles(values),
                "cpu_per_callback": round(cpu_us("flowbuilder") / cpu_us(name), 3),
            }
    out["cold_start_ms"] = round(statistics.median(cold["flowbuilder"]), 1)
    out["cold_start_ms_uncached"] = round(statistics.median(cold["flowbuilder_uncached"]), 1)
    if "tornado" in cold:
        out["cold_start_ms_tornado"] = round(statistics.median(cold["tornado"]), 1)
    if "fastapi" in cold:
        out["cold_start_ms_fastapi"] = round(statistics.median(cold["fastapi"]), 1)
    out["cold_start_ms_all"] = {k: [round(v, 1) for v in vs] for k, vs in cold.items()}
    out["servers"] = {name: summary(name) for name in results}
    out["flowbuilder_output_lines_per_callback"] = {
        k: round(v, 3) for k, v in flowbuilder_lines.items()
    }
    all_phases = [p for phases in results.values() for p in phases]
    out["load_generator"] = {
        "trivial_server_callbacks_per_s": round(trivial_phase.per_s, 1),
        "headroom_over_fastest": round(
            trivial_phase.per_s / max(summary(n)["callbacks_per_s"] for n in results), 2
        ),
        "cpu_share_during_rounds": round(
            sum(p.client_cpu_s for p in all_phases) / sum(p.seconds for p in all_phases), 2
        ),
        "trivial_errors": trivial_phase.errors,
    }
    out["answers_compared"] = compared
    out["caller_scripts"] = len(SCRIPTS)
    out["rounds"] = rounds
    out["seconds_per_run"] = seconds
    out["connections"] = args.connections
    out["pinned"] = pin
    out["pinning"] = pinning
    out["python"] = platform.python_version()
    out["versions"] = versions()
    print(json.dumps(out))
    return out


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in ("tornado", "uvloop", "fastapi", "uvicorn", "httptools"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


if __name__ == "__main__":
    main(sys.argv[1:])
