"""``validate(flow) -> list[Issue]``: every problem in a flow, as values.

Errors stop ``compile()``; warnings never do. Each issue names the node and the field and says how
to fix it, in one line.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("demo").add("hi", "play", prompt="Hello {name}")
>>> for issue in validate(flow):
...     print(issue)
warning: hi.next: the call ends here without hanging up; connect it to a hangup node
warning: hi.prompt: uses {name} but no node sets it; set it with a 'set' node or fix the name
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import networkx as nx

from flowbuilder.errors import UnknownNodeKindError
from flowbuilder.facts import FACTS
from flowbuilder.flow import Flow
from flowbuilder.nodes._base import NodeKind, get_kind
from flowbuilder.template import names_in_data

Severity = Literal["error", "warning"]

#: The variable the engine fills with the reason when it takes the flow's error path.
ERROR_VARIABLE = "last_error"


@dataclass(frozen=True)
class Issue:
    """One problem: severity, where (node and field, either may be None) and what to do."""

    severity: Severity
    node_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ".".join(p for p in (self.node_id, self.field) if p) or "flow"
        return f"{self.severity}: {where}: {self.message}"

    def to_json(self) -> dict[str, str | None]:
        return {
            "severity": self.severity,
            "node_id": self.node_id,
            "field": self.field,
            "message": self.message,
        }


def validate(flow: Flow, *, subflows: Mapping[str, Flow] | None = None) -> list[Issue]:
    """Check *flow*; errors first, then warnings, each group in node order."""
    issues = list(_all_checks(flow, subflows))
    order = {"error": 0, "warning": 1}
    return sorted(issues, key=lambda i: (order[i.severity], i.node_id or "", i.field or ""))


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def _kinds(flow: Flow) -> dict[str, NodeKind | None]:
    found: dict[str, NodeKind | None] = {}
    for node_id in flow:
        try:
            found[node_id] = get_kind(flow.kind(node_id))
        except UnknownNodeKindError:
            found[node_id] = None
    return found


def _all_checks(flow: Flow, subflows: Mapping[str, Flow] | None) -> Iterator[Issue]:
    kinds = _kinds(flow)
    yield from _check_structure(flow, kinds)
    yield from _check_params(flow, kinds, subflows)
    yield from _check_edges(flow, kinds)
    yield from _check_reachability(flow)
    yield from _check_spin_cycles(flow, kinds)
    yield from _check_variables(flow, kinds)


def _check_structure(flow: Flow, kinds: Mapping[str, NodeKind | None]) -> Iterator[Issue]:
    if len(flow) == 0:
        yield Issue("error", None, "entry", "the flow is empty; add a node to start the call")
    elif flow.entry is None:
        yield Issue("error", None, "entry", "no entry node; set flow.entry to the first node")
    on_error = flow.settings.get("on_error")
    if on_error and on_error not in flow:
        yield Issue("error", None, "on_error", f"error path {on_error!r} is not a node; pick one")
    for node_id, kind in kinds.items():
        if kind is None:
            yield Issue(
                "error",
                node_id,
                "kind",
                f"unknown node kind {flow.kind(node_id)!r}; "
                "replace the node with a registered kind",
            )


def _check_params(
    flow: Flow, kinds: Mapping[str, NodeKind | None], subflows: Mapping[str, Flow] | None
) -> Iterator[Issue]:
    for node_id, kind in kinds.items():
        if kind is None:
            continue
        params = flow.params(node_id)
        for field_name, message in kind.check(params):
            yield Issue("error", node_id, field_name, message)
        for severity, field_name, message in kind.advice(params, subflows=subflows):
            yield Issue(severity, node_id, field_name, message)


def _check_edges(flow: Flow, kinds: Mapping[str, NodeKind | None]) -> Iterator[Issue]:
    for node_id, kind in kinds.items():
        if kind is None:
            continue
        outcomes = flow.outcomes(node_id)
        edges = flow.edges_from(node_id)
        for outcome in sorted(set(edges) - set(outcomes)):
            yield Issue(
                "error",
                node_id,
                outcome,
                f"{kind.name} has no outcome {outcome!r}; remove this edge",
            )
        missing = [o for o in outcomes if o not in edges]
        if not missing:
            continue
        if not edges and not kind.ends_call:
            for outcome in missing:
                yield Issue(
                    "warning",
                    node_id,
                    outcome,
                    "the call ends here without hanging up; connect it to a hangup node",
                )
            continue
        for outcome in missing:
            if kind.name == "menu" and outcome in ("invalid", "timeout"):
                yield Issue(
                    "warning",
                    node_id,
                    outcome,
                    f"menu has no {outcome} handling: "
                    f"callers who run out of tries are cut off; connect '{outcome}'",
                )
            else:
                yield Issue(
                    "warning",
                    node_id,
                    outcome,
                    f"outcome {outcome!r} is not connected; the call hangs up there: connect it",
                )


def _check_reachability(flow: Flow) -> Iterator[Issue]:
    if flow.entry is None:
        return
    roots = {flow.entry}
    if flow.settings.get("on_error") in flow:
        roots.add(flow.settings["on_error"])
    reached: set[str] = set()
    for root in roots:
        reached |= nx.descendants(flow.graph, root) | {root}
    for node_id in flow:
        if node_id not in reached:
            yield Issue(
                "warning",
                node_id,
                None,
                "unreachable: no path from the entry leads here; connect it or remove it",
            )


def _check_spin_cycles(flow: Flow, kinds: Mapping[str, NodeKind | None]) -> Iterator[Issue]:
    """A cycle made only of nodes that never wait on the caller would loop without end."""
    busy = [n for n, k in kinds.items() if k is not None and not k.waits_on_caller]
    sub = flow.graph.subgraph(busy)
    for component in nx.strongly_connected_components(sub):
        node_id = min(component)
        if len(component) > 1 or sub.has_edge(node_id, node_id):
            loop = " -> ".join(sorted(component))
            yield Issue(
                "error",
                node_id,
                None,
                f"endless loop: {loop} never waits on the "
                "caller; put a prompt, menu or wait inside the loop",
            )


def _check_variables(flow: Flow, kinds: Mapping[str, NodeKind | None]) -> Iterator[Issue]:
    known = set(FACTS)
    for node_id, kind in kinds.items():
        if kind is not None:
            known |= kind.variables_set(flow.params(node_id))
    for node_id, kind in kinds.items():
        if kind is None:
            continue
        params = flow.params(node_id)
        in_templates: set[str] = set()
        for p in kind.params:
            if not p.template or p.name not in params:
                continue
            in_templates |= names_in_data(params[p.name])
            for name in sorted(names_in_data(params[p.name]) - known):
                yield Issue(
                    "warning",
                    node_id,
                    p.name,
                    f"uses {{{name}}} but no node sets it; "
                    "set it with a 'set' node or fix the name",
                )
        # variables read outside templates, e.g. play_recording's file name variable
        for name in sorted(kind.variables_read(params) - in_templates - known):
            field_name = next(
                (
                    p.name
                    for p in kind.params
                    if p.type == "variable" and params.get(p.name) == name
                ),
                None,
            )
            yield Issue(
                "warning",
                node_id,
                field_name,
                f"reads variable {name!r} but no node sets it; "
                "set it in an earlier node or fix the name",
            )
