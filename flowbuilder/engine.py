"""The sans-IO engine: a callback plus a program gives the next command (or an effect to perform).

The call's position rides in ``variables`` under one reserved key (``STATE_KEY``), signed with the
server's secret together with the user variables and the call id (keyed BLAKE2b), so any process
holding the program can answer any callback and a forged or replayed POST cannot jump the flow.
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

import contextlib
import copy
import hashlib
import hmac
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from flowbuilder.callr import wire
from flowbuilder.compiler import Program
from flowbuilder.effects import Effect, EffectResult
from flowbuilder.facts import CallFacts
from flowbuilder.nodes._base import (
    DEFAULT_VOICE,
    REGISTRY,
    Action,
    CommandResult,
    Context,
    EnterSubflow,
    Fail,
    Go,
    NodeKind,
    NodeSpec,
    Perform,
    Result,
    Send,
)
from flowbuilder.validate import ERROR_VARIABLE

STATE_KEY: Final = "_fb"
#: Signatures remembered until their call's next POST (a few hundred bytes each).
MAX_ISSUED: Final = 10_000
#: Signatures are 128 bits (32 hex digits).
MAC_BYTES: Final = 16
_STATE_KEY_BYTES: Final = STATE_KEY.encode()
_ENDED: Final = wire.ENDED_STATUSES
_ACTIONS: Final = frozenset({Send, Go, Perform, Fail, EnterSubflow})
__all__ = [
    "ERROR_VARIABLE",
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
    up, when nothing else can be done; empty hangs up at once.

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
    fallback_prompt: str = "Sorry, something went wrong. Goodbye."
    fallback_voice: str = DEFAULT_VOICE
    # the MAC's state, keyed once; each signature copies it
    _keyed: Any = field(init=False, repr=False, compare=False, default=None)
    # signature -> the exact bytes it signed, for answers not yet echoed (see _verify)
    _issued: dict[str, bytes] = field(init=False, repr=False, compare=False, default_factory=dict)

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
        # BLAKE2b is a MAC when keyed (RFC 7693), in one pass: half the cost of HMAC-SHA256
        # on every callback. Its key is at most 64 bytes; a longer secret is hashed to that.
        key = self.secret if len(self.secret) <= 64 else hashlib.blake2b(self.secret).digest()
        object.__setattr__(self, "_keyed", hashlib.blake2b(key=key, digest_size=MAC_BYTES))

    def mac(self, payload: bytes) -> str:
        """The 128-bit keyed BLAKE2b of *payload* under the secret, as 32 hex digits.

        >>> EngineConfig(secret=b"key").mac(b"payload") == hashlib.blake2b(
        ...     b"payload", key=b"key", digest_size=16).hexdigest()
        True
        >>> long = b"k" * 100  # longer than a BLAKE2b key: hashed first
        >>> EngineConfig(secret=long).mac(b"p") == EngineConfig(secret=long[:64]).mac(b"p")
        False
        """
        keyed = self._keyed.copy()
        keyed.update(payload)
        return str(keyed.hexdigest())

    def _remember(self, signature: str, signed: bytes) -> None:
        """Keep what *signature* signed until its call echoes it (bounded: oldest dropped)."""
        issued = self._issued
        issued[signature] = signed
        if len(issued) > MAX_ISSUED:
            with contextlib.suppress(RuntimeError, StopIteration, KeyError):  # another thread
                del issued[next(iter(issued))]

    def _verify(self, signature: str, signed: bytes) -> bool:
        """Whether *signature* is ours for exactly *signed*. The answer this server just sent
        is recognised by its bytes, without recomputing the MAC; anything else is checked."""
        if self._issued.pop(signature, None) == signed:
            return True
        return hmac.compare_digest(self.mac(signed), signature)

    def __repr__(self) -> str:  # the secret never shows
        return f"EngineConfig(max_steps={self.max_steps}, max_spin={self.max_spin})"


@dataclass(frozen=True)
class Trace:
    """What one callback did: nodes entered (``path``, ``flow/node`` inside a subflow), where the
    call now waits (``node``), the program version that answered, why the error path or the
    fallback ran (``error``), remarks (``warning``) and whether the call has ended."""

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
    rendered: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def body(self) -> bytes:
        """The HTTP body: the answer's JSON, or empty for a call that has ended."""
        if self.rendered is not None:
            return self.rendered
        return b"" if self.answer is None else wire.render_answer(self.answer)


