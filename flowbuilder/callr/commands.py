"""CALLR's REAL-TIME commands, declared once: names, parameters (type, bounds, default), results.

Everything that makes or checks a command reads :data:`COMMANDS`: :func:`build` (what node kinds
send), the node kinds' parameters (:meth:`Key.bounds`), the simulated phone's checks
(:meth:`Spec.problem`) and behaviour, the sandbox and the generated docs. Defaults are those of
CALLR's official SDK (THECALLR/sdk-php, ``Realtime/Command.php``), so a command built with keys
left out is the command that SDK sends; ``REQUIRED`` keys have no default there.

>>> build("read", media_id=tts("Your PIN?", "TTS_EN-GB_SERENA"), max_digits=4).params
{'attempts': 10, 'max_digits': 4, 'media_id': 'TTS|TTS_EN-GB_SERENA|Your PIN?', 'timeout_ms': 30000}
>>> COMMANDS["read"].problem({"media_id": 0, "max_digits": 25})
('PROPERTY_VALUE_ERROR [params.max_digits]', 'max_digits must be 1 to 20, got 25')
>>> COMMANDS["wait"].problem({"wait": 3}), COMMANDS["wait"].with_defaults({"wait": 3})
(None, {'seconds': 3})
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from flowbuilder.callr.constants import (
    CDR_FIELD,
    CLI_BLOCKED,
    DEFAULT_TARGET_TIMEOUT_S,
    E164,
    TARGET_TIMEOUT_S,
)
from flowbuilder.callr.wire import Command

# -- media ---------------------------------------------------------------------------------------

#: ``0`` means "no media" for optional media params.
NO_MEDIA: Final = 0
Media = int | str


def tts(text: str, voice: str) -> str:
    """A TTS media id: ``TTS|<VOICE>|<text>``."""
    return f"TTS|{voice}|{text}"


def media(prompt: int | str | None, voice: str) -> Media:
    """A prompt as an rt_media: an int is a library id, text is spoken, empty is none."""
    if prompt is None or prompt == "" or prompt == NO_MEDIA:
        return NO_MEDIA
    if isinstance(prompt, int):
        return prompt
    return tts(prompt, voice)


def describe_media(value: Any) -> str:
    """What a caller hears, as text: the TTS text, or ``[media 1234]``.

    >>> describe_media("TTS|TTS_FR-FR_AUDREY|Bonjour"), describe_media(42), describe_media(0)
    ('Bonjour', '[media 42]', '')
    """
    if isinstance(value, str) and value.startswith("TTS|"):
        return value.split("|", 2)[2] if value.count("|") >= 2 else ""
    if value in (0, "0", None, ""):
        return ""
    return f"[media {value}]"


# -- command results -----------------------------------------------------------------------------

#: ``read``'s result when nothing was typed.
READ_TIMEOUT: Final = "TIMEOUT"
#: The result of commands that report nothing but completion (``play``...).
DONE: Final = "0"
#: ``dialout``'s results (the reference's assumption: dial statuses), each with what it means
#: for the caller: bridged, nobody answered, busy, or the network failed.
DIAL_OUTCOMES: Final = {
    "ANSWER": "answered",
    "NOANSWER": "no_answer",
    "CANCEL": "no_answer",
    "BUSY": "busy",
    "CONGESTION": "failed",
    "CHANUNAVAIL": "failed",
}
DIAL_STATUSES: Final = tuple(DIAL_OUTCOMES)
DIAL_ANSWERED: Final = "ANSWER"
#: ``play_talk_detect``'s verdicts (undocumented: text containing one of these words).
TALK_HUMAN: Final = "HUMAN"
TALK_MACHINE: Final = "MACHINE"

#: ``play_wav_data``: the most base64 text accepted (CALLR's limit is unknown; about 95 s of
#: 8 kHz 16-bit mono audio).
MAX_AUDIO_DATA_CHARS: Final = 2 * 1024 * 1024

# -- declarations --------------------------------------------------------------------------------

KeyType = Literal[
    "int",  # an integer within min..max
    "bool",  # true or false (0 and 1 too, as PHP sends them)
    "text",  # a string of at most max characters
    "media",  # an rt_media: a library id (int) or a TTS string; 0 for none
    "digits",  # DTMF: 0-9 * #, at least one
    "pin",  # a PIN: digits 0-9, "" for none
    "room",  # a conference id: a number or a non-empty string
    "targets",  # dial targets: [{"number": "+E164", "timeout": seconds}, ...]
    "cli",  # a caller id: BLOCKED or +E164
    "cdr",  # a custom CDR field: up to 32 letters and digits
    "choice",  # one of choices
    "callid",  # a CALLR call id
    "file",  # a recording's file name, as record gave it
    "audio",  # base64-encoded WAV bytes
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a key the SDK always makes its caller give.
REQUIRED: Final = _Required()
#: Touch tones: 0-9, * and #.
DTMF: Final = re.compile(r"[0-9*#]+\Z")
#: A conference PIN: digits only, empty for none.
PIN: Final = re.compile(r"[0-9]*\Z")
_FORMAT: Final = "INVALID_PARAM_FORMAT"
_VALUE: Final = "PROPERTY_VALUE_ERROR"


@dataclass(frozen=True)
class Key:
    """One parameter of a command."""

    name: str
    type: KeyType
    default: Any = REQUIRED
    doc: str = ""
    min: int | None = None
    max: int | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    #: an older name of the key, still accepted (``wait``'s ``wait``)
    alias: str | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def bounds(self) -> dict[str, Any]:
        """What a node parameter wrapping this key inherits: its bounds, unit and choices."""
        found: dict[str, Any] = {"min": self.min, "max": self.max, "unit": self.unit}
        if self.choices:
            found["choices"] = self.choices
        return found

    def problem(self, value: Any) -> tuple[str, str] | None:
        """CALLR's error for a value it would refuse (``CODE [params.key]``, then why), or None."""
        why = self._why(value)
        if why is None:
            return None
        code, reason = why
        return f"{code} [params.{self.name}]", f"{self.name} {reason}"

    def _why(self, value: Any) -> tuple[str, str] | None:
        kind = self.type
        if kind in ("int", "callid"):
            if not isinstance(value, int) or isinstance(value, bool):
                return _FORMAT, f"must be an integer, got {_shown(value)}"
            low = self.min if self.min is not None else value
            high = self.max if self.max is not None else value
            if not low <= value <= high:
                return _VALUE, f"must be {self.min} to {self.max}{_unit(self.unit)}, got {value}"
            return None
        if kind == "bool":
            return None if value in (True, False, 0, 1) else (_FORMAT, "must be true or false")
        if kind == "media":
            if isinstance(value, bool) or not isinstance(value, int | str):
                return _FORMAT, f"must be a media id or a TTS string, got {_shown(value)}"
            return None
        if not isinstance(value, str) and kind not in ("room", "pin", "targets"):
            return _FORMAT, f"must be a string, got {_shown(value)}"
        return _TEXT_CHECKS[kind](self, value)


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(key: Key, value: str) -> tuple[str, str] | None:
    if key.max is not None and len(value) > key.max:
        return _VALUE, f"must be at most {key.max} characters"
    return None


