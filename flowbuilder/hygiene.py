"""Clean output: nothing flowbuilder prints or logs carries credentials or terminal controls.

Callers, CALLR fields, API answers and flow files all end up in lines on a terminal or in a log:
a ``cli_name`` holding ``ESC[2J``, a ``command_error`` with a newline and a forged log line, a
URL with ``user:password@``. Every printer and logger of the package goes through :func:`clean`
(one line: credentials out of URLs, control characters escaped) or :func:`clean_json` (the same
for a JSON line, still valid JSON); the package's loggers carry :class:`CleanLogs`.

>>> print(clean("GET https://bob:s3cret@api.example.com/x\\x1b[2J done\\nFAKE LINE"))
GET https://***@api.example.com/x\\x1b[2J done\\nFAKE LINE
"""

from __future__ import annotations

import logging
import re
from typing import Final

# userinfo in an absolute URL: scheme://user[:password]@
_CREDENTIALS: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#@\"'<>]*@")
# C0 and C1 controls, DEL, invisible format and bidi controls, line and paragraph separators
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# in JSON text the C0 controls are escaped already; the others are legal raw: escape them
_JSON_CONTROLS: Final = re.compile("[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def strip_credentials(text: str) -> str:
    """*text* with the ``user:password@`` of every URL in it replaced by ``***@``.

    >>> strip_credentials("see http://u:p@h:8080/a and ftp://anon@files.example.org")
    'see http://***@h:8080/a and ftp://***@files.example.org'
    """
    if "@" not in text or "://" not in text:  # most lines (a node is shown as "@node")
        return text
    return _CREDENTIALS.sub(r"\1***@", text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """*text* on one line: newlines, ESC, BEL, bidi overrides... written as escapes.

    >>> escape_controls("a\\rb\\x07c\\u202ed")
    'a\\\\rb\\\\x07c\\\\u202ed'
    """
    if text.isprintable():  # nearly every line: one C pass
        return text
    return _CONTROLS.sub(_escape, text)


def clean(text: str) -> str:
    """One line safe to print or log: credentials stripped, control characters escaped."""
    return escape_controls(strip_credentials(text))


def clean_lines(text: str) -> str:
    """:func:`clean` on each line of *text* (whose line breaks are its own, not a field's)."""
    if "\n" not in text:
        return clean(text)
    return "\n".join(clean(line) for line in text.split("\n"))


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def clean_json(text: str) -> str:
    """A JSON line safe to print: credentials stripped, controls JSON-escaped (still valid).

    >>> clean_json('{"name": "a\\u202eb", "url": "http://u:p@h/"}')
    '{"name": "a\\\\u202eb", "url": "http://***@h/"}'
    """
    text = strip_credentials(text)
    return _JSON_CONTROLS.sub(_json_escape, text)


class CleanLogs(logging.Filter):
    """Cleans every record of the logger it is on: the message in one line, the traceback with
    its own line breaks kept and everything else escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = clean(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = clean_lines(logging.Formatter().formatException(record.exc_info))
        return True


def protect(logger: logging.Logger) -> logging.Logger:
    """Put :class:`CleanLogs` on *logger* (once)."""
    if not any(isinstance(f, CleanLogs) for f in logger.filters):
        logger.addFilter(CleanLogs())
    return logger
