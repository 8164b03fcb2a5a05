"""What every rule reads: the flow gathered once, and the :class:`Issue` they report.

>>> from flowbuilder.flow import Flow
>>> graph = Graph.of(Flow("f").add("hi", "play", prompt="Hi").add("bye", "hangup")
...                  .connect("hi", "bye"))
>>> graph.roots, sorted(graph.reached), graph.preds["bye"]
(['hi'], ['bye', 'hi'], [('hi', 'next')])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from flowbuilder.flow import Flow
from flowbuilder.nodes._base import REGISTRY, NodeKind

Severity = Literal["error", "warning"]


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


@dataclass(frozen=True)
class Node:
    id: str
    kind_name: str
    kind: NodeKind | None  # None: not a registered kind
    params: Mapping[str, Any]  # the flow's own dict: read, never changed
    edges: Mapping[str, str]  # outcome -> target


@dataclass(frozen=True)
class Graph:
    """What the rules read, gathered once (the Flow accessors copy on every call)."""

    flow: Flow
    nodes: dict[str, Node]  # sorted by id
    entry: str | None
    on_error: Any  # as set: may name no node (reported by the structure rule)
    #: a subflow: an unconnected outcome returns to the node that ran it (not a hang-up)
    returns: bool = False

    @classmethod
    def of(cls, flow: Flow, *, returns: bool = False) -> Graph:
        data, succ = flow.graph.nodes, flow.graph.succ
        nodes = {}
        for node_id in sorted(data):
            attrs = data[node_id]
            nodes[node_id] = Node(
                id=node_id,
                kind_name=str(attrs["kind"]),
                kind=REGISTRY.get(attrs["kind"]),
                params=attrs["params"],
                edges={k: v for v, keys in succ[node_id].items() for k in keys},
            )
        on_error = flow.graph.graph["settings"].get("on_error")
        return cls(flow, nodes, flow.entry, on_error, returns)

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.flow.graph.graph["settings"]  # type: ignore[no-any-return]

    def known(self) -> Iterator[tuple[Node, NodeKind]]:
        """Nodes of registered kinds (the others are reported once, as unknown kinds)."""
        return ((n, n.kind) for n in self.nodes.values() if n.kind is not None)

    @cached_property
    def problems(self) -> dict[str, list[tuple[str, str]]]:
        """The parameter problems of the known nodes that have some, as ``kind.check`` gives
        them (once)."""
        found = {}
        for node, kind in self.known():
            problems = kind.check(node.params)
            if problems:
                found[node.id] = problems
        return found

    @cached_property
    def outcomes(self) -> dict[str, tuple[str, ...]]:
        """Each known node's outcomes, as its kind gives them for its parameters (once)."""
        return {n.id: kind.outcomes(n.params) for n, kind in self.known()}

    @cached_property
    def error_path(self) -> str | None:
        """The flow's ``on_error`` node, when it names one."""
        on_error = self.on_error
        return on_error if isinstance(on_error, str) and on_error in self.nodes else None

    @cached_property
    def roots(self) -> list[str]:
        """Where calls enter the flow: the entry, then the error path."""
        entry = self.entry if self.entry in self.nodes else None
        return list(dict.fromkeys(r for r in (entry, self.error_path) if r is not None))

    @cached_property
    def reached(self) -> set[str]:
        """Nodes some path from a root leads to."""
        reached = set(self.roots)
        todo = list(self.roots)
        while todo:  # one pass over the edges
            for target in self.nodes[todo.pop()].edges.values():
                if target not in reached:
                    reached.add(target)
                    todo.append(target)
        return reached

    @cached_property
    def preds(self) -> dict[str, list[tuple[str, str]]]:
        """``target -> [(source, outcome), ...]`` for every edge, sources in node order."""
        preds: dict[str, list[tuple[str, str]]] = {n: [] for n in self.nodes}
        for node in self.nodes.values():
            for outcome, target in node.edges.items():
                preds[target].append((node.id, outcome))
        return preds
