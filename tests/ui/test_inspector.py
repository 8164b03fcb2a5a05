"""The inspector form: generated from the kind declaration, writing through Flow methods.

Edits are delivered as the browser delivers them: a state update on the control's comm.
"""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as widgets
import pytest

from flowbuilder.facts import FACTS
from flowbuilder.flow import Flow
from flowbuilder.nodes import get_kind, kinds


def field(builder: Any, name: str) -> Any:
    return builder.inspector.fields[name]


def edit(frontend: Any, builder: Any, name: str, value: Any) -> None:
    widget = field(builder, name).widget
    if isinstance(widget, widgets.Dropdown):  # a select sends the index of the option
        frontend.update(widget, index=[v for _label, v in widget._options_full].index(value))
    else:
        frontend.update(widget, value=value)


def error_text(builder: Any, name: str) -> str:
    """The error line(s) as the user reads them (a rows editor's too)."""
    editor = builder.inspector.editors.get(name)
    shown = field(builder, name).error.value + " ".join(editor.errors() if editor else [])
    return html.unescape(re.sub(r"<[^>]+>", "", shown))


def rows(builder: Any, name: str) -> Any:
    return builder.inspector.editors[name]


def type_in(frontend: Any, editor: Any, row: int, part: str, value: Any) -> None:
    """The user types *value* into field *part* of row *row* of a rows editor."""
    widget = editor.rows[row]["inputs"][part]
    if isinstance(widget, widgets.Dropdown):
        frontend.update(widget, index=[v for _label, v in widget._options_full].index(value))
    else:
        frontend.update(widget, value=value)


def raw_json(frontend: Any, editor: Any, text: str) -> None:
    frontend.update(editor.raw_toggle, value=True)
    frontend.update(editor.raw, value=text)


def test_form_widgets_follow_the_declaration(builder: Any) -> None:
    builder.select("main_menu")
    assert list(builder.inspector.fields) == [p.name for p in get_kind("menu").params]
    prompt = field(builder, "prompt").widget
    assert isinstance(prompt, widgets.Textarea)
    assert prompt.value.startswith("For sales, press 1")
    options = rows(builder, "options")
    assert options.value() == builder.flow.params("main_menu")["options"]
    assert list(options.rows[0]["inputs"]) == ["outcome", "digits", "one_of", "regex"]
    assert options.rows[0]["inputs"]["outcome"].value == "sales"
    assert options.rows[0]["inputs"]["digits"].value == "1"
    max_digits = field(builder, "max_digits").widget
    assert isinstance(max_digits, widgets.IntText)  # the range is in the help, refused below
    assert max_digits.value == 1
    assert isinstance(field(builder, "variable").widget, widgets.Text)
    builder.select("sales")
    ringtone = field(builder, "ringtone").widget
    assert isinstance(ringtone, widgets.Dropdown)
    assert list(ringtone.options) == ["RING", "MUSIC"]
    timeout = rows(builder, "targets").rows[0]["inputs"]["timeout"]
    assert isinstance(timeout, widgets.IntText)
    builder.add("gather")
    assert isinstance(field(builder, "strip_hash").widget, widgets.Checkbox)
    # every list and mapping parameter of every kind gets rows, never a JSON box
    for kind in kinds():
        for p in kind.params:
            if p.type in ("list", "mapping"):
                assert p.fields or p.item is not None, (kind.name, p.name)


def test_help_text_and_template_hint(builder: Any, flow: Flow) -> None:
    builder.select("main_menu")
    help_html = field(builder, "max_digits").help.value
    assert "Most digits read per try." in help_html
    assert "1 to 20" in help_html
    hint = field(builder, "prompt").help.value
    for fact in FACTS:
        assert f"{{{fact}}}" in hint
    assert "{menu_choice}" in hint  # a variable this flow's menu sets
    assert "{menu_choice}" not in help_html  # no template hint on a number


