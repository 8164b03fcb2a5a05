"""``send_dtmf``: tones on the wire exactly, digits from variables, bad digits refused."""

from __future__ import annotations

from typing import Any

import pytest

from flowbuilder import Flow, Script, simulate
from flowbuilder.errors import NodeConfigError


def test_wire_params(around, sent) -> None:
    t = simulate(around("send_dtmf", digits="1234#", duration_ms=100, timeout_ms=250))

    assert sent(t)[0] == ("send_dtmf", {"digits": "1234#", "duration_ms": 100, "timeout_ms": 250})
    assert "sent DTMF 1234#" in [e.text for e in t.events if e.kind == "status"]
    assert t.path == ["n", "after", "bye"]


def test_defaults_follow_callr_s_sdk(around, sent) -> None:
    t = simulate(around("send_dtmf", digits="*9"))

    assert sent(t)[0] == ("send_dtmf", {"digits": "*9", "duration_ms": 500, "timeout_ms": 500})


def test_digits_gathered_from_the_caller_are_sent(sent) -> None:
    flow = Flow("dtmf").add("ask", "gather", prompt="Extension?", variable="ext")
    flow.add("send", "send_dtmf", digits="{ext}#").add("bye", "hangup")
    flow.connect("ask", "send", "done").connect("send", "bye")

    t = simulate(flow, press=["204"])

    assert ("send_dtmf", {"digits": "204#", "duration_ms": 500, "timeout_ms": 500}) in sent(t)


@pytest.mark.parametrize("digits", ["", "12a", "1 2", "{ext}x", "{{1}}", "A"])
def test_bad_digits_are_refused(digits: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("d").add("d", "send_dtmf", digits=digits)
    assert (caught.value.node_id, caught.value.field) == ("d", "digits")


@pytest.mark.parametrize("value", ["12ab", "", "1 2"])
def test_a_variable_that_is_not_digits_takes_the_error_path(around, sent, value: Any) -> None:
    t = simulate(around("send_dtmf", digits="{ext}"), variables={"ext": value})

    assert "send_dtmf" not in [name for name, _ in sent(t)]
    assert t.path == ["n", "oops", "bye"]
    errors = [e.text for e in t.events if e.kind == "error"]
    assert errors == [f"send_dtmf: digits '{{ext}}' gave {value!r}, not 0-9, * and #"]


def test_command_error_takes_the_error_path(around, callr) -> None:
    call = callr(around("send_dtmf", digits="1"))
    call.start()

    reply = call.post(error="PROPERTY_VALUE_ERROR [params.digits]")

    assert reply.trace.error == "send_dtmf failed: PROPERTY_VALUE_ERROR [params.digits]"
    assert reply.trace.path == ("oops",)


def test_caller_hangs_up_while_tones_play(around) -> None:
    t = simulate(around("send_dtmf", digits="123456789"), Script(hangup_after=1))

    assert (t.status, t.path) == ("caller hung up", ["n"])
