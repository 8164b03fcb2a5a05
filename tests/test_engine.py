"""The engine against CALLR's REAL-TIME protocol, one POST at a time.

Each POST is built as CALLR builds it (all 14 fields, the last answer's command and id, the
variables it was sent), rendered and parsed with :mod:`flowbuilder.callr.wire`, and answered by
:func:`flowbuilder.engine.step`; each answer is rendered to the bytes CALLR would receive and
parsed back. Node kinds that misbehave on purpose are registered for this module only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowbuilder import engine
from flowbuilder.callr import commands, wire
from flowbuilder.compiler import Program, compile
from flowbuilder.effects import EffectResult, PythonCall
from flowbuilder.errors import CallbackError
from flowbuilder.flow import Flow
from flowbuilder.nodes._base import (
    DEFAULT_VOICE,
    REGISTRY,
    Action,
    CommandKind,
    Context,
    Go,
    NodeKind,
    NodeSpec,
    Perform,
    Result,
)
from flowbuilder.phone import CallSetup

SECRET = b"engine-tests-secret"
CONFIG = engine.EngineConfig(secret=SECRET)
FALLBACK_TEXT = CONFIG.fallback_prompt


# -- kinds that misbehave, registered for this module only --------------------------------------


class Boom(CommandKind):
    """Raises when entered (``where="start"``) or when its command comes back."""

    name = "t_engine_boom"
    title = description = "boom"
    static_outcomes = ("next",)

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        if node.params.get("where", "start") == "start":
            raise RuntimeError("boom at start")
        return commands.build("play", media_id="TTS|V|about to fail")

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        raise KeyError("boom at resume")

    def check(self, params: Any) -> list[tuple[str, str]]:
        return []


class Junk(CommandKind):
    """Stores values JSON cannot carry, writes the reserved key, then plays."""

    name = "t_engine_junk"
    title = description = "junk"

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        ctx.variables["when"] = datetime(2026, 1, 1, 10, 0)
        ctx.variables["tags"] = {"b", "a"} if node.params.get("set") else ("a", "b")
        ctx.variables[engine.STATE_KEY] = "forged by a node"
        return commands.build("play", media_id="TTS|V|junk stored")

    def check(self, params: Any) -> list[tuple[str, str]]:
        return []


class Spy(CommandKind):
    """Records the variables a node sees, then plays."""

    name = "t_engine_spy"
    title = description = "spy"
    seen: ClassVar[list[dict[str, Any]]] = []

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        Spy.seen.append(dict(ctx.variables))
        return commands.build("play", media_id="TTS|V|spied")


class Effectful(NodeKind):
    """Asks for a Python call, then picks ``next`` on success and ``failed`` otherwise."""

    name = "t_engine_effect"
    title = description = "effect"
    static_outcomes = ("next", "failed")

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        ctx.local["asked"] = 1
        return Perform(PythonCall("tests:none", {}, dict(ctx.variables), 500))

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if isinstance(result, EffectResult) and result.ok:
            ctx.variables["effect_data"] = result.data
            return Go("next")
        ctx.variables["effect_error"] = getattr(result, "error", "")
        return Go("failed")


class Weird(NodeKind):
    """Returns something that is not an action."""

    name = "t_engine_weird"
    title = description = "weird"

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        return "play something"  # type: ignore[return-value]


TEST_KINDS = (Boom(), Junk(), Spy(), Effectful(), Weird())


@pytest.fixture(autouse=True, scope="module")
def _test_kinds() -> Iterator[None]:
    for kind in TEST_KINDS:
        REGISTRY[kind.name] = kind
    yield
    for kind in TEST_KINDS:
        REGISTRY.pop(kind.name, None)


# -- CALLR's side ----------------------------------------------------------------------------


SETUP = CallSetup(
    app="4346423A",
    callid=421889,
    number="+33912345678",
    cli_number="+33612345678",
    date_started="2026-01-01 10:00:00",
)


def callback(**changes: Any) -> wire.Callback:
    return replace(SETUP.callback(), **changes)


class Call:
    """One call as CALLR runs it: every POST and answer goes through the wire as bytes."""

    def __init__(
        self,
        program: Program,
        *,
        config: engine.EngineConfig = CONFIG,
        versions: dict[str, Program] | None = None,
    ) -> None:
        self.program = program
        self.config = config
        self.versions = versions
        self.answer: wire.Answer | None = None
        self.replies: list[engine.Reply] = []

    def send(self, cb: wire.Callback) -> engine.Reply:
        parsed = wire.parse_callback(wire.render_callback(cb))
        outcome = engine.step(
            self.program, parsed, config=self.config, now=1_767_261_600.0, versions=self.versions
        )
        assert isinstance(outcome, engine.Reply)
        body = outcome.body
        if outcome.answer is None:
            assert body == b""
            self.answer = None
        else:
            self.answer = wire.parse_answer(body)  # what CALLR receives
            assert json.loads(body) == json.loads(wire.render_answer(outcome.answer))
        self.replies.append(outcome)
        return outcome

    def start(self, variables: dict[str, Any] | None = None, **changes: Any) -> engine.Reply:
        return self.send(callback(variables=variables or {}, **changes))

    def post(
        self, result: str = "0", *, error: str = "", status: str = wire.UP, **changes: Any
    ) -> engine.Reply:
        assert self.answer is not None, "no command is outstanding"
        fields: dict[str, Any] = {
            "command": self.answer.command.name,
            "command_id": self.answer.command_id,
            "command_result": result,
            "command_error": error,
            "call_status": status,
            "variables": self.answer.variables,
        }
        fields.update(changes)
        return self.send(callback(**fields))

    @property
    def command(self) -> str | None:
        return self.answer.command.name if self.answer else None

    @property
    def heard(self) -> str:
        assert self.answer is not None
        return commands.describe_media(self.answer.command.params.get("media_id"))

    @property
    def user_variables(self) -> dict[str, Any]:
        assert self.answer is not None
        return {k: v for k, v in self.answer.variables.items() if k != engine.STATE_KEY}


# -- flows -----------------------------------------------------------------------------------


def ivr(*, on_error: bool = False) -> Flow:
    flow = Flow("ivr")
    flow.add("hello", "play", prompt="Hello {caller}")
    flow.add(
        "menu",
        "menu",
        prompt="Press 1 for sales",
        options=[{"outcome": "sales", "digits": "1"}],
        max_failures=2,
        max_timeouts=1,
    )
    flow.add("sales", "play", prompt="Sales, you pressed {menu_choice}")
    flow.add("bye", "play", prompt="Goodbye")
    flow.add("end", "hangup")
    flow.connect("hello", "menu").connect("menu", "sales", "sales")
    flow.connect("menu", "bye", "invalid").connect("menu", "bye", "timeout")
    flow.connect("sales", "end").connect("bye", "end")
    if on_error:
        flow.add("oops", "play", prompt="We hit a problem: {last_error}")
        flow.connect("oops", "end")
        flow.configure(on_error="oops")
    return flow


def with_error_path(flow: Flow, prompt: str = "Error path") -> Flow:
    flow.add("oops", "play", prompt=prompt).add("oops_end", "hangup").connect("oops", "oops_end")
    return flow.configure(on_error="oops")


# -- the first POST and the ids ----------------------------------------------------------------


@pytest.mark.parametrize("status", [wire.UP, wire.INCOMING_CALL])
def test_first_post_starts_at_the_entry_with_command_id_1(status: str) -> None:
    call = Call(compile(ivr()))
    reply = call.start(call_status=status)
    assert call.command == "play"
    assert call.heard == "Hello +33612345678"
    assert call.answer is not None
    assert call.answer.command_id == 1
    assert reply.trace.path == ("hello",)
    assert reply.trace.node == "hello"
    assert reply.trace.version == call.program.version
    assert reply.trace.error is None
    body = json.loads(reply.body)
    assert list(body) == ["command", "command_id", "params", "variables"]
    assert isinstance(body["params"], dict)
    assert isinstance(body["variables"], dict)


def test_command_ids_are_integers_one_above_the_callbacks() -> None:
    call = Call(compile(ivr()))
    call.start()
    ids = [call.answer.command_id if call.answer else None]
    for result in ("0", "1", "0"):
        call.post(result)
        ids.append(call.answer.command_id if call.answer else None)
    assert ids == [1, 2, 3, 4]
    assert all(type(i) is int for i in ids)
    assert call.command == "hangup"


def test_a_whole_call_hears_the_flow_and_ends_with_an_empty_body() -> None:
    call = Call(compile(ivr()))
    call.start()
    call.post("0")
    assert call.command == "read"
    assert call.heard == "Press 1 for sales"
    call.post("1")
    assert call.heard == "Sales, you pressed 1"
    call.post("0")
    assert call.command == "hangup"
    reply = call.post("", status=wire.HANGUP)
    assert reply.answer is None
    assert reply.body == b""
    assert reply.trace.ended
    assert reply.trace.node == "end"


# -- command_result versus command_error -------------------------------------------------------


def test_command_result_is_read_only_when_there_is_no_error() -> None:
    call = Call(compile(ivr(on_error=True)))
    call.start()
    call.post("0")
    reply = call.post("1", error="MEDIA_NOT_FOUND")  # result present, but the command failed
    assert reply.trace.error is not None
    assert "MEDIA_NOT_FOUND" in reply.trace.error
    assert call.heard.startswith("We hit a problem: ")
    assert "MEDIA_NOT_FOUND" in call.heard
    assert "menu_choice" not in call.user_variables
    assert "MEDIA_NOT_FOUND" in call.user_variables[engine.ERROR_VARIABLE]


def test_a_command_error_without_an_error_path_apologises_then_hangs_up() -> None:
    call = Call(compile(ivr()))
    call.start()
    reply = call.post("", error="TTS_FAILED")
    assert reply.trace.error is not None
    assert "TTS_FAILED" in reply.trace.error
    assert call.command == "play"
    assert call.heard == FALLBACK_TEXT
    assert reply.trace.node is None
    call.post("0")
    assert call.command == "hangup"
    assert call.post("", status=wire.HANGUP).body == b""


# -- every call_status ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(wire.NEVER_ANSWERED_STATUSES))
def test_a_never_answered_call_gets_an_empty_body(status: str) -> None:
    call = Call(compile(ivr()))
    reply = call.start(call_status=status, request_hash="4260XMAQ")
    assert reply.answer is None
    assert reply.body == b""
    assert reply.trace.ended
    assert reply.trace.node is None
    assert reply.trace.path == ()


@pytest.mark.parametrize("status", sorted(wire.ENDED_STATUSES))
def test_an_ended_call_mid_flow_gets_an_empty_body_and_runs_nothing(status: str) -> None:
    call = Call(compile(ivr()))
    call.start()
    call.post("0")
    reply = call.post("1", status=status)  # the read's result arrives with the hangup
    assert reply.body == b""
    assert reply.trace.ended
    assert reply.trace.node == "menu"
    assert reply.trace.path == ()


def test_hangup_with_a_forged_state_still_gets_an_empty_body() -> None:
    call = Call(compile(ivr()))
    reply = call.start(command="play", command_id=4, call_status=wire.HANGUP, variables={"_fb": 1})
    assert reply.body == b""
    assert reply.trace.ended
    assert reply.trace.node is None


def test_every_documented_status_is_handled() -> None:
    assert {
        "INCOMING_CALL",
        "UP",
        "HANGUP",
        "NOANSWER",
        "BUSY",
        "CONGESTION",
        "REJECTED",
    } == wire.CALL_STATUSES


# -- variables: echoed, extended, the state kept apart -------------------------------------------


def test_variables_from_the_first_post_are_echoed_and_extended_all_call_long() -> None:
    call = Call(compile(ivr()))
    call.start({"crm_id": "C-42", "lang": "fr", "nested": {"a": [1, 2]}})
    assert call.user_variables == {"crm_id": "C-42", "lang": "fr", "nested": {"a": [1, 2]}}
    call.post("0")
    call.post("1")
    assert call.user_variables == {
        "crm_id": "C-42",
        "lang": "fr",
        "nested": {"a": [1, 2]},
        "menu_choice": "1",
    }
    call.post("0")
    assert call.command == "hangup"
    assert call.user_variables["crm_id"] == "C-42"


def test_a_compiled_command_answers_like_the_node_code_and_a_template_is_filled_per_call() -> None:
    flow = Flow("greet").add("hello", "play", prompt="Hello {name}")
    flow.add("bye", "play", prompt="Bye")
    flow.add("end", "hangup").connect("hello", "bye").connect("bye", "end")
    program = compile(flow)
    for name in ("Ada", "Zoë"):
        call = Call(program)
        call.start({"name": name})
        assert call.heard == f"Hello {name}"
        call.post("0")
        assert call.answer is not None
        assert call.answer.command == commands.build("play", media_id=f"TTS|{DEFAULT_VOICE}|Bye")
        assert call.answer.command_id == 2
        call.post("0")
        assert call.command == "hangup"


def test_the_state_is_one_reserved_key_and_nodes_never_see_it() -> None:
    flow = Flow("spy").add("hello", "play", prompt="Hi").add("spy", "t_engine_spy")
    flow.add("end", "hangup").connect("hello", "spy").connect("spy", "end")
    Spy.seen.clear()
    call = Call(compile(flow))
    call.start({"mine": "1", engine.STATE_KEY: "smuggled in the first POST"})
    assert call.answer is not None
    assert set(call.answer.variables) == {"mine", engine.STATE_KEY}
    call.post("0")
    assert Spy.seen == [{"mine": "1"}]
    assert set(call.answer.variables) == {"mine", engine.STATE_KEY}


def test_values_json_cannot_carry_and_a_node_writing_the_state_key_keep_the_call_alive() -> None:
    flow = Flow("junk").add("junk", "t_engine_junk", set=True).add("bye", "play", prompt="Bye")
    flow.add("end", "hangup").connect("junk", "bye").connect("bye", "end")
    call = Call(compile(flow))
    reply = call.start()
    assert call.heard == "junk stored"
    assert call.user_variables["when"] == "2026-01-01 10:00:00"
    assert reply.trace.error is None
    call.post("0")  # the signature made over the stored text still verifies
    assert call.heard == "Bye"
    assert call.replies[-1].trace.error is None


def test_tuples_round_trip_as_lists_without_breaking_the_signature() -> None:
    flow = Flow("junk").add("junk", "t_engine_junk").add("bye", "play", prompt="Bye")
    flow.add("end", "hangup").connect("junk", "bye").connect("bye", "end")
    call = Call(compile(flow))
    call.start()
    assert call.user_variables["tags"] == ["a", "b"]
    call.post("0")
    assert call.heard == "Bye"
    assert call.replies[-1].trace.error is None


def test_step_does_not_change_the_callback_it_reads() -> None:
    program = compile(ivr())
    first = engine.step(program, callback(), config=CONFIG, now=0.0)
    assert isinstance(first, engine.Reply)
    assert first.answer is not None
    played = callback(command="play", command_id=1, variables=first.answer.variables)
    snapshot = json.dumps(played.variables, sort_keys=True)
    a = engine.step(program, played, config=CONFIG, now=1.0)
    b = engine.step(program, played, config=CONFIG, now=1.0)
    assert json.dumps(played.variables, sort_keys=True) == snapshot
    assert isinstance(a, engine.Reply)
    assert isinstance(b, engine.Reply)
    assert a.body == b.body
    assert a.trace.error is None


# -- forged, stale and foreign state -------------------------------------------------------------


def test_a_signature_made_with_another_secret_takes_the_fallback_and_keeps_variables() -> None:
    program = compile(ivr(on_error=True))
    theirs = Call(program, config=engine.EngineConfig(secret=b"another server's secret"))
    theirs.start({"crm_id": "C-42"})
    ours = Call(program)
    ours.answer = theirs.answer
    reply = ours.post("0")
    assert reply.trace.error is not None
    assert "signature" in reply.trace.error
    assert ours.heard == FALLBACK_TEXT  # not the error path: the position cannot be trusted
    assert ours.user_variables == {"crm_id": "C-42"}
    ours.post("0")
    assert ours.command == "hangup"


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (lambda v: v.pop(engine.STATE_KEY), "missing"),
        (lambda v: v.__setitem__(engine.STATE_KEY, "x"), "missing"),
        (lambda v: v[engine.STATE_KEY].__setitem__("s", []), "malformed"),
        (lambda v: v[engine.STATE_KEY].__setitem__("h", 7), "malformed"),
        (lambda v: v[engine.STATE_KEY]["s"].__setitem__("n", "sales"), "signature"),
        (lambda v: v.__setitem__("menu_choice", "1"), "signature"),
        (lambda v: v.__setitem__("score", float("nan")), "signature"),
    ],
)
def test_a_tampered_or_missing_state_takes_the_safe_fallback(tamper: Any, words: str) -> None:
    call = Call(compile(ivr(on_error=True)))
    call.start({"crm_id": "C-42"})
    assert call.answer is not None
    variables = json.loads(json.dumps(call.answer.variables))
    tamper(variables)
    cb = callback(command="play", command_id=1, variables=variables)
    reply = engine.step(call.program, cb, config=CONFIG, now=0.0)
    assert isinstance(reply, engine.Reply)
    assert reply.answer is not None
    assert reply.trace.error is not None
    assert words in reply.trace.error
    assert commands.describe_media(reply.answer.command.params["media_id"]) == FALLBACK_TEXT
    assert reply.answer.variables["crm_id"] == "C-42"  # what CALLR sent is not lost
    json.loads(reply.body)  # NaN or not, the answer is strict JSON


def test_a_stale_command_id_takes_the_fallback() -> None:
    call = Call(compile(ivr()))
    call.start()
    reply = call.post("0", command_id=7)
    assert reply.trace.error == "command_id 7 does not match the command sent (1)"
    assert call.heard == FALLBACK_TEXT


def test_a_retried_post_gets_the_same_answer() -> None:
    """The engine keeps nothing between POSTs: a POST CALLR sends twice is answered twice alike
    (deduplicating retries, if wanted, is the server's job: callid + command_id)."""
    call = Call(compile(ivr()))
    call.start()
    call.post("0")
    asked = call.answer
    first = call.post("1")
    call.answer = asked
    again = call.post("1")
    assert again.body == first.body
    assert again.trace == first.trace


def test_a_live_post_after_the_fallback_or_the_flows_end_hangs_up() -> None:
    flow = Flow("open").add("hello", "play", prompt="Hi")  # next is not connected
    call = Call(compile(flow))
    call.start()
    reply = call.post("0")
    assert call.command == "hangup"
    assert reply.trace.node is None
    assert reply.trace.warning == "hello: outcome 'next' is not connected; hanging up"
    call.post("")  # CALLR still says UP
    assert call.command == "hangup"


def test_a_hangup_node_asked_again_hangs_up_again() -> None:
    call = Call(compile(ivr()))
    call.start()
    call.post("0")
    call.post("")  # silence: max_timeouts=1 -> bye
    assert call.heard == "Goodbye"
    call.post("0")
    assert call.command == "hangup"
    reply = call.post("")  # still UP after the hangup command
    assert call.command == "hangup"
    assert reply.trace.error is None


# -- versions: hot reload --------------------------------------------------------------------


def test_a_call_started_on_v1_finishes_on_v1_after_a_reload() -> None:
    v1 = compile(ivr())
    flow2 = ivr()
    flow2.set_params("sales", prompt="New sales prompt")
    v2 = compile(flow2)
    assert v1.version != v2.version
    call = Call(v1)
    call.start()
    call.post("0")
    call.program, call.versions = v2, {v1.version: v1}  # the server now serves v2
    reply = call.post("1")
    assert call.heard == "Sales, you pressed 1"
    assert reply.trace.version == v1.version
    fresh = Call(v2)
    fresh.start()
    fresh.post("0")
    fresh.post("1")
    assert fresh.heard == "New sales prompt"


def test_an_unknown_version_takes_the_error_path() -> None:
    v1 = compile(ivr())
    v2 = compile(with_error_path(ivr(), "We changed the menu, sorry"))
    call = Call(v1)
    call.start()
    call.program = v2  # reloaded, and v1 was not kept
    reply = call.post("0")
    assert reply.trace.error == f"unknown flow version {v1.version!r}"
    assert call.heard == "We changed the menu, sorry"
    assert reply.trace.version == v2.version
    assert reply.trace.path == ("oops",)


def test_an_unknown_version_without_an_error_path_apologises() -> None:
    call = Call(compile(ivr()))
    call.start()
    call.program = compile(Flow("other").add("x", "play", prompt="X"))
    call.post("0")
    assert call.heard == FALLBACK_TEXT


# -- node code that fails ------------------------------------------------------------------------


def test_an_exception_when_a_node_starts_takes_the_error_path() -> None:
    flow = Flow("boom").add("hello", "play", prompt="Hi").add("boom", "t_engine_boom")
    flow.add("end", "hangup").connect("hello", "boom").connect("boom", "end")
    call = Call(compile(with_error_path(flow)))
    call.start()
    reply = call.post("0")
    assert reply.trace.error == "boom: RuntimeError: boom at start"
    assert reply.trace.path == ("boom", "oops")
    assert call.heard == "Error path"
    assert call.user_variables[engine.ERROR_VARIABLE] == "boom: RuntimeError: boom at start"


def test_an_exception_when_a_node_resumes_takes_the_error_path() -> None:
    flow = Flow("boom").add("boom", "t_engine_boom", where="resume").add("end", "hangup")
    flow.connect("boom", "end")
    call = Call(compile(with_error_path(flow)))
    call.start()
    assert call.heard == "about to fail"
    reply = call.post("0")
    assert reply.trace.error == "boom: KeyError: 'boom at resume'"
    assert call.heard == "Error path"


def test_the_error_path_failing_too_ends_in_the_fallback() -> None:
    flow = Flow("boom").add("hello", "play", prompt="Hi").add("boom", "t_engine_boom")
    flow.connect("hello", "boom").configure(on_error="boom")  # the error path itself fails
    call = Call(compile(flow))
    call.start()
    reply = call.post("0")
    assert reply.trace.error == (
        "boom: RuntimeError: boom at start; then boom: RuntimeError: boom at start"
    )
    assert call.heard == FALLBACK_TEXT
    call.post("0")
    assert call.command == "hangup"


def test_the_error_path_is_taken_once_per_call() -> None:
    flow = Flow("twice").add("a", "play", prompt="A").add("b", "play", prompt="B")
    flow.add("end", "hangup").connect("a", "b").connect("b", "end")
    flow.add("oops", "play", prompt="Oops").connect("oops", "b").configure(on_error="oops")
    call = Call(compile(flow))
    call.start()
    call.post("", error="FAILED")  # a fails: error path
    assert call.heard == "Oops"
    call.post("0")
    assert call.heard == "B"
    call.post("", error="FAILED AGAIN")  # b fails after the error path ran: fallback
    assert call.heard == FALLBACK_TEXT


def test_node_code_returning_a_non_action_takes_the_error_path() -> None:
    flow = with_error_path(Flow("weird").add("weird", "t_engine_weird"))
    call = Call(compile(flow))
    reply = call.start()
    assert reply.trace.error == "weird: node code returned str"
    assert call.heard == "Error path"


def test_a_kind_missing_at_run_time_takes_the_error_path() -> None:
    flow = with_error_path(Flow("gone").add("x", "t_engine_spy"))
    program = compile(flow)
    spy = REGISTRY.pop("t_engine_spy")
    try:
        call = Call(program)
        reply = call.start()
    finally:
        REGISTRY[spy.name] = spy
    assert reply.trace.error == "x: node kind 't_engine_spy' is not registered"
    assert call.heard == "Error path"


def test_a_custom_fallback_prompt_and_an_empty_one() -> None:
    program = compile(Flow("boom").add("boom", "t_engine_boom"))
    config = engine.EngineConfig(secret=SECRET, fallback_prompt="Désolé, au revoir.")
    call = Call(program, config=config)
    call.start()
    assert call.heard == "Désolé, au revoir."
    assert "Désolé".encode() in call.replies[-1].body  # UTF-8, not \\u escapes
    call = Call(program, config=engine.EngineConfig(secret=SECRET, fallback_prompt=""))
    call.start()
    assert call.command == "hangup"


# -- runaway flows -------------------------------------------------------------------------------


def test_too_many_steps_without_waiting_end_in_the_fallback() -> None:
    flow = Flow("chain")
    for i in range(6):
        flow.add(f"s{i}", "set", values={"n": i})
        if i:
            flow.connect(f"s{i - 1}", f"s{i}")
    flow.add("end", "hangup").connect("s5", "end")
    config = engine.EngineConfig(secret=SECRET, max_spin=4)
    call = Call(compile(flow), config=config)
    reply = call.start()
    assert reply.trace.error == "5 steps without waiting on the caller (an endless loop?)"
    assert reply.trace.path == ("s0", "s1", "s2", "s3", "s4")
    assert call.heard == FALLBACK_TEXT
    call = Call(compile(flow), config=engine.EngineConfig(secret=SECRET, max_spin=7))
    call.start()
    assert call.command == "hangup"
    assert call.replies[-1].trace.error is None


def test_too_many_steps_in_one_call_end_it() -> None:
    flow = Flow("loop").add("ask", "menu", prompt="Press 1 to loop", options=[{"digits": "1"}])
    flow.add("again", "play", prompt="Again").connect("ask", "again", "1")
    flow.connect("again", "ask").add("end", "hangup")
    flow.connect("ask", "end", "invalid").connect("ask", "end", "timeout")
    call = Call(compile(flow), config=engine.EngineConfig(secret=SECRET, max_steps=5))
    call.start()
    for _ in range(2):
        call.post("1")
        call.post("0")
    assert call.heard == "Press 1 to loop"
    reply = call.post("1")  # the 6th node entry
    assert reply.trace.error is not None
    assert reply.trace.error.startswith("the call ran more than 5 steps")
    assert call.heard == FALLBACK_TEXT


# -- subflows --------------------------------------------------------------------------------


def test_the_subflow_stack_rides_in_the_state_across_posts() -> None:
    inner = Flow("inner").add("in_hi", "play", prompt="Inner")
    middle = Flow("middle").add("m_hi", "play", prompt="Middle").add("go", "subflow", flow="inner")
    middle.add("m_bye", "play", prompt="Middle again")
    middle.connect("m_hi", "go").connect("go", "m_bye")
    main = Flow("main").add("go", "subflow", flow="middle").add("bye", "play", prompt="Main")
    main.add("end", "hangup").connect("go", "bye").connect("bye", "end")
    program = compile(main, subflows={"middle": middle, "inner": inner})
    call = Call(program)
    reply = call.start()
    assert call.heard == "Middle"
    assert reply.trace.path == ("go", "middle/m_hi")
    assert reply.trace.node == "middle/m_hi"
    reply = call.post("0")
    assert call.heard == "Inner"
    assert reply.trace.path == ("middle/go", "inner/in_hi")
    reply = call.post("0")
    assert call.heard == "Middle again"
    assert reply.trace.path == ("middle/m_bye",)
    reply = call.post("0")
    assert call.heard == "Main"
    assert reply.trace.path == ("bye",)
    call.post("0")
    assert call.command == "hangup"


def test_the_error_path_leaves_the_subflow() -> None:
    sub = Flow("sub").add("s_hi", "play", prompt="In sub").add("s_bye", "play", prompt="Sub bye")
    sub.connect("s_hi", "s_bye")
    main = Flow("main").add("go", "subflow", flow="sub").add("end", "hangup").connect("go", "end")
    call = Call(compile(with_error_path(main, "Main error path"), subflows={"sub": sub}))
    call.start()
    reply = call.post("", error="FAILED")
    assert reply.trace.path == ("oops",)
    assert call.heard == "Main error path"
    reply = call.post("0")
    assert call.command == "hangup"
    assert reply.trace.path == ("oops_end",)


# -- effects -----------------------------------------------------------------------------------


def effect_flow() -> Program:
    flow = Flow("fx").add("fx", "t_engine_effect").add("ok", "play", prompt="OK {effect_data}")
    flow.add("ko", "play", prompt="KO {effect_error}").add("end", "hangup")
    flow.connect("fx", "ok", "next").connect("fx", "ko", "failed")
    flow.connect("ok", "end").connect("ko", "end")
    return compile(flow)


def test_an_effect_is_asked_for_then_resumed_and_resuming_twice_is_the_same() -> None:
    program = effect_flow()
    outcome = engine.step(program, callback(), config=CONFIG, now=0.0)
    assert isinstance(outcome, engine.EffectNeeded)
    assert outcome.deadline_ms == 500
    assert outcome.trace.node == "fx"
    a = engine.resume(outcome, EffectResult(data="42"))
    b = engine.resume(outcome, EffectResult(error="down"))
    c = engine.resume(outcome, EffectResult(data="42"))
    assert isinstance(a, engine.Reply)
    assert isinstance(b, engine.Reply)
    assert isinstance(c, engine.Reply)
    assert a.answer is not None
    assert b.answer is not None
    assert commands.describe_media(a.answer.command.params["media_id"]) == "OK 42"
    assert commands.describe_media(b.answer.command.params["media_id"]) == "KO down"
    assert a.body == c.body


def test_handle_without_an_effect_runner_fails_the_effect_not_the_call() -> None:
    body = wire.render_callback(callback())
    out = engine.handle(effect_flow(), body, config=CONFIG, now=0.0)
    answer = wire.parse_answer(out)
    assert commands.describe_media(answer.command.params["media_id"]) == (
        "KO this driver cannot perform PythonCall effects"
    )


def test_handle_with_an_effect_runner() -> None:
    body = wire.render_callback(callback())
    out = engine.handle(
        effect_flow(), body, config=CONFIG, now=0.0, perform=lambda e: EffectResult(data="7")
    )
    assert commands.describe_media(wire.parse_answer(out).command.params["media_id"]) == "OK 7"


# -- the wire at the engine's door ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("command_id", 1.5, "'command_id' must be integer or string, got float"),
        ("command_id", True, "'command_id' must be integer or string, got bool"),
        ("callid", 1.5, "'callid' must be integer, got float"),
        ("variables", [], "'variables' must be object, got list"),
        ("call_status", "RINGING", "'call_status' is unknown: 'RINGING'"),
        ("request_hash", 5, "'request_hash' must be string or null, got int"),
    ],
)
def test_handle_refuses_a_malformed_callback_with_400_naming_the_field(
    field: str, value: Any, words: str
) -> None:
    data = callback().to_json()
    data[field] = value
    with pytest.raises(CallbackError) as info:
        engine.handle(compile(ivr()), json.dumps(data).encode(), config=CONFIG, now=0.0)
    assert info.value.status == 400
    assert words in str(info.value)