@dataclass(frozen=True)
class EffectNeeded:
    """The engine waits for an effect; pass its result to :func:`resume`."""

    effect: Effect
    pending: _Run
    deadline_ms: int

    @property
    def trace(self) -> Trace:
        return self.pending.trace()


Outcome = Reply | EffectNeeded
_T = TypeVar("_T")


def _filled(cls: type[_T], values: dict[str, Any]) -> _T:
    """An instance of the frozen dataclass *cls* with *values* (every field), made without its
    __init__, which pays one object.__setattr__ per field: the engine makes several per callback."""
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


# -- signed state --------------------------------------------------------------------------------
#
# variables[STATE_KEY] is {"h": signature, "s": state}. The signature is a keyed BLAKE2b
# (128 bits, hex) over the call id, the state and the user variables in canonical
# JSON (sorted keys, no spaces), so it survives CALLR re-serialising the variables it echoes and
# cannot be replayed into another call.

_CANONICAL: Final = wire.json_encoder(sort_keys=True)


def _signed_bytes(callid: int, state_json: bytes, user_json: bytes) -> bytes:
    """What a signature covers: ``[callid,state,variables]`` as canonical JSON."""
    return b"[%d,%b,%b]" % (callid, state_json, user_json)


def sign(
    config: EngineConfig, callid: int, state: Mapping[str, Any], variables: Mapping[str, Any]
) -> str:
    """The signature of a call's state together with its user variables.

    Raises TypeError or ValueError when they cannot be encoded (mixed key types...).
    """
    return config.mac(_signed_bytes(callid, _CANONICAL(state), _CANONICAL(variables)))


def _unpack(config: EngineConfig, callback: wire.Callback) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, user variables) from a callback's variables; raises ValueError when not ours."""
    variables = callback.variables
    packed = variables.get(STATE_KEY)
    if type(packed) is not dict:
        raise ValueError("the flow state is missing from variables")
    state, signature = packed.get("s"), packed.get("h")
    if type(state) is not dict or type(signature) is not str:
        raise ValueError("the flow state is malformed")
    user = _echoed(callback)
    try:
        signed = _signed_bytes(callback.callid, _CANONICAL(state), _CANONICAL(user))
    except (TypeError, ValueError):  # keys that are not text...: not ours
        raise ValueError("the flow state is malformed") from None
    if not config._verify(signature, signed):
        raise ValueError("the flow state signature does not match (tampered, or another secret)")
    return _clone(state), user


def _clone(state: dict[str, Any]) -> dict[str, Any]:
    """A copy deep enough that running a step never changes the callback it read: node scratch
    (``l``) and the subflow stack (``s``) are the only parts of the state changed in place."""
    state = state.copy()
    local = state.get("l")
    if local:
        state["l"] = {k: copy.deepcopy(v) if type(v) in _NESTED else v for k, v in local.items()}
    stack = state.get("s")
    if stack:
        state["s"] = [list(frame) for frame in stack]
    return state


_NESTED: Final = (dict, list)


def _pack(
    config: EngineConfig, callid: int, state: dict[str, Any], user: dict[str, Any]
) -> tuple[dict[str, Any], bytes]:
    """The variables to send (user variables plus the signed state) as data and as JSON text.

    The state and the user variables are encoded once each, for the signature and for the
    answer body. Raises TypeError or ValueError when a value cannot be encoded.
    """
    user.pop(STATE_KEY, None)  # a node writing the reserved key must not break the signature
    state_json, user_json = _CANONICAL(state), _CANONICAL(user)
    signed = _signed_bytes(callid, state_json, user_json)
    signature = config.mac(signed)
    config._remember(signature, signed)
    packed_json = b'%b%b"%b":{"h":"%b","s":%b}}' % (
        user_json[:-1],
        b"," if user else b"",
        _STATE_KEY_BYTES,
        signature.encode(),
        state_json,
    )
    return {**user, STATE_KEY: {"s": state, "h": signature}}, packed_json


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


# -- one run of the interpreter ------------------------------------------------------------------


