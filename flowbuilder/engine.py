"""The sans-IO engine: a callback plus a program gives the next command (or an effect to perform).

The call's position rides in ``variables``, signed (:mod:`flowbuilder.callstate`), so any process
holding the program can answer any callback, and a forged state or one from another call cannot
move the flow. The state names the ``command_id`` it was sent with, and a POST must echo the
same; telling an old step replayed from the current one needs a record of each call's last step,
which the server keeps (:mod:`flowbuilder.server.replay`): the engine never sees a store.

Nothing here raises for a live call: a bad signature, a stale ``command_id``, an unknown program
version, an exception in node code or a runaway loop takes the flow's error path (``on_error``)
or the safe fallback (apologise, then hang up), and the trace says why.

>>> from flowbuilder.flow import Flow
>>> from flowbuilder.compiler import compile
>>> program = compile(Flow("hi").add("hello", "play", prompt="Hello").add("bye", "hangup")
...                   .connect("hello", "bye"))
>>> config = EngineConfig(secret=b"s3cret")
>>> first = wire.Callback("4346423A", 1, None, "", "+33100000000", "2026-01-01 10:00:00",
...                       "+33900000000", "", 0, "", "", "UP", "", {"ticket": "T-7"})
>>> reply = step(program, first, config=config, now=0.0)
>>> reply.answer.command, reply.answer.command_id, reply.trace.node
(Command(name='play', params={'media_id': 'TTS|TTS_EN-GB_SERENA|Hello'}), 1, 'hello')

The variables CALLR sent are echoed, with the signed state beside them:

>>> sorted(reply.answer.variables)
['_fb', 'ticket']

A hung-up call gets an empty HTTP 200 body:

>>> from dataclasses import replace
>>> gone = replace(first, command="play", command_id=1, call_status=wire.HANGUP,
...                variables=reply.answer.variables)
>>> step(program, gone, config=config, now=1.0).body
b''
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from flowbuilder.budget import AnswerBudget
from flowbuilder.callr import commands, wire
from flowbuilder.callstate import STATE_KEY, CallState, Signer, pack, signed_bytes, unpack
from flowbuilder.effects import Effect, EffectResult
from flowbuilder.facts import CallFacts
from flowbuilder.names import ERROR_VARIABLE, FALLBACK_MESSAGE
from flowbuilder.nodes._base import (
    DEFAULT_VOICE,
    REGISTRY,
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
)
from flowbuilder.program import Program

_HANGUP: Final = Send(commands.HANGUP)
_ACTIONS: Final = (Send, Go, Perform, Fail, EnterSubflow)

__all__ = [
    "ERROR_VARIABLE",
    "FALLBACK_MESSAGE",
    "STATE_KEY",
    "EffectNeeded",
    "EngineConfig",
    "Outcome",
    "Reply",
    "Trace",
    "fallback",
    "handle",
    "resume",
    "run_effects",
    "sign",
    "step",
]


@dataclass(frozen=True)
class EngineConfig:
    """Per-server engine settings.

    ``secret`` signs the call state (bytes, or text taken as UTF-8; never empty). ``max_steps``
    bounds node entries over a whole call; ``max_spin`` bounds node entries in one callback
    (steps that never wait on the caller). ``fallback_prompt`` is spoken, then the call is hung
    up, when nothing else can be done (a flow's ``fallback_message`` setting wins); empty hangs
    up at once.

    >>> EngineConfig(secret=b"")
    Traceback (most recent call last):
    ...
    ValueError: EngineConfig.secret must not be empty: it signs every call's state
    >>> EngineConfig(secret="from-an-env-var")
    EngineConfig(max_steps=1000, max_spin=100)
    """

    secret: bytes
    max_steps: int = 1000
    max_spin: int = 100
    fallback_prompt: str = FALLBACK_MESSAGE
    fallback_voice: str = DEFAULT_VOICE
    signer: Signer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        secret: Any = self.secret
        if isinstance(secret, str):
            object.__setattr__(self, "secret", secret.encode())
        elif not isinstance(secret, bytes):
            raise TypeError(f"EngineConfig.secret must be bytes, got {type(secret).__name__}")
        if not self.secret:
            raise ValueError("EngineConfig.secret must not be empty: it signs every call's state")
        if self.max_steps < 1 or self.max_spin < 1:
            raise ValueError("EngineConfig.max_steps and max_spin must be at least 1")
        object.__setattr__(self, "signer", Signer(self.secret))

    def __repr__(self) -> str:  # the secret never shows
        return f"EngineConfig(max_steps={self.max_steps}, max_spin={self.max_spin})"


class Trace(msgspec.Struct, frozen=True):
    """What one callback did: nodes entered (``path``, ``flow/node`` inside a subflow), where the
    call now waits (``node``), the program version that answered, why the error path or the
    fallback ran (``error``), remarks (``warning``) and whether the call has ended."""

    path: tuple[str, ...] = ()
    node: str | None = None
    version: str | None = None
    error: str | None = None
    warning: str | None = None
    ended: bool = False


class Reply(msgspec.Struct, frozen=True):
    """The answer for CALLR (``None``: an empty HTTP 200), what happened, and the HTTP body: the
    answer's JSON, or empty for a call that has ended."""

    answer: wire.Answer | None
    trace: Trace
    body: bytes = b""


class EffectNeeded(msgspec.Struct, frozen=True):
    """The engine waits for an effect; pass its result to :func:`resume`."""

    effect: Effect
    pending: Any  # the _Run to resume
    deadline_ms: int

    @property
    def trace(self) -> Trace:
        run: _Run = self.pending
        return run.trace()


Outcome = Reply | EffectNeeded


def sign(
    config: EngineConfig, callid: int, state: Mapping[str, Any], variables: Mapping[str, Any]
) -> str:
    """The signature of a call's state (as wire data) together with its user variables.

    Raises TypeError or ValueError when they cannot be encoded (mixed key types...).
    """
    return config.signer.sign(signed_bytes(callid, state, variables))


def _jsonable(value: Any) -> Any:
    """*value* as plain JSON data: text keys, lists, finite numbers; anything else as text."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):  # the encoder keeps integers to 64 bits, as JSON readers do
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _own(value: Any) -> Any:
    """*value* itself, or a copy of it when it is a container a node could change in place."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _next_id(command_id: wire.CommandId) -> int:
    """The id of the answer to a POST that echoed *command_id*: ours are 1, 2, 3..."""
    return command_id + 1 if isinstance(command_id, int) else 1


# -- one run of the interpreter ------------------------------------------------------------------


class _Run:
    """The interpreter's working state during one callback (also what an effect waits with)."""

    def __init__(
        self,
        root: Program,
        config: EngineConfig,
        callback: wire.Callback,
        now: float,
        state: CallState,
        variables: dict[str, Any],
    ) -> None:
        self.root = root
        self.config = config
        self.callback = callback
        self.now = now
        self.variables = variables
        # the state, unpacked into fields the run changes (the callback's own data never is:
        # decoding made the scratch dict, but what it holds is shared with the callback)
        self.node = state.node
        self.flow = state.flow
        self.scratch = {k: _own(v) for k, v in state.scratch.items()}
        self.returns = [tuple(r) for r in state.returns]
        self.steps = state.steps
        self.on_error_taken = state.on_error_taken
        self.closing = state.closing
        #: the flow the call is in: the root, or the subflow named by ``flow``
        self.program = root.subflows.get(self.flow, root) if self.flow else root
        self.path: list[str] = []
        self.spin = 0
        self.error: str | None = None
        self.warning: str | None = None
        self.ctx: Context | None = None

    def copy(self, now: float | None) -> _Run:
        """An independent run from the same point (state and variables deep-copied)."""
        run = copy.copy(self)
        run.now = self.now if now is None else now
        run.variables = copy.deepcopy(self.variables)
        run.scratch = copy.deepcopy(self.scratch)
        run.returns = list(self.returns)
        run.path = list(self.path)
        run.ctx = None
        return run

    # where the call is ------------------------------------------------------------------------

    def state(self, step: int) -> CallState:
        return CallState(
            version=self.root.version,
            step=step,
            node=self.node,
            flow=self.flow,
            scratch=self.scratch,
            returns=[(f, n) for f, n in self.returns],
            steps=self.steps,
            on_error_taken=self.on_error_taken,
            closing=self.closing,
        )

    def where(self) -> str:
        if not self.node:
            return ""
        return f"{self.flow}/{self.node}" if self.flow else self.node

    def trace(self) -> Trace:
        return Trace(
            path=tuple(self.path),
            node=self.where() or None,
            version=self.root.version,
            error=self.error,
            warning=self.warning,
        )

    def context(self) -> Context:
        """What the current node sees: one Context per run, pointed at the node's scratch."""
        ctx = self.ctx
        if ctx is None:
            settings = self.root.settings
            ctx = self.ctx = Context(
                variables=self.variables,
                facts=CallFacts(self.callback),
                local=self.scratch,
                voice=settings.get("voice") or DEFAULT_VOICE,
                now=self.now,
                timezone=settings.get("timezone") or "UTC",
                settings=settings,
                trust=self.root.trust,
            )
        else:
            ctx.variables, ctx.local, ctx.notes = self.variables, self.scratch, []
        return ctx

    def note(self, text: str) -> None:
        self.warning = f"{self.warning}; {text}" if self.warning else text

    # the loop ---------------------------------------------------------------------------------

    def run_node(self, node: NodeSpec, result: Result | None) -> Action:
        """Start (``result`` None) or resume *node*; node code never breaks a live call."""
        kind = REGISTRY.get(node.kind)
        if kind is None:
            return Fail(f"{self.where()}: node kind {node.kind!r} is not registered")
        ctx = self.context()
        try:
            action = kind.start(node, ctx) if result is None else kind.resume(node, ctx, result)
        except Exception as exc:
            action = Fail(f"{self.where()}: {type(exc).__name__}: {exc}")
        for remark in ctx.notes:  # the node's remarks (ctx.note) go to the trace
            self.note(f"{self.where()}: {remark}")
        if not isinstance(action, _ACTIONS):
            return Fail(f"{self.where()}: node code returned {type(action).__name__}")
        return action

    def drive(self, action: Action) -> Outcome:
        """Follow actions until one answers CALLR or needs an effect."""
        while True:
            match action:
                case Send(command):
                    return self.answer(command)
                case Perform(effect):
                    return EffectNeeded(effect, self, effect.timeout_ms)
                case Go(outcome):
                    action = self.follow(outcome)
                case Fail(reason):
                    action = self.fail(reason)
                case EnterSubflow(name):
                    action = self.enter_subflow(name)

    def enter(self, flow_name: str, node_id: str) -> Action:
        """Move the call to *node_id* of flow *flow_name* (``""``: the root) and start it."""
        self.flow = flow_name
        self.program = self.root.flow(flow_name)
        self.node = node_id
        self.scratch = {}
        self.path.append(self.where())
        self.steps += 1
        self.spin += 1
        if self.steps > self.config.max_steps:
            return Fail(f"the call ran more than {self.config.max_steps} steps")
        if self.spin > self.config.max_spin:
            return Fail(f"{self.spin} steps without waiting on the caller (an endless loop?)")
        node = self.program.nodes.get(node_id)
        if node is None:
            return Fail(f"no node {self.where()!r} in program {self.root.version}")
        return self.run_node(node, None)

    def enter_subflow(self, name: str) -> Action:
        if not name or name not in self.root.subflows:
            return Fail(f"{self.where()}: subflow {name!r} is not part of this program")
        self.returns.append((self.flow, self.node or ""))
        return self.enter(name, self.root.subflows[name].entry)

    def follow(self, outcome: str) -> Action:
        node = self.program.nodes[self.node or ""]
        target = node.edges.get(outcome)
        if target is not None:
            return self.enter(self.flow, target)
        kind = REGISTRY.get(node.kind)
        failed = kind is not None and outcome in kind.failure_outcomes
        if failed and self.root.on_error is not None and not self.on_error_taken:
            # an unhandled failure is an error, in a subflow too: the flow's error path catches it
            return Fail(f"{self.where()}: outcome {outcome!r} is not connected")
        if self.returns:  # the end of a subflow returns to the node that called it, through done
            self.flow, self.node = self.returns.pop()
            self.program = self.root.flow(self.flow)
            self.scratch = {}
            return Go("done")
        self.note(f"{self.where()}: outcome {outcome!r} is not connected; hanging up")
        self.node = None
        self.scratch = {}
        return _HANGUP

    def fail(self, reason: str) -> Action:
        """The error path (once per call), else the fallback."""
        self.error = f"{self.error}; then {reason}" if self.error else reason
        on_error = self.root.on_error
        if self.on_error_taken or on_error is None or on_error not in self.root.nodes:
            return self.fallback()
        self.on_error_taken = True
        self.returns = []
        self.variables[ERROR_VARIABLE] = reason
        self.spin = 0
        return self.enter("", on_error)

    def fallback(self) -> Send:
        """Apologise, then hang up (the next live POST sees ``closing`` and hangs up)."""
        self.program = self.root
        self.node, self.flow, self.scratch, self.returns = None, "", {}, []
        self.closing = True
        settings = self.root.settings
        message = settings.get("fallback_message")
        if message is None:
            message = self.config.fallback_prompt
        voice = (
            settings.get("fallback_voice") or settings.get("voice") or self.config.fallback_voice
        )
        prompt = commands.media(message, voice)
        return Send(commands.build("play", media_id=prompt)) if prompt else _HANGUP

    def answer(self, command: wire.Command) -> Reply:
        """Answer with *command*, the call's state signed into the variables."""
        command_id = _next_id(self.callback.command_id)
        callid, signer = self.callback.callid, self.config.signer
        try:
            variables = pack(signer, callid, self.state(command_id), self.variables)
            answer = wire.Answer(command, command_id, variables)
            body = wire.render_answer(answer)
        except (TypeError, ValueError, RecursionError):
            # node code stored something that is not JSON: keep the call alive with its text
            self.variables = _jsonable(self.variables)
            self.scratch = _jsonable(self.scratch)
            command = wire.Command(command.name, _jsonable(command.params))
            variables = pack(signer, callid, self.state(command_id), self.variables)
            answer = wire.Answer(command, command_id, variables)
            body = wire.render_answer(answer)
        return Reply(answer, self.trace(), body)


# -- public API ----------------------------------------------------------------------------------


def step(
    program: Program,
    callback: wire.Callback,
    *,
    config: EngineConfig,
    now: float,
    versions: Mapping[str, Program] | None = None,
) -> Outcome:
    """Answer one callback; never raises.

    ``versions`` maps older program versions to their programs, so a call that started before a
    hot reload finishes on the flow it started on. The answer's ``command_id`` is the callback's
    plus one; ``HANGUP`` and the never-answered statuses get ``Reply(None, ...)`` (empty body).
    """
    try:
        return _step(program, callback, config, now, versions or {})
    except Exception as exc:  # a bug here must reach CALLR as an apology, never as a 500
        return _last_resort(program, callback, config, now, exc)


def _step(
    program: Program,
    callback: wire.Callback,
    config: EngineConfig,
    now: float,
    versions: Mapping[str, Program],
) -> Outcome:
    if callback.call_status in wire.ENDED_STATUSES:
        return Reply(None, _ended_trace(program, callback, config))
    if callback.is_first:
        run = _Run(program, config, callback, now, CallState(program.version), _echoed(callback))
        return run.drive(run.enter("", program.entry))
    try:
        state, user = unpack(config.signer, callback.callid, callback.variables)
    except ValueError as exc:
        return _lost(program, callback, config, now, str(exc))
    if state.step != callback.command_id:
        reason = f"command_id {callback.command_id} does not match the command sent ({state.step})"
        return _lost(program, callback, config, now, reason, user)
    root = program if state.version == program.version else versions.get(state.version)
    if root is None:  # a call from a program this server no longer has
        run = _Run(
            program, config, callback, now, CallState(program.version, steps=state.steps), user
        )
        return run.drive(Fail(f"unknown flow version {state.version!r}"))
    run = _Run(root, config, callback, now, state, user)
    if not state.node or state.closing:  # the flow ended, or the apology played
        return run.answer(commands.HANGUP)
    if state.flow and state.flow not in root.subflows:
        return run.drive(Fail(f"unknown subflow {state.flow!r} in the call state"))
    node = run.program.nodes.get(state.node)
    if node is None:
        return run.drive(Fail(f"unknown node {run.where()!r} in the call state"))
    kind = REGISTRY.get(node.kind)
    if callback.command == commands.HANGUP.name and kind is not None and kind.ends_call:
        return run.answer(commands.HANGUP)  # still live after our hangup: ask again
    result = CommandResult(
        callback.command, callback.command_result, callback.command_error, callback.call_status
    )
    return run.drive(run.run_node(node, result))


def _lost(
    program: Program,
    callback: wire.Callback,
    config: EngineConfig,
    now: float,
    reason: str,
    user: dict[str, Any] | None = None,
) -> Reply:
    """The fallback for a POST whose position cannot be trusted; CALLR's variables kept."""
    variables = _echoed(callback) if user is None else user
    run = _Run(program, config, callback, now, CallState(program.version), variables)
    run.error = reason
    return run.answer(run.fallback().command)


def resume(pending: EffectNeeded, result: EffectResult, *, now: float | None = None) -> Outcome:
    """Continue after an effect: the node that asked for it picks its outcome from *result*.

    Resuming the same ``pending`` twice gives the same answer (its state is copied, not shared).
    """
    run: _Run = pending.pending.copy(now)
    try:
        node = run.program.nodes.get(run.node or "")
        if node is None:
            return run.drive(Fail(f"no node {run.where()!r} in program {run.root.version}"))
        return run.drive(run.run_node(node, result))
    except Exception as exc:
        return _last_resort(run.root, run.callback, run.config, run.now, exc)


def _echoed(callback: wire.Callback) -> dict[str, Any]:
    """The callback's variables but the state."""
    return {k: v for k, v in callback.variables.items() if k != STATE_KEY}


def fallback(
    program: Program, callback: wire.Callback, *, config: EngineConfig, now: float, reason: str
) -> Reply:
    """The safe answer for a driver that failed around the engine (e.g. a server bug): apologise
    with the caller's variables kept, hang up on the next POST; *reason* goes to ``trace.error``."""
    return _last_resort(program, callback, config, now, RuntimeError(reason), prefix="")


def _last_resort(
    program: Program,
    callback: wire.Callback,
    config: EngineConfig,
    now: float,
    exc: Exception,
    *,
    prefix: str = "internal error: ",
) -> Reply:
    """The fallback when the engine itself failed: apologise with the caller's variables kept."""
    error = f"{prefix}{type(exc).__name__}: {exc}" if prefix else str(exc)
    try:
        return _lost(program, callback, config, now, error, _jsonable(_echoed(callback)))
    except Exception:  # not even that: hang up with nothing but the state
        run = _Run(program, config, callback, now, CallState(program.version, closing=True), {})
        run.error = error
        return run.answer(commands.HANGUP)


def _ended_trace(program: Program, callback: wire.Callback, config: EngineConfig) -> Trace:
    try:
        state, _ = unpack(config.signer, callback.callid, callback.variables)
    except ValueError:
        return Trace(version=program.version, ended=True)
    return Trace(node=state.where(), version=state.version, ended=True)


def run_effects(
    outcome: Outcome,
    perform: Callable[[Effect], EffectResult],
    budget: AnswerBudget | None = None,
) -> Reply:
    """Drive an outcome to a Reply, performing effects synchronously (for in-process drivers),
    within *budget* (a fresh one of the server's size by default), as the server does."""
    budget = budget or AnswerBudget()
    while isinstance(outcome, EffectNeeded):
        fitted = budget.fit(outcome.effect)
        if isinstance(fitted, EffectResult):
            result = fitted
        else:
            result = budget.settle(fitted, perform(fitted))
        outcome = resume(outcome, result)
    return outcome


def _no_effects(effect: Effect) -> EffectResult:
    return EffectResult(error=f"this driver cannot perform {type(effect).__name__} effects")


def handle(
    program: Program,
    body: bytes,
    *,
    config: EngineConfig,
    now: float,
    perform: Callable[[Effect], EffectResult] | None = None,
    versions: Mapping[str, Program] | None = None,
) -> bytes:
    """Body in, body out: parse, step, perform effects, render. For simple drivers.

    Raises :class:`~flowbuilder.errors.CallbackError` (HTTP 400) for a body that is not a
    callback. Without *perform*, an effect fails and the node takes its error outcome.
    """
    outcome = step(program, wire.parse_callback(body), config=config, now=now, versions=versions)
    if isinstance(outcome, EffectNeeded):
        outcome = run_effects(outcome, perform or _no_effects)
    return outcome.body
