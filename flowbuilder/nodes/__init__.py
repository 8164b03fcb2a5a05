"""Node kinds: one module each, named as its kind, imported the first time the kind is used
(:class:`~flowbuilder.nodes._base.Registry`).

Adding a kind: write its module, add its name to ``KINDS``, add its engine scenario test.
"""

from typing import Final

#: Every kind flowbuilder ships: the modules ``flowbuilder.nodes.<name>``.
KINDS: Final = (
    "branch",
    "business_hours",
    "conference",
    "dial",
    "gather",
    "hangup",
    "hangup_callid",
    "http_request",
    "menu",
    "play",
    "play_recording",
    "play_wav",
    "python",
    "record",
    "send_dtmf",
    "set",
    "simple_conference",
    "start_call_recording",
    "stop_call_recording",
    "subflow",
    "talk_detect",
    "voicemail",
    "wait",
    "wait_for_silence",
)

from flowbuilder.nodes._base import REGISTRY, NodeKind, Param, get_kind, kinds  # noqa: E402

__all__ = ["KINDS", "REGISTRY", "NodeKind", "Param", "get_kind", "kinds"]
