"""``branch``: route by conditions, in order; the first that holds wins, else ``else``.

A condition is ``{"name": outcome, "subject": what, "op": operator, "value": literal}``:

- ``subject`` is a variable, a call fact (``caller``, ``number``, ``direction``, ... — a variable
  of the same name wins, as in templates), or the clock: ``time`` (time of day) and ``weekday``,
  read in the node's ``timezone`` (empty: the flow's).
- Operators on variables and facts: ``equals``, ``not_equals``, ``one_of`` (a list),
  ``starts_with``, ``regex`` (searched: anchor with ``^...$`` for a whole match; RE2 syntax, run
  in linear time: no backreferences or lookaround, see :mod:`flowbuilder.nodes._regex`),
  ``lt``, ``le``, ``gt``, ``ge`` (numeric) and ``is_empty`` (no value; unset, ``""`` or null).
- On ``time``: ``time_between`` (``"09:00-17:30"`` or ``["09:00", "17:30"]``; start included, end
  excluded; ``"22:00-06:00"`` spans midnight) and ``lt``/``le``/``gt``/``ge`` against ``"HH:MM"``.
  On ``weekday``: ``weekday_in`` (``["mon", "tue", ...]``), ``equals``, ``not_equals``. These two
  operators default their subject to the clock, so ``{"name": "open", "op": "weekday_in",
  "value": ["mon", "fri"]}`` is enough.

Types, so that ``"1"`` and ``1`` never silently differ (digits from CALLR are always text):

- A *number* is a JSON number or text written like one: ``-?digits[.digits]`` with no leading
  zero (``"42"``, ``"-3.5"``, ``"0.5"``). Text with a leading zero (``"0123"``, a PIN) or a sign
  (``"+3361..."``, a phone number) is a code, not a number.
- ``equals``, ``not_equals`` and ``one_of`` compare as numbers when both sides are numbers
  (``"42" == 42``, ``"1.50" == 1.5``), otherwise as exact, case-sensitive text (``"0123" !=
  123``). Booleans are the text ``true``/``false``; unset or null is ``""``.
- ``lt``, ``le``, ``gt``, ``ge`` need a numeric literal (refused at validation otherwise). A
  subject that is not a number at run time makes the condition false, and the trace records why.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from flowbuilder import template
from flowbuilder.facts import FACTS
from flowbuilder.names import OUTCOME_NAME
from flowbuilder.nodes._base import Action, Context, Go, NodeKind, NodeSpec, Param, register
from flowbuilder.nodes._regex import compile_pattern, pattern_problem

ELSE: Final = "else"
CLOCK: Final = ("time", "weekday")
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VALUE_OPS: Final = ("equals", "not_equals", "one_of", "starts_with", "regex")
NUMERIC_OPS: Final = ("lt", "le", "gt", "ge")
OPS: Final = (*VALUE_OPS, *NUMERIC_OPS, "is_empty", "time_between", "weekday_in")
_OPS_BY_CLOCK: Final = {
    "time": ("time_between", *NUMERIC_OPS),
    "weekday": ("weekday_in", "equals", "not_equals"),
}
_DEFAULT_SUBJECT: Final = {"time_between": "time", "weekday_in": "weekday"}
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?\Z")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])\Z")
_KEYS: Final = frozenset({"name", "subject", "op", "value"})
_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


# -- the type rule -------------------------------------------------------------------------------


def as_number(value: Any) -> Decimal | None:
    """*value* as a number under the branch rule, or None when it is not one.

    >>> as_number("42"), as_number(1.5), as_number("0123"), as_number("+336"), as_number(True)
    (Decimal('42'), Decimal('1.5'), None, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str) and _NUMBER.match(value):
        return Decimal(value)
    return None


def as_text(value: Any) -> str:
    """*value* as text to compare: as a prompt reads it (:func:`flowbuilder.template.as_text`),
    but lists and objects as canonical JSON, so that equal values always compare equal."""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return template.as_text(value)


