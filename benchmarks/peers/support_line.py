"""The support-line IVR written by hand, as a CALLR user would after the REAL-TIME tutorial.

CALLR POSTs the call (a dict decoded from JSON) and we answer with the next command. Where the
call is rides in ``variables`` as plain JSON (``variables["ivr"]``); CALLR sends it back with the
next POST. The menu choice, the dial status and the recording's file name are kept in
``variables`` too, under the same names as flowbuilder's ``support_line()`` example, so both can
be compared answer for answer.

Welcome, then a menu: 1 sales (dial), 2 support (voicemail), 0 operator (dial; when busy, a
message then voicemail). Three wrong keys or two silences: goodbye. A command that fails: an
apology, then hang up.
"""

from __future__ import annotations

from typing import Any

VOICE = "TTS_EN-GB_SERENA"
SALES = "+33123456789"
OPERATOR = "+33198765432"

WELCOME = "Welcome to Acme."
MENU = "For sales, press 1. For support, press 2. For an operator, press 0."
INVALID = "Sorry, that is not a valid choice."
SILENCE = "Sorry, I did not hear your choice."
GOODBYE = "We did not get your choice. Goodbye."
BUSY = "All our operators are busy. Please leave a message."
LEAVE_A_MESSAGE = "Please describe your problem after the tone, then press hash."
THANKS = "Thank you. We will call you back soon."
SORRY = "Sorry, something went wrong. Goodbye."

MAX_FAILURES = 3
MAX_TIMEOUTS = 2
CHOICES = {"1": "sales", "2": "support", "0": "operator"}
ENDED = {"HANGUP", "NOANSWER", "BUSY", "CONGESTION", "REJECTED"}


def tts(text: str) -> str:
    return f"TTS|{VOICE}|{text}"


def answer(call: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to one POST from CALLR; None when the call has ended (CALLR ignores it)."""
    if call["call_status"] in ENDED:
        return None
    variables = call["variables"]
    if call["command"] == "" and call["command_id"] == 0:  # a new call
        return say(call, variables, WELCOME, "welcome")
    ivr = variables["ivr"]
    at = ivr["at"]
    failed = call["command_error"] != ""
    result = call["command_result"]

    if at in ("sales", "operator"):  # a dialout ended
        status = "" if failed else result.strip().upper()
        if not failed:
            variables["dial_status"] = status
        if status == "ANSWER":
            return hangup(call, variables)
        if at == "sales":
            return say(call, variables, LEAVE_A_MESSAGE, "leave_a_message")
        return say(call, variables, BUSY, "operator_busy")
    if at == "leave_a_message":  # the prompt was played (or not): record anyway
        return command(call, variables, "record", {"max_duration": 120, "silence": 5}, "record")
    if failed or at in ("sorry", "end"):
        if at in ("sorry", "end"):
            return hangup(call, variables)
        return say(call, variables, SORRY, "sorry")
    if at == "welcome":
        ivr.update(failures=0, timeouts=0)
        return ask(call, variables)
    if at == "retry":
        return ask(call, variables)
    if at == "menu":
        return menu_choice(call, variables, result)
    if at == "operator_busy":
        return say(call, variables, LEAVE_A_MESSAGE, "leave_a_message")
    if at == "record":
        variables["recording"] = result
        return say(call, variables, THANKS, "thanks")
    return hangup(call, variables)  # after thanks or goodbye


def menu_choice(call: dict[str, Any], variables: dict[str, Any], digits: str) -> dict[str, Any]:
    ivr = variables["ivr"]
    if digits in ("", "TIMEOUT"):
        ivr["timeouts"] += 1
        if ivr["timeouts"] >= MAX_TIMEOUTS:
            return say(call, variables, GOODBYE, "goodbye")
        return say(call, variables, SILENCE, "retry")
    choice = CHOICES.get(digits)
    if choice is None:
        ivr["failures"] += 1
        if ivr["failures"] >= MAX_FAILURES:
            return say(call, variables, GOODBYE, "goodbye")
        return say(call, variables, INVALID, "retry")
    variables["menu_choice"] = digits
    if choice == "support":
        return say(call, variables, LEAVE_A_MESSAGE, "leave_a_message")
    number, timeout = (SALES, 20) if choice == "sales" else (OPERATOR, 25)
    params = {
        "targets": [{"number": number, "timeout": timeout}],
        "cli": call["cli_number"] or "BLOCKED",
        "ringtone": "RING",
        "whisper": 0,
        "cdr_field": "",
    }
    return command(call, variables, "dialout", params, choice)


def ask(call: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    params = {"media_id": tts(MENU), "max_digits": 1, "attempts": 1, "timeout_ms": 5000}
    return command(call, variables, "read", params, "menu")


def say(call: dict[str, Any], variables: dict[str, Any], text: str, at: str) -> dict[str, Any]:
    return command(call, variables, "play", {"media_id": tts(text)}, at)


def hangup(call: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    return command(call, variables, "hangup", {}, "end")


def command(
    call: dict[str, Any], variables: dict[str, Any], name: str, params: dict[str, Any], at: str
) -> dict[str, Any]:
    """The answer: *name* with *params*; the call is now *at* that step."""
    ivr = variables.setdefault("ivr", {})
    if at != ivr.get("at"):
        ivr["at"] = at
    return {
        "command": name,
        "command_id": call["command_id"] + 1,
        "params": params,
        "variables": variables,
    }
