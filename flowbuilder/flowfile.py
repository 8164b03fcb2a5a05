"""The saved-flow format: deterministic JSON, logic first, layout apart, subflows inside.

A flow file carries everything the flow needs to run, so the editor, the tests, the CLI, an
exported module and production all run the same thing::

    {"schema": 1, "name": ..., "description": ..., "entry": ..., "settings": {...},
     "nodes": {id: {"kind", "label"?, "params"}}, "edges": [{"from", "outcome", "to"}],
     "layout": {id: {"x", "y"}}, "notes": [...]?,
     "subflows": {name: <a flow, embedded> | "relative/path.json"}?}

A subflow is embedded (a whole flow document) or referenced by a path relative to the file that
names it; references are resolved when the file is read and written back as they were, so a
subflow kept in a file of its own stays there. Keys are sorted and the same flow always gives
the same text, so a diff of two saved flows shows what changed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from flowbuilder.errors import FlowError, NodeConfigError, UnknownNodeKindError
from flowbuilder.names import FLOW_NAME
from flowbuilder.nodes._base import DEFAULT_VOICE, get_kind

if TYPE_CHECKING:
    from flowbuilder.flow import Flow

SCHEMA_VERSION: Final = 1
DEFAULT_SETTINGS: Final[dict[str, Any]] = {
    "voice": DEFAULT_VOICE,
    "timezone": "UTC",
    "on_error": None,
    # what callers hear when the flow cannot go on (None: the engine's English apology), and in
    # which voice ("": the flow's), so a French line apologises in French
    "fallback_message": None,
    "fallback_voice": "",
    "allow_private_network": False,  # http_request may reach loopback and private addresses
}
F = TypeVar("F", bound="Flow")


def plain_copy(value: Any) -> Any:
    """A copy of JSON-like data (dicts and lists copied, leaves shared)."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_copy(v) for v in value]
    return value


def load_error(
    source: str, message: str, *, node_id: str | None = None, field: str | None = None
) -> FlowError:
    """A load problem, one line led by the file (or *source*) rather than the node and field,
    which are still set on the exception."""
    error = FlowError(f"{source}: {message}")
    error.node_id, error.field, error.reason = node_id, field, message
    return error


# -- writing -------------------------------------------------------------------------------------


def to_data(flow: Flow, *, base: Path | None = None) -> dict[str, Any]:
    """Plain data with a stable order: logic first, layout apart; subflows referenced by path
    are written as paths relative to *base* (the directory the file goes to)."""
    graph = flow.graph
    nodes = {}
    for node_id in sorted(graph.nodes):
        attrs = graph.nodes[node_id]
        entry: dict[str, Any] = {"kind": attrs["kind"]}
        if attrs.get("label"):
            entry["label"] = attrs["label"]
        entry["params"] = plain_copy(attrs["params"])
        nodes[node_id] = entry
    edges = [
        {"from": u, "outcome": k, "to": v}
        for u, k, v in sorted(
            (u, k, v)
            for u, targets in graph.succ.items()
            for v, keys in targets.items()
            for k in keys
        )
    ]
    layout = {
        n: {"x": round(p[0], 1), "y": round(p[1], 1)} for n, p in sorted(flow.positions().items())
    }
    data: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "name": flow.name,
        "description": flow.description,
        "entry": flow.entry,
        "settings": flow.settings,
        "nodes": nodes,
        "edges": edges,
        "layout": layout,
    }
    notes = graph.graph.get("notes")
    if notes:  # files without notes stay as they were
        data["notes"] = sorted((dict(n) for n in notes), key=lambda n: str(n["id"]))
    if flow.subflows:
        data["subflows"] = {
            name: _reference(flow, name, base) or to_data(sub)
            for name, sub in sorted(flow.subflows.items())
        }
    return data


def _reference(flow: Flow, name: str, base: Path | None) -> str | None:
    """The path a referenced subflow is written as, relative to *base*; None: embed it."""
    ref = flow.subflow_refs.get(name)
    if ref is None:
        return None
    origin = flow.source_dir
    if base is None or origin is None:
        return ref
    return str(Path(os.path.relpath(origin / ref, base)).as_posix())


