"""The builder as a daily tool, in a real JupyterLab driven by headless Chromium.

Each test opens one notebook and checks several things a user notices on that page: the builder
owns its keys and right-clicks (nothing reaches the notebook's commands), panels scroll instead
of squashing, and the canvas is legible at 1400 px and 1000 px wide. Screenshots go to
``$NB_ARTIFACTS``.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from tests.ui.lab import (
    TIMEOUT_MS,
    boxes_overlap,
    cell,
    center,
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
many = fb.Flow("many")
many.add("menu_1", "menu", prompt="Press 1", options=[{"outcome": "sales", "digits": "1"}])
many.add("dial_1", "dial", targets=[{"number": "+33123456789", "timeout": 20}])
many.add("start", "hangup")
for i in range(8):  # 8 plays left unconnected: 16 warnings
    many.add(f"step_{i}", "play", prompt="Hello")
many.connect("menu_1", "dial_1", "sales").connect("menu_1", "start", "invalid")
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
            picture = Path(got.value.path()).read_bytes()
            if name == "PNG":
                assert picture.startswith(b"\x89PNG\r\n\x1a\n")
                assert len(picture) > 10_000
            else:
                assert picture.startswith(b"<svg")
                assert b'data-node="main_menu"' in picture
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


def _rows(page: Any, selector: str) -> list[dict[str, float]]:
    return list(
        page.locator(selector).evaluate_all(
            """els => els.map(e => { const r = e.getBoundingClientRect();
                return {top: r.top, bottom: r.bottom, height: r.height,
                        scroll: e.scrollHeight, client: e.clientHeight}; })"""
        )
    )


def _overlaps(boxes: list[dict[str, float]]) -> bool:
    ordered = sorted(boxes, key=lambda b: b["top"])
    return any(a["bottom"] > b["top"] + 0.5 for a, b in itertools.pairwise(ordered))


@pytest.mark.parametrize("width", [1400, 1000])
def test_panels_scroll_instead_of_squashing_and_the_canvas_stays_legible(
    jupyter_lab: Any, browser: Any, artifacts: Path, width: int
) -> None:
    """#3 and #8: 16 problems are all readable rows (≥ 18 px, none on top of another) in a
    list that scrolls; the inspector of a Menu or a Dial overlaps nothing and shows its
    actions; underscores show; the quickstart's flow is drawn at a readable zoom; at 1000 px
    the palette folds and the canvas keeps most of the width; the wheel scrolls the page."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        write_notebook(jupyter_lab.root / f"panels{width}.ipynb", [SUPPORT, MANY])
        open_notebook(page, jupyter_lab, f"panels{width}.ipynb")
        run_all(page)
        canvases = page.locator(".fb-canvas")
        expect(canvases).to_have_count(2, timeout=TIMEOUT_MS)
        main, many = canvases.nth(0), canvases.nth(1)
        expect(main).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
        expect(many).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)

        # -- legible: the support line at a readable zoom, no boxes on top of each other --------
        main.scroll_into_view_if_needed()
        zoom = float(main.get_attribute("data-zoom"))
        assert zoom >= 0.55, zoom
        assert not boxes_overlap(main)
        builder = page.locator(".fb-builder").first
        stage = main.locator(".fb-stage").bounding_box()
        whole = builder.bounding_box()
        assert stage["width"] >= 0.75 * whole["width"], (stage, whole)
        if width < 1100:
            expect(main).to_have_class(re.compile(r"\bfb-palette-collapsed\b"))
        builder.screenshot(path=str(artifacts / f"builder-{width}.png"))

        # -- the view follows a resize of the page while the user has not moved it -------------
        page.set_viewport_size({"width": width + 300, "height": 1000})
        expect(main).not_to_have_attribute("data-zoom", f"{zoom:.3f}")
        page.set_viewport_size({"width": width, "height": 1000})
        expect(main).to_have_attribute("data-zoom", f"{zoom:.3f}")

        # -- the wheel scrolls the notebook; Ctrl+wheel zooms the canvas ------------------------
        scrolled = """root => { let e = root.parentElement;
            const scrolls = (x) => /auto|scroll/.test(getComputedStyle(x).overflowY);
            while (e && !(e.scrollHeight > e.clientHeight + 2 && scrolls(e))) e = e.parentElement;
            return e ? e.scrollTop : -1; }"""
        main.evaluate("root => root.scrollIntoView({block: 'center'})")
        before = main.evaluate(scrolled)
        assert before >= 0
        page.mouse.move(*center(main.locator(".fb-stage")))
        page.mouse.wheel(0, 150)
        page.wait_for_timeout(300)
        assert main.evaluate(scrolled) != before  # the notebook scrolled...
        assert float(main.get_attribute("data-zoom")) == pytest.approx(
            zoom, abs=1e-3
        )  # ...not zoomed
        page.keyboard.down("Control")
        page.mouse.move(*center(main.locator(".fb-stage")))
        page.mouse.wheel(0, -200)
        page.keyboard.up("Control")
        expect(main).not_to_have_attribute("data-zoom", f"{zoom:.3f}")

        # -- 16 problems, each a readable row, in a list that scrolls ------------------------------
        problems = page.locator(".fb-validation").nth(1)
        problems.scroll_into_view_if_needed()
        expect(problems.locator(".fb-issue")).to_have_count(16)
        rows = _rows(page, ".fb-validation >> nth=1 >> .fb-issue")
        assert min(r["height"] for r in rows) >= 18, rows
        assert not _overlaps(rows)
        (box,) = _rows(page, ".fb-validation >> nth=1 >> .fb-issue-list")
        assert box["scroll"] > box["client"]  # more rows than room: it scrolls
        problems.screenshot(path=str(artifacts / f"problems-{width}.png"))

        # -- the inspector of a Menu and of a Dial: nothing overlaps, actions in reach ------------
        for node, underscored in (("menu_1", "max_digits"), ("dial_1", "cdr_field")):
            many.locator(f".fb-node[data-node='{node}'] .fb-node-label").click()
            inspector = page.locator(".fb-inspector").nth(1)
            expect(inspector.locator("code", has_text=node).first).to_be_visible()
            fields = _rows(page, ".fb-inspector >> nth=1 >> .fb-field")
            assert not _overlaps(fields), fields
            for f in fields:
                assert f["scroll"] <= f["client"] + 1, f  # no field cut inside its box
            # underscores show: the name is as wide and tall as its text needs
            name = inspector.locator(".fb-field-name code", has_text=underscored)
            expect(name).to_have_text(underscored)
            fits = name.evaluate(
                "e => e.scrollWidth <= e.clientWidth + 1 && e.getBoundingClientRect().height >= 14"
            )
            assert fits, underscored
            inspector.locator("button", has_text="Delete node").scroll_into_view_if_needed()
            expect(inspector.locator("button", has_text="Start calls here")).to_be_visible()
            expect(inspector.locator("button", has_text="Delete node")).to_be_visible()
            inspector.evaluate("e => e.scrollTop = 0")
            page.locator(".fb-builder").nth(1).screenshot(
                path=str(artifacts / f"inspector-{node}-{width}.png")
            )
        assert not errors, errors
    finally:
        context.close()
