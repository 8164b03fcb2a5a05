"""The replay guard: each call moves forward one step at a time, and only once per step.

The signed state in ``variables`` proves a POST carries a position this server gave out; it
cannot tell the call's current step from an older one replayed (the signature of an old step is
still good). So the server keeps, per call, the last step it answered and the answer it gave:

- a POST that echoes the current step is answered, and becomes the new last step;
- the same POST again (CALLR or a proxy retrying) gets the byte-identical answer, and no node
  or effect runs twice; one arriving while the first is still being answered waits for it;
- an older step, any POST after the call's HANGUP, a "first" POST (``command_id`` 0) for a
  call already under way, or a different POST while one is being answered is refused.

Whoever can POST to the URL can thus end a call early (an apology, then a hang-up), but never
move it elsewhere in its flow: keep the URL behind HTTP Basic auth and TLS.

A call the guard has no record of (the server restarted, or another process answered it) is
taken as it comes: the signature still protects it. :class:`ReplayGuard` is the interface a
shared store (SQLite, PostgreSQL) implements for servers on several processes or machines;
:class:`MemoryReplayGuard` is the in-process one, bounded by calls and by bytes.

>>> guard = MemoryReplayGuard()
>>> guard.check(7, 0, b"first post")
Proceed()
>>> guard.answered(7, b"first post", 1, b'{"command":"play",...}')
>>> guard.check(7, 0, b"first post")
Repeat(body=b'{"command":"play",...}')
>>> guard.check(7, 0, b"another first post")
Refuse(reason='call 7 is already under way: a first POST cannot restart it')
>>> guard.check(7, 1, b"next post")
Proceed()
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, Protocol

import msgspec

from flowbuilder.callr.wire import CommandId

#: Calls remembered, and bytes of answers kept for retries, by default.
MAX_CALLS: Final = 100_000
MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
#: Answers longer than this are kept compressed.
PACK_OVER_BYTES: Final = 2048
#: An answer still pending after this long was abandoned: a retry may run it again.
PENDING_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class Proceed:
    """Answer this POST (the guard marks it as being answered)."""


@dataclass(frozen=True, slots=True)
class Repeat:
    """A retry of the POST already answered: send *body* again, as it was."""

    body: bytes


@dataclass(frozen=True, slots=True)
class Pending:
    """The same POST is being answered right now: ask again shortly."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """A replayed or out-of-order POST: it must not move the call."""

    reason: str


Verdict = Proceed | Repeat | Pending | Refuse


class ReplayGuard(Protocol):
    """What the callback server asks before and after answering a live POST."""

    def check(self, callid: int, command_id: CommandId, digest: bytes) -> Verdict:
        """What to do with a POST of *callid* echoing *command_id* (0 on a call's first POST);
        *digest* identifies the POST's bytes. ``Proceed`` marks the POST as being answered."""
        ...

    def answered(self, callid: int, digest: bytes, step: CommandId, body: bytes) -> None:
        """The POST *digest* was answered with *body*, whose ``command_id`` is *step*."""
        ...

    def abandoned(self, callid: int, digest: bytes) -> None:
        """The POST *digest* got no answer after all (the server failed): a retry may run."""
        ...

    def ended(self, callid: int) -> None:
        """The call hung up: nothing more may move it."""
        ...


class _Entry(msgspec.Struct, gc=False):
    """One call's record: bytes, numbers and text only, so the collector need not watch the
    (many) entries (``gc=False``)."""

    step: CommandId | None = None  # the command_id of the last answer; None: none yet
    answered_digest: bytes = b""
    answer: bytes = b""  # zlib-compressed when ``packed``
    packed: bool = False
    pending: bytes = b""
    pending_since: float = 0.0
    ended: bool = False


class MemoryReplayGuard:
    """A :class:`ReplayGuard` in this process's memory: the calls heard from most recently,
    at most *max_calls* of them and *max_answer_bytes* of answers kept for retries (the oldest
    forgotten first, in O(1))."""

    def __init__(
        self, *, max_calls: int = MAX_CALLS, max_answer_bytes: int = MAX_ANSWER_BYTES
    ) -> None:
        self.max_calls = max_calls
        self.max_answer_bytes = max_answer_bytes
        self._calls: OrderedDict[int, _Entry] = OrderedDict()
        self._answer_bytes = 0
        self._lock = threading.Lock()  # exported servers may share one across threads

    def __len__(self) -> int:
        return len(self._calls)

    @property
    def answer_bytes(self) -> int:
        return self._answer_bytes

    def check(self, callid: int, command_id: CommandId, digest: bytes) -> Verdict:
        first = command_id == 0
        with self._lock:
            entry = self._calls.get(callid)
            if entry is None:  # a new call, or one this guard forgot: its signature decides
                entry = self._add(callid)
            else:
                self._calls.move_to_end(callid)
                if entry.ended:
                    return Refuse(f"call {callid} has ended: nothing more can move it")
                if entry.answered_digest == digest:
                    return Repeat(zlib.decompress(entry.answer) if entry.packed else entry.answer)
                if entry.pending and time.monotonic() - entry.pending_since < PENDING_S:
                    if entry.pending == digest:
                        return Pending()
                    return Refuse(f"call {callid}: another POST for this step is being answered")
                if entry.step is not None:
                    if first:
                        return Refuse(
                            f"call {callid} is already under way: a first POST cannot restart it"
                        )
                    if command_id != entry.step:
                        return Refuse(
                            f"call {callid}: command_id {command_id!r} is not the call's current "
                            f"step ({entry.step!r}): a replayed or out-of-order POST"
                        )
            entry.pending, entry.pending_since = digest, time.monotonic()
            return Proceed()

    def answered(self, callid: int, digest: bytes, step: CommandId, body: bytes) -> None:
        # large answers (big variables) are kept compressed: the byte bound then holds many
        # more calls, and retries, which unpack them, are rare; small ones are kept as an
        # exact-size copy (orjson's output holds a 4 KiB buffer whatever its length)
        packed = len(body) > PACK_OVER_BYTES
        body = zlib.compress(body, 1) if packed else bytes(memoryview(body))
        with self._lock:
            entry = self._calls.get(callid) or self._add(callid)
            self._answer_bytes += len(body) - len(entry.answer)
            entry.step, entry.answered_digest, entry.answer = step, digest, body
            entry.packed = packed
            if entry.pending == digest:
                entry.pending = b""
            while self._answer_bytes > self.max_answer_bytes and len(self._calls) > 1:
                self._forget_oldest()

    def abandoned(self, callid: int, digest: bytes) -> None:
        with self._lock:
            entry = self._calls.get(callid)
            if entry is not None and entry.pending == digest:
                entry.pending = b""

    def ended(self, callid: int) -> None:
        with self._lock:
            entry = self._calls.get(callid) or self._add(callid)
            entry.ended = True
            self._answer_bytes -= len(entry.answer)
            entry.answer, entry.answered_digest, entry.pending = b"", b"", b""

    def _add(self, callid: int) -> _Entry:
        if len(self._calls) >= self.max_calls:
            self._forget_oldest()
        entry = self._calls[callid] = _Entry()
        return entry

    def _forget_oldest(self) -> None:
        _, entry = self._calls.popitem(last=False)
        self._answer_bytes -= len(entry.answer)

    def __repr__(self) -> str:
        return (
            f"<MemoryReplayGuard {len(self._calls)} calls, {self._answer_bytes} bytes of answers>"
        )
