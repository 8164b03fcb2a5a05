"""An exported module serves its flow: ``python exports/support_line.py --port P`` answers
CALLR's callbacks over real HTTP exactly as the flow does in-process, without notebook packages."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flowbuilder.callr import wire
from flowbuilder.examples import support_line
from flowbuilder.phone import CallSetup, NextPost, Script, SimulatedCall
from flowbuilder.simulate import simulate
from tests.processes import as_in_a_terminal

EXPORT = Path(__file__).resolve().parents[1] / "exports" / "support_line.py"
BLOCK_WIDGETS = textwrap.dedent(
    """
    import runpy, sys
    for name in ("ipywidgets", "anywidget", "IPython", "traitlets"):
        sys.modules[name] = None  # importing any of them now raises ImportError
    path = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(path, run_name="__main__")
    """
)


@contextlib.contextmanager
def served(*command: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """Start a server process on a free port; yield its URL and its output lines; stop it."""
    proc = subprocess.Popen(
        [*command, "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=as_in_a_terminal,
    )
    assert proc.stdout is not None
    killer = threading.Timer(60, proc.kill)  # a server that never starts fails the test
    killer.start()
    lines: list[str] = []
    try:
        url = ""
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("URL for CALLR: "):
                url = line.removeprefix("URL for CALLR: ").strip()
                break
        assert url, "\n".join(lines)
        yield url, lines
    finally:
        killer.cancel()
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            rest, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
        lines.extend(rest.splitlines())
        assert proc.returncode == 0, "\n".join(lines)
        assert "flowbuilder: stopped" in lines


CALLIDS = itertools.count(421889)


def call_over_http(url: str, script: Script, **auth: str) -> SimulatedCall:
    """CALLR's side of one inbound call, every POST rendered by the wire module, over HTTP."""
    setup = CallSetup(
        app="4346423A",
        callid=next(CALLIDS),  # each call its own, as CALLR's: a server refuses a replayed one
        number="+33912345678",
        cli_number="+33612345678",
        date_started="2026-01-01 10:00:00",
    )
    call = SimulatedCall(setup, script)
    post: NextPost | None = call.start()
    login = (auth["login"], auth["password"]) if auth else None
    with httpx.Client(timeout=10, auth=login) as client:
        while post is not None:
            response = client.post(
                url,
                content=wire.render_callback(post.callback),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 200, response.text
            if post.final:
                assert response.content == b""  # CALLR ignores answers after HANGUP
                break
            post = call.on_answer(wire.parse_answer(response.content) if response.content else None)
    return call


def test_python_exported_module_serves_the_flow() -> None:
    with served(sys.executable, str(EXPORT)) as (url, lines):
        assert url.startswith("http://127.0.0.1:")
        # the first callback of a call, exactly as CALLR sends it
        first = SimulatedCall(
            CallSetup(app="4346423A", callid=7, number="+33912345678", cli_number="+336"),
        ).start()
        body = wire.render_callback(first.callback)
        assert set(json.loads(body)) == set(wire.CALLBACK_FIELDS)
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        answer = wire.parse_answer(response.content)
        assert answer.command.name == "play"
        assert answer.command.params == {"media_id": "TTS|TTS_EN-GB_SERENA|Welcome to Acme."}
        # a whole call over HTTP hears what the same call hears in-process
        for presses in (["2"], ["7", "9", "5"], []):
            over_http = call_over_http(url, Script(presses=list(presses))).transcript
            in_process = simulate(support_line(), press=presses)
            assert over_http.heard == in_process.heard
            assert over_http.status == in_process.status == "completed"
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert events, lines  # one JSON line per callback answered


def test_exported_module_serves_without_notebook_packages() -> None:
    env = {**os.environ, "FLOWBUILDER_LOGIN": "callr", "FLOWBUILDER_PASSWORD": "s3cret-pw"}
    with served(sys.executable, "-c", BLOCK_WIDGETS, str(EXPORT), env=env) as (url, lines):
        # credentials come from the environment: a POST without them is refused
        first = SimulatedCall(CallSetup(app="4346423A", callid=8, number="+33900000000")).start()
        refused = httpx.post(url, content=wire.render_callback(first.callback))
        assert refused.status_code == 401
        call = call_over_http(url, Script(presses=["1"]), login="callr", password="s3cret-pw")
        assert call.transcript.dialed == [("+33123456789", "ANSWER")]
    assert not any("s3cret-pw" in line for line in lines)  # never logged
    assert not any("Traceback" in line for line in lines)


@pytest.mark.parametrize("option", [["--port", "nope"]])
def test_bad_serve_options_fail_cleanly(option: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXPORT), *option],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "'nope' is not a port number" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_make_app_serves_in_process() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("support_line_export", EXPORT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handle = module.make_app(port=0, name="export-test")
    try:
        assert handle.running
        call = call_over_http(handle.url, Script(presses=["0"], dial=["BUSY"]))
        assert call.transcript.heard[2] == "All our operators are busy. Please leave a message."
    finally:
        handle.stop()
    assert not handle.running
