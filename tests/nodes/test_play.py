"""``play``: what the caller hears, what CALLR is sent, errors and hang-ups."""

from __future__ import annotations

import pytest

from flowbuilder import Flow, Script, simulate
from flowbuilder.callr import commands
from flowbuilder.errors import NodeConfigError


def test_caller_hears_the_prompt_with_variables_filled_in(around, sent, tts) -> None:
    t = simulate(around("play", prompt="Hello {caller}, welcome."), caller="+33611111111")

    assert t.heard == ["Hello +33611111111, welcome.", "After the node."]
    assert sent(t)[0] == ("play", {"media_id": tts("Hello +33611111111, welcome.")})
    assert t.path == ["n", "after", "bye"]
    assert t.status == "completed"


def test_voice_node_overrides_flow(sent, tts) -> None:
    flow = Flow("v", voice="TTS_FR-FR_AUDREY")
    flow.add("fr", "play", prompt="Bonjour").add(
        "en", "play", prompt="Hi", voice="TTS_EN-GB_DANIEL"
    )
    flow.add("bye", "hangup").connect("fr", "en").connect("en", "bye")

    commands = sent(simulate(flow))

    assert commands[:2] == [
        ("play", {"media_id": tts("Bonjour", "TTS_FR-FR_AUDREY")}),
        ("play", {"media_id": tts("Hi", "TTS_EN-GB_DANIEL")}),
    ]


def test_media_library_id_is_sent_as_an_integer(around, sent) -> None:
    t = simulate(around("play", prompt=1234))

    assert sent(t)[0] == ("play", {"media_id": 1234})
    assert t.heard[0] == "[media 1234]"


@pytest.mark.parametrize("prompt", ["", 0])
def test_an_empty_prompt_is_refused(prompt: str | int) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("p").add("hi", "play", prompt=prompt)
    assert (caught.value.node_id, caught.value.field) == ("hi", "prompt")


def test_command_error_takes_the_error_path(around, callr, tts) -> None:
    call = callr(around("play", prompt="Hello"))
    call.start()
    assert call.command == ("play", {"media_id": tts("Hello")})

    reply = call.post(error="INVALID_PARAM_FORMAT [params.media_id]")

    assert reply.trace.error == "play failed: INVALID_PARAM_FORMAT [params.media_id]"
    assert reply.trace.path == ("oops",)
    assert call.command == ("play", {"media_id": tts("Something went wrong.")})
    assert call.variables["last_error"] == reply.trace.error


def test_command_error_without_error_path_apologises_and_hangs_up(callr, tts) -> None:
    flow = Flow("p").add("hi", "play", prompt="Hello").add("bye", "hangup").connect("hi", "bye")
    call = callr(flow)
    call.start()

    call.post(error="INVALID_PARAM_FORMAT [params.media_id]")
    assert call.command == ("play", {"media_id": tts("Sorry, something went wrong. Goodbye.")})
    call.post(commands.DONE)
    assert call.command == ("hangup", {})


def test_caller_hangs_up_during_the_prompt(around) -> None:
    t = simulate(around("play", prompt="A long message."), Script(hangup_after=1))

    assert t.status == "caller hung up"
    assert t.path == ["n"]
    assert "After the node." not in t.heard
    assert t.exchanges[-1]["request"]["call_status"] == "HANGUP"
    assert t.exchanges[-1]["answer"] is None  # CALLR gets an empty 200 for a HANGUP
