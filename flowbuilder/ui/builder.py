"""``Builder(flow)``: design a call flow interactively in Jupyter.

The networkx graph inside the :class:`~flowbuilder.flow.Flow` is the single source of truth.
The builder listens to it (``Flow.observe``) and mirrors it into the canvas widget's synced
traits; the page sends user actions (move, connect, delete, add...) that the builder applies
through ``Flow`` methods. So a change made in code in another cell shows on the canvas, and a
change made on the canvas shows in ``flow.graph``.

Changes made in code are gathered and drawn once the cell is done (on the kernel's event loop);
with no running loop (a script, a test) they are drawn at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from flowbuilder.errors import FlowError
from flowbuilder.export.svg import to_svg
from flowbuilder.flow import Flow, FlowChange
from flowbuilder.layout import auto_layout
from flowbuilder.nodes import get_kind
from flowbuilder.phone import Transcript
from flowbuilder.ui.canvas import FlowCanvas
from flowbuilder.ui.display import kernel_shell
from flowbuilder.ui.history import History
from flowbuilder.ui.inspector import Inspector
from flowbuilder.ui.live import CallLog, Watch
from flowbuilder.ui.state import (
    Point,
    canvas_state,
    new_node_id,
    palette_entries,
    place_new,
)
from flowbuilder.ui.validation import ValidationPanel
from flowbuilder.validate import Issue, validate

DEFAULT_HEIGHT = 560


class Builder(widgets.VBox):  # type: ignore[misc]
    """The visual editor of one flow: canvas with palette, inspector, problems, undo/redo.

    >>> from flowbuilder.examples import support_line
    >>> flow = support_line()
    >>> builder = Builder(flow)
    >>> len(builder.canvas.nodes), builder.validation.summary.value.startswith("<b>")
    (9, True)
    >>> node = builder.add("hangup")
    >>> node, node in flow.graph, builder.selected
    ('hangup_1', True, 'hangup_1')
    >>> builder.undo(), node in flow.graph
    (True, False)
    >>> builder.close()
    """

    def __init__(self, flow: Flow, *, height: int = DEFAULT_HEIGHT) -> None:
        if not isinstance(flow, Flow):
            raise TypeError(f"Builder needs a Flow, got {type(flow).__name__}")
        self.flow = flow
        self.history = History(flow)
        self.canvas = FlowCanvas(kinds=palette_entries(), height=height)
        self.canvas.layout = widgets.Layout(flex="1 1 auto", min_width="0")
        self.validation = ValidationPanel(on_select=lambda node: self.select(node, focus=True))
        self.calls = CallLog()
        self._auto: dict[str, Point] = {}  # places of nodes the flow holds no position for
        self._depth = 0  # nesting of user actions: draw once, when the outermost one ends
        self._dirty = True
        self._scheduled = False
        self._watch: Watch | None = None
        self.issues: list[Issue] = []

        self.undo_button = self._button("Undo", "undo", "Undo (Ctrl+Z on the canvas)", self.undo)
        self.redo_button = self._button(
            "Redo", "repeat", "Redo (Ctrl+Shift+Z on the canvas)", self.redo
        )
        layout_button = self._button(
            "Auto-layout", "sitemap", "Arrange the nodes in layers, left to right", self.layout
        )
        fit_button = self._button("Fit", "expand", "Fit the flow in view", self.canvas.fit)
        self.status_line = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12px"))
        toolbar = widgets.HBox(
            [self.undo_button, self.redo_button, layout_button, fit_button, self.status_line],
            layout=widgets.Layout(align_items="center"),
        )
        self.inspector = Inspector(self, height=height)
        body = widgets.HBox([self.canvas, self.inspector], layout=widgets.Layout(width="100%"))
        super().__init__([toolbar, body, self.validation, self.calls])
        self.add_class("fb-builder")

        self._stop_observing = flow.observe(self._on_flow_change)
        self.canvas.on_action(self._on_action)
        self._draw()

    def _button(self, text: str, icon: str, tip: str, action: Callable[[], object]) -> Any:
        button = widgets.Button(
            description=text, icon=icon, tooltip=tip, layout=widgets.Layout(width="auto")
        )
        button.on_click(lambda _b: self._guarded(action))
        return button

    # -- selection --------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """The selected node's id, or None."""
        node = self.canvas.selection.get("node")
        return str(node) if node else None

    def select(self, node_id: str | None, *, focus: bool = False) -> None:
        """Select *node_id* (None: nothing); the inspector shows it, *focus* pans to it."""
        if node_id is not None and node_id not in self.flow:
            raise FlowError("no such node", node_id=node_id)
        self.canvas.selection = {"node": node_id} if node_id else {}
        self.inspector.show(node_id)
        if focus and node_id:
            self.canvas.focus(node_id)

    # -- editing (each one user action: one undo step) ---------------------------------------

    def perform(self, change: Callable[[], object]) -> None:
        """Run *change* as one user action: drawn once and undone in one step. FlowError from
        it propagates, and the flow methods raise before changing anything."""
        self._depth += 1
        try:
            change()
        finally:
            self._depth -= 1
            if self._depth == 0 and self._dirty:
                self._draw()

    def add(
        self,
        kind: str,
        node_id: str | None = None,
        *,
        pos: tuple[float, float] | None = None,
        label: str = "",
        **params: Any,
    ) -> str:
        """Add a node of *kind* as the palette does (a fresh id, starter parameters), select
        it, and return its id."""
        spec = get_kind(kind)
        node_id = node_id or new_node_id(self.flow, kind)
        values = {**spec.starter_params(), **params}
        self.perform(lambda: self.flow.add(node_id, kind, label=label, pos=pos, **values))
        self.select(node_id)
        return node_id

    def delete(self, node_id: str) -> None:
        """Remove a node and its edges."""
        self.perform(lambda: self.flow.remove(node_id))
        if self.selected == node_id:
            self.select(None)

    def undo(self) -> bool:
        """Undo the last change (made here or in code); False when there is none."""
        self._draw_if_dirty()
        done = False

        def step() -> None:
            nonlocal done
            done = self.history.undo()

        self.perform(step)
        if not done:
            self.status("Nothing to undo.")
        return done

    def redo(self) -> bool:
        """Redo the last undone change; False when there is none."""
        self._draw_if_dirty()
        done = False

        def step() -> None:
            nonlocal done
            done = self.history.redo()

        self.perform(step)
        if not done:
            self.status("Nothing to redo.")
        return done

    def layout(self) -> None:
        """Arrange every node in layers left to right (one undo step), then fit the view."""
        places = auto_layout(self.flow)

        def move_all() -> None:
            for node_id, (x, y) in places.items():
                self.flow.move(node_id, x, y)

        self.perform(move_all)
        self._auto.clear()
        self.canvas.fit()

    def fit(self) -> None:
        """Zoom and pan the canvas so the whole flow is in view."""
        self.canvas.fit()

    # -- live calls -------------------------------------------------------------------------

    def highlight(self, path: Sequence[str] = (), active: Iterable[str] = ()) -> None:
        """Mark a call's *path* (node ids in order) and the nodes calls are on now (*active*)."""
        self.canvas.highlight = {
            "path": [n for n in path if n in self.flow],
            "active": sorted({n for n in active if n in self.flow}),
        }

    def show_call(self, call: Transcript | int) -> None:
        """Highlight the way one call went through the flow: a transcript's path (``simulate``)
        or, for a call the watched server answered (a sandbox or CALLR call, by transcript or
        callid), the path the server saw."""
        path = [] if isinstance(call, int) else list(call.path)
        if not path and self._watch is not None:
            callid = call if isinstance(call, int) else call.setup.callid
            path = self._watch.path_of(callid)
        self.highlight(path, self.calls.active())

    def watch(self, server: Any) -> Watch:
        """Follow the calls a running server answers: the canvas marks the node each live call
        is on and the path of the latest one; the call log below fills in as they come.

        *server* is what ``flowbuilder.serve()`` returns (anything with ``subscribe``). Events
        arrive on the server's thread and are applied on the kernel's event loop; with no
        running loop (a script), call ``drain()`` on the returned watch to apply them.
        """
        self.unwatch()
        self._watch = Watch(server, self.calls, on_update=self._show_live)
        self.calls.layout.display = None
        return self._watch

    def unwatch(self) -> None:
        """Stop following the server."""
        if self._watch is not None:
            self._watch.stop()
            self._watch = None

    def _show_live(self, path: Sequence[str], active: Iterable[str]) -> None:
        self.highlight(path, active)

    # -- status -----------------------------------------------------------------------------

    def status(self, text: str, *, error: bool = False) -> None:
        """Show a one-line message by the toolbar (errors also over the canvas)."""
        color = "#c62828" if error else "var(--jp-ui-font-color2, #666)"
        self.status_line.value = f'<span style="color:{color}">{html.escape(text)}</span>'
        if error:
            self.canvas.notice(text, "error")

    def _guarded(self, action: Callable[[], object]) -> None:
        try:
            action()
        except FlowError as exc:
            self.status(str(exc), error=True)

    # -- messages from the page -------------------------------------------------------------

    def _on_action(self, msg: Mapping[str, Any]) -> None:
        try:
            self._apply_action(msg)
        except FlowError as exc:
            self.status(str(exc), error=True)
        except (KeyError, TypeError, ValueError) as exc:
            self.status(f"ignored a malformed {msg.get('action')!r} action: {exc}", error=True)

    def _apply_action(self, msg: Mapping[str, Any]) -> None:
        action, flow = msg["action"], self.flow
        if action == "select":
            if msg.get("edge"):
                source, outcome = (str(v) for v in msg["edge"])
                self.canvas.selection = {"edge": [source, outcome]}
                self.inspector.show(source)
            else:
                self.select(_node(msg) if msg.get("node") else None)
        elif action == "move":
            node, x, y = _node(msg), _number(msg["x"]), _number(msg["y"])
            self.perform(lambda: flow.move(node, x, y))
        elif action == "connect":
            source, target = _node(msg, "source"), _node(msg, "target")
            outcome = str(msg["outcome"])
            self.perform(lambda: flow.connect(source, target, outcome))
            self.status(f"Connected {source} --{outcome}--> {target}.")
        elif action == "disconnect":
            source, outcome = _node(msg, "source"), str(msg["outcome"])
            self.perform(lambda: flow.disconnect(source, outcome))
            self.canvas.selection = {}
        elif action == "delete":
            self.delete(_node(msg))
        elif action == "add":
            pos = (_number(msg["x"]), _number(msg["y"])) if "x" in msg else None
            self.add(str(msg["kind"]), pos=pos)
        elif action == "undo":
            self.undo()
        elif action == "redo":
            self.redo()

    # -- keeping the canvas in step with the flow --------------------------------------------

    def _on_flow_change(self, _change: FlowChange) -> None:
        self._dirty = True
        if self._depth or self._scheduled:
            return
        # Gather the changes of one cell: draw when it ends (IPython's post_execute, before
        # the kernel reports idle) or, outside a cell, once the event loop gets to it.
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        shell = kernel_shell()
        if loop is None and shell is None:
            self._draw()
            return
        self._scheduled = True
        if shell is not None:
            shell.events.register("post_execute", self._draw_if_dirty)
        if loop is not None:
            loop.call_soon(self._draw_if_dirty)

    def _draw_if_dirty(self) -> None:
        if self._scheduled:
            self._scheduled = False
            shell = kernel_shell()
            if shell is not None:
                with contextlib.suppress(ValueError):  # ran from the loop, not the hook
                    shell.events.unregister("post_execute", self._draw_if_dirty)
        if self._dirty:
            self._draw()

    def _draw(self) -> None:
        """Mirror the flow into the canvas, problems, inspector and undo history."""
        self._dirty = False
        flow = self.flow
        self.issues = validate(flow)
        state = canvas_state(flow, self._positions(), self.issues)
        selection = dict(self.canvas.selection)
        if selection.get("node") and selection["node"] not in flow:
            selection = {}
        if selection.get("edge") and flow.next(*selection["edge"]) is None:
            selection = {}
        with self.canvas.hold_sync():
            for name, value in state.items():
                setattr(self.canvas, name, value)
            self.canvas.selection = selection
            highlight = self.canvas.highlight
            if highlight:
                self.canvas.highlight = {
                    key: [n for n in nodes if n in flow] for key, nodes in highlight.items()
                }
        self.validation.show(self.issues)
        self.history.record()
        self.undo_button.disabled = not self.history.can_undo
        self.redo_button.disabled = not self.history.can_redo
        self.inspector.show(self.selected)

    def _positions(self) -> dict[str, Point]:
        """Every node's place: the flow's layout, else one chosen here (and kept)."""
        flow = self.flow
        known: dict[str, Point] = dict(flow.positions())
        self._auto = {n: p for n, p in self._auto.items() if n in flow and n not in known}
        known.update(self._auto)
        missing = [n for n in flow if n not in known]
        if not missing:
            return known
        layered = auto_layout(flow)
        if not known:
            self._auto.update(layered)
            return layered
        for node_id in sorted(missing, key=lambda n: layered[n]):
            known[node_id] = self._auto[node_id] = place_new(flow, node_id, known)
        return known

    def close(self) -> None:
        """Stop listening to the flow and the server, and close every widget of the builder."""
        if not hasattr(self, "_stop_observing"):  # __init__ refused its arguments
            return
        self._stop_observing()
        self.unwatch()
        for child in (self.canvas, self.inspector, self.validation, self.calls):
            child.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget, with the flow as SVG beside it: a saved notebook opened where no kernel
        runs (GitHub, nbviewer) shows the diagram, with the last call's path."""
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        path = self.canvas.highlight.get("path") or None
        bundle["image/svg+xml"] = to_svg(self.flow, highlight=self.selected, path=path)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"<Builder of {self.flow!r}>"


def _node(msg: Mapping[str, Any], key: str = "node") -> str:
    value = msg[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a node id, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
