"""The sandbox under hostile input: every request gets a JSON-RPC error (or a 4xx on the control
API) saying what is wrong, never a 500, whatever the body holds."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from flowbuilder import Sandbox
from flowbuilder.callr.nesting import MAX_DEPTH
from flowbuilder.sandbox import api as sandbox_api


def post(sb: Sandbox, body: bytes) -> httpx.Response:
    assert sb.api_key is not None
    headers = {"Authorization": f"Api-Key {sb.api_key}", "Content-Type": "application/json"}
    return httpx.post(sb.url, content=body, headers=headers, timeout=10)


def rpc(sb: Sandbox, method: str, params: Any) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
    response = post(sb, body.encode())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def error_of(sb: Sandbox, method: str, params: Any) -> str:
    data = rpc(sb, method, params)
    assert "result" not in data, data
    message: str = data["error"]["message"]
    return message


def control(sb: Sandbox) -> httpx.Client:
    assert sb.api_key is not None
    return httpx.Client(
        base_url=sb.base_url, headers={"Authorization": f"Api-Key {sb.api_key}"}, timeout=10
    )


@pytest.mark.parametrize("callid", ["²", "١٢٣", "9" * 5000, "12 ", ""])
def test_calls_hangup_with_odd_digits_is_a_param_error(sandbox: Sandbox, callid: str) -> None:
    assert error_of(sandbox, "calls.hangup", [callid]) == "INVALID_PARAM_FORMAT [callid]"
    assert error_of(sandbox, "calls.realtime_break", [callid]) == "INVALID_PARAM_FORMAT [callid]"


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://[fe80::1%zz", "https://host:99999/x", "http://h:port/"]
)
def test_a_malformed_app_url_is_a_property_error(sandbox: Sandbox, url: str) -> None:
    message = error_of(sandbox, "apps.create", ["REALTIME10", "x", {"url": url}])
    assert message == "PROPERTY_VALUE_ERROR [params.url]"


def test_app_urls_and_credentials_have_length_limits(sandbox: Sandbox) -> None:
    long_url = "https://example.com/" + "a" * 5000
    assert error_of(sandbox, "apps.create", ["REALTIME10", "x", {"url": long_url}]) == (
        "PROPERTY_VALUE_ERROR [params.url]"
    )
    params = {"url": "https://example.com/", "password": "p" * 1000}
    assert error_of(sandbox, "apps.create", ["REALTIME10", "x", params]) == (
        "PROPERTY_VALUE_ERROR [params.password]"
    )


@pytest.mark.parametrize("cli", [["+33199000001"], {"n": 1}, 33199000001, None])
def test_a_cli_that_is_not_text_is_a_param_error(sandbox: Sandbox, cli: Any) -> None:
    app = rpc(sandbox, "apps.create", ["REALTIME10", "x", {"url": "http://127.0.0.1:9/"}])
    target = {"number": "+447890123456", "timeout": 10}
    message = error_of(sandbox, "calls.realtime", [app["result"]["hash"], target, {"cli": cli}])
    assert message == "INVALID_PARAM_FORMAT [options.cli]"


@pytest.mark.parametrize("levels", [990, 5000, 200_000])
def test_deeply_nested_requests_get_a_json_rpc_error(sandbox: Sandbox, levels: int) -> None:
    for body in (
        b"[" * levels + b"]" * levels,
        b'{"jsonrpc": "2.0", "id": 1, "method": "apps.get", "params": '
        + b"[" * levels
        + b"]" * levels
        + b"}",
    ):
        response = post(sandbox, body)
        assert response.status_code == 200
        error = response.json()["error"]
        assert error["message"] == "INVALID_REQUEST [body]"
        assert f"deeper than {MAX_DEPTH} levels" in error["data"]["detail"]


def test_params_nested_a_few_hundred_levels_are_refused(sandbox: Sandbox) -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = {"a": deep}
    data = rpc(sandbox, "apps.create", ["REALTIME10", "x", deep])
    assert data["error"]["message"] == "INVALID_REQUEST [body]"


def test_the_account_holds_a_bounded_number_of_apps(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_api, "MAX_APPS", 3)
    for n in range(3):
        assert "result" in rpc(
            sandbox, "apps.create", ["REALTIME10", f"a{n}", {"url": "http://h/"}]
        )
    message = error_of(sandbox, "apps.create", ["REALTIME10", "more", {"url": "http://h/"}])
    assert message == "PROPERTY_VALUE_ERROR [app]"


def test_the_control_api_answers_bad_bodies_with_400(sandbox: Sandbox) -> None:
    with control(sandbox) as http:
        deep = http.post("/sandbox/call_in", content=b"[" * 100_000 + b"]" * 100_000)
        assert deep.status_code == 400
        assert deep.json() == {
            "error": f"the body nests arrays or objects deeper than {MAX_DEPTH} levels"
        }
        odd = http.get("/sandbox/calls/²")
        assert odd.status_code == 404
        assert odd.json() == {"error": "no call '²' in the sandbox"}
        huge = http.put("/sandbox/callees/+447890123456", content=b"{" + b" " * 2_000_000 + b"}")
        assert huge.status_code == 400
    # and the sandbox goes on
    assert "result" in rpc(sandbox, "apps.get_dids", [])
