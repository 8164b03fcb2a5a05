"""CallrClient / AsyncCallrClient against httpx.MockTransport fakes: what goes on the wire, and
every error case that is hard to produce live (403, 500 with a JSON-RPC error, HTML, id mismatch,
timeouts, connection refused). The same clients run against the sandbox in tests/sandbox/."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from flowbuilder import App, AsyncCallrClient, CallrClient, Did
from flowbuilder.errors import (
    CallrApiError,
    CallrAuthError,
    CallrError,
    CallrProtocolError,
    CallrTransportError,
)

PASSWORD = "pw-Zq81-secret"
API_KEY = "ak-5f3e9c0d-secret"
APP_PASSWORD = "cb-pass-secret"
SECRETS = (PASSWORD, API_KEY, APP_PASSWORD, base64.b64encode(f"alice:{PASSWORD}".encode()).decode())

APP = {
    "hash": "4346423A",
    "name": "Support",
    "p": {
        "url": "https://cb.example/x",
        "login": "cb",
        "password": APP_PASSWORD,
        "data_format": "JSON",
    },
    "did": [],
    "package": {"name": "REALTIME10", "type": "REALTIME", "has_did": True},
    "date_creation": "2026-01-01 10:00:00",
    "date_update": "2026-01-01 10:00:00",
}
DID = {
    "hash": "6A7B8C9D",
    "local_number": "0199000001",
    "intl_number": "+33199000001",
    "class": "CLASSIC",
    "type": "GEOGRAPHIC",
    "country_code": "FR",
    "app": None,
}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A fake CALLR: records requests, answers with *reply(request_json)*."""

    def __init__(self, reply: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.reply = reply or (lambda req: True)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        data = json.loads(request.content)
        result = self.reply(data)
        if isinstance(result, httpx.Response):
            return result
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": data["id"], "result": result})

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def client_for(handler: Handler, **kw: Any) -> CallrClient:
    kw.setdefault("login", "alice")
    kw.setdefault("password", PASSWORD)
    return CallrClient(
        url="https://callr.test/json-rpc/v1.1/", transport=httpx.MockTransport(handler), **kw
    )


def test_defaults_are_callr_production_and_ten_seconds() -> None:
    client = CallrClient(api_key=API_KEY)
    assert client.url == "https://api.callr.com/json-rpc/v1.1/"
    assert client.timeout == 10.0
    client.close()


def test_call_sends_the_sdk_envelope_with_incrementing_ids() -> None:
    fake = Recorder(lambda req: req["params"])
    with client_for(fake) as client:
        assert client.call("apps.get_list", True) == [True]
        assert client.call("system.get_timestamp") == []
    first, second = fake.bodies
    assert first["jsonrpc"] == "2.0"
    assert first["method"] == "apps.get_list"
    assert 100 <= first["id"] <= 999
    assert second["id"] == first["id"] + 1
    assert second["params"] == []
    request = fake.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://callr.test/json-rpc/v1.1/"
    assert request.headers["content-type"] == "application/json-rpc; charset=utf-8"
    assert request.headers["accept"] == "*/*"
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    )


def test_api_key_and_login_as() -> None:
    fake = Recorder()
    with client_for(
        fake, login=None, password=None, api_key=API_KEY, login_as="user.login bob"
    ) as c:
        c.call("apps.get_list", False)
    headers = fake.requests[0].headers
    assert headers["authorization"] == f"Api-Key {API_KEY}"
    assert headers["callr-login-as"] == "user.login bob"


def test_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLR_API_KEY", raising=False)
    monkeypatch.setenv("CALLR_LOGIN", "envuser")
    monkeypatch.setenv("CALLR_PASSWORD", PASSWORD)
    fake = Recorder()
    with CallrClient(url="https://callr.test/", transport=httpx.MockTransport(fake)) as client:
        assert client.auth_mode == "basic"
        client.call("apps.get_list", False)
    assert base64.b64decode(fake.requests[0].headers["authorization"][6:]) == (
        f"envuser:{PASSWORD}".encode()
    )
    monkeypatch.setenv("CALLR_API_KEY", API_KEY)
    assert CallrClient().auth_mode == "api-key"
    for name in ("CALLR_API_KEY", "CALLR_LOGIN", "CALLR_PASSWORD"):
        monkeypatch.delenv(name)
    with pytest.raises(CallrAuthError, match="no CALLR credentials"):
        CallrClient()


def test_url_with_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="not in the URL"):
        CallrClient(api_key=API_KEY, url=f"https://alice:{PASSWORD}@api.callr.com/")
    with pytest.raises(ValueError, match="http"):
        CallrClient(api_key=API_KEY, url="ftp://x/")


