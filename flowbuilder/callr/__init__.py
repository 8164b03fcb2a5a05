"""CALLR: the callback wire format (:mod:`.wire`) and the JSON-RPC API clients (:mod:`.rpc`).

The clients are imported on first use so that the pure modules (``wire``, ``jsonrpc``) load
without httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowbuilder.callr.rpc import AsyncCallrClient, CallrClient
    from flowbuilder.callr.types import App, Did

__all__ = ["App", "AsyncCallrClient", "CallrClient", "Did"]

_LAZY = {
    "App": "flowbuilder.callr.types",
    "Did": "flowbuilder.callr.types",
    "CallrClient": "flowbuilder.callr.rpc",
    "AsyncCallrClient": "flowbuilder.callr.rpc",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowbuilder.callr' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
