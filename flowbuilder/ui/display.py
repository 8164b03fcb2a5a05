"""How Jupyter shows a flow: ``display(flow)`` (or a cell ending in ``flow``).

Everywhere: the flow's SVG diagram and its repr as text, so static viewers (GitHub, nbviewer, an
exported notebook) show the picture. In a running kernel with ipywidgets: also a
:class:`~flowbuilder.ui.Builder` (the widget view), which live frontends prefer.

The flow itself knows nothing of this (layers point down: the model never imports the UI):
importing flowbuilder inside IPython calls :func:`register`, which tells IPython's display
formatter how to show a :class:`~flowbuilder.flow.Flow`. Nothing here imports ipywidgets until
a kernel asks for the widget.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Collection
from typing import Any

from flowbuilder.flow import Flow

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SVG = "image/svg+xml"


def kernel_shell() -> Any:
    """The IPython shell of the running Jupyter kernel, or None (a script, a test)."""
    shell = ipython_shell()
    return shell if getattr(shell, "kernel", None) is not None else None


def ipython_shell() -> Any:
    """The running IPython shell (a kernel or a terminal), or None."""
    if sys.modules.get("IPython") is None:  # never imported (or blocked): no IPython running
        return None
    from IPython import get_ipython

    return get_ipython()


def in_kernel() -> bool:
    """True inside a running Jupyter kernel (where a widget frontend may listen)."""
    return kernel_shell() is not None


def mimebundle(
    flow: Flow,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    """What Jupyter shows for *flow*: an SVG diagram and its repr as text; in a running kernel
    with ipywidgets, also the builder (the widget view).

    >>> from flowbuilder.examples import support_line
    >>> sorted(mimebundle(support_line()))
    ['image/svg+xml', 'text/plain']
    >>> sorted(mimebundle(support_line(), exclude={SVG}))
    ['text/plain']
    """

    def wanted(mime: str) -> bool:
        return mime not in (exclude or ()) and (include is None or mime in include)

    bundle: dict[str, Any] = {"text/plain": repr(flow)}
    if wanted(SVG):
        from flowbuilder.export.svg import to_svg

        bundle[SVG] = to_svg(flow)
    if wanted(WIDGET_VIEW):
        view = widget_view(flow)
        if view is not None:
            bundle[WIDGET_VIEW] = view
    return bundle


def widget_view(flow: Flow) -> dict[str, Any] | None:
    """The widget-view data of a new :class:`~flowbuilder.ui.Builder` of *flow*, or None
    outside a kernel or without ipywidgets (no frontend could render it)."""
    if not in_kernel() or importlib.util.find_spec("ipywidgets") is None:
        return None
    import ipywidgets

    from flowbuilder.ui.builder import Builder

    # the plain widget bundle: the flow's own bundle already carries the SVG
    bundle = ipywidgets.DOMWidget._repr_mimebundle_(Builder(flow))
    view = bundle.get(WIDGET_VIEW) if isinstance(bundle, dict) else None
    return dict(view) if isinstance(view, dict) else None


def register(shell: Any = None) -> bool:
    """Teach IPython's display formatter to show flows (see the module docstring); True when
    there was a shell to teach. Registering again replaces the same entry."""
    shell = shell if shell is not None else ipython_shell()
    formatter = getattr(getattr(shell, "display_formatter", None), "mimebundle_formatter", None)
    if formatter is None:
        return False
    formatter.for_type(Flow, _flow_bundle)
    return True


def _flow_bundle(flow: Flow) -> dict[str, Any]:
    return mimebundle(flow)