def test_typed_helpers_send_the_reference_params() -> None:
    def reply(req: dict[str, Any]) -> Any:
        return {
            "apps.create": APP,
            "apps.get": {**APP, "did": [{**DID, "app": "4346423A"}]},
            "apps.edit": {**APP, "name": "Renamed"},
            "apps.get_list": [APP],
            "apps.get_dids": [DID],
            "calls.realtime": "4260XMAQ",
        }.get(req["method"], True)

    fake = Recorder(reply)
    with client_for(fake) as c:
        app = c.apps.create(
            "Support", url="https://cb.example/x", login="cb", password=APP_PASSWORD
        )
        assert isinstance(app, App)
        assert (app.hash, app.url, app.login, app.package) == (
            "4346423A",
            "https://cb.example/x",
            "cb",
            "REALTIME10",
        )
        assert app.raw["p"]["password"] == APP_PASSWORD
        got = c.apps.get("4346423A")
        assert got.dids is not None
        assert got.dids[0] == Did.from_json({**DID, "app": "4346423A"})
        assert c.apps.edit(app, name="Renamed", url="https://cb.example/y").name == "Renamed"
        assert c.apps.delete(app) is True
        assert [a.hash for a in c.apps.get_list()] == ["4346423A"]
        dids = c.apps.get_dids(only_available=True)
        assert dids[0].did_class == "CLASSIC"
        assert c.apps.assign_did(app, dids[0]) is True
        assert c.apps.remove_did(dids[0]) is True
        assert c.calls.realtime(app, "+447890123456", 40, cdr_field="42") == "4260XMAQ"
        assert c.calls.hangup(421889) is True
        assert c.calls.realtime_break(421889) is True
    sent = [(b["method"], b["params"]) for b in fake.bodies]
    app_params = {
        "url": "https://cb.example/x",
        "login": "cb",
        "password": APP_PASSWORD,
        "data_format": "JSON",
    }
    assert sent == [
        ("apps.create", ["REALTIME10", "Support", app_params]),
        ("apps.get", ["4346423A"]),
        ("apps.get", ["4346423A"]),  # edit reads the params it was not given
        ("apps.edit", ["4346423A", "Renamed", {**app_params, "url": "https://cb.example/y"}]),
        ("apps.delete", ["4346423A"]),
        ("apps.get_list", [True]),
        ("apps.get_dids", [True]),
        ("apps.assign_did", ["4346423A", "6A7B8C9D"]),
        ("apps.remove_did", ["6A7B8C9D"]),
        (
            "calls.realtime",
            [
                "4346423A",
                {"number": "+447890123456", "timeout": 40},
                {"cdr_field": "42", "cli": "BLOCKED"},
            ],
        ),
        ("calls.hangup", [421889, {}]),
        ("calls.realtime_break", [421889]),
    ]


def test_unexpected_result_shape_is_a_protocol_error() -> None:
    with (
        client_for(Recorder(lambda req: "not an app")) as c,
        pytest.raises(
            CallrProtocolError, match=r"apps\.get: unexpected result: an app must be an object"
        ),
    ):
        c.apps.get("4346423A")
    with client_for(Recorder(lambda req: [{"hash": 3}])) as c, pytest.raises(CallrProtocolError):
        c.apps.get_dids()


def respond(
    status: int, body: bytes | dict[str, Any], content_type: str = "application/json"
) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        content = body
        if isinstance(body, dict):
            req_id = json.loads(request.content)["id"]
            content = json.dumps({"jsonrpc": "2.0", "id": req_id, **body}).encode()
        assert isinstance(content, bytes)
        return httpx.Response(status, content=content, headers={"content-type": content_type})

    return handler


ERROR_BODY = {"error": {"code": 151, "message": "PROPERTY_VALUE_ERROR [app]"}}


@pytest.mark.parametrize(
    ("handler", "error", "text"),
    [
        (
            respond(200, ERROR_BODY),
            CallrApiError,
            "apps.get: error 151: PROPERTY_VALUE_ERROR [app]",
        ),
        (respond(500, ERROR_BODY), CallrApiError, "PROPERTY_VALUE_ERROR [app]"),
        (respond(401, b"Unauthorized", "text/plain"), CallrAuthError, "HTTP 401"),
        (respond(403, b"<h1>Forbidden</h1>", "text/html"), CallrAuthError, "HTTP 403"),
        (
            respond(500, b"<html>oops</html>", "text/html"),
            CallrProtocolError,
            "not JSON (text/html",
        ),
        (
            respond(200, b'{"jsonrpc": "2.0", "id": 1, "result": 1}'),
            CallrProtocolError,
            "does not match",
        ),
        (respond(200, b'{"result": 1}'), CallrProtocolError, "not a JSON-RPC 2.0 envelope"),
    ],
)
def test_error_mapping(handler: Handler, error: type[CallrError], text: str) -> None:
    with client_for(handler) as c, pytest.raises(error, match=re.escape(text)) as info:
        c.apps.get("4346423A")
    assert info.value.method == "apps.get"


