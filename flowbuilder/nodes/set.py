"""``set``: set variables from templates (``{"greeting": "Hi {caller_name}"}``), then ``next``.

Text values are templates, filled in from the call's facts and variables *as they were when the
node was entered* (so ``{"a": "{b}", "b": "x"}`` does not depend on key order); numbers and
booleans are stored as they are. The node sends nothing to CALLR: the flow moves straight on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from flowbuilder import template
from flowbuilder.facts import FACTS
from flowbuilder.nodes._base import Action, Context, Go, NodeKind, NodeSpec, Param, register

#: Clock subjects read by ``branch``; a variable of that name could never be tested there.
_RESERVED = ("time", "weekday")


@register
class Set(NodeKind):
    name = "set"
    title = "Set variables"
    description = "Set variables from text with {variables}, numbers or true/false."
    category = "Logic"
    color = "#b279a2"
    icon = "≔"
    params = (
        Param(
            "values",
            "mapping",
            {},
            "Variables to set: {'name': 'text with {variables}', 'count': 3}.",
            required=True,
            template=True,
            example={"greeting": "Hello {caller}"},
            key=Param("variable", "variable", "", "Variable to set."),
            item=Param(
                "value",
                "value",
                "",
                "Text with {variables}, a number or true/false.",
                template=True,
            ),
        ),
    )
    waits_on_caller = False

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for name, value in params["values"].items():
            where = f"values.{name}"
            if not template.VARIABLE_NAME.match(name):
                problems.append((where, "is not a variable name (letters, digits, _)"))
            elif name.startswith("_"):
                problems.append((where, "names starting with _ are reserved for the engine"))
            elif name in _RESERVED:
                problems.append((where, f"{name!r} is reserved for the clock in branch nodes"))
            if isinstance(value, bool | int | float) and value == value:  # NaN is not data
                continue
            if not isinstance(value, str):
                problems.append(
                    (where, f"must be text, a number or true/false, got {type(value).__name__}")
                )
        return problems

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        values = params.get("values")
        if not isinstance(values, dict):
            return []
        return [
            (
                "warning",
                f"values.{name}",
                f"hides the call fact {{{name}}} ({FACTS[name]}) for the rest of the call",
            )
            for name in values
            if name in FACTS
        ]

    def variables_set(self, params: Mapping[str, Any]) -> set[str]:
        values = params.get("values")
        return {str(k) for k in values} if isinstance(values, dict) else set()

    def variables_read(self, params: Mapping[str, Any]) -> set[str]:
        values = params.get("values")
        if not isinstance(values, dict):
            return set()
        return template.names_in_data(list(values.values()))

    def prepare(self, params: Mapping[str, Any]) -> Any:
        """(name, value, is_template) triples: text without braces needs no rendering."""
        return tuple(
            (name, value, isinstance(value, str) and ("{" in value or "}" in value))
            for name, value in params["values"].items()
        )

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        items: tuple[tuple[str, Any, bool], ...] = node.prepared
        if any(is_template for _, _, is_template in items):
            scope = ctx.scope()
            rendered = {
                name: template.render(value, scope) if is_template else value
                for name, value, is_template in items
            }
        else:
            rendered = {name: value for name, value, _ in items}
        ctx.variables.update(rendered)
        return Go("next")
