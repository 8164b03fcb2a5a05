"""Engine and compiler benchmark: prints one JSON object.

``step_vs_json_ratio``: the median cost of answering one mid-call callback on a 10-node IVR, body
in to body out (``engine.handle``: parse, verify the signed state, step, sign, render), divided by
the cost of ``json.loads`` + ``json.dumps`` of the same body, the irreducible work of any callback
server. Both are timed side by side in this process, interleaved, and the median ratio is kept.
Target: <= 3.

``compile_growth_exponent``: validate + compile times for generated flows of 100, 1,000 and
10,000 nodes, and the slope of log(time) against log(nodes) (least squares). Target: <= 1.2
(linear, with a little room for sorting). ``lint_growth_exponent``: the same for flows that keep
every linter rule busy (variables set on some paths only, chained effects, menus, loops).

``--quick`` (or ``FLOWBUILDER_BENCH_QUICK=1``) runs tiny sizes, to check the script itself works.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import replace
from typing import Any

from flowbuilder import engine
from flowbuilder.callr import commands, wire
from flowbuilder.compiler import Program, compile
from flowbuilder.flow import Flow
from flowbuilder.phone import CallSetup
from flowbuilder.validate import validate

SECRET = b"benchmark-secret-0123456789abcdef"
NOW = 1_767_261_600.0


def ivr() -> Flow:
    """A 10-node IVR: welcome, a main menu, a sub-menu, two dials, voicemail, goodbyes."""
    flow = Flow("bench_ivr", description="10-node benchmark IVR")
    flow.add("welcome", "play", prompt="Welcome to Acme, {caller}.")
    flow.add(
        "main_menu",
        "menu",
        prompt="For sales press 1, for support press 2, for an operator press 0.",
        options=[
            {"outcome": "sales", "digits": "1"},
            {"outcome": "support", "digits": "2"},
            {"outcome": "operator", "digits": "0"},
        ],
    )
    flow.add(
        "sales_menu",
        "menu",
        prompt="New orders press 1, existing orders press 2.",
        options=[{"outcome": "new", "digits": "1"}, {"outcome": "existing", "regex": "^2$"}],
        variable="sales_choice",
    )
    flow.add("sales", "dial", targets=[{"number": "+33123456789", "timeout": 20}], cli="{caller}")
    flow.add("orders", "dial", targets=[{"number": "+33123456780", "timeout": 20}])
    flow.add("operator", "dial", targets=[{"number": "+33198765432", "timeout": 25}])
    flow.add("support", "voicemail", prompt="Describe your problem after the tone.")
    flow.add("thanks", "play", prompt="Thank you {caller}, we will call you back.")
    flow.add("goodbye", "play", prompt="We did not get your choice. Goodbye.")
    flow.add("end", "hangup")
    flow.connect("welcome", "main_menu")
    flow.connect("main_menu", "sales_menu", "sales")
    flow.connect("main_menu", "support", "support")
    flow.connect("main_menu", "operator", "operator")
    flow.connect("main_menu", "goodbye", "invalid").connect("main_menu", "goodbye", "timeout")
    flow.connect("sales_menu", "sales", "new").connect("sales_menu", "orders", "existing")
    flow.connect("sales_menu", "goodbye", "invalid").connect("sales_menu", "goodbye", "timeout")
    for source in ("sales", "orders", "operator"):
        flow.connect(source, "end", "answered")
        for outcome in ("no_answer", "busy", "failed"):
            flow.connect(source, "support", outcome)
    flow.connect("support", "thanks").connect("thanks", "end").connect("goodbye", "end")
    return flow


SETUP = CallSetup(
    app="4346423A",
    callid=421889,
    number="+33912345678",
    cli_number="+33612345678",
    date_started="2026-01-01 10:00:00",
)


def _callback(**changes: Any) -> wire.Callback:
    return replace(SETUP.callback(), **changes)


def mid_call_body(program: Program, config: engine.EngineConfig) -> bytes:
    """The POST CALLR sends after the caller pressed 1 at the main menu: signed state, variables
    (the app's own and the flow's), as the real exchange produces them."""
    first = _callback(variables={"customer_id": "C-1042", "lang": "en"})
    reply = engine.step(program, first, config=config, now=NOW)  # welcome: play
    assert isinstance(reply, engine.Reply)
    assert reply.answer is not None
    answer = reply.answer
    played = _callback(
        command=answer.command.name,
        command_id=answer.command_id,
        command_result=commands.DONE,
        variables=answer.variables,
    )
    reply = engine.step(program, played, config=config, now=NOW + 3)  # main menu: read
    assert isinstance(reply, engine.Reply)
    assert reply.answer is not None
    answer = reply.answer
    pressed = _callback(
        command=answer.command.name,
        command_id=answer.command_id,
        command_result="1",
        variables=json.loads(json.dumps(answer.variables)),
    )
    return wire.render_callback(pressed)


def _per_op(fn: Any, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def step_ratio(reps: int, inner: int) -> dict[str, Any]:
    program = compile(ivr())
    config = engine.EngineConfig(secret=SECRET)
    body = mid_call_body(program, config)
    out = engine.handle(program, body, config=config, now=NOW + 10)
    assert b'"command":"read"' in out, out  # the sales sub-menu asks
    loads, dumps = json.loads, json.dumps

    def handle() -> bytes:
        return engine.handle(program, body, config=config, now=NOW + 10)

    def baseline() -> bytes:
        return dumps(loads(body)).encode()

    _per_op(handle, inner)  # warm caches
    _per_op(baseline, inner)
    steps, jsons, ratios = [], [], []
    for i in range(reps):
        if i % 2:  # alternate which goes first, so drift hits both alike
            s, j = _per_op(handle, inner), _per_op(baseline, inner)
        else:
            j, s = _per_op(baseline, inner), _per_op(handle, inner)
        steps.append(s)
        jsons.append(j)
        ratios.append(s / j)
    return {
        "step_vs_json_ratio": round(statistics.median(ratios), 3),
        "step_us": round(statistics.median(steps) * 1e6, 2),
        "json_roundtrip_us": round(statistics.median(jsons) * 1e6, 2),
        "callback_body_bytes": len(body),
        "answer_body_bytes": len(out),
        "ivr_nodes": len(program.nodes),
    }


def generated_flow(n: int) -> Flow:
    """A flow of about *n* nodes: a chain of play -> menu blocks, each menu with two options,
    invalid/timeout handling, and a shared hangup; every node reachable, everything connected."""
    flow = Flow(f"gen{n}")
    blocks = max(1, (n - 2) // 2)
    for b in range(blocks):
        flow.add(f"p{b}", "play", prompt=f"Step {b}, caller {{caller}}.")
        flow.add(
            f"m{b}",
            "menu",
            prompt="Press 1 to go on, 2 to hear this again.",
            options=[{"outcome": "go", "digits": "1"}, {"outcome": "again", "one_of": ["2", "*"]}],
        )
    flow.add("bye", "play", prompt="Goodbye.")
    flow.add("end", "hangup")
    for b in range(blocks):
        nxt = f"p{b + 1}" if b + 1 < blocks else "bye"
        flow.connect(f"p{b}", f"m{b}")
        flow.connect(f"m{b}", nxt, "go").connect(f"m{b}", f"p{b}", "again")
        flow.connect(f"m{b}", "bye", "invalid").connect(f"m{b}", "bye", "timeout")
    flow.connect("bye", "end")
    return flow


def lint_flow(n: int) -> Flow:
    """A flow of about *n* nodes that keeps every rule of the linter busy, in blocks: gather ->
    branch -> (set | nothing) -> a play reading both variables (one set on one branch only: a
    warning) -> http_request -> python (5000 ms of effects in one callback: a warning) -> a menu
    looping back to the play or going on. Two variables per block for the per-path pass."""
    flow = Flow(f"lint{n}")
    blocks = max(1, (n - 2) // 7)
    for b in range(blocks):
        flow.add(f"g{b}", "gather", prompt="Your account number?", variable=f"acct{b}")
        flow.add(
            f"br{b}",
            "branch",
            conditions=[{"name": "vip", "subject": f"acct{b}", "op": "equals", "value": "1"}],
        )
        flow.add(f"s{b}", "set", values={f"name{b}": "Ada"})
        flow.add(f"j{b}", "play", prompt=f"Hello {{name{b}}}, account {{acct{b}}}.")
        flow.add(
            f"h{b}",
            "http_request",
            url=f"https://crm.example.com/accounts/{{acct{b}}}",
            map={f"tier{b}": "data.tier"},
            timeout_ms=2500,
        )
        flow.add(
            f"py{b}",
            "python",
            function="flowbuilder.examples:lookup_customer",
            outcomes=["known", "unknown"],
            timeout_ms=2500,
        )
        flow.add(
            f"m{b}",
            "menu",
            prompt=f"Tier {{tier{b}}}: press 1 to go on, 2 to hear this again.",
            options=[{"outcome": "go", "digits": "1"}, {"outcome": "again", "one_of": ["2", "*"]}],
        )
    flow.add("bye", "play", prompt="Goodbye.")
    flow.add("end", "hangup")
    for b in range(blocks):
        nxt = f"g{b + 1}" if b + 1 < blocks else "bye"
        flow.connect(f"g{b}", f"br{b}", "done").connect(f"g{b}", f"br{b}", "timeout")
        flow.connect(f"br{b}", f"s{b}", "vip").connect(f"br{b}", f"j{b}", "else")
        flow.connect(f"s{b}", f"j{b}").connect(f"j{b}", f"h{b}")
        flow.connect(f"h{b}", f"py{b}", "success")
        for outcome in ("failed", "timeout"):
            flow.connect(f"h{b}", f"m{b}", outcome)
        for outcome in ("known", "unknown", "error", "timeout"):
            flow.connect(f"py{b}", f"m{b}", outcome)
        flow.connect(f"m{b}", nxt, "go").connect(f"m{b}", f"j{b}", "again")
        flow.connect(f"m{b}", "bye", "invalid").connect(f"m{b}", "bye", "timeout")
    flow.connect("bye", "end")
    return flow


def _growth(make: Any, sizes: list[int], reps: int) -> tuple[float, dict[str, dict[str, float]]]:
    """validate + compile times of *make*(n) flows, and the slope of log(time) on log(nodes)."""
    timings: dict[str, dict[str, float]] = {}
    xs, ys = [], []
    for n in sizes:
        flow = make(n)
        assert not [i for i in validate(flow) if i.severity == "error"]
        best_validate = best_compile = math.inf
        for _ in range(reps):
            start = time.perf_counter()
            validate(flow)
            mid = time.perf_counter()
            compile(flow)
            end = time.perf_counter()
            best_validate = min(best_validate, mid - start)
            best_compile = min(best_compile, end - mid)
        timings[str(len(flow))] = {
            "validate_s": round(best_validate, 5),
            "compile_s": round(best_compile, 5),  # compile() validates too
        }
        xs.append(math.log(len(flow)))
        ys.append(math.log(best_validate + best_compile))
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return round(slope, 3), timings


def compile_growth(sizes: list[int], reps: int) -> dict[str, Any]:
    slope, timings = _growth(generated_flow, sizes, reps)
    lint_slope, lint_timings = _growth(lint_flow, sizes, reps)
    return {
        "compile_growth_exponent": slope,
        "compile_timings": timings,
        "lint_growth_exponent": lint_slope,
        "lint_timings": lint_timings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the script runs")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("FLOWBUILDER_BENCH_QUICK") == "1"
    started = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "engine", "quick": quick}
    result |= step_ratio(reps=5 if quick else 41, inner=20 if quick else 400)
    result |= compile_growth([20, 60, 180] if quick else [100, 1_000, 10_000], 1 if quick else 3)
    result["targets"] = {
        "step_vs_json_ratio": 3.0,
        "compile_growth_exponent": 1.2,
        "lint_growth_exponent": 1.2,
    }
    result["python"] = sys.version.split()[0]
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
