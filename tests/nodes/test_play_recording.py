"""``play_recording``: plays back the file a record/voicemail node put in a variable."""

from __future__ import annotations

from flowbuilder import Flow, Script, simulate, validate
from flowbuilder.callr import commands


def record_then_play(variable: str = "recording") -> Flow:
    flow = Flow("pr").add("rec", "voicemail", variable=variable, prompt="Leave a message.")
    flow.add("back", "play_recording", variable=variable).add("bye", "hangup")
    return flow.connect("rec", "back").connect("back", "bye")


def test_the_caller_hears_their_own_recording(sent) -> None:
    t = simulate(record_then_play("message"))

    file = t.recordings[0]
    assert sent(t)[2] == ("play_record", {"media_file": file})
    assert t.heard == ["Leave a message.", f"[recording {file}]"]
    assert t.path == ["rec", "back", "bye"]


def test_validation_warns_when_no_node_sets_the_variable() -> None:
    flow = Flow("pr").add("back", "play_recording", variable="message").add("bye", "hangup")
    flow.connect("back", "bye")

    issues = validate(flow)

    assert [(i.severity, i.node_id, i.field) for i in issues] == [("warning", "back", "variable")]
    assert "'message'" in issues[0].message
    assert validate(record_then_play("message")) == []


def test_a_variable_set_by_another_node_name_still_warns() -> None:
    flow = record_then_play("message")
    flow.set_params("back", variable="mesage")

    assert [(i.node_id, i.field) for i in validate(flow)] == [("back", "variable")]


def test_an_empty_variable_at_run_time_takes_the_error_path(around, sent) -> None:
    t = simulate(around("play_recording"))  # nothing recorded

    assert "play_record" not in [name for name, _ in sent(t)]
    assert t.path == ["n", "oops", "bye"]
    assert t.heard == ["Something went wrong."]
    errors = [e.text for e in t.events if e.kind == "error"]
    assert errors == ["play_recording: variable 'recording' holds no recording; record one first"]


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("play_recording"))
    call.start({"recording": "rec_1.wav"})
    assert call.command == ("play_record", {"media_file": "rec_1.wav"})

    reply = call.post(error="INVALID_PARAM_FORMAT [params.media_file]")

    assert reply.trace.error == "play_record failed: INVALID_PARAM_FORMAT [params.media_file]"
    assert reply.trace.path == ("oops",)


def test_it_goes_on_through_next(around, callr) -> None:
    call = callr(around("play_recording"))
    call.start({"recording": "rec_1.wav"})

    reply = call.post(commands.DONE)

    assert reply.trace.path == ("after",)


def test_caller_hangs_up_during_playback() -> None:
    t = simulate(record_then_play(), Script(hangup_after=3))

    assert t.status == "caller hung up"
    assert t.path == ["rec", "back"]
