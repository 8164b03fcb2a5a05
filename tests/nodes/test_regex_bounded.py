"""Regexes in ``branch`` and ``menu`` run in linear time (RE2): no pattern and no caller input can
freeze a call, or the server's loop, and patterns RE2 cannot run are refused by validation."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from flowbuilder import Flow, validate
from flowbuilder.errors import NodeConfigError
from flowbuilder.phone import CallSetup, SimulatedCall
from flowbuilder.server import serve

CATASTROPHIC = r"^(a+)+$"  # exponential on a backtracking engine
_CALLIDS = itertools.count(661_000)


def named_branch(pattern: str) -> Flow:
    rule = {"name": "a_name", "subject": "caller_name", "op": "regex", "value": pattern}
    return (
        Flow("names")
        .add("b", "branch", conditions=[rule])
        .add("match", "play", prompt="matched")
        .add("other", "play", prompt="no match")
        .add("bye", "hangup")
        .connect("b", "match", "a_name")
        .connect("b", "other", "else")
        .connect("match", "bye")
        .connect("other", "bye")
    )


def extension_menu(pattern: str) -> Flow:
    option = {"outcome": "ext", "regex": pattern}
    return Flow("ext").add("m", "menu", prompt="Extension?", options=[option], max_digits=4)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"^(\d)\1$", "uses a backreference (\\1), which cannot run in bounded time"),
        (r"(?P<d>\d)(?P=d)", "uses a named backreference"),
        (r"^(?=9)\d+$", "uses lookaround"),
        (r"^(?!0)\d+$", "uses lookaround"),
        (r"(?<=9)\d", "uses lookaround"),
        (r"(?<!9)\d", "uses lookaround"),
        (r"(unclosed", "does not compile: missing )"),
    ],
)
def test_patterns_that_cannot_run_in_bounded_time_are_refused(pattern: str, words: str) -> None:
    expected = f"regex {pattern!r} {words}"
    for build, node, field in (
        (named_branch, "b", "conditions[0]"),
        (extension_menu, "m", "options[0]"),
    ):
        with pytest.raises(NodeConfigError) as caught:
            build(pattern)
        assert (caught.value.node_id, caught.value.field) == (node, field)
        assert expected in str(caught.value)
        # a saved flow holding it loads, and validation names the node and the field
        data = build("^ok$").to_dict()
        params = data["nodes"][node]["params"]
        (params["conditions"] if node == "b" else params["options"])[0][
            "value" if node == "b" else "regex"
        ] = pattern
        issues = [i for i in validate(Flow.from_dict(data)) if i.severity == "error"]
        assert [(i.node_id, i.field) for i in issues] == [(node, field)]
        assert issues[0].message.startswith(expected)


def test_a_catastrophic_pattern_answers_at_once_on_a_long_input() -> None:
    flow = named_branch(CATASTROPHIC)
    with serve(flow, name="test-regex") as handle, httpx.Client(timeout=10) as client:

        def call(name: str) -> str:
            setup = CallSetup(
                app="4346423A",
                callid=next(_CALLIDS),
                number="+33900000000",
                cli_number="+33612345678",
                cli_name=name,
            )
            body: dict[str, Any] = SimulatedCall(setup).start().callback.to_json()
            answer = client.post(handle.url, json=body).json()
            return str(answer["params"]["media_id"]).split("|", 2)[2]

        hostile = "a" * 255 + "!"  # 2**255 paths for a backtracking engine
        with ThreadPoolExecutor(4) as pool:
            slow = [pool.submit(call, hostile) for _ in range(3)]
            other = pool.submit(call, "aaaa")  # an unrelated call, at the same time
            assert other.result(timeout=10) == "matched"
            assert [f.result(timeout=10) for f in slow] == ["no match"] * 3


def test_menu_regexes_still_route() -> None:
    from flowbuilder import simulate

    flow = extension_menu(r"^9\d{3}$").add("x", "play", prompt="extension {menu_choice}")
    flow.connect("m", "x", "ext")

    assert simulate(flow, press=["9123"]).heard[-1] == "extension 9123"
