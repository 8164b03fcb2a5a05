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

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

import flowbuilder.nodes  # noqa: F401  (registers every kind)
from flowbuilder.errors import FlowError, NodeConfigError, UnknownNodeKindError
from flowbuilder.nodes._base import DEFAULT_VOICE, NodeKind, get_kind

SCHEMA_VERSION = 1
NODE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
FLOW_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
DEFAULT_SETTINGS: dict[str, Any] = {
    "voice": DEFAULT_VOICE,
    "timezone": "UTC",
    "on_error": None,
}

Listener = Callable[["FlowChange"], None]


@dataclass(frozen=True)
class FlowChange:
    """What changed: ``action`` (add, remove, params, label, connect, disconnect, layout,
    settings, replace) and the node or edge it touched."""

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
        full = _plain_copy(spec.normalize(params, node_id=node_id))
        self.graph.add_node(node_id, kind=kind, params=full, label=str(label))
        if pos is not None:
            self.graph.nodes[node_id]["pos"] = (float(pos[0]), float(pos[1]))
        if self.graph.graph["entry"] is None:
            self.graph.graph["entry"] = node_id
        self._emit(FlowChange("add", node_id))
        return self

    def connect(self, source: str, target: str, outcome: str | None = None) -> Flow:
        """Route *source*'s *outcome* to *target*, replacing any edge that outcome had.

        *outcome* may be left out when the source kind has a single outcome.
        """
        self._require(source)
        self._require(target)
        outcomes = self.outcomes(source)
        if not outcomes:
            raise FlowError(
                f"{self.kind(source)} ends the call: nothing can follow it",
                node_id=source,
                field="outcome",
            )
        if outcome is None:
            if len(outcomes) != 1:
                raise FlowError(
                    f"say which outcome to connect: one of {', '.join(outcomes)}",
                    node_id=source,
                    field="outcome",
                )
            outcome = outcomes[0]
        if outcome not in outcomes:
            choices = ", ".join(outcomes) or "none (it ends the call)"
            raise FlowError(
                f"{self.kind(source)} has no outcome {outcome!r}; outcomes: {choices}",
                node_id=source,
                field="outcome",
            )
        if self.graph.has_edge(source, self.next(source, outcome) or "", key=outcome):
            self.graph.remove_edge(source, self.next(source, outcome), key=outcome)
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
        merged = _plain_copy(spec.normalize({**data["params"], **params}, node_id=node_id))
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
        """Replace the canvas notes (see :mod:`flowbuilder.ui.notes` for editing them)."""
        self.graph.graph["notes"] = _notes_from(notes, "notes")
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
        return _plain_copy(self.graph.nodes[node_id]["params"])  # type: ignore[no-any-return]

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

    # -- data -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data with a stable order: logic first, layout apart."""
        nodes = {}
        for node_id in sorted(self.graph.nodes):
            data = self.graph.nodes[node_id]
            entry: dict[str, Any] = {"kind": data["kind"]}
            if data.get("label"):
                entry["label"] = data["label"]
            entry["params"] = _plain_copy(data["params"])
            nodes[node_id] = entry
        edges = [
            {"from": u, "outcome": k, "to": v}
            for u, k, v in sorted(
                (u, k, v)
                for u, targets in self.graph.succ.items()
                for v, keys in targets.items()
                for k in keys
            )
        ]
        layout = {
            n: {"x": round(p[0], 1), "y": round(p[1], 1)}
            for n, p in sorted(self.positions().items())
        }
        data = {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "entry": self.entry,
            "settings": self.settings,
            "nodes": nodes,
            "edges": edges,
            "layout": layout,
        }
        notes = self.graph.graph.get("notes")
        if (
            notes
        ):  # notes on the canvas: layout, like positions (files without any stay as they were)
            data["notes"] = sorted((dict(n) for n in notes), key=lambda n: str(n["id"]))
        return data

    def to_json(self) -> str:
        """Deterministic JSON: the same flow always gives the same text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "flow") -> Flow:
        """Load plain data (as from :meth:`to_dict`).

        Values out of bounds, unknown kinds and odd node ids are kept as written, for
        :func:`~flowbuilder.validate.validate` to report with the rest; a structurally broken
        document (wrong schema, edges to unknown nodes, an outcome connected twice...) raises
        one FlowError saying where.
        """
        if not isinstance(data, Mapping):
            raise _load_error(source, f"a flow must be a JSON object, got {type(data).__name__}")
        schema = data.get("schema")
        if schema != SCHEMA_VERSION:
            raise _load_error(
                source,
                f"unsupported schema {schema!r} (this version reads {SCHEMA_VERSION})",
                field="schema",
            )
        raw_settings = data.get("settings") or {}
        if not isinstance(raw_settings, Mapping):
            raise _load_error(source, "'settings' must be an object", field="settings")
        settings = {**DEFAULT_SETTINGS, **raw_settings}
        try:
            flow = cls(
                str(data.get("name") or "flow"),
                voice=settings["voice"],
                timezone=settings["timezone"],
                description=str(data.get("description") or ""),
            )
        except FlowError as exc:
            raise _load_error(source, exc.reason, field="name") from None
        flow.graph.graph["settings"] = settings
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, Mapping):
            raise _load_error(source, "'nodes' must be an object of node id -> node", field="nodes")
        for node_id, node in raw_nodes.items():
            if not isinstance(node, Mapping) or not isinstance(node.get("kind"), str):
                raise _load_error(
                    source, f"node {node_id!r} must be an object with a 'kind'", node_id=node_id
                )
            params = node.get("params") or {}
            if not isinstance(params, Mapping):
                raise _load_error(
                    source, f"params of {node_id!r} must be an object", node_id=node_id
                )
            try:
                kind = get_kind(node["kind"])
            except UnknownNodeKindError:
                params = dict(params)  # kept as written; validate() reports the kind
            else:
                try:
                    params = kind.normalize(params, node_id=node_id)
                except NodeConfigError:  # kept, defaults filled in; validate() reports it
                    params = {**kind.defaults(), **params}
            flow.graph.add_node(
                node_id,
                kind=node["kind"],
                params=_plain_copy(params),
                label=str(node.get("label") or ""),
            )
        raw_edges = data.get("edges") or []
        if not isinstance(raw_edges, list):
            raise _load_error(source, "'edges' must be a list", field="edges")
        for i, edge in enumerate(raw_edges):
            try:
                u, k, v = edge["from"], edge["outcome"], edge["to"]
            except (KeyError, TypeError):
                raise _load_error(
                    source, f"edges[{i}] needs from, outcome and to", field="edges"
                ) from None
            for end in (u, v):
                if not isinstance(end, str) or end not in flow.graph:
                    raise _load_error(
                        source, f"edges[{i}] refers to unknown node {end!r}", field="edges"
                    )
            if not isinstance(k, str):
                raise _load_error(source, f"edges[{i}] outcome must be text", field="edges")
            if k in flow.edges_from(u):
                raise _load_error(
                    source,
                    f"edges[{i}] connects outcome {k!r} of {u!r} a second time",
                    field="edges",
                )
            flow.graph.add_edge(u, v, key=k)
        raw_layout = data.get("layout") or {}
        if not isinstance(raw_layout, Mapping):
            raise _load_error(source, "'layout' must be an object", field="layout")
        for node_id, p in raw_layout.items():
            if node_id in flow.graph:
                try:
                    flow.graph.nodes[node_id]["pos"] = (float(p["x"]), float(p["y"]))
                except (KeyError, TypeError, ValueError):
                    raise _load_error(
                        source,
                        f"layout of {node_id!r} must be {{'x': number, 'y': number}}",
                        field="layout",
                    ) from None
        flow.graph.graph["notes"] = _notes_from(data.get("notes"), source)
        entry = data.get("entry")
        if entry is not None and (not isinstance(entry, str) or entry not in flow.graph):
            raise _load_error(source, f"entry {entry!r} is not a node", field="entry")
        flow.graph.graph["entry"] = entry
        return flow

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "flow") -> Flow:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise FlowError(f"{source}: not valid JSON: {exc}") from None
        except RecursionError:
            raise FlowError(f"{source}: not valid JSON: nested too deeply") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def load(cls, path: str | Path) -> Flow:
        """Load a saved JSON flow."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise FlowError(f"{path}: cannot read: {exc.strerror}") from None
        return cls.from_json(text, source=str(path))

    @classmethod
    def from_module(cls, path: str | Path) -> Flow:
        """The flow of a module written by :meth:`export_python` (imports it: trusted files
        only). Raises ExportError naming the file when it cannot."""
        from flowbuilder.export import load_module

        return load_module(path)

    def export_python(self, path: str | Path) -> Path:
        """Write this flow as a standalone Python module that serves it (``python PATH``)."""
        from flowbuilder.export import export_python

        return export_python(self, path)

    def copy(self) -> Flow:
        return Flow.from_dict(self.to_dict())

    def restore(self, data: Mapping[str, Any]) -> Flow:
        """Replace this flow's content with *data* (as from ``to_dict``), in place: the object
        others hold stays the same (the editor's undo). Listeners see one ``replace`` change."""
        other = Flow.from_dict(data)
        self.graph.clear()
        self.graph.graph.update(other.graph.graph)
        self.graph.add_nodes_from(other.graph.nodes(data=True))
        self.graph.add_edges_from(other.graph.edges(keys=True))
        self._emit(FlowChange("replace"))
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Flow):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Flow {self.name!r}: {len(self)} nodes, "
            f"{self.graph.number_of_edges()} edges, entry={self.entry!r}>"
        )

    # -- comparison -------------------------------------------------------------------------

    def diff(self, other: Flow) -> FlowDiff:
        """What changed from this flow to *other*, in terms of nodes, params, edges, settings.

        Layout is not logic: moving nodes around changes nothing here.

        >>> old = Flow("f").add("hi", "play", prompt="Hi").add("bye", "hangup")
        >>> new = old.copy().set_params("hi", prompt="Hello").connect("hi", "bye").move("hi", 5, 5)
        >>> print(old.diff(new))
        ~ hi.params.prompt: 'Hi' -> 'Hello'
        + edge hi --next--> bye
        >>> bool(old.diff(old.copy().move("bye", 1, 1)))
        False
        """
        return FlowDiff.between(self, other)


