"""``wait_for_silence``: wire params exactly, then ``next``."""

from __future__ import annotations

from flowbuilder import Script, simulate


def test_wire_params(around, sent) -> None:
    t = simulate(around("wait_for_silence", silence_ms=2500, iterations=2, timeout=60))

    assert sent(t)[0] == ("wait_for_silence", {"silence_ms": 2500, "iterations": 2, "timeout": 60})
    silence = next(e for e in t.events if e.text == "silence detected")
    assert silence.t >= 5.0  # 2 x 2.5 s of silence
    assert t.path == ["n", "after", "bye"]


def test_defaults(around, sent) -> None:
    t = simulate(around("wait_for_silence"))

    assert sent(t)[0] == ("wait_for_silence", {"silence_ms": 1000, "iterations": 1, "timeout": 30})


def test_timeout_zero_is_allowed(around, sent) -> None:
    assert sent(simulate(around("wait_for_silence", timeout=0)))[0][1]["timeout"] == 0


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("wait_for_silence"))
    call.start()

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.iterations]")

    assert reply.trace.error == "wait_for_silence failed: PROPERTY_VALUE_ERROR [params.iterations]"
    assert reply.trace.path == ("oops",)


def test_caller_hangs_up_while_waiting(around) -> None:
    t = simulate(around("wait_for_silence", silence_ms=5000), Script(hangup_after=1))

    assert (t.status, t.path) == ("caller hung up", ["n"])
