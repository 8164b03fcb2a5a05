"""``flowbuilder sandbox`` as a real process, and the /sandbox/... control API it prints."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flowbuilder import CallrClient, Sandbox
from tests.processes import as_in_a_terminal

from .conftest import CallbackApp


class Cli:
    """``python -m flowbuilder sandbox ...`` with its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flowbuilder", "sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=as_in_a_terminal,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        threading.Thread(
            target=lambda: [self.lines.put(line) for line in stdout], daemon=True
        ).start()

    def read_until(self, marker: str, timeout: float = 30) -> list[str]:
        seen: list[str] = []
        while True:
            line = self.lines.get(timeout=timeout)
            seen.append(line.rstrip("\n"))
            if marker in line:
                return seen

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=15)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, "".join(rest)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def cli_factory() -> Iterator[Any]:
    started: list[Cli] = []

    def make(*args: str) -> Cli:
        cli = Cli(*args)
        started.append(cli)
        return cli

    yield make
    for cli in started:
        cli.kill()


def field(lines: list[str], name: str) -> str:
    for line in lines:
        match = re.match(rf"\s*{name}:\s+(\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no {name!r} in {lines}")


def test_cli_with_demo_credentials(cli_factory: Any, callback_app: CallbackApp) -> None:
    cli = cli_factory("--json")
    lines = cli.read_until("Ctrl-C stops the sandbox.")
    url = re.search(r"CALLR sandbox API: (\S+)", lines[0])
    assert url is not None
    api_url = url.group(1)
    login, password, api_key = (
        field(lines, "login"),
        field(lines, "password"),
        field(lines, "api key"),
    )
    assert any("+33199000001" in line for line in lines)
    with CallrClient(login, password, url=api_url) as client:
        app = client.apps.create("cli", url=callback_app.url)
        did = client.apps.get_dids(only_available=True)[0]
        client.apps.assign_did(app, did)
    base = api_url.removesuffix("/json-rpc/v1.1/")
    headers = {"Authorization": f"Api-Key {api_key}"}
    with httpx.Client(verify=False, timeout=30) as http:
        call = http.post(
            f"{base}/sandbox/call_in",
            json={"did": did.intl_number, "from": "+33639980001", "script": {"presses": ["2"]}},
            headers=headers,
        ).json()
        assert call["transcript"]["status"] == "completed"
        assert call["transcript"]["pressed"] == ["2"]
        listed = http.get(f"{base}/sandbox/calls", headers=headers).json()
        assert [c["callid"] for c in listed] == [call["callid"]]
    # the finished call is printed as one JSON line
    printed = json.loads(cli.lines.get(timeout=30))
    assert printed["callid"] == call["callid"]
    code, rest = cli.stop()
    assert code == 0
    assert "flowbuilder sandbox: stopped" in rest


def test_cli_with_chosen_credentials_prints_transcripts(
    cli_factory: Any, callback_app: CallbackApp
) -> None:
    cli = cli_factory("--login", "me", "--password", "pw-cli-1")
    lines = cli.read_until("Ctrl-C stops the sandbox.")
    assert field(lines, "login") == "me"
    assert not any("api key" in line for line in lines)
    api_url = lines[0].split(": ", 1)[1]
    with CallrClient("me", "pw-cli-1", url=api_url) as client:
        app = client.apps.create("cli", url=callback_app.url)
        client.apps.assign_did(app, client.apps.get_dids()[0])
        client.calls.realtime(app, "+447890123456")
    text = cli.read_until("status:")
    assert any("callee answered" in line for line in text)
    code, _ = cli.stop()
    assert code == 0


def test_cli_stops_cleanly_on_sigterm(cli_factory: Any) -> None:
    cli = cli_factory()
    cli.read_until("Ctrl-C stops the sandbox.")
    code, rest = cli.stop(signal.SIGTERM)
    assert code == 0
    assert "flowbuilder sandbox: stopped" in rest
    assert cli.proc.stderr is not None
    assert "Traceback" not in cli.proc.stderr.read()


def test_cli_refuses_half_credentials() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flowbuilder", "sandbox", "--login", "me"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "flowbuilder sandbox: give --login and --password together"


