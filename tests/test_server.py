"""The callback server over real HTTP on loopback: the protocol, bad input, auth, routing, hot
reload and the event log. Calls are played by :class:`~flowbuilder.phone.SimulatedCall`, so every
POST body is exactly what CALLR sends."""

from __future__ import annotations

import base64
import itertools
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import flowbuilder as fb
from flowbuilder import engine
from flowbuilder.callr import wire
from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.phone import (
    NEVER_ANSWERED,
    AnswerMode,
    CallSetup,
    Script,
    SimulatedCall,
    Transcript,
)
from flowbuilder.server import Event, ServerHandle, serve

APP = "4346423A"
OTHER_APP = "5A5B5C5D"
JSON = {"Content-Type": "application/json"}
_CALLIDS = itertools.count(421_889)


def drive(
    client: httpx.Client,
    url: str,
    script: Script | None = None,
    *,
    app: str = APP,
    direction: str = "inbound",
) -> tuple[Transcript, list[httpx.Response]]:
    """One whole call, CALLR's side, against *url*."""
    setup = CallSetup(
        app=app,
        callid=next(_CALLIDS),
        number="+33900000000",
        cli_number="+33612345678" if direction == "inbound" else "",
        request_hash="4260XMAQ" if direction == "outbound" else None,
    )
    call = SimulatedCall(setup, script or Script())
    post = call.start()
    responses = []
    while post is not None:
        response = client.post(url, content=wire.render_callback(post.callback), headers=JSON)
        responses.append(response)
        assert response.status_code == 200, response.text
        if post.final:
            break
        post = call.on_answer(wire.parse_answer(response.content) if response.content else None)
    return call.transcript, responses


