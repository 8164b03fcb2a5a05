"""The sandbox in a real Jupyter kernel (ipykernel's loop already running on the main thread):
blocking client calls and ``call_in`` from cells, ``await`` on a call, re-running the cell that
starts it on a fixed port, and nothing left behind after ``stop()``."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


START = """import threading, time
import flowbuilder as fb
from flowbuilder.examples import support_line
if "threads_before" not in globals():
    threads_before = {t.name for t in threading.enumerate()}
previous = globals().get("sb")
sb = fb.Sandbox(port={port}).start()
sb"""

CELLS = [
    START,
    """server = fb.serve(support_line(), name="notebook-sandbox")
client = sb.client()
app = client.apps.create("Support line", url=server.url)
did = client.apps.get_dids(only_available=True)[0]
client.apps.assign_did(app, did)
sb.follow(server)
t = sb.call_in(did.intl_number, "+33639980001", fb.Script(presses=["2"]))
print("status:", t.status, "| path:", " > ".join(t.path))""",
    """call = sb.start_call_in(did, "+33639980001", ["1"])
awaited = await call
print("awaited:", awaited.status, awaited.reason)""",
    START,
    """print("replaced:", previous is not sb, not previous.running, sb.running)
print("fresh account:", sb.client().apps.get_list() == [])""",
    """sb.stop(); server.stop(); time.sleep(0.2)
print("left:", sorted({t.name for t in threading.enumerate()} - threads_before))""",
]


@pytest.mark.notebook
def test_sandbox_in_a_jupyter_kernel(tmp_path: Path) -> None:
    port = free_port()
    nb = new_notebook(cells=[new_code_cell(c.replace("{port}", str(port))) for c in CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [list(cell.outputs) for cell in nb.cells]
    errors = [o for cell in outputs for o in cell if o.output_type == "error"]
    assert not errors, errors
    shown = outputs[0][0]["data"]["text/plain"]
    assert shown.startswith(f"<Sandbox http://127.0.0.1:{port}/json-rpc/v1.1/ running")
    text = "".join(o.get("text", "") for cell in outputs for o in cell)
    assert "status: completed | path: welcome > main_menu > support > thanks > end" in text
    assert "awaited: completed bridged" in text
    assert "replaced: True True True" in text
    assert "fresh account: True" in text
    assert "left: []" in text
