"""``send_dtmf``: send touch tones on the call (e.g. to drive another IVR), then ``next``.

The digits may come from variables (``{extension}#``): the literal part is checked when the flow
is edited, the rendered digits when the call runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowbuilder import template
from flowbuilder.callr import commands
from flowbuilder.nodes._base import Action, Context, Fail, NodeKind, NodeSpec, Param, Send, register

SEND_DTMF = commands.COMMANDS["send_dtmf"]


def literal_digits_problem(value: str, allowed: re.Pattern[str], what: str) -> str | None:
    """Why the text of *value* outside its {variables} is not made of *allowed*, or None."""
    literal = template.render(value, {})  # placeholders render empty; {{ }} stay braces
    if literal and not allowed.match(literal):
        return f"must contain only {what} (or {{variables}}), got {value!r}"
    return None


@register
class SendDtmf(NodeKind):
    name = "send_dtmf"
    title = "Send DTMF"
    description = "Send touch tones on the call, e.g. to navigate another company's menu."
    category = "Call control"
    color = "#9d755d"
    icon = "⌨"
    params = (
        Param(
            "digits",
            "digits",
            "",
            "Tones to send: 0-9, * and #, e.g. '1234#'; {variables} allowed.",
            required=True,
            template=True,
            example="1234#",
        ),
        Param.of(SEND_DTMF.key("duration_ms"), "int", 500, "How long each tone lasts."),
        Param.of(SEND_DTMF.key("timeout_ms"), "int", 500, "Pause between two tones."),
    )

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problem = literal_digits_problem(params["digits"], commands.DTMF, "0-9, * and #")
        return [("digits", problem)] if problem else []

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        p = node.params
        digits = ctx.render(p["digits"])
        if not commands.DTMF.match(digits):
            return Fail(f"send_dtmf: digits {p['digits']!r} gave {digits!r}, not 0-9, * and #")
        return Send(
            SEND_DTMF.build(digits=digits, duration_ms=p["duration_ms"], timeout_ms=p["timeout_ms"])
        )
