"""``serve(flow, clock=...)``: the time the served flow sees, for tests of business hours; the
wall clock by default, and a clock that fails never costs a live call its answer."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from flowbuilder import Flow, serve
from flowbuilder.callr import wire
from flowbuilder.clock import instant
from flowbuilder.phone import CallSetup, SimulatedCall

_CALLIDS = itertools.count(7_000_001)
JSON = {"Content-Type": "application/json"}


def hours() -> Flow:
    flow = Flow("clock_test", timezone="Europe/Paris")
    flow.add("h", "business_hours", hours={"mon-fri": ["09:00-18:00"]})
    flow.add("open", "play", prompt="open").add("closed", "play", prompt="closed")
    flow.add("bye", "hangup").connect("open", "bye").connect("closed", "bye")
    return flow.connect("h", "open", "open").connect("h", "closed", "closed")


def first_prompt(url: str) -> str:
    """What the flow answers to the first POST of a new call."""
    setup = CallSetup(app="4346423A", callid=next(_CALLIDS), number="+33900000000")
    post = SimulatedCall(setup).start()
    response = httpx.post(
        url,
        content=wire.render_callback(post.callback),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    media = wire.parse_answer(response.content).command.params["media_id"]
    return str(media).rsplit("|", 1)[-1]


def test_the_served_flow_sees_the_clock_it_is_given() -> None:
    now = [instant("2026-03-27T10:00[Europe/Paris]")]
    with serve(hours(), clock=lambda: now[0], name="clock-given") as server:
        assert first_prompt(server.url) == "open"
        now[0] = instant("2026-03-28T10:00[Europe/Paris]")  # a Saturday
        assert first_prompt(server.url) == "closed"
        # events and logs keep the wall clock
        assert abs(server.events.tail(1)[0].time - time.time()) < 60


def paris_now() -> str:
    paris = datetime.now(ZoneInfo("Europe/Paris"))
    return "open" if paris.weekday() < 5 and 9 <= paris.hour < 18 else "closed"


def test_without_a_clock_it_is_the_wall_clock() -> None:
    with serve(hours(), name="clock-wall") as server:
        before = paris_now()  # the answer depends on when the test runs
        answer = first_prompt(server.url)
        after = paris_now()
    assert answer in (before, after)


def test_a_failing_clock_falls_back_to_the_wall_clock(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> float:
        raise RuntimeError("no time")

    with caplog.at_level(logging.ERROR), serve(hours(), clock=broken, name="clock-bad") as server:
        assert first_prompt(server.url) in ("open", "closed")
    assert "the server's clock failed; using the wall clock" in caplog.text


def test_a_clock_that_is_not_a_function_is_refused() -> None:
    with pytest.raises(ValueError, match="clock must be a function giving epoch seconds"):
        serve(hours(), clock=1767261600.0, name="clock-number")  # type: ignore[arg-type]


def test_with_the_call_clock_each_call_is_at_the_moment_it_says_it_started() -> None:
    from flowbuilder.sandbox import Sandbox

    with (
        Sandbox(start="2026-03-27T10:00[Europe/Paris]") as sb,  # a Friday morning
        serve(hours(), clock="call", name="clock-call") as server,  # no link to the sandbox
    ):
        client = sb.client()
        app = client.apps.create("hours", url=server.url)
        did = client.apps.get_dids(only_available=True)[0]
        client.apps.assign_did(app, did)
        assert sb.call_in(did, "+33639980001", []).heard == ["open"]
        saturday = sb.call_in(did, "+33639980001", [], at="2026-03-28T10:00[Europe/Paris]")
        assert saturday.heard == ["closed"]


def test_flowbuilder_serve_clock_call(tmp_path: Path) -> None:
    hours().save(tmp_path / "hours.json")
    command = [sys.executable, "-m", "flowbuilder", "serve", str(tmp_path / "hours.json")]
    options = ["--port", "0", "--clock", "call", "--quiet"]
    with subprocess.Popen([*command, *options], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = next(line for line in process.stdout if line.startswith("URL for CALLR: "))
            url = line.removeprefix("URL for CALLR: ").strip()
            for started, heard in [
                ("2026-03-27 09:00:00", "open"),
                ("2026-03-28 09:00:00", "closed"),
            ]:
                setup = CallSetup(
                    app="4346423A",
                    callid=next(_CALLIDS),
                    number="+33900000000",
                    date_started=started,
                )
                body = wire.render_callback(SimulatedCall(setup).start().callback)
                answer = httpx.post(url, content=body, headers=JSON, timeout=10)
                media = wire.parse_answer(answer.content).command.params["media_id"]
                assert str(media).endswith(heard), (started, media)
        finally:
            process.terminate()