def _digits(key: Key, value: str) -> tuple[str, str] | None:
    return None if DTMF.match(value) else (_VALUE, "must be DTMF digits 0-9, * and #")


def _pin(key: Key, value: Any) -> tuple[str, str] | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return _FORMAT, f"must be digits, got {_shown(value)}"
    return None if PIN.match(str(value)) else (_VALUE, "must be digits 0-9 (or empty)")


def _room(key: Key, value: Any) -> tuple[str, str] | None:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return _FORMAT, f"must be a room number or name, got {_shown(value)}"
    return None


def _targets(key: Key, value: Any) -> tuple[str, str] | None:
    if not isinstance(value, list) or not value:
        return _FORMAT, "must be a non-empty list of {'number': '+E164', 'timeout': seconds}"
    low, high = TARGET_TIMEOUT_S
    for target in value:
        if not isinstance(target, dict) or not E164.match(str(target.get("number"))):
            return _FORMAT, f"needs +E164 numbers, got {_shown(target)}"
        timeout = target.get("timeout", DEFAULT_TARGET_TIMEOUT_S)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not low <= timeout <= high:
            return _VALUE, f"timeouts must be {low} to {high} s, got {_shown(timeout)}"
    return None


def _cli(key: Key, value: str) -> tuple[str, str] | None:
    ok = value == CLI_BLOCKED or E164.match(value)
    return None if ok else (_VALUE, f"must be {CLI_BLOCKED} or +E164, got {_shown(value)}")


