"""What happens when a notebook cell that starts something is run again: the one place.

A callback server or a sandbox started from a cell is kept here under a key (a server's name, a
sandbox's port). Starting again under the same key takes the place of the previous one, which
hands over what must survive (its port, secret, calls...) and stops; nothing leaks and nothing
says "address in use". What counts as "the same" is the caller's decision (:meth:`previous`).

>>> live = Live[str]("demo")
>>> live.claim("a", "first"); live.previous("a")
'first'
>>> live.release("a", "other"); live.previous("a")
'first'
>>> live.release("a", "first"); live.previous("a") is None
True
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Live(Generic[T]):
    """Objects started in this process, by key (thread-safe)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[Hashable, T] = {}
        self._lock = threading.Lock()

    def previous(self, key: Hashable) -> T | None:
        with self._lock:
            return self._items.get(key)

    def claim(self, key: Hashable, item: T) -> T | None:
        """Keep *item* under *key*; the one it replaces, if any."""
        with self._lock:
            old = self._items.get(key)
            self._items[key] = item
        return old

    def release(self, key: Hashable, item: T) -> None:
        """Forget *item* (only if it is still the one kept under *key*)."""
        with self._lock:
            if self._items.get(key) is item:
                del self._items[key]

    def items(self) -> list[T]:
        with self._lock:
            return list(self._items.values())
