"""The builder as a daily tool, in a real JupyterLab driven by headless Chromium.

Each test opens one notebook and checks several things a user notices on that page: the builder
owns its keys and right-clicks (nothing reaches the notebook's commands), panels scroll instead
of squashing, and the canvas is legible at 1400 px and 1000 px wide. Screenshots go to
``$NB_ARTIFACTS``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.ui.lab import (
    TIMEOUT_MS,
    boxes_overlap,
    cell,
    center,
    drag,
    node_ids,
    open_notebook,
    run_all,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SUPPORT = """\
import flowbuilder as fb
from flowbuilder.examples import support_line
flow = support_line()
builder = fb.Builder(flow)
builder"""

SECOND = 'print("second cell ran", globals().setdefault("n", [0]).append(1) or len(n))'

MANY = """\
many = fb.Flow("many").add("start", "hangup")
for i in range(8):
    many.add(f"step_{i}", "play", prompt="Hello")
many.add("menu_1", "menu", prompt="Press 1", options=[{"outcome": "sales", "digits": "1"}])
many.add("dial_1", "dial", targets=[{"number": "+33123456789", "timeout": 20}])
many.connect("menu_1", "start", "sales").connect("menu_1", "start", "invalid")
many.connect("menu_1", "start", "timeout")
for outcome in ("answered", "no_answer", "busy", "failed"):
    many.connect("dial_1", "start", outcome)
many_builder = fb.Builder(many)
many_builder"""


def test_the_builder_owns_its_keys_and_hands_them_back(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    """#1: Ctrl+Z after clicking any toolbar button undoes in the flow, never in the notebook;
    right-click opens the builder's menu, not the cell's; Ctrl+A selects nodes, not the page;
    Escape or a click outside hands the keyboard back (Ctrl+Enter runs cells again)."""
    from playwright.sync_api import expect

    write_notebook(jupyter_lab.root / "keys.ipynb", [SUPPORT, SECOND])
    open_notebook(page, jupyter_lab, "keys.ipynb")
    run_all(page)
    canvas = page.locator(".fb-canvas").first
    expect(canvas).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    expect(canvas).to_have_attribute("data-shell", "1")
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(2)
    source = cell(page, 0).locator(".jp-InputArea-editor").inner_text()
    welcome = canvas.locator(".fb-node[data-node='welcome']")
    placed = welcome.get_attribute("transform")

    toolbar = page.locator(".fb-builder .fb-toolbar-row").first

    def button(name: str) -> Any:
        return toolbar.locator("button", has_text=re.compile(rf"^\s*{name}\s*$"))

    def ctrl_z_keeps_the_cells() -> None:
        page.keyboard.press("Control+z")
        expect(cells).to_have_count(2)
        assert cell(page, 0).locator(".jp-InputArea-editor").inner_text() == source

    # Auto-layout moves the nodes; Ctrl+Z then undoes it in the flow, not in the notebook
    button("Auto-layout").click()
    expect(welcome).not_to_have_attribute("transform", placed)
    ctrl_z_keeps_the_cells()
    expect(welcome).to_have_attribute("transform", placed)
    button("Redo").click()  # the layout again...
    expect(welcome).not_to_have_attribute("transform", placed)
    ctrl_z_keeps_the_cells()  # ...and undone again by the key
    expect(welcome).to_have_attribute("transform", placed)
    for name in ("Fit", "Flow", "SVG", "PNG"):
        if name in ("SVG", "PNG"):
            with page.expect_download() as got:
                button(name).click()
            assert got.value.suggested_filename == f"support_line.{name.lower()}"
        else:
            button(name).click()
        ctrl_z_keeps_the_cells()
    button("Flow").click()  # closes the flow settings again
    button("Auto-layout").click()
    button("Undo").click()
    expect(welcome).to_have_attribute("transform", placed)
    ctrl_z_keeps_the_cells()

    # Ctrl+A in the canvas selects every node, not the page's text
    canvas.locator(".fb-svg").click(position={"x": 30, "y": 30})
    page.keyboard.press("Control+a")
    expect(canvas).to_have_attribute("data-selected-count", "9")
    assert page.evaluate("() => String(window.getSelection())") == ""
    page.keyboard.press("Escape")  # clears the selection
    expect(canvas).to_have_attribute("data-selected-count", "0")

    # right-click: the builder's own menu on the canvas, never JupyterLab's cell menu
    canvas.locator(".fb-node[data-node='main_menu'] .fb-node-label").click(button="right")
    menu = canvas.locator(".fb-menu.fb-show")
    expect(menu).to_be_visible()
    expect(menu.locator("[data-item='duplicate']")).to_be_visible()
    expect(page.locator(".lm-Menu")).to_have_count(0)
    page.keyboard.press("Escape")
    page.locator(".fb-validation").first.click(button="right")
    expect(page.locator(".lm-Menu")).to_have_count(0)

    # a click outside the builder hands the keyboard back: Ctrl+Enter runs that cell
    canvas.locator(".fb-svg").click(position={"x": 30, "y": 30})
    second = cell(page, 1)
    second.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Enter")
    expect(second.locator(".jp-OutputArea-output")).to_contain_text("second cell ran 3")
    # Escape hands it back too: then Ctrl+Enter runs the builder's cell again
    canvas.locator(".fb-svg").click(position={"x": 30, "y": 30})
    prompt = cell(page, 0).locator(".jp-InputPrompt")
    count = prompt.inner_text()
    page.keyboard.press("Escape")
    assert page.evaluate("() => !document.activeElement.closest('.fb-builder')")
    page.keyboard.press("Control+Enter")
    expect(prompt).not_to_have_text(count, timeout=TIMEOUT_MS)
    expect(cells).to_have_count(2)
    assert not page.js_errors, page.js_errors
    assert not page.external_requests, page.external_requests
