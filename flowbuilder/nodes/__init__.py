"""Node kinds: one module each. Importing this package registers every kind.

Adding a kind: write its module, add one import line here, add its engine scenario test.
"""

from flowbuilder.nodes import (  # noqa: F401  (each import registers its kind)
    branch,
    business_hours,
    conference,
    dial,
    gather,
    hangup,
    hangup_callid,
    http_request,
    menu,
    play,
    play_recording,
    play_wav,
    python,
    record,
    send_dtmf,
    set,
    simple_conference,
    start_call_recording,
    stop_call_recording,
    subflow,
    talk_detect,
    voicemail,
    wait,
    wait_for_silence,
)
from flowbuilder.nodes._base import REGISTRY, NodeKind, Param, get_kind, kinds

__all__ = ["REGISTRY", "NodeKind", "Param", "get_kind", "kinds"]
