"""``conference``: put the caller in a conference room (optionally behind a PIN), then ``next``.

The command blocks until the caller leaves (``*``) or the room closes; only then does the flow go
on through ``next``. Every parameter of CALLR's ``conference`` command is exposed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from flowbuilder.callr import commands
from flowbuilder.nodes._base import (
    VOICE,
    Action,
    Context,
    Fail,
    NodeKind,
    NodeSpec,
    Param,
    Send,
    prompt_param,
    register,
)
from flowbuilder.nodes.send_dtmf import literal_digits_problem

CONFERENCE = commands.COMMANDS["conference"]
ROOM = re.compile(r"[A-Za-z0-9_-]+\Z")

ROOM_ID = Param(
    "id",
    "text",
    "",
    "Conference room: callers given the same id talk together. Letters, digits, _ and -, "
    "or {variables}; an id of digits only is sent as a number, as CALLR documents it.",
    required=True,
    template=True,
    max=64,
    example="team-room",
)


def room_problem(value: str) -> str | None:
    return literal_digits_problem(value, ROOM, "letters, digits, _ and -")


def room_id(node: NodeSpec, ctx: Context) -> int | str | Fail:
    """The rendered room id for the wire (an int when it is plain digits), or why it is bad."""
    rendered = ctx.render(node.params["id"])
    if not ROOM.match(rendered):
        return Fail(f"{node.kind}: room id {node.params['id']!r} gave {rendered!r}")
    if rendered.isdigit() and (rendered == "0" or not rendered.startswith("0")):
        return int(rendered)
    return rendered


@register
class Conference(NodeKind):
    name = "conference"
    title = "Conference"
    description = "Join the caller to a conference room, with an optional PIN and announcements."
    category = "Connect"
    color = "#72b7b2"
    icon = "👥"
    params = (
        ROOM_ID,
        prompt_param("welcome", "Played before joining (and before asking for the PIN)."),
        prompt_param("waiting", "Played in a loop while the caller is alone in the room."),
        Param(
            "pin_code",
            "digits",
            "",
            "PIN callers must type, followed by #: digits 0-9 or {variables}. "
            "Empty: callers join without a PIN.",
            template=True,
        ),
        prompt_param(
            "pin_prompt",
            "Asks for the PIN (only with a PIN); repeated until a PIN is typed.",
            "Please enter the conference PIN, then press hash.",
        ),
        prompt_param("pin_error", "Played after a wrong PIN.", "Sorry, that PIN is not valid."),
        prompt_param("pin_valid", "Played after the right PIN, before joining."),
        Param.of(CONFERENCE.key("pin_max_tries"), "int", 3, "How many times the PIN is asked for."),
        Param.of(
            CONFERENCE.key("pin_wait"), "int", 5, "How long to wait for each digit of the PIN."
        ),
        Param(
            "auto_leave_when_alone",
            "bool",
            False,
            "Leave the room when everyone else has left (not when joining an empty room).",
        ),
        prompt_param(
            "auto_leave_announce",
            "Played when leaving because everyone else left (needs auto_leave_when_alone).",
        ),
        prompt_param("user_join", "Played to the room when someone joins."),
        prompt_param("user_leave", "Played to the room when someone leaves."),
        VOICE,
    )

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = []
        room = room_problem(params["id"])
        if room:
            problems.append(("id", room))
        pin = literal_digits_problem(params["pin_code"], commands.PIN, "digits 0-9")
        if pin:
            problems.append(("pin_code", pin))
        return problems

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        found: list[tuple[Literal["error", "warning"], str, str]] = []
        if params.get("pin_code") and params.get("pin_prompt") in ("", 0):
            found.append(
                ("warning", "pin_prompt", "callers are not told to type the PIN; add a prompt")
            )
        if params.get("auto_leave_announce") not in ("", 0, None) and not params.get(
            "auto_leave_when_alone"
        ):
            found.append(
                (
                    "warning",
                    "auto_leave_announce",
                    "is never played: turn on auto_leave_when_alone",
                )
            )
        return found

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        p = node.params
        room = room_id(node, ctx)
        if isinstance(room, Fail):
            return room
        pin = ctx.render(p["pin_code"])
        if not commands.PIN.match(pin):
            return Fail(f"conference: pin_code {p['pin_code']!r} gave {pin!r}, not digits 0-9")

        # every key of CALLR's command is a parameter of the same name; media keys are prompts
        values = {key.name: p[key.name] for key in CONFERENCE.keys}
        values.update({key: ctx.media(p[key], p["voice"]) for key in CONFERENCE.media_keys})
        return Send(CONFERENCE.build(**{**values, "id": room, "pin_code": pin}))
