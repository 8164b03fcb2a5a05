"""A REAL-TIME server written the way CALLR's official PHP SDK writes one (``CallFlow``), not
with flowbuilder: labels as command ids, the next POST routed by the label it echoes, variables
kept as an object and sent back whole, an empty body once the call is HANGUP, HTTP errors for
a label it does not know. Served by Tornado on loopback for the sandbox to drive.

Commands are built as the SDK's ``Command`` factory builds them: every key, with the SDK's
default values (``Command::read($media)`` sends ``attempts`` 10, ``max_digits`` 20...).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

Command = tuple[str, dict[str, Any]]
#: before(flow) -> the command to send; after(result, error, flow) -> the next label
Before = Callable[["CallFlow"], Command]
After = Callable[[Any, Any, "CallFlow"], str]


@dataclass
class CallFlow:
    """The PHP SDK's CallFlow: labels, inbound/outbound entry points, call variables."""

    labels: dict[str, tuple[Before, After | None]] = field(default_factory=dict)
    on_inbound: Callable[[CallFlow], str] | None = None
    on_outbound: Callable[[CallFlow], str] | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.define("_hangup", lambda flow: ("hangup", {}))  # the SDK's special label

    def define(self, label: str, before: Before, after: After | None = None) -> None:
        self.labels[label] = (before, after)

    def answer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The response to one POST (None: the call is over, send an empty body)."""
        self.posts.append(request)
        self.variables = dict(request["variables"])  # the SDK works on the echoed object
        label: str | None
        if request["command_id"]:  # the label of the command that just ran
            _, after = self.labels[request["command_id"]]
            if after is None:
                label = None
            else:
                error = request["command_error"] or None
                result = None if error else request["command_result"]
                label = after(result, error, self)
        elif request["request_hash"] is None:
            assert self.on_inbound is not None
            label = self.on_inbound(self)
        else:
            assert self.on_outbound is not None
            label = self.on_outbound(self)
        if request["call_status"] == "HANGUP" or label is None:
            return None
        command, params = self.labels[label][0](self)
        return {
            "command": command,
            "command_id": label,
            "params": params,
            "variables": self.variables,
        }


class _Handler(RequestHandler):
    def initialize(self, flow: CallFlow) -> None:
        self.flow = flow

    def post(self) -> None:
        request = json.loads(self.request.body)
        try:
            response = self.flow.answer(request)
        except KeyError as exc:  # as the SDK's Server: an HTTP error for an unknown label
            self.set_status(404)
            self.finish({"error": {"code": 404, "message": f"Label {exc} Not Found"}})
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(response) if response is not None else b"")


class SdkServer:
    """*flow* served on an unused loopback port, in a thread of its own."""

    def __init__(self, flow: CallFlow) -> None:
        self.flow = flow
        sockets = bind_sockets(0, "127.0.0.1")
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/realtime.php"
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)

            async def start() -> HTTPServer:
                server = HTTPServer(Application([(r"/.*", _Handler, {"flow": flow})]))
                server.add_sockets(sockets)
                return server

            server = self._loop.run_until_complete(start())
            ready.set()
            self._loop.run_forever()
            server.stop()
            self._loop.run_until_complete(server.close_all_connections())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


# -- the SDK's Command factory, as it builds each command ----------------------------------------


def sdk_command(name: str, **given: Any) -> Command:
    """*name* with the SDK's keys and default values, *given* overriding them."""
    defaults: dict[str, dict[str, Any]] = {
        "read": {"attempts": 10, "max_digits": 20, "timeout_ms": 30000},
        "record": {"silence": 0},
        "dialout": {"cli": "BLOCKED", "ringtone": "RING", "whisper": 0, "cdr_field": ""},
        "send_dtmf": {"duration_ms": 500, "timeout_ms": 500},
        "simple_conference": {"auto_leave_when_alone": True},
        "start_call_recording": {"announce": 0},
        "stop_call_recording": {"announce": 0},
        "wait": {"seconds": 1},
        "conference": {
            "auto_leave_announce": 0,
            "auto_leave_when_alone": False,
            "pin_code": "",
            "pin_error": 0,
            "pin_max_tries": 3,
            "pin_prompt": 0,
            "pin_valid": 0,
            "pin_wait": 5,
            "user_join": 0,
            "user_leave": 0,
            "waiting": 0,
            "welcome": 0,
        },
    }
    return name, {**defaults.get(name, {}), **given}
