"""Studio-class editing without a browser: placing, multi-select, copy/paste, notes, files, deploy.

Page messages go through the widgets' real comm handling (``Frontend`` in conftest), exactly as
the canvas's ``model.send`` and ``model.set`` deliver them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from flowbuilder.compiler import compile as compile_flow
from flowbuilder.errors import FlowValidationError
from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.layout import GEOMETRY, node_size
from flowbuilder.server import serve
from flowbuilder.ui import Builder
from flowbuilder.ui.clipboard import TAG, fragment
from flowbuilder.validate import Issue


def boxes(flow: Flow, builder: Any) -> dict[str, tuple[float, float, float, float]]:
    places = {n["id"]: (n["x"], n["y"]) for n in builder.canvas.nodes}
    return {n: (x, y, *node_size(flow, n)) for n, (x, y) in places.items()}


def overlapping(flow: Flow, builder: Any, node: str) -> list[str]:
    x, y, w, h = boxes(flow, builder)[node]
    return [
        other
        for other, (ox, oy, ow, oh) in boxes(flow, builder).items()
        if other != node and x < ox + ow and ox < x + w and y < oy + oh and oy < y + h
    ]


# -- placing new nodes (#5) -----------------------------------------------------------------------


def test_palette_clicks_never_stack_nodes(builder: Any, flow: Flow, frontend: Any) -> None:
    """A palette click sends the middle of the view; each new node goes to the nearest free
    place there, so three clicks give three visible nodes, none on top of another."""
    builder.select(None)
    added = []
    for _ in range(3):
        frontend.action(builder.canvas, action="add", kind="play", near=[520, 380])
        builder.select(None)  # as if the user clicked the background between two
        added.append(max(n for n in flow if n.startswith("play_")))
    assert added == ["play_1", "play_2", "play_3"]
    for node in added:
        assert overlapping(flow, builder, node) == [], node
    x, y = flow.positions()["play_1"]
    assert abs(x - 520) + abs(y - 380) < 400  # near where the user was looking


def test_a_node_added_with_one_selected_goes_right_of_it(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    builder.select("thanks")
    frontend.action(builder.canvas, action="add", kind="hangup", near=[0, 0])
    tx, _ty = flow.positions()["thanks"]
    x, _y = flow.positions()["hangup_1"]
    assert x > tx + GEOMETRY.width
    assert overlapping(flow, builder, "hangup_1") == []
    assert builder.selected == "hangup_1"


def test_a_wire_dropped_on_empty_canvas_adds_a_connected_node(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    frontend.action(
        builder.canvas, action="add", kind="hangup", x=900, y=600, connect=["operator_busy", "next"]
    )
    assert flow.next("operator_busy", "next") == "hangup_1"
    assert flow.positions()["hangup_1"] == (900.0, 600.0)
    builder.undo()  # one step
    assert "hangup_1" not in flow
    assert flow.next("operator_busy", "next") == "support"


# -- multi-select, group moves, delete, duplicate -----------------------------------------------


def test_a_selection_of_many_moves_as_one_undo_step(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    frontend.action(builder.canvas, action="select", nodes=["sales", "operator"], seq=1)
    assert builder.selection == ["sales", "operator"]
    assert builder.selected is None  # the inspector has no single node to show
    assert builder.inspector.layout.display == "none"
    before = flow.positions()
    frontend.action(
        builder.canvas, action="move", nodes={"sales": [600, 60], "operator": [600, 400]}
    )
    assert flow.positions()["sales"] == (600.0, 60.0)
    assert flow.positions()["operator"] == (600.0, 400.0)
    builder.undo()
    assert flow.positions() == before


def test_a_click_comes_back_numbered_and_leaves_out_what_is_gone(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    """The page numbers its clicks: the selection comes back with the number of the click it
    answers, so the page can tell a selection it has since replaced. A click on a node that
    code removed meanwhile selects the rest, without an error."""
    frontend.action(builder.canvas, action="select", nodes=["sales", "gone"], notes=[], seq=7)
    assert frontend.page_state(builder.canvas)["selection"] == {"nodes": ["sales"], "notes": []}
    assert frontend.page_state(builder.canvas)["selection_seq"] == 7
    assert "error" not in builder.status_line.value.lower()
    update = frontend.updates(builder.canvas)[-1]
    assert set(update) == {"selection", "selection_seq"}  # one message: never seen apart
    frontend.action(builder.canvas, action="select", nodes=["sales"], seq=8)
    assert frontend.page_state(builder.canvas)["selection_seq"] == 8  # same nodes, new number
    builder.select("operator")  # from code: answers the page's last click
    assert frontend.page_state(builder.canvas)["selection"]["nodes"] == ["operator"]
    assert frontend.page_state(builder.canvas)["selection_seq"] == 8


def test_delete_and_duplicate_a_selection(builder: Any, flow: Flow, frontend: Any) -> None:
    frontend.action(builder.canvas, action="duplicate", nodes=["operator", "operator_busy"])
    assert {"operator_2", "operator_busy_2"} <= set(flow)
    assert flow.next("operator_2", "busy") == "operator_busy_2"  # the edge between them
    assert flow.next("operator_2", "answered") is None  # edges leaving the group are not
    assert builder.selection == ["operator_2", "operator_busy_2"]
    assert overlapping(flow, builder, "operator_2") == []
    # the copy is brought into view (a duplicate could land under the minimap, out of sight)
    assert {"action": "focus", "node": "operator_2"} in frontend.customs(builder.canvas)
    frontend.action(builder.canvas, action="delete", nodes=["operator_2", "operator_busy_2"])
    assert "operator_2" not in flow
    builder.undo()
    assert "operator_2" in flow


def test_rename_by_label_and_start_here(builder: Any, flow: Flow, frontend: Any) -> None:
    frontend.action(builder.canvas, action="label", node="operator", label="Front desk")
    assert flow.label("operator") == "Front desk"
    frontend.action(builder.canvas, action="set_entry", node="main_menu")
    assert flow.entry == "main_menu"
    assert "main_menu" in builder.status_line.value


# -- copy and paste (JSON on the clipboard, between builders) ------------------------------------


def test_paste_a_fragment_from_another_builder(frontend: Any) -> None:
    source = support_line()
    target = Flow("other").add("start", "play", prompt="Hi", pos=(40, 40))
    a, b = Builder(source), Builder(target)
    # the page puts this JSON on the clipboard (canvas.js builds the same from its data)
    text = json.dumps(fragment(source, ["operator", "operator_busy"]))
    frontend.action(b.canvas, action="paste", fragment=json.loads(text), x=300, y=300)
    assert {"operator", "operator_busy"} <= set(target)  # free ids in this flow: kept
    assert target.next("operator", "busy") == "operator_busy"
    assert target.params("operator") == source.params("operator")
    assert target.positions()["operator"] == (300.0, 300.0)
    # pasted again: fresh ids, nothing replaced
    frontend.action(b.canvas, action="paste", fragment=json.loads(text), x=300, y=600)
    assert {"operator_2", "operator_busy_2"} <= set(target)
    b.undo()
    assert "operator_2" not in target
    a.close()
    b.close()


def test_pasting_something_else_is_refused_in_one_line(builder: Any, flow: Flow) -> None:
    before = flow.to_json()
    builder.canvas._handle_custom_msg({"action": "paste", "fragment": {"x": 1}, "x": 0, "y": 0}, [])
    options = [{"outcome": "a", "digits": "1"}]
    params = {"prompt": "Press 1", "options": options, "max_digits": 99}
    bad = {TAG: 1, "nodes": {"n": {"kind": "menu", "params": params}}}
    builder.canvas._handle_custom_msg({"action": "paste", "fragment": bad, "x": 0, "y": 0}, [])
    assert flow.to_json() == before
    assert "max_digits" in builder.status_line.value


# -- notes on the canvas ------------------------------------------------------------------------


def test_notes_are_saved_with_the_layout_and_leave_the_version_alone(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    version = compile_flow(flow).version
    frontend.action(builder.canvas, action="note_add", x=40, y=700, text="")
    (note,) = flow.notes
    assert {"action": "edit_note", "note": note["id"]} in frontend.customs(builder.canvas)
    frontend.action(builder.canvas, action="note_edit", note=note["id"], text="Busy in May")
    frontend.action(builder.canvas, action="move", nodes={}, notes={note["id"]: [60, 720]})
    assert flow.notes == [{"id": "note_1", "text": "Busy in May", "x": 60.0, "y": 720.0}]
    assert frontend.page_state(builder.canvas)["notes"] == flow.notes
    saved = flow.to_dict()
    assert saved["notes"] == flow.notes
    assert Flow.from_dict(saved).notes == flow.notes
    assert compile_flow(flow).version == version  # notes are not logic
    assert not flow.diff(Flow.from_dict(saved))
    frontend.action(builder.canvas, action="delete", nodes=[], notes=["note_1"])
    assert flow.notes == []
    builder.undo()
    assert flow.notes[0]["text"] == "Busy in May"


# -- the problems panel: many issues, subflow issues, issues with no node ------------------------


def test_problems_of_subflows_and_of_the_whole_flow_lead_somewhere(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    flow.add("faq", "subflow", flow="faq")
    inside = Issue("error", "faq/ask", "prompt", "is required")
    whole = Issue("warning", None, "timezone", "Mars/Olympus is not a time zone")
    many = [Issue("warning", f"n{i}", None, "far away") for i in range(150)]
    builder.validation.show([whole, inside, *many])
    assert len(builder.validation.buttons) == 152
    assert builder.validation.issues[0] == inside  # errors first
    builder.validation.click(0)
    assert builder.selected == "faq"
    assert "ask: is required" in builder.status_line.value
    builder.validation.click(1)
    assert builder.inspector.layout.display is None  # the flow's settings
    assert builder.inspector.node is None
    assert "Mars/Olympus" in builder.status_line.value
    builder.validation.click(5)  # a node this flow does not have: said, nothing raised
    assert "not a node of this flow" in builder.status_line.value


# -- bound to a file: nothing lost (#2) ---------------------------------------------------------


def test_a_builder_bound_to_a_file_saves_every_edit_and_brings_it_back(
    tmp_path: Path, frontend: Any
) -> None:
    path = tmp_path / "flows" / "support line.json"
    first = Builder(path)  # no file yet: an empty flow, saved at once
    assert first.flow.name == "support_line"
    assert json.loads(path.read_text())["nodes"] == {}
    frontend.action(first.canvas, action="add", kind="play", x=40, y=40)
    frontend.action(first.canvas, action="add", kind="hangup", x=300, y=40)
    frontend.action(
        first.canvas, action="connect", source="play_1", outcome="next", target="hangup_1"
    )
    first.close()
    again = Builder(str(path))  # the cell run again, or after a kernel restart
    assert sorted(again.flow) == ["hangup_1", "play_1"]
    assert again.flow.next("play_1", "next") == "hangup_1"
    assert again.banner_box.layout.display == "none"
    assert not list(path.parent.glob(".*.tmp"))  # no temporary file left behind
    again.close()


def test_code_and_file_that_differ_are_both_kept(tmp_path: Path, frontend: Any) -> None:
    path = tmp_path / "support.json"
    edited = support_line().set_label("welcome", "Edited on the canvas")
    edited.save(path)
    flow = support_line()  # the cell that builds the flow in code, run again
    builder = Builder(flow, path=path)
    assert flow.label("welcome") == "Edited on the canvas"  # the file's version is shown
    assert builder.banner_box.layout.display is None
    assert "welcome.label" in builder.banner.value
    builder.choose("code")  # the user prefers the code's flow
    assert flow.label("welcome") == "Welcome"
    assert json.loads(path.read_text())["nodes"]["welcome"]["label"] == "Welcome"
    builder.undo()  # and can still go back to the canvas edits
    assert flow.label("welcome") == "Edited on the canvas"
    builder.close()


def test_a_file_changed_on_disk_is_never_overwritten_silently(
    tmp_path: Path, frontend: Any
) -> None:
    path = tmp_path / "support.json"
    builder = Builder(support_line(), path=path)
    other = support_line().set_label("end", "Changed elsewhere")
    other.save(path)  # another builder, git checkout, an editor...
    frontend.action(builder.canvas, action="move", node="end", x=1200, y=500)
    assert json.loads(path.read_text())["nodes"]["end"]["label"] == "Changed elsewhere"
    assert "changed on disk" in builder.banner.value
    assert "end.label" in builder.banner.value
    builder.choose("reload")
    assert builder.flow.label("end") == "Changed elsewhere"
    builder.undo()  # the canvas's version is one undo away
    assert builder.flow.positions()["end"] == (1200.0, 500.0)
    builder.close()


def test_saves_are_atomic(tmp_path: Path, frontend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "support.json"
    builder = Builder(support_line(), path=path)
    saved = path.read_text()

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    builder.add("hangup")
    assert path.read_text() == saved  # the old file, whole
    assert not list(tmp_path.glob(".*.tmp"))
    assert "Could not save" in builder.banner.value
    assert "No space left on device" in builder.banner.value
    monkeypatch.undo()
    builder.save()
    assert "hangup_1" in json.loads(path.read_text())["nodes"]
    builder.close()


# -- deploy from the canvas (#6) ----------------------------------------------------------------


def test_deploy_hot_reloads_the_watched_server(frontend: Any) -> None:
    flow = support_line()
    builder = Builder(flow)
    server = serve(flow, name="deploy-test")
    try:
        assert builder.deploy_button.disabled
        builder.watch(server)
        assert not builder.deploy_button.disabled
        first = server.flows[0]["version"]
        flow.set_params("welcome", prompt="Welcome to Acme, now deployed from the canvas.")
        builder._draw()
        frontend.click(builder.deploy_button)
        assert server.flows[0]["version"] == compile_flow(flow).version != first
        assert builder.deployed == server.flows[0]["version"]
        assert f"Deployed version {builder.deployed}" in builder.status_line.value
        flow.entry = None  # now it has an error: nothing is deployed
        builder._draw()
        with pytest.raises(FlowValidationError):
            builder.deploy()
        assert "Not deployed" in builder.status_line.value
        assert server.flows[0]["version"] == builder.deployed
    finally:
        server.stop()
        builder.close()


def test_undoing_the_first_note_removes_it(builder: Any, flow: Flow, frontend: Any) -> None:
    frontend.action(builder.canvas, action="note_add", x=40, y=700, text="hello")
    assert len(flow.notes) == 1
    builder.undo()  # the snapshot before had no notes at all: restoring it removes this one
    assert flow.notes == []
    assert frontend.page_state(builder.canvas)["notes"] == []


def test_the_status_line_follows_undo(builder: Any, flow: Flow, frontend: Any) -> None:
    """#8: the line by the toolbar said what the last action did, even after it was undone."""
    frontend.action(
        builder.canvas, action="connect", source="operator_busy", outcome="next", target="end"
    )
    assert "Connected operator_busy" in builder.status_line.value
    frontend.action(builder.canvas, action="undo")
    assert "Connected" not in builder.status_line.value
    assert "Undid the last change (0 more to undo)" in builder.status_line.value
    frontend.action(builder.canvas, action="undo")
    assert "Nothing to undo" in builder.status_line.value


def test_undoing_moves_puts_back_the_picture_that_was_shown(frontend: Any) -> None:
    """A flow with no stored positions is laid out by the builder; moving nodes and undoing
    every move shows the same picture again, and the first move keeps the picture in the flow."""
    flow = support_line()
    for node in flow:
        flow.graph.nodes[node].pop("pos", None)
    assert flow.positions() == {}
    builder = Builder(flow)
    try:
        shown = {n["id"]: (n["x"], n["y"]) for n in builder.canvas.nodes}
        frontend.action(builder.canvas, action="move", nodes={"welcome": [900, 900]})
        assert flow.positions()["welcome"] == (900.0, 900.0)
        assert {n: p for n, p in flow.positions().items() if n != "welcome"} == {
            n: p for n, p in shown.items() if n != "welcome"
        }
        frontend.action(builder.canvas, action="move", nodes={"sales": [1200, 40]})
        builder.undo()
        builder.undo()
        assert flow.positions() == {}
        assert {n["id"]: (n["x"], n["y"]) for n in builder.canvas.nodes} == shown
    finally:
        builder.close()
