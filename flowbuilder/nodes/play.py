"""``play``: the caller hears a message (TTS text or a media library id), then ``next``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import VOICE, CommandKind, Context, NodeSpec, prompt_param, register


@register
class Play(CommandKind):
    name = "play"
    title = "Play"
    description = "Play a message to the caller: text spoken by TTS, or a media library id."
    category = "Say & hear"
    color = "#4c78a8"
    icon = "🔊"
    params = (
        prompt_param(
            "prompt",
            "What the caller hears: text with {variables}, or a media id.",
            example="Hello, thank you for calling.",
        ),
        VOICE,
    )

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [] if params["prompt"] not in ("", 0) else [("prompt", "is required: say something")]

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        return commands.build(
            "play", media_id=ctx.media(node.params["prompt"], node.params["voice"])
        )
