"""A local CALLR on loopback: the JSON-RPC API, an account with DIDs, simulated phones that
drive the REAL-TIME protocol against an app's URL over real HTTP, and call transcripts.

See :class:`Sandbox`; ``flowbuilder sandbox`` runs one from the command line.
"""

from __future__ import annotations

from flowbuilder.sandbox.account import DEFAULT_DIDS, DidRecord
from flowbuilder.sandbox.calls import Exchange, SandboxCall
from flowbuilder.sandbox.sandbox import Sandbox

__all__ = ["DEFAULT_DIDS", "DidRecord", "Exchange", "Sandbox", "SandboxCall"]
