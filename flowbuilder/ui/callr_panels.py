"""Cells for the CALLR side: connect, create the REALTIME10 app, assign a DID, place a test call.

Each step is a plain function and a small widget panel doing the same thing::

    conn = connect()                                   # the local sandbox; or ConnectPanel()
    server = fb.serve(flow); builder.watch(server)
    app = create_app(conn, server)                     # or AppPanel(conn, server)
    did = assign_did(conn, app)                        # or DidPanel(conn, app)
    transcript = place_call(conn, app, "+447890123456", script=Script(presses=["2"]))
    CallPanel(conn, app, builder)                  # the same, with the path on the canvas

A panel takes the previous step's result or its panel (then it uses what that panel made when
its button is clicked), so a notebook can be run top to bottom and clicked through.

Credentials come from arguments, the environment (``CALLR_API_KEY``, or ``CALLR_LOGIN`` and
``CALLR_PASSWORD``) or the ConnectPanel's password field, which is read and cleared at once: a
secret never stays in widget state, so it is never saved in the notebook, echoed or logged.
"""

from __future__ import annotations

import asyncio
import html
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flowbuilder.callr.constants import CLI_BLOCKED
from flowbuilder.callr.jsonrpc import DEFAULT_URL, ENV_API_KEY, ENV_LOGIN, ENV_PASSWORD
from flowbuilder.callr.rpc import CallrClient
from flowbuilder.callr.types import App, Did
from flowbuilder.errors import FlowbuilderError
from flowbuilder.phone import NEVER_ANSWERED, AnswerMode, Script, Transcript
from flowbuilder.sandbox import Sandbox
from flowbuilder.ui._widgets import widgets

Target = Literal["sandbox", "callr"]
DEFAULT_TEST_NUMBER = "+447890123456"
CALL_TIMEOUT_S = 120.0
FULL = widgets.Layout(width="100%")
STYLE = {"description_width": "110px"}

_shared_sandbox: Sandbox | None = None
_sandbox_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """The notebook's sandbox: started on first use, reused when cells run again (its apps and
    DIDs stay)."""
    global _shared_sandbox
    with _sandbox_lock:
        if _shared_sandbox is None or not _shared_sandbox.running:
            _shared_sandbox = Sandbox().start()
        return _shared_sandbox


@dataclass
class Connection:
    """A CALLR API client and, for the sandbox, the sandbox it talks to."""

    client: CallrClient
    sandbox: Sandbox | None = None

    @property
    def target(self) -> str:
        return "sandbox" if self.sandbox is not None else "callr"

    def __repr__(self) -> str:  # never the credentials
        where = "the local sandbox" if self.sandbox is not None else "CALLR"
        return f"<Connection to {where} at {self.client.url} ({self.client.auth_mode})>"

    def close(self) -> None:
        self.client.close()


def connect(
    target: Target = "sandbox",
    *,
    login: str | None = None,
    password: str | None = None,
    api_key: str | None = None,
    url: str = DEFAULT_URL,
    sandbox: Sandbox | None = None,
) -> Connection:
    """Connect to the sandbox (default; *sandbox* or the shared one) or to CALLR with the
    given credentials, else those in the environment."""
    if target == "sandbox":
        sb = sandbox or shared_sandbox()
        return Connection(sb.client(), sb)
    if target != "callr":
        raise ValueError(f"target must be 'sandbox' or 'callr', got {target!r}")
    # no credentials anywhere: CallrAuthError says where to put them
    client = CallrClient(login, password, api_key=api_key, url=url)
    try:
        client.apps.get_list(False)  # fails now, with the reason, if CALLR refuses them
    except BaseException:
        client.close()
        raise
    return Connection(client)


