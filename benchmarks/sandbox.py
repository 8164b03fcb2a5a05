"""Sandbox benchmark: 1,000 simulated calls through a 5-node IVR served by the callback server.

Prints ONE JSON object. The callback server (``flowbuilder.server.serve``, HTTP Basic auth on)
runs in its own process, as it would on its own machine; this process runs the sandbox, which
creates the app and assigns a DID through the JSON-RPC client, then places inbound calls
(``start_call_in``) on the simulated clock, at most ``--concurrency`` calls at a time, with a mix
of callers (each menu choice, a wrong key, silence, a hang-up mid-menu). Every POST goes over
real HTTP with the 5-second answer window enforced.

Figures: ``failed_calls`` (target 0) and the callbacks' latency (POST sent to answer read, as the
sandbox measures it) with ``p99_fraction_of_window`` = p99 / 5 s (target < 0.02). Baseline, run
side by side: the same sandbox (a quarter as many calls) against a bare Tornado handler in its
own process that answers the same command sequence (play, read, play, hangup) without the
engine; ``p99_ratio_vs_bare`` compares the two. Rounds alternate bare / flow.

The sandbox fires each POST as soon as the previous answer is in (simulated clock), so
``--concurrency`` calls keep that many requests in flight at all times: the default, 4, already
runs the driver at its throughput limit (a few hundred callbacks a second on a small machine);
more only adds queueing inside the driver to the latency it measures. ``server_p99_ms`` is the
time spent inside the callback server, from its own event log.

    python benchmarks/sandbox.py            # 1,000 calls, well under a minute
    python benchmarks/sandbox.py --quick    # a few seconds, for the test suite
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

LOGIN, PASSWORD = "callr", "benchmark-password"
WINDOW_MS = 5000.0
SCRIPTS: list[dict[str, Any]] = [
    {"presses": ["1"]},  # news
    {"presses": ["2"]},  # weather
    {"presses": ["9", "1"]},  # a wrong key, then news
    {"presses": []},  # silence: the menu times out
    {"presses": ["2"], "hangup_after": 2},  # hangs up during the menu
]


def bench_flow() -> Any:
    """5 nodes: welcome, a menu, two messages, hang up."""
    from flowbuilder.flow import Flow

    flow = Flow("sandbox_bench", description="5-node benchmark IVR")
    flow.add("welcome", "play", prompt="Welcome to the benchmark line.")
    flow.add(
        "menu",
        "menu",
        prompt="For the news press 1, for the weather press 2.",
        options=[{"outcome": "news", "digits": "1"}, {"outcome": "weather", "digits": "2"}],
    )
    flow.add("news", "play", prompt="No news is good news.")
    flow.add("weather", "play", prompt="Sunny, as always.")
    flow.add("bye", "hangup")
    flow.connect("welcome", "menu")
    flow.connect("menu", "news", "news").connect("menu", "weather", "weather")
    flow.connect("menu", "bye", "invalid").connect("menu", "bye", "timeout")
    flow.connect("news", "bye").connect("weather", "bye")
    return flow


def _pin(cpu: int) -> None:
    """Keep servers and the sandbox on different CPUs when there are two or more."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})


def flow_server(conn: Connection) -> None:
    _pin(0)
    from flowbuilder.server import serve

    handle = serve(
        bench_flow(), login=LOGIN, password=PASSWORD, name="sandbox-benchmark", max_events=100_000
    )
    conn.send(handle.url)
    conn.recv()  # until the parent says stop
    handle.stop()
    # the time each request spent inside the server, as its own event log has it
    conn.send([e.latency_ms for e in handle.events if e.status == 200])


def bare_server(conn: Connection) -> None:
    """Answers play, read, play, hangup by command_id, with Basic auth checked: no engine."""
    _pin(0)
    import asyncio
    import base64

    import tornado.httpserver
    import tornado.netutil
    import tornado.web

    from flowbuilder.callr import commands, wire

    expected = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    answers = [
        wire.render_answer(wire.Answer(command, i + 1, {}))
        for i, command in enumerate(
            [
                commands.build(
                    "play", media_id="TTS|TTS_EN-GB_SERENA|Welcome to the benchmark line."
                ),
                commands.build(
                    "read",
                    media_id="TTS|TTS_EN-GB_SERENA|Press 1",
                    max_digits=1,
                    attempts=1,
                    timeout_ms=3000,
                ),
                commands.build("play", media_id="TTS|TTS_EN-GB_SERENA|No news is good news."),
                commands.HANGUP,
            ]
        )
    ]

    class Bare(tornado.web.RequestHandler):
        def post(self) -> None:
            if self.request.headers.get("Authorization") != expected:
                self.set_status(401)
                return
            body = json.loads(self.request.body)
            if body["call_status"] not in ("UP", "INCOMING_CALL"):
                return
            self.set_header("Content-Type", "application/json")
            self.write(answers[min(body["command_id"], len(answers) - 1)])

    async def main() -> None:
        app = tornado.web.Application([(r"/.*", Bare)], log_function=lambda handler: None)
        server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        conn.send(f"http://127.0.0.1:{sockets[0].getsockname()[1]}/")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        server.stop()

    asyncio.run(main())


