"""Moments in time as users write them, for simulated calls: never a time without a zone.

One format everywhere a time is given (scenario files, ``flowbuilder simulate --at``,
``simulate(at=...)``, the sandbox): ISO 8601 date and time with its zone, as RFC 9557 writes it
(Java's ZonedDateTime and JavaScript's Temporal read the same text):

- an offset: ``2026-03-28T10:00:00+01:00``, ``2026-03-28T09:00Z``;
- an IANA zone in brackets: ``2026-03-29T10:00[Europe/Paris]`` (the offset that applies there and
  then is worked out; a wall time the clocks skip, or show twice, is refused with what to write);
- both: ``2026-10-25T02:30+01:00[Europe/Paris]`` (checked to agree: on a day the clocks change
  this says which of the two 02:30s is meant).

A time with no zone (``2026-03-28 10:00``) is refused: it would mean something different on
every machine. A space may replace the ``T``; seconds are optional.

>>> instant("2026-01-01T10:00:00Z")
1767261600.0
>>> instant("2026-03-29T10:00[Europe/Paris]") == instant("2026-03-29T10:00+02:00")
True
>>> date_started(1767261600.0)
'2026-01-01 10:00:00'
>>> instant("2026-03-28 10:00")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: '2026-03-28 10:00' has no time zone: add an offset or a zone, e.g. ...
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

#: What every help text shows.
FORMAT_HINT: Final = (
    "ISO 8601 with a zone, e.g. 2026-03-28T10:00+01:00 or 2026-03-29T10:00[Europe/Paris]"
)
#: A moment as a user gives it: text (see the module docstring), an aware datetime, or epoch
#: seconds.
Moment = str | datetime | float | int

_BRACKETED = re.compile(r"(?P<stamp>[^\[\]]*)\[(?P<zone>[^\[\]]+)\]\Z")


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone *name*, or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, malformed key, a directory
        return None


def instant(value: Moment) -> float:
    """Epoch seconds of *value*; ValueError in one line when it is not a moment with a zone."""
    if isinstance(value, bool):
        raise ValueError(f"a moment must be a date and time with a zone, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"datetime {value.isoformat()} has no time zone: give tzinfo, e.g. "
                "ZoneInfo('Europe/Paris') or datetime.UTC"
            )
        return value.timestamp()
    if not isinstance(value, str):
        raise ValueError(f"a moment must be text like {FORMAT_HINT}; got {value!r}")
    return _parse(value.strip())


def _parse(text: str) -> float:
    bracketed = _BRACKETED.match(text)
    stamp, zone_name = (bracketed["stamp"], bracketed["zone"]) if bracketed else (text, "")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time: write {FORMAT_HINT}") from None
    if "T" not in stamp and " " not in stamp:
        raise ValueError(f"{text!r} has no time of day: write {FORMAT_HINT}")
    if not zone_name:
        if moment.tzinfo is None:
            example = moment.isoformat(timespec="minutes")
            raise ValueError(
                f"{text!r} has no time zone: add an offset or a zone, e.g. {example}+01:00 "
                f"or {example}[Europe/Paris]"
            )
        return moment.timestamp()
    where = zone(zone_name)
    if where is None:
        raise ValueError(f"{text!r}: unknown time zone {zone_name!r}; use an IANA name")
    if moment.tzinfo is not None:
        local = datetime.fromtimestamp(moment.timestamp(), where)
        if local.replace(tzinfo=None) != moment.replace(tzinfo=None):
            raise ValueError(
                f"{text!r}: that moment is {local.strftime('%H:%M')}{_offset(local)} in "
                f"{zone_name}, not {moment.strftime('%H:%M')}; fix the offset or the zone"
            )
        return moment.timestamp()
    return _wall_time(text, moment, where, zone_name)


def _wall_time(text: str, naive: datetime, where: ZoneInfo, zone_name: str) -> float:
    first = naive.replace(tzinfo=where, fold=0)
    second = naive.replace(tzinfo=where, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.timestamp()
    wall = naive.isoformat(timespec="minutes")
    if first.timestamp() < second.timestamp():  # the clocks go back: this wall time is shown twice
        raise ValueError(
            f"{text!r} happens twice in {zone_name} (the clocks go back): write "
            f"{wall}{_offset(first)}[{zone_name}] for the first, "
            f"{wall}{_offset(second)}[{zone_name}] for the second"
        )
    raise ValueError(
        f"{text!r} does not exist in {zone_name}: the clocks go forward over it; "
        "pick a time outside the hour they skip"
    )


def _offset(moment: datetime) -> str:
    delta = moment.utcoffset()
    assert delta is not None
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


@lru_cache(maxsize=256)  # every POST of a call carries the same one
def from_date_started(text: str) -> float:
    """The moment of a ``date_started`` as CALLR's callbacks (and the sandbox) write it, in UTC.

    >>> from_date_started("2026-01-01 10:00:00")
    1767261600.0
    """
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def date_started(epoch: float) -> str:
    """CALLR's ``date_started`` for a call started at *epoch*: ``YYYY-MM-DD HH:MM:SS``, UTC."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(epoch: float) -> str:
    """*epoch* as ISO 8601 in UTC, for messages: ``2026-01-01T10:00:00Z``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


__all__ = ["FORMAT_HINT", "Moment", "date_started", "instant", "iso", "zone"]
