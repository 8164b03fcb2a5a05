"""``menu``: play a prompt, read digits, route by exact digits, digit sets or a regex.

Retries work like FreeSWITCH's IVR menus: a wrong entry plays ``invalid_prompt`` and asks again
until ``max_failures`` wrong entries, then leaves through ``invalid``; silence plays
``timeout_prompt`` and asks again until ``max_timeouts`` silences, then leaves through ``timeout``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, Literal

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
from flowbuilder.nodes._regex import Pattern, compile_pattern, pattern_problem

RESERVED = ("invalid", "timeout")
_MATCHERS = ("digits", "one_of", "regex")
#: The keys a caller can press; every entry up to this many keys is tried against a regex
#: option to tell whether it can ever match (12 + 144 entries).
_KEYS = "0123456789*#"
_ENUMERABLE_DIGITS = 2

Matcher = str | frozenset[str] | Pattern


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

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        options, max_digits = params.get("options"), params.get("max_digits")
        if not isinstance(options, list) or not isinstance(max_digits, int):
            return []
        return [
            ("warning", f"options[{i}]", message)
            for i, message in _dead_routes(options, max_digits)
        ]

    def variables_set_by(self, params: Mapping[str, Any], outcome: str) -> set[str]:
        return set() if outcome in self.retry_outcomes else self.variables_set(params)

    def prepare(self, params: Mapping[str, Any]) -> Any:
        """(outcome, matcher) pairs, regexes compiled once."""
        routes: list[tuple[str, Matcher]] = []
        for option in params["options"]:
            if "digits" in option:
                routes.append((option_outcome(option), str(option["digits"])))
            elif "one_of" in option:
                routes.append((option_outcome(option), frozenset(map(str, option["one_of"]))))
            else:
                routes.append((option_outcome(option), compile_pattern(option["regex"])))
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


def _matches(matcher: Matcher, digits: str) -> bool:
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
        problem = pattern_problem(value)
        if problem:
            return [f"regex {value!r} {problem}"]
    return []


# -- options that can never match ----------------------------------------------------------------


def _dead_routes(options: list[Any], max_digits: int) -> Iterator[tuple[int, str]]:
    """``(index, message)`` for options, or parts of options, no entry can ever reach: the
    first matching option wins, so an entry an earlier option takes is dead here, and so is one
    longer than ``max_digits``. Options with problems of their own are skipped (reported)."""
    earlier: list[tuple[str, Matcher]] = []  # (who, matcher) of the options checked before
    for i, option in enumerate(options):
        matcher = _matcher(option, max_digits)
        if matcher is None:
            continue
        message = _dead_route(option, matcher, max_digits, earlier)
        if message:
            yield i, message
        earlier.append((f"options[{i}] ({option_outcome(option)})", matcher))


def _dead_route(
    option: Mapping[str, Any],
    matcher: Matcher,
    max_digits: int,
    earlier: list[tuple[str, Matcher]],
) -> str:
    """What of *option* no entry reaches, given the options before it, and the fix; or ``""``."""
    if isinstance(matcher, str):  # an exact entry
        taker = _taker(matcher, earlier)
        if taker:
            return (
                f"digits {matcher!r} never match here: {taker} takes them first; "
                "give this option other digits"
            )
        return ""
    if isinstance(matcher, frozenset):
        dead = []
        for entry in option["one_of"]:
            if len(entry) > max_digits:
                dead.append(f"{entry!r} (longer than max_digits, {max_digits})")
            elif taker := _taker(entry, earlier):
                dead.append(f"{entry!r} ({taker} takes it first)")
        if dead and len(dead) == len(option["one_of"]):
            return f"never matches: {', '.join(dead)}; give it other digits or raise max_digits"
        return (
            f"one_of entries that never match here: {', '.join(dead)}; remove them" if dead else ""
        )
    pattern = matcher.pattern
    if max_digits > _ENUMERABLE_DIGITS:  # too many entries to try: only a repeated regex
        taker = next((who for who, m in earlier if m == matcher), "")
        return (
            f"regex {pattern!r} never matches here: {taker} has it too; remove one" if taker else ""
        )
    entries = _entries_matched(pattern, max_digits)  # every entry a caller can make, tried
    if not entries:
        return (
            f"regex {pattern!r} matches no entry of at most max_digits ({max_digits}) keys, so "
            "it never matches; fix the regex or raise max_digits"
        )
    takers = {_taker(e, earlier) for e in entries}
    if "" not in takers:
        return (
            f"regex {pattern!r} never matches here: every entry it matches is taken first by "
            f"{', '.join(sorted(takers))}; change the regex or the options before it"
        )
    return ""


def _matcher(option: Any, max_digits: int) -> Matcher | None:
    """The option's matcher, or None when it has problems of its own (reported elsewhere)."""
    if not isinstance(option, dict):
        return None
    present = [m for m in _MATCHERS if m in option]
    if len(present) != 1 or _matcher_problems(option, present[0], max_digits):
        return None
    value = option[present[0]]
    if present[0] == "digits":
        return str(value)
    if present[0] == "one_of":
        return frozenset(value)
    return compile_pattern(value)


def _taker(entry: str, earlier: list[tuple[str, Matcher]]) -> str:
    """Which earlier option takes *entry* (the first match wins), or ``""``."""
    return next((who for who, matcher in earlier if _matches(matcher, entry)), "")


@lru_cache(maxsize=256)
def _entries_matched(pattern: str, max_digits: int) -> tuple[str, ...]:
    """Every entry of 1 to *max_digits* keys that *pattern* matches (as the menu matches)."""
    regex = compile_pattern(pattern)
    return tuple(
        entry
        for length in range(1, max_digits + 1)
        for entry in map("".join, itertools.product(_KEYS, repeat=length))
        if regex.search(entry)
    )