@pytest.mark.parametrize(
    ("node", "name", "value", "expected"),
    [
        ("welcome", "prompt", "Welcome to Acme, {caller}.", "Welcome to Acme, {caller}."),
        ("welcome", "prompt", "1234", 1234),  # digits only: a media library id
        ("main_menu", "max_failures", 5, 5),
        ("sales", "ringtone", "MUSIC", "MUSIC"),
        ("sales", "cli", "BLOCKED", "BLOCKED"),
        ("support", "max_duration", 60, 60),
    ],
)
def test_edits_write_through_to_the_flow(
    builder: Any, flow: Flow, frontend: Any, node: str, name: str, value: Any, expected: Any
) -> None:
    builder.select(node)
    edit(frontend, builder, name, value)
    assert flow.params(node)[name] == expected
    assert error_text(builder, name) == ""
    assert builder.history.can_undo


def test_checkbox_writes_a_bool(builder: Any, flow: Flow, frontend: Any) -> None:
    node = builder.add("gather")
    edit(frontend, builder, "strip_hash", False)
    assert flow.params(node)["strip_hash"] is False


@pytest.mark.parametrize(
    ("node", "name", "value", "reason"),
    [
        ("sales", "cli", "12345", "must be BLOCKED or +E164"),
        ("welcome", "prompt", "", "is required"),
        ("main_menu", "variable", "my choice", "must be a variable name"),
        # out of range: refused as typed, never quietly changed to the nearest bound
        ("main_menu", "max_digits", 99, "must be between 1 and 20, got 99"),
        ("main_menu", "max_digits", 0, "must be between 1 and 20, got 0"),
        ("main_menu", "timeout_ms", 50, "got 50"),
    ],
)
def test_invalid_values_are_refused_with_the_reason(
    builder: Any, flow: Flow, frontend: Any, node: str, name: str, value: Any, reason: str
) -> None:
    builder.select(node)
    before = flow.to_json()
    edit(frontend, builder, name, value)
    assert flow.to_json() == before
    assert reason in error_text(builder, name)
    assert field(builder, name).widget.value == value  # kept, for the user to fix
    assert not builder.history.can_undo


# -- lists and objects: rows, not JSON (#4) --------------------------------------------------------


