"""``start_call_recording``: the announcement on the wire, then ``next`` at once."""

from __future__ import annotations

import pytest

from flowbuilder import Script, simulate


def test_default_announcement(around, sent, tts) -> None:
    t = simulate(around("start_call_recording"))

    assert sent(t)[0] == ("start_call_recording", {"announce": tts("This call is recorded.")})
    assert t.heard == ["This call is recorded.", "After the node."]
    assert t.path == ["n", "after", "bye"]


@pytest.mark.parametrize(("announce", "on_wire"), [("", 0), (0, 0), (4711, 4711)])
def test_no_announcement_or_a_media_id(around, sent, announce: str | int, on_wire: int) -> None:
    t = simulate(around("start_call_recording", announce=announce))

    assert sent(t)[0] == ("start_call_recording", {"announce": on_wire})


def test_voice_and_variables(around, sent, tts) -> None:
    flow = around(
        "start_call_recording", announce="Recording for {caller}.", voice="TTS_FR-FR_AUDREY"
    )

    t = simulate(flow, caller="+33611111111")

    announce = tts("Recording for +33611111111.", "TTS_FR-FR_AUDREY")
    assert sent(t)[0] == ("start_call_recording", {"announce": announce})


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("start_call_recording"))
    call.start()

    reply = call.post(error="INVALID_PARAM_FORMAT [params.announce]")

    assert reply.trace.error == (
        "start_call_recording failed: INVALID_PARAM_FORMAT [params.announce]"
    )
    assert reply.trace.path == ("oops",)


def test_caller_hangs_up_during_the_announcement(around) -> None:
    t = simulate(around("start_call_recording"), Script(hangup_after=1))

    assert (t.status, t.path) == ("caller hung up", ["n"])
