"""``wait_for_silence``: wait until the line goes quiet (e.g. an answering machine's greeting has
ended), then ``next``."""

from __future__ import annotations

from flowbuilder.callr import wire
from flowbuilder.nodes._base import CommandKind, Context, NodeSpec, Param, register


@register
class WaitForSilence(CommandKind):
    name = "wait_for_silence"
    pure_command = True
    title = "Wait for silence"
    description = "Wait until the other side stops talking, e.g. before leaving a message."
    category = "Call control"
    color = "#9d755d"
    icon = "🔇"
    params = (
        Param(
            "silence_ms",
            "int",
            1000,
            "How long the line must stay quiet to count as silence.",
            min=1,
            max=5000,
            unit="ms",
        ),
        Param(
            "iterations",
            "int",
            1,
            "How many times to detect that silence before going on.",
            min=1,
            max=3,
        ),
        Param(
            "timeout",
            "int",
            30,
            "Go on anyway after this long without silence; 0 means no limit.",
            min=0,
            max=300,
            unit="s",
        ),
    )

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        p = node.params
        return wire.wait_for_silence(
            silence_ms=p["silence_ms"], iterations=p["iterations"], timeout_s=p["timeout"]
        )
