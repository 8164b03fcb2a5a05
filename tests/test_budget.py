"""One answer budget everywhere (issue #15, item 3): the effects of one callback share the
server's answer budget in ``simulate()``, scenario tests and the callback server alike, through
the same code, and a timeout says how long the node was really given."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import flowbuilder as fb
from flowbuilder.phone import CallSetup, SimulatedCall

SLOW = """
import time


def lookup(*, facts, variables):
    time.sleep(1.2)
    return "next"


def slower(*, facts, variables):
    time.sleep(2.2)
    return "next"
"""
_CALLIDS = itertools.count(660_900)


@pytest.fixture
def slow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "budget_functions.py").write_text(SLOW)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "budget_functions", raising=False)
    return "budget_functions:lookup"


def two_lookups(target: str, timeout_ms: int = 1500) -> fb.Flow:
    """Two functions chained in one callback (1.2 s each, allowed 1.5 s: 2.4 s in all, over a
    2 s answer budget), so the second is cut short."""
    return (
        fb.Flow("chained")
        .add("first", "python", function=target, timeout_ms=timeout_ms)
        .add("second", "python", function=target, timeout_ms=timeout_ms)
        .add("done", "play", prompt="Both lookups answered.")
        .add("late", "play", prompt="The second lookup timed out.")
        .add("end", "hangup")
        .connect("first", "second", "next")
        .connect("second", "done", "next")
        .connect("second", "late", "timeout")
        .connect("done", "end")
        .connect("late", "end")
    )


def test_simulate_applies_the_servers_budget(slow_module: str) -> None:
    t = fb.simulate(two_lookups(slow_module), answer_budget_ms=2000)
    assert t.heard == ["The second lookup timed out."]
    errors = " ".join(e.text for e in t.events if e.kind in ("error", "warning"))
    assert "the callback's 2000 ms answer budget was nearly spent (the node allows 1500 ms)" in (
        errors
    )
    # a budget large enough for both: both answer
    assert fb.simulate(two_lookups(slow_module), answer_budget_ms=4000).heard == [
        "Both lookups answered."
    ]


def test_the_server_takes_the_same_path_with_the_same_words(slow_module: str) -> None:
    setup = CallSetup(app="4346423A", callid=next(_CALLIDS), number="+33900000000")
    body = SimulatedCall(setup).start().callback.to_json()
    with fb.serve(two_lookups(slow_module), name="budget", answer_budget_ms=2000) as server:
        answer = httpx.post(server.url, json=body, timeout=10).json()
        event = server.events.tail(1)[0]
    assert answer["params"]["media_id"].endswith("The second lookup timed out.")
    assert event.warning is not None
    assert "answer budget was nearly spent (the node allows 1500 ms)" in event.warning


def test_a_scenario_takes_the_timeout_path_a_live_call_would(slow_module: str, tmp_path: Path):
    """Two 2.2 s lookups (each allowed 2.5 s) pass one by one, but not in one callback under the
    server's default 4 s budget: `flowbuilder test` pins the path production takes."""
    slower = slow_module.replace(":lookup", ":slower")
    flow_path = two_lookups(slower, timeout_ms=2500).save(tmp_path / "chained.json")
    scenarios = tmp_path / "chained.scenarios.json"
    scenarios.write_text(
        '[{"name": "late", "expect": {"heard": ["The second lookup timed out."]}}]'
    )
    allow = ("--allow", "budget_functions")
    done = subprocess.run(
        [sys.executable, "-m", "flowbuilder", "test", str(flow_path), str(scenarios), *allow],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "1 passed" in done.stdout


def test_an_http_timeout_cut_by_the_budget_says_so() -> None:
    from flowbuilder.effects import EffectResult

    cut = EffectResult(timed_out=True, limit_ms=1492, budget_ms=4000)
    assert cut.given_ms(3000) == 1492
    assert cut.budget_note(3000) == (
        ": the callback's 4000 ms answer budget was nearly spent (the node allows 3000 ms)"
    )
    assert EffectResult(timed_out=True, limit_ms=3000, budget_ms=4000).budget_note(3000) == ""
