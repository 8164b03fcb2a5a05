"""``benchmarks/sandbox.py --quick`` runs and prints the one JSON object the docs read (no
timing assertions: the figures depend on the machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sandbox.py"


@pytest.mark.slow
def test_sandbox_benchmark_quick_mode_prints_one_json_object() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    for key in ("p99_fraction_of_window", "p50_ms", "p99_ms", "server_p99_ms", "wall_s"):
        assert isinstance(data[key], float), key
        assert data[key] > 0, key
    assert isinstance(data["failed_calls"], int)
    assert isinstance(data["meets_targets"], bool)
    assert data["targets"] == {"failed_calls": 0, "p99_fraction_of_window": 0.02}
    assert data["calls"] == 40
    assert data["flow_nodes"] == 5
    # every call made its POSTs: 4 to 7 per call through this IVR
    assert 4 * data["calls"] <= data["callbacks"] <= 7 * data["calls"]
    assert data["bare"]["calls"] == 10
    assert data["p99_ratio_vs_bare"] > 0
    assert result.stderr == ""
