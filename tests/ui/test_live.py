"""Live calls on the canvas: a real served flow, real sandbox calls over loopback HTTP.

The server calls subscribers from its own thread; the builder must touch widgets only on the
loop it was watching from (the kernel's). Each test runs that loop, like a kernel does.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import flowbuilder as fb
from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.phone import Script
from flowbuilder.sandbox import Sandbox
from flowbuilder.simulate import simulate
from flowbuilder.ui import Builder
from flowbuilder.ui.callr_panels import assign_did, connect, create_app

_names = itertools.count()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def serve(flow: Flow) -> Any:
    return fb.serve(flow, name=f"live-test-{next(_names)}")


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


def test_a_sandbox_call_lights_its_path_and_fills_the_call_log(
    sandbox: Sandbox, frontend: Any
) -> None:
    flow = support_line()
    builder = Builder(flow)
    server = serve(flow)
    conn = connect(sandbox=sandbox)
    did = assign_did(conn, create_app(conn, server))
    expected = simulate(flow, press=["2"]).path  # the same engine, in-process

    async def kernel() -> None:
        builder.watch(server)
        transcript = await asyncio.to_thread(
            sandbox.call_in, did.intl_number, "+33639980001", Script(presses=["2"])
        )
        assert transcript.status == "completed"
        await until(lambda: builder.canvas.highlight.get("path") == expected)

    try:
        asyncio.run(kernel())
    finally:
        server.stop()
    page = frontend.page_state(builder.canvas)
    assert page["highlight"] == {"path": expected, "active": []}
    assert builder.canvas.comm.threads == {threading.main_thread().name}
    # one row per call; its steps in order, each with the node that sent the command
    (call,) = frontend.page_state(builder.calls)["calls_data"]
    assert call["callid"] == str(sandbox.calls[-1].callid)
    assert call["status"] == "ended"
    steps = call["steps"]
    assert [s["node"] for s in steps if s["sent"]][:2] == ["welcome", "main_menu"]
    menu = next(s for s in steps if s["node"] == "main_menu")
    assert (menu["sent"], menu["result"]) == ("read", "2")  # the menu's read got "2"
    assert steps[0]["sent"] == "play"
    assert steps[0]["passed"] == ["welcome"]
    assert builder.calls.layout.display is None  # shown once watching
    assert "0 in progress · 1 seen" in builder.calls.summary
    # the log's "Show path" lights that call's path on the canvas
    builder.highlight([])
    frontend.action(builder.calls, action="show", callid=call["callid"])
    assert builder.canvas.highlight["path"] == expected
    builder.close()


def test_the_node_a_live_call_is_on_is_marked_until_it_ends(frontend: Any) -> None:
    flow = (
        Flow("hold")
        .add("hold", "play", prompt="Please hold the line while we look.")  # ~2.3 s of speech
        .add("bye", "hangup")
        .connect("hold", "bye")
    )
    builder = Builder(flow)
    server = serve(flow)
    seen_active: list[list[str]] = []

    async def kernel(sb: Sandbox) -> None:
        conn = connect(sandbox=sb)
        did = assign_did(conn, create_app(conn, server))
        builder.watch(server)
        call = sb.start_call_in(did.intl_number, "+33639980001")
        await until(lambda: builder.canvas.highlight.get("active") == ["hold"])
        seen_active.append(builder.canvas.highlight["active"])
        await asyncio.to_thread(call.result, 30)
        await until(lambda: builder.canvas.highlight.get("active") == [])

    try:
        with Sandbox(clock="real") as sb:
            asyncio.run(kernel(sb))
    finally:
        server.stop()
    assert seen_active == [["hold"]]
    assert builder.canvas.highlight["path"] == ["hold", "bye"]
    builder.close()


def test_show_call_and_unwatch(sandbox: Sandbox, frontend: Any) -> None:
    flow = support_line()
    builder = Builder(flow)
    server = serve(flow)
    try:
        conn = connect(sandbox=sandbox)
        did = assign_did(conn, create_app(conn, server))
        # with no running loop (a script), events wait in the watch until drained
        watch = builder.watch(server)
        transcript = sandbox.call_in(did.intl_number, "+33639980001", Script(presses=["1"]))
        # create_app made the sandbox follow the server, so the transcript knows its path
        assert transcript.path == ["welcome", "main_menu", "sales"]
        builder.show_call(transcript)
        assert builder.canvas.highlight["path"] == ["welcome", "main_menu", "sales"]
        builder.highlight([])
        # by call id, the path comes from the events the watched server sent
        builder.show_call(transcript.setup.callid)
        assert builder.canvas.highlight["path"] == ["welcome", "main_menu", "sales"]
        builder.unwatch()
        sandbox.call_in(did.intl_number, "+33639980001", Script(presses=["0"]))
        time.sleep(0.2)
        assert watch.drain() == 0  # nothing arrives once unwatched
        assert len(builder.calls.calls) == 1
        # a transcript that knows its path (simulate) is shown as it is
        builder.show_call(simulate(flow, press=["0"]))
        assert builder.canvas.highlight["path"][:3] == ["welcome", "main_menu", "operator"]
    finally:
        server.stop()
        builder.close()


def test_watching_shows_calls_the_server_already_answered(sandbox: Sandbox, frontend: Any) -> None:
    flow = support_line()
    server = serve(flow)
    try:
        conn = connect(sandbox=sandbox)
        did = assign_did(conn, create_app(conn, server))
        sandbox.call_in(did.intl_number, "+33639980001", Script(presses=["2"]))
        builder = Builder(flow)
        builder.watch(server)
        assert len(builder.calls.calls) == 1
        assert builder.canvas.highlight["path"] == simulate(flow, press=["2"]).path
        assert {c.caller for c in builder.calls.calls.values()} == {"+33639980001"}
    finally:
        server.stop()
