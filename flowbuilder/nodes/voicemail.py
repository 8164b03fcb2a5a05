"""``voicemail``: play a prompt, then record a message into a variable (prompt + record)."""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.nodes._base import (
    VOICE,
    Action,
    Context,
    NodeKind,
    NodeSpec,
    Result,
    Send,
    prompt_param,
    register,
)
from flowbuilder.nodes.record import (
    MAX_DURATION,
    SILENCE,
    VARIABLE,
    record_command,
    store_recording,
)


@register
class Voicemail(NodeKind):
    name = "voicemail"
    title = "Voicemail"
    description = "Ask the caller to leave a message after the tone, and record it."
    category = "Say & hear"
    color = "#e45756"
    icon = "✉"
    params = (
        prompt_param(
            "prompt",
            "Played before recording.",
            "Please leave a message after the tone, then press hash.",
        ),
        MAX_DURATION,
        SILENCE,
        VARIABLE,
        VOICE,
    )

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        prompt = ctx.media(node.params["prompt"], node.params["voice"])
        if prompt == commands.NO_MEDIA:
            ctx.local["phase"] = "record"
            return Send(record_command(node))
        ctx.local["phase"] = "prompt"
        return Send(commands.build("play", media_id=prompt))

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if ctx.local.get("phase") == "prompt":
            ctx.local["phase"] = "record"
            return Send(record_command(node))
        return store_recording(node, ctx, result)
