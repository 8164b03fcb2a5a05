"""The sans-IO engine: a callback plus a program gives the next command (or an effect to perform).

The call's position rides in ``variables`` under one reserved key (``STATE_KEY``), HMAC-signed with
the server's secret, so any process holding the program can answer any callback and a forged POST
cannot jump the flow. Nothing here raises for a live call: a bad signature, an unknown program
version, an exception in node code or a runaway loop takes the flow's error path (``on_error``)
or the safe fallback (apologise, then hang up).

>>> from flowbuilder.flow import Flow
>>> from flowbuilder.compiler import compile
>>> program = compile(Flow("hi").add("hello", "play", prompt="Hello").add("bye", "hangup")
...                   .connect("hello", "bye"))
>>> config = EngineConfig(secret=b"s3cret")
>>> first = wire.Callback("4346423A", 1, None, "", "+33100000000", "2026-01-01 10:00:00",
...                       "+33900000000", "", 0, "", "", "UP", "", {})
>>> reply = step(program, first, config=config, now=0.0)
>>> reply.answer.command, reply.answer.command_id, reply.trace.node
(Command(name='play', params={'media_id': 'TTS|TTS_EN-GB_SERENA|Hello'}), 1, 'hello')
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from flowbuilder.callr import wire
from flowbuilder.compiler import Program
from flowbuilder.effects import Effect, EffectResult
from flowbuilder.facts import facts_from
from flowbuilder.nodes._base import (
    DEFAULT_VOICE,
    Action,
    CommandResult,
    Context,
    EnterSubflow,
    Fail,
    Go,
    NodeSpec,
    Perform,
    Result,
    Send,
    get_kind,
)

STATE_KEY: Final = "_fb"
ERROR_VARIABLE: Final = "last_error"


@dataclass(frozen=True)
class EngineConfig:
    """Per-server engine settings.

    ``max_steps`` bounds node entries over a whole call; ``max_spin`` bounds node entries in one
    callback (steps that never wait on the caller). ``fallback_prompt`` is spoken, then the call is
    hung up, when nothing else can be done.
    """

    secret: bytes
    max_steps: int = 1000
    max_spin: int = 100
    fallback_prompt: str = "Sorry, something went wrong. Goodbye."
    fallback_voice: str = DEFAULT_VOICE

    def __repr__(self) -> str:  # the secret never shows
        return f"EngineConfig(max_steps={self.max_steps}, max_spin={self.max_spin})"


@dataclass(frozen=True)
class Trace:
    """What one callback did: nodes entered (``path``), where the call now waits (``node``),
    the outcome taken from the previous node, an error if the error path or fallback ran, and
    whether the call has ended."""

    path: tuple[str, ...] = ()
    node: str | None = None
    version: str | None = None
    error: str | None = None
    warning: str | None = None
    ended: bool = False


@dataclass(frozen=True)
class Reply:
    """The answer for CALLR (``None``: an empty HTTP 200) and what happened."""

    answer: wire.Answer | None
    trace: Trace

    @property
    def body(self) -> bytes:
        return b"" if self.answer is None else wire.render_answer(self.answer)


@dataclass(frozen=True)
class EffectNeeded:
    """The engine waits for an effect; pass its result to :func:`resume` with ``pending``."""

    effect: Effect
    pending: _Run
    deadline_ms: int

    @property
    def trace(self) -> Trace:
        return self.pending.trace()


Outcome = Reply | EffectNeeded


# -- signed state --------------------------------------------------------------------------------


def _payload(state: Mapping[str, Any], variables: Mapping[str, Any]) -> bytes:
    return json.dumps(
        [state, variables], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def sign(secret: bytes, state: Mapping[str, Any], variables: Mapping[str, Any]) -> str:
    return hmac.new(secret, _payload(state, variables), hashlib.sha256).hexdigest()[:32]


def _unpack(secret: bytes, variables: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, user variables) from a callback's variables; raises ValueError when not ours."""
    user = {k: v for k, v in variables.items() if k != STATE_KEY}
    packed = variables.get(STATE_KEY)
    if not isinstance(packed, dict):
        raise ValueError("the flow state is missing from variables")
    state, signature = packed.get("s"), packed.get("h")
    if not isinstance(state, dict) or not isinstance(signature, str):
        raise ValueError("the flow state is malformed")
    if not hmac.compare_digest(sign(secret, state, user), signature):
        raise ValueError("the flow state signature does not match (tampered or another secret)")
    return state, user


