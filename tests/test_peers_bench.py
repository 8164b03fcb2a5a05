"""``benchmarks/peers.py --quick`` runs and prints its JSON, and refuses to measure a peer that
answers differently from flowbuilder (no timing assertions: the figures depend on the machine)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the peers need the bench extra: pip install -e '.[bench]'")
pytest.importorskip("uvicorn")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCHMARKS / "peers.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--connections", "4", *args],
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
def test_quick_mode_prints_one_json_object_with_every_key():
    result = run()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[-1])
    for key in (
        "vs_fastapi",
        "vs_tornado_handwritten",
        "quiet_vs_fastapi",
        "quiet_vs_tornado_handwritten",
        "cpu_per_callback_vs_fastapi",
        "cold_start_ms",
        "cold_start_ms_tornado",
    ):
        assert isinstance(data[key], int | float), key
        assert data[key] > 0, key
    low, median, high = data["vs_fastapi_quartiles"]
    assert low <= median <= high
    assert data["caller_scripts"] >= 14
    assert data["answers_compared"] > 0
    for name in ("flowbuilder", "flowbuilder_quiet", "fastapi", "tornado"):
        assert data["servers"][name]["requests"] > 0, name
        assert data["servers"][name]["errors"] == 0, name  # answers checked under load too
    # one line per callback with the default output, none with --quiet: nothing lost at SIGTERM
    assert data["flowbuilder_output_lines_per_callback"] == {
        "flowbuilder": 1.0,
        "flowbuilder_quiet": 0.0,
    }
    assert data["load_generator"]["trivial_server_callbacks_per_s"] > 0
    assert data["load_generator"]["trivial_errors"] == 0
    assert data["python"] == ".".join(map(str, sys.version_info[:3]))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("original", "changed", "where"),
    [
        # a third wrong key retries instead of saying goodbye
        ("MAX_FAILURES = 3", "MAX_FAILURES = 4", "'three wrong keys', POST 7: params"),
        # the dial status kept under another name
        ('variables["dial_status"]', 'variables["status"]', "variables"),
    ],
)
def test_a_peer_that_answers_differently_stops_the_benchmark(
    tmp_path: Path, original: str, changed: str, where: str
):
    peers = shutil.copytree(BENCHMARKS / "peers", tmp_path / "peers")
    logic = peers / "support_line.py"
    text = logic.read_text()
    assert original in text
    logic.write_text(text.replace(original, changed))
    result = run("--peers-dir", str(peers), "--servers", "flowbuilder,tornado")
    assert result.returncode == 1
    assert result.stdout == ""  # nothing measured
    line = result.stderr.strip()
    assert line.startswith("peers.py: tornado answers differently from flowbuilder on script ")
    assert where in line
    assert "\n" not in line
