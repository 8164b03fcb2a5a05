"""``auto_layout(flow)``: canvas positions for a flow drawn left to right, in layers.

Used where a flow has no saved layout: the SVG export and the builder's canvas. Calls go left to
right: a node sits one layer right of the furthest node that leads to it (longest path from the
entry, with loops broken where a depth-first walk from the entry meets them), and nodes in a layer
are ordered by the average height of the ports leading to them, to keep edges from crossing. The
result is deterministic (same flow, same positions) and in canvas pixels, the top-left corner of
each node, like ``Flow.move()``.

>>> from flowbuilder.flow import Flow
>>> flow = (Flow("x").add("a", "play", prompt="Hi").add("b", "hangup").add("c", "hangup")
...         .connect("a", "b"))
>>> auto_layout(flow)
{'a': (40.0, 40.0), 'b': (300.0, 40.0), 'c': (40.0, 220.0)}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Final

import networkx as nx

from flowbuilder.flow import Flow

LAYER_GAP: Final = 260.0  # horizontal distance between layers: a node and room for its edges
ROW_GAP: Final = 180.0  # least vertical distance between the tops of nodes in a layer
V_SPACE: Final = 36.0  # least free space between two nodes of a layer
MARGIN: Final = 40.0


@dataclass(frozen=True)
class NodeGeometry:
    """A node's box, in canvas pixels: a head (kind, label, id or summary), then one row per
    outcome with its port on the right edge. The one definition: auto-layout spaces nodes by
    it, the SVG export draws by it and the builder's canvas receives it in its synced state.

    >>> GEOMETRY.height(0), GEOMETRY.height(2), GEOMETRY.port_y(1), GEOMETRY.in_port_y
    (52.0, 98.0, 82.0, 26.0)
    """

    width: float = 180.0
    head: float = 52.0
    row: float = 20.0
    padding: float = 6.0  # below the last row of ports

    def height(self, rows: int) -> float:
        return self.head + self.row * rows + (self.padding if rows else 0.0)

    def port_y(self, index: int) -> float:
        """The centre of outcome port *index*, from the top of the box."""
        return self.head + self.row * (index + 0.5)

    @property
    def in_port_y(self) -> float:
        """Where edges arrive: the middle of the head, on the left edge."""
        return self.head / 2

    def to_json(self) -> dict[str, float]:
        return {**asdict(self), "in_port_y": self.in_port_y}


GEOMETRY: Final = NodeGeometry()
NODE_WIDTH: Final = GEOMETRY.width


def node_size(flow: Flow, node_id: str) -> tuple[float, float]:
    """(width, height) of a node's box: taller for each outcome it can leave through."""
    return GEOMETRY.width, GEOMETRY.height(len(flow.outcomes(node_id)))


def _back_edges(graph: nx.DiGraph, roots: Iterable[str]) -> set[tuple[str, str]]:
    """Edges that close a loop, found by a depth-first walk from *roots* in sorted order."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the walk's stack, 2: done
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(sorted(graph.successors(root))))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(sorted(graph.successors(child)))))
    return back


def layers(flow: Flow) -> list[list[str]]:
    """Node ids by layer, left to right; each layer ordered top to bottom."""
    simple = nx.DiGraph()
    simple.add_nodes_from(flow)
    simple.add_edges_from((u, v) for u, v in flow.graph.edges() if u != v)
    roots = [str(r) for r in (flow.entry, flow.settings.get("on_error")) if r in simple]
    roots += [n for n in sorted(simple) if simple.in_degree(n) == 0 and n not in roots]
    roots += sorted(simple)  # whatever sits only on loops unreachable from the entry
    dag = simple.copy()
    dag.remove_edges_from(_back_edges(simple, roots))
    depth: dict[str, int] = {}
    for node in nx.lexicographical_topological_sort(dag):
        preds = list(dag.predecessors(node))
        depth[node] = 1 + max(depth[p] for p in preds) if preds else 0
    # a node reached only from far-away layers stays close to the entry's side; unreachable
    # islands start their own columns at 0 as well, which keeps the drawing compact
    by_layer: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in sorted(depth):
        by_layer[depth[node]].append(node)
    # the height each edge leaves at: its source's row, plus its port's place on that node
    leaves: dict[str, list[tuple[str, float]]] = {}
    for source in flow:
        outcomes = flow.outcomes(source)
        for i, outcome in enumerate(outcomes):
            target = flow.next(source, outcome)
            if target is not None and dag.has_edge(source, target):
                leaves.setdefault(target, []).append((source, i / max(len(outcomes), 1)))
    rank: dict[str, float] = {}
    for layer in by_layer:
        keyed = []
        for i, node in enumerate(layer):
            placed = [rank[p] + port for p, port in leaves.get(node, []) if p in rank]
            keyed.append((sum(placed) / len(placed) if placed else float(i), node))
        layer[:] = [node for _, node in sorted(keyed)]
        rank.update((node, float(i)) for i, node in enumerate(layer))
    return by_layer


def auto_layout(flow: Flow) -> dict[str, tuple[float, float]]:
    """``{node id: (x, y)}`` for every node: layers left to right, top-left corners in pixels."""
    pos: dict[str, tuple[float, float]] = {}
    for x, layer in enumerate(layers(flow)):
        y = MARGIN
        for node in layer:
            pos[node] = (MARGIN + x * LAYER_GAP, y)
            y += max(ROW_GAP, node_size(flow, node)[1] + V_SPACE)
    return dict(sorted(pos.items()))


__all__ = ["GEOMETRY", "NodeGeometry", "auto_layout", "layers", "node_size"]
