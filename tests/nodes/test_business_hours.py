"""``business_hours``: a weekly timetable, holidays, exception dates, time zones and the days the
clocks change, each checked by a simulated call at a chosen moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flowbuilder import Flow, Script, simulate, validate
from flowbuilder.errors import NodeConfigError

CLINIC = {"mon-fri": ["09:00-12:30", "13:30-18:00"], "sat": ["10:00-13:00"]}
PARIS = "Europe/Paris"


def hours_flow(flow_timezone: str = PARIS, **params: Any) -> Flow:
    """A ``business_hours`` node ``h``; each outcome plays its name and the reason variable."""
    flow = Flow("hours", timezone=flow_timezone)
    flow.add("h", "business_hours", **{"hours": CLINIC, "variable": "reason", **params})
    flow.add("bye", "hangup")
    for outcome in flow.outcomes("h"):
        flow.add(f"say_{outcome}", "play", prompt=f"{outcome}: {{reason}}")
        flow.connect("h", f"say_{outcome}", outcome).connect(f"say_{outcome}", "bye")
    return flow


def heard_at(flow: Flow, at: str) -> str:
    t = simulate(flow, at=at)
    assert t.status == "completed", str(t)
    assert t.path[0] == "h", t.path
    return t.heard[0]


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# -- the weekly timetable ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-03-02T09:00[Europe/Paris]", "open"),  # Monday, the opening minute is included
        ("2026-03-02T08:59:59[Europe/Paris]", "closed"),
        ("2026-03-02T12:29[Europe/Paris]", "open"),
        ("2026-03-02T12:30[Europe/Paris]", "closed"),  # the lunch break: the end is excluded
        ("2026-03-02T13:30[Europe/Paris]", "open"),
        ("2026-03-06T17:59[Europe/Paris]", "open"),  # Friday
        ("2026-03-06T18:00[Europe/Paris]", "closed"),
        ("2026-03-07T10:00[Europe/Paris]", "open"),  # Saturday hours
        ("2026-03-07T13:00[Europe/Paris]", "closed"),
        ("2026-03-08T11:00[Europe/Paris]", "closed"),  # Sunday: not listed
        ("2026-07-06T09:30[Europe/Paris]", "open"),  # summer time: still wall-clock hours
    ],
)
def test_weekly_ranges(moment: str, expected: str) -> None:
    assert heard_at(hours_flow(), moment) == f"{expected}: {expected}"


def test_a_range_past_midnight_belongs_to_the_day_it_starts() -> None:
    flow = hours_flow(hours={"fri-sat": ["22:00-02:00"]})

    assert heard_at(flow, "2026-03-06T21:59[Europe/Paris]") == "closed: closed"  # Friday
    assert heard_at(flow, "2026-03-06T23:30[Europe/Paris]") == "open: open"
    assert heard_at(flow, "2026-03-07T01:59[Europe/Paris]") == "open: open"  # Saturday morning
    assert heard_at(flow, "2026-03-07T02:00[Europe/Paris]") == "closed: closed"
    assert heard_at(flow, "2026-03-08T01:00[Europe/Paris]") == "open: open"  # Saturday's night
    assert heard_at(flow, "2026-03-09T01:00[Europe/Paris]") == "closed: closed"  # not Sunday's


def test_sunday_night_runs_into_monday_and_24_00_is_midnight() -> None:
    flow = hours_flow(hours={"sun": ["20:00-03:00"], "mon": ["08:00-24:00"]})

    assert heard_at(flow, "2026-03-09T02:30[Europe/Paris]") == "open: open"  # Monday 02:30
    assert heard_at(flow, "2026-03-09T23:59[Europe/Paris]") == "open: open"
    assert heard_at(flow, "2026-03-10T00:00[Europe/Paris]") == "closed: closed"


# -- holidays and exceptions ---------------------------------------------------------------------


def test_holidays_dated_and_yearly_with_their_names() -> None:
    flow = hours_flow(
        holidays=[{"date": "12-25", "name": "Christmas Day"}, "2026-04-06"],
    )

    assert heard_at(flow, "2026-12-25T10:00[Europe/Paris]") == "holiday: Christmas Day"
    assert heard_at(flow, "2030-12-25T10:00[Europe/Paris]") == "holiday: Christmas Day"
    assert heard_at(flow, "2026-04-06T10:00[Europe/Paris]") == "holiday: holiday"  # no name
    assert heard_at(flow, "2027-04-06T10:00[Europe/Paris]") == "open: open"  # dated: not yearly
    assert heard_at(flow, "2026-12-24T10:00[Europe/Paris]") == "open: open"


def test_the_holiday_outcome_exists_once_there_are_holidays() -> None:
    assert Flow("f").add("h", "business_hours", hours=CLINIC).outcomes("h") == ("open", "closed")
    flow = Flow("f").add("h", "business_hours", hours=CLINIC, holidays=["05-01"])
    assert flow.outcomes("h") == ("open", "closed", "holiday")
    # a holiday left unconnected is a call left hanging: the validator says so
    flow.add("bye", "hangup").connect("h", "bye", "open").connect("h", "bye", "closed")
    assert any(i.field == "holiday" for i in validate(flow))


def test_exception_dates_have_their_own_hours() -> None:
    flow = hours_flow(
        holidays=[{"date": "12-25", "name": "Christmas Day"}],
        exceptions=[
            {"date": "12-24", "hours": ["09:00-20:00"], "name": "Christmas Eve"},  # open late
            {"date": "2026-03-04", "hours": ["09:00-12:30"], "name": "staff training"},
            {"date": "2026-03-05", "hours": []},  # closed all day: closed, not a holiday
            {"date": "2026-12-25", "hours": ["10:00-12:00"]},  # this year only: open a little
        ],
    )

    assert heard_at(flow, "2026-12-24T19:30[Europe/Paris]") == "open: open"
    assert heard_at(flow, "2026-03-04T10:00[Europe/Paris]") == "open: open"
    assert heard_at(flow, "2026-03-04T15:00[Europe/Paris]") == "closed: closed"
    assert heard_at(flow, "2026-03-05T10:00[Europe/Paris]") == "closed: closed"
    assert heard_at(flow, "2026-12-25T11:00[Europe/Paris]") == "open: open"  # dated wins
    assert heard_at(flow, "2026-12-25T15:00[Europe/Paris]") == "closed: closed"
    assert heard_at(flow, "2027-12-25T11:00[Europe/Paris]") == "holiday: Christmas Day"


def test_a_night_shift_started_the_day_before_runs_into_a_holiday() -> None:
    flow = hours_flow(hours={"mon-sun": ["22:00-02:00"]}, holidays=["12-25"])

    assert heard_at(flow, "2026-12-25T01:00[Europe/Paris]") == "open: open"
    assert heard_at(flow, "2026-12-25T03:00[Europe/Paris]") == "holiday: holiday"
    assert heard_at(flow, "2026-12-25T23:00[Europe/Paris]") == "holiday: holiday"
    assert heard_at(flow, "2026-12-26T01:00[Europe/Paris]") == "closed: closed"  # no shift began
    assert heard_at(flow, "2026-12-26T23:00[Europe/Paris]") == "open: open"


# -- time zones ----------------------------------------------------------------------------------


def test_hours_are_read_in_the_nodes_zone_else_the_flows() -> None:
    moment = "2026-03-02T16:00:00Z"  # Monday: Paris 17:00, New York 11:00, Tokyo 01:00 Tuesday

    assert heard_at(hours_flow(), moment) == "open: open"
    assert heard_at(hours_flow(timezone="America/New_York"), moment) == "open: open"
    assert heard_at(hours_flow(timezone="Asia/Tokyo"), moment) == "closed: closed"
    assert heard_at(hours_flow("Asia/Tokyo"), moment) == "closed: closed"
    assert heard_at(hours_flow("Asia/Tokyo", timezone=PARIS), moment) == "open: open"


def test_an_unknown_flow_zone_takes_the_error_path_rather_than_guess() -> None:
    flow = hours_flow("Mars/Olympus")
    flow.add("oops", "play", prompt="Sorry.").connect("oops", "bye").configure(on_error="oops")

    t = simulate(flow, at="2026-03-02T10:00Z")

    assert t.heard == ["Sorry."]
    assert "unknown time zone 'Mars/Olympus'" in " ".join(
        e.text for e in t.events if e.kind == "error"
    )


# -- the days the clocks change (Europe/Paris, 2026) ---------------------------------------------
# 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC); 2026-10-25: 03:00 CEST becomes 02:00 CET
# (01:00 UTC). Moments are given in UTC so that each is unambiguous.


@pytest.mark.parametrize(
    ("moment_utc", "expected"),
    [
        ("2026-03-28 23:59:59", "closed"),  # 00:59:59 CET
        ("2026-03-29 00:00:00", "open"),  # 01:00 CET
        ("2026-03-29 00:59:59", "open"),  # 01:59:59 CET, the last second before the jump
        ("2026-03-29 01:00:00", "closed"),  # 03:00 CEST: the range ran one hour
    ],
)
def test_spring_forward_a_range_over_the_skipped_hour_is_shorter(
    moment_utc: str, expected: str
) -> None:
    flow = hours_flow(hours={"sun": ["01:00-03:00"]})

    assert heard_at(flow, f"{moment_utc.replace(' ', 'T')}Z") == f"{expected}: {expected}"


def test_spring_forward_a_range_starting_in_the_skipped_hour_opens_at_the_jump() -> None:
    flow = hours_flow(hours={"sun": ["02:30-04:00"]})

    assert heard_at(flow, "2026-03-29T00:59:59Z") == "closed: closed"  # 01:59:59 CET
    assert heard_at(flow, "2026-03-29T01:00:00Z") == "open: open"  # 03:00 CEST
    assert heard_at(flow, "2026-03-29T01:59:59Z") == "open: open"
    assert heard_at(flow, "2026-03-29T02:00:00Z") == "closed: closed"  # 04:00 CEST
    # a range wholly inside the skipped hour never opens that day
    never = hours_flow(hours={"sun": ["02:00-02:30"]})
    for second in range(0, 7200, 300):
        moment = datetime.fromtimestamp(utc("2026-03-29 00:00:00") + second, UTC)
        assert heard_at(never, moment.isoformat()) == "closed: closed"


@pytest.mark.parametrize(
    ("moment_utc", "expected"),
    [
        ("2026-10-24 22:59:59", "closed"),  # 00:59:59 CEST
        ("2026-10-24 23:00:00", "open"),  # 01:00 CEST
        ("2026-10-25 00:30:00", "open"),  # 02:30 CEST, the first time
        ("2026-10-25 01:30:00", "open"),  # 02:30 CET, the second time
        ("2026-10-25 01:59:59", "open"),  # 02:59:59 CET
        ("2026-10-25 02:00:00", "closed"),  # 03:00 CET: the range ran three hours
    ],
)
def test_fall_back_a_range_over_the_repeated_hour_is_longer(moment_utc: str, expected: str) -> None:
    flow = hours_flow(hours={"sun": ["01:00-03:00"]})

    assert heard_at(flow, f"{moment_utc.replace(' ', 'T')}Z") == f"{expected}: {expected}"


def test_fall_back_a_range_ending_in_the_repeated_hour_is_one_stretch() -> None:
    # it ends the last time the clock shows 02:30, and does not close between the two 02:00s
    flow = hours_flow(hours={"sun": ["01:00-02:30"]})

    assert heard_at(flow, "2026-10-25T00:45:00Z") == "open: open"  # 02:45 CEST
    assert heard_at(flow, "2026-10-25T01:29:59Z") == "open: open"  # 02:29:59 CET
    assert heard_at(flow, "2026-10-25T01:30:00Z") == "closed: closed"  # 02:30 CET


# -- run time ------------------------------------------------------------------------------------


def test_it_answers_at_once_without_a_command_of_its_own() -> None:
    t = simulate(hours_flow(), at="2026-03-02T10:00[Europe/Paris]")

    assert t.path == ["h", "say_open", "bye"]
    first_answer = t.exchanges[0]["answer"]
    assert first_answer["command"] == "play"  # the next node's command, in the same answer
    assert first_answer["params"]["media_id"].endswith("open: open")


def test_the_call_clock_runs_on_so_a_late_caller_finds_the_office_closed() -> None:
    # 17:59:50 on a Friday: the caller waits 30 s at a menu, then the hours are checked
    flow = hours_flow()
    flow.add(
        "menu",
        "menu",
        prompt="Press 1.",
        options=[{"outcome": "one", "digits": "1"}],
        timeout_ms=30000,
        max_timeouts=1,
    )
    flow.connect("menu", "h", "one").connect("menu", "h", "timeout").connect("menu", "h", "invalid")
    flow.entry = "menu"

    quick = simulate(flow, Script(presses=["1"]), at="2026-03-06T17:59:50[Europe/Paris]")
    late = simulate(flow, Script(presses=[None]), at="2026-03-06T17:59:50[Europe/Paris]")

    assert quick.heard[-1] == "open: open"
    assert late.heard[-1] == "closed: closed"


def test_the_reason_variable_is_optional() -> None:
    flow = Flow("f", timezone=PARIS).add("h", "business_hours", hours=CLINIC)
    flow.add("bye", "hangup").connect("h", "bye", "open").connect("h", "bye", "closed")

    t = simulate(flow, at="2026-03-02T10:00[Europe/Paris]")

    assert t.path == ["h", "bye"]
    assert "reason" not in t.exchanges[0]["answer"]["variables"]


# -- validation: one line naming the field and the entry -----------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"hours": {"mon": ["09:00-12:30", "25:00-26:00"]}}, "hours.mon[1]", "25:00 is not a time"),
        ({"hours": {"mon": ["9-5"]}}, "hours.mon[0]", "9 is not a time"),
        ({"hours": {"mon": ["09:00"]}}, "hours.mon[0]", "'09:00' is not a range"),
        ({"hours": {"mon": ["10:60-11:00"]}}, "hours.mon[0]", "10:60 is not a time"),
        ({"hours": {"mon": ["09:00-09:00"]}}, "hours.mon[0]", "for the whole day write 00:00-24"),
        ({"hours": {"mon": ["24:00-02:00"]}}, "hours.mon[0]", "24:00 can only end a range"),
        ({"hours": {"mon": "09:00-17:00"}}, "hours.mon", "must be a list of ranges"),
        ({"hours": {"monday": ["09:00-17:00"]}}, "hours.monday", "'monday' is not a day"),
        ({"hours": {"mon-fri": ["09:00-17:00"], "fri": []}}, "hours.fri", "fri is also in"),
        (
            {"hours": {"mon-fri": ["09:00-12:30", "12:00-18:00"]}},
            "hours.mon-fri[1]",
            "12:00-18:00 overlaps 09:00-12:30 (hours.mon-fri[0])",
        ),
        (
            {"hours": {"sun": ["22:00-02:00"], "mon": ["01:00-05:00"]}},
            "hours.mon[0]",
            "overlaps 22:00-02:00 (hours.sun[0]), which runs past midnight from sun",
        ),
        ({"hours": {}}, "hours", "is required"),
        ({"holidays": ["2026-02-30"]}, "holidays[0]", "2026-02-30 is not a date"),
        ({"holidays": ["12-25", "25/12"]}, "holidays[1]", "date must be YYYY-MM-DD, or MM-DD"),
        ({"holidays": ["12-25", {"date": "12-25"}]}, "holidays[1]", "12-25 is listed twice"),
        ({"holidays": [{"date": "12-25", "when": 1}]}, "holidays[0]", "unknown key(s) ['when']"),
        ({"holidays": [{"date": "12-25", "name": 7}]}, "holidays[0]", "name must be text"),
        ({"holidays": [20261225]}, "holidays[0]", "must be a date"),
        (
            {"exceptions": [{"date": "2026-12-24", "hours": ["09:00-20:00", "19:00-21:00"]}]},
            "exceptions[0].hours[1]",
            "19:00-21:00 overlaps 09:00-20:00 (exceptions[0].hours[0])",
        ),
        ({"exceptions": [{"date": "2026-12-24"}]}, "exceptions[0]", "needs hours"),
        ({"exceptions": [{"date": "02-30", "hours": []}]}, "exceptions[0]", "02-30 is not a date"),
        (
            {"exceptions": [{"date": "12-24", "hours": ["8:00-20:00"]}]},
            "exceptions[0].hours[0]",
            "8:00 is not a time",
        ),
        (
            {"holidays": ["12-25"], "exceptions": [{"date": "12-25", "hours": []}]},
            "exceptions[0]",
            "12-25 is also in holidays[0]; a date is a holiday or has its own hours",
        ),
        ({"exceptions": ["2026-12-24"]}, "exceptions[0]", "must be an object like"),
        ({"timezone": "Europe/Pariss"}, "timezone", "unknown time zone 'Europe/Pariss'"),
    ],
)
def test_bad_parameters_are_refused_naming_field_and_entry(
    params: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("f").add("h", "business_hours", **{"hours": CLINIC, **params})

    assert caught.value.node_id == "h"
    assert caught.value.field == field
    assert message in caught.value.reason
    assert "\n" not in str(caught.value)


def test_a_refused_change_leaves_the_node_as_it_was() -> None:
    flow = Flow("f").add("h", "business_hours", hours=CLINIC, holidays=["12-25"])

    with pytest.raises(NodeConfigError):
        flow.set_params("h", holidays=["12-25", "2026-13-01"])

    assert flow.params("h")["holidays"] == ["12-25"]


def test_touching_ranges_and_whole_days_are_fine() -> None:
    flow = Flow("f").add(
        "h",
        "business_hours",
        hours={"mon": ["00:00-12:00", "12:00-24:00"], "tue-wed": ["00:00-24:00"]},
        holidays=["02-29"],  # every leap year
    )

    assert flow.params("h")["hours"]["tue-wed"] == ["00:00-24:00"]
