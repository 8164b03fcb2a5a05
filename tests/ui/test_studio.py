"""Studio-class editing in a real browser: an IVR built from nothing with the mouse and the
keyboard only, and copy/paste between two builders (JupyterLab, then Notebook 7)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.ui.lab import (
    SHOW,
    TIMEOUT_MS,
    boxes_overlap,
    center,
    drag,
    kernel_idle,
    open_notebook,
    python_sees,
    run_all,
    run_cell,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EMPTY = """\
import json
import flowbuilder as fb
flow = fb.Flow("ivr")
builder = fb.Builder(flow)
builder"""

LOOK = (
    """\
def look():
    problems = fb.validate(flow)
    return {
        "kinds": {n: flow.kind(n) for n in flow},
        "edges": sorted(f"{u}>{k}>{v}" for u, v, k in flow.graph.edges(keys=True)),
        "entry": flow.entry,
        "prompts": {n: flow.params(n).get("prompt") for n in flow},
        "problems": [str(i) for i in problems],
    }
"""
    + SHOW
)


def node(canvas: Any, node_id: str, part: str = ".fb-node-label") -> Any:
    return canvas.locator(f".fb-node[data-node='{node_id}'] {part}")


def route(page: Any, outcome: str, target: str) -> None:
    """Route *outcome* of the node in the inspector with its dropdown (keyboard-friendly)."""
    page.locator(f".fb-inspector .fb-connect-{outcome} select").select_option(target)


def type_prompt(page: Any, text: str) -> None:
    prompt = page.locator(".fb-inspector .fb-field-prompt textarea").first
    prompt.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def add_by_search(page: Any, canvas: Any, query: str, expected: str) -> None:
    """Type in the palette's search and press Enter: the first match is added."""
    search = canvas.locator(".fb-palette-search")
    search.click()
    page.keyboard.type(query)
    page.keyboard.press("Enter")
    expect_node = canvas.locator(f".fb-node[data-node='{expected}']")
    from playwright.sync_api import expect

    expect(expect_node).to_have_class(re.compile(r"\bfb-selected\b"), timeout=TIMEOUT_MS)


