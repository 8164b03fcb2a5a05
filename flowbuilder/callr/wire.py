"""The one place that knows CALLR's REAL-TIME JSON: callback bodies and answers.

Both sides use it: the callback server parses callbacks and renders answers; the sandbox renders
callbacks and parses answers. Field and status names are spelled here and nowhere else; the
commands an answer carries are declared in :mod:`flowbuilder.callr.commands`.

>>> cb = parse_callback(b'{"app": "4346423A", "callid": 1, "request_hash": null, "cli_name": "",'
...     b' "cli_number": "+33100000000", "date_started": "2026-01-01 10:00:00",'
...     b' "number": "+33900000000", "command": "", "command_id": 0, "command_result": "",'
...     b' "command_error": "", "call_status": "UP", "cdr_field": "", "variables": {}}')
>>> cb.is_first, cb.direction
(True, 'inbound')
>>> render_answer(Answer(Command("play", {"media_id": "TTS|TTS_EN-GB_SERENA|Hello"}), 1, {}))
b'{"command":"play","command_id":1,"params":{"media_id":"TTS|TTS_EN-GB_SERENA|Hello"},"variables":{}}'

A command id is whatever the server chose, an integer or a string (CALLR's PHP SDK answers with
labels), and comes back unchanged:

>>> parse_answer(b'{"command":"hangup","command_id":"ask_age","params":{},"variables":{}}')
Answer(command=Command(name='hangup', params={}), command_id='ask_age', variables={})
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Final

import msgspec
import orjson

from flowbuilder.callr.nesting import depth_error, too_deep
from flowbuilder.errors import CallbackError

# -- call statuses -------------------------------------------------------------------------------

INCOMING_CALL: Final = "INCOMING_CALL"
UP: Final = "UP"
HANGUP: Final = "HANGUP"
NOANSWER: Final = "NOANSWER"
BUSY: Final = "BUSY"
CONGESTION: Final = "CONGESTION"
REJECTED: Final = "REJECTED"
LIVE_STATUSES: Final = frozenset({INCOMING_CALL, UP})
NEVER_ANSWERED_STATUSES: Final = frozenset({NOANSWER, BUSY, CONGESTION, REJECTED})
ENDED_STATUSES: Final = NEVER_ANSWERED_STATUSES | {HANGUP}
CALL_STATUSES: Final = LIVE_STATUSES | ENDED_STATUSES

_CALLBACK_FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "app": (str,),
    "callid": (int,),
    "request_hash": (str, type(None)),
    "cli_name": (str,),
    "cli_number": (str,),
    "date_started": (str,),
    "number": (str,),
    "command": (str,),
    "command_id": (int, str),
    "command_result": (str,),
    "command_error": (str,),
    "call_status": (str,),
    "cdr_field": (str,),
    "variables": (dict,),
}
CALLBACK_FIELDS: Final = tuple(_CALLBACK_FIELDS)

#: The longest text each callback field may hold, in characters: CALLR's own sizes (an app or
#: request hash is 8 characters, numbers are E.164, command names are short, a CDR field is 32)
#: with room to spare. Past one, the callback is refused (400) naming the field, so no request
#: can make the server keep (in its call table, event log, traces) more than these.
FIELD_MAX_CHARS: Final[dict[str, int]] = {
    "app": 64,
    "request_hash": 64,
    "cli_name": 256,
    "cli_number": 64,
    "date_started": 64,
    "number": 64,
    "command": 64,
    "command_id": 64,  # when text: a label the server chose
    "command_result": 8192,
    "command_error": 8192,
    "call_status": 64,
    "cdr_field": 256,
}


# integers the fast decoder takes; others go the careful way (which takes up to 64 bits, unsigned
# included, and refuses longer ones: orjson reads them as floats)
_INT64: Final = msgspec.Meta(ge=-(2**63), le=2**63 - 1)
# text over its limit (FIELD_MAX_CHARS) also goes the careful way, which names the field
_MAX: Final = {name: msgspec.Meta(max_length=n) for name, n in FIELD_MAX_CHARS.items()}
#: What a command id may be: the server's choice, an integer or a string, echoed unchanged.
CommandId = int | str


@dataclass(frozen=True, slots=True)
class Callback:
    """One POST from CALLR: the call's state plus the result of the previous command."""

    app: Annotated[str, _MAX["app"]]
    callid: Annotated[int, _INT64]
    request_hash: Annotated[str, _MAX["request_hash"]] | None
    cli_name: Annotated[str, _MAX["cli_name"]]
    cli_number: Annotated[str, _MAX["cli_number"]]
    date_started: Annotated[str, _MAX["date_started"]]
    number: Annotated[str, _MAX["number"]]
    command: Annotated[str, _MAX["command"]]
    command_id: Annotated[int, _INT64] | Annotated[str, _MAX["command_id"]]
    command_result: Annotated[str, _MAX["command_result"]]
    command_error: Annotated[str, _MAX["command_error"]]
    call_status: Annotated[str, _MAX["call_status"]]
    cdr_field: Annotated[str, _MAX["cdr_field"]]
    variables: dict[str, Any]

    @property
    def is_first(self) -> bool:
        """The call's first POST: no command has run yet."""
        return self.command == "" and self.command_id == 0

    @property
    def direction(self) -> str:
        """``inbound`` for a call to a DID, ``outbound`` for a ``calls.realtime`` call."""
        return "inbound" if self.request_hash is None else "outbound"

    @property
    def is_live(self) -> bool:
        return self.call_status in LIVE_STATUSES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Command(msgspec.Struct, frozen=True):
    """A REAL-TIME command: its wire name and its params object."""

    name: str
    params: dict[str, Any]


