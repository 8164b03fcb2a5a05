"""``gather``: play a prompt and read up to N digits into a variable (an account number, a PIN).

One CALLR ``read``: CALLR plays the prompt, waits ``timeout_ms`` for the keys and repeats the
prompt up to ``attempts`` times when nothing is pressed. The digits land in ``variable`` and the
node leaves through ``done``; silence on every attempt leaves through ``timeout`` with the
variable set to ``""`` (so a stale value from an earlier try never leaks through).

CALLR's ``read`` has no terminator setting: it returns once ``max_digits`` keys are pressed or the
caller stops typing. Callers often end an entry with ``#`` anyway, so ``strip_hash`` (on by
default) drops a trailing ``#`` from what is stored; a lone ``#`` counts as nothing entered.
"""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import (
    VOICE,
    Action,
    CommandKind,
    CommandResult,
    Context,
    Fail,
    Go,
    NodeSpec,
    Param,
    Result,
    prompt_param,
    register,
)

READ = commands.COMMANDS["read"]


@register
class Gather(CommandKind):
    name = "gather"
    title = "Gather digits"
    description = "Ask the caller to type digits (an account number, a PIN) into a variable."
    category = "Caller input"
    color = "#f58518"
    icon = "⌨"
    params = (
        prompt_param(
            "prompt",
            "What the caller hears first, e.g. 'Enter your account number.'",
            example="Please enter your account number, then press hash.",
        ),
        Param.of(READ.key("max_digits"), "int", 4, "Most digits read; CALLR stops at this many."),
        Param.of(READ.key("timeout_ms"), "int", 5000, "Silence before an attempt times out."),
        Param.of(
            READ.key("attempts"),
            "int",
            2,
            "Times CALLR plays the prompt and waits before giving up (timeout).",
        ),
        Param(
            "variable",
            "variable",
            "",
            "Variable that receives the digits, e.g. account_number.",
            required=True,
            example="account_number",
        ),
        Param(
            "strip_hash",
            "bool",
            True,
            "Drop a trailing # the caller typed to end the entry.",
        ),
        VOICE,
    )
    static_outcomes = ("done", "timeout")

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        p = node.params
        return READ.build(
            media_id=ctx.media(p["prompt"], p["voice"]),
            max_digits=p["max_digits"],
            attempts=p["attempts"],
            timeout_ms=p["timeout_ms"],
        )

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if not isinstance(result, CommandResult):
            return Fail("gather got an effect result")
        if result.error:
            return Fail(f"{result.command} failed: {result.error}")
        p = node.params
        digits = result.result
        if p["strip_hash"] and digits.endswith("#"):
            digits = digits[:-1]
        if result.result in ("", commands.READ_TIMEOUT) or not digits:
            ctx.variables[p["variable"]] = ""
            return Go("timeout")
        ctx.variables[p["variable"]] = digits
        return Go("done")