def _cdr(key: Key, value: str) -> tuple[str, str] | None:
    ok = CDR_FIELD.match(value)
    return None if ok else (_VALUE, "must be up to 32 letters and digits")


def _choice(key: Key, value: str) -> tuple[str, str] | None:
    ok = value in key.choices
    return None if ok else (_VALUE, f"must be one of {', '.join(key.choices)}, got {_shown(value)}")


def _file(key: Key, value: str) -> tuple[str, str] | None:
    return None if value else (_FORMAT, "must name a recording")


def _audio(key: Key, value: str) -> tuple[str, str] | None:
    try:
        wav_info(value)
    except ValueError as exc:
        return _VALUE, str(exc)
    return None


_TEXT_CHECKS: Final = {
    "text": _text,
    "digits": _digits,
    "pin": _pin,
    "room": _room,
    "targets": _targets,
    "cli": _cli,
    "cdr": _cdr,
    "choice": _choice,
    "file": _file,
    "audio": _audio,
}


def wav_info(audio_data: str) -> tuple[float, int]:
    """(seconds, bytes) of base64-encoded WAV audio; ValueError saying what is wrong.

    >>> import base64, io, wave
    >>> out = io.BytesIO()
    >>> with wave.open(out, "wb") as w:
    ...     w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    ...     w.writeframes(bytes(16000))
    >>> wav_info(base64.b64encode(out.getvalue()).decode())
    (1.0, 16044)
    >>> wav_info("bm90IGEgd2F2")
    Traceback (most recent call last):
    ...
    ValueError: audio_data is not a WAV file (no RIFF/WAVE header)
    """
    if len(audio_data) > MAX_AUDIO_DATA_CHARS:
        raise ValueError(
            f"audio_data is {len(audio_data)} characters of base64; "
            f"the limit is {MAX_AUDIO_DATA_CHARS}"
        )
    try:
        data = base64.b64decode(audio_data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("audio_data is not valid base64") from None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("audio_data is not a WAV file (no RIFF/WAVE header)")
    try:
        with wave.open(io.BytesIO(data)) as audio:
            frames, rate = audio.getnframes(), audio.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"audio_data is not a playable WAV file: {exc}") from None
    if not rate:
        raise ValueError("audio_data is not a playable WAV file: its frame rate is 0")
    return round(frames / rate, 3), len(data)


