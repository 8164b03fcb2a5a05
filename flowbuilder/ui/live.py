"""Live calls: follow a running callback server from the notebook.

The server calls its subscribers from **its own thread**; widgets belong to the kernel's thread.
:class:`Watch` only queues each event there and asks the kernel's event loop (captured when
watching starts) to apply the queue; everything that touches widgets runs on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import ipywidgets as widgets

from flowbuilder.callr import wire

MAX_ROWS = 200
MAX_CALLS = 100


class EventLike(Protocol):
    """What the call log reads from a server event (``flowbuilder.server.Event``)."""

    time: float
    callid: int | None
    call_status: str | None
    command: str
    command_result: str
    command_error: str
    answered: str | None
    node: str | None
    path: tuple[str, ...]
    error: str | None
    latency_ms: float


@dataclass
class CallState:
    """What the notebook knows of one call: where it is, where it went."""

    callid: int
    caller: str = ""
    node: str | None = None
    path: list[str] = field(default_factory=list)
    ended: bool = False
    last: float = 0.0


ShowLive = Callable[[Sequence[str], Iterable[str]], None]


class CallLog(widgets.VBox):  # type: ignore[misc]
    """Table of the latest server events: time, call, caller, node, command, result."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.title = widgets.HTML("<b>Live calls</b>")
        self.table = widgets.HTML(layout=widgets.Layout(max_height="240px", overflow="auto"))
        super().__init__([self.title, self.table], layout=widgets.Layout(display="none"))
        self.add_class("fb-calllog")
        self.rows: deque[dict[str, str]] = deque(maxlen=max_rows)
        self.calls: OrderedDict[int, CallState] = OrderedDict()
        self._render()

    def add(self, event: EventLike) -> CallState | None:
        """Take one event into the log and the call it belongs to."""
        caller = str(getattr(event, "caller", "") or "")
        call = None
        if event.callid is not None:
            call = self.calls.pop(event.callid, None) or CallState(event.callid)
            self.calls[event.callid] = call  # most recent last
            while len(self.calls) > MAX_CALLS:
                self.calls.popitem(last=False)
            call.caller = caller or call.caller
            call.path.extend(event.path)
            call.node = event.node
            call.last = event.time
            call.ended = event.call_status in wire.ENDED_STATUSES or (
                event.node is None and not event.answered
            )
            if call.ended:
                call.node = None
        result = f"error: {event.command_error}" if event.command_error else event.command_result
        self.rows.append(
            {
                "time": time.strftime("%H:%M:%S", time.localtime(event.time)),
                "call": "" if event.callid is None else str(event.callid),
                "caller": caller,
                "status": event.call_status or "",
                "node": event.node or ("(ended)" if call and call.ended else ""),
                "command": event.command or "(first)",
                "result": result,
                "answered": event.answered or "",
                "ms": f"{event.latency_ms:.1f}",
                "error": event.error or "",
            }
        )
        return call

    def active(self) -> list[str]:
        """Nodes live calls are on now."""
        return [c.node for c in self.calls.values() if not c.ended and c.node]

    def latest_path(self) -> list[str]:
        """The path of the call heard from last."""
        return list(next(reversed(self.calls.values())).path) if self.calls else []

    def _render(self) -> None:
        heads: tuple[str, ...] = ("time", "call", "caller", "status", "node", "command")
        heads += ("result", "answered", "ms")
        if not any(row["caller"] for row in self.rows):  # the server's events may not say
            heads = tuple(h for h in heads if h != "caller")
        head = "".join(f"<th>{h}</th>" for h in heads)
        body = []
        for row in reversed(self.rows):
            cells = "".join(f"<td>{html.escape(row[h])}</td>" for h in heads)
            if row["error"]:
                cells += f'<td style="color:#c62828">{html.escape(row["error"])}</td>'
            body.append(f"<tr>{cells}</tr>")
        if not body:
            body.append(f'<tr><td colspan="{len(heads)}">No calls yet.</td></tr>')
        self.table.value = f"<table><tr>{head}</tr>{''.join(body)}</table>"
        live = len(self.active())
        self.title.value = f"<b>Live calls</b> · {live} in progress · {len(self.calls)} seen"


class Watch:
    """A subscription to a server's events, applied to a :class:`CallLog` on the kernel loop."""

    def __init__(self, server: Any, log: CallLog, *, on_update: ShowLive) -> None:
        self.log = log
        self._on_update = on_update
        self._queue: queue.SimpleQueue[EventLike] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = False
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        for event in _past_events(server):
            self.log.add(event)
        self._unsubscribe: Callable[[], object] = server.subscribe(self._from_server)
        self.drain(force=True)

    def _from_server(self, event: EventLike) -> None:
        """Runs on the server's thread: queue the event, wake the kernel loop once."""
        self._queue.put(event)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            if self._pending:
                return
            self._pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self.drain)

    def drain(self, *, force: bool = False) -> int:
        """Apply the queued events (on the kernel's thread); returns how many there were."""
        with self._lock:
            self._pending = False
        count = 0
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                break
            self.log.add(event)
            count += 1
        if count or force:
            self.log._render()
            self._on_update(self.log.latest_path(), self.log.active())
        return count

    def path_of(self, callid: int, *, wait_s: float = 1.0) -> list[str]:
        """The nodes call *callid* went through, waiting up to *wait_s* for its end to arrive
        (the server tells subscribers just after answering, so the caller may be quicker)."""
        deadline = time.monotonic() + wait_s
        while True:
            self.drain()
            call = self.log.calls.get(callid)
            if (call is not None and call.ended) or time.monotonic() >= deadline:
                return list(call.path) if call is not None else []
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop receiving events."""
        self._unsubscribe()


def _past_events(server: Any) -> list[EventLike]:
    events = getattr(server, "events", None)
    snapshot = getattr(events, "snapshot", None)
    return list(snapshot()[-MAX_ROWS:]) if callable(snapshot) else []