def dumps(data: Mapping[str, Any]) -> str:
    """Deterministic JSON: the same flow always gives the same text."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(flow: Flow, path: str | os.PathLike[str]) -> Path:
    """Save *flow* at *path*, atomically: a reader sees the old file or the new, never half."""
    path = Path(path)
    text = dumps(to_data(flow, base=path.resolve().parent))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


# -- reading -------------------------------------------------------------------------------------


def read(cls: type[F], path: str | os.PathLike[str], *, _stack: tuple[Path, ...] = ()) -> F:
    """The flow saved at *path*; subflows it references are read too, relative to it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError(f"{path}: cannot read: {exc.strerror}") from None
    resolved = path.resolve()
    return loads(cls, text, source=str(path), base=resolved.parent, _stack=(*_stack, resolved))


def loads(
    cls: type[F],
    text: str | bytes,
    *,
    source: str = "flow",
    base: Path | None = None,
    _stack: tuple[Path, ...] = (),
) -> F:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FlowError(f"{source}: not valid JSON: {exc}") from None
    except RecursionError:
        raise FlowError(f"{source}: not valid JSON: nested too deeply") from None
    return from_data(cls, data, source=source, base=base, _stack=_stack)


def from_data(
    cls: type[F],
    data: Any,
    *,
    source: str = "flow",
    base: Path | None = None,
    _stack: tuple[Path, ...] = (),
) -> F:
    """A flow from plain data (as from :func:`to_data`).

    Values out of bounds, unknown kinds and odd node ids are kept as written, for ``validate()``
    to report with the rest; a structurally broken document (wrong schema, edges to unknown
    nodes, an outcome connected twice, a subflow that cannot be read...) raises one FlowError
    saying where. *base* is the directory subflow references are relative to.
    """
    if not isinstance(data, Mapping):
        raise load_error(source, f"a flow must be a JSON object, got {type(data).__name__}")
    schema = data.get("schema")
    if schema is None:
        raise load_error(
            source,
            f"unsupported schema None (this version reads {SCHEMA_VERSION}): not a flowbuilder "
            f'flow file, which starts {{"schema": {SCHEMA_VERSION}, ...}} (Flow.save() writes one)',
            field="schema",
        )
    if schema != SCHEMA_VERSION:
        raise load_error(
            source,
            f"unsupported schema {schema!r} (this version reads {SCHEMA_VERSION})",
            field="schema",
        )
    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, Mapping):
        raise load_error(source, "'settings' must be an object", field="settings")
    settings = {**DEFAULT_SETTINGS, **raw_settings}
    try:
        flow = cls(
            str(data.get("name") or "flow"),
            voice=settings["voice"],
            timezone=settings["timezone"],
            description=str(data.get("description") or ""),
        )
    except FlowError as exc:
        raise load_error(source, exc.reason, field="name") from None
    flow.graph.graph["settings"] = settings
    _read_nodes(flow, data.get("nodes"), source)
    _read_edges(flow, data.get("edges") or [], source)
    _read_layout(flow, data.get("layout") or {}, source)
    # always set, so that restoring a flow without notes (an undo) removes the ones it has
    flow.graph.graph["notes"] = read_notes(data.get("notes"), source)
    entry = data.get("entry")
    if entry is not None and (not isinstance(entry, str) or entry not in flow.graph):
        raise load_error(source, f"entry {entry!r} is not a node", field="entry")
    flow.graph.graph["entry"] = entry
    flow.source_dir = base
    _read_subflows(flow, data.get("subflows") or {}, source, base, _stack)
    return flow


