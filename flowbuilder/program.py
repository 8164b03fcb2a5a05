"""``Program``: a validated flow frozen for the engine, and its JSON form.

A program is what the server runs; it needs neither the graph (networkx) nor validation, so a
server restarted on the same flow file can load it back (:mod:`flowbuilder.server.program_cache`)
without paying for either. :func:`flowbuilder.compiler.compile` makes one from a Flow.

>>> from flowbuilder.compiler import compile
>>> from flowbuilder.flow import Flow
>>> program = compile(Flow("hi").add("hello", "play", prompt="Hi").add("bye", "hangup")
...                   .connect("hello", "bye"))
>>> Program.from_json(program.to_json()) == program
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from flowbuilder.nodes._base import NodeSpec, get_kind
from flowbuilder.trust import TRUSTED, Trust


@dataclass(frozen=True)
class Program:
    """A compiled flow. ``subflows`` holds every flow a ``subflow`` node reaches, by name."""

    name: str
    version: str
    entry: str
    nodes: Mapping[str, NodeSpec]
    settings: Mapping[str, Any]
    subflows: Mapping[str, Program] = field(default_factory=lambda: MappingProxyType({}))
    #: which Python functions its python nodes may call: the flow's (:mod:`flowbuilder.trust`)
    trust: Trust = field(default=TRUSTED, compare=False)

    @property
    def on_error(self) -> str | None:
        value = self.settings.get("on_error")
        return str(value) if value else None

    def flow(self, name: str) -> Program:
        """This program (``""`` or its own name) or one of its subflows."""
        if not name or name == self.name:
            return self
        return self.subflows[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "entry": self.entry,
            "settings": dict(self.settings),
            "nodes": {
                n.id: {"kind": n.kind, "params": dict(n.params), "edges": dict(n.edges)}
                for n in self.nodes.values()
            },
            "subflows": {name: p.to_json() for name, p in self.subflows.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], trust: Trust = TRUSTED) -> Program:
        """The program :meth:`to_json` wrote, under the policy *trust* (never read from the data:
        the operator decides it). Each node's compile-time data is prepared again."""
        nodes = {
            node_id: NodeSpec(
                id=node_id,
                kind=node["kind"],
                params=MappingProxyType(node["params"]),
                edges=MappingProxyType(node["edges"]),
                prepared=get_kind(node["kind"], node_id=node_id).prepare(node["params"]),
            )
            for node_id, node in data["nodes"].items()
        }
        subflows = {name: cls.from_json(sub, trust) for name, sub in data["subflows"].items()}
        return cls(
            name=data["name"],
            version=data["version"],
            entry=data["entry"],
            nodes=MappingProxyType(nodes),
            settings=MappingProxyType(dict(data["settings"])),
            subflows=MappingProxyType(subflows),
            trust=trust,
        )
