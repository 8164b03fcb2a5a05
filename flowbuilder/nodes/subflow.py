"""``subflow``: run another flow (by name) from its entry; when it ends, leave through ``done``.

A subflow is an ordinary flow, reused: "collect a PIN", "out-of-hours message". The flow that
runs it carries it, ``main.use(pin_flow)``, so it is saved inside the flow's file (or referenced
by a path next to it), exported with it and compiled into the same program (nested subflows
too). When the subflow reaches an outcome with no edge, the call returns
here and goes on through ``done``; a ``hangup`` inside it ends the call. Variables are shared both
ways; the flow's voice, time zone and error path stay those of the main flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from flowbuilder.errors import UnknownNodeKindError
from flowbuilder.names import FLOW_NAME
from flowbuilder.nodes._base import (
    Action,
    Context,
    EnterSubflow,
    NodeKind,
    NodeSpec,
    Param,
    get_kind,
    register,
)


@register
class Subflow(NodeKind):
    name = "subflow"
    title = "Subflow"
    description = "Run another flow, then carry on here when it ends."
    category = "Logic"
    color = "#b279a2"
    icon = "⤵"
    params = (
        Param(
            "flow",
            "text",
            "",
            "Name of the flow to run: one this flow carries (flow.use(the_flow), saved with it).",
            required=True,
            max=64,
            example="my_subflow",
        ),
    )
    static_outcomes = ("done",)

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        name = params["flow"]
        if not FLOW_NAME.match(name):
            return [("flow", f"must be a flow name (letters, digits, _ . -), got {name!r}")]
        return []

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        name = params.get("flow")
        if not isinstance(name, str) or not name:
            return []
        if subflows is None or name not in subflows:
            known = ", ".join(sorted(subflows or {})) or "none"
            return [
                (
                    "error",
                    "flow",
                    f"unknown subflow {name!r}; subflows carried: {known}; add it with "
                    "flow.use(the_flow) (saved with the flow) or under 'subflows' in its file",
                )
            ]
        if not _waits(subflows[name]):
            return [
                (
                    "warning",
                    "flow",
                    f"subflow {name!r} never waits on the caller; in a loop it would spin",
                )
            ]
        return []

    def subflows_called(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        name = params.get("flow")
        return (name,) if isinstance(name, str) and name else ()

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        return EnterSubflow(node.params["flow"])


def _waits(flow: Any) -> bool:
    """Whether *flow* (a Flow) has a node that answers CALLR with a command."""
    try:
        return any(get_kind(flow.kind(n)).waits_on_caller for n in flow)
    except UnknownNodeKindError:  # reported by the subflow's own validation
        return True
