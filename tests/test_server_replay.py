"""Replayed call state cannot move a live call (issue #14, finding 1), over real HTTP on loopback.

An attacker who captured earlier POSTs of a call re-sends them: an older step, the menu's state
again and again, a step after HANGUP, a "first" POST in the middle of the call. None of them may
change the call's branch, reset its counters or run a side effect again; an identical retry (CALLR
or a proxy re-sending the POST just answered) gets the byte-identical answer, nothing run twice.
"""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import flowbuilder as fb
from flowbuilder.flowfile import DEFAULT_SETTINGS
from flowbuilder.phone import CallSetup, SimulatedCall
from flowbuilder.server.replay import MemoryReplayGuard, Pending, Proceed, Refuse, Repeat

APP = "4346423A"
_CALLIDS = itertools.count(990_000)
JSON = {"Content-Type": "application/json"}


def bank() -> fb.Flow:
    """A menu: 1 = the vault (a dial), 2 = voicemail; three wrong keys hang up."""
    return (
        fb.Flow("bank")
        .add(
            "menu",
            "menu",
            prompt="Press 1 for the vault, 2 to leave a message.",
            options=[{"outcome": "vault", "digits": "1"}, {"outcome": "message", "digits": "2"}],
            max_failures=3,
            invalid_prompt="",
        )
        .add("vault", "dial", targets=[{"number": "+33123456789", "timeout": 20}])
        .add("message", "voicemail")
        .add("wrong", "play", prompt="Too many wrong keys.")
        .add("end", "hangup")
        .connect("menu", "vault", "vault")
        .connect("menu", "message", "message")
        .connect("menu", "wrong", "invalid")
        .connect("menu", "end", "timeout")
        .connect("message", "end")
        .connect("wrong", "end")
    )


def first_post() -> dict[str, Any]:
    setup = CallSetup(app=APP, callid=next(_CALLIDS), number="+33900000000", cli_number="+336")
    return SimulatedCall(setup).start().callback.to_json()


def after(body: dict[str, Any], answer: dict[str, Any], result: str = "0", **more: Any) -> dict:
    return {
        **body,
        "command": answer["command"],
        "command_id": answer["command_id"],
        "command_result": result,
        "variables": answer["variables"],
        **more,
    }


@pytest.fixture
def server() -> Iterator[fb.server.ServerHandle]:
    with fb.serve(bank(), name="replay-test") as handle:
        yield handle


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def test_an_older_step_replayed_is_refused_and_the_call_keeps_its_branch(server, client) -> None:
    body = first_post()
    menu = client.post(server.url, json=body).json()  # the menu's read
    step1 = after(body, menu, "2")
    voicemail = client.post(server.url, json=step1).json()  # caller chose voicemail
    assert voicemail["command"] == "play"

    # the attacker re-sends the menu step, pressing 1 (the vault) instead
    replay = after(body, menu, "1")
    refused = client.post(server.url, json=replay)
    assert refused.status_code == 409
    assert "not the call's current step" in refused.text
    # the real call goes on in voicemail
    record = client.post(server.url, json=after(body, voicemail)).json()
    assert record["command"] == "record"
    assert server.active_calls[body["callid"]].node == "message"
    assert not any(e.answered == "dialout" for e in server.events.for_call(body["callid"]))


def test_replaying_the_menu_state_never_resets_its_failures(server, client) -> None:
    body = first_post()
    menu = client.post(server.url, json=body).json()
    wrong = client.post(server.url, json=after(body, menu, "9")).json()  # failures=1, asks again
    second = client.post(server.url, json=after(body, wrong, "9")).json()  # failures=2
    assert second["command"] == "read"
    for digit in "5678":  # the state with failures=1 again, with other wrong keys each time
        replayed = client.post(server.url, json=after(body, wrong, digit))
        assert replayed.status_code == 409
    third = client.post(server.url, json=after(body, second, "9")).json()
    assert third["params"]["media_id"].endswith("Too many wrong keys.")  # max_failures hit


def test_nothing_moves_a_call_after_its_hangup(server, client) -> None:
    body = first_post()
    menu = client.post(server.url, json=body).json()
    hangup = after(body, menu, "", call_status="HANGUP")
    assert client.post(server.url, json=hangup).status_code == 200
    replay = client.post(server.url, json=after(body, menu, "1"))
    assert replay.status_code == 409
    assert "has ended" in replay.text
    assert not any(e.answered == "dialout" for e in server.events.for_call(body["callid"]))


def test_a_first_post_in_the_middle_of_a_call_cannot_restart_it(server, client) -> None:
    body = first_post()
    menu = client.post(server.url, json=body).json()
    client.post(server.url, json=after(body, menu, "2"))
    restart = {**body, "variables": {"menu_choice": "1"}}  # command "", command_id 0
    refused = client.post(server.url, json=restart)
    assert refused.status_code == 409
    assert "cannot restart it" in refused.text