def test_build_a_six_node_ivr_with_mouse_and_keyboard(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    """#5 and #9: palette search (Enter adds), new nodes placed where there is room, ports
    dragged onto nodes, a wire dropped on empty canvas, the quick-add box, routes chosen in the
    inspector, prompts typed: a working IVR with no line of code."""
    from playwright.sync_api import expect

    write_notebook(jupyter_lab.root / "ivr.ipynb", [EMPTY, LOOK])
    open_notebook(page, jupyter_lab, "ivr.ipynb")
    run_all(page)
    canvas = page.locator(".fb-canvas").first
    expect(canvas).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    canvas.scroll_into_view_if_needed()

    # the palette filters as one types
    search = canvas.locator(".fb-palette-search")
    search.click()
    page.keyboard.type("voicem")
    items = canvas.locator(".fb-palette-item")
    expect(items.first).to_have_attribute("data-kind", "voicemail")  # the best match first
    assert items.count() <= 2
    page.keyboard.press("Escape")
    expect(search).to_have_value("")

    add_by_search(page, canvas, "play", "play_1")
    type_prompt(page, "Welcome to Acme.")
    add_by_search(page, canvas, "menu", "menu_1")  # right of the selected play: no overlap
    route_from = "menu_1"
    page.locator(".fb-inspector").first.scroll_into_view_if_needed()
    node(canvas, "play_1").click()
    route(page, "next", route_from)
    node(canvas, "menu_1").click()
    add_by_search(page, canvas, "dial", "dial_1")
    assert not boxes_overlap(canvas)

    # connect by dragging the menu's "sales" port onto the dial
    canvas.locator(".fb-btn-fit").click()
    drag(
        page,
        center(node(canvas, "menu_1", ".fb-port-out[data-outcome='sales']")),
        center(node(canvas, "dial_1", ".fb-node-box")),
    )
    expect(
        canvas.locator(".fb-edge[data-source='menu_1'][data-outcome='sales']")
    ).to_have_attribute("data-target", "dial_1", timeout=TIMEOUT_MS)
    # a wire dropped on empty canvas opens the quick-add box: "voicemail", Enter
    stage = canvas.locator(".fb-stage").bounding_box()
    port = center(node(canvas, "menu_1", ".fb-port-out[data-outcome='support']"))
    drop = (port[0] + 140, stage["y"] + stage["height"] - 140)
    drag(page, port, drop)
    quick = canvas.locator(".fb-quick.fb-show")
    expect(quick).to_be_visible()
    page.keyboard.type("voicemail")
    page.keyboard.press("Enter")
    expect(
        canvas.locator(".fb-edge[data-source='menu_1'][data-outcome='support']")
    ).to_have_attribute("data-target", "voicemail_1", timeout=TIMEOUT_MS)
    # right-click on the background: "Add a node here…" then type
    canvas.locator(".fb-btn-fit").click()
    canvas.locator(".fb-svg").click(button="right", position={"x": 40, "y": 40})
    canvas.locator(".fb-menu.fb-show [data-item='add']").click()
    page.keyboard.type("hang")
    page.keyboard.press("Enter")
    expect(canvas.locator(".fb-node[data-node='hangup_1']")).to_have_count(1, timeout=TIMEOUT_MS)
    add_by_search(page, canvas, "play", "play_2")
    type_prompt(page, "Sorry, goodbye.")
    route(page, "next", "hangup_1")

    # the remaining routes, from the inspector's dropdowns
    canvas.locator(".fb-btn-fit").click()
    node(canvas, "menu_1").click()
    route(page, "invalid", "play_2")
    route(page, "timeout", "play_2")
    node(canvas, "dial_1").click()
    for outcome in ("answered", "no_answer", "busy", "failed"):
        route(page, outcome, "hangup_1" if outcome == "answered" else "voicemail_1")
    node(canvas, "voicemail_1").click()
    route(page, "next", "hangup_1")

    seen = python_sees(page, 1)
    assert seen["kinds"] == {
        "play_1": "play",
        "menu_1": "menu",
        "dial_1": "dial",
        "voicemail_1": "voicemail",
        "hangup_1": "hangup",
        "play_2": "play",
    }
    assert seen["entry"] == "play_1"
    assert seen["prompts"]["play_1"] == "Welcome to Acme."
    assert "menu_1>sales>dial_1" in seen["edges"]
    assert "menu_1>support>voicemail_1" in seen["edges"]
    assert [p for p in seen["problems"] if p.startswith("error")] == []
    canvas.locator(".fb-btn-fit").click()
    assert not boxes_overlap(canvas)
    page.locator(".fb-builder").first.screenshot(path=str(artifacts / "ivr-by-hand.png"))
    assert not page.js_errors, page.js_errors


TWO = """\
import json
import flowbuilder as fb
from flowbuilder.examples import support_line
first, second = support_line(), fb.Flow("second")
builder_one = fb.Builder(first)
builder_one"""

SECOND = "builder_two = fb.Builder(second)\nbuilder_two"

LOOK_TWO = (
    """\
def look():
    return {"second": sorted(second), "next": second.next("operator", "busy")
            if "operator" in second else None}
"""
    + SHOW
)


@pytest.mark.parametrize("ui", ["lab", "notebook"])
def test_copy_and_paste_between_two_builders(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, ui: str
) -> None:
    """#9: select two nodes in one builder, Ctrl+C; click the other, Ctrl+V: the nodes (and
    the edge between them) are in the second flow. Also checks Notebook 7 owns its keys."""
    from playwright.sync_api import expect

    server = request.getfixturevalue("jupyter_lab" if ui == "lab" else "notebook7")
    name = f"two-{ui}.ipynb"
    write_notebook(server.root / name, [TWO, SECOND, LOOK_TWO])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
    try:
        open_notebook(page, server, name, ui=ui)
        run_all(page, ui)
        canvases = page.locator(".fb-canvas")
        expect(canvases).to_have_count(2, timeout=TIMEOUT_MS)
        one, two = canvases.nth(0), canvases.nth(1)
        expect(two).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
        one.scroll_into_view_if_needed()
        node(one, "operator").click()
        node(one, "operator_busy").click(modifiers=["Shift"])
        expect(one).to_have_attribute("data-selected-count", "2")
        page.keyboard.press("Control+c")
        two.scroll_into_view_if_needed()
        two.locator(".fb-svg").click(position={"x": 200, "y": 200})
        page.keyboard.press("Control+v")
        expect(two.locator(".fb-node")).to_have_count(2, timeout=TIMEOUT_MS)
        seen = python_sees(page, 2)
        assert seen == {"second": ["operator", "operator_busy"], "next": "operator_busy"}
        # the builder owns its keys in Notebook 7 too: Ctrl+Z undoes the paste, not a cell
        two.locator(".fb-svg").click(position={"x": 30, "y": 30})
        page.keyboard.press("Control+z")
        expect(two.locator(".fb-node")).to_have_count(0)
        expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(3)
        two.locator(".fb-svg").click(button="right", position={"x": 30, "y": 30})
        expect(two.locator(".fb-menu.fb-show")).to_be_visible()
        expect(page.locator(".lm-Menu")).to_have_count(0)
        page.screenshot(path=str(artifacts / f"two-builders-{ui}.png"))
        assert not [e for e in errors if "blob:" in e], errors
    finally:
        context.close()


BUSY = """\
import time
import flowbuilder as fb
flow = fb.Flow("busy")
flow.add("hello", "play", prompt="Hello.")
flow.add("bye", "play", prompt="Goodbye.")
flow.connect("hello", "bye")
builder = fb.Builder(flow)
# a kernel slow to take in each click (a loaded machine, a large flow's inspector)
builder.canvas.observe(lambda _change: time.sleep(0.7), "selection")
builder"""

LOOK_BUSY = (
    """\
def look():
    return {"selected": builder.selection, "nodes": sorted(flow)}
"""
    + SHOW
)


def test_clicks_reach_python_in_order_with_the_edits_that_follow(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    """Click two nodes and add a third before the kernel has taken in the first click: the
    new node ends selected, on the canvas and in Python. The page used to write the selection
    as widget state, which ipywidgets holds back until the kernel has answered the previous
    write, while the add went at once: the second click reached Python after the add and took
    the selection back from the new node."""
    from playwright.sync_api import expect

    write_notebook(jupyter_lab.root / "busy.ipynb", [BUSY, LOOK_BUSY])
    open_notebook(page, jupyter_lab, "busy.ipynb")
    run_cell(page, 0)
    canvas = page.locator(".fb-canvas").first
    expect(canvas).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    expect(canvas.locator(".fb-node[data-node='bye']")).to_have_count(1, timeout=TIMEOUT_MS)
    node(canvas, "hello").click()
    node(canvas, "bye").click()
    expect(canvas).to_have_attribute("data-selected", "bye")  # at once, before the kernel
    canvas.locator(".fb-palette-search").click()
    page.keyboard.type("hangup")
    page.keyboard.press("Enter")
    expect(canvas.locator(".fb-node[data-node='hangup_1']")).to_have_count(1, timeout=TIMEOUT_MS)
    page.wait_for_timeout(3000)  # every click and the add taken in (0.7 s each)
    kernel_idle(page)
    seen = python_sees(page, 1)
    assert seen == {"selected": ["hangup_1"], "nodes": ["bye", "hangup_1", "hello"]}
    expect(canvas).to_have_attribute("data-selected", "hangup_1")
    expect(canvas.locator(".fb-node.fb-selected")).to_have_count(1)
    page.locator(".fb-builder").first.screenshot(path=str(artifacts / "clicks-in-order.png"))
    assert not page.js_errors, page.js_errors
