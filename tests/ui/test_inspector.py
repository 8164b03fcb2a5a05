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
from flowbuilder.nodes import get_kind


def field(builder: Any, name: str) -> Any:
    return builder.inspector.fields[name]


def edit(frontend: Any, builder: Any, name: str, value: Any) -> None:
    widget = field(builder, name).widget
    if isinstance(widget, widgets.Dropdown):  # a select sends the index of the option
        frontend.update(widget, index=[v for _label, v in widget._options_full].index(value))
    else:
        frontend.update(widget, value=value)


def error_text(builder: Any, name: str) -> str:
    """The error line as the user reads it."""
    return html.unescape(re.sub(r"<[^>]+>", "", field(builder, name).error.value))


def test_form_widgets_follow_the_declaration(builder: Any) -> None:
    builder.select("main_menu")
    assert list(builder.inspector.fields) == [p.name for p in get_kind("menu").params]
    prompt, options = field(builder, "prompt").widget, field(builder, "options").widget
    assert isinstance(prompt, widgets.Textarea)
    assert prompt.value.startswith("For sales, press 1")
    assert isinstance(options, widgets.Textarea)
    assert '"outcome": "sales"' in options.value
    max_digits = field(builder, "max_digits").widget
    assert isinstance(max_digits, widgets.BoundedIntText)
    assert (max_digits.min, max_digits.max, max_digits.value) == (1, 20, 1)
    assert isinstance(field(builder, "variable").widget, widgets.Text)
    builder.select("sales")
    ringtone = field(builder, "ringtone").widget
    assert isinstance(ringtone, widgets.Dropdown)
    assert list(ringtone.options) == ["RING", "MUSIC"]
    builder.add("gather")
    assert isinstance(field(builder, "strip_hash").widget, widgets.Checkbox)


def test_help_text_and_template_hint(builder: Any, flow: Flow) -> None:
    builder.select("main_menu")
    help_html = field(builder, "max_digits").box.children[2].value
    assert "Most digits read per try." in help_html
    assert "1 to 20" in help_html
    hint = field(builder, "prompt").box.children[2].value
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
        ("sales", "targets", '[{"number": "+33111111111", "timeout": 15}]', None),
        ("support", "max_duration", 60, 60),
    ],
)
def test_edits_write_through_to_the_flow(
    builder: Any, flow: Flow, frontend: Any, node: str, name: str, value: Any, expected: Any
) -> None:
    builder.select(node)
    edit(frontend, builder, name, value)
    got = flow.params(node)[name]
    if expected is None:
        expected = [{"number": "+33111111111", "timeout": 15}]
    assert got == expected
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
        ("main_menu", "options", '[{"outcome": "sales", "digits": "1"', "not valid JSON"),
        (
            "main_menu",
            "options",
            '[{"outcome": "a", "digits": "1"}, {"outcome": "a", "digits": "2"}]',
            "options[1]: outcome 'a' is used twice",
        ),
        ("main_menu", "options", '[{"outcome": "sales", "digits": "12"}]', "raise max_digits"),
        ("main_menu", "variable", "my choice", "must be a variable name"),
        ("sales", "targets", '{"number": "+33111111111"}', "must be list"),
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
    edit(
        frontend,
        builder,
        "options",
        '[{"outcome": "sales", "digits": "1"}, {"outcome": "support", "digits": "2"}]',
    )
    assert flow.next("main_menu", "operator") is None
    menu = next(n for n in frontend.page_state(builder.canvas)["nodes"] if n["id"] == "main_menu")
    assert menu["outcomes"] == ["sales", "support", "invalid", "timeout"]


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
    delete = builder.inspector.children[-1].children[1]
    frontend.click(delete)
    assert "main_menu" not in flow.graph
    assert builder.selected is None


def test_flow_settings_when_nothing_is_selected(builder: Any, flow: Flow, frontend: Any) -> None:
    builder.select(None)
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
