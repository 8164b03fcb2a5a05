"""``play_wav``: a WAV sound carried in the flow, sent as CALLR's ``play_wav_data``."""

from __future__ import annotations

import base64
import io
import wave
from pathlib import Path

import pytest

import flowbuilder as fb
from flowbuilder import Flow, simulate
from flowbuilder.errors import NodeConfigError
from flowbuilder.nodes.play_wav import BEEP


def wav_bytes(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(bytes(int(16000 * seconds)))
    return out.getvalue()


def test_the_caller_hears_the_sound_and_callr_gets_its_bytes(around, sent) -> None:
    audio = fb.wav_data(wav_bytes(1.5))
    t = simulate(around("play_wav", audio=audio))

    assert sent(t)[0] == ("play_wav_data", {"audio_data": audio})
    assert t.heard[0] == "[WAV audio, 1.5s, 24044 bytes]"
    assert t.path == ["n", "after", "bye"]
    assert t.status == "completed"


def test_wav_data_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "chime.wav"
    path.write_bytes(wav_bytes(0.25))
    assert base64.b64decode(fb.wav_data(path)) == path.read_bytes()
    with pytest.raises(ValueError, match="not a WAV file"):
        fb.wav_data(b"ID3 an mp3, not a wav")


@pytest.mark.parametrize(
    ("audio", "words"),
    [
        ("", "is required"),
        ("%%%", "is not valid base64"),
        (base64.b64encode(b"hello").decode(), "is not a WAV file"),
        ("A" * (2 * 1024 * 1024 + 4), "must be at most"),
    ],
)
def test_bad_sounds_are_refused_naming_the_field(audio: str, words: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("w").add("chime", "play_wav", audio=audio)
    assert (caught.value.node_id, caught.value.field) == ("chime", "audio")
    assert words in str(caught.value)


def test_a_new_node_in_the_editor_carries_a_valid_beep() -> None:
    starter = fb.kinds()[[k.name for k in fb.kinds()].index("play_wav")].starter_params()
    assert starter["audio"] == BEEP
    assert fb.validate(Flow("w").add("chime", "play_wav", **starter)) is not None


def test_the_sound_travels_in_the_saved_flow_and_the_exported_module(tmp_path: Path) -> None:
    flow = Flow("ding").add("chime", "play_wav", audio=BEEP).add("bye", "hangup")
    flow.connect("chime", "bye")
    assert Flow.load(flow.save(tmp_path / "ding.json")) == flow
    module = fb.export_python(flow, tmp_path / "ding.py")
    assert simulate(fb.load(module)).heard == ["[WAV audio, 0.04s, 364 bytes]"]


def test_a_served_flow_plays_its_sound_to_a_sandbox_caller() -> None:
    # end to end over HTTP: the served flow sends play_wav_data, the sandbox checks and plays it
    from flowbuilder.sandbox import Sandbox

    audio = fb.wav_data(wav_bytes(60.0))  # about a minute of 8 kHz audio: 1.3 MB of base64
    flow = (
        Flow("chime")
        .add("chime", "play_wav", audio=audio)
        .add("bye", "hangup")
        .connect("chime", "bye")
    )
    with Sandbox() as sb, fb.serve(flow, name="play-wav-test") as server:
        client = sb.client()
        app = client.apps.create("Chime", url=server.url)
        did = client.apps.get_dids(only_available=True)[0]
        client.apps.assign_did(app, did)
        t = sb.call_in(did.intl_number, "+33612345678", [])
    assert t.heard == ["[WAV audio, 60s, 960044 bytes]"]
    assert t.status == "completed"
