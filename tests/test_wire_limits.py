"""callr/wire and callr/nesting: hostile callbacks are refused in one line before they cost much.

Deep nesting is refused before any decoder recurses into it; each text field has a size limit
(CALLR's real sizes with room to spare) and a callback over one is refused naming the field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowbuilder.callr import wire
from flowbuilder.callr.nesting import MAX_DEPTH, nesting_depth, too_deep
from flowbuilder.errors import CallbackError

FIRST: dict[str, Any] = {
    "app": "4346423A",
    "callid": 421889,
    "request_hash": None,
    "cli_name": "",
    "cli_number": "+33612345678",
    "date_started": "2026-01-01 10:00:00",
    "number": "+33912345678",
    "command": "",
    "command_id": 0,
    "command_result": "",
    "command_error": "",
    "call_status": "UP",
    "cdr_field": "",
    "variables": {},
}


def body(**changes: Any) -> bytes:
    return json.dumps({**FIRST, **changes}).encode()


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize("levels", [990, 1100, 20_000])
def test_deep_nesting_anywhere_is_one_line_not_a_recursion_error(levels: int) -> None:
    deep = b"[" * levels + b"]" * levels
    for text in (deep, b'{"app": ' + deep + b"}", body()[:-1] + b', "extra": ' + deep + b"}"):
        with pytest.raises(CallbackError) as caught:
            wire.parse_callback(text)
        expected = f"callback body nests arrays or objects deeper than {MAX_DEPTH} levels"
        assert str(caught.value) == expected
        assert caught.value.status == 400


@pytest.mark.parametrize("levels", [MAX_DEPTH, 300, 900])
def test_deep_variables_are_refused_before_the_engine_sees_them(levels: int) -> None:
    with pytest.raises(CallbackError, match="deeper than 64 levels"):
        wire.parse_callback(body(variables={"deep": nested(levels)}))


def test_nesting_within_the_limit_is_accepted() -> None:
    # the callback object and variables take two levels
    cb = wire.parse_callback(body(variables={"ok": nested(MAX_DEPTH - 2)}))
    assert "ok" in cb.variables
    # brackets inside strings are text, not nesting
    cb = wire.parse_callback(body(cli_name="[" * 200, variables={"t": "{" * 5000}))
    assert cb.variables["t"] == "{" * 5000


@pytest.mark.parametrize(("field", "limit"), sorted(wire.FIELD_MAX_CHARS.items()))
def test_each_text_field_has_a_limit_named_in_the_refusal(field: str, limit: int) -> None:
    too_long = "x" * (limit + 1)
    with pytest.raises(CallbackError) as caught:
        wire.parse_callback(body(**{field: too_long}))
    message = str(caught.value)
    assert message == (
        f"callback field {field!r} is {limit + 1} characters long; the limit is {limit}"
    )
    assert "\n" not in message


def test_fields_at_their_limit_are_accepted() -> None:
    at_limit = {f: "7" * n for f, n in wire.FIELD_MAX_CHARS.items() if f != "call_status"}
    cb = wire.parse_callback(body(**at_limit))
    assert cb.app == "7" * wire.FIELD_MAX_CHARS["app"]
    assert cb.command_result == "7" * wire.FIELD_MAX_CHARS["command_result"]


def test_a_huge_app_field_is_refused_whatever_the_path() -> None:
    # the careful path (a str body with an unknown status) says the same
    with pytest.raises(CallbackError, match="'app' is 250000 characters long"):
        wire.parse_callback(body(app="A" * 250_000).decode())
    with pytest.raises(CallbackError, match="'app' is 250000 characters long"):
        wire.callback_from_dict({**FIRST, "app": "A" * 250_000})


def test_an_answer_nested_too_deep_is_refused_by_the_sandbox_side() -> None:
    deep = {"command": "hangup", "command_id": 1, "params": {}, "variables": nested(500)}
    with pytest.raises(CallbackError, match="answer nests arrays or objects deeper than 64"):
        wire.parse_answer(json.dumps(deep))


# -- the depth scan ------------------------------------------------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


_TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\u00e9')
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY_TEXT, inner, max_size=4),
    max_leaves=40,
)


@given(_JSON, st.booleans())
def test_the_scan_agrees_with_a_decoder(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert nesting_depth(text.encode()) == _depth(value)
    for limit in (0, 1, 3):
        assert too_deep(text, limit) == (_depth(value) > limit)
        assert too_deep(text.encode(), limit) == (_depth(value) > limit)
