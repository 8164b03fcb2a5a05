"""``Flow``: a call flow as a networkx ``MultiDiGraph``.

Nodes carry ``kind``, ``params`` (defaults filled in) and ``label``; an edge's key is the outcome it
leaves through, so each outcome of a node has at most one edge. Layout (``pos``) is kept beside the
logic and saved apart from it, so a diff of two saved flows shows logic changes only.

>>> flow = (Flow("hello")
...         .add("welcome", "play", prompt="Hello {caller}")
...         .add("bye", "hangup")
...         .connect("welcome", "bye"))
>>> flow.entry, sorted(flow.graph.nodes), list(flow.graph.edges(keys=True))
('welcome', ['bye', 'welcome'], [('welcome', 'bye', 'next')])
>>> Flow.from_json(flow.to_json()) == flow
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import networkx as nx

from flowbuilder import flowfile
from flowbuilder.errors import FlowError, UnknownNodeKindError
from flowbuilder.flowdiff import FlowDiff
from flowbuilder.flowfile import DEFAULT_SETTINGS, SCHEMA_VERSION, plain_copy
from flowbuilder.names import FLOW_NAME, NODE_ID
from flowbuilder.nodes._base import DEFAULT_VOICE, NodeKind, get_kind
from flowbuilder.trust import TRUSTED, Trust, file_trust

Listener = Callable[["FlowChange"], None]


@dataclass(frozen=True)
class FlowChange:
    """What changed: ``action`` (add, remove, params, label, connect, disconnect, layout,
    settings, subflows, replace) and the node or edge it touched."""

    action: str
    node_id: str | None = None
    outcome: str | None = None
    target: str | None = None


class Flow:
    """A call flow: build it in code or in the builder; save, load, diff, validate, compile."""

    def __init__(
        self,
        name: str = "flow",
        *,
        entry: str | None = None,
        voice: str = DEFAULT_VOICE,
        timezone: str = "UTC",
        on_error: str | None = None,
        description: str = "",
    ) -> None:
        if not FLOW_NAME.match(name):
            raise FlowError(
                f"flow name {name!r} must be 1-64 letters, digits, _ . or -", field="name"
            )
        self.graph: nx.MultiDiGraph = nx.MultiDiGraph()
        self.graph.graph.update(
            name=name,
            entry=entry,
            description=description,
            settings={
                **DEFAULT_SETTINGS,
                "voice": voice,
                "timezone": timezone,
                "on_error": on_error,
            },
        )
        self._listeners: list[Listener] = []
        self._subflows: dict[str, Flow] = {}
        self._subflow_refs: dict[str, str] = {}
        #: the directory this flow was read from (subflow references are relative to it)
        self.source_dir: Path | None = None
        #: Which Python functions its python nodes may call (:mod:`flowbuilder.trust`): a flow
        #: built in code is trusted; one read from a file gets the operator's allow list. Never
        #: saved: a file cannot grant itself trust.
        self.trust: Trust = TRUSTED

    # -- properties -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.graph.graph["name"])

    @property
    def entry(self) -> str | None:
        """The node every call starts at (by default the first node added)."""
        entry = self.graph.graph["entry"]
        return str(entry) if entry is not None else None

    @entry.setter
    def entry(self, node_id: str | None) -> None:
        if node_id is not None:
            self._require(node_id)
        self.graph.graph["entry"] = node_id
        self._emit(FlowChange("settings", node_id))

    @property
    def settings(self) -> dict[str, Any]:
        """Flow-wide settings: ``voice``, ``timezone``, ``on_error`` (node for errors)."""
        return dict(self.graph.graph["settings"])

    @property
    def description(self) -> str:
        return str(self.graph.graph.get("description", ""))

    def configure(self, **settings: Any) -> Flow:
        """Change flow settings: ``voice``, ``timezone``, ``on_error``, ``description``."""
        for key, value in settings.items():
            if key == "description":
                self.graph.graph["description"] = str(value)
            elif key in DEFAULT_SETTINGS:
                if key == "on_error" and value is not None:
                    self._require(value)
                self.graph.graph["settings"][key] = value
            else:
                raise FlowError(
                    f"unknown setting {key!r}; settings are "
                    f"{', '.join([*DEFAULT_SETTINGS, 'description'])}",
                    field=key,
                )
        self._emit(FlowChange("settings"))
        return self

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.graph

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.graph.nodes))

    # -- building ---------------------------------------------------------------------------

    def add(
        self,
        node_id: str,
        kind: str,
        *,
        label: str = "",
        pos: tuple[float, float] | None = None,
        **params: Any,
    ) -> Flow:
        """Add a node of *kind*; parameters are checked against the kind's declaration.

        The first node added becomes the entry. Returns the flow, so calls chain.
        """
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            raise FlowError(
                f"node id {node_id!r} must start with a letter and hold only letters, "
                "digits, _ or - (64 at most)",
                node_id=str(node_id),
                field="id",
            )
        if node_id in self.graph:
            raise FlowError(
                "a node with this id already exists; pick another id", node_id=node_id, field="id"
            )
        spec = get_kind(kind, node_id=node_id)
        full = plain_copy(spec.normalize(params, node_id=node_id))
        self.graph.add_node(node_id, kind=kind, params=full, label=str(label))
        if pos is not None:
            self.graph.nodes[node_id]["pos"] = (float(pos[0]), float(pos[1]))
        if self.graph.graph["entry"] is None:
            self.graph.graph["entry"] = node_id
        self._emit(FlowChange("add", node_id))
        return self

    def connect(self, source: str, target: str, *given: str | None) -> Flow:
        """Route *source*'s *outcomes* (one or several) to *target*, replacing any edge they had.

        The outcome may be left out when the source kind has a single outcome.

        >>> flow = Flow("f").add("ask", "gather", prompt="PIN?", variable="pin")
        >>> flow.add("end", "hangup").connect("ask", "end", "done", "timeout").edges_from("ask")
        {'done': 'end', 'timeout': 'end'}
        """
        self._require(source)
        self._require(target)
        declared = self.outcomes(source)
        outcomes = tuple(o for o in given if o is not None)
        if not declared:
            raise FlowError(
                f"{self.kind(source)} ends the call: nothing can follow it",
                node_id=source,
                field="outcome",
            )
        if not outcomes:
            if len(declared) != 1:
                raise FlowError(
                    f"say which outcome to connect: one of {', '.join(declared)}",
                    node_id=source,
                    field="outcome",
                )
            outcomes = (declared[0],)
        for outcome in outcomes:  # all checked before any is connected
            if outcome not in declared:
                raise FlowError(
                    f"{self.kind(source)} has no outcome {outcome!r}; outcomes: "
                    f"{', '.join(declared)}",
                    node_id=source,
                    field="outcome",
                )
        for outcome in outcomes:
            previous = self.next(source, outcome)
            if previous is not None:
                self.graph.remove_edge(source, previous, key=outcome)
            self.graph.add_edge(source, target, key=outcome)
            self._emit(FlowChange("connect", source, outcome, target))
        return self

    def disconnect(self, source: str, outcome: str) -> Flow:
        """Remove the edge leaving *source* through *outcome* (no error when there is none)."""
        target = self.next(source, outcome)
        if target is not None:
            self.graph.remove_edge(source, target, key=outcome)
            self._emit(FlowChange("disconnect", source, outcome))
        return self

    def remove(self, node_id: str) -> Flow:
        """Remove a node and its edges; a removed entry leaves the flow with no entry."""
        self._require(node_id)
        self.graph.remove_node(node_id)
        if self.graph.graph["entry"] == node_id:
            self.graph.graph["entry"] = None
        if self.graph.graph["settings"].get("on_error") == node_id:
            self.graph.graph["settings"]["on_error"] = None
        self._emit(FlowChange("remove", node_id))
        return self

    def set_params(self, node_id: str, **params: Any) -> Flow:
        """Change some parameters of a node; refused values raise NodeConfigError naming them.

        Edges of outcomes that no longer exist (a menu option removed) are dropped.
        """
        self._require(node_id)
        data = self.graph.nodes[node_id]
        spec = get_kind(data["kind"], node_id=node_id)
        merged = plain_copy(spec.normalize({**data["params"], **params}, node_id=node_id))
        data["params"] = merged
        for outcome in [o for o in self.edges_from(node_id) if o not in spec.outcomes(merged)]:
            self.disconnect(node_id, outcome)
        self._emit(FlowChange("params", node_id))
        return self

    def set_label(self, node_id: str, label: str) -> Flow:
        self._require(node_id)
        self.graph.nodes[node_id]["label"] = label
        self._emit(FlowChange("label", node_id))
        return self

    def move(self, node_id: str, x: float, y: float) -> Flow:
        """Place a node on the canvas (layout only, never part of the logic)."""
        self._require(node_id)
        self.graph.nodes[node_id]["pos"] = (float(x), float(y))
        self._emit(FlowChange("layout", node_id))
        return self

    @property
    def notes(self) -> list[dict[str, Any]]:
        """Notes on the canvas (``{"id", "text", "x", "y"}``): layout, not logic."""
        return [dict(n) for n in self.graph.graph.get("notes") or []]

    def set_notes(self, notes: list[dict[str, Any]]) -> Flow:
        """Replace the canvas notes (:mod:`flowbuilder.ui.notes` edits them one by one)."""
        self.graph.graph["notes"] = flowfile.read_notes(notes)
        self._emit(FlowChange("layout"))
        return self

    def rename(self, node_id: str, new_id: str) -> Flow:
        """Give a node a new id, keeping its edges, entry and error-path roles."""
        self._require(node_id)
        if not isinstance(new_id, str) or not NODE_ID.match(new_id):
            raise FlowError(
                f"cannot rename to {new_id!r}: invalid or taken (an id starts with a letter "
                "and holds only letters, digits, _ or -, 64 at most)",
                node_id=node_id,
                field="id",
            )
        if new_id in self.graph:
            raise FlowError(
                f"cannot rename to {new_id!r}: invalid or taken (a node with that id exists)",
                node_id=node_id,
                field="id",
            )
        nx.relabel_nodes(self.graph, {node_id: new_id}, copy=False)
        if self.graph.graph["entry"] == node_id:
            self.graph.graph["entry"] = new_id
        if self.graph.graph["settings"].get("on_error") == node_id:
            self.graph.graph["settings"]["on_error"] = new_id
        self._emit(FlowChange("replace", node_id, target=new_id))
        return self

    # -- reading ----------------------------------------------------------------------------

    def kind(self, node_id: str) -> str:
        self._require(node_id)
        return str(self.graph.nodes[node_id]["kind"])

    def spec(self, node_id: str) -> NodeKind:
        return get_kind(self.kind(node_id), node_id=node_id)

    def params(self, node_id: str) -> dict[str, Any]:
        """A copy of the node's parameters (change them with :meth:`set_params`)."""
        self._require(node_id)
        return plain_copy(self.graph.nodes[node_id]["params"])  # type: ignore[no-any-return]

    def label(self, node_id: str) -> str:
        self._require(node_id)
        return str(self.graph.nodes[node_id].get("label") or "")

    def outcomes(self, node_id: str) -> tuple[str, ...]:
        """The outcomes a node can leave through (its kind's, given its params)."""
        self._require(node_id)
        data = self.graph.nodes[node_id]
        try:
            return get_kind(data["kind"], node_id=node_id).outcomes(data["params"])
        except UnknownNodeKindError:
            return tuple(sorted(self.edges_from(node_id)))

    def edges_from(self, node_id: str) -> dict[str, str]:
        """``{outcome: target}`` for a node's outgoing edges."""
        self._require(node_id)
        # succ[node] is {target: {outcome: data}}; out_edges() would take an unknown id made of
        # letters for a list of node ids
        return {k: v for v, keys in self.graph.succ[node_id].items() for k in keys}

    def next(self, node_id: str, outcome: str) -> str | None:
        return self.edges_from(node_id).get(outcome)

    def positions(self) -> dict[str, tuple[float, float]]:
        return {n: d["pos"] for n, d in self.graph.nodes(data=True) if "pos" in d}

    # -- change notification (the builder widget listens) -----------------------------------

    def observe(self, listener: Listener) -> Callable[[], None]:
        """Call *listener* after every change; returns a function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, change: FlowChange) -> None:
        for listener in list(self._listeners):
            listener(change)

    def _require(self, node_id: str) -> None:
        if node_id not in self.graph:
            raise FlowError("no such node", node_id=node_id)

    # -- subflows ---------------------------------------------------------------------------

    @property
    def subflows(self) -> Mapping[str, Flow]:
        """The flows this flow's ``subflow`` nodes run, by name; they are saved with it."""
        return MappingProxyType(self._subflows)

    @property
    def subflow_refs(self) -> Mapping[str, str]:
        """Subflows read from files of their own: name -> path (relative to :attr:`source_dir`),
        written back as paths when this flow is saved."""
        return MappingProxyType(self._subflow_refs)

    def use(self, subflow: Flow, *, name: str | None = None, ref: str | None = None) -> Flow:
        """Make *subflow* available to ``subflow`` nodes as *name* (default: its own name). It
        travels with this flow: saved inside its file (or as the path *ref*, for a subflow kept
        in a file of its own), exported with it, compiled with it."""
        if not isinstance(subflow, Flow):
            raise TypeError(f"a subflow must be a Flow, got {type(subflow).__name__}")
        name = subflow.name if name is None else name
        if not FLOW_NAME.match(name):
            raise FlowError(f"subflow name {name!r} must be 1-64 letters, digits, _ . or -")
        if subflow is self:
            raise FlowError(f"flow {name!r} cannot be its own subflow", field="subflows")
        self._subflows[name] = subflow
        if ref is None:
            self._subflow_refs.pop(name, None)
        else:
            self._subflow_refs[name] = ref
        self._emit(FlowChange("subflows", target=name))
        return self

    def drop_subflow(self, name: str) -> Flow:
        """Stop carrying subflow *name* (no error when there is none)."""
        if self._subflows.pop(name, None) is not None:
            self._subflow_refs.pop(name, None)
            self._emit(FlowChange("subflows", target=name))
        return self

    # -- data (the file format is flowbuilder.flowfile's) -----------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data with a stable order: logic first, layout apart, subflows inside."""
        return flowfile.to_data(self)

    def to_json(self) -> str:
        """Deterministic JSON: the same flow always gives the same text."""
        return flowfile.dumps(self.to_dict())

    def save(self, path: str | Path) -> Path:
        """Write the flow to *path* (atomically); subflows read from files stay references."""
        return flowfile.write(self, path)

    # Data is not code: a flow read from data or a file (and every subflow it carries) calls
    # Python functions only from the modules in *allow*, FLOWBUILDER_ALLOW and
    # flowbuilder.trust.DEFAULT_ALLOWED; a module that can never be allowed raises FlowError.

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "flow",
        base: Path | None = None,
        allow: str | Iterable[str] | None = None,
    ) -> Flow:
        """A flow from plain data (as from :meth:`to_dict`); see :func:`flowfile.from_data`.
        Its python nodes call functions only from the modules *allow* names (:attr:`trust`)."""
        trust = file_trust(source, allow)
        return mark_trust(flowfile.from_data(cls, data, source=source, base=base), trust)

    @classmethod
    def from_json(
        cls, text: str | bytes, *, source: str = "flow", allow: str | Iterable[str] | None = None
    ) -> Flow:
        """A flow from JSON text; *allow* as in :meth:`from_dict`."""
        trust = file_trust(source, allow)
        return mark_trust(flowfile.loads(cls, text, source=source), trust)

    @classmethod
    def load(cls, path: str | Path, *, allow: str | Iterable[str] | None = None) -> Flow:
        """Load a saved JSON flow (and the subflows it references, relative to it). Its python
        nodes call functions only from the modules *allow* names (:mod:`flowbuilder.trust`)."""
        trust = file_trust(str(path), allow)
        return mark_trust(flowfile.read(cls, path), trust)

    def copy(self) -> Flow:
        """An independent copy, with the same :attr:`trust` (its subflows' too)."""
        other = flowfile.from_data(Flow, self.to_dict(), base=self.source_dir)
        _copy_trust(self, other)
        return other

    def restore(self, data: Mapping[str, Any]) -> Flow:
        """Replace this flow's content with *data* (as from ``to_dict``), in place: the object
        others hold stays the same (the editor's undo). Listeners see one ``replace`` change."""
        other = flowfile.from_data(Flow, data, base=self.source_dir)
        self.graph.clear()
        self.graph.graph.update(other.graph.graph)
        self.graph.add_nodes_from(other.graph.nodes(data=True))
        self.graph.add_edges_from(other.graph.edges(keys=True))
        self._subflows, self._subflow_refs = other._subflows, other._subflow_refs
        mark_trust(self, self.trust)  # what this flow was trusted with, its subflows too
        self._emit(FlowChange("replace"))
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Flow):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        subflows = f", subflows={sorted(self._subflows)}" if self._subflows else ""
        return (
            f"<Flow {self.name!r}: {len(self)} nodes, "
            f"{self.graph.number_of_edges()} edges, entry={self.entry!r}{subflows}>"
        )

    def diff(self, other: Flow) -> FlowDiff:
        """What changed from this flow to *other*, in terms of nodes, params, edges, settings
        and subflows. Layout is not logic: moving nodes around changes nothing here.

        >>> old = Flow("f").add("hi", "play", prompt="Hi").add("bye", "hangup")
        >>> new = old.copy().set_params("hi", prompt="Hello").connect("hi", "bye").move("hi", 5, 5)
        >>> print(old.diff(new))
        ~ hi.params.prompt: 'Hi' -> 'Hello'
        + edge hi --next--> bye
        >>> bool(old.diff(old.copy().move("bye", 1, 1)))
        False
        """
        return FlowDiff.between(self.to_dict(), other.to_dict())


def mark_trust(flow: Flow, trust: Trust) -> Flow:
    """Give *flow* and every subflow it carries *trust*; returns *flow*."""
    flow.trust = trust
    for sub in flow.subflows.values():
        mark_trust(sub, trust)
    return flow


def _copy_trust(source: Flow, target: Flow) -> None:
    target.trust = source.trust
    for name, sub in target.subflows.items():
        original = source.subflows.get(name)
        if original is not None:
            _copy_trust(original, sub)
        else:
            mark_trust(sub, source.trust)


__all__ = ["DEFAULT_SETTINGS", "SCHEMA_VERSION", "Flow", "FlowChange", "FlowDiff"]
