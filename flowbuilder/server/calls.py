"""The calls a callback server has in progress: where each waits, the nodes it went through.

Bounded: at most ``max_calls`` are kept; past that the one idle longest is forgotten, in O(1)
(calls are kept in the order they were last heard from). The versions calls run on are
counted as they change, so a hot reload knows at once which older programs it must keep.
Changed on the server's thread; :meth:`CallBook.snapshot` may be read from any thread.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from typing import Final, NamedTuple

import msgspec

#: Nodes remembered per call in progress.
MAX_PATH_LENGTH: Final = 100


class ActiveCall(NamedTuple):
    """A call in progress: where it waits now and the nodes it went through."""

    callid: int
    app: str
    flow: str
    version: str
    node: str | None
    path: tuple[str, ...]
    started: float
    updated: float
    callbacks: int

    def to_json(self) -> dict[str, object]:
        data = self._asdict()
        data["path"] = list(self.path)
        return data


class _Call(msgspec.Struct, gc=False):
    """The server's own, mutable record of a call in progress (cheap to update per callback;
    text, numbers and a list of text only, so the collector need not watch it: ``gc=False``)."""

    app: str
    flow: str
    version: str
    node: str | None
    path: list[str]
    started: float
    updated: float
    callbacks: int = 1

    def snapshot(self, callid: int) -> ActiveCall:
        return ActiveCall(
            callid,
            self.app,
            self.flow,
            self.version,
            self.node,
            tuple(self.path),
            self.started,
            self.updated,
            self.callbacks,
        )


class CallBook:
    """Calls in progress by callid, the longest idle first."""

    def __init__(self, max_calls: int = 100_000) -> None:
        self.max_calls = max_calls
        self._calls: OrderedDict[int, _Call] = OrderedDict()
        self._versions: Counter[str] = Counter()
        self._lock = threading.Lock()  # readers on other threads take snapshots

    def __len__(self) -> int:
        return len(self._calls)

    def live_versions(self) -> set[str]:
        """The program versions calls in progress run on."""
        return set(self._versions)

    def snapshot(self) -> dict[int, ActiveCall]:
        with self._lock:
            return {callid: c.snapshot(callid) for callid, c in self._calls.items()}

    def seen(
        self,
        callid: int,
        *,
        app: str,
        flow: str,
        version: str,
        node: str | None,
        path: tuple[str, ...],
        now: float,
    ) -> None:
        """Record a callback of *callid* answered: where the call now waits."""
        with self._lock:
            call = self._calls.get(callid)
            if call is None:
                if len(self._calls) >= self.max_calls:
                    self._drop(next(iter(self._calls)))  # the longest idle
                self._calls[callid] = _Call(app, flow, version, node, list(path), now, now)
                self._versions[version] += 1
                return
            self._calls.move_to_end(callid)
            if version != call.version:
                self._uncount(call.version)
                self._versions[version] += 1
                call.version = version
            call.node = node
            if path:
                call.path.extend(path)
                if len(call.path) > MAX_PATH_LENGTH:
                    del call.path[:-MAX_PATH_LENGTH]
            call.updated = now
            call.callbacks += 1

    def started(self, callid: int) -> float | None:
        """When this server first heard from *callid* (wall clock), if it is in the book."""
        call = self._calls.get(callid)
        return None if call is None else call.started

    def touch(self, callid: int, now: float) -> None:
        """Count a callback that did not move the call (a retry answered again)."""
        with self._lock:
            call = self._calls.get(callid)
            if call is not None:
                self._calls.move_to_end(callid)
                call.updated = now
                call.callbacks += 1

    def ended(self, callid: int) -> ActiveCall | None:
        """Forget *callid* (its HANGUP came); what it was, if it was known."""
        with self._lock:
            call = self._calls.get(callid)
            if call is None:
                return None
            self._drop(callid)
        return call.snapshot(callid)

    def forget_idle(self, before: float) -> int:
        """Drop calls not heard from since *before* (CALLR never sent their HANGUP)."""
        dropped = 0
        with self._lock:
            while self._calls:
                callid, call = next(iter(self._calls.items()))
                if call.updated >= before:
                    break
                self._drop(callid)
                dropped += 1
        return dropped

    def adopt(self, calls: dict[int, ActiveCall]) -> None:
        """Take over the calls in progress of a server this one replaces."""
        for callid, c in sorted(calls.items(), key=lambda item: item[1].updated):
            with self._lock:
                if callid in self._calls:
                    continue
                record = _Call(
                    c.app,
                    c.flow,
                    c.version,
                    c.node,
                    list(c.path),
                    c.started,
                    c.updated,
                    c.callbacks,
                )
                self._calls[callid] = record
                self._versions[c.version] += 1

    def _drop(self, callid: int) -> None:
        self._uncount(self._calls.pop(callid).version)

    def _uncount(self, version: str) -> None:
        self._versions[version] -= 1
        if self._versions[version] <= 0:
            del self._versions[version]
