"""A python node cannot stop or stall the callback server, over real HTTP on loopback.

Whatever a function raises (SystemExit from an argparse helper, KeyboardInterrupt,
GeneratorExit) is its node's ``error`` outcome; a slow function fills its own lane of threads and
further calls to it are refused as busy, while other functions keep answering.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbuilder import effect_runner
from flowbuilder.flow import Flow
from flowbuilder.phone import CallSetup, SimulatedCall
from flowbuilder.server import serve

SLOW_APP, FAST_APP = "5A5B5C5D", "4346423A"
_CALLIDS = itertools.count(991_000)
FUNCTIONS = """
import threading

RELEASE = threading.Event()


def exits(*, facts, variables):
    raise SystemExit(2)  # what argparse does on a bad argument


def interrupts(*, facts, variables):
    raise KeyboardInterrupt


def generator_exit(*, facts, variables):
    raise GeneratorExit("closed")


def base_exception(*, facts, variables):
    raise BaseException("anything at all")


def waits(*, facts, variables):
    RELEASE.wait(10)
    return "vip"


def fast(*, facts, variables):
    return {"outcome": "vip", "variables": {"name": "Ada"}}
"""


@pytest.fixture
def functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"fb_isolation_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}.py").write_text(FUNCTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    module = sys.modules.pop(name, None)
    if module is not None:
        module.RELEASE.set()  # nothing keeps waiting after the test


def first_post(app: str) -> dict[str, Any]:
    setup = CallSetup(app=app, callid=next(_CALLIDS), number="+33900000000", cli_number="+336")
    return SimulatedCall(setup).start().callback.to_json()


def said(answer: dict[str, Any]) -> str:
    assert answer["command"] == "play", answer
    return str(answer["params"]["media_id"]).split("|", 2)[2]


def python_flow(function: str, timeout_ms: int = 1000) -> Flow:
    return (
        Flow("py")
        .add("ask", "python", function=function, outcomes=["vip"], timeout_ms=timeout_ms)
        .add("vip", "play", prompt="Welcome back")
        .add("oops", "play", prompt="Error: {python_error}")
        .add("late", "play", prompt="Too slow")
        .add("end", "hangup")
        .connect("ask", "vip", "vip")
        .connect("ask", "oops", "error")
        .connect("ask", "late", "timeout")
        .connect("vip", "end")
        .connect("oops", "end")
        .connect("late", "end")
    )


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("exits", "SystemExit: 2"),
        ("interrupts", "KeyboardInterrupt"),
        ("generator_exit", "GeneratorExit: closed"),
        ("base_exception", "BaseException: anything at all"),
    ],
)
def test_base_exceptions_from_a_function_take_the_error_outcome(
    functions: str, function: str, reason: str
) -> None:
    target = f"{functions}:{function}"
    with serve(python_flow(target), name="test-base-exc") as handle, httpx.Client(timeout=10) as c:
        answer = c.post(handle.url, json=first_post(FAST_APP)).json()
        assert said(answer) == f"Error: {target}: {reason}"
        # the server is still there, and answers the next call the same way
        assert handle.running
        again = c.post(handle.url, json=first_post(FAST_APP))
        assert again.status_code == 200
        assert said(again.json()) == f"Error: {target}: {reason}"


def test_a_slow_function_fills_its_own_lane_and_fast_ones_keep_answering(functions: str) -> None:
    slow, fast = f"{functions}:waits", f"{functions}:fast"
    flows = {SLOW_APP: python_flow(slow, timeout_ms=3000), FAST_APP: python_flow(fast)}
    calls = effect_runner.MAX_PER_FUNCTION + 2
    with (
        serve(flows, name="test-lanes") as handle,
        httpx.Client(timeout=10, limits=httpx.Limits(max_connections=40)) as c,
        ThreadPoolExecutor(calls) as callers,
    ):
        pending = [
            callers.submit(lambda: c.post(handle.url, json=first_post(SLOW_APP)).json())
            for _ in range(calls)
        ]
        deadline = time.monotonic() + 10
        while effect_runner.LANES.running(slow) < effect_runner.MAX_PER_FUNCTION:
            assert time.monotonic() < deadline, "the slow calls did not start"
            time.sleep(0.01)
        # the lane of the slow function is full: an unrelated function answers at once
        for _ in range(5):
            answer = c.post(handle.url, json=first_post(FAST_APP)).json()
            assert said(answer) == "Welcome back"
        sys.modules[functions].RELEASE.set()
        heard = sorted(said(f.result(timeout=15)) for f in pending)
    busy = [h for h in heard if h.startswith("Error: ")]
    assert len(busy) == calls - effect_runner.MAX_PER_FUNCTION
    assert all(
        f"busy: {slow} is already running {effect_runner.MAX_PER_FUNCTION} calls" in h for h in busy
    )
    assert heard.count("Welcome back") == effect_runner.MAX_PER_FUNCTION


def test_a_lane_slot_is_freed_when_the_function_returns_not_when_the_call_gives_up(
    functions: str,
) -> None:
    slow = f"{functions}:waits"
    flow = python_flow(slow, timeout_ms=200)
    with serve(flow, name="test-lane-free") as handle, httpx.Client(timeout=10) as c:
        answer = c.post(handle.url, json=first_post(FAST_APP)).json()
        assert said(answer) == "Too slow"
        assert effect_runner.LANES.running(slow) == 1  # still running in its thread
        sys.modules[functions].RELEASE.set()
        deadline = time.monotonic() + 5
        while effect_runner.LANES.running(slow):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert said(c.post(handle.url, json=first_post(FAST_APP)).json()) == "Welcome back"


def test_the_in_process_runner_contains_them_too(functions: str) -> None:
    from flowbuilder.effects import PythonCall

    result = effect_runner.perform(PythonCall(f"{functions}:exits", {}, {}, 1000))

    assert result.error == "SystemExit: 2"
    assert threading.main_thread().is_alive()
