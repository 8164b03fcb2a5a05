"""The deeper rules of validate(): each flags a flow that is wrong and leaves its near miss alone.

Every flow is built in code, small, and otherwise clean, so each test sees only the rule's own
issues.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flowbuilder.flow import Flow
from flowbuilder.nodes._base import REGISTRY, CommandKind, Context, NodeSpec
from flowbuilder.validate import validate


def messages(flow: Flow) -> list[str]:
    return [str(i) for i in validate(flow)]


def ends(flow: Flow, *sources: str, target: str = "end") -> Flow:
    """Connect each (node, outcome) named "node.outcome" (or "node" for next) to *target*."""
    for source in sources:
        node, _, outcome = source.partition(".")
        flow.connect(node, target, outcome or None)
    return flow


def said(prompt: str) -> Flow:
    return ends(Flow("p").add("hi", "play", prompt=prompt).add("end", "hangup"), "hi")


# -- 8. what kinds declare, rather than their names ----------------------------------------------


class Ask(CommandKind):
    """A kind with tries of its own, registered for this module only."""

    name = "t_lint_ask"
    title = description = "ask"
    static_outcomes = ("answered", "gave_up")
    retry_outcomes = ("gave_up",)

    def command(self, node: NodeSpec, ctx: Context) -> Any:
        raise NotImplementedError


@pytest.fixture
def ask_kind() -> Iterator[None]:
    REGISTRY[Ask.name] = Ask()
    yield
    REGISTRY.pop(Ask.name, None)


@pytest.mark.usefixtures("ask_kind")
def test_retry_outcomes_are_the_kinds_declaration() -> None:
    flow = Flow("a").add("q", Ask.name).add("end", "hangup").connect("q", "end", "answered")
    assert messages(flow) == [
        "warning: q.gave_up: t_lint_ask has no gave_up handling: callers who run out of tries "
        "are cut off; connect 'gave_up'"
    ]


def test_an_unconnected_failure_goes_to_the_error_path() -> None:
    flow = Flow("d").add("desk", "dial", targets=[{"number": "+33123456789"}]).add("end", "hangup")
    ends(flow, "desk.answered", "desk.no_answer", "desk.busy")
    assert messages(flow) == [
        "warning: desk.failed: outcome 'failed' is not connected; the call hangs up there: "
        "connect it"
    ]
    flow.add("oops", "play", prompt="Sorry.").connect("oops", "end").configure(on_error="oops")
    assert messages(flow) == [
        "warning: desk.failed: outcome 'failed' is not connected; the error path (oops) takes "
        "it: connect it to handle it here"
    ]
