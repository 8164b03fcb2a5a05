"""The inspector: a form generated from the selected node's kind declaration.

Each :class:`~flowbuilder.nodes.Param` gets the input its type calls for (Dropdown for a
choice, IntText for an int, Checkbox, Text/Textarea), its name above it, its help
text below and an error line. Lists and mappings get :class:`RowsEditor`: one row per entry,
built from the declaration's ``fields``/``item``/``key``, with add, remove and reorder, the
reason for a refused value next to the field, and the raw JSON as an option. Edits go through
``Flow.set_params`` / ``set_label``; a refused value leaves the flow unchanged and keeps what the
user typed. The *Connections* section routes each outcome with a dropdown (so a flow can be
wired with the keyboard alone). With no node selected it shows the flow's settings.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowbuilder.callr.constants import VOICES
from flowbuilder.errors import FlowError, UnknownNodeKindError
from flowbuilder.nodes import Param, get_kind
from flowbuilder.ui._widgets import widgets
from flowbuilder.ui.state import known_variables

if TYPE_CHECKING:
    from flowbuilder.ui.builder import Builder

FULL = widgets.Layout(width="100%")
NOT_CONNECTED = "(not connected)"


class FieldValueError(ValueError):
    """A value the form cannot even turn into data (bad JSON, not a number)."""


@dataclass
class Field:
    """One form row: the param it edits, its input widget, its error line and help."""

    param: Param
    widget: Any
    error: Any
    box: Any
    help: Any = None


def json_error(text: str, exc: json.JSONDecodeError) -> str:
    """A JSON mistake in one line that says where and, for the usual ones, what to do."""
    where = f"line {exc.lineno}, column {exc.colno}"
    # Python 3.13 points at a trailing comma, 3.11 at what follows it
    comma = text[: exc.pos].rstrip().endswith(",") or text[exc.pos : exc.pos + 1] == ","
    after = text[exc.pos :].lstrip(", \t\r\n")[:1]
    if comma and after in ("]", "}"):
        return f"not valid JSON at {where}: remove the comma before '{after}'"
    if "'" in text and '"' not in text:
        return f'not valid JSON at {where}: JSON needs double quotes ("), not single ones'
    return f"not valid JSON at {where}: {exc.msg}"


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
        text = str(raw)
        try:
            return json.loads(text) if text.strip() else ([] if param.type == "list" else {})
        except json.JSONDecodeError as exc:
            raise FieldValueError(json_error(text, exc)) from None
    if param.type == "prompt" and isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())  # digits only: a media library id
    return raw


def _name_html(param: Param) -> str:
    unit = f' <span class="fb-unit">({html.escape(param.unit)})</span>' if param.unit else ""
    required = ' <span class="fb-unit">required</span>' if param.required else ""
    return (
        f'<div class="fb-field-name"><code>{html.escape(param.name)}</code>{unit}{required}</div>'
    )


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
    if param.template and variables:
        chips = " ".join(
            f'<code title="{html.escape(desc)}">{{{html.escape(name)}}}</code>'
            for name, desc in variables.items()
        )
        text += f"<details><summary>{{placeholders}} you can use</summary>{chips}</details>"
    return f'<div class="fb-field-help">{text}</div>'


def _error_html(message: str) -> str:
    return f'<div class="fb-field-error">⚠ {html.escape(message)}</div>' if message else ""


def plain_input(param: Param, value: Any) -> Any:
    """The input widget for a single value of *param* (no description: the name is above)."""
    shown = to_widget_value(param, value)
    if param.type == "choice":
        options = list(param.choices)
        if shown not in options:
            options.append(shown)
        return widgets.Dropdown(options=options, value=shown, layout=FULL)
    if param.type == "int" and isinstance(shown, int) and not isinstance(shown, bool):
        # not BoundedIntText: it silently turns 99 into its maximum, in the page and in Python;
        # the kind refuses an out-of-range number with its reason, the typed number kept
        return widgets.IntText(value=shown, layout=FULL)
    if param.type == "bool" and isinstance(shown, bool):
        return widgets.Checkbox(value=shown, indent=False, description=param.name)
    if param.type == "prompt":
        return widgets.Textarea(value=str(shown), rows=2, continuous_update=False, layout=FULL)
    if param.type == "list" and param.item is not None:  # a short list of plain values
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        return widgets.Text(value=text, continuous_update=False, layout=FULL)
    if param.type == "value":
        return widgets.Text(value=_value_text(value), continuous_update=False, layout=FULL)
    return widgets.Text(value=str(shown), continuous_update=False, layout=FULL)


def shown_value(param: Param, value: Any) -> Any:
    """What :func:`plain_input`'s widget holds for *value*."""
    if param.type == "list" and param.item is not None:
        return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if param.type == "value":
        return _value_text(value)
    if param.type in ("text", "variable", "digits"):
        return str(value)
    return to_widget_value(param, value)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def value_candidates(param: Param, raw: Any) -> list[Any]:
    """What an entry's field may mean, most literal first (the kind's checks pick one): a
    ``value`` typed ``sat, sun`` is text, else the list ``["sat", "sun"]``; ``3`` is text, else
    the number."""
    if param.type == "int":
        return [raw]
    if param.type == "list":
        items = [p.strip() for p in str(raw).split(",")]
        return [[p for p in items if p]]
    if param.type != "value":
        return [raw]
    text = str(raw)
    out: list[Any] = [text]
    try:
        literal = json.loads(text)
    except ValueError:
        literal = None
    if literal is not None and not isinstance(literal, dict) and literal != text:
        out.append(literal)
    if "," in text:
        out.append([p.strip() for p in text.split(",") if p.strip()])
    return out


