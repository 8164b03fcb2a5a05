"""callr/wire: CALLR's callback and answer JSON, to the letter of the reference."""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowbuilder.callr import commands, wire
from flowbuilder.errors import CallbackError

# The POST from the reference page, verbatim.
REFERENCE_POST = (
    b'{"app": "4346423A", "callid": 421889, "request_hash": "4260XMAQ", "cli_name": "", '
    b'"cli_number": "", "date_started": "2012-01-09 17:27:55", "number": "+16469820800", '
    b'"command": "", "command_id": 0, "command_result": "", "command_error": "", '
    b'"call_status": "UP", "cdr_field": "000CUSTOMFIELD42", "variables": {}}'
)


def post(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE_POST)
    data.update(changes)
    return data


def test_the_reference_post_parses() -> None:
    cb = wire.parse_callback(REFERENCE_POST)
    assert cb.app == "4346423A"
    assert cb.callid == 421889
    assert cb.request_hash == "4260XMAQ"
    assert cb.cdr_field == "000CUSTOMFIELD42"
    assert cb.is_first
    assert cb.is_live
    assert cb.direction == "outbound"
    assert cb.variables == {}
    assert tuple(post()) == wire.CALLBACK_FIELDS  # the 14 fields, in CALLR's order


def test_inbound_calls_have_a_null_request_hash() -> None:
    cb = wire.callback_from_dict(post(request_hash=None))
    assert cb.direction == "inbound"


def test_a_later_post_is_not_the_first() -> None:
    assert not wire.callback_from_dict(post(command="play", command_id=1)).is_first
    assert not wire.callback_from_dict(post(command="", command_id=3)).is_first


@pytest.mark.parametrize("callid", [2**63 - 1, 2**64 - 1, -(2**63)])
def test_callid_is_a_64_bit_integer(callid: int) -> None:
    assert wire.parse_callback(json.dumps(post(callid=callid))).callid == callid


def test_bad_utf8_inside_a_field_is_a_400() -> None:
    body = REFERENCE_POST.replace(b'"cli_name": ""', b'"cli_name": "\xff"')
    with pytest.raises(CallbackError, match="not valid JSON: str is not valid UTF-8"):
        wire.parse_callback(body)


def _past_64_bits(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_past_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(_past_64_bits(v) for v in value)
    return isinstance(value, int) and not -(2**63) <= value < 2**64


def _careful(body: bytes) -> wire.Callback:
    return wire.callback_from_dict(wire._loads_object(body, "callback body"))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@given(
    changes=st.dictionaries(st.sampled_from([*wire.CALLBACK_FIELDS, "extra"]), _JSON, max_size=3),
    dropped=st.sets(st.sampled_from(wire.CALLBACK_FIELDS), max_size=1),
    status=st.sampled_from([*sorted(wire.CALL_STATUSES), "RINGING"]),
)
def test_the_fast_decoder_agrees_with_the_careful_path(
    changes: dict[str, Any], dropped: set[str], status: str
) -> None:
    """Whatever the body, the one-pass decoder accepts exactly what the field-by-field checks
    accept, with the same values, and a refusal names the same field."""
    data = post(**{"call_status": status, **changes})
    for name in dropped:
        del data[name]
    body = json.dumps(data).encode()
    try:
        expected: Any = _careful(body)
    except CallbackError as exc:
        expected = str(exc)
    try:
        got: Any = wire.parse_callback(body)
    except CallbackError as exc:
        got = str(exc)
    if isinstance(expected, wire.Callback) and isinstance(got, wire.Callback):
        # the careful path reads an integer past 64 bits inside variables as a float
        if not _past_64_bits(got.variables):
            assert repr(got) == repr(expected)
            for name in wire.CALLBACK_FIELDS:
                assert type(getattr(got, name)) is type(getattr(expected, name))
    else:
        assert got == expected


@pytest.mark.parametrize("field", wire.CALLBACK_FIELDS)
def test_a_missing_field_is_a_400_naming_it(field: str) -> None:
    data = post()
    del data[field]
    with pytest.raises(CallbackError) as info:
        wire.parse_callback(json.dumps(data))
    assert info.value.status == 400
    assert str(info.value) == f"callback field {field!r} is missing"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("app", 4346423, "string, got int"),
        ("callid", "421889", "integer, got str"),
        ("callid", 421889.0, "integer, got float"),
        ("callid", True, "integer, got bool"),
        ("request_hash", 1, "string or null, got int"),
        ("command", None, "string, got NoneType"),
        ("command_id", 1.5, "integer or string, got float"),
        ("command_id", False, "integer or string, got bool"),
        ("command_result", 42, "string, got int"),
        ("command_error", None, "string, got NoneType"),
        ("call_status", 1, "string, got int"),
        ("variables", [], "object, got list"),
        ("variables", None, "object, got NoneType"),
    ],
)
def test_a_wrong_type_is_a_400_naming_the_field(field: str, value: Any, expected: str) -> None:
    with pytest.raises(CallbackError) as info:
        wire.parse_callback(json.dumps(post(**{field: value})))
    assert info.value.status == 400
    assert str(info.value) == f"callback field {field!r} must be {expected}"


