"""Live calls: follow a running callback server from the notebook.

The server calls its subscribers from **its own thread**; widgets belong to the kernel's thread.
:class:`Watch` only queues each event there and asks the kernel's event loop (captured when
watching starts) to apply the queue; everything that touches widgets runs on that loop.

The call log shows one row per call (newest first, like a flow editor's list of executions),
and each call opens into its steps in order: the node that sent each command, the command, what
came of it, and the nodes the call passed through to get there.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import traitlets

from flowbuilder.callr import wire
from flowbuilder.ui._widgets import anywidget

MAX_CALLS = 100
MAX_STEPS = 300
HERE = Path(__file__).parent


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
class Step:
    """One command of a call: the node that sent it, and what came of it."""

    time: float
    node: str | None
    sent: str | None
    passed: list[str]
    ms: float
    result: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "time": _clock(self.time),
            "node": self.node or "",
            "sent": self.sent or "",
            "result": self.result,
            "passed": list(self.passed),
            "ms": round(self.ms, 1),
            "error": self.error,
        }


@dataclass
class CallState:
    """What the notebook knows of one call: where it is, where it went, its steps."""

    callid: int
    caller: str = ""
    node: str | None = None
    path: list[str] = field(default_factory=list)
    ended: bool = False
    last: float = 0.0
    first: float = 0.0
    status: str = ""
    steps: list[Step] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "callid": str(self.callid),  # JavaScript numbers hold 53 bits
            "caller": self.caller,
            "started": _clock(self.first),
            "status": "ended" if self.ended else "live",
            "call_status": self.status,
            "node": self.node or "",
            "path": list(self.path),
            "steps": [s.to_json() for s in self.steps],
        }


ShowLive = Callable[[Sequence[str], Iterable[str]], None]


class CallLog(anywidget.AnyWidget):
    """The calls a watched server answered: one row per call, its steps when opened.

    Clicking *Show path* on a call calls *on_show(callid)* (the builder lights that path).
    """

    _esm = HERE / "calllog.js"
    _css = HERE / "calllog.css"
    calls_data: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_show: Callable[[int], None] | None = None) -> None:
        super().__init__(layout={"display": "none"})
        self.add_class("fb-calllog")
        self.calls: OrderedDict[int, CallState] = OrderedDict()
        self._on_show = on_show
        self.on_msg(self._receive)
        self._render()

    def _receive(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        if isinstance(content, dict) and content.get("action") == "show" and self._on_show:
            with contextlib.suppress(TypeError, ValueError):
                self._on_show(int(content["callid"]))

    def add(self, event: EventLike) -> CallState | None:
        """Take one event into the call it belongs to."""
        if event.callid is None:
            return None
        caller = str(getattr(event, "caller", "") or "")
        call = self.calls.pop(event.callid, None) or CallState(event.callid, first=event.time)
        self.calls[event.callid] = call  # most recent last
        while len(self.calls) > MAX_CALLS:
            self.calls.popitem(last=False)
        call.caller = caller or call.caller
        call.path.extend(event.path)
        call.last = event.time
        call.status = event.call_status or call.status
        if call.steps:  # this callback reports how the previous command went
            before = call.steps[-1]
            before.result = (
                f"error: {event.command_error}" if event.command_error else event.command_result
            )
            if event.call_status in wire.ENDED_STATUSES and not before.result:
                before.result = event.call_status.lower()
        if event.answered or event.error or not call.steps:
            call.steps.append(
                Step(
                    time=event.time,
                    node=event.node,
                    sent=event.answered,
                    passed=list(event.path),
                    ms=event.latency_ms,
                    error=event.error or "",
                )
            )
            del call.steps[:-MAX_STEPS]
        call.node = event.node
        call.ended = event.call_status in wire.ENDED_STATUSES or (
            event.node is None and not event.answered
        )
        if call.ended:
            call.node = None
        return call

    def active(self) -> list[str]:
        """Nodes live calls are on now."""
        return [c.node for c in self.calls.values() if not c.ended and c.node]

    def latest_path(self) -> list[str]:
        """The path of the call heard from last."""
        return list(next(reversed(self.calls.values())).path) if self.calls else []

    def _render(self) -> None:
        live = len([c for c in self.calls.values() if not c.ended])
        self.summary = f"Live calls · {live} in progress · {len(self.calls)} seen"
        self.calls_data = [c.to_json() for c in reversed(self.calls.values())]


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
    return list(snapshot()[-MAX_CALLS * 20 :]) if callable(snapshot) else []


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""
