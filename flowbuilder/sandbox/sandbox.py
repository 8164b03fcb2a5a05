"""``Sandbox``: a local CALLR on loopback, for tests, notebooks and the command line.

It runs Tornado on its own event loop in a background thread, so plain (blocking) calls work from
anywhere else -- a notebook cell included, whose kernel loop is never blocked on itself::

    with Sandbox() as sb:                          # or sb = Sandbox().start() in a notebook
        client = sb.client()                       # a CallrClient for it
        app = client.apps.create("Support", url=server.url)
        did = client.apps.get_dids(only_available=True)[0]
        client.apps.assign_did(app, did)
        transcript = sb.call_in(did.intl_number, "+33639980001", Script(presses=["1"]))
        sb.set_callee("+447890123456", Script(answer="busy"))
        request_hash = client.calls.realtime(app, "+447890123456")
        sb.wait_for(request_hash).status            # 'busy'
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from flowbuilder._subscribers import Subscribers
from flowbuilder.callr import jsonrpc, wire
from flowbuilder.callr.rpc import AsyncCallrClient, CallrClient
from flowbuilder.callr.types import App, Did
from flowbuilder.phone import CallSetup, Script, Transcript, script_of
from flowbuilder.sandbox.account import (
    DEFAULT_CLIS,
    DEFAULT_DIDS,
    Account,
    AppRecord,
    DidRecord,
    new_hash,
    utc_now,
)
from flowbuilder.sandbox.api import E164, Api
from flowbuilder.sandbox.calls import Clock, Phones, SandboxCall
from flowbuilder.sandbox.http import HARD_MAX_BODY, MAX_BODY, Auth, make_app

log = logging.getLogger("flowbuilder.sandbox")

DEMO_LOGIN: Final = "sandbox"
DEFAULT_CALLER: Final = "+33639980001"
#: Calls (transcripts and exchanges) kept for lookup; past it the oldest is forgotten.
MAX_CALLS_KEPT: Final = 10_000
#: Numbers with a callee script of their own (``set_callee``).
MAX_CALLEES: Final = 10_000
# Sandboxes started on a fixed port in this process: re-running a notebook cell replaces one.
_RUNNING: weakref.WeakValueDictionary[tuple[str, int], Sandbox] = weakref.WeakValueDictionary()


class Sandbox:
    """A CALLR lookalike: the JSON-RPC API, an account with DIDs, and simulated phones.

    Credentials: ``login``/``password`` (HTTP Basic) and/or ``api_key``; with none given, demo
    ones are made up (:meth:`connection_info` shows them). ``db``: a SQLite file that keeps apps
    and DID assignments across restarts (memory only by default). ``clock``: ``simulated`` (calls
    end at once) or ``real`` (commands take their time). ``answer_timeout_s``: how long a callback
    server has to answer each POST.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        login: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        db: str | Path | None = None,
        clock: Clock = "simulated",
        answer_timeout_s: float = wire.ANSWER_WINDOW_S,
        dids: Iterable[DidRecord] = DEFAULT_DIDS,
        clis: Iterable[str] = DEFAULT_CLIS,
        error_codes: Mapping[str, int] | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        if clock not in ("simulated", "real"):
            raise ValueError(f"clock must be 'simulated' or 'real', got {clock!r}")
        if (login is None) != (password is None):
            raise ValueError("give both login and password, or neither")
        if login is None and api_key is None:
            login, password = DEMO_LOGIN, secrets.token_urlsafe(12)
            api_key = secrets.token_hex(16)
        self.host = host
        self._port = port
        self._login, self._password, self._api_key = login, password, api_key
        self.clock: Clock = clock
        self.answer_timeout_s = answer_timeout_s
        self.max_body = max_body
        self._db = db
        self._did_seed = tuple(dids)
        self._cli_seed = tuple(clis)
        self._codes = dict(error_codes or {})
        self.callees: dict[str, Script] = {}
        self._calls: dict[int, SandboxCall] = {}
        self._by_hash: dict[str, SandboxCall] = {}
        self._lock = threading.Lock()
        self.account: Account | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: HTTPServer | None = None
        self._phones: Phones | None = None
        self._client: CallrClient | None = None
        self._clients: list[CallrClient] = []
        self._subscribers = Subscribers[SandboxCall](log, "sandbox")

    # -- credentials --------------------------------------------------------------------------

    @property
    def login(self) -> str | None:
        return self._login

    @property
    def password(self) -> str | None:
        return self._password

    @property
    def api_key(self) -> str | None:
        return self._api_key

    def connection_info(self) -> str:
        """The API URL and the credentials it accepts (this text shows the secrets)."""
        lines = [f"CALLR sandbox API: {self.url}"]
        if self._login:
            lines.append(f"  login:    {self._login}")
            lines.append(f"  password: {self._password}")
        if self._api_key:
            lines.append(f"  api key:  {self._api_key}")
        return "\n".join(lines)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        # listening on every address: clients on this machine reach it on loopback
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    @property
    def url(self) -> str:
        """The JSON-RPC API URL (give it to ``CallrClient(url=...)`` or ``api.set_api_url``)."""
        return f"{self.base_url}{jsonrpc.API_PATH}"

    def start(self) -> Sandbox:
        """Start serving (idempotent); returns the sandbox."""
        if self.running:
            return self
        if self._port:
            previous = _RUNNING.get((self.host, self._port))
            if previous is not None and previous is not self:
                log.info("stopping the sandbox already on port %s", self._port)
                previous.stop()
        sockets = bind_sockets(self._port, self.host)
        self._port = sockets[0].getsockname()[1]
        if self.account is None or self._db is not None:  # memory state outlives a restart
            self.account = Account(dids=self._did_seed, clis=self._cli_seed, db=self._db)
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(sockets))
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"flowbuilder-sandbox-{self._port}")
        self._thread.daemon = True
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        _RUNNING[(self.host, self._port)] = self
        return self

    async def _serve(self, sockets: list[Any]) -> None:
        assert self.account is not None
        self._phones = Phones(clock=self.clock, answer_timeout_s=self.answer_timeout_s)
        api = Api(self.account, self, self._codes)
        auth = Auth(self._login, self._password, self._api_key)
        app = make_app(api, auth, self, max_body=self.max_body)
        self._server = HTTPServer(
            app, max_body_size=HARD_MAX_BODY, idle_connection_timeout=60, body_timeout=30
        )
        self._server.add_sockets(sockets)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
        if self._phones is not None:
            await self._phones.aclose()

    def stop(self) -> None:
        """Stop serving and end calls in progress (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        self._thread = None
        self._loop = None
        for client in [self._client, *self._clients]:
            if client is not None:
                client.close()
        self._client, self._clients = None, []
        if _RUNNING.get((self.host, self._port)) is self:
            del _RUNNING[(self.host, self._port)]
        if self.account is not None:
            self.account.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        apps = len(self.account.apps) if self.account else 0
        return (
            f"<Sandbox {self.url if self.running else self.base_url} {state}, {apps} apps, "
            f"{len(self._calls)} calls, clock={self.clock}>"
        )

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(repr(self))}</code>"

    # -- clients ------------------------------------------------------------------------------

    def _client_auth(self) -> dict[str, Any]:
        if self._api_key:
            return {"api_key": self._api_key}
        return {"login": self._login, "password": self._password}

    def client(self, **options: Any) -> CallrClient:
        """A :class:`CallrClient` pointed at this sandbox with its credentials.

        Without options it is the same client each time; every client made here is closed
        when the sandbox stops.
        """
        self._require_running()
        if not options and self._client is not None:
            return self._client
        client = CallrClient(url=self.url, **{**self._client_auth(), **options})
        if options:
            self._clients.append(client)
        else:
            self._client = client
        return client

    def async_client(self, **options: Any) -> AsyncCallrClient:
        """An :class:`AsyncCallrClient` for this sandbox (close it with ``aclose()``)."""
        self._require_running()
        return AsyncCallrClient(url=self.url, **{**self._client_auth(), **options})

    # -- the account --------------------------------------------------------------------------

    @property
    def apps(self) -> list[App]:
        account = self._require_running()
        return [App.from_json(account.app_json(a)) for a in account.list_apps()]

    @property
    def dids(self) -> list[Did]:
        account = self._require_running()
        return [Did.from_json(d.to_json()) for d in account.list_dids()]

    # -- phones -------------------------------------------------------------------------------

    def set_callee(
        self, number: str, script: Script | Mapping[str, Any] | Sequence[str | None] | None
    ) -> None:
        """How *number* behaves when ``calls.realtime`` rings it (default: answers, silent)."""
        if not E164.match(number):
            raise ValueError(f"number must be +E164, e.g. +447890123456; got {number!r}")
        behaviour = script_of(script)
        with self._lock:
            if number not in self.callees and len(self.callees) >= MAX_CALLEES:
                raise ValueError(f"the sandbox keeps scripts for {MAX_CALLEES} numbers at most")
            self.callees[number] = behaviour

    def call_in(
        self,
        did: str | Did,
        from_number: str = DEFAULT_CALLER,
        script: Script | Mapping[str, Any] | Sequence[str | None] | None = None,
        *,
        cli_name: str = "",
        timeout: float | None = 300.0,
    ) -> Transcript:
        """An inbound call to *did* (number or hash) from *from_number*; blocks until it ends."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("call_in would block the sandbox's own loop: use start_call_in")
        return self.start_call_in(did, from_number, script, cli_name=cli_name).result(timeout)

    def start_call_in(
        self,
        did: str | Did,
        from_number: str = DEFAULT_CALLER,
        script: Script | Mapping[str, Any] | Sequence[str | None] | None = None,
        *,
        cli_name: str = "",
    ) -> SandboxCall:
        """Like :meth:`call_in` without waiting: ``.result(timeout)`` or ``await`` the call."""
        account = self._require_running()
        key = did.hash if isinstance(did, Did) else did
        record = account.find_did(key)
        if record is None:
            raise LookupError(f"no DID {key!r} on the sandbox account")
        app = account.app(record.app) if record.app else None
        if app is None:
            raise LookupError(f"DID {record.intl_number} is not assigned to an app")
        if from_number and not E164.match(from_number):
            raise ValueError(f"from_number must be +E164 or empty, got {from_number!r}")
        setup = CallSetup(
            app=app.hash,
            callid=self._new_callid(),
            number=record.intl_number,
            cli_number=from_number,
            cli_name=cli_name,
            date_started=utc_now(),
        )
        call = SandboxCall(setup, script_of(script), url=app.url, auth=app.basic_auth)
        self._launch(call)
        return call

    # CallControl, used by the API (on the sandbox's loop) ----------------------------------

    def place_call(
        self, app: AppRecord, number: str, ring_timeout_s: int, cdr_field: str, cli: str
    ) -> str:
        with self._lock:
            request_hash = new_hash(self._by_hash)
            script = self.callees.get(number) or Script()
        setup = CallSetup(
            app=app.hash,
            callid=self._new_callid(),
            number=number,
            cli_number="" if cli == "BLOCKED" else cli,
            request_hash=request_hash,
            cdr_field=cdr_field,
            date_started=utc_now(),
            ring_timeout_s=ring_timeout_s,
        )
        self._launch(SandboxCall(setup, script, url=app.url, auth=app.basic_auth))
        return request_hash

    def hangup(self, callid: int) -> bool | None:
        call = self._calls.get(callid)
        if call is None:
            return None
        if call.done:
            return False
        call.hangup_requested = True
        if call._wake is not None:
            call._wake.set()
        return True

    def realtime_break(self, callid: int) -> bool | None:
        call = self._calls.get(callid)
        if call is None:
            return None
        if call.done or not call.pausing or call._wake is None:
            return False
        call._wake.set()
        return True

    def _new_callid(self) -> int:
        with self._lock:
            while True:
                # 64-bit on CALLR's side; kept below 2**53 so JavaScript reads it exactly
                callid = secrets.randbelow(2**53 - 10**9) + 10**9
                if callid not in self._calls:
                    return callid

    def _launch(self, call: SandboxCall) -> None:
        with self._lock:
            while len(self._calls) >= MAX_CALLS_KEPT:  # forget the oldest call: O(1)
                oldest = self._calls.pop(next(iter(self._calls)))
                self._by_hash.pop(oldest.request_hash or "", None)
            self._calls[call.callid] = call
            if call.request_hash:
                self._by_hash[call.request_hash] = call
        call.future.add_done_callback(lambda _: self._ended(call))
        self._on_loop(lambda: self._start_call(call))

    def subscribe(self, callback: Callable[[SandboxCall], object]) -> Callable[[], None]:
        """Call *callback(call)* when each call ends (from the sandbox's thread: keep it quick);
        returns the function that unsubscribes."""
        return self._subscribers.add(callback)

    def _ended(self, call: SandboxCall) -> None:
        self._subscribers.publish(call)

    def _start_call(self, call: SandboxCall) -> None:
        assert self._phones is not None
        self._phones.start(call)

    # -- transcripts --------------------------------------------------------------------------

    def follow(self, server: Any) -> Callable[[], None]:
        """Fill in the node path of each call's transcript from a callback server running in
        this process (a ``ServerHandle``, or anything with ``subscribe(callback)`` whose events
        carry ``callid`` and ``path``). CALLR itself never learns the path; this is for tests and
        notebooks. Returns the function that stops following."""

        def on_event(event: Any) -> None:
            path = getattr(event, "path", ())
            call = self._calls.get(getattr(event, "callid", None) or 0)
            if call is not None and path:
                call.transcript.path.extend(path)

        unsubscribe: Callable[[], None] = server.subscribe(on_event)
        return unsubscribe

    @property
    def calls(self) -> list[SandboxCall]:
        """Every call so far, oldest first."""
        with self._lock:
            return list(self._calls.values())

    def call(self, key: int | str) -> SandboxCall:
        """A call by callid or request hash."""
        with self._lock:
            found = self._calls.get(key) if isinstance(key, int) else self._by_hash.get(key)
        if found is None:
            raise LookupError(f"no call {key!r} in the sandbox")
        return found

    def transcript(self, key: int | str) -> Transcript:
        """The transcript of a call (by callid or request hash), finished or not."""
        return self.call(key).transcript

    def wait_for(self, key: int | str, timeout: float | None = 30.0) -> Transcript:
        """Wait until the call is over; its transcript."""
        return self.call(key).result(timeout)

    def calls_json(self) -> list[dict[str, Any]]:
        """Every call (transcript and HTTP exchanges) as JSON-ready data."""
        return [c.to_json() for c in self.calls]

    # -- loop plumbing ------------------------------------------------------------------------

    def _require_running(self) -> Account:
        if not self.running or self.account is None:
            raise RuntimeError("the sandbox is not running: call sb.start() or use `with`")
        return self.account

    def _on_loop(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the sandbox is not running")
        if threading.current_thread() is self._thread:
            fn()
        else:
            loop.call_soon_threadsafe(fn)
