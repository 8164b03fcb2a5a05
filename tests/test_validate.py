"""validate(): one test per rule; every issue names where it is and says how to fix it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from flowbuilder.compiler import compile
from flowbuilder.errors import FlowValidationError
from flowbuilder.flow import Flow
from flowbuilder.nodes._base import REGISTRY, Context, Go, NodeKind, NodeSpec
from flowbuilder.validate import ERROR_VARIABLE, Issue, validate


class Tick(NodeKind):
    """A kind that never waits on the caller, registered for this module only."""

    name = "t_validate_tick"
    title = description = "tick"
    waits_on_caller = False

    def start(self, node: NodeSpec, ctx: Context) -> Go:
        return Go("next")


@pytest.fixture(autouse=True, scope="module")
def _tick_kind() -> Iterator[None]:
    REGISTRY[Tick.name] = Tick()
    yield
    REGISTRY.pop(Tick.name, None)


def issues_of(flow: Flow) -> list[tuple[str, str | None, str | None]]:
    return [(i.severity, i.node_id, i.field) for i in validate(flow)]


def messages(flow: Flow) -> list[str]:
    return [str(i) for i in validate(flow)]


def good() -> Flow:
    """Connected, reachable, hangs up everywhere: no issue at all."""
    return (
        Flow("good")
        .add("hello", "play", prompt="Hello {caller}")
        .add(
            "menu",
            "menu",
            prompt="1 for sales",
            options=[{"outcome": "sales", "digits": "1"}],
            variable="choice",
        )
        .add("sales", "play", prompt="You chose {choice}")
        .add("end", "hangup")
        .connect("hello", "menu")
        .connect("menu", "sales", "sales")
        .connect("menu", "end", "invalid")
        .connect("menu", "end", "timeout")
        .connect("sales", "end")
    )


def loaded(changes: dict[str, Any]) -> Flow:
    """The good flow saved, edited as text would be, and loaded back."""
    data = json.loads(good().to_json())
    for path, value in changes.items():
        target = data
        *parents, last = path.split("/")
        for key in parents:
            target = target[key]
        target[last] = value
    return Flow.from_dict(data)


def test_a_good_flow_has_no_issue() -> None:
    assert validate(good()) == []


# -- one test per rule ------------------------------------------------------------------------


def test_an_empty_flow() -> None:
    assert messages(Flow("empty")) == [
        "error: entry: the flow is empty; add a node to start the call"
    ]


def test_no_entry() -> None:
    flow = good()
    flow.entry = None
    assert messages(flow)[0] == "error: entry: no entry node; set flow.entry to the first node"


def test_an_entry_that_is_not_a_node() -> None:
    flow = good()
    flow.graph.graph["entry"] = "gone"
    assert messages(flow) == ["error: entry: entry 'gone' is not a node; pick one"]


def test_an_unknown_kind() -> None:
    flow = loaded({"nodes/sales/kind": "teleport"})
    assert messages(flow) == [
        "error: sales.kind: unknown node kind 'teleport'; replace the node with a registered kind"
    ]


def test_a_node_id_that_is_not_an_id() -> None:
    data = json.loads(good().to_json())
    data["nodes"]["9 lives"] = {"kind": "hangup"}
    data["edges"].append({"from": "sales", "outcome": "next", "to": "9 lives"})
    data["edges"] = [
        e for e in data["edges"] if e != {"from": "sales", "outcome": "next", "to": "end"}
    ]
    assert messages(Flow.from_dict(data)) == [
        "error: 9 lives.id: a node id starts with a letter and holds only letters, digits, _ or -"
        " (64 at most); rename the node"
    ]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("max_digits", 25, "error: menu.max_digits: must be between 1 and 20, got 25"),
        ("timeout_ms", 99, "error: menu.timeout_ms: must be between 100 and 30000 ms, got 99"),
        ("max_failures", "3", "error: menu.max_failures: must be an integer, got str '3'"),
        ("colour", "red", "error: menu.colour: is not a parameter of menu"),
        (
            "options",
            [{"outcome": "sales", "digits": "12"}],
            "error: menu.options[0]: digits '12' is longer than max_digits (1): raise max_digits",
        ),
    ],
)
def test_params_out_of_bounds(path: str, value: Any, message: str) -> None:
    assert messages(loaded({f"nodes/menu/params/{path}": value}))[0] == message


def test_an_edge_for_an_outcome_that_does_not_exist() -> None:
    data = json.loads(good().to_json())
    data["edges"].append({"from": "hello", "outcome": "maybe", "to": "end"})
    assert messages(Flow.from_dict(data)) == [
        "error: hello.maybe: play has no outcome 'maybe'; remove this edge"
    ]


def test_an_edge_left_behind_when_a_menu_option_goes() -> None:
    flow = loaded({"nodes/menu/params/options": [{"outcome": "billing", "digits": "2"}]})
    assert issues_of(flow) == [
        ("error", "menu", "sales"),  # the edge of the option that went
        ("warning", "menu", "billing"),  # the new option, not connected
    ]


def test_an_unconnected_outcome() -> None:
    flow = good().disconnect("menu", "sales")
    assert messages(flow) == [
        "warning: menu.sales: outcome 'sales' is not connected; the call hangs up there: "
        "connect it",
        "warning: sales: unreachable: no path from the entry leads here; connect it or remove it",
    ]


def test_an_unreachable_node() -> None:
    flow = good().add("lost", "play", prompt="Nobody hears me").connect("lost", "end")
    assert messages(flow) == [
        "warning: lost: unreachable: no path from the entry leads here; connect it or remove it"
    ]


def test_the_error_path_is_reachable_by_definition() -> None:
    flow = good().add("oops", "play", prompt="Sorry: {last_error}").connect("oops", "end")
    flow.configure(on_error="oops")
    assert validate(flow) == []


def test_a_path_that_ends_without_hanging_up() -> None:
    flow = good().disconnect("sales", "next").remove("end")
    flow.add("end", "hangup").connect("menu", "end", "invalid").connect("menu", "end", "timeout")
    assert messages(flow) == [
        "warning: sales.next: the call ends here without hanging up; connect it to a hangup node"
    ]


def test_a_loop_of_set_and_branch_nodes_never_waits() -> None:
    flow = good()
    flow.add("count", "set", values={"n": "1"})
    flow.add(
        "check",
        "branch",
        conditions=[{"name": "more", "subject": "n", "op": "equals", "value": "1"}],
    )
    flow.connect("sales", "count").connect("count", "check")
    flow.connect("check", "count", "more").connect("check", "end", "else")
    assert messages(flow) == [
        "error: check: endless loop: check -> count never waits on the caller; "
        "put a prompt, menu or wait inside the loop"
    ]
    with pytest.raises(FlowValidationError):
        compile(flow)


def test_a_non_waiting_node_looping_on_itself() -> None:
    flow = good().add("tick", Tick.name).connect("sales", "tick").connect("tick", "tick")
    assert issues_of(flow) == [("error", "tick", None)]
    assert "endless loop: tick never waits" in messages(flow)[0]


def test_a_loop_through_a_node_that_waits_is_fine() -> None:
    flow = good().add("tick", Tick.name).connect("sales", "tick").connect("tick", "hello")
    assert validate(flow) == []


@pytest.mark.parametrize("outcome", ["invalid", "timeout"])
def test_a_menu_without_invalid_or_timeout_handling(outcome: str) -> None:
    flow = good().disconnect("menu", outcome)
    assert messages(flow) == [
        f"warning: menu.{outcome}: menu has no {outcome} handling: callers who run out of tries "
        f"are cut off; connect '{outcome}'"
    ]


def test_template_variables_nothing_sets() -> None:
    flow = good().set_params("sales", prompt="You chose {choice}, {first_name}")
    assert messages(flow) == [
        "warning: sales.prompt: uses {first_name} but no node sets it; "
        "set it with a 'set' node or fix the name"
    ]
    flow.add("name", "set", values={"first_name": "Ada"})
    flow.connect("hello", "name").connect("name", "menu")
    assert validate(flow) == []


def test_the_error_variable_is_set_on_the_error_path_only() -> None:
    flow = good().add("oops", "play", prompt=f"Sorry: {{{ERROR_VARIABLE}}}").connect("oops", "end")
    assert ("warning", "oops", "prompt") in issues_of(flow)  # no error path: nothing sets it
    flow.configure(on_error="oops")
    assert validate(flow) == []
    flow.set_params("sales", prompt=f"Problem: {{{ERROR_VARIABLE}}}")
    assert messages(flow) == [
        "warning: sales.prompt: uses {last_error} but only the error path (oops) sets it and "
        "this node is not on it; read it on the error path"
    ]


def test_an_error_path_pointing_nowhere() -> None:
    flow = loaded({"settings/on_error": "ghost"})
    assert messages(flow) == [
        "error: on_error: error path 'ghost' is not a node; pick an existing node or clear it"
    ]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Europe/"])
def test_an_unknown_time_zone(zone: str) -> None:
    flow = good().configure(timezone=zone)
    assert messages(flow) == [
        f"warning: timezone: unknown time zone {zone!r}: time and weekday conditions will take "
        "the error path; use an IANA name like Europe/Paris or UTC"
    ]
    assert validate(good().configure(timezone="Europe/Paris")) == []


# -- the shape of every issue ----------------------------------------------------------------------


def kitchen_sink() -> Flow:
    data = json.loads(good().to_json())
    data["nodes"]["menu"]["params"]["max_digits"] = 0
    data["nodes"]["bad"] = {"kind": "teleport"}
    data["nodes"]["lost"] = {"kind": "play", "params": {"prompt": "Hi {nobody}"}}
    data["settings"]["on_error"] = "ghost"
    data["edges"].append({"from": "hello", "outcome": "maybe", "to": "end"})
    data["edges"] = [e for e in data["edges"] if e["outcome"] != "timeout"]
    return Flow.from_dict(data)


def test_every_issue_names_where_and_says_what_to_do() -> None:
    issues = validate(kitchen_sink())
    assert len(issues) == 9
    fixes = ("add", "set", "pick", "replace", "remove", "connect", "rename", "put", "must", "fix")
    for issue in issues:
        assert issue.node_id or issue.field, issue
        assert "\n" not in issue.message
        assert any(word in issue.message for word in fixes), issue
        where = ".".join(p for p in (issue.node_id, issue.field) if p)
        assert str(issue) == f"{issue.severity}: {where}: {issue.message}"
        assert issue.to_json() == {
            "severity": issue.severity,
            "node_id": issue.node_id,
            "field": issue.field,
            "message": issue.message,
        }


def test_errors_come_before_warnings_each_in_node_order() -> None:
    issues = validate(kitchen_sink())
    severities = [i.severity for i in issues]
    assert severities == sorted(severities)  # "error" < "warning"
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity == "warning"]
    assert [(i.node_id or "", i.field or "") for i in errors] == sorted(
        (i.node_id or "", i.field or "") for i in errors
    )
    assert [(i.node_id or "", i.field or "") for i in warnings] == sorted(
        (i.node_id or "", i.field or "") for i in warnings
    )


def test_compile_raises_with_every_error_and_warnings_never_block() -> None:
    flow = kitchen_sink()
    with pytest.raises(FlowValidationError) as info:
        compile(flow)
    expected = [i for i in validate(flow) if i.severity == "error"]
    assert info.value.issues == expected
    assert len(expected) == 4
    assert str(info.value) == f"{expected[0]} (and 3 more)"
    warned = good().disconnect("menu", "timeout")
    assert [i.severity for i in validate(warned)] == ["warning"]
    program = compile(warned)
    assert program.entry == "hello"


def test_validate_does_not_change_the_flow() -> None:
    flow = kitchen_sink()
    before = flow.to_json()
    validate(flow)
    assert flow.to_json() == before


def test_issues_are_values() -> None:
    a = Issue("warning", "n", "f", "m")
    assert a == Issue("warning", "n", "f", "m")
    assert str(Issue("error", None, None, "broken")) == "error: flow: broken"
