"""The inspector: a form generated from the selected node's kind declaration.

Each :class:`~flowbuilder.nodes.Param` gets the widget its type calls for (Dropdown for a
choice, BoundedIntText for a bounded int, Checkbox, Text/Textarea, a JSON textarea for lists and
mappings), its help text, and an error line. Edits go through ``Flow.set_params`` /
``set_label``; a refused value leaves the flow unchanged and shows the reason by the field.
With no node selected it shows the flow's settings.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from flowbuilder.callr.constants import VOICES
from flowbuilder.errors import FlowError, UnknownNodeKindError
from flowbuilder.nodes import Param, get_kind
from flowbuilder.ui.state import known_variables

if TYPE_CHECKING:
    from flowbuilder.ui.builder import Builder

DESCRIPTION_STYLE = {"description_width": "96px"}
FULL = widgets.Layout(width="100%")


class FieldValueError(ValueError):
    """A value the form cannot even turn into data (bad JSON, not a number)."""


@dataclass
class Field:
    """One form row: the param it edits, its input widget and its error line."""

    param: Param
    widget: Any
    error: Any
    box: Any


def to_widget_value(param: Param, value: Any) -> Any:
    """A parameter value as its form widget holds it."""
    if param.type in ("list", "mapping"):
        return json.dumps(value, indent=1, ensure_ascii=False)
    if param.type == "prompt":
        return "" if value is None else str(value)
    return value


def from_widget_value(param: Param, raw: Any) -> Any:
    """What the form holds, as a parameter value; FieldValueError when it is not data."""
    if param.type in ("list", "mapping"):
        try:
            return json.loads(raw) if str(raw).strip() else ([] if param.type == "list" else {})
        except json.JSONDecodeError as exc:
            raise FieldValueError(
                f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
    if param.type == "prompt" and isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())  # digits only: a media library id
    return raw


def _input_for(param: Param, value: Any) -> Any:
    common: dict[str, Any] = {
        "description": param.name,
        "style": DESCRIPTION_STYLE,
        "layout": FULL,
        "description_allow_html": False,
    }
    shown = to_widget_value(param, value)
    if param.type == "choice":
        options = list(param.choices)
        if shown not in options:
            options.append(shown)
        return widgets.Dropdown(options=options, value=shown, **common)
    if param.type == "int" and isinstance(shown, int):
        if param.min is not None and param.max is not None and param.min <= shown <= param.max:
            return widgets.BoundedIntText(value=shown, min=param.min, max=param.max, **common)
        return widgets.IntText(value=shown, **common)
    if param.type == "bool" and isinstance(shown, bool):
        return widgets.Checkbox(value=shown, indent=True, **common)
    if param.type in ("prompt", "list", "mapping"):
        rows = 4 if param.type != "prompt" else 2
        return widgets.Textarea(value=str(shown), rows=rows, continuous_update=False, **common)
    return widgets.Text(value=str(shown), continuous_update=False, **common)


def _help_html(param: Param, variables: dict[str, str]) -> str:
    parts = [html.escape(param.help)]
    bounds = []
    if param.type == "int" and param.min is not None and param.max is not None:
        bounds.append(f"{param.min} to {param.max}{' ' + param.unit if param.unit else ''}")
    if param.type == "prompt":
        bounds.append("digits only = media library id")
    if bounds:
        parts.append(f"({html.escape('; '.join(bounds))})")
    text = " ".join(parts)
    if param.template:
        chips = " ".join(
            f'<code title="{html.escape(desc)}">{{{html.escape(name)}}}</code>'
            for name, desc in variables.items()
        )
        text += f"<br>Template: {chips}"
    return f'<div class="fb-field-help">{text}</div>'


def _error_html(message: str) -> str:
    return f'<div class="fb-field-error">⚠ {html.escape(message)}</div>' if message else ""


class Inspector(widgets.VBox):  # type: ignore[misc]
    """Form for the selected node (or the flow's settings when none is selected)."""

    def __init__(self, builder: Builder, *, height: int = 560) -> None:
        super().__init__(
            layout=widgets.Layout(
                width="320px", min_width="280px", height=f"{height}px", overflow="auto"
            )
        )
        self.add_class("fb-inspector")
        self._builder = builder
        self._node: str | None = None
        self._kind: str | None = None
        self._quiet = False
        self._built = False
        self.fields: dict[str, Field] = {}
        self.label: Any = None
        self.node_id: Any = None
        self.settings: dict[str, Field] = {}
        self.show(None)

    @property
    def node(self) -> str | None:
        """The node the form edits, or None for the flow's settings."""
        return self._node

    # -- building the form ------------------------------------------------------------------

    def show(self, node_id: str | None) -> None:
        """Edit *node_id* (None: the flow settings); only rebuilt when the node or kind changed."""
        flow = self._builder.flow
        if node_id is not None and node_id not in flow:
            node_id = None
        kind = flow.kind(node_id) if node_id is not None else None
        if node_id == self._node and kind == self._kind and self._built:
            self.refresh()
            return
        self._node, self._kind = node_id, kind
        self.fields, self.settings = {}, {}
        self.children = self._node_form(node_id) if node_id is not None else self._flow_form()
        self._built = True

    def _node_form(self, node_id: str) -> list[Any]:
        flow = self._builder.flow
        try:
            kind = get_kind(flow.kind(node_id))
        except UnknownNodeKindError as exc:
            return [widgets.HTML(_error_html(exc.reason))]
        head = widgets.HTML(
            f"<b>{html.escape(kind.icon)} {html.escape(kind.title)}</b> "
            f"<code>{html.escape(node_id)}</code><br>"
            f'<span class="fb-field-help">{html.escape(kind.description)}</span>'
        )
        self.node_id = self._text_row("id", node_id, "The node's id (unique in the flow).")
        self.node_id.widget.observe(self._on_rename, names="value")
        self.label = self._text_row("label", flow.label(node_id), "Shown on the canvas.")
        self.label.widget.observe(self._on_label, names="value")
        variables = known_variables(flow)
        params = flow.params(node_id)
        rows: list[Any] = [head, self.node_id.box, self.label.box]
        for p in kind.params:
            widget = _input_for(p, params.get(p.name, p.default))
            error = widgets.HTML("")
            help_ = widgets.HTML(_help_html(p, variables))
            field = Field(p, widget, error, widgets.VBox([widget, error, help_]))
            widget.observe(lambda change, f=field: self._on_param(f, change["new"]), names="value")
            self.fields[p.name] = field
            rows.append(field.box)
        entry = widgets.Button(
            description="Start calls here",
            icon="play",
            disabled=flow.entry == node_id,
            tooltip="Make this node the flow's entry",
        )
        entry.on_click(lambda _b: self._apply(None, lambda: setattr(flow, "entry", node_id)))
        delete = widgets.Button(description="Delete node", icon="trash", button_style="danger")
        delete.on_click(lambda _b: self._builder.delete(node_id))
        self.entry_button = entry
        return [*rows, widgets.HBox([entry, delete])]

    def _text_row(self, name: str, value: str, help_text: str) -> Field:
        widget = widgets.Text(
            value=value,
            description=name,
            style=DESCRIPTION_STYLE,
            layout=FULL,
            continuous_update=False,
        )
        error = widgets.HTML("")
        box = widgets.VBox([widget, error, widgets.HTML(_help_html(_doc(name, help_text), {}))])
        return Field(_doc(name, help_text), widget, error, box)

    def _flow_form(self) -> list[Any]:
        flow = self._builder.flow
        nodes = sorted(flow)
        head = widgets.HTML(
            f"<b>Flow</b> <code>{html.escape(flow.name)}</code> · {len(flow)} nodes<br>"
            '<span class="fb-field-help">Select a node on the canvas to edit it.</span>'
        )
        settings = flow.settings
        inputs: dict[str, tuple[Any, str]] = {
            "description": (
                widgets.Textarea(value=flow.description, rows=2, continuous_update=False),
                "What this flow is for.",
            ),
            "entry": (
                widgets.Dropdown(options=[("(none)", None), *[(n, n) for n in nodes]]),
                "The node every call starts at.",
            ),
            "voice": (
                widgets.Combobox(
                    options=list(VOICES), value=settings["voice"], continuous_update=False
                ),
                "TTS voice of prompts whose node sets none.",
            ),
            "timezone": (
                widgets.Text(value=settings["timezone"], continuous_update=False),
                "IANA time zone for time-based routing, e.g. Europe/Paris.",
            ),
            "on_error": (
                widgets.Dropdown(options=[("(none)", None), *[(n, n) for n in nodes]]),
                "Node a call goes to when something fails (else it hangs up).",
            ),
        }
        inputs["entry"][0].value = flow.entry if flow.entry in flow else None
        inputs["on_error"][0].value = settings["on_error"] if settings["on_error"] in flow else None
        rows: list[Any] = [head]
        for name, (widget, help_text) in inputs.items():
            widget.description = name
            widget.style = DESCRIPTION_STYLE
            widget.layout = FULL
            error = widgets.HTML("")
            param = _doc(name, help_text)
            field = Field(param, widget, error, widgets.VBox([widget, error]))
            widget.observe(
                lambda change, f=field: self._on_setting(f, change["new"]), names="value"
            )
            widget.tooltip = help_text
            self.settings[name] = field
            rows.append(field.box)
        return rows

    # -- keeping the form in step with the flow ---------------------------------------------

    def refresh(self) -> None:
        """Re-read the values from the flow (after an undo, or a change made in code)."""
        flow = self._builder.flow
        if self._node is None or self._node not in flow:
            if self._node is not None or not self.settings:
                self._node = self._kind = None
                self.children = self._flow_form()
            else:
                self._refresh_settings()
            return
        params = flow.params(self._node)
        variables = known_variables(flow)
        with self._silenced():
            for name, field in self.fields.items():
                value = to_widget_value(field.param, params.get(name, field.param.default))
                if field.widget.value != value and not field.error.value:
                    field.widget.value = value
                field.box.children[2].value = _help_html(field.param, variables)
            if self.label is not None and not self.label.error.value:
                self.label.widget.value = flow.label(self._node)
            self.entry_button.disabled = flow.entry == self._node

    def _refresh_settings(self) -> None:
        flow = self._builder.flow
        values = {**flow.settings, "description": flow.description, "entry": flow.entry}
        nodes = [("(none)", None), *[(n, n) for n in sorted(flow)]]
        with self._silenced():
            for name, field in self.settings.items():
                if name in ("entry", "on_error") and list(field.widget.options) != nodes:
                    field.widget.options = nodes
                value = values.get(name)
                if field.widget.value != value and not field.error.value:
                    field.widget.value = value

    @contextmanager
    def _silenced(self) -> Iterator[None]:
        """Set widget values without writing them back to the flow."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    # -- writing through --------------------------------------------------------------------

    def _apply(self, field: Field | None, change: Callable[[], object]) -> bool:
        """Run one change as a user action; a refused one shows its reason by the field."""
        try:
            self._builder.perform(change)
        except FlowError as exc:
            if field is not None:
                where = f"{exc.field}: " if exc.field and exc.field != field.param.name else ""
                field.error.value = _error_html(where + exc.reason)
            else:
                self._builder.status(str(exc), error=True)
            return False
        if field is not None:
            field.error.value = ""
        return True

    def _on_param(self, field: Field, raw: Any) -> None:
        if self._quiet or self._node is None:
            return
        node_id = self._node
        try:
            value = from_widget_value(field.param, raw)
        except FieldValueError as exc:
            field.error.value = _error_html(str(exc))
            return
        flow = self._builder.flow
        self._apply(field, lambda: flow.set_params(node_id, **{field.param.name: value}))

    def _on_label(self, change: dict[str, Any]) -> None:
        if self._quiet or self._node is None:
            return
        node_id, flow = self._node, self._builder.flow
        self._apply(self.label, lambda: flow.set_label(node_id, change["new"]))

    def _on_rename(self, change: dict[str, Any]) -> None:
        if self._quiet or self._node is None:
            return
        old, new = self._node, change["new"].strip()
        if new == old:
            self.node_id.error.value = ""
            return
        flow = self._builder.flow
        if self._apply(self.node_id, lambda: flow.rename(old, new)):
            self._builder.select(new)

    def _on_setting(self, field: Field, value: Any) -> None:
        if self._quiet:
            return
        flow, name = self._builder.flow, field.param.name
        if name == "entry":
            self._apply(field, lambda: setattr(flow, "entry", value))
        else:
            self._apply(field, lambda: flow.configure(**{name: value}))


def _doc(name: str, help_text: str) -> Param:
    """A Param describing a non-parameter field (id, label, settings) for the same row code."""
    return Param(name, "text", "", help_text)
