"""``record``: record the caller (``#`` stops it); the file name goes into a variable."""

from __future__ import annotations

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import (
    Action,
    CommandKind,
    CommandResult,
    Context,
    Fail,
    Go,
    NodeSpec,
    Param,
    Result,
    register,
)

RECORD = commands.COMMANDS["record"]
MAX_DURATION = Param.of(
    RECORD.key("max_duration"), "int", 120, "Longest recording; 0 means no limit."
)
SILENCE = Param.of(RECORD.key("silence"), "int", 5, "Silence that ends the recording; 0 means off.")
VARIABLE = Param(
    "variable", "variable", "recording", "Variable that receives the file name.", required=True
)


def record_command(node: NodeSpec) -> Command:
    return RECORD.build(max_duration=node.params["max_duration"], silence=node.params["silence"])


def store_recording(node: NodeSpec, ctx: Context, result: Result) -> Action:
    """Keep the recorded file name in the node's variable, then ``next``."""
    if not isinstance(result, CommandResult) or result.error:
        return Fail(f"record failed: {getattr(result, 'error', 'no result')}")
    ctx.variables[node.params["variable"]] = result.result
    return Go("next")


@register
class Record(CommandKind):
    name = "record"
    title = "Record"
    description = "Record the caller until silence, # or the time limit; keep the file name."
    category = "Say & hear"
    color = "#e45756"
    icon = "⏺"
    params = (MAX_DURATION, SILENCE, VARIABLE)

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        return record_command(node)

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        return store_recording(node, ctx, result)
