"""``validate(flow) -> list[Issue]``: every problem in a flow, as values.

Errors stop ``compile()``; warnings never do. Each issue names the node and the field and says how
to fix it, in one line. Structure, parameters, edges, reachability, endless loops and subflows
are checked here; the deeper rules (loops with no way out, variables per path, placeholders,
effect timeouts in one callback, voices) are in :mod:`flowbuilder.lint`, one module each, and
each kind adds its own (a menu's dead options) in ``NodeKind.advice``.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("demo").add("hi", "play", prompt="Hello {name}")
>>> for issue in validate(flow):
...     print(issue)
warning: hi.next: the call ends here without hanging up; connect it to a hangup node
warning: hi.prompt: uses {name} but no node sets it; set it with a 'set' node or fix the name
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from difflib import get_close_matches as close_matches
from functools import lru_cache
from zoneinfo import ZoneInfo

import networkx as nx

from flowbuilder.flow import Flow
from flowbuilder.lint import effects, loops, placeholders, variables, voices
from flowbuilder.lint.graph import Graph, Issue, Severity
from flowbuilder.names import ERROR_VARIABLE, NODE_ID
from flowbuilder.nodes._base import REGISTRY, NodeKind

__all__ = ["ERROR_VARIABLE", "Issue", "Severity", "errors", "validate"]


def validate(flow: Flow, *, subflows: Mapping[str, Flow] | None = None) -> list[Issue]:
    """Check *flow*; errors first, then warnings, each group in node order.

    Every rule is linear in the size of the flow (nodes + edges), so a flow of 10,000 nodes
    checks in well under a second. The flows its ``subflow`` nodes run are the ones it carries
    (``flow.use(...)``, saved with it) and *subflows*; each is checked too, its issues named
    ``subflow/node``, and a subflow that runs itself again is an error.
    """
    library = subflow_library(flow, subflows)
    issues = list(_all_checks(Graph.of(flow), library))
    issues += _check_subflows(flow, library)
    order = {"error": 0, "warning": 1}
    return sorted(issues, key=lambda i: (order[i.severity], i.node_id or "", i.field or ""))


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def code_targets(flow: Flow) -> list[tuple[str, str, str]]:
    """``(node_id, field, "package.module:function")`` for every Python function *flow* calls."""
    return [
        (node.id, field_name, target)
        for node, kind in Graph.of(flow).known()
        for field_name, target in kind.code_targets(node.params)
    ]


def _all_checks(graph: Graph, subflows: Mapping[str, Flow] | None) -> Iterator[Issue]:
    yield from _check_structure(graph)
    yield from _check_params(graph, subflows)
    yield from _check_code(graph)
    yield from _check_edges(graph)
    yield from _check_reachability(graph)
    yield from _check_spin_cycles(graph)
    yield from loops.check(graph)
    yield from variables.check(graph)
    yield from placeholders.check(graph)
    yield from effects.check(graph)
    yield from voices.check(graph)


def _check_structure(graph: Graph) -> Iterator[Issue]:
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
                f"unknown node kind {node.kind_name!r}; replace the node with a registered kind"
                + "".join(
                    f" (did you mean {m!r}?)"
                    for m in close_matches(str(node.kind_name), REGISTRY, 1)
                ),
            )


@lru_cache(maxsize=256)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, malformed key, a directory
        return False
    return True


def _check_params(graph: Graph, subflows: Mapping[str, Flow] | None) -> Iterator[Issue]:
    for node, kind in graph.known():
        for field_name, message in graph.problems.get(node.id, ()):
            yield Issue("error", node.id, field_name, message)
        for severity, field_name, message in kind.advice(node.params, subflows=subflows):
            yield Issue(severity, node.id, field_name, message)


def _check_code(graph: Graph) -> Iterator[Issue]:
    """Python functions the flow's trust refuses; for a flow from a file, also those that do not
    resolve (importing an allowed module is what the operator allowed). A flow built in code is
    not imported here: its functions may not be written yet, and fail at run time on ``error``."""
    trust = graph.flow.trust
    for node, kind in graph.known():
        for field_name, target in kind.code_targets(node.params):
            problem = trust.problem(target)
            if problem is None and not trust.trusted:
                try:
                    trust.resolve(target)
                except ValueError as exc:
                    problem = f"does not resolve: {exc}"
            if problem is not None:
                yield Issue("error", node.id, field_name, problem)


def _check_edges(graph: Graph) -> Iterator[Issue]:
    for node, kind in graph.known():
        outcomes = graph.outcomes[node.id]
        edges = node.edges
        for outcome in sorted(set(edges) - set(outcomes)):
            yield Issue(
                "error",
                node.id,
                outcome,
                f"{kind.name} has no outcome {outcome!r}; remove this edge",
            )
        if graph.returns:  # in a subflow, a loose end returns to the caller
            continue
        for outcome in (o for o in outcomes if o not in edges):
            yield Issue("warning", node.id, outcome, _unconnected(graph, kind, outcome, edges))


def _unconnected(graph: Graph, kind: NodeKind, outcome: str, edges: Mapping[str, str]) -> str:
    """What happens to a call that leaves through an outcome with no edge, and the fix."""
    if outcome in kind.failure_outcomes and graph.error_path:
        # the engine sends an unhandled failure to the flow's error path
        return (
            f"outcome {outcome!r} is not connected; the error path ({graph.error_path}) "
            "takes it: connect it to handle it here"
        )
    if not edges and not kind.ends_call:
        return "the call ends here without hanging up; connect it to a hangup node"
    if outcome in kind.retry_outcomes:
        return (
            f"{kind.name} has no {outcome} handling: "
            f"callers who run out of tries are cut off; connect '{outcome}'"
        )
    return f"outcome {outcome!r} is not connected; the call hangs up there: connect it"


def _check_reachability(graph: Graph) -> Iterator[Issue]:
    if not graph.roots:
        return  # no entry: reported above
    for node_id in graph.nodes:
        if node_id not in graph.reached:
            yield Issue(
                "warning",
                node_id,
                None,
                "unreachable: no path from the entry leads here; connect it or remove it",
            )


def _check_spin_cycles(graph: Graph) -> Iterator[Issue]:
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
    return list(_all_checks(Graph.of(flow, returns=returns), library))
