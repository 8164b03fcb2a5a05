"""``branch``: first matching condition wins; business hours across time zones; type rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowbuilder import Flow, simulate, validate
from flowbuilder.compiler import compile
from flowbuilder.errors import NodeConfigError
from flowbuilder.nodes._regex import compile_pattern


def at(local: str, tz: str = "UTC") -> float:
    """Epoch seconds of a wall-clock time, e.g. ``at("2026-01-05 09:30", "Europe/Paris")``."""
    return datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(tz)).timestamp()


def routed(conditions: list[dict[str, Any]], *, timezone: str = "", **flow: Any) -> Flow:
    """A branch ``b``; each outcome plays its own name, so ``heard`` says where the call went."""
    f = Flow("route", timezone=flow.pop("flow_timezone", "UTC"))
    f.add("b", "branch", conditions=conditions, timezone=timezone)
    f.add("bye", "hangup")
    for outcome in f.outcomes("b"):
        f.add(f"say_{outcome}", "play", prompt=outcome).connect(f"say_{outcome}", "bye")
        f.connect("b", f"say_{outcome}", outcome)
    return f


def route(flow: Flow, **kwargs: Any) -> str:
    t = simulate(flow, **kwargs)
    assert t.status == "completed", str(t)
    return t.heard[0]


# -- business hours ------------------------------------------------------------------------------

OPENING = [
    {"name": "weekend", "op": "weekday_in", "value": ["sat", "sun"]},
    {"name": "open", "op": "time_between", "value": "09:00-17:30"},
]


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-01-05 09:00", "open"),  # Monday, opening minute included
        ("2026-01-05 17:29", "open"),
        ("2026-01-05 17:30", "else"),  # closing minute excluded
        ("2026-01-05 08:59", "else"),
        ("2026-01-10 11:00", "weekend"),  # Saturday
        ("2026-01-11 23:59", "weekend"),  # Sunday
        ("2026-07-06 09:30", "open"),  # summer time (CEST)
        ("2026-07-06 17:45", "else"),
    ],
)
def test_business_hours_in_the_flows_time_zone(local: str, expected: str) -> None:
    flow = routed(OPENING, flow_timezone="Europe/Paris")

    assert route(flow, start_epoch=at(local, "Europe/Paris")) == expected


def test_the_same_instant_is_open_in_one_zone_and_closed_in_another() -> None:
    instant = at("2026-01-05 15:00", "UTC")  # Paris 16:00, New York 10:00, Tokyo 00:00 Tuesday

    assert route(routed(OPENING, timezone="Europe/Paris"), start_epoch=instant) == "open"
    assert route(routed(OPENING, timezone="America/New_York"), start_epoch=instant) == "open"
    assert route(routed(OPENING, timezone="Asia/Tokyo"), start_epoch=instant) == "else"
    late = at("2026-01-05 23:00", "UTC")
    assert route(routed(OPENING, timezone="America/Los_Angeles"), start_epoch=late) == "open"
    assert route(routed(OPENING, timezone="Europe/Paris"), start_epoch=late) == "else"


def test_weekday_is_read_in_the_time_zone() -> None:
    # Friday 23:30 in London is already Saturday in Tokyo
    instant = at("2026-01-09 23:30", "Europe/London")
    rule = [{"name": "saturday", "op": "weekday_in", "value": ["Sat"]}]

    assert route(routed(rule, timezone="Europe/London"), start_epoch=instant) == "else"
    assert route(routed(rule, timezone="Asia/Tokyo"), start_epoch=instant) == "saturday"


def test_node_time_zone_overrides_the_flows() -> None:
    flow = routed(OPENING, timezone="Asia/Tokyo", flow_timezone="Europe/Paris")

    assert route(flow, start_epoch=at("2026-01-05 10:00", "Asia/Tokyo")) == "open"
    assert route(flow, start_epoch=at("2026-01-05 10:00", "Europe/Paris")) == "else"


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("22:00", "night"),
        ("23:59", "night"),
        ("00:00", "night"),
        ("05:59", "night"),
        ("06:00", "else"),
        ("21:59", "else"),
        ("12:00", "else"),
    ],
)
def test_a_range_may_span_midnight(clock: str, expected: str) -> None:
    flow = routed([{"name": "night", "op": "time_between", "value": ["22:00", "06:00"]}])

    assert route(flow, start_epoch=at(f"2026-01-06 {clock}")) == expected


def test_time_and_weekday_comparisons() -> None:
    flow = routed(
        [
            {"name": "morning", "subject": "time", "op": "lt", "value": "12:00"},
            {"name": "not_friday", "subject": "weekday", "op": "not_equals", "value": "fri"},
        ]
    )

    assert route(flow, start_epoch=at("2026-01-09 11:59")) == "morning"  # a Friday
    assert route(flow, start_epoch=at("2026-01-09 12:00")) == "else"
    assert route(flow, start_epoch=at("2026-01-08 15:00")) == "not_friday"


# -- first match wins, subjects ------------------------------------------------------------------


def test_conditions_are_checked_in_order_and_the_first_match_wins() -> None:
    flow = routed(
        [
            {"name": "vip", "subject": "tier", "op": "equals", "value": "gold"},
            {"name": "known", "subject": "tier", "op": "one_of", "value": ["gold", "silver"]},
        ]
    )

    assert route(flow, variables={"tier": "gold"}) == "vip"
    assert route(flow, variables={"tier": "silver"}) == "known"
    assert route(flow, variables={"tier": "bronze"}) == "else"
    assert route(flow) == "else"  # unset


def test_call_facts_are_subjects_and_a_variable_of_the_same_name_wins() -> None:
    flow = routed(
        [
            {"name": "french", "subject": "caller", "op": "starts_with", "value": "+33"},
            {"name": "outbound", "subject": "direction", "op": "equals", "value": "outbound"},
        ]
    )

    assert route(flow, caller="+33611111111") == "french"
    assert route(flow, caller="+441632960000") == "else"
    assert route(flow, caller="+441632960000", direction="outbound") == "outbound"
    assert route(flow, caller="+441632960000", variables={"caller": "+33100000000"}) == "french"


def test_is_empty_catches_anonymous_callers_and_unset_variables() -> None:
    flow = routed(
        [
            {"name": "anonymous", "subject": "caller", "op": "is_empty"},
            {"name": "no_pin", "subject": "pin", "op": "is_empty"},
        ]
    )

    assert route(flow, caller="") == "anonymous"
    assert route(flow) == "no_pin"
    assert route(flow, variables={"pin": ""}) == "no_pin"
    assert route(flow, variables={"pin": "1234"}) == "else"


def test_regex_is_searched_and_compiled_once_at_compile_time() -> None:
    rule = [{"name": "mobile", "subject": "caller", "op": "regex", "value": r"^\+33[67]\d{8}$"}]
    flow = routed(rule)

    program = compile(flow)
    conditions, _ = program.nodes["b"].prepared
    assert conditions[0].value is compile_pattern(rule[0]["value"])  # compiled, by RE2
    assert route(program, caller="+33612345678") == "mobile"
    assert route(program, caller="+33123456789") == "else"
    assert route(program, caller="+336123456789") == "else"


# -- types ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "op", "literal", "holds"),
    [
        ("42", "equals", 42, True),  # digits from CALLR are text; the literal a number
        (42, "equals", "42", True),
        ("1.50", "equals", 1.5, True),
        ("-3", "equals", -3, True),
        ("0123", "equals", 123, False),  # a leading zero makes it a code, compared as text
        ("0123", "equals", "0123", True),
        ("+33612345678", "equals", 33612345678, False),  # a phone number is not a number
        ("abc", "equals", "ABC", False),  # text is case-sensitive
        (True, "equals", "true", True),
        ("42", "not_equals", 42, False),
        ("7", "one_of", [7, 8], True),
        (8, "one_of", ["7", "8"], True),
        ("07", "one_of", [7], False),
        (8.0, "one_of", ["8"], True),
        ("10", "gt", 9, True),  # numeric, not text order ("10" < "9" as text)
        ("10", "lt", "9", False),
        ("2.5", "ge", 2.5, True),
        (-1, "le", 0, True),
    ],
)
def test_numbers_and_text_never_silently_differ(
    variable: Any, op: str, literal: Any, holds: bool
) -> None:
    flow = routed([{"name": "yes", "subject": "x", "op": op, "value": literal}])

    assert route(flow, variables={"x": variable}) == ("yes" if holds else "else")


def test_a_numeric_test_on_text_is_false_and_the_trace_says_why(callr) -> None:
    flow = routed([{"name": "big", "subject": "amount", "op": "gt", "value": 100}])
    call = callr(flow)

    reply = call.start({"amount": "lots"})

    assert reply.trace.path == ("b", "say_else")
    assert reply.trace.error is None
    assert reply.trace.warning == "b: conditions[0] (big): amount is 'lots', not a number; false"

    reply = callr(flow).start()
    assert reply.trace.warning == "b: conditions[0] (big): amount is not set; false"


def test_a_bad_flow_time_zone_takes_the_error_path(callr) -> None:
    flow = routed(OPENING)
    flow.add("oops", "play", prompt="Sorry.").connect("oops", "bye")
    flow.configure(on_error="oops", timezone="Mars/Olympus_Mons")
    call = callr(flow)

    reply = call.start()

    assert reply.trace.path == ("b", "oops")
    assert "unknown time zone 'Mars/Olympus_Mons'" in (reply.trace.error or "")


# -- declaration ---------------------------------------------------------------------------------


def test_outcomes_are_the_condition_names_then_else() -> None:
    flow = Flow("o").add("b", "branch", conditions=OPENING)

    assert flow.outcomes("b") == ("weekend", "open", "else")


def test_removing_a_condition_drops_its_edge() -> None:
    flow = routed(OPENING)

    flow.set_params("b", conditions=OPENING[1:])

    assert set(flow.edges_from("b")) == {"open", "else"}


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("open", "must be an object like"),
        ({"name": "a", "op": "equals", "value": 1, "subjet": "x"}, "unknown key(s) ['subjet']"),
        ({"name": "", "subject": "x", "op": "is_empty"}, "name must be 1-32 letters"),
        ({"name": "else", "subject": "x", "op": "is_empty"}, "'else' is reserved"),
        ({"name": "a", "subject": "x", "op": "like", "value": 1}, "op must be one of equals"),
        ({"name": "a", "op": "equals", "value": 1}, "equals needs a subject"),
        ({"name": "a", "subject": "x y", "op": "is_empty"}, "is not a variable name"),
        ({"name": "a", "subject": "x", "op": "equals"}, "equals needs a value"),
        ({"name": "a", "subject": "x", "op": "equals", "value": None}, "text or a number"),
        ({"name": "a", "subject": "x", "op": "equals", "value": True}, "text or a number"),
        ({"name": "a", "subject": "x", "op": "is_empty", "value": ""}, "takes no value"),
        ({"name": "a", "subject": "x", "op": "gt", "value": "abc"}, "'abc' is not one"),
        ({"name": "a", "subject": "x", "op": "lt", "value": "0123"}, "is not one"),
        ({"name": "a", "subject": "x", "op": "one_of", "value": []}, "non-empty list"),
        ({"name": "a", "subject": "x", "op": "one_of", "value": "1,2"}, "non-empty list"),
        ({"name": "a", "subject": "x", "op": "starts_with", "value": 33}, "needs text"),
        ({"name": "a", "subject": "x", "op": "regex", "value": "(unclosed"}, "does not compile"),
        ({"name": "a", "op": "time_between", "value": "9-17"}, "'HH:MM-HH:MM'"),
        ({"name": "a", "op": "time_between", "value": "09:00-09:00"}, "two different"),
        ({"name": "a", "op": "time_between", "value": ["09:00", "24:00"]}, "'HH:MM-HH:MM'"),
        ({"name": "a", "subject": "time", "op": "equals", "value": "09:00"}, "time supports"),
        ({"name": "a", "subject": "time", "op": "gt", "value": "9am"}, "needs 'HH:MM'"),
        ({"name": "a", "op": "weekday_in", "value": ["monday"]}, "unknown weekday(s)"),
        ({"name": "a", "op": "weekday_in", "value": "mon"}, "non-empty list of mon"),
        ({"name": "a", "subject": "weekday", "op": "gt", "value": "mon"}, "weekday supports"),
        ({"name": "a", "subject": "caller", "op": "weekday_in", "value": ["mon"]}, "the clock"),
    ],
)
def test_malformed_conditions_are_refused_in_one_line(condition: Any, message: str) -> None:
    ok = {"name": "first", "subject": "x", "op": "is_empty"}

    with pytest.raises(NodeConfigError) as caught:
        Flow("b").add("b", "branch", conditions=[ok, condition])

    assert (caught.value.node_id, caught.value.field) == ("b", "conditions[1]")
    assert message in str(caught.value)
    assert str(caught.value).startswith("b.conditions[1]: ")
    assert "\n" not in str(caught.value)


def test_a_name_used_twice_is_refused() -> None:
    cond = {"name": "a", "subject": "x", "op": "is_empty"}

    with pytest.raises(NodeConfigError, match=r"conditions\[1\]: name 'a' is used twice"):
        Flow("b").add("b", "branch", conditions=[cond, cond])


def test_a_bad_time_zone_is_refused_naming_the_field() -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("b").add("b", "branch", conditions=OPENING, timezone="Europe/Pariss")

    assert caught.value.field == "timezone"
    assert "unknown time zone 'Europe/Pariss'" in str(caught.value)


def test_validation_warns_about_subject_variables_nothing_sets() -> None:
    flow = routed([{"name": "vip", "subject": "tier", "op": "equals", "value": "gold"}])

    warnings = [str(i) for i in validate(flow) if i.severity == "warning"]

    assert any("'tier'" in w and w.startswith("warning: b") for w in warnings)
    assert not [w for w in warnings if "caller" in w]
