"""CALLR: the callback wire format (:mod:`.wire`) and the JSON-RPC API clients (:mod:`.rpc`).

The clients are imported on first use so that the pure modules (``wire``, ``jsonrpc``) load
without httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowbuilder._lazy import lazy_attributes

if TYPE_CHECKING:
    from flowbuilder.callr.rpc import AsyncCallrClient, CallrClient
    from flowbuilder.callr.types import App, Did

__all__ = ["App", "AsyncCallrClient", "CallrClient", "Did"]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "App": "flowbuilder.callr.types",
        "Did": "flowbuilder.callr.types",
        "CallrClient": "flowbuilder.callr.rpc",
        "AsyncCallrClient": "flowbuilder.callr.rpc",
    },
)
