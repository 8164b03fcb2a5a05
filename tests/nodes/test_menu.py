"""``menu``: routing by exact digits, digit sets and regexes; retries; the variable."""

from __future__ import annotations

from typing import Any

import pytest

from flowbuilder import Flow, Script, simulate
from flowbuilder.errors import NodeConfigError

PROMPT = "For sales press 1, for support press 2."


def menu_flow(**params: Any) -> Flow:
    """A menu whose every outcome plays its own name, then hangs up."""
    options = params.pop(
        "options",
        [{"outcome": "sales", "digits": "1"}, {"outcome": "support", "digits": "2"}],
    )
    flow = Flow("menu_test").add("m", "menu", prompt=PROMPT, options=options, **params)
    flow.add("bye", "hangup")
    for outcome in flow.outcomes("m"):
        flow.add(f"to_{outcome}", "play", prompt=f"Outcome {outcome}.")
        flow.connect("m", f"to_{outcome}", outcome).connect(f"to_{outcome}", "bye")
    flow.add("show", "play", prompt="You pressed {menu_choice}.")
    return flow


def test_exact_digits_route_and_are_stored(sent, tts) -> None:
    flow = menu_flow()
    flow.connect("to_support", "show").connect("show", "bye")

    t = simulate(flow, press=["2"])

    assert t.heard == [PROMPT, "Outcome support.", "You pressed 2."]
    assert t.path == ["m", "to_support", "show", "bye"]
    assert sent(t)[0] == (
        "read",
        {"media_id": tts(PROMPT), "max_digits": 1, "attempts": 1, "timeout_ms": 5000},
    )


def test_one_of_matches_any_digits_in_the_set() -> None:
    flow = menu_flow(options=[{"outcome": "staff", "one_of": ["7", "8"]}])

    assert simulate(flow, press=["8"]).path[:2] == ["m", "to_staff"]
    assert simulate(flow, press=["7"]).path[:2] == ["m", "to_staff"]


def test_regex_matches_extensions() -> None:
    flow = menu_flow(
        options=[
            {"outcome": "operator", "digits": "0"},
            {"outcome": "extension", "regex": r"^9\d{3}$"},
        ],
        max_digits=4,
    )
    flow.connect("to_extension", "show").connect("show", "bye")

    t = simulate(flow, press=["9123"])

    assert t.path == ["m", "to_extension", "show", "bye"]
    assert t.heard[-1] == "You pressed 9123."


def test_routes_are_checked_in_order() -> None:
    flow = menu_flow(
        options=[
            {"outcome": "special", "digits": "42"},
            {"outcome": "anything", "regex": r"^\d+$"},
        ],
        max_digits=2,
    )

    assert simulate(flow, press=["42"]).path[1] == "to_special"
    assert simulate(flow, press=["43"]).path[1] == "to_anything"


def test_wrong_entries_replay_the_invalid_prompt_until_max_failures(sent, tts) -> None:
    flow = menu_flow(max_failures=2, invalid_prompt="Not a valid choice.")

    t = simulate(flow, press=["5", "6"])

    assert t.heard == [PROMPT, "Not a valid choice.", PROMPT, "Outcome invalid."]
    assert [name for name, _ in sent(t)][:4] == ["read", "play", "read", "play"]
    assert sent(t)[1] == ("play", {"media_id": tts("Not a valid choice.")})
    assert t.path == ["m", "to_invalid", "bye"]


def test_a_wrong_entry_then_a_right_one_routes(sent) -> None:
    t = simulate(menu_flow(), press=["9", "1"])

    assert t.heard == [PROMPT, "Sorry, that is not a valid choice.", PROMPT, "Outcome sales."]
    assert t.path == ["m", "to_sales", "bye"]


def test_silence_replays_the_timeout_prompt_until_max_timeouts(sent, tts) -> None:
    flow = menu_flow(max_timeouts=2, timeout_prompt="I did not hear you.", timeout_ms=3000)

    t = simulate(flow, press=[None, None])

    assert t.heard == [PROMPT, "I did not hear you.", PROMPT, "Outcome timeout."]
    assert sent(t)[1] == ("play", {"media_id": tts("I did not hear you.")})
    assert sent(t)[2][1]["timeout_ms"] == 3000
    assert t.path == ["m", "to_timeout", "bye"]


def test_timeouts_and_failures_are_counted_apart() -> None:
    flow = menu_flow(max_failures=2, max_timeouts=2)

    t = simulate(flow, press=["5", None, "6"])

    assert t.path == ["m", "to_invalid", "bye"]


def test_empty_retry_prompts_ask_again_at_once(sent) -> None:
    flow = menu_flow(max_failures=3, invalid_prompt="", timeout_prompt="")

    t = simulate(flow, press=["5", None, "2"])

    assert [name for name, _ in sent(t)][:3] == ["read", "read", "read"]
    assert t.heard == [PROMPT, PROMPT, PROMPT, "Outcome support."]


def test_variable_name_and_no_variable() -> None:
    flow = menu_flow(variable="choice")
    flow.set_params("show", prompt="Choice {choice}.")
    flow.connect("to_sales", "show").connect("show", "bye")
    assert simulate(flow, press=["1"]).heard[-1] == "Choice 1."

    silent = menu_flow(variable="")
    silent.connect("to_sales", "show").connect("show", "bye")
    assert simulate(silent, press=["1"]).heard[-1] == "You pressed ."


def test_retries_restart_when_the_menu_is_entered_again() -> None:
    flow = menu_flow(max_failures=2)
    flow.disconnect("to_sales", "next").connect("to_sales", "m")

    # 1 wrong entry, then sales (back to the menu), then 1 wrong entry: counts start over
    t = simulate(flow, press=["5", "1", "6", "2"])

    assert t.path == ["m", "to_sales", "m", "to_support", "bye"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ([], "options"),
        ([{"outcome": "x", "digits": "12"}], "options[0]"),  # longer than max_digits
        ([{"outcome": "x", "regex": "("}], "options[0]"),
        ([{"outcome": "invalid", "digits": "1"}], "options[0]"),
        ([{"digits": "1"}, {"digits": "1"}], "options[1]"),
        ([{"outcome": "x", "digits": "1", "one_of": ["2"]}], "options[0]"),
    ],
)
def test_bad_options_are_refused_with_their_position(options: list[Any], field: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("m").add("m", "menu", prompt=PROMPT, options=options)
    assert (caught.value.node_id, caught.value.field) == ("m", field)


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("menu", prompt=PROMPT, options=[{"outcome": "a", "digits": "1"}]))
    call.start()
    assert call.command[0] == "read"

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.timeout_ms]")

    assert reply.trace.error == "read failed: PROPERTY_VALUE_ERROR [params.timeout_ms]"
    assert reply.trace.path == ("oops",)


def test_caller_hangs_up_during_the_menu() -> None:
    t = simulate(menu_flow(), Script(presses=["9"], hangup_after=2))

    # the wrong entry's apology was playing when the caller left
    assert t.status == "caller hung up"
    assert t.path == ["m"]
    assert t.heard == [PROMPT, "Sorry, that is not a valid choice."]
    assert t.pressed == ["9"]