def raising(exc: Exception, calls: list[int] | None = None, then: Handler | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(1)
            if then is not None and len(calls) > 1:
                return then(request)
        raise exc

    return handler


def test_timeout_is_a_transport_error_with_the_httpx_cause() -> None:
    with (
        client_for(raising(httpx.ReadTimeout("timed out"))) as c,
        pytest.raises(
            CallrTransportError, match=r"no answer from https://callr\.test within 10 s"
        ) as info,
    ):
        c.calls.realtime("4346423A", "+33612345678")
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_for_real() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/json-rpc/v1.1/"
    expected = re.escape(f"cannot connect to http://127.0.0.1:{port}")
    with (
        CallrClient(api_key=API_KEY, url=url) as c,
        pytest.raises(CallrTransportError, match=expected) as info,
    ):
        c.apps.get_list()
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_reads_are_retried_once_on_connect_errors() -> None:
    calls: list[int] = []
    ok = Recorder(lambda req: [])
    with client_for(raising(httpx.ConnectError("refused"), calls, then=ok)) as c:
        assert c.apps.get_list() == []
    assert len(calls) == 2
    calls.clear()
    with (
        client_for(raising(httpx.ConnectError("refused"), calls)) as c,
        pytest.raises(CallrTransportError),
    ):
        c.apps.get_dids()
    assert len(calls) == 2  # once, not forever


def test_calls_realtime_is_never_retried() -> None:
    calls: list[int] = []
    handler = raising(httpx.ConnectError("refused"), calls, then=Recorder(lambda req: "X"))
    with client_for(handler) as c, pytest.raises(CallrTransportError):
        c.calls.realtime("4346423A", "+33612345678")
    assert len(calls) == 1
    calls.clear()
    with client_for(handler, retry_reads=False) as c, pytest.raises(CallrTransportError):
        c.apps.get_list()
    assert len(calls) == 1


def test_async_client_retries_like_the_sync_one() -> None:
    calls: list[int] = []

    def client(handler: Handler) -> AsyncCallrClient:
        return AsyncCallrClient(
            api_key=API_KEY, url="https://callr.test/", transport=httpx.MockTransport(handler)
        )

    async def main() -> None:
        ok = Recorder(lambda req: [])
        async with client(raising(httpx.ConnectError("refused"), calls, then=ok)) as c:
            assert await c.apps.get_list() == []
        assert len(calls) == 2  # a read: once more
        calls.clear()
        async with client(raising(httpx.ConnectError("refused"), calls)) as c:
            with pytest.raises(CallrTransportError) as info:
                await c.calls.realtime("4346423A", "+33612345678")
            assert isinstance(info.value.__cause__, httpx.ConnectError)
        assert len(calls) == 1  # never twice: it would ring a phone twice

    asyncio.run(main())


def test_secrets_never_in_reprs_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    handlers: list[Handler] = [
        respond(200, ERROR_BODY),
        respond(500, ERROR_BODY),
        respond(401, f"bad {PASSWORD}".encode(), "text/plain"),
        respond(403, b"no"),
        respond(500, f"<html>{API_KEY}</html>".encode(), "text/html"),
        respond(200, b'{"jsonrpc": "2.0", "id": 1, "result": 1}'),
        raising(httpx.ReadTimeout("timed out")),
        raising(httpx.ConnectError("refused")),
        Recorder(lambda req: APP),
    ]
    for kw in (
        {"login": "alice", "password": PASSWORD},
        {"api_key": API_KEY, "login": None, "password": None},
    ):
        for handler in handlers:
            with client_for(handler, **kw) as c:
                texts.append(repr(c))
                try:
                    app = c.apps.create("x", url="https://cb.example/x", password=APP_PASSWORD)
                    texts += [repr(app), str(app)]
                except CallrError as exc:
                    texts += [str(exc), repr(exc), str(exc.__cause__ or "")]
    texts.append(caplog.text)
    assert any("apps.create" in t for t in texts)
    assert "apps.create id=" in caplog.text  # the debug log is there
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_async_client_same_behaviour() -> None:
    fake = Recorder(lambda req: APP if req["method"] == "apps.create" else "REQHASH1")

    async def main() -> None:
        async with AsyncCallrClient(
            api_key=API_KEY, url="https://callr.test/", transport=httpx.MockTransport(fake)
        ) as c:
            app = await c.apps.create("Support", url="https://cb.example/x")
            assert app.hash == "4346423A"
            assert await c.calls.realtime(app, "+447890123456") == "REQHASH1"
        async with AsyncCallrClient(
            api_key=API_KEY,
            url="https://callr.test/",
            transport=httpx.MockTransport(respond(500, ERROR_BODY)),
        ) as c:
            with pytest.raises(CallrApiError) as info:
                await c.apps.get("nope")
            assert info.value.code == 151
        async with AsyncCallrClient(
            api_key=API_KEY,
            url="https://callr.test/",
            transport=httpx.MockTransport(raising(httpx.ConnectTimeout("slow"))),
        ) as c:
            with pytest.raises(CallrTransportError) as terr:
                await c.calls.realtime("A", "+447890123456")
            assert isinstance(terr.value.__cause__, httpx.ConnectTimeout)
            assert repr(c) == "<AsyncCallrClient https://callr.test/ auth=api-key>"

    asyncio.run(main())
    assert [b["method"] for b in fake.bodies] == ["apps.create", "calls.realtime"]
    assert fake.bodies[1]["params"][1] == {"number": "+447890123456", "timeout": 30}
