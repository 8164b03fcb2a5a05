"""``subflow``: run another flow, return through ``done``; nesting, hang-ups, compile errors."""

from __future__ import annotations

import pytest

from flowbuilder import Flow, simulate, validate
from flowbuilder.compiler import compile
from flowbuilder.errors import FlowError, FlowValidationError, NodeConfigError


def greeting() -> Flow:
    """A subflow that plays two messages and ends (its last outcome is left unconnected)."""
    flow = Flow("greeting")
    flow.add("hello", "play", prompt="Hello from the subflow.")
    flow.add("more", "play", prompt="Still in the subflow.").connect("hello", "more")
    return flow


def main(sub: str = "greeting") -> Flow:
    flow = Flow("main")
    flow.add("welcome", "play", prompt="Welcome.")
    flow.add("call_sub", "subflow", flow=sub)
    flow.add("back", "play", prompt="Back in the main flow.").add("bye", "hangup")
    flow.connect("welcome", "call_sub").connect("call_sub", "back", "done")
    flow.connect("back", "bye")
    return flow


def test_the_subflow_runs_then_the_call_returns_through_done() -> None:
    t = simulate(main(), subflows={"greeting": greeting()})

    assert t.heard == [
        "Welcome.",
        "Hello from the subflow.",
        "Still in the subflow.",
        "Back in the main flow.",
    ]
    assert t.path == ["welcome", "call_sub", "greeting/hello", "greeting/more", "back", "bye"]
    assert t.status == "completed"


def test_subflows_nest_and_each_returns_to_its_caller() -> None:
    outer = Flow("outer")
    outer.add("intro", "play", prompt="Outer starts.")
    outer.add("deeper", "subflow", flow="greeting").connect("intro", "deeper")
    outer.add("outro", "play", prompt="Outer ends.").connect("deeper", "outro", "done")
    subflows = {"outer": outer, "greeting": greeting()}

    t = simulate(main("outer"), subflows=subflows)

    assert t.heard == [
        "Welcome.",
        "Outer starts.",
        "Hello from the subflow.",
        "Still in the subflow.",
        "Outer ends.",
        "Back in the main flow.",
    ]
    assert t.path[1:7] == [
        "call_sub",
        "outer/intro",
        "outer/deeper",
        "greeting/hello",
        "greeting/more",
        "outer/outro",
    ]
    assert compile(main("outer"), subflows=subflows).subflows.keys() == {"outer", "greeting"}


def test_the_same_subflow_twice_in_a_row() -> None:
    flow = main()
    flow.add("again", "subflow", flow="greeting").connect("call_sub", "again", "done")
    flow.connect("again", "back", "done")

    t = simulate(flow, subflows={"greeting": greeting()})

    assert t.heard.count("Hello from the subflow.") == 2
    assert t.heard[-1] == "Back in the main flow."


def test_a_hangup_in_the_subflow_ends_the_call() -> None:
    sub = Flow("goodbye").add("sorry", "play", prompt="We are closed.").add("end", "hangup")
    sub.connect("sorry", "end")

    t = simulate(main("goodbye"), subflows={"goodbye": sub})

    assert t.heard == ["Welcome.", "We are closed."]
    assert t.path == ["welcome", "call_sub", "goodbye/sorry", "goodbye/end"]
    assert t.status == "completed"


def test_variables_are_shared_with_the_subflow_both_ways() -> None:
    sub = Flow("collect_pin").add("ask", "gather", prompt="PIN for {caller}?", variable="pin")
    flow = main("collect_pin")
    flow.set_params("back", prompt="Your PIN is {pin}.")

    t = simulate(flow, press=["1234"], caller="+33611111111", subflows={"collect_pin": sub})

    assert t.heard == ["Welcome.", "PIN for +33611111111?", "Your PIN is 1234."]


def test_the_caller_hanging_up_inside_the_subflow() -> None:
    t = simulate(main(), {"hangup_after": 2}, subflows={"greeting": greeting()})

    assert t.status == "caller hung up"
    assert t.path == ["welcome", "call_sub", "greeting/hello"]


