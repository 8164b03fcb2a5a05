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

Time: the sandbox's clock (``sb.now()``) is the wall clock unless told otherwise --
``Sandbox(start="2026-03-28T10:00[Europe/Paris]")``, ``sb.set_time(...)``, or one call's own
``call_in(..., at=...)``. CALLR's ``date_started`` follows it, and a callback server serving with
``clock=sb.now`` sees each call's moment, its clock running with the simulated durations::

    with Sandbox(start="2026-03-28T17:59:50+01:00") as sb, serve(flow, clock=sb.now) as server:
        ...
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from tornado.httpserver import HTTPServer

from flowbuilder._listen import check_port, listen
from flowbuilder._loopthread import LoopThread
from flowbuilder._rerun import Live
from flowbuilder.callr import jsonrpc
from flowbuilder.callr.constants import ANSWER_WINDOW_S, E164
from flowbuilder.callr.rpc import AsyncCallrClient, CallrClient
from flowbuilder.callr.types import App, Did
from flowbuilder.clock import Moment, date_started, instant
from flowbuilder.phone import CallSetup, Script, Transcript, script_of
from flowbuilder.sandbox.account import DEFAULT_CLIS, DEFAULT_DIDS, Account, DidRecord
from flowbuilder.sandbox.api import Api
from flowbuilder.sandbox.calls import Clock, Phones, SandboxCall, Timeline
from flowbuilder.sandbox.http import HARD_MAX_BODY, MAX_BODY, Auth, make_app
from flowbuilder.sandbox.switchboard import Switchboard

log = logging.getLogger("flowbuilder.sandbox")

DEMO_LOGIN: Final = "sandbox"
DEFAULT_CALLER: Final = "+33639980001"
# Sandboxes started on a fixed port in this process: re-running a notebook cell replaces one.
_RUNNING: Final = Live["Sandbox"]("sandbox")


