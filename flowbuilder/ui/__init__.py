"""The builder: design call flows visually in Jupyter (canvas, palette, inspector, problems,
undo/redo, live calls) and the panels that connect a flow to CALLR or the sandbox.

Everything here but :mod:`flowbuilder.ui.display` needs ipywidgets and anywidget, imported on
first use; the rest of flowbuilder does not import them.
"""

from typing import TYPE_CHECKING

from flowbuilder._lazy import lazy_attributes

if TYPE_CHECKING:
    from flowbuilder.ui.builder import Builder
    from flowbuilder.ui.canvas import FlowCanvas

__getattr__, __dir__ = lazy_attributes(
    __name__, {"Builder": "flowbuilder.ui.builder", "FlowCanvas": "flowbuilder.ui.canvas"}
)

__all__ = ["Builder", "FlowCanvas"]
