"""Scenarios: a flow's behaviour pinned as data, checked in-process and from pytest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowbuilder import scenarios
from flowbuilder.errors import FlowValidationError, ScenarioError
from flowbuilder.examples import support_line
from flowbuilder.flow import Flow

EXPORTS = Path(__file__).resolve().parents[1] / "exports"
SCENARIOS = EXPORTS / "support_line.scenarios.json"


def one(expect: dict[str, object], script: object = ("1",), **extra: object) -> dict[str, object]:
    return {
        "name": "case",
        "script": list(script) if isinstance(script, tuple) else script,
        "expect": expect,
        **extra,
    }


def test_the_support_line_scenarios_pass() -> None:
    results = scenarios.run(support_line(), SCENARIOS)
    assert [r.name for r in results] == [s["name"] for s in json.loads(SCENARIOS.read_text())]
    assert all(r.passed for r in results), scenarios.report(results)
    assert scenarios.summary(results) == f"{len(results)} passed, 0 failed"


def test_assert_scenarios_helper() -> None:
    scenarios.assert_scenarios(support_line(), SCENARIOS)
    broken = support_line()
    broken.connect("main_menu", "operator", "sales")  # 1 now goes to the operator
    with pytest.raises(AssertionError) as info:
        scenarios.assert_scenarios(broken, SCENARIOS)
    text = str(info.value)
    assert "FAILED sales answers" in text
    assert "path: expected welcome -> main_menu -> sales, got welcome -> main_menu -> operator" in (
        text
    )
    assert "dialed: expected [['+33123456789', 'ANSWER']], got [['+33198765432', 'ANSWER']]" in (
        text
    )
    assert text.endswith("5 passed, 2 failed")


@scenarios.parametrize(SCENARIOS)
def test_parametrized_one_test_per_scenario(scenario: scenarios.Scenario) -> None:
    assert scenarios.check(support_line(), scenario).failures == []


def test_heard_is_matched_in_order_by_substring_and_count() -> None:
    flow = support_line()
    ok = one({"heard": ["Welcome", "press 1"]})
    assert scenarios.run(flow, [ok])[0].passed
    wrong = one({"heard": ["Welcome", "press 9"]})
    assert scenarios.run(flow, [wrong])[0].failures == [
        "heard[1]: expected 'press 9' in 'For sales, press 1. For support, press 2. "
        "For an operator, press 0.'"
    ]
    too_few = one({"heard": ["Welcome"]})
    assert scenarios.run(flow, [too_few])[0].failures == [
        "heard: 2 prompts, 1 expected; heard[1] was 'For sales, press 1. For support, press 2. "
        "For an operator, press 0.'"
    ]
    too_many = one({"heard": ["Welcome", "For sales", "Goodbye"]})
    assert scenarios.run(flow, [too_many])[0].failures == [
        "heard[2]: expected 'Goodbye', but the caller heard nothing more"
    ]


def test_status_variables_and_dialed() -> None:
    flow = support_line()
    case = one(
        {
            "status": "caller hung up",
            "variables": {"menu_choice": "2", "nothing": 1},
            "dialed": [["+33123456789", "BUSY"]],
        },
        script={"presses": ["1"], "dial": ["BUSY"]},
    )
    failures = scenarios.run(flow, [case])[0].failures
    assert failures == [
        "status: expected 'caller hung up', got 'completed'",
        "variables.menu_choice: expected '2', got '1'",
        "variables.nothing: expected 1, but it is not set",
    ]


def test_initial_variables_caller_and_outbound() -> None:
    flow = Flow("hi").add("hi", "play", prompt="Hello {name}, from {caller}").add("bye", "hangup")
    flow.connect("hi", "bye")
    case = {
        "name": "greets",
        "variables": {"name": "Ada"},
        "caller": "+33700000000",
        "expect": {"heard": ["Hello Ada, from +33700000000"], "variables": {"name": "Ada"}},
    }
    assert scenarios.run(flow, [case])[0].passed
    outbound = {
        "name": "out",
        "direction": "outbound",
        "script": {"answer": "busy"},
        "expect": {"status": "busy", "path": []},
    }
    assert scenarios.run(flow, [outbound])[0].failures == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"must be a JSON list"),
        ([], r"holds no scenario"),
        ([1], r"\[0\]: must be an object"),
        ([{"script": []}], r"\[0\]\.name: must be a non-empty text"),
        ([{"name": "a", "expect": {"path": []}, "oops": 1}], r"\[0\]: unknown key\(s\) oops"),
        ([{"name": "a"}], r"\[0\] \(a\)\.expect: must be an object with one or more of"),
        ([{"name": "a", "expect": {"heard": "Hi"}}], r"\(a\)\.expect\.heard: must be a list"),
        ([{"name": "a", "expect": {"pth": []}}], r"\(a\)\.expect: unknown key\(s\) pth"),
        (
            [{"name": "a", "script": {"presses": ["x"]}, "expect": {"path": []}}],
            r"\.script: presses\[0\]",
        ),
        (
            [{"name": "a", "script": {"presss": []}, "expect": {"path": []}}],
            r"\.script: unknown script key",
        ),
        ([{"name": "a", "expect": {"dialed": [["+1"]]}}], r"dialed: must be a list of \[number"),
        ([{"name": "a", "direction": "up", "expect": {"path": []}}], r"direction: must be inbound"),
        (
            [{"name": "a", "expect": {"path": []}}, {"name": "a", "expect": {"path": []}}],
            r"\[1\]\.name: 'a' is used twice",
        ),
        (
            [{"name": "sat", "at": "2026-03-28 10:00", "expect": {"path": []}}],
            r"^s\.json: \[0\] \(sat\)\.at: '2026-03-28 10:00' has no time zone: add an offset",
        ),
        (
            [{"name": "sat", "at": 1774688400, "expect": {"path": []}}],
            r"\(sat\)\.at: must be text, ISO 8601 with a zone",
        ),
        (
            [{"name": "dst", "at": "2026-03-29T02:30[Europe/Paris]", "expect": {"path": []}}],
            r"\(dst\)\.at: '2026-03-29T02:30\[Europe/Paris\]' does not exist in Europe/Paris",
        ),
    ],
)
def test_malformed_scenarios_say_where(data: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenarios.parse(data, source="s.json")


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.json: cannot read"):
        scenarios.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.json: not valid JSON"):
        scenarios.load(bad)


def test_a_flow_with_errors_fails_before_any_call() -> None:
    flow = Flow("x")  # an empty flow is an error
    with pytest.raises(FlowValidationError, match="empty"):
        scenarios.run(flow, [one({"path": ["hi"]})])


# -- time ----------------------------------------------------------------------------------------


def opening_hours() -> Flow:
    """A menu, then a business-hours check in Paris: each outcome says its name."""
    flow = Flow("hours", timezone="Europe/Paris")
    flow.add(
        "menu",
        "menu",
        prompt="Press 1.",
        options=[{"outcome": "one", "digits": "1"}],
        timeout_ms=30000,
        max_timeouts=1,
    )
    flow.add(
        "hours",
        "business_hours",
        hours={"mon-fri": ["09:00-18:00"]},
        holidays=[{"date": "05-01", "name": "Labour Day"}],
    )
    flow.add("bye", "hangup")
    for outcome in ("one", "timeout", "invalid"):
        flow.connect("menu", "hours", outcome)
    for outcome in ("open", "closed", "holiday"):
        flow.add(outcome, "play", prompt=outcome).connect("hours", outcome, outcome)
        flow.connect(outcome, "bye")
    return flow


def test_each_scenario_runs_at_its_own_moment() -> None:
    cases = [
        {"name": "weekday", "at": "2026-03-27T10:00+01:00", "script": ["1"]},
        {"name": "saturday", "at": "2026-03-28T10:00[Europe/Paris]", "script": ["1"]},
        {"name": "holiday", "at": "2026-05-01T10:00:00+02:00[Europe/Paris]", "script": ["1"]},
        {"name": "summer time", "at": "2026-03-30T09:00[Europe/Paris]", "script": ["1"]},
        {"name": "default", "script": ["1"]},  # 2026-01-01 10:00 UTC, a Thursday
    ]
    expected = ["open", "closed", "holiday", "open", "open"]
    data = [
        {**c, "expect": {"heard": ["Press 1.", e]}} for c, e in zip(cases, expected, strict=True)
    ]

    results = scenarios.run(opening_hours(), data)

    assert [r.failures for r in results] == [[]] * len(cases)
    started = [r.transcript.setup.date_started for r in results]
    assert started == [
        "2026-03-27 09:00:00",
        "2026-03-28 09:00:00",
        "2026-05-01 08:00:00",
        "2026-03-30 07:00:00",
        "2026-01-01 10:00:00",
    ]


def test_the_call_clock_runs_on_from_the_scenarios_moment() -> None:
    late = {
        "name": "caller thinks for 30 s at 17:59:50",
        "at": "2026-03-27T17:59:50+01:00",
        "script": [None],
        "expect": {"heard": ["Press 1.", "closed"]},
    }
    quick = {**late, "name": "caller presses at once", "script": ["1"]}
    quick["expect"] = {"heard": ["Press 1.", "open"]}

    assert [r.failures for r in scenarios.run(opening_hours(), [late, quick])] == [[], []]


def test_a_failing_scenario_says_when_it_ran() -> None:
    case = {
        "name": "saturday",
        "at": "2026-03-28T10:00[Europe/Paris]",
        "script": ["1"],
        "expect": {"heard": ["Press 1.", "open"]},
    }

    text = str(scenarios.run(opening_hours(), [case])[0])

    assert text.splitlines()[0] == "FAILED saturday (at 2026-03-28T10:00[Europe/Paris])"
    assert "heard[1]: expected 'open' in 'closed'" in text


def test_scenario_objects_keep_their_moment() -> None:
    parsed = scenarios.parse(
        [{"name": "sat", "at": "2026-03-28T10:00[Europe/Paris]", "expect": {"heard": ["x"]}}]
    )
    assert parsed[0].at == "2026-03-28T10:00[Europe/Paris]"
    # a Scenario mixed with scenario data goes back through the data and keeps its moment
    results = scenarios.run(opening_hours(), [parsed[0], {"name": "b", "expect": {"path": []}}])
    assert results[0].transcript.setup.date_started == "2026-03-28 09:00:00"


def test_scenarios_of_another_flow_say_so() -> None:
    """Every scenario fails, and the path line names the nodes this flow does not have."""
    results = scenarios.run(support_line(), EXPORTS / "dental_clinic.scenarios.json")
    assert not any(r.passed for r in results)
    hinted = [f for r in results for f in r.failures if f.startswith("path:")]
    assert hinted
    assert all("no such node in this flow; scenarios of another flow?" in f for f in hinted)
    ok = scenarios.run(support_line(), EXPORTS / "support_line.scenarios.json")
    assert all(r.passed for r in ok)
