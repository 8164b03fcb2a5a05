"""Starting, replacing and stopping callback servers the way notebooks and scripts do: inside a
running event loop, re-running a cell, context managers; no deadlock, no leaked thread or port."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import flowbuilder as fb
from flowbuilder.callr import wire
from flowbuilder.examples import support_line
from flowbuilder.phone import CallSetup, Script, SimulatedCall
from flowbuilder.server import ServerHandle, running_servers, serve, stop_all

APP = "4346423A"
_CALLIDS = itertools.count(550_000)
JSON = {"Content-Type": "application/json"}


def first_post() -> dict[str, Any]:
    setup = CallSetup(app=APP, callid=next(_CALLIDS), number="+33900000000", cli_number="+336")
    return SimulatedCall(setup).start().callback.to_json()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("flowbuilder-server")}


def wait_for_threads(before: set[int], timeout_s: float = 5.0) -> set[str]:
    """Names of threads alive now that were not before (after letting them exit)."""
    deadline = time.monotonic() + timeout_s
    while True:
        extra = {t.name for t in threading.enumerate() if t.ident not in before}
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def _no_servers_left() -> Iterator[None]:
    yield
    stop_all()
    assert not server_threads()


def test_fb_serve_is_the_public_entry_point():
    assert fb.serve is serve
    assert "serve" in fb.__all__


def test_notebook_cycle_inside_a_running_event_loop():
    """What a notebook does: cells run on a loop that is already running (ipykernel's); they
    call the sync API, make sync and async requests, re-run the serve cell, then stop."""
    before = {t.ident for t in threading.enumerate()}
    port = free_port()

    async def cells() -> None:
        assert asyncio.get_running_loop().is_running()
        # cell 1: serve
        server = fb.serve(support_line(), port=port, name="notebook")
        assert server.running
        assert server.url == f"http://127.0.0.1:{port}/"
        # cell 2: a sync call from the loop's own thread does not deadlock
        with httpx.Client(timeout=5) as sync_client:
            assert sync_client.post(server.url, json=first_post()).json()["command"] == "play"
        # ... and an async one too
        async with httpx.AsyncClient(timeout=5) as async_client:
            response = await async_client.post(server.url, json=first_post())
            assert response.json()["command"] == "play"
        # cell 1 again: the old server is replaced on the same port, no "address in use"
        again = fb.serve(support_line(), port=port, name="notebook")
        assert not server.running
        assert again.running
        assert again.port == port
        assert len(server_threads()) == 1
        async with httpx.AsyncClient(timeout=5) as async_client:
            response = await async_client.post(again.url, json=first_post())
            assert response.json()["command"] == "play"
        # the log carried over: the same server, as far as the notebook is concerned
        assert len(again.events) == 3
        # last cell: stop (twice: idempotent)
        again.stop()
        again.stop()
        assert not again.running
        assert "stopped" in repr(again)

    asyncio.run(asyncio.wait_for(cells(), 30))
    assert wait_for_threads(before) == set()
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))


def test_rerunning_a_cell_keeps_the_url_and_the_calls_in_progress():
    with httpx.Client(timeout=5) as client:
        first = serve(support_line())  # port 0: any free port
        setup = CallSetup(app=APP, callid=next(_CALLIDS), number="+339", cli_number="+336")
        call = SimulatedCall(setup, Script(presses=["2"]))
        post = call.start()
        response = client.post(first.url, content=wire.render_callback(post.callback), headers=JSON)
        post = call.on_answer(wire.parse_answer(response.content))

        second = serve(support_line())  # the same cell again: same name (the flow's)
        assert not first.running
        assert second.url == first.url  # CALLR keeps posting where it did
        assert list(second.active_calls) == [setup.callid]

        while post is not None:  # the call carries on against the new server
            response = client.post(
                second.url, content=wire.render_callback(post.callback), headers=JSON
            )
            assert response.status_code == 200
            if post.final:
                break
            post = call.on_answer(wire.parse_answer(response.content) if response.content else None)
        assert call.transcript.status == "completed"
        assert call.transcript.heard[-1] == "Thank you. We will call you back soon."
        assert not any(e.error for e in second.events)
        second.stop()


def test_different_names_run_side_by_side_and_a_taken_port_is_replaced():
    a = serve(support_line(), name="a")
    b = serve(support_line(), name="b")
    assert a.running
    assert b.running
    assert a.port != b.port
    assert {h.name for h in running_servers()} == {"a", "b"}
    c = serve(support_line(), name="c", port=a.port)  # same port, another name: a goes
    assert not a.running
    assert c.port == a.port
    assert b.running


def test_a_port_held_by_another_program_is_one_clear_error():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve on 127.0.0.1:{port}: the address is in"):
            serve(support_line(), port=port, name="clash")
    assert not server_threads()


def test_context_manager_from_a_worker_thread():
    results: list[Any] = []

    def script() -> None:
        with serve(support_line(), name="threaded") as handle, httpx.Client() as client:
            results.append(client.post(handle.url, json=first_post()).json()["command"])
        results.append(handle.running)

    worker = threading.Thread(target=script)
    worker.start()
    worker.join(20)
    assert results == ["play", False]


def test_stop_from_the_servers_own_thread_does_not_deadlock():
    handle = serve(support_line(), name="self-stop")
    handle.subscribe(lambda event: handle.stop())  # a subscriber runs on the server's thread
    with httpx.Client(timeout=5) as client:
        assert client.post(handle.url, json=first_post()).status_code == 200
    assert handle.wait(5)
    assert not handle.running
    assert not server_threads()


def test_updates_and_adds_work_on_a_stopped_handle_and_repr_shows_it():
    handle = serve(support_line(), name="later")
    handle.stop()
    handle.update(support_line().set_params("welcome", prompt="Hi"))
    assert handle.status == "stopped"
    html = handle._repr_html_()
    assert "stopped" in html
    assert handle.url in html
    with pytest.raises(ValueError, match="no flow served"):
        handle.update(support_line(), app="NOTSERVED", path="/nowhere")


def test_bad_arguments_are_refused_before_anything_starts():
    with pytest.raises(ValueError, match="path must start with '/'"):
        serve(support_line(), path="callr", name="bad")
    with pytest.raises(ValueError, match="public_url must be an http"):
        serve(support_line(), public_url="ftp://x", name="bad")
    with pytest.raises(ValueError, match="a mapping"):
        serve({APP: support_line()}, app=APP, name="bad")
    with pytest.raises(TypeError, match="cannot serve a int"):
        serve(42, name="bad")  # type: ignore[arg-type]
    assert not server_threads()


def test_serving_a_saved_file(tmp_path: Any):
    path = support_line().save(tmp_path / "line.json")
    with serve(path, name="file") as handle, httpx.Client() as client:
        assert handle.flows[0]["flow"] == "support_line"
        assert client.post(handle.url, json=first_post()).json()["command"] == "play"
    module = tmp_path / "hand_written.py"
    module.write_text(
        "from flowbuilder import Flow\nflow = Flow('tiny').add('hi', 'play', prompt='Tiny')\n"
    )
    with serve(str(module), name="module") as handle:
        assert handle.flows[0]["flow"] == "tiny"


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_many_start_stop_cycles_leak_nothing():
    before = {t.ident for t in threading.enumerate()}
    port = free_port()
    with httpx.Client(timeout=5) as client:
        for _ in range(10):
            handle = serve(support_line(), port=port, name="cycle")
            assert client.post(handle.url, json=first_post()).status_code == 200
        handle.stop()
    assert wait_for_threads(before) == set()
    assert _threads_named("flowbuilder-server") == []


def test_server_handle_type_is_exported():
    assert isinstance(serve(support_line(), name="typed"), ServerHandle)


def test_a_flow_with_http_requests_leaves_no_thread_behind():
    before = {t.ident for t in threading.enumerate()}
    flow = (
        fb.Flow("api")
        .configure(allow_private_network=True)  # so that the request is made
        .add("fetch", "http_request", url="http://127.0.0.1:9/unused", timeout_ms=500)
        .add("done", "play", prompt="Done")
        .connect("fetch", "done", "failed")
    )
    with serve(flow, name="http-warm") as handle, httpx.Client(timeout=5) as client:
        answer = client.post(handle.url, json=first_post()).json()
        assert answer["params"]["media_id"].endswith("|Done")  # connection refused: failed
    assert wait_for_threads(before) == set()
