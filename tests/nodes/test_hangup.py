"""``hangup``: the flow ends the call; nothing may follow it."""

from __future__ import annotations

import pytest

from flowbuilder import Flow, simulate, validate
from flowbuilder.callr import wire
from flowbuilder.errors import FlowError


def test_the_flow_hangs_up(sent) -> None:
    flow = Flow("h").add("hi", "play", prompt="Bye.").add("bye", "hangup").connect("hi", "bye")

    t = simulate(flow)

    assert sent(t)[-1] == ("hangup", {})
    assert (t.status, t.reason) == ("completed", "")
    assert t.path == ["hi", "bye"]
    assert [e.text for e in t.events if e.kind == "hangup"] == ["the flow hung up"]
    assert t.exchanges[-1]["request"]["call_status"] == "HANGUP"
    assert t.exchanges[-1]["answer"] is None


def test_the_hangup_post_gets_an_empty_answer(callr) -> None:
    call = callr(Flow("h").add("bye", "hangup"))
    call.start()
    assert call.command == ("hangup", {})

    reply = call.post(status=wire.HANGUP)

    assert reply.answer is None
    assert reply.body == b""
    assert reply.trace.ended


def test_nothing_can_follow_a_hangup() -> None:
    flow = Flow("h").add("bye", "hangup").add("more", "play", prompt="More.")

    assert flow.outcomes("bye") == ()
    with pytest.raises(FlowError) as caught:
        flow.connect("bye", "more")
    assert caught.value.node_id == "bye"
    assert "ends the call" in str(caught.value)


def test_a_lone_hangup_is_a_valid_flow() -> None:
    assert validate(Flow("h").add("bye", "hangup")) == []


def test_hangup_takes_no_params() -> None:
    with pytest.raises(FlowError) as caught:
        Flow("h").add("bye", "hangup", prompt="Goodbye")
    assert caught.value.field == "prompt"
