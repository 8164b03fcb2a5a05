"""``compile(flow) -> Program``: a validated flow as frozen, JSON-able data for the engine
(:mod:`flowbuilder.program`).

A program's ``version`` is a hash of its logic, so a server can keep older versions for calls
that started on them (hot reload) and a forged or stale position is recognised.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("hi").add("hello", "play", prompt="Hello").add("bye", "hangup")
>>> program = compile(flow.connect("hello", "bye"))
>>> program.entry, sorted(program.nodes), dict(program.nodes["hello"].edges)
('hello', ['bye', 'hello'], {'next': 'bye'})

Labels, layout and the description are not logic: they leave the version alone.

>>> compile(flow.set_label("hello", "Greeting").move("hello", 40, 80)).version == program.version
True
>>> compile(flow.set_params("hello", prompt="Hi")).version == program.version
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from flowbuilder.errors import FlowError, FlowValidationError
from flowbuilder.flow import Flow
from flowbuilder.flowfile import SCHEMA_VERSION, plain_copy
from flowbuilder.nodes._base import NodeSpec, get_kind
from flowbuilder.program import Program
from flowbuilder.trust import combine
from flowbuilder.validate import Issue, code_targets, subflow_library, validate

__all__ = ["Program", "compile"]


def compile(flow: Flow, *, subflows: Mapping[str, Flow] | None = None) -> Program:
    """Validate *flow* (and the subflows it runs: those it carries, and *subflows*) and freeze
    it into a Program.

    Raises FlowValidationError listing every error; warnings never block.
    """
    library = subflow_library(flow, subflows)
    issues = [i for i in validate(flow, subflows=library) if i.severity == "error"]
    if issues:
        raise FlowValidationError(issues)
    compiled: dict[str, Program] = {}
    _collect(flow, library, compiled, stack=(flow.name,))
    root = _freeze(flow, MappingProxyType(compiled))
    flows = [flow, *(library[name] for name in compiled)]
    trust = combine((f.trust, [t for _, _, t in code_targets(f)]) for f in flows)
    return replace(root, trust=trust)


def _collect(
    flow: Flow, library: Mapping[str, Flow], out: dict[str, Program], stack: tuple[str, ...]
) -> None:
    for node_id in flow:
        for name in get_kind(flow.kind(node_id), node_id=node_id).subflows_called(
            flow.params(node_id)
        ):
            _collect_one(flow, node_id, name, library, out, stack)


def _collect_one(
    flow: Flow,
    node_id: str,
    name: str,
    library: Mapping[str, Flow],
    out: dict[str, Program],
    stack: tuple[str, ...],
) -> None:
    if name in stack:
        raise FlowError(
            f"subflow {name!r} calls itself ({' -> '.join((*stack, name))})",
            node_id=node_id,
            field="flow",
        )
    if name in out:
        return
    sub = library.get(name)
    if sub is None:  # validate() reports it first; kept so a KeyError can never escape
        known = ", ".join(sorted(library)) or "none"
        raise FlowValidationError(
            [Issue("error", node_id, "flow", f"unknown subflow {name!r}; supplied: {known}")]
        )
    # the subflow's own errors, named "subflow/node" as in traces
    issues = [
        replace(i, node_id=f"{name}/{i.node_id}" if i.node_id else name)
        for i in validate(sub, subflows=library)
        if i.severity == "error"
    ]
    if issues:
        raise FlowValidationError(issues)
    _collect(sub, library, out, (*stack, name))
    out[name] = _freeze(sub, MappingProxyType({}))


def _freeze(flow: Flow, subflows: Mapping[str, Program]) -> Program:
    """The program of one validated flow: nodes read straight from the graph, params copied once
    (so later edits to the flow never reach a program), and the version hashed from the logic
    only: labels, layout and description do not make a new version."""
    data, succ = flow.graph.nodes, flow.graph.succ
    nodes: dict[str, NodeSpec] = {}
    logic_nodes: dict[str, Any] = {}
    for node_id in sorted(data):
        attrs = data[node_id]
        kind = get_kind(attrs["kind"], node_id=node_id)
        params = plain_copy(attrs["params"])
        edges = {k: v for v, keys in succ[node_id].items() for k in keys}
        nodes[node_id] = NodeSpec(
            id=node_id,
            kind=kind.name,
            params=MappingProxyType(params),
            edges=MappingProxyType(edges),
            prepared=kind.prepare(params),
        )
        logic_nodes[node_id] = {"kind": kind.name, "params": params, "edges": edges}
    settings = flow.settings
    logic = {
        "schema": SCHEMA_VERSION,
        "name": flow.name,
        "entry": flow.entry,
        "settings": settings,
        "nodes": logic_nodes,
        "subflows": {name: p.version for name, p in sorted(subflows.items())},
    }
    text = json.dumps(logic, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    assert flow.entry is not None  # validate() guarantees it
    return Program(
        name=flow.name,
        version=digest,
        entry=flow.entry,
        nodes=MappingProxyType(nodes),
        settings=MappingProxyType(settings),
        subflows=subflows,
    )
