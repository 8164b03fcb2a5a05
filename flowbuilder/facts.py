"""Call facts: what templates and branches can read about the call besides variables.

One table, so the engine, validation, the editor's template hints and the docs agree.
"""

from __future__ import annotations

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