class _Run:
    """The interpreter's working state during one callback (also what an effect waits with)."""

    __slots__ = (
        "callback",
        "config",
        "ctx",
        "error",
        "now",
        "path",
        "program",
        "root",
        "spin",
        "state",
        "variables",
        "warning",
    )

    def __init__(
        self,
        root: Program,
        config: EngineConfig,
        callback: wire.Callback,
        now: float,
        state: dict[str, Any],
        variables: dict[str, Any],
    ) -> None:
        self.root = root
        self.config = config
        self.callback = callback
        self.now = now
        self.state = state
        self.variables = variables
        flow = state.get("f")
        #: the flow the call is in: the root, or the subflow named by state["f"]
        self.program = root.subflows.get(flow, root) if flow else root
        self.path: list[str] = []
        self.spin = 0
        self.error: str | None = None
        self.warning: str | None = None
        self.ctx: Context | None = None

    def copy(self, now: float | None) -> _Run:
        """An independent run from the same point (state and variables deep-copied)."""
        run = _Run(
            self.root,
            self.config,
            self.callback,
            self.now if now is None else now,
            copy.deepcopy(self.state),
            copy.deepcopy(self.variables),
        )
        run.path = list(self.path)
        run.spin, run.error, run.warning = self.spin, self.error, self.warning
        return run

    # where the call is ------------------------------------------------------------------------

    def qualified(self) -> str:
        return _where(self.state) or ""

    def trace(self) -> Trace:
        return _filled(
            Trace,
            {
                "path": tuple(self.path),
                "node": _where(self.state),
                "version": self.root.version,
                "error": self.error,
                "warning": self.warning,
                "ended": False,
            },
        )

    def context(self) -> Context:
        """What the current node sees; one Context per run, pointed at the node's scratch."""
        ctx = self.ctx
        if ctx is None:
            settings = self.root.settings
            ctx = self.ctx = Context(
                variables=self.variables,
                facts=CallFacts(self.callback),
                local=self.state.setdefault("l", {}),
                voice=settings.get("voice") or DEFAULT_VOICE,
                now=self.now,
                timezone=settings.get("timezone") or "UTC",
                settings=settings,
                trust=self.root.trust,
            )
        else:
            ctx.variables = self.variables
            ctx.local = self.state.setdefault("l", {})
        return ctx

    def note(self, text: str) -> None:
        self.warning = f"{self.warning}; {text}" if self.warning else text

    # the loop ---------------------------------------------------------------------------------

    def run_node(self, node: NodeSpec, result: Result | None) -> Action:
        """Start (``result`` None) or resume *node*; node code never breaks a live call."""
        kind = REGISTRY.get(node.kind)
        if kind is None:
            return Fail(f"{self.qualified()}: node kind {node.kind!r} is not registered")
        ctx = self.context()
        try:
            action = kind.start(node, ctx) if result is None else kind.resume(node, ctx, result)
        except Exception as exc:
            action = Fail(f"{self.qualified()}: {type(exc).__name__}: {exc}")
        if ctx.notes:  # the node's remarks (ctx.note) go to the trace
            for remark in ctx.notes:
                self.note(f"{self.qualified()}: {remark}")
            ctx.notes = []
        if type(action) not in _ACTIONS:
            return Fail(f"{self.qualified()}: node code returned {type(action).__name__}")
        return action

    def enter(self, flow_name: str, node_id: str) -> Action:
        """Move the call to *node_id* of flow *flow_name* (``""``: the root) and start it."""
        state = self.state
        if flow_name:
            state["f"] = flow_name
            self.program = self.root.flow(flow_name)
        elif "f" in state:
            del state["f"]
            self.program = self.root
        state["n"] = node_id
        self.path.append(_where(state) or node_id)
        state["l"] = {}
        steps = state["k"] = state.get("k", 0) + 1
        self.spin += 1
        if steps > self.config.max_steps:
            return Fail(f"the call ran more than {self.config.max_steps} steps")
        if self.spin > self.config.max_spin:
            return Fail(f"{self.spin} steps without waiting on the caller (an endless loop?)")
        node = self.program.nodes.get(node_id)
        if node is None:
            return Fail(f"no node {self.qualified()!r} in program {self.root.version}")
        # a command compiled once (no {variables} in its params): no node code to run
        return node.entry or self.run_node(node, None)

    def resume_node(self, result: Result) -> Action:
        node = self.program.nodes.get(self.state.get("n") or "")
        if node is None:
            return Fail(f"no node {self.qualified()!r} in program {self.root.version}")
        return self.run_node(node, result)

    def drive(self, action: Action) -> Outcome:
        while True:
            kind = type(action)
            if kind is Send:
                return self.send(action)  # type: ignore[arg-type]
            if kind is Go:
                after = self.follow(action.outcome)  # type: ignore[union-attr]
            elif kind is Fail:
                after = self.fail(action.reason)  # type: ignore[union-attr]
            elif kind is Perform:
                effect = action.effect  # type: ignore[union-attr]
                return EffectNeeded(effect, self, effect.timeout_ms)
            else:
                action = self.enter_subflow(action.flow)  # type: ignore[union-attr]
                continue
            if type(after) is Reply:
                return after
            action = after  # type: ignore[assignment]

    def enter_subflow(self, name: str) -> Action:
        if not name or name not in self.root.subflows:
            return Fail(f"{self.qualified()}: subflow {name!r} is not part of this program")
        self.state.setdefault("s", []).append([self.state.get("f", ""), self.state["n"]])
        return self.enter(name, self.root.subflows[name].entry)

    def follow(self, outcome: str) -> Action | Reply:
        state = self.state
        target = self.program.nodes[state["n"]].edges.get(outcome)
        if target is not None:
            return self.enter(state.get("f", ""), target)
        stack = state.get("s")
        if stack:  # the end of a subflow returns to the node that called it, through "done"
            flow_name, node_id = stack.pop()
            if flow_name:
                state["f"] = flow_name
            else:
                state.pop("f", None)
            self.program = self.root.flow(flow_name)
            state["n"] = node_id
            state["l"] = {}
            return Go("done")
        self.note(f"{self.qualified()}: outcome {outcome!r} is not connected; hanging up")
        state["n"] = None
        state["l"] = {}
        return self.send(_HANGUP)

    def fail(self, reason: str) -> Action | Reply:
        """The error path (once per call), else the fallback."""
        self.error = f"{self.error}; then {reason}" if self.error else reason
        on_error = self.root.on_error
        if self.state.get("e") or on_error is None or on_error not in self.root.nodes:
            return self.fallback()
        self.state["e"] = 1
        self.state.pop("s", None)
        self.variables[ERROR_VARIABLE] = reason
        self.spin = 0
        return self.enter("", on_error)

    def fallback(self) -> Reply:
        """Apologise, then hang up (the next live POST sees ``x`` and hangs up)."""
        self.state = {"v": self.root.version, "x": 1, "n": None, "k": self.state.get("k", 0)}
        self.program = self.root
        prompt = wire.media(self.config.fallback_prompt, self.config.fallback_voice)
        return self.send(Send(wire.play(prompt)) if prompt else _HANGUP)

    def send(self, action: Send) -> Reply:
        """Answer with *action*'s command (its encoded parts when compiled), state signed."""
        command, parts = action.command, action.parts
        callid = self.callback.callid
        command_id = self.callback.command_id + 1
        state = self.state
        state["i"] = command_id
        state["v"] = self.root.version
        try:
            variables, packed_json = _pack(self.config, callid, state, self.variables)
            body = wire.render_answer_parts(
                parts or wire.command_parts(command), command_id, packed_json
            )
        except (TypeError, ValueError, RecursionError):
            # node code stored something that is not JSON: keep the call alive with its text
            self.variables = _jsonable(self.variables)
            self.state = _jsonable(state)
            command = wire.Command(command.name, _jsonable(command.params))
            variables, packed_json = _pack(self.config, callid, self.state, self.variables)
            body = wire.render_answer_encoded(command, command_id, packed_json)
        answer = _filled(
            wire.Answer, {"command": command, "command_id": command_id, "variables": variables}
        )
        return _filled(Reply, {"answer": answer, "trace": self.trace(), "rendered": body})


