"""What the callback server saw: one :class:`Event` per request, in a bounded :class:`EventLog`.

The log is written by the server's thread. Subscribers are called **from that thread**, right after
each answer has been sent, so they must be quick and must not block: a UI should hand the event to
its own thread or loop (e.g. ``loop.call_soon_threadsafe``). An exception in a subscriber is logged
and never reaches the call.

>>> log = EventLog(maxlen=2)
>>> seen = []
>>> stop = log.subscribe(seen.append)
>>> for n in (1, 2, 3):
...     log.append(Event(time=0.0, callid=n, app="4346423A", call_status="UP"))
>>> [e.callid for e in log], len(seen)
([2, 3], 3)
>>> stop()
>>> log.append(Event(time=0.0, callid=4)); len(seen)
3
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Final

import msgspec

from flowbuilder._subscribers import Subscribers
from flowbuilder.hygiene import clean, protect

# every line the server logs is cleaned (no credentials, no terminal controls)
logger = protect(logging.getLogger("flowbuilder.server"))

Subscriber = Callable[["Event"], object]


class Event(msgspec.Struct, frozen=True, gc=False):
    """One request the callback server answered (immutable, so safe to hand to another thread).

    Never tracked by the garbage collector (``gc=False``): it holds only text, numbers and tuples
    of text, so it cannot be part of a cycle, and the thousands kept in the log would otherwise
    make every full collection walk them all.

    ``command``/``command_result``/``command_error`` are what CALLR reported about the previous
    command (``command`` is ``""`` on a call's first POST); ``answered`` is the command sent back
    (``None``: an empty 200, or a rejected request). ``path`` lists the nodes entered while
    answering; ``node`` is where the call now waits. ``effects`` describes each HTTP request or
    Python function performed, one line each. ``status`` is the HTTP status returned; ``error``
    says why a request was refused or why the flow took its error path or fallback.
    """

    time: float
    callid: int | None = None
    app: str | None = None
    call_status: str | None = None
    command: str = ""
    command_result: str = ""
    command_error: str = ""
    answered: str | None = None
    node: str | None = None
    path: tuple[str, ...] = ()
    error: str | None = None
    warning: str | None = None
    effects: tuple[str, ...] = ()
    latency_ms: float = 0.0
    status: int = 200
    flow: str | None = None
    version: str | None = None
    caller: str = ""  # the caller's number (cli_number), "" when withheld

    @property
    def ok(self) -> bool:
        """Answered with 200 and neither the error path nor the fallback ran."""
        return self.status == 200 and self.error is None

    def to_json(self) -> dict[str, Any]:
        data = msgspec.structs.asdict(self)
        data["path"] = list(self.path)
        data["effects"] = list(self.effects)
        return data

    def __str__(self) -> str:
        """One line, for a terminal: time, call, status, what came in, what went out. What the
        request carried is shown with control characters escaped and URLs without credentials
        (:func:`flowbuilder.hygiene.clean`): a caller cannot write to the terminal."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.time))
        clock += f".{int(self.time * 1000) % 1000:03d}"
        if self.callid is None:
            return clean(f"{clock} {self.status} refused: {self.error}")
        got = self.command or "(first)"
        if self.command_error:
            got += f" error={self.command_error!r}"
        elif self.command_result:
            got += f"={self.command_result!r}"
        sent = self.answered or "(empty)"
        where = f" [{' > '.join(self.path)}]" if self.path else ""
        at = f" @{self.node}" if self.node else ""
        line = (
            f"{clock} call {self.callid} {self.call_status} {got} -> {sent}{where}{at} "
            f"{self.latency_ms:.1f}ms"
        )
        for effect in self.effects:
            line += f" | {effect}"
        if self.error:
            line += f" | error: {self.error}"
        if self.warning:
            line += f" | warning: {self.warning}"
        return clean(line)


#: What the event log may hold, in (estimated) bytes, whatever the events carry.
DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024
# an event's fixed part: the tuple, its numbers and its short, bounded texts
_EVENT_OVERHEAD: Final = 600


def event_size(event: Event) -> int:
    """An estimate of the memory *event* holds, counting the texts that can be long."""
    size = _EVENT_OVERHEAD + len(event.command_result) + len(event.command_error)
    size += len(event.error or "") + len(event.warning or "") + 60 * len(event.path)
    for effect in event.effects:
        size += len(effect)
    return size


class EventLog:
    """The last ``maxlen`` events, at most ``max_bytes`` of them (oldest dropped first), with
    live subscribers (called from the server's thread)."""

    def __init__(self, maxlen: int = 10_000, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if maxlen < 1 or max_bytes < 1:
            raise ValueError("an event log keeps at least one event and one byte")
        self._events: deque[Event] = deque()
        self._sizes: deque[int] = deque()
        self._bytes = 0
        self._maxlen = maxlen
        self.max_bytes = max_bytes
        self._subscribers = Subscribers[Event](logger, "event")
        self._lock = threading.Lock()

    @property
    def maxlen(self) -> int:
        return self._maxlen

    @property
    def bytes(self) -> int:
        """The estimated memory the events kept hold."""
        return self._bytes

    def append(self, event: Event) -> None:
        """Keep *event* and tell the subscribers."""
        self.record(event)
        self.publish(event)

    def record(self, event: Event) -> None:
        """Keep *event* (the server does this before answering, so a client that got its answer
        finds the event in the log)."""
        size = event_size(event)
        with self._lock:
            events, sizes = self._events, self._sizes
            events.append(event)
            sizes.append(size)
            self._bytes += size
            # the newest event always stays, even alone over the limit
            while len(events) > self._maxlen or (self._bytes > self.max_bytes and len(events) > 1):
                events.popleft()
                self._bytes -= sizes.popleft()

    def publish(self, event: Event) -> None:
        """Call every subscriber with *event* (the server does this after answering)."""
        self._subscribers.publish(event)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call *callback(event)* for every new event; returns a function that unsubscribes."""
        return self._subscribers.add(callback)

    def snapshot(self) -> list[Event]:
        """The events kept, oldest first (a copy: safe from any thread)."""
        with self._lock:
            return list(self._events)

    def for_call(self, callid: int) -> list[Event]:
        """The events of one call, oldest first."""
        return [e for e in self.snapshot() if e.callid == callid]

    def tail(self, n: int = 20) -> list[Event]:
        return self.snapshot()[-n:]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._sizes.clear()
            self._bytes = 0

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.snapshot()]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.snapshot())

    def __repr__(self) -> str:
        return f"<EventLog {len(self)} events (max {self.maxlen})>"
