"""Undo/redo snapshots of a flow."""

from __future__ import annotations

from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.ui.history import History


def test_undo_and_redo_walk_the_steps_in_order() -> None:
    flow = support_line()
    history = History(flow)
    states = [flow.to_json()]
    flow.remove("goodbye")
    history.record()
    states.append(flow.to_json())
    flow.set_params("welcome", prompt="Hi")
    flow.move("end", 0, 0)
    history.record()  # two changes, one step
    states.append(flow.to_json())
    assert history.undo()
    assert flow.to_json() == states[1]
    assert history.undo()
    assert flow.to_json() == states[0]
    assert not history.undo()
    assert history.redo()
    assert history.redo()
    assert flow.to_json() == states[2]
    assert not history.redo()


def test_a_new_change_drops_the_redo_steps() -> None:
    flow = Flow("h").add("a", "hangup")
    history = History(flow)
    flow.add("b", "hangup")
    history.record()
    history.undo()
    flow.add("c", "hangup")
    assert not history.redo()  # the unrecorded change became a step; nothing to redo
    assert sorted(flow) == ["a", "c"]
    assert history.undo()
    assert sorted(flow) == ["a"]


def test_snapshots_are_not_shared_with_the_live_flow() -> None:
    flow = support_line()
    history = History(flow)
    flow.graph.nodes["main_menu"]["params"]["options"].append({"outcome": "x", "digits": "9"})
    history.record()
    history.undo()
    assert len(flow.params("main_menu")["options"]) == 3
    flow.graph.nodes["main_menu"]["params"]["options"].clear()  # mutate the restored flow
    history.redo()
    history.undo()
    assert len(flow.params("main_menu")["options"]) == 3


def test_history_is_bounded() -> None:
    flow = Flow("h").add("a", "hangup")
    history = History(flow, limit=3)
    for i in range(10):
        flow.move("a", i, i)
        history.record()
    steps = 0
    while history.undo():
        steps += 1
    assert steps == 3
    assert flow.positions()["a"] == (6.0, 6.0)
