"""``Builder(flow)``: design a call flow interactively in Jupyter.

The networkx graph inside the :class:`~flowbuilder.flow.Flow` is the single source of truth.
The builder listens to it (``Flow.observe``) and mirrors it into the canvas widget's synced
traits; the page sends user actions (move, connect, delete, add, paste...) that the builder
applies through ``Flow`` methods. So a change made in code in another cell shows on the canvas,
and a change made on the canvas shows in ``flow.graph``.

Changes made in code are gathered and drawn once the cell is done (on the kernel's event loop);
with no running loop (a script, a test) they are drawn at once.

Nothing is lost: a builder bound to a file (``Builder("flows/support.json")`` or
``Builder(flow, path=...)``) loads it and writes every edit back (atomically, a moment after the
last one), so re-running the cell or restarting the kernel brings the same flow back. When the
flow given in code and the file differ, or the file changes on disk, or a re-run cell would drop
the canvas edits of the builder it replaces, the builder says so and offers both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from flowbuilder.errors import FlowError
from flowbuilder.flow import Flow, FlowChange
from flowbuilder.layout import auto_layout, node_size
from flowbuilder.nodes import get_kind
from flowbuilder.phone import Transcript
from flowbuilder.ui._widgets import widgets
from flowbuilder.ui.binding import BoundFile, flow_name_for
from flowbuilder.ui.canvas import FlowCanvas
from flowbuilder.ui.clipboard import fragment, fragment_boxes, paste
from flowbuilder.ui.display import kernel_shell
from flowbuilder.ui.history import History
from flowbuilder.ui.inspector import Inspector
from flowbuilder.ui.live import CallLog, Watch
from flowbuilder.ui.notes import add_note, edit_note, move_notes, remove_notes
from flowbuilder.ui.state import (
    Point,
    canvas_state,
    free_spot,
    new_node_id,
    palette_entries,
    place_new,
    spot_after,
)
from flowbuilder.ui.validation import ValidationPanel
from flowbuilder.validate import Issue, validate

DEFAULT_HEIGHT = 600
AUTOSAVE_DELAY_S = 0.5
PASTE_OFFSET = 40.0

# The builder each notebook cell made last: when the cell runs again, the new builder checks
# that the old one's canvas edits are not silently dropped.
_by_cell: dict[str, weakref.ReferenceType[Builder]] = {}


def current_cell_id() -> str | None:
    """The id of the notebook cell running now (JupyterLab and Notebook 7 send it with each
    execution request), or None outside a kernel."""
    shell = kernel_shell()
    get_parent = getattr(getattr(shell, "kernel", None), "get_parent", None)
    header = get_parent("shell") if callable(get_parent) else None
    metadata = header.get("metadata") if isinstance(header, Mapping) else None
    cell = metadata.get("cellId") if isinstance(metadata, Mapping) else None
    return str(cell) if cell else None


class Builder(widgets.VBox):  # type: ignore[misc]
    """The visual editor of one flow: canvas with palette, inspector, problems, undo/redo.

    ``Builder(flow)`` edits *flow*; ``Builder("flows/x.json")`` edits the flow in that file
    (a new one when there is none) and saves every change; ``Builder(flow, path=...)`` binds a
    flow from code to a file.

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

    def __init__(
        self,
        flow: Flow | str | os.PathLike[str] | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        height: int = DEFAULT_HEIGHT,
        autosave_s: float = AUTOSAVE_DELAY_S,
    ) -> None:
        if isinstance(flow, str | os.PathLike):
            if path is not None:
                raise TypeError("give the file once: Builder(path) or Builder(flow, path=...)")
            flow, path = None, flow
        if flow is not None and not isinstance(flow, Flow):
            raise TypeError(f"Builder needs a Flow or a file path, got {type(flow).__name__}")
        self.file = BoundFile(path) if path is not None else None
        self.autosave_s = autosave_s
        self._banner_actions: dict[str, Callable[[], None]] = {}
        code_version: dict[str, Any] | None = None
        if flow is None:
            flow = Flow(flow_name_for(self.file.path)) if self.file else Flow()
            if self.file is not None and self.file.exists():
                flow = self.file.read()
        elif self.file is not None and self.file.exists():
            on_disk = self.file.read()
            if on_disk != flow:  # canvas edits saved before, and the flow from code: keep both
                code_version = flow.to_dict()
                flow.restore(on_disk.to_dict())
        self.flow = flow
        self.history = History(flow)
        self.canvas = FlowCanvas(kinds=palette_entries(), height=height)
        self.canvas.add_class("fb-canvas-box")
        self.canvas.layout = widgets.Layout(min_width="0")
        self.validation = ValidationPanel(on_select=self._go_to_issue)
        self.calls = CallLog(on_show=self._show_logged_call)
        self._auto: dict[str, Point] = {}  # places of nodes the flow holds no position for
        self._depth = 0  # nesting of user actions: draw once, when the outermost one ends
        self._dirty = True
        self._scheduled = False
        self._watch: Watch | None = None
        self._save_handle: asyncio.TimerHandle | None = None
        self._disk_conflict = False
        self._edited_here = (
            False  # the page changed the flow (re-running the cell must not lose it)
        )
        self._settings_open = False
        self.server: Any = None
        self.deployed: str | None = None  # the program version last deployed from here
        self._undeployed = False
        self.issues: list[Issue] = []

        self.undo_button = self._button("Undo", "undo", "Undo (Ctrl+Z)", self.undo)
        self.redo_button = self._button("Redo", "repeat", "Redo (Ctrl+Shift+Z)", self.redo)
        layout_button = self._button(
            "Auto-layout", "sitemap", "Arrange the nodes in layers, left to right", self.layout
        )
        fit_button = self._button("Fit", "expand", "Fit the flow in view (F)", self.fit)
        self.settings_button = self._button(
            "Flow",
            "cog",
            "Flow settings: entry, voice, time zone, error path",
            self.toggle_settings,
        )
        svg_button = self._button(
            "SVG",
            "download",
            "Download the flow as an SVG picture",
            lambda: self.export_picture("svg"),
        )
        png_button = self._button(
            "PNG", "image", "Download the flow as a PNG picture", lambda: self.export_picture("png")
        )
        self.save_button = self._button(
            "Save", "save", "Save the flow to its file now (Ctrl+S)", lambda: self.save()
        )
        self.save_button.layout.display = None if self.file else "none"
        self.deploy_button = self._button(
            "Deploy",
            "rocket",
            "Check the flow and hot-reload it on the watched server: new calls take it, calls "
            "in progress finish on the version they began",
            lambda: self.deploy(),
        )
        self.deploy_button.disabled = True
        self.status_line = widgets.HTML(layout=widgets.Layout(margin="0 0 0 10px"))
        self.status_line.add_class("fb-status")
        toolbar = widgets.HBox(
            [
                self.undo_button,
                self.redo_button,
                layout_button,
                fit_button,
                self.settings_button,
                svg_button,
                png_button,
                self.save_button,
                self.deploy_button,
                self.status_line,
            ]
        )
        toolbar.add_class("fb-toolbar-row")
        self.banner = widgets.HTML()
        self.banner_buttons = widgets.HBox()
        self.banner_box = widgets.VBox(
            [self.banner, self.banner_buttons], layout=widgets.Layout(display="none")
        )
        self.banner_box.add_class("fb-banner")
        self.inspector = Inspector(self, height=height)
        body = widgets.HBox([self.canvas, self.inspector], layout=widgets.Layout(width="100%"))
        body.add_class("fb-body")
        super().__init__([toolbar, self.banner_box, body, self.validation, self.calls])
        self.add_class("fb-builder")

        self._stop_observing = flow.observe(self._on_flow_change)
        self.canvas.on_action(self._on_action)
        self.canvas.observe(self._on_selection, names="selection")
        self._draw()
        if self.file is not None and not self.file.exists():
            self._save_now()
        if code_version is not None:
            self._offer_code_version(code_version)
        else:
            self._check_rerun()

    def _button(self, text: str, icon: str, tip: str, action: Callable[[], object]) -> Any:
        button = widgets.Button(
            description=text, icon=icon, tooltip=tip, layout=widgets.Layout(width="auto")
        )
        button.on_click(lambda _b: self._guarded(action))
        return button

    # -- selection --------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """The selected node's id when exactly one node is selected, else None."""
        nodes = self.canvas.selection.get("nodes") or []
        return str(nodes[0]) if len(nodes) == 1 else None

    @property
    def selection(self) -> list[str]:
        """Every selected node's id."""
        return [str(n) for n in self.canvas.selection.get("nodes") or []]

    def select(self, node_id: str | Iterable[str] | None, *, focus: bool = False) -> None:
        """Select *node_id* (several: an iterable; None: nothing); the inspector shows a single
        node, *focus* pans the canvas the least needed to show it (the first of several)."""
        ids = [] if node_id is None else [node_id] if isinstance(node_id, str) else list(node_id)
        for one in ids:
            if one not in self.flow:
                raise FlowError("no such node", node_id=one)
        self.canvas.selection = {"nodes": ids, "notes": []}
        if focus and ids:
            self.canvas.focus(ids[0])

    def _go_to_issue(self, issue: Issue) -> None:
        """Show where a problem is: its node; for one inside a subflow, the subflow node."""
        node = issue.node_id
        if node is None:
            self._settings_open = True
            self.canvas.selection = {}
            self._on_selection()
            self.status(f"{issue.severity.capitalize()} in the flow: {issue.message}")
            return
        if node in self.flow:
            self.select(node, focus=True)
            return
        prefix, _, inner = node.partition("/")
        host = prefix if prefix in self.flow else None
        host = host or next(  # named by the subflow's name: the node that runs that subflow
            (n for n in self.flow if self.flow.params(n).get("flow") == prefix), None
        )
        if host is None:
            self.status(f"{node} is not a node of this flow: {issue.message}", error=True)
            return
        self.select(host, focus=True)
        self.status(f"In the subflow run by {host}: {inner}: {issue.message}")

    def _on_selection(self, _change: Any = None) -> None:
        sel = self.canvas.selection
        nodes = [n for n in sel.get("nodes") or [] if n in self.flow]
        edge = sel.get("edge")
        if len(nodes) == 1:
            self._show_inspector(nodes[0])
        elif edge and edge[0] in self.flow:
            self._show_inspector(str(edge[0]))
        elif self._settings_open:
            self._show_inspector(None)
        else:
            self.inspector.show(None)
            self.inspector.layout.display = "none"

    def _show_inspector(self, node_id: str | None) -> None:
        self.inspector.show(node_id)
        self.inspector.layout.display = None

    def toggle_settings(self) -> None:
        """Show or hide the flow's settings (entry, voice, time zone, error path)."""
        self._settings_open = not self._settings_open
        if self._settings_open:
            self.canvas.selection = {}
        self._on_selection()

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
        near: tuple[float, float] | None = None,
        label: str = "",
        **params: Any,
    ) -> str:
        """Add a node of *kind* as the palette does (a fresh id, starter parameters), select
        it, and return its id. With no *pos*, it goes to a free place right of the selected
        node, else near *near* (the middle of the view), else below the flow."""
        spec = get_kind(kind)
        node_id = node_id or new_node_id(self.flow, kind)
        values = {**spec.starter_params(), **params}
        if pos is None:
            known = self._positions()
            after = self.selected
            if after is not None and after in known:
                pos = spot_after(self.flow, known, after)
            elif near is not None:
                pos = free_spot(self.flow, known, near)
        self.perform(lambda: self.flow.add(node_id, kind, label=label, pos=pos, **values))
        self.select(node_id, focus=True)
        self.status(f"Added {node_id} ({spec.title}).")
        return node_id

    def delete(self, node_id: str | Iterable[str], notes: Iterable[str] = ()) -> None:
        """Remove nodes (and their edges) and notes, in one undo step."""
        ids = [node_id] if isinstance(node_id, str) else list(node_id)
        gone_notes = list(notes)

        def remove() -> None:
            for one in ids:
                self.flow.remove(one)
            if gone_notes:
                remove_notes(self.flow, gone_notes)

        self.perform(remove)
        self.canvas.selection = {}
        count = len(ids) + len(gone_notes)
        self.status(f"Deleted {', '.join(ids) if len(ids) < 4 else f'{count} items'}.")

    def duplicate(self, node_ids: Iterable[str]) -> list[str]:
        """Copies of *node_ids* (with the edges between them), a little below and right."""
        ids = [n for n in node_ids if n in self.flow]
        if not ids:
            return []
        piece = fragment(self.flow, ids)
        known = self._positions()
        left = min(known[n][0] for n in ids)
        top = min(known[n][1] for n in ids)
        group = [(known[n][0] - left, known[n][1] - top, *node_size(self.flow, n)) for n in ids]
        spot = free_spot(self.flow, known, (left + PASTE_OFFSET, top + PASTE_OFFSET), group=group)
        return self.paste(piece, spot)

    def paste(self, piece: Mapping[str, Any], at: tuple[float, float]) -> list[str]:
        """Add a copied fragment at the free place nearest *at* (see
        :mod:`flowbuilder.ui.clipboard`); selects it."""
        renamed: dict[str, str] = {}
        at = free_spot(self.flow, self._positions(), at, group=fragment_boxes(piece))

        def add() -> None:
            renamed.update(paste(self.flow, piece, at))

        self.perform(add)
        new = sorted(renamed.values())
        self.select(new, focus=True)  # a copy placed out of sight is brought into view
        self.status(f"Pasted {len(new)} node{'s' if len(new) != 1 else ''}: {', '.join(new[:6])}.")
        return new

    def undo(self) -> bool:
        """Undo the last change (made here or in code); False when there is none."""
        return self._step(self.history.undo, "Undid the last change", "Nothing to undo.")

    def redo(self) -> bool:
        """Redo the last undone change; False when there is none."""
        return self._step(self.history.redo, "Redid the change", "Nothing to redo.")

    def _step(self, step: Callable[[], bool], done_text: str, none_text: str) -> bool:
        self._draw_if_dirty()
        done = False

        def run() -> None:
            nonlocal done
            done = step()

        self.perform(run)
        if done:
            self._edited_here = True
            left = self.history.undo_steps
            self.status(f"{done_text} ({left} more to undo).")
        else:
            self.status(none_text)
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
        self.status("Arranged the nodes in layers.")

    def fit(self) -> None:
        """Zoom and pan the canvas so the whole flow is in view."""
        self.canvas.fit()

    # -- files --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Save the flow now: to *path* (the builder stays bound to it from then on), else to
        the file it is bound to."""
        if path is not None:
            self.file = BoundFile(path)
            self.save_button.layout.display = None
            self._disk_conflict = False
        if self.file is None:
            raise FlowError(
                "this builder has no file: builder.save('flows/name.json') binds it to one"
            )
        self._save_now(force=True)

    def reload(self) -> None:
        """Replace the flow with what its file holds now (one undo step)."""
        if self.file is None:
            raise FlowError("this builder has no file to reload from")
        on_disk = self.file.read()
        self.perform(lambda: self.flow.restore(on_disk.to_dict()))
        self._disk_conflict = False
        self._hide_banner()
        self.status(f"Reloaded {self.file.path}.")

    def _schedule_save(self) -> None:
        if self.file is None or self._disk_conflict:
            return
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._save_now()
            return
        self._save_handle = loop.call_later(self.autosave_s, self._save_now)

    def _save_now(self, *, force: bool = False) -> None:
        self._save_handle = None
        if self.file is None or (self._disk_conflict and not force):
            return
        if not force and self.file.changed_on_disk():
            self._disk_conflict = True
            self._offer_disk_version()
            return
        try:
            wrote = self.file.write(self.flow)
        except OSError as exc:
            reason = f"Could not save {self.file.path}: {exc.strerror or exc}"
            self.status(reason, error=True)
            self._show_banner(
                f"{html.escape(reason)}. The canvas keeps your edits; nothing on disk changed.",
                [("retry", "Try again", lambda: self._save_now(force=True))],
                error=True,
            )
            return
        if self.banner_box.layout.display is None and "retry" in self._banner_actions:
            self._hide_banner()
        self._disk_conflict = False
        if wrote or force:
            self.status(f"Saved {self.file.path} at {time.strftime('%H:%M:%S')}.")

    def flush(self) -> None:
        """Write a pending save now (before the kernel stops, or a test reads the file)."""
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_now()

    # -- the banner: a choice between two versions, never made silently ----------------------

    def _show_banner(
        self,
        text: str,
        actions: Sequence[tuple[str, str, Callable[[], None]]],
        *,
        error: bool = False,
    ) -> None:
        cls = "fb-banner-box fb-banner-error" if error else "fb-banner-box"
        self.banner.value = f'<div class="{cls}">{text}</div>'
        buttons = []
        self._banner_actions = {}
        for key, label, act in actions:
            button = widgets.Button(description=label, layout=widgets.Layout(width="auto"))
            button.add_class(f"fb-banner-{key}")
            self._banner_actions[key] = act
            button.on_click(lambda _b, act=act: self._guarded(act))
            buttons.append(button)
        self.banner_buttons.children = buttons
        self.banner_box.layout.display = None

    def _hide_banner(self) -> None:
        self.banner_box.layout.display = "none"
        self.banner.value = ""
        self.banner_buttons.children = []
        self._banner_actions = {}

    def choose(self, key: str) -> None:
        """Press the banner's button *key* (``code``, ``file``, ``reload``, ``keep``,
        ``restore``, ``discard``), as a user would."""
        self._banner_actions[key]()

    def _offer_code_version(self, code_version: dict[str, Any]) -> None:
        assert self.file is not None
        changes = _changes(Flow.from_dict(code_version), self.flow)

        def use_code() -> None:
            self.perform(lambda: self.flow.restore(code_version))
            self._hide_banner()
            self._save_now(force=True)

        def keep_file() -> None:
            self._hide_banner()
            self.status(f"Kept {self.file.path if self.file else 'the file'}.")

        self._show_banner(
            f"<b>{html.escape(str(self.file.path))}</b> holds edits the flow from code does not "
            f"have. The canvas shows the file (nothing was lost). From the code's flow to the "
            f"file: {changes}",
            [
                ("file", "Keep the file's version", keep_file),
                ("code", "Use the flow from code instead", use_code),
            ],
        )

    def _offer_disk_version(self) -> None:
        assert self.file is not None
        try:
            on_disk = self.file.read()
            changes = _changes(self.flow, on_disk)
        except FlowError as exc:
            changes = html.escape(str(exc))

        def keep_mine() -> None:
            self._disk_conflict = False
            self._hide_banner()
            self._save_now(force=True)

        self._show_banner(
            f"<b>{html.escape(str(self.file.path))}</b> changed on disk since this builder last "
            f"saved it; the builder stopped saving so neither side is lost. From the canvas to "
            f"the file: {changes}",
            [
                ("reload", "Load the file's version", self.reload),
                ("keep", "Keep the canvas (overwrite the file)", keep_mine),
            ],
            error=True,
        )

    def _check_rerun(self) -> None:
        """When this cell made a builder before, keep the old one's canvas edits within reach."""
        cell = current_cell_id()
        if cell is None:
            return
        ref = _by_cell.get(cell)
        _by_cell[cell] = weakref.ref(self)
        old = ref() if ref is not None else None
        if old is None or old is self or old.flow is self.flow:
            return
        lost = old._edited_here and old.flow != self.flow and old.file is None
        before = old.flow.to_dict()
        changes = _changes(self.flow, old.flow) if lost else ""
        old.close()  # its output was replaced; it must stop listening and watching
        if not lost:
            return

        def restore() -> None:
            self.perform(lambda: self.flow.restore(before))
            self._hide_banner()
            self.status("Brought back the canvas edits of the builder this cell replaced.")

        self._show_banner(
            "Running this cell again made a new flow, but the builder it replaces had canvas "
            f"edits that this flow does not have: {changes} Bind the builder to a file "
            "(<code>fb.Builder(flow, path='flows/name.json')</code>) to keep them across runs "
            "and restarts.",
            [
                ("restore", "Bring the canvas edits back", restore),
                ("discard", "Discard them", self._hide_banner),
            ],
        )

    # -- live calls and deploying -------------------------------------------------------------

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

    def _show_logged_call(self, callid: int) -> None:
        state = self.calls.calls.get(callid)
        if state is not None:
            self.highlight(state.path, self.calls.active())

    def watch(self, server: Any) -> Watch:
        """Follow the calls a running server answers: the canvas marks the node each live call
        is on and the path of the latest one; the call log below fills in as they come. The
        Deploy button then hot-reloads that server.

        *server* is what ``flowbuilder.serve()`` returns (anything with ``subscribe``). Events
        arrive on the server's thread and are applied on the kernel's event loop; with no
        running loop (a script), call ``drain()`` on the returned watch to apply them.
        """
        self.unwatch()
        self.server = server
        self._watch = Watch(server, self.calls, on_update=self._show_live)
        self.calls.layout.display = None
        self.deploy_button.disabled = not hasattr(server, "update")
        return self._watch

    def unwatch(self) -> None:
        """Stop following the server."""
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        self.deploy_button.disabled = True

    def _show_live(self, path: Sequence[str], active: Iterable[str]) -> None:
        self.highlight(path, active)

    def deploy(self, server: Any = None) -> str:
        """Check the flow and hot-reload it on *server* (default: the watched one): new calls
        take it, calls in progress finish on the version they began. Returns the version.
        Errors in the flow stop the deploy (FlowValidationError lists them)."""
        from flowbuilder.compiler import compile as compile_flow
        from flowbuilder.errors import FlowValidationError

        server = server if server is not None else self.server
        if server is None or not hasattr(server, "update"):
            raise FlowError("nothing to deploy to: builder.watch(server) or builder.deploy(server)")
        try:
            program = compile_flow(self.flow)
        except FlowValidationError as exc:
            errors = [i for i in exc.issues if i.severity == "error"]
            self.status(
                f"Not deployed: {len(errors)} error{'s' if len(errors) != 1 else ''} to fix "
                "first (listed below the canvas).",
                error=True,
            )
            raise
        served = server.update(self.flow)
        self.deployed = str(getattr(served, "version", program.version))
        self._undeployed = False
        self.deploy_button.button_style = ""
        where = getattr(server, "url", "")
        self.status(
            f"Deployed version {self.deployed} at {time.strftime('%H:%M:%S')}"
            + (f" to {where}" if where else "")
            + ": new calls take it; calls in progress finish on the version they began."
        )
        return self.deployed

    # -- pictures -------------------------------------------------------------------------------

    def export_picture(self, fmt: str = "svg") -> str:
        """Have the browser download the flow as an SVG or PNG picture; returns the SVG."""
        from flowbuilder.export.svg import to_svg

        if fmt not in ("svg", "png"):
            raise FlowError(f"pictures are svg or png, not {fmt!r}")
        svg = to_svg(self.flow, highlight=self.selected, path=self.canvas.highlight.get("path"))
        self.canvas.send(
            {"action": "download", "format": fmt, "name": f"{self.flow.name}.{fmt}", "svg": svg}
        )
        return svg

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
        if action == "hello":
            self.canvas.send({"action": "hello"})
            return
        if action in ("select", "layout", "save", "undo", "redo"):
            {
                "select": lambda: self._select_from(msg),
                "layout": self.layout,
                "save": self._save_key,
                "undo": self.undo,
                "redo": self.redo,
            }[action]()
            return
        self._edited_here = True
        if action == "move":
            moves = _places(msg.get("nodes") or {})
            if "node" in msg:
                moves[_node(msg)] = (_number(msg["x"]), _number(msg["y"]))
            notes = _places(msg.get("notes") or {})

            def move() -> None:
                # the picture as shown goes into the flow with the first move, so the file
                # and flow.positions() hold what the canvas shows
                placed = flow.positions()
                for node, (x, y) in self._positions().items():
                    if node not in placed and node not in moves:
                        flow.move(node, x, y)
                for node, (x, y) in moves.items():
                    flow.move(node, x, y)
                if notes:
                    move_notes(flow, notes)

            self.perform(move)
        elif action == "connect":
            source, target = _node(msg, "source"), _node(msg, "target")
            outcome = str(msg["outcome"])
            self.perform(lambda: flow.connect(source, target, outcome))
            self.status(f"Connected {source} --{outcome}--> {target}.")
        elif action == "disconnect":
            source, outcome = _node(msg, "source"), str(msg["outcome"])
            self.perform(lambda: flow.disconnect(source, outcome))
            self.canvas.selection = {}
            self.status(f"Removed the connection {source} --{outcome}-->.")
        elif action == "delete":
            nodes = [str(n) for n in msg.get("nodes") or []]
            if "node" in msg:
                nodes.append(_node(msg))
            self.delete(nodes, [str(n) for n in msg.get("notes") or []])
        elif action == "add":
            pos = (_number(msg["x"]), _number(msg["y"])) if "x" in msg else None
            near = tuple(_number(v) for v in msg["near"]) if msg.get("near") else None
            wired = msg.get("connect")
            if wired:
                self._add_connected(str(msg["kind"]), pos, str(wired[0]), str(wired[1]))
            else:
                self.add(str(msg["kind"]), pos=pos, near=near)  # type: ignore[arg-type]
        elif action == "paste":
            self.paste(msg["fragment"], (_number(msg["x"]), _number(msg["y"])))
        elif action == "duplicate":
            self.duplicate(str(n) for n in msg["nodes"])
        elif action == "label":
            node, label = _node(msg), str(msg["label"])
            self.perform(lambda: flow.set_label(node, "" if label == node else label))
            self.status(f"Renamed {node} to “{label}”.")
        elif action == "set_entry":
            node = _node(msg)
            self.perform(lambda: setattr(flow, "entry", node))
            self.status(f"Calls now start at {node}.")
        elif action == "note_add":
            x, y = _number(msg["x"]), _number(msg["y"])
            made: list[str] = []
            self.perform(lambda: made.append(add_note(flow, str(msg.get("text") or ""), x, y)))
            self.canvas.selection = {"nodes": [], "notes": made}
            self.canvas.send({"action": "edit_note", "note": made[0]})
        elif action == "note_edit":
            note, text = str(msg["note"]), str(msg["text"])
            self.perform(lambda: edit_note(flow, note, text))

    def _select_from(self, msg: Mapping[str, Any]) -> None:
        """A click's selection, in order with the page's other actions: nodes or notes gone
        meanwhile (deleted from code) are left out rather than refused."""
        selection: dict[str, Any]
        if msg.get("edge"):
            source, outcome = (str(v) for v in msg["edge"])
            selection = {"edge": [source, outcome]}
        else:
            nodes = [str(n) for n in msg.get("nodes") or []]
            if msg.get("node"):
                nodes.append(_node(msg))
            notes = {note["id"] for note in self.flow.notes}
            selection = {
                "nodes": [n for n in nodes if n in self.flow],
                "notes": [str(n) for n in msg.get("notes") or [] if n in notes],
            }
        with self.canvas.hold_sync():
            if "seq" in msg:
                self.canvas.selection_seq = int(msg["seq"])
            self.canvas.selection = selection

    def _save_key(self) -> None:
        if self.file is None:
            self.status(
                "Ctrl+S saves the flow when the builder has a file (builder.save('flows/x.json')); "
                "press Escape first to save the notebook.",
            )
        else:
            self.save()

    def _add_connected(
        self, kind: str, pos: tuple[float, float] | None, source: str, outcome: str
    ) -> str:
        """A node added where a wire was dropped, connected from that port (one undo step)."""
        spec = get_kind(kind)
        node_id = new_node_id(self.flow, kind)
        values = spec.starter_params()

        def add() -> None:
            self.flow.add(node_id, kind, pos=pos, **values)
            self.flow.connect(source, node_id, outcome)

        self.perform(add)
        self.select(node_id)
        self.status(f"Added {node_id} after {source} --{outcome}-->.")
        return node_id

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
        nodes = [n for n in selection.get("nodes") or [] if n in flow]
        notes = {n["id"] for n in flow.notes}
        kept = {"nodes": nodes, "notes": [n for n in selection.get("notes") or [] if n in notes]}
        edge = selection.get("edge")
        if edge and edge[0] in flow and flow.next(*edge) is not None:
            kept["edge"] = edge
        with self.canvas.hold_sync():
            for name, value in state.items():
                setattr(self.canvas, name, value)
            if kept != selection:
                self.canvas.selection = kept
            highlight = self.canvas.highlight
            if highlight:
                self.canvas.highlight = {
                    key: [n for n in nodes if n in flow] for key, nodes in highlight.items()
                }
        self.validation.show(self.issues)
        changed = self.history.record()
        self.undo_button.disabled = not self.history.can_undo
        self.redo_button.disabled = not self.history.can_redo
        self._on_selection()
        if changed:
            self._schedule_save()
            if self.deployed is not None and not self._undeployed:
                self._undeployed = True
                self.deploy_button.button_style = "warning"
                self.status("The canvas has changes that are not deployed yet (Deploy).")

    def _positions(self) -> dict[str, Point]:
        """Every node's place: the flow's layout, else one chosen here (and kept, so a node whose
        position an undo takes away goes back where it was shown)."""
        flow = self.flow
        self._auto = {n: p for n, p in self._auto.items() if n in flow}
        known: dict[str, Point] = {**self._auto, **flow.positions()}
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
        """Save what is pending, stop listening to the flow and the server, and close every
        widget of the builder."""
        if not hasattr(self, "_stop_observing"):  # __init__ refused its arguments
            return
        self.flush()
        self._stop_observing()
        self.unwatch()
        for child in (self.canvas, self.inspector, self.validation, self.calls):
            child.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget, with the flow as SVG beside it: a saved notebook opened where no kernel
        runs (GitHub, nbviewer) shows the diagram, with the last call's path."""
        from flowbuilder.export.svg import to_svg

        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        path = self.canvas.highlight.get("path") or None
        bundle["image/svg+xml"] = to_svg(self.flow, highlight=self.selected, path=path)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        where = f" saved to {str(self.file.path)!r}" if self.file else ""
        return f"<Builder of {self.flow!r}{where}>"


def _changes(old: Flow, new: Flow, limit: int = 6) -> str:
    """What differs from *old* to *new*, in a few escaped lines for the banner."""
    lines = str(old.diff(new)).splitlines()
    if old.notes != new.notes:
        lines.append("~ notes on the canvas")
    if old.positions() != new.positions() and len(lines) < limit:
        lines.append("~ node positions")
    shown = "".join(f"<br><code>{html.escape(line)}</code>" for line in lines[:limit])
    more = f"<br>… and {len(lines) - limit} more" if len(lines) > limit else ""
    return (shown + more) if lines else "(no changes)"


def _places(raw: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    return {str(k): (_number(v[0]), _number(v[1])) for k, v in raw.items()}


def _node(msg: Mapping[str, Any], key: str = "node") -> str:
    value = msg[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a node id, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
