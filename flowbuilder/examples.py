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
    flow.add(
        "hours",
        "business_hours",
        label="Open?",
        hours={"mon-fri": ["09:00-18:00"]},
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
    flow.connect("hours", "welcome", "open").connect("hours", "closed", "closed")
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


# -- the dental clinic ---------------------------------------------------------------------------

#: The practice-management system's API (patients, appointments, reminders); tests point the
#: ``config`` node at a JSON server on loopback instead.
CLINIC_API = "https://pms.rive-gauche-dental.example/api/v1"
CLINIC_RECEPTION = ("+33199000101", "+33199000102")
CLINIC_ON_CALL = "+33639980042"
CLINIC_BILLING = "+33199000103"
#: Public holidays in France, and the days the clinic keeps hours of its own.
CLINIC_HOLIDAYS: list[Any] = [
    {"date": "01-01", "name": "New Year's Day"},
    {"date": "2026-04-06", "name": "Easter Monday"},
    {"date": "05-01", "name": "Labour Day"},
    {"date": "05-08", "name": "Victory in Europe Day"},
    {"date": "2026-05-14", "name": "Ascension Day"},
    {"date": "2026-05-25", "name": "Whit Monday"},
    {"date": "07-14", "name": "Bastille Day"},
    {"date": "08-15", "name": "Assumption Day"},
    {"date": "11-01", "name": "All Saints' Day"},
    {"date": "11-11", "name": "Armistice Day"},
    {"date": "12-25", "name": "Christmas Day"},
]
CLINIC_EXCEPTIONS: list[Any] = [
    {"date": "12-24", "hours": ["08:30-13:00"], "name": "Christmas Eve"},
    {"date": "12-31", "hours": ["08:30-13:00"], "name": "New Year's Eve"},
    {"date": "2026-06-11", "hours": ["08:30-12:30"], "name": "staff training"},
]
CLINIC_HOURS = "Monday to Friday 8:30 to 12:30 and 1:30 to 7, Saturday 9 to 1"


def _dental_faq() -> Flow:
    """The dental clinic's FAQ, a subflow: opening hours, finding us, insurance; each answer
    returns to the line that called it."""
    flow = Flow("dental_faq", description="Rive Gauche Dental: answers to common questions.")
    flow.add(
        "faq_menu",
        "menu",
        label="FAQ",
        prompt="For our opening hours, press 1. For our address and parking, press 2. "
        "For insurance and payment, press 3. To go back, press 9.",
        options=[
            {"outcome": "hours", "digits": "1"},
            {"outcome": "address", "digits": "2"},
            {"outcome": "insurance", "digits": "3"},
            {"outcome": "back", "digits": "9"},
        ],
        max_failures=2,
        max_timeouts=1,
    )
    flow.add("faq_hours", "play", label="Hours", prompt=f"We are open {CLINIC_HOURS}.")
    flow.add(
        "faq_address",
        "play",
        label="Address",
        prompt="We are at 12 rue du Bac, Paris 7th, a minute from Rue du Bac metro station. "
        "The nearest car park is on boulevard Raspail.",
    )
    flow.add(
        "faq_insurance",
        "play",
        label="Insurance",
        prompt="We accept the Carte Vitale and most mutual insurers, and we send your "
        "invoices to them directly. Payment by card or bank transfer.",
    )
    flow.connect("faq_menu", "faq_hours", "hours")
    flow.connect("faq_menu", "faq_address", "address")
    flow.connect("faq_menu", "faq_insurance", "insurance")
    # back, wrong keys, silence and each answer end the subflow: the call returns to the line
    return flow


def dental_clinic() -> Flow:
    """A dental clinic's line, inbound and outbound, through one REALTIME10 app.

    Inbound: business hours (weekly hours, French public holidays, short days), then a menu --
    appointments (the patient number is looked up in the practice's API), emergencies (the
    dentist on call, 08:00-22:00 every day), billing, an FAQ subflow, reception -- with voicemail
    when nobody answers. Out of hours and on holidays callers can still reach the dentist on
    call or leave a message.
    Outbound (``calls.realtime``): an appointment reminder that tells a person from an answering
    machine, and records the patient's reply.
    """
    flow = Flow(
        "dental_clinic",
        timezone="Europe/Paris",
        description="Rive Gauche Dental: hours, appointments, emergencies, reminders.",
    )
    flow.add("config", "set", label="Practice API", values={"pms_api": CLINIC_API})
    flow.add(
        "route",
        "branch",
        label="Reminder call?",
        conditions=[
            {"name": "reminder", "subject": "direction", "op": "equals", "value": "outbound"}
        ],
    )
    flow.add(
        "hours",
        "business_hours",
        label="Open?",
        hours={"mon-fri": ["08:30-12:30", "13:30-19:00"], "sat": ["09:00-13:00"]},
        holidays=CLINIC_HOLIDAYS,
        exceptions=CLINIC_EXCEPTIONS,
        variable="closed_reason",
    )
    flow.add(
        "welcome",
        "play",
        label="Welcome",
        prompt="Welcome to Rive Gauche Dental. Calls may be recorded to improve our service.",
    )
    flow.add(
        "main_menu",
        "menu",
        label="Main menu",
        prompt="For appointments, press 1. For a dental emergency, press 2. For billing, "
        "press 3. For opening hours and other questions, press 4. For reception, press 0.",
        options=[
            {"outcome": "appointments", "digits": "1"},
            {"outcome": "emergency", "digits": "2"},
            {"outcome": "billing", "digits": "3"},
            {"outcome": "faq", "digits": "4"},
            {"outcome": "reception", "digits": "0"},
        ],
        max_failures=2,
        max_timeouts=2,
    )
    flow.add(
        "ask_patient",
        "gather",
        label="Patient number",
        prompt="Please enter your six-digit patient number, then press hash.",
        max_digits=7,
        variable="patient_number",
    )
    flow.add(
        "lookup",
        "http_request",
        label="Find the patient",
        url="{pms_api}/patients/{patient_number}",
        timeout_ms=2500,
        map={"patient_name": "first_name", "next_appointment": "next_appointment.spoken"},
    )
    flow.add(
        "appointment",
        "menu",
        label="Next appointment",
        prompt="Hello {patient_name}. Your next appointment is {next_appointment}. "
        "To change or cancel it, press 1. To go back to the main menu, press 9.",
        options=[{"outcome": "change", "digits": "1"}, {"outcome": "back", "digits": "9"}],
        max_failures=2,
        max_timeouts=1,
    )
    flow.add(
        "not_found",
        "play",
        label="Not found",
        prompt="Sorry, we could not find your file. Let me put you through to reception.",
    )
    flow.add(
        "emergency",
        "business_hours",
        label="Dentist on call?",
        hours={"mon-sun": ["08:00-22:00"]},  # every day, holidays too
    )
    flow.add(
        "on_call_notice",
        "play",
        label="Calling the dentist",
        prompt="If you are in severe pain, bleeding or have a swollen face, stay on the line: "
        "we are calling the dentist on call.",
    )
    flow.add(
        "night",
        "play",
        label="No dentist on call",
        prompt="Our dentists are on call from 8 in the morning to 10 at night. For an urgent "
        "problem now, call 15. Goodbye.",
    )
    flow.add(
        "on_call",
        "dial",
        label="Dentist on call",
        targets=[{"number": CLINIC_ON_CALL, "timeout": 30}],
        cli="{caller}",
        whisper="Emergency call from the clinic line.",
    )
    flow.add(
        "billing",
        "dial",
        label="Billing",
        targets=[{"number": CLINIC_BILLING, "timeout": 20}],
        cli="{caller}",
    )
    flow.add("faq", "subflow", label="FAQ", flow="dental_faq")
    flow.add(
        "reception",
        "dial",
        label="Reception",
        targets=[{"number": n, "timeout": 20} for n in CLINIC_RECEPTION],
        cli="{caller}",
    )
    flow.add(
        "message",
        "voicemail",
        label="Voicemail",
        prompt="Nobody can take your call right now. Please leave your name, your phone number "
        "and the reason for your call after the tone, then press hash.",
    )
    flow.add("thanks", "play", label="Thanks", prompt="Thank you. We will call you back.")
    flow.add("goodbye", "play", label="Goodbye", prompt="Thank you for calling. Goodbye.")
    flow.add("end", "hangup", label="Hang up")
    flow.add(
        "holiday",
        "play",
        label="Holiday",
        prompt="Rive Gauche Dental is closed today for {closed_reason}.",
    )
    flow.add(
        "closed",
        "menu",
        label="Closed",
        prompt=f"Rive Gauche Dental is closed. We are open {CLINIC_HOURS}. For a dental "
        "emergency, press 2. To leave a message, press 1 or stay on the line.",
        options=[{"outcome": "emergency", "digits": "2"}, {"outcome": "message", "digits": "1"}],
        max_failures=1,
        max_timeouts=1,
    )
    # outbound: the appointment reminder
    flow.add(
        "reminder_lookup",
        "http_request",
        label="Whose reminder?",
        url="{pms_api}/reminders/{number}",
        timeout_ms=2500,
        map={"patient_name": "first_name", "appointment_time": "appointment.spoken"},
    )
    flow.add(
        "detect",
        "talk_detect",
        label="Person or machine?",
        prompt="Hello?",
    )
    flow.add(
        "reminder",
        "menu",
        label="Reminder",
        prompt="Hello {patient_name}, this is Rive Gauche Dental with a reminder of your "
        "appointment {appointment_time}. To confirm, press 1. To cancel, press 2. To speak to "
        "reception, press 0.",
        options=[
            {"outcome": "confirm", "digits": "1"},
            {"outcome": "cancel", "digits": "2"},
            {"outcome": "reception", "digits": "0"},
        ],
        max_failures=2,
        max_timeouts=2,
        variable="reminder_reply",
    )
    flow.add(
        "save_reply",
        "http_request",
        label="Record the reply",
        method="POST",
        url="{pms_api}/reminders/{number}/reply",
        body='{"reply": "{reminder_reply}"}',
        timeout_ms=2500,
    )
    flow.add("confirmed", "play", label="Confirmed", prompt="Thank you. See you soon. Goodbye.")
    flow.add(
        "cancelled",
        "play",
        label="Cancelled",
        prompt="Your appointment is cancelled. Call us to book another time. Goodbye.",
    )
    flow.add("beep", "wait_for_silence", label="Wait for the beep")
    flow.add(
        "machine_message",
        "play",
        label="Message on the machine",
        prompt="Hello, this is Rive Gauche Dental with a reminder of your appointment "
        "{appointment_time}. To change it, please call us on 01 99 00 01 00. Goodbye.",
    )
    flow.add(
        "call_us",
        "play",
        label="Please call us",
        prompt="Hello, this is Rive Gauche Dental. Please call us back on 01 99 00 01 00. Goodbye.",
    )

    flow.connect("config", "route")
    flow.connect("route", "reminder_lookup", "reminder").connect("route", "hours", "else")
    flow.connect("hours", "welcome", "open").connect("hours", "closed", "closed")
    flow.connect("hours", "holiday", "holiday").connect("holiday", "closed")
    flow.connect("welcome", "main_menu")
    flow.connect("main_menu", "ask_patient", "appointments")
    for outcome in ("emergency", "billing", "faq", "reception"):
        flow.connect("main_menu", outcome, outcome)
    flow.connect("main_menu", "reception", "invalid").connect("main_menu", "reception", "timeout")
    flow.connect("ask_patient", "lookup", "done").connect("ask_patient", "reception", "timeout")
    flow.connect("lookup", "appointment", "success")
    flow.connect("lookup", "not_found", "failed").connect("lookup", "not_found", "timeout")
    flow.connect("not_found", "reception")
    flow.connect("appointment", "reception", "change").connect("appointment", "main_menu", "back")
    flow.connect("appointment", "goodbye", "invalid").connect("appointment", "goodbye", "timeout")
    flow.connect("emergency", "on_call_notice", "open").connect("emergency", "night", "closed")
    flow.connect("on_call_notice", "on_call").connect("night", "end")
    flow.connect("faq", "main_menu", "done")
    for dial in ("on_call", "billing", "reception"):
        flow.connect(dial, "end", "answered")
        for outcome in ("no_answer", "busy", "failed"):
            flow.connect(dial, "message", outcome)
    flow.connect("message", "thanks").connect("thanks", "end").connect("goodbye", "end")
    flow.connect("closed", "emergency", "emergency")
    for outcome in ("message", "invalid", "timeout"):
        flow.connect("closed", "message", outcome)
    flow.connect("reminder_lookup", "detect", "success")
    flow.connect("reminder_lookup", "call_us", "failed").connect(
        "reminder_lookup", "call_us", "timeout"
    )
    flow.connect("detect", "reminder", "human").connect("detect", "reminder", "unknown")
    flow.connect("detect", "beep", "machine").connect("beep", "machine_message")
    flow.connect("reminder", "confirmed", "confirm").connect("reminder", "cancelled", "cancel")
    flow.connect("reminder", "reception", "reception")
    flow.connect("reminder", "machine_message", "invalid")
    flow.connect("reminder", "machine_message", "timeout")
    flow.connect("confirmed", "save_reply").connect("cancelled", "save_reply")
    for outcome in ("success", "failed", "timeout"):
        flow.connect("save_reply", "end", outcome)
    for node in ("machine_message", "call_us"):
        flow.connect(node, "end")
    return flow.use(_dental_faq())


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
