"""A local CALLR on loopback: the JSON-RPC API, an account with DIDs, simulated phones that
drive the REAL-TIME protocol against an app's URL over real HTTP, and call transcripts.

See :class:`Sandbox`; ``flowbuilder sandbox`` runs one from the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowbuilder._lazy import lazy_attributes

if TYPE_CHECKING:
    from flowbuilder.sandbox.account import DEFAULT_DIDS, DidRecord
    from flowbuilder.sandbox.calls import Exchange, SandboxCall
    from flowbuilder.sandbox.sandbox import Sandbox

# Imported on first use (tornado, httpx): the CLI's parser loads flowbuilder.sandbox.command only.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "DEFAULT_DIDS": "flowbuilder.sandbox.account",
        "DidRecord": "flowbuilder.sandbox.account",
        "Exchange": "flowbuilder.sandbox.calls",
        "SandboxCall": "flowbuilder.sandbox.calls",
        "Sandbox": "flowbuilder.sandbox.sandbox",
    },
)

__all__ = ["DEFAULT_DIDS", "DidRecord", "Exchange", "Sandbox", "SandboxCall"]
