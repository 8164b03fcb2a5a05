"""``voicemail``: the prompt plays first, then the message is recorded into a variable."""

from __future__ import annotations

from flowbuilder import Script, simulate
from flowbuilder.callr import commands

PROMPT = "Please leave a message after the tone, then press hash."


def test_prompt_plays_then_the_message_is_recorded(around, sent, tts) -> None:
    flow = around("voicemail", max_duration=90, silence=4, variable="message")
    flow.set_params("after", prompt="Thanks, {message} is saved.")

    t = simulate(flow)

    assert sent(t)[:2] == [
        ("play", {"media_id": tts(PROMPT)}),
        ("record", {"max_duration": 90, "silence": 4}),
    ]
    assert t.heard == [PROMPT, f"Thanks, {t.recordings[0]} is saved."]
    assert [e.kind for e in t.events if e.kind in ("heard", "recorded")][:2] == [
        "heard",
        "recorded",
    ]


def test_no_prompt_records_at_once(around, sent) -> None:
    t = simulate(around("voicemail", prompt=""))

    assert sent(t)[0] == ("record", {"max_duration": 120, "silence": 5})
    assert t.heard == ["After the node."]


def test_prompt_from_the_media_library(around, sent) -> None:
    t = simulate(around("voicemail", prompt=5512))

    assert sent(t)[0] == ("play", {"media_id": 5512})


def test_record_error_takes_the_error_path(around, callr, tts) -> None:
    call = callr(around("voicemail"))
    call.start()
    call.post(commands.DONE)
    assert call.command[0] == "record"

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.silence]")

    assert reply.trace.path == ("oops",)
    assert call.command == ("play", {"media_id": tts("Something went wrong.")})


def test_a_prompt_that_fails_to_play_still_records(around, callr) -> None:
    # a broken greeting must not cost the caller their message
    call = callr(around("voicemail", prompt=999999))
    call.start()

    reply = call.post(error="INVALID_PARAM_FORMAT [params.media_id]")

    assert reply.trace.error is None
    assert call.command[0] == "record"


def test_caller_hangs_up_during_the_prompt(around) -> None:
    t = simulate(around("voicemail"), Script(hangup_after=1))

    assert t.status == "caller hung up"
    assert t.recordings == []
    assert t.path == ["n"]
