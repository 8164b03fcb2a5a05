"""The CALLR-side cells against the local sandbox (real JSON-RPC over loopback HTTP)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

import flowbuilder as fb
from flowbuilder.errors import CallrAuthError
from flowbuilder.flow import Flow
from flowbuilder.phone import Script, Transcript
from flowbuilder.sandbox import Sandbox
from flowbuilder.simulate import simulate
from flowbuilder.ui import Builder
from flowbuilder.ui import callr_panels as cp

_names = itertools.count()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def server(flow: Flow) -> Iterator[Any]:
    handle = fb.serve(flow, name=f"panels-test-{next(_names)}")
    yield handle
    handle.stop()


def test_connect_defaults_to_a_shared_sandbox_kept_across_reruns() -> None:
    try:
        first, again = cp.connect(), cp.connect()
        assert first.sandbox is not None
        assert first.sandbox is again.sandbox
        assert "sandbox" in repr(first)
        assert first.client.apps.get_dids(True)  # a live account with free numbers
        first.close()
        again.close()
    finally:
        cp.shared_sandbox().stop()


def test_connect_to_callr_needs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CALLR_API_KEY", "CALLR_LOGIN", "CALLR_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CallrAuthError, match="CALLR_API_KEY"):
        cp.connect("callr")


def test_connect_to_callr_with_credentials_from_the_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox stands in for api.callr.com (it speaks the same JSON-RPC)."""
    assert sandbox.api_key is not None
    monkeypatch.setenv("CALLR_API_KEY", sandbox.api_key)
    conn = cp.connect("callr", url=sandbox.url)
    assert conn.sandbox is None
    assert sandbox.api_key not in repr(conn)
    conn.close()
    monkeypatch.setenv("CALLR_API_KEY", "0" * 32)
    with pytest.raises(CallrAuthError):
        cp.connect("callr", url=sandbox.url)


def test_create_app_assign_did_and_place_a_call(sandbox: Sandbox, server: Any, flow: Flow) -> None:
    conn = cp.connect(sandbox=sandbox)
    app = cp.create_app(conn, server)
    assert app.url == server.url
    assert cp.create_app(conn, server).hash == app.hash  # re-running the cell reuses it
    free = cp.available_dids(conn)
    did = cp.assign_did(conn, app)
    assert did.app == app.hash
    assert did.hash == free[0].hash
    assert cp.assign_did(conn, app).hash == did.hash  # already has one: kept
    transcript = cp.place_call(conn, app, "+447890123456", script=Script(presses=["0"]))
    assert isinstance(transcript, Transcript)
    assert transcript.heard[:2] == simulate(flow, press=["0"]).heard[:2]
    assert transcript.status == "completed"
    conn.close()


def test_panels_click_through(sandbox: Sandbox, server: Any, flow: Flow, frontend: Any) -> None:
    builder = Builder(flow)
    builder.watch(server)
    connect = cp.ConnectPanel(sandbox=sandbox)
    app_panel = cp.AppPanel(connect, server)
    did_panel = cp.DidPanel(connect, app_panel)
    call_panel = cp.CallPanel(connect, app_panel, builder)
    frontend.click(app_panel.button)  # before connecting: says what to do first
    assert "connect first" in app_panel.status.value
    assert did_panel.choice.options == ()  # nothing to list before connecting
    frontend.click(connect.button)
    assert connect.connection is not None
    assert "Connected to the local sandbox" in connect.status.value
    assert "Connection" not in connect.status.value  # a sentence, not a repr
    assert did_panel.choice.options  # filled as soon as the connection is made
    frontend.click(app_panel.button)
    assert app_panel.app is not None
    assert app_panel.app.hash in app_panel.status.value
    first, (_label, chosen) = did_panel.choice.options[:2]
    frontend.update(did_panel.choice, index=1)
    frontend.click(did_panel.button)
    assert did_panel.did is not None
    assert did_panel.did.hash == chosen
    assert did_panel.did.app == app_panel.app.hash
    # the assigned number stays in the list, selected and marked as the app's
    assert did_panel.choice.value == chosen
    assert "assigned to this app" in did_panel.choice.label
    assert first in did_panel.choice.options  # the first one was left free
    frontend.update(call_panel.presses, value="2")
    frontend.click(call_panel.button)
    assert "completed" in call_panel.status.value
    assert "please describe your problem" in call_panel.transcript.value.lower()
    expected = simulate(flow, press=["2"]).path
    assert builder.canvas.highlight["path"] == expected
    frontend.update(call_panel.answer, index=1)  # busy
    frontend.click(call_panel.button)
    assert "busy" in call_panel.status.value
    connect.connection.close()
    builder.close()


