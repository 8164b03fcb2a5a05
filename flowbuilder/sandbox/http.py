"""The sandbox's HTTP side (Tornado): CALLR's JSON-RPC endpoint plus a small control API.

``POST /json-rpc/v1.1/``: the JSON-RPC API. Bad or missing credentials get HTTP 401 (CALLR
answers a failed login with a 4xx, not a JSON-RPC error); every other problem, including a body
that is not JSON or is too large, gets a JSON-RPC error with HTTP 200, as the official SDKs expect
(they turn any other status into a bare ``HTTP_CODE_ERROR``). Bodies are read as a stream and
only the first ``max_body`` bytes are kept, so a huge body costs no memory.

``/sandbox/...`` (same credentials) lets a sandbox started from the command line be driven over
HTTP: ``GET /sandbox/calls``, ``GET /sandbox/calls/<callid or request hash>``,
``POST /sandbox/call_in`` (``{"did", "from", "script", "at", "wait"}``) and
``PUT /sandbox/callees/<number>`` (a script object).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from tornado.web import Application, RequestHandler, stream_request_body

from flowbuilder.callr import jsonrpc
from flowbuilder.callr.jsonrpc import RpcFault
from flowbuilder.callr.nesting import depth_error, too_deep

if TYPE_CHECKING:
    from flowbuilder.sandbox.api import Api
    from flowbuilder.sandbox.sandbox import Sandbox

log = logging.getLogger("flowbuilder.sandbox")

MAX_BODY: Final = 1024 * 1024  # larger JSON-RPC bodies get INVALID_REQUEST [body]
HARD_MAX_BODY: Final = 64 * 1024 * 1024  # beyond this Tornado answers 400 and closes
#: The control API's bodies (a script, a call to place) are read whole, so they are kept small.
CONTROL_MAX_BODY: Final = 256 * 1024
JSON_TYPE: Final = "application/json; charset=utf-8"


class Auth:
    """The credentials the sandbox accepts; compared in constant time."""

    def __init__(self, login: str | None, password: str | None, api_key: str | None) -> None:
        self._login = login
        self._password = password
        self._api_key = api_key

    def __repr__(self) -> str:
        modes = [m for m, on in (("basic", self._login), ("api-key", self._api_key)) if on]
        return f"Auth({', '.join(modes)})"

    def problem(self, authorization: str | None, login_as: str | None) -> str | None:
        """Why the request is refused, or None."""
        if login_as is not None:
            try:
                jsonrpc.parse_login_as(login_as)
            except ValueError as exc:
                return f"bad {jsonrpc.LOGIN_AS_HEADER} header: {exc}"
        auth = jsonrpc.parse_authorization(authorization)
        if auth is None:
            return "authentication required: Authorization: Basic ... or Api-Key ..."
        if auth.mode == "api-key":
            if self._api_key and hmac.compare_digest(auth.api_key, self._api_key):
                return None
            return "unknown API key"
        if (
            self._login
            and self._password
            and hmac.compare_digest(auth.login, self._login)
            and hmac.compare_digest(auth.password, self._password)
        ):
            return None
        return "wrong login or password"


class _Authenticated(RequestHandler):
    auth: Auth

    def _refuse(self) -> bool:
        """Answer 401 and return True when the credentials are wrong."""
        problem = self.auth.problem(
            self.request.headers.get("Authorization"),
            self.request.headers.get(jsonrpc.LOGIN_AS_HEADER),
        )
        if problem is None:
            return False
        self.set_status(401)
        self.set_header("WWW-Authenticate", 'Basic realm="CALLR sandbox"')
        self._unauthorized(problem)
        return True

    def _unauthorized(self, problem: str) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"401 Unauthorized: {problem}\n")

    def _json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", JSON_TYPE)
        self.finish(json.dumps(data, ensure_ascii=False))


@stream_request_body
class RpcHandler(_Authenticated):
    """``POST /json-rpc/v1.1/``."""

    def initialize(self, api: Api, auth: Auth, max_body: int = MAX_BODY) -> None:
        self.api = api
        self.auth = auth
        self.max_body = max_body
        self._chunks: list[bytes] = []
        self._size = 0

    def prepare(self) -> None:
        if self.request.method == "POST":
            self.request.connection.set_max_body_size(HARD_MAX_BODY)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.max_body:
            self._chunks.append(chunk)
        else:
            self._chunks = []

    def post(self) -> None:
        if self._refuse():
            return
        request_id: Any = None
        status = 200
        try:
            if self._size > self.max_body:
                raise RpcFault.of(
                    "INVALID_REQUEST",
                    "body",
                    f"the body is {self._size} bytes; the limit is {self.max_body}",
                )
            request = jsonrpc.parse_request(b"".join(self._chunks))
            request_id = request.id
            body = jsonrpc.render_result(
                request_id, self.api.dispatch(request.method, request.params)
            )
        except RpcFault as fault:
            body = jsonrpc.render_error(fault.request_id or request_id, fault)
        except Exception:  # a bug in the sandbox: a clean JSON-RPC error, never a dropped request
            log.exception("sandbox JSON-RPC request failed")
            status = 500
            body = jsonrpc.render_error(request_id, RpcFault.of("INTERNAL_ERROR"))
        self.set_status(status)
        self.set_header("Content-Type", JSON_TYPE)
        self.finish(body)

    def get(self) -> None:
        self.set_status(405)
        self.set_header("Allow", "POST")
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("405: the CALLR JSON-RPC API takes POST requests\n")


@stream_request_body  # bounded while it arrives, like the JSON-RPC body
class _Control(_Authenticated):
    """The control API: every answer is JSON, refusals included."""

    def _unauthorized(self, problem: str) -> None:
        self._json({"error": f"unauthorized: {problem}"}, 401)

    def initialize(self, sandbox: Sandbox, auth: Auth) -> None:
        self.sandbox = sandbox
        self.auth = auth
        self._chunks: list[bytes] = []
        self._size = 0

    def prepare(self) -> None:
        self.request.connection.set_max_body_size(HARD_MAX_BODY)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= CONTROL_MAX_BODY:
            self._chunks.append(chunk)
        else:
            self._chunks = []

    def _body(self) -> dict[str, Any]:
        if self._size > CONTROL_MAX_BODY:
            raise ValueError(f"the body is {self._size} bytes; the limit is {CONTROL_MAX_BODY}")
        body = b"".join(self._chunks) or b"{}"
        if too_deep(body):
            raise ValueError(depth_error("the body"))
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the body is not valid JSON: {exc}") from None
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    async def _guard(self, action: Callable[[], Awaitable[None]]) -> None:
        if self._refuse():
            return
        try:
            await action()
        except (ValueError, TypeError, LookupError) as exc:
            text = str(exc.args[0]) if exc.args else type(exc).__name__
            self._json({"error": text}, 404 if isinstance(exc, LookupError) else 400)


class CallsHandler(_Control):
    """``GET /sandbox/calls`` and ``GET /sandbox/calls/<key>``."""

    async def get(self, key: str | None = None) -> None:
        async def act() -> None:
            if key is None:
                self._json([c.to_json() for c in self.sandbox.calls])
            else:
                callid = int(key) if key.isascii() and key.isdigit() else key
                self._json(self.sandbox.call(callid).to_json())

        await self._guard(act)


class CallInHandler(_Control):
    """``POST /sandbox/call_in``: an inbound call to a DID from a simulated caller."""

    async def post(self) -> None:
        async def act() -> None:
            data = self._body()
            script = data.get("script")
            if script is not None and not isinstance(script, dict | list):
                raise ValueError('script must be an object, e.g. {"presses": ["1"]}')
            at = data.get("at")
            if isinstance(at, bool) or not isinstance(at, str | int | float | None):
                raise ValueError('at must be a moment with its zone, e.g. "2026-03-28T13:00+01:00"')
            call = self.sandbox.start_call_in(
                str(data.get("did", "")), str(data.get("from", "+33639980001")), script, at=at
            )
            if data.get("wait", True):
                await call
            self._json(call.to_json())

        await self._guard(act)


class CalleeHandler(_Control):
    """``PUT /sandbox/callees/<number>``: how that number behaves when called."""

    async def put(self, number: str) -> None:
        async def act() -> None:
            self.sandbox.set_callee(number, self._body())
            self._json({"number": number, "script": self.sandbox.callees[number].to_json()})

        await self._guard(act)


def make_app(api: Api, auth: Auth, sandbox: Sandbox, *, max_body: int = MAX_BODY) -> Application:
    control = {"sandbox": sandbox, "auth": auth}
    return Application(
        [
            (jsonrpc.API_PATH, RpcHandler, {"api": api, "auth": auth, "max_body": max_body}),
            (r"/sandbox/calls", CallsHandler, control),
            (r"/sandbox/calls/([^/]+)", CallsHandler, control),
            (r"/sandbox/call_in", CallInHandler, control),
            (r"/sandbox/callees/([^/]+)", CalleeHandler, control),
        ],
        log_function=_log_request,
    )


def _log_request(handler: RequestHandler) -> None:
    # quiet by default: 1,000 calls should not print 1,000 lines
    log.debug(
        "%s %s %s %.1f ms",
        handler.get_status(),
        handler.request.method,
        handler.request.path,
        handler.request.request_time() * 1000,
    )
