"""The callback server when things go wrong, over real HTTP: tampered state, exploding code, slow
and failing effects. A live call always gets a CALLR answer inside the 5-second window."""

from __future__ import annotations

import http.server
import itertools
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbuilder import effect_runner, engine
from flowbuilder.callr import wire
from flowbuilder.flow import Flow
from flowbuilder.nodes._base import REGISTRY, Context, NodeKind, NodeSpec, register
from flowbuilder.phone import CallSetup, SimulatedCall
from flowbuilder.server import ServerHandle, serve

APP = "4346423A"
_CALLIDS = itertools.count(771_000)
FALLBACK = "Sorry, something went wrong. Goodbye."
FUNCTIONS = """
import time


def explode(*, facts, variables):
    raise ValueError("the CRM is down")


def vip(*, facts, variables):
    return {"outcome": "vip", "variables": {"name": "Ada"}}


def slow(*, facts, variables):
    time.sleep(1.5)
    return "vip"
"""


def first_post(**changes: Any) -> dict[str, Any]:
    setup = CallSetup(app=APP, callid=next(_CALLIDS), number="+33900000000", cli_number="+336")
    data = SimulatedCall(setup).start().callback.to_json()
    data.update(changes)
    return data


def spoken(answer: dict[str, Any]) -> str:
    assert answer["command"] in ("play", "read"), answer
    return str(answer["params"]["media_id"]).split("|", 2)[2]