def create_app(
    conn: Connection,
    server: Any,
    name: str | None = None,
    *,
    login: str = "",
    password: str = "",
) -> App:
    """The REALTIME10 app that posts to *server*'s URL (``fb.serve(...)``'s handle, or a URL);
    an app of the same name and URL is reused, so running the cell again makes no duplicate.
    *login*/*password*: the HTTP Basic credentials the server was started with."""
    url = server if isinstance(server, str) else str(server.url)
    name = name or (getattr(server, "name", None) or "flowbuilder")
    if conn.sandbox is not None and hasattr(server, "subscribe"):
        _follow_once(conn.sandbox, server)  # transcripts then show the path through the flow
    for app in conn.client.apps.get_list(True):
        if app.name == name and app.url == url and app.login == login:
            return app
    return conn.client.apps.create(name, url=url, login=login, password=password)


_followed: weakref.WeakKeyDictionary[Sandbox, dict[int, Any]] = weakref.WeakKeyDictionary()


def _follow_once(sandbox: Sandbox, server: Any) -> None:
    """Let *sandbox* learn each call's node path from *server*, once per pair. Serving the flow
    again (a re-run cell) makes a new handle on the same event log: following it again would
    write every path twice, so the pair is keyed by the event log."""
    log = getattr(server, "events", server)
    following = _followed.setdefault(sandbox, {})
    if id(log) in following and following[id(log)]() is log:
        return
    sandbox.follow(server)
    following[id(log)] = weakref.ref(log)


def available_dids(conn: Connection) -> list[Did]:
    """DIDs no app uses yet."""
    return conn.client.apps.get_dids(True)


def assign_did(conn: Connection, app: App | str, did: Did | str | None = None) -> Did:
    """Route *did* (default: a DID the app already has, else the first free one) to *app*."""
    app_hash = app.hash if isinstance(app, App) else app
    dids = conn.client.apps.get_dids(False)
    if did is None:
        mine = [d for d in dids if d.app == app_hash]
        if mine:
            return mine[0]
        free = [d for d in dids if d.app is None]
        if not free:
            raise LookupError("no free DID on the account: buy one, or free one with remove_did")
        did = free[0]
    key = did.hash if isinstance(did, Did) else did
    found = next((d for d in dids if key in (d.hash, d.intl_number)), None)
    if found is None:
        raise LookupError(f"no DID {key!r} on the account")
    conn.client.apps.assign_did(app_hash, found.hash)
    return next((d for d in conn.client.apps.get_dids(False) if d.hash == found.hash), found)


def place_call(
    conn: Connection,
    app: App | str,
    number: str = DEFAULT_TEST_NUMBER,
    *,
    ring_timeout: int = 30,
    cli: str = CLI_BLOCKED,
    script: Script | Mapping[str, Any] | Sequence[str | None] | None = None,
    timeout: float = CALL_TIMEOUT_S,
) -> Transcript | str:
    """Call *number* through *app* (``calls.realtime``). On the sandbox, *script* says what the
    callee does and the finished call's transcript comes back; on CALLR a real phone rings and
    the request hash comes back (follow the call with ``builder.watch(server)``)."""
    if conn.sandbox is not None:
        conn.sandbox.set_callee(number, script)
    request_hash = conn.client.calls.realtime(app, number, timeout=ring_timeout, cli=cli)
    if conn.sandbox is None:
        return request_hash
    return conn.sandbox.wait_for(request_hash, timeout)


def script_from(presses: str, answer: AnswerMode = "answer") -> Script:
    """A callee script from a panel's fields: ``"1, 2"`` presses 1 then 2; empty stays silent."""
    keys: list[str | None] = (
        [p.strip() or None for p in presses.split(",")] if presses.strip() else []
    )
    return Script(presses=keys, answer=answer)


# -- panels ---------------------------------------------------------------------------------


