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
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

import networkx as nx

from flowbuilder.facts import FACTS
from flowbuilder.flow import Flow
from flowbuilder.names import NODE_ID
from flowbuilder.nodes._base import REGISTRY, NodeKind
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
    """Check *flow*; errors first, then warnings, each group in node order.

    Every rule is linear in the size of the flow (nodes + edges), so a flow of 10,000 nodes
    checks in well under a second. The flows its ``subflow`` nodes run are the ones it carries
    (``flow.use(...)``, saved with it) and *subflows*; each is checked too, its issues named
    ``subflow/node``, and a subflow that runs itself again is an error.
    """
    library = subflow_library(flow, subflows)
    issues = list(_all_checks(_Graph.of(flow), library))
    issues += _check_subflows(flow, library)
    order = {"error": 0, "warning": 1}
    return sorted(issues, key=lambda i: (order[i.severity], i.node_id or "", i.field or ""))


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


@dataclass(frozen=True)
class _Node:
    id: str
    kind_name: str
    kind: NodeKind | None  # None: not a registered kind
    params: Mapping[str, Any]  # the flow's own dict: read, never changed
    edges: Mapping[str, str]  # outcome -> target


@dataclass(frozen=True)
class _Graph:
    """What the rules read, gathered once (the Flow accessors copy on every call)."""

    flow: Flow
    nodes: dict[str, _Node]  # sorted by id
    entry: str | None
    on_error: Any
    #: a subflow: an unconnected outcome returns to the node that ran it (not a hang-up)
    returns: bool = False

    @classmethod
    def of(cls, flow: Flow, *, returns: bool = False) -> _Graph:
        data, succ = flow.graph.nodes, flow.graph.succ
        nodes = {}
        for node_id in sorted(data):
            attrs = data[node_id]
            nodes[node_id] = _Node(
                id=node_id,
                kind_name=str(attrs["kind"]),
                kind=REGISTRY.get(attrs["kind"]),
                params=attrs["params"],
                edges={k: v for v, keys in succ[node_id].items() for k in keys},
            )
        on_error = flow.graph.graph["settings"].get("on_error")
        return cls(flow, nodes, flow.entry, on_error, returns)

    def known(self) -> Iterator[tuple[_Node, NodeKind]]:
        """Nodes of registered kinds (the others are reported once, as unknown kinds)."""
        return ((n, n.kind) for n in self.nodes.values() if n.kind is not None)


def _all_checks(graph: _Graph, subflows: Mapping[str, Flow] | None) -> Iterator[Issue]:
    yield from _check_structure(graph)
    yield from _check_params(graph, subflows)
    yield from _check_edges(graph)
    yield from _check_reachability(graph)
    yield from _check_spin_cycles(graph)
    yield from _check_variables(graph)


def _check_structure(graph: _Graph) -> Iterator[Issue]:
    if not graph.nodes:
        yield Issue("error", None, "entry", "the flow is empty; add a node to start the call")
    elif graph.entry is None:
        yield Issue("error", None, "entry", "no entry node; set flow.entry to the first node")
    elif graph.entry not in graph.nodes:
        yield Issue("error", None, "entry", f"entry {graph.entry!r} is not a node; pick one")
    timezone = graph.flow.graph.graph["settings"].get("timezone")
    if not isinstance(timezone, str) or not _known_zone(timezone):
        yield Issue(  # a warning: only clock conditions need it, and they fail safely
            "warning",
            None,
            "timezone",
            f"unknown time zone {timezone!r}: time and weekday conditions will take the error "
            "path; use an IANA name like Europe/Paris or UTC",
        )
    on_error = graph.on_error
    if on_error is not None and on_error != "" and on_error not in graph.nodes:
        yield Issue(
            "error",
            None,
            "on_error",
            f"error path {on_error!r} is not a node; pick an existing node or clear it",
        )
    for node in graph.nodes.values():
        if not NODE_ID.match(node.id):
            yield Issue(
                "error",
                node.id,
                "id",
                "a node id starts with a letter and holds only letters, digits, _ or - "
                "(64 at most); rename the node",
            )
        if node.kind is None:
            yield Issue(
                "error",
                node.id,
                "kind",
                f"unknown node kind {node.kind_name!r}; replace the node with a registered kind",
            )


@lru_cache(maxsize=256)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, malformed key, a directory
        return False
    return True


def _check_params(graph: _Graph, subflows: Mapping[str, Flow] | None) -> Iterator[Issue]:
    for node, kind in graph.known():
        for field_name, message in kind.check(node.params):
            yield Issue("error", node.id, field_name, message)
        for severity, field_name, message in kind.advice(node.params, subflows=subflows):
            yield Issue(severity, node.id, field_name, message)


