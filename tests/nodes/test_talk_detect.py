"""``talk_detect``: human, machine or unknown from CALLR's ``play_talk_detect`` verdict."""

from __future__ import annotations

from typing import Any

import pytest

from flowbuilder import Flow, Script, simulate, validate
from flowbuilder.errors import NodeConfigError


def detect_flow(**params: Any) -> Flow:
    """An outbound-campaign shape: a message for people, another for machines."""
    flow = Flow("td").add("who", "talk_detect", **params).add("bye", "hangup")
    for outcome in ("human", "machine", "unknown"):
        flow.add(outcome, "play", prompt=f"Outcome {outcome}, verdict {{talk_result}}.")
        flow.connect("who", outcome, outcome).connect(outcome, "bye")
    return flow


def test_wire_params(sent, tts) -> None:
    flow = detect_flow(
        prompt="Hello?", silence_ms=1200, min_ms=80, max_ms=3000, analysistime_ms=6000
    )

    t = simulate(flow, direction="outbound")

    assert sent(t)[0] == (
        "play_talk_detect",
        {
            "media_id": tts("Hello?"),
            "silence_ms": 1200,
            "min_ms": 80,
            "max_ms": 3000,
            "analysistime_ms": 6000,
        },
    )
    assert t.heard[0] == "Hello?"


def test_defaults_listen_without_a_prompt(sent) -> None:
    t = simulate(detect_flow(), direction="outbound")

    assert sent(t)[0][1] == {
        "media_id": 0,
        "silence_ms": 800,
        "min_ms": 100,
        "max_ms": 2000,
        "analysistime_ms": 5000,
    }


@pytest.mark.parametrize(
    ("verdict", "outcome"),
    [
        ("HUMAN", "human"),
        ("MACHINE", "machine"),
        ("human", "human"),
        ("AMD_MACHINE", "machine"),
        ("NOTSURE", "unknown"),
        ("", "unknown"),
    ],
)
def test_verdicts(verdict: str, outcome: str) -> None:
    t = simulate(detect_flow(), Script(talk_detect=verdict), direction="outbound")

    assert t.path == ["who", outcome, "bye"]
    assert t.heard == [f"Outcome {outcome}, verdict {verdict}."]


def test_no_variable_keeps_nothing(callr) -> None:
    call = callr(detect_flow(variable=""))
    call.start()

    call.post("MACHINE")

    assert "talk_result" not in call.variables
    assert call.command[1]["media_id"].endswith("Outcome machine, verdict .")


def test_command_error_is_unknown_not_the_error_path(callr) -> None:
    flow = detect_flow()
    flow.add("oops", "play", prompt="Error path.").configure(on_error="oops")
    call = callr(flow)
    call.start()

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.max_ms]")

    assert reply.trace.error is None
    assert reply.trace.path == ("unknown",)
    assert call.variables["talk_result"] == ""


def test_min_must_be_below_max() -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("td").add("who", "talk_detect", min_ms=2000, max_ms=2000)
    assert (caught.value.node_id, caught.value.field) == ("who", "max_ms")


def test_analysis_shorter_than_max_is_a_warning() -> None:
    flow = detect_flow(max_ms=8000, analysistime_ms=4000)

    issues = [(i.severity, i.node_id, i.field) for i in validate(flow)]

    assert issues == [("warning", "who", "analysistime_ms")]


def test_the_verdict_variable_counts_as_set() -> None:
    assert validate(detect_flow()) == []


def test_callee_hangs_up_during_detection() -> None:
    t = simulate(detect_flow(prompt="Hello?"), Script(hangup_after=1), direction="outbound")

    assert (t.status, t.path) == ("caller hung up", ["who"])
