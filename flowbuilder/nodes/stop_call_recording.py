"""``stop_call_recording``: stop a recording started by ``start_call_recording``, then ``next``."""

from __future__ import annotations

from flowbuilder.callr import wire
from flowbuilder.nodes._base import VOICE, CommandKind, Context, NodeSpec, prompt_param, register


@register
class StopCallRecording(CommandKind):
    name = "stop_call_recording"
    pure_command = True
    title = "Stop call recording"
    description = "Stop recording the conversation (started by start_call_recording)."
    category = "Call control"
    color = "#e45756"
    icon = "⏹"
    params = (
        prompt_param("announce", "Tells the caller the recording has stopped; empty for none."),
        VOICE,
    )

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        return wire.stop_call_recording(ctx.media(node.params["announce"], node.params["voice"]))
