"""CALLR's JSON-RPC 2.0 envelope, both sides, without I/O.

The client builds a request (headers and body) and reads a response (status and body) into a
result or a typed error; the sandbox parses a request into a :class:`RpcRequest` or an
:class:`RpcFault` and renders results and errors. httpx and Tornado carry the bytes, elsewhere.

>>> creds = Credentials(api_key="k3y")
>>> req = build_request("apps.get", ["4346423A"], request_id=7, credentials=creds)
>>> req.body
b'{"jsonrpc":"2.0","id":7,"method":"apps.get","params":["4346423A"]}'
>>> req.headers["Content-Type"], req.headers["Authorization"]
('application/json-rpc; charset=utf-8', 'Api-Key k3y')
>>> creds
Credentials(auth='api-key')
>>> parse_response("apps.get", 7, 200, b'{"jsonrpc":"2.0","id":7,"result":{"hash":"4346423A"}}')
{'hash': '4346423A'}
>>> parse_response("apps.get", 7, 200, b'{"jsonrpc":"2.0","id":7,'
...                b'"error":{"code":151,"message":"PROPERTY_VALUE_ERROR [app]"}}')
Traceback (most recent call last):
...
flowbuilder.errors.CallrApiError: apps.get: error 151: PROPERTY_VALUE_ERROR [app]

Error codes
-----------
CALLR documents its error *messages* (``CODE_NAME [param.path]``) but not their numbers. The
numbers seen in third-party code are used where they fit (:data:`ERROR_CODES`); the rest are the
JSON-RPC 2.0 standard codes:

=========================  =======  ==============================================================
message                    code     when
=========================  =======  ==============================================================
``FEATURE_NOT_ALLOWED``    100      an app type other than REALTIME10 (the sandbox has no other)
``MISSING_PROPERTY``       150      fewer positional params than the method requires
``PROPERTY_VALUE_ERROR``   151      a well-formed value that is refused (unknown app, DID, CLI...)
``INVALID_PARAM_FORMAT``   -32602   a param of the wrong type, ``null`` or malformed
``INVALID_PARAMS``         -32602   more positional params than the method takes
``PARSE_ERROR``            -32700   the body is not JSON (or not UTF-8)
``INVALID_REQUEST``        -32600   not a JSON-RPC 2.0 request object: a batch, a notification,
                                    named params, no method, a body over the size limit
``METHOD_NOT_FOUND``       -32601   an unknown method
``INTERNAL_ERROR``         -32603   a bug in the sandbox (never expected)
=========================  =======  ==============================================================
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from flowbuilder.callr.nesting import depth_error, too_deep
from flowbuilder.errors import CallrApiError, CallrAuthError, CallrProtocolError

DEFAULT_URL: Final = "https://api.callr.com/json-rpc/v1.1/"
API_PATH: Final = "/json-rpc/v1.1/"
CONTENT_TYPE: Final = "application/json-rpc; charset=utf-8"
LOGIN_AS_HEADER: Final = "CALLR-Login-As"
LOGIN_AS_TYPES: Final = ("user.login", "account.hash")
ENV_LOGIN: Final = "CALLR_LOGIN"
ENV_PASSWORD: Final = "CALLR_PASSWORD"
ENV_API_KEY: Final = "CALLR_API_KEY"


ERROR_CODES: Final[Mapping[str, int]] = {
    "FEATURE_NOT_ALLOWED": 100,
    "MISSING_PROPERTY": 150,
    "PROPERTY_VALUE_ERROR": 151,
    "INVALID_PARAM_FORMAT": -32602,
    "INVALID_PARAMS": -32602,
    "PARSE_ERROR": -32700,
    "INVALID_REQUEST": -32600,
    "METHOD_NOT_FOUND": -32601,
    "INTERNAL_ERROR": -32603,
}


# -- credentials ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Login/password (HTTP Basic) or an API key, plus an optional login-as target.

    The repr names the mode only: secrets never show.
    """

    login: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    login_as: tuple[str, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.api_key:
            return
        if not (self.login and self.password):
            raise CallrAuthError(
                "no CALLR credentials: pass api_key= (or login= and password=), "
                f"or set {ENV_API_KEY} (or {ENV_LOGIN} and {ENV_PASSWORD})"
            )

    @property
    def mode(self) -> str:
        return "api-key" if self.api_key else "basic"

    def __repr__(self) -> str:
        as_ = f", login_as={self.login_as[0]!r}" if self.login_as else ""
        return f"Credentials(auth={self.mode!r}{as_})"

    def headers(self) -> dict[str, str]:
        """``Authorization`` (and ``CALLR-Login-As``) headers."""
        if self.api_key:
            out = {"Authorization": f"Api-Key {self.api_key}"}
        else:
            token = base64.b64encode(f"{self.login}:{self.password}".encode()).decode("ascii")
            out = {"Authorization": f"Basic {token}"}
        if self.login_as:
            out[LOGIN_AS_HEADER] = f"{self.login_as[0]} {self.login_as[1]}"
        return out


def resolve_credentials(
    login: str | None,
    password: str | None,
    api_key: str | None,
    login_as: str | tuple[str, str] | None,
    env: Mapping[str, str],
) -> Credentials:
    """Arguments first, then the environment; an API key wins over login/password."""
    if not (api_key or login or password):
        api_key = env.get(ENV_API_KEY) or None
        if not api_key:
            login, password = env.get(ENV_LOGIN) or None, env.get(ENV_PASSWORD) or None
    target = parse_login_as(login_as) if isinstance(login_as, str) else login_as
    if target is not None:
        target = parse_login_as(f"{target[0]} {target[1]}")
    return Credentials(login=login, password=password, api_key=api_key, login_as=target)


def parse_login_as(value: str) -> tuple[str, str]:
    """``"user.login bob"`` -> ``("user.login", "bob")``; the type is case-insensitive.

    >>> parse_login_as("Account.Hash 4F5E6D7C")
    ('account.hash', '4F5E6D7C')
    """
    kind, _, target = value.strip().partition(" ")
    kind, target = kind.lower(), target.strip()
    if kind not in LOGIN_AS_TYPES or not target or any(c.isspace() for c in target):
        raise ValueError(
            f"login-as must be '<type> <target>' with type {' or '.join(LOGIN_AS_TYPES)}"
        )
    return kind, target


@dataclass(frozen=True)
class Authorization:
    """What an ``Authorization`` header carries (the sandbox's side)."""

    mode: str  # "basic" or "api-key"
    login: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)


