"""A local CALLR on loopback: the JSON-RPC API, an account with DIDs, simulated phones that
drive the REAL-TIME protocol against an app's URL over real HTTP, and call transcripts.

See :class:`Sandbox`.
"""

from __future__ import annotations

from flowbuilder.sandbox.calls import Exchange, SandboxCall
from flowbuilder.sandbox.sandbox import Sandbox

__all__ = ["Exchange", "Sandbox", "SandboxCall"]
