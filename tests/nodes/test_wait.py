"""``wait``: silence for a number of seconds, then ``next``."""

from __future__ import annotations

from flowbuilder import Script, simulate


def _heard_at(t, text: str) -> float:  # type: ignore[no-untyped-def]
    return next(e.t for e in t.events if e.kind == "heard" and e.text == text)


def test_wire_params_and_the_pause(around, sent) -> None:
    t = simulate(around("wait", seconds=7))

    assert sent(t)[0] == ("wait", {"seconds": 7})
    assert "waiting 7s" in [e.text for e in t.events if e.kind == "status"]
    assert _heard_at(t, "After the node.") >= 7
    assert t.path == ["n", "after", "bye"]


def test_default_is_two_seconds(around, sent) -> None:
    assert sent(simulate(around("wait")))[0] == ("wait", {"seconds": 2})


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("wait", seconds=30))
    call.start()
    assert call.command == ("wait", {"seconds": 30})

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.seconds]")

    assert reply.trace.error == "wait failed: PROPERTY_VALUE_ERROR [params.seconds]"
    assert reply.trace.path == ("oops",)


def test_result_is_not_needed(around, callr) -> None:
    # CALLR does not document wait's result: whatever comes back, the flow goes on
    call = callr(around("wait"))
    call.start()

    assert call.post("").trace.path == ("after",)


def test_caller_hangs_up_while_waiting(around) -> None:
    t = simulate(around("wait", seconds=10), Script(hangup_after=1))

    assert (t.status, t.path, t.heard) == ("caller hung up", ["n"], [])