class _Panel(widgets.VBox):  # type: ignore[misc]
    """Title, fields, one button, a status line."""

    def __init__(
        self, title: str, fields: Sequence[Any], button: str, icon: str, after: Sequence[Any] = ()
    ) -> None:
        self.button = widgets.Button(description=button, icon=icon, button_style="primary")
        self.button.on_click(lambda _b: self._run())
        self.status = widgets.HTML()
        super().__init__(
            [
                widgets.HTML(f"<b>{html.escape(title)}</b>"),
                *fields,
                self.button,
                self.status,
                *after,
            ],
            layout=widgets.Layout(max_width="640px"),
        )
        self.add_class("fb-panel")

    def _run(self) -> None:
        self.button.disabled = True
        try:
            self.status.value = self._done(self.act())
        except (FlowbuilderError, ValueError, LookupError, RuntimeError, TimeoutError) as exc:
            self.fail(_explain(exc, self))
        finally:
            self.button.disabled = False

    def fail(self, text: str) -> None:
        self.status.value = f'<span style="color:#c62828">⚠ {html.escape(text)}</span>'

    def act(self) -> Any:
        raise NotImplementedError

    def _done(self, result: Any) -> str:
        return f"✔ {html.escape(repr(result))}"

    def click(self) -> None:
        """Press the button, as a user would."""
        self.button.click()


def _explain(exc: BaseException, panel: Any) -> str:
    """An error as the user should read it: what went away, and which cells to run again."""
    conn = getattr(panel, "connection", None) or getattr(panel, "_connection", None)
    conn = conn.connection if isinstance(conn, ConnectPanel) else conn
    sandbox = getattr(conn, "sandbox", None)
    if sandbox is not None and not sandbox.running:
        return (
            "The sandbox this panel used was stopped (by conn.sandbox.stop() or a later cell). "
            "Run the cells again from `conn = connect()` (or press Connect in the connection "
            "panel) down to this one."
        )
    if "client has been closed" in str(exc):
        return (
            "The connection this panel used was closed (conn.close() or a later cell). Run the "
            "cells again from `conn = connect()` (or press Connect) down to this one."
        )
    return str(exc)


def _resolve(value: Any, attr: str, step: str) -> Any:
    """A step's result, given the result itself or the panel that makes it."""
    if isinstance(value, _Panel):
        got = getattr(value, attr)
        if got is None:
            raise RuntimeError(f"{step} first (its panel's button)")
        return got
    return value


class ConnectPanel(_Panel):
    """Connect to the sandbox or to CALLR (at *url*); ``.connection`` once connected."""

    def __init__(self, *, url: str = DEFAULT_URL, sandbox: Sandbox | None = None) -> None:
        self._url, self._sandbox = url, sandbox
        self.target = widgets.ToggleButtons(
            options=[("Local sandbox", "sandbox"), ("CALLR account", "callr")],
            value="sandbox",
            description="connect to",
            style=STYLE,
        )
        self.api_key = widgets.Password(description="API key", style=STYLE, layout=FULL)
        self.login = widgets.Text(description="login", style=STYLE, layout=FULL)
        self.password = widgets.Password(description="password", style=STYLE, layout=FULL)
        hint = widgets.HTML(
            f'<span class="fb-field-help">Leave empty to use {ENV_API_KEY} (or {ENV_LOGIN} and '
            f"{ENV_PASSWORD}) from the environment. Secrets are cleared from the form as soon "
            "as they are read, so they are never saved in the notebook.</span>"
        )
        self.account = widgets.VBox(
            [self.api_key, self.login, self.password, hint], layout=widgets.Layout(display="none")
        )
        self.target.observe(self._toggle, names="value")
        self.connection: Connection | None = None
        self._on_connect: list[Callable[[Connection], None]] = []
        super().__init__("CALLR connection", [self.target, self.account], "Connect", "plug")

    def on_connect(self, callback: Callable[[Connection], None]) -> None:
        """Call *callback(connection)* after each successful Connect (other panels refresh)."""
        self._on_connect.append(callback)

    def _toggle(self, change: Mapping[str, Any]) -> None:
        self.account.layout.display = None if change["new"] == "callr" else "none"

    def act(self) -> Connection:
        # read the secrets, then wipe them from the widgets before anything can fail
        api_key, password = self.api_key.value or None, self.password.value or None
        self.api_key.value = self.password.value = ""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        self.connection = connect(
            self.target.value,
            login=self.login.value or None,
            password=password,
            api_key=api_key,
            url=self._url,
            sandbox=self._sandbox,
        )
        for callback in list(self._on_connect):
            callback(self.connection)
        return self.connection

    def _done(self, result: Connection) -> str:
        free = len(available_dids(result))
        where = "the local sandbox" if result.sandbox is not None else "your CALLR account"
        return (
            f"✔ Connected to {where} at <code>{html.escape(str(result.client.url))}</code> · "
            f"{free} free number{'s' if free != 1 else ''}"
        )