def _check_edges(graph: _Graph) -> Iterator[Issue]:
    for node, kind in graph.known():
        outcomes = kind.outcomes(node.params)
        edges = node.edges
        for outcome in sorted(set(edges) - set(outcomes)):
            yield Issue(
                "error",
                node.id,
                outcome,
                f"{kind.name} has no outcome {outcome!r}; remove this edge",
            )
        missing = [o for o in outcomes if o not in edges]
        if not missing or graph.returns:  # in a subflow, a loose end returns to the caller
            continue
        if not edges and not kind.ends_call:
            for outcome in missing:
                yield Issue(
                    "warning",
                    node.id,
                    outcome,
                    "the call ends here without hanging up; connect it to a hangup node",
                )
            continue
        for outcome in missing:
            if kind.name == "menu" and outcome in ("invalid", "timeout"):
                yield Issue(
                    "warning",
                    node.id,
                    outcome,
                    f"menu has no {outcome} handling: "
                    f"callers who run out of tries are cut off; connect '{outcome}'",
                )
            else:
                yield Issue(
                    "warning",
                    node.id,
                    outcome,
                    f"outcome {outcome!r} is not connected; the call hangs up there: connect it",
                )


def _check_reachability(graph: _Graph) -> Iterator[Issue]:
    roots = [r for r in (graph.entry, graph.on_error) if isinstance(r, str) and r in graph.nodes]
    if not roots:
        return  # no entry: reported above
    reached = set(roots)
    todo = list(roots)
    while todo:  # one pass over the edges
        for target in graph.nodes[todo.pop()].edges.values():
            if target not in reached:
                reached.add(target)
                todo.append(target)
    for node_id in graph.nodes:
        if node_id not in reached:
            yield Issue(
                "warning",
                node_id,
                None,
                "unreachable: no path from the entry leads here; connect it or remove it",
            )


def _check_spin_cycles(graph: _Graph) -> Iterator[Issue]:
    """A cycle made only of nodes that never wait on the caller would loop without end."""
    busy = nx.DiGraph()
    for node, kind in graph.known():
        if not kind.waits_on_caller:
            busy.add_node(node.id)
    for node_id in busy:
        for target in graph.nodes[node_id].edges.values():
            if target in busy:
                busy.add_edge(node_id, target)
    for component in nx.strongly_connected_components(busy):
        node_id = min(component)
        if len(component) > 1 or busy.has_edge(node_id, node_id):
            members = sorted(component)
            loop = " -> ".join(members[:6]) + (" -> ..." if len(members) > 6 else "")
            yield Issue(
                "error",
                node_id,
                None,
                f"endless loop: {loop} never waits on the caller; "
                "put a prompt, menu or wait inside the loop",
            )


def _check_variables(graph: _Graph) -> Iterator[Issue]:
    known = set(FACTS)
    if graph.on_error:
        known.add(ERROR_VARIABLE)
    for node, kind in graph.known():
        known |= kind.variables_set(node.params)
    for node, kind in graph.known():
        params = node.params
        in_templates: set[str] = set()
        for p in kind.params:
            if not p.template or p.name not in params:
                continue
            used = names_in_data(params[p.name])
            in_templates |= used
            for name in sorted(used - known):
                yield Issue(
                    "warning",
                    node.id,
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
                node.id,
                field_name,
                f"reads variable {name!r} but no node sets it; "
                "set it in an earlier node or fix the name",
            )


# -- subflows ------------------------------------------------------------------------------------


def subflow_library(flow: Flow, extra: Mapping[str, Flow] | None = None) -> dict[str, Flow]:
    """Every flow *flow*'s subflow nodes may run, by name: those it carries, those they carry,
    then *extra* (which wins)."""
    library: dict[str, Flow] = {}
    todo, seen = [flow], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for name, sub in current.subflows.items():
            library.setdefault(name, sub)
            todo.append(sub)
    library.update(extra or {})
    return library


def _calls(flow: Flow) -> Iterator[tuple[str, str]]:
    """(node id, subflow name) for each subflow a node of *flow* runs."""
    for node_id, attrs in flow.graph.nodes(data=True):
        kind = REGISTRY.get(attrs["kind"])
        if kind is not None:
            for name in kind.subflows_called(attrs["params"]):
                yield node_id, name


def _check_subflows(flow: Flow, library: Mapping[str, Flow]) -> Iterator[Issue]:
    """The issues of every subflow *flow* runs (named ``subflow/node``), and recursion."""
    checked: set[str] = set()

    def visit(current: Flow, prefix: str, stack: tuple[str, ...]) -> Iterator[Issue]:
        for node_id, name in sorted(_calls(current)):
            sub = library.get(name)
            if sub is None:  # the subflow kind reports it
                continue
            where = f"{prefix}{node_id}"
            if name in stack:
                loop = " -> ".join((*stack, name))
                yield Issue(
                    "error",
                    where,
                    "flow",
                    f"subflow {name!r} calls itself ({loop}): a call would never come back; "
                    "break the loop",
                )
                continue
            if name in checked:
                continue
            checked.add(name)
            for issue in validate_one(sub, library, returns=True):
                node = f"{name}/{issue.node_id}" if issue.node_id else name
                yield Issue(issue.severity, node, issue.field, issue.message)
            yield from visit(sub, f"{name}/", (*stack, name))

    return visit(flow, "", (flow.name,))


def validate_one(flow: Flow, library: Mapping[str, Flow], *, returns: bool = False) -> list[Issue]:
    """*flow*'s own issues, its subflow nodes resolved in *library* (no recursion into them).
    *returns*: *flow* runs as a subflow, so an outcome left unconnected returns to its caller."""
    return list(_all_checks(_Graph.of(flow, returns=returns), library))
