"""``play_wav``: play a short WAV sound carried in the flow itself (a chime, a jingle), then next.

CALLR's ``play_wav_data`` takes the WAV bytes inline, base64-encoded, so the sound travels with
the flow file and needs no media library. Every byte rides in the answer to CALLR, so keep it
short: the parameter is refused past the size CALLR's answer can carry comfortably. In code,
:func:`wav_data` turns a file (or bytes) into the parameter's value.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("ding").add("chime", "play_wav", audio=BEEP)
>>> flow.params("chime")["audio"][:12]
'UklGRmQBAABX'
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from flowbuilder.callr import commands
from flowbuilder.callr.wire import Command
from flowbuilder.nodes._base import CommandKind, Context, NodeSpec, Param, register

#: A 40 ms 880 Hz beep (8 kHz, 8-bit mono): what the editor puts in a new node.
BEEP: Final = (
    "UklGRmQBAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YUABAACAprq0lm1NRFZ8o7q2mXFPRFR4oLm3nHRR"
    "RFF0nLe5oHhURE9xmba6o3xWRE1tlrS6pn9ZRUtpkrK7qYNcRUlmjrC7q4dfRkhji668rotjSEZfh6u7sI5mSUVcg6m7"
    "spJpS0VZgKa6tJZtTURWfKO6tplxT0RUeKC5t5x0UURRdJy3uaB4VERPcZm2uqN8VkRNbZa0uqaAWUVLaZKyu6mDXEVJ"
    "Zo6wu6uHX0ZIY4uuvK6LY0hGX4eru7COZklFXIOpu7KSaUtFWYCmurSWbU1EVnyjuraZcU9EVHigubecdFFEUXSct7mg"
    "eFRET3GZtrqjfFZETW2WtLqmf1lFS2mSsrupg1xFSWaOsLurh19GSGOLrryui2NIRl+Hq7uwjmZJRVyDqbuykmlLRVl/"
    "prq0lm1NRFZ8o7q2mXFPRFR4oA=="
)


def wav_data(source: str | os.PathLike[str] | bytes) -> str:
    """The ``audio`` parameter for a WAV file (path) or its bytes: base64 text, checked.

    Raises ValueError saying what is wrong (not a WAV file, too large...).
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    text = base64.b64encode(data).decode("ascii")
    commands.wav_info(text)
    return text


@register
class PlayWav(CommandKind):
    name = "play_wav"
    title = "Play WAV sound"
    description = "Play a short WAV sound carried in the flow (a chime, a jingle), no media id."
    category = "Say & hear"
    color = "#4c78a8"
    icon = "🎵"
    params = (
        Param(
            "audio",
            "text",
            "",
            "The sound: a WAV file's bytes, base64-encoded (in code, fb.wav_data('chime.wav')); "
            f"at most {commands.MAX_AUDIO_DATA_CHARS // 1024} KiB of text.",
            required=True,
            max=commands.MAX_AUDIO_DATA_CHARS,
            example=BEEP,
        ),
    )

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        try:
            commands.wav_info(params["audio"])
        except ValueError as exc:
            return [("audio", str(exc).removeprefix("audio_data "))]
        return []

    def command(self, node: NodeSpec, ctx: Context) -> Command:
        return commands.build("play_wav_data", audio_data=node.params["audio"])
