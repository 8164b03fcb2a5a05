"""``dial``: call one target after another (``dialout``) and bridge the caller to who answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowbuilder.callr import commands
from flowbuilder.callr.constants import (
    CDR_FIELD,
    CDR_FIELD_MAX,
    CLI_BLOCKED,
    DEFAULT_TARGET_TIMEOUT_S,
    E164,
    TARGET_TIMEOUT_S,
)
from flowbuilder.callr.wire import Command
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
DIALOUT = commands.COMMANDS["dialout"]
LOW_S, HIGH_S = TARGET_TIMEOUT_S


@register
class Dial(CommandKind):
    name = "dial"
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
            f"accepts {{variables}}, timeout is ring seconds ({LOW_S}-{HIGH_S}).",
            required=True,
            template=True,
            example=[{"number": "+33123456789", "timeout": DEFAULT_TARGET_TIMEOUT_S}],
            fields=(
                Param(
                    "number",
                    "text",
                    "",
                    "+E164 number, or a {variable}.",
                    required=True,
                    template=True,
                ),
                Param(
                    "timeout",
                    "int",
                    DEFAULT_TARGET_TIMEOUT_S,
                    "Ring time.",
                    min=LOW_S,
                    max=HIGH_S,
                    unit="s",
                ),
            ),
        ),
        Param(
            "cli",
            "text",
            CLI_BLOCKED,
            f"Caller id shown to the callee: {CLI_BLOCKED}, an authorized "
            "+E164 number on the account, or {caller} to pass the caller's through.",
            template=True,
        ),
        Param.of(
            DIALOUT.key("ringtone"), "choice", "RING", "What the caller hears while it rings."
        ),
        prompt_param("whisper", "Played to the callee before connecting; empty for none."),
        Param(
            "cdr_field",
            "text",
            "",
            f"Custom CDR field, up to {CDR_FIELD_MAX} letters and digits.",
            max=CDR_FIELD_MAX,
        ),
    )
    static_outcomes = tuple(dict.fromkeys(commands.DIAL_OUTCOMES.values()))
    failure_outcomes = ("failed",)

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for i, t in enumerate(params["targets"]):
            where = f"targets[{i}]"
            if not isinstance(t, dict) or set(t) - {"number", "timeout"} or "number" not in t:
                problems.append((where, "must be {'number': '+E164', 'timeout': seconds}"))
                continue
            number, timeout = t["number"], t.get("timeout", DEFAULT_TARGET_TIMEOUT_S)
            if not isinstance(number, str) or not (E164.match(number) or "{" in number):
                problems.append(
                    (where, f"number must be +E164 (e.g. +33123456789), got {number!r}")
                )
            if (
                not isinstance(timeout, int)
                or isinstance(timeout, bool)
                or not LOW_S <= timeout <= HIGH_S
            ):
                problems.append(
                    (where, f"timeout must be {LOW_S}-{HIGH_S} seconds, got {timeout!r}")
                )
        cli = params["cli"]
        if cli not in (CLI_BLOCKED, "") and "{" not in cli and not E164.match(cli):
            problems.append(("cli", f"must be {CLI_BLOCKED} or +E164, got {cli!r}"))
        if not CDR_FIELD.match(params["cdr_field"]):
            problems.append(("cdr_field", f"must be up to {CDR_FIELD_MAX} letters and digits"))
        return problems

    def variables_set(self, params: Mapping[str, Any]) -> set[str]:
        return {STATUS_VARIABLE}

    def variables_set_by(self, params: Mapping[str, Any], outcome: str) -> set[str]:
        # a dial that could not be placed fails with no status
        return set() if outcome in self.failure_outcomes else self.variables_set(params)

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        p = node.params
        targets = [
            {
                "number": ctx.render(t["number"]),
                "timeout": t.get("timeout", DEFAULT_TARGET_TIMEOUT_S),
            }
            for t in p["targets"]
        ]
        return DIALOUT.build(
            targets=targets,
            cli=ctx.render(p["cli"]) or CLI_BLOCKED,
            ringtone=p["ringtone"],
            whisper=ctx.media(p["whisper"]),
            cdr_field=p["cdr_field"],
        )

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if not isinstance(result, CommandResult) or result.error:
            return Go("failed")
        status = result.result.strip().upper()
        ctx.variables[STATUS_VARIABLE] = status
        return Go(commands.DIAL_OUTCOMES.get(status, "failed"))
