"""The builder in a real JupyterLab, driven by headless Chromium (Playwright's sync API).

One notebook holds the support-line builder, a cell that prints what Python sees, the
CALLR-side panels against the sandbox, and a 200-node flow. The test works the page as a user
would (palette, drags with the mouse, keyboard, context menu, form edits, buttons) and checks
the kernel's ``Flow`` after each step by re-running the printing cell. Screenshots go to
``$NB_ARTIFACTS`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from flowbuilder.examples import support_line
from flowbuilder.simulate import simulate
from tests.ui.lab import (
    SHOW,
    TIMEOUT_MS,
    boxes_overlap,
    center,
    drag,
    node_ids,
    open_notebook,
    python_sees,
    run_all,
    stats,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """\
import json, time
import ipywidgets as W
import flowbuilder as fb
from flowbuilder.examples import support_line
from flowbuilder.ui.callr_panels import AppPanel, CallPanel, ConnectPanel, DidPanel
flow = support_line()
builder = fb.Builder(flow)
builder"""

LOOK = (
    """\
def look():
    return {
        "nodes": sorted(flow),
        "play_1": flow.params("play_1") if "play_1" in flow else None,
        "play_1_next": flow.next("play_1", "next") if "play_1" in flow else None,
        "positions": {n: list(p) for n, p in flow.positions().items()},
        "labels": {n: flow.label(n) for n in flow},
        "notes": flow.notes,
        "edges": sorted(f"{u}>{k}>{v}" for u, v, k in flow.graph.edges(keys=True)),
    }
