"""What the tests that start flowbuilder as a real process share."""

from __future__ import annotations

import signal


def as_in_a_terminal() -> None:
    """``preexec_fn`` for a server a test stops with Ctrl-C (SIGINT): the process gets it as one
    started in a terminal does, even when the test run itself was started in the background
    (a shell starts background jobs with SIGINT ignored, and every child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