def test_handle_is_body_in_body_out() -> None:
    program = compile(ivr())
    out = engine.handle(program, wire.render_callback(callback()), config=CONFIG, now=0.0)
    answer = wire.parse_answer(out)
    assert (answer.command.name, answer.command_id) == ("play", 1)
    gone = callback(call_status=wire.HANGUP, command="play", command_id=1)
    assert engine.handle(program, wire.render_callback(gone), config=CONFIG, now=0.0) == b""


# -- configuration --------------------------------------------------------------------------------


def test_the_config_never_shows_its_secret_and_refuses_an_empty_one() -> None:
    config = engine.EngineConfig(secret=b"very-secret-value", max_steps=50)
    assert "very-secret" not in repr(config)
    assert "very-secret" not in str(config)
    assert repr(config) == "EngineConfig(max_steps=50, max_spin=100)"
    with pytest.raises(ValueError, match="must not be empty"):
        engine.EngineConfig(secret=b"")
    with pytest.raises(ValueError, match="at least 1"):
        engine.EngineConfig(secret=b"x", max_spin=0)
    assert engine.EngineConfig(secret="text").secret == b"text"


def test_signatures_depend_on_the_secret_the_call_the_state_and_the_variables() -> None:
    a = engine.EngineConfig(secret=b"a")
    b = engine.EngineConfig(secret=b"b")
    base = engine.sign(a, 7, {"n": "x"}, {"v": 1})
    assert len(base) == 32
    assert int(base, 16) >= 0
    assert base == engine.sign(a, 7, {"n": "x"}, {"v": 1})
    assert base != engine.sign(b, 7, {"n": "x"}, {"v": 1})
    assert base != engine.sign(a, 8, {"n": "x"}, {"v": 1})
    assert base != engine.sign(a, 7, {"n": "y"}, {"v": 1})
    assert base != engine.sign(a, 7, {"n": "x"}, {"v": 2})
    # key order does not matter: CALLR may re-serialise what it echoes
    assert engine.sign(a, 7, {"n": "x", "k": 1}, {"p": 1, "q": 2}) == engine.sign(
        a, 7, {"k": 1, "n": "x"}, {"q": 2, "p": 1}
    )


