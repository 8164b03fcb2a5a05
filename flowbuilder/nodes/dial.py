"""``dial``: call one target after another (``dialout``) and bridge the caller to who answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowbuilder.callr import wire
from flowbuilder.nodes._base import (
    Action,
    CommandKind,
    CommandResult,
    Context,
    Go,
    NodeSpec,
    Param,
    Result,
    prompt_param,
    register,
)

#: The dial status CALLR reported (ANSWER, BUSY, ...), for prompts and branches after the node.
STATUS_VARIABLE = "dial_status"
E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
_OUTCOME_BY_STATUS = {
    "ANSWER": "answered",
    "NOANSWER": "no_answer",
    "CANCEL": "no_answer",
    "BUSY": "busy",
    "CONGESTION": "failed",
    "CHANUNAVAIL": "failed",
}


@register
class Dial(CommandKind):
    name = "dial"
    pure_command = True
    title = "Dial"
    description = "Call targets one after another and connect the caller to the first that answers."
    category = "Connect"
    color = "#54a24b"
    icon = "📞"
    params = (
        Param(
            "targets",
            "list",
            [],
            "Numbers tried in order: [{'number': '+33123456789', 'timeout': 30}, ...]; number "
            "accepts {variables}, timeout is ring seconds (5-300).",
            required=True,
            template=True,
            example=[{"number": "+33123456789", "timeout": 30}],
            fields=(
                Param(
                    "number",
                    "text",
                    "",
                    "+E164 number, or a {variable}.",
                    required=True,
                    template=True,
                ),
                Param("timeout", "int", 30, "Ring time.", min=5, max=300, unit="s"),
            ),
        ),
        Param(
            "cli",
            "text",
            "BLOCKED",
            "Caller id shown to the callee: BLOCKED, an authorized "
            "+E164 number on the account, or {caller} to pass the caller's through.",
            template=True,
        ),
        Param(
            "ringtone",
            "choice",
            "RING",
            "What the caller hears while it rings.",
            choices=("RING", "MUSIC"),
        ),
        prompt_param("whisper", "Played to the callee before connecting; empty for none."),
        Param("cdr_field", "text", "", "Custom CDR field, up to 32 letters and digits.", max=32),
    )
    static_outcomes = ("answered", "no_answer", "busy", "failed")

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for i, t in enumerate(params["targets"]):
            where = f"targets[{i}]"
            if not isinstance(t, dict) or set(t) - {"number", "timeout"} or "number" not in t:
                problems.append((where, "must be {'number': '+E164', 'timeout': seconds}"))
                continue
            number, timeout = t["number"], t.get("timeout", 30)
            if not isinstance(number, str) or not (E164.match(number) or "{" in number):
                problems.append(
                    (where, f"number must be +E164 (e.g. +33123456789), got {number!r}")
                )
            if not isinstance(timeout, int) or isinstance(timeout, bool) or not 5 <= timeout <= 300:
                problems.append((where, f"timeout must be 5-300 seconds, got {timeout!r}"))
        cli = params["cli"]
        if cli not in ("BLOCKED", "") and "{" not in cli and not E164.match(cli):
            problems.append(("cli", f"must be BLOCKED or +E164, got {cli!r}"))
        if params["cdr_field"] and not re.fullmatch(r"[A-Za-z0-9]{1,32}", params["cdr_field"]):
            problems.append(("cdr_field", "must be up to 32 letters and digits"))
        return problems

    def variables_set(self, params: Mapping[str, Any]) -> set[str]:
        return {STATUS_VARIABLE}

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        p = node.params
        targets = [wire.target(ctx.render(t["number"]), t.get("timeout", 30)) for t in p["targets"]]
        return wire.dialout(
            targets,
            cli=ctx.render(p["cli"]) or "BLOCKED",
            ringtone=p["ringtone"],
            whisper=ctx.media(p["whisper"]),
            cdr_field=p["cdr_field"],
        )

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if not isinstance(result, CommandResult) or result.error:
            return Go("failed")
        status = result.result.strip().upper()
        ctx.variables[STATUS_VARIABLE] = status
        return Go(_OUTCOME_BY_STATUS.get(status, "failed"))