_HANGUP: Final = Send(wire.hangup(), wire.command_parts(wire.hangup()))


def _where(state: Mapping[str, Any]) -> str | None:
    """Where the call waits: its node, ``subflow/node`` inside a subflow; None once it ended."""
    node = state.get("n")
    if not node:
        return None
    flow = state.get("f")
    return f"{flow}/{node}" if flow else str(node)


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
        return _step(program, callback, config, now, versions)
    except Exception as exc:  # a bug here must reach CALLR as an apology, never as a 500
        return _last_resort(program, callback, config, now, exc)


def _step(
    program: Program,
    callback: wire.Callback,
    config: EngineConfig,
    now: float,
    versions: Mapping[str, Program] | None,
) -> Outcome:
    if callback.call_status in _ENDED:
        return Reply(None, _ended_trace(program, callback, config))
    if callback.is_first:
        user = _echoed(callback)
        run = _Run(program, config, callback, now, {"v": program.version}, user)
        return run.drive(run.enter("", program.entry))
    try:
        state, user = _unpack(config, callback)
    except ValueError as exc:
        run = _Run(program, config, callback, now, {}, _echoed(callback))
        run.error = str(exc)
        return run.fallback()
    if state.get("i") != callback.command_id:
        run = _Run(program, config, callback, now, state, user)
        run.error = (
            f"command_id {callback.command_id} does not match the command sent ({state.get('i')})"
        )
        return run.fallback()
    version = state.get("v")
    root = program if version == program.version else (versions or {}).get(version or "")
    if root is None:  # a call from a program this server no longer has
        run = _Run(
            program, config, callback, now, {"v": program.version, "k": state.get("k", 0)}, user
        )
        return run.drive(Fail(f"unknown flow version {version!r}"))
    run = _Run(root, config, callback, now, state, user)
    node_id = state.get("n")
    if not node_id or state.get("x"):  # the flow ended, or the fallback prompt played
        return run.send(_HANGUP)
    flow_name = state.get("f")
    if flow_name and flow_name not in root.subflows:
        return run.drive(Fail(f"unknown subflow {flow_name!r} in the call state"))
    node = run.program.nodes.get(node_id)
    if node is None:
        return run.drive(Fail(f"unknown node {run.qualified()!r} in the call state"))
    kind = REGISTRY.get(node.kind)
    if callback.command == "hangup" and kind is not None and kind.ends_call:
        return run.send(_HANGUP)  # still live after our hangup: ask again
    result = _filled(
        CommandResult,
        {
            "command": callback.command,
            "result": callback.command_result,
            "error": callback.command_error,
            "call_status": callback.call_status,
        },
    )
    if kind is not None and type(kind).resume is _PLAIN_RESUME:  # no node code, no context
        return run.drive(kind.finished(result))
    return run.drive(run.run_node(node, result))