def test_an_unknown_status_is_a_400() -> None:
    with pytest.raises(CallbackError, match=r"'call_status' is unknown: 'RINGING'"):
        wire.callback_from_dict(post(call_status="RINGING"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "callback body is not valid JSON: Input is a zero-length, empty document"),
        (b'{"callid": NaN}', "callback body is not valid JSON"),  # strict JSON: no NaN literals
        (b"{", "callback body is not valid JSON"),
        (b"\xff\xfe{}", "callback body is not valid JSON"),
        (b"[1]", "callback body must be a JSON object, got list"),
        (b"null", "callback body must be a JSON object, got NoneType"),
        (b"[" * 100_000, "callback body nests arrays or objects deeper than 64 levels"),
    ],
)
def test_a_body_that_is_not_a_callback_is_a_400(body: bytes, message: str) -> None:
    with pytest.raises(CallbackError) as info:
        wire.parse_callback(body)
    assert info.value.status == 400
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_extra_fields_are_ignored() -> None:
    cb = wire.callback_from_dict(post(hangup_cause="16"))
    assert cb == wire.callback_from_dict(post())


callbacks = st.builds(
    wire.Callback,
    app=st.text(max_size=8),
    callid=st.integers(min_value=0, max_value=2**63),
    request_hash=st.none() | st.text(max_size=8),
    cli_name=st.text(max_size=8),
    cli_number=st.text(max_size=16),
    date_started=st.just("2026-01-01 10:00:00"),
    number=st.text(max_size=16),
    command=st.sampled_from(["", "play", "read", "dialout", "hangup"]),
    command_id=st.integers(min_value=0, max_value=2**31),
    command_result=st.text(max_size=8),
    command_error=st.text(max_size=8),
    call_status=st.sampled_from(sorted(wire.CALL_STATUSES)),
    cdr_field=st.text(max_size=8),
    variables=st.dictionaries(st.text(max_size=5), st.text(max_size=5) | st.integers()),
)


@given(callbacks)
def test_render_then_parse_is_lossless(cb: wire.Callback) -> None:
    assert wire.parse_callback(wire.render_callback(cb)) == cb
    assert set(json.loads(wire.render_callback(cb))) == set(wire.CALLBACK_FIELDS)


def test_the_reference_answer_renders_as_documented() -> None:
    read = commands.build(
        "read",
        media_id=commands.tts("Press 1 for sales", "TTS_EN-GB_SERENA"),
        max_digits=1,
        attempts=1,
        timeout_ms=4000,
    )
    answer = wire.Answer(read, 1, {})
    assert json.loads(wire.render_answer(answer)) == {
        "command": "read",
        "command_id": 1,
        "params": {
            "media_id": "TTS|TTS_EN-GB_SERENA|Press 1 for sales",
            "max_digits": 1,
            "attempts": 1,
            "timeout_ms": 4000,
        },
        "variables": {},
    }


