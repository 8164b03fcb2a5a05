"""The builder in a real JupyterLab, driven by headless Chromium (Playwright's sync API).

One notebook, generated here, holds the support-line builder, a cell that prints what Python
sees, the CALLR-side panels against the sandbox, and a 200-node flow for timing. The test works
the page as a user would (palette click, drags with the mouse, keyboard, form edits, buttons)
and checks the kernel's ``Flow`` after each step by re-running the printing cell.
Screenshots go to ``$NB_ARTIFACTS`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from flowbuilder.examples import support_line
from flowbuilder.simulate import simulate

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 60_000

SETUP = """\
import json, time
import ipywidgets as W
import flowbuilder as fb
from flowbuilder.examples import support_line
from flowbuilder.ui.callr_panels import AppPanel, CallPanel, ConnectPanel, DidPanel
flow = support_line()
builder = fb.Builder(flow)
builder"""

SHOW = """\
runs = globals().get("runs", 0) + 1
print(f"PYTHON {runs} " + json.dumps({
    "nodes": sorted(flow),
    "play_1": flow.params("play_1") if "play_1" in flow else None,
    "play_1_next": flow.next("play_1", "next") if "play_1" in flow else None,
    "play_1_pos": flow.positions().get("play_1"),
}))"""

CALLR = """\
server = fb.serve(flow, name="browser-test")
builder.watch(server)
connect = ConnectPanel()
app_panel = AppPanel(connect, server)
did_panel = DidPanel(connect, app_panel)
call_panel = CallPanel(connect, app_panel, builder)
W.HBox([W.VBox([connect, app_panel, did_panel]), call_panel])"""

BIG = """\
def big_flow(groups=50):
    big = fb.Flow("big")
    for g in range(groups):
        big.add(f"menu{g}", "menu", label=f"Menu {g}", prompt="Press 1 or 2",
                options=[{"outcome": "one", "digits": "1"}, {"outcome": "two", "digits": "2"}])
        big.add(f"one{g}", "play", prompt=f"You chose one in menu {g}")
        big.add(f"two{g}", "play", prompt=f"You chose two in menu {g}")
        big.add(f"end{g}", "hangup")
        big.connect(f"menu{g}", f"one{g}", "one").connect(f"menu{g}", f"two{g}", "two")
        big.connect(f"one{g}", f"end{g}").connect(f"two{g}", f"end{g}")
        if g:
            big.connect(f"menu{g - 1}", f"menu{g}", "invalid")
            big.connect(f"menu{g - 1}", f"menu{g}", "timeout")
    return big
big = big_flow()
t0 = time.perf_counter()
big_builder = fb.Builder(big, height=500)
print(f"BIG {len(big)} nodes, Builder() in Python {1000 * (time.perf_counter() - t0):.0f} ms")
big_builder"""


def write_notebook(path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell(c) for c in (SETUP, SHOW, CALLR, BIG)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))


def open_and_run_all(page: Any, lab: Any, name: str) -> None:
    """Open the notebook, wait for a connected idle kernel, then Run > Run All Cells."""
    from playwright.sync_api import expect

    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}")
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=TIMEOUT_MS)
    # "Idle" on the execution indicator comes before the kernel is connected; the status bar
    # text is the reliable signal (a Run All issued earlier is silently lost)
    status = page.locator("#jp-main-statusbar span.jp-StatusBar-TextItem[title^='Change kernel']")
    expect(status).to_have_text(re.compile(r"^(?!No Kernel).* \| Idle$"), timeout=TIMEOUT_MS)
    page.keyboard.press("Control+b")  # hide the file browser: more room for the canvas
    expect(page.locator("#jp-left-stack")).to_be_hidden()
    page.get_by_role("menubar").get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()


def python_sees(page: Any) -> dict[str, Any]:
    """Re-run the printing cell (Ctrl+Enter) and read what the kernel's Flow holds."""
    from playwright.sync_api import expect

    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    output = cell.locator(".jp-OutputArea-output")
    runs = int(output.inner_text().split()[1])
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Control+Enter")
    expect(output).to_contain_text(f"PYTHON {runs + 1} ", timeout=TIMEOUT_MS)
    return dict(json.loads(output.inner_text().split(" ", 2)[2]))