def test_a_state_from_another_call_is_refused() -> None:
    """A signed state copied into another call's POST does not move that call."""
    call = Call(compile(ivr()))
    call.start()
    assert call.answer is not None
    stolen = json.loads(json.dumps(call.answer.variables))
    cb = callback(callid=421890, command="play", command_id=1, variables=stolen)
    reply = engine.step(call.program, cb, config=CONFIG, now=0.0)
    assert isinstance(reply, engine.Reply)
    assert reply.trace.error is not None
    assert "signature does not match" in reply.trace.error


def test_an_echoed_state_is_accepted_again_and_a_changed_one_is_not() -> None:
    """The same POST twice (a retry) is accepted both times by the engine; a POST whose state
    differs by so much as one value is refused. (Telling a retry from a replay of an older step
    is the server's replay guard's job.)"""
    config = engine.EngineConfig(secret=b"memo")
    program = compile(ivr())
    first = engine.step(program, callback(), config=config, now=0.0)
    assert isinstance(first, engine.Reply)
    assert first.answer is not None
    echoed = json.loads(json.dumps(first.answer.variables))
    for _ in range(2):
        nxt = engine.step(
            program,
            callback(command="play", command_id=1, variables=echoed),
            config=config,
            now=1.0,
        )
        assert isinstance(nxt, engine.Reply)
        assert nxt.trace.error is None
    echoed[engine.STATE_KEY]["s"]["k"] += 1
    forged = engine.step(
        program, callback(command="play", command_id=1, variables=echoed), config=config, now=1.0
    )
    assert isinstance(forged, engine.Reply)
    assert forged.trace.error is not None
    assert "signature does not match" in forged.trace.error


