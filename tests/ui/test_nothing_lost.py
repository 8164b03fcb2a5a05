"""Nothing lost, and deploy from the canvas, in a real JupyterLab.

#2: a builder bound to a file saves every edit; after a kernel restart the same cell brings the
same flow back, and a flow from code that differs is offered, not silently taken; a cell run
again without a file offers the canvas edits of the builder it replaced.
#6: an edit deployed while a real-clock call is in progress: that call finishes on the version
it began, the next call takes the edit; the canvas lights the call step by step meanwhile.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.ui.lab import (
    SHOW,
    TIMEOUT_MS,
    cell,
    kernel_idle,
    open_notebook,
    python_sees,
    run_all,
    run_cell,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOUND = """\
import json
import flowbuilder as fb
from flowbuilder.examples import support_line
flow = support_line()
builder = fb.Builder(flow, path="flows/support.json")
builder"""

LOOK = (
    """\
def look():
    return {"flow": sorted(flow), "other": sorted(other) if "other" in globals() else None}
"""
    + SHOW
)

PLAIN = """\
other = support_line()
plain = fb.Builder(other)
plain"""


def _saved_nodes(path: Path) -> list[str]:
    return sorted(json.loads(path.read_text())["nodes"]) if path.exists() else []


def test_edits_survive_a_rerun_and_a_kernel_restart(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    write_notebook(jupyter_lab.root / "kept.ipynb", [BOUND, LOOK, PLAIN])
    saved = jupyter_lab.root / "flows" / "support.json"
    saved.unlink(missing_ok=True)
    open_notebook(page, jupyter_lab, "kept.ipynb")
    run_all(page)
    canvases = page.locator(".fb-canvas")
    expect(canvases).to_have_count(2, timeout=TIMEOUT_MS)
    bound, plain = canvases.nth(0), canvases.nth(1)
    expect(plain).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)

    # -- an edit on the bound canvas is saved to the file, atomically, a moment later ---------
    bound.scroll_into_view_if_needed()
    bound.locator(".fb-palette-search").click()
    page.keyboard.type("hang")
    page.keyboard.press("Enter")
    expect(bound.locator(".fb-node[data-node='hangup_1']")).to_have_count(1, timeout=TIMEOUT_MS)
    deadline = time.monotonic() + 10
    while "hangup_1" not in _saved_nodes(saved) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "hangup_1" in _saved_nodes(saved)

    # -- a cell run again without a file: the old builder's canvas edits are offered -----------
    plain.scroll_into_view_if_needed()
    plain.locator(".fb-node[data-node='goodbye'] .fb-node-label").click()
    page.keyboard.press("Delete")
    expect(plain.locator(".fb-node[data-node='goodbye']")).to_have_count(0)
    run_cell(page, 2)
    banner = cell(page, 2).locator(".fb-banner")
    expect(banner).to_contain_text("had canvas edits", timeout=TIMEOUT_MS)
    expect(banner).to_contain_text("- node goodbye")
    assert "goodbye" in python_sees(page, 1)["other"]  # the new flow, as the code made it
    cell(page, 2).locator(".fb-banner button", has_text="Bring the canvas edits back").click()
    expect(cell(page, 2).locator(".fb-node[data-node='goodbye']")).to_have_count(0)
    assert "goodbye" not in python_sees(page, 1)["other"]

    # -- restart the kernel, run the cell again: the file's flow is back, the code's offered ---
    page.get_by_role("menubar").get_by_role("menuitem", name="Kernel", exact=True).click()
    page.locator("li.lm-Menu-item[data-command='kernelmenu:restart']").click()
    page.locator(".jp-Dialog button", has_text=re.compile(r"^\s*Restart\s*$")).click()
    kernel_idle(page)
    run_cell(page, 0)
    bound = page.locator(".fb-canvas").first
    expect(bound.locator(".fb-node[data-node='hangup_1']")).to_have_count(1, timeout=TIMEOUT_MS)
    banner = cell(page, 0).locator(".fb-banner")
    expect(banner).to_contain_text("holds edits the flow from code does not have")
    expect(banner).to_contain_text("+ node hangup_1")
    assert "hangup_1" in python_sees(page, 1)["flow"]  # the kernel's flow is the file's
    cell(page, 0).locator(".fb-builder").screenshot(path=str(artifacts / "file-vs-code.png"))
    cell(page, 0).locator(".fb-banner button", has_text="Use the flow from code").click()
    expect(bound.locator(".fb-node[data-node='hangup_1']")).to_have_count(0)
    assert "hangup_1" not in _saved_nodes(saved)
    bound.locator(".fb-svg").click(position={"x": 30, "y": 30})
    page.keyboard.press("Control+z")  # and the canvas edits are one undo away
    expect(bound.locator(".fb-node[data-node='hangup_1']")).to_have_count(1)
    assert not page.js_errors, page.js_errors


LIVE = """\
import flowbuilder as fb
from flowbuilder.ui.callr_panels import CallPanel, assign_did, connect, create_app
ONE = "Hello, this is version one of the line. Please stay with us while we look into it. " * 2
flow = fb.Flow("live").add("hello", "play", prompt=ONE).add("bye", "hangup")
flow.connect("hello", "bye")
builder = fb.Builder(flow)
builder"""

SERVE = """\
sandbox = fb.Sandbox(clock="real").start()
server = fb.serve(flow, name="live-deploy")
builder.watch(server)
conn = connect(sandbox=sandbox)
app = create_app(conn, server)
did = assign_did(conn, app)
CallPanel(conn, app, builder)"""


def test_deploy_an_edit_while_a_real_clock_call_is_in_progress(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    write_notebook(jupyter_lab.root / "deploy.ipynb", [LIVE, SERVE])
    open_notebook(page, jupyter_lab, "deploy.ipynb")
    run_all(page)
    canvas = page.locator(".fb-canvas").first
    expect(canvas).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    panel = page.locator(".fb-panel", has_text="Test call")
    expect(panel).to_be_visible(timeout=TIMEOUT_MS)
    call = panel.locator("button", has_text=re.compile(r"^\s*Call$"))

    # the first call: the kernel stays free, the canvas lights the node it is on
    call.click()
    expect(panel).to_contain_text("ringing")
    hello = canvas.locator(".fb-node[data-node='hello']")
    expect(hello).to_have_class(re.compile(r"\bfb-active\b"), timeout=TIMEOUT_MS)

    # meanwhile: edit the prompt and deploy
    canvas.scroll_into_view_if_needed()
    hello.locator(".fb-node-label").click()
    prompt = page.locator(".fb-inspector .fb-field-prompt textarea").first
    prompt.fill("Hello, this is version two.")
    prompt.press("Tab")
    deploy = page.locator(".fb-builder .fb-toolbar-row button", has_text="Deploy")
    expect(deploy).to_be_enabled()
    deploy.click()
    status = page.locator(".fb-builder .fb-status")
    expect(status).to_contain_text("Deployed version", timeout=TIMEOUT_MS)
    assert panel.locator(".fb-transcript").inner_text() == ""  # the first call is still on

    # the call in progress finishes on the version it began; the next one takes the edit
    expect(panel).to_contain_text("call completed", timeout=TIMEOUT_MS)
    expect(panel.locator(".fb-transcript")).to_contain_text("version one")
    expect(hello).not_to_have_class(re.compile(r"\bfb-active\b"))
    call.click()
    expect(panel.locator(".fb-transcript")).to_contain_text("version two", timeout=TIMEOUT_MS)
    log = page.locator(".fb-calllog .fb-log-call")
    expect(log).to_have_count(2)
    page.locator(".fb-builder").first.screenshot(path=str(artifacts / "deployed.png"))
    assert not page.js_errors, page.js_errors