def center(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page: Any, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def stats(canvas: Any) -> dict[str, int]:
    return dict(json.loads(canvas.get_attribute("data-stats")))


def test_builder_in_jupyterlab(jupyter_lab: Any, page: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    t0 = time.perf_counter()
    write_notebook(jupyter_lab.root / "builder.ipynb")
    open_and_run_all(page, jupyter_lab, "builder.ipynb")
    outputs = page.locator(".jp-OutputArea-output")
    expect(outputs.filter(has_text="BIG 200 nodes")).to_be_visible(timeout=TIMEOUT_MS)
    canvases = page.locator(".fb-canvas")
    expect(canvases).to_have_count(2, timeout=TIMEOUT_MS)
    main, big = canvases.nth(0), canvases.nth(1)
    expect(main).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    expect(big).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    t_open = time.perf_counter() - t0

    # -- the canvas shows the flow ---------------------------------------------------------
    flow = support_line()
    nodes = main.locator(".fb-node")
    expect(nodes).to_have_count(len(flow))
    assert sorted(nodes.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(flow)
    expect(main.locator(".fb-edge")).to_have_count(flow.graph.number_of_edges())
    expect(main.locator(".fb-node[data-node='main_menu'] .fb-port-out")).to_have_count(5)
    expect(main.locator(".fb-node.fb-entry")).to_have_attribute("data-node", "welcome")
    builder = page.locator(".fb-builder").first
    builder.scroll_into_view_if_needed()
    builder.screenshot(path=str(artifacts / "builder.png"))

    # -- add a node from the palette ---------------------------------------------------------
    main.locator(".fb-palette-item[data-kind='play']").click()
    play = main.locator(".fb-node[data-node='play_1']")
    expect(play).to_be_visible(timeout=TIMEOUT_MS)
    expect(play).to_have_class(re.compile(r"\bfb-selected\b"))
    expect(page.locator(".fb-inspector code", has_text="play_1").first).to_be_visible()

    # -- drag it below the welcome node: the kernel's layout gets the new place --------------
    main.locator(".fb-stage").scroll_into_view_if_needed()
    welcome = main.locator(".fb-node[data-node='welcome'] .fb-node-box")
    wx, wy = center(welcome)
    drag(page, center(play.locator(".fb-node-label")), (wx, wy + 150))
    seen = python_sees(page)
    assert seen["play_1_pos"] is not None
    assert seen["play_1_pos"][1] > flow.positions()["welcome"][1] + 100

    # -- connect: drag from its "next" port onto the hang-up node ----------------------------
    port = play.locator(".fb-port-out[data-outcome='next']")
    main.locator(".fb-stage").scroll_into_view_if_needed()  # re-running a cell scrolls
    drag(page, center(port), center(main.locator(".fb-node[data-node='end'] .fb-node-box")))
    edge = main.locator(".fb-edge[data-source='play_1'][data-outcome='next']")
    expect(edge).to_have_attribute("data-target", "end", timeout=TIMEOUT_MS)

    # -- edit a parameter in the form --------------------------------------------------------
    main.locator(".fb-stage").scroll_into_view_if_needed()
    play.locator(".fb-node-label").click()
    prompt = (
        page.locator(".fb-inspector .widget-textarea")
        .filter(has=page.locator("label", has_text=re.compile(r"^prompt$")))
        .locator("textarea")
    )
    prompt.fill("Hello from the browser, {caller}!")
    prompt.press("Tab")  # the change is sent when the field loses focus
    expect(play.locator(".fb-node-sub")).to_have_text(re.compile("^Hello from the browser"))
    seen = python_sees(page)
    assert seen["play_1"]["prompt"] == "Hello from the browser, {caller}!"
    assert seen["play_1_next"] == "end"

    # -- an invalid value is refused with the reason; the flow keeps the old one -------------
    prompt.fill("")
    prompt.press("Tab")
    expect(page.locator(".fb-inspector .fb-field-error")).to_contain_text("is required")
    assert python_sees(page)["play_1"]["prompt"] == "Hello from the browser, {caller}!"

    # -- Delete removes the selected node, Ctrl+Z brings it back -----------------------------
    main.locator(".fb-stage").scroll_into_view_if_needed()
    play.locator(".fb-node-label").click()
    page.keyboard.press("Delete")
    expect(play).to_have_count(0)
    assert "play_1" not in python_sees(page)["nodes"]
    main.locator(".fb-stage").scroll_into_view_if_needed()
    main.locator(".fb-svg").click(position={"x": 5, "y": 5})  # focus the canvas again
    page.keyboard.press("Control+z")
    expect(play).to_have_count(1)
    expect(edge).to_have_attribute("data-target", "end")
    page.keyboard.press("Control+Shift+z")  # redo the delete, then undo it again
    expect(play).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(play).to_have_count(1)

    # -- wheel zooms, dragging the background pans ------------------------------------------
    zoom, viewport = main.locator(".fb-zoom"), main.locator(".fb-viewport")
    level, placed = zoom.inner_text(), viewport.get_attribute("transform")
    page.mouse.move(*center(main.locator(".fb-stage")))
    page.mouse.wheel(0, -300)
    expect(zoom).not_to_have_text(level)
    box = main.locator(".fb-stage").bounding_box()
    placed = viewport.get_attribute("transform")
    drag(page, (box["x"] + 12, box["y"] + 12), (box["x"] + 90, box["y"] + 60))
    expect(viewport).not_to_have_attribute("transform", placed)
    main.locator(".fb-btn-fit").click()

    # -- the validation panel: play_1 is unreachable; clicking the warning selects it --------
    expect(play).to_have_class(re.compile(r"\bfb-warning\b"))
    main.locator(".fb-svg").click(position={"x": 5, "y": 5})  # clear the selection
    expect(play).not_to_have_class(re.compile(r"\bfb-selected\b"))
    page.locator(".fb-issue", has_text="play_1").first.click()
    expect(play).to_have_class(re.compile(r"\bfb-selected\b"))

    # -- a sandbox test call: its path lights up on the canvas -------------------------------
    page.locator(".fb-panel button", has_text="Connect").click()
    expect(page.locator(".fb-panel", has_text="CALLR connection")).to_contain_text("✔")
    page.locator(".fb-panel button", has_text="Create app").click()
    expect(page.locator(".fb-panel", has_text="REALTIME10 app")).to_contain_text("posts to")
    page.locator(".fb-panel button", has_text="Assign").click()
    expect(page.locator(".fb-panel", has_text="Phone number")).to_contain_text("now reach")
    presses = (
        page.locator(".fb-panel .widget-text")
        .filter(has=page.locator("label", has_text=re.compile(r"^presses$")))
        .locator("input")
    )
    presses.fill("2")
    presses.press("Tab")
    page.locator(".fb-panel button", has_text=re.compile(r"^\s*Call$")).click()
    call_panel = page.locator(".fb-panel", has_text="Test call")
    expect(call_panel).to_contain_text("call completed", timeout=TIMEOUT_MS)
    expect(call_panel.locator(".fb-transcript")).to_contain_text("Please describe your problem")
    expected = simulate(flow, press=["2"]).path
    lit = main.locator(".fb-node.fb-onpath")
    expect(lit).to_have_count(len(set(expected)), timeout=TIMEOUT_MS)
    assert sorted(lit.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(expected)
    expect(main.locator(".fb-edge.fb-onpath")).to_have_count(len(expected) - 1)
    expect(page.locator(".fb-calllog").first).to_contain_text("1 seen")
    main.locator(".fb-stage").scroll_into_view_if_needed()
    main.locator(".fb-btn-fit").click()
    main.locator(".fb-node[data-node='main_menu'] .fb-node-label").click()
    expect(page.locator(".fb-inspector code", has_text="main_menu").first).to_be_visible()
    builder.scroll_into_view_if_needed()
    builder.screenshot(path=str(artifacts / "builder-call.png"))

    # -- 200 nodes: time to interactive, and a drag does not redraw the canvas ---------------
    big.scroll_into_view_if_needed()
    expect(big.locator(".fb-node")).to_have_count(200)
    first_draw = float(big.get_attribute("data-first-draw-ms"))
    interactive = float(big.get_attribute("data-interactive-ms"))
    python_line = outputs.filter(has_text="BIG 200 nodes").inner_text().strip()
    for _ in range(4):
        big.locator(".fb-btn-zoom-in").click()
    visible = big.evaluate(
        """root => {
            const stage = root.querySelector('.fb-stage').getBoundingClientRect();
            const inside = (r) => r.left > stage.left + 20 && r.right < stage.right - 20
                && r.top > stage.top + 40 && r.bottom < stage.bottom - 20;
            const node = [...root.querySelectorAll('.fb-node')]
                .find((g) => inside(g.getBoundingClientRect()));
            return node && node.dataset.node;
        }"""
    )
    assert visible, "no node in view after zooming in"
    before = stats(big)
    node = big.locator(f".fb-node[data-node='{visible}'] .fb-node-label")
    x, y = center(node)
    drag(page, (x, y), (x + 120, y + 90), steps=60)
    time.sleep(0.5)  # let the kernel's echo of the move arrive and be drawn
    after = stats(big)
    moves = after["mousemoves"] - before["mousemoves"]
    frames = after["dragFrames"] - before["dragFrames"]
    renders = after["renders"] - before["renders"]
    print(
        f"\n[perf] 200-node canvas: first draw {first_draw:.0f} ms, interactive "
        f"{interactive:.0f} ms after render start; {python_line}"
        f"\n[perf] drag: {moves} mousemoves, {frames} drag frames, {renders} full renders, "
        f"{after['nodeBuilds'] - before['nodeBuilds']} node rebuilds"
    )
    assert interactive < 5000  # sanity bound only; the figure is printed above
    assert moves >= 50
    assert frames >= 50
    assert renders <= 2  # the echo of the final position, never one per mousemove
    big.screenshot(path=str(artifacts / "builder-200.png"))

    page.screenshot(path=str(artifacts / "jupyterlab-builder.png"), full_page=True)
    print(f"[timing] open+run all {t_open:.1f}s, whole test {time.perf_counter() - t0:.1f}s")
    assert not page.js_errors, page.js_errors
    assert not page.external_requests, page.external_requests
