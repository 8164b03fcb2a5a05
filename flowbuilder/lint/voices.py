"""TTS voices: a node's ``voice`` and the flow's ``voice`` / ``fallback_voice`` settings.

A name that is not of the shape ``TTS_<LANG>-<COUNTRY>_<NAME>`` cannot be a voice (an error); a
well-formed one that flowbuilder does not know may still be one of CALLR's (a warning). A flow
whose apology would be the default English text in another language's voice is warned too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowbuilder.callr.constants import VOICE_NAME, VOICES
from flowbuilder.lint.graph import Graph, Issue
from flowbuilder.names import FALLBACK_MESSAGE
from flowbuilder.nodes._base import VOICE

#: Flow settings that name a voice ("" means the default).
SETTINGS = ("voice", "fallback_voice")


def check(graph: Graph) -> Iterator[Issue]:
    for key in SETTINGS:
        issue = _check_voice(graph.settings.get(key, ""), None, key)
        if issue:
            yield issue
    voice = graph.settings.get("fallback_voice") or graph.settings.get("voice") or ""
    spoken = isinstance(voice, str) and VOICE_NAME.match(voice)  # a bad name is an error above
    if spoken and not voice.startswith("TTS_EN-") and not graph.settings.get("fallback_message"):
        yield Issue(
            "warning",
            None,
            "fallback_message",
            f"when a call fails, callers hear the English {FALLBACK_MESSAGE!r} spoken by "
            f"{voice}: set fallback_message in the flow's language",
        )
    for node, kind in graph.known():
        for param in kind.params:
            if param is VOICE and param.name in node.params:
                issue = _check_voice(node.params[param.name], node.id, param.name)
                if issue:
                    yield issue


def _check_voice(value: Any, node_id: str | None, field: str) -> Issue | None:
    if value in ("", None) or value in VOICES:
        return None
    if not isinstance(value, str):
        return None  # not text: the parameter's own check says so
    if not VOICE_NAME.match(value):
        known = next((v for v in VOICES if v.lower() == value.strip().lower()), None)
        fix = f"did you mean {known}?" if known else f"use one like {VOICES[0]}"
        return Issue(
            "error",
            node_id,
            field,
            f"{value!r} is not a TTS voice name (TTS_<LANG>-<COUNTRY>_<NAME>): {fix}",
        )
    return Issue(
        "warning",
        node_id,
        field,
        f"{value} is not a voice flowbuilder knows ({', '.join(VOICES)}); "
        "check it with media/tts.get_voice_list",
    )
