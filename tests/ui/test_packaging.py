"""The canvas's ES module and stylesheet ship in the wheel (the builder is blank without them)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_holds_the_canvas_files(tmp_path: Path) -> None:
    wheel = pytest.importorskip("hatchling.builders.wheel")
    built = list(
        wheel.WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    )
    names = set(zipfile.ZipFile(built[0]).namelist())
    assert {"flowbuilder/ui/canvas.js", "flowbuilder/ui/canvas.css"} <= names
    for name in ("canvas.js", "canvas.css"):
        shipped = zipfile.ZipFile(built[0]).read(f"flowbuilder/ui/{name}")
        assert shipped == (ROOT / "flowbuilder" / "ui" / name).read_bytes()