def test_answers_are_compact_utf8_with_objects_never_arrays() -> None:
    body = wire.render_answer(wire.Answer(commands.HANGUP, 3, {"name": "Zoë"}))
    assert (
        body
        == '{"command":"hangup","command_id":3,"params":{},"variables":{"name":"Zoë"}}'.encode()
    )
    assert wire.parse_answer(body) == wire.Answer(commands.HANGUP, 3, {"name": "Zoë"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"command_id": 1}', "answer field 'command' must be a non-empty string"),
        (b'{"command": "play", "command_id": [1]}', "'command_id' must be an integer or a"),
        (
            b'{"command": "play", "command_id": true}',
            "answer field 'command_id' must be an integer or a string",
        ),
        (b'{"command": "play", "command_id": 1, "params": []}', "answer field 'params' must be"),
        (
            b'{"command": "play", "command_id": 1, "variables": []}',
            "answer field 'variables' must be an object",
        ),
        (b"nope", "answer is not valid JSON"),
    ],
)
def test_a_malformed_answer_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(CallbackError, match=message):
        wire.parse_answer(body)


def test_statuses() -> None:
    assert {"INCOMING_CALL", "UP"} == wire.LIVE_STATUSES
    assert {"NOANSWER", "BUSY", "CONGESTION", "REJECTED"} == wire.NEVER_ANSWERED_STATUSES
    assert wire.NEVER_ANSWERED_STATUSES | {"HANGUP"} == wire.ENDED_STATUSES


def test_media() -> None:
    assert commands.tts("Hi", "TTS_EN-GB_DANIEL") == "TTS|TTS_EN-GB_DANIEL|Hi"
    assert commands.media("Hi", "V") == "TTS|V|Hi"
    assert commands.media(1234, "V") == 1234
    for none in ("", None, 0):
        assert commands.media(none, "V") == commands.NO_MEDIA == 0
    assert commands.describe_media("TTS|V|Hello | world") == "Hello | world"
    assert commands.describe_media(1234) == "[media 1234]"
    assert commands.describe_media(0) == ""


def test_commands_use_the_documented_parameter_names() -> None:
    assert commands.build("play", media_id=5).params == {"media_id": 5}
    read = commands.build("read", media_id=0, max_digits=1, attempts=1, timeout_ms=100)
    assert set(read.params) == {"media_id", "max_digits", "attempts", "timeout_ms"}
    record = commands.build("record", max_duration=10, silence=2)
    assert record.params == {"max_duration": 10, "silence": 2}
    dial = commands.build("dialout", targets=[{"number": "+33123456789", "timeout": 20}])
    assert dial.params == {
        "targets": [{"number": "+33123456789", "timeout": 20}],
        "cli": "BLOCKED",
        "ringtone": "RING",
        "whisper": 0,
        "cdr_field": "",
    }
    assert commands.build("wait", seconds=3).params == {"seconds": 3}
    silence = commands.build("wait_for_silence", silence_ms=1, iterations=1, timeout=5)
    assert silence.params == {"silence_ms": 1, "iterations": 1, "timeout": 5}
    assert wire.Command("hangup", {}) == commands.HANGUP
    assert commands.build("hangup_callid", callid=9).params == {"callid": 9}


def test_the_strict_encoder_refuses_what_json_cannot_carry() -> None:
    encode = wire.json_encoder(sort_keys=True)
    assert encode({"b": 1, "a": [True, None, 1.5]}) == b'{"a":[true,null,1.5],"b":1}'
    assert encode({"x": math.nan, "y": -math.inf}) == b'{"x":null,"y":null}'
    with pytest.raises(TypeError, match="not JSON serializable: set"):
        encode({"x": {1, 2}})
    with pytest.raises(TypeError, match="not JSON serializable: datetime"):
        encode({"x": datetime.datetime(2026, 1, 1)})
    with pytest.raises(TypeError):
        encode({"x": 2**64})  # past what any JSON reader keeps exactly
    with pytest.raises(TypeError):
        encode({1: "a"})
