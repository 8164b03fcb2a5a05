"""Simulated calls driven over real HTTP against a callback app: the REAL-TIME protocol as CALLR
speaks it, failures hung up with a reason, transcripts, clocks, hangup and break."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from flowbuilder import Sandbox, Script
from flowbuilder.callr import commands, wire
from flowbuilder.examples import support_line
from flowbuilder.simulate import simulate

from .conftest import CallbackApp, Reply


def setup_app(
    sb: Sandbox, cb: CallbackApp, *, login: str = "", password: str = ""
) -> tuple[str, str]:
    """(app hash, DID number) with the DID assigned to an app posting to *cb*."""
    client = sb.client()
    app = client.apps.create("Test", url=cb.url, login=login, password=password)
    did = client.apps.get_dids(only_available=True)[0]
    client.apps.assign_did(app, did)
    return app.hash, did.intl_number


def answer(command: wire.Command, command_id: int = 1, variables: Any = None) -> Reply:
    body = wire.render_answer(wire.Answer(command, command_id, variables or {}))
    return Reply(200, body)


def test_inbound_call_speaks_the_protocol_to_the_letter(
    sandbox: Sandbox, callback_app: CallbackApp
) -> None:
    app, number = setup_app(sandbox, callback_app)
    transcript = sandbox.call_in(number, "+33639980001", Script(presses=["2"]))
    expected = simulate(support_line(), ["2"])
    assert transcript.heard == expected.heard
    assert transcript.status == expected.status == "completed"
    assert transcript.recordings
    seen = callback_app.requests
    assert len(seen) == len(transcript.exchanges)
    for request in seen:
        assert request.headers["Content-Type"] == "application/json"
        assert "Authorization" not in request.headers  # the app has no login/password
        assert tuple(request.body) == wire.CALLBACK_FIELDS  # all 14, in CALLR's order
        assert request.body["app"] == app
        assert request.body["number"] == number
        assert request.body["cli_number"] == "+33639980001"
        assert request.body["request_hash"] is None
    first = seen[0].body
    assert (first["command"], first["command_id"], first["call_status"]) == ("", 0, "UP")
    # each POST reports the command answered before it and echoes its variables untouched
    exchanges = transcript.exchanges
    for before, after in itertools.pairwise(exchanges):
        assert after["request"]["command"] == before["answer"]["command"]
        assert after["request"]["command_id"] == before["answer"]["command_id"]
        assert after["request"]["variables"] == before["answer"]["variables"]
    assert seen[-1].body["call_status"] == "HANGUP"
    call = sandbox.calls[-1]
    assert [e.http_status for e in call.exchanges] == [200] * len(seen)
    assert all(e.latency_ms is not None and e.latency_ms >= 0 for e in call.exchanges)


def test_basic_auth_when_the_app_has_credentials(sandbox: Sandbox) -> None:
    cb = CallbackApp(auth=("callr", "cb-secret"))
    try:
        _, number = setup_app(sandbox, cb, login="callr", password="cb-secret")
        transcript = sandbox.call_in(number, "+33639980001", ["1"])
        assert transcript.status == "completed"
        expected = "Basic " + base64.b64encode(b"callr:cb-secret").decode()
        assert {r.headers["Authorization"] for r in cb.requests} == {expected}
        assert cb.refused == 0
    finally:
        cb.stop()


def test_wrong_app_credentials_fail_the_call_with_the_401(sandbox: Sandbox) -> None:
    cb = CallbackApp(auth=("callr", "right"))
    try:
        _, number = setup_app(sandbox, cb, login="callr", password="wrong")
        transcript = sandbox.call_in(number, "+33639980001", ["1"])
        assert (transcript.status, transcript.reason) == ("failed", "the server answered HTTP 401")
        assert cb.refused == 1  # one POST, then CALLR gives up
    finally:
        cb.stop()


def test_outbound_busy_is_one_post(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    app, _ = setup_app(sandbox, callback_app)
    sandbox.set_callee("+447890123456", Script(answer="busy"))
    client = sandbox.client()
    request_hash = client.calls.realtime(app, "+447890123456", cdr_field="42")
    transcript = sandbox.wait_for(request_hash)
    assert transcript.status == "busy"
    [post] = callback_app.requests
    assert post.body["call_status"] == "BUSY"
    assert post.body["request_hash"] == request_hash
    assert (post.body["number"], post.body["cdr_field"]) == ("+447890123456", "42")
    assert sandbox.transcript(request_hash) is transcript
    assert sandbox.transcript(sandbox.call(request_hash).callid) is transcript


def test_outbound_rings_out_after_the_target_timeout(
    sandbox: Sandbox, callback_app: CallbackApp
) -> None:
    app, _ = setup_app(sandbox, callback_app)
    sandbox.set_callee("+447890123456", Script(answer_after_s=45))  # answers too late
    request_hash = sandbox.client().calls.realtime(app, "+447890123456", 20)
    transcript = sandbox.wait_for(request_hash)
    assert transcript.status == "no_answer"
    assert transcript.duration_s == 20.0  # the ring timeout, on the simulated clock
    assert [r.body["call_status"] for r in callback_app.requests] == ["NOANSWER"]


def test_outbound_answered_with_a_cli(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    app, number = setup_app(sandbox, callback_app)
    sandbox.set_callee("+447890123456", Script(presses=["1"], dial=["BUSY"]))
    request_hash = sandbox.client().calls.realtime(app, "+447890123456", cli=number)
    transcript = sandbox.wait_for(request_hash)
    first = callback_app.requests[0].body
    assert (first["call_status"], first["cli_number"], first["request_hash"]) == (
        "UP",
        number,
        request_hash,
    )
    assert transcript.direction == "outbound"
    assert transcript.dialed == [("+33123456789", "BUSY")]
    assert transcript.status == "completed"


def test_caller_hangs_up_during_a_command(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    _, number = setup_app(sandbox, callback_app)
    transcript = sandbox.call_in(number, "+33639980001", Script(hangup_after=2))
    last = callback_app.requests[-1].body
    assert last["call_status"] == "HANGUP"
    assert last["command"] == "read"  # the menu was running when the caller left
    assert last["command_result"] == ""
    assert transcript.status == "caller hung up"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(500, b'{"error": "boom"}'), "the server answered HTTP 500"),
        (Reply(200, b"<html>hello</html>"), "malformed answer: answer is not valid JSON"),
        (Reply(200, b'{"command_id": 1}'), "malformed answer: answer field 'command'"),
        (Reply(200, b'{"command": "play", "command_id": 1, "params": []}'), "'params' must be"),
        (Reply(200, b""), "empty answer to a live call"),
    ],
)
def test_bad_answers_hang_up_with_a_reason(
    sandbox: Sandbox, callback_app: CallbackApp, reply: Reply, reason: str
) -> None:
    _, number = setup_app(sandbox, callback_app)
    callback_app.responder = lambda body: reply
    transcript = sandbox.call_in(number, "+33639980001")
    assert transcript.status == "failed"
    assert reason in transcript.reason
    assert len(callback_app.requests) == 1  # nothing after the failure


def test_a_late_answer_hangs_up() -> None:
    cb = CallbackApp()
    cb.responder = lambda body: Reply(200, b"", delay_s=1.0)
    try:
        with Sandbox(answer_timeout_s=0.2) as sb:
            _, number = setup_app(sb, cb)
            started = time.monotonic()
            transcript = sb.call_in(number, "+33639980001")
            assert time.monotonic() - started < 1.0
            assert (transcript.status, transcript.reason) == ("failed", "no answer within 0.2 s")
            assert sb.calls[0].exchanges[0].error == "no answer within 0.2 s"
    finally:
        cb.stop()


def test_unreachable_url(sandbox: Sandbox) -> None:
    client = sandbox.client()
    app = client.apps.create("dead", url="http://127.0.0.1:9/nothing-here")
    did = client.apps.get_dids()[0]
    client.apps.assign_did(app, did)
    transcript = sandbox.call_in(did.hash, "+33639980001")
    assert transcript.status == "failed"
    assert transcript.reason.startswith("the callback POST failed: ConnectError")


def test_the_answer_to_a_final_post_is_ignored(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    app, _ = setup_app(sandbox, callback_app)
    callback_app.responder = lambda body: Reply(500, b"oops")
    sandbox.set_callee("+447890123456", {"answer": "congestion"})
    transcript = sandbox.wait_for(sandbox.client().calls.realtime(app, "+447890123456"))
    assert transcript.status == "congestion"
    assert len(callback_app.requests) == 1


def test_transcript_json(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    _, number = setup_app(sandbox, callback_app)
    call = sandbox.start_call_in(number, "+33639980001", ["9", "1"])
    transcript = call.result(30)
    data = json.loads(json.dumps(sandbox.calls_json()))
    [one] = data
    assert one["callid"] == call.callid
    assert one["done"] is True
    assert one["transcript"]["heard"] == transcript.heard
    assert one["transcript"]["pressed"] == ["9", "1"]
    assert one["transcript"]["status"] == "completed"
    exchanges = one["exchanges"]
    assert exchanges[0]["request"]["command_id"] == 0
    assert {"sent_at", "t", "http_status", "answer", "latency_ms", "error"} <= set(exchanges[0])
    assert exchanges[0]["sent_at"].endswith("Z")
    assert json.loads(transcript.dumps())["status"] == "completed"
    assert "completed" in repr(call)


def test_lookup_errors(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    with pytest.raises(LookupError, match="no DID"):
        sandbox.call_in("+15550000000", "+33639980001")
    did = sandbox.dids[0]
    with pytest.raises(LookupError, match="not assigned"):
        sandbox.call_in(did, "+33639980001")
    with pytest.raises(LookupError, match="no call"):
        sandbox.wait_for("NOPE1234")
    with pytest.raises(ValueError, match="E164"):
        sandbox.set_callee("0612345678", Script())
    _, number = setup_app(sandbox, callback_app)
    with pytest.raises(ValueError, match="from_number"):
        sandbox.call_in(number, "not a number")


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def waiting_app(seconds: int) -> CallbackApp:
    """An app that answers the first POST with ``wait`` and hangs up after it."""
    cb = CallbackApp()

    def reply(body: dict[str, Any]) -> Reply:
        if body["call_status"] != "UP":
            return Reply(200, b"")
        if body["command"] == "":
            return answer(commands.build("wait", seconds=seconds), 1, {"step": "waiting"})
        return answer(commands.HANGUP, body["command_id"] + 1, body["variables"])

    cb.responder = reply
    return cb


def test_simulated_clock_skips_the_waits(sandbox: Sandbox) -> None:
    cb = waiting_app(30)
    try:
        _, number = setup_app(sandbox, cb)
        started = time.monotonic()
        transcript = sandbox.call_in(number, "+33639980001")
        assert time.monotonic() - started < 2
        assert transcript.duration_s == 30.0
        assert cb.requests[1].body["variables"] == {"step": "waiting"}
    finally:
        cb.stop()


def test_real_clock_waits_and_break_cuts_it_short() -> None:
    cb = waiting_app(1)
    try:
        with Sandbox(clock="real") as sb:
            _, number = setup_app(sb, cb)
            started = time.monotonic()
            assert sb.call_in(number, "+33639980001").status == "completed"
            assert time.monotonic() - started >= 1.0
            cb.requests.clear()
            cb.responder = waiting_app(30).responder
            call = sb.start_call_in(number, "+33639980001")
            wait_until(lambda: call.pausing)
            client = sb.client()
            assert client.calls.realtime_break(call.callid) is True
            assert call.result(5).status == "completed"
            assert cb.requests[1].body["command"] == "wait"
            assert client.calls.realtime_break(call.callid) is False  # over
    finally:
        cb.stop()


def test_calls_hangup_ends_a_live_call() -> None:
    cb = waiting_app(30)
    try:
        with Sandbox(clock="real") as sb:
            app, _ = setup_app(sb, cb)
            sb.set_callee("+447890123456", Script(answer_after_s=0.1))
            client = sb.client()
            request_hash = client.calls.realtime(app, "+447890123456")
            call = sb.call(request_hash)
            wait_until(lambda: call.pausing and len(cb.requests) == 1)
            assert client.calls.hangup(call.callid) is True
            transcript = call.result(5)
            assert (transcript.status, transcript.reason) == ("hung up", "hung up by calls.hangup")
            last = cb.requests[-1].body
            assert (last["call_status"], last["command"], last["command_id"]) == (
                "HANGUP",
                "wait",
                1,
            )
            assert last["variables"] == {"step": "waiting"}
            assert transcript.duration_s < 30
            assert client.calls.hangup(call.callid) is False
    finally:
        cb.stop()


def test_stopping_the_sandbox_ends_calls_in_progress() -> None:
    cb = waiting_app(30)
    try:
        sb = Sandbox(clock="real").start()
        _, number = setup_app(sb, cb)
        call = sb.start_call_in(number, "+33639980001")
        wait_until(lambda: call.pausing)
        sb.stop()
        assert call.result(1).status == "failed"
        assert call.transcript.reason == "the sandbox stopped during the call"
    finally:
        cb.stop()
