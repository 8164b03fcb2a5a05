"""Typed views of CALLR's App and DID objects; each keeps the dict it came from as ``.raw``.

>>> did = Did.from_json({"hash": "6A7B8C9D", "local_number": "0199000001",
...     "intl_number": "+33199000001", "class": "CLASSIC", "type": "GEOGRAPHIC",
...     "country_code": "FR", "app": None})
>>> did
Did('+33199000001', hash='6A7B8C9D', FR GEOGRAPHIC CLASSIC, free)
>>> app = App.from_json({"hash": "4346423A", "name": "Support", "p": {"url": "https://x/cb",
...     "login": "cb", "password": "s3cret", "data_format": "JSON"}, "did": [],
...     "package": {"name": "REALTIME10", "type": "REALTIME", "has_did": True},
...     "date_creation": "2026-01-01 10:00:00", "date_update": "2026-01-01 10:00:00"})
>>> app
App(hash='4346423A', name='Support', url='https://x/cb', login='cb', dids=())
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowbuilder.callr.constants import APP_TYPE, DATA_FORMAT


def _get(data: Mapping[str, Any], key: str, types: type | tuple[type, ...], what: str) -> Any:
    if key not in data:
        raise ValueError(f"{what} has no {key!r}")
    value = data[key]
    if not isinstance(value, types):
        raise ValueError(f"{what} field {key!r} has the wrong type ({type(value).__name__})")
    return value


@dataclass(frozen=True)
class Did:
    """A phone number on the account (``class`` is ``did_class`` here: a Python keyword)."""

    hash: str
    intl_number: str
    local_number: str
    did_class: str
    type: str
    country_code: str
    app: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Any) -> Did:
        if not isinstance(data, Mapping):
            raise ValueError(f"a DID must be an object, got {type(data).__name__}")
        return cls(
            hash=_get(data, "hash", str, "DID"),
            intl_number=_get(data, "intl_number", str, "DID"),
            local_number=str(data.get("local_number", "")),
            did_class=str(data.get("class", "")),
            type=str(data.get("type", "")),
            country_code=str(data.get("country_code", "")),
            app=_get(data, "app", (str, type(None)), "DID") if "app" in data else None,
            raw=dict(data),
        )

    def __repr__(self) -> str:
        used = f"app {self.app}" if self.app else "free"
        return (
            f"Did({self.intl_number!r}, hash={self.hash!r}, "
            f"{self.country_code} {self.type} {self.did_class}, {used})"
        )


@dataclass(frozen=True)
class App:
    """A REALTIME10 app: where CALLR posts call events, and with which Basic credentials.

    ``dids`` is None when the listing did not include numbers (``apps.get_list(False)``).
    ``password`` and ``raw`` (which holds it) are left out of the repr.
    """

    hash: str
    name: str
    url: str
    login: str
    dids: tuple[Did, ...] | None
    package: str = APP_TYPE
    data_format: str = DATA_FORMAT
    date_creation: str = ""
    date_update: str = ""
    password: str = field(default="", repr=False, compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Any) -> App:
        if not isinstance(data, Mapping):
            raise ValueError(f"an app must be an object, got {type(data).__name__}")
        p = data.get("p") or {}
        if not isinstance(p, Mapping):
            raise ValueError("app field 'p' must be an object")
        package = data.get("package") or {}
        dids = data.get("did")
        if dids is not None and not isinstance(dids, list):
            raise ValueError("app field 'did' must be an array")
        return cls(
            hash=_get(data, "hash", str, "app"),
            name=str(data.get("name", "")),
            url=str(p.get("url", "")),
            login=str(p.get("login", "") or ""),
            password=str(p.get("password", "") or ""),
            data_format=str(p.get("data_format", "")),
            dids=None if dids is None else tuple(_did_of(d) for d in dids),
            package=str(package.get("name", "")) if isinstance(package, Mapping) else "",
            date_creation=str(data.get("date_creation", "")),
            date_update=str(data.get("date_update", "")),
            raw=dict(data),
        )

    def __repr__(self) -> str:
        dids = None if self.dids is None else tuple(d.intl_number or d.hash for d in self.dids)
        return (
            f"App(hash={self.hash!r}, name={self.name!r}, url={self.url!r}, "
            f"login={self.login!r}, dids={dids})"
        )


def _did_of(value: Any) -> Did:
    # some listings give DID hashes, not objects
    if isinstance(value, str):
        return Did(value, "", "", "", "", "", None, {"hash": value})
    return Did.from_json(value)
