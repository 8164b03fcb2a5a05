"""``benchmarks/builder.py --quick`` drives the real browser and prints one JSON object on its
last line with every figure (no timing is asserted: figures are for people to read)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ui.servers import CHROMIUM

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "builder.py"
FIGURES = (
    "first_draw_ms",
    "interactive_ms",
    "interactive_ms_1000",
    "interactive_ms_empty",
    "plain_svg_ms",
    "drag_fps",
    "drag_fps_cdp",
    "idle_fps",
    "interactive_vs_empty",
    "interactive_vs_plain_svg",
    "drag_vs_idle_fps",
    "baseline_dumps_ms",
    "action_ms",
    "open_builder_ms",
    "action_vs_dumps_ratio",
    "open_vs_dumps_ratio",
)


@pytest.mark.slow
@pytest.mark.browser
def test_quick_mode_prints_one_json_object_with_every_figure() -> None:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["quick"] is True
    assert (data["nodes"], data["nodes_large"]) == (200, 1000)
    for key in FIGURES:
        assert data[key] > 0, key
    assert data["goals"] == {"interactive_ms": 1000, "interactive_ms_1000": 3000, "drag_fps": 50}
    assert data["interactive_vs_empty"] == pytest.approx(
        data["interactive_ms"] / data["interactive_ms_empty"], rel=0.05
    )
