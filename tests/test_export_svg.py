"""SVG diagrams: well-formed for any text, coloured by kind, ports and edges by outcome,
highlighting of a node and of a call's path, laid out by the flow or automatically."""

from __future__ import annotations

import itertools
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from flowbuilder.examples import support_line
from flowbuilder.export.svg import ACCENT, positions, to_svg
from flowbuilder.flow import Flow
from flowbuilder.layout import auto_layout, node_size
from flowbuilder.nodes import get_kind
from flowbuilder.simulate import simulate

sys.path.insert(0, str(Path(__file__).parent))
from export_strategies import hostile_flows

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def nodes_by_id(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-node", ""): g for g in root.iterfind(".//svg:g[@class='fb-node']", NS)}


def edges(root: ET.Element) -> list[ET.Element]:
    return list(root.iterfind(".//svg:path[@class='fb-edge']", NS))


def test_support_line_diagram() -> None:
    flow = support_line()
    root = parse(to_svg(flow))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("svg:title", NS).text == "call flow support_line"  # type: ignore[union-attr]
    found = nodes_by_id(root)
    assert set(found) == set(flow)
    menu = found["main_menu"]
    texts = ["".join(t.itertext()) for t in menu.iterfind(".//svg:text", NS)]
    kind = get_kind("menu")
    assert f"{kind.icon} {kind.title}" in texts  # the kind's declared icon and title
    assert "Main menu" in texts
    # each outcome is a labelled port
    assert [p.get("data-outcome") for p in menu.iterfind("svg:g[@class='fb-port']", NS)] == [
        "sales",
        "support",
        "operator",
        "invalid",
        "timeout",
    ]
    # the header is filled with the kind's colour
    assert any(p.get("fill") == kind.color for p in menu.iterfind("svg:path", NS))
    # one arrow per edge, labelled by its outcome
    drawn = {(e.get("data-from"), e.get("data-outcome"), e.get("data-to")) for e in edges(root)}
    assert drawn == {(u, k, v) for u, v, k in flow.graph.edges(keys=True)}
    assert all(e.get("marker-end", "").startswith("url(#") for e in edges(root))


def test_unconnected_outcomes_show_in_red() -> None:
    flow = Flow("x").add("m", "menu", prompt="Press 1", options=[{"digits": "1", "outcome": "one"}])
    root = parse(to_svg(flow))
    ports = nodes_by_id(root)["m"].iterfind("svg:g[@class='fb-port']/svg:text", NS)
    assert {p.get("fill") for p in ports} == {"#b00020"}


def test_highlight_and_path() -> None:
    flow = support_line()
    transcript = simulate(flow, press=["0"], script={"presses": ["0"], "dial": ["BUSY"]})
    root = parse(to_svg(flow, highlight="operator", path=transcript.path))
    found = nodes_by_id(root)
    outline = found["operator"].find("svg:rect", NS)
    assert outline is not None
    assert outline.get("stroke") == ACCENT
    assert outline.get("stroke-width") == "3.0"
    for node_id in flow:
        dimmed = found[node_id].get("opacity") == "0.35"
        assert dimmed == (node_id not in transcript.path), node_id
    hot = {(e.get("data-from"), e.get("data-to")) for e in edges(root) if e.get("stroke") == ACCENT}
    assert hot == set(itertools.pairwise(transcript.path))
    assert ("main_menu", "operator") in hot


def test_labels_are_escaped_and_invisible_characters_shown() -> None:
    label = '<script>alert("x")</script> & ]]> \x00\x1b \u202e'
    flow = Flow("x", description="a\x0bb").add("n", "play", label=label, prompt="hi")
    svg = to_svg(flow)
    root = parse(svg)  # well-formed despite \x00, \x0b and markup in the text
    assert "<script>" not in svg
    assert root.find(".//svg:script", NS) is None
    title = nodes_by_id(root)["n"].find("svg:title", NS)
    assert title is not None
    assert title.text is not None
    assert '<script>alert("x")</script> & ]]> \\x00\\x1b \\u202e' in title.text


def test_long_labels_are_cut() -> None:
    flow = Flow("x").add("n", "play", label="A very long label " * 10, prompt="hi")
    label = nodes_by_id(parse(to_svg(flow)))["n"].find("svg:text[@class='fb-label']", NS)
    assert label is not None
    assert label.text is not None
    assert label.text.endswith("…")
    assert len(label.text) < 40


def test_output_is_deterministic() -> None:
    assert to_svg(support_line()) == to_svg(Flow.from_json(support_line().to_json()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=hostile_flows())
def test_any_flow_gives_well_formed_svg(flow: Flow) -> None:
    root = parse(to_svg(flow, highlight=flow.entry, path=list(flow)))
    # one box per node (ids XML cannot hold, like "\x1f", show as escapes)
    assert len(list(root.iterfind(".//svg:g[@class='fb-node']", NS))) == len(flow)


def without_layout(flow: Flow) -> Flow:
    data = flow.to_dict()
    data["layout"] = {}
    return Flow.from_dict(data)


def test_svg_uses_flow_positions_and_lays_out_the_rest() -> None:
    flow = support_line()
    assert positions(flow) == flow.positions()
    flow.add("extra", "hangup")  # no position yet
    pos = positions(flow)
    assert pos["welcome"] == flow.positions()["welcome"]
    lowest = max(y + node_size(flow, n)[1] for n, (_, y) in flow.positions().items())
    assert pos["extra"][1] > lowest
    assert positions(without_layout(support_line())) == auto_layout(support_line())
