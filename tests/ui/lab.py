"""Helpers for the builder's browser tests: notebooks, opening them in JupyterLab or Notebook 7,
running cells, reading what the kernel sees, dragging with the mouse."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

TIMEOUT_MS = 60_000

SHOW = """\
import json as _json, uuid as _uuid
print(f"PYTHON {_uuid.uuid4().hex} " + _json.dumps(look()))"""


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def kernel_idle(page: Any, ui: str = "lab") -> None:
    from playwright.sync_api import expect

    if ui == "lab":
        status = page.locator(
            "#jp-main-statusbar span.jp-StatusBar-TextItem[title^='Change kernel']"
        )
        expect(status).to_have_text(re.compile(r"^(?!No Kernel).* \| Idle$"), timeout=TIMEOUT_MS)
    else:  # Notebook 7: the execution indicator in the notebook's toolbar
        expect(page.locator(".jp-Notebook-ExecutionIndicator").first).to_contain_text(
            "Idle", timeout=TIMEOUT_MS
        )


def open_notebook(page: Any, server: Any, name: str, *, ui: str = "lab") -> None:
    """Open *name* and wait for a connected idle kernel (a Run All issued earlier is lost)."""
    from playwright.sync_api import expect

    # JupyterLab restores the tabs of its last workspace: a workspace of its own per page keeps
    # the notebooks that other tests opened on the same server out of this one
    path = f"lab/workspaces/w{uuid.uuid4().hex[:12]}/tree" if ui == "lab" else "notebooks"
    page.goto(f"{server.url}/{path}/{name}?token={server.token}&reset")
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=TIMEOUT_MS)
    kernel_idle(page, ui)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"a dialog opened with the notebook: {dialog.inner_text()!r}")
    if ui == "lab" and page.locator("#jp-left-stack").is_visible():
        page.keyboard.press("Control+b")  # hide the file browser: more room for the canvas
        expect(page.locator("#jp-left-stack")).to_be_hidden()


def run_all(page: Any, ui: str = "lab") -> None:
    """Run > Run All Cells, again if the first cell did not start (a kernel that said idle
    a moment too early loses the request)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    prompt = page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first
    page.wait_for_timeout(500)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"a dialog is open: {dialog.first.inner_text()!r}")
    for _attempt in range(3):
        page.get_by_role("menubar").get_by_role("menuitem", name="Run", exact=True).click()
        page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            started = "e => /\\[(\\*|\\d+)\\]/.test(e.textContent)"
            page.wait_for_function(started, arg=prompt.element_handle(), timeout=15_000)
            return
        except PlaywrightTimeout:
            continue


def cell(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def run_cell(page: Any, index: int) -> None:
    """Select cell *index* by its prompt and run it with Ctrl+Enter."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    target.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Control+Enter")


def python_sees(page: Any, index: int) -> dict[str, Any]:
    """Re-run the printing cell *index* (``SHOW``) and read what the kernel's look() returns."""
    from playwright.sync_api import expect

    output = cell(page, index).locator(".jp-OutputArea-output", has_text=re.compile(r"^PYTHON "))
    before = output.inner_text().split()[1] if output.count() else ""
    run_cell(page, index)
    expect(output).to_contain_text(re.compile(r"^PYTHON \w+ "), timeout=TIMEOUT_MS)
    if before:
        expect(output).not_to_contain_text(f"PYTHON {before} ", timeout=TIMEOUT_MS)
    return dict(json.loads(output.inner_text().split(" ", 2)[2]))


def center(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(
    page: Any,
    start: tuple[float, float],
    end: tuple[float, float],
    steps: int = 12,
    button: str = "left",
) -> None:
    page.mouse.move(*start)
    page.mouse.down(button=button)
    page.mouse.move(*end, steps=steps)
    page.mouse.up(button=button)


def stats(canvas: Any) -> dict[str, int]:
    return dict(json.loads(canvas.get_attribute("data-stats")))


def node_ids(canvas: Any) -> list[str]:
    return sorted(canvas.locator(".fb-node").evaluate_all("els => els.map(e => e.dataset.node)"))


def boxes_overlap(canvas: Any) -> list[tuple[str, str]]:
    """Pairs of node boxes that overlap on screen."""
    pairs: list[tuple[str, str]] = canvas.evaluate(
        """root => {
            const boxes = [...root.querySelectorAll('.fb-node')].map(g => [g.dataset.node,
                g.querySelector('.fb-node-box').getBoundingClientRect()]);
            const out = [];
            for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
                const [a, r] = boxes[i], [b, s] = boxes[j];
                if (r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom)
                    out.push([a, b]);
            }
            return out;
        }"""
    )
    return [tuple(p) for p in pairs]  # type: ignore[misc]


def save_notebook(page: Any) -> None:
    """File > Save Notebook (Ctrl+S belongs to a focused builder)."""
    page.get_by_role("menubar").get_by_role("menuitem", name="File", exact=True).click()
    page.locator("li.lm-Menu-item[data-command='docmanager:save']").click()


def stop_kernels(server: Any) -> None:
    """Shut every session's kernel down, as closing the notebook and its kernel does."""
    import urllib.request

    headers = {"Authorization": f"token {server.token}"}
    with urllib.request.urlopen(
        urllib.request.Request(f"{server.url}/api/sessions", headers=headers), timeout=10
    ) as r:
        sessions = json.loads(r.read())
    for session in sessions:
        request = urllib.request.Request(
            f"{server.url}/api/sessions/{session['id']}", headers=headers, method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()
