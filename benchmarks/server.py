"""Callback server throughput: a compiled 10-node IVR against a bare Tornado handler.

Prints ONE JSON object. The servers run in their own processes, the load generator in this one:
a raw asyncio HTTP/1.1 client with N keep-alive connections, each playing CALLR for one call after
another (``FB_BENCH_PIN=1`` pins the servers and the load generator to different CPUs). The calls
are recorded once through the engine with the server's secret (the exact bodies CALLR would post:
``SimulatedCall`` + ``wire``), then replayed with fresh call ids, each POST carrying the
variables of the answer before it, as CALLR echoes them; every answer from the flow server is
checked byte for byte against the recorded one (but for the state signature, which covers the
call id), so a wrong answer counts as an error, not as throughput. The bare handler answers
the same requests with a fixed command: a handler as a plain Tornado application serves it
(``RequestHandler``, Tornado's HTTP/1, asyncio on this Python). Runs are short and interleaved
(bare, ..., flow, then flow, ..., bare), so that each pair of runs meets the same machine, and
``throughput_ratio_vs_bare`` is the median of the per-round ratios; ``ratio_quartiles`` shows
their spread (on a shared VM, two-second runs scattered about twice as widely as half-second
ones).

``throughput_ratio_vs_parsing_bare`` is the same against a third server, the bare handler that
reads each callback (``json.loads``) before its fixed answer: the least any real callback server
does, so the ratio shows what flowbuilder costs beyond that (reported, no target).

Every server runs on the event loop flowbuilder's server uses (``_loopthread.new_loop``:
uvloop when installed, and eager tasks on Python 3.12+), so the ratios compare handlers on an
equal footing.

flowbuilder serves on its own HTTP layer (:mod:`flowbuilder.server.http1`: Tornado's TCP server
and streams, httptools' parser), faster than Tornado's HTTP/1. Two more servers run on that
layer: ``http1_bare``, the bare handler (``http1_bare_ratio_vs_bare`` is what the layer saves;
``throughput_ratio_vs_http1_bare`` is flowbuilder against the ceiling of its own stack), and
``engine_only``, a handler around nothing but the engine (``wire.parse_callback`` then
``engine.step``: no routing, auth, events, books or replay guard), its answers checked like the
flow server's: ``engine_only_ratio_vs_http1_bare`` is the floor of this design on this stack,
``throughput_ratio_vs_engine_only`` what the server around the engine costs.

``cpu_ratio_vs_bare`` compares the servers' CPU time per callback (from /proc): when other
processes share the machine, throughput follows the CPU each server happens to get, while CPU
per callback still says what a saturated server would do. ``load_generator_cpu_share`` shows the
client is not the bottleneck. ``engine_us_per_callback`` is the engine's own time per callback
(``wire.parse_callback`` + ``engine.step`` in this process, over the recorded calls).

    python benchmarks/server.py            # about 90 s (24 rounds of 0.5 s per server)
    python benchmarks/server.py --quick    # a few seconds, for the test suite
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

SECRET = b"benchmark-secret-0123456789abcdef"
APP = "4346423A"
CALLID_MARK = 987654321987
BARE_ANSWER = b'{"command":"hangup","command_id":1,"params":{},"variables":{}}'
CHECKED = ("flow", "engine_only")  # servers whose answers must match the recorded ones
SCRIPTS: list[dict[str, Any]] = [
    {"presses": ["1"]},  # sales: dial, answered
    {"presses": ["2"]},  # support: voicemail
    {"presses": ["0"], "dial": ["BUSY"]},  # operator busy, then voicemail
    {"presses": ["7", "9", "5"]},  # three wrong keys
    {"presses": []},  # silence
    {"presses": ["1"], "dial": ["NOANSWER"]},  # sales does not answer: voicemail
]


def ivr() -> Any:
    """The sample support line plus an opening-hours message: 10 nodes."""
    from flowbuilder.examples import support_line

    flow = support_line()
    flow.add("hours", "play", prompt="We are open from 9 to 6, Monday to Friday.")
    flow.disconnect("welcome", "next").connect("welcome", "hours").connect("hours", "main_menu")
    assert len(flow) == 10, len(flow)
    return flow


def record_calls() -> list[list[tuple[bytes, bytes]]]:
    """Each script's exchanges: (request body with a call-id mark, expected answer body)."""
    from flowbuilder import engine
    from flowbuilder.callr import wire
    from flowbuilder.compiler import compile
    from flowbuilder.phone import CallSetup, Script, SimulatedCall

    program = compile(ivr())
    config = engine.EngineConfig(secret=SECRET)
    calls = []
    for script in SCRIPTS:
        setup = CallSetup(
            app=APP, callid=CALLID_MARK, number="+33900000000", cli_number="+33612345678"
        )
        call = SimulatedCall(setup, Script.from_data(script))
        post = call.start()
        exchanges = []
        while post is not None:
            body = wire.render_callback(post.callback)
            reply = engine.step(program, wire.parse_callback(body), config=config, now=0.0)
            assert isinstance(reply, engine.Reply)
            exchanges.append((body, reply.body))
            if post.final:
                break
            post = call.on_answer(wire.parse_answer(reply.body) if reply.body else None)
        calls.append(exchanges)
    return calls


