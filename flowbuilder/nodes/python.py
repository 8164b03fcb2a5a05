"""``python``: call your own Python function during the call and route by what it returns.

``function`` is an import path, ``package.module:function``, kept as text in saved and exported
flows (nothing is pickled). The function is called as ``fn(facts=..., variables=...)`` with copies
of the call facts and variables, by the driver, in a worker thread, with a deadline (an effect:
the engine does no I/O). It returns one of:

- an outcome name: ``"vip"``;
- ``{"outcome": "vip", "variables": {"name": "Ada"}}``;
- a pair ``("vip", {"name": "Ada"})``.

The outcome must be one of the node's ``outcomes``; the variables are stored (list their names
in ``sets`` so validation knows later nodes may read them). Anything else (an undeclared outcome,
an exception, a value that is not JSON data) leaves through ``error`` with the reason in the
``python_error`` variable and in the trace; too slow leaves through ``timeout``. Like every
effect it must fit in CALLR's 5-second answer window: ``timeout_ms`` over 4000 is refused.

>>> from flowbuilder.examples import lookup_customer
>>> lookup_customer(facts={"caller": "+33612345678"}, variables={})
{'outcome': 'known', 'variables': {'customer_name': 'Ada Lovelace', 'customer_tier': 'gold'}}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from flowbuilder import template
from flowbuilder.effects import EffectResult, PythonCall
from flowbuilder.names import OUTCOME_NAME
from flowbuilder.nodes._base import (
    Action,
    Context,
    Fail,
    Go,
    NodeKind,
    NodeSpec,
    Param,
    Perform,
    Result,
    register,
)
from flowbuilder.nodes.http_request import window_advice

RESERVED: Final = ("error", "timeout")
ERROR_VARIABLE: Final = "python_error"
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
IMPORT_PATH = re.compile(_DOTTED + ":" + _DOTTED + r"\Z")


@register
class Python(NodeKind):
    name = "python"
    title = "Python function"
    description = "Call a Python function (package.module:function) and route by its answer."
    category = "Integrations"
    color = "#72b7b2"
    icon = "λ"
    params = (
        Param(
            "function",
            "text",
            "",
            "Import path of the function, e.g. flowbuilder.examples:lookup_customer; it gets "
            "facts= and variables= and returns an outcome, or {'outcome': ..., 'variables': {}}.",
            required=True,
            max=200,
            example="flowbuilder.examples:lookup_customer",
        ),
        Param(
            "outcomes",
            "list",
            ["next"],
            "Outcome names the function may return (error and timeout are always there).",
            required=True,
            item=Param("outcome", "text", "", "An outcome name."),
        ),
        Param(
            "sets",
            "list",
            [],
            "Variables the function sets, e.g. ['customer_name'] (so later nodes may read them "
            "without a warning).",
            item=Param("variable", "variable", "", "A variable name."),
        ),
        Param(
            "timeout_ms",
            "int",
            1000,
            "How long the function may run; at most 4000 to stay inside CALLR's 5 s window.",
            min=100,
            max=10000,
            unit="ms",
        ),
    )
    static_outcomes = ("next", *RESERVED)
    routes_param = "outcomes"
    failure_outcomes = RESERVED
    waits_on_caller = False
    effect_timeout_param = "timeout_ms"

    def outcomes(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        declared = params.get("outcomes")
        names = declared if isinstance(declared, list) else []
        good = (n for n in names if isinstance(n, str) and n and n not in RESERVED)
        return (*dict.fromkeys(good), *RESERVED)

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not IMPORT_PATH.match(params["function"]):
            problems.append(
                (
                    "function",
                    f"must be an import path like 'package.module:function', "
                    f"got {params['function']!r}",
                )
            )
        seen: set[str] = set()
        for i, name in enumerate(params["outcomes"]):
            where = f"outcomes[{i}]"
            if not isinstance(name, str) or not OUTCOME_NAME.match(name):
                problems.append((where, f"must be 1-32 letters, digits, _ or -, got {name!r}"))
            elif name in RESERVED:
                problems.append((where, f"{name!r} is always an outcome; do not declare it"))
            elif name in seen:
                problems.append((where, f"{name!r} is declared twice"))
            else:
                seen.add(name)
        for i, name in enumerate(params["sets"]):
            if not isinstance(name, str) or not template.VARIABLE_NAME.match(name):
                problems.append((f"sets[{i}]", f"must be a variable name, got {name!r}"))
        return problems

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        return window_advice(params.get("timeout_ms"))

    def code_targets(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        function = params.get("function")
        if isinstance(function, str) and IMPORT_PATH.match(function):
            return [("function", function)]
        return []

    def variables_set(self, params: Mapping[str, Any]) -> set[str]:
        declared = params.get("sets")
        names = {n for n in declared if isinstance(n, str)} if isinstance(declared, list) else set()
        return names | {ERROR_VARIABLE}

    def variables_set_by(self, params: Mapping[str, Any], outcome: str) -> set[str]:
        if outcome in self.failure_outcomes:  # the function's variables come with its outcomes
            return {ERROR_VARIABLE}
        return self.variables_set(params) - {ERROR_VARIABLE}

    def prepare(self, params: Mapping[str, Any]) -> Any:
        return frozenset(params["outcomes"])

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        p = node.params
        return Perform(
            PythonCall(
                p["function"], dict(ctx.facts), dict(ctx.variables), p["timeout_ms"], ctx.trust
            )
        )

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if not isinstance(result, EffectResult):
            return Fail("python got a command result instead of the function's answer")
        p = node.params
        if result.timed_out:
            timeout = p["timeout_ms"]
            why = f"ran longer than {result.given_ms(timeout)} ms{result.budget_note(timeout)}"
            return self._error(ctx, "timeout", f"{p['function']} {why}")
        if result.error:
            return self._error(ctx, "error", f"{p['function']}: {result.error}")
        outcome, variables, problem = _parse(result.data)
        if not problem and outcome not in node.prepared:
            declared = ", ".join(p["outcomes"])
            problem = f"returned outcome {outcome!r}, which is not declared ({declared})"
        if problem:
            return self._error(ctx, "error", f"{p['function']} {problem}")
        ctx.variables.pop(ERROR_VARIABLE, None)
        ctx.variables.update(variables)
        return Go(outcome)

    def _error(self, ctx: Context, outcome: str, reason: str) -> Go:
        ctx.variables[ERROR_VARIABLE] = reason
        ctx.note(reason)
        return Go(outcome)


def _parse(value: Any) -> tuple[str, dict[str, Any], str]:
    """(outcome, variables, problem) from what the function returned; problem ``""`` if fine."""
    variables: Any = {}
    if isinstance(value, str):
        outcome: Any = value
    elif isinstance(value, dict):
        unknown = set(value) - {"outcome", "variables"}
        if unknown:
            return "", {}, f"returned unknown key(s) {sorted(unknown)}; use outcome and variables"
        outcome, variables = value.get("outcome"), value.get("variables", {})
    elif isinstance(value, list | tuple) and len(value) == 2:
        outcome, variables = value
    else:
        return (
            "",
            {},
            (
                f"returned {_short(value)}; return an outcome name, "
                "{'outcome': ..., 'variables': {...}} or (outcome, variables)"
            ),
        )
    if not isinstance(outcome, str):
        return "", {}, f"returned outcome {_short(outcome)}, which is not text"
    if not isinstance(variables, dict):
        return "", {}, f"returned variables {_short(variables)}, which is not a dict"
    bad = [k for k in variables if not isinstance(k, str) or not template.VARIABLE_NAME.match(k)]
    if bad or any(k.startswith("_") for k in variables):
        shown = bad or [k for k in variables if k.startswith("_")]
        return "", {}, f"returned bad variable name(s) {shown!r} (letters, digits, _; not _...)"
    return outcome, variables, ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
