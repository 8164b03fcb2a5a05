"""The builder: design call flows visually in Jupyter (canvas, palette, inspector, problems,
undo/redo, live calls) and the panels that connect a flow to CALLR or the sandbox.

Everything here needs ipywidgets and anywidget; the rest of flowbuilder does not import it.
"""

from flowbuilder.ui.builder import Builder
from flowbuilder.ui.canvas import FlowCanvas

__all__ = ["Builder", "FlowCanvas"]
