"""``set``: variables from templates, numbers kept, names checked, no command sent."""

from __future__ import annotations

import pytest

from flowbuilder import Flow, simulate, validate
from flowbuilder.compiler import compile
from flowbuilder.errors import FlowValidationError, NodeConfigError


def test_values_are_rendered_and_later_nodes_read_them(sent) -> None:
    flow = Flow("s")
    flow.add("who", "set", values={"greeting": "Hello {caller}", "team": "sales"})
    flow.add("hi", "play", prompt="{greeting}, this is {team}.").add("bye", "hangup")
    flow.connect("who", "hi").connect("hi", "bye")

    t = simulate(flow, caller="+33611111111")

    assert t.heard == ["Hello +33611111111, this is sales."]
    assert t.path == ["who", "hi", "bye"]
    # nothing was sent to CALLR for the set node itself
    assert [name for name, _ in sent(t)] == ["play", "hangup"]


def test_numbers_and_booleans_are_stored_as_they_are(around, callr) -> None:
    call = callr(around("set", values={"tries": 3, "ratio": 0.5, "vip": True, "code": "007"}))

    call.start()

    assert call.variables == {"tries": 3, "ratio": 0.5, "vip": True, "code": "007"}


def test_templates_read_the_values_from_before_the_node(around, callr) -> None:
    # {"a": "{b}", "b": ...} must not depend on the order of the keys
    call = callr(around("set", values={"a": "was {b}", "b": "new"}))

    call.start({"b": "old"})

    assert call.variables["a"] == "was old"
    assert call.variables["b"] == "new"


def test_variables_are_overwritten_and_kept_across_the_call(callr) -> None:
    flow = Flow("count")
    flow.add("one", "set", values={"step": "one"})
    flow.add("say1", "play", prompt="Step {step}.")
    flow.add("two", "set", values={"step": "two", "first": "{step}"})
    flow.add("say2", "play", prompt="Step {step} after {first}.").add("bye", "hangup")
    flow.connect("one", "say1").connect("say1", "two").connect("two", "say2")
    flow.connect("say2", "bye")

    t = simulate(flow)

    assert t.heard == ["Step one.", "Step two after one."]


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({}, "values", "is required"),
        ({"1x": "a"}, "values.1x", "not a variable name"),
        ({"_fb": "a"}, "values._fb", "reserved"),
        ({"time": "a"}, "values.time", "reserved for the clock"),
        ({"x": ["a"]}, "values.x", "text, a number or true/false"),
        ({"x": None}, "values.x", "text, a number or true/false"),
        ({"x": float("nan")}, "values.x", "text, a number or true/false"),
    ],
)
def test_bad_values_are_refused_naming_the_entry(
    values: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("s").add("set_it", "set", values=values)

    assert (caught.value.node_id, caught.value.field) == ("set_it", field)
    assert words in str(caught.value)


def test_hiding_a_call_fact_is_a_warning() -> None:
    flow = Flow("s").add("x", "set", values={"caller": "anonymous"}).add("bye", "hangup")
    flow.connect("x", "bye")

    issues = [str(i) for i in validate(flow)]

    assert issues == [
        "warning: x.values.caller: hides the call fact {caller} (the caller's number "
        "(cli_number), may be empty) for the rest of the call"
    ]


def test_set_variables_count_as_set_and_unknown_ones_are_flagged() -> None:
    flow = Flow("s").add("x", "set", values={"name": "{nickname}"})
    flow.add("hi", "play", prompt="Hi {name}").add("bye", "hangup")
    flow.connect("x", "hi").connect("hi", "bye")

    messages = [(i.node_id, i.field, i.severity) for i in validate(flow)]

    assert messages == [("x", "values", "warning")]  # {nickname} is set by no node


def test_a_loop_of_set_nodes_never_waits_and_is_refused() -> None:
    flow = Flow("loop").add("a", "set", values={"x": "1"}).add("b", "set", values={"y": "2"})
    flow.connect("a", "b").connect("b", "a")

    with pytest.raises(FlowValidationError) as caught:
        compile(flow)

    assert "endless loop: a -> b never waits on the caller" in str(caught.value)
