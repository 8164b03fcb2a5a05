"""``gather``: digits into a variable, ``done`` / ``timeout``, what CALLR is sent, errors."""

from __future__ import annotations

import pytest

from flowbuilder import Flow, Script, simulate, validate
from flowbuilder.callr import commands, wire
from flowbuilder.errors import NodeConfigError


def account_flow(**params: object) -> Flow:
    """Ask for an account number, read it back; silence says so and hangs up."""
    flow = Flow("account")
    flow.add("ask", "gather", prompt="Enter your account number.", variable="account", **params)
    flow.add("confirm", "play", prompt="Account {account}.")
    flow.add("silent", "play", prompt="We did not get your number.")
    flow.add("bye", "hangup")
    flow.connect("ask", "confirm", "done").connect("ask", "silent", "timeout")
    flow.connect("confirm", "bye").connect("silent", "bye")
    return flow


def test_digits_land_in_the_variable_and_leave_through_done(sent, tts) -> None:
    t = simulate(account_flow(max_digits=6, timeout_ms=4000, attempts=3), press=["123456"])

    assert t.heard == ["Enter your account number.", "Account 123456."]
    assert t.pressed == ["123456"]
    assert t.path == ["ask", "confirm", "bye"]
    assert sent(t)[0] == (
        "read",
        {
            "media_id": tts("Enter your account number."),
            "max_digits": 6,
            "attempts": 3,
            "timeout_ms": 4000,
        },
    )


def test_callr_stops_at_max_digits() -> None:
    t = simulate(account_flow(max_digits=4), press=["123456"])

    assert t.heard[-1] == "Account 1234."


@pytest.mark.parametrize(("strip_hash", "heard"), [(True, "Account 42."), (False, "Account 42#.")])
def test_a_trailing_hash_is_dropped_unless_asked_to_keep_it(strip_hash: bool, heard: str) -> None:
    t = simulate(account_flow(strip_hash=strip_hash), press=["42#"])

    assert t.heard[-1] == heard
    assert t.path[1] == "confirm"


def test_silence_on_every_attempt_leaves_through_timeout(sent) -> None:
    t = simulate(account_flow(attempts=2, timeout_ms=3000), press=[None])

    assert t.path == ["ask", "silent", "bye"]
    assert t.heard == ["Enter your account number.", "We did not get your number."]
    # CALLR waits attempts x timeout_ms before answering TIMEOUT
    silence = next(e for e in t.events if e.kind == "silence")
    assert silence.t >= 6.0
    assert [name for name, _ in sent(t)] == ["read", "play", "hangup"]


def test_a_lone_hash_counts_as_nothing_entered() -> None:
    t = simulate(account_flow(), press=["#"])

    assert t.path == ["ask", "silent", "bye"]


def test_timeout_clears_a_value_from_an_earlier_try(callr) -> None:
    # ask twice: the second, silent try must not keep the first try's digits
    flow = Flow("twice")
    flow.add("ask", "gather", prompt="Code?", variable="code")
    flow.add("again", "gather", prompt="Code again?", variable="code")
    flow.add("said", "play", prompt="You said {code}.").add("bye", "hangup")
    flow.connect("ask", "again", "done").connect("again", "said", "done")
    flow.connect("again", "said", "timeout").connect("said", "bye")
    call = callr(flow)
    call.start()
    call.post("1234")
    assert call.variables["code"] == "1234"

    call.post(commands.READ_TIMEOUT)

    assert call.variables["code"] == ""
    assert call.command == ("play", {"media_id": commands.tts("You said .", "TTS_EN-GB_SERENA")})


def test_prompt_may_be_a_media_id_or_use_variables(sent) -> None:
    flow = account_flow()
    flow.set_params("ask", prompt=4321)
    assert sent(simulate(flow, press=["1"]))[0][1]["media_id"] == 4321

    flow.set_params("ask", prompt="{caller}, enter your code.", voice="TTS_FR-FR_AUDREY")
    t = simulate(flow, press=["1"], caller="+33611111111")
    assert sent(t)[0][1]["media_id"] == "TTS|TTS_FR-FR_AUDREY|+33611111111, enter your code."


def test_command_error_takes_the_error_path(around, callr, tts) -> None:
    call = callr(around("gather", prompt="Code?", variable="code"))
    call.start()
    assert call.command[0] == "read"

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.max_digits]")

    assert reply.trace.error == "read failed: PROPERTY_VALUE_ERROR [params.max_digits]"
    assert reply.trace.path == ("oops",)
    assert call.command == ("play", {"media_id": tts("Something went wrong.")})
    assert "code" not in call.variables


def test_caller_hanging_up_during_the_read_ends_quietly(around, callr) -> None:
    call = callr(around("gather", prompt="Code?", variable="code"))
    call.start()

    reply = call.post(status=wire.HANGUP)

    assert reply.answer is None
    assert reply.trace.ended
    assert reply.trace.node == "n"


def test_caller_hanging_up_in_a_simulated_call() -> None:
    t = simulate(account_flow(), Script(presses=["12"], hangup_after=1))

    assert t.status == "caller hung up"
    assert t.path == ["ask"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"variable": ""}, "variable"),
        ({"variable": "1st"}, "variable"),
        ({"variable": "code", "max_digits": 0}, "max_digits"),
        ({"variable": "code", "max_digits": 21}, "max_digits"),
        ({"variable": "code", "timeout_ms": 99}, "timeout_ms"),
        ({"variable": "code", "timeout_ms": 30001}, "timeout_ms"),
        ({"variable": "code", "attempts": 0}, "attempts"),
        ({"variable": "code", "attempts": 11}, "attempts"),
        ({"variable": "code", "strip_hash": "yes"}, "strip_hash"),
        ({"variable": "code", "finish_on": "#"}, "finish_on"),
    ],
)
def test_bad_params_are_refused_naming_the_field(params: dict[str, object], field: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("g").add("ask", "gather", **params)

    assert (caught.value.node_id, caught.value.field) == ("ask", field)
    assert str(caught.value).startswith(f"ask.{field}: ")
    assert "\n" not in str(caught.value)


def test_validation_reports_a_loaded_node_without_variable_and_unconnected_outcomes() -> None:
    data = account_flow().to_dict()
    data["nodes"]["ask"]["params"]["variable"] = ""
    flow = Flow.from_dict(data)
    flow.disconnect("ask", "timeout")

    issues = [str(i) for i in validate(flow)]

    assert "error: ask.variable: is required" in issues
    assert any(
        i.startswith("warning: ask.timeout: outcome 'timeout' is not connected") for i in issues
    )


def test_the_variable_counts_as_set_for_later_templates() -> None:
    assert not [i for i in validate(account_flow()) if "account" in i.message]
