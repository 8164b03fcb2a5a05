"""What a callback server serves: programs by URL path and app hash, with their credentials.

Everything here is changed and read on the server's thread only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field

from flowbuilder.nodes._base import REGISTRY
from flowbuilder.program import Program


class BasicAuth:
    """HTTP Basic credentials a callback must carry (the REALTIME10 app's login and password)."""

    __slots__ = ("_expected", "_login", "_password")

    def __init__(self, login: str, password: str) -> None:
        self._login = login.encode()
        self._password = password.encode()
        token = base64.b64encode(self._login + b":" + self._password).decode("ascii")
        self._expected = f"Basic {token}".encode()

    def check(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header value carries these credentials."""
        if not header:
            return False
        raw = header.encode("utf-8", "replace")
        if hmac.compare_digest(raw, self._expected):  # the usual, exact form
            return True
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        login, sep, password = decoded.partition(b":")
        # both compared, always, so timing says nothing about which one was wrong
        ok_login = hmac.compare_digest(login, self._login)
        ok_password = hmac.compare_digest(password, self._password)
        return bool(sep) and ok_login and ok_password

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BasicAuth) and hmac.compare_digest(self._expected, other._expected)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "BasicAuth(***)"


def make_auth(login: str | None, password: str | None) -> BasicAuth | None:
    """Credentials to require, or None when both are empty (CALLR then sends no auth)."""
    if not login and not password:
        return None
    return BasicAuth(login or "", password or "")


@dataclass(eq=False)
class Deployment:
    """One program served at a URL path, for one app hash (``app=None``: any app)."""

    program: Program
    path: str
    app: str | None
    auth: BasicAuth | None
    #: older programs that calls in progress started on, oldest first
    versions: dict[str, Program] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.program.name

    def describe(self) -> str:
        app = self.app or "any app"
        return f"{self.program.name}@{self.program.version} for {app} at {self.path}"


class Table:
    """The deployments at one URL path, routed by the callback's ``app``."""

    __slots__ = ("any_app", "auth", "by_app", "path", "uniform")

    def __init__(self, path: str) -> None:
        self.path = path
        self.by_app: dict[str, Deployment] = {}
        self.any_app: Deployment | None = None
        #: every deployment here takes the same credentials (``auth``): check them first
        self.uniform = True
        self.auth: BasicAuth | None = None

    def route(self, app: str) -> Deployment | None:
        return self.by_app.get(app) or self.any_app

    def __iter__(self) -> Iterator[Deployment]:
        yield from self.by_app.values()
        if self.any_app is not None:
            yield self.any_app

    def refresh(self) -> None:
        """Recompute ``uniform``/``auth`` after a deployment was added, removed or changed."""
        auths = [d.auth for d in self]
        first = auths[0] if auths else None
        self.uniform = all(a == first for a in auths)
        self.auth = first if self.uniform else None


class Routes:
    """Deployments by URL path (a :class:`Table` each), then by app."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}

    def table(self, path: str) -> Table | None:
        return self.tables.get(path) or self.tables.get(normalize_path(path))

    def deployments(self) -> list[Deployment]:
        return [d for table in self.tables.values() for d in table]

    def add(self, deployment: Deployment) -> None:
        table = self.tables.get(deployment.path) or Table(deployment.path)
        taken = table.any_app if deployment.app is None else table.by_app.get(deployment.app)
        if taken is not None:
            who = f"app {deployment.app}" if deployment.app else "any app"
            raise ValueError(
                f"{deployment.path} already serves {taken.name!r} for {who}; use update()"
            )
        if deployment.app is None:
            table.any_app = deployment
        else:
            table.by_app[deployment.app] = deployment
        table.refresh()
        self.tables[deployment.path] = table

    def remove(self, deployment: Deployment) -> None:
        table = self.tables.get(deployment.path)
        if table is None:
            return
        if table.any_app is deployment:
            table.any_app = None
        elif deployment.app is not None and table.by_app.get(deployment.app) is deployment:
            del table.by_app[deployment.app]
        if list(table):
            table.refresh()
        else:
            del self.tables[deployment.path]

    def paths(self) -> str:
        return ", ".join(sorted(self.tables)) or "(nothing served)"

    def find(self, *, app: str | None, path: str | None) -> Deployment:
        """The deployment answering *app* at *path*; with no app, the one for any app."""
        here = [d for d in self.deployments() if path is None or d.path == path]
        if app is not None:
            found = [d for d in here if d.app == app] or [d for d in here if d.app is None]
        else:
            found = here if len(here) == 1 else [d for d in here if d.app is None]
        if len(found) == 1:
            return found[0]
        served = ", ".join(d.describe() for d in self.deployments()) or "nothing"
        if not found:
            raise KeyError(f"no flow served for app={app!r} path={path!r}; serving {served}")
        raise KeyError(f"several flows match app={app!r} path={path!r}; name the app: {served}")


def normalize_path(path: str) -> str:
    """``/callr/`` and ``/callr`` are the same route; the root is ``/``."""
    return path.rstrip("/") or "/"


def performs_http(program: Program) -> bool:
    """Whether *program* (or a subflow) has a node that makes HTTP requests during a call."""
    programs = [program, *program.subflows.values()]
    return any(
        getattr(REGISTRY.get(node.kind), "makes_http_requests", False)
        for p in programs
        for node in p.nodes.values()
    )
