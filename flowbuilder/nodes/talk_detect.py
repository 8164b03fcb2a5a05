"""``talk_detect``: tell a person from an answering machine (CALLR's ``play_talk_detect``).

A prompt plays while CALLR listens to how the other side talks: a short "Hello?" then silence is a
person, a long greeting is a machine. The result text containing ``HUMAN`` leaves through
``human``, ``MACHINE`` through ``machine``; anything else, and a failed detection
(``command_error``), through ``unknown``: "could not tell" is this node's natural answer to an
error, so the call goes on rather than taking the error path.

CALLR does not document bounds for these timings; the ones below follow the usual answering-machine
detection settings (Asterisk's AMD defaults are 2500/1500/800/5000 ms) and are stated in each
parameter's help.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import (
    VOICE,
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

TALK_DETECT = commands.COMMANDS["play_talk_detect"]


@register
class TalkDetect(CommandKind):
    name = "talk_detect"
    title = "Human or machine?"
    description = "Detect whether a person or an answering machine picked up, and route by it."
    category = "Call control"
    color = "#b279a2"
    icon = "🤖"
    params = (
        prompt_param("prompt", "Played while listening, e.g. 'Hello?'; empty to just listen."),
        Param(
            "silence_ms",
            "int",
            800,
            "Silence after speech that ends the analysis: a person says 'Hello?' and waits. "
            "Bounds chosen by flowbuilder: 100-5000 ms.",
            min=100,
            max=5000,
            unit="ms",
        ),
        Param(
            "min_ms",
            "int",
            100,
            "Shortest sound counted as speech (shorter is noise). "
            "Bounds chosen by flowbuilder: 10-2000 ms.",
            min=10,
            max=2000,
            unit="ms",
        ),
        Param(
            "max_ms",
            "int",
            2000,
            "Speech longer than this is a machine's greeting. "
            "Bounds chosen by flowbuilder: 100-10000 ms, above min_ms.",
            min=100,
            max=10000,
            unit="ms",
        ),
        Param(
            "analysistime_ms",
            "int",
            5000,
            "Longest time spent listening before giving a verdict. "
            "Bounds chosen by flowbuilder: 1000-30000 ms; keep it above max_ms.",
            min=1000,
            max=30000,
            unit="ms",
        ),
        Param(
            "variable",
            "variable",
            "talk_result",
            "Variable that receives CALLR's verdict as sent (empty when detection failed); "
            "leave empty to keep nothing.",
        ),
        VOICE,
    )
    static_outcomes = ("human", "machine", "unknown")

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if params["min_ms"] >= params["max_ms"]:
            return [
                (
                    "max_ms",
                    f"must be above min_ms ({params['min_ms']} ms), got {params['max_ms']}",
                )
            ]
        return []

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        if params.get("analysistime_ms", 0) < params.get("max_ms", 0):
            return [
                (
                    "warning",
                    "analysistime_ms",
                    f"is shorter than max_ms ({params['max_ms']} ms): a long greeting is never "
                    "heard to its end, so machines come out unknown; raise it",
                )
            ]
        return []

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        p = node.params
        timings = {key.name: p[key.name] for key in TALK_DETECT.keys if key.type == "int"}
        return TALK_DETECT.build(media_id=ctx.media(p["prompt"], p["voice"]), **timings)

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        ok = isinstance(result, CommandResult) and not result.error
        verdict = result.result if ok and isinstance(result, CommandResult) else ""
        if node.params["variable"]:
            ctx.variables[node.params["variable"]] = verdict
        upper = verdict.upper()
        if commands.TALK_MACHINE in upper:
            return Go("machine")
        if commands.TALK_HUMAN in upper:
            return Go("human")
        return Go("unknown")
