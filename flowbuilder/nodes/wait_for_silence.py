"""``wait_for_silence``: wait until the line goes quiet (e.g. an answering machine's greeting has
ended), then ``next``."""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import CommandKind, Context, NodeSpec, Param, register

SILENCE = commands.COMMANDS["wait_for_silence"]


@register
class WaitForSilence(CommandKind):
    name = "wait_for_silence"
    title = "Wait for silence"
    description = "Wait until the other side stops talking, e.g. before leaving a message."
    category = "Call control"
    color = "#9d755d"
    icon = "🔇"
    params = (
        Param.of(
            SILENCE.key("silence_ms"),
            "int",
            1000,
            "How long the line must stay quiet to count as silence.",
        ),
        Param.of(
            SILENCE.key("iterations"),
            "int",
            1,
            "How many times to detect that silence before going on.",
        ),
        Param.of(
            SILENCE.key("timeout"),
            "int",
            30,
            "Go on anyway after this long without silence; 0 means no limit.",
        ),
    )

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        return SILENCE.build(**{key.name: node.params[key.name] for key in SILENCE.keys})