# -- servers (child processes) -------------------------------------------------------------------


def _pin(cpu: int) -> None:
    """Keep the server and the load generator off each other's CPU (when asked, and possible)."""
    pin = os.environ.get("FB_BENCH_PIN") and hasattr(os, "sched_setaffinity")
    if pin and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu})


def flow_server(conn: Connection) -> None:
    """The product: ``serve()`` on a compiled 10-node IVR."""
    _pin(0)
    from flowbuilder.server import serve

    handle = serve(ivr(), secret=SECRET, name="benchmark")
    conn.send(handle.port)
    conn.recv()  # until the parent says stop
    handle.stop()


def bare_server(conn: Connection) -> None:
    """A bare Tornado handler returning a fixed command: the ceiling of this stack."""
    _fixed_answer_server(conn, parse=False)


def parsing_server(conn: Connection) -> None:
    """The bare handler reading each callback first (``json.loads``), as any real server must:
    what flowbuilder adds beyond that shows as ``throughput_ratio_vs_parsing_bare``."""
    _fixed_answer_server(conn, parse=True)


def _fixed_answer_server(conn: Connection, *, parse: bool) -> None:
    import tornado.web

    class Bare(tornado.web.RequestHandler):
        def post(self) -> None:
            if parse:
                json.loads(self.request.body)
            self.set_header("Content-Type", "application/json")
            self.write(BARE_ANSWER)

    _plain_server(conn, Bare)


def http1_bare_server(conn: Connection) -> None:
    """The bare handler on the server's own HTTP layer (:mod:`flowbuilder.server.http1`): the
    ceiling of the stack flowbuilder now serves on."""
    from flowbuilder.server.http1 import Reply, Request

    def bare(request: Request, reply: Reply) -> None:
        reply.send(200, {"Content-Type": "application/json"}, BARE_ANSWER)

    _http1_server(conn, bare)


def engine_only_server(conn: Connection) -> None:
    """A handler around the engine alone, on the server's own HTTP layer: what flowbuilder's
    server adds to it shows as ``throughput_ratio_vs_engine_only``."""
    from flowbuilder import engine
    from flowbuilder.callr import wire
    from flowbuilder.compiler import compile
    from flowbuilder.server.http1 import Reply, Request

    program = compile(ivr())
    config = engine.EngineConfig(secret=SECRET)

    def engine_only(request: Request, reply: Reply) -> None:
        callback = wire.parse_callback(request.body)
        answer = engine.step(program, callback, config=config, now=time.time())
        assert isinstance(answer, engine.Reply)  # this IVR has no effects
        reply.send(200, {"Content-Type": "application/json"}, answer.body)

    _http1_server(conn, engine_only)


def _http1_server(conn: Connection, handle: Any) -> None:
    from flowbuilder.server.http1 import HTTP1Server

    limit = 64 * 1024
    _run_server(conn, HTTP1Server(handle, max_body_bytes=limit, hard_max_body_bytes=16 * limit))


def _plain_server(conn: Connection, handler: type[Any]) -> None:
    """Serve the Tornado *handler* on every path, as a plain Tornado application does."""
    import tornado.httpserver
    import tornado.web

    app = tornado.web.Application([(r"/.*", handler)], log_function=lambda handler: None)
    _run_server(conn, tornado.httpserver.HTTPServer(app))


def _run_server(conn: Connection, server: Any) -> None:
    """Run *server* (a Tornado TCP server) until told to stop, on the loop flowbuilder's server
    uses."""
    _pin(0)
    import tornado.netutil

    from flowbuilder._loopthread import new_loop

    async def main() -> None:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        conn.send(sockets[0].getsockname()[1])
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        server.stop()

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


# -- the load generator --------------------------------------------------------------------------


@dataclass
class Phase:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _request(body: bytes) -> bytes:
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_VARIABLES = b'"variables": '  # the last field of every recorded POST
_ANSWER_VARIABLES = b'"variables":'  # ... and of every answer
_SIGNATURE = b'"h":"'


