"""What the sandbox added to :mod:`flowbuilder.phone` (pure, no I/O): an outbound callee rings
out after the target's timeout, and ``interrupt()`` turns the pending POST into a HANGUP."""

from __future__ import annotations

import pytest

from flowbuilder.callr import commands, wire
from flowbuilder.phone import CallSetup, Script, SimulatedCall


def outbound(script: Script, ring_timeout_s: float | None) -> SimulatedCall:
    setup = CallSetup(
        app="4346423A",
        callid=7,
        number="+447890123456",
        request_hash="4260XMAQ",
        ring_timeout_s=ring_timeout_s,
    )
    return SimulatedCall(setup, script)


def test_the_callee_answers_inside_the_ring_timeout() -> None:
    first = outbound(Script(answer_after_s=4), ring_timeout_s=30).start()
    assert (first.callback.call_status, first.delay_s) == ("UP", 4)


def test_a_late_callee_rings_out_at_the_timeout() -> None:
    call = outbound(Script(answer_after_s=45), ring_timeout_s=20)
    first = call.start()
    assert (first.callback.call_status, first.delay_s, first.final) == ("NOANSWER", 20, True)
    assert call.transcript.status == "no_answer"
    assert call.transcript.events[0].text == "callee: no_answer"


def test_no_answer_rings_for_the_target_timeout_not_the_script() -> None:
    first = outbound(Script(answer="no_answer", answer_after_s=2), ring_timeout_s=25).start()
    assert first.delay_s == 25
    # without a ring timeout (simulate()) nothing changes
    assert outbound(Script(answer="no_answer", answer_after_s=2), None).start().delay_s == 2
    assert outbound(Script(answer="busy"), 25).start().callback.call_status == "BUSY"


def test_interrupt_replaces_the_pending_post_with_a_hangup() -> None:
    call = SimulatedCall(CallSetup(app="4346423A", callid=8, number="+33199000001"), Script())
    call.start()
    pending = call.on_answer(
        wire.Answer(
            commands.build("play", media_id="TTS|V|A long message that takes a while to say"),
            1,
            {"k": "v"},
        )
    )
    assert pending is not None
    assert pending.delay_s > 2
    hangup = call.interrupt(pending, 1.0, "hung up by calls.hangup")
    cb = hangup.callback
    assert (cb.call_status, cb.command, cb.command_id, cb.command_result) == (
        "HANGUP",
        "play",
        1,
        "",
    )
    assert cb.variables == {"k": "v"}
    assert hangup.final
    assert (call.transcript.status, call.transcript.reason) == (
        "hung up",
        "hung up by calls.hangup",
    )
    assert call.clock == 1.0
    posts = [e for e in call.transcript.events if e.kind == "post"]
    assert [p.data["body"]["call_status"] for p in posts] == ["UP", "HANGUP"]
    assert call.on_answer(None) is None  # over
    assert call.interrupt(hangup, 0.0, "again") is hangup  # nothing left to interrupt


def test_dial_statuses_take_the_spelling_answer_uses_too() -> None:
    assert Script(dial=["no_answer", "busy", "answer", "NOANSWER"]).dial == [
        "NOANSWER",
        "BUSY",
        "ANSWER",
        "NOANSWER",
    ]
    with pytest.raises(ValueError, match=r"dial\[1\] must be one of .*got 'engaged'"):
        Script(dial=["busy", "engaged"])


def test_presses_typed_as_numbers_are_the_digits_they_spell() -> None:
    assert Script.from_data({"presses": [1, "2", None, 42]}).presses == ["1", "2", None, "42"]
    with pytest.raises(ValueError, match=r'presses\[0\] must be digits as text, like "1", got 1.5'):
        Script(presses=[1.5])  # type: ignore[list-item]
