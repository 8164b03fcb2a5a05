"""``stop_call_recording``: the announcement on the wire, then ``next``."""

from __future__ import annotations

from flowbuilder import Flow, Script, simulate


def test_default_is_silent(around, sent) -> None:
    t = simulate(around("stop_call_recording"))

    assert sent(t)[0] == ("stop_call_recording", {"announce": 0})
    assert t.heard == ["After the node."]


def test_around_a_payment_step(sent, tts) -> None:
    flow = Flow("pay").add("start", "start_call_recording", announce="")
    flow.add("pause", "stop_call_recording", announce="Recording paused for your card number.")
    flow.add("card", "gather", prompt="Card number?", variable="card", max_digits=16)
    flow.add("resume", "start_call_recording", announce="").add("bye", "hangup")
    flow.connect("start", "pause").connect("pause", "card").connect("card", "resume", "done")
    flow.connect("resume", "bye")

    t = simulate(flow, press=["4111111111111111"])

    names = [name for name, _ in sent(t)]
    assert names == [
        "start_call_recording",
        "stop_call_recording",
        "read",
        "start_call_recording",
        "hangup",
    ]
    assert sent(t)[1][1] == {"announce": tts("Recording paused for your card number.")}


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("stop_call_recording"))
    call.start()

    reply = call.post(error="NOT_RECORDING")

    assert reply.trace.error == "stop_call_recording failed: NOT_RECORDING"
    assert reply.trace.path == ("oops",)


def test_caller_hangs_up_during_the_announcement(around) -> None:
    t = simulate(around("stop_call_recording", announce="Stopped."), Script(hangup_after=1))

    assert (t.status, t.path) == ("caller hung up", ["n"])
