"""Fixtures for sandbox tests: a running Sandbox, and a minimal callback app on real HTTP.

:class:`CallbackApp` is a Tornado app in its own thread. By default it answers through
``flowbuilder.engine.handle`` (the support-line IVR), optionally checking Basic auth; a test can
replace ``responder`` to answer late, with a 500, with garbage... It records every request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from flowbuilder import engine
from flowbuilder.compiler import compile
from flowbuilder.examples import support_line
from flowbuilder.flow import Flow
from flowbuilder.sandbox import Sandbox


@dataclass
class Seen:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0


Responder = Callable[[dict[str, Any]], Reply]


class _Handler(RequestHandler):
    def initialize(self, app: CallbackApp) -> None:
        self.app = app

    async def post(self) -> None:
        if self.app.auth is not None:
            expected = "Basic " + base64.b64encode(":".join(self.app.auth).encode()).decode()
            if self.request.headers.get("Authorization") != expected:
                self.app.refused += 1
                self.set_status(401)
                self.finish("unauthorized")
                return
        body = json.loads(self.request.body)
        self.app.requests.append(Seen(dict(self.request.headers), body))
        reply = self.app.responder(body)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        self.set_status(reply.status)
        self.set_header("Content-Type", "application/json")
        self.finish(reply.body)


class CallbackApp:
    """A REALTIME10 callback URL for tests (real HTTP on loopback, its own thread and loop)."""

    def __init__(self, flow: Flow | None = None, auth: tuple[str, str] | None = None) -> None:
        self.program = compile(flow or support_line())
        self.config = engine.EngineConfig(secret=b"sandbox-tests")
        self.auth = auth
        self.refused = 0
        self.requests: list[Seen] = []
        self.responder: Responder = self.engine_reply
        self._loop: asyncio.AbstractEventLoop | None = None
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop

            async def serve() -> HTTPServer:
                server = HTTPServer(Application([(r"/.*", _Handler, {"app": self})]))
                server.add_sockets(sockets)
                return server

            server = loop.run_until_complete(serve())
            ready.set()
            loop.run_forever()
            server.stop()
            loop.run_until_complete(server.close_all_connections())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/callr"

    def engine_reply(self, body: dict[str, Any]) -> Reply:
        out = engine.handle(
            self.program, json.dumps(body).encode(), config=self.config, now=time.time()
        )
        return Reply(200, out)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def callback_app() -> Iterator[CallbackApp]:
    app = CallbackApp()
    yield app
    app.stop()
