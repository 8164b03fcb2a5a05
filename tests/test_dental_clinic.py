"""The dental-clinic line (``flowbuilder.examples.dental_clinic``), end to end: its scenarios
from the command line, served by ``flowbuilder serve`` and as an exported module, and whole calls
through the sandbox -- at chosen moments -- against a practice API on loopback."""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest

from flowbuilder import Flow, Sandbox, Script, scenarios, serve
from flowbuilder.callr import wire
from flowbuilder.callr.commands import TALK_HUMAN, TALK_MACHINE
from flowbuilder.clock import instant
from flowbuilder.examples import CLINIC_HOLIDAYS, CLINIC_ON_CALL, dental_clinic
from flowbuilder.phone import CallSetup, NextPost, SimulatedCall, Transcript
from tests.processes import as_in_a_terminal

EXPORTS = Path(__file__).resolve().parents[1] / "exports"
MODULE = EXPORTS / "dental_clinic.py"
SCENARIOS = EXPORTS / "dental_clinic.scenarios.json"
PATIENT = "+33639980001"
REMINDED = "+447890123456"
APPOINTMENT = "on Tuesday 31 March at 10:30"


# -- the scenarios, from the command line --------------------------------------------------------


@pytest.mark.parametrize("flow_file", ["dental_clinic.py", "dental_clinic.json"])
def test_the_scenarios_pass_from_the_cli(flow_file: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "flowbuilder", "test", str(EXPORTS / flow_file), str(SCENARIOS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = len(json.loads(SCENARIOS.read_text(encoding="utf-8")))
    assert proc.stdout.splitlines()[-1] == f"{count} passed, 0 failed"


def test_the_scenarios_pin_hours_a_saturday_a_holiday_and_both_clock_changes() -> None:
    paris = ZoneInfo("Europe/Paris")
    cases = scenarios.load(SCENARIOS)
    assert all(c.at for c in cases), "every scenario says when it happens"
    local = {c.name: datetime.fromtimestamp(instant(c.at), paris) for c in cases}
    results = {r.name: r for r in scenarios.run(dental_clinic(), cases)}
    reasons = {
        name: scenarios.final_variables(r.transcript).get("closed_reason")
        for name, r in results.items()
    }
    assert any(
        d.weekday() < 5 and "welcome" in results[n].transcript.path for n, d in local.items()
    )
    assert any(d.weekday() < 5 and reasons[n] == "closed" for n, d in local.items())
    assert any(d.weekday() == 5 for d in local.values())
    holidays = {h["name"] for h in CLINIC_HOLIDAYS}
    assert any(reason in holidays for reason in reasons.values())
    assert {d.date().isoformat() for d in local.values()} >= {"2026-03-29", "2026-10-25"}
    assert all(r.passed for r in results.values()), scenarios.report(list(results.values()))


# -- served: ``flowbuilder serve`` and the exported module ---------------------------------------


@contextlib.contextmanager
def served(*command: str) -> Iterator[str]:
    """A server process on a free port; its URL; stopped with Ctrl-C at the end."""
    proc = subprocess.Popen(
        [*command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=as_in_a_terminal,
    )
    assert proc.stdout is not None
    killer = threading.Timer(60, proc.kill)  # a server that never starts fails the test
    killer.start()
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("URL for CALLR: "):
                yield line.removeprefix("URL for CALLR: ").strip()
                break
        else:
            pytest.fail("\n".join(lines))
    finally:
        killer.cancel()
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
        lines.extend(rest.splitlines())
        assert proc.returncode == 0, "\n".join(lines)
        assert not any("Traceback" in line for line in lines), "\n".join(lines)


CALLIDS = itertools.count(880_001)


def call_over_http(url: str, script: Script) -> Transcript:
    """CALLR's side of one inbound call against *url*, every POST as CALLR renders it."""
    setup = CallSetup(
        app="4346423A", callid=next(CALLIDS), number="+33199000100", cli_number=PATIENT
    )
    call = SimulatedCall(setup, script)
    post: NextPost | None = call.start()
    with httpx.Client(timeout=10) as client:
        while post is not None:
            response = client.post(
                url,
                content=wire.render_callback(post.callback),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 200, response.text
            if post.final:
                break
            post = call.on_answer(wire.parse_answer(response.content))
    return call.transcript


def assert_an_emergency_call(transcript: Transcript) -> None:
    """Pressing 2, open or closed, holiday or not: the dentist on call, or when to call 15."""
    assert transcript.status == "completed", str(transcript)
    first = transcript.heard[0]
    assert first.startswith(("Welcome to Rive Gauche Dental", "Rive Gauche Dental is closed")), (
        first
    )
    if transcript.dialed:
        assert transcript.dialed == [(CLINIC_ON_CALL, "ANSWER")]
    else:
        assert "call 15" in transcript.heard[-1]


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "flowbuilder", "serve", str(MODULE)],
        [sys.executable, "-m", "flowbuilder", "serve", str(MODULE.with_suffix(".json"))],
        [sys.executable, str(MODULE)],  # the exported module run as a script
    ],
    ids=["flowbuilder-serve", "flowbuilder-serve-json", "module-as-script"],
)
def test_the_exported_line_answers_calls(command: list[str]) -> None:
    with served(*command) as url:
        # the wall clock decides where the call goes; either way the caller presses 2
        transcript = call_over_http(url, Script(presses=["2", "2"]))
    assert_an_emergency_call(transcript)


# -- whole calls through the sandbox, against a practice API on loopback -------------------------


class PracticeApi(BaseHTTPRequestHandler):
    """The practice-management system: patients, reminders, and the replies it records."""

    patients: dict[str, dict[str, Any]] = {
        "123456": {"first_name": "Ada", "next_appointment": {"spoken": APPOINTMENT}}
    }
    reminders: dict[str, dict[str, Any]] = {
        REMINDED: {"first_name": "Alan", "appointment": {"spoken": APPOINTMENT}}
    }
    seen: list[tuple[str, str, Any]] = []

    def _send(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = unquote(self.path)
        self.seen.append(("GET", path, None))
        kind, _, key = path.removeprefix("/api/v1/").partition("/")
        table = {"patients": self.patients, "reminders": self.reminders}.get(kind, {})
        self._send(200, table[key]) if key in table else self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(("POST", unquote(self.path), body))
        self._send(204)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    PracticeApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PracticeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    server.shutdown()
    server.server_close()
    thread.join()


def on_loopback(api: str) -> Flow:
    """The clinic's line with its practice API on this machine (which the flow must allow:
    loopback and private addresses are refused otherwise)."""
    flow = dental_clinic().set_params("config", values={"pms_api": api})
    return flow.configure(allow_private_network=True)


@pytest.fixture
def clinic(api: str) -> Iterator[tuple[Sandbox, str, str]]:
    """(sandbox on Friday 27 March 2026 at 10:00 in Paris, app hash, the clinic's DID); the line
    is served on the sandbox's clock."""
    with (
        Sandbox(start="2026-03-27T10:00[Europe/Paris]") as sb,
        serve(on_loopback(api), clock=sb.now, name="dental-clinic-test") as server,
    ):
        sb.follow(server)
        client = sb.client()
        app = client.apps.create("Rive Gauche Dental", url=server.url)
        did = client.apps.get_dids(only_available=True)[0]
        client.apps.assign_did(app, did)
        yield sb, app.hash, did.intl_number


def test_a_patient_hears_their_next_appointment(clinic: tuple[Sandbox, str, str]) -> None:
    sb, _, did = clinic

    t = sb.call_in(did, PATIENT, Script(presses=["1", "123456#", "1"]))

    assert f"Hello Ada. Your next appointment is {APPOINTMENT}." in t.heard[3]
    assert t.path[-3:] == ["lookup", "appointment", "reception"]
    assert t.dialed == [("+33199000101", "ANSWER")]
    assert ("GET", "/api/v1/patients/123456", None) in PracticeApi.seen


def test_an_unknown_patient_is_put_through_to_reception(clinic: tuple[Sandbox, str, str]) -> None:
    sb, _, did = clinic

    t = sb.call_in(did, PATIENT, Script(presses=["1", "999999"], dial=["BUSY", "NOANSWER"]))

    assert "we could not find your file" in t.heard[3]
    assert t.path[-6:] == ["lookup", "not_found", "reception", "message", "thanks", "end"]


def test_the_same_line_is_closed_on_saturday_afternoon_and_on_holidays(
    clinic: tuple[Sandbox, str, str],
) -> None:
    sb, _, did = clinic

    saturday = sb.call_in(did, PATIENT, ["1"], at="2026-03-28T13:00[Europe/Paris]")
    holiday = sb.call_in(did, PATIENT, ["1"], at="2026-05-08T10:00[Europe/Paris]")
    christmas_eve = sb.call_in(did, PATIENT, ["0"], at="2026-12-24T12:59[Europe/Paris]")

    assert saturday.path[:4] == ["config", "route", "hours", "closed"]
    assert holiday.heard[0] == "Rive Gauche Dental is closed today for Victory in Europe Day."
    assert christmas_eve.path[:5] == ["config", "route", "hours", "welcome", "main_menu"]


def test_a_person_confirms_their_reminder(clinic: tuple[Sandbox, str, str]) -> None:
    sb, app, _ = clinic
    sb.set_callee(REMINDED, Script(talk_detect=TALK_HUMAN, presses=["1"]))

    t = sb.wait_for(sb.client().calls.realtime(app, REMINDED))

    assert t.heard[0] == "Hello?"
    assert t.heard[1].startswith(
        f"Hello Alan, this is Rive Gauche Dental with a reminder of your appointment {APPOINTMENT}."
    )
    assert t.heard[2] == "Thank you. See you soon. Goodbye."
    assert ("POST", f"/api/v1/reminders/{REMINDED}/reply", {"reply": "1"}) in PracticeApi.seen


def test_an_answering_machine_gets_a_message_after_the_beep(
    clinic: tuple[Sandbox, str, str],
) -> None:
    sb, app, _ = clinic
    sb.set_callee(REMINDED, Script(talk_detect=TALK_MACHINE))

    t = sb.wait_for(sb.client().calls.realtime(app, REMINDED))

    assert t.path[-4:] == ["detect", "beep", "machine_message", "end"]
    assert APPOINTMENT in t.heard[-1]
    assert not [s for s in PracticeApi.seen if s[0] == "POST"]


def test_a_reminder_nobody_booked_asks_to_call_back(clinic: tuple[Sandbox, str, str]) -> None:
    sb, app, _ = clinic

    t = sb.wait_for(sb.client().calls.realtime(app, "+447890000000"))

    assert t.heard == [
        "Hello, this is Rive Gauche Dental. Please call us back on 01 99 00 01 00. Goodbye."
    ]
