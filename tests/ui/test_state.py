"""The canvas payload and palette, as plain data."""

from __future__ import annotations

from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.nodes import get_kind, kinds
from flowbuilder.ui.state import (
    canvas_state,
    issues_by_node,
    known_variables,
    new_node_id,
    palette_entries,
    place_new,
)
from flowbuilder.validate import Issue, validate


def test_canvas_state_carries_what_the_canvas_draws() -> None:
    flow = support_line()
    state = canvas_state(flow, flow.positions(), validate(flow))
    by_id = {n["id"]: n for n in state["nodes"]}
    assert by_id["sales"]["summary"] == "+33123456789"
    assert by_id["welcome"]["summary"] == "Welcome to Acme."
    assert by_id["end"]["outcomes"] == []
    assert by_id["sales"]["outcomes"] == list(get_kind("dial").static_outcomes)
    assert by_id["support"]["icon"] == get_kind("voicemail").icon
    assert len(state["edges"]) == flow.graph.number_of_edges()
    assert state["issues"] == {}


def test_a_node_of_an_unknown_kind_still_draws() -> None:
    data = support_line().to_dict()
    data["nodes"]["legacy"] = {"kind": "fax", "params": {"to": "+331"}}
    data["edges"].append({"from": "legacy", "outcome": "sent", "to": "end"})
    flow = Flow.from_dict(data)
    positions = {**flow.positions(), "legacy": (0.0, 0.0)}
    node = next(n for n in canvas_state(flow, positions, [])["nodes"] if n["id"] == "legacy")
    assert node["title"] == "unknown kind fax"
    assert node["outcomes"] == ["sent"]


def test_issues_by_node_keeps_the_worst_severity() -> None:
    marks = issues_by_node(
        [
            Issue("warning", "a", "next", "not connected"),
            Issue("error", "a", "prompt", "is required"),
            Issue("error", None, "entry", "no entry"),
        ]
    )
    assert marks == {
        "a": {
            "severity": "error",
            "messages": ["warning: next: not connected", "error: prompt: is required"],
        }
    }


def test_palette_lists_every_kind_by_category_most_used_first() -> None:
    """#5: Play, Record and Voicemail were below the fold; what flows are made of comes first."""
    entries = palette_entries()
    assert sorted(e["name"] for e in entries) == sorted(k.name for k in kinds())
    categories = list(dict.fromkeys(e["category"] for e in entries))
    assert categories[:2] == ["Say & hear", "Caller input"]
    assert categories[-1] == "Call control"
    first = [e["name"] for e in entries[:8]]
    assert {"play", "record", "voicemail", "menu"} <= set(first)
    for category in categories:  # by title inside a category
        titles = [e["title"] for e in entries if e["category"] == category]
        assert titles == sorted(titles)


def test_new_ids_and_known_variables() -> None:
    flow = support_line().add("play_1", "play", prompt="x")
    assert new_node_id(flow, "play") == "play_2"
    names = known_variables(flow)
    assert names["caller"].startswith("the caller's number")
    assert names["menu_choice"] == "set by main_menu"
    assert names["recording"] == "set by support"


def test_place_new_goes_right_of_its_source_without_overlap() -> None:
    flow = Flow("p").add("a", "play", prompt="x").add("b", "hangup").add("c", "hangup")
    flow.connect("a", "c")
    known = {"a": (0.0, 0.0), "b": (260.0, 0.0)}
    x, y = place_new(flow, "c", known)
    assert x == 260.0
    assert y >= 140.0  # b already sits right of a
    assert place_new(Flow("empty").add("z", "hangup"), "z", {}) == (40.0, 40.0)
