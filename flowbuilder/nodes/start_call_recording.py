"""``start_call_recording``: record the rest of the call (both sides), then ``next`` at once.

Recording goes on in the background until ``stop_call_recording`` or the end of the call.
"""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import VOICE, CommandKind, Context, NodeSpec, prompt_param, register


@register
class StartCallRecording(CommandKind):
    name = "start_call_recording"
    title = "Start call recording"
    description = "Start recording the whole conversation; it runs until stopped or hang-up."
    category = "Call control"
    color = "#e45756"
    icon = "⏺"
    params = (
        prompt_param(
            "announce",
            "Tells the caller the call is recorded (often required by law); empty for none.",
            "This call is recorded.",
        ),
        VOICE,
    )

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        announce = ctx.media(node.params["announce"], node.params["voice"])
        return commands.build("start_call_recording", announce=announce)