class AppPanel(_Panel):
    """Create (or reuse) the REALTIME10 app posting to the running server; ``.app``."""

    def __init__(self, connection: Connection | ConnectPanel, server: Any) -> None:
        self._connection, self._server = connection, server
        url = server if isinstance(server, str) else getattr(server, "url", "")
        self.name = widgets.Text(
            value=str(getattr(server, "name", "") or "flowbuilder"),
            description="app name",
            style=STYLE,
            layout=FULL,
        )
        self.url = widgets.HTML(f"Callback URL: <code>{html.escape(str(url))}</code>")
        self.app: App | None = None
        super().__init__("REALTIME10 app", [self.name, self.url], "Create app", "cogs")

    def act(self) -> App:
        conn = _resolve(self._connection, "connection", "connect")
        self.app = create_app(conn, self._server, self.name.value.strip() or None)
        return self.app

    def _done(self, result: App) -> str:
        return f"✔ app <code>{html.escape(result.hash)}</code> posts to {html.escape(result.url)}"


class DidPanel(_Panel):
    """Pick a DID and route it to the app; ``.did``. The list holds the free numbers and those
    the app already has (marked), and refreshes when the connection panel connects."""

    def __init__(self, connection: Connection | ConnectPanel, app: App | AppPanel) -> None:
        self._connection, self._app = connection, app
        self.choice = widgets.Dropdown(description="DID", style=STYLE, layout=FULL)
        refresh = widgets.Button(description="Refresh", icon="refresh")
        refresh.on_click(lambda _b: self.refresh())
        self.did: Did | None = None
        super().__init__(
            "Phone number (DID)", [widgets.HBox([self.choice, refresh])], "Assign", "phone"
        )
        if isinstance(connection, ConnectPanel):
            connection.on_connect(lambda _conn: self.refresh())
        self.refresh()

    def _app_hash(self) -> str | None:
        app = self._app.app if isinstance(self._app, AppPanel) else self._app
        return app.hash if isinstance(app, App) else None

    def refresh(self) -> None:
        """List the free DIDs and the app's own (nothing yet when not connected)."""
        try:
            conn = _resolve(self._connection, "connection", "connect")
        except RuntimeError:
            self.choice.options = []
            return
        mine = self._app_hash()
        options = []
        for d in conn.client.apps.get_dids(False):
            if d.app is None:
                options.append((f"{d.intl_number} ({d.country_code} {d.type.lower()})", d.hash))
            elif mine is not None and d.app == mine:
                options.append((f"{d.intl_number} · assigned to this app", d.hash))
        keep = self.did.hash if self.did is not None else self.choice.value
        self.choice.options = options
        if keep in [v for _label, v in options]:
            self.choice.value = keep

    def act(self) -> Did:
        conn = _resolve(self._connection, "connection", "connect")
        app = _resolve(self._app, "app", "create the app")
        if not self.choice.options:
            self.refresh()
        self.did = assign_did(conn, app, self.choice.value)
        self.refresh()
        return self.did

    def _done(self, result: Did) -> str:
        return f"✔ calls to <b>{html.escape(result.intl_number)}</b> now reach the app"


