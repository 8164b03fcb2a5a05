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
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TextIO, TypeVar

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

    def show(item: R) -> None:
        if as_json:
            line = clean_json(json.dumps(item.to_json(), ensure_ascii=False))
        else:
            line = clean_lines(text(item))
        with lock:
            print(line, file=out, flush=True)

    return show


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
