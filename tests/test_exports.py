"""``exports/``: the sample flows as modules and JSON, always regenerated, always passing their
scenarios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowbuilder.export import load_module
from flowbuilder.export.regenerate import COMMAND, example_flows, expected_files, main, stale
from flowbuilder.flow import Flow

EXPORTS = Path(__file__).resolve().parents[1] / "exports"


def test_exports_are_up_to_date() -> None:
    old = stale(EXPORTS)
    assert not old, (
        f"stale exports: {', '.join(p.name for p in old)}; regenerate them with "
        f"`{COMMAND}` (or `make exports`) and commit the result"
    )


def test_every_example_is_exported() -> None:
    names = {make().name for make in example_flows().values()}
    assert "support_line" in names
    for name in names:
        assert (EXPORTS / f"{name}.py").is_file()
        assert load_module(EXPORTS / f"{name}.py") == Flow.load(EXPORTS / f"{name}.json")


def test_regenerate_writes_then_check_passes(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--check"]) == 1
    assert main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected_files())
    assert main([str(tmp_path), "--check"]) == 0
    (tmp_path / "support_line.py").write_text("# edited by hand\n", encoding="utf-8")
    assert stale(tmp_path) == [tmp_path / "support_line.py"]


@pytest.mark.parametrize("flow_file", ["support_line.py", "support_line.json"])
def test_support_line_scenarios_pass_from_the_cli(flow_file: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowbuilder",
            "test",
            str(EXPORTS / flow_file),
            str(EXPORTS / "support_line.scenarios.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "7 passed, 0 failed"