@dataclass(frozen=True)
class Spec:
    """One command: its name, keys in the SDK's order, and what ``command_result`` holds."""

    name: str
    keys: tuple[Key, ...]
    doc: str
    result: str
    #: the key names, for :meth:`build` (which runs on every answer)
    names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(k.name for k in self.keys))

    def key(self, name: str) -> Key:
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(f"{self.name} has no parameter {name!r}")

    @property
    def media_keys(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys if k.type == "media")

    def with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """*params* with older key names renamed and keys left out at their SDK default;
        required keys left out stay out."""
        out: dict[str, Any] = {}
        for key in self.keys:
            if key.name in params:
                out[key.name] = params[key.name]
            elif key.alias is not None and key.alias in params:
                out[key.name] = params[key.alias]
            elif not key.required:
                out[key.name] = key.default
        return out

    def problem(self, params: Mapping[str, Any]) -> tuple[str, str] | None:
        """The error CALLR gives for these params (``CODE [params.key]``, then why), or None:
        a required key left out, an unknown key, or a value out of type or bounds."""
        known = {k.name for k in self.keys} | {k.alias for k in self.keys if k.alias}
        unknown = sorted(set(params) - known)
        if unknown:
            return f"{_FORMAT} [params.{unknown[0]}]", f"{self.name} has no key {unknown[0]!r}"
        full = self.with_defaults(params)
        for key in self.keys:
            if key.name not in full:
                return f"{_FORMAT} [params.{key.name}]", f"{self.name} needs {key.name}"
            found = key.problem(full[key.name])
            if found is not None:
                return found
        return None

    def build(self, **params: Any) -> Command:
        """The command with *params*, keys in the SDK's order, defaults filled in.

        Raises TypeError for an unknown key or a required one left out (a bug in the caller).
        """
        if not params.keys() <= self.names:
            unknown = sorted(params.keys() - self.names)
            raise TypeError(f"{self.name} has no parameter(s) {', '.join(unknown)}")
        if len(params) == len(self.keys):  # every key given: only their order to set
            return Command(self.name, {k.name: params[k.name] for k in self.keys})
        missing = [k.name for k in self.keys if k.required and k.name not in params]
        if missing:
            raise TypeError(f"{self.name} needs {', '.join(missing)}")
        return Command(self.name, self.with_defaults(params))


def _media(name: str, doc: str, default: Any = NO_MEDIA) -> Key:
    return Key(name, "media", default, doc)


