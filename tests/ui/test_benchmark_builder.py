"""``benchmarks/builder.py --quick`` runs and prints one JSON object (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "builder.py"


@pytest.mark.slow
def test_quick_mode_prints_one_json_object_with_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    data = json.loads(line)
    assert data["quick"] is True
    assert data["nodes"] == 200
    for key in ("baseline_dumps_ms", "action_ms", "open_builder_ms"):
        assert data[key] > 0
    assert data["action_vs_dumps_ratio"] == pytest.approx(
        data["action_ms"] / data["baseline_dumps_ms"], rel=0.5
    )
