"""Bounded memory: what the callback server keeps per request is bounded by count and by bytes,
whatever the requests carry; measured on a server process of its own where it matters."""

from __future__ import annotations

import gc
import itertools
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from flowbuilder import Flow
from flowbuilder.server import Event, EventLog, serve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import hostile  # the servers' processes and raw connections

_CALLIDS = itertools.count(330_000)

TWO_APPS = """
import sys, time
import flowbuilder as fb
flow = fb.Flow("hi").add("hi", "play", prompt="Hi").add("bye", "hangup").connect("hi", "bye")
handle = fb.serve({"4346423A": flow}, port=int(sys.argv[1]), login="callr", password="one",
                  name="memory")
handle.add(flow.copy(), app="5A5B5C5D", login="other", password="two")
print("ready", flush=True)
while True:
    time.sleep(1)
"""


@pytest.mark.slow
def test_refused_requests_with_huge_fields_keep_nothing(tmp_path: Path) -> None:
    """Several apps with their own credentials: a callback is read before its app's credentials
    are checked, and a 401 used to keep its fields in the event log (250 KB each, 10,000 of
    them: 1 GiB of RSS). Over-long fields are now a 400 and nothing of them is kept."""
    port = hostile.free_port()
    script = tmp_path / "two_apps.py"
    script.write_text(textwrap.dedent(TWO_APPS))
    popen = subprocess.Popen(
        [sys.executable, str(script), str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    process = hostile.Process(popen, port, tmp_path)
    try:
        assert popen.stdout is not None
        assert popen.stdout.readline().strip() == b"ready"
        with hostile.Connection(process.host, port) as conn:
            for _ in range(50):  # warm
                conn.send(hostile.post(hostile.callback(), Authorization="Basic Zm9vOmJhcg=="))
            before = process.rss_mib()
            statuses = set()
            for _ in range(300):  # 75 MB of fields
                body = hostile.callback(cli_number="9" * 250_000)
                statuses.add(conn.send(hostile.post(body, Authorization="Basic eDp5")).status)
            grown = process.rss_mib() - before
        assert statuses == {400}
        assert grown < 40, f"the server grew {grown:.1f} MiB"
    finally:
        process.stop()
        if popen.stdout is not None:
            popen.stdout.close()


def test_the_event_log_is_bounded_by_bytes_as_well_as_count() -> None:
    log = EventLog(maxlen=10_000, max_bytes=1_000_000)
    for n in range(1000):
        log.append(
            Event(time=0.0, callid=n, command_error="e" * 8000, warning="w" * 8000, status=200)
        )

    assert log.bytes <= 1_000_000
    assert 50 < len(log) < 70  # about 16 KB each
    assert [e.callid for e in log][-1] == 999  # the newest kept, the oldest dropped
    log.clear()
    assert log.bytes == 0
    assert len(log) == 0


def test_one_event_over_the_limit_is_still_kept() -> None:
    log = EventLog(max_bytes=100)
    log.append(Event(time=0.0, callid=1, error="x" * 1000))
    assert [e.callid for e in log] == [1]


def test_answers_kept_for_retries_cost_their_size() -> None:
    """The server keeps each call's last answer to repeat it to a retry. orjson hands out its
    output in a 4 KiB buffer whatever its length: kept as it was, a 300-byte answer cost 4 KiB
    and the guard's byte bound was 13 times too loose."""
    flow = Flow("small").add("hi", "play", prompt="Hi").add("bye", "hangup").connect("hi", "bye")
    with (
        serve(flow, name="test-answer-size") as handle,
        hostile.Connection("127.0.0.1", handle.port) as conn,
    ):
        for _ in range(50):
            conn.send(hostile.post(hostile.callback(), auth=False))
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(400):
                assert conn.send(hostile.post(hostile.callback(), auth=False)).status == 200
            per_call = (tracemalloc.get_traced_memory()[0] - before) / 400
        finally:
            tracemalloc.stop()
    assert per_call < 2048, f"{per_call:.0f} bytes kept per call"


def test_a_request_is_freed_as_soon_as_it_is_answered() -> None:
    """Nothing of a request outlives its answer by a reference cycle: with the cyclic collector
    off (as between its runs), 60 refused 250 KB bodies must not pile up. A cycle between the
    handler and its reply once kept each body until the collector ran: 75 MiB of RSS on 3.13."""
    flow = Flow("small").add("hi", "play", prompt="Hi").add("bye", "hangup").connect("hi", "bye")
    big = hostile.post(hostile.callback(cli_number="9" * 250_000), auth=False)
    with (
        serve(flow, name="test-freed", login="callr", password="one") as handle,
        hostile.Connection("127.0.0.1", handle.port) as conn,
    ):
        conn.send(big)
        gc.disable()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(60):
                assert conn.send(big).status == 401
            kept = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
            gc.enable()
    assert kept < 2 * 1024 * 1024, f"{kept / 2**20:.1f} MiB kept after 60 answered requests"
