"""``benchmarks/engine.py --quick`` runs and prints the one JSON object the docs and CI read.

No timing assertions: the figures depend on the machine; only their presence and sanity are
checked here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "engine.py"


def run(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


@pytest.mark.slow
def test_quick_mode_prints_one_json_object_with_every_figure() -> None:
    data = run("--quick")
    assert data["quick"] is True
    figures = (
        "step_vs_json_ratio",
        "step_us",
        "json_roundtrip_us",
        "compile_growth_exponent",
        "lint_growth_exponent",
    )
    for key in figures:
        value = data[key]
        assert isinstance(value, int | float), key
        assert value == value, key  # not NaN
    assert data["step_us"] > 0
    assert data["json_roundtrip_us"] > 0
    assert data["ivr_nodes"] == 10
    for name in ("compile_timings", "lint_timings"):
        timings = data[name]
        assert isinstance(timings, dict)
        assert len(timings) == 3
        for sizes in timings.values():
            assert set(sizes) == {"validate_s", "compile_s"}
    assert data["targets"] == {
        "step_vs_json_ratio": 3.0,
        "compile_growth_exponent": 1.2,
        "lint_growth_exponent": 1.2,
    }


@pytest.mark.slow
def test_quick_mode_from_the_environment() -> None:
    assert run(env={"FLOWBUILDER_BENCH_QUICK": "1"})["quick"] is True
