"""The CALLR methods flowbuilder uses: positional params in, typed result out, without I/O.

Each function returns a :class:`MethodCall` (method name, params array, result converter) that
the sync and async clients both send, so the two cannot drift apart.

>>> c = apps_create("Support line", url="https://example.com/callr")
>>> c.method, c.params[:2]
('apps.create', ['REALTIME10', 'Support line'])
>>> c.params[2]
{'url': 'https://example.com/callr', 'login': '', 'password': '', 'data_format': 'JSON'}
>>> realtime("4346423A", "+447890123456", cdr_field="42").params
['4346423A', {'number': '+447890123456', 'timeout': 30}, {'cdr_field': '42', 'cli': 'BLOCKED'}]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from flowbuilder.callr.constants import APP_TYPE, CLI_BLOCKED, DATA_FORMAT, DEFAULT_TARGET_TIMEOUT_S
from flowbuilder.callr.types import App, Did

T = TypeVar("T")


@dataclass(frozen=True)
class Method:
    """A JSON-RPC method: its positional params, how many are required, and whether sending it
    twice is safe (a read, which the client may retry once when the connection failed)."""

    name: str
    params: tuple[str, ...]
    required: int
    idempotent: bool = False


#: The JSON-RPC methods flowbuilder speaks (as a client) and the sandbox answers.
METHODS: Final[dict[str, Method]] = {
    m.name: m
    for m in (
        Method("apps.create", ("type", "name", "params"), 2),
        Method("apps.get", ("app",), 1, idempotent=True),
        Method("apps.edit", ("app", "name", "params"), 3),
        Method("apps.delete", ("app",), 1),
        Method("apps.get_list", ("with_numbers",), 0, idempotent=True),
        Method("apps.assign_did", ("app", "did"), 2),
        Method("apps.remove_did", ("did",), 1),
        Method("apps.get_dids", ("only_available",), 0, idempotent=True),
        Method("calls.realtime", ("app", "target", "options"), 2),
        Method("calls.hangup", ("callid", "options"), 1),
        Method("calls.realtime_break", ("callid",), 1),
    )
}
#: Other names CALLR answers to (its older ``dialr/call.realtime``).
ALIASES: Final = {"dialr/call.realtime": "calls.realtime"}
IDEMPOTENT_METHODS: Final = frozenset(m.name for m in METHODS.values() if m.idempotent)


@dataclass(frozen=True)
class MethodCall(Generic[T]):
    method: str
    params: list[Any]
    convert: Callable[[Any], T]


def _app(result: Any) -> App:
    return App.from_json(result)


def _apps(result: Any) -> list[App]:
    if not isinstance(result, list):
        raise ValueError(f"expected an array of apps, got {type(result).__name__}")
    return [App.from_json(r) for r in result]


def _dids(result: Any) -> list[Did]:
    if not isinstance(result, list):
        raise ValueError(f"expected an array of DIDs, got {type(result).__name__}")
    return [Did.from_json(r) for r in result]


def _truthy(result: Any) -> bool:
    return bool(result)


def _string(result: Any) -> str:
    if not isinstance(result, str):
        raise ValueError(f"expected a string, got {type(result).__name__}")
    return result


def _hash(value: str | App | Did) -> str:
    return value.hash if isinstance(value, App | Did) else value


def realtime10_params(
    url: str, login: str = "", password: str = "", data_format: str = DATA_FORMAT
) -> dict[str, Any]:
    """The REALTIME10 app params object."""
    return {"url": url, "login": login, "password": password, "data_format": data_format}


def apps_create(name: str, *, url: str, login: str = "", password: str = "") -> MethodCall[App]:
    params = realtime10_params(url, login, password)
    return MethodCall("apps.create", [APP_TYPE, name, params], _app)


def apps_get(app: str | App) -> MethodCall[App]:
    return MethodCall("apps.get", [_hash(app)], _app)


def apps_edit(
    app: str | App, *, name: str | None, url: str, login: str, password: str
) -> MethodCall[App]:
    params = realtime10_params(url, login, password)
    return MethodCall("apps.edit", [_hash(app), name, params], _app)


def apps_delete(app: str | App) -> MethodCall[bool]:
    return MethodCall("apps.delete", [_hash(app)], _truthy)


def apps_get_list(with_numbers: bool = True) -> MethodCall[list[App]]:
    return MethodCall("apps.get_list", [with_numbers], _apps)


def apps_assign_did(app: str | App, did: str | Did) -> MethodCall[bool]:
    return MethodCall("apps.assign_did", [_hash(app), _hash(did)], _truthy)


def apps_remove_did(did: str | Did) -> MethodCall[bool]:
    return MethodCall("apps.remove_did", [_hash(did)], _truthy)


def apps_get_dids(only_available: bool = False) -> MethodCall[list[Did]]:
    return MethodCall("apps.get_dids", [only_available], _dids)


def realtime(
    app: str | App,
    number: str,
    *,
    timeout: int = DEFAULT_TARGET_TIMEOUT_S,
    cdr_field: str = "",
    cli: str = CLI_BLOCKED,
) -> MethodCall[str]:
    """``calls.realtime``: the result is the call request hash (``request_hash`` in callbacks)."""
    target = {"number": number, "timeout": timeout}  # CALLR's Target object
    options = {"cdr_field": cdr_field, "cli": cli}
    return MethodCall("calls.realtime", [_hash(app), target, options], _string)


def hangup(callid: int) -> MethodCall[bool]:
    return MethodCall("calls.hangup", [callid, {}], _truthy)


def realtime_break(callid: int) -> MethodCall[bool]:
    return MethodCall("calls.realtime_break", [callid], _truthy)
