"""Where a call stands in its flow, carried in CALLR's ``variables`` and signed.

CALLR echoes the ``variables`` of each answer in the next POST, so the engine keeps the call's
position there, under one reserved key (:data:`STATE_KEY`): ``{"h": signature, "s": state}``.
:class:`CallState` is that state, typed; its short wire keys are spelled here only.
:class:`Signer` makes and checks the signature: a keyed BLAKE2b (RFC 7693, 128 bits) over the
call id, the state and the user variables in canonical JSON (sorted keys, no spaces), so it
survives CALLR re-serialising what it echoes and cannot be moved to another call.

>>> signer = Signer(b"s3cret")
>>> state = CallState(version="1a2b3c", step=1, node="menu")
>>> packed = pack(signer, 421889, state, {"ticket": "T-7"})
>>> sorted(packed), sorted(packed[STATE_KEY])
(['_fb', 'ticket'], ['h', 's'])
>>> unpack(signer, 421889, packed) == (state, {"ticket": "T-7"})
True
>>> unpack(signer, 421890, packed)
Traceback (most recent call last):
...
ValueError: the flow state signature does not match (tampered, or another secret)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from flowbuilder.callr.wire import json_encoder

#: The key of ``variables`` that holds the signed state.
STATE_KEY: Final = "_fb"
#: Signatures are 128 bits (32 hex digits).
MAC_BYTES: Final = 16

_CANONICAL: Final = json_encoder(sort_keys=True)


class CallState(
    msgspec.Struct,
    frozen=True,
    omit_defaults=True,
    forbid_unknown_fields=True,
    # what each field is called on the wire, kept short: it travels on every POST
    rename={
        "version": "v",
        "step": "i",
        "node": "n",
        "flow": "f",
        "scratch": "l",
        "returns": "s",
        "steps": "k",
        "on_error_taken": "e",
        "closing": "x",
    },
):
    """The call's position: what the engine needs to pick up the next POST.

    ``step`` is the ``command_id`` of the answer that carried this state (the next POST must
    echo it); ``node`` is where the call waits (None once the flow ended), inside subflow ``flow``
    (``""``: the main flow), with the node's own ``scratch`` data; ``returns`` are the
    ``(flow, node)`` points subflows return to; ``steps`` counts node entries over the call;
    ``on_error_taken``: the error path already ran; ``closing``: the apology played, hang up.
    """

    version: str
    step: int = 0
    node: str | None = None
    flow: str = ""
    scratch: dict[str, Any] = msgspec.field(default_factory=dict)
    returns: list[tuple[str, str]] = msgspec.field(default_factory=list)
    steps: int = 0
    on_error_taken: bool = False
    closing: bool = False

    def where(self) -> str | None:
        """The node the call waits at: ``node``, or ``subflow/node``; None once it ended."""
        if not self.node:
            return None
        return f"{self.flow}/{self.node}" if self.flow else self.node

    def to_data(self) -> dict[str, Any]:
        """The state as plain JSON data, with its wire keys."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data

    @classmethod
    def from_data(cls, data: Any) -> CallState:
        """The state from plain JSON data; ValueError when it is not one."""
        return msgspec.convert(data, cls, strict=True)


class Signer:
    """Signs and checks call states with a secret (never shown)."""

    __slots__ = ("_keyed",)

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the secret must not be empty: it signs every call's state")
        # BLAKE2b is a MAC when keyed, in one pass; its key is at most 64 bytes, so a longer
        # secret is hashed to that
        key = secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()
        self._keyed = hashlib.blake2b(key=key, digest_size=MAC_BYTES)

    def sign(self, payload: bytes) -> str:
        """The MAC of *payload*, as 32 hex digits.

        >>> Signer(b"key").sign(b"payload") == hashlib.blake2b(
        ...     b"payload", key=b"key", digest_size=16).hexdigest()
        True
        """
        keyed = self._keyed.copy()
        keyed.update(payload)
        return keyed.hexdigest()

    def verify(self, payload: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(payload), signature)

    def __repr__(self) -> str:
        return "Signer(***)"


def signed_bytes(callid: int, state: Mapping[str, Any], variables: Mapping[str, Any]) -> bytes:
    """What a signature covers: ``[callid,state,variables]`` as canonical JSON.

    Raises TypeError or ValueError when they cannot be encoded (keys that are not text...).
    """
    return b"[%d,%b,%b]" % (callid, _CANONICAL(state), _CANONICAL(variables))


def pack(
    signer: Signer, callid: int, state: CallState, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The variables to answer with: the user's, plus the signed state.

    Raises TypeError or ValueError when a value cannot be encoded as JSON.
    """
    user = {k: v for k, v in variables.items() if k != STATE_KEY}
    data = state.to_data()
    signature = signer.sign(signed_bytes(callid, data, user))
    return {**user, STATE_KEY: {"h": signature, "s": data}}


def unpack(
    signer: Signer, callid: int, variables: Mapping[str, Any]
) -> tuple[CallState, dict[str, Any]]:
    """(state, user variables) from what CALLR echoed; ValueError saying why when not ours."""
    packed = variables.get(STATE_KEY)
    if type(packed) is not dict:
        raise ValueError("the flow state is missing from variables")
    data, signature = packed.get("s"), packed.get("h")
    if type(data) is not dict or type(signature) is not str:
        raise ValueError("the flow state is malformed")
    user = {k: v for k, v in variables.items() if k != STATE_KEY}
    try:
        payload = signed_bytes(callid, data, user)
    except (TypeError, ValueError):  # keys that are not text, NaN...: not ours
        raise ValueError("the flow state is malformed") from None
    if not signer.verify(payload, signature):
        raise ValueError("the flow state signature does not match (tampered, or another secret)")
    try:
        return CallState.from_data(data), user
    except ValueError:  # signed by us, so never expected
        raise ValueError("the flow state is malformed") from None