def read_notes(raw: Any, source: str = "notes") -> list[dict[str, Any]]:
    """Canvas notes as saved: ``[{"id", "text", "x", "y"}]`` (layout, never logic)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise load_error(source, "'notes' must be a list of objects", field="notes")
    notes: list[dict[str, Any]] = []
    for i, note in enumerate(raw):
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
            raise load_error(
                source, f"notes[{i}] must be {{'id', 'text', 'x', 'y'}}", field="notes"
            ) from None
    return notes


def _read_nodes(flow: Flow, raw_nodes: Any, source: str) -> None:
    if not isinstance(raw_nodes, Mapping):
        raise load_error(source, "'nodes' must be an object of node id -> node", field="nodes")
    for node_id, node in raw_nodes.items():
        if not isinstance(node, Mapping) or not isinstance(node.get("kind"), str):
            raise load_error(
                source, f"node {node_id!r} must be an object with a 'kind'", node_id=node_id
            )
        params = node.get("params") or {}
        if not isinstance(params, Mapping):
            raise load_error(source, f"params of {node_id!r} must be an object", node_id=node_id)
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
            params=plain_copy(params),
            label=str(node.get("label") or ""),
        )


def _read_edges(flow: Flow, raw_edges: Any, source: str) -> None:
    if not isinstance(raw_edges, list):
        raise load_error(source, "'edges' must be a list", field="edges")
    for i, edge in enumerate(raw_edges):
        try:
            u, k, v = edge["from"], edge["outcome"], edge["to"]
        except (KeyError, TypeError):
            raise load_error(
                source, f"edges[{i}] needs from, outcome and to", field="edges"
            ) from None
        for end in (u, v):
            if not isinstance(end, str) or end not in flow.graph:
                raise load_error(
                    source, f"edges[{i}] refers to unknown node {end!r}", field="edges"
                )
        if not isinstance(k, str):
            raise load_error(source, f"edges[{i}] outcome must be text", field="edges")
        if k in flow.edges_from(u):
            raise load_error(
                source, f"edges[{i}] connects outcome {k!r} of {u!r} a second time", field="edges"
            )
        flow.graph.add_edge(u, v, key=k)


def _read_layout(flow: Flow, raw_layout: Any, source: str) -> None:
    if not isinstance(raw_layout, Mapping):
        raise load_error(source, "'layout' must be an object", field="layout")
    for node_id, p in raw_layout.items():
        if node_id in flow.graph:
            try:
                flow.graph.nodes[node_id]["pos"] = (float(p["x"]), float(p["y"]))
            except (KeyError, TypeError, ValueError):
                raise load_error(
                    source,
                    f"layout of {node_id!r} must be {{'x': number, 'y': number}}",
                    field="layout",
                ) from None


def _read_subflows(
    flow: Flow, raw: Any, source: str, base: Path | None, stack: tuple[Path, ...]
) -> None:
    if not isinstance(raw, Mapping):
        raise load_error(source, "'subflows' must be an object of name -> flow", field="subflows")
    for name, value in raw.items():
        where = f"subflows.{name}"
        if not isinstance(name, str) or not FLOW_NAME.match(name):
            raise load_error(source, f"subflow name {name!r} is not a flow name", field="subflows")
        if isinstance(value, str):  # a reference, relative to this file
            if base is None:
                raise load_error(
                    source,
                    f"subflow {name!r} refers to {value!r}, but this flow was not read from a "
                    "file: embed it, or load the flow with Flow.load(path)",
                    field=where,
                )
            path = (base / value).resolve()
            if path in stack:
                chain = " -> ".join(str(p) for p in (*stack, path))
                raise load_error(source, f"subflow files refer to each other: {chain}", field=where)
            try:
                sub = read(type(flow), path, _stack=stack)
            except FlowError as exc:
                raise load_error(source, f"subflow {name!r}: {exc}", field=where) from None
            flow.use(sub, name=name, ref=value)
        elif isinstance(value, Mapping):
            sub = from_data(
                type(flow), value, source=f"{source} ({where})", base=base, _stack=stack
            )
            flow.use(sub, name=name)
        else:
            raise load_error(
                source, f"subflow {name!r} must be a flow or a relative path", field=where
            )
