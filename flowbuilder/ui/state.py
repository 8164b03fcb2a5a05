"""What the builder shows, as plain data: the canvas payload, palette entries, new node ids.

Pure functions of a :class:`~flowbuilder.flow.Flow` (no widgets), so they are tested and timed
without a browser. The canvas widget syncs exactly these structures to the page.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("t").add("hi", "play", prompt="Hello", pos=(0, 0))
>>> flow = flow.add("bye", "hangup", pos=(300, 0))
>>> state = canvas_state(flow.connect("hi", "bye"), flow.positions(), [])
>>> [(n["id"], n["outcomes"]) for n in state["nodes"]], state["edges"]
([('bye', []), ('hi', ['next'])], [['hi', 'next', 'bye']])
>>> new_node_id(flow, "play")
'play_1'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flowbuilder.errors import UnknownNodeKindError
from flowbuilder.facts import FACTS
from flowbuilder.flow import Flow
from flowbuilder.layout import GEOMETRY
from flowbuilder.nodes import REGISTRY, NodeKind, get_kind, kinds
from flowbuilder.validate import Issue

Point = tuple[float, float]
SUMMARY_CHARS = 48
UNKNOWN_COLOR = "#888888"


def node_view(flow: Flow, node_id: str, pos: Point) -> dict[str, Any]:
    """One node as the canvas draws it: box colour, icon, label, ports (outcomes), summary."""
    data = flow.graph.nodes[node_id]
    kind: NodeKind | None
    try:
        kind = get_kind(data["kind"])
    except UnknownNodeKindError:
        kind = None
    return {
        "id": node_id,
        "kind": data["kind"],
        "title": kind.title if kind else f"unknown kind {data['kind']}",
        "label": data.get("label") or "",
        "color": kind.color if kind else UNKNOWN_COLOR,
        "icon": kind.icon if kind else "?",
        "x": round(pos[0], 1),
        "y": round(pos[1], 1),
        "outcomes": list(flow.outcomes(node_id)),
        "summary": summary(kind, data["params"]),
        "params": data["params"],  # copied as JSON by the sync; the page's copy/paste needs them
    }


def summary(kind: NodeKind | None, params: Mapping[str, Any]) -> str:
    """A short line showing what the node does: its first prompt or text value."""
    if kind is None:
        return ""
    for p in kind.params:
        value = params.get(p.name)
        if p.type in ("prompt", "text") and isinstance(value, str) and value:
            return _clip(value)
        if p.type == "list" and isinstance(value, list) and value:
            first = value[0]
            if isinstance(first, dict) and isinstance(first.get("number"), str):
                more = f" (+{len(value) - 1})" if len(value) > 1 else ""
                return _clip(first["number"] + more)
    return ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def canvas_state(
    flow: Flow, positions: Mapping[str, Point], issues: Sequence[Issue]
) -> dict[str, Any]:
    """The canvas's synced data: ``nodes``, ``edges`` ([source, outcome, target]), ``entry``,
    ``issues`` (node id -> worst severity and messages). *positions* covers every node."""
    nodes = [node_view(flow, n, positions[n]) for n in sorted(flow.graph.nodes)]
    edges = sorted([u, k, v] for u, v, k in flow.graph.edges(keys=True))
    return {
        "nodes": nodes,
        "edges": edges,
        "entry": flow.entry,
        "issues": issues_by_node(issues),
        "notes": [dict(n) for n in flow.graph.graph.get("notes") or []],
    }


def issues_by_node(issues: Iterable[Issue]) -> dict[str, dict[str, Any]]:
    """Node id -> ``{"severity": worst, "messages": [...]}`` for marking problem nodes."""
    out: dict[str, dict[str, Any]] = {}
    for issue in issues:
        if issue.node_id is None:
            continue
        entry = out.setdefault(issue.node_id, {"severity": "warning", "messages": []})
        if issue.severity == "error":
            entry["severity"] = "error"
        where = f"{issue.field}: " if issue.field else ""
        entry["messages"].append(f"{issue.severity}: {where}{issue.message}")
    return out


# The palette's order: what most flows are made of first (prompts, then what callers press),
# the rarer call-control commands last; categories not listed follow, by name.
CATEGORY_ORDER = ("Say & hear", "Caller input", "Connect", "Logic", "Integrations", "Call control")


def palette_entries() -> list[dict[str, Any]]:
    """Every registered kind, grouped by category (most used first) then title, as the palette
    lists them."""
    entries = [
        {
            "name": k.name,
            "title": k.title,
            "icon": k.icon,
            "color": k.color,
            "category": k.category,
            "description": k.description,
        }
        for k in kinds()
    ]

    def order(entry: dict[str, Any]) -> tuple[int, str, str]:
        category = entry["category"]
        rank = CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        return (rank, category, entry["title"])

    return sorted(entries, key=order)


def new_node_id(flow: Flow, kind: str) -> str:
    """The first free id ``<kind>_<n>``."""
    n = 1
    while f"{kind}_{n}" in flow:
        n += 1
    return f"{kind}_{n}"


def known_variables(flow: Flow) -> dict[str, str]:
    """Names a template can use here: call facts, then variables some node of *flow* sets."""
    names = dict(FACTS)
    for node_id in flow:
        kind = REGISTRY.get(flow.kind(node_id))
        if kind is None:
            continue
        for name in sorted(kind.variables_set(flow.params(node_id))):
            names.setdefault(name, f"set by {node_id}")
    return names


def place_new(
    flow: Flow, node_id: str, known: Mapping[str, Point], *, gap: Point = (260.0, 140.0)
) -> Point:
    """Where a node added without a position goes: right of a node that leads to it, else
    below everything, nudged down until it overlaps no known node."""
    preds = [u for u in flow.graph.predecessors(node_id) if u in known]
    if preds:
        x, y = known[preds[0]][0] + gap[0], known[preds[0]][1]
    elif known:
        x = min(p[0] for p in known.values())
        y = max(p[1] for p in known.values()) + gap[1]
    else:
        x, y = 40.0, 40.0
    taken = list(known.values())
    while any(abs(px - x) < gap[0] * 0.8 and abs(py - y) < gap[1] * 0.8 for px, py in taken):
        y += gap[1]
    return (x, y)


def free_spot(
    flow: Flow,
    known: Mapping[str, Point],
    near: Point,
    *,
    group: Sequence[tuple[float, float, float, float]] = (),
    step: Point = (40.0, 40.0),
    margin: float = 24.0,
) -> Point:
    """The free place closest to *near* for a new node (or for *group*: boxes (x, y, width,
    height) relative to the point returned): one where nothing overlaps a node in *known*
    with *margin* around it. Searched on a grid, in rings growing outwards.

    >>> from flowbuilder.flow import Flow
    >>> flow = Flow("f").add("a", "hangup", pos=(0, 0))
    >>> free_spot(flow, flow.positions(), (0, 0))
    (0.0, 80.0)
    """
    width = GEOMETRY.width
    taken = [
        (x, y, x + width, y + GEOMETRY.height(len(_outcomes(flow, n))))
        for n, (x, y) in known.items()
    ]
    shapes = list(group) or [(0.0, 0.0, width, GEOMETRY.height(2))]

    def free(x: float, y: float) -> bool:
        return all(
            x + dx + w + margin <= x0
            or x + dx >= x1 + margin
            or y + dy + h + margin <= y0
            or y + dy >= y1 + margin
            for dx, dy, w, h in shapes
            for x0, y0, x1, y1 in taken
        )

    x0, y0 = float(near[0]), float(near[1])
    for ring in range(0, 80):
        candidates = [
            (x0 + dx * step[0], y0 + dy * step[1])
            for dx in range(-ring, ring + 1)
            for dy in range(-ring, ring + 1)
            if max(abs(dx), abs(dy)) == ring
        ]
        # nearest first; below and right of *near* win ties (reading order)
        candidates.sort(key=lambda p: ((p[0] - x0) ** 2 + (p[1] - y0) ** 2, p[1] < y0, p[0] < x0))
        for x, y in candidates:
            if free(x, y):
                return (x, y)
    return (x0, y0)


def _outcomes(flow: Flow, node_id: str) -> tuple[str, ...]:
    return flow.outcomes(node_id) if node_id in flow else ()


def spot_after(flow: Flow, known: Mapping[str, Point], node_id: str) -> Point:
    """Where a node added while *node_id* is selected goes: right of it, else the nearest free
    place to that."""
    x, y = known[node_id]
    return free_spot(flow, known, (x + GEOMETRY.width + 80.0, y))