def after(body: dict[str, Any], answer: dict[str, Any], result: str = "0") -> dict[str, Any]:
    """The next POST CALLR makes once *answer*'s command completed with *result*."""
    return {
        **body,
        "command": answer["command"],
        "command_id": answer["command_id"],
        "command_result": result,
        "variables": answer["variables"],
    }


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture
def functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of python-node functions on sys.path, as in a user's project."""
    name = f"fb_server_functions_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}.py").write_text(FUNCTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


class _Slow(http.server.BaseHTTPRequestHandler):
    """A JSON API on loopback that answers after 3 seconds (or when the test ends)."""

    release: threading.Event

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            self.release.wait(3.0)
        body = json.dumps({"customer": {"name": "Ada"}}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the server gave up waiting and closed the connection
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    release = threading.Event()
    handler = type("Handler", (_Slow,), {"release": release})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def http_flow(url: str, timeout_ms: int) -> Flow:
    return (
        Flow("lookup")
        .configure(allow_private_network=True)  # the test API is on loopback
        .add(
            "fetch",
            "http_request",
            url=url,
            timeout_ms=timeout_ms,
            map={"who": "customer.name"},
        )
        .add("hello", "play", prompt="Hello {who}")
        .add("late", "play", prompt="Our system is slow today")
        .add("down", "play", prompt="Our system is down")
        .add("end", "hangup")
        .connect("fetch", "hello", "success")
        .connect("fetch", "late", "timeout")
        .connect("fetch", "down", "failed")
        .connect("hello", "end")
        .connect("late", "end")
        .connect("down", "end")
    )


def python_flow(function: str, timeout_ms: int = 1000) -> Flow:
    return (
        Flow("py")
        .add("ask", "python", function=function, outcomes=["vip"], timeout_ms=timeout_ms)
        .add("vip", "play", prompt="Welcome back {name}")
        .add("oops", "play", prompt="We could not look you up")
        .add("late", "play", prompt="Too slow")
        .add("end", "hangup")
        .connect("ask", "vip", "vip")
        .connect("ask", "oops", "error")
        .connect("ask", "late", "timeout")
        .connect("vip", "end")
        .connect("oops", "end")
        .connect("late", "end")
    )


# -- state and code that cannot be trusted -------------------------------------------------------


def test_tampered_state_gets_the_fallback_and_a_warning(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="flowbuilder.server")
    flow = (
        Flow("bank")
        .add("menu", "menu", prompt="Press 1", options=[{"outcome": "vault", "digits": "1"}])
        .add("vault", "play", prompt="The vault is open")
        .connect("menu", "vault", "vault")
    )
    with serve(flow, name="test-tamper") as handle:
        body = first_post()
        answer = client.post(handle.url, json=body).json()
        forged = after(body, answer, "1")
        forged["variables"]["_fb"]["s"]["n"] = "vault"  # jump the flow without the key
        response = client.post(handle.url, json=forged)
        assert response.status_code == 200
        fallback = response.json()
        assert spoken(fallback) == FALLBACK
        bye = client.post(handle.url, json=after(body, fallback)).json()
        assert bye["command"] == "hangup"  # after the apology: hang up, no loop
        event = handle.events.for_call(body["callid"])[1]
        assert event.error is not None
        assert "signature does not match" in event.error
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"call {body['callid']}" in r.getMessage() and "signature" in r.getMessage()
        for r in warnings
    )


def test_an_exploding_python_function_takes_the_error_path(client: httpx.Client, functions: str):
    with serve(python_flow(f"{functions}:explode"), name="test-explode") as handle:
        body = first_post()
        response = client.post(handle.url, json=body)
        assert response.status_code == 200
        assert spoken(response.json()) == "We could not look you up"
        event = handle.events.tail(1)[0]
        assert event.path == ("ask", "oops")
        assert "ValueError: the CRM is down" in event.effects[0]
        assert response.json()["variables"]["python_error"].endswith("the CRM is down")


def test_a_python_function_answers_within_its_deadline(client: httpx.Client, functions: str):
    with serve(python_flow(f"{functions}:vip"), name="test-vip") as handle:
        assert spoken(client.post(handle.url, json=first_post()).json()) == "Welcome back Ada"
    with serve(python_flow(f"{functions}:slow", timeout_ms=300), name="test-slowpy") as handle:
        began = time.perf_counter()
        answer = client.post(handle.url, json=first_post()).json()
        assert time.perf_counter() - began < 1.2
        assert spoken(answer) == "Too slow"


@pytest.fixture
def broken_kind() -> Iterator[str]:
    """A node kind whose own code raises (test-only, unregistered afterwards)."""

    @register
    class Broken(NodeKind):
        name = "test_broken_server"
        title = "Broken"
        description = "Raises when entered."

        def start(self, node: NodeSpec, ctx: Context) -> Any:
            raise KeyError("a bug in node code")

    yield Broken.name
    del REGISTRY[Broken.name]


def test_a_bug_in_node_code_takes_on_error_then_the_fallback(
    client: httpx.Client, broken_kind: str
):
    flow = (
        Flow("buggy", on_error="sorry")
        .add("start", "play", prompt="Hi")
        .add("bug", broken_kind)
        .add("sorry", "play", prompt="We hit a problem")
        .connect("start", "bug")
    )
    with serve(flow, name="test-buggy") as handle:
        body = first_post()
        hi = client.post(handle.url, json=body).json()
        response = client.post(handle.url, json=after(body, hi))
        assert response.status_code == 200
        assert spoken(response.json()) == "We hit a problem"
        event = handle.events.tail(1)[0]
        assert event.error is not None
        assert "a bug in node code" in event.error
    flow.configure(on_error=None)
    with serve(flow, name="test-buggy") as handle:
        body = first_post()
        hi = client.post(handle.url, json=body).json()
        assert spoken(client.post(handle.url, json=after(body, hi)).json()) == FALLBACK


def test_a_bug_around_the_engine_gets_the_fallback_not_a_500(
    client: httpx.Client, functions: str, monkeypatch: pytest.MonkeyPatch
):
    def broken_resume(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("server bug")

    monkeypatch.setattr(engine, "resume", broken_resume)
    with serve(python_flow(f"{functions}:vip"), name="test-bug") as handle:
        body = first_post()
        response = client.post(handle.url, json=body)
        assert response.status_code == 200
        assert spoken(response.json()) == FALLBACK
        event = handle.events.tail(1)[0]
        assert event.error == "server error: RuntimeError: server bug"
        bye = client.post(handle.url, json=after(body, response.json())).json()
        assert bye["command"] == "hangup"


def test_a_bug_in_the_effect_runner_is_an_effect_failure(
    client: httpx.Client, api: str, monkeypatch: pytest.MonkeyPatch
):
    async def broken_perform(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("runner bug")

    monkeypatch.setattr(effect_runner, "perform_async", broken_perform)
    with serve(http_flow(f"{api}/fast", 1000), name="test-runner") as handle:
        answer = client.post(handle.url, json=first_post()).json()
        assert spoken(answer) == "Our system is down"
        assert "failed: RuntimeError: runner bug" in handle.events.tail(1)[0].effects[0]


# -- HTTP effects and the answer window ------------------------------------------------------------


def test_http_request_effect_maps_the_answer(client: httpx.Client, api: str):
    with serve(http_flow(f"{api}/fast?key=SECRETKEY", 2000), name="test-http") as handle:
        answer = client.post(handle.url, json=first_post()).json()
        assert spoken(answer) == "Hello Ada"
        event = handle.events.tail(1)[0]
        assert event.path == ("fetch", "hello")
        assert event.effects[0].startswith(f"GET {api}/fast: HTTP 200")
        assert "SECRETKEY" not in event.effects[0]  # a query string is often a key
        assert handle.service.effects.ready
    assert not handle.service.effects.ready  # the shared client is closed with the server


def test_a_slow_http_request_takes_its_timeout_outcome_in_time(client: httpx.Client, api: str):
    with serve(http_flow(f"{api}/slow", 800), name="test-slow") as handle:
        began = time.perf_counter()
        response = client.post(handle.url, json=first_post())
        elapsed = time.perf_counter() - began
        assert response.status_code == 200
        assert spoken(response.json()) == "Our system is slow today"
        assert 0.7 < elapsed < 2.0  # its own 800 ms deadline, well inside CALLR's 5 s
        assert "timed out after 800 ms" in handle.events.tail(1)[0].effects[0]
        assert response.json()["variables"]["http_status"] == 0


def test_effects_are_capped_by_the_answer_budget(client: httpx.Client, api: str):
    # the node allows 3 s, but the server keeps every answer within its 0.6 s budget
    with serve(http_flow(f"{api}/slow", 3000), name="test-budget", answer_budget_ms=600) as h:
        began = time.perf_counter()
        answer = client.post(h.url, json=first_post()).json()
        elapsed = time.perf_counter() - began
        assert spoken(answer) == "Our system is slow today"
        assert elapsed < 1.5
        latency = h.events.tail(1)[0].latency_ms
        assert 450 < latency < 1000


def test_two_effects_in_one_callback_share_the_budget(client: httpx.Client, api: str):
    flow = (
        Flow("twice")
        .configure(allow_private_network=True)
        .add("one", "http_request", url=f"{api}/slow", timeout_ms=2000)
        .add("two", "http_request", url=f"{api}/slow", timeout_ms=2000)
        .add("done", "play", prompt="Done")
        .connect("one", "two", "timeout")
        .connect("two", "done", "timeout")
    )
    with serve(flow, name="test-twice", answer_budget_ms=1500) as handle:
        began = time.perf_counter()
        answer = client.post(handle.url, json=first_post()).json()
        assert time.perf_counter() - began < 2.2  # not 2 x 2 s
        assert spoken(answer) == "Done"
        first, second = handle.events.tail(1)[0].effects
        found = re.search(r"timed out after (\d+) ms \((\d+) ms\)", first)
        assert found, first
        deadline_ms, took_ms = map(int, found.groups())
        assert 1000 <= deadline_ms <= 1500  # the whole budget (less making the HTTP client)
        assert 1400 <= took_ms <= 1700, first
        assert second.endswith("[no time left]"), second


def test_stop_lets_an_answer_waiting_on_an_effect_finish(client: httpx.Client, api: str):
    handle: ServerHandle = serve(http_flow(f"{api}/slow", 700), name="test-drain")
    results: list[httpx.Response] = []
    poster = threading.Thread(
        target=lambda: results.append(client.post(handle.url, json=first_post()))
    )
    poster.start()
    time.sleep(0.2)  # the request is waiting on its effect
    handle.stop()
    poster.join(5)
    assert results[0].status_code == 200
    assert spoken(results[0].json()) == "Our system is slow today"
    assert not handle.running


def test_wire_fallback_answers_are_valid_callr_answers(client: httpx.Client):
    with serve(python_flow("no_such_module_xyz:fn"), name="test-missing") as handle:
        response = client.post(handle.url, json=first_post())
        answer = wire.parse_answer(response.content)
        assert answer.command.name == "play"
        assert "cannot import 'no_such_module_xyz'" in handle.events.tail(1)[0].effects[0]
