"""``flowbuilder serve``'s line per callback: printed off the server's loop, all of it at the end,
none with ``--quiet``; as real processes on loopback."""

from __future__ import annotations

import io
import itertools
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbuilder._cli_util import BackgroundLines
from flowbuilder.examples import support_line
from flowbuilder.phone import CallSetup, SimulatedCall

_CALLIDS = itertools.count(770_000)
CALLS = 1500  # lines enough to fill a pipe (64 KiB on Linux) twice over


def first_post() -> dict[str, Any]:
    setup = CallSetup(app="4346423A", callid=next(_CALLIDS), number="+33900000000")
    return SimulatedCall(setup).start().callback.to_json()


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    return support_line().save(tmp_path / "support_line.json")


def serve(flow_file: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """A ``flowbuilder serve`` whose standard output nobody reads after its URL line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flowbuilder", "serve", str(flow_file), "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()
    url = process.stdout.readline().strip().removeprefix("URL for CALLR: ")
    assert url.startswith("http://127.0.0.1:"), url
    return process, url


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, err


def test_calls_are_answered_while_nobody_reads_the_output(flow_file: Path):
    # a terminal paused with Ctrl-S, or a pipe to a program that stalled: the lines wait, the
    # calls do not
    process, url = serve(flow_file)
    callids = []
    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(CALLS):
                body = first_post()
                answer = client.post(url, json=body)
                assert answer.status_code == 200
                assert answer.json()["command"] == "play"
                callids.append(body["callid"])
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    lines = out.splitlines()
    # once the output is read again, every line is there, in order, before the last one
    call_lines = [line for line in lines if " call " in line]
    assert [int(line.split(" call ")[1].split()[0]) for line in call_lines] == callids
    assert lines[-1] == "flowbuilder: stopped"


def test_quiet_prints_no_line_per_callback(flow_file: Path):
    process, url = serve(flow_file, "--quiet")
    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(3):
                assert client.post(url, json=first_post()).json()["command"] == "play"
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    assert " call " not in out
    assert out.splitlines()[-1] == "flowbuilder: stopped"


def test_lines_are_printed_soon_without_waiting_for_the_end():
    out = io.StringIO()
    with BackgroundLines(out, as_json=False, text=str) as show:
        show(1)
        deadline = time.monotonic() + 10
        while not out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert out.getvalue() == "1\n"


class _Stuck(io.StringIO):
    """An output whose writes block until released."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        self.release.wait()
        return super().write(text)


def test_a_stuck_output_keeps_a_bounded_backlog_and_says_how_much_it_dropped():
    out = _Stuck()
    show = BackgroundLines(out, as_json=False, text=str, every_s=0.01, max_backlog=5).start()
    show("first")
    assert out.writing.wait(10)  # the writer is stuck on it
    for n in range(20):  # five wait their turn, fifteen are dropped
        show(n)
    out.release.set()
    show.close()
    lines = out.getvalue().splitlines()
    assert lines[:6] == ["first", "0", "1", "2", "3", "4"]
    assert lines[6:] == ["... 15 line(s) dropped: the output took nothing for too long"]


def test_what_comes_before_start_is_printed_after_the_header():
    # flowbuilder serve subscribes before printing its URL: a call may come in meanwhile
    out = io.StringIO()
    show = BackgroundLines(out, as_json=False, text=str)
    show(1)
    out.write("URL for CALLR: ...\n")
    show.start()
    show.close()
    assert out.getvalue() == "URL for CALLR: ...\n1\n"


def test_lines_are_cleaned_like_the_other_commands_output():
    # a caller's variables or a URL reach the line: no terminal controls, no credentials
    out = io.StringIO()
    with BackgroundLines(out, as_json=False, text=str) as show:
        show("call 1 \x1b[2J https://user:secret@api.example/")
    assert out.getvalue() == "call 1 \\x1b[2J https://***@api.example/\n"