_ROW_WHERE = re.compile(r"\w+\[(\d+)\]\Z|\w+\.(.+)\Z")


class RowsEditor(widgets.VBox):  # type: ignore[misc]
    """Rows for a list or mapping parameter, generated from its declaration.

    *apply* gets the whole new value and returns the refusal (a FlowError) or None; a row the
    kind refuses shows the reason next to its field and stays as typed.
    """

    def __init__(self, param: Param, value: Any, apply: Callable[[Any], FlowError | None]) -> None:
        self.param = param
        self._apply = apply
        self.raw = widgets.Textarea(rows=6, continuous_update=False, layout=FULL)
        self.raw.observe(lambda ch: self._from_raw(ch["new"]), names="value")
        self.raw_error = widgets.HTML()
        self.raw_toggle = widgets.ToggleButton(
            value=False,
            description="JSON",
            tooltip="Edit as raw JSON",
            layout=widgets.Layout(width="auto"),
        )
        self.raw_toggle.observe(lambda _ch: self._show_mode(), names="value")
        self.add_button = widgets.Button(
            description="Add", icon="plus", layout=widgets.Layout(width="auto")
        )
        self.add_button.on_click(lambda _b: self.add_row())
        self.rows_box = widgets.VBox()
        self.rows_box.add_class("fb-rows")
        self.raw_box = widgets.VBox([self.raw, self.raw_error])
        super().__init__()
        self.add_class("fb-rows-editor")
        self.entries: list[Any] = []  # what the rows hold (mappings: [key, value] pairs)
        self.rows: list[dict[str, Any]] = []
        self.set_value(value)

    # the value, both ways ------------------------------------------------------------------

    @property
    def mapping(self) -> bool:
        return self.param.type == "mapping"

    def value(self) -> Any:
        if self.mapping:
            return {str(k): v for k, v in self.entries}
        return list(self.entries)

    def set_value(self, value: Any) -> None:
        """Show *value* (from the flow: after an undo or a change in code)."""
        if self.mapping:
            self.entries = [[k, v] for k, v in (value or {}).items()]
        else:
            self.entries = [dict(e) if isinstance(e, dict) else e for e in (value or [])]
        self._build_rows()
        self.raw.unobserve_all("value")
        self.raw.value = json.dumps(value, indent=1, ensure_ascii=False)
        self.raw.observe(lambda ch: self._from_raw(ch["new"]), names="value")
        self.raw_error.value = ""
        self._show_mode()

    def _show_mode(self) -> None:
        body = self.raw_box if self.raw_toggle.value else self.rows_box
        tools = widgets.HBox([self.add_button, self.raw_toggle])
        tools.add_class("fb-actions")
        self.children = [body, tools]
        self.add_button.disabled = self.raw_toggle.value

    # rows --------------------------------------------------------------------------------------

    def _parts(self) -> list[Param]:
        """The inputs of one row."""
        p = self.param
        if self.mapping:
            key = p.key or Param("key", "text", "", "The key.")
            return [key, p.item or Param("value", "value", "", "The value.")]
        if p.fields:
            return list(p.fields)
        return [p.item or Param("value", "value", "", "The value.")]

    def _build_rows(self) -> None:
        self.rows = [self._row(i) for i in range(len(self.entries))]
        empty = [widgets.HTML('<div class="fb-field-help">No entries yet: Add one.</div>')]
        self.rows_box.children = [r["box"] for r in self.rows] or empty

    def _row(self, index: int) -> dict[str, Any]:
        entry = self.entries[index]
        parts = self._parts()
        inputs: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        boxes: list[Any] = []
        for part in parts:
            if self.mapping:
                current = entry[0] if part is parts[0] else entry[1]
            elif self.param.fields:
                if isinstance(entry, dict):
                    current = entry.get(part.name, "")
                else:  # the short form of an entry ("2026-04-06"): its first field
                    current = entry if part is parts[0] else ""
            else:
                current = entry
            widget = plain_input(part, current if current is not None else "")
            widget.add_class(f"fb-input-{part.name}")
            if hasattr(widget, "placeholder"):
                widget.placeholder = part.help
            error = widgets.HTML()
            label = widgets.HTML(
                f'<div class="fb-field-help"><code>{html.escape(part.name)}</code>'
                f"{' · ' + html.escape(part.unit) if part.unit else ''}</div>"
            )
            widget.observe(lambda ch, i=index, q=part: self._edited(i, q, ch["new"]), names="value")
            inputs[part.name], errors[part.name] = widget, error
            boxes.append(widgets.VBox([label, widget, error]))
        up = widgets.Button(icon="arrow-up", tooltip="Move up", disabled=index == 0)
        down = widgets.Button(
            icon="arrow-down", tooltip="Move down", disabled=index == len(self.entries) - 1
        )
        remove = widgets.Button(icon="trash", tooltip="Remove this entry")
        up.on_click(lambda _b, i=index: self.move(i, -1))
        down.on_click(lambda _b, i=index: self.move(i, +1))
        remove.on_click(lambda _b, i=index: self.remove(i))
        title = widgets.HTML(
            f'<span class="fb-row-title">#{index + 1}</span>',
            layout=widgets.Layout(flex="1 1 auto", width="auto", min_width="0"),
        )
        head = widgets.HBox([title, up, down, remove])
        head.add_class("fb-row-head")
        row_error = widgets.HTML()
        box = widgets.VBox([head, *boxes, row_error])
        box.add_class("fb-row")
        return {
            "box": box,
            "inputs": inputs,
            "errors": errors,
            "row_error": row_error,
            "buttons": (up, down, remove),
        }

    def add_row(self) -> None:
        parts = self._parts()
        if self.mapping:
            self.entries.append(["", parts[1].default if parts[1].default is not None else ""])
        elif self.param.fields:
            self.entries.append(
                {f.name: f.default for f in parts if f.required or f.type in ("int", "choice")}
            )
        else:
            self.entries.append(parts[0].default if parts[0].default is not None else "")
        self._build_rows()
        self._commit(len(self.entries) - 1, None)

    def move(self, index: int, delta: int) -> None:
        other = index + delta
        if not 0 <= other < len(self.entries):
            return
        self.entries[index], self.entries[other] = self.entries[other], self.entries[index]
        self._build_rows()
        self._commit(other, None)

    def remove(self, index: int) -> None:
        del self.entries[index]
        self._build_rows()
        self._commit(None, None)

    def _edited(self, index: int, part: Param, raw: Any) -> None:
        row = self.rows[index]
        row["errors"][part.name].value = ""
        tried: list[tuple[Any, FlowError | None]] = []
        for candidate in value_candidates(part, raw):
            problem = part.check(candidate) if candidate not in ("", [], None) else None
            if problem:
                tried.append((candidate, FlowError(f"{part.name} {problem}")))
                continue
            self._set(index, part, candidate)
            refused = self._commit(index, part, quiet=True)
            tried.append((candidate, refused))
            if refused is None:
                return
        # nothing was accepted: keep the text as typed, say why the first reading was refused
        self._set(index, part, value_candidates(part, raw)[0])
        self._show_refusal(index, part, tried[0][1])

    def _set(self, index: int, part: Param, value: Any) -> None:
        parts = self._parts()
        if self.mapping:
            self.entries[index][0 if part is parts[0] else 1] = value
        elif self.param.fields:
            entry = self.entries[index]
            if not isinstance(entry, dict):
                entry = {parts[0].name: entry} if entry not in ("", None) else {}
            if value in ("", [], None) and not part.required:
                entry.pop(part.name, None)  # an optional field left empty is left out
            else:
                entry[part.name] = value
            self.entries[index] = entry
        else:
            self.entries[index] = value

    def _commit(
        self, index: int | None, part: Param | None, *, quiet: bool = False
    ) -> FlowError | None:
        refused = self._apply(self.value())
        for row in self.rows:
            row["row_error"].value = ""
        if refused is not None and not quiet:
            self._show_refusal(index, part, refused)
        elif refused is None:
            for row in self.rows:
                for error in row["errors"].values():
                    error.value = ""
        return refused

    def _show_refusal(
        self, index: int | None, part: Param | None, refused: FlowError | None
    ) -> None:
        if refused is None:
            return
        reason = refused.reason
        where = refused.field or ""
        match = _ROW_WHERE.search(where)
        row_index = index
        if match and match.group(1) is not None:
            row_index = int(match.group(1))
        elif match and match.group(2) is not None and self.mapping:
            keys = [str(k) for k, _ in self.entries]
            row_index = keys.index(match.group(2)) if match.group(2) in keys else index
        if row_index is None or not 0 <= row_index < len(self.rows):
            self.raw_error.value = _error_html(reason)
            if self.rows:
                self.rows[-1]["row_error"].value = _error_html(reason)
            return
        row = self.rows[row_index]
        # the field the reason names ("digits must be ..."), else the one just edited
        named = next((n for n in row["errors"] if reason.startswith(f"{n} ")), None)
        target = named or (part.name if part is not None and part.name in row["errors"] else None)
        if target is not None:
            row["errors"][target].value = _error_html(reason)
        else:
            row["row_error"].value = _error_html(reason)

    def _from_raw(self, text: str) -> None:
        try:
            value = from_widget_value(self.param, text)
        except FieldValueError as exc:
            self.raw_error.value = _error_html(str(exc))
            return
        refused = self._apply(value)
        if refused is not None:
            self.raw_error.value = _error_html(str(refused.reason))
            return
        self.raw_error.value = ""
        raw_mode = self.raw_toggle.value
        self.set_value(value)
        self.raw_toggle.value = raw_mode

    def errors(self) -> list[str]:
        """The reasons shown now (for tests and the summary)."""
        shown = [self.raw_error.value] + [
            e.value for r in self.rows for e in [*r["errors"].values(), r["row_error"]]
        ]
        return [re.sub("<[^>]+>", "", v).replace("⚠ ", "").strip() for v in shown if v]


