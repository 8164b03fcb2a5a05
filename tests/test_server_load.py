"""200 calls at once through a multi-step IVR: every call completes with the right path, every
callback is logged once, and nothing is left in progress."""

from __future__ import annotations

import asyncio
import collections

import httpx
import pytest

from flowbuilder.callr import wire
from flowbuilder.examples import support_line
from flowbuilder.phone import CallSetup, Script, SimulatedCall, Transcript
from flowbuilder.server import serve

APP = "4346423A"
CALLS = 200
PER_CLIENT = 10
SCRIPTS = [
    (Script(presses=["1"]), "Sales team", "completed"),
    (Script(presses=["2"]), "Thank you. We will call you back soon.", "completed"),
    (
        Script(presses=["0"], dial=["BUSY"]),
        "Thank you. We will call you back soon.",
        "completed",
    ),
    (Script(presses=["7", "9", "5"]), "We did not get your choice. Goodbye.", "completed"),
    (Script(presses=[]), "We did not get your choice. Goodbye.", "completed"),
    (Script(presses=[], hangup_after=2), "", "caller hung up"),
]


async def one_call(client: httpx.AsyncClient, url: str, n: int) -> tuple[int, Transcript, int]:
    script, _, _ = SCRIPTS[n % len(SCRIPTS)]
    setup = CallSetup(
        app=APP, callid=900_000 + n, number="+33900000000", cli_number=f"+3361{n:07d}"
    )
    call = SimulatedCall(setup, Script.from_data(script.to_json()))
    post = call.start()
    posts = 0
    while post is not None:
        response = await client.post(
            url,
            content=wire.render_callback(post.callback),
            headers={"Content-Type": "application/json"},
        )
        posts += 1
        assert response.status_code == 200, response.text
        if post.final:
            break
        answer = wire.parse_answer(response.content) if response.content else None
        post = call.on_answer(answer)
        await asyncio.sleep(0)  # let the other calls interleave
    return n, call.transcript, posts


@pytest.mark.slow
def test_200_concurrent_calls_complete():
    with serve(support_line(), name="load") as handle:

        async def run() -> list[tuple[int, Transcript, int]]:
            # several clients: httpx's pool gets slow with hundreds of connections in one client
            clients = [httpx.AsyncClient(timeout=30) for _ in range(CALLS // PER_CLIENT)]
            try:
                return await asyncio.gather(
                    *(one_call(clients[n // PER_CLIENT], handle.url, n) for n in range(CALLS))
                )
            finally:
                for client in clients:
                    await client.aclose()

        results = asyncio.run(asyncio.wait_for(run(), 120))
        assert len(results) == CALLS
        for n, transcript, _ in results:
            _, last_heard, status = SCRIPTS[n % len(SCRIPTS)]
            assert transcript.status == status, (n, str(transcript))
            if last_heard == "Sales team":
                assert transcript.dialed == [("+33123456789", "ANSWER")]
            elif last_heard:
                assert transcript.heard[-1] == last_heard, (n, str(transcript))
        posts = sum(p for _, _, p in results)
        events = handle.events.snapshot()
        assert len(events) == posts
        per_call = collections.Counter(e.callid for e in events)
        assert sorted(per_call.values()) == sorted(p for _, _, p in results)
        assert all(e.ok for e in events), [str(e) for e in events if not e.ok][:3]
        assert handle.active_calls == {}
        # no call got another's state: each dial shows its own caller's number as the CLI
        for n, transcript, _ in results:
            if n % len(SCRIPTS) == 0:
                dials = [
                    x["answer"]["params"]
                    for x in transcript.exchanges
                    if x["answer"] and x["answer"]["command"] == "dialout"
                ]
                assert [d["cli"] for d in dials] == [transcript.setup.cli_number]
