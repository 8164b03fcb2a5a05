"""``business_hours``: open, closed or a holiday, from a weekly timetable, holidays and exceptions.

What contact-centre tools call "hours of operation" (Amazon Connect's hours and overrides), as one
node that never waits on the caller:

- ``hours``: the weekly timetable, ``{"mon-fri": ["09:00-12:30", "13:30-18:00"], "sat":
  ["10:00-13:00"]}``. Keys are days (``mon`` ... ``sun``) or spans of days (``mon-fri``; a span
  may wrap, ``fri-mon``); each day appears once. Ranges are ``HH:MM-HH:MM``, start included, end
  excluded, ``24:00`` ends at midnight; a range whose end is before its start runs past
  midnight into the next day (``"22:00-02:00"`` on ``fri`` is open until Saturday 02:00). A day
  not listed is closed.
- ``holidays``: dates closed all day, ``"2026-04-06"`` or ``{"date": "2026-04-06", "name": "Easter
  Monday"}``; a date without a year (``"12-25"``) is a holiday every year.
- ``exceptions``: dates with hours of their own instead of the weekly ones: ``{"date":
  "2026-12-24", "hours": ["09:00-20:00"], "name": "Christmas Eve"}``; ``"hours": []`` closes that
  day (``closed``, not ``holiday``). A date without a year recurs every year.

A date's entry with a year wins over a yearly one (Christmas 2026 may open while every other
Christmas is a holiday); the same date twice, or one date both a holiday and an exception, is
refused. A range that began the day before and runs past midnight keeps going into a holiday
(the night shift started before it).

Outcomes: ``open`` inside a range, ``holiday`` on a holiday outside those, else ``closed``
(``holiday`` exists once the node has holidays). ``variable``, when set, receives ``open``,
``closed``, or the holiday's name (``holiday`` when it has none), for prompts like "We are closed
for {reason}".

Time zones and daylight saving: the node reads the clock in ``timezone`` (empty: the flow's), and
ranges are wall-clock times. On the days the clocks change, a range is one stretch of time, from
the first moment the wall clock shows its start to the last moment it shows a time before its
end. In Europe/Paris on 2026-03-29 (02:00-03:00 does not happen), ``01:00-03:00`` is open one
hour, 01:00 to the jump, and ``02:30-04:00`` opens at the jump (03:00 summer time); on 2026-10-25
(02:00-03:00 happens twice), ``01:00-03:00`` is open three hours, through both 02:00s, and a
range ending at ``02:30`` closes at the second 02:30.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from flowbuilder.clock import zone
from flowbuilder.nodes._base import (
    Action,
    Context,
    Fail,
    Go,
    NodeKind,
    NodeSpec,
    Param,
    register,
)

OPEN: Final = "open"
CLOSED: Final = "closed"
HOLIDAY: Final = "holiday"
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY: Final = 24 * 60
MAX_NAME: Final = 100
_RANGE = re.compile(r"\s*(\S+?)\s*-\s*(\S+?)\s*\Z")
_HHMM = re.compile(r"(\d\d):(\d\d)\Z")
_FULL_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
_YEARLY_DATE = re.compile(r"\d\d-\d\d\Z")
_HOLIDAY_KEYS: Final = frozenset({"date", "name"})
_EXCEPTION_KEYS: Final = frozenset({"date", "hours", "name"})

#: A range as minutes from the start of its day; ``end`` past 1440 runs into the next day.
Span = tuple[int, int]
#: A date as written: (year or None for every year, month, day).
DateKey = tuple[int | None, int, int]


@dataclass(frozen=True, slots=True)
class Special:
    """A date's own entry: a holiday (``spans`` empty) or an exception with its hours."""

    holiday: bool
    spans: tuple[Span, ...]
    name: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """The node's parameters compiled once: spans per weekday and the dated entries."""

    timezone: str  # "" = the flow's
    weekly: tuple[tuple[Span, ...], ...]  # by weekday, 0 = monday
    dated: Mapping[DateKey, Special]

    def special(self, day: date) -> Special | None:
        found = self.dated.get((day.year, day.month, day.day))
        return found if found is not None else self.dated.get((None, day.month, day.day))

    def spans(self, day: date) -> tuple[Span, ...]:
        special = self.special(day)
        return self.weekly[day.weekday()] if special is None else special.spans

    def status(self, now: float, where: ZoneInfo) -> tuple[str, str]:
        """(outcome, reason) at epoch *now*, the clock read in *where*."""
        today = datetime.fromtimestamp(now, where).date()
        # yesterday's ranges may run past midnight; a zone whose midnight repeats can put the
        # start of tomorrow before the end of today
        for offset in (-1, 0, 1):
            day = today + timedelta(days=offset)
            for start, end in _intervals(self.spans(day), day, where):
                if start <= now < end:
                    return OPEN, OPEN
        special = self.special(today)
        if special is not None and special.holiday:
            return HOLIDAY, special.name or HOLIDAY
        return CLOSED, CLOSED