def parse_authorization(value: str | None) -> Authorization | None:
    """Read ``Basic <b64>`` or ``Api-Key <token>``; None when absent or unreadable.

    >>> parse_authorization("Basic " + base64.b64encode(b"bob:s3cret").decode()).login
    'bob'
    >>> parse_authorization("Api-Key abc").api_key
    'abc'
    """
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    rest = rest.strip()
    if scheme.lower() == "api-key" and rest:
        return Authorization("api-key", api_key=rest)
    if scheme.lower() == "basic" and rest:
        try:
            decoded = base64.b64decode(rest, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        login, sep, password = decoded.partition(":")
        return Authorization("basic", login=login, password=password) if sep else None
    return None


# -- client side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request, ready to send."""

    method: str
    id: int
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)


def build_request(
    method: str,
    params: Sequence[Any],
    *,
    request_id: int,
    credentials: Credentials,
    user_agent: str = "flowbuilder",
) -> Request:
    """The body (positional params, always an array) and headers the official SDKs send."""
    body = _compact({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
    headers = {
        "Content-Type": CONTENT_TYPE,
        "Accept": "*/*",
        "User-Agent": user_agent,
        **credentials.headers(),
    }
    return Request(method, request_id, headers, body)


def _not_json(status: int, body: bytes, content_type: str | None) -> str:
    # the body itself is not quoted: an error page could echo a request header
    kind = (content_type or "no content type").split(";")[0]
    size = f"{len(body)} bytes" if body else "empty"
    return f"HTTP {status}: the answer is not JSON ({kind}, {size})"


def _auth_message(status: int, data: Any) -> str:
    if status == 401:
        text = "CALLR refused the credentials (HTTP 401): check the login/password or API key"
    else:
        text = (
            "CALLR refused access (HTTP 403): the credentials may not use this method, "
            "login-as target or network address"
        )
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        text += f" ({error['message'][:120]})"
    return text


def parse_response(
    method: str,
    request_id: int,
    status: int,
    body: bytes,
    content_type: str | None = None,
) -> Any:
    """The result, or the typed error the response stands for.

    401/403 -> :class:`CallrAuthError`; a JSON-RPC error object (whatever the HTTP status) ->
    :class:`CallrApiError`; anything else that is not a matching 2.0 envelope ->
    :class:`CallrProtocolError`.
    """
    try:
        data = json.loads(body) if body else None
        decoded = body != b""
    except (ValueError, UnicodeDecodeError):
        data, decoded = None, False
    if status in (401, 403):
        raise CallrAuthError(_auth_message(status, data), method=method)
    if not decoded:
        raise CallrProtocolError(_not_json(status, body, content_type), method=method)
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
        raise CallrProtocolError(
            f"HTTP {status}: the answer is not a JSON-RPC 2.0 envelope", method=method
        )
    if "id" not in data:
        raise CallrProtocolError(f"HTTP {status}: the answer has no id", method=method)
    error = data.get("error")
    answer_id = data["id"]
    # a server that could not read the request answers its error with id null
    if answer_id != request_id and not (error is not None and answer_id is None):
        raise CallrProtocolError(
            f"the answer's id {answer_id!r} does not match the request's id {request_id}",
            method=method,
        )
    if error is not None:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(code, int) or isinstance(code, bool) or not isinstance(message, str):
            raise CallrProtocolError(
                f"HTTP {status}: the error object has no integer code and string message",
                method=method,
            )
        assert isinstance(error, dict)
        raise CallrApiError(code, message, error.get("data"), method=method)
    if "result" not in data:
        raise CallrProtocolError(
            f"HTTP {status}: the answer has neither result nor error", method=method
        )
    if status != 200:
        raise CallrProtocolError(f"HTTP {status} with a result", method=method)
    return data["result"]


# -- server side ---------------------------------------------------------------------------------


class RpcFault(Exception):
    """A JSON-RPC error to answer with: ``CODE_NAME [path]``, its number and optional data.

    >>> RpcFault.of("PROPERTY_VALUE_ERROR", "app").message
    'PROPERTY_VALUE_ERROR [app]'
    """

    def __init__(self, code: int, message: str, data: Any = None, request_id: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.request_id = request_id

    @classmethod
    def of(
        cls,
        name: str,
        path: str | None = None,
        detail: str | None = None,
        codes: Mapping[str, int] = ERROR_CODES,
    ) -> RpcFault:
        message = f"{name} [{path}]" if path else name
        return cls(codes[name], message, {"detail": detail} if detail else None)


@dataclass(frozen=True)
class RpcRequest:
    """A well-formed request: its id, method and positional params."""

    id: int | str
    method: str
    params: list[Any]


_METHOD = re.compile(r"[A-Za-z0-9_./-]{1,100}\Z")


def parse_request(body: bytes) -> RpcRequest:
    """Check the envelope CALLR accepts: one object, an id, a method, positional params.

    Whatever *body* holds, the answer is a request or an :class:`RpcFault`: a body nested too
    deep is refused before it is decoded (``INVALID_REQUEST [body]``).
    """
    if too_deep(body):
        raise RpcFault.of("INVALID_REQUEST", "body", depth_error("the body"))
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RpcFault.of("PARSE_ERROR", "body", "the body is not valid UTF-8 JSON") from None
    if isinstance(data, list):
        raise RpcFault.of("INVALID_REQUEST", "batch", "batch requests are not supported")
    if not isinstance(data, dict):
        raise RpcFault.of("INVALID_REQUEST", "body", "the body must be a JSON object")
    request_id = data.get("id")
    fault_id = request_id if _valid_id(request_id) else None
    try:
        if "id" not in data or request_id is None:
            raise RpcFault.of("INVALID_REQUEST", "id", "notifications (no id) are not supported")
        if not _valid_id(request_id):
            raise RpcFault.of("INVALID_REQUEST", "id", "id must be an integer or a string")
        if data.get("jsonrpc") != "2.0":
            raise RpcFault.of("INVALID_REQUEST", "jsonrpc", 'jsonrpc must be "2.0"')
        method = data.get("method")
        if not isinstance(method, str) or not _METHOD.match(method):
            raise RpcFault.of("INVALID_REQUEST", "method", "method must be a method name")
        params = data.get("params", [])
        if isinstance(params, dict):
            detail = "params must be an array: named params are not supported"
            raise RpcFault.of("INVALID_REQUEST", "params", detail)
        if not isinstance(params, list):
            raise RpcFault.of("INVALID_REQUEST", "params", "params must be an array")
    except RpcFault as fault:
        fault.request_id = fault_id
        raise
    assert isinstance(request_id, int | str)
    return RpcRequest(request_id, method, params)


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def render_result(request_id: Any, result: Any) -> bytes:
    return _compact({"jsonrpc": "2.0", "id": request_id, "result": result})


def render_error(request_id: Any, fault: RpcFault) -> bytes:
    error: dict[str, Any] = {"code": fault.code, "message": fault.message}
    if fault.data is not None:
        error["data"] = fault.data
    return _compact({"jsonrpc": "2.0", "id": request_id, "error": error})


def _compact(envelope: dict[str, Any]) -> bytes:
    """UTF-8 JSON without spaces, as the SDKs send it and CALLR answers."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
