"""``stop_call_recording``: stop a recording started by ``start_call_recording``, then ``next``."""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import VOICE, CommandKind, Context, NodeSpec, prompt_param, register


@register
class StopCallRecording(CommandKind):
    name = "stop_call_recording"
    title = "Stop call recording"
    description = "Stop recording the conversation (started by start_call_recording)."
    category = "Call control"
    color = "#e45756"
    icon = "⏹"
    params = (
        prompt_param("announce", "Tells the caller the recording has stopped; empty for none."),
        VOICE,
    )

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        announce = ctx.media(node.params["announce"], node.params["voice"])
        return commands.build("stop_call_recording", announce=announce)
