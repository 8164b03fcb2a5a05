"""``hangup``: end the call. Nothing follows it."""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import CommandKind, Context, NodeSpec, register


@register
class Hangup(CommandKind):
    name = "hangup"
    title = "Hang up"
    description = "End the call."
    category = "Call control"
    color = "#9d755d"
    icon = "☎"
    static_outcomes = ()
    ends_call = True

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        return commands.HANGUP
