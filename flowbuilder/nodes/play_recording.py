"""``play_recording``: play back a message recorded earlier in the call, then ``next``.

The file name comes from a variable that a ``record`` or ``voicemail`` node filled in; CALLR's
command is ``play_record``. The node *reads* that variable, so validation warns when no node in
the flow sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowbuilder.callr import commands
from flowbuilder.nodes._base import Action, Context, Fail, NodeKind, NodeSpec, Param, Send, register


@register
class PlayRecording(NodeKind):
    name = "play_recording"
    title = "Play recording"
    description = "Play back a message recorded earlier in this call (by record or voicemail)."
    category = "Say & hear"
    color = "#e45756"
    icon = "▶"
    params = (
        Param(
            "variable",
            "variable",
            "recording",
            "Variable holding the recording's file name, as filled in by a record or "
            "voicemail node.",
            required=True,
        ),
    )

    def variables_set(self, params: Mapping[str, Any]) -> set[str]:
        return set()  # it only reads its variable

    def variables_read(self, params: Mapping[str, Any]) -> set[str]:
        name = params.get("variable")
        return {name} if isinstance(name, str) and name else set()

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        name = node.params["variable"]
        file = ctx.variables.get(name)
        if not isinstance(file, str) or not file:
            return Fail(f"play_recording: variable {name!r} holds no recording; record one first")
        return Send(commands.build("play_record", media_file=file))