# -- never an exception out of step() --------------------------------------------------------------

json_values = st.recursive(  # integers as a parsed callback carries them: 64 bits
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    variables=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    state=json_values,
    command=st.sampled_from(["", "play", "read", "hangup", "dialout"]),
    command_id=st.integers(min_value=0, max_value=2**63),
    result=st.text(max_size=6),
    error=st.sampled_from(["", "ERROR"]),
    status=st.sampled_from(sorted(wire.CALL_STATUSES)),
)
def test_step_never_raises_and_always_answers_valid_json(
    variables: dict[str, Any],
    state: Any,
    command: str,
    command_id: int,
    result: str,
    error: str,
    status: str,
) -> None:
    if state is not None:
        variables[engine.STATE_KEY] = state
    program = compile(ivr(on_error=True))
    cb = callback(
        command=command,
        command_id=command_id,
        command_result=result,
        command_error=error,
        call_status=status,
        variables=variables,
    )
    reply = engine.step(program, cb, config=CONFIG, now=0.0)
    assert isinstance(reply, engine.Reply)
    if status in wire.ENDED_STATUSES:
        assert reply.body == b""
        return
    answer = wire.parse_answer(reply.body)
    assert answer.command_id == command_id + 1
    for key, value in variables.items():  # what CALLR sent is echoed
        if key != engine.STATE_KEY:
            assert answer.variables[key] == value


