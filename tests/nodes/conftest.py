"""Drivers for node tests: play CALLR by hand, one POST at a time, through the real engine.

``simulate()`` answers every command the way a well-behaved phone does; the tests below also
need what simulate cannot produce on demand: a ``command_error`` for a valid command, an odd
``command_result``, a ``HANGUP`` in the middle of a command. :class:`Callr` builds each POST as
CALLR would (all 14 fields, variables echoed, the command and id of the last answer), renders
and parses it with :mod:`flowbuilder.callr.wire`, and hands it to :func:`flowbuilder.engine.step`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flowbuilder import engine
from flowbuilder.callr import commands, wire
from flowbuilder.compiler import compile
from flowbuilder.effect_runner import perform
from flowbuilder.flow import Flow
from flowbuilder.phone import Transcript


class Callr:
    """CALLR's side of one inbound call, driven by the test."""

    def __init__(self, flow: Flow, *, caller: str = "+33612345678") -> None:
        self.program = compile(flow)
        self.config = engine.EngineConfig(secret=b"node-tests-secret")
        self.caller = caller
        self.answer: wire.Answer | None = None
        self.now = 1_767_261_600.0

    def _post(
        self,
        *,
        command: str,
        command_id: int,
        result: str,
        error: str,
        status: str,
        variables: dict[str, Any],
    ) -> engine.Reply:
        callback = wire.Callback(
            app="4346423A",
            callid=421889,
            request_hash=None,
            cli_name="",
            cli_number=self.caller,
            date_started="2026-01-01 10:00:00",
            number="+33912345678",
            command=command,
            command_id=command_id,
            command_result=result,
            command_error=error,
            call_status=status,
            cdr_field="",
            variables=variables,
        )
        parsed = wire.parse_callback(wire.render_callback(callback))
        self.now += 1
        outcome = engine.step(self.program, parsed, config=self.config, now=self.now)
        reply = engine.run_effects(outcome, perform)
        self.answer = wire.parse_answer(reply.body) if reply.answer is not None else None
        return reply

    def start(self, variables: dict[str, Any] | None = None) -> engine.Reply:
        """The call's first POST."""
        return self._post(
            command="", command_id=0, result="", error="", status=wire.UP, variables=variables or {}
        )

    def post(self, result: str = "", *, error: str = "", status: str = wire.UP) -> engine.Reply:
        """The last command finished with *result* (or *error*); the call is now *status*."""
        assert self.answer is not None, "no command is outstanding"
        return self._post(
            command=self.answer.command.name,
            command_id=self.answer.command_id,
            result=result,
            error=error,
            status=status,
            variables=dict(self.answer.variables),
        )

    @property
    def command(self) -> tuple[str, dict[str, Any]]:
        """The outstanding command as CALLR received it: (name, params)."""
        assert self.answer is not None, "the last reply was an empty body"
        return self.answer.command.name, self.answer.command.params

    @property
    def variables(self) -> dict[str, Any]:
        """The user variables CALLR now holds (the engine's signed state left out)."""
        assert self.answer is not None
        return {k: v for k, v in self.answer.variables.items() if k != engine.STATE_KEY}


@pytest.fixture
def callr() -> Callable[..., Callr]:
    return Callr


def sent(transcript: Transcript) -> list[tuple[str, dict[str, Any]]]:
    """Every command the flow answered with, as (name, params) exactly as on the wire."""
    return [
        (e["answer"]["command"], e["answer"]["params"])
        for e in transcript.exchanges
        if e["answer"] is not None
    ]


@pytest.fixture(name="sent")
def sent_fixture() -> Callable[[Transcript], list[tuple[str, dict[str, Any]]]]:
    return sent


def tts(text: str, voice: str = "TTS_EN-GB_SERENA") -> str:
    return commands.tts(text, voice)


@pytest.fixture(name="tts")
def tts_fixture() -> Callable[..., str]:
    return tts


AFTER = "After the node."
OOPS = "Something went wrong."


def around(kind: str, **params: Any) -> Flow:
    """Node ``n`` of *kind*; every outcome leads to ``after`` (plays AFTER) then ``bye``; the
    flow's error path ``oops`` plays OOPS then hangs up."""
    flow = Flow("node_test").add("n", kind, **params)
    flow.add("after", "play", prompt=AFTER).add("bye", "hangup").connect("after", "bye")
    flow.add("oops", "play", prompt=OOPS).connect("oops", "bye")
    flow.configure(on_error="oops")
    for outcome in flow.outcomes("n"):
        flow.connect("n", "after", outcome)
    return flow


@pytest.fixture(name="around")
def around_fixture() -> Callable[..., Flow]:
    return around
