"""``wait``: keep the line open, silent, for a few seconds, then ``next``."""

from __future__ import annotations

from flowbuilder.callr import wire
from flowbuilder.nodes._base import CommandKind, Context, NodeSpec, Param, register


@register
class Wait(CommandKind):
    name = "wait"
    pure_command = True
    title = "Wait"
    description = "Pause the call for a few seconds (the caller hears silence)."
    category = "Call control"
    color = "#9d755d"
    icon = "⏸"
    params = (Param("seconds", "int", 2, "How long to wait.", min=1, max=30, unit="s"),)

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        return wire.wait(node.params["seconds"])