COMMANDS: Final[dict[str, Spec]] = {
    spec.name: spec
    for spec in (
        Spec(
            "play",
            (_media("media_id", "what the caller hears", REQUIRED),),
            "Play a media (a library id, or TTS text).",
            f"{DONE!r} when played",
        ),
        Spec(
            # keys in the SDK's (alphabetical) order
            "read",
            (
                Key("attempts", "int", 10, "times the prompt is played and waited on", 1, 10),
                Key("max_digits", "int", 20, "most digits read", 1, 20),
                _media("media_id", "the prompt", REQUIRED),
                Key("timeout_ms", "int", 30000, "silence before an attempt ends", 100, 30000, "ms"),
            ),
            "Play a prompt and read digits.",
            f"the digits typed, or {READ_TIMEOUT!r}",
        ),
        Spec(
            "record",
            (
                Key(
                    "max_duration", "int", REQUIRED, "longest recording; 0 is no limit", 0, 300, "s"
                ),
                Key("silence", "int", 0, "silence that ends it; 0 is off", 0, 20, "s"),
            ),
            "Record the caller until silence, # or the time limit.",
            "a temporary file name, for play_record",
        ),
        Spec(
            "play_record",
            (Key("media_file", "file", REQUIRED, "a file name given by record"),),
            "Play back a recording made in this call.",
            f"{DONE!r} when played",
        ),
        Spec(
            "play_wav_data",
            (Key("audio_data", "audio", REQUIRED, "base64-encoded WAV bytes"),),
            "Play WAV audio sent inline (base64).",
            f"{DONE!r} when played (assumed)",
        ),
        Spec(
            "play_talk_detect",
            (
                _media("media_id", "played while listening", REQUIRED),
                Key("silence_ms", "int", 800, "silence after speech that ends the analysis"),
                Key("min_ms", "int", 100, "shortest sound counted as speech"),
                Key("max_ms", "int", 2000, "longer speech is a machine's greeting"),
                Key("analysistime_ms", "int", 5000, "longest time spent listening"),
            ),
            "Play a prompt while telling a person from an answering machine.",
            f"a verdict containing {TALK_HUMAN} or {TALK_MACHINE} (undocumented)",
        ),
        Spec(
            "dialout",
            (
                Key("targets", "targets", REQUIRED, "numbers called one after another"),
                Key("cli", "cli", CLI_BLOCKED, "caller id shown to the callee"),
                Key(
                    "ringtone", "choice", "RING", "what the caller hears", choices=("RING", "MUSIC")
                ),
                _media("whisper", "played to the callee before connecting"),
                Key("cdr_field", "cdr", "", "custom CDR field"),
            ),
            "Call targets until one answers and bridge the caller to it.",
            f"a dial status: {', '.join(DIAL_STATUSES)} (assumed)",
        ),
        Spec(
            "conference",
            (
                Key("id", "room", REQUIRED, "the room: callers given the same id talk together"),
                Key("auto_leave_announce", "media", NO_MEDIA, "played when left alone"),
                Key("auto_leave_when_alone", "bool", False, "leave when everyone else has left"),
                Key("pin_code", "pin", "", "PIN to type, then #; empty joins at once"),
                _media("pin_error", "played after a wrong PIN"),
                Key("pin_max_tries", "int", 3, "times the PIN is asked for", 1, 10),
                _media("pin_prompt", "asks for the PIN"),
                _media("pin_valid", "played after the right PIN"),
                Key("pin_wait", "int", 5, "wait for each digit of the PIN", 0, 30, "s"),
                _media("user_join", "played to the room when someone joins"),
                _media("user_leave", "played to the room when someone leaves"),
                _media("waiting", "played while alone in the room"),
                _media("welcome", "played before joining"),
            ),
            "Join a conference room, optionally behind a PIN.",
            "unknown: it returns when the caller leaves the room",
        ),
        Spec(
            "simple_conference",
            (
                Key("id", "room", REQUIRED, "the room"),
                Key("auto_leave_when_alone", "bool", True, "leave when everyone else has left"),
            ),
            "Join a conference room, no PIN, no announcements.",
            "unknown: it returns when the caller leaves the room",
        ),
        Spec(
            "send_dtmf",
            (
                Key("digits", "digits", REQUIRED, "tones to send, e.g. 123#"),
                Key("duration_ms", "int", 500, "how long each tone lasts", 1, 5000, "ms"),
                Key("timeout_ms", "int", 500, "pause between tones", 0, 10000, "ms"),
            ),
            "Send touch tones on the call.",
            f"{DONE!r} (assumed)",
        ),
        Spec(
            "wait",
            (Key("seconds", "int", 1, "how long to wait", 1, 30, "s", alias="wait"),),
            "Pause the call (silence).",
            f"{DONE!r} (assumed)",
        ),
        Spec(
            "wait_for_silence",
            (
                Key("silence_ms", "int", REQUIRED, "silence to detect", 1, 5000, "ms"),
                Key("iterations", "int", REQUIRED, "times to detect it", 1, 3),
                Key("timeout", "int", REQUIRED, "go on anyway after; 0 is no limit", 0, 300, "s"),
            ),
            "Wait until the other side stops talking.",
            f"{DONE!r} (assumed)",
        ),
        Spec(
            "start_call_recording",
            (_media("announce", "tells the caller the call is recorded; 0 for none"),),
            "Start recording the whole conversation.",
            f"{DONE!r} (assumed)",
        ),
        Spec(
            "stop_call_recording",
            (_media("announce", "tells the caller the recording stopped; 0 for none"),),
            "Stop recording the conversation.",
            f"{DONE!r} (assumed)",
        ),
        Spec("hangup", (), "End the call.", "none: the next POST is HANGUP"),
        Spec(
            "hangup_callid",
            (Key("callid", "callid", REQUIRED, "the call to hang up"),),
            "Hang up another call.",
            f"{DONE!r} (assumed)",
        ),
    )
}


def build(name: str, **params: Any) -> Command:
    """The command *name* with *params* (see :meth:`Spec.build`)."""
    return COMMANDS[name].build(**params)


HANGUP: Final = build("hangup")