def test_an_engine_bug_still_answers_with_the_apology(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("engine bug")

    call = Call(compile(ivr()))
    call.start({"crm_id": "C-42"})
    monkeypatch.setattr(engine, "CallFacts", broken)
    reply = call.post("0")
    assert reply.trace.error == "internal error: ZeroDivisionError: engine bug"
    assert call.heard == FALLBACK_TEXT
    assert call.user_variables == {"crm_id": "C-42"}


def test_replace_keeps_callbacks_frozen() -> None:
    cb = callback()
    assert replace(cb, command_id=3).command_id == 3
    assert cb.command_id == 0


def test_a_reply_carries_its_body_as_the_wire_renders_its_answer() -> None:
    reply = engine.step(compile(ivr()), callback(), config=CONFIG, now=0.0)
    assert isinstance(reply, engine.Reply)
    assert reply.answer is not None
    assert reply.body == wire.render_answer(reply.answer)
    assert reply.trace.path == ("hello",)


def test_a_driver_can_answer_with_the_fallback_itself() -> None:
    """What a server answers when it fails around the engine: the apology, variables kept."""
    program = compile(ivr())
    cb = callback(command="play", command_id=4, variables={"crm_id": "C-42", "_fb": "junk"})
    reply = engine.fallback(program, cb, config=CONFIG, now=0.0, reason="handler crashed")
    assert reply.trace.error == "handler crashed"
    answer = wire.parse_answer(reply.body)
    assert answer.command_id == 5
    assert commands.describe_media(answer.command.params["media_id"]) == FALLBACK_TEXT
    assert answer.variables["crm_id"] == "C-42"
    later = engine.step(
        program,
        callback(command="play", command_id=5, variables=answer.variables),
        config=CONFIG,
        now=1.0,
    )
    assert isinstance(later, engine.Reply)
    assert later.answer is not None
    assert later.answer.command.name == "hangup"
