"""``record``: the file name CALLR returns lands in a variable that later nodes can use."""

from __future__ import annotations

from flowbuilder import Flow, Script, simulate, validate


def test_file_name_goes_into_the_variable(around, sent) -> None:
    flow = around("record", max_duration=60, silence=3)
    flow.set_params("after", prompt="Saved as {recording}.")

    t = simulate(flow, Script(record_s=12))

    assert sent(t)[0] == ("record", {"max_duration": 60, "silence": 3})
    assert len(t.recordings) == 1
    assert t.heard == [f"Saved as {t.recordings[0]}."]
    assert t.path == ["n", "after", "bye"]


def test_custom_variable_and_playback(sent) -> None:
    flow = Flow("r").add("rec", "record", variable="message").add("back", "play_recording")
    flow.set_params("back", variable="message").add("bye", "hangup")
    flow.connect("rec", "back").connect("back", "bye")

    t = simulate(flow)

    assert sent(t)[1] == ("play_record", {"media_file": t.recordings[0]})
    assert t.heard == [f"[recording {t.recordings[0]}]"]


def test_the_variable_counts_as_set_for_validation() -> None:
    flow = Flow("r").add("rec", "record", variable="message").add("say", "play", prompt="{message}")
    flow.add("bye", "hangup").connect("rec", "say").connect("say", "bye")

    assert validate(flow) == []


def test_each_recording_gets_its_own_file() -> None:
    flow = Flow("r").add("one", "record", variable="a").add("two", "record", variable="b")
    flow.add("say", "play", prompt="{a} {b}").add("bye", "hangup")
    flow.connect("one", "two").connect("two", "say").connect("say", "bye")

    t = simulate(flow)

    assert len(set(t.recordings)) == 2
    assert t.heard == [" ".join(t.recordings)]


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("record"))
    call.start()
    assert call.command == ("record", {"max_duration": 120, "silence": 5})

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.max_duration]")

    assert reply.trace.error == "record failed: PROPERTY_VALUE_ERROR [params.max_duration]"
    assert reply.trace.path == ("oops",)
    assert "recording" not in call.variables


def test_caller_hangs_up_while_recording(around) -> None:
    t = simulate(around("record"), Script(hangup_after=1, record_s=30))

    assert t.status == "caller hung up"
    assert t.path == ["n"]
    assert t.heard == []