class CallPanel(_Panel):
    """Place a test call; shows its transcript and lights its path on the builder's canvas."""

    def __init__(
        self,
        connection: Connection | ConnectPanel,
        app: App | AppPanel,
        builder: Any = None,
        *,
        on_call: Callable[[Transcript | str], None] | None = None,
    ) -> None:
        self._connection, self._app, self._builder, self._on_call = (
            connection,
            app,
            builder,
            on_call,
        )
        self.number = widgets.Text(
            value=DEFAULT_TEST_NUMBER, description="number", style=STYLE, layout=FULL
        )
        self.ring_timeout = widgets.BoundedIntText(
            value=30, min=5, max=300, description="ring timeout (s)", style=STYLE
        )
        self.cli = widgets.Text(
            value=CLI_BLOCKED, description="caller id", style=STYLE, layout=FULL
        )
        self.presses = widgets.Text(
            description="presses",
            placeholder="e.g. 1, 2 (empty: silent)",
            style=STYLE,
            layout=FULL,
        )
        self.answer = widgets.Dropdown(
            options=[("answers", "answer"), *[(m.replace("_", " "), m) for m in NEVER_ANSWERED]],
            value="answer",
            description="callee",
            style=STYLE,
        )
        self.sandbox_only = widgets.VBox(
            [
                widgets.HTML('<span class="fb-field-help">What the sandbox callee does:</span>'),
                self.presses,
                self.answer,
            ]
        )
        self.transcript = widgets.HTML()
        self.transcript.add_class("fb-transcript")
        self.last: Transcript | str | None = None
        self.pending: asyncio.Task[None] | None = None
        super().__init__(
            "Test call",
            [self.number, self.ring_timeout, self.cli, self.sandbox_only],
            "Call",
            "phone",
            after=[self.transcript],
        )

    def act(self) -> Transcript | str:
        """Place the call. On the sandbox inside a kernel, the call runs on while the kernel
        stays free (so the canvas lights its path step by step on a real clock); its
        transcript shows here when it ends. Outside a kernel (a script), it waits."""
        conn = _resolve(self._connection, "connection", "connect")
        app = _resolve(self._app, "app", "create the app")
        number = self.number.value.strip()
        self.transcript.value = ""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if conn.sandbox is None or loop is None:
            script = script_from(self.presses.value, self.answer.value) if conn.sandbox else None
            result = place_call(
                conn,
                app,
                number,
                ring_timeout=self.ring_timeout.value,
                cli=self.cli.value.strip() or CLI_BLOCKED,
                script=script,
            )
            self._finished(result)
            return result
        conn.sandbox.set_callee(number, script_from(self.presses.value, self.answer.value))
        request_hash = conn.client.calls.realtime(
            app, number, timeout=self.ring_timeout.value, cli=self.cli.value.strip() or CLI_BLOCKED
        )
        call = conn.sandbox.call(request_hash)
        self.pending = loop.create_task(self._wait(call))
        return str(request_hash)

    def _run(self) -> None:
        # One call at a time: its transcript fills this panel. A double click sends its second
        # click before the greyed button reaches the page: that click places nothing.
        if self.pending is not None and not self.pending.done():
            return
        super()._run()
        if self.pending is not None and not self.pending.done():
            self.button.disabled = True  # until the call ends

    async def _wait(self, call: Any) -> None:
        try:
            transcript = await asyncio.wait_for(call, CALL_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            self.fail(f"the call did not end: {exc or 'timed out'}")
            return
        finally:
            self.button.disabled = False
        self.status.value = self._done(transcript)
        self._finished(transcript)

    def _finished(self, result: Transcript | str) -> None:
        self.last = result
        if isinstance(result, Transcript):
            self.transcript.value = f"<pre>{html.escape(str(result))}</pre>"
            if self._builder is not None:
                if getattr(self._builder.canvas, "comm", None) is None:
                    self.fail(
                        "The builder this panel lights up was closed (its cell ran again): run "
                        "this panel's cell again to follow the new one."
                    )
                else:
                    self._builder.show_call(result)
        if self._on_call is not None:
            self._on_call(result)

    def _done(self, result: Transcript | str) -> str:
        if isinstance(result, Transcript):
            path = " → ".join(result.path) or "(no node)"
            return f"✔ call {html.escape(result.status)}: {html.escape(path)}"
        return (
            f"☎ ringing (request <code>{html.escape(result)}</code>); the canvas follows the "
            "call, its transcript shows here when it ends"
        )
