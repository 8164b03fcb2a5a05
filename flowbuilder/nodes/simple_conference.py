"""``simple_conference``: put the caller in a conference room, no PIN or announcements; ``next``
once the caller leaves (``*``) or the room closes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowbuilder.callr import commands
from flowbuilder.nodes._base import Action, Context, Fail, NodeKind, NodeSpec, Param, Send, register
from flowbuilder.nodes.conference import ROOM_ID, room_id, room_problem


@register
class SimpleConference(NodeKind):
    name = "simple_conference"
    title = "Simple conference"
    description = "Join the caller to a conference room, with no PIN and no announcements."
    category = "Connect"
    color = "#72b7b2"
    icon = "👥"
    params = (
        ROOM_ID,
        Param(
            "auto_leave_when_alone",
            "bool",
            True,
            "Leave the room when everyone else has left (not when joining an empty room).",
        ),
    )

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problem = room_problem(params["id"])
        return [("id", problem)] if problem else []

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        room = room_id(node, ctx)
        if isinstance(room, Fail):
            return room
        return Send(
            commands.build(
                "simple_conference",
                id=room,
                auto_leave_when_alone=node.params["auto_leave_when_alone"],
            )
        )
