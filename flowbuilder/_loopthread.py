"""An asyncio event loop in a thread of its own: what the callback server and the sandbox run on.

Neither ever runs on its caller's loop, so the same code works in a notebook (whose kernel already
runs a loop), in a script, in a thread and from the CLI, and a blocking call from the caller's
thread (a sync httpx client, the sandbox's ``call_in``) can never deadlock it.

The loop is made by :func:`new_loop`: uvloop when it is installed (a faster loop, public API),
and on Python 3.12+ the eager task factory, so a task that never waits (most callbacks) runs to
the end where it is created instead of costing a loop turn.

>>> import asyncio
>>> thread = LoopThread("demo")
>>> async def setup() -> str:
...     return "ready"
>>> thread.start(setup)
'ready'
>>> thread.call(lambda: threading.current_thread().name)
'demo'
>>> thread.stop(); thread.running
False
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger("flowbuilder")

T = TypeVar("T")
#: How long starting or stopping may take before it is reported as stuck.
WAIT_S = 10.0


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when installed, with eager tasks where Python has them."""
    try:
        import uvloop
    except ImportError:
        loop = asyncio.new_event_loop()
    else:
        loop = uvloop.new_event_loop()
        if sys.version_info >= (3, 13):
            # uvloop passes create_task's eager_start on to the task factory, which asyncio's
            # own refuses on 3.13; and only asyncio's own may be used: anyio (httpx) runs its
            # tasks lazily under that one alone, and breaks under any other that is eager
            return loop
    eager = getattr(asyncio, "eager_task_factory", None)  # Python 3.12+
    if eager is not None:
        loop.set_task_factory(eager)
    return loop


class LoopThread:
    """A daemon thread running one event loop, started and stopped from any other thread."""

    def __init__(self, name: str, loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_loop):
        self.name = name
        self._loop_factory = loop_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def in_thread(self) -> bool:
        """Whether the caller runs on this loop's thread."""
        return threading.current_thread() is self._thread

    def start(self, setup: Callable[[], Awaitable[T]]) -> T:
        """Start the thread and run *setup* on its loop; its result, or its exception raised
        here (the thread is then stopped)."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"{self.name} was already started")
            loop = self._loop_factory()
            self._loop = loop
            self._thread = threading.Thread(target=self._run, args=(loop,), name=self.name)
            self._thread.daemon = True
            self._thread.start()
        try:
            return self.submit(setup()).result(WAIT_S)
        except BaseException:
            self.stop()
            raise

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:  # what is still scheduled (tasks the teardown did not end) is cancelled
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    def submit(self, coro: Coroutine[Any, Any, T] | Awaitable[T]) -> concurrent.futures.Future[T]:
        """Schedule *coro* on the loop; a future for its result (any thread but this one)."""
        loop = self._require()

        async def run() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(run(), loop)

    def call(self, fn: Callable[[], T], timeout: float = WAIT_S) -> T:
        """Run *fn* on the loop's thread and wait for its result (at once if already there)."""
        if self.in_thread() or not self.running:
            return fn()
        loop = self._require()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def soon(self, fn: Callable[[], object]) -> None:
        """Run *fn* on the loop's thread, without waiting (at once if already there)."""
        if self.in_thread():
            fn()
        else:
            self._require().call_soon_threadsafe(fn)

    def stop(self, teardown: Callable[[], Awaitable[None]] | None = None) -> None:
        """Run *teardown* on the loop, stop it and join the thread. Idempotent; from the loop's
        own thread it schedules the stop and returns without waiting."""
        with self._lock:
            thread, loop = self._thread, self._loop
        if thread is None or loop is None or loop.is_closed():
            return

        async def finish() -> None:
            try:
                if teardown is not None:
                    await teardown()
            except Exception:
                log.exception("%s: stopping failed", self.name)
            finally:
                loop.stop()

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            asyncio.run_coroutine_threadsafe(finish(), loop)
        if thread is threading.current_thread():
            return
        thread.join(WAIT_S + 5)
        if thread.is_alive():
            log.warning("%s: the thread did not stop within %.0f s", self.name, WAIT_S + 5)

    def _require(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError(f"{self.name} is not running")
        return loop
