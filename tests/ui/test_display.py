"""A flow's rich display: SVG and text everywhere, plus the builder in a live kernel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from flowbuilder.examples import support_line
from flowbuilder.export.svg import to_svg
from flowbuilder.ui.display import WIDGET_VIEW, mimebundle, register

STATE_MIME = "application/vnd.jupyter.widget-state+json"
ROOT = Path(__file__).resolve().parents[2]


def test_outside_a_kernel_a_flow_shows_as_svg_and_text() -> None:
    flow = support_line()
    bundle = mimebundle(flow)
    assert bundle == {"text/plain": repr(flow), "image/svg+xml": to_svg(flow)}
    assert "image/svg+xml" not in mimebundle(flow, exclude={"image/svg+xml"})
    assert set(mimebundle(flow, include={"text/plain"})) == {"text/plain"}


def test_ipython_learns_to_show_flows_from_the_ui_layer() -> None:
    """The flow has no display method of its own; IPython's formatter gets one from ui/."""
    from IPython.core.interactiveshell import InteractiveShell

    flow = support_line()
    assert not hasattr(flow, "_repr_mimebundle_")
    shell = InteractiveShell.instance()
    try:
        assert register(shell)
        data, _metadata = shell.display_formatter.format(flow)
        assert data["image/svg+xml"] == to_svg(flow)
        assert data["text/plain"] == repr(flow)
    finally:
        InteractiveShell.clear_instance()


def test_layers_point_down_no_exporter_or_model_imports_the_ui() -> None:
    """An exporter runs without widgets, and the model never reaches up into the UI."""
    import ast

    def imports(path: Path) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        return found

    for path in sorted((ROOT / "flowbuilder" / "export").glob("*.py")):
        assert not {m for m in imports(path) if m.startswith("flowbuilder.ui")}, path
    assert not {m for m in imports(ROOT / "flowbuilder" / "flow.py") if "ui" in m.split(".")}


@pytest.mark.notebook
def test_in_a_kernel_a_flow_shows_the_builder_with_the_svg_beside_it(tmp_path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell(
                "from flowbuilder.examples import support_line\nflow = support_line()\nflow"
            ),
            new_code_cell("flow.add('promo', 'play', prompt='Offers!')\nprint(len(flow))"),
            new_code_cell("import flowbuilder as fb\nfb.Builder(flow)"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    t0 = time.perf_counter()
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    print(f"\n[timing] nbclient execute {time.perf_counter() - t0:.2f}s")
    (result,) = nb.cells[0].outputs
    assert result.output_type == "execute_result"
    assert {"text/plain", "image/svg+xml", WIDGET_VIEW} <= set(result.data)
    state = nb.metadata["widgets"][STATE_MIME]["state"]
    builder = state[result.data[WIDGET_VIEW]["model_id"]]
    assert builder["model_name"] == "VBoxModel"
    canvases = [
        m["state"]
        for m in state.values()
        if m["model_module"] == "anywidget" and "nodes" in m["state"]
    ]
    assert len(canvases) == 2  # the flow's display, then the Builder's
    for canvas in canvases:
        # the stored state is the last the kernel sent: it has the node added in the next cell
        assert {n["id"] for n in canvas["nodes"]} == {*support_line(), "promo"}
        assert "export default" in canvas["_esm"]
        assert ".fb-canvas" in canvas["_css"]
    assert nb.cells[1].outputs[0].text == "10\n"
    # a Builder shown on its own also leaves the diagram for static viewers
    (shown,) = nb.cells[2].outputs
    assert {"text/plain", "image/svg+xml", WIDGET_VIEW} <= set(shown.data)
    assert "promo" in shown.data["image/svg+xml"]
