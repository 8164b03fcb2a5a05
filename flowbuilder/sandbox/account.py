"""The sandbox account: REALTIME10 apps, DIDs and authorized CLIs; in memory or in SQLite.

Apps and DID assignments are what a user builds up, so with ``db=`` they are written through to
a SQLite file (stdlib ``sqlite3``) and survive a restart. The DID inventory itself is
configuration (:data:`DEFAULT_DIDS` or the ``dids=`` given), not state.

The default DIDs use the ranges regulators set aside for fiction where there is one (ARCEP
01 99 00 and 06 39 98, Ofcom 020 7946 0xxx and 0808 157 0xxx, NANP 555-01xx, Berlin 030 23125).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from flowbuilder.callr.constants import APP_PACKAGE, HASH_ALPHABET

PACKAGE: Final = APP_PACKAGE


def utc_now() -> str:
    """CALLR's date format: ``YYYY-MM-DD HH:MM:SS``, UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def new_hash(taken: Iterable[str] = ()) -> str:
    """8 uppercase alphanumerics, not in *taken*."""
    used = set(taken)
    while True:
        value = "".join(secrets.choice(HASH_ALPHABET) for _ in range(8))
        if value not in used:
            return value


def did_hash(intl_number: str) -> str:
    """A DID's hash, stable for a number so a restart (or a saved notebook) finds it again."""
    digest = int.from_bytes(hashlib.sha256(intl_number.encode()).digest()[:8], "big")
    out = ""
    for _ in range(8):
        digest, i = divmod(digest, len(HASH_ALPHABET))
        out += HASH_ALPHABET[i]
    return out


@dataclass(frozen=True)
class DidRecord:
    intl_number: str
    local_number: str
    country_code: str
    type: str = "GEOGRAPHIC"
    did_class: str = "CLASSIC"
    app: str | None = None
    hash: str = ""

    def __post_init__(self) -> None:
        if not self.hash:
            object.__setattr__(self, "hash", did_hash(self.intl_number))

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "local_number": self.local_number,
            "intl_number": self.intl_number,
            "class": self.did_class,
            "type": self.type,
            "country_code": self.country_code,
            "app": self.app,
        }


DEFAULT_DIDS: Final = (
    DidRecord("+33199000001", "0199000001", "FR"),
    DidRecord("+33199000002", "0199000002", "FR", did_class="GOLD"),
    DidRecord("+33800000001", "0800000001", "FR", type="TOLLFREE", did_class="GOLD"),
    DidRecord("+442079460001", "02079460001", "GB"),
    DidRecord("+448081570001", "08081570001", "GB", type="TOLLFREE"),
    DidRecord("+16465550101", "6465550101", "US"),
    DidRecord("+18005550102", "8005550102", "US", type="TOLLFREE", did_class="GOLD"),
    DidRecord("+493023125001", "03023125001", "DE"),
)


# CLIs the account may present besides its own DIDs (a mobile in ARCEP's fiction range).
DEFAULT_CLIS: Final = ("+33639980001",)


@dataclass
class AppRecord:
    hash: str
    name: str
    params: dict[str, Any]
    date_creation: str
    date_update: str
    dids: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.params.get("url", ""))

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """CALLR sends Basic auth when the app has a login or a password."""
        login, password = self.params.get("login") or "", self.params.get("password") or ""
        return (login, password) if login or password else None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    hash TEXT PRIMARY KEY, name TEXT NOT NULL, params TEXT NOT NULL,
    date_creation TEXT NOT NULL, date_update TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (did TEXT PRIMARY KEY, app TEXT NOT NULL);
