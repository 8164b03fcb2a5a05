"""The sandbox's JSON-RPC API over real HTTP: auth, methods, result shapes, CALLR-style errors,
and bad input of every kind answered with a JSON-RPC error (never a crash or a hang)."""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbuilder import CallrClient, Sandbox
from flowbuilder.errors import CallrApiError, CallrAuthError

from .conftest import CallbackApp

HASH = re.compile(r"[A-Z0-9]{8}\Z")
DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\Z")
APP_PARAMS = {"url": "http://127.0.0.1:9/callr", "login": "", "password": "", "data_format": "JSON"}


def raw(sb: Sandbox, body: bytes | str, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST exactly *body* to the sandbox with valid credentials."""
    assert sb.api_key is not None
    sent = {"Authorization": f"Api-Key {sb.api_key}", **(headers or {})}
    content = body.encode() if isinstance(body, str) else body
    # plain http on loopback: no TLS context to build (verify=False saves ~40 ms a request)
    return httpx.post(sb.url, content=content, headers=sent, timeout=10, verify=False)


def rpc(sb: Sandbox, method: str, params: Any, request_id: Any = 1) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    response = raw(sb, json.dumps(body))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data: dict[str, Any] = response.json()
    return data


def error_of(sb: Sandbox, method: str, params: Any) -> tuple[int, str]:
    data = rpc(sb, method, params)
    assert data["id"] == 1
    return data["error"]["code"], data["error"]["message"]


def test_app_shape_exactly_as_callr(sandbox: Sandbox) -> None:
    data = rpc(sandbox, "apps.create", ["REALTIME10", "Support", APP_PARAMS])
    assert data["jsonrpc"] == "2.0"
    app = data["result"]
    assert set(app) == {"hash", "name", "p", "did", "package", "date_creation", "date_update"}
    assert HASH.match(app["hash"])
    assert app["name"] == "Support"
    assert app["p"] == APP_PARAMS
    assert app["did"] == []
    assert app["package"] == {"name": "REALTIME10", "type": "REALTIME", "has_did": True}
    assert DATE.match(app["date_creation"])
    assert DATE.match(app["date_update"])


def test_the_seed_code_params_object_with_url_only(sandbox: Sandbox) -> None:
    app = rpc(sandbox, "apps.create", ["REALTIME10", "x", {"url": "https://x.example/cb"}])
    assert app["result"]["p"] == {**APP_PARAMS, "url": "https://x.example/cb"}


def test_account_dids(sandbox: Sandbox) -> None:
    dids = sandbox.client().apps.get_dids()
    assert len(dids) >= 8
    assert {d.country_code for d in dids} >= {"FR", "GB", "US", "DE"}
    assert {d.type for d in dids} == {"GEOGRAPHIC", "TOLLFREE"}
    assert {d.did_class for d in dids} == {"CLASSIC", "GOLD"}
    for did in dids:
        assert set(did.raw) == {
            "hash",
            "local_number",
            "intl_number",
            "class",
            "type",
            "country_code",
            "app",
        }
        assert HASH.match(did.hash)
        assert re.fullmatch(r"\+[1-9]\d{6,14}", did.intl_number)
        assert did.app is None
    assert len({d.hash for d in dids}) == len(dids)


def test_apps_and_dids_lifecycle(sandbox: Sandbox) -> None:
    client = sandbox.client()
    app = client.apps.create("Support", url="https://cb.example/x", login="cb", password="pw")
    other = client.apps.create("Other", url="https://cb.example/y")
    fr, gb = client.apps.get_dids(only_available=True)[:2]
    assert client.apps.assign_did(app, fr) is True
    assert client.apps.assign_did(app.hash, gb.hash) is True
    got = client.apps.get(app)
    assert got.dids is not None
    assert [d.hash for d in got.dids] == [fr.hash, gb.hash]
    assert {d.app for d in got.dids} == {app.hash}
    available = {d.hash for d in client.apps.get_dids(only_available=True)}
    assert fr.hash not in available
    assert gb.hash not in available
    # assigning a DID another app holds moves it
    assert client.apps.assign_did(other, gb)
    dids = client.apps.get(app).dids
    assert dids is not None
    assert [d.hash for d in dids] == [fr.hash]
    assert client.apps.remove_did(fr) is True
    assert client.apps.get(app).dids == ()
    listed = client.apps.get_list(with_numbers=True)
    assert [(a.hash, len(a.dids or ())) for a in listed] == [(app.hash, 0), (other.hash, 1)]
    assert [a.dids for a in client.apps.get_list(with_numbers=False)] == [None, None]
    # edit: name and params; date_update moves, date_creation stays
    edited = client.apps.edit(app, name="Renamed", url="https://cb.example/z")
    assert (edited.name, edited.url, edited.login, edited.password) == (
        "Renamed",
        "https://cb.example/z",
        "cb",
        "pw",
    )
    assert edited.date_creation == app.date_creation
    # delete releases the DIDs
    assert client.apps.delete(other) is True
    assert gb.hash in {d.hash for d in client.apps.get_dids(only_available=True)}
    with pytest.raises(CallrApiError, match=re.escape("PROPERTY_VALUE_ERROR [app]")):
        client.apps.get(other)
    assert [a.hash for a in sandbox.apps] == [app.hash]


@pytest.mark.parametrize(
    ("method", "params", "code", "message"),
    [
        ("apps.get", ["NOPE1234"], 151, "PROPERTY_VALUE_ERROR [app]"),
        ("apps.assign_did", ["{app}", "NOPE1234"], 151, "PROPERTY_VALUE_ERROR [did]"),
        ("apps.remove_did", ["NOPE1234"], 151, "PROPERTY_VALUE_ERROR [did]"),
        ("calls.realtime", ["{app}", None, None], -32602, "INVALID_PARAM_FORMAT [target]"),
        (
            "calls.realtime",
            ["NOPE1234", {"number": "+33612345678"}],
            151,
            "PROPERTY_VALUE_ERROR [app]",
        ),
        (
            "calls.realtime",
            [
                "{app}",
                {"number": "+33612345678", "timeout": 30},
                {"cdr_field": None, "cli": "BLOCKED"},
            ],
            151,
            "PROPERTY_VALUE_ERROR [options.cdr_field]",
        ),
        (
            "calls.realtime",
            ["{app}", {"number": "+33612345678"}, {"cdr_field": "a-b"}],
            151,
            "PROPERTY_VALUE_ERROR [options.cdr_field]",
        ),
        (
            "calls.realtime",
            ["{app}", {"number": "+33612345678"}, {"cdr_field": "1" * 33}],
            151,
            "PROPERTY_VALUE_ERROR [options.cdr_field]",
        ),
        (
            "calls.realtime",
            ["{app}", {"number": "+33612345678"}, {"cli": "+33600000000"}],
            151,
            "PROPERTY_VALUE_ERROR [options.cli]",
        ),
        (
            "calls.realtime",
            ["{app}", {"number": "0612345678"}],
            -32602,
            "INVALID_PARAM_FORMAT [target.number]",
        ),
        (
            "calls.realtime",
            ["{app}", {"number": "+33612345678", "timeout": 4}],
            151,
            "PROPERTY_VALUE_ERROR [target.timeout]",
        ),
        (
            "calls.realtime",
            ["{app}", {"number": "+33612345678", "timout": 30}],
            -32602,
            "INVALID_PARAM_FORMAT [target]",
        ),
        (
            "calls.realtime",
            ["{app}", {"number": "+33612345678"}, ["BLOCKED"]],
            -32602,
            "INVALID_PARAM_FORMAT [options]",
        ),
        ("apps.create", ["REALTIME10", "x", None], -32602, "INVALID_PARAM_FORMAT [params]"),
        (
            "apps.create",
            ["REALTIME10", "x", ["http://a/"]],
            -32602,
            "INVALID_PARAM_FORMAT [params]",
        ),
        (
            "apps.create",
            ["REALTIME10", "x", {"url": "http://a/", "secret": 1}],
            -32602,
            "INVALID_PARAM_FORMAT [params]",
        ),
        (
            "apps.create",
            ["REALTIME10", "x", {"login": "a"}],
            -32602,
            "INVALID_PARAM_FORMAT [params.url]",
        ),
        (
            "apps.create",
            ["REALTIME10", "x", {"url": "ftp://a/"}],
            151,
            "PROPERTY_VALUE_ERROR [params.url]",
        ),
        (
            "apps.create",
            ["REALTIME10", "x", {"url": "http://a/", "data_format": "XML"}],
            151,
            "PROPERTY_VALUE_ERROR [params.data_format]",
        ),
        (
            "apps.create",
            ["CLICKTOCALL10", "x", {"url": "http://a/"}],
            100,
            "FEATURE_NOT_ALLOWED [type]",
        ),
        (
            "apps.create",
            ["REALTIME10", "", {"url": "http://a/"}],
            151,
            "PROPERTY_VALUE_ERROR [name]",
        ),
        ("apps.get", [5], -32602, "INVALID_PARAM_FORMAT [app]"),
        ("apps.get", [], 150, "MISSING_PROPERTY [app]"),
        ("apps.get", ["A", "B"], -32602, "INVALID_PARAMS [params]"),
        ("apps.get_dids", ["yes"], -32602, "INVALID_PARAM_FORMAT [only_available]"),
        ("apps.edit", ["{app}", None, None], -32602, "INVALID_PARAM_FORMAT [params]"),
        ("calls.hangup", [123, {}], 151, "PROPERTY_VALUE_ERROR [callid]"),
        ("calls.hangup", ["abc", {}], -32602, "INVALID_PARAM_FORMAT [callid]"),
        ("calls.realtime_break", [123], 151, "PROPERTY_VALUE_ERROR [callid]"),
        ("calls.nonexistent", [], -32601, "METHOD_NOT_FOUND [method]"),
    ],
)
def test_callr_style_errors(
    sandbox: Sandbox, method: str, params: list[Any], code: int, message: str
) -> None:
    app = sandbox.client().apps.create("x", url="http://127.0.0.1:9/callr")
    params = [app.hash if p == "{app}" else p for p in params]
    assert error_of(sandbox, method, params) == (code, message)


def test_errors_reach_the_client_typed(sandbox: Sandbox) -> None:
    client = sandbox.client()
    app = client.apps.create("x", url="http://127.0.0.1:9/callr")
    with pytest.raises(CallrApiError) as info:
        client.call("calls.realtime", app.hash, None, None)
    assert (info.value.code, info.value.message, info.value.method) == (
        -32602,
        "INVALID_PARAM_FORMAT [target]",
        "calls.realtime",
    )
    assert info.value.data == {"detail": "target must be an object"}


def test_realtime_returns_a_request_hash_and_accepts_the_account_clis(sandbox: Sandbox) -> None:
    client = sandbox.client()
    app = client.apps.create("x", url="http://127.0.0.1:9/callr")
    sandbox.set_callee("+447890123456", {"answer": "busy"})
    first = client.calls.realtime(app, "+447890123456")
    did = client.apps.get_dids()[0]
    second = client.calls.realtime(app, "+447890123456", 20, "42", did.intl_number)
    alias = client.call("dialr/call.realtime", app.hash, {"number": "+447890123456"}, None)
    for request_hash in (first, second, alias):
        assert HASH.match(request_hash)
    assert len({first, second, alias}) == 3
    assert sandbox.wait_for(second).setup.cli_number == did.intl_number


@pytest.mark.parametrize(
    ("body", "code", "message", "request_id"),
    [
        ("this is not json", -32700, "PARSE_ERROR [body]", None),
        (b"\xff\xfe\x00", -32700, "PARSE_ERROR [body]", None),
        ("", -32700, "PARSE_ERROR [body]", None),
        (
            '[{"jsonrpc": "2.0", "id": 1, "method": "apps.get_list", "params": []}]',
            -32600,
            "INVALID_REQUEST [batch]",
            None,
        ),
        (
            '{"jsonrpc": "2.0", "method": "apps.get_list", "params": []}',
            -32600,
            "INVALID_REQUEST [id]",
            None,
        ),
        (
            '{"jsonrpc": "2.0", "id": 7, "method": "apps.get_list", '
            '"params": {"with_numbers": true}}',
            -32600,
            "INVALID_REQUEST [params]",
            7,
        ),
        (
            '{"jsonrpc": "2.0", "id": 7, "method": "no.such.method", "params": []}',
            -32601,
            "METHOD_NOT_FOUND [method]",
            7,
        ),
        ('{"jsonrpc": "2.0", "id": 7, "params": []}', -32600, "INVALID_REQUEST [method]", 7),
        (
            '{"id": 7, "method": "apps.get_list", "params": []}',
            -32600,
            "INVALID_REQUEST [jsonrpc]",
            7,
        ),
        ("null", -32600, "INVALID_REQUEST [body]", None),
    ],
)
def test_bad_envelopes(
    sandbox: Sandbox, body: str | bytes, code: int, message: str, request_id: Any
) -> None:
    response = raw(sandbox, body)
    assert response.status_code == 200
    data = response.json()
    assert data["jsonrpc"] == "2.0"
    assert data["id"] == request_id
    assert (data["error"]["code"], data["error"]["message"]) == (code, message)


def test_huge_body_gets_a_json_rpc_error_and_the_server_lives_on(sandbox: Sandbox) -> None:
    padding = "x" * (3 * 1024 * 1024)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "apps.get_list", "params": [padding]})
    response = raw(sandbox, body)
    assert response.status_code == 200
    assert response.json()["error"]["message"] == "INVALID_REQUEST [body]"
    assert "limit" in response.json()["error"]["data"]["detail"]
    assert rpc(sandbox, "apps.get_list", [False])["result"] == []


def test_get_is_not_allowed(sandbox: Sandbox) -> None:
    response = httpx.get(sandbox.url, verify=False)
    assert response.status_code == 405


def test_authentication(sandbox: Sandbox) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "apps.get_list", "params": [False]})
    assert sandbox.login is not None
    assert sandbox.password is not None
    good_basic = base64.b64encode(f"{sandbox.login}:{sandbox.password}".encode()).decode()
    bad_basic = base64.b64encode(f"{sandbox.login}:nope".encode()).decode()
    cases = {
        None: 401,
        f"Basic {bad_basic}": 401,
        "Api-Key wrong": 401,
        "Bearer x": 401,
        f"Basic {good_basic}": 200,
        f"Api-Key {sandbox.api_key}": 200,
    }
    for header, status in cases.items():
        headers = {"Authorization": header} if header else {}
        response = httpx.post(sandbox.url, content=body, headers=headers, verify=False)
        assert response.status_code == status, header
        if status == 401:
            assert "error" not in response.text  # a 4xx, not a JSON-RPC error
            assert response.headers["www-authenticate"].startswith("Basic")
    login_as = {"CALLR-Login-As": "user.login bob"}
    assert raw(sandbox, body, login_as).status_code == 200
    assert raw(sandbox, body, {"CALLR-Login-As": "ACCOUNT.HASH 4F5E6D7C"}).status_code == 200
    assert raw(sandbox, body, {"CALLR-Login-As": "someone"}).status_code == 401
    with (
        CallrClient("sandbox", "wrong", url=sandbox.url) as wrong,
        pytest.raises(CallrAuthError, match="HTTP 401"),
    ):
        wrong.apps.get_list()
    with sandbox.client(login_as="user.login bob") as client:
        assert client.apps.get_list() == []


def test_configured_credentials_only() -> None:
    with Sandbox(api_key="only-this-key") as sb:
        assert sb.login is None
        assert sb.client().apps.get_dids()
        with CallrClient("sandbox", "x", url=sb.url) as c, pytest.raises(CallrAuthError):
            c.apps.get_dids()
    with Sandbox(login="me", password="pw-123") as sb:
        assert sb.api_key is None
        with CallrClient("me", "pw-123", url=sb.url) as c:
            assert c.apps.get_dids()
        with CallrClient(api_key="x", url=sb.url) as c, pytest.raises(CallrAuthError):
            c.apps.get_dids()
    with pytest.raises(ValueError, match="both login and password"):
        Sandbox(login="me")


def test_secrets_stay_out_of_reprs() -> None:
    with Sandbox(login="me", password="pw-secret-99", api_key="key-secret-99") as sb:
        texts = [repr(sb), sb._repr_html_(), repr(sb.client()), repr(sb.account)]
        for text in texts:
            assert "secret-99" not in text
        assert "pw-secret-99" in sb.connection_info()  # shown on purpose, for the CLI


def test_sqlite_keeps_apps_and_assignments_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with Sandbox(db=db) as sb:
        client = sb.client()
        app = client.apps.create("Kept", url="https://cb.example/x", login="l", password="p")
        gone = client.apps.create("Gone", url="https://cb.example/y")
        did = client.apps.get_dids()[3]
        client.apps.assign_did(app, did)
        client.apps.delete(gone)
    with Sandbox(db=db) as sb:
        client = sb.client()
        apps = client.apps.get_list()
        assert [(a.hash, a.name, a.login, a.password) for a in apps] == [
            (app.hash, "Kept", "l", "p")
        ]
        assert apps[0].dids is not None
        assert [d.hash for d in apps[0].dids] == [did.hash]
        assert {d.hash: d.app for d in client.apps.get_dids()}[did.hash] == app.hash
        client.apps.remove_did(did)
    with Sandbox(db=db) as sb:
        assert sb.client().apps.get_list()[0].dids == ()


def test_memory_state_survives_stop_and_start() -> None:
    sb = Sandbox().start()
    try:
        app = sb.client().apps.create("x", url="https://cb.example/x")
        sb.stop()
        sb.stop()  # idempotent
        assert not sb.running
        sb.start()
        sb.start()
        assert [a.hash for a in sb.client().apps.get_list()] == [app.hash]
    finally:
        sb.stop()


def test_starting_again_on_the_same_port_replaces_the_old_sandbox() -> None:
    first = Sandbox().start()
    port = first.port
    try:
        second = Sandbox(port=port).start()
        try:
            assert not first.running
            assert second.running
            assert second.client().apps.get_list() == []
        finally:
            second.stop()
    finally:
        first.stop()


def test_secrets_never_in_logs_transcripts_or_errors(
    caplog: pytest.LogCaptureFixture, callback_app: CallbackApp
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ("pw-log-secret", "key-log-secret", "cb-log-secret")
    texts: list[str] = []
    with Sandbox(login="me", password=secrets[0], api_key=secrets[1]) as sb:
        client = sb.client()
        app = client.apps.create("x", url=callback_app.url, login="cb", password=secrets[2])
        client.apps.assign_did(app, client.apps.get_dids()[0])
        transcript = sb.call_in(client.apps.get_dids()[0].intl_number, "+33639980001", ["1"])
        texts += [str(transcript), transcript.dumps(), json.dumps(sb.calls_json())]
        texts += [repr(sb.calls), repr(sb.apps), repr(app), repr(client.apps.get(app))]
        with CallrClient("me", "wrong", url=sb.url) as bad:
            try:
                bad.apps.get_list()
            except CallrAuthError as exc:
                texts.append(str(exc))
        try:
            client.apps.get("NOPE1234")
        except CallrApiError as exc:
            texts.append(str(exc))
    texts.append(caplog.text)
    assert "apps.create" in caplog.text  # the client's debug log ran
    for text in texts:
        for secret in secrets:
            assert secret not in text
