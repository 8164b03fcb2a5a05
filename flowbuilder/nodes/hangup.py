"""``hangup``: end the call. Nothing follows it."""

from __future__ import annotations

from flowbuilder.callr import wire
from flowbuilder.nodes._base import CommandKind, Context, NodeSpec, register


@register
class Hangup(CommandKind):
    name = "hangup"
    pure_command = True
    title = "Hang up"
    description = "End the call."
    category = "Call control"
    color = "#9d755d"
    icon = "☎"
    static_outcomes = ()
    ends_call = True

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        return wire.hangup()