@dataclass
class FlowDiff:
    """A semantic diff between two flows; layout is ignored. ``str()`` reads like a changelog."""

    nodes_added: list[str] = field(default_factory=list)
    nodes_removed: list[str] = field(default_factory=list)
    nodes_changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    edges_added: list[tuple[str, str, str]] = field(default_factory=list)
    edges_removed: list[tuple[str, str, str]] = field(default_factory=list)
    edges_changed: list[tuple[str, str, str, str]] = field(default_factory=list)
    settings_changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @classmethod
    def between(cls, a: Flow, b: Flow) -> FlowDiff:
        da, db = a.to_dict(), b.to_dict()
        diff = cls()
        na, nb = da["nodes"], db["nodes"]
        diff.nodes_added = sorted(set(nb) - set(na))
        diff.nodes_removed = sorted(set(na) - set(nb))
        for node_id in sorted(set(na) & set(nb)):
            changes: dict[str, tuple[Any, Any]] = {}
            old, new = na[node_id], nb[node_id]
            if old["kind"] != new["kind"]:
                changes["kind"] = (old["kind"], new["kind"])
            if old.get("label", "") != new.get("label", ""):  # an empty label is left out
                changes["label"] = (old.get("label", ""), new.get("label", ""))
            for key in sorted(set(old["params"]) | set(new["params"])):
                if old["params"].get(key) != new["params"].get(key):
                    changes[f"params.{key}"] = (old["params"].get(key), new["params"].get(key))
            if changes:
                diff.nodes_changed[node_id] = changes
        ea = {(e["from"], e["outcome"]): e["to"] for e in da["edges"]}
        eb = {(e["from"], e["outcome"]): e["to"] for e in db["edges"]}
        for edge in sorted(set(eb) - set(ea)):
            diff.edges_added.append((edge[0], edge[1], eb[edge]))
        for edge in sorted(set(ea) - set(eb)):
            diff.edges_removed.append((edge[0], edge[1], ea[edge]))
        for edge in sorted(set(ea) & set(eb)):
            if ea[edge] != eb[edge]:
                diff.edges_changed.append((edge[0], edge[1], ea[edge], eb[edge]))
        for key in ("name", "description", "entry"):
            if da[key] != db[key]:
                diff.settings_changed[key] = (da[key], db[key])
        for key in sorted(set(da["settings"]) | set(db["settings"])):
            if da["settings"].get(key) != db["settings"].get(key):
                diff.settings_changed[key] = (da["settings"].get(key), db["settings"].get(key))
        return diff

    def __bool__(self) -> bool:
        return any(getattr(self, f) for f in self.__dataclass_fields__)

    def __str__(self) -> str:
        lines = [f"+ node {n}" for n in self.nodes_added]
        lines += [f"- node {n}" for n in self.nodes_removed]
        for node_id, changes in self.nodes_changed.items():
            lines += [f"~ {node_id}.{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items()]
        lines += [f"+ edge {u} --{k}--> {v}" for u, k, v in self.edges_added]
        lines += [f"- edge {u} --{k}--> {v}" for u, k, v in self.edges_removed]
        lines += [f"~ edge {u} --{k}--> {old} => {new}" for u, k, old, new in self.edges_changed]
        lines += [f"~ {k}: {old!r} -> {new!r}" for k, (old, new) in self.settings_changed.items()]
        return "\n".join(lines) if lines else "no changes"


def _load_error(
    source: str, message: str, *, node_id: str | None = None, field: str | None = None
) -> FlowError:
    """A load problem, one line led by the file (or *source*) rather than the node and field,
    which are still set on the exception."""
    error = FlowError(f"{source}: {message}")
    error.node_id, error.field, error.reason = node_id, field, message
    return error


def _notes_from(raw: Any, source: str) -> list[dict[str, Any]]:
    """The canvas notes of a saved flow: ``[{"id", "text", "x", "y"}]``."""
    notes: list[dict[str, Any]] = []
    for i, note in enumerate(raw or []):
        try:
            notes.append(
                {
                    "id": str(note["id"]),
                    "text": str(note.get("text") or ""),
                    "x": float(note["x"]),
                    "y": float(note["y"]),
                }
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _load_error(
                source, f"notes[{i}] must be {{'id', 'text', 'x', 'y'}}", field="notes"
            ) from None
    return notes


def _plain_copy(value: Any) -> Any:
    """A copy of JSON-like data (dicts and lists copied, leaves shared)."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


__all__ = ["SCHEMA_VERSION", "Flow", "FlowChange", "FlowDiff"]