def test_the_password_is_read_then_cleared(sandbox: Sandbox, frontend: Any) -> None:
    panel = cp.ConnectPanel(url=sandbox.url)
    frontend.update(panel.target, index=1)  # CALLR account
    assert panel.account.layout.display is None
    assert sandbox.login is not None
    assert sandbox.password is not None
    frontend.update(panel.login, value=sandbox.login)
    frontend.update(panel.password, value=sandbox.password)
    frontend.click(panel.button)
    assert panel.connection is not None
    assert panel.connection.sandbox is None  # a CALLR connection (to the sandbox's URL)
    assert panel.password.value == ""
    assert panel.password.get_state()["value"] == ""
    assert frontend.page_state(panel.password)["value"] == ""  # the page was told to forget it
    everything = json.dumps([panel.get_state(), panel.status.value, repr(panel.connection)])
    assert sandbox.password not in everything
    frontend.update(panel.password, value="wrong-password")
    frontend.click(panel.button)
    assert "wrong-password" not in panel.status.value
    assert panel.status.value.startswith('<span style="color:#c62828">')
    assert panel.password.value == ""
    assert panel.connection is None


def test_script_from_panel_fields() -> None:
    assert cp.script_from("1, 2").presses == ["1", "2"]
    assert cp.script_from(" ,3").presses == [None, "3"]
    assert cp.script_from("").presses == []
    assert cp.script_from("", "busy").answer == "busy"
    with pytest.raises(ValueError, match="presses"):
        cp.script_from("x")


def test_running_the_serve_and_app_cells_again_keeps_paths_single(
    sandbox: Sandbox, flow: Flow, frontend: Any
) -> None:
    """Re-running ``server = fb.serve(flow)`` and ``create_app(...)`` cells: the new handle has
    the same event log, and the sandbox must not follow it twice (paths were doubled)."""
    name = f"rerun-{next(_names)}"
    first = fb.serve(flow, name=name)
    again = None
    try:
        conn = cp.connect(sandbox=sandbox)
        cp.create_app(conn, first)
        again = fb.serve(flow, name=name)  # the cell, run again
        app = cp.create_app(conn, again)
        did = cp.assign_did(conn, app)
        transcript = sandbox.call_in(did.intl_number, "+33639980001", Script(presses=["2"]))
        assert transcript.path == simulate(flow, press=["2"]).path
    finally:
        for handle in (first, again):
            if handle is not None:
                handle.stop()


def test_panels_say_what_to_run_again_when_the_sandbox_was_stopped(
    flow: Flow, server: Any, frontend: Any
) -> None:
    """After Run All, the last cell stops the sandbox; the Call panel then says which cells to
    run again instead of "Cannot send a request, as the client has been closed"."""
    sandbox = Sandbox().start()
    conn = cp.connect(sandbox=sandbox)
    app = cp.create_app(conn, server)
    cp.assign_did(conn, app)
    panel = cp.CallPanel(conn, app)
    conn.sandbox.stop()  # the notebook's clean-up cell
    conn.close()
    frontend.click(panel.button)
    assert "sandbox this panel used was stopped" in panel.status.value
    assert "conn = connect()" in panel.status.value
    assert "client has been closed" not in panel.status.value


def test_a_test_call_from_the_panel_leaves_the_kernel_free(
    flow: Flow, server: Any, frontend: Any
) -> None:
    """Inside the kernel (a running loop), Call returns at once; the builder follows the call
    as it goes, and the transcript shows when it ends."""
    import asyncio

    builder = Builder(flow)
    seen_active: list[list[str]] = []

    async def kernel(sb: Sandbox) -> None:
        conn = cp.connect(sandbox=sb)
        app = cp.create_app(conn, server)
        cp.assign_did(conn, app)
        builder.watch(server)
        panel = cp.CallPanel(conn, app, builder)
        frontend.update(panel.presses, value="2")
        frontend.click(panel.button)
        frontend.click(panel.button)  # a double click: one call, not two
        assert "ringing" in panel.status.value  # back at once: the kernel is free
        assert panel.transcript.value == ""
        assert panel.button.disabled  # until the call ends
        assert len(sb.calls) == 1
        while panel.pending is not None and not panel.pending.done():
            active = builder.canvas.highlight.get("active")
            if active and active not in seen_active:
                seen_active.append(active)
            await asyncio.sleep(0.02)
        assert "completed" in panel.status.value
        assert "please describe your problem" in panel.transcript.value.lower()
        assert not panel.button.disabled

    with Sandbox(clock="real") as sb:
        asyncio.run(kernel(sb))
    assert ["welcome"] in seen_active  # lit while the welcome prompt played
    assert builder.canvas.highlight["path"] == simulate(flow, press=["2"]).path
    builder.close()
