"""Flow: the builder API, deterministic JSON, loading errors and semantic diffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowbuilder.errors import FlowError, NodeConfigError, UnknownNodeKindError
from flowbuilder.flow import SCHEMA_VERSION, Flow, FlowChange
from flowbuilder.validate import validate

MENU_OPTIONS = [{"outcome": "sales", "digits": "1"}, {"outcome": "support", "digits": "2"}]


def small_ivr() -> Flow:
    return (
        Flow("ivr")
        .add("hello", "play", prompt="Hello")
        .add("menu", "menu", prompt="1 or 2", options=MENU_OPTIONS)
        .add("sales", "play", prompt="Sales")
        .add("support", "play", prompt="Support")
        .add("end", "hangup")
        .connect("hello", "menu")
        .connect("menu", "sales", "sales")
        .connect("menu", "support", "support")
        .connect("menu", "end", "invalid")
        .connect("menu", "end", "timeout")
        .connect("sales", "end")
        .connect("support", "end")
    )


# -- building --------------------------------------------------------------------------------------


def test_add_chains_fills_defaults_and_the_first_node_is_the_entry() -> None:
    flow = Flow("f").add("a", "play", prompt="A").add("b", "hangup")
    assert flow.entry == "a"
    assert list(flow) == ["a", "b"]
    assert len(flow) == 2
    assert "a" in flow
    assert flow.params("a") == {"prompt": "A", "voice": ""}
    assert flow.kind("b") == "hangup"


def test_add_refuses_an_unknown_kind_naming_node_and_field() -> None:
    with pytest.raises(UnknownNodeKindError) as info:
        Flow().add("x", "teleport")
    assert (info.value.node_id, info.value.field) == ("x", "kind")
    assert str(info.value).startswith("x.kind: unknown node kind 'teleport'; known kinds: ")
    assert "play" in str(info.value)


def test_add_refuses_a_value_out_of_bounds_naming_node_and_field() -> None:
    with pytest.raises(NodeConfigError) as info:
        Flow().add("m", "menu", prompt="P", options=MENU_OPTIONS, timeout_ms=50)
    assert (info.value.node_id, info.value.field) == ("m", "timeout_ms")
    assert str(info.value) == "m.timeout_ms: must be between 100 and 30000 ms, got 50"


def test_add_refuses_unknown_params_bad_ids_and_duplicates() -> None:
    with pytest.raises(NodeConfigError, match=r"^p\.colour: is not a parameter of play$"):
        Flow().add("p", "play", prompt="x", colour="red")
    with pytest.raises(FlowError, match="must start with a letter") as info:
        Flow().add("1st", "play", prompt="x")
    assert info.value.field == "id"
    flow = Flow().add("p", "play", prompt="x")
    with pytest.raises(FlowError, match=r"^p\.id: a node with this id already exists"):
        flow.add("p", "hangup")
    assert flow.kind("p") == "play"


def test_connect_infers_the_single_outcome() -> None:
    flow = Flow().add("a", "play", prompt="A").add("b", "hangup").connect("a", "b")
    assert flow.edges_from("a") == {"next": "b"}
    assert flow.next("a", "next") == "b"


def test_connect_needs_the_outcome_when_there_are_several() -> None:
    flow = small_ivr()
    with pytest.raises(FlowError) as info:
        flow.connect("menu", "end")
    assert (info.value.node_id, info.value.field) == ("menu", "outcome")
    assert "one of sales, support, invalid, timeout" in str(info.value)


def test_connect_refuses_an_outcome_the_kind_does_not_have() -> None:
    flow = small_ivr()
    with pytest.raises(FlowError, match=r"^menu\.outcome: menu has no outcome 'billing'"):
        flow.connect("menu", "end", "billing")
    with pytest.raises(FlowError, match=r"^end\.outcome: hangup ends the call"):
        flow.connect("end", "hello")
    with pytest.raises(FlowError, match=r"^ghost: no such node$"):
        flow.connect("ghost", "end")
    with pytest.raises(FlowError, match=r"^ghost: no such node$"):
        flow.connect("hello", "ghost")


def test_connect_replaces_the_edge_an_outcome_had() -> None:
    flow = small_ivr().connect("menu", "hello", "invalid")
    assert flow.edges_from("menu")["invalid"] == "hello"
    assert flow.graph.number_of_edges() == 7


def test_disconnect_and_remove() -> None:
    flow = small_ivr().configure(on_error="support")
    flow.disconnect("menu", "sales").disconnect("menu", "sales")  # the second is a no-op
    assert "sales" not in flow.edges_from("menu")
    flow.remove("support")
    assert "support" not in flow
    assert "support" not in flow.edges_from("menu")
    assert flow.settings["on_error"] is None
    flow.remove("hello")
    assert flow.entry is None
    with pytest.raises(FlowError, match="no such node"):
        flow.remove("hello")


def test_set_params_changes_refuses_and_drops_edges_of_vanished_outcomes() -> None:
    flow = small_ivr()
    flow.set_params("sales", prompt="Sales team")
    assert flow.params("sales")["prompt"] == "Sales team"
    with pytest.raises(NodeConfigError, match=r"^menu\.max_digits: must be between 1 and 20"):
        flow.set_params("menu", max_digits=0)
    assert flow.params("menu")["max_digits"] == 1  # unchanged
    flow.set_params("menu", options=[{"outcome": "sales", "digits": "1"}])
    assert flow.edges_from("menu") == {"sales": "sales", "invalid": "end", "timeout": "end"}


def test_labels_moves_renames_and_settings() -> None:
    flow = small_ivr().configure(on_error="hello", voice="TTS_FR-FR_AUDREY")
    flow.set_label("menu", "Main menu").move("menu", 10, 20.5)
    assert flow.label("menu") == "Main menu"
    assert flow.positions() == {"menu": (10.0, 20.5)}
    flow.rename("hello", "welcome")
    assert flow.entry == "welcome"
    assert flow.settings["on_error"] == "welcome"
    assert flow.edges_from("welcome") == {"next": "menu"}
    flow.rename("menu", "main")
    assert flow.label("main") == "Main menu"
    assert flow.edges_from("main")["sales"] == "sales"
    assert flow.edges_from("welcome") == {"next": "main"}
    assert flow.positions() == {"main": (10.0, 20.5)}
    with pytest.raises(FlowError, match="a node with that id exists"):
        flow.rename("main", "sales")
    with pytest.raises(FlowError, match="starts with a letter"):
        flow.rename("main", "9lives")
    with pytest.raises(FlowError, match=r"^colour: unknown setting 'colour'; settings are voice"):
        flow.configure(colour="red")
    with pytest.raises(FlowError, match=r"^ghost: no such node$"):
        flow.configure(on_error="ghost")
    assert flow.settings["voice"] == "TTS_FR-FR_AUDREY"


def test_an_unknown_id_is_never_read_as_a_list_of_ids() -> None:
    flow = Flow().add("a", "play", prompt="A").add("b", "play", prompt="B").connect("a", "b")
    for call in (
        lambda: flow.edges_from("ab"),
        lambda: flow.next("ab", "next"),
        lambda: flow.outcomes("ab"),
        lambda: flow.disconnect("ab", "next"),
    ):
        with pytest.raises(FlowError, match=r"^ab: no such node$"):
            call()
    assert flow.edges_from("a") == {"next": "b"}


def test_params_are_copied_in_and_out() -> None:
    options = [{"outcome": "sales", "digits": "1"}]
    flow = Flow().add("m", "menu", prompt="P", options=options)
    options.append({"outcome": "evil", "digits": "9"})
    flow.params("m")["options"].append({"outcome": "evil", "digits": "9"})
    flow.to_dict()["nodes"]["m"]["params"]["options"].clear()
    assert flow.params("m")["options"] == [{"outcome": "sales", "digits": "1"}]
    twin = flow.copy()
    twin.set_params("m", options=[{"outcome": "other", "digits": "3"}])
    assert flow.params("m")["options"] == [{"outcome": "sales", "digits": "1"}]


def test_observers_hear_every_change_until_they_stop() -> None:
    heard: list[FlowChange] = []
    flow = Flow()
    stop = flow.observe(heard.append)
    flow.add("a", "play", prompt="A").add("b", "hangup").connect("a", "b")
    flow.set_params("a", prompt="AA").set_label("a", "A").move("a", 1, 2)
    flow.disconnect("a", "next").configure(voice="TTS_EN-GB_DANIEL").rename("b", "c")
    flow.remove("c")
    stop()
    flow.add("z", "hangup")
    assert heard == [
        FlowChange("add", "a"),
        FlowChange("add", "b"),
        FlowChange("connect", "a", "next", "b"),
        FlowChange("params", "a"),
        FlowChange("label", "a"),
        FlowChange("layout", "a"),
        FlowChange("disconnect", "a", "next"),
        FlowChange("settings"),
        FlowChange("replace", "b", target="c"),
        FlowChange("remove", "c"),
    ]
    stop()  # stopping twice is harmless


# -- deterministic JSON ----------------------------------------------------------------------------


def test_the_same_flow_built_in_any_order_saves_byte_identical() -> None:
    a = small_ivr()
    b = (
        Flow("ivr")
        .add("hello", "play", prompt="Hello")
        .add("end", "hangup")
        .add("support", "play", prompt="Support")
        .add("sales", "play", prompt="Sales")
        .add(
            "menu",
            "menu",
            prompt="1 or 2",
            options=[{"digits": "1", "outcome": "sales"}, {"digits": "2", "outcome": "support"}],
        )
    )
    for source, target, outcome in [
        ("support", "end", None),
        ("sales", "end", None),
        ("menu", "end", "timeout"),
        ("menu", "end", "invalid"),
        ("menu", "support", "support"),
        ("menu", "sales", "sales"),
        ("hello", "menu", None),
    ]:
        b.connect(source, target, outcome)
    assert a.to_json() == b.to_json()
    assert a == b
    assert a.to_json().endswith("}\n")


def test_layout_is_kept_apart_from_the_logic() -> None:
    a, b = small_ivr(), small_ivr()
    b.move("menu", 300, 40).move("hello", 0, 0)
    da, db = json.loads(a.to_json()), json.loads(b.to_json())
    assert da["layout"] == {}
    assert db["layout"] == {"hello": {"x": 0.0, "y": 0.0}, "menu": {"x": 300.0, "y": 40.0}}
    del da["layout"], db["layout"]
    assert da == db
    assert not a.diff(b)
    assert str(a.diff(b)) == "no changes"


def test_the_document_carries_its_schema_version() -> None:
    data = json.loads(small_ivr().to_json())
    assert data["schema"] == SCHEMA_VERSION == 1
    assert set(data) == {
        "schema",
        "name",
        "description",
        "entry",
        "settings",
        "nodes",
        "edges",
        "layout",
    }
    assert data["edges"][0] == {"from": "hello", "outcome": "next", "to": "menu"}


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    flow = small_ivr().move("menu", 1.25, 2).set_label("menu", "Menu é")
    path = flow.save(tmp_path / "ivr.json")
    again = Flow.load(path)
    assert again == flow
    assert again.to_json() == flow.to_json() == path.read_text(encoding="utf-8")
    assert again.positions() == {"menu": (1.2, 2.0)}  # layout rounded to 0.1


# -- loading errors --------------------------------------------------------------------------------


def document(**changes: Any) -> dict[str, Any]:
    data = json.loads(small_ivr().to_json())
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "ivr.json: not valid JSON: Expecting property name enclosed in double"),
        ("[]", "ivr.json: a flow must be a JSON object, got list"),
        ('{"schema": 2}', "ivr.json: unsupported schema 2 (this version reads 1)"),
        ('{"nodes": {}}', "ivr.json: unsupported schema None (this version reads 1)"),
        ('{"schema": 1, "nodes": []}', "ivr.json: 'nodes' must be an object of node id -> node"),
        ('{"schema": 1, "nodes": {"a": {}}}', "ivr.json: node 'a' must be an object with a 'kind'"),
    ],
)
def test_broken_documents_raise_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ivr.json"
    path.write_text(text)
    with pytest.raises(FlowError) as info:
        Flow.load(path)
    assert "\n" not in str(info.value)
    assert message in str(info.value).replace(str(tmp_path) + "/", "")


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match=r"nope\.json: cannot read: No such file"):
        Flow.load(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"edges": [{"from": "hello", "outcome": "next", "to": "ghost"}]},
            "edges[0] refers to unknown node 'ghost'",
        ),
        (
            {"edges": [{"from": "ghost", "outcome": "next", "to": "end"}]},
            "edges[0] refers to unknown node 'ghost'",
        ),
        ({"edges": [{"from": "hello", "to": "end"}]}, "edges[0] needs from, outcome and to"),
        ({"edges": ["hello->end"]}, "edges[0] needs from, outcome and to"),
        ({"edges": {"hello": "end"}}, "'edges' must be a list"),
        (
            {
                "edges": [
                    {"from": "hello", "outcome": "next", "to": "end"},
                    {"from": "hello", "outcome": "next", "to": "menu"},
                ]
            },
            "edges[1] connects outcome 'next' of 'hello' a second time",
        ),
        ({"entry": "ghost"}, "entry 'ghost' is not a node"),
        ({"settings": ["voice"]}, "'settings' must be an object"),
        ({"layout": {"hello": {"x": "left"}}}, "layout of 'hello' must be {'x': number"),
        ({"name": "bad name!"}, "flow name 'bad name!' must be 1-64 letters"),
    ],
)
def test_structural_problems_raise_one_line_naming_where(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(FlowError) as info:
        Flow.from_dict(document(**changes), source="ivr.json")
    text = str(info.value)
    assert "\n" not in text
    assert text == f"ivr.json: {info.value.reason}"
    assert message in text


def test_out_of_bound_params_and_unknown_kinds_are_kept_and_reported() -> None:
    data = document()
    data["nodes"]["menu"]["params"]["max_digits"] = 99
    data["nodes"]["sales"] = {"kind": "teleport", "params": {"to": "mars"}}
    flow = Flow.from_dict(data)
    assert flow.params("menu")["max_digits"] == 99
    assert flow.kind("sales") == "teleport"
    assert flow.params("sales") == {"to": "mars"}
    assert flow.edges_from("sales") == {"next": "end"}  # kept too
    errors = [str(i) for i in validate(flow) if i.severity == "error"]
    assert errors == [
        "error: menu.max_digits: must be between 1 and 20, got 99",
        "error: sales.kind: unknown node kind 'teleport'; replace the node with a registered kind",
    ]
    assert Flow.from_dict(flow.to_dict()) == flow  # and saved as they were


def test_a_bad_value_keeps_the_other_defaults() -> None:
    data = document()
    data["nodes"]["menu"]["params"] = {"prompt": "P", "options": MENU_OPTIONS, "max_digits": "2"}
    flow = Flow.from_dict(data)
    assert flow.params("menu")["timeout_ms"] == 5000
    assert [str(i) for i in validate(flow) if i.severity == "error"] == [
        "error: menu.max_digits: must be an integer, got str '2'"
    ]


# -- diff ------------------------------------------------------------------------------------------


def test_diff_names_every_kind_of_change() -> None:
    old = small_ivr()
    new = small_ivr().configure(voice="TTS_EN-GB_DANIEL", on_error="end")
    new.add("hours", "play", prompt="Closed").remove("support")
    new.set_params("sales", prompt="Sales team").set_label("menu", "Main")
    new.connect("menu", "hello", "invalid").connect("hours", "end")
    new.move("hello", 5, 5)  # layout: not a change
    diff = old.diff(new)
    assert diff.nodes_added == ["hours"]
    assert diff.nodes_removed == ["support"]
    assert diff.nodes_changed == {
        "menu": {"label": ("", "Main")},
        "sales": {"params.prompt": ("Sales", "Sales team")},
    }
    assert diff.edges_added == [("hours", "next", "end")]
    assert diff.edges_removed == [("menu", "support", "support"), ("support", "next", "end")]
    assert diff.edges_changed == [("menu", "invalid", "end", "hello")]
    assert diff.settings_changed == {
        "on_error": (None, "end"),
        "voice": ("TTS_EN-GB_SERENA", "TTS_EN-GB_DANIEL"),
    }
    assert bool(diff)
    assert str(diff).splitlines() == [
        "+ node hours",
        "- node support",
        "~ menu.label: '' -> 'Main'",
        "~ sales.params.prompt: 'Sales' -> 'Sales team'",
        "+ edge hours --next--> end",
        "- edge menu --support--> support",
        "- edge support --next--> end",
        "~ edge menu --invalid--> end => hello",
        "~ on_error: None -> 'end'",
        "~ voice: 'TTS_EN-GB_SERENA' -> 'TTS_EN-GB_DANIEL'",
    ]


def test_diff_of_a_saved_and_reloaded_flow_is_empty(tmp_path: Path) -> None:
    flow = small_ivr().move("menu", 3, 4)
    assert not flow.diff(Flow.load(flow.save(tmp_path / "f.json")))


def test_restore_replaces_content_in_place() -> None:
    flow = small_ivr()
    snapshot = flow.to_dict()
    heard: list[FlowChange] = []
    flow.observe(heard.append)
    flow.remove("sales").restore(snapshot)
    assert flow.to_dict() == snapshot
    assert heard[-1] == FlowChange("replace")


def test_a_json_file_that_is_not_a_flow_says_so(tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_text('{"name": "my-app", "version": "1.0.0"}')
    with pytest.raises(FlowError, match="not a flowbuilder flow file"):
        Flow.load(path)
