"""``simple_conference``: room id and auto-leave on the wire; ``next`` when the caller leaves."""

from __future__ import annotations

import pytest

from flowbuilder import Flow, Script, simulate
from flowbuilder.errors import NodeConfigError


def test_wire_params_and_next(around, sent) -> None:
    t = simulate(around("simple_conference", id="42"), Script(talk_s=60))

    assert sent(t)[0] == ("simple_conference", {"id": 42, "auto_leave_when_alone": True})
    assert "in conference 42" in [e.text for e in t.events if e.kind == "status"]
    assert t.path == ["n", "after", "bye"]
    assert t.duration_s >= 60  # the command blocks while the caller is in the room


def test_text_room_and_auto_leave_off(around, sent) -> None:
    t = simulate(
        around("simple_conference", id="{team}-standup", auto_leave_when_alone=False),
        variables={"team": "ops"},
    )

    assert sent(t)[0] == (
        "simple_conference",
        {"id": "ops-standup", "auto_leave_when_alone": False},
    )


@pytest.mark.parametrize("room", ["", "a b", "é"])
def test_bad_rooms_are_refused(room: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("s").add("s", "simple_conference", id=room)
    assert (caught.value.node_id, caught.value.field) == ("s", "id")


def test_a_room_variable_that_renders_empty_takes_the_error_path(around, sent) -> None:
    t = simulate(around("simple_conference", id="{team}"))

    assert "simple_conference" not in [name for name, _ in sent(t)]
    assert t.path == ["n", "oops", "bye"]


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("simple_conference", id="9"))
    call.start()
    assert call.command == ("simple_conference", {"id": 9, "auto_leave_when_alone": True})

    reply = call.post(error="INVALID_PARAM_FORMAT [params.id]")

    assert reply.trace.error == "simple_conference failed: INVALID_PARAM_FORMAT [params.id]"
    assert reply.trace.path == ("oops",)


def test_caller_hangs_up_in_the_room(around) -> None:
    t = simulate(around("simple_conference", id="9"), Script(hangup_after=1))

    assert (t.status, t.path) == ("caller hung up", ["n"])