_PLAIN_RESUME: Final = NodeKind.resume


def resume(pending: EffectNeeded, result: EffectResult, *, now: float | None = None) -> Outcome:
    """Continue after an effect: the node that asked for it picks its outcome from *result*.

    Resuming the same ``pending`` twice gives the same answer (its state is copied, not shared).
    """
    run = pending.pending.copy(now)
    try:
        return run.drive(run.resume_node(result))
    except Exception as exc:
        return _last_resort(run.root, run.callback, run.config, run.now, exc)


def _echoed(callback: wire.Callback) -> dict[str, Any]:
    """The callback's variables but the state."""
    user = callback.variables.copy()
    user.pop(STATE_KEY, None)
    return user


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
    run = _Run(program, config, callback, now, {}, _jsonable(_echoed(callback)))
    run.error = f"{prefix}{type(exc).__name__}: {exc}" if prefix else str(exc)
    try:
        return run.fallback()
    except Exception:  # not even that: hang up with nothing but the state
        run.variables = {}
        run.state = {"v": program.version, "x": 1, "n": None}
        return run.send(_HANGUP)


def _ended_trace(program: Program, callback: wire.Callback, config: EngineConfig) -> Trace:
    node = version = None
    try:
        state, _ = _unpack(config, callback)
        version = state.get("v")
        node = _where(state)
    except ValueError:
        pass
    return Trace(node=node, version=version or program.version, ended=True)


def run_effects(outcome: Outcome, perform: Callable[[Effect], EffectResult]) -> Reply:
    """Drive an outcome to a Reply, performing effects synchronously (for in-process drivers)."""
    while isinstance(outcome, EffectNeeded):
        outcome = resume(outcome, perform(outcome.effect))
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
