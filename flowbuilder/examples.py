"""Sample flows used by the demo, the tutorials, the exports and the tests."""

from __future__ import annotations

from typing import Any

from flowbuilder.flow import Flow

SALES_NUMBER = "+33123456789"
OPERATOR_NUMBER = "+33198765432"


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