def run_calls(sb: Any, did: str, calls: int, concurrency: int) -> dict[str, Any]:
    """Place *calls* inbound calls, at most *concurrency* at once; their figures."""
    from flowbuilder.phone import Script

    gate = threading.Semaphore(concurrency)
    placed = []
    started = time.perf_counter()
    for i in range(calls):
        gate.acquire()
        call = sb.start_call_in(
            did, f"+3363998{i % 10000:04d}", Script(**SCRIPTS[i % len(SCRIPTS)])
        )
        call.future.add_done_callback(lambda _: gate.release())
        placed.append(call)
    for call in placed:
        call.result(120)
    wall = time.perf_counter() - started
    latencies = sorted(
        e.latency_ms for c in placed for e in c.exchanges if e.latency_ms is not None
    )
    failed = [c for c in placed if c.status == "failed" or any(e.error for e in c.exchanges)]
    return {
        "calls": calls,
        "failed_calls": len(failed),
        "failures": sorted({c.transcript.reason for c in failed})[:5],
        "callbacks": len(latencies),
        "wall_s": wall,
        "latencies": latencies,
    }


def _quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few calls, for tests")
    parser.add_argument("--calls", type=int, help="calls through the flow server (1000)")
    parser.add_argument("--concurrency", type=int, default=4, help="calls at a time (4)")
    parser.add_argument("--rounds", type=int, help="bare/flow rounds (2)")
    args = parser.parse_args(argv)
    total = args.calls or (40 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 2)
    per_round = max(1, total // rounds)
    bare_per_round = max(1, per_round // 4)  # the baseline needs fewer calls to be steady

    from flowbuilder.sandbox import Sandbox

    ctx = multiprocessing.get_context("spawn")
    children = []
    urls = {}
    for name, target in (("flow", flow_server), ("bare", bare_server)):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=target, args=(theirs,), daemon=True)
        proc.start()
        children.append((proc, mine))
        urls[name] = mine.recv()
    _pin(1)
    results: dict[str, list[dict[str, Any]]] = {"flow": [], "bare": []}
    try:
        with Sandbox(clock="simulated") as sb:
            client = sb.client()
            dids = {}
            for name, url in urls.items():
                app = client.apps.create(f"bench {name}", url=url, login=LOGIN, password=PASSWORD)
                did = client.apps.get_dids(only_available=True)[0]
                client.apps.assign_did(app, did)
                dids[name] = did.intl_number
            run_calls(sb, dids["flow"], min(20, per_round), args.concurrency)  # warm up
            for _ in range(rounds):
                for name, calls in (("bare", bare_per_round), ("flow", per_round)):
                    results[name].append(run_calls(sb, dids[name], calls, args.concurrency))
    finally:
        for _, conn in children:
            conn.send("stop")
        server_latencies = sorted(children[0][1].recv())
        for proc, _ in children:
            proc.join(10)

    def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
        latencies = sorted(x for r in runs for x in r["latencies"])
        wall = sum(r["wall_s"] for r in runs)
        calls = sum(r["calls"] for r in runs)
        return {
            "calls": calls,
            "failed_calls": sum(r["failed_calls"] for r in runs),
            "failures": sorted({f for r in runs for f in r["failures"]})[:5],
            "callbacks": len(latencies),
            "p50_ms": round(_quantile(latencies, 0.5), 3),
            "p95_ms": round(_quantile(latencies, 0.95), 3),
            "p99_ms": round(_quantile(latencies, 0.99), 3),
            "max_ms": round(latencies[-1], 3) if latencies else 0.0,
            "wall_s": round(wall, 3),
            "calls_per_s": round(calls / wall, 1) if wall else 0.0,
            "callbacks_per_s": round(len(latencies) / wall, 1) if wall else 0.0,
        }

    flow, bare = merge(results["flow"]), merge(results["bare"])
    p99_fraction = flow["p99_ms"] / WINDOW_MS
    out = {
        "failed_calls": flow["failed_calls"],
        "p99_fraction_of_window": round(p99_fraction, 5),
        "p99_ratio_vs_bare": round(flow["p99_ms"] / bare["p99_ms"], 2) if bare["p99_ms"] else None,
        "server_p50_ms": round(_quantile(server_latencies, 0.5), 3),
        "server_p99_ms": round(_quantile(server_latencies, 0.99), 3),
        "calls": flow["calls"],
        "callbacks": flow["callbacks"],
        "p50_ms": flow["p50_ms"],
        "p95_ms": flow["p95_ms"],
        "p99_ms": flow["p99_ms"],
        "max_ms": flow["max_ms"],
        "wall_s": flow["wall_s"],
        "calls_per_s": flow["calls_per_s"],
        "callbacks_per_s": flow["callbacks_per_s"],
        "failures": flow["failures"],
        "bare": bare,
        "flow_nodes": len(bench_flow().to_dict()["nodes"]),
        "concurrency": args.concurrency,
        "rounds": rounds,
        "clock": "simulated",
        "window_ms": WINDOW_MS,
        "targets": {"failed_calls": 0, "p99_fraction_of_window": 0.02},
        "meets_targets": flow["failed_calls"] == 0 and p99_fraction < 0.02,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quick": args.quick,
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
