"""Clean output: no credentials and no terminal control characters in anything printed or logged,
and a login is never accepted without a password."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbuilder import Flow
from flowbuilder._cli_util import line_printer
from flowbuilder.phone import CallSetup, SimulatedCall, Transcript
from flowbuilder.server import Event, serve

HOSTILE = "\x1b[2J\x1b]0;owned\x07\r\n12:00:00.000 call 1 UP (first) -> play FORGED\u202e\x9b31m"
RAW = ("\x1b", "\x07", "\r", "\n", "\u202e", "\x9b")
_CALLIDS = itertools.count(551_000)


def no_raw_controls(text: str) -> bool:
    return not any(c in text for c in RAW)


def first_post(**changes: Any) -> dict[str, Any]:
    setup = CallSetup(app="4346423A", callid=next(_CALLIDS), number="+33900000000", cli_number="+3")
    data = SimulatedCall(setup).start().callback.to_json()
    data.update(changes)
    return data


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_credentials_in_a_request_url_never_reach_events_or_logs(
    api: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="flowbuilder")
    flow = (
        Flow("creds")
        .configure(allow_private_network=True)
        .add("get", "http_request", url=f"http://bob:s3cret-pw@127.0.0.1:{api}/x?key=k3y")
        .add("ok", "play", prompt="ok")
        .connect("get", "ok", "success")
    )
    with serve(flow, name="test-creds") as handle:
        answer = httpx.post(handle.url, json=first_post(), timeout=10).json()
        assert answer["params"]["media_id"].endswith("|ok")  # the credentials were used
        event = handle.events.tail(1)[0]
    printed = io.StringIO()
    line_printer(printed, False, str)(event)
    line_printer(printed, True, str)(event)
    shown = printed.getvalue() + " ".join(r.getMessage() for r in caplog.records)
    assert event.effects[0].startswith(f"GET http://127.0.0.1:{api}/x: HTTP 200 (")
    assert "s3cret" not in shown
    assert "k3y" not in shown
    assert f"GET http://127.0.0.1:{api}/x: HTTP 200" in shown


def test_control_characters_from_a_callback_are_escaped_in_lines_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="flowbuilder")
    flow = Flow("esc").add("hi", "play", prompt="Hello").add("bye", "hangup").connect("hi", "bye")
    with serve(flow, name="test-esc") as handle, httpx.Client(timeout=10) as client:
        body = first_post(cli_name=HOSTILE[:200])
        answer = client.post(handle.url, json=body).json()
        later = {
            **body,
            "command": "play\x1b[31m",
            "command_id": answer["command_id"],
            "command_error": HOSTILE,
            "variables": answer["variables"],
        }
        client.post(handle.url, json=later)
        events = handle.events.snapshot()
    lines = [str(e) for e in events]
    printed = io.StringIO()
    show = line_printer(printed, False, str)
    show_json = line_printer(printed, True, str)
    for event in events:
        show(event)
        show_json(event)
    output = printed.getvalue()
    assert len(output.splitlines()) == 2 * len(events)  # one line each, nothing forged
    for line in output.splitlines()[1::2]:
        json.loads(line)
    logged = [r.getMessage() for r in caplog.records]
    assert any("\\x1b[2J" in line for line in lines)
    for text in [*lines, *output.splitlines(), *logged]:
        assert no_raw_controls(text), text


def test_transcripts_and_issues_print_one_line_per_record() -> None:
    setup = CallSetup(app="4346423A", callid=1, number="+33900000000", cli_number="+33612345678")
    transcript = Transcript(setup, "inbound")
    transcript.add(0.0, "heard", "Hello " + HOSTILE)
    transcript.add(1.0, "error", "POST http://user:pw@example.com/cb failed")
    text = str(transcript)
    assert len(text.splitlines()) == 4
    assert all(no_raw_controls(line) for line in text.splitlines())
    assert "user:pw" not in text

    data = Flow("f").add("hi", "play", prompt="hi").to_dict()
    data["nodes"]["bad\x1b]0;x\x07\nid"] = data["nodes"].pop("hi")
    data["entry"] = None
    changed = Flow.from_dict(data)
    diff = str(Flow("f").diff(changed))
    assert all(no_raw_controls(line) for line in diff.splitlines())
    assert diff.splitlines() == ["+ node bad\\x1b]0;x\\x07\\nid"]


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLOWBUILDER_", "CALLR_"))
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "flowbuilder", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_prints_hostile_prompts_and_node_ids_escaped(tmp_path: Path) -> None:
    flow = Flow("esc").add("hi", "play", prompt="Hi " + HOSTILE).add("bye", "hangup")
    flow.connect("hi", "bye").save(tmp_path / "esc.json")
    data = json.loads((tmp_path / "esc.json").read_text())
    data["nodes"]["evil\x1b[2J\nid"] = {"kind": "hangup", "params": {}}
    (tmp_path / "evil.json").write_text(json.dumps(data))

    simulated = run_cli(tmp_path, "simulate", "esc.json")
    as_json = run_cli(tmp_path, "simulate", "esc.json", "--json")
    checked = run_cli(tmp_path, "validate", "evil.json")

    assert simulated.returncode == 0, simulated.stderr
    assert "Hi \\x1b[2J" in simulated.stdout
    assert json.loads(as_json.stdout)["heard"] == ["Hi " + HOSTILE]
    for out in (simulated.stdout, as_json.stdout, checked.stdout, checked.stderr):
        assert no_raw_controls(out.replace("\n", "")), out
    assert "evil\\x1b[2J\\nid" in checked.stdout


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--login", "callr"], {}),
        (["--login", "callr", "--password", ""], {}),
        ([], {"FLOWBUILDER_LOGIN": "callr"}),
    ],
)
def test_serve_refuses_a_login_without_a_password(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    Flow("hi").add("hi", "play", prompt="Hi").save(tmp_path / "hi.json")

    done = run_cli(tmp_path, "serve", "hi.json", "--port", "0", *args, env=env)

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "flowbuilder serve: --login needs a password (--password or FLOWBUILDER_PASSWORD): "
        "an empty one would let anyone in"
    ]
    assert done.stdout == ""


def test_an_exported_module_refuses_it_too(tmp_path: Path) -> None:
    from flowbuilder.export import export_python

    module = export_python(Flow("hi").add("hi", "play", prompt="Hi"), tmp_path / "hi.py")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLOWBUILDER_")}

    done = subprocess.run(
        [sys.executable, str(module), "--port", "0", "--login", "callr"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "serve: --login needs a password (--password or FLOWBUILDER_PASSWORD): "
        "an empty one would let anyone in"
    ]


def test_the_sandbox_refuses_empty_credentials(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "sandbox", "--port", "0", "--login", "x", "--password", "")

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "flowbuilder sandbox: --login and --password must not be empty"
    ]


def test_an_event_line_is_one_line_whatever_it_holds() -> None:
    event = Event(
        time=0.0,
        callid=7,
        app="4346423A",
        call_status="UP",
        command="play",
        command_error=HOSTILE,
        warning="fetch: GET https://u:p@h/ failed\n",
    )

    line = str(event)

    assert "\n" not in line
    assert no_raw_controls(line)
    assert "u:p@" not in line
