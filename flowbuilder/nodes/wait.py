"""``wait``: keep the line open, silent, for a few seconds, then ``next``."""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import CommandKind, Context, NodeSpec, Param, register

WAIT = commands.COMMANDS["wait"]


@register
class Wait(CommandKind):
    name = "wait"
    title = "Wait"
    description = "Pause the call for a few seconds (the caller hears silence)."
    category = "Call control"
    color = "#9d755d"
    icon = "⏸"
    params = (Param.of(WAIT.key("seconds"), "int", 2, "How long to wait."),)

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        return WAIT.build(seconds=node.params["seconds"])
