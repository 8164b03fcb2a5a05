"""Every tutorial notebook runs top to bottom, headless, with no account and no network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
CALLR_ENV = ("CALLR_API_KEY", "CALLR_LOGIN", "CALLR_PASSWORD", "FLOWBUILDER_PUBLIC_URL")


def test_every_tutorial_is_here() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert names == [
        "01_quickstart",
        "02_inbound_calls",
        "03_outbound_calls",
        "04_export_and_deploy",
        "05_real_account",
        "06_your_own_server",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_saved_clean(path: Path) -> None:
    """Committed without outputs or widget state, so no secret or stale result ships in it."""
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, cell.source[:60]
            assert cell.execution_count is None, cell.source[:60]


# What a reader must see in each executed notebook (besides "no error anywhere").
EXPECTED_OUTPUT = {
    "01_quickstart": [
        "refused: survey.max_digits: must be between 1 and 20, got 99",
        "operator → operator_busy → support",
        "server running: False | sandbox running: False",
    ],
    "02_inbound_calls": [
        "(Saturday): hours → closed → bye → end",
        "at 22:00: hours → closed → bye → end",
        "wrong password -> 401",
        "play done        UP      → (still at closed)",
        "hangup done      HANGUP  → (call over)",
    ],
    "03_outbound_calls": ["BUSY -> None", "PROPERTY_VALUE_ERROR [options.cli]"],
    "04_export_and_deploy": [
        "round trip OK",
        "3 passed, 0 failed",
        "exported server stopped: True",
    ],
    "05_real_account": ["skipping the calls to CALLR", "done"],
    "06_your_own_server": [
        "You are 42 years old.",
        "POST UP      command_id='say_age'   -> conference 'room'",
        "You are 12 years old.",
        "done",
    ],
}


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_headless(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CALLR_ENV:  # the tutorials must run for a user with no account
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=180,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(
        o.get("text", "") if o.output_type == "stream" else json.dumps(o.get("data", {}))
        for o in outputs
    )
    assert "Traceback" not in text
    for expected in EXPECTED_OUTPUT[path.stem]:
        assert expected in text, f"{path.name}: expected {expected!r} in its output"
    artifacts = os.environ.get("NB_ARTIFACTS")
    if artifacts:  # the executed notebook, for a person to read after CI
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(artifacts) / path.name)
