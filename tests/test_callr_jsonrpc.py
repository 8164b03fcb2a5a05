"""The JSON-RPC envelope, both sides, without I/O."""

from __future__ import annotations

import base64
import json

import pytest

from flowbuilder.callr import jsonrpc
from flowbuilder.callr.jsonrpc import Credentials, RpcFault
from flowbuilder.errors import CallrApiError, CallrAuthError, CallrProtocolError

API_KEY = Credentials(api_key="key-0123456789")


def envelope(**fields: object) -> bytes:
    return json.dumps({"jsonrpc": "2.0", **fields}).encode()


def test_request_body_and_headers_match_the_official_sdks() -> None:
    creds = Credentials(login="alice", password="pa:ss")
    req = jsonrpc.build_request(
        "calls.realtime",
        ["4346423A", {"number": "+33612345678"}, None],
        request_id=512,
        credentials=creds,
    )
    assert json.loads(req.body) == {
        "jsonrpc": "2.0",
        "id": 512,
        "method": "calls.realtime",
        "params": ["4346423A", {"number": "+33612345678"}, None],
    }
    assert req.headers["Content-Type"] == "application/json-rpc; charset=utf-8"
    assert req.headers["Accept"] == "*/*"
    scheme, token = req.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token) == b"alice:pa:ss"
    assert jsonrpc.LOGIN_AS_HEADER not in req.headers


def test_api_key_and_login_as_headers() -> None:
    creds = jsonrpc.resolve_credentials(None, None, "k", "User.Login bob", env={})
    headers = creds.headers()
    assert headers["Authorization"] == "Api-Key k"
    assert headers["CALLR-Login-As"] == "user.login bob"
    creds = jsonrpc.resolve_credentials(None, None, "k", ("account.hash", "4F5E6D7C"), env={})
    assert creds.headers()["CALLR-Login-As"] == "account.hash 4F5E6D7C"


@pytest.mark.parametrize("value", ["user bob", "user.login", "account.hash a b", ""])
def test_bad_login_as_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="login-as must be"):
        jsonrpc.resolve_credentials(None, None, "k", value, env={})


def test_credentials_from_env_api_key_first() -> None:
    env = {"CALLR_API_KEY": "env-key", "CALLR_LOGIN": "l", "CALLR_PASSWORD": "p"}
    assert jsonrpc.resolve_credentials(None, None, None, None, env).mode == "api-key"
    env.pop("CALLR_API_KEY")
    creds = jsonrpc.resolve_credentials(None, None, None, None, env)
    assert (creds.mode, creds.login, creds.password) == ("basic", "l", "p")
    # arguments win over the environment
    creds = jsonrpc.resolve_credentials("arg", "pw", None, None, {"CALLR_API_KEY": "env-key"})
    assert (creds.mode, creds.login) == ("basic", "arg")


def test_missing_credentials_say_how_to_give_them() -> None:
    with pytest.raises(CallrAuthError, match="CALLR_API_KEY"):
        jsonrpc.resolve_credentials(None, None, None, None, {})
    with pytest.raises(CallrAuthError):
        jsonrpc.resolve_credentials("only-login", None, None, None, {})


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials(login="alice", password="s3cret-pw", login_as=("user.login", "bob"))
    assert "s3cret" not in repr(creds)
    assert "alice" not in repr(creds)
    assert "key-0123456789" not in repr(API_KEY)


def test_parse_response_result() -> None:
    assert jsonrpc.parse_response("m", 5, 200, envelope(id=5, result=[1, 2])) == [1, 2]
    assert jsonrpc.parse_response("m", 5, 200, envelope(id=5, result=None)) is None


@pytest.mark.parametrize("status", [200, 400, 500])
def test_json_rpc_error_whatever_the_status(status: int) -> None:
    body = envelope(id=9, error={"code": 151, "message": "PROPERTY_VALUE_ERROR [app]", "data": 1})
    with pytest.raises(CallrApiError) as info:
        jsonrpc.parse_response("apps.get", 9, status, body)
    err = info.value
    assert (err.code, err.message, err.data, err.method) == (
        151,
        "PROPERTY_VALUE_ERROR [app]",
        1,
        "apps.get",
    )
    assert str(err) == "apps.get: error 151: PROPERTY_VALUE_ERROR [app]"


