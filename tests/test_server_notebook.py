"""The callback server in a real Jupyter kernel (ipykernel's loop already running): serve, call
it with a blocking client from a cell, re-run the serve cell, display the handle, stop."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

CELLS = [
    # cell 1: serve (re-run below)
    """import threading, httpx
import flowbuilder as fb
from flowbuilder.examples import support_line
threads_before = {t.name for t in threading.enumerate()}
server = fb.serve(support_line())
first_url = server.url
server""",
    # cell 2: a blocking call from the kernel's own thread
    """from flowbuilder.callr import wire
from flowbuilder.phone import CallSetup, SimulatedCall
body = SimulatedCall(CallSetup(app="4346423A", callid=1, number="+339")).start().callback
reply = httpx.post(server.url, content=wire.render_callback(body),
                   headers={"Content-Type": "application/json"}, timeout=5)
print("answer:", reply.json()["command"])""",
    # cell 3: the serve cell again
    """old = server
server = fb.serve(support_line())
print("replaced:", not old.running, server.running, server.url == first_url)""",
    # cell 4: stop; nothing left behind
    """server.stop()
import time; time.sleep(0.2)
print("left:", sorted({t.name for t in threading.enumerate()} - threads_before))""",
]


@pytest.mark.notebook
def test_serve_in_a_jupyter_kernel(tmp_path: Path):
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [list(cell.outputs) for cell in nb.cells]
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]
    shown = outputs[0][0]["data"]
    assert "Callback server support_line" in shown["text/html"]
    assert "running" in shown["text/html"]
    assert shown["text/plain"].startswith(
        "<ServerHandle 'support_line' running at http://127.0.0.1:"
    )
    text = "".join(o.get("text", "") for cell in outputs[1:] for o in cell)
    assert "answer: play" in text
    assert "replaced: True True True" in text
    assert "left: []" in text
