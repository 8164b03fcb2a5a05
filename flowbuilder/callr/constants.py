"""CALLR's constants, declared once: app type and params, caller ids, numbers, hashes, limits,
voices.

Everything that talks to CALLR or plays it (the client, the sandbox, node kinds, the docs) reads
these; a ``grep`` for one of them finds this file.

>>> bool(E164.match("+33123456789")), bool(E164.match("0123456789"))
(True, False)
>>> bool(HASH.match("4346423A")), TARGET_TIMEOUT_S
(True, (5, 300))
>>> bool(VOICE_NAME.match("TTS_EN-US_JOANNA")), bool(VOICE_NAME.match("serena"))
(True, False)
"""

from __future__ import annotations

import re
from typing import Final

#: The app type of REAL-TIME call control (``apps.create``'s first param).
APP_TYPE: Final = "REALTIME10"
#: What CALLR says of a REALTIME10 app's package in an App object.
APP_PACKAGE: Final = {"name": APP_TYPE, "type": "REALTIME", "has_did": True}
#: The keys of a REALTIME10 app's params object, and its one data format.
APP_PARAMS: Final = ("url", "login", "password", "data_format")
DATA_FORMAT: Final = "JSON"

#: A caller id that hides the number (``cli`` of ``dialout`` and ``calls.realtime``).
CLI_BLOCKED: Final = "BLOCKED"
#: A phone number in E.164: ``+``, a country code, at most 15 digits in all.
E164: Final = re.compile(r"\+[1-9][0-9]{6,14}\Z")
#: App, DID and call request hashes: 8 uppercase letters and digits.
HASH: Final = re.compile(r"[0-9A-Z]{8}\Z")
HASH_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: A custom CDR field: up to 32 letters and digits (``""`` for none, never null).
CDR_FIELD: Final = re.compile(r"[A-Za-z0-9]{0,32}\Z")
CDR_FIELD_MAX: Final = 32

#: How long a dial target rings, in seconds (``{"number", "timeout"}``): bounds and default.
TARGET_TIMEOUT_S: Final = (5, 300)
DEFAULT_TARGET_TIMEOUT_S: Final = 30

#: CALLR waits this long for the answer to each callback POST.
ANSWER_WINDOW_S: Final = 5.0

#: flowbuilder's share of that window: effects run in one callback (HTTP requests, Python
#: functions) must all finish within this time from the request's arrival, so each answer leaves
#: well inside it. The server's default; validation adds up effect timeouts against it.
DEFAULT_ANSWER_BUDGET_MS: Final = 4000

#: The TTS voices flowbuilder knows (a TTS media is ``TTS|<VOICE>|<text>``); CALLR's full list
#: comes from ``media/tts.get_voice_list``. The first is every flow's default.
VOICES: Final = ("TTS_EN-GB_SERENA", "TTS_EN-GB_DANIEL", "TTS_FR-FR_AUDREY")
DEFAULT_VOICE: Final = VOICES[0]
#: The shape of every voice name: ``TTS_<LANG>-<COUNTRY>_<NAME>``.
VOICE_NAME: Final = re.compile(r"TTS_[A-Z]{2,3}-[A-Z]{2}_[A-Z][A-Z0-9_]*\Z")