def test_error_with_null_id_is_still_the_servers_error() -> None:
    body = envelope(id=None, error={"code": -32700, "message": "PARSE_ERROR [body]"})
    with pytest.raises(CallrApiError, match="PARSE_ERROR"):
        jsonrpc.parse_response("m", 3, 200, body)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses(status: int) -> None:
    with pytest.raises(CallrAuthError, match=f"HTTP {status}"):
        jsonrpc.parse_response("apps.get", 1, status, b"<html>denied</html>", "text/html")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, b"<html><body>Internal error</body></html>", "not JSON \\(text/html, 40 bytes\\)"),
        (200, b"", "not JSON"),
        (200, b"[1, 2]", "not a JSON-RPC 2.0 envelope"),
        (200, b'{"id": 1, "result": 1}', "not a JSON-RPC 2.0 envelope"),
        (200, b'{"jsonrpc": "2.0", "result": 1}', "has no id"),
        (200, b'{"jsonrpc": "2.0", "id": 2, "result": 1}', "id 2 does not match .* id 1"),
        (200, b'{"jsonrpc": "2.0", "id": 1}', "neither result nor error"),
        (200, b'{"jsonrpc": "2.0", "id": 1, "error": {"code": "x"}}', "no integer code"),
        (502, b'{"jsonrpc": "2.0", "id": 1, "result": true}', "HTTP 502 with a result"),
    ],
)
def test_protocol_errors(status: int, body: bytes, message: str) -> None:
    with pytest.raises(CallrProtocolError, match=message):
        jsonrpc.parse_response("m", 1, status, body, "text/html")


def test_parse_authorization() -> None:
    basic = "Basic " + base64.b64encode(b"bob:p:w").decode()
    auth = jsonrpc.parse_authorization(basic)
    assert auth is not None
    assert (auth.mode, auth.login, auth.password) == ("basic", "bob", "p:w")
    assert "p:w" not in repr(auth)
    for bad in (
        None,
        "",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Bearer x",
        "Api-Key",
    ):
        assert jsonrpc.parse_authorization(bad) is None


def test_parse_request_accepts_what_the_sdks_send() -> None:
    req = jsonrpc.parse_request(
        b'{"id": 123, "jsonrpc": "2.0", "method": "apps.get", "params": ["A"]}'
    )
    assert (req.id, req.method, req.params) == (123, "apps.get", ["A"])
    assert jsonrpc.parse_request(b'{"id": "x", "jsonrpc": "2.0", "method": "m"}').params == []


@pytest.mark.parametrize(
    ("body", "code", "message", "request_id"),
    [
        (b"{not json", -32700, "PARSE_ERROR [body]", None),
        (b"\xff\xfe", -32700, "PARSE_ERROR [body]", None),
        (b"[]", -32600, "INVALID_REQUEST [batch]", None),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "m"}]', -32600, "INVALID_REQUEST [batch]", None),
        (b'"hello"', -32600, "INVALID_REQUEST [body]", None),
        (b'{"jsonrpc": "2.0", "method": "m", "params": []}', -32600, "INVALID_REQUEST [id]", None),
        (b'{"jsonrpc": "2.0", "id": true, "method": "m"}', -32600, "INVALID_REQUEST [id]", None),
        (b'{"jsonrpc": "1.0", "id": 4, "method": "m"}', -32600, "INVALID_REQUEST [jsonrpc]", 4),
        (b'{"jsonrpc": "2.0", "id": 4, "method": 7}', -32600, "INVALID_REQUEST [method]", 4),
        (
            b'{"jsonrpc": "2.0", "id": 4, "method": "m", "params": {"a": 1}}',
            -32600,
            "INVALID_REQUEST [params]",
            4,
        ),
        (
            b'{"jsonrpc": "2.0", "id": 4, "method": "m", "params": "x"}',
            -32600,
            "INVALID_REQUEST [params]",
            4,
        ),
    ],
)
def test_parse_request_faults(body: bytes, code: int, message: str, request_id: object) -> None:
    with pytest.raises(RpcFault) as info:
        jsonrpc.parse_request(body)
    assert (info.value.code, info.value.message, info.value.request_id) == (
        code,
        message,
        request_id,
    )


def test_render_roundtrip_through_the_client_parser() -> None:
    assert jsonrpc.parse_response("m", 8, 200, jsonrpc.render_result(8, {"a": "é"})) == {"a": "é"}
    fault = RpcFault.of("PROPERTY_VALUE_ERROR", "did", "no DID with hash 'X'")
    with pytest.raises(CallrApiError) as info:
        jsonrpc.parse_response("m", 8, 200, jsonrpc.render_error(8, fault))
    assert info.value.code == 151
    assert info.value.data == {"detail": "no DID with hash 'X'"}
