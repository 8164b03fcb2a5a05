"""What ``flowbuilder serve FLOW`` imports before it answers: nothing that serving does not use
(a real process, its imports listed by ``python -X importtime``)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from flowbuilder.examples import support_line

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
)


def test_serve_imports_nothing_that_serving_this_flow_does_not_use(tmp_path: Path):
    flow_file = support_line().save(tmp_path / "support_line.json")
    command = ["-m", "flowbuilder", "serve", str(flow_file), "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().startswith("flowbuilder: serving")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    imported = set(re.findall(r"^import time:.*\|\s+([\w.]+)$", err, re.MULTILINE))
    assert "flowbuilder.server.runner" in imported  # the listing is real
    unwanted = sorted(
        name for name in imported for prefix in NOT_FOR_SERVING if name.startswith(prefix)
    )
    assert unwanted == []