class Sandbox:
    """A CALLR lookalike: the JSON-RPC API, an account with DIDs, and simulated phones.

    Credentials: ``login``/``password`` (HTTP Basic) and/or ``api_key``; with none given, demo
    ones are made up (:meth:`connection_info` shows them). ``db``: a SQLite file that keeps apps
    and DID assignments across restarts (memory only by default). ``clock``: ``simulated`` (calls
    end at once) or ``real`` (commands take their time). ``start``: the moment the sandbox's time
    starts at, ISO 8601 with its zone or an aware datetime (default: now; see :meth:`now`).
    ``answer_timeout_s``: how long a callback server has to answer each POST.
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
        answer_timeout_s: float = ANSWER_WINDOW_S,
        dids: Iterable[DidRecord] = DEFAULT_DIDS,
        clis: Iterable[str] = DEFAULT_CLIS,
        error_codes: Mapping[str, int] | None = None,
        max_body: int = MAX_BODY,
        start: Moment | None = None,
    ) -> None:
        check_port(port)
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
        self.timeline = Timeline(None if start is None else instant(start))
        self.switchboard = Switchboard(self.timeline)
        self.account: Account | None = None
        self._thread: LoopThread | None = None
        self._server: HTTPServer | None = None
        self._client: CallrClient | None = None
        self._clients: list[CallrClient] = []

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
        return self._thread is not None and self._thread.running

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
            previous = _RUNNING.previous((self.host, self._port))
            if previous is not None and previous is not self:
                log.info("stopping the sandbox already on port %s", self._port)
                previous.stop()
        sockets = listen(self.host, self._port)
        self._port = sockets[0].getsockname()[1]
        if self.account is None or self._db is not None:  # memory state outlives a restart
            self.account = Account(dids=self._did_seed, clis=self._cli_seed, db=self._db)
        self._thread = LoopThread(f"flowbuilder-sandbox-{self._port}")
        try:
            self._thread.start(lambda: self._serve(sockets))
        except BaseException:
            for sock in sockets:
                sock.close()
            self._thread = None
            raise
        _RUNNING.claim((self.host, self._port), self)
        return self

    async def _serve(self, sockets: list[Any]) -> None:
        assert self.account is not None
        assert self._thread is not None
        self.switchboard.phones = Phones(
            clock=self.clock, answer_timeout_s=self.answer_timeout_s, timeline=self.timeline
        )
        self.switchboard.schedule = self._thread.soon
        api = Api(self.account, self.switchboard, self._codes)
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
        if self.switchboard.phones is not None:
            await self.switchboard.phones.aclose()

    def stop(self) -> None:
        """Stop serving and end calls in progress (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.stop(self._shutdown)
        self.switchboard.schedule = None
        self.switchboard.unfollow_all()
        for client in [self._client, *self._clients]:
            if client is not None:
                client.close()
        self._client, self._clients = None, []
        _RUNNING.release((self.host, self._port), self)
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
            f"{len(self.switchboard)} calls, clock={self.clock}>"
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

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        """The sandbox's time, epoch seconds: give it to ``serve(flow, clock=sb.now)``.

        It ticks like the wall clock from where it was set (``start``, :meth:`set_time`), and
        each call sets it to the moment of every POST it sends (the call's start plus its own
        simulated clock), so the server sees each call's time. Calls start at this time unless
        given their own ``at``.
        """
        return self.timeline.now()

    def set_time(self, at: Moment) -> None:
        """Move the sandbox's time to *at* (ISO 8601 with its zone, an aware datetime, or epoch
        seconds); calls placed from now on, ``calls.realtime`` included, start there."""
        self.timeline.set(instant(at))

    # -- phones -------------------------------------------------------------------------------

    @property
    def callees(self) -> dict[str, Script]:
        """How numbers called by ``calls.realtime`` behave, by number."""
        return self.switchboard.callees

    def set_callee(
        self, number: str, script: Script | Mapping[str, Any] | Sequence[str | None] | None
    ) -> None:
        """How *number* behaves when ``calls.realtime`` rings it (default: answers, silent)."""
        self.switchboard.set_callee(number, script)

    def call_in(
        self,
        did: str | Did,
        from_number: str = DEFAULT_CALLER,
        script: Script | Mapping[str, Any] | Sequence[str | None] | None = None,
        *,
        cli_name: str = "",
        timeout: float | None = 300.0,
        at: Moment | None = None,
    ) -> Transcript:
        """An inbound call to *did* (number or hash) from *from_number*; blocks until it ends.

        *at*: when the call starts (ISO 8601 with its zone, an aware datetime); by default the
        sandbox's time, :meth:`now`.
        """
        if self._thread is not None and self._thread.in_thread():
            raise RuntimeError("call_in would block the sandbox's own loop: use start_call_in")
        call = self.start_call_in(did, from_number, script, cli_name=cli_name, at=at)
        return call.result(timeout)

    def start_call_in(
        self,
        did: str | Did,
        from_number: str = DEFAULT_CALLER,
        script: Script | Mapping[str, Any] | Sequence[str | None] | None = None,
        *,
        cli_name: str = "",
        at: Moment | None = None,
    ) -> SandboxCall:
        """Like :meth:`call_in` without waiting: ``.result(timeout)`` or ``await`` the call."""
        started = self.timeline.now() if at is None else instant(at)
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
            callid=self.switchboard.new_callid(),
            number=record.intl_number,
            cli_number=from_number,
            cli_name=cli_name,
            date_started=date_started(started),
        )
        call = SandboxCall(
            setup, script_of(script), url=app.url, auth=app.basic_auth, started=started
        )
        self.switchboard.launch(call)
        return call

    def subscribe(self, callback: Callable[[SandboxCall], object]) -> Callable[[], None]:
        """Call *callback(call)* when each call ends (from the sandbox's thread: keep it quick);
        returns the function that unsubscribes."""
        return self.switchboard.subscribe(callback)

    # -- transcripts --------------------------------------------------------------------------

    def follow(self, server: Any) -> Callable[[], None]:
        """Fill in the node path of each call's transcript from a callback server running in
        this process (a ``ServerHandle``, or anything with ``subscribe(callback)`` whose events
        carry ``callid`` and ``path``). CALLR itself never learns the path; this is for tests and
        notebooks. Following the same server again changes nothing. Returns the function that
        stops following."""
        return self.switchboard.follow(server)

    @property
    def calls(self) -> list[SandboxCall]:
        """Every call so far, oldest first."""
        return self.switchboard.calls

    def call(self, key: int | str) -> SandboxCall:
        """A call by callid or request hash."""
        return self.switchboard.call(key)

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
