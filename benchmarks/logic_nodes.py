"""Logic-node benchmark: the cost of a callback that runs gather -> branch -> set -> play.

``logic_step_vs_json_ratio``: the median cost of answering the POST that carries a ``gather``
result, when the engine then runs a ``branch`` (business hours in Europe/Paris, weekday, a regex
on the caller, a numeric test), a ``set`` with templates and answers a ``play`` (``engine.handle``:
parse, verify, step, sign, render), divided by ``json.loads`` + ``json.dumps`` of the same body,
timed side by side and interleaved. Target: <= 3 (as for the engine benchmark).

``plain_step_vs_json_ratio``: the same measure for a ``play`` -> ``play`` step, so the cost the
logic nodes add shows as the difference.

``hours_step_vs_json_ratio``: the same as the first with a ``business_hours`` node (the dental
clinic's: two ranges a day, eleven holidays, three exception dates) in place of the ``branch``.

``--quick`` (or ``FLOWBUILDER_BENCH_QUICK=1``) runs a few repetitions, to check the script works.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flowbuilder import engine
from flowbuilder.callr import commands, wire
from flowbuilder.compiler import Program, compile
from flowbuilder.flow import Flow
from flowbuilder.phone import CallSetup

SECRET = b"benchmark-secret-0123456789abcdef"
NOW = 1_767_607_200.0  # Monday 2026-01-05 10:00 UTC: 11:00 in Paris, open


def logic_flow() -> Flow:
    flow = Flow("bench_logic", timezone="Europe/Paris")
    flow.add("ask", "gather", prompt="Enter your account number.", variable="account")
    flow.add(
        "route",
        "branch",
        conditions=[
            {"name": "weekend", "op": "weekday_in", "value": ["sat", "sun"]},
            {"name": "closed", "op": "time_between", "value": "17:30-09:00"},
            {"name": "mobile", "subject": "caller", "op": "regex", "value": r"^\+33[67]\d{8}$"},
            {"name": "big", "subject": "account", "op": "gt", "value": 500000},
        ],
    )
    flow.add("note", "set", values={"summary": "{account} from {caller}", "stage": "routed"})
    flow.add("say", "play", prompt="Account {account}, thank you.")
    flow.add("bye", "hangup")
    flow.connect("ask", "route", "done").connect("ask", "bye", "timeout")
    for outcome in ("weekend", "closed", "mobile", "big", "else"):
        flow.connect("route", "note", outcome)
    flow.connect("note", "say").connect("say", "bye")
    return flow


def hours_flow() -> Flow:
    from flowbuilder.examples import CLINIC_EXCEPTIONS, CLINIC_HOLIDAYS

    flow = Flow("bench_hours", timezone="Europe/Paris")
    flow.add("ask", "gather", prompt="Enter your account number.", variable="account")
    flow.add(
        "route",
        "business_hours",
        hours={"mon-fri": ["08:30-12:30", "13:30-19:00"], "sat": ["09:00-13:00"]},
        holidays=CLINIC_HOLIDAYS,
        exceptions=CLINIC_EXCEPTIONS,
        variable="reason",
    )
    flow.add("note", "set", values={"summary": "{account} from {caller}", "stage": "routed"})
    flow.add("say", "play", prompt="Account {account}, thank you.")
    flow.add("bye", "hangup")
    flow.connect("ask", "route", "done").connect("ask", "bye", "timeout")
    for outcome in ("open", "closed", "holiday"):
        flow.connect("route", "note", outcome)
    flow.connect("note", "say").connect("say", "bye")
    return flow


def plain_flow() -> Flow:
    flow = Flow("bench_plain")
    flow.add("ask", "play", prompt="Welcome.").add("say", "play", prompt="Thank you {caller}.")
    flow.add("bye", "hangup").connect("ask", "say").connect("say", "bye")
    return flow


SETUP = CallSetup(
    app="4346423A",
    callid=421889,
    number="+33912345678",
    cli_number="+33612345678",
    date_started="2026-01-05 10:00:00",
)


def _callback(**changes: Any) -> wire.Callback:
    return replace(SETUP.callback(variables={"customer_id": "C-1042", "lang": "en"}), **changes)


def second_body(program: Program, config: engine.EngineConfig, result: str) -> bytes:
    """The POST carrying the first command's result, as the real exchange produces it."""
    reply = engine.step(program, _callback(), config=config, now=NOW)
    assert isinstance(reply, engine.Reply)
    assert reply.answer is not None
    answer = reply.answer
    return wire.render_callback(
        _callback(
            command=answer.command.name,
            command_id=answer.command_id,
            command_result=result,
            variables=json.loads(json.dumps(answer.variables)),
        )
    )


def _per_op(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def ratio(flow: Flow, result: str, reps: int, inner: int) -> tuple[float, float, float]:
    """(median step/json ratio, step µs, json µs)."""
    program = compile(flow)
    config = engine.EngineConfig(secret=SECRET)
    body = second_body(program, config, result)
    out = engine.handle(program, body, config=config, now=NOW + 5)
    assert b'"command":"play"' in out, out
    loads, dumps = json.loads, json.dumps

    def handle() -> bytes:
        return engine.handle(program, body, config=config, now=NOW + 5)

    def baseline() -> bytes:
        return dumps(loads(body)).encode()

    _per_op(handle, inner)
    _per_op(baseline, inner)
    steps, jsons, ratios = [], [], []
    for i in range(reps):
        if i % 2:
            s, j = _per_op(handle, inner), _per_op(baseline, inner)
        else:
            j, s = _per_op(baseline, inner), _per_op(handle, inner)
        steps.append(s)
        jsons.append(j)
        ratios.append(s / j)
    return statistics.median(ratios), statistics.median(steps), statistics.median(jsons)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few repetitions")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("FLOWBUILDER_BENCH_QUICK") == "1"
    reps, inner = (5, 20) if quick else (41, 400)
    started = time.perf_counter()
    logic, logic_s, logic_j = ratio(logic_flow(), "123456", reps, inner)
    plain, plain_s, _ = ratio(plain_flow(), commands.DONE, reps, inner)
    hours, hours_s, _ = ratio(hours_flow(), "123456", reps, inner)
    result = {
        "benchmark": "logic_nodes",
        "quick": quick,
        "logic_step_vs_json_ratio": round(logic, 3),
        "plain_step_vs_json_ratio": round(plain, 3),
        "hours_step_vs_json_ratio": round(hours, 3),
        "hours_step_us": round(hours_s * 1e6, 2),
        "logic_step_us": round(logic_s * 1e6, 2),
        "plain_step_us": round(plain_s * 1e6, 2),
        "json_roundtrip_us": round(logic_j * 1e6, 2),
        "targets": {"logic_step_vs_json_ratio": 3.0, "hours_step_vs_json_ratio": 3.0},
        "python": sys.version.split()[0],
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
