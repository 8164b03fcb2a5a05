"""The builder without a browser: page actions in, Flow changes out, and the other way round.

Page messages go through the widgets' real comm handling (see ``Frontend`` in conftest): a
custom message is what the canvas's ``model.send`` delivers, an update is what a control sends
when the user edits it, a click is an ipywidgets button press.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import flowbuilder as fb
from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.layout import auto_layout
from flowbuilder.nodes import get_kind, kinds
from flowbuilder.ui import Builder
from flowbuilder.validate import validate


def node_ids(state: dict[str, Any]) -> list[str]:
    return [n["id"] for n in state["nodes"]]


# -- what the canvas is given --------------------------------------------------------------------


def test_canvas_shows_every_node_with_its_kind_and_ports(builder: Any, frontend: Any) -> None:
    page = frontend.page_state(builder.canvas)
    assert node_ids(page) == sorted(builder.flow)
    menu = next(n for n in page["nodes"] if n["id"] == "main_menu")
    kind = get_kind("menu").to_json()
    assert (menu["color"], menu["icon"], menu["label"]) == (
        kind["color"],
        kind["icon"],
        "Main menu",
    )
    assert menu["outcomes"] == ["sales", "support", "operator", "invalid", "timeout"]
    assert (menu["x"], menu["y"]) == (260, 200)
    assert len(page["edges"]) == builder.flow.graph.number_of_edges()
    assert ["main_menu", "sales", "sales"] in page["edges"]
    assert page["entry"] == "welcome"
    assert {k["name"] for k in page["kinds"]} == {k.name for k in kinds()}


def test_flow_without_positions_is_laid_out_in_layers(frontend: Any) -> None:
    flow = Flow.from_dict({**support_line().to_dict(), "layout": {}})
    builder = Builder(flow)
    placed = {n["id"]: (n["x"], n["y"]) for n in builder.canvas.nodes}
    assert placed == {n: (round(x, 1), round(y, 1)) for n, (x, y) in auto_layout(flow).items()}
    assert flow.positions() == {}  # displaying a flow does not write to it
    builder.close()


# -- changes made in code show on the canvas -----------------------------------------------------


def test_code_changes_reach_the_page(builder: Any, flow: Flow, frontend: Any) -> None:
    flow.add("promo", "play", prompt="Ask about our offers!", label="Promo")
    flow.connect("thanks", "promo")  # replaces thanks --next--> end
    flow.set_label("goodbye", "Bye now")
    page = frontend.page_state(builder.canvas)
    promo = next(n for n in page["nodes"] if n["id"] == "promo")
    assert promo["summary"] == "Ask about our offers!"
    assert ["thanks", "next", "promo"] in page["edges"]
    assert ["thanks", "next", "end"] not in page["edges"]
    assert next(n for n in page["nodes"] if n["id"] == "goodbye")["label"] == "Bye now"
    others = [n for n in page["nodes"] if n["id"] != "promo"]
    assert all(abs(n["x"] - promo["x"]) > 150 or abs(n["y"] - promo["y"]) > 100 for n in others)
    flow.remove("promo")
    assert "promo" not in node_ids(frontend.page_state(builder.canvas))


def test_code_changes_in_one_cell_are_drawn_once(builder: Any, flow: Flow, frontend: Any) -> None:
    """On the kernel's loop a cell's changes are gathered: one update, one undo step."""
    before = len(frontend.updates(builder.canvas))

    async def cell() -> None:
        for i in range(20):
            flow.add(f"extra_{i}", "hangup")
        assert len(frontend.updates(builder.canvas)) == before  # not yet: the cell runs
        await asyncio.sleep(0)

    asyncio.run(cell())
    updates = frontend.updates(builder.canvas)[before:]
    assert len([u for u in updates if "nodes" in u]) == 1
    assert {f"extra_{i}" for i in range(20)} <= set(node_ids(frontend.page_state(builder.canvas)))
    builder.undo()
    assert not any(n.startswith("extra_") for n in flow)


def test_a_node_added_and_connected_in_code_goes_right_of_its_source(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    async def cell() -> None:
        flow.add("promo", "play", prompt="Ask about our offers!")
        flow.connect("thanks", "promo")
        await asyncio.sleep(0)

    asyncio.run(cell())
    page = {n["id"]: n for n in frontend.page_state(builder.canvas)["nodes"]}
    assert page["promo"]["x"] > page["thanks"]["x"]
    assert all(
        abs(n["x"] - page["promo"]["x"]) > 150 or abs(n["y"] - page["promo"]["y"]) > 100
        for i, n in page.items()
        if i != "promo"
    )


# -- actions from the page change the flow -------------------------------------------------------


def test_move_saves_the_position_in_the_layout(builder: Any, flow: Flow, frontend: Any) -> None:
    frontend.action(builder.canvas, action="move", node="welcome", x=61, y=222.5)
    assert flow.graph.nodes["welcome"]["pos"] == (61.0, 222.5)
    assert flow.to_dict()["layout"]["welcome"] == {"x": 61.0, "y": 222.5}
    assert builder.history.can_undo
    builder.undo()
    assert flow.positions()["welcome"] == (40.0, 200.0)


def test_connect_from_a_port(builder: Any, flow: Flow, frontend: Any) -> None:
    frontend.action(
        builder.canvas, action="connect", source="operator_busy", outcome="next", target="end"
    )
    assert flow.next("operator_busy", "next") == "end"
    assert ["operator_busy", "next", "end"] in frontend.page_state(builder.canvas)["edges"]


def test_connect_to_an_outcome_the_node_lacks_is_refused(builder: Any, flow: Flow) -> None:
    before = flow.to_json()
    builder.canvas._handle_custom_msg(
        {"action": "connect", "source": "end", "outcome": "next", "target": "welcome"}, []
    )
    assert flow.to_json() == before
    assert "end.outcome:" in builder.status_line.value


def test_select_shows_the_node_in_the_inspector(builder: Any, frontend: Any) -> None:
    frontend.action(builder.canvas, action="select", node="sales")
    assert builder.selected == "sales"
    assert builder.inspector.node == "sales"
    assert builder.inspector.fields["cli"].widget.value == "{caller}"
    frontend.action(builder.canvas, action="select", edge=["sales", "busy"])
    assert builder.canvas.selection == {"edge": ["sales", "busy"]}
    frontend.action(builder.canvas, action="select")
    assert builder.selected is None
    assert builder.inspector.node is None


def test_delete_key_removes_the_node_and_undo_brings_it_back(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    frontend.action(builder.canvas, action="select", node="operator_busy")
    frontend.action(builder.canvas, action="delete", node="operator_busy")
    assert "operator_busy" not in flow.graph
    assert builder.selected is None
    assert "operator_busy" not in node_ids(frontend.page_state(builder.canvas))
    frontend.action(builder.canvas, action="undo")
    assert "operator_busy" in flow.graph
    assert flow.next("operator", "busy") == "operator_busy"
    frontend.action(builder.canvas, action="redo")
    assert "operator_busy" not in flow.graph


def test_disconnect_a_selected_edge(builder: Any, flow: Flow, frontend: Any) -> None:
    frontend.action(builder.canvas, action="disconnect", source="sales", outcome="busy")
    assert flow.next("sales", "busy") is None
    assert any(i.node_id == "sales" and i.field == "busy" for i in builder.issues)


def test_add_from_the_palette(builder: Any, flow: Flow, frontend: Any) -> None:
    frontend.action(builder.canvas, action="add", kind="menu", x=400, y=700)
    assert "menu_1" in flow.graph
    assert flow.positions()["menu_1"] == (400.0, 700.0)
    assert builder.selected == "menu_1"
    assert builder.inspector.node == "menu_1"
    assert get_kind("menu").check(flow.params("menu_1")) == []
    frontend.action(builder.canvas, action="add", kind="menu", x=0, y=0)
    assert "menu_2" in flow.graph


@pytest.mark.parametrize("kind", [k.name for k in kinds()])
def test_every_kind_can_be_added_from_the_palette(kind: str, frontend: Any) -> None:
    flow = Flow("palette")
    builder = Builder(flow)
    frontend.action(builder.canvas, action="add", kind=kind, x=10, y=10)
    node_id = f"{kind}_1"
    assert node_id in flow.graph, builder.status_line.value
    assert get_kind(kind).check(flow.params(node_id)) == []
    assert builder.inspector.fields.keys() == {p.name for p in get_kind(kind).params}
    builder.close()


def test_malformed_page_messages_are_ignored_with_a_reason(builder: Any, flow: Flow) -> None:
    before = flow.to_json()
    builder.canvas._handle_custom_msg({"action": "move", "node": "welcome", "x": "far"}, [])
    builder.canvas._handle_custom_msg({"action": "move", "node": 3, "x": 1, "y": 2}, [])
    builder.canvas._handle_custom_msg({"action": "add", "kind": "no_such_kind"}, [])
    builder.canvas._handle_custom_msg({"action": "launch_missiles"}, [])
    builder.canvas._handle_custom_msg("not even a dict", [])
    assert flow.to_json() == before
    assert "unknown node kind" in builder.status_line.value


# -- undo / redo ---------------------------------------------------------------------------------


def test_undo_redo_steps_over_page_and_code_changes(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    start = flow.to_dict()
    frontend.action(builder.canvas, action="move", node="end", x=1300, y=100)
    flow.set_params("welcome", prompt="Hi, this is Acme.")  # in code
    frontend.action(builder.canvas, action="add", kind="hangup", x=5, y=5)
    after = flow.to_dict()
    assert builder.undo()
    assert "hangup_1" not in flow.graph
    assert builder.undo()
    assert flow.params("welcome")["prompt"] == "Welcome to Acme."
    assert builder.undo()
    assert flow.to_dict() == start
    assert not builder.undo()
    assert builder.undo_button.disabled
    assert not builder.redo_button.disabled
    for _ in range(3):
        assert builder.redo()
    assert flow.to_dict() == after
    assert not builder.redo()


def test_undo_buttons(builder: Any, flow: Flow, frontend: Any) -> None:
    assert builder.undo_button.disabled
    frontend.action(builder.canvas, action="delete", node="goodbye")
    assert not builder.undo_button.disabled
    frontend.click(builder.undo_button)
    assert "goodbye" in flow.graph
    frontend.click(builder.redo_button)
    assert "goodbye" not in flow.graph


def test_undo_keeps_the_flow_object(builder: Any, flow: Flow) -> None:
    graph = flow.graph
    builder.delete("welcome")
    builder.undo()
    assert builder.flow is flow
    assert flow.graph is graph
    assert flow.entry == "welcome"


def test_auto_layout_is_one_undo_step(builder: Any, flow: Flow, frontend: Any) -> None:
    before = flow.positions()
    builder.layout()
    assert flow.positions() == auto_layout(flow)
    assert {"action": "fit"} in frontend.customs(builder.canvas)
    builder.undo()
    assert flow.positions() == before


# -- validation panel ----------------------------------------------------------------------------


def test_validation_panel_lists_issues_and_marks_nodes(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    assert "No problems" in builder.validation.summary.value
    flow.disconnect("main_menu", "timeout")
    flow.add("island", "play", prompt="Nobody comes here")
    flow.set_params("welcome", prompt="Hello {customer_name}")
    issues = validate(flow)
    assert [b.description for b in builder.validation.buttons] == [str(i) for i in issues]
    assert "warnings" in builder.validation.summary.value
    marks = frontend.page_state(builder.canvas)["issues"]
    assert marks["island"]["severity"] == "warning"
    assert any("customer_name" in m for m in marks["welcome"]["messages"])
    assert "main_menu" in marks
    # an error (a node of an unknown kind, as a loaded file may hold) outlines in red
    data = flow.to_dict()
    data["nodes"]["legacy"] = {"kind": "fax", "params": {}}
    flow.restore(data)
    assert frontend.page_state(builder.canvas)["issues"]["legacy"]["severity"] == "error"
    assert builder.validation.buttons[0].button_style == "danger"


def test_a_self_loop_drawn_on_the_canvas_shows_in_the_panel(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    assert "No problems" in builder.validation.summary.value
    frontend.action(
        builder.canvas, action="connect", source="thanks", outcome="next", target="thanks"
    )
    assert flow.next("thanks", "next") == "thanks"
    shown = [b.description for b in builder.validation.buttons]
    assert shown == [
        "warning: thanks.next: 'next' leads back to thanks itself: it repeats until the caller "
        "hangs up or the call hits its step limit; connect it to the node that should follow"
    ]
    marks = frontend.page_state(builder.canvas)["issues"]
    assert marks["thanks"]["severity"] == "warning"


def test_clicking_an_issue_selects_its_node(builder: Any, flow: Flow, frontend: Any) -> None:
    flow.add("island", "play", prompt="Nobody comes here")
    button = next(b for b in builder.validation.buttons if b.issue.node_id == "island")
    frontend.click(button)
    assert builder.selected == "island"
    assert frontend.page_state(builder.canvas)["selection"] == {"nodes": ["island"], "notes": []}
    assert {"action": "focus", "node": "island"} in frontend.customs(builder.canvas)
    assert builder.inspector.fields["prompt"].widget.value == "Nobody comes here"


# -- public API ----------------------------------------------------------------------------------


def test_builder_is_exported_and_checks_its_argument() -> None:
    assert fb.Builder is Builder
    with pytest.raises(TypeError, match="needs a Flow"):
        Builder({"nodes": {}})  # type: ignore[arg-type]


def test_close_stops_listening(flow: Flow, frontend: Any) -> None:
    builder = Builder(flow)
    builder.close()
    flow.add("later", "hangup")  # no error, no update to a closed widget
    assert "later" not in [n["id"] for n in builder.canvas.nodes]
