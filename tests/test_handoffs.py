"""The hand-offs of issue #15: error handling the author controls (item 5) and what re-running
notebook cells or serving two flows does (item 6)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import httpx
import pytest

import flowbuilder as fb
from flowbuilder.callr import commands
from flowbuilder.examples import support_line
from flowbuilder.phone import CallSetup, SimulatedCall

_CALLIDS = itertools.count(661_500)


# -- item 5: error handling ----------------------------------------------------------------------


def guarded(
    flow: fb.Flow,
    first: tuple[str, str, str],
    then: tuple[str, str] = ("hello", "Hello."),
    /,
    *,
    on_error: bool = True,
    **params: object,
) -> fb.Flow:
    """*flow* with a *first* node (id, kind, its success outcome) leading to a play *then*
    (id, prompt), and an error path ``sorry`` that apologises."""
    node_id, kind, success = first
    (
        flow.add(node_id, kind, **params)
        .add(then[0], "play", prompt=then[1])
        .add("sorry", "play", prompt="Our systems are down, please call back later.")
        .add("end", "hangup")
        .connect(node_id, then[0], success)
        .connect(then[0], "end")
        .connect("sorry", "end")
    )
    return flow.configure(on_error="sorry") if on_error else flow


def failing_lookup(on_error: bool) -> fb.Flow:
    return guarded(
        fb.Flow("crm"),
        ("lookup", "python", "next"),
        on_error=on_error,
        function="flowbuilder.examples:no_such_function",
    )


def test_on_error_catches_a_failure_outcome_left_unconnected() -> None:
    t = fb.simulate(failing_lookup(on_error=True))
    assert t.heard == ["Our systems are down, please call back later."]
    assert t.path == ["lookup", "sorry", "end"]
    assert any("outcome 'error' is not connected" in e.text for e in t.events)
    # without an error path it still hangs up, saying why
    t = fb.simulate(failing_lookup(on_error=False))
    assert t.heard == []
    assert t.status == "completed"


def test_on_error_catches_an_unconnected_failure_inside_a_subflow() -> None:
    crm = fb.Flow("crm").add("lookup", "python", function="flowbuilder.examples:no_such_function")
    crm.add("found", "play", prompt="Found you.").connect("lookup", "found", "next")
    flow = guarded(
        fb.Flow("line").use(crm), ("ask", "subflow", "done"), ("thanks", "Thanks."), flow="crm"
    )
    t = fb.simulate(flow)
    assert t.heard == ["Our systems are down, please call back later."]
    assert "thanks" not in t.path  # the failure did not return through done
    # without an error path, a subflow's loose end still returns to the node that called it
    t = fb.simulate(flow.configure(on_error=None))
    assert t.heard == ["Thanks."]


def test_on_error_catches_a_failed_http_request_left_unconnected() -> None:
    flow = guarded(
        fb.Flow("lookup"),
        ("crm", "http_request", "success"),
        url="http://127.0.0.1:9/customers",
        timeout_ms=500,
    )
    t = fb.simulate(flow)  # loopback is refused by default: the request fails
    assert t.heard == ["Our systems are down, please call back later."]
    assert any("outcome 'failed' is not connected" in e.text for e in t.events)


def test_an_unconnected_outcome_that_is_not_a_failure_still_hangs_up() -> None:
    flow = failing_lookup(on_error=True)
    flow.add("menu", "menu", prompt="Press 1.", options=[{"outcome": "one", "digits": "1"}])
    flow.connect("menu", "end", "one")
    flow.entry = "menu"
    t = fb.simulate(flow, press=["", "", ""])  # silence: menu's timeout, a retry outcome
    assert "Our systems are down" not in " ".join(t.heard)


def test_the_fallback_speaks_the_flows_language() -> None:
    flow = (
        fb.Flow("ligne", voice="TTS_FR-FR_AUDREY")
        .add("boom", "python", function="flowbuilder.examples:no_such_function")
        .configure(fallback_message="Désolé, une erreur est survenue. Au revoir.")
    )
    flow.add("fin", "hangup").connect("boom", "fin", "next")
    flow.configure(on_error=None)
    # the error outcome is unconnected and there is no error path: the call hangs up; force the
    # fallback with a state that cannot be trusted instead
    program = fb.compile(flow)
    config = fb.EngineConfig(secret=b"s")
    setup = CallSetup(app="4346423A", callid=1, number="+33900000000")
    from flowbuilder import engine

    reply = engine.step(
        program,
        setup.callback(command="play", command_id=3, variables={"_fb": "forged"}),
        config=config,
        now=0.0,
    )
    assert isinstance(reply, engine.Reply)
    assert reply.answer is not None
    assert reply.answer.command.params["media_id"] == commands.tts(
        "Désolé, une erreur est survenue. Au revoir.", "TTS_FR-FR_AUDREY"
    )
    flow.configure(fallback_voice="TTS_EN-GB_DANIEL", fallback_message="Sorry.")
    reply = engine.step(
        fb.compile(flow),
        setup.callback(command="play", command_id=3, variables={"_fb": "forged"}),
        config=config,
        now=0.0,
    )
    assert isinstance(reply, engine.Reply)
    assert reply.answer is not None
    assert reply.answer.command.params["media_id"] == "TTS|TTS_EN-GB_DANIEL|Sorry."


# -- item 6: notebook hand-offs ------------------------------------------------------------------


def test_rerunning_the_serve_and_follow_cells_never_doubles_a_path() -> None:
    with fb.Sandbox() as sb:
        client = sb.client()
        did = client.apps.get_dids(only_available=True)[0]
        app = None
        for _ in range(3):  # the notebook's cells, run three times
            server = fb.serve(support_line())
            sb.follow(server)
            if app is None:
                app = client.apps.create("Support", url=server.url)
                client.apps.assign_did(app, did)
        t = sb.call_in(did, "+33639980001", ["2"])
        server.stop()
    assert t.path == ["welcome", "main_menu", "support", "thanks", "end"]


def test_a_different_flow_under_the_same_default_name_is_refused_not_swapped_in() -> None:
    first = fb.serve(fb.Flow().add("a", "play", prompt="Flow A"))
    try:
        with pytest.raises(ValueError, match="would change what that URL plays"):
            fb.serve(fb.Flow().add("b", "play", prompt="Flow B"))
        assert first.running
        body = (
            SimulatedCall(CallSetup(app="4346423A", callid=next(_CALLIDS), number="+33900000000"))
            .start()
            .callback.to_json()
        )
        assert httpx.post(first.url, json=body).json()["params"]["media_id"].endswith("Flow A")
        with fb.serve(fb.Flow().add("b", "play", prompt="Flow B"), name="b") as second:
            assert second.url != first.url  # both run, each at its own URL
        edited = fb.serve(fb.Flow().add("a", "play", prompt="Flow A, edited"))  # a cell re-run
        assert edited.url == first.url
        assert not first.running
        edited.stop()
    finally:
        first.stop()


@pytest.mark.parametrize("port", [99999, -1])
@pytest.mark.parametrize("command", ["serve", "sandbox"])
def test_ports_are_range_checked(port: int, command: str) -> None:
    from flowbuilder.sandbox import Sandbox

    start = (
        (lambda: fb.serve(support_line(), port=port, name="ports"))
        if command == "serve"
        else (lambda: Sandbox(port=port))
    )
    with pytest.raises(ValueError, match="port must be 0"):
        start()
    args = ["serve", "x.json"] if command == "serve" else ["sandbox"]
    done = subprocess.run(
        [sys.executable, "-m", "flowbuilder", *args, "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "is not a port: use 0 (any free port) to 65535" in done.stderr
