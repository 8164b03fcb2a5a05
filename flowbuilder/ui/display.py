"""The builder as a flow's rich display: ``display(flow)`` in a notebook shows the editor.

:func:`flowbuilder.export.mimebundle` (behind ``Flow._repr_mimebundle_``) adds this view beside
its SVG diagram and text, so static viewers (GitHub, nbviewer, an exported notebook) still show
the diagram while a live kernel shows the builder.
"""

from __future__ import annotations

import sys
from typing import Any

from flowbuilder.flow import Flow

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def kernel_shell() -> Any:
    """The IPython shell of the running Jupyter kernel, or None (a script, a test)."""
    if "IPython" not in sys.modules:  # never imported: certainly no kernel
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def in_kernel() -> bool:
    """True inside a running Jupyter kernel (where a widget frontend may listen)."""
    return kernel_shell() is not None


def widget_view(flow: Flow) -> dict[str, Any] | None:
    """The widget-view data of a new :class:`~flowbuilder.ui.Builder` of *flow*, or None
    outside a kernel (no frontend could render it)."""
    if not in_kernel():
        return None
    import ipywidgets

    from flowbuilder.ui.builder import Builder

    # the plain widget bundle: the flow's own bundle already carries the SVG
    bundle = ipywidgets.DOMWidget._repr_mimebundle_(Builder(flow))
    view = bundle.get(WIDGET_VIEW) if isinstance(bundle, dict) else None
    return dict(view) if isinstance(view, dict) else None
