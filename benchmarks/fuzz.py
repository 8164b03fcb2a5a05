"""Hostile traffic against a served flow and the sandbox: no 5xx, no dropped connection, bounded
memory, no replay accepted.

Prints ONE JSON object on its last line:

- ``requests``, ``status_counts``, ``five_xx`` (goal 0), ``dropped`` (goal 0): hostile callbacks
  (valid-ish, mutated, huge fields, deep nesting, malformed JSON, no or bad credentials, odd
  content types, methods and paths, chunked bodies, bodies over the limit) against
  ``flowbuilder serve`` in a process of its own, with Basic auth (``benchmarks/hostile.py``);
- ``rss_growth_mib`` (goal < 50 over 20,000 requests): the server process's resident memory
  at the end minus after a warm-up of ordinary calls (imports, caches, the HTTP client);
- ``replays_accepted`` (goal 0) of ``replays_attempted``: an earlier step's ``command_id`` and
  variables posted again with another result, a step after the call's ``HANGUP``, a "first"
  POST in the middle of a call; accepted when the server answered with a live command other
  than its safe fallback or a hang-up;
- ``rpc_*``: the same for hostile JSON-RPC and control API requests against
  ``flowbuilder sandbox``, with ``sandbox_rss_growth_mib``.

    python benchmarks/fuzz.py                    # 20,000 callbacks, 5,000 JSON-RPC requests
    python benchmarks/fuzz.py --quick            # a few hundred of each, for the test suite
    python benchmarks/fuzz.py --requests 100000  # a soak
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hostile  # beside this file


def _drive(
    process: hostile.Process,
    requests: list[hostile.Request],
    connections: int,
) -> tuple[Counter[int], Counter[str]]:
    """Send *requests* over *connections* keep-alive connections; HTTP statuses (DROPPED for a
    connection that ended early) and, for 5xx and dropped ones, the kinds of request."""
    statuses: Counter[int] = Counter()
    bad: Counter[str] = Counter()
    lock = threading.Lock()
    shares = [requests[i::connections] for i in range(connections)]

    def run(share: list[hostile.Request]) -> None:
        with hostile.Connection(process.host, process.port) as conn:
            for request in share:
                response = conn.send(request)
                with lock:
                    statuses[response.status] += 1
                    if response.dropped or response.status >= 500:
                        bad[f"{request.kind}:{response.status}"] += 1

    threads = [threading.Thread(target=run, args=(s,)) for s in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, bad


def _summary(statuses: Counter[int]) -> dict[str, Any]:
    return {
        "requests": sum(statuses.values()),
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "five_xx": sum(v for k, v in statuses.items() if k >= 500),
        "dropped": statuses.get(hostile.DROPPED, 0),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="hostile callbacks")
    parser.add_argument("--rpc-requests", type=int, default=5_000, help="hostile JSON-RPC")
    parser.add_argument("--replays", type=int, default=100, help="recorded calls replayed")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--quick", action="store_true", help="a few hundred of each")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.rpc_requests, args.replays = 600, 300, 10
    rng = random.Random(args.seed)
    result: dict[str, Any] = {}
    began = time.perf_counter()

    with hostile.serve_process() as server:
        warm = [hostile.post(hostile.callback()) for _ in range(300)]
        _drive(server, warm, args.connections)
        baseline = server.rss_mib()
        requests = list(itertools.islice(hostile.hostile_requests(rng), args.requests))
        statuses, bad = _drive(server, requests, args.connections)
        with hostile.Connection(server.host, server.port) as conn:
            attempted, accepted = hostile.replay_probes(conn, args.replays)
        result.update(_summary(statuses))
        result["rss_baseline_mib"] = round(baseline, 1)
        result["rss_growth_mib"] = round(server.rss_mib() - baseline, 1)
        result["replays_attempted"] = attempted
        result["replays_accepted"] = accepted
        result["failures_by_kind"] = dict(bad)
        result["server_alive"] = server.alive

    with hostile.sandbox_process() as sandbox:
        warm = list(itertools.islice(hostile.hostile_rpc_requests(random.Random(0)), 200))
        _drive(sandbox, warm, args.connections)
        baseline = sandbox.rss_mib()
        requests = list(itertools.islice(hostile.hostile_rpc_requests(rng), args.rpc_requests))
        statuses, bad = _drive(sandbox, requests, args.connections)
        summary = _summary(statuses)
        result.update({f"rpc_{k}": v for k, v in summary.items()})
        result["sandbox_rss_growth_mib"] = round(sandbox.rss_mib() - baseline, 1)
        result["rpc_failures_by_kind"] = dict(bad)
        result["sandbox_alive"] = sandbox.alive

    result["seconds"] = round(time.perf_counter() - began, 1)
    result["python"] = platform.python_version()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
