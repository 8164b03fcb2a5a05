"""The canvas widget: an anywidget whose ES module (``canvas.js``) draws the flow.

It holds the flow as data in synced traits and knows nothing of :class:`~flowbuilder.flow.Flow`:
the page sends user actions as custom messages (``{"action": "move", "node": ..., "x": ...,
"y": ...}``) and whoever listens with :meth:`FlowCanvas.on_action` applies them, usually the
:class:`~flowbuilder.ui.builder.Builder`.

The page sends these actions: ``select`` (``nodes``, ``notes`` or ``edge`` [source, outcome],
and ``seq``, the page's count of clicks: the ``selection`` trait comes back with it in
``selection_seq``, so the page can tell a selection it has since replaced), ``move``
(``nodes``/``notes``: id -> [x, y]), ``connect`` (source, outcome, target), ``disconnect``
(source, outcome), ``delete`` (nodes, notes), ``add`` (kind; x, y or ``near`` [x, y];
``connect`` [source, outcome] for a wire dropped on empty canvas), ``paste`` (fragment, x, y),
``duplicate`` (nodes), ``label`` (node, label), ``set_entry`` (node), ``note_add`` (x, y,
text), ``note_edit`` (note, text), ``layout``, ``save``, ``undo``, ``redo``, and ``hello``
(is the kernel there?).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import traitlets

from flowbuilder.layout import GEOMETRY
from flowbuilder.ui._widgets import anywidget

HERE = Path(__file__).parent
ACTIONS = frozenset(
    {
        "select",
        "move",
        "connect",
        "disconnect",
        "delete",
        "add",
        "undo",
        "redo",
        "paste",
        "duplicate",
        "label",
        "set_entry",
        "note_add",
        "note_edit",
        "layout",
        "save",
        "hello",
    }
)

ActionHandler = Callable[[dict[str, Any]], None]


class FlowCanvas(anywidget.AnyWidget):
    """SVG canvas of a call flow: nodes, ports, edges, palette, zoom and pan."""

    _esm = HERE / "canvas.js"
    _css = HERE / "canvas.css"

    nodes: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    edges: traitlets.List[list[str]] = traitlets.List().tag(sync=True)
    notes: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    entry = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    issues = traitlets.Dict().tag(sync=True)
    selection = traitlets.Dict().tag(sync=True)
    #: The last ``select`` action's ``seq`` that Python applied (see the module's docstring).
    selection_seq = traitlets.Int(0).tag(sync=True)
    highlight = traitlets.Dict().tag(sync=True)
    kinds: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    height = traitlets.Int(560).tag(sync=True)
    #: A node's box (``flowbuilder.layout.GEOMETRY``): the canvas draws by the same numbers as
    #: auto-layout and the SVG export.
    geometry = traitlets.Dict(GEOMETRY.to_json()).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._action_handlers: list[ActionHandler] = []
        self.on_msg(self._receive)

    def on_action(self, handler: ActionHandler) -> Callable[[], None]:
        """Call *handler* with each user action from the page; returns a function that stops."""
        self._action_handlers.append(handler)

        def stop() -> None:
            if handler in self._action_handlers:
                self._action_handlers.remove(handler)

        return stop

    def _receive(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        if isinstance(content, dict) and content.get("action") in ACTIONS:
            for handler in list(self._action_handlers):
                handler(content)

    # -- commands to the page (every open view) ---------------------------------------------

    def fit(self) -> None:
        """Zoom and pan so the whole flow is in view."""
        self.send({"action": "fit"})

    def focus(self, node_id: str) -> None:
        """Pan so *node_id* is in the middle of the view."""
        self.send({"action": "focus", "node": node_id})

    def notice(self, text: str, level: str = "info") -> None:
        """Show a short message over the canvas (``level`` info or error)."""
        self.send({"action": "notice", "text": text, "level": level})
