"""1,000 concurrent ``calls.realtime`` requests: every one answered, every call driven."""

from __future__ import annotations

import asyncio
import re

import pytest

from flowbuilder import Sandbox, Script

from .conftest import CallbackApp


@pytest.mark.slow
def test_a_thousand_concurrent_realtime_calls(callback_app: CallbackApp) -> None:
    numbers = [f"+4479460{i:05d}" for i in range(1000)]
    # the callback app shares this process (and its CPU) with 1,000 requests: a wide answer
    # window, since what is tested here is that every request is answered, not latency
    with Sandbox(answer_timeout_s=30) as sb:
        app = sb.client().apps.create("load", url=callback_app.url)
        for number in numbers:
            sb.set_callee(number, Script(answer="busy"))

        async def place_all() -> list[str]:
            async with sb.async_client(timeout=60) as client:
                return await asyncio.gather(
                    *(
                        client.calls.realtime(app.hash, n, cdr_field=f"c{i}")
                        for i, n in enumerate(numbers)
                    )
                )

        hashes = asyncio.run(place_all())
        assert len(set(hashes)) == 1000
        assert all(re.fullmatch(r"[A-Z0-9]{8}", h) for h in hashes)
        transcripts = [sb.wait_for(h, timeout=60) for h in hashes]
    assert {t.status for t in transcripts} == {"busy"}
    assert [t.setup.number for t in transcripts] == numbers
    posts = [r.body for r in callback_app.requests]
    assert len(posts) == 1000
    assert {p["call_status"] for p in posts} == {"BUSY"}
    assert {p["request_hash"] for p in posts} == set(hashes)