# The parts of the entries above, for the editor's rows.
RANGE = Param("range", "text", "", "HH:MM-HH:MM")
DATE = Param("date", "text", "", "2026-04-06, or 12-25 for every year", required=True)
NAME = Param("name", "text", "", "What it is, e.g. Easter Monday.")


@register
class BusinessHours(NodeKind):
    name = "business_hours"
    title = "Business hours"
    description = "Route by opening hours: a weekly timetable, holidays and exception dates."
    category = "Logic"
    color = "#b279a2"
    icon = "🕘"
    params = (
        Param(
            "hours",
            "mapping",
            {},
            "Weekly opening hours by day or span of days, several ranges a day: "
            "{'mon-fri': ['09:00-12:30', '13:30-18:00'], 'sat': ['10:00-13:00']}. Days: "
            + ", ".join(DAYS)
            + ". A range is HH:MM-HH:MM, end excluded; 24:00 is midnight; '22:00-02:00' runs "
            "past midnight. Days not listed are closed.",
            required=True,
            example={"mon-fri": ["09:00-12:30", "13:30-18:00"]},
            key=Param("days", "text", "", "A day or a span of days: mon, mon-fri."),
            item=Param("ranges", "list", [], "09:00-12:30, 13:30-18:00", item=RANGE),
        ),
        Param(
            "holidays",
            "list",
            [],
            "Days closed all day (outcome holiday): '2026-04-06', or {'date': '2026-04-06', "
            "'name': 'Easter Monday'}; '12-25' (no year) is every year.",
            fields=(DATE, NAME),
        ),
        Param(
            "exceptions",
            "list",
            [],
            "Dates with their own hours instead of the weekly ones: {'date': '2026-12-24', "
            "'hours': ['09:00-20:00'], 'name': 'Christmas Eve'}; 'hours': [] closes the day; "
            "a date without a year recurs every year.",
            fields=(
                DATE,
                Param("hours", "list", [], "Its hours; empty: closed that day.", item=RANGE),
                NAME,
            ),
        ),
        Param(
            "timezone",
            "text",
            "",
            "IANA time zone the hours are in, e.g. Europe/Paris; empty uses the flow's.",
        ),
        Param(
            "variable",
            "variable",
            "",
            "Variable that receives open, closed, or the holiday's name (for prompts); "
            "empty: none.",
        ),
    )
    static_outcomes = (OPEN, CLOSED, HOLIDAY)
    waits_on_caller = False

    def outcomes(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return self.static_outcomes if params.get("holidays") else (OPEN, CLOSED)

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = list(_timetable_problems(params["hours"]))
        problems += _dated_problems(params["holidays"], params["exceptions"])
        tz = params["timezone"]
        if tz and zone(tz) is None:
            problems.append(
                ("timezone", f"unknown time zone {tz!r}; use an IANA name like Europe/Paris")
            )
        return problems

    def prepare(self, params: Mapping[str, Any]) -> Schedule:
        weekly: list[list[Span]] = [[] for _ in DAYS]
        for key, ranges in params["hours"].items():
            for day in _days(key) or ():
                weekly[day] = sorted(_checked_span(r) for r in ranges)
        dated: dict[DateKey, Special] = {}
        for entry in params["holidays"]:
            if isinstance(entry, str):
                entry = {"date": entry}
            dated[_checked_date(entry["date"])] = Special(True, (), entry.get("name") or "")
        for entry in params["exceptions"]:
            spans = tuple(sorted(_checked_span(r) for r in entry["hours"]))
            dated[_checked_date(entry["date"])] = Special(False, spans, entry.get("name") or "")
        return Schedule(
            params["timezone"], tuple(tuple(d) for d in weekly), MappingProxyType(dated)
        )

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        schedule: Schedule = node.prepared
        tz_name = schedule.timezone or ctx.timezone
        where = zone(tz_name)
        if where is None:  # the flow's setting (validation warns); guessing could misroute
            return Fail(f"unknown time zone {tz_name!r}: cannot read the business hours")
        outcome, reason = schedule.status(ctx.now, where)
        variable = node.params["variable"]
        if variable:
            ctx.variables[variable] = reason
        return Go(outcome)


# -- time ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _intervals(
    spans: tuple[Span, ...], day: date, where: ZoneInfo
) -> tuple[tuple[float, float], ...]:
    """*spans* of *day* as epoch seconds; the same for every call that day (hence the cache:
    a third of a callback's cost otherwise)."""
    return tuple(
        (_moment(day, start, where, last=False), _moment(day, end, where, last=True))
        for start, end in spans
    )


