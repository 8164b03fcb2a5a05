"""``flowbuilder serve FLOW`` and ``python exported_flow.py``, as real processes on loopback."""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbuilder.examples import support_line
from flowbuilder.phone import CallSetup, SimulatedCall
from tests.processes import as_in_a_terminal

APP = "4346423A"
_CALLIDS = itertools.count(660_000)


def first_post(app: str = APP) -> dict[str, Any]:
    setup = CallSetup(app=app, callid=next(_CALLIDS), number="+33900000000", cli_number="+336")
    return SimulatedCall(setup).start().callback.to_json()


class Served:
    """A ``flowbuilder serve`` process; its stdout lines arrive on a queue."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            preexec_fn=as_in_a_terminal,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        self._reader = threading.Thread(
            target=lambda: [self.lines.put(line.rstrip("\n")) for line in stdout], daemon=True
        )
        self._reader.start()
        self.head = [self.next_line() for _ in range(2)]

    def next_line(self, timeout: float = 20) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"no output; stderr: {err}") from None

    @property
    def url(self) -> str:
        line = self.head[1]
        assert line.startswith("URL for CALLR: "), self.head
        return line.removeprefix("URL for CALLR: ")

    def until(self, prefix: str) -> str:
        while True:
            line = self.next_line()
            if prefix in line:
                return line

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(sig)
        try:
            self.process.wait(20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self._reader.join(5)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        self.close()
        return self.process.returncode, "\n".join(rest)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    return support_line().save(tmp_path / "support_line.json")


@pytest.fixture
def served(flow_file: Path) -> Iterator[Served]:
    proc = Served(
        [sys.executable, "-m", "flowbuilder", "serve", str(flow_file), "--port", "0"],
        env={"FLOWBUILDER_SECRET": "a-shared-secret"},
    )
    yield proc
    proc.close()


def test_serve_prints_the_url_streams_events_and_stops_on_ctrl_c(served: Served):
    assert served.head[0].startswith("flowbuilder: serving 'support_line' (version ")
    assert served.url.startswith("http://127.0.0.1:")
    with httpx.Client(timeout=10) as client:
        body = first_post()
        answer = client.post(served.url, json=body).json()
        assert answer["command"] == "play"
        line = served.until(f"call {body['callid']}")
        assert "UP (first) -> play [welcome] @welcome" in line
        refused = client.get(served.url)
        assert refused.status_code == 405
        assert "405 refused: GET is not allowed" in served.until("refused")
    code, rest = served.stop(signal.SIGINT)
    assert code == 0
    assert rest.endswith("flowbuilder: stopped")


def test_sigterm_stops_cleanly(served: Served):
    code, rest = served.stop(signal.SIGTERM)
    assert code == 0
    assert "flowbuilder: stopped" in rest


def test_credentials_from_the_environment_and_json_events(flow_file: Path):
    proc = Served(
        [
            sys.executable,
            "-m",
            "flowbuilder",
            "serve",
            str(flow_file),
            "--port",
            "0",
            "--app",
            APP,
            "--json",
            "--public-url",
            "https://ivr.example.com/",
        ],
        env={"FLOWBUILDER_LOGIN": "callr", "FLOWBUILDER_PASSWORD": "pw-from-env"},
    )
    try:
        assert proc.url == "https://ivr.example.com/"
        local = proc.until("listening on: ").removeprefix("listening on: ")
        with httpx.Client(timeout=10) as client:
            assert client.post(local, json=first_post()).status_code == 401
            other = client.post(local, json=first_post("5A5B5C5D"), auth=("callr", "pw-from-env"))
            assert other.status_code == 404  # --app binds the flow to one app
            body = first_post()
            ok = client.post(local, json=body, auth=("callr", "pw-from-env"))
            assert ok.status_code == 200
        event = json.loads(proc.until(f'"callid": {body["callid"]}'))
        assert event["answered"] == "play"
        assert event["path"] == ["welcome"]
    finally:
        code, rest = proc.stop()
    assert code == 0
    assert "pw-from-env" not in rest


def refused(flow_file: Path) -> subprocess.CompletedProcess[str]:
    """``flowbuilder serve FLOW --port 0`` on a file it must refuse before listening."""
    return subprocess.run(
        [sys.executable, "-m", "flowbuilder", "serve", str(flow_file), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_flow_file_is_one_line_on_stderr(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = refused(bad)
    assert result.returncode == 1
    assert result.stderr.startswith("flowbuilder serve: ")
    assert result.stderr.count("\n") == 1
    assert "not valid JSON" in result.stderr


def test_a_broken_flow_is_refused_with_every_error_one_line_each(tmp_path: Path):
    flow = support_line().to_dict()
    flow["nodes"]["welcome"]["kind"] = "plya"
    flow["nodes"]["main_menu"]["params"]["max_digits"] = 99
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(flow))
    done = refused(broken)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"flowbuilder serve: {broken}: ")
    assert "nothing is served" in lines[0]
    assert any("welcome" in line and "plya" in line for line in lines[1:]), lines
    assert any("main_menu" in line and "max_digits" in line for line in lines[1:]), lines
    assert done.stdout == ""


def test_a_public_url_needs_credentials_or_insecure(flow_file: Path):
    public = ["serve", str(flow_file), "--port", "0", "--public-url", "https://ivr.example.com/"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLOWBUILDER_")}
    refused = subprocess.run(
        [sys.executable, "-m", "flowbuilder", *public],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert refused.returncode == 1  # a refused option, as an address in use
    assert refused.stderr.count("\n") == 1
    assert "a public URL needs a login and password" in refused.stderr
    assert "--insecure" in refused.stderr
    proc = Served([sys.executable, "-m", "flowbuilder", *public, "--insecure"], env=environment)
    try:
        assert proc.url == "https://ivr.example.com/"
        local = proc.until("listening on: ").removeprefix("listening on: ")
        with httpx.Client(timeout=10) as client:  # open, as asked
            assert client.post(local, json=first_post()).json()["command"] == "play"
    finally:
        proc.stop()


def test_an_exported_module_serves_itself(tmp_path: Path):
    from flowbuilder.export import export_python

    module = export_python(support_line(), tmp_path / "support_line.py")
    proc = Served([sys.executable, str(module), "--port", "0"])
    try:
        with httpx.Client(timeout=10) as client:
            assert client.post(proc.url, json=first_post()).json()["command"] == "play"
    finally:
        code, _ = proc.stop()
    assert code == 0
    served_too = Served([sys.executable, "-m", "flowbuilder", "serve", str(module), "--port", "0"])
    try:
        assert served_too.head[0].startswith("flowbuilder: serving 'support_line'")
    finally:
        served_too.stop()


@pytest.mark.parametrize("command", ["serve", "sandbox"])
def test_an_address_that_cannot_be_used_is_one_line_naming_it(flow_file: Path, command: str):
    args = ["serve", str(flow_file)] if command == "serve" else ["sandbox"]
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        in_use = subprocess.run(
            [sys.executable, "-m", "flowbuilder", *args, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    bad_host = subprocess.run(
        [sys.executable, "-m", "flowbuilder", *args, "--host", "999.1.1.1", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert in_use.returncode == bad_host.returncode == 1
    assert in_use.stderr == (
        f"flowbuilder {command}: cannot serve on 127.0.0.1:{port}: the address is in use by "
        "another program; stop it or choose another port\n"
    )
    assert bad_host.stderr.startswith(f"flowbuilder {command}: cannot serve on host '999.1.1.1'")
    assert bad_host.stderr.count("\n") == 1
    assert "Errno" not in in_use.stderr + bad_host.stderr
