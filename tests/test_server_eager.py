"""EagerApplication over real HTTP on loopback: handlers that never wait answer inline, in the
connection's own task; handlers that wait, fail, stream or run in debug mode behave as Tornado's."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from flowbuilder.engine import EngineConfig
from flowbuilder.server import eager
from flowbuilder.server.events import EventLog
from flowbuilder.server.handler import make_app
from flowbuilder.server.routing import Router

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
    """Serve *app* on an unused loopback port while *exchange* talks to it over HTTP."""

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

    return asyncio.run(asyncio.wait_for(main(), 30))


def application(**settings: Any) -> tuple[eager.EagerApplication, list[asyncio.Task[Any] | None]]:
    seen: list[asyncio.Task[Any] | None] = []
    app = eager.EagerApplication(
        [
            (r"/inline", Inline, {"seen": seen}),
            (r"/waits", Waits),
            (r"/contextual", Contextual),
            (r"/fails-after-waiting", FailsAfterWaiting),
            (r"/fails", Fails),
            (r"/streamed", Streamed),
        ],
        log_function=lambda handler: None,
        **settings,
    )
    return app, seen


def test_the_installed_tornado_runs_callbacks_eagerly():
    # a Tornado release that changes the internals must fail here, not silently cost ~13%
    assert eager.SUPPORTED
    router = Router(
        config=EngineConfig(secret=b"s"), events=EventLog(), max_body_bytes=1, answer_budget_ms=1
    )
    assert make_app(router).eager


def test_handlers_that_never_wait_run_inline_in_the_connections_task():
    app, seen = application()

    async def exchange(client: httpx.AsyncClient) -> list[str]:
        return [(await client.post("/inline", content=str(n))).json()["echo"] for n in range(3)]

    assert run(app, exchange) == ["0", "1", "2"]
    # one keep-alive connection, three requests: all in its task, none in a task of their own
    assert len(seen) == 3
    assert seen[0] is not None
    assert seen[0] is seen[1] is seen[2]


def test_tornados_way_gives_each_request_a_task():
    # what the test above rules out, so it can fail
    app, seen = application(compiled_template_cache=False)  # as debug mode sets it
    assert not app.eager

    async def exchange(client: httpx.AsyncClient) -> None:
        for n in range(3):
            assert (await client.post("/inline", content=str(n))).json() == {"echo": str(n)}

    run(app, exchange)
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


def test_without_the_internals_the_application_is_tornados(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(eager, "SUPPORTED", False)
    app, seen = application()
    assert not app.eager

    async def exchange(client: httpx.AsyncClient) -> str:
        waited = (await client.post("/waits", content=b"x")).text
        return waited + " " + (await client.post("/inline", content=b"y")).json()["echo"]

    assert run(app, exchange) == "waited 0 y"
    assert seen[0] is not None