def _pack(secret: bytes, state: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {**user, STATE_KEY: {"s": state, "h": sign(secret, state, user)}}


# -- one run of the interpreter ------------------------------------------------------------------


@dataclass
class _Run:
    """The interpreter's working state during one callback (also what an effect waits with)."""

    root: Program
    config: EngineConfig
    callback: wire.Callback
    now: float
    state: dict[str, Any]
    variables: dict[str, Any]
    path: list[str] = field(default_factory=list)
    spin: int = 0
    error: str | None = None
    warning: str | None = None

    # where the call is ------------------------------------------------------------------------

    @property
    def program(self) -> Program:
        return self.root.flow(self.state.get("f", ""))

    @property
    def node(self) -> NodeSpec:
        return self.program.nodes[self.state["n"]]

    def qualified(self, node_id: str | None = None) -> str:
        node_id = node_id or self.state.get("n") or ""
        flow = self.state.get("f", "")
        return f"{flow}/{node_id}" if flow else node_id

    def trace(self, *, ended: bool = False) -> Trace:
        return Trace(
            path=tuple(self.path),
            node=None if ended else (self.qualified() if self.state.get("n") else None),
            version=self.root.version,
            error=self.error,
            warning=self.warning,
            ended=ended,
        )

    def context(self) -> Context:
        local = self.state.setdefault("l", {})
        return Context(
            variables=self.variables,
            facts=facts_from(self.callback),
            local=local,
            voice=self.root.settings.get("voice") or DEFAULT_VOICE,
            now=self.now,
            timezone=self.root.settings.get("timezone") or "UTC",
        )

    # the loop ---------------------------------------------------------------------------------

    def call_node(self, fn: Callable[[], Action]) -> Action:
        try:
            return fn()
        except Exception as exc:  # node code must never break a live call
            return Fail(f"{self.qualified()}: {type(exc).__name__}: {exc}")

    def enter(self, flow_name: str, node_id: str) -> Action:
        self.state.update(f=flow_name, n=node_id, l={})
        self.state["k"] = self.state.get("k", 0) + 1
        self.spin += 1
        self.path.append(self.qualified())
        if self.state["k"] > self.config.max_steps:
            return Fail(f"the call ran more than {self.config.max_steps} steps")
        if self.spin > self.config.max_spin:
            return Fail(f"{self.spin} steps without waiting on the caller (a loop?)")
        node = self.node
        ctx = self.context()
        return self.noted(ctx, self.call_node(lambda: get_kind(node.kind).start(node, ctx)))

    def resume_node(self, result: Result) -> Action:
        node = self.node
        ctx = self.context()
        return self.noted(
            ctx, self.call_node(lambda: get_kind(node.kind).resume(node, ctx, result))
        )

    def noted(self, ctx: Context, action: Action) -> Action:
        """Carry the node's remarks (``ctx.note``) into the trace's warning."""
        if ctx.notes:
            text = "; ".join(f"{self.qualified()}: {n}" for n in ctx.notes)
            self.warning = f"{self.warning}; {text}" if self.warning else text
        return action

    def drive(self, action: Action) -> Outcome:
        while True:
            if isinstance(action, Send):
                return self.send(action.command)
            if isinstance(action, Perform):
                return EffectNeeded(action.effect, self, _deadline_ms(action.effect))
            if isinstance(action, EnterSubflow):
                self.state.setdefault("s", []).append([self.state.get("f", ""), self.state["n"]])
                action = self.enter(action.flow, self.root.flow(action.flow).entry)
                continue
            after = self.fail(action.reason) if isinstance(action, Fail) else self.follow(action)
            if isinstance(after, Reply):
                return after
            action = after

    def follow(self, go: Go) -> Action | Reply:
        target = self.node.edges.get(go.outcome)
        if target is not None:
            return self.enter(self.state.get("f", ""), target)
        stack = self.state.get("s") or []
        if stack:  # the end of a subflow returns to the node that called it
            flow_name, node_id = stack.pop()
            self.state.update(f=flow_name, n=node_id, l={})
            return Go("done")
        self.warning = f"{self.qualified()}: outcome {go.outcome!r} is not connected; hanging up"
        self.state.update(n=None, l={})
        return self.send(wire.hangup(), ended_by_flow=True)

    def fail(self, reason: str) -> Action | Reply:
        self.error = reason
        on_error = self.root.on_error
        if self.state.get("e") or on_error is None:
            return self.fallback()
        self.state.update(e=1, s=[])
        self.variables[ERROR_VARIABLE] = reason
        self.spin = 0
        return self.enter("", on_error)

    def fallback(self) -> Reply:
        self.state = {"v": self.root.version, "x": 1, "n": None}
        prompt = wire.media(self.config.fallback_prompt, self.config.fallback_voice)
        return self.send(wire.play(prompt) if prompt else wire.hangup())

    def send(self, command: wire.Command, *, ended_by_flow: bool = False) -> Reply:
        command_id = self.callback.command_id + 1
        self.state["i"] = command_id
        self.state["v"] = self.root.version
        answer = wire.Answer(
            command, command_id, _pack(self.config.secret, self.state, self.variables)
        )
        return Reply(answer, self.trace())


def _deadline_ms(effect: Effect) -> int:
    return effect.timeout_ms


# -- public API ----------------------------------------------------------------------------------


def step(
    program: Program,
    callback: wire.Callback,
    *,
    config: EngineConfig,
    now: float,
    versions: Mapping[str, Program] | None = None,
) -> Outcome:
    """Answer one callback. ``versions`` holds older programs for calls that started on them."""
    if callback.call_status in wire.ENDED_STATUSES:
        return Reply(None, _ended_trace(program, callback, config))
    if callback.is_first:
        run = _Run(program, config, callback, now, {"v": program.version}, dict(callback.variables))
        run.variables.pop(STATE_KEY, None)
        return run.drive(run.enter("", program.entry))
    try:
        state, user = _unpack(config.secret, callback.variables)
    except ValueError as exc:
        run = _Run(program, config, callback, now, {}, {})
        run.error = str(exc)
        return run.fallback()
    root = (
        program if state.get("v") == program.version else (versions or {}).get(state.get("v", ""))
    )
    if root is None:
        run = _Run(program, config, callback, now, {"v": program.version}, user)
        return run.drive(Fail(f"unknown flow version {state.get('v')!r}"))
    run = _Run(root, config, callback, now, state, user)
    if state.get("i") != callback.command_id:
        run.error = (
            f"command_id {callback.command_id} does not match the command sent ({state.get('i')})"
        )
        return run.fallback()
    if state.get("x"):  # the fallback prompt has played: hang up
        return run.send(wire.hangup())
    if not state.get("n"):
        return run.send(wire.hangup())
    node = run.program.nodes.get(state["n"]) if _known(run, state) else None
    if node is None:
        return run.drive(Fail(f"unknown node {state.get('n')!r} in flow state"))
    result = CommandResult(
        callback.command, callback.command_result, callback.command_error, callback.call_status
    )
    return run.drive(run.resume_node(result))


def resume(pending: EffectNeeded, result: EffectResult, *, now: float | None = None) -> Outcome:
    """Continue after an effect: the node that asked for it picks its outcome from *result*."""
    run = replace(pending.pending) if now is None else replace(pending.pending, now=now)
    run.path = list(run.path)
    return run.drive(run.resume_node(result))


def _known(run: _Run, state: Mapping[str, Any]) -> bool:
    flow_name = state.get("f", "")
    return not flow_name or flow_name in run.root.subflows


def _ended_trace(program: Program, callback: wire.Callback, config: EngineConfig) -> Trace:
    node = None
    try:
        state, _ = _unpack(config.secret, callback.variables)
        if state.get("n"):
            node = f"{state['f']}/{state['n']}" if state.get("f") else str(state["n"])
    except ValueError:
        pass
    return Trace(node=node, version=program.version, ended=True)


def run_effects(outcome: Outcome, perform: Callable[[Effect], EffectResult]) -> Reply:
    """Drive an outcome to a Reply, performing effects synchronously (for in-process drivers)."""
    while isinstance(outcome, EffectNeeded):
        outcome = resume(outcome, perform(outcome.effect))
    return outcome


def handle(
    program: Program,
    body: bytes,
    *,
    config: EngineConfig,
    now: float,
    perform: Callable[[Effect], EffectResult] | None = None,
    versions: Mapping[str, Program] | None = None,
) -> bytes:
    """Body in, body out: parse, step, perform effects (if any), render. For simple drivers."""
    outcome = step(program, wire.parse_callback(body), config=config, now=now, versions=versions)
    if isinstance(outcome, EffectNeeded):
        if perform is None:
            raise RuntimeError("this flow needs effects performed; pass perform=")
        outcome = run_effects(outcome, perform)
    return outcome.body
