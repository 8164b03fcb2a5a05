"""``hangup_callid``: hang up *another* call, by its CALLR call id, then ``next``.

For flows that handle two legs: the call id of an outbound call placed earlier (kept in a
variable by a python or http_request node, or passed in when the call was set up) ends that call
while this one goes on. CALLR's command is ``hangup_callid``; the id is a number, usually given as
a ``{variable}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from flowbuilder.callr import commands
from flowbuilder.nodes._base import Action, Context, Fail, NodeKind, NodeSpec, Param, Send, register
from flowbuilder.nodes.send_dtmf import literal_digits_problem

CALLID: Final = re.compile(r"[0-9]{1,20}\Z")


@register
class HangupCallid(NodeKind):
    name = "hangup_callid"
    title = "Hang up another call"
    description = "End another call by its CALLR call id (e.g. a leg placed earlier); go on here."
    category = "Call control"
    color = "#9d755d"
    icon = "✂"
    params = (
        Param(
            "callid",
            "text",
            "",
            "The CALLR call id to hang up, usually a {variable} holding it (digits).",
            required=True,
            template=True,
            max=64,
            example="{other_callid}",
        ),
    )

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problem = literal_digits_problem(params["callid"], CALLID, "digits")
        return [("callid", problem)] if problem else []

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        rendered = ctx.render(node.params["callid"])
        if not CALLID.match(rendered):
            return Fail(
                f"hangup_callid: callid {node.params['callid']!r} gave {rendered!r}, not a call id"
            )
        return Send(commands.build("hangup_callid", callid=int(rendered)))
