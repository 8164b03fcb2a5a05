"""The layered auto-layout shared by the SVG export and the builder's canvas."""

from __future__ import annotations

import itertools

from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.layout import auto_layout, layers, node_size


def without_layout(flow: Flow) -> Flow:
    data = flow.to_dict()
    data["layout"] = {}
    return Flow.from_dict(data)


def test_auto_layout_goes_left_to_right_in_layers() -> None:
    flow = without_layout(support_line())
    assert layers(flow) == [
        ["welcome"],
        ["main_menu"],
        ["sales", "operator", "goodbye"],  # in the order of the menu's ports
        ["operator_busy"],
        ["support"],
        ["thanks"],
        ["end"],
    ]
    pos = auto_layout(flow)
    assert set(pos) == set(flow)
    for source, target, _ in flow.graph.edges(keys=True):
        assert pos[source][0] < pos[target][0], (source, target)  # every edge goes right
    # nodes of a layer never overlap
    for layer in layers(flow):
        ys = sorted((pos[n][1], node_size(flow, n)[1]) for n in layer)
        for (y1, h1), (y2, _) in itertools.pairwise(ys):
            assert y1 + h1 < y2


def test_auto_layout_handles_loops_and_islands() -> None:
    flow = Flow("loop").add(
        "a", "menu", prompt="Press", options=[{"digits": "1", "outcome": "again"}]
    )
    flow.add("b", "play", prompt="Again").add("island", "hangup")
    flow.connect("a", "b", "again").connect("b", "a")
    pos = auto_layout(flow)
    assert pos["a"][0] < pos["b"][0]
    assert set(pos) == {"a", "b", "island"}
    assert auto_layout(flow) == pos  # deterministic