def eventually(condition: Any, timeout_s: float = 5.0) -> None:
    """Wait for something the server does right after answering (subscribers run then)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


def first_post(app: str = APP, **changes: Any) -> dict[str, Any]:
    setup = CallSetup(app=app, callid=next(_CALLIDS), number="+33900000000", cli_number="+336")
    data = SimulatedCall(setup).start().callback.to_json()
    data.update(changes)
    return data


def hello(name: str = "hello", text: str = "Hello") -> Flow:
    return (
        Flow(name)
        .add("hi", "play", prompt=text)
        .add("menu", "menu", prompt="Press 1", options=[{"outcome": "one", "digits": "1"}])
        .add("bye", "play", prompt=f"{text}, goodbye")
        .add("end", "hangup")
        .connect("hi", "menu")
        .connect("menu", "bye", "one")
        .connect("menu", "bye", "invalid")
        .connect("menu", "bye", "timeout")
        .connect("bye", "end")
    )


@pytest.fixture
def server() -> Iterator[ServerHandle]:
    with serve(support_line(), name="test-server") as handle:
        yield handle


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


# -- the protocol --------------------------------------------------------------------------------


def test_a_whole_call_answered_command_by_command(server: ServerHandle, client: httpx.Client):
    transcript, responses = drive(client, server.url, Script(presses=["2"]))
    assert transcript.status == "completed"
    assert transcript.heard[0] == "Welcome to Acme."
    assert transcript.recordings  # support voicemail recorded a message
    assert transcript.heard[-1] == "Thank you. We will call you back soon."
    # first POST -> a command; each result -> the next command; HANGUP -> an empty 200
    commands = [json.loads(r.content)["command"] for r in responses[:-1]]
    assert commands == ["play", "read", "play", "record", "play", "hangup"]
    assert all(r.headers["content-type"] == "application/json" for r in responses[:-1])
    assert responses[-1].content == b""
    ids = [json.loads(r.content)["command_id"] for r in responses[:-1]]
    assert ids == [1, 2, 3, 4, 5, 6]


def test_outbound_call_and_command_error_path(client: httpx.Client):
    # a dial whose command fails (CALLR's command_error) takes the dial's "failed" outcome
    flow = (
        Flow("out")
        .add("call", "dial", targets=[{"number": "+33123456789", "timeout": 20}])
        .add("failed", "play", prompt="The call failed")
        .add("ok", "hangup")
        .connect("call", "ok", "answered")
        .connect("call", "failed", "failed")
        .connect("call", "failed", "busy")
        .connect("call", "failed", "no_answer")
        .connect("failed", "ok")
    )
    with serve(flow, name="test-out") as handle:
        body = first_post(request_hash="4260XMAQ", cli_number="")
        first = client.post(handle.url, json=body)
        answer = first.json()
        assert answer["command"] == "dialout"
        after_error = client.post(
            handle.url,
            json={
                **body,
                "command": "dialout",
                "command_id": answer["command_id"],
                "command_error": "INVALID_PARAM_FORMAT [params.targets.number]",
                "variables": answer["variables"],
            },
        )
        assert after_error.status_code == 200
        assert after_error.json()["params"]["media_id"].endswith("|The call failed")
        event = handle.events.for_call(body["callid"])[-1]
        assert event.command_error == "INVALID_PARAM_FORMAT [params.targets.number]"
        assert event.path == ("failed",)


@pytest.mark.parametrize(("mode", "status"), sorted(NEVER_ANSWERED.items()))
def test_never_answered_outbound_calls_get_an_empty_200(
    server: ServerHandle, client: httpx.Client, mode: AnswerMode, status: str
):
    _, responses = drive(client, server.url, Script(answer=mode), direction="outbound")
    assert [r.content for r in responses] == [b""]
    assert server.events.tail(1)[0].call_status == status
    assert server.active_calls == {}


def test_hangup_mid_call_gets_an_empty_200_and_ends_the_call(
    server: ServerHandle, client: httpx.Client
):
    transcript, responses = drive(client, server.url, Script(hangup_after=2))
    assert transcript.status == "caller hung up"
    assert responses[-1].status_code == 200
    assert responses[-1].content == b""
    assert server.active_calls == {}


def test_charset_utf8_content_type_is_accepted(server: ServerHandle, client: httpx.Client):
    response = client.post(
        server.url,
        content=json.dumps(first_post()).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert response.json()["command"] == "play"


def test_sized_and_chunked_posts_get_the_same_answer(server: ServerHandle, client: httpx.Client):
    """CALLR may send a sized or a chunked body: the answer is the same either way."""
    body = json.dumps(first_post()).encode()
    sized = client.post(server.url, content=body, headers=JSON)
    chunked = client.post(server.url, content=iter([body[:10], body[10:]]), headers=JSON)
    assert "transfer-encoding" in chunked.request.headers
    assert "content-length" not in chunked.request.headers
    for response in (sized, chunked):
        assert response.status_code == 200
        del response.headers["date"]
    assert list(sized.headers.items()) == list(chunked.headers.items())
    assert sized.headers["content-type"] == "application/json"
    assert sized.content == chunked.content
    assert [c.callbacks for c in server.active_calls.values()] == [2]


def test_a_bug_in_the_engine_gets_the_fallback_and_one_event(
    server: ServerHandle, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
):
    def broken_step(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine bug")

    monkeypatch.setattr(engine, "step", broken_step)
    response = client.post(server.url, json=first_post())
    assert response.status_code == 200
    assert response.json()["command"] == "play"  # the apology, then a hang-up
    assert [e.error for e in server.events] == ["server error: RuntimeError: engine bug"]


# -- bad input -----------------------------------------------------------------------------------


def _one_line(response: httpx.Response) -> str:
    text = response.text
    assert text.endswith("\n"), text
    assert text.count("\n") == 1, text
    assert response.headers["content-type"].startswith("text/plain")
    return text.strip()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "callback body is not valid JSON"),
        (b"[1, 2]", "callback body must be a JSON object, got list"),
        (b'{"app": "4346423A"}', "callback field 'callid' is missing"),
    ],
)
def test_malformed_callbacks_get_400_with_one_line(
    server: ServerHandle, client: httpx.Client, body: bytes, reason: str
):
    response = client.post(server.url, content=body, headers=JSON)
    assert response.status_code == 400
    assert _one_line(response).startswith(reason)
    assert server.events.tail(1)[0].status == 400


def test_wrong_field_type_names_the_field(server: ServerHandle, client: httpx.Client):
    response = client.post(server.url, json=first_post(callid="421889"))
    assert response.status_code == 400
    assert _one_line(response) == "callback field 'callid' must be integer, got str"
    response = client.post(server.url, json=first_post(call_status="RINGING"))
    assert response.status_code == 400
    assert "call_status" in _one_line(response)


def test_other_methods_get_405(server: ServerHandle, client: httpx.Client):
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = client.request(method, server.url)
        assert response.status_code == 405, method
        assert response.headers["allow"] == "POST"
        assert _one_line(response).startswith(f"{method} is not allowed")


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_non_json_content_types_get_415(
    server: ServerHandle, client: httpx.Client, content_type: str | None
):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(server.url, content=json.dumps(first_post()).encode(), headers=headers)
    assert response.status_code == 415
    assert _one_line(response).startswith("Content-Type must be application/json")


def test_bodies_over_the_limit_get_413_and_the_connection_stays_usable(client: httpx.Client):
    with serve(support_line(), name="test-limit", max_body_bytes=4096) as handle:
        big = first_post(variables={"blob": "x" * 5000})
        response = client.post(handle.url, json=big)
        assert response.status_code == 413
        assert _one_line(response).startswith("body is ")
        assert "the limit is 4096" in response.text
        huge = client.post(handle.url, content=b"{" + b" " * 3_000_000 + b"}", headers=JSON)
        assert huge.status_code == 413
        body = json.dumps(big).encode()
        chunked = client.post(handle.url, content=iter([body[:4000], body[4000:]]), headers=JSON)
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 413
        assert f"body is {len(body)} bytes" in chunked.text
        assert client.post(handle.url, json=first_post()).status_code == 200  # still serving


@pytest.mark.parametrize("length", ["abc", "12, 13", "-1", "١٢", "9" * 5000])
def test_a_malformed_content_length_gets_400_and_the_server_goes_on(
    server: ServerHandle, client: httpx.Client, length: str
):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: {length}\r\n\r\n{{}}".encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 400 ")
    assert client.post(server.url, json=first_post()).status_code == 200


def test_unknown_app_and_unknown_path_get_404(client: httpx.Client):
    with serve(support_line(), name="test-404", app=APP) as handle:
        response = client.post(handle.url, json=first_post(app=OTHER_APP))
        assert response.status_code == 404
        assert _one_line(response) == f"no flow for app '{OTHER_APP}' at /"
        response = client.post(handle.local_url + "elsewhere", json=first_post())
        assert response.status_code == 404
        assert _one_line(response).startswith("no flow is served at /elsewhere")
        assert client.post(handle.url, json=first_post(app=APP)).status_code == 200


# -- auth ----------------------------------------------------------------------------------------


def test_basic_auth_required_when_the_app_has_credentials(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger="flowbuilder.server")
    with serve(support_line(), name="test-auth", login="callr", password="s3cr3t-pw") as handle:
        assert client.post(handle.url, json=first_post()).status_code == 401
        wrong = client.post(handle.url, json=first_post(), auth=("callr", "nope"))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith('Basic realm="flowbuilder"')
        assert "wrong credentials" in _one_line(wrong)
        # refused before the body is even looked at
        assert client.post(handle.url, content=b"junk", headers=JSON).status_code == 401
        with httpx.Client(auth=("callr", "s3cr3t-pw"), timeout=10) as authed:
            transcript, _ = drive(authed, handle.url, Script(presses=["2"]))
        assert transcript.status == "completed"
        assert "s3cr3t-pw" not in repr(handle)
        assert "s3cr3t-pw" not in handle._repr_html_()
    assert "s3cr3t-pw" not in caplog.text
    token = base64.b64encode(b"callr:s3cr3t-pw").decode()
    assert token not in caplog.text
    assert "Authorization" not in caplog.text


def test_each_app_checks_its_own_credentials(client: httpx.Client):
    with serve(hello("a"), name="test-auth2", app=APP, login="a", password="pa") as handle:
        handle.add(hello("b"), app=OTHER_APP, login="b", password="pb")
        ok = client.post(handle.url, json=first_post(app=OTHER_APP), auth=("b", "pb"))
        assert ok.status_code == 200
        crossed = client.post(handle.url, json=first_post(app=OTHER_APP), auth=("a", "pa"))
        assert crossed.status_code == 401
        assert client.post(handle.url, json=first_post(app=APP), auth=("a", "pa")).is_success


# -- routing -------------------------------------------------------------------------------------


def test_several_apps_at_one_url(client: httpx.Client):
    with serve({APP: hello("a", "Hi A"), OTHER_APP: hello("b", "Hi B")}, name="test-map") as h:
        a = client.post(h.url, json=first_post(app=APP)).json()
        b = client.post(h.url, json=first_post(app=OTHER_APP)).json()
        assert a["params"]["media_id"].endswith("|Hi A")
        assert b["params"]["media_id"].endswith("|Hi B")
        assert client.post(h.url, json=first_post(app="ZZZZZZZZ")).status_code == 404
        assert {(f["app"], f["flow"]) for f in h.flows} == {(APP, "a"), (OTHER_APP, "b")}


def test_flows_by_url_path_and_a_default_for_any_app(client: httpx.Client):
    with serve(hello("main", "Main"), name="test-paths", path="/callr") as handle:
        handle.add(hello("other", "Other"), path="/other")
        handle.add(hello("vip", "VIP"), path="/callr", app=OTHER_APP)
        assert handle.url.endswith("/callr")
        post = first_post()
        main = client.post(handle.url, json=post).json()
        other = client.post(handle.url_for(path="/other"), json=first_post()).json()
        vip = client.post(handle.url, json=first_post(app=OTHER_APP)).json()
        trailing = client.post(handle.url + "/", json=post).json()
        assert main["params"]["media_id"].endswith("|Main")
        assert other["params"]["media_id"].endswith("|Other")
        assert vip["params"]["media_id"].endswith("|VIP")
        assert trailing == main
        with pytest.raises(ValueError, match="already serves"):
            handle.add(hello("dup"), path="/other")
        handle.remove(path="/other")
        assert client.post(handle.url_for(path="/callr"), json=first_post()).status_code == 200


def test_a_public_url_without_credentials_is_refused_unless_insecure():
    with pytest.raises(ValueError, match="a public URL needs a login and password"):
        serve(support_line(), name="open", public_url="https://ivr.example.com/")
    with pytest.raises(ValueError, match="a public URL needs a login and password"):
        serve(support_line(), name="open", public_url="https://x/", login="callr")
    with serve(
        support_line(), name="open", public_url="https://ivr.example.com/", insecure=True
    ) as handle:
        assert handle.url == "https://ivr.example.com/"


def test_a_login_without_a_password_is_refused_in_python_too():
    with pytest.raises(ValueError, match="login needs a password"):
        serve(support_line(), name="half", login="callr")
    with pytest.raises(ValueError, match="login needs a password"):
        serve(support_line(), name="half", login="callr", password="")
    with pytest.raises(ValueError, match="password needs a login"):
        serve(support_line(), name="half", password="s3cret")


def test_public_url_is_the_url_to_give_callr():
    with serve(
        support_line(),
        name="test-public",
        public_url="https://ivr.example.com/callr",
        login="callr",
        password="s3cret",
    ) as handle:
        assert handle.url == "https://ivr.example.com/callr"
        assert handle.local_url == f"http://127.0.0.1:{handle.port}/"
        assert "https://ivr.example.com/callr" in repr(handle)
        assert f"local {handle.local_url}" in repr(handle)
        handle.add(hello(), path="/b")
        assert handle.url_for(path="/b") == "https://ivr.example.com/b"


# -- hot reload ----------------------------------------------------------------------------------


def test_hot_reload_keeps_calls_in_progress_on_their_version(client: httpx.Client):
    with serve(hello("greeting", "Version one"), name="test-reload") as handle:
        setup = CallSetup(app=APP, callid=next(_CALLIDS), number="+339", cli_number="+336")
        old_call = SimulatedCall(setup, Script(presses=["1"]))
        post = old_call.start()
        response = client.post(
            handle.url, content=wire.render_callback(post.callback), headers=JSON
        )
        post = old_call.on_answer(wire.parse_answer(response.content))  # the old call waits
        v1 = handle.flows[0]["version"]

        program = handle.update(hello("greeting", "Version two"))
        assert program.version != v1
        assert handle.flows[0]["version"] == program.version
        assert handle.flows[0]["older_versions"] == [v1]

        new_call, _ = drive(client, handle.url, Script(presses=["1"]))
        assert new_call.heard[0] == "Version two"

        while post is not None:  # the old call finishes on version one
            response = client.post(
                handle.url, content=wire.render_callback(post.callback), headers=JSON
            )
            if post.final:
                break
            post = old_call.on_answer(
                wire.parse_answer(response.content) if response.content else None
            )
        assert old_call.transcript.heard == ["Version one", "Press 1", "Version one, goodbye"]
        assert old_call.transcript.status == "completed"
        versions = {e.version for e in handle.events.for_call(setup.callid)}
        assert versions == {v1}
        assert handle.flows[0]["older_versions"] == []  # its last call ended: dropped


def test_update_refuses_an_invalid_flow_and_keeps_serving(client: httpx.Client):
    with serve(hello(), name="test-bad-update") as handle:
        broken = hello().add("slow", "http_request", url="http://127.0.0.1:9/", timeout_ms=4500)
        with pytest.raises(fb.FlowValidationError):
            handle.update(broken)
        assert client.post(handle.url, json=first_post()).json()["command"] == "play"


# -- events --------------------------------------------------------------------------------------


def test_every_callback_becomes_an_event_with_live_subscribers(
    server: ServerHandle, client: httpx.Client
):
    seen: list[Event] = []
    unsubscribe = server.subscribe(seen.append)
    transcript, responses = drive(client, server.url, Script(presses=["1"]))
    eventually(lambda: len(seen) == len(responses))
    unsubscribe()
    callid = transcript.setup.callid
    events = server.events.for_call(callid)
    assert events == seen
    first, last = events[0], events[-1]
    assert (first.command, first.answered, first.path, first.node) == (
        "",
        "play",
        ("welcome",),
        "welcome",
    )
    assert first.flow == "support_line"
    assert first.version == server.flows[0]["version"]
    assert last.call_status == wire.HANGUP
    assert last.answered is None
    assert all(e.latency_ms > 0 and e.status == 200 and e.ok for e in events)
    menu = events[2]
    assert (menu.command, menu.command_result, menu.path) == ("read", "1", ("sales",))
    assert json.loads(json.dumps(server.events.to_json()))[-1]["callid"] == callid
    drive(client, server.url)
    assert len(seen) == len(responses)  # unsubscribed


def test_a_failing_subscriber_never_breaks_a_call(server: ServerHandle, client: httpx.Client):
    def broken(event: Event) -> None:
        raise RuntimeError("viewer bug")

    server.subscribe(broken)
    transcript, _ = drive(client, server.url, Script(presses=["2"]))
    assert transcript.status == "completed"


def test_active_calls_show_where_each_call_waits(server: ServerHandle, client: httpx.Client):
    body = first_post()
    answer = client.post(server.url, json=body).json()
    calls = server.active_calls
    assert list(calls) == [body["callid"]]
    assert calls[body["callid"]].node == "welcome"
    client.post(
        server.url,
        json={
            **body,
            "command": "play",
            "command_id": answer["command_id"],
            "command_result": "0",
            "variables": answer["variables"],
        },
    )
    call = server.active_calls[body["callid"]]
    assert (call.node, call.path, call.callbacks) == ("main_menu", ("welcome", "main_menu"), 2)
    html = server._repr_html_()
    assert str(body["callid"]) in html
    assert "main_menu" in html
    assert server.url in html
    assert "1 call(s) in progress" in repr(server)


def test_event_log_is_bounded(client: httpx.Client):
    with serve(support_line(), name="test-bounded", max_events=5) as handle:
        for _ in range(8):
            client.post(handle.url, json=first_post())
        assert len(handle.events) == 5
        assert handle.events.maxlen == 5


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_other_methods_get_405_and_the_connection_goes_on(server: ServerHandle, method: str):
    with httpx.Client(timeout=5) as client:
        refused = client.request(method, server.url)
        assert refused.status_code == 405
        assert refused.headers["allow"] == "POST"
        assert refused.text == ("" if method == "HEAD" else refused.text)
        assert client.post(server.url, json=first_post()).status_code == 200  # same connection