def _moment(day: date, minute: int, where: ZoneInfo, last: bool) -> float:
    """Epoch seconds when the wall clock in *where* shows *minute* of *day* (past 1440: of the
    days after): the first time it shows it, or the *last*; a time the clocks skip is the
    moment they jump over it."""
    days, minute = divmod(minute, MINUTES_PER_DAY)
    naive = datetime.combine(day + timedelta(days=days), time(minute // 60, minute % 60))
    first = naive.replace(tzinfo=where, fold=0).timestamp()
    second = naive.replace(tzinfo=where, fold=1).timestamp()
    if first <= second:  # an ordinary time (equal), or shown twice as the clocks go back
        return second if last else first
    return _jump(second, first, where)


def _jump(before: float, after: float, where: ZoneInfo) -> float:
    """The moment between *before* and *after* when the clocks in *where* go forward."""
    offset = datetime.fromtimestamp(before, where).utcoffset()
    low, high = int(before), int(after)  # offset(low) == offset; offset(high) differs
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, where).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return float(high)


# -- checks --------------------------------------------------------------------------------------


def _minutes(text: str) -> int | None:
    m = _HHMM.match(text)
    if not m:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def _range_problem(value: Any) -> str:
    if not isinstance(value, str):
        return f"must be a range like '09:00-12:30', got {value!r}"
    m = _RANGE.match(value)
    if not m:
        return f"{value!r} is not a range: write HH:MM-HH:MM, e.g. 09:00-12:30"
    for part in (m.group(1), m.group(2)):
        if _minutes(part) is None:
            return f"{part} is not a time (HH:MM, 00:00 to 24:00)"
    start, end = _minutes(m.group(1)), _minutes(m.group(2))
    if start == MINUTES_PER_DAY:
        return f"{value}: 24:00 can only end a range"
    if start == end:
        return f"{value} is empty; for the whole day write 00:00-24:00"
    return ""


def _checked_span(value: str) -> Span:
    span = _span(value)
    assert span is not None, "prepare() runs on checked params only"
    return span


def _span(value: str) -> Span | None:
    """A range as minutes; its end moved to the next day when it runs past midnight."""
    if _range_problem(value):
        return None
    m = _RANGE.match(value)
    assert m is not None
    start, end = _minutes(m.group(1)), _minutes(m.group(2))
    assert start is not None
    assert end is not None
    return (start, end if end > start else end + MINUTES_PER_DAY)


def _show(span: Span) -> str:
    start, end = span
    return f"{start // 60:02d}:{start % 60:02d}-{end % MINUTES_PER_DAY // 60:02d}:{end % 60:02d}"


def _days(key: Any) -> list[int] | None:
    """Weekday numbers of a key of ``hours`` (``mon``, ``mon-fri``, ``fri-mon``), or None."""
    if not isinstance(key, str):
        return None
    parts = [p.strip().lower() for p in key.split("-")]
    if not 1 <= len(parts) <= 2 or not all(p in DAYS for p in parts):
        return None
    first, last = DAYS.index(parts[0]), DAYS.index(parts[-1])
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]


def _ranges_problems(ranges: Any, where: str) -> Iterator[tuple[str, str]]:
    if not isinstance(ranges, list):
        yield (
            where,
            f"must be a list of ranges like ['09:00-12:30', '13:30-18:00'], got {ranges!r}",
        )
        return
    for i, value in enumerate(ranges):
        problem = _range_problem(value)
        if problem:
            yield f"{where}[{i}]", problem


@dataclass(frozen=True, order=True)
class _Placed:
    """A range placed on a line of minutes (the week, or one exception's day), for overlaps."""

    start: int
    end: int
    where: str
    text: str
    day: int = -1  # its weekday, -1 for an exception's


def _overlaps(placed: list[_Placed]) -> Iterator[tuple[str, str]]:
    """Each range that overlaps an earlier one, once; ranges that only touch do not overlap."""
    placed.sort()
    told: set[str] = set()
    for i, first in enumerate(placed):
        for later in placed[i + 1 :]:
            if later.start >= first.end:
                break
            if later.where in told or later.where == first.where:
                continue
            told.add(later.where)
            past = (
                f", which runs past midnight from {DAYS[first.day]}"
                if first.day != later.day
                else ""
            )
            yield later.where, f"{later.text} overlaps {first.text} ({first.where}){past}"