class Answer(msgspec.Struct, frozen=True):
    """What the server sends back: the next command, with the variables CALLR will echo."""

    command: Command
    command_id: CommandId
    variables: dict[str, Any]


def _type_name(types: tuple[type, ...]) -> str:
    names = {str: "string", int: "integer", dict: "object", type(None): "null"}
    return " or ".join(names[t] for t in types)


def _loads_object(body: bytes | str, what: str) -> dict[str, Any]:
    if too_deep(body):
        raise CallbackError(depth_error(what))
    # orjson: strict JSON (no NaN literals, valid UTF-8 only), three times faster than json here
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CallbackError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CallbackError(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


def parse_callback(body: bytes | str) -> Callback:
    """Parse and type-check a callback body; raises CallbackError (HTTP 400) naming the field.

    A body nested deeper than :data:`~flowbuilder.callr.nesting.MAX_DEPTH` levels is refused
    before any decoding; text longer than :data:`FIELD_MAX_CHARS` allows is refused by name.
    """
    if too_deep(body):  # two byte counts for an ordinary callback
        raise CallbackError(depth_error("callback body"))
    try:  # every field present with its JSON type and size: decoded and checked in one C pass
        callback = _CALLBACK_DECODER.decode(body)
        if callback.call_status in CALL_STATUSES:
            return callback
    except ValueError:  # msgspec's DecodeError and ValidationError, bad UTF-8
        pass
    # anything else goes the careful way, which says what is wrong
    return callback_from_dict(_loads_object(body, "callback body"))


# strict: no text for numbers, no booleans for integers, every field required
_CALLBACK_DECODER: Final = msgspec.json.Decoder(Callback)


def callback_from_dict(data: Mapping[str, Any]) -> Callback:
    """Type-check an already decoded callback object, saying which field is wrong."""
    for name, types in _CALLBACK_FIELDS.items():
        if name not in data:
            raise CallbackError(f"callback field {name!r} is missing")
        value = data[name]
        # bool is an int in Python, never a callid or command_id on the wire
        if not isinstance(value, types) or isinstance(value, bool):
            raise CallbackError(
                f"callback field {name!r} must be {_type_name(types)}, got {type(value).__name__}"
            )
        limit = FIELD_MAX_CHARS.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise CallbackError(
                f"callback field {name!r} is {len(value)} characters long; the limit is {limit}"
            )
    if data["call_status"] not in CALL_STATUSES:
        raise CallbackError(f"callback field 'call_status' is unknown: {data['call_status']!r}")
    return Callback(**{name: data[name] for name in _CALLBACK_FIELDS})


def render_callback(callback: Callback) -> bytes:
    """The body CALLR posts (the sandbox's side)."""
    return json.dumps(callback.to_json(), ensure_ascii=False).encode()


def render_answer(answer: Answer) -> bytes:
    """The JSON body the server answers a live call with."""
    return _COMPACT(
        {
            "command": answer.command.name,
            "command_id": answer.command_id,
            "params": answer.command.params,
            "variables": answer.variables,
        }
    )


# dates, dataclasses and str/int subclasses are not JSON data: refused, not guessed at
_STRICT: Final = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def json_encoder(*, sort_keys: bool = False) -> Callable[[Any], bytes]:
    """A compact UTF-8 JSON encoder giving bytes, strict about what it accepts.

    Values that are not JSON data (sets, dates, non-text keys, integers past 64 bits...) raise
    TypeError; NaN and infinities become ``null``. With *sort_keys* the output is canonical,
    which is what the engine signs.

    >>> json_encoder(sort_keys=True)({"b": [1, "é"], "a": None}).decode()
    '{"a":null,"b":[1,"é"]}'
    """
    option = _STRICT | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    # a partial is called in C: no Python frame on each of the few encodes per callback
    return functools.partial(orjson.dumps, option=option)


_COMPACT: Final = json_encoder()


def parse_answer(body: bytes | str) -> Answer:
    """Parse a server's answer (the sandbox's side); raises CallbackError saying what is wrong."""
    data = _loads_object(body, "answer")
    name, command_id = data.get("command"), data.get("command_id")
    params, variables = data.get("params", {}), data.get("variables", {})
    if not isinstance(name, str) or not name:
        raise CallbackError("answer field 'command' must be a non-empty string")
    if not isinstance(command_id, int | str) or isinstance(command_id, bool):
        raise CallbackError("answer field 'command_id' must be an integer or a string")
    if not isinstance(params, dict):
        raise CallbackError("answer field 'params' must be an object")
    if not isinstance(variables, dict):
        raise CallbackError("answer field 'variables' must be an object")
    return Answer(Command(name, params), command_id, variables)