@dataclass(frozen=True, slots=True)
class Operand:
    """A literal prepared for comparison: its text and (when it is one) its number."""

    text: str
    number: Decimal | None

    @classmethod
    def of(cls, value: Any) -> Operand:
        return cls(as_text(value), as_number(value))

    def equals(self, text: str, number: Decimal | None) -> bool:
        if number is not None and self.number is not None:
            return number == self.number
        return text == self.text


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition compiled once (in ``prepare``): regexes, literals and times pre-parsed."""

    index: int
    name: str
    subject: str
    op: str
    value: Any


# -- the kind ------------------------------------------------------------------------------------


@register
class Branch(NodeKind):
    name = "branch"
    title = "Branch"
    description = "Route by variables, call facts, time of day or weekday; first match wins."
    category = "Logic"
    color = "#b279a2"
    icon = "⋔"
    params = (
        Param(
            "conditions",
            "list",
            [],
            "Checked in order: [{'name': 'vip', 'subject': 'tier', 'op': 'equals', 'value': "
            "'gold'}, {'name': 'open', 'op': 'time_between', 'value': '09:00-17:30'}]. Operators: "
            + ", ".join(OPS)
            + ". Subjects: a variable, a call fact, or time / weekday.",
            required=True,
            example=[
                {"name": "weekend", "op": "weekday_in", "value": ["sat", "sun"]},
                {"name": "open", "op": "time_between", "value": "09:00-17:30"},
            ],
            fields=(
                Param("name", "text", "", "The route's name (its outcome).", required=True),
                Param(
                    "subject",
                    "text",
                    "",
                    "A variable, a call fact, time or weekday (empty for time_between and "
                    "weekday_in).",
                ),
                Param("op", "choice", "equals", "How to compare.", choices=OPS),
                Param(
                    "value",
                    "value",
                    "",
                    "Text, a number, 09:00-17:30, or a list: sat, sun.",
                ),
            ),
        ),
        Param(
            "timezone",
            "text",
            "",
            "IANA time zone for time and weekday, e.g. Europe/Paris; empty uses the flow's.",
        ),
    )
    static_outcomes = (ELSE,)
    routes_param = "conditions"
    waits_on_caller = False

    def outcomes(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        names = [
            c["name"]
            for c in params.get("conditions") or []
            if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"]
        ]
        return (*dict.fromkeys(n for n in names if n != ELSE), ELSE)

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        tz = params["timezone"]
        if tz and not _zone(tz):
            problems.append(
                ("timezone", f"unknown time zone {tz!r}; use an IANA name like Europe/Paris")
            )
        seen: set[str] = set()
        for i, cond in enumerate(params["conditions"]):
            where = f"conditions[{i}]"
            message = _condition_problem(cond)
            if message:
                problems.append((where, message))
                continue
            if cond["name"] in seen:
                problems.append((where, f"name {cond['name']!r} is used twice"))
            seen.add(cond["name"])
        return problems

    def variables_read(self, params: Mapping[str, Any]) -> set[str]:
        return {
            s
            for c in params.get("conditions") or []
            if isinstance(c, dict)
            and isinstance(s := c.get("subject"), str)
            and s not in CLOCK
            and s not in FACTS
        }

    def prepare(self, params: Mapping[str, Any]) -> Any:
        conditions = tuple(
            Condition(i, c["name"], _subject(c), c["op"], _prepare_value(c))
            for i, c in enumerate(params["conditions"])
        )
        uses_clock = any(c.subject in CLOCK for c in conditions)
        return conditions, uses_clock

    # run time -------------------------------------------------------------------------------

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        conditions, uses_clock = node.prepared
        clock = _clock(ctx.now, node.params["timezone"] or ctx.timezone) if uses_clock else None
        variables, facts = ctx.variables, ctx.facts
        for cond in conditions:
            if cond.subject == "time":
                assert clock is not None
                holds = _time_holds(cond, clock[0])
            elif cond.subject == "weekday":
                assert clock is not None
                holds = _weekday_holds(cond, clock[1])
            else:  # a variable wins over a call fact of the same name, as in templates
                value = variables.get(cond.subject, facts.get(cond.subject))
                holds = _value_holds(cond, value, ctx)
            if holds:
                return Go(cond.name)
        return Go(ELSE)


# -- evaluation ----------------------------------------------------------------------------------


def _value_holds(cond: Condition, value: Any, ctx: Context) -> bool:
    op = cond.op
    if op == "is_empty":
        return value is None or value in ("", [], {})
    if op in NUMERIC_OPS:
        number = as_number(value)
        if number is None:
            shown = "not set" if value in (None, "") else f"{as_text(value)!r}, not a number"
            ctx.note(f"conditions[{cond.index}] ({cond.name}): {cond.subject} is {shown}; false")
            return False
        return _COMPARE[op](number, cond.value)
    text = as_text(value)
    if op == "starts_with":
        return text.startswith(cond.value)
    if op == "regex":
        return cond.value.search(text) is not None
    number = as_number(value)
    if op == "one_of":
        return any(lit.equals(text, number) for lit in cond.value)
    same = cond.value.equals(text, number)
    return same if op == "equals" else not same


def _time_holds(cond: Condition, minute: int) -> bool:
    if cond.op == "time_between":
        start, end = cond.value
        if start < end:
            return bool(start <= minute < end)
        return bool(minute >= start or minute < end)  # spans midnight
    return _COMPARE[cond.op](minute, cond.value)


def _weekday_holds(cond: Condition, weekday: int) -> bool:
    if cond.op == "not_equals":
        return weekday not in cond.value
    return weekday in cond.value


def _clock(now: float, tz_name: str) -> tuple[int, int]:
    """(minute of the day, weekday 0=mon) at epoch *now* in *tz_name*."""
    zone = _zone(tz_name)
    if zone is None:
        raise ValueError(f"unknown time zone {tz_name!r}")
    local = datetime.fromtimestamp(now, zone)
    return local.hour * 60 + local.minute, local.weekday()


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, malformed key, a directory
        return None


# -- checks and preparation ----------------------------------------------------------------------


def _subject(cond: Mapping[str, Any]) -> str:
    return str(cond.get("subject") or _DEFAULT_SUBJECT.get(cond.get("op", ""), ""))


def _condition_problem(cond: Any) -> str:
    """Why a condition is malformed (one line), or ``""``."""
    if not isinstance(cond, dict):
        return "must be an object like {'name': 'vip', 'subject': 'tier', 'op': 'equals', ...}"
    unknown = set(cond) - _KEYS
    if unknown:
        return f"unknown key(s) {sorted(unknown)}; use name, subject, op and value"
    name, op = cond.get("name"), cond.get("op")
    if not isinstance(name, str) or not OUTCOME_NAME.match(name):
        return f"name must be 1-32 letters, digits, _ or - (it labels the outcome), got {name!r}"
    if name == ELSE:
        return "name 'else' is reserved for when no condition holds"
    if op not in OPS:
        return f"op must be one of {', '.join(OPS)}; got {op!r}"
    subject = _subject(cond)
    if not isinstance(cond.get("subject", ""), str) or not subject:
        return f"{op} needs a subject: a variable, a call fact, time or weekday"
    if not (subject in CLOCK or template.VARIABLE_NAME.match(subject)):
        return f"subject {subject!r} is not a variable name, a call fact, time or weekday"
    allowed = _OPS_BY_CLOCK.get(subject)
    if allowed is not None and op not in allowed:
        return f"{subject} supports {', '.join(allowed)}; not {op}"
    if allowed is None and op in _DEFAULT_SUBJECT:
        return f"{op} works on the clock: leave subject out or set it to {_DEFAULT_SUBJECT[op]!r}"
    if op == "is_empty":
        return "is_empty takes no value; remove 'value'" if "value" in cond else ""
    if "value" not in cond:
        return f"{op} needs a value"
    return _value_problem(subject, op, cond["value"])


def _value_problem(subject: str, op: str, value: Any) -> str:
    if subject == "time":
        if op == "time_between":
            return (
                ""
                if _time_range(value)
                else (
                    f"time_between needs 'HH:MM-HH:MM' or ['HH:MM', 'HH:MM'] with two different "
                    f"times, got {value!r}"
                )
            )
        return "" if _minutes(value) is not None else f"{op} on time needs 'HH:MM', got {value!r}"
    if subject == "weekday":
        if op == "weekday_in" and (not isinstance(value, list) or not value):
            return f"weekday_in needs a non-empty list of {', '.join(WEEKDAYS)}; got {value!r}"
        if op != "weekday_in" and not isinstance(value, str):
            return f"{op} on weekday needs one of {', '.join(WEEKDAYS)}; got {value!r}"
        days = value if isinstance(value, list) else [value]
        bad = [d for d in days if not isinstance(d, str) or d.lower() not in WEEKDAYS]
        return f"unknown weekday(s) {bad!r}; use {', '.join(WEEKDAYS)}" if bad else ""
    if op in NUMERIC_OPS:
        return (
            "" if as_number(value) is not None else f"{op} compares numbers; {value!r} is not one"
        )
    if op == "one_of":
        if not isinstance(value, list) or not value or not all(map(_is_literal, value)):
            return f"one_of needs a non-empty list of text or numbers, got {value!r}"
        return ""
    if op in ("starts_with", "regex") and not isinstance(value, str):
        return f"{op} needs text, got {value!r}"
    if op == "regex":
        problem = pattern_problem(value)
        return f"regex {value!r} {problem}" if problem else ""
    return "" if _is_literal(value) else f"{op} needs text or a number, got {value!r}"


def _is_literal(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, int | float) and as_number(value) is not None


def _minutes(value: Any) -> int | None:
    m = _HHMM.match(value) if isinstance(value, str) else None
    return int(m.group(1)) * 60 + int(m.group(2)) if m else None


def _time_range(value: Any) -> tuple[int, int] | None:
    parts = value.split("-") if isinstance(value, str) else value
    if not isinstance(parts, list) or len(parts) != 2:
        return None
    start, end = (_minutes(p.strip() if isinstance(p, str) else p) for p in parts)
    if start is None or end is None or start == end:
        return None
    return start, end


def _prepare_value(cond: Mapping[str, Any]) -> Any:
    op, subject = cond["op"], _subject(cond)
    value: Any = cond.get("value")
    if subject == "time":
        return _time_range(value) if op == "time_between" else _minutes(value)
    if subject == "weekday":
        days = value if isinstance(value, list) else [value]
        return frozenset(WEEKDAYS.index(d.lower()) for d in days)
    if op in NUMERIC_OPS:
        return as_number(value)
    if op == "one_of":
        return tuple(Operand.of(v) for v in value)
    if op == "regex":
        return compile_pattern(value)
    if op in ("equals", "not_equals"):
        return Operand.of(value)
    return value
