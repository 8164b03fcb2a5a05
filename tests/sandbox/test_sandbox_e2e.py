"""End to end: the sandbox drives the real callback server (``flowbuilder.server.serve``) over
HTTP, with the app created and the DID assigned through the client, as with CALLR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowbuilder import Flow, Sandbox, Script, serve
from flowbuilder.examples import support_line
from flowbuilder.server import ServerHandle
from flowbuilder.simulate import simulate

LOGIN, PASSWORD = "callr", "cb-e2e-secret"


@pytest.fixture
def server() -> Iterator[ServerHandle]:
    with serve(support_line(), login=LOGIN, password=PASSWORD, name="sandbox-e2e") as handle:
        yield handle


def wire_up(sb: Sandbox, url: str, *, password: str = PASSWORD) -> tuple[str, str]:
    """Create the app and assign a DID through the JSON-RPC client: (app hash, DID number)."""
    client = sb.client()
    app = client.apps.create("Support line", url=url, login=LOGIN, password=password)
    did = client.apps.get_dids(only_available=True)[0]
    assert client.apps.assign_did(app, did)
    return app.hash, did.intl_number


@pytest.mark.parametrize(
    "script",
    [
        Script(presses=["1"]),
        Script(presses=["2"]),
        Script(presses=["0"], dial=["BUSY"]),
        Script(presses=["7", "9", "5"]),
        Script(presses=[], hangup_after=2),
    ],
    ids=["sales", "support", "operator-busy", "wrong-keys", "hangs-up"],
)
def test_inbound_calls_follow_the_support_line(
    sandbox: Sandbox, server: ServerHandle, script: Script
) -> None:
    _, number = wire_up(sandbox, server.url)
    stop_following = sandbox.follow(server)
    try:
        transcript = sandbox.call_in(number, "+33639980001", script)
    finally:
        stop_following()
    expected = simulate(support_line(), script, caller="+33639980001", number=number)
    assert transcript.heard == expected.heard
    assert transcript.pressed == expected.pressed
    assert transcript.path == expected.path
    assert (transcript.status, transcript.reason) == (expected.status, expected.reason)
    events = server.events.for_call(sandbox.calls[-1].callid)
    assert len(events) == len(transcript.exchanges)
    assert all(e.status == 200 and e.error is None for e in events)


def test_outbound_calls(sandbox: Sandbox, server: ServerHandle) -> None:
    app, _ = wire_up(sandbox, server.url)
    client = sandbox.client()
    sandbox.set_callee("+447890000001", Script(answer="busy"))
    sandbox.set_callee("+447890000002", Script(answer="no_answer", answer_after_s=60))
    sandbox.set_callee("+447890000003", Script(presses=["0"], dial=["NOANSWER"]))
    sandbox.follow(server)
    busy = client.calls.realtime(app, "+447890000001")
    silent = client.calls.realtime(app, "+447890000002", 25)
    answered = client.calls.realtime(app, "+447890000003", cdr_field="42")

    assert sandbox.wait_for(busy).status == "busy"
    [event] = server.events.for_call(sandbox.call(busy).callid)
    assert (event.call_status, event.status, event.answered) == ("BUSY", 200, None)

    assert sandbox.wait_for(silent).status == "no_answer"
    assert sandbox.wait_for(silent).duration_s == 25.0

    transcript = sandbox.wait_for(answered)
    assert transcript.status == "completed"
    assert transcript.path == [
        "welcome",
        "main_menu",
        "operator",
        "operator_busy",
        "support",
        "thanks",
        "end",
    ]
    assert transcript.dialed == [("+33198765432", "NOANSWER")]
    first = sandbox.call(answered).exchanges[0].request
    assert (first["request_hash"], first["cdr_field"]) == (answered, "42")


def test_wrong_app_password_fails_with_the_servers_401(
    sandbox: Sandbox, server: ServerHandle
) -> None:
    _, number = wire_up(sandbox, server.url, password="not-the-one")
    transcript = sandbox.call_in(number, "+33639980001", ["1"])
    assert (transcript.status, transcript.reason) == ("failed", "the server answered HTTP 401")
    assert [e.http_status for e in sandbox.calls[-1].exchanges] == [401]
    assert server.events.tail(1)[0].status == 401


def test_a_server_answering_late_is_hung_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "functions"))
    flow = (
        Flow("slow_lookup")
        .add("lookup", "python", function="sandbox_slow:slow_lookup", timeout_ms=2000)
        .add("hello", "play", prompt="Hello")
        .add("bye", "hangup")
        .connect("lookup", "hello", "next")
        .connect("hello", "bye")
    )
    with (
        serve(flow, login=LOGIN, password=PASSWORD, name="sandbox-e2e-late") as server,
        Sandbox(answer_timeout_s=0.3) as sb,
    ):
        _, number = wire_up(sb, server.url)
        transcript = sb.call_in(number, "+33639980001")
        assert (transcript.status, transcript.reason) == ("failed", "no answer within 0.3 s")
        assert transcript.heard == []
    # with CALLR's 5 s window the same server is in time
    with (
        serve(flow, login=LOGIN, password=PASSWORD, name="sandbox-e2e-late") as server,
        Sandbox() as sb,
    ):
        _, number = wire_up(sb, server.url)
        transcript = sb.call_in(number, "+33639980001")
        assert (transcript.status, transcript.heard) == ("completed", ["Hello"])
