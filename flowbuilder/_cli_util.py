"""Plumbing shared by the long-running commands (``flowbuilder serve``, ``flowbuilder sandbox``).

Kept apart from ``cli.py`` (which imports both commands) and free of heavy imports: every
command, even ``--help``, loads it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Final, Generic, Protocol, TextIO, TypeVar

from flowbuilder.hygiene import clean_json, clean_lines


class _Reported(Protocol):
    def to_json(self) -> Any: ...


R = TypeVar("R", bound=_Reported)


def add_allow_argument(parser: argparse.ArgumentParser) -> None:
    """``--allow MODULE``: what every command that runs or validates a flow takes."""
    parser.add_argument(
        "--allow",
        action="append",
        metavar="MODULE",
        help="let the flow's python nodes call functions from MODULE (and its submodules); "
        "repeat for more; also env FLOWBUILDER_ALLOW. Nothing else is imported",
    )


def line_printer(out: TextIO, as_json: bool, text: Callable[[R], str]) -> Callable[[R], None]:
    """A subscriber printing each item as one line: ``text(item)``, or its ``to_json()`` as
    JSON with ``--json``. Items come from server threads: the lock keeps lines whole. What they
    carry is cleaned (:mod:`flowbuilder.hygiene`): no credentials, no terminal controls."""
    lock = threading.Lock()
    format_line = _line_format(as_json, text)

    def show(item: R) -> None:
        line = format_line(item)
        with lock:
            print(line, file=out, flush=True)

    return show


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535, or one clear error."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0 (any free port) to 65535")
    return port


def moment(text: str) -> float:
    """An argparse type: a moment with its zone (``2026-03-28T13:00[Europe/Paris]``), as epoch
    seconds, or one clear error."""
    from flowbuilder.clock import instant

    try:
        return instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _line_format(as_json: bool, text: Callable[[R], str]) -> Callable[[R], str]:
    """An item's line: ``text(item)``, or its ``to_json()`` as JSON, cleaned
    (:mod:`flowbuilder.hygiene`): no credentials, no terminal controls."""
    if as_json:
        return lambda item: clean_json(json.dumps(item.to_json(), ensure_ascii=False))
    return lambda item: clean_lines(text(item))


#: How often the writer thread prints what arrived: soon enough for a person watching.
PRINT_EVERY_S: Final = 0.05
#: Items kept while the output does not take them (a paused terminal, a pipe nobody reads);
#: beyond, they are counted and dropped rather than growing without bound.
MAX_BACKLOG: Final = 100_000
#: How long closing waits for an output that takes nothing.
CLOSE_TIMEOUT_S: Final = 5.0


class BackgroundLines(Generic[R]):
    """A subscriber printing each item as one line, cleaned like :func:`line_printer`'s, but from
    a thread of its own, a batch at a time.

    The server's loop only appends the item: formatting, writing and flushing happen elsewhere,
    once per batch instead of once per line, and an output that blocks (a terminal paused with
    Ctrl-S, a full pipe) never stops calls being answered. Items are kept from the start;
    printing begins at :meth:`start` (or entering a ``with``), so what comes first can be printed
    before them. :meth:`close` (or leaving the ``with``) prints everything still waiting.

    >>> import io
    >>> out = io.StringIO()
    >>> with BackgroundLines(out, as_json=False, text=str) as show:
    ...     show(1); show(2)
    >>> out.getvalue()
    '1\\n2\\n'
    """

    def __init__(
        self,
        out: TextIO,
        as_json: bool,
        text: Callable[[R], str],
        *,
        every_s: float = PRINT_EVERY_S,
        max_backlog: int = MAX_BACKLOG,
    ) -> None:
        self._out = out
        self._line = _line_format(as_json, text)
        self._as_json = as_json
        self._every_s = every_s
        self._max_backlog = max_backlog
        self._items: deque[R] = deque()  # appends and pops are thread-safe
        self._dropped = 0
        self._broken = False
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flowbuilder-output", daemon=True)

    def start(self) -> BackgroundLines[R]:
        """Begin printing (what came before included)."""
        self._thread.start()
        return self

    def __call__(self, item: R) -> None:
        if len(self._items) < self._max_backlog:
            self._items.append(item)
        else:
            self._dropped += 1

    def _run(self) -> None:
        while not self._closing.wait(self._every_s):
            self._write()
        self._write()

    def _write(self) -> None:
        items, line = self._items, self._line
        if self._broken:
            items.clear()
            return
        lines = []
        with contextlib.suppress(IndexError):
            while True:
                lines.append(line(items.popleft()))
        dropped, self._dropped = self._dropped, 0
        if dropped:
            lines.append(
                json.dumps({"dropped_lines": dropped})
                if self._as_json
                else f"... {dropped} line(s) dropped: the output took nothing for too long"
            )
        if not lines:
            return
        try:
            self._out.write("\n".join(lines) + "\n")
            self._out.flush()
        except (OSError, ValueError):  # closed or gone: keep draining, print no more
            self._broken = True

    def close(self) -> None:
        """Print what is still waiting, then stop the thread (idempotent)."""
        self._closing.set()
        if self._thread.ident is None:  # never started
            self._write()
        elif self._thread is not threading.current_thread():
            self._thread.join(CLOSE_TIMEOUT_S)

    def __enter__(self) -> BackgroundLines[R]:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def until_interrupted() -> Iterator[None]:
    """Run the body until Ctrl-C or SIGTERM, then carry on quietly after the ``with``.

    SIGTERM is made to interrupt like Ctrl-C (in the main thread only: elsewhere signals cannot
    be set), from before the body starts, and the previous handler is restored at the end.
    """
    previous = _on_sigterm_interrupt()
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm_interrupt() -> Any:
    """Make SIGTERM raise KeyboardInterrupt; returns the old handler (None when not set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError, OSError):
        return signal.signal(signal.SIGTERM, interrupt)
    return None
