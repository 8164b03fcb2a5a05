"""The sandbox drives servers written with CALLR's own SDK conventions, not with flowbuilder:
string labels as command ids (echoed back unchanged, same type), every command of the SDK's
set with the SDK's parameter names and defaults, ``play_wav_data`` checked as CALLR would."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Iterator
from typing import Any

import pytest

from flowbuilder.callr.commands import COMMANDS, MAX_AUDIO_DATA_CHARS
from flowbuilder.sandbox import Sandbox

from .sdk_server import CallFlow, SdkServer, sdk_command


def age_flow() -> CallFlow:
    """CALLR's PHP sample (examples/realtime.php): ask the age, say it back, then a conference
    for adults or the special ``_hangup`` label."""
    flow = CallFlow()
    flow.on_inbound = flow.on_outbound = lambda flow: "ask_age"

    def store_age(result: Any, error: Any, flow: CallFlow) -> str:
        flow.variables["age"] = result
        return "say_age"

    flow.define(
        "ask_age",
        lambda flow: sdk_command(
            "read",
            media_id="TTS|TTS_EN-GB_SERENA|Hello there. How old are you?",
            max_digits=3,
            attempts=3,
            timeout_ms=5000,
        ),
        store_age,
    )
    flow.define(
        "say_age",
        lambda flow: sdk_command(
            "play", media_id=f"TTS|TTS_EN-GB_SERENA|You are {flow.variables['age']} years old."
        ),
        lambda result, error, flow: "room" if int(flow.variables["age"]) >= 18 else "_hangup",
    )
    flow.define("room", lambda flow: sdk_command("conference", id=42), lambda r, e, f: "_hangup")
    return flow


@pytest.fixture
def world() -> Iterator[tuple[Sandbox, CallFlow, SdkServer, Any, str]]:
    flow = age_flow()
    server = SdkServer(flow)
    with Sandbox() as sb:
        client = sb.client()
        app = client.apps.create("PHP SDK server", url=server.url)
        did = client.apps.get_dids(only_available=True)[0]
        client.apps.assign_did(app, did)
        yield sb, flow, server, app, did.intl_number
    server.stop()


def test_an_inbound_call_to_a_label_based_server(world: Any) -> None:
    sb, flow, _, _, number = world
    transcript = sb.call_in(number, "+33639980001", ["42"])
    assert transcript.status == "completed", transcript
    assert transcript.heard == ["Hello there. How old are you?", "You are 42 years old."]
    assert any("in conference 42" in e.text for e in transcript.events)
    # the labels came back as they were sent: strings, in order
    assert [p["command_id"] for p in flow.posts] == [0, "ask_age", "say_age", "room", "_hangup"]
    assert [p["call_status"] for p in flow.posts][-1] == "HANGUP"
    assert flow.posts[2]["variables"] == {"age": "42"}  # variables kept as the server sent them


def test_an_outbound_call_to_a_label_based_server(world: Any) -> None:
    sb, flow, _, app, _ = world
    sb.set_callee("+447890123456", ["12"])
    request_hash = sb.client().calls.realtime(app, "+447890123456")
    transcript = sb.wait_for(request_hash)
    assert transcript.status == "completed"
    assert transcript.heard == ["Hello there. How old are you?", "You are 12 years old."]
    assert flow.posts[0]["request_hash"] == request_hash
    assert flow.posts[-1]["command_id"] == "_hangup"


def test_exchanges_show_the_labels_as_given(world: Any) -> None:
    sb, _, _, _, number = world
    call = sb.start_call_in(number, "+33639980001", ["42"])
    call.result(30)
    answers = [e.answer for e in call.exchanges if e.answer]
    assert [a["command_id"] for a in answers] == ["ask_age", "say_age", "room", "_hangup"]
    requests = [e.request["command_id"] for e in call.exchanges]
    assert requests == [0, "ask_age", "say_age", "room", "_hangup"]


def wav(seconds: float = 0.5) -> str:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(bytes(int(16000 * seconds)))
    return base64.b64encode(out.getvalue()).decode()


# every command of the SDK's set, as its Command factory builds it
SDK_COMMANDS: dict[str, tuple[tuple[str, dict[str, Any]], str]] = {
    "play": (sdk_command("play", media_id="TTS|TTS_EN-GB_SERENA|Hi"), "Hi"),
    "read": (sdk_command("read", media_id="TTS|TTS_EN-GB_SERENA|Code?"), "1234"),
    "record": (sdk_command("record", max_duration=30), "5s message"),
    "play_record": (sdk_command("play_record", media_file="rec_1.wav"), "[recording rec_1.wav]"),
    "play_wav_data": (sdk_command("play_wav_data", audio_data=wav()), "[WAV audio, 0.5s"),
    "play_talk_detect": (
        sdk_command(
            "play_talk_detect",
            media_id="TTS|TTS_EN-GB_SERENA|Hello?",
            silence_ms=800,
            min_ms=100,
            max_ms=2000,
            analysistime_ms=5000,
        ),
        "Hello?",
    ),
    "dialout": (
        sdk_command("dialout", targets=[{"number": "+33123456789", "timeout": 30}]),
        "+33123456789: ANSWER",
    ),
    "conference": (sdk_command("conference", id=7), "in conference 7"),
    "simple_conference": (sdk_command("simple_conference", id=8), "in conference 8"),
    "send_dtmf": (sdk_command("send_dtmf", digits="123#"), "sent DTMF 123#"),
    "wait": (sdk_command("wait"), "waiting 1s"),
    "wait_for_silence": (
        sdk_command("wait_for_silence", silence_ms=500, iterations=2, timeout=10),
        "silence detected",
    ),
    "start_call_recording": (sdk_command("start_call_recording"), "start call recording"),
    "stop_call_recording": (sdk_command("stop_call_recording"), "stop call recording"),
    "hangup_callid": (sdk_command("hangup_callid", callid=123456), "hung up call 123456"),
    "hangup": (sdk_command("hangup"), "the flow hung up"),
}


def test_a_label_that_looks_like_a_number_comes_back_as_text(world: Any) -> None:
    sb, flow, _, _, number = world
    flow.on_inbound = lambda flow: "1"
    flow.define("1", lambda flow: sdk_command("play", media_id="TTS|V|One."), lambda r, e, f: "2")
    flow.define(
        "2", lambda flow: sdk_command("play", media_id="TTS|V|Two."), lambda r, e, f: "_hangup"
    )
    transcript = sb.call_in(number, "+33639980001", [])
    assert transcript.heard == ["One.", "Two."]
    echoed = [p["command_id"] for p in flow.posts]
    assert echoed[:3] == [0, "1", "2"]  # the text "1", never the number 1
    assert [type(i) for i in echoed[1:3]] == [str, str]


def test_every_command_of_the_table_is_in_the_sdk_set_and_back() -> None:
    assert set(SDK_COMMANDS) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(SDK_COMMANDS))
def test_the_sandbox_runs_each_sdk_command(world: Any, name: str) -> None:
    sb, flow, _, _, number = world
    command, shown = SDK_COMMANDS[name]
    flow.on_inbound = lambda flow: name
    flow.define(name, lambda flow: command, lambda result, error, flow: "_hangup")
    call = sb.start_call_in(number, "+33639980001", ["1234"])
    transcript = call.result(30)
    texts = [e.text for e in transcript.events]
    assert any(shown in t for t in texts), (name, texts)
    assert not [e for e in transcript.events if e.kind == "error"], texts
    assert flow.posts[1]["command_id"] == name  # echoed unchanged
    if name != "hangup":
        assert flow.posts[1]["command_error"] == ""
        assert transcript.status == "completed"


@pytest.mark.parametrize(
    ("audio", "why"),
    [
        ("not base64!!", "audio_data is not valid base64"),
        (base64.b64encode(b"plain text, not audio").decode(), "not a WAV file"),
        ("A" * (MAX_AUDIO_DATA_CHARS + 4), "the limit is"),
    ],
)
def test_play_wav_data_is_checked_as_callr_would(world: Any, audio: str, why: str) -> None:
    sb, flow, _, _, number = world
    flow.on_inbound = lambda flow: "chime"
    flow.define(
        "chime",
        lambda flow: sdk_command("play_wav_data", audio_data=audio),
        lambda result, error, flow: "_hangup",
    )
    transcript = sb.call_in(number, "+33639980001", [])
    assert flow.posts[1]["command_error"] == "PROPERTY_VALUE_ERROR [params.audio_data]"
    errors = [e.text for e in transcript.events if e.kind == "error"]
    assert any(why in e for e in errors), errors


def test_a_string_command_id_reaches_flowbuilders_own_server_without_a_400() -> None:
    import httpx

    import flowbuilder as fb
    from flowbuilder.callr import wire
    from flowbuilder.examples import support_line
    from flowbuilder.phone import CallSetup

    setup = CallSetup(app="4346423A", callid=880_001, number="+33900000000")
    body = wire.render_callback(setup.callback(command="play", command_id="ask_age"))
    with fb.serve(support_line(), name="labels") as server:
        answer = httpx.post(server.url, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200
    data = answer.json()  # not ours: the safe fallback, never a 400 or a 500
    assert data["command"] == "play"
    assert data["command_id"] == 1
