"""``conference``: every CALLR conference param on the wire, the PIN, and leaving the room."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flowbuilder import Flow, Script, simulate, validate
from flowbuilder.errors import NodeConfigError

PIN_PROMPT = "Please enter the conference PIN, then press hash."


@pytest.fixture
def pin_room(around: Callable[..., Flow]) -> Callable[..., Flow]:
    """A conference in room 7 behind PIN 1234."""

    def make(**params: Any) -> Flow:
        return around("conference", **{"id": "7", "pin_code": "1234", **params})

    return make


def test_wire_params_with_defaults(around, sent, tts) -> None:
    t = simulate(around("conference", id="42"))

    assert sent(t)[0] == (
        "conference",
        {
            "id": 42,
            "welcome": 0,
            "waiting": 0,
            "pin_prompt": tts(PIN_PROMPT),
            "pin_error": tts("Sorry, that PIN is not valid."),
            "pin_valid": 0,
            "pin_code": "",
            "pin_max_tries": 3,
            "pin_wait": 5,
            "auto_leave_when_alone": False,
            "auto_leave_announce": 0,
            "user_join": 0,
            "user_leave": 0,
        },
    )
    assert t.path == ["n", "after", "bye"]
    assert t.heard == ["After the node."]  # no PIN: no PIN prompt


def test_every_param_reaches_the_wire(around, sent, tts) -> None:
    flow = around(
        "conference",
        id="board",
        welcome="Welcome to the board call.",
        waiting=3001,
        pin_code="2468",
        pin_prompt="PIN please.",
        pin_error="Wrong PIN.",
        pin_valid="Thank you.",
        pin_max_tries=5,
        pin_wait=10,
        auto_leave_when_alone=True,
        auto_leave_announce="Everyone left.",
        user_join=3002,
        user_leave=3003,
        voice="TTS_EN-GB_DANIEL",
    )

    t = simulate(flow, press=["2468#"])

    daniel = "TTS_EN-GB_DANIEL"
    assert sent(t)[0] == (
        "conference",
        {
            "id": "board",
            "welcome": tts("Welcome to the board call.", daniel),
            "waiting": 3001,
            "pin_prompt": tts("PIN please.", daniel),
            "pin_error": tts("Wrong PIN.", daniel),
            "pin_valid": tts("Thank you.", daniel),
            "pin_code": "2468",
            "pin_max_tries": 5,
            "pin_wait": 10,
            "auto_leave_when_alone": True,
            "auto_leave_announce": tts("Everyone left.", daniel),
            "user_join": 3002,
            "user_leave": 3003,
        },
    )
    assert t.heard[:3] == ["Welcome to the board call.", "PIN please.", "Thank you."]


@pytest.mark.parametrize(
    ("room", "wire_id"),
    [("42", 42), ("0", 0), ("007", "007"), ("team-room", "team-room"), ("{room}", 17)],
)
def test_room_ids(around, sent, room: str, wire_id: Any) -> None:
    # CALLR's SDK documents the id as an integer: plain digits go as a number
    t = simulate(around("conference", id=room), variables={"room": "17"})

    assert sent(t)[0][1]["id"] == wire_id


def test_the_right_pin_joins_after_a_wrong_one(pin_room) -> None:
    t = simulate(pin_room(), press=["1111#", "1234#"])

    assert t.pressed == ["1111#", "1234#"]
    assert t.heard[:3] == [PIN_PROMPT, "Sorry, that PIN is not valid.", PIN_PROMPT]
    assert "in conference 7" in [e.text for e in t.events if e.kind == "status"]
    assert t.path == ["n", "after", "bye"]


def test_too_many_wrong_pins_are_not_admitted_and_the_flow_goes_on(pin_room) -> None:
    t = simulate(pin_room(pin_max_tries=2), press=["1", "2"])

    statuses = [e.text for e in t.events if e.kind == "status"]
    assert "wrong PIN 2 times: not admitted" in statuses
    assert "in conference 7" not in statuses
    assert t.heard.count(PIN_PROMPT) == 2
    assert t.path == ["n", "after", "bye"]


def test_pin_from_a_variable(pin_room, sent) -> None:
    t = simulate(pin_room(pin_code="{pin}"), press=["9876#"], variables={"pin": "9876"})

    assert sent(t)[0][1]["pin_code"] == "9876"
    assert "in conference 7" in [e.text for e in t.events]


def test_a_pin_variable_that_is_not_digits_takes_the_error_path(pin_room, sent) -> None:
    t = simulate(pin_room(pin_code="{pin}"), variables={"pin": "12ab"})

    assert "conference" not in [name for name, _ in sent(t)]
    assert t.path == ["n", "oops", "bye"]
    assert t.heard == ["Something went wrong."]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": "room 1"}, "id"),
        ({"id": "r" * 65}, "id"),
        ({"id": "1", "pin_code": "12*"}, "pin_code"),
        ({"id": "1", "pin_code": "{pin}x"}, "pin_code"),
        ({"id": "1", "pin_max_tries": 0}, "pin_max_tries"),
        ({"id": "1", "pin_wait": 31}, "pin_wait"),
        ({"id": "1", "auto_leave_when_alone": "yes"}, "auto_leave_when_alone"),
    ],
)
def test_bad_params_are_refused(params: dict[str, Any], field: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("c").add("c", "conference", **params)
    assert (caught.value.node_id, caught.value.field) == ("c", field)


def test_advice() -> None:
    flow = Flow("c").add(
        "c", "conference", id="1", pin_code="12", pin_prompt="", auto_leave_announce="Bye."
    )
    flow.add("bye", "hangup").connect("c", "bye")

    found = {(i.severity, i.field) for i in validate(flow)}

    assert found == {("warning", "pin_prompt"), ("warning", "auto_leave_announce")}


def test_a_bad_rendered_room_takes_the_error_path(pin_room) -> None:
    t = simulate(pin_room(id="{room}"), variables={"room": "not a room"})

    assert t.path == ["n", "oops", "bye"]


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("conference", id="1"))
    call.start()
    assert call.command[0] == "conference"

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.pin_wait]")

    assert reply.trace.error == "conference failed: PROPERTY_VALUE_ERROR [params.pin_wait]"
    assert reply.trace.path == ("oops",)


def test_caller_hangs_up_in_the_room(around) -> None:
    t = simulate(around("conference", id="1"), Script(hangup_after=1))

    assert t.status == "caller hung up"
    assert t.path == ["n"]
    assert "After the node." not in t.heard