def test_cli_starts_at_the_moment_it_is_given(cli_factory: Any, callback_app: CallbackApp) -> None:
    cli = cli_factory("--start", "2026-07-14T09:30[Europe/Paris]", "--api-key", "k-start-1")
    lines = cli.read_until("Ctrl-C stops the sandbox.")
    api_url = lines[0].split(": ", 1)[1]
    with CallrClient(api_key="k-start-1", url=api_url) as client:
        app = client.apps.create("cli", url=callback_app.url)
        did = client.apps.get_dids()[0]
        client.apps.assign_did(app, did)
    base = api_url.removesuffix("/json-rpc/v1.1/")
    with httpx.Client(timeout=30, headers={"Authorization": "Api-Key k-start-1"}) as http:
        call = http.post(f"{base}/sandbox/call_in", json={"did": did.hash}).json()
    assert call["exchanges"][0]["request"]["date_started"].startswith("2026-07-14 07:30")
    cli.stop()
    bad = subprocess.run(
        [sys.executable, "-m", "flowbuilder", "sandbox", "--start", "2026-07-14T09:30"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "zone" in bad.stderr


def test_control_api(sandbox: Sandbox, callback_app: CallbackApp) -> None:
    client = sandbox.client()
    app = client.apps.create("x", url=callback_app.url)
    did = client.apps.get_dids()[0]
    client.apps.assign_did(app, did)
    headers = {"Authorization": f"Api-Key {sandbox.api_key}"}
    base = sandbox.base_url
    with httpx.Client(verify=False, timeout=30, headers=headers) as http:
        put = http.put(f"{base}/sandbox/callees/+447890123456", json={"answer": "busy"})
        assert put.status_code == 200
        assert put.json()["script"]["answer"] == "busy"
        request_hash = client.calls.realtime(app, "+447890123456")
        sandbox.wait_for(request_hash)
        got = http.get(f"{base}/sandbox/calls/{request_hash}").json()
        assert got["transcript"]["status"] == "busy"
        by_id = http.get(f"{base}/sandbox/calls/{got['callid']}").json()
        assert by_id["request_hash"] == request_hash
        missing = http.get(f"{base}/sandbox/calls/NOPE1234")
        assert missing.status_code == 404
        assert missing.json() == {"error": "no call 'NOPE1234' in the sandbox"}
        bad = http.put(f"{base}/sandbox/callees/+447890123456", json={"anwser": "busy"})
        assert (bad.status_code, bad.json()) == (400, {"error": "unknown script key(s): anwser"})
        no_did = http.post(f"{base}/sandbox/call_in", json={"did": "+15550000000"})
        assert no_did.status_code == 404
        bad_script = http.post(f"{base}/sandbox/call_in", json={"did": did.hash, "script": 5})
        assert bad_script.status_code == 400
        assert bad_script.json()["error"].startswith("script must be an object")
        not_json = http.post(f"{base}/sandbox/call_in", content=b"nope")
        assert not_json.status_code == 400
        assert not_json.json() == {
            "error": "the body is not valid JSON: Expecting value: line 1 column 1 (char 0)"
        }
        a_list = http.post(f"{base}/sandbox/call_in", json=[1])
        assert a_list.json() == {"error": "the body must be a JSON object"}
        started = http.post(f"{base}/sandbox/call_in", json={"did": did.hash, "wait": False}).json()
        assert sandbox.wait_for(started["callid"]).status == "completed"
        saturday = {"did": did.hash, "at": "2026-03-28T13:00[Europe/Paris]"}
        at = http.post(f"{base}/sandbox/call_in", json=saturday).json()
        assert at["exchanges"][0]["request"]["date_started"] == "2026-03-28 12:00:00"  # UTC
        no_zone = http.post(f"{base}/sandbox/call_in", json={**saturday, "at": "2026-03-28T13:00"})
        assert no_zone.status_code == 400
        assert "zone" in no_zone.json()["error"]
    refused = httpx.get(f"{base}/sandbox/calls", verify=False)
    assert refused.status_code == 401
    assert refused.json()["error"].startswith("unauthorized: ")  # JSON, like every answer there
