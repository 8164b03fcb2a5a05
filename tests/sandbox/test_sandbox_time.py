"""Time in the sandbox: ``Sandbox(start=...)``, ``call_in(at=...)``, ``set_time()`` for
``calls.realtime``, CALLR's ``date_started``, and a served flow whose clock is the sandbox's
(``serve(flow, clock=sb.now)``) seeing each call's own moment over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from flowbuilder import Flow, Sandbox, Script, serve
from flowbuilder.clock import instant
from flowbuilder.server import ServerHandle

FRIDAY_BEFORE_SIX = "2026-03-27T17:59:50+01:00"


def hours_line() -> Flow:
    """A menu that may keep the caller 30 s, then Paris business hours; outbound calls skip the
    menu. Each outcome says its name and when CALLR says the call started."""
    flow = Flow("hours_line", timezone="Europe/Paris")
    flow.add(
        "route",
        "branch",
        conditions=[{"name": "out", "subject": "direction", "op": "equals", "value": "outbound"}],
    )
    flow.add(
        "menu",
        "menu",
        prompt="Press 1.",
        options=[{"outcome": "one", "digits": "1"}],
        timeout_ms=30000,
        max_timeouts=1,
    )
    flow.add(
        "hours",
        "business_hours",
        hours={"mon-fri": ["09:00-18:00"], "sat": ["10:00-13:00"]},
        holidays=[{"date": "05-01", "name": "Labour Day"}],
        variable="reason",
    )
    flow.add("bye", "hangup")
    flow.connect("route", "hours", "out").connect("route", "menu", "else")
    for outcome in ("one", "timeout", "invalid"):
        flow.connect("menu", "hours", outcome)
    for outcome in ("open", "closed", "holiday"):
        flow.add(outcome, "play", prompt="{reason} (call of {date_started})")
        flow.connect("hours", outcome, outcome).connect(outcome, "bye")
    return flow


@pytest.fixture
def line() -> Iterator[tuple[Sandbox, ServerHandle, str, str]]:
    """(sandbox started on a Friday just before six, server on its clock, app hash, DID)."""
    with Sandbox(start=FRIDAY_BEFORE_SIX) as sb:
        server = serve(hours_line(), clock=sb.now, name="sandbox-time")
        try:
            client = sb.client()
            app = client.apps.create("Hours", url=server.url)
            did = client.apps.get_dids(only_available=True)[0]
            client.apps.assign_did(app, did)
            yield sb, server, app.hash, did.intl_number
        finally:
            server.stop()


def test_the_sandbox_starts_where_it_is_told_and_ticks_on() -> None:
    sb = Sandbox(start="2026-03-28T10:00[Europe/Paris]")
    assert abs(sb.now() - instant("2026-03-28T09:00Z")) < 5
    sb.set_time("2030-01-01T00:00Z")
    assert abs(sb.now() - instant("2030-01-01T00:00Z")) < 5
    assert abs(Sandbox().now() - time.time()) < 5  # by default: the wall clock
    with pytest.raises(ValueError, match="has no time zone"):
        Sandbox(start="2026-03-28 10:00")


def test_a_call_at_17_59_50_that_waits_30_s_finds_the_office_closed(
    line: tuple[Sandbox, ServerHandle, str, str],
) -> None:
    sb, _, _, did = line

    quick = sb.call_in(did, "+33639980001", Script(presses=["1"]), at=FRIDAY_BEFORE_SIX)
    slow = sb.call_in(did, "+33639980001", Script(presses=[None]), at=FRIDAY_BEFORE_SIX)

    assert quick.setup.date_started == slow.setup.date_started == "2026-03-27 16:59:50"
    assert quick.heard == ["Press 1.", "open (call of 2026-03-27 16:59:50)"]
    assert slow.heard == ["Press 1.", "closed (call of 2026-03-27 16:59:50)"]
    # the sandbox's time went on with the call: its last POST was sent after six
    assert sb.now() >= instant("2026-03-27T18:00:20+01:00")


def test_calls_start_at_the_sandboxs_time_or_their_own(
    line: tuple[Sandbox, ServerHandle, str, str],
) -> None:
    sb, _, _, did = line

    first = sb.call_in(did, "+33639980001", ["1"])  # the sandbox started at 17:59:50
    saturday = sb.call_in(did, "+33639980001", ["1"], at="2026-03-28T12:00[Europe/Paris]")
    sunday = sb.call_in(did, "+33639980001", ["1"], at="2026-03-29T12:00[Europe/Paris]")
    holiday = sb.call_in(did, "+33639980001", ["1"], at="2026-05-01T10:00+02:00")

    assert first.setup.date_started.startswith("2026-03-27 16:59:5")
    assert first.heard[-1].startswith("open")
    assert saturday.heard[-1] == "open (call of 2026-03-28 11:00:00)"
    assert sunday.heard[-1] == "closed (call of 2026-03-29 10:00:00)"  # summer time by then
    assert holiday.heard[-1] == "Labour Day (call of 2026-05-01 08:00:00)"
    with pytest.raises(ValueError, match="has no time zone"):
        sb.call_in(did, "+33639980001", ["1"], at="2026-05-01 10:00")


def test_outbound_calls_start_at_the_time_the_test_sets(
    line: tuple[Sandbox, ServerHandle, str, str],
) -> None:
    sb, _, app, _ = line
    client = sb.client()
    sb.set_callee("+447890123456", Script(answer_after_s=5))

    sb.set_time("2026-03-28T12:59:57[Europe/Paris]")  # Saturday, three seconds before one
    late = sb.wait_for(client.calls.realtime(app, "+447890123456"))
    sb.set_time("2026-03-28T12:59:50[Europe/Paris]")
    in_time = sb.wait_for(client.calls.realtime(app, "+447890123456"))

    # the callee picks up after 5 s of ringing: the first call is answered at 13:00:02
    assert late.setup.date_started.startswith("2026-03-28 11:59:5")
    assert late.heard == [f"closed (call of {late.setup.date_started})"]
    assert in_time.heard == [f"open (call of {in_time.setup.date_started})"]
