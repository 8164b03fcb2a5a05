"""#7: a saved notebook reopened where its kernel is gone shows the flow, not an error.

JupyterLab and Notebook 7 save the widget state with the notebook (flowbuilder turns that
setting on through ``overrides.d``), so the canvas draws from the saved state; it says it is a
picture and how to edit again. Static viewers get the SVG kept beside the widget.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.ui.lab import (
    TIMEOUT_MS,
    open_notebook,
    run_all,
    save_notebook,
    stop_kernels,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELL = """\
import flowbuilder as fb
from flowbuilder.examples import support_line
fb.Builder(support_line())"""

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"


@pytest.mark.parametrize("ui", ["lab", "notebook"])
def test_a_reopened_notebook_shows_the_flow(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, ui: str
) -> None:
    from playwright.sync_api import expect

    server = request.getfixturevalue("jupyter_lab" if ui == "lab" else "notebook7")
    name = f"reopen-{ui}.ipynb"
    path = write_notebook(server.root / name, [CELL])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        open_notebook(page, server, name, ui=ui)
        run_all(page, ui)
        canvas = page.locator(".fb-canvas").first
        expect(canvas).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
        expect(canvas).not_to_have_class("fb-static", timeout=10_000)
        save_notebook(page)
        deadline = time.monotonic() + 30
        while True:
            saved = json.loads(path.read_text())
            if STATE in saved["metadata"].get("widgets", {}) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        (output,) = saved["cells"][0]["outputs"]
        assert {WIDGET_VIEW, "image/svg+xml"} <= set(output["data"])  # static viewers: the SVG
        state = saved["metadata"]["widgets"][STATE]["state"]
        assert output["data"][WIDGET_VIEW]["model_id"] in state
        page.close()
        stop_kernels(server)

        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
        open_notebook(page, server, name, ui=ui)
        canvas = page.locator(".fb-canvas").first
        expect(canvas).to_be_visible(timeout=TIMEOUT_MS)
        expect(canvas.locator(".fb-node")).to_have_count(9)
        expect(canvas).to_have_class("fb-canvas fb-static", timeout=10_000)
        expect(canvas.locator(".fb-static-banner")).to_contain_text("Run the cell to edit")
        expect(page.get_by_text("Error displaying widget")).to_have_count(0)
        page.locator(".jp-Cell").first.screenshot(path=str(artifacts / f"reopened-{ui}.png"))
        # ours run from blob: URLs (anywidget's ESM); Notebook 7 logs one error of its own
        # ("reading 'schema'" in its shortcuts plugin) with or without flowbuilder
        assert not [e for e in errors if "blob:" in e], errors
    finally:
        context.close()
