"""The loop the callback server runs on (``_loopthread.new_loop``), over real HTTP on loopback:
eager tasks where Python has them (a handler that never waits finishes where its task is made),
each request in a context of its own, concurrent waits, failures contained, streamed bodies."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from flowbuilder._loopthread import LoopThread, new_loop

Exchange = Callable[[httpx.AsyncClient], Awaitable[Any]]


class Inline(tornado.web.RequestHandler):
    """Answers at once, saying which task ran it."""

    def initialize(self, seen: list[asyncio.Task[Any] | None]) -> None:
        self.seen = seen

    def post(self) -> None:
        self.seen.append(asyncio.current_task())
        self.write({"echo": self.request.body.decode()})


REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="unset")


class Contextual(tornado.web.RequestHandler):
    """Sets a context variable, waits or not, and says what it saw before and after."""

    async def post(self) -> None:
        before = REQUEST.get()
        REQUEST.set(self.request.body.decode())
        if self.get_query_argument("wait", ""):
            await asyncio.sleep(0)
        self.write(f"{before} {REQUEST.get()}")


class Waits(tornado.web.RequestHandler):
    async def post(self) -> None:
        await asyncio.sleep(0.01)
        self.write("waited " + self.get_query_argument("n", "0"))


class FailsAfterWaiting(tornado.web.RequestHandler):
    async def post(self) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("boom")


class Fails(tornado.web.RequestHandler):
    def post(self) -> None:
        raise RuntimeError("boom")


@tornado.web.stream_request_body
class Streamed(tornado.web.RequestHandler):
    def initialize(self) -> None:
        self.size = 0

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)

    def post(self) -> None:
        self.write(f"{self.size} bytes")


def run(app: tornado.web.Application, exchange: Exchange) -> Any:
    """Serve *app* on an unused loopback port, on a loop like the callback server's, while
    *exchange* talks to it over HTTP."""

    async def main() -> Any:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                return await exchange(client)
        finally:
            server.stop()
            await server.close_all_connections()

    loop = new_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(main(), 30))
    finally:
        loop.close()


def application() -> tuple[tornado.web.Application, list[asyncio.Task[Any] | None]]:
    seen: list[asyncio.Task[Any] | None] = []
    app = tornado.web.Application(
        [
            (r"/inline", Inline, {"seen": seen}),
            (r"/waits", Waits),
            (r"/contextual", Contextual),
            (r"/fails-after-waiting", FailsAfterWaiting),
            (r"/fails", Fails),
            (r"/streamed", Streamed),
        ],
        log_function=lambda handler: None,
    )
    return app, seen


def loop_of_a_thread() -> tuple[type[asyncio.AbstractEventLoop], Any]:
    """The type and the task factory of a LoopThread's loop."""
    thread = LoopThread("flowbuilder-server-loop-test")

    async def setup() -> Any:
        loop = asyncio.get_running_loop()
        return type(loop), loop.get_task_factory()

    try:
        return thread.start(setup)
    finally:
        thread.stop()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks came with Python 3.12")
def test_the_servers_loop_runs_tasks_eagerly(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # asyncio's own loop
    _, factory = loop_of_a_thread()
    assert factory is asyncio.eager_task_factory


def test_the_servers_loop_is_uvloops_where_installed():
    uvloop = pytest.importorskip("uvloop")
    kind, factory = loop_of_a_thread()
    assert kind is uvloop.Loop
    if sys.version_info >= (3, 13):  # uvloop hands asyncio's eager factory what it refuses
        assert factory is None
    elif sys.version_info >= (3, 12):
        assert factory is asyncio.eager_task_factory


def test_every_request_runs_in_a_task_of_its_own():
    app, seen = application()

    async def exchange(client: httpx.AsyncClient) -> list[str]:
        return [(await client.post("/inline", content=str(n))).json()["echo"] for n in range(3)]

    assert run(app, exchange) == ["0", "1", "2"]
    # one keep-alive connection, three requests: each its own task (so anything bound to the
    # current task, such as asyncio.timeout, is bound to its request only)
    assert len(seen) == 3
    assert None not in seen
    assert len({id(task) for task in seen}) == 3


def test_each_request_has_its_own_context_as_in_a_task():
    app, _ = application()

    async def exchange(client: httpx.AsyncClient) -> list[str]:
        sent = [("a", ""), ("b", "1"), ("c", "")]  # one connection: nothing may leak
        return [
            (await client.post("/contextual", params={"wait": wait}, content=body)).text
            for body, wait in sent
        ]

    assert run(app, exchange) == ["unset a", "unset b", "unset c"]


def test_handlers_that_wait_finish_in_a_task_of_their_own_concurrently():
    app, _ = application()

    async def exchange(client: httpx.AsyncClient) -> list[str]:
        answers = await asyncio.gather(
            *(client.post("/waits", params={"n": n}, content=b"x") for n in range(20))
        )
        return [a.text for a in answers]

    assert run(app, exchange) == [f"waited {n}" for n in range(20)]


@pytest.mark.parametrize("path", ["/fails", "/fails-after-waiting"])
def test_a_failing_handler_gets_tornados_500_and_the_server_goes_on(path: str):
    app, _ = application()

    async def exchange(client: httpx.AsyncClient) -> tuple[int, str]:
        failed = await client.post(path, content=b"x")
        after = await client.post("/inline", content=b"still here")
        return failed.status_code, after.json()["echo"]

    assert run(app, exchange) == (500, "still here")


def test_streamed_bodies_take_tornados_way():
    app, _ = application()

    async def exchange(client: httpx.AsyncClient) -> str:
        async def chunks() -> Any:
            for _ in range(4):
                yield b"x" * 1000

        return (await client.post("/streamed", content=chunks())).text

    assert run(app, exchange) == "4000 bytes"