def _masked(answer: bytes) -> bytes:
    """*answer* without its state signature, which differs from call to call (it covers the
    call id): the rest must match the recorded answer byte for byte."""
    at = answer.find(_SIGNATURE)
    if at < 0:
        return answer
    at += len(_SIGNATURE)
    return answer[:at] + answer[at + 32 :]  # 32 hex digits


async def _connection(
    port: int,
    calls: list[list[tuple[bytes, bytes]]],
    first_callid: int,
    until: float,
    check: bool,
    phase: Phase,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    mark = b'"callid": %d' % CALLID_MARK  # only the field: a recording name holds it too
    callid = first_callid
    n = 0
    try:
        while time.perf_counter() < until:
            exchanges = calls[n % len(calls)]
            n += 1
            callid += 1
            echo = b"{}"
            for body, expected in exchanges:
                # as CALLR does: the variables of the last answer come back with the next POST
                body = body[: body.rindex(_VARIABLES) + len(_VARIABLES)] + echo + b"}"
                request = _request(body.replace(mark, b'"callid": %d' % callid))
                began = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head[9:12]
                start = head.lower().find(b"content-length:")
                length = int(head[start + 15 : head.index(b"\r\n", start)]) if start >= 0 else 0
                answer = await reader.readexactly(length) if length else b""
                phase.latencies.append(time.perf_counter() - began)
                phase.requests += 1
                if status != b"200" or (check and _masked(answer) != _masked(expected)):
                    phase.errors += 1
                if answer:
                    echo = answer[answer.rindex(_ANSWER_VARIABLES) + len(_ANSWER_VARIABLES) : -1]
    finally:
        writer.close()


def _cpu_seconds(pid: int) -> float:
    """A process's user+system CPU time from /proc (0 where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def run_phase(
    port: int,
    pid: int,
    calls: list[list[tuple[bytes, bytes]]],
    *,
    connections: int,
    seconds: float,
    check: bool,
    base_callid: int,
) -> Phase:
    phase = Phase()
    cpu0, server0 = time.process_time(), _cpu_seconds(pid)

    async def main() -> None:
        began = time.perf_counter()
        until = began + seconds
        await asyncio.gather(
            *(
                _connection(port, calls, base_callid + i * 1_000_000, until, check, phase)
                for i in range(connections)
            )
        )
        phase.seconds = time.perf_counter() - began

    asyncio.run(main())
    phase.client_cpu_s = time.process_time() - cpu0
    phase.server_cpu_s = _cpu_seconds(pid) - server0
    return phase


def engine_us_per_callback(calls: list[list[tuple[bytes, bytes]]], *, quick: bool) -> float:
    """The engine's own time per callback, in this process: parse then step each recorded POST
    (the best of several passes: the least disturbed by the rest of the machine)."""
    from flowbuilder import engine
    from flowbuilder.callr import wire
    from flowbuilder.compiler import compile

    program = compile(ivr())
    config = engine.EngineConfig(secret=SECRET)
    bodies = [body for call in calls for body, _ in call]
    best = float("inf")
    for _ in range(3 if quick else 15):
        began = time.perf_counter()
        for _ in range(5 if quick else 40):
            for body in bodies:
                engine.step(program, wire.parse_callback(body), config=config, now=0.0)
        elapsed = time.perf_counter() - began
        best = min(best, elapsed / ((5 if quick else 40) * len(bodies)))
    return round(best * 1e6, 2)


def _percentile_ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def _quartiles(values: list[float]) -> list[float]:
    """First quartile, median and third quartile (the median thrice for a single value)."""
    if len(values) < 2:
        return [statistics.median(values)] * 3
    return statistics.quantiles(values, n=4)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for tests")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=None, help="length of each run")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    seconds = args.seconds or (0.4 if args.quick else 0.5)
    rounds = args.rounds or (1 if args.quick else 24)
    calls = record_calls()
    ctx = multiprocessing.get_context("spawn")
    servers: dict[str, tuple[Any, Connection, int]] = {}
    targets: dict[str, Callable[[Connection], None]] = {
        "bare": bare_server,
        "parsing_bare": parsing_server,
        "http1_bare": http1_bare_server,
        "engine_only": engine_only_server,
        "flow": flow_server,
    }
    try:
        for mode, target in targets.items():
            parent, child = ctx.Pipe()
            process = ctx.Process(target=target, args=(child,), daemon=True)
            process.start()
            if not parent.poll(30):
                raise RuntimeError(f"the {mode} server did not start")
            servers[mode] = (process, parent, parent.recv())
        _pin(1)
        results: dict[str, list[Phase]] = {mode: [] for mode in targets}
        callid = 1
        for mode in targets:  # warm up each (imports, caches, connections)
            process, _, port = servers[mode]
            run_phase(
                port,
                process.pid,
                calls,
                connections=args.connections,
                seconds=min(1.0, seconds),
                check=mode in CHECKED,
                base_callid=callid,
            )
            callid += 10**8
        for r in range(rounds):
            order = list(targets) if r % 2 == 0 else list(reversed(targets))
            for mode in order:
                process, _, port = servers[mode]
                results[mode].append(
                    run_phase(
                        port,
                        process.pid,
                        calls,
                        connections=args.connections,
                        seconds=seconds,
                        check=mode in CHECKED,
                        base_callid=callid,
                    )
                )
                callid += 10**8
    finally:
        for process, conn, _ in servers.values():
            with contextlib.suppress(OSError):
                conn.send("stop")
            process.join(10)
            if process.is_alive():
                process.terminate()
                process.join(5)

    def summary(mode: str) -> dict[str, Any]:
        phases = results[mode]
        latencies = [x for p in phases for x in p.latencies]
        wall = sum(p.seconds for p in phases)
        return {
            "callbacks_per_s": round(sum(p.requests for p in phases) / wall, 1),
            "p50_ms": _percentile_ms(latencies, 0.50),
            "p99_ms": _percentile_ms(latencies, 0.99),
            "requests": sum(p.requests for p in phases),
            "errors": sum(p.errors for p in phases),
            "server_cpu_share": round(sum(p.server_cpu_s for p in phases) / wall, 2),
            "server_cpu_us_per_callback": round(
                1e6 * sum(p.server_cpu_s for p in phases) / max(1, sum(p.requests for p in phases)),
                1,
            ),
            "load_generator_cpu_share": round(sum(p.client_cpu_s for p in phases) / wall, 2),
        }

    def median_ratio(baseline: str, mode: str = "flow") -> float:
        pairs = zip(results[mode], results[baseline], strict=True)
        return round(statistics.median(f.per_s / b.per_s for f, b in pairs), 3)

    ratios = [f.per_s / b.per_s for f, b in zip(results["flow"], results["bare"], strict=True)]
    flow, bare, parsing = summary("flow"), summary("bare"), summary("parsing_bare")
    engine_only = summary("engine_only")
    import tornado

    out = {
        "benchmark": "callback server: 10-node IVR vs bare Tornado handler",
        "throughput_ratio_vs_bare": round(statistics.median(ratios), 3),
        "ratio_quartiles": [round(q, 3) for q in _quartiles(ratios)],
        "ratios_per_round": [round(r, 3) for r in ratios],
        "target_ratio": 0.8,
        "engine_us_per_callback": engine_us_per_callback(calls, quick=args.quick),
        "flow_callbacks_per_s": flow["callbacks_per_s"],
        "bare_callbacks_per_s": bare["callbacks_per_s"],
        # CPU per callback is robust when other processes share the machine: the ceiling's
        # CPU cost over ours is the throughput ratio a saturated server would reach
        "cpu_ratio_vs_bare": round(
            bare["server_cpu_us_per_callback"] / flow["server_cpu_us_per_callback"], 3
        ),
        "flow_p50_ms": flow["p50_ms"],
        "flow_p99_ms": flow["p99_ms"],
        "bare_p50_ms": bare["p50_ms"],
        "bare_p99_ms": bare["p99_ms"],
        # the same, against a bare handler that reads the callback (no target: for comparison)
        "throughput_ratio_vs_parsing_bare": median_ratio("parsing_bare"),
        "cpu_ratio_vs_parsing_bare": round(
            parsing["server_cpu_us_per_callback"] / flow["server_cpu_us_per_callback"], 3
        ),
        # the floor of this design: the engine alone behind a handler run inline (no target)
        # the same on the server's own HTTP layer: its bare ceiling, and the engine alone on it
        "throughput_ratio_vs_http1_bare": median_ratio("http1_bare"),
        "http1_bare_ratio_vs_bare": median_ratio("bare", "http1_bare"),
        "engine_only_ratio_vs_http1_bare": median_ratio("http1_bare", "engine_only"),
        "engine_only_ratio_vs_bare": median_ratio("bare", "engine_only"),
        "throughput_ratio_vs_engine_only": median_ratio("engine_only"),
        "flow": flow,
        "bare": bare,
        "parsing_bare": parsing,
        "http1_bare": summary("http1_bare"),
        "engine_only": engine_only,
        "flow_nodes": len(ivr()),
        "callbacks_per_call": [len(c) for c in calls],
        "connections": args.connections,
        "seconds_per_run": seconds,
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tornado": tornado.version,
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
