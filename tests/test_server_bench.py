"""``benchmarks/server.py --quick`` runs and prints the JSON the docs and CI read (no timing
assertions: the figures depend on the machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "server.py"


@pytest.mark.slow
def test_server_benchmark_quick_mode_prints_one_json_object():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--connections", "8"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    for key in (
        "throughput_ratio_vs_bare",
        "cpu_ratio_vs_bare",
        "flow_callbacks_per_s",
        "bare_callbacks_per_s",
        "flow_p50_ms",
        "flow_p99_ms",
        "bare_p50_ms",
        "bare_p99_ms",
        "throughput_ratio_vs_parsing_bare",
        "cpu_ratio_vs_parsing_bare",
        "engine_us_per_callback",
        "engine_only_ratio_vs_bare",
        "throughput_ratio_vs_http1_bare",
        "http1_bare_ratio_vs_bare",
        "engine_only_ratio_vs_http1_bare",
        "throughput_ratio_vs_engine_only",
    ):
        assert isinstance(data[key], int | float), key
        assert data[key] > 0, key
    low, median, high = data["ratio_quartiles"]
    assert low <= median <= high
    assert data["flow_nodes"] == 10
    # every answer from the flow server matched the engine's, byte for byte
    assert data["flow"]["requests"] > 0
    assert data["flow"]["errors"] == 0
    assert data["bare"]["errors"] == 0
    assert data["parsing_bare"]["errors"] == 0
    assert data["http1_bare"]["errors"] == 0
    assert data["engine_only"]["requests"] > 0
    assert data["engine_only"]["errors"] == 0  # its answers are checked too
    assert result.stderr == ""