def _timetable_problems(hours: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    owner: dict[int, str] = {}
    week = 7 * MINUTES_PER_DAY
    placed: list[_Placed] = []
    for key, ranges in hours.items():
        where = f"hours.{key}"
        days = _days(key)
        if days is None:
            yield where, f"{key!r} is not a day: use {', '.join(DAYS)} or a span such as mon-fri"
            continue
        for day in days:
            if day in owner:
                yield where, f"{DAYS[day]} is also in hours.{owner[day]}; list each day once"
            owner.setdefault(day, key)
        problems = list(_ranges_problems(ranges, where))
        yield from problems
        if problems:
            continue
        for day in days:
            for i, text in enumerate(ranges):
                start, end = _checked_span(text)
                at = day * MINUTES_PER_DAY
                placed.append(_Placed(at + start, at + end, f"{where}[{i}]", text, day))
                if at + end > week:  # Sunday night runs into Monday morning
                    placed.append(
                        _Placed(at + start - week, at + end - week, f"{where}[{i}]", text, day)
                    )
    yield from _overlaps(placed)


def _date_key(value: Any) -> DateKey | None:
    """``2026-12-25`` -> (2026, 12, 25); ``12-25`` -> (None, 12, 25); None when not a date."""
    if not isinstance(value, str):
        return None
    try:
        if _FULL_DATE.match(value):
            d = date.fromisoformat(value)
            return (d.year, d.month, d.day)
        if _YEARLY_DATE.match(value):
            d = date.fromisoformat(f"2000-{value}")  # a leap year: 02-29 is a yearly date
            return (None, d.month, d.day)
    except ValueError:
        return None
    return None


def _checked_date(value: str) -> DateKey:
    key = _date_key(value)
    assert key is not None, "prepare() runs on checked params only"
    return key


def _date_problem(value: Any) -> str:
    if _date_key(value) is not None:
        return ""
    if isinstance(value, str) and (_FULL_DATE.match(value) or _YEARLY_DATE.match(value)):
        return f"{value} is not a date"
    return f"date must be YYYY-MM-DD, or MM-DD for every year; got {value!r}"


def _name_problem(entry: Mapping[str, Any]) -> str:
    name = entry.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        return f"name must be text of at most {MAX_NAME} characters, got {name!r}"
    return ""


def _dated_problems(holidays: list[Any], exceptions: list[Any]) -> Iterator[tuple[str, str]]:
    first_use: dict[DateKey, str] = {}

    def once(key: DateKey | None, where: str, text: str) -> Iterator[tuple[str, str]]:
        if key is None:
            return
        if key in first_use:
            other = first_use[key]
            if other.split("[")[0] == where.split("[")[0]:
                yield where, f"{text} is listed twice (also {other})"
            else:
                yield (
                    where,
                    (
                        f"{text} is also in {other}; a date is a holiday or has its own hours, "
                        "not both"
                    ),
                )
            return
        first_use[key] = where

    for i, entry in enumerate(holidays):
        where = f"holidays[{i}]"
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - _HOLIDAY_KEYS)
            if unknown:
                yield where, f"unknown key(s) {unknown}; use date and name"
                continue
            problem = _date_problem(entry.get("date")) or _name_problem(entry)
            when = entry.get("date")
        elif isinstance(entry, str):
            problem, when = _date_problem(entry), entry
        else:
            yield (
                where,
                (
                    "must be a date ('2026-12-25', or '12-25' for every year) or "
                    f"{{'date': ..., 'name': ...}}, got {entry!r}"
                ),
            )
            continue
        if problem:
            yield where, problem
            continue
        yield from once(_date_key(when), where, str(when))

    for i, entry in enumerate(exceptions):
        where = f"exceptions[{i}]"
        if not isinstance(entry, dict):
            yield (
                where,
                (
                    "must be an object like {'date': '2026-12-24', 'hours': ['09:00-20:00'], "
                    f"'name': 'Christmas Eve'}}, got {entry!r}"
                ),
            )
            continue
        unknown = sorted(set(entry) - _EXCEPTION_KEYS)
        if unknown:
            yield where, f"unknown key(s) {unknown}; use date, hours and name"
            continue
        if "hours" not in entry:
            yield where, "needs hours: a list of ranges, or [] for closed all day"
            continue
        problem = _date_problem(entry.get("date")) or _name_problem(entry)
        if problem:
            yield where, problem
            continue
        problems = list(_ranges_problems(entry["hours"], f"{where}.hours"))
        yield from problems
        if not problems:
            yield from _overlaps(
                [
                    _Placed(*_checked_span(text), f"{where}.hours[{j}]", text)
                    for j, text in enumerate(entry["hours"])
                ]
            )
        yield from once(_date_key(entry["date"]), where, entry["date"])
