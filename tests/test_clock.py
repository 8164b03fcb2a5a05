"""Moments as users write them (``flowbuilder.clock``) and ``simulate(at=...)``: the call happens
then, CALLR's ``date_started`` says so, and the call's clock runs on from there."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flowbuilder import Flow, simulate
from flowbuilder.clock import date_started, instant

SATURDAY_10_PARIS = datetime(2026, 3, 28, 9, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-28T10:00:00+01:00",
        "2026-03-28T10:00+01:00",
        "2026-03-28 10:00:00+01:00",
        "2026-03-28T09:00:00Z",
        "2026-03-28T10:00[Europe/Paris]",
        "2026-03-28T10:00+01:00[Europe/Paris]",
        "2026-03-28T05:00-04:00[America/New_York]",
        "  2026-03-28T09:00Z  ",
    ],
)
def test_one_format_with_an_offset_a_zone_or_both(text: str) -> None:
    assert instant(text) == SATURDAY_10_PARIS


def test_datetimes_and_epoch_seconds() -> None:
    assert instant(datetime(2026, 3, 28, 10, tzinfo=ZoneInfo("Europe/Paris"))) == SATURDAY_10_PARIS
    assert instant(datetime(2026, 3, 28, 11, tzinfo=timezone(timedelta(hours=2)))) == (
        SATURDAY_10_PARIS
    )
    assert instant(SATURDAY_10_PARIS) == SATURDAY_10_PARIS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-03-28 10:00", "'2026-03-28 10:00' has no time zone: add an offset or a zone"),
        ("2026-03-28T10:00", "has no time zone"),
        ("2026-03-28", "has no time of day"),
        ("tomorrow at ten", "is not a date and time"),
        ("2026-02-30T10:00Z", "is not a date and time"),
        ("2026-03-28T10:00[Europe/Pariss]", "unknown time zone 'Europe/Pariss'"),
        (
            "2026-03-29T02:30[Europe/Paris]",
            "does not exist in Europe/Paris: the clocks go forward over it",
        ),
        (
            "2026-10-25T02:30[Europe/Paris]",
            "happens twice in Europe/Paris (the clocks go back): write "
            "2026-10-25T02:30+02:00[Europe/Paris] for the first, "
            "2026-10-25T02:30+01:00[Europe/Paris] for the second",
        ),
        (
            "2026-07-01T10:00+01:00[Europe/Paris]",
            "that moment is 11:00+02:00 in Europe/Paris, not 10:00",
        ),
        (datetime(2026, 3, 28, 10), "datetime 2026-03-28T10:00:00 has no time zone"),
        (True, "must be a date and time with a zone"),
        (["2026-03-28T10:00Z"], "must be text like"),
    ],
)
def test_a_moment_without_a_zone_or_that_does_not_exist_is_refused(
    value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        instant(value)  # type: ignore[arg-type]

    assert "\n" not in str(caught.value)


def test_both_occurrences_of_a_repeated_time_can_be_named() -> None:
    first = instant("2026-10-25T02:30+02:00[Europe/Paris]")
    second = instant("2026-10-25T02:30+01:00[Europe/Paris]")

    assert second - first == 3600


def test_date_started_is_callrs_format_in_utc() -> None:
    assert date_started(instant("2026-03-29T10:00[Europe/Paris]")) == "2026-03-29 08:00:00"


# -- simulate(at=...) ----------------------------------------------------------------------------


def stamp_flow() -> Flow:
    """Plays when the call started, as CALLR said, then the clock check's answer."""
    flow = Flow("stamp", timezone="Europe/Paris")
    flow.add("when", "play", prompt="{date_started}")
    flow.add("h", "business_hours", hours={"mon-fri": ["09:00-18:00"]})
    flow.add("open", "play", prompt="open").add("closed", "play", prompt="closed")
    flow.add("bye", "hangup")
    flow.connect("when", "h").connect("h", "open", "open").connect("h", "closed", "closed")
    return flow.connect("open", "bye").connect("closed", "bye")


def test_simulate_at_sets_the_engines_time_and_callrs_date_started() -> None:
    t = simulate(stamp_flow(), at="2026-03-27T17:59:59+01:00")

    assert t.setup.date_started == "2026-03-27 16:59:59"
    # the first prompt takes more than a second to speak: the check runs after 18:00
    assert t.heard == ["2026-03-27 16:59:59", "closed"]
    assert simulate(stamp_flow(), at="2026-03-27T17:00+01:00").heard[1] == "open"


def test_simulate_accepts_a_datetime_and_defaults_to_new_years_day() -> None:
    at = datetime(2026, 3, 27, 10, tzinfo=ZoneInfo("Europe/Paris"))
    assert simulate(stamp_flow(), at=at).heard == ["2026-03-27 09:00:00", "open"]
    assert simulate(stamp_flow()).heard == ["2026-01-01 10:00:00", "open"]


def test_simulate_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        simulate(stamp_flow(), at="2026-03-27 10:00")
    with pytest.raises(ValueError, match="not both"):
        simulate(stamp_flow(), at="2026-03-27T10:00Z", start_epoch=0.0)