def test_a_failing_outcome_left_open_in_the_subflow_returns_through_done() -> None:
    sub = Flow("greeting").add("fail", "python", function="no_such_module_xyz:fn")

    t = simulate(main(), subflows={"greeting": sub})

    assert t.path == ["welcome", "call_sub", "greeting/fail", "back", "bye"]


def test_a_command_error_in_the_subflow_takes_the_main_flows_error_path(callr, tts) -> None:
    flow = main()
    flow.add("oops", "play", prompt="Sorry.").connect("oops", "bye")
    flow.configure(on_error="oops")
    call = callr(greeting())  # the driver compiles without subflows: swap in the real program
    call.program = compile(flow, subflows={"greeting": greeting()})
    call.start()
    call.post("0")
    assert call.command == ("play", {"media_id": tts("Hello from the subflow.")})

    reply = call.post(error="INVALID_PARAM_FORMAT [params.media_id]")

    assert reply.trace.path == ("oops",)
    assert reply.trace.error == "play failed: INVALID_PARAM_FORMAT [params.media_id]"
    assert call.command == ("play", {"media_id": tts("Sorry.")})
    call.post("0")
    assert call.command == ("hangup", {})  # the error path ends in the main flow, not back


# -- compile-time checks -------------------------------------------------------------------------


def test_a_missing_subflow_is_a_validation_error_not_a_key_error() -> None:
    with pytest.raises(FlowValidationError) as caught:
        compile(main(), subflows={"other": greeting()})

    assert [str(i) for i in caught.value.issues] == [
        "error: call_sub.flow: unknown subflow 'greeting'; subflows carried: other; add it with "
        "flow.use(the_flow) (saved with the flow) or under 'subflows' in its file"
    ]
    with pytest.raises(FlowValidationError, match="subflows carried: none"):
        compile(main())


def test_a_missing_nested_subflow_is_a_validation_error() -> None:
    outer = Flow("outer").add("deeper", "subflow", flow="nowhere")

    with pytest.raises(FlowValidationError) as caught:
        compile(main("outer"), subflows={"outer": outer})

    assert "outer/deeper.flow: unknown subflow 'nowhere'" in str(caught.value)


def test_errors_inside_a_subflow_name_the_subflow() -> None:
    broken = Flow("greeting").add("hello", "play", prompt="Hi").add("x", "hangup")
    broken.graph.nodes["hello"]["params"]["prompt"] = ""  # as a hand-edited file could hold

    with pytest.raises(FlowValidationError) as caught:
        compile(main(), subflows={"greeting": broken})

    assert [str(i) for i in caught.value.issues] == [
        "error: greeting/hello.prompt: is required: say something"
    ]


def test_a_subflow_calling_itself_is_refused() -> None:
    loop = Flow("loop").add("again", "subflow", flow="loop")

    with pytest.raises(FlowError, match=r"subflow 'loop' calls itself \(main -> loop -> loop\)"):
        compile(main("loop"), subflows={"loop": loop})


def test_validation_finds_a_subflow_the_flow_does_not_carry() -> None:
    issues = [str(i) for i in validate(main()) if i.field == "flow"]

    assert issues == [
        "error: call_sub.flow: unknown subflow 'greeting'; subflows carried: none; add it with "
        "flow.use(the_flow) (saved with the flow) or under 'subflows' in its file"
    ]
    assert [i for i in validate(main().use(greeting())) if i.field] == []
    assert [i for i in validate(main(), subflows={"greeting": greeting()}) if i.field] == []


def test_a_subflow_that_never_waits_is_flagged() -> None:
    busy = Flow("busy").add("x", "set", values={"a": "1"})

    issues = [str(i) for i in validate(main("busy"), subflows={"busy": busy})]

    assert (
        "warning: call_sub.flow: subflow 'busy' never waits on the caller; in a loop it "
        "would spin" in issues
    )


@pytest.mark.parametrize(
    ("name", "words"), [("", "is required"), ("no spaces", "must be a flow name"), (3, "text")]
)
def test_bad_flow_names_are_refused(name: object, words: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("m").add("s", "subflow", flow=name)

    assert (caught.value.node_id, caught.value.field) == ("s", "flow")
    assert words in str(caught.value)
