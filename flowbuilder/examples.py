"""Sample flows used by the demo, the tutorials, the exports and the tests."""

from __future__ import annotations

from typing import Any

from flowbuilder.flow import Flow

SALES_NUMBER = "+33123456789"
OPERATOR_NUMBER = "+33198765432"
DESK_NUMBER = "+33123450000"


def support_line() -> Flow:
    """The support-line IVR: welcome, then a menu — 1 sales (dial), 2 support (voicemail),
    0 operator (dial, with a fallback when busy); wrong keys and silence are retried, then
    the caller hears goodbye."""
    flow = Flow("support_line", description="Acme's support line: sales, support, operator.")
    flow.add("welcome", "play", label="Welcome", prompt="Welcome to Acme.", pos=(40, 200))
    flow.add(
        "main_menu",
        "menu",
        label="Main menu",
        prompt="For sales, press 1. For support, press 2. For an operator, press 0.",
        options=[
            {"outcome": "sales", "digits": "1"},
            {"outcome": "support", "digits": "2"},
            {"outcome": "operator", "digits": "0"},
        ],
        max_failures=3,
        max_timeouts=2,
        pos=(260, 200),
    )
    flow.add(
        "sales",
        "dial",
        label="Sales team",
        pos=(520, 40),
        targets=[{"number": SALES_NUMBER, "timeout": 20}],
        cli="{caller}",
    )
    flow.add(
        "support",
        "voicemail",
        label="Support voicemail",
        pos=(780, 200),
        prompt="Please describe your problem after the tone, then press hash.",
    )
    flow.add(
        "operator",
        "dial",
        label="Operator",
        pos=(520, 380),
        targets=[{"number": OPERATOR_NUMBER, "timeout": 25}],
        cli="{caller}",
    )
    flow.add(
        "operator_busy",
        "play",
        label="Operators busy",
        pos=(520, 540),
        prompt="All our operators are busy. Please leave a message.",
    )
    flow.add(
        "thanks",
        "play",
        label="Thanks",
        pos=(1020, 200),
        prompt="Thank you. We will call you back soon.",
    )
    flow.add(
        "goodbye",
        "play",
        label="Goodbye",
        pos=(260, 540),
        prompt="We did not get your choice. Goodbye.",
    )
    flow.add("end", "hangup", label="Hang up", pos=(1240, 380))

    flow.connect("welcome", "main_menu")
    for outcome in ("sales", "support", "operator"):
        flow.connect("main_menu", outcome, outcome)
    flow.connect("main_menu", "goodbye", "invalid").connect("main_menu", "goodbye", "timeout")
    flow.connect("sales", "end", "answered")
    for outcome in ("no_answer", "busy", "failed"):
        flow.connect("sales", "support", outcome)
        flow.connect("operator", "operator_busy", outcome)
    flow.connect("operator", "end", "answered")
    flow.connect("operator_busy", "support")
    flow.connect("support", "thanks").connect("thanks", "end").connect("goodbye", "end")
    return flow


def front_desk() -> Flow:
    """Business hours: weekdays 09:00-18:00 in Paris the caller is put through to the desk;
    otherwise, or when nobody answers, they leave a voicemail."""
    flow = Flow(
        "front_desk",
        timezone="Europe/Paris",
        description="Put callers through in business hours, voicemail otherwise.",
    )
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    flow.add(
        "hours",
        "branch",
        label="Weekday?",
        conditions=[{"name": "open", "subject": "weekday", "op": "weekday_in", "value": weekdays}],
    )
    flow.add(
        "daytime",
        "branch",
        label="09:00-18:00?",
        conditions=[
            {"name": "open", "subject": "time", "op": "time_between", "value": ["09:00", "18:00"]}
        ],
    )
    flow.add(
        "welcome",
        "play",
        label="Welcome",
        prompt="Hello {caller}, thanks for calling Acme. Connecting you.",
    )
    flow.add("desk", "dial", label="Front desk", targets=[{"number": DESK_NUMBER, "timeout": 20}])
    flow.add(
        "closed",
        "voicemail",
        label="Closed: voicemail",
        prompt="We are closed. Our hours are 9 to 6, Monday to Friday. "
        "Leave a message after the tone.",
    )
    flow.add("bye", "play", label="Goodbye", prompt="Thank you, goodbye.")
    flow.add("end", "hangup", label="Hang up")
    flow.connect("hours", "daytime", "open").connect("hours", "closed", "else")
    flow.connect("daytime", "welcome", "open").connect("daytime", "closed", "else")
    flow.connect("welcome", "desk").connect("desk", "end", "answered")
    for outcome in ("no_answer", "busy", "failed"):
        flow.connect("desk", "closed", outcome)
    flow.connect("closed", "bye").connect("bye", "end")
    return flow


def reminder() -> Flow:
    """An outbound appointment reminder: press 1 to confirm, 2 to cancel."""
    flow = Flow("reminder", description="Call customers to confirm tomorrow's appointment.")
    flow.add(
        "remind",
        "menu",
        label="Reminder",
        prompt="Hello, this is Acme. You have an appointment tomorrow at 10. "
        "Press 1 to confirm, 2 to cancel.",
        options=[{"outcome": "confirm", "digits": "1"}, {"outcome": "cancel", "digits": "2"}],
        max_failures=2,
        max_timeouts=2,
    )
    flow.add("confirmed", "play", label="Confirmed", prompt="Thank you, see you tomorrow.")
    flow.add(
        "cancelled", "play", label="Cancelled", prompt="Your appointment is cancelled. Goodbye."
    )
    flow.add("no_reply", "play", label="No reply", prompt="We will call you again later. Goodbye.")
    flow.add("end", "hangup", label="Hang up")
    flow.connect("remind", "confirmed", "confirm").connect("remind", "cancelled", "cancel")
    flow.connect("remind", "no_reply", "invalid").connect("remind", "no_reply", "timeout")
    for node in ("confirmed", "cancelled", "no_reply"):
        flow.connect(node, "end")
    return flow


# -- a function for ``python`` nodes -------------------------------------------------------------

#: A tiny customer table standing in for a CRM (keyed by caller number).
CUSTOMERS: dict[str, dict[str, str]] = {
    "+33612345678": {"customer_name": "Ada Lovelace", "customer_tier": "gold"},
    "+33698765432": {"customer_name": "Alan Turing", "customer_tier": "silver"},
}


def lookup_customer(*, facts: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """A ``python`` node function (``flowbuilder.examples:lookup_customer``): find the caller.

    Returns outcome ``known`` with ``customer_name`` and ``customer_tier``, or ``unknown``.

    >>> lookup_customer(facts={"caller": "+33100000000"}, variables={})
    {'outcome': 'unknown', 'variables': {}}
    """
    found = CUSTOMERS.get(str(facts.get("caller", "")))
    if found is None:
        return {"outcome": "unknown", "variables": {}}
    return {"outcome": "known", "variables": dict(found)}
