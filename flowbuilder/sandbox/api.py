"""The sandbox's JSON-RPC methods: CALLR's params, checks, result shapes and error messages.

Errors follow CALLR's ``CODE_NAME [param.path]`` style (numbers in
:mod:`flowbuilder.callr.jsonrpc`): a param of the wrong type or ``null`` is
``INVALID_PARAM_FORMAT [name]``, a well-formed value that is refused (unknown app or DID, CLI not
on the account, a timeout out of range) is ``PROPERTY_VALUE_ERROR [name]``. Unknown keys in an
object param are refused too (``INVALID_PARAM_FORMAT [target]``), so a typo never passes silently.

Choices where CALLR's behaviour is unknown: ``apps.assign_did`` moves a DID that another app
holds; trailing optional params may be left out (``apps.get_list()`` = ``[false]``), and
``apps.get_list([false])`` leaves the ``did`` key out of each app (``App.dids`` is None);
``calls.hangup`` and ``calls.realtime_break`` answer ``false`` for a call that is already over and
``PROPERTY_VALUE_ERROR [callid]`` for a callid never seen; an account holds at most
:data:`MAX_APPS` apps, and an app's URL, login and password have length limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from flowbuilder.callr import jsonrpc, methods
from flowbuilder.callr.constants import (
    APP_PARAMS,
    APP_TYPE,
    CDR_FIELD,
    CLI_BLOCKED,
    DATA_FORMAT,
    DEFAULT_TARGET_TIMEOUT_S,
    E164,
    TARGET_TIMEOUT_S,
)
from flowbuilder.callr.jsonrpc import RpcFault
from flowbuilder.sandbox.account import Account, AppRecord, DidRecord

CALLID_TEXT: Final = re.compile(r"[0-9]{1,20}\Z")
MAX_URL_CHARS: Final = 2048
MAX_CREDENTIAL_CHARS: Final = 256
#: Apps one sandbox account holds: each ``apps.create`` keeps one, so there is a ceiling.
MAX_APPS: Final = 1000


class CallControl(Protocol):
    """What the API needs from the phone side of the sandbox."""

    def place_call(
        self, app: AppRecord, number: str, ring_timeout_s: int, cdr_field: str, cli: str
    ) -> str:
        """Start an outbound call; its request hash."""
        ...

    def hangup(self, callid: int) -> bool | None:
        """True: hung up; False: already over; None: unknown callid."""
        ...

    def realtime_break(self, callid: int) -> bool | None:
        """True: the running command was cut short; False: nothing running; None: unknown."""
        ...


class Api:
    """Dispatches one request to its method; raises :class:`RpcFault` for CALLR-style errors."""

    def __init__(
        self,
        account: Account,
        calls: CallControl,
        codes: Mapping[str, int] = jsonrpc.ERROR_CODES,
    ) -> None:
        self.account = account
        self.calls = calls
        self.codes = {**jsonrpc.ERROR_CODES, **codes}
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            "apps.create": self.apps_create,
            "apps.get": self.apps_get,
            "apps.edit": self.apps_edit,
            "apps.delete": self.apps_delete,
            "apps.get_list": self.apps_get_list,
            "apps.assign_did": self.apps_assign_did,
            "apps.remove_did": self.apps_remove_did,
            "apps.get_dids": self.apps_get_dids,
            "calls.realtime": self.calls_realtime,
            "calls.hangup": self.calls_hangup,
            "calls.realtime_break": self.calls_realtime_break,
        }

    def fault(self, name: str, path: str | None = None, detail: str | None = None) -> RpcFault:
        return RpcFault.of(name, path, detail, self.codes)

    def dispatch(self, method: str, params: list[Any]) -> Any:
        method = methods.ALIASES.get(method, method)
        handler = self._methods.get(method)
        if handler is None:
            raise self.fault("METHOD_NOT_FOUND", "method", f"unknown method {method[:100]!r}")
        names, required = methods.METHODS[method].params, methods.METHODS[method].required
        if len(params) > len(names):
            raise self.fault(
                "INVALID_PARAMS",
                "params",
                f"{method} takes at most {len(names)} params ({', '.join(names)}), "
                f"got {len(params)}",
            )
        if len(params) < required:
            missing = names[len(params)]
            raise self.fault("MISSING_PROPERTY", missing, f"{method} needs {', '.join(names)}")
        return handler(list(params) + [None] * (len(names) - len(params)))

    # -- param checks -----------------------------------------------------------------------

    def _str(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fault("INVALID_PARAM_FORMAT", path, f"{path} must be a string")
        return value

    def _bool(self, value: Any, path: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fault("INVALID_PARAM_FORMAT", path, f"{path} must be true or false")
        return value

    def _object(self, value: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fault("INVALID_PARAM_FORMAT", path, f"{path} must be an object")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise self.fault(
                "INVALID_PARAM_FORMAT",
                path,
                f"unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(keys)}",
            )
        return value

    def _app(self, value: Any) -> AppRecord:
        app = self.account.app(self._str(value, "app"))
        if app is None:
            raise self.fault("PROPERTY_VALUE_ERROR", "app", f"no app with hash {value[:20]!r}")
        return app

    def _did(self, value: Any) -> DidRecord:
        did = self.account.did(self._str(value, "did"))
        if did is None:
            raise self.fault("PROPERTY_VALUE_ERROR", "did", f"no DID with hash {value[:20]!r}")
        return did

    def _callid(self, value: Any) -> int:
        # ASCII digits only: "²".isdigit() is true, int("²") fails; a callid is 64 bits
        if isinstance(value, str) and CALLID_TEXT.match(value):
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fault("INVALID_PARAM_FORMAT", "callid", "callid must be an integer")
        return value

    def _name(self, value: Any) -> str:
        name = self._str(value, "name")
        if not name.strip() or len(name) > 128:
            raise self.fault("PROPERTY_VALUE_ERROR", "name", "name must be 1 to 128 characters")
        return name

    def _app_params(self, value: Any) -> dict[str, Any]:
        """REALTIME10 params: url (required), login, password, data_format ``JSON``."""
        if value is None:
            raise self.fault("INVALID_PARAM_FORMAT", "params", "REALTIME10 needs {'url': ...}")
        p = self._object(value, "params", APP_PARAMS)
        url = p.get("url")
        if not isinstance(url, str):
            raise self.fault("INVALID_PARAM_FORMAT", "params.url", "url must be a string")
        if len(url) > MAX_URL_CHARS:
            raise self.fault(
                "PROPERTY_VALUE_ERROR",
                "params.url",
                f"url must be at most {MAX_URL_CHARS} characters",
            )
        if not _is_http_url(url):
            raise self.fault("PROPERTY_VALUE_ERROR", "params.url", "url must be an http(s) URL")
        out = {"url": url, "login": "", "password": "", "data_format": DATA_FORMAT}
        for key in ("login", "password"):
            if p.get(key) is not None:
                out[key] = self._str(p[key], f"params.{key}")
                if len(out[key]) > MAX_CREDENTIAL_CHARS:
                    raise self.fault(
                        "PROPERTY_VALUE_ERROR",
                        f"params.{key}",
                        f"{key} must be at most {MAX_CREDENTIAL_CHARS} characters",
                    )
        if p.get("data_format") not in (None, DATA_FORMAT):
            raise self.fault(
                "PROPERTY_VALUE_ERROR", "params.data_format", "data_format must be JSON"
            )
        return out

    # -- apps -------------------------------------------------------------------------------

    def apps_create(self, p: list[Any]) -> dict[str, Any]:
        kind = self._str(p[0], "type")
        if kind != APP_TYPE:
            raise self.fault("FEATURE_NOT_ALLOWED", "type", f"the sandbox has {APP_TYPE} apps only")
        name = self._name(p[1])
        params = self._app_params(p[2])
        if len(self.account.apps) >= MAX_APPS:
            raise self.fault(
                "PROPERTY_VALUE_ERROR", "app", f"the account holds {MAX_APPS} apps; delete some"
            )
        app = self.account.create_app(name, params)
        return self.account.app_json(app)

    def apps_get(self, p: list[Any]) -> dict[str, Any]:
        return self.account.app_json(self._app(p[0]))

    def apps_edit(self, p: list[Any]) -> dict[str, Any]:
        app = self._app(p[0])
        name = None if p[1] is None else self._name(p[1])
        return self.account.app_json(self.account.edit_app(app, name, self._app_params(p[2])))

    def apps_delete(self, p: list[Any]) -> bool:
        self.account.delete_app(self._app(p[0]))
        return True

    def apps_get_list(self, p: list[Any]) -> list[dict[str, Any]]:
        with_numbers = self._bool(p[0], "with_numbers")
        return [
            self.account.app_json(a, with_numbers=with_numbers) for a in self.account.list_apps()
        ]

    def apps_assign_did(self, p: list[Any]) -> bool:
        app, did = self._app(p[0]), self._did(p[1])
        self.account.assign(app, did)
        return True

    def apps_remove_did(self, p: list[Any]) -> bool:
        self.account.release(self._did(p[0]))
        return True

    def apps_get_dids(self, p: list[Any]) -> list[dict[str, Any]]:
        only = self._bool(p[0], "only_available")
        return [d.to_json() for d in self.account.list_dids(only_available=only)]

    # -- calls ------------------------------------------------------------------------------

    def calls_realtime(self, p: list[Any]) -> str:
        app = self._app(p[0])
        if p[1] is None:
            raise self.fault("INVALID_PARAM_FORMAT", "target", "target must be an object")
        target = self._object(p[1], "target", ("number", "timeout"))
        number = target.get("number")
        if not isinstance(number, str) or not E164.match(number):
            raise self.fault(
                "INVALID_PARAM_FORMAT", "target.number", "number must be +E164, e.g. +33612345678"
            )
        timeout = target.get("timeout", DEFAULT_TARGET_TIMEOUT_S)
        if not isinstance(timeout, int) or isinstance(timeout, bool):
            raise self.fault("INVALID_PARAM_FORMAT", "target.timeout", "timeout must be seconds")
        low, high = TARGET_TIMEOUT_S
        if not low <= timeout <= high:
            raise self.fault(
                "PROPERTY_VALUE_ERROR", "target.timeout", f"timeout must be {low} to {high} s"
            )
        options = {} if p[2] is None else self._object(p[2], "options", ("cdr_field", "cli"))
        cdr_field = options.get("cdr_field", "")
        if not isinstance(cdr_field, str) or not CDR_FIELD.match(cdr_field):
            raise self.fault(
                "PROPERTY_VALUE_ERROR",
                "options.cdr_field",
                "cdr_field must be a string of up to 32 letters and digits",
            )
        cli = options.get("cli", CLI_BLOCKED)
        if not isinstance(cli, str):
            raise self.fault("INVALID_PARAM_FORMAT", "options.cli", "cli must be a string")
        if cli != CLI_BLOCKED and cli not in self.account.clis:
            raise self.fault(
                "PROPERTY_VALUE_ERROR",
                "options.cli",
                "cli must be BLOCKED or a number on the account (its DIDs or authorized CLIs)",
            )
        return self.calls.place_call(app, number, timeout, cdr_field, cli)

    def calls_hangup(self, p: list[Any]) -> bool:
        callid = self._callid(p[0])
        if p[1] is not None and not isinstance(p[1], dict):
            raise self.fault("INVALID_PARAM_FORMAT", "options", "options must be an object")
        done = self.calls.hangup(callid)
        if done is None:
            raise self.fault("PROPERTY_VALUE_ERROR", "callid", f"no call {callid}")
        return done

    def calls_realtime_break(self, p: list[Any]) -> bool:
        callid = self._callid(p[0])
        done = self.calls.realtime_break(callid)
        if done is None:
            raise self.fault("PROPERTY_VALUE_ERROR", "callid", f"no call {callid}")
        return done


def _is_http_url(url: str) -> bool:
    """An http(s) URL with a host; a malformed one (``http://[::1``, a bad port) is not."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number from 0 to 65535 raises ValueError
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
