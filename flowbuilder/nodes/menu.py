"""``menu``: play a prompt, read digits, route by exact digits, digit sets or a regex.

Retries work like FreeSWITCH's IVR menus: a wrong entry plays ``invalid_prompt`` and asks again
until ``max_failures`` wrong entries, then leaves through ``invalid``; silence plays
``timeout_prompt`` and asks again until ``max_timeouts`` silences, then leaves through ``timeout``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowbuilder.callr import commands
from flowbuilder.names import OUTCOME_NAME
from flowbuilder.nodes._base import (
    VOICE,
    Action,
    CommandResult,
    Context,
    Fail,
    Go,
    NodeKind,
    NodeSpec,
    Param,
    Result,
    Send,
    prompt_param,
    register,
)

RESERVED = ("invalid", "timeout")
_MATCHERS = ("digits", "one_of", "regex")


READ = commands.COMMANDS["read"]


def option_outcome(option: Mapping[str, Any]) -> str:
    """An option's outcome label: its ``outcome``, else its digits."""
    return str(option.get("outcome") or option.get("digits") or "")


@register
class Menu(NodeKind):
    name = "menu"
    title = "Menu"
    description = "Ask the caller to press keys and route by what they press, with retries."
    category = "Caller input"
    color = "#f58518"
    icon = "☰"
    params = (
        prompt_param(
            "prompt",
            "The menu: e.g. 'For sales press 1, for support press 2.'",
            example="For sales, press 1. For support, press 2.",
        ),
        Param(
            "options",
            "list",
            [],
            "Routes, checked in order. Each is {'outcome': name, and one of 'digits': '1', "
            "'one_of': ['7', '8'], 'regex': '^9\\d{3}$'}; a route without an outcome is named "
            "by its digits.",
            required=True,
            example=[{"outcome": "sales", "digits": "1"}, {"outcome": "support", "digits": "2"}],
            fields=(
                Param(
                    "outcome", "text", "", "The route's name; empty: named by its digits.", max=32
                ),
                Param("digits", "digits", "", "Exactly these digits, e.g. 1."),
                Param(
                    "one_of",
                    "list",
                    [],
                    "Any of these, e.g. 7, 8.",
                    item=Param("digits", "digits", "", "Digits."),
                ),
                Param("regex", "text", "", "Digits matching a regular expression, e.g. ^9\\d{3}$."),
            ),
        ),
        Param.of(READ.key("max_digits"), "int", 1, "Most digits read per try."),
        Param.of(READ.key("timeout_ms"), "int", 5000, "Silence before a try times out."),
        Param(
            "max_failures",
            "int",
            3,
            "Wrong entries before leaving through 'invalid'.",
            min=1,
            max=10,
        ),
        Param(
            "max_timeouts",
            "int",
            3,
            "Silent tries before leaving through 'timeout'.",
            min=1,
            max=10,
        ),
        prompt_param(
            "invalid_prompt",
            "Played after a wrong entry, before asking again.",
            "Sorry, that is not a valid choice.",
        ),
        prompt_param(
            "timeout_prompt",
            "Played after silence, before asking again.",
            "Sorry, I did not hear your choice.",
        ),
        Param("variable", "variable", "menu_choice", "Variable that receives the digits pressed."),
        VOICE,
    )
    static_outcomes = RESERVED
    routes_param = "options"
    retry_outcomes = RESERVED

    def outcomes(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        routes = [option_outcome(o) for o in params.get("options", []) if isinstance(o, dict)]
        return (*dict.fromkeys(r for r in routes if r), *RESERVED)

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if params["prompt"] in ("", 0):
            problems.append(("prompt", "is required: tell the caller what to press"))
        seen: set[str] = set()
        for i, option in enumerate(params["options"]):
            where = f"options[{i}]"
            if not isinstance(option, dict):
                problems.append(
                    (where, "must be an object like {'outcome': 'sales', 'digits': '1'}")
                )
                continue
            matchers = [m for m in _MATCHERS if m in option]
            unknown = set(option) - {"outcome", *_MATCHERS}
            if unknown:
                problems.append(
                    (
                        where,
                        f"unknown key(s) {sorted(unknown)}; use outcome, digits, one_of or regex",
                    )
                )
            if len(matchers) != 1:
                problems.append((where, "needs exactly one of digits, one_of or regex"))
                continue
            problems.extend(
                (where, m) for m in _matcher_problems(option, matchers[0], params["max_digits"])
            )
            outcome = option_outcome(option)
            if not OUTCOME_NAME.match(outcome):
                problems.append(
                    (where, f"outcome {outcome!r} must be 1-32 letters, digits, _ or -")
                )
            elif outcome in RESERVED:
                problems.append((where, f"outcome {outcome!r} is reserved for retries running out"))
            elif outcome in seen:
                problems.append((where, f"outcome {outcome!r} is used twice"))
            seen.add(outcome)
        return problems

    def prepare(self, params: Mapping[str, Any]) -> Any:
        """(outcome, matcher) pairs, regexes compiled once."""
        routes: list[tuple[str, str | frozenset[str] | re.Pattern[str]]] = []
        for option in params["options"]:
            if "digits" in option:
                routes.append((option_outcome(option), str(option["digits"])))
            elif "one_of" in option:
                routes.append((option_outcome(option), frozenset(map(str, option["one_of"]))))
            else:
                routes.append((option_outcome(option), re.compile(option["regex"])))
        return tuple(routes)

    # run time -------------------------------------------------------------------------------

    def _ask(self, node: NodeSpec, ctx: Context) -> Send:
        p = node.params
        ctx.local["phase"] = "read"
        return Send(
            READ.build(
                media_id=ctx.media(p["prompt"], p["voice"]),
                max_digits=p["max_digits"],
                attempts=1,
                timeout_ms=p["timeout_ms"],
            )
        )

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        ctx.local.update(failures=0, timeouts=0)
        return self._ask(node, ctx)

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if not isinstance(result, CommandResult):
            return Fail("menu got an effect result")
        if result.error:
            return Fail(f"{result.command} failed: {result.error}")
        if ctx.local.get("phase") == "retry":
            return self._ask(node, ctx)
        p = node.params
        digits = result.result
        if digits in ("", commands.READ_TIMEOUT):
            ctx.local["timeouts"] = ctx.local.get("timeouts", 0) + 1
            if ctx.local["timeouts"] >= p["max_timeouts"]:
                return Go("timeout")
            return self._retry(node, ctx, p["timeout_prompt"])
        for outcome, matcher in node.prepared:
            if _matches(matcher, digits):
                if p["variable"]:
                    ctx.variables[p["variable"]] = digits
                return Go(outcome)
        ctx.local["failures"] = ctx.local.get("failures", 0) + 1
        if ctx.local["failures"] >= p["max_failures"]:
            return Go("invalid")
        return self._retry(node, ctx, p["invalid_prompt"])

    def _retry(self, node: NodeSpec, ctx: Context, prompt: str | int) -> Send:
        if prompt in ("", 0):
            return self._ask(node, ctx)
        ctx.local["phase"] = "retry"
        return Send(commands.build("play", media_id=ctx.media(prompt, node.params["voice"])))


def _matches(matcher: str | frozenset[str] | re.Pattern[str], digits: str) -> bool:
    if isinstance(matcher, str):
        return digits == matcher
    if isinstance(matcher, frozenset):
        return digits in matcher
    return matcher.search(digits) is not None


def _matcher_problems(option: Mapping[str, Any], matcher: str, max_digits: int) -> list[str]:
    value = option[matcher]
    if matcher == "digits":
        if not isinstance(value, str) or not re.fullmatch(r"[0-9*#]{1,20}", value):
            return [f"digits must be 1-20 of 0-9 * #, got {value!r}"]
        if len(value) > max_digits:
            return [f"digits {value!r} is longer than max_digits ({max_digits}): raise max_digits"]
    elif matcher == "one_of":
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and re.fullmatch(r"[0-9*#]{1,20}", v) for v in value)
        ):
            return [f"one_of must be a non-empty list of digit strings, got {value!r}"]
    else:
        if not isinstance(value, str):
            return [f"regex must be text, got {value!r}"]
        try:
            re.compile(value)
        except re.error as exc:
            return [f"regex {value!r} does not compile: {exc}"]
    return []
