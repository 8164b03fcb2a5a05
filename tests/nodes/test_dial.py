"""``dial``: each dial status picks an outcome, targets are tried in order, the CLI is rendered."""

from __future__ import annotations

from typing import Any

import pytest

from flowbuilder import Flow, Script, simulate
from flowbuilder.callr import commands
from flowbuilder.errors import NodeConfigError

SALES = "+33123456789"
BACKUP = "+33198765432"


def dial_flow(**params: Any) -> Flow:
    """A dial whose every outcome plays its own name, then hangs up."""
    params.setdefault("targets", [{"number": SALES, "timeout": 20}])
    flow = Flow("dial_test").add("d", "dial", **params).add("bye", "hangup")
    for outcome in flow.outcomes("d"):
        flow.add(f"to_{outcome}", "play", prompt=f"Outcome {outcome}.")
        flow.connect("d", f"to_{outcome}", outcome).connect(f"to_{outcome}", "bye")
    return flow


def test_wire_params(sent, tts) -> None:
    flow = dial_flow(
        targets=[{"number": SALES, "timeout": 20}, {"number": BACKUP}],
        ringtone="MUSIC",
        whisper="Call from the hotline.",
        cdr_field="sales42",
    )

    t = simulate(flow)

    assert sent(t)[0] == (
        "dialout",
        {
            "targets": [{"number": SALES, "timeout": 20}, {"number": BACKUP, "timeout": 30}],
            "cli": "BLOCKED",
            "ringtone": "MUSIC",
            "whisper": tts("Call from the hotline."),
            "cdr_field": "sales42",
        },
    )
    assert "Call from the hotline." not in t.heard  # the whisper is for the callee


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("NOANSWER", "no_answer"),
        ("CANCEL", "no_answer"),
        ("BUSY", "busy"),
        ("CONGESTION", "failed"),
        ("CHANUNAVAIL", "failed"),
    ],
)
def test_each_unanswered_status_takes_its_outcome(status: str, outcome: str) -> None:
    t = simulate(dial_flow(), Script(dial=[status]))

    assert t.dialed == [(SALES, status)]
    assert t.path == ["d", f"to_{outcome}", "bye"]
    assert t.heard == [f"Outcome {outcome}."]


def test_answered_bridges_the_call_until_it_ends() -> None:
    t = simulate(dial_flow(), Script(dial=["ANSWER"], talk_s=42))

    assert t.dialed == [(SALES, "ANSWER")]
    assert t.path == ["d"]  # after a bridge the call ends when either side hangs up
    assert (t.status, t.reason) == ("completed", "bridged")
    assert t.duration_s >= 42


@pytest.mark.parametrize("status", commands.DIAL_STATUSES)
def test_status_is_kept_in_dial_status(callr, status: str) -> None:
    call = callr(dial_flow())
    call.start()

    call.post(status)

    assert call.variables["dial_status"] == status
    expected = {"ANSWER": "answered", "NOANSWER": "no_answer", "CANCEL": "no_answer"}
    expected |= {"BUSY": "busy", "CONGESTION": "failed", "CHANUNAVAIL": "failed"}
    assert call.command[1]["media_id"].endswith(f"Outcome {expected[status]}.")


def test_an_unknown_result_is_a_failure(callr) -> None:
    call = callr(dial_flow())
    call.start()

    call.post("SOMETHING_NEW")

    assert call.command[1]["media_id"].endswith("Outcome failed.")
    assert call.variables["dial_status"] == "SOMETHING_NEW"


def test_targets_are_called_one_after_another() -> None:
    flow = dial_flow(targets=[{"number": SALES, "timeout": 10}, {"number": BACKUP, "timeout": 15}])

    t = simulate(flow, Script(dial=["NOANSWER", "BUSY"]))

    assert t.dialed == [(SALES, "NOANSWER"), (BACKUP, "BUSY")]
    assert t.path == ["d", "to_busy", "bye"]

    t = simulate(flow, Script(dial=["NOANSWER", "ANSWER"]))
    assert t.dialed == [(SALES, "NOANSWER"), (BACKUP, "ANSWER")]
    assert t.reason == "bridged"


def test_command_error_is_the_failed_outcome_not_the_error_path(callr) -> None:
    flow = dial_flow()
    flow.add("oops", "play", prompt="Error path.").configure(on_error="oops")
    call = callr(flow)
    call.start()

    reply = call.post(error="PROPERTY_VALUE_ERROR [options.cli]")

    assert reply.trace.error is None
    assert reply.trace.path == ("to_failed",)


def test_caller_cli_is_passed_through(sent) -> None:
    flow = dial_flow(cli="{caller}")

    assert sent(simulate(flow, caller="+33611111111"))[0][1]["cli"] == "+33611111111"
    # an anonymous caller has no number to show: BLOCKED, never an empty cli
    assert sent(simulate(flow, caller=""))[0][1]["cli"] == "BLOCKED"


def test_target_number_from_a_variable(sent) -> None:
    flow = dial_flow(targets=[{"number": "{agent}", "timeout": 20}])

    t = simulate(flow, variables={"agent": BACKUP}, script=Script(dial=["BUSY"]))

    assert sent(t)[0][1]["targets"] == [{"number": BACKUP, "timeout": 20}]
    assert t.dialed == [(BACKUP, "BUSY")]


def test_a_variable_that_is_not_a_number_gets_callr_s_error(sent) -> None:
    flow = dial_flow(targets=[{"number": "{agent}", "timeout": 20}])

    t = simulate(flow, variables={"agent": "nobody"})

    # the sandbox refuses it as CALLR does; dial turns the command error into ``failed``
    assert t.path == ["d", "to_failed", "bye"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"targets": []}, "targets"),
        ({"targets": [{"number": "0123456789"}]}, "targets[0]"),
        ({"targets": [{"number": SALES, "timeout": 4}]}, "targets[0]"),
        ({"targets": [{"number": SALES, "timeout": 301}]}, "targets[0]"),
        ({"targets": [{"number": SALES, "ring": 30}]}, "targets[0]"),
        ({"cli": "0123"}, "cli"),
        ({"cdr_field": "no spaces allowed"}, "cdr_field"),
        ({"ringtone": "BEEP"}, "ringtone"),
    ],
)
def test_bad_params_are_refused(params: dict[str, Any], field: str) -> None:
    params = {"targets": [{"number": SALES}], **params}
    with pytest.raises(NodeConfigError) as caught:
        Flow("d").add("d", "dial", **params)
    assert (caught.value.node_id, caught.value.field) == ("d", field)


def test_caller_hangs_up_while_it_rings() -> None:
    t = simulate(dial_flow(), Script(dial=["NOANSWER"], hangup_after=1))

    assert t.status == "caller hung up"
    assert t.path == ["d"]
    assert t.heard == []