class Inspector(widgets.VBox):  # type: ignore[misc]
    """Form for the selected node (or the flow's settings when none is selected)."""

    def __init__(self, builder: Builder, *, height: int = 600) -> None:
        super().__init__(layout=widgets.Layout(height=f"{height}px", overflow="hidden auto"))
        self.add_class("fb-inspector")
        self._builder = builder
        self._node: str | None = None
        self._kind: str | None = None
        self._quiet = False
        self._built = False
        self.fields: dict[str, Field] = {}
        self.editors: dict[str, RowsEditor] = {}
        self.connections: dict[str, Any] = {}
        self.label: Any = None
        self.node_id: Any = None
        self.settings: dict[str, Field] = {}
        self.head: Any = None
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
        self.fields, self.settings, self.editors, self.connections = {}, {}, {}, {}
        self.children = self._node_form(node_id) if node_id is not None else self._flow_form()
        self._built = True

    def _row(self, param: Param, widget: Any, variables: dict[str, str]) -> Field:
        error = widgets.HTML("")
        help_ = widgets.HTML(_help_html(param, variables))
        name = widgets.HTML(_name_html(param))
        box = widgets.VBox([name, widget, error, help_])
        box.add_class("fb-field")
        box.add_class(f"fb-field-{param.name}")
        return Field(param, widget, error, box, help_)

    def _node_form(self, node_id: str) -> list[Any]:
        flow = self._builder.flow
        try:
            kind = get_kind(flow.kind(node_id))
        except UnknownNodeKindError as exc:
            return [widgets.HTML(_error_html(exc.reason))]
        self.head = widgets.HTML(
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
        rows: list[Any] = [self.head, self.node_id.box, self.label.box]
        for p in kind.params:
            value = params.get(p.name, p.default)
            if p.type in ("list", "mapping"):
                editor = RowsEditor(p, value, functools.partial(self._apply_param, p.name))
                self.editors[p.name] = editor
                field = self._row(p, editor, variables)
            else:
                widget = plain_input(p, value)
                field = self._row(p, widget, variables)
                widget.observe(
                    lambda change, f=field: self._on_param(f, change["new"]), names="value"
                )
            self.fields[p.name] = field
            rows.append(field.box)
        rows.append(widgets.HTML('<div class="fb-section">Connections</div>'))
        rows.extend(self._connection_rows(node_id))
        entry = widgets.Button(
            description="Start calls here",
            icon="play",
            disabled=flow.entry == node_id,
            tooltip="Make this node the flow's entry",
            layout=widgets.Layout(width="auto"),
        )
        entry.on_click(lambda _b: self._apply(None, lambda: setattr(flow, "entry", node_id)))
        delete = widgets.Button(
            description="Delete node",
            icon="trash",
            button_style="danger",
            layout=widgets.Layout(width="auto"),
        )
        delete.on_click(lambda _b: self._builder.delete(node_id))
        self.entry_button, self.delete_button = entry, delete
        actions = widgets.HBox([entry, delete])
        actions.add_class("fb-actions")
        return [*rows, actions]

    def _connection_rows(self, node_id: str) -> list[Any]:
        flow = self._builder.flow
        outcomes = flow.outcomes(node_id)
        if not outcomes:
            return [widgets.HTML('<div class="fb-field-help">This node ends the call.</div>')]
        options = [(NOT_CONNECTED, ""), *[(n, n) for n in sorted(flow) if n != node_id]]
        rows = []
        for outcome in outcomes:
            target = flow.next(node_id, outcome) or ""
            choices = (
                options if any(v == target for _, v in options) else [*options, (target, target)]
            )
            dropdown = widgets.Dropdown(options=choices, value=target, layout=FULL)
            dropdown.add_class(f"fb-connect-{outcome}")
            dropdown.observe(lambda ch, o=outcome: self._on_connect(o, ch["new"]), names="value")
            self.connections[outcome] = dropdown
            label = widgets.HTML(
                f'<div class="fb-field-name"><code>{html.escape(outcome)}</code> goes to</div>'
            )
            box = widgets.VBox([label, dropdown])
            box.add_class("fb-field")
            rows.append(box)
        return rows

    def _text_row(self, name: str, value: str, help_text: str) -> Field:
        widget = widgets.Text(value=value, layout=FULL, continuous_update=False)
        return self._row(_doc(name, help_text), widget, {})

    def _flow_form(self) -> list[Any]:
        flow = self._builder.flow
        nodes = sorted(flow)
        self.head = widgets.HTML(self._flow_head())
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
        rows: list[Any] = [self.head]
        for name, (widget, help_text) in inputs.items():
            widget.layout = FULL
            field = self._row(_doc(name, help_text), widget, {})
            widget.observe(
                lambda change, f=field: self._on_setting(f, change["new"]), names="value"
            )
            self.settings[name] = field
            rows.append(field.box)
        return rows

    def _flow_head(self) -> str:
        flow = self._builder.flow
        edges = flow.graph.number_of_edges()
        return (
            f"<b>Flow</b> <code>{html.escape(flow.name)}</code> · {len(flow)} "
            f"node{'s' if len(flow) != 1 else ''}, {edges} connection{'s' if edges != 1 else ''}"
            '<br><span class="fb-field-help">Select a node on the canvas to edit it.</span>'
        )

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
                value = params.get(name, field.param.default)
                editor = self.editors.get(name)
                if editor is not None:
                    if editor.value() != value and not editor.errors():
                        editor.set_value(value)
                else:
                    shown = shown_value(field.param, value)
                    if field.widget.value != shown and not field.error.value:
                        field.widget.value = shown
                if field.help is not None:
                    field.help.value = _help_html(field.param, variables)
            if self.label is not None and not self.label.error.value:
                self.label.widget.value = flow.label(self._node)
            self.entry_button.disabled = flow.entry == self._node
            outcomes = flow.outcomes(self._node)
            if list(outcomes) != list(self.connections) or self._targets_changed():
                self.children = self._node_form(self._node)

    def _targets_changed(self) -> bool:
        flow = self._builder.flow
        assert self._node is not None
        nodes = {n for n in flow if n != self._node}
        for outcome, dropdown in self.connections.items():
            target = flow.next(self._node, outcome) or ""
            if dropdown.value != target:
                return True
            if {v for _, v in dropdown.options if v} != nodes | ({target} if target else set()):
                return True
        return False

    def _refresh_settings(self) -> None:
        flow = self._builder.flow
        values = {**flow.settings, "description": flow.description, "entry": flow.entry}
        nodes = [("(none)", None), *[(n, n) for n in sorted(flow)]]
        with self._silenced():
            if self.head is not None:
                self.head.value = self._flow_head()
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
        self._builder._edited_here = True
        return True

    def _apply_param(self, name: str, value: Any) -> FlowError | None:
        """Used by the rows editors: set one parameter; the refusal, or None."""
        if self._quiet or self._node is None:
            return None
        node_id, flow = self._node, self._builder.flow
        try:
            self._builder.perform(lambda: flow.set_params(node_id, **{name: value}))
        except FlowError as exc:
            return exc
        self._builder._edited_here = True
        return None

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

    def _on_connect(self, outcome: str, target: str) -> None:
        if self._quiet or self._node is None:
            return
        node_id, flow = self._node, self._builder.flow
        if target:
            self._apply(None, lambda: flow.connect(node_id, target, outcome))
            self._builder.status(f"Connected {node_id} --{outcome}--> {target}.")
        else:
            self._apply(None, lambda: flow.disconnect(node_id, outcome))

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