def test_list_rows_edit_add_remove_and_reorder(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select("sales")
    targets = rows(builder, "targets")
    type_in(frontend, targets, 0, "number", "+33111111111")
    type_in(frontend, targets, 0, "timeout", 15)
    assert flow.params("sales")["targets"] == [{"number": "+33111111111", "timeout": 15}]
    frontend.click(targets.add_button)  # a new row: not valid until it has a number
    assert len(targets.rows) == 2
    assert len(flow.params("sales")["targets"]) == 1
    assert "number must be +E164" in error_text(builder, "targets")
    type_in(frontend, targets, 1, "number", "+33122222222")
    assert [t["number"] for t in flow.params("sales")["targets"]] == [
        "+33111111111",
        "+33122222222",
    ]
    assert error_text(builder, "targets").strip() == ""
    frontend.click(targets.rows[1]["buttons"][0])  # move the second one up
    assert [t["number"] for t in flow.params("sales")["targets"]] == [
        "+33122222222",
        "+33111111111",
    ]
    frontend.click(targets.rows[0]["buttons"][2])  # remove the first
    assert [t["number"] for t in flow.params("sales")["targets"]] == ["+33111111111"]


def test_a_refused_field_shows_its_reason_next_to_it_and_keeps_the_text(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    builder.select("main_menu")
    options = rows(builder, "options")
    before = flow.to_json()
    type_in(frontend, options, 1, "digits", "2x")  # not digits: refused by the field itself
    assert "0-9, * and #" in re.sub("<[^>]+>", "", options.rows[1]["errors"]["digits"].value)
    assert options.rows[1]["inputs"]["digits"].value == "2x"
    type_in(frontend, options, 1, "digits", "12")  # longer than max_digits: refused by the kind
    assert "raise max_digits" in re.sub("<[^>]+>", "", options.rows[1]["errors"]["digits"].value)
    type_in(frontend, options, 1, "digits", "2")
    type_in(frontend, options, 1, "outcome", "sales")  # a second 'sales': the row says so
    assert "used twice" in error_text(builder, "options")
    assert flow.to_json() == before


def test_one_of_and_branch_values_read_as_lists_when_the_kind_needs_them(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    builder.select("main_menu")
    options = rows(builder, "options")
    frontend.click(options.add_button)
    type_in(frontend, options, 3, "outcome", "other")
    type_in(frontend, options, 3, "one_of", "7, 8")
    assert flow.params("main_menu")["options"][-1] == {"outcome": "other", "one_of": ["7", "8"]}
    node = builder.add("branch")
    conditions = rows(builder, "conditions")
    type_in(frontend, conditions, 0, "value", "sat, sun")
    assert flow.params(node)["conditions"][0]["value"] == ["sat", "sun"]
    type_in(frontend, conditions, 1, "value", "08:00-12:00")
    assert flow.params(node)["conditions"][1]["value"] == "08:00-12:00"


def test_mapping_rows(builder: Any, flow: Flow, frontend: Any) -> None:
    node = builder.add("http_request", url="https://example.com/api")
    headers = rows(builder, "headers")
    frontend.click(headers.add_button)
    type_in(frontend, headers, 0, "header", "Authorization")
    type_in(frontend, headers, 0, "value", "Bearer {token}")
    assert flow.params(node)["headers"] == {"Authorization": "Bearer {token}"}
    type_in(frontend, headers, 0, "header", "Bad Header")
    assert "valid header name" in error_text(builder, "headers")
    assert flow.params(node)["headers"] == {"Authorization": "Bearer {token}"}


def test_raw_json_is_an_option_with_a_clear_error(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select("main_menu")
    options = rows(builder, "options")
    before = flow.to_json()
    text = '[{"outcome": "sales", "digits": "1"}, {"outcome": "support", "digits": "2"},]'
    raw_json(frontend, options, text)
    assert "remove the comma before ']'" in error_text(builder, "options")
    assert "line 1, column" in error_text(builder, "options")
    assert options.raw.value == text
    assert flow.to_json() == before
    raw_json(frontend, options, text[:-2] + "]")
    assert [o["outcome"] for o in flow.params("main_menu")["options"]] == ["sales", "support"]


def test_key_order_survives_undo(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select("main_menu")
    options = rows(builder, "options")
    raw_json(
        frontend, options, '[{"outcome": "x", "digits": "9"}, {"digits": "2", "outcome": "y"}]'
    )
    shown = options.raw.value
    edit(frontend, builder, "max_failures", 4)
    builder.undo()
    assert options.raw.value == shown  # keys as the user wrote them: digits before outcome
    assert list(flow.params("main_menu")["options"][1]) == ["digits", "outcome"]


def test_fixing_a_refused_value_clears_the_reason(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select("sales")
    edit(frontend, builder, "cli", "12345")
    assert error_text(builder, "cli")
    edit(frontend, builder, "cli", "+33100000001")
    assert error_text(builder, "cli") == ""
    assert flow.params("sales")["cli"] == "+33100000001"


def test_removing_a_menu_option_drops_its_port_and_edge(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    builder.select("main_menu")
    frontend.click(rows(builder, "options").rows[2]["buttons"][2])  # remove "operator"
    assert flow.next("main_menu", "operator") is None
    menu = next(n for n in frontend.page_state(builder.canvas)["nodes"] if n["id"] == "main_menu")
    assert menu["outcomes"] == ["sales", "support", "invalid", "timeout"]


def test_connections_route_each_outcome_from_the_form(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    builder.select("operator_busy")
    route = builder.inspector.connections["next"]
    assert route.value == flow.next("operator_busy", "next")
    frontend.update(route, index=[v for _l, v in route._options_full].index("goodbye"))
    assert flow.next("operator_busy", "next") == "goodbye"
    route = builder.inspector.connections["next"]
    frontend.update(route, index=0)  # (not connected)
    assert flow.next("operator_busy", "next") is None


def test_label_and_id(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select("goodbye")
    frontend.update(builder.inspector.label.widget, value="Bye!")
    assert flow.label("goodbye") == "Bye!"
    page = {n["id"]: n for n in frontend.page_state(builder.canvas)["nodes"]}
    assert page["goodbye"]["label"] == "Bye!"
    frontend.update(builder.inspector.node_id.widget, value="farewell")
    assert "farewell" in flow.graph
    assert "goodbye" not in flow.graph
    assert flow.next("main_menu", "timeout") == "farewell"
    assert builder.selected == "farewell"
    assert builder.inspector.node == "farewell"
    frontend.update(builder.inspector.node_id.widget, value="sales")  # taken
    assert "invalid or taken" in builder.inspector.node_id.error.value
    assert "farewell" in flow.graph


def test_form_follows_changes_made_in_code_and_by_undo(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    builder.select("welcome")
    flow.set_params("welcome", prompt="Hello from code")
    assert field(builder, "prompt").widget.value == "Hello from code"
    edit(frontend, builder, "prompt", "Hello from the form")
    builder.undo()
    assert flow.params("welcome")["prompt"] == "Hello from code"
    assert field(builder, "prompt").widget.value == "Hello from code"


def test_entry_and_delete_buttons(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select("main_menu")
    assert not builder.inspector.entry_button.disabled
    frontend.click(builder.inspector.entry_button)
    assert flow.entry == "main_menu"
    assert frontend.page_state(builder.canvas)["entry"] == "main_menu"
    assert builder.inspector.entry_button.disabled
    frontend.click(builder.inspector.delete_button)
    assert "main_menu" not in flow.graph
    assert builder.selected is None


def test_flow_settings_when_nothing_is_selected(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select(None)
    assert builder.inspector.layout.display == "none"  # the canvas takes the room
    frontend.click(builder.settings_button)
    assert builder.inspector.layout.display is None
    assert "9 nodes" in builder.inspector.head.value
    settings = builder.inspector.settings
    frontend.update(settings["voice"].widget, value="TTS_FR-FR_AUDREY")
    assert flow.settings["voice"] == "TTS_FR-FR_AUDREY"
    frontend.update(settings["on_error"].widget, index=list(flow).index("goodbye") + 1)
    assert flow.settings["on_error"] == "goodbye"
    frontend.update(settings["description"].widget, value="Acme support")
    assert flow.description == "Acme support"
    flow.add("new_start", "hangup")
    options = [value for _label, value in settings["entry"].widget.options]
    assert "new_start" in options  # the choices follow the flow
    assert "10 nodes" in builder.inspector.head.value  # and so does the count


def test_business_hours_rows_keep_short_entries_and_lists(
    builder: Any, flow: Flow, frontend: Any
) -> None:
    node = builder.add("business_hours")
    hours = rows(builder, "hours")
    assert hours.rows[0]["inputs"]["days"].value == "mon-fri"
    assert hours.rows[0]["inputs"]["ranges"].value == "09:00-12:30, 13:30-18:00"
    type_in(frontend, hours, 0, "ranges", "08:00-12:00, 14:00-19:00")
    assert flow.params(node)["hours"] == {"mon-fri": ["08:00-12:00", "14:00-19:00"]}
    flow.set_params(node, holidays=["2026-04-06"])  # the short form, written in code
    holidays = rows(builder, "holidays")
    assert holidays.rows[0]["inputs"]["date"].value == "2026-04-06"
    type_in(frontend, holidays, 0, "name", "Easter Monday")
    assert flow.params(node)["holidays"] == [{"date": "2026-04-06", "name": "Easter Monday"}]
