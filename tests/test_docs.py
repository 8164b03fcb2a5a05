"""The README stays true: its node table matches the registry and its code example runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from flowbuilder import docs
from flowbuilder.nodes import kinds

README = Path(__file__).resolve().parent.parent / "README.md"


def test_node_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert docs.render_readme(text) == text, (
        "README node table is stale: python -m flowbuilder.docs"
    )
    for kind in kinds():
        assert f"`{kind.name}`" in text


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    block = re.search(r"## A dozen lines\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), scope)
    server = scope["server"]
    try:
        assert server.running
        printed = capsys.readouterr().out
        assert printed.startswith("no problems\n")  # every outcome connected: nothing to fix
        assert "Please leave a message" in printed
        assert "path: menu → support" in printed
    finally:
        server.stop()
