"""What ``flowbuilder serve FLOW`` imports before it answers: nothing that serving does not use
(a real process, its imports listed by ``python -X importtime``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from flowbuilder.examples import support_line
from flowbuilder.server import program_cache

NOT_FOR_SERVING = (
    "flowbuilder.sandbox",  # the local CALLR and its JSON-RPC client
    "flowbuilder.callr.rpc",
    "flowbuilder.ui",  # the notebook builder and everything under it
    "ipywidgets",
    "anywidget",
    "IPython",
    "flowbuilder.export.python",  # exporters: serving a saved flow needs only its loader
    "flowbuilder.export.mermaid",
    "flowbuilder.export.svg",
    "flowbuilder.scenarios",
    "httpx",  # the HTTP client, for flows that make requests (this one makes none)
    "flowbuilder.nodes.business_hours",  # kinds this flow does not use
    "flowbuilder.nodes.http_request",
    "flowbuilder.nodes.python",
    "flowbuilder.nodes.branch",
)


def imports_of_a_start(flow_file: Path, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """The first line ``flowbuilder serve FLOW`` prints, and every module it imported before."""
    command = ["-m", "flowbuilder", "serve", str(flow_file), "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        first_line = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    return first_line, set(re.findall(r"^import time:.*\|\s+([\w.]+)$", err, re.MULTILINE))


def test_serve_imports_nothing_that_serving_this_flow_does_not_use(tmp_path: Path):
    flow_file = support_line().save(tmp_path / "support_line.json")
    first_line, imported = imports_of_a_start(flow_file)
    assert first_line.startswith("flowbuilder: serving")
    assert "flowbuilder.server.runner" in imported  # the listing is real
    unwanted = sorted(
        name for name in imported for prefix in NOT_FOR_SERVING if name.startswith(prefix)
    )
    assert unwanted == []


def test_a_restart_on_the_same_file_loads_neither_the_graph_nor_validation(tmp_path: Path):
    """The second start runs the program the first compiled (flowbuilder.server.program_cache)."""
    path = support_line().save(tmp_path / "support_line.json")
    env = {**os.environ, program_cache.ENV_VAR: str(tmp_path / "cache")}
    first_line, first = imports_of_a_start(path, env)
    assert first_line.startswith("flowbuilder: serving 'support_line'")
    assert "networkx" in first  # the first start compiles
    again_line, again = imports_of_a_start(path, env)
    assert again_line == first_line  # same flow, same version
    assert {"networkx", "flowbuilder.flow", "flowbuilder.validate"} & again == set()
    assert "flowbuilder.server.runner" in again
