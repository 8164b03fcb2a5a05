"""The official CALLR Python SDK (``callr`` 2.1.0 from PyPI), unchanged, against the sandbox.

The code in each test is the SDK code of CALLR's "REAL-TIME call control: first steps" page; only
the API URL is pointed at the sandbox (``api.set_api_url``) and the callback URL at a local app.
"""

from __future__ import annotations

import urllib.error

import callr
import pytest

from flowbuilder import Sandbox

from .conftest import CallbackApp


def sdk_api(sb: Sandbox) -> callr.Api:
    api = callr.Api(sb.login, sb.password)
    api.set_api_url(sb.url)
    return api


def test_first_steps_unchanged(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    api = sdk_api(sandbox)

    # Configure a REAL-TIME URL - Create a REAL-TIME App
    options = {"url": callback_app.url}
    app = api.call("apps.create", "REALTIME10", "Your app name", options)
    # save app.hash, it will be used next!

    # (Optional) Inbound Calls - Assign a Phone Number to the REAL-TIME App
    dids = api.call("apps.get_dids", True)
    result = api.call("apps.assign_did", app["hash"], dids[0]["hash"])
    assert result

    # Make an Outbound Call
    target = {"number": "+447890123456", "timeout": 30}
    call_options = {"cdr_field": "42", "cli": "BLOCKED"}
    result = api.call("calls.realtime", app["hash"], target, call_options)

    assert isinstance(result, str)
    assert len(result) == 8
    assert api.call("apps.get", app["hash"])["did"][0]["hash"] == dids[0]["hash"]
    # the callee answered (the default) and the app drove the call
    transcript = sandbox.wait_for(result)
    first = callback_app.requests[0].body
    assert (first["request_hash"], first["number"], first["cdr_field"]) == (
        result,
        "+447890123456",
        "42",
    )
    assert transcript.heard[0] == "Welcome to Acme."
    # and an inbound call to the assigned DID reaches the same app
    inbound = sandbox.call_in(dids[0]["intl_number"], "+33639980001", ["2"])
    assert inbound.status == "completed"


@pytest.mark.parametrize(
    ("method", "params", "message", "code"),
    [
        ("apps.get", ("NOPE1234",), "PROPERTY_VALUE_ERROR [app]", 151),
        ("apps.assign_did", ("{app}", "NOPE1234"), "PROPERTY_VALUE_ERROR [did]", 151),
        ("calls.realtime", ("{app}", None, None), "INVALID_PARAM_FORMAT [target]", -32602),
        (
            "calls.realtime",
            ("{app}", {"number": "+447890123456", "timeout": 30}, {"cdr_field": None}),
            "PROPERTY_VALUE_ERROR [options.cdr_field]",
            151,
        ),
        (
            "calls.realtime",
            ("{app}", {"number": "+447890123456", "timeout": 30}, {"cli": "+15550000000"}),
            "PROPERTY_VALUE_ERROR [options.cli]",
            151,
        ),
        (
            "apps.create",
            ("REALTIME10", "x", "not an object"),
            "INVALID_PARAM_FORMAT [params]",
            -32602,
        ),
        ("apps.nope", (), "METHOD_NOT_FOUND [method]", -32601),
    ],
)
def test_callr_errors_reach_the_sdk(
    sandbox: Sandbox, method: str, params: tuple[object, ...], message: str, code: int
) -> None:
    api = sdk_api(sandbox)
    app = api.call("apps.create", "REALTIME10", "x", {"url": "http://127.0.0.1:9/"})
    args = [app["hash"] if p == "{app}" else p for p in params]
    with pytest.raises(callr.CallrException) as info:
        api.call(method, *args)
    assert (info.value.msg, info.value.code) == (message, code)


def test_wrong_credentials_are_an_http_error_for_the_sdk(sandbox: Sandbox) -> None:
    api = callr.Api("sandbox", "wrong password")
    api.set_api_url(sandbox.url)
    with pytest.raises(callr.CallrException) as info:
        api.call("apps.get_list", False)
    assert info.value.msg == "HTTP_CODE_ERROR"
    assert info.value.data["http_code"] == 401
    # the SDK leaves urllib's HTTPError (and its socket) open
    http_error = info.value.__context__
    assert isinstance(http_error, urllib.error.HTTPError)
    http_error.close()
