"""Simulated phones: CALLR's side of one call, as a pure state machine.

:class:`SimulatedCall` plays what CALLR does for a call: it makes the POST bodies (all 14 fields),
runs each command the server answers against a :class:`Script` (the caller or callee: press these
digits, stay silent, hang up, be busy...), and keeps a :class:`Transcript`. It does no I/O and
reads no clock: it says how long each command took on a simulated clock, and the driver decides
whether to wait for real. ``simulate()`` drives it in-process; the sandbox drives it over HTTP.

>>> call = SimulatedCall(CallSetup(app="4346423A", callid=7, number="+33900000000",
...                                cli_number="+33100000000"), Script(presses=["1"]))
>>> first = call.start()
>>> first.callback.call_status, first.callback.command_id
('UP', 0)
>>> read = COMMANDS["read"].build(media_id="TTS|V|Press 1", max_digits=1, timeout_ms=3000)
>>> nxt = call.on_answer(wire.Answer(read, 1, {}))
>>> nxt.callback.command_result, call.transcript.heard
('1', ['Press 1'])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from flowbuilder.callr import wire
from flowbuilder.callr.commands import (
    COMMANDS,
    DIAL_ANSWERED,
    DIAL_STATUSES,
    DONE,
    DTMF,
    READ_TIMEOUT,
    TALK_HUMAN,
    describe_media,
    wav_info,
)
from flowbuilder.callr.constants import DEFAULT_TARGET_TIMEOUT_S
from flowbuilder.hygiene import clean

AnswerMode = Literal["answer", "busy", "no_answer", "congestion", "rejected"]
NEVER_ANSWERED: Final[dict[str, str]] = {
    "busy": wire.BUSY,
    "no_answer": wire.NOANSWER,
    "congestion": wire.CONGESTION,
    "rejected": wire.REJECTED,
}
SPEECH_CHARS_PER_S: Final = 15.0
#: What running a command gave: (seconds it took, command_result, whether the call ends after it).
Took = tuple[float, str, bool]
NO_ANSWER: Final = "NOANSWER"  # the dial status of a target that rang out
MAX_COMMANDS: Final = 500


@dataclass
class Script:
    """How a simulated phone behaves.

    ``presses``: digits typed at each ``read`` in turn (``None`` or ``""`` = stay silent, so the
    read times out); once used up, the phone stays silent. ``answer``: for an outbound callee,
    whether it answers (after ``answer_after_s``) or is busy / does not answer / congestion /
    rejects. ``hangup_after``: hang up during the Nth command (1-based); ``hangup_after_s``: hang
    up once the call has lasted that long. ``dial``: the status each ``dialout`` target gives in
    turn, CALLR's (``ANSWER``, the default, ``NOANSWER``, ``BUSY``...) or as ``answer`` spells
    them (``no_answer``, ``busy``...); ``talk_s``: how long a bridged call lasts before it ends.
    ``talk_detect``: the verdict of ``play_talk_detect``; ``record_s``: seconds of message left at
    each ``record``.
    """

    presses: list[str | None] = field(default_factory=list)
    answer: AnswerMode = "answer"
    answer_after_s: float = 2.0
    hangup_after: int | None = None
    hangup_after_s: float | None = None
    dial: list[str] = field(default_factory=list)
    talk_s: float = 30.0
    talk_detect: str = TALK_HUMAN
    record_s: float = 5.0

    def __post_init__(self) -> None:
        if self.answer not in ("answer", *NEVER_ANSWERED):
            raise ValueError(
                f"answer must be answer, {', '.join(NEVER_ANSWERED)}; got {self.answer!r}"
            )
        # digits typed as JSON numbers ([1, 2]) are the digits they spell
        self.presses = [
            str(p) if isinstance(p, int) and not isinstance(p, bool) else p for p in self.presses
        ]
        for i, p in enumerate(self.presses):
            if p is not None and not isinstance(p, str):
                raise ValueError(f'presses[{i}] must be digits as text, like "1", got {p!r}')
            if p and not DTMF.match(p):
                raise ValueError(f"presses[{i}] must be digits 0-9 * #, got {p!r}")
        # CALLR's spelling (NOANSWER), or the one answer= uses (no_answer): one concept, one word
        spelled = [d.upper().replace("_", "") if isinstance(d, str) else d for d in self.dial]
        for i, d in enumerate(spelled):
            if d not in DIAL_STATUSES:
                raise ValueError(
                    f"dial[{i}] must be one of {', '.join(DIAL_STATUSES)} (or answer, no_answer, "
                    f"busy...); got {self.dial[i]!r}"
                )
        self.dial = spelled

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Script:
        """A script from JSON-like data; unknown keys are refused with their name."""
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown script key(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CallSetup:
    """The facts CALLR puts in every POST of a call."""

    app: str
    callid: int
    number: str
    cli_number: str = ""
    cli_name: str = ""
    request_hash: str | None = None
    cdr_field: str = ""
    date_started: str = "2026-01-01 00:00:00"
    # outbound: how long CALLR lets the callee ring (the target's ``timeout``); None = no limit
    ring_timeout_s: float | None = None

    def callback(
        self,
        *,
        command: str = "",
        command_id: wire.CommandId = 0,
        command_result: str = "",
        command_error: str = "",
        call_status: str = wire.UP,
        variables: dict[str, Any] | None = None,
    ) -> wire.Callback:
        """A POST of this call; by default its first (UP, no command run yet).

        >>> CallSetup(app="4346423A", callid=7, number="+33900000000").callback().is_first
        True
        """
        return wire.Callback(
            app=self.app,
            callid=self.callid,
            request_hash=self.request_hash,
            cli_name=self.cli_name,
            cli_number=self.cli_number,
            date_started=self.date_started,
            number=self.number,
            command=command,
            command_id=command_id,
            command_result=command_result,
            command_error=command_error,
            call_status=call_status,
            cdr_field=self.cdr_field,
            variables={} if variables is None else variables,
        )


@dataclass(frozen=True)
class TranscriptEvent:
    """One thing that happened, at ``t`` seconds on the call's clock."""

    t: float
    kind: str  # heard, pressed, silence, dial, recorded, post, answer, hangup, error, status
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transcript:
    """What happened on one call, for people (``str()``) and machines (``to_json()``)."""

    setup: CallSetup
    direction: str
    events: list[TranscriptEvent] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    status: str = "in progress"
    reason: str = ""

    def add(self, t: float, kind: str, text: str, **data: Any) -> None:
        self.events.append(TranscriptEvent(round(t, 3), kind, text, data))

    def _texts(self, kind: str) -> list[str]:
        return [e.text for e in self.events if e.kind == kind]

    @property
    def heard(self) -> list[str]:
        """What the caller heard, in order (TTS text, or ``[media 12]``)."""
        return self._texts("heard")

    @property
    def pressed(self) -> list[str]:
        return self._texts("pressed")

    @property
    def recordings(self) -> list[str]:
        return [e.data["file"] for e in self.events if e.kind == "recorded"]

    @property
    def dialed(self) -> list[tuple[str, str]]:
        return [(e.data["number"], e.data["status"]) for e in self.events if e.kind == "dial"]

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        """Each POST with the answer it got (bodies as sent, latency in ms when known)."""
        out: list[dict[str, Any]] = []
        for e in self.events:
            if e.kind == "post":
                out.append({"t": e.t, "request": e.data["body"], "answer": None})
            elif e.kind == "answer" and out:
                out[-1]["answer"] = e.data.get("body")
                out[-1]["latency_ms"] = e.data.get("latency_ms")
        return out

    @property
    def duration_s(self) -> float:
        return self.events[-1].t if self.events else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "setup": asdict(self.setup),
            "direction": self.direction,
            "status": self.status,
            "reason": self.reason,
            "path": list(self.path),
            "heard": self.heard,
            "pressed": self.pressed,
            "recordings": self.recordings,
            "dialed": [list(d) for d in self.dialed],
            "duration_s": self.duration_s,
            "events": [asdict(e) for e in self.events],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    def __str__(self) -> str:
        """One line per event; what callers, flows and servers put in a field is shown with its
        control characters escaped and URLs without credentials, so it stays on its line."""
        lines = [
            clean(
                f"call {self.setup.callid} {self.direction} "
                f"{self.setup.cli_number or 'anonymous'} -> {self.setup.number}, "
                f"started {self.setup.date_started} UTC"
            )
        ]
        shown = {
            "heard": "🔊",
            "pressed": "⌨",
            "silence": "…",
            "dial": "📞",
            "recorded": "⏺",
            "hangup": "☎",
            "error": "⚠",
            "warning": "⚠",
            "status": "•",
        }
        for e in self.events:
            if e.kind in shown:
                lines.append(clean(f"  {e.t:7.1f}s {shown[e.kind]} {e.text}"))
        if self.path:  # unknown for calls driven over HTTP unless the server reports it
            lines.append(clean(f"  path: {' → '.join(self.path)}"))
        reason = f" ({self.reason})" if self.reason else ""
        lines.append(clean(f"  status: {self.status}{reason}"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"


@dataclass(frozen=True)
class NextPost:
    """The next POST to make, ``delay_s`` seconds of call time after the previous answer."""

    callback: wire.Callback
    delay_s: float

    @property
    def final(self) -> bool:
        """After this POST nothing more is sent (HANGUP or never answered)."""
        return self.callback.call_status in wire.ENDED_STATUSES


class SimulatedCall:
    """CALLR's side of one call. ``start()`` gives the first POST, ``on_answer()`` each next one."""

    def __init__(
        self, setup: CallSetup, script: Script | None = None, *, start_s: float = 0.0
    ) -> None:
        self.setup = setup
        self.script = script or Script()
        self.direction = "outbound" if setup.request_hash is not None else "inbound"
        self.transcript = Transcript(setup, self.direction)
        self.clock = start_s
        self._presses = list(self.script.presses)
        self._dial = list(self.script.dial)
        self._commands = 0
        self._recordings = 0
        self._last: wire.Callback | None = None
        self.ended = False

    # -- posts ------------------------------------------------------------------------------

    def _post(
        self,
        *,
        command: str = "",
        command_id: wire.CommandId = 0,
        result: str = "",
        error: str = "",
        status: str = wire.UP,
        variables: dict[str, Any] | None = None,
        delay_s: float = 0.0,
    ) -> NextPost:
        self.clock += delay_s
        cb = self.setup.callback(
            command=command,
            command_id=command_id,
            command_result=result,
            command_error=error,
            call_status=status,
            variables=variables or {},
        )
        self._last = cb
        self.transcript.add(
            self.clock, "post", f"POST {status} {command or '(first)'}", body=cb.to_json()
        )
        if status in wire.ENDED_STATUSES:
            self.ended = True
        return NextPost(cb, delay_s)

    def start(self) -> NextPost:
        """The first POST: the call is up, or (outbound) it never got answered."""
        mode, limit = self.script.answer, self.setup.ring_timeout_s
        if mode == "answer" and limit is not None and self.script.answer_after_s > limit:
            mode = "no_answer"  # it rang out before the callee picked up
        never = NEVER_ANSWERED.get(mode)
        if self.direction == "outbound" and never:
            ring = 1.0
            if never == wire.NOANSWER:
                ring = self.script.answer_after_s if limit is None else limit
            self.transcript.add(self.clock + ring, "status", f"callee: {mode}")
            self._finish(mode, "")  # as the script says it: busy, no_answer...
            return self._post(status=never, delay_s=ring)
        delay = self.script.answer_after_s if self.direction == "outbound" else 0.0
        if self.direction == "outbound":
            self.transcript.add(self.clock + delay, "status", "callee answered")
        return self._post(delay_s=delay)

    def fail(self, reason: str) -> None:
        """The server's answer was late, not 200 or malformed: CALLR hangs the call up."""
        self.transcript.add(self.clock, "error", reason)
        self._finish("failed", reason)
        self.ended = True

    def interrupt(self, pending: NextPost, after_s: float, reason: str) -> NextPost:
        """The call is hung up from outside (``calls.hangup``) *after_s* into the command that
        *pending* would report: a HANGUP POST with no result replaces *pending*, and what the
        command would have done after that moment is dropped from the transcript."""
        if pending.final:
            return pending
        cut = self.clock - pending.delay_s + max(0.0, min(after_s, pending.delay_s))
        events = self.transcript.events
        last_post = max(i for i, e in enumerate(events) if e.kind == "post")
        events[:] = [e for i, e in enumerate(events) if i != last_post and e.t <= round(cut, 3)]
        self.clock = cut
        self.transcript.add(cut, "hangup", reason)
        self._finish("hung up", reason)
        cb = pending.callback
        return self._post(
            command=cb.command,
            command_id=cb.command_id,
            status=wire.HANGUP,
            variables=cb.variables,
        )

    def on_answer(
        self, answer: wire.Answer | None, *, latency_ms: float | None = None
    ) -> NextPost | None:
        """Run the answered command; the next POST, or None when the call is over."""
        if self.ended:
            return None
        if answer is None:
            self.fail("empty answer to a live call")
            return None
        self.transcript.add(
            self.clock,
            "answer",
            answer.command.name,
            body=json.loads(wire.render_answer(answer)),
            latency_ms=latency_ms,
        )
        self._commands += 1
        if self._commands > MAX_COMMANDS:
            self.fail(f"more than {MAX_COMMANDS} commands")
            return None
        name = answer.command.name
        echo = dict(answer.variables)
        base: dict[str, Any] = {"command": name, "command_id": answer.command_id, "variables": echo}
        spec = COMMANDS.get(name)
        if spec is None:
            self.transcript.add(self.clock, "error", f"{name}: not a CALLR command")
            return self._post(**base, error="INVALID_COMMAND [command]", delay_s=0.1)
        problem = spec.problem(answer.command.params)
        if problem is not None:
            error, why = problem
            self.transcript.add(self.clock, "error", f"{name}: {error}: {why}")
            return self._post(**base, error=error, delay_s=0.1)
        if name == "hangup":
            self.transcript.add(self.clock, "hangup", "the flow hung up")
            self._finish("completed", "")
            return self._post(**base, status=wire.HANGUP)
        before = len(self.transcript.events)
        behaviour = self._BEHAVIOUR[name]
        duration, result, ends = behaviour(self, spec.with_defaults(answer.command.params))
        if self._caller_hangs_up(duration):
            # the caller leaves halfway through: nothing after that moment happened
            at = min(duration / 2, 1.0)
            kept = [e for e in self.transcript.events[before:] if e.t <= self.clock + at]
            del self.transcript.events[before:]
            self.transcript.events.extend(kept)
            self.transcript.add(self.clock + at, "hangup", "the caller hung up")
            self._finish("caller hung up", "")
            return self._post(**base, status=wire.HANGUP, delay_s=at)
        if ends:
            self.transcript.add(self.clock + duration, "hangup", "the bridged call ended")
            self._finish("completed", "bridged")
            return self._post(**base, result=result, status=wire.HANGUP, delay_s=duration)
        return self._post(**base, result=result, delay_s=duration)

    def _caller_hangs_up(self, duration: float) -> bool:
        s = self.script
        if s.hangup_after is not None and self._commands >= s.hangup_after:
            return True
        return s.hangup_after_s is not None and self.clock + duration >= s.hangup_after_s

    def _finish(self, status: str, reason: str) -> None:
        if self.transcript.status == "in progress":
            self.transcript.status = status
            self.transcript.reason = reason

    # -- commands ---------------------------------------------------------------------------

    def _hear(self, media_value: Any, at: float) -> float:
        text = describe_media(media_value)
        if not text:
            return 0.0
        self.transcript.add(at, "heard", text)
        return max(0.5, len(text) / SPEECH_CHARS_PER_S)

    # what each command does: (seconds it took, command_result, whether the call ends after it),
    # given its params with the SDK's defaults filled in (a test holds every command to one)

    def _play(self, p: Mapping[str, Any]) -> Took:
        return self._hear(p["media_id"], self.clock), DONE, False

    def _read(self, p: Mapping[str, Any]) -> Took:
        t = self.clock
        spoken = self._hear(p["media_id"], t)
        digits = self._presses.pop(0) if self._presses else None
        if digits:
            digits = digits[: p["max_digits"]]
            self.transcript.add(t + spoken + 1, "pressed", digits)
            return spoken + 1 + 0.3 * len(digits), digits, False
        waited = p["attempts"] * p["timeout_ms"] / 1000
        self.transcript.add(t + spoken + waited, "silence", "no key pressed")
        return spoken + waited, READ_TIMEOUT, False

    def _record(self, p: Mapping[str, Any]) -> Took:
        self._recordings += 1
        length = min(self.script.record_s, p["max_duration"] or 300)
        file = f"rec_{self.setup.callid}_{self._recordings}.wav"
        self.transcript.add(self.clock + length, "recorded", f"{length:g}s message", file=file)
        return length, file, False

    def _play_record(self, p: Mapping[str, Any]) -> Took:
        self.transcript.add(self.clock, "heard", f"[recording {p['media_file']}]")
        return 3.0, DONE, False

    def _play_wav_data(self, p: Mapping[str, Any]) -> Took:
        seconds, size = wav_info(p["audio_data"])  # checked before: valid
        self.transcript.add(self.clock, "heard", f"[WAV audio, {seconds:g}s, {size} bytes]")
        return max(seconds, 0.1), DONE, False

    def _play_talk_detect(self, p: Mapping[str, Any]) -> Took:
        return self._hear(p["media_id"], self.clock) + 1, self.script.talk_detect, False

    def _wait(self, p: Mapping[str, Any]) -> Took:
        self.transcript.add(self.clock, "status", f"waiting {p['seconds']:g}s")
        return float(p["seconds"]), DONE, False

    def _call_recording(self, p: Mapping[str, Any], what: str) -> Took:
        self.transcript.add(self.clock, "status", what)
        return self._hear(p["announce"], self.clock), DONE, False

    def _start_call_recording(self, p: Mapping[str, Any]) -> Took:
        return self._call_recording(p, "start call recording")

    def _stop_call_recording(self, p: Mapping[str, Any]) -> Took:
        return self._call_recording(p, "stop call recording")

    def _send_dtmf(self, p: Mapping[str, Any]) -> Took:
        self.transcript.add(self.clock, "status", f"sent DTMF {p['digits']}")
        return 0.2 * len(p["digits"]), DONE, False

    def _wait_for_silence(self, p: Mapping[str, Any]) -> Took:
        quiet = p["silence_ms"] / 1000 * p["iterations"]
        self.transcript.add(self.clock + quiet, "status", "silence detected")
        return quiet, DONE, False

    def _simple_conference(self, p: Mapping[str, Any]) -> Took:
        self.transcript.add(self.clock, "status", f"in conference {p['id']}")
        return self.script.talk_s, DONE, False

    def _hangup_callid(self, p: Mapping[str, Any]) -> Took:
        self.transcript.add(self.clock, "status", f"hung up call {p['callid']}")
        return 0.1, DONE, False

    def _conference(self, p: Mapping[str, Any]) -> Took:
        """Welcome, then the PIN (each try uses the next ``presses`` entry), then the room."""
        t = self.clock
        elapsed = self._hear(p["welcome"], t)
        pin = str(p["pin_code"])
        tries = p["pin_max_tries"] if pin else 0
        for _ in range(tries):
            elapsed += self._hear(p["pin_prompt"], t + elapsed)
            typed = self._presses.pop(0) if self._presses else None
            if typed:
                elapsed += 1 + 0.3 * len(typed)
                self.transcript.add(t + elapsed, "pressed", typed)
            else:
                elapsed += p["pin_wait"]
                self.transcript.add(t + elapsed, "silence", "no PIN typed")
            if typed and typed.removesuffix("#") == pin:
                elapsed += self._hear(p["pin_valid"], t + elapsed)
                break
            elapsed += self._hear(p["pin_error"], t + elapsed)
        else:
            if tries:  # CALLR's behaviour here is not documented: the command ends, not joined
                self.transcript.add(t + elapsed, "status", f"wrong PIN {tries} times: not admitted")
                return elapsed, DONE, False
        self.transcript.add(t + elapsed, "status", f"in conference {p['id']}")
        return elapsed + self.script.talk_s, DONE, False

    def _dialout(self, p: Mapping[str, Any]) -> Took:
        elapsed = 0.0  # the whisper is played to the callee, not heard by the caller
        status = NO_ANSWER
        for target in p["targets"]:
            status = self._dial.pop(0) if self._dial else DIAL_ANSWERED
            ring = target.get("timeout", DEFAULT_TARGET_TIMEOUT_S) if status == NO_ANSWER else 3.0
            elapsed += ring
            number = target["number"]
            self.transcript.add(
                self.clock + elapsed, "dial", f"{number}: {status}", number=number, status=status
            )
            if status == DIAL_ANSWERED:
                return elapsed + self.script.talk_s, status, True
        return elapsed, status, False

    _BEHAVIOUR: Final[dict[str, Callable[[SimulatedCall, Mapping[str, Any]], Took]]] = {
        "play": _play,
        "read": _read,
        "record": _record,
        "play_record": _play_record,
        "play_wav_data": _play_wav_data,
        "play_talk_detect": _play_talk_detect,
        "dialout": _dialout,
        "conference": _conference,
        "simple_conference": _simple_conference,
        "send_dtmf": _send_dtmf,
        "wait": _wait,
        "wait_for_silence": _wait_for_silence,
        "start_call_recording": _start_call_recording,
        "stop_call_recording": _stop_call_recording,
        "hangup_callid": _hangup_callid,
    }


def script_of(value: Script | Mapping[str, Any] | Sequence[str | None] | None) -> Script:
    """Accept a Script, its data, or a plain list of presses."""
    if value is None:
        return Script()
    if isinstance(value, Script):
        return value
    if isinstance(value, Mapping):
        return Script.from_data(value)
    if isinstance(value, str):
        raise ValueError("give presses as a list, e.g. ['1', '2']")
    return Script(presses=list(_presses(value)))


def _presses(values: Iterable[str | None]) -> Iterable[str | None]:
    for v in values:
        yield None if v in (None, "") else str(v)
