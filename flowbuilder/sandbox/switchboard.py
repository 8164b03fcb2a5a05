"""The sandbox's calls: who is called how (callees' scripts), every call made, hang-ups.

It implements what the JSON-RPC API needs to place and end calls (:class:`~.api.CallControl`),
hands each call to :class:`~.calls.Phones` on the sandbox's loop, and keeps the calls (bounded:
past ``MAX_CALLS_KEPT``, the oldest one is forgotten, in O(1)) for transcripts and waiting, and
scripts for at most ``MAX_CALLEES`` numbers.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from flowbuilder._subscribers import Subscribers
from flowbuilder.callr.constants import CLI_BLOCKED, E164
from flowbuilder.clock import date_started
from flowbuilder.hygiene import protect
from flowbuilder.phone import CallSetup, Script, script_of
from flowbuilder.sandbox.account import AppRecord, new_hash
from flowbuilder.sandbox.calls import Phones, SandboxCall, Timeline

log = protect(logging.getLogger("flowbuilder.sandbox"))  # its lines cleaned: hygiene

#: Calls (transcripts and exchanges) kept for lookup; past it the oldest is forgotten.
MAX_CALLS_KEPT: Final = 10_000
#: Numbers with a callee script of their own (``set_callee``).
MAX_CALLEES: Final = 10_000


class Switchboard:
    """Calls in the sandbox, placed on *phones* through *schedule* (run on the sandbox's loop)."""

    def __init__(self, timeline: Timeline | None = None) -> None:
        self.timeline = timeline or Timeline()
        self.callees: dict[str, Script] = {}
        self.phones: Phones | None = None
        self.schedule: Callable[[Callable[[], object]], None] | None = None
        self._calls: dict[int, SandboxCall] = {}
        self._by_hash: dict[str, SandboxCall] = {}
        self._lock = threading.Lock()
        self._subscribers = Subscribers[SandboxCall](log, "sandbox")
        self._following: dict[int, Callable[[], None]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    # -- callees ------------------------------------------------------------------------------

    def set_callee(
        self, number: str, script: Script | Mapping[str, Any] | Sequence[str | None] | None
    ) -> None:
        if not E164.match(number):
            raise ValueError(f"number must be +E164, e.g. +447890123456; got {number!r}")
        behaviour = script_of(script)
        with self._lock:
            if number not in self.callees and len(self.callees) >= MAX_CALLEES:
                raise ValueError(f"the sandbox keeps scripts for {MAX_CALLEES} numbers at most")
            self.callees[number] = behaviour

    # -- placing calls ------------------------------------------------------------------------

    def new_callid(self) -> int:
        with self._lock:
            while True:
                # 64-bit on CALLR's side; kept below 2**53 so JavaScript reads it exactly
                callid = secrets.randbelow(2**53 - 10**9) + 10**9
                if callid not in self._calls:
                    return callid

    def launch(self, call: SandboxCall) -> None:
        """Keep *call* and start it on the sandbox's loop."""
        schedule, phones = self.schedule, self.phones
        if schedule is None or phones is None:
            raise RuntimeError("the sandbox is not running")
        with self._lock:
            while len(self._calls) >= MAX_CALLS_KEPT:  # forget the oldest call: O(1)
                oldest = self._calls.pop(next(iter(self._calls)))
                self._by_hash.pop(oldest.request_hash or "", None)
            self._calls[call.callid] = call
            if call.request_hash:
                self._by_hash[call.request_hash] = call
        call.future.add_done_callback(lambda _: self._subscribers.publish(call))
        schedule(lambda: phones.start(call))

    def place_call(
        self, app: AppRecord, number: str, ring_timeout_s: int, cdr_field: str, cli: str
    ) -> str:
        with self._lock:
            request_hash = new_hash(self._by_hash)
            script = self.callees.get(number) or Script()
        started = self.timeline.now()
        setup = CallSetup(
            app=app.hash,
            callid=self.new_callid(),
            number=number,
            cli_number="" if cli == CLI_BLOCKED else cli,
            request_hash=request_hash,
            cdr_field=cdr_field,
            date_started=date_started(started),
            ring_timeout_s=ring_timeout_s,
        )
        self.launch(SandboxCall(setup, script, url=app.url, auth=app.basic_auth, started=started))
        return request_hash

    def hangup(self, callid: int) -> bool | None:
        call = self._calls.get(callid)
        if call is None:
            return None
        if call.done:
            return False
        call.hangup_requested = True
        if call._wake is not None:
            call._wake.set()
        return True

    def realtime_break(self, callid: int) -> bool | None:
        call = self._calls.get(callid)
        if call is None:
            return None
        if call.done or not call.pausing or call._wake is None:
            return False
        call._wake.set()
        return True

    # -- what happened ------------------------------------------------------------------------

    @property
    def calls(self) -> list[SandboxCall]:
        with self._lock:
            return list(self._calls.values())

    def call(self, key: int | str) -> SandboxCall:
        with self._lock:
            found = self._calls.get(key) if isinstance(key, int) else self._by_hash.get(key)
        if found is None:
            raise LookupError(f"no call {key!r} in the sandbox")
        return found

    def subscribe(self, callback: Callable[[SandboxCall], object]) -> Callable[[], None]:
        return self._subscribers.add(callback)

    def follow(self, server: Any) -> Callable[[], None]:
        """Fill in each call's node path from *server*'s events; following the same server again
        (a notebook cell run again) keeps one subscription, so no path is ever doubled. A server
        that replaced another keeps its event log, so they count as the same."""
        key = id(getattr(server, "events", server))
        with self._lock:
            existing = self._following.get(key)
        if existing is not None:
            return existing

        def on_event(event: Any) -> None:
            path = getattr(event, "path", ())
            call = self._calls.get(getattr(event, "callid", None) or 0)
            if call is not None and path:
                call.transcript.path.extend(path)

        unsubscribe: Callable[[], None] = server.subscribe(on_event)

        def stop() -> None:
            with self._lock:
                self._following.pop(key, None)
            unsubscribe()

        with self._lock:
            self._following[key] = stop
        return stop

    def unfollow_all(self) -> None:
        with self._lock:
            stops = list(self._following.values())
        for stop in stops:
            stop()
