"""Subscribers to what happens on a server's thread: the callback server's events, the
sandbox's finished calls.

Subscribing and unsubscribing may happen from any thread; publishing reads the current tuple
without a lock (it is replaced, never changed). A failing subscriber is logged and never reaches
the call that published.

>>> import logging
>>> seen = []
>>> subscribers = Subscribers[int](logging.getLogger("demo"), "demo")
>>> stop = subscribers.add(seen.append)
>>> subscribers.publish(1); stop(); subscribers.publish(2)
>>> seen
[1]
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Subscribers(Generic[T]):
    """Callbacks for items of type ``T``; *what* names them in the failure log."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._callbacks: tuple[Callable[[T], object], ...] = ()
        self._lock = threading.Lock()
        self._logger = logger
        self._what = what

    def add(self, callback: Callable[[T], object]) -> Callable[[], None]:
        """Call *callback(item)* for each item published; returns the function that stops it."""
        with self._lock:
            self._callbacks = (*self._callbacks, callback)

        def remove() -> None:
            with self._lock:
                self._callbacks = tuple(c for c in self._callbacks if c is not callback)

        return remove

    def publish(self, item: T) -> None:
        for callback in self._callbacks:
            try:
                callback(item)
            except Exception:  # a broken viewer must never break a call
                self._logger.exception("%s subscriber %r failed", self._what, callback)
