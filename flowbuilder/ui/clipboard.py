"""Copy, paste and duplicate: a piece of a flow as plain JSON data.

The page puts a *fragment* on the clipboard (``{"flowbuilder/fragment": 1, "nodes": {id: {kind,
label, params, x, y}}, "edges": [[source, outcome, target]], "notes": [{text, x, y}]}``), so it
travels between builders, notebooks and browser tabs like any text. Pasting adds its nodes
under fresh ids, keeps the edges between them, and places the group at the point given.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("f").add("hi", "play", prompt="Hi", pos=(0, 0)).add("bye", "hangup", pos=(300, 0))
>>> piece = fragment(flow.connect("hi", "bye"), ["hi", "bye"])
>>> sorted(paste(flow, piece, (0, 200)).values())
['bye_2', 'hi_2']
>>> flow.next("hi_2", "next"), flow.positions()["hi_2"]
('bye_2', (0.0, 200.0))
>>> fragment_boxes(piece)
[(0.0, 0.0, 180.0, 78.0), (300.0, 0.0, 180.0, 52.0)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from flowbuilder.errors import FlowError
from flowbuilder.flow import Flow
from flowbuilder.layout import GEOMETRY
from flowbuilder.names import NODE_ID
from flowbuilder.nodes import get_kind

TAG: Final = "flowbuilder/fragment"
_SUFFIX = re.compile(r"_(\d+)\Z")


def fragment(flow: Flow, node_ids: Iterable[str], notes: Iterable[str] = ()) -> dict[str, Any]:
    """The nodes *node_ids* of *flow* (and the notes *notes*), with the edges between them."""
    ids = [n for n in node_ids if n in flow]
    inside = set(ids)
    positions = flow.positions()
    nodes = {}
    for node_id in ids:
        x, y = positions.get(node_id, (0.0, 0.0))
        nodes[node_id] = {
            "kind": flow.kind(node_id),
            "label": flow.label(node_id),
            "params": flow.params(node_id),
            "x": x,
            "y": y,
        }
    edges = [[u, k, v] for u, v, k in flow.graph.edges(keys=True) if u in inside and v in inside]
    wanted = set(notes)
    note_data = [
        {"text": n["text"], "x": n["x"], "y": n["y"]}
        for n in flow.graph.graph.get("notes") or []
        if n["id"] in wanted
    ]
    return {TAG: 1, "nodes": nodes, "edges": sorted(edges), "notes": note_data}


def fragment_boxes(piece: Mapping[str, Any]) -> list[tuple[float, float, float, float]]:
    """The boxes (x, y, width, height) of a fragment's nodes, from its top-left corner."""
    nodes = piece.get("nodes") if isinstance(piece, Mapping) else None
    if not isinstance(nodes, Mapping) or not nodes:
        return []
    out = []
    for node in nodes.values():
        try:
            rows = len(get_kind(str(node["kind"])).outcomes(node.get("params") or {}))
            out.append((float(node.get("x", 0)), float(node.get("y", 0)), rows))
        except (FlowError, KeyError, TypeError, ValueError, AttributeError):
            continue
    if not out:
        return []
    left, top = min(x for x, _, _ in out), min(y for _, y, _ in out)
    return [(x - left, y - top, GEOMETRY.width, GEOMETRY.height(r)) for x, y, r in out]


def fresh_id(flow: Flow, wanted: str, taken: set[str]) -> str:
    """*wanted* when free, else the same name with the next free ``_<n>`` suffix."""
    if wanted not in flow and wanted not in taken and NODE_ID.match(wanted):
        return wanted
    stem = _SUFFIX.sub("", wanted) if NODE_ID.match(wanted) else "node"
    n = 2
    while f"{stem}_{n}" in flow or f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


def paste(flow: Flow, piece: Mapping[str, Any], at: tuple[float, float]) -> dict[str, str]:
    """Add *piece* to *flow* with its top-left corner at *at*; returns {old id: new id}.

    Raises FlowError, before changing anything, when *piece* is not a fragment or a node in it
    is refused (an unknown kind, a value out of bounds): one line saying which and why.
    """
    if not isinstance(piece, Mapping) or not piece.get(TAG):
        raise FlowError("the clipboard holds no flowbuilder nodes (copy some with Ctrl+C)")
    nodes = piece.get("nodes") or {}
    notes = piece.get("notes") or []
    if not isinstance(nodes, Mapping) or not isinstance(notes, list):
        raise FlowError("the clipboard's fragment is malformed: nodes must be an object")
    corners = [(float(n.get("x", 0)), float(n.get("y", 0))) for n in nodes.values()]
    corners += [(float(n.get("x", 0)), float(n.get("y", 0))) for n in notes]
    left = min((x for x, _ in corners), default=0.0)
    top = min((y for _, y in corners), default=0.0)
    dx, dy = at[0] - left, at[1] - top
    renamed: dict[str, str] = {}
    for old in nodes:
        renamed[str(old)] = fresh_id(flow, str(old), set(renamed.values()))
    scratch = flow.copy()  # everything is checked on a copy first: all or nothing
    for target in (scratch, flow):
        for old, node in nodes.items():
            target.add(
                renamed[str(old)],
                str(node["kind"]),
                label=str(node.get("label") or ""),
                pos=(round(float(node.get("x", 0)) + dx), round(float(node.get("y", 0)) + dy)),
                **dict(node.get("params") or {}),
            )
        for edge in piece.get("edges") or []:
            source, outcome, dest = (str(v) for v in edge)
            if source in renamed and dest in renamed:
                target.connect(renamed[source], renamed[dest], outcome)
    from flowbuilder.ui.notes import add_note

    for note in notes:
        add_note(
            flow,
            str(note.get("text") or ""),
            round(float(note.get("x", 0)) + dx),
            round(float(note.get("y", 0)) + dy),
        )
    return renamed


__all__ = ["TAG", "fragment", "fresh_id", "paste"]
