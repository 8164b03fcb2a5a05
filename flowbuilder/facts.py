"""Call facts: what templates and branches can read about the call besides variables.

One table, so the engine, validation, the editor's template hints and the docs agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from flowbuilder.callr.wire import Callback

FACTS: Final[dict[str, str]] = {
    "caller": "the caller's number (cli_number), may be empty",
    "caller_name": "the caller's name (cli_name), may be empty",
    "number": "the DID dialled (inbound) or the number called (outbound)",
    "direction": "inbound or outbound",
    "callid": "CALLR's call id",
    "app": "the REALTIME10 app hash",
    "request_hash": "the calls.realtime request hash (outbound), empty inbound",
    "cdr_field": "the custom CDR field",
    "date_started": "when the call started, UTC, YYYY-MM-DD HH:MM:SS",
}


def facts_from(callback: Callback) -> dict[str, Any]:
    return {
        "caller": callback.cli_number,
        "caller_name": callback.cli_name,
        "number": callback.number,
        "direction": callback.direction,
        "callid": callback.callid,
        "app": callback.app,
        "request_hash": callback.request_hash or "",
        "cdr_field": callback.cdr_field,
        "date_started": callback.date_started,
    }


class CallFacts(Mapping[str, Any]):
    """The facts of one callback, worked out when a node first reads them (most never do)."""

    __slots__ = ("_callback", "_facts")

    def __init__(self, callback: Callback) -> None:
        self._callback = callback
        self._facts: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every fact (worked out once; do not change the dict)."""
        if self._facts is None:
            self._facts = facts_from(self._callback)
        return self._facts

    def __getitem__(self, name: str) -> Any:
        return self.as_dict()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    def __repr__(self) -> str:
        return f"CallFacts({self.as_dict()!r})"