"""
    + SHOW
)

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


def node(canvas: Any, node_id: str, part: str = ".fb-node-label") -> Any:
    return canvas.locator(f".fb-node[data-node='{node_id}'] {part}")


def fit(canvas: Any) -> None:
    canvas.locator(".fb-stage").scroll_into_view_if_needed()
    canvas.locator(".fb-btn-fit").click()


def test_builder_in_jupyterlab(jupyter_lab: Any, page: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    t0 = time.perf_counter()
    write_notebook(jupyter_lab.root / "builder.ipynb", [SETUP, LOOK, CALLR, BIG])
    open_notebook(page, jupyter_lab, "builder.ipynb")
    run_all(page)
    outputs = page.locator(".jp-OutputArea-output")
    expect(outputs.filter(has_text="BIG 200 nodes")).to_be_visible(timeout=TIMEOUT_MS)
    canvases = page.locator(".fb-canvas")
    expect(canvases).to_have_count(2, timeout=TIMEOUT_MS)
    main, big = canvases.nth(0), canvases.nth(1)
    expect(main).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    expect(big).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    t_open = time.perf_counter() - t0

    # -- the canvas shows the flow, with every route named on its line ------------------------
    flow = support_line()
    expect(main.locator(".fb-node")).to_have_count(len(flow))
    assert node_ids(main) == sorted(flow)
    expect(main.locator(".fb-edge")).to_have_count(flow.graph.number_of_edges())
    expect(node(main, "main_menu", ".fb-port-out")).to_have_count(5)
    expect(main.locator(".fb-node.fb-entry")).to_have_attribute("data-node", "welcome")
    labels = main.locator(".fb-edge-label").evaluate_all("els => els.map(e => e.textContent)")
    assert {"sales", "support", "operator", "answered"} <= set(labels)
    assert "busy, failed, no_answer" in labels  # three routes to one node share one label
    box = node(main, "main_menu", ".fb-node-box").bounding_box()
    zoom = float(main.get_attribute("data-zoom"))
    assert box["height"] == pytest.approx(zoom * (52 + 20 * 5 + 6), abs=1)  # layout.GEOMETRY
    builder = page.locator(".fb-builder").first
    builder.scroll_into_view_if_needed()
    builder.screenshot(path=str(artifacts / "builder.png"))

    # -- add from the palette: selected, in the inspector, and on top of nothing ---------------
    main.locator(".fb-palette-item[data-kind='play']").click()
    play = main.locator(".fb-node[data-node='play_1']")
    expect(play).to_be_visible(timeout=TIMEOUT_MS)
    expect(play).to_have_class(re.compile(r"\bfb-selected\b"))
    expect(page.locator(".fb-inspector code", has_text="play_1").first).to_be_visible()
    assert not boxes_overlap(main)

    # -- drag it below the welcome node: the kernel's layout gets the new place --------------
    fit(main)
    wx, wy = center(node(main, "welcome", ".fb-node-box"))
    drag(page, center(node(main, "play_1")), (wx, wy + 150))
    seen = python_sees(page, 1)
    assert seen["positions"]["play_1"][1] > flow.positions()["welcome"][1] + 100

    # -- connect: drag from its "next" port onto the hang-up node ----------------------------
    fit(main)
    drag(
        page,
        center(node(main, "play_1", ".fb-port-out")),
        center(node(main, "end", ".fb-node-box")),
    )
    edge = main.locator(".fb-edge[data-source='play_1'][data-outcome='next']")
    expect(edge).to_have_attribute("data-target", "end", timeout=TIMEOUT_MS)
    # a click a few pixels off the line picks the edge (its wide hit path is never painted)
    x, y = edge.locator(".fb-edge-line").evaluate(
        """p => { const at = p.getPointAtLength(p.getTotalLength() / 4);
                  const s = new DOMPoint(at.x, at.y).matrixTransform(p.getScreenCTM());
                  return [s.x, s.y]; }"""
    )
    page.mouse.click(x, y + 4)
    expect(edge).to_have_class(re.compile(r"\bfb-selected\b"), timeout=TIMEOUT_MS)

    # -- edit a parameter in the form --------------------------------------------------------
    fit(main)
    node(main, "play_1").click()
    prompt = page.locator(".fb-inspector .fb-field-prompt textarea").first
    prompt.fill("Hello from the browser, {caller}!")
    prompt.press("Tab")  # the change is sent when the field loses focus
    expect(node(main, "play_1", ".fb-node-sub")).to_have_text(re.compile("^Hello from the"))
    seen = python_sees(page, 1)
    assert seen["play_1"]["prompt"] == "Hello from the browser, {caller}!"
    assert seen["play_1_next"] == "end"

    # -- an invalid value is refused with the reason; the flow keeps the old one -------------
    prompt.fill("")
    prompt.press("Tab")
    expect(page.locator(".fb-inspector .fb-field-error").first).to_contain_text("is required")
    assert python_sees(page, 1)["play_1"]["prompt"] == "Hello from the browser, {caller}!"

    # -- Delete removes the selected node, Ctrl+Z brings it back -----------------------------
    fit(main)
    node(main, "play_1").click()
    page.keyboard.press("Delete")
    expect(play).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(play).to_have_count(1)
    expect(edge).to_have_attribute("data-target", "end")
    page.keyboard.press("Control+Shift+z")  # redo the delete, then undo it again
    expect(play).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(play).to_have_count(1)

    # -- an edit never makes the view jump: the rightmost node deleted, the view stays -------
    fit(main)
    rightmost = main.evaluate(
        """root => { let best = null, x = -1e9;
             for (const g of root.querySelectorAll('.fb-node')) {
               const m = /translate\\(([-\\d.]+)/.exec(g.getAttribute('transform'));
               if (m && +m[1] > x) { x = +m[1]; best = g.dataset.node; } }
             return best; }"""
    )
    viewport = main.locator(".fb-viewport")
    node(main, rightmost).click()
    expect(page.locator(".fb-inspector").first).to_be_visible()
    page.wait_for_timeout(300)  # the inspector opened: the view keeps the selection in sight
    before = viewport.get_attribute("transform")
    page.keyboard.press("Delete")
    expect(main.locator(f".fb-node[data-node='{rightmost}']")).to_have_count(0)
    page.wait_for_timeout(300)
    assert viewport.get_attribute("transform") == before
    page.keyboard.press("Control+z")
    expect(main.locator(f".fb-node[data-node='{rightmost}']")).to_have_count(1)

    # -- rename by double-click ---------------------------------------------------------------
    fit(main)
    node(main, "operator").dblclick()
    editor = main.locator(".fb-inline-editor.fb-show")
    expect(editor).to_be_visible()
    page.keyboard.press("Control+a")
    page.keyboard.type("Front desk")
    page.keyboard.press("Enter")
    expect(node(main, "operator")).to_have_text("Front desk")

    # -- shift-click two nodes, move them as one; the arrow keys nudge them ---------------------
    fit(main)
    node(main, "sales").click()
    node(main, "operator").click(modifiers=["Shift"])
    expect(main).to_have_attribute("data-selected-count", "2")
    before = python_sees(page, 1)["positions"]
    fit(main)
    sx, sy = center(node(main, "sales"))
    drag(page, (sx, sy), (sx + 60, sy + 30))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(700)  # nudges are gathered into one move
    after = python_sees(page, 1)["positions"]
    for moved in ("sales", "operator"):
        assert after[moved][0] > before[moved][0] + 20, moved
    assert after["operator"][0] - before["operator"][0] == pytest.approx(
        after["sales"][0] - before["sales"][0], abs=1
    )
    assert after["welcome"] == before["welcome"]

    # -- a rubber band selects; Ctrl+C / Ctrl+V pastes copies; Ctrl+D duplicates --------------
    fit(main)
    stage = main.locator(".fb-stage").bounding_box()
    end = node(main, "end", ".fb-node-box").bounding_box()
    corner = (end["x"] + end["width"] + 25, end["y"] + end["height"] + 25)
    drag(page, corner, (corner[0] - 60, corner[1] - 45))  # a band over the hang-up's corner
    expect(main).to_have_attribute("data-selected", "end")
    page.keyboard.press("Control+c")
    page.mouse.move(stage["x"] + stage["width"] * 0.4, stage["y"] + stage["height"] - 80)
    page.keyboard.press("Control+v")
    expect(main.locator(".fb-node[data-node='end_2']")).to_have_count(1, timeout=TIMEOUT_MS)
    page.keyboard.press("Control+d")
    expect(main.locator(".fb-node[data-node='end_3']")).to_have_count(1, timeout=TIMEOUT_MS)
    assert not [p for p in boxes_overlap(main) if {"end_2", "end_3"} & set(p)]

    # -- the context menu: delete from it -------------------------------------------------------
    fit(main)
    node(main, "end_3").click(button="right")
    main.locator(".fb-menu.fb-show [data-item='delete']").click()
    expect(main.locator(".fb-node[data-node='end_3']")).to_have_count(0)

    # -- a note on the canvas, saved with the flow ----------------------------------------------
    fit(main)
    main.locator(".fb-svg").click(button="right", position={"x": 60, "y": 40})
    main.locator(".fb-menu.fb-show [data-item='note']").click()
    note_editor = main.locator(".fb-inline-editor.fb-show")
    expect(note_editor).to_be_visible(timeout=TIMEOUT_MS)
    page.keyboard.type("Opening hours change in May")
    page.keyboard.press("Control+Enter")
    expect(main.locator(".fb-note .fb-note-text")).to_have_text("Opening hours change in May")
    seen = python_sees(page, 1)
    assert [n["text"] for n in seen["notes"]] == ["Opening hours change in May"]
    assert seen["labels"]["operator"] == "Front desk"
    assert {"end_2", "play_1"} <= set(seen["nodes"])

    # -- the wheel scrolls the notebook; Ctrl+wheel zooms; Space+drag pans over a node ----------
    fit(main)
    zoom_label, viewport = main.locator(".fb-zoom"), main.locator(".fb-viewport")
    level = zoom_label.inner_text()
    page.mouse.move(*center(main.locator(".fb-stage")))
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    expect(zoom_label).not_to_have_text(level)
    placed = viewport.get_attribute("transform")
    welcome_at = node(main, "welcome").evaluate(
        "e => e.closest('g.fb-node').getAttribute('transform')"
    )
    page.keyboard.down("Space")
    wx, wy = center(node(main, "main_menu"))
    drag(page, (wx, wy), (wx - 80, wy - 40))
    page.keyboard.up("Space")
    expect(viewport).not_to_have_attribute("transform", placed)
    assert (
        node(main, "welcome").evaluate("e => e.closest('g.fb-node').getAttribute('transform')")
        == welcome_at
    )
    # the minimap moves the view too
    placed = viewport.get_attribute("transform")
    mini = main.locator(".fb-minimap").bounding_box()
    page.mouse.click(mini["x"] + 10, mini["y"] + 10)
    expect(viewport).not_to_have_attribute("transform", placed)

    # -- the validation panel: clicking a warning selects its node -----------------------------
    fit(main)
    main.locator(".fb-svg").click(position={"x": 5, "y": 5})  # clear the selection
    page.locator(".fb-issue", has_text="end_2").first.click()
    expect(main.locator(".fb-node[data-node='end_2']")).to_have_class(
        re.compile(r"\bfb-selected\b")
    )

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
    assert sorted(lit.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(set(expected))
    log = page.locator(".fb-calllog .fb-log-call")
    expect(log).to_have_count(1)
    expect(log.first.locator(".fb-log-steps")).to_contain_text("main_menu")
    builder.scroll_into_view_if_needed()
    builder.screenshot(path=str(artifacts / "builder-call.png"))

    # -- 200 nodes: readable first view, and a drag does not redraw the canvas ------------------
    big.scroll_into_view_if_needed()
    expect(big.locator(".fb-node")).to_have_count(200)
    assert float(big.get_attribute("data-zoom")) >= 0.6  # not 7 %: the minimap shows the rest
    visible = big.evaluate(
        """root => {
            const stage = root.querySelector('.fb-stage').getBoundingClientRect();
            const inside = (r) => r.left > stage.left + 20 && r.right < stage.right - 200
                && r.top > stage.top + 40 && r.bottom < stage.bottom - 20;
            const node = [...root.querySelectorAll('.fb-node')]
                .find((g) => inside(g.getBoundingClientRect()));
            return node && node.dataset.node;
        }"""
    )
    assert visible, "no node in view"
    before_stats = stats(big)
    x, y = center(node(big, visible))
    start = node(big, visible).bounding_box()
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 90, steps=60)
    # while the button is held the box is under the pointer and its edges stay attached to it
    held = node(big, visible).bounding_box()
    big.screenshot(path=str(artifacts / "builder-200-dragging.png"))
    assert (held["x"] - start["x"], held["y"] - start["y"]) == (
        pytest.approx(120, abs=2),
        pytest.approx(90, abs=2),
    )
    attached = big.evaluate(
        """(root, id) => {
            const n = root.querySelector(`.fb-node[data-node='${id}']`).getBoundingClientRect();
            const lines = root.querySelectorAll(`.fb-edge[data-source='${id}'] .fb-edge-line,
                                                 .fb-edge[data-target='${id}'] .fb-edge-line`);
            return [...lines].map((p) => { const r = p.getBoundingClientRect();
                return r.right >= n.left - 12 && r.left <= n.right + 12
                    && r.bottom >= n.top - 12 && r.top <= n.bottom + 12; });
        }""",
        visible,
    )
    assert attached, "the dragged node has no edges"
    assert all(attached), attached
    page.mouse.up()
    time.sleep(0.5)  # let the kernel's echo of the move arrive and be drawn
    dropped = node(big, visible).bounding_box()
    assert (dropped["x"], dropped["y"]) == (
        pytest.approx(held["x"], abs=2),
        pytest.approx(held["y"], abs=2),
    )
    after_stats = stats(big)
    assert after_stats["mousemoves"] - before_stats["mousemoves"] >= 50
    assert after_stats["dragFrames"] - before_stats["dragFrames"] >= 50
    assert after_stats["renders"] - before_stats["renders"] <= 2  # the echo, never per move
    big.screenshot(path=str(artifacts / "builder-200.png"))

    # -- zooming in the middle of a drag keeps the grabbed point under the pointer ------------
    def grabbed(x: float, y: float) -> tuple[float, float]:
        box = node(big, visible).bounding_box()
        return (x - box["x"]) / box["width"], (y - box["y"]) / box["height"]

    x, y = center(node(big, visible, ".fb-node-box"))
    at = grabbed(x, y)
    zoom = float(big.get_attribute("data-zoom"))
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 30, steps=5)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -240)
    page.keyboard.up("Control")
    page.wait_for_timeout(200)
    assert float(big.get_attribute("data-zoom")) > zoom * 1.1
    assert grabbed(x + 40, y + 30) == (
        pytest.approx(at[0], abs=0.03),
        pytest.approx(at[1], abs=0.06),
    )

    # -- held near the canvas's edge, the drag pans the view and the node comes along ---------
    def view_x() -> float:
        transform = big.locator(".fb-svg .fb-viewport").get_attribute("transform") or ""
        return float(re.findall(r"-?[\d.]+", transform)[0])

    stage = big.locator(".fb-svg").bounding_box()
    edge_x, edge_y = stage["x"] + stage["width"] - 6, y + 30
    page.mouse.move(edge_x - 60, edge_y, steps=3)
    before_pan = view_x()
    page.mouse.move(edge_x, edge_y, steps=3)
    page.wait_for_timeout(600)
    assert view_x() < before_pan - 100  # the view moved right under the held node
    assert grabbed(edge_x, edge_y) == (
        pytest.approx(at[0], abs=0.03),
        pytest.approx(at[1], abs=0.06),
    )
    page.mouse.up()
    time.sleep(0.5)
    box = node(big, visible).bounding_box()
    assert stage["x"] < box["x"] + box["width"] / 2 < stage["x"] + stage["width"]  # in view

    page.screenshot(path=str(artifacts / "jupyterlab-builder.png"), full_page=True)
    print(f"[timing] open+run all {t_open:.1f}s, whole test {time.perf_counter() - t0:.1f}s")
    assert not page.js_errors, page.js_errors
    assert not page.external_requests, page.external_requests
