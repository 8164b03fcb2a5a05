"""The call book: calls in progress stay bounded, the longest idle forgotten first (issue #14.3)."""

from __future__ import annotations

from flowbuilder.server.calls import CallBook


def seen(book: CallBook, callid: int, now: float, version: str = "v1") -> None:
    book.seen(callid, app="A", flow="f", version=version, node="menu", path=("menu",), now=now)


def test_a_full_book_forgets_the_call_heard_from_longest_ago() -> None:
    book = CallBook(max_calls=100_000)
    for callid in range(100_000):
        seen(book, callid, now=float(callid))
    seen(book, 0, now=100_000.0)  # call 0 is heard from again: now the most recent
    seen(book, 500_000, now=100_001.0)  # a new call on a full book
    calls = book.snapshot()
    assert len(book) == 100_000
    assert 500_000 in calls
    assert 0 in calls
    assert 1 not in calls  # the longest idle went, not the oldest started
    assert calls[0].callbacks == 2


def test_versions_in_use_follow_the_calls_kept() -> None:
    book = CallBook(max_calls=2)
    seen(book, 1, now=1.0, version="old")
    seen(book, 2, now=2.0, version="new")
    assert book.live_versions() == {"old", "new"}
    seen(book, 3, now=3.0, version="new")  # call 1 (the only one on "old") is dropped
    assert book.live_versions() == {"new"}
    book.ended(2)
    book.ended(3)
    assert book.live_versions() == set()
    assert len(book) == 0