def test_an_identical_retry_gets_the_same_bytes(server, client) -> None:
    body = first_post()
    first = client.post(server.url, json=body)
    again = client.post(server.url, json=body)
    assert again.status_code == 200
    assert again.content == first.content
    step = after(body, first.json(), "2")
    a = client.post(server.url, content=json.dumps(step), headers=JSON)
    b = client.post(server.url, content=json.dumps(step), headers=JSON)
    assert a.content == b.content
    assert server.active_calls[body["callid"]].callbacks == 4


class CountingApi:
    """A JSON API on loopback that counts its requests and answers slowly."""

    def __init__(self, delay_s: float) -> None:
        self.hits = 0
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.hits += 1
                time.sleep(delay_s)
                data = json.dumps({"name": "Ada"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/customer"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_retry_never_runs_an_effect_twice_even_while_it_runs(client) -> None:
    api = CountingApi(delay_s=0.4)
    flow = fb.Flow("lookup")
    if "allow_private_network" in DEFAULT_SETTINGS:  # the API is on loopback
        flow.configure(allow_private_network=True)
    flow.add("fetch", "http_request", url=api.url, map={"name": "name"})
    flow.add("hello", "play", prompt="Hello {name}").add("end", "hangup")
    flow.connect("fetch", "hello", "success").connect("hello", "end")
    try:
        with fb.serve(flow, name="replay-effects") as handle:
            body = first_post()
            with ThreadPoolExecutor(3) as pool:  # the POST and two retries while it runs
                answers = list(pool.map(lambda _: client.post(handle.url, json=body), range(3)))
            again = client.post(handle.url, json=body)  # and one after
        assert {a.status_code for a in answers} == {200}
        assert len({a.content for a in [*answers, again]}) == 1
        assert answers[0].json()["params"]["media_id"].endswith("Hello Ada")
        assert api.hits == 1
    finally:
        api.close()


def test_the_memory_guard_is_bounded_by_calls_and_by_bytes() -> None:
    guard = MemoryReplayGuard(max_calls=100, max_answer_bytes=10_000)
    for callid in range(1_000):
        assert guard.check(callid, 0, b"d%d" % callid) == Proceed()
        guard.answered(callid, b"d%d" % callid, 1, b"x" * 500)
    assert len(guard) <= 100
    assert guard.answer_bytes <= 10_000
    # the newest calls are remembered, the oldest forgotten first
    assert guard.check(999, 0, b"d999") == Repeat(b"x" * 500)
    assert guard.check(0, 0, b"d0") == Proceed()


def test_a_retry_of_a_large_answer_gets_the_same_bytes(server, client) -> None:
    """Answers carrying big variables are kept compressed; a retry still gets them exact."""
    body = {**first_post(), "variables": {"notes": "call me back after 6pm " * 1_000}}
    first = client.post(server.url, json=body)
    assert len(first.content) > 20_000
    again = client.post(server.url, json=body)
    assert again.status_code == 200
    assert again.content == first.content


def test_the_byte_bound_holds_many_more_large_answers_than_their_size_would() -> None:
    guard = MemoryReplayGuard(max_calls=1_000, max_answer_bytes=100_000)
    answer = b'{"variables":{"notes":"%b"}}' % (b"call me back after 6pm " * 1_000)
    for callid in range(100):  # 2.3 MB of answers
        guard.check(callid, 0, b"d%d" % callid)
        guard.answered(callid, b"d%d" % callid, 1, answer)
    assert guard.answer_bytes <= 100_000
    assert all(guard.check(callid, 0, b"d%d" % callid) == Repeat(answer) for callid in range(100))


def test_the_memory_guard_verdicts() -> None:
    guard = MemoryReplayGuard()
    assert guard.check(1, 0, b"a") == Proceed()
    assert guard.check(1, 0, b"a") == Pending()  # the same POST while it is being answered
    assert isinstance(guard.check(1, 0, b"b"), Refuse)  # another one meanwhile
    guard.answered(1, b"a", 1, b"answer 1")
    assert guard.check(1, 0, b"a") == Repeat(b"answer 1")
    assert guard.check(1, 1, b"c") == Proceed()
    guard.abandoned(1, b"c")  # the server failed: a retry may run it
    assert guard.check(1, 1, b"c") == Proceed()
    guard.answered(1, b"c", 2, b"answer 2")
    assert isinstance(guard.check(1, 1, b"old"), Refuse)
    guard.ended(1)
    assert isinstance(guard.check(1, 2, b"d"), Refuse)


def test_servers_sharing_a_replay_store_refuse_what_the_other_answered(client) -> None:
    # two servers (as two processes behind one URL would be) with one secret and one store: a
    # step answered by one cannot be replayed to the other
    store = MemoryReplayGuard()
    with (
        fb.serve(bank(), name="replay-a", secret="shared", replay=store) as a,
        fb.serve(bank(), name="replay-b", secret="shared", replay=store) as b,
    ):
        body = first_post()
        menu = client.post(a.url, json=body).json()
        voicemail = client.post(b.url, json=after(body, menu, "2")).json()
        assert voicemail["command"] == "play"
        replayed = client.post(a.url, json=after(body, menu, "1"))
        assert replayed.status_code == 409
        assert "not the call's current step" in replayed.text
        retried = client.post(a.url, json=after(body, menu, "2"))  # the same POST again
        assert retried.json() == voicemail