"""


class Account:
    """The account's state. Thread-safe: every method takes the lock."""

    def __init__(
        self,
        *,
        dids: Iterable[DidRecord] = DEFAULT_DIDS,
        clis: Iterable[str] = DEFAULT_CLIS,
        db: str | Path | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.apps: dict[str, AppRecord] = {}
        self.dids: dict[str, DidRecord] = {d.hash: replace(d, app=None) for d in dids}
        self.clis: frozenset[str] = frozenset(clis) | {d.intl_number for d in self.dids.values()}
        self._db: sqlite3.Connection | None = None
        if db is not None:
            self._db = sqlite3.connect(str(db), check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
            self._load()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- persistence ------------------------------------------------------------------------

    def _load(self) -> None:
        assert self._db is not None
        for h, name, params, created, updated in self._db.execute(
            "SELECT hash, name, params, date_creation, date_update FROM apps ORDER BY rowid"
        ):
            self.apps[h] = AppRecord(h, name, json.loads(params), created, updated)
        for did, app in self._db.execute("SELECT did, app FROM assignments ORDER BY rowid"):
            if did in self.dids and app in self.apps:  # the inventory may have changed
                self._set_did(did, app)

    def _save_app(self, app: AppRecord) -> None:
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO apps VALUES (?, ?, ?, ?, ?)",
                (app.hash, app.name, json.dumps(app.params), app.date_creation, app.date_update),
            )

    def _save_did(self, did: str, app: str | None) -> None:
        if self._db is None:
            return
        if app is None:
            self._db.execute("DELETE FROM assignments WHERE did = ?", (did,))
        else:
            self._db.execute("INSERT OR REPLACE INTO assignments VALUES (?, ?)", (did, app))

    # -- queries ----------------------------------------------------------------------------

    def app(self, app_hash: str) -> AppRecord | None:
        with self._lock:
            return self.apps.get(app_hash)

    def did(self, did_hash_: str) -> DidRecord | None:
        with self._lock:
            return self.dids.get(did_hash_)

    def find_did(self, number_or_hash: str) -> DidRecord | None:
        """By hash, international number or local number."""
        with self._lock:
            if number_or_hash in self.dids:
                return self.dids[number_or_hash]
            for d in self.dids.values():
                if number_or_hash in (d.intl_number, d.local_number):
                    return d
            return None

    def app_json(self, app: AppRecord, *, with_numbers: bool = True) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {
                "hash": app.hash,
                "name": app.name,
                "p": dict(app.params),
                "package": dict(PACKAGE),
                "date_creation": app.date_creation,
                "date_update": app.date_update,
            }
            if with_numbers:
                out["did"] = [self.dids[h].to_json() for h in app.dids if h in self.dids]
            return out

    def list_apps(self) -> list[AppRecord]:
        with self._lock:
            return list(self.apps.values())

    def list_dids(self, *, only_available: bool = False) -> list[DidRecord]:
        with self._lock:
            return [d for d in self.dids.values() if not (only_available and d.app)]

    # -- changes ----------------------------------------------------------------------------

    def create_app(self, name: str, params: Mapping[str, Any]) -> AppRecord:
        with self._lock:
            now = utc_now()
            app = AppRecord(new_hash(self.apps), name, dict(params), now, now)
            self.apps[app.hash] = app
            self._save_app(app)
            return app

    def edit_app(self, app: AppRecord, name: str | None, params: Mapping[str, Any]) -> AppRecord:
        with self._lock:
            if name is not None:
                app.name = name
            app.params = dict(params)
            app.date_update = utc_now()
            self._save_app(app)
            return app

    def delete_app(self, app: AppRecord) -> None:
        """Delete the app and release its DIDs."""
        with self._lock:
            for did in list(app.dids):
                self._set_did(did, None)
                self._save_did(did, None)
            self.apps.pop(app.hash, None)
            if self._db is not None:
                self._db.execute("DELETE FROM apps WHERE hash = ?", (app.hash,))

    def assign(self, app: AppRecord, did: DidRecord) -> None:
        """Route *did*'s calls to *app* (taking it from another app if it had one)."""
        with self._lock:
            self._set_did(did.hash, app.hash)
            self._save_did(did.hash, app.hash)

    def release(self, did: DidRecord) -> None:
        with self._lock:
            self._set_did(did.hash, None)
            self._save_did(did.hash, None)

    def _set_did(self, did: str, app: str | None) -> None:
        old = self.dids[did].app
        if old is not None and old in self.apps and did in self.apps[old].dids:
            self.apps[old].dids.remove(did)
        self.dids[did] = replace(self.dids[did], app=app)
        if app is not None and did not in self.apps[app].dids:
            self.apps[app].dids.append(did)
