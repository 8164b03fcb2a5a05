"""Call flow dental_clinic.

Rive Gauche Dental: hours, appointments, emergencies, reminders.

Exported from flowbuilder: the flow is the FLOW data below. To change it, edit the flow
(in the builder, or in code) and export it again rather than editing this file::

    flowbuilder export FLOW --to py -o dental_clinic.py

Serve it as the REAL-TIME callback URL of a CALLR app (secrets come from the environment
or the command line, never from this file)::

    python dental_clinic.py --port 8080

Nodes (entry: config):

    id               kind            label                   outcomes -> targets
    ---------------  --------------  ----------------------  -------------------
    appointment      menu            Next appointment        change -> reception
                                                             back -> main_menu
                                                             invalid -> goodbye
                                                             timeout -> goodbye
    ask_patient      gather          Patient number          done -> lookup
                                                             timeout -> reception
    beep             wait_for_si...  Wait for the beep       next -> machine_message
    billing          dial            Billing                 answered -> end
                                                             no_answer -> message
                                                             busy -> message
                                                             failed -> message
    call_us          play            Please call us          next -> end
    cancelled        play            Cancelled               next -> save_reply
    closed           menu            Closed                  emergency -> emergency
                                                             message -> message
                                                             invalid -> message
                                                             timeout -> message
    config           set             Practice API            next -> route
    confirmed        play            Confirmed               next -> save_reply
    detect           talk_detect     Person or machine?      human -> reminder
                                                             machine -> beep
                                                             unknown -> reminder
    emergency        business_hours  Dentist on call?        open -> on_call_notice
                                                             closed -> night
    end              hangup          Hang up                 (ends the call)
    faq              subflow         FAQ                     done -> main_menu
    goodbye          play            Goodbye                 next -> end
    holiday          play            Holiday                 next -> closed
    hours            business_hours  Open?                   open -> welcome
                                                             closed -> closed
                                                             holiday -> holiday
    lookup           http_request    Find the patient        success -> appointment
                                                             failed -> not_found
                                                             timeout -> not_found
    machine_message  play            Message on the machine  next -> end
    main_menu        menu            Main menu               appointments -> ask_patient
                                                             emergency -> emergency
                                                             billing -> billing
                                                             faq -> faq
                                                             reception -> reception
                                                             invalid -> reception
                                                             timeout -> reception
    message          voicemail       Voicemail               next -> thanks
    night            play            No dentist on call      next -> end
    not_found        play            Not found               next -> reception
    on_call          dial            Dentist on call         answered -> end
                                                             no_answer -> message
                                                             busy -> message
                                                             failed -> message
    on_call_notice   play            Calling the dentist     next -> on_call
    reception        dial            Reception               answered -> end
                                                             no_answer -> message
                                                             busy -> message
                                                             failed -> message
    reminder         menu            Reminder                confirm -> confirmed
                                                             cancel -> cancelled
                                                             reception -> reception
                                                             invalid -> machine_message
                                                             timeout -> machine_message
    reminder_lookup  http_request    Whose reminder?         success -> detect
                                                             failed -> call_us
                                                             timeout -> call_us
    route            branch          Reminder call?          reminder -> reminder_lookup
                                                             else -> hours
    save_reply       http_request    Record the reply        success -> end
                                                             failed -> end
                                                             timeout -> end
    thanks           play            Thanks                  next -> end
    welcome          play            Welcome                 next -> main_menu

Diagram (Mermaid)::

    flowchart LR
        start_(("start")) --> config
        appointment{"Next appointment"}:::k_menu
        ask_patient{"Patient number"}:::k_gather
        beep(["Wait for the beep"]):::k_wait_for_silence
        billing{{"Billing"}}:::k_dial
        call_us("Please call us"):::k_play
        cancelled("Cancelled"):::k_play
        closed{"Closed"}:::k_menu
        config[/"Practice API"/]:::k_set
        confirmed("Confirmed"):::k_play
        detect(["Person or machine?"]):::k_talk_detect
        emergency{"Dentist on call?"}:::k_business_hours
        end_(("Hang up")):::k_hangup
        faq[["FAQ"]]:::k_subflow
        goodbye("Goodbye"):::k_play
        holiday("Holiday"):::k_play
        hours{"Open?"}:::k_business_hours
        lookup[/"Find the patient"\\]:::k_http_request
        machine_message("Message on the machine"):::k_play
        main_menu{"Main menu"}:::k_menu
        message[("Voicemail")]:::k_voicemail
        night("No dentist on call"):::k_play
        not_found("Not found"):::k_play
        on_call{{"Dentist on call"}}:::k_dial
        on_call_notice("Calling the dentist"):::k_play
        reception{{"Reception"}}:::k_dial
        reminder{"Reminder"}:::k_menu
        reminder_lookup[/"Whose reminder?"\\]:::k_http_request
        route{"Reminder call?"}:::k_branch
        save_reply[/"Record the reply"\\]:::k_http_request
        thanks("Thanks"):::k_play
        welcome("Welcome"):::k_play
        appointment -->|"back"| main_menu
        appointment -->|"change"| reception
        appointment -->|"invalid"| goodbye
        appointment -->|"timeout"| goodbye
        ask_patient -->|"done"| lookup
        ask_patient -->|"timeout"| reception
        beep -->|"next"| machine_message
        billing -->|"answered"| end_
        billing -->|"busy"| message
        billing -->|"failed"| message
        billing -->|"no_answer"| message
        call_us -->|"next"| end_
        cancelled -->|"next"| save_reply
        closed -->|"emergency"| emergency
        closed -->|"invalid"| message
        closed -->|"message"| message
        closed -->|"timeout"| message
        config -->|"next"| route
        confirmed -->|"next"| save_reply
        detect -->|"human"| reminder
        detect -->|"machine"| beep
        detect -->|"unknown"| reminder
        emergency -->|"closed"| night
        emergency -->|"open"| on_call_notice
        faq -->|"done"| main_menu
        goodbye -->|"next"| end_
        holiday -->|"next"| closed
        hours -->|"closed"| closed
        hours -->|"holiday"| holiday
        hours -->|"open"| welcome
        lookup -->|"failed"| not_found
        lookup -->|"success"| appointment
        lookup -->|"timeout"| not_found
        machine_message -->|"next"| end_
        main_menu -->|"appointments"| ask_patient
        main_menu -->|"billing"| billing
        main_menu -->|"emergency"| emergency
        main_menu -->|"faq"| faq
        main_menu -->|"invalid"| reception
        main_menu -->|"reception"| reception
        main_menu -->|"timeout"| reception
        message -->|"next"| thanks
        night -->|"next"| end_
        not_found -->|"next"| reception
        on_call -->|"answered"| end_
        on_call -->|"busy"| message
        on_call -->|"failed"| message
        on_call -->|"no_answer"| message
        on_call_notice -->|"next"| on_call
        reception -->|"answered"| end_
        reception -->|"busy"| message
        reception -->|"failed"| message
        reception -->|"no_answer"| message
        reminder -->|"cancel"| cancelled
        reminder -->|"confirm"| confirmed
        reminder -->|"invalid"| machine_message
        reminder -->|"reception"| reception
        reminder -->|"timeout"| machine_message
        reminder_lookup -->|"failed"| call_us
        reminder_lookup -->|"success"| detect
        reminder_lookup -->|"timeout"| call_us
        route -->|"else"| hours
        route -->|"reminder"| reminder_lookup
        save_reply -->|"failed"| end_
        save_reply -->|"success"| end_
        save_reply -->|"timeout"| end_
        thanks -->|"next"| end_
        welcome -->|"next"| main_menu
        classDef k_branch fill:#b279a2,stroke:#333,color:#fff
        classDef k_business_hours fill:#b279a2,stroke:#333,color:#fff
        classDef k_dial fill:#54a24b,stroke:#333,color:#fff
        classDef k_gather fill:#f58518,stroke:#333,color:#000
        classDef k_hangup fill:#9d755d,stroke:#333,color:#fff
        classDef k_http_request fill:#72b7b2,stroke:#333,color:#000
        classDef k_menu fill:#f58518,stroke:#333,color:#000
        classDef k_play fill:#4c78a8,stroke:#333,color:#fff
        classDef k_set fill:#b279a2,stroke:#333,color:#fff
        classDef k_subflow fill:#b279a2,stroke:#333,color:#fff
        classDef k_talk_detect fill:#b279a2,stroke:#333,color:#fff
        classDef k_voicemail fill:#e45756,stroke:#333,color:#fff
        classDef k_wait_for_silence fill:#9d755d,stroke:#333,color:#fff
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from flowbuilder.flow import Flow

__all__ = ["FLOW", "main", "make_app", "make_flow"]

# The flow as data (Flow.to_dict()): settings, nodes with their parameters, edges by
# outcome, and the canvas layout apart from the logic.
FLOW: dict[str, Any] = {
    "schema": 1,
    "name": "dental_clinic",
    "description": "Rive Gauche Dental: hours, appointments, emergencies, reminders.",
    "entry": "config",
    "settings": {
        "allow_private_network": False,
        "fallback_message": None,
        "fallback_voice": "",
        "on_error": None,
        "timezone": "Europe/Paris",
        "voice": "TTS_EN-GB_SERENA",
    },
    "nodes": {
        "appointment": {
            "kind": "menu",
            "label": "Next appointment",
            "params": {
                "prompt": (
                    "Hello {patient_name}. Your next appointment is {next_appointment}. To change "
                    "or cancel it, press 1. To go back to the main menu, press 9."
                ),
                "options": [
                    {"digits": "1", "outcome": "change"},
                    {"digits": "9", "outcome": "back"},
                ],
                "max_digits": 1,
                "timeout_ms": 5000,
                "max_failures": 2,
                "max_timeouts": 1,
                "invalid_prompt": "Sorry, that is not a valid choice.",
                "timeout_prompt": "Sorry, I did not hear your choice.",
                "variable": "menu_choice",
                "voice": "",
            },
        },
        "ask_patient": {
            "kind": "gather",
            "label": "Patient number",
            "params": {
                "prompt": "Please enter your six-digit patient number, then press hash.",
                "max_digits": 7,
                "timeout_ms": 5000,
                "attempts": 2,
                "variable": "patient_number",
                "strip_hash": True,
                "voice": "",
            },
        },
        "beep": {
            "kind": "wait_for_silence",
            "label": "Wait for the beep",
            "params": {"silence_ms": 1000, "iterations": 1, "timeout": 30},
        },
        "billing": {
            "kind": "dial",
            "label": "Billing",
            "params": {
                "targets": [{"number": "+33199000103", "timeout": 20}],
                "cli": "{caller}",
                "ringtone": "RING",
                "whisper": "",
                "cdr_field": "",
            },
        },
        "call_us": {
            "kind": "play",
            "label": "Please call us",
            "params": {
                "prompt": (
                    "Hello, this is Rive Gauche Dental. Please call us back on 01 99 00 01 00. "
                    "Goodbye."
                ),
                "voice": "",
            },
        },
        "cancelled": {
            "kind": "play",
            "label": "Cancelled",
            "params": {
                "prompt": "Your appointment is cancelled. Call us to book another time. Goodbye.",
                "voice": "",
            },
        },
        "closed": {
            "kind": "menu",
            "label": "Closed",
            "params": {
                "prompt": (
                    "Rive Gauche Dental is closed. We are open Monday to Friday 8:30 to 12:30 and "
                    "1:30 to 7, Saturday 9 to 1. For a dental emergency, press 2. To leave a "
                    "message, press 1 or stay on the line."
                ),
                "options": [
                    {"digits": "2", "outcome": "emergency"},
                    {"digits": "1", "outcome": "message"},
                ],
                "max_digits": 1,
                "timeout_ms": 5000,
                "max_failures": 1,
                "max_timeouts": 1,
                "invalid_prompt": "Sorry, that is not a valid choice.",
                "timeout_prompt": "Sorry, I did not hear your choice.",
                "variable": "menu_choice",
                "voice": "",
            },
        },
        "config": {
            "kind": "set",
            "label": "Practice API",
            "params": {"values": {"pms_api": "https://pms.rive-gauche-dental.example/api/v1"}},
        },
        "confirmed": {
            "kind": "play",
            "label": "Confirmed",
            "params": {"prompt": "Thank you. See you soon. Goodbye.", "voice": ""},
        },
        "detect": {
            "kind": "talk_detect",
            "label": "Person or machine?",
            "params": {
                "prompt": "Hello?",
                "silence_ms": 800,
                "min_ms": 100,
                "max_ms": 2000,
                "analysistime_ms": 5000,
                "variable": "talk_result",
                "voice": "",
            },
        },
        "emergency": {
            "kind": "business_hours",
            "label": "Dentist on call?",
            "params": {
                "hours": {"mon-sun": ["08:00-22:00"]},
                "holidays": [],
                "exceptions": [],
                "timezone": "",
                "variable": "",
            },
        },
        "end": {"kind": "hangup", "label": "Hang up", "params": {}},
        "faq": {"kind": "subflow", "label": "FAQ", "params": {"flow": "dental_faq"}},
        "goodbye": {
            "kind": "play",
            "label": "Goodbye",
            "params": {"prompt": "Thank you for calling. Goodbye.", "voice": ""},
        },
        "holiday": {
            "kind": "play",
            "label": "Holiday",
            "params": {
                "prompt": "Rive Gauche Dental is closed today for {closed_reason}.",
                "voice": "",
            },
        },
        "hours": {
            "kind": "business_hours",
            "label": "Open?",
            "params": {
                "hours": {"mon-fri": ["08:30-12:30", "13:30-19:00"], "sat": ["09:00-13:00"]},
                "holidays": [
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
                ],
                "exceptions": [
                    {"date": "12-24", "hours": ["08:30-13:00"], "name": "Christmas Eve"},
                    {"date": "12-31", "hours": ["08:30-13:00"], "name": "New Year's Eve"},
                    {"date": "2026-06-11", "hours": ["08:30-12:30"], "name": "staff training"},
                ],
                "timezone": "",
                "variable": "closed_reason",
            },
        },
        "lookup": {
            "kind": "http_request",
            "label": "Find the patient",
            "params": {
                "method": "GET",
                "url": "{pms_api}/patients/{patient_number}",
                "headers": {},
                "body": "",
                "timeout_ms": 2500,
                "max_bytes": 1048576,
                "map": {
                    "next_appointment": "next_appointment.spoken",
                    "patient_name": "first_name",
                },
            },
        },
        "machine_message": {
            "kind": "play",
            "label": "Message on the machine",
            "params": {
                "prompt": (
                    "Hello, this is Rive Gauche Dental with a reminder of your appointment "
                    "{appointment_time}. To change it, please call us on 01 99 00 01 00. Goodbye."
                ),
                "voice": "",
            },
        },
        "main_menu": {
            "kind": "menu",
            "label": "Main menu",
            "params": {
                "prompt": (
                    "For appointments, press 1. For a dental emergency, press 2. For billing, "
                    "press 3. For opening hours and other questions, press 4. For reception, press "
                    "0."
                ),
                "options": [
                    {"digits": "1", "outcome": "appointments"},
                    {"digits": "2", "outcome": "emergency"},
                    {"digits": "3", "outcome": "billing"},
                    {"digits": "4", "outcome": "faq"},
                    {"digits": "0", "outcome": "reception"},
                ],
                "max_digits": 1,
                "timeout_ms": 5000,
                "max_failures": 2,
                "max_timeouts": 2,
                "invalid_prompt": "Sorry, that is not a valid choice.",
                "timeout_prompt": "Sorry, I did not hear your choice.",
                "variable": "menu_choice",
                "voice": "",
            },
        },
        "message": {
            "kind": "voicemail",
            "label": "Voicemail",
            "params": {
                "prompt": (
                    "Nobody can take your call right now. Please leave your name, your phone "
                    "number and the reason for your call after the tone, then press hash."
                ),
                "max_duration": 120,
                "silence": 5,
                "variable": "recording",
                "voice": "",
            },
        },
        "night": {
            "kind": "play",
            "label": "No dentist on call",
            "params": {
                "prompt": (
                    "Our dentists are on call from 8 in the morning to 10 at night. For an urgent "
                    "problem now, call 15. Goodbye."
                ),
                "voice": "",
            },
        },
        "not_found": {
            "kind": "play",
            "label": "Not found",
            "params": {
                "prompt": (
                    "Sorry, we could not find your file. Let me put you through to reception."
                ),
                "voice": "",
            },
        },
        "on_call": {
            "kind": "dial",
            "label": "Dentist on call",
            "params": {
                "targets": [{"number": "+33639980042", "timeout": 30}],
                "cli": "{caller}",
                "ringtone": "RING",
                "whisper": "Emergency call from the clinic line.",
                "cdr_field": "",
            },
        },
        "on_call_notice": {
            "kind": "play",
            "label": "Calling the dentist",
            "params": {
                "prompt": (
                    "If you are in severe pain, bleeding or have a swollen face, stay on the line: "
                    "we are calling the dentist on call."
                ),
                "voice": "",
            },
        },
        "reception": {
            "kind": "dial",
            "label": "Reception",
            "params": {
                "targets": [
                    {"number": "+33199000101", "timeout": 20},
                    {"number": "+33199000102", "timeout": 20},
                ],
                "cli": "{caller}",
                "ringtone": "RING",
                "whisper": "",
                "cdr_field": "",
            },
        },
        "reminder": {
            "kind": "menu",
            "label": "Reminder",
            "params": {
                "prompt": (
                    "Hello {patient_name}, this is Rive Gauche Dental with a reminder of your "
                    "appointment {appointment_time}. To confirm, press 1. To cancel, press 2. To "
                    "speak to reception, press 0."
                ),
                "options": [
                    {"digits": "1", "outcome": "confirm"},
                    {"digits": "2", "outcome": "cancel"},
                    {"digits": "0", "outcome": "reception"},
                ],
                "max_digits": 1,
                "timeout_ms": 5000,
                "max_failures": 2,
                "max_timeouts": 2,
                "invalid_prompt": "Sorry, that is not a valid choice.",
                "timeout_prompt": "Sorry, I did not hear your choice.",
                "variable": "reminder_reply",
                "voice": "",
            },
        },
        "reminder_lookup": {
            "kind": "http_request",
            "label": "Whose reminder?",
            "params": {
                "method": "GET",
                "url": "{pms_api}/reminders/{number}",
                "headers": {},
                "body": "",
                "timeout_ms": 2500,
                "max_bytes": 1048576,
                "map": {"appointment_time": "appointment.spoken", "patient_name": "first_name"},
            },
        },
        "route": {
            "kind": "branch",
            "label": "Reminder call?",
            "params": {
                "conditions": [
                    {
                        "name": "reminder",
                        "op": "equals",
                        "subject": "direction",
                        "value": "outbound",
                    },
                ],
                "timezone": "",
            },
        },
        "save_reply": {
            "kind": "http_request",
            "label": "Record the reply",
            "params": {
                "method": "POST",
                "url": "{pms_api}/reminders/{number}/reply",
                "headers": {},
                "body": '{"reply": "{reminder_reply}"}',
                "timeout_ms": 2500,
                "max_bytes": 1048576,
                "map": {},
            },
        },
        "thanks": {
            "kind": "play",
            "label": "Thanks",
            "params": {"prompt": "Thank you. We will call you back.", "voice": ""},
        },
        "welcome": {
            "kind": "play",
            "label": "Welcome",
            "params": {
                "prompt": (
                    "Welcome to Rive Gauche Dental. Calls may be recorded to improve our service."
                ),
                "voice": "",
            },
        },
    },
    "edges": [
        {"from": "appointment", "outcome": "back", "to": "main_menu"},
        {"from": "appointment", "outcome": "change", "to": "reception"},
        {"from": "appointment", "outcome": "invalid", "to": "goodbye"},
        {"from": "appointment", "outcome": "timeout", "to": "goodbye"},
        {"from": "ask_patient", "outcome": "done", "to": "lookup"},
        {"from": "ask_patient", "outcome": "timeout", "to": "reception"},
        {"from": "beep", "outcome": "next", "to": "machine_message"},
        {"from": "billing", "outcome": "answered", "to": "end"},
        {"from": "billing", "outcome": "busy", "to": "message"},
        {"from": "billing", "outcome": "failed", "to": "message"},
        {"from": "billing", "outcome": "no_answer", "to": "message"},
        {"from": "call_us", "outcome": "next", "to": "end"},
        {"from": "cancelled", "outcome": "next", "to": "save_reply"},
        {"from": "closed", "outcome": "emergency", "to": "emergency"},
        {"from": "closed", "outcome": "invalid", "to": "message"},
        {"from": "closed", "outcome": "message", "to": "message"},
        {"from": "closed", "outcome": "timeout", "to": "message"},
        {"from": "config", "outcome": "next", "to": "route"},
        {"from": "confirmed", "outcome": "next", "to": "save_reply"},
        {"from": "detect", "outcome": "human", "to": "reminder"},
        {"from": "detect", "outcome": "machine", "to": "beep"},
        {"from": "detect", "outcome": "unknown", "to": "reminder"},
        {"from": "emergency", "outcome": "closed", "to": "night"},
        {"from": "emergency", "outcome": "open", "to": "on_call_notice"},
        {"from": "faq", "outcome": "done", "to": "main_menu"},
        {"from": "goodbye", "outcome": "next", "to": "end"},
        {"from": "holiday", "outcome": "next", "to": "closed"},
        {"from": "hours", "outcome": "closed", "to": "closed"},
        {"from": "hours", "outcome": "holiday", "to": "holiday"},
        {"from": "hours", "outcome": "open", "to": "welcome"},
        {"from": "lookup", "outcome": "failed", "to": "not_found"},
        {"from": "lookup", "outcome": "success", "to": "appointment"},
        {"from": "lookup", "outcome": "timeout", "to": "not_found"},
        {"from": "machine_message", "outcome": "next", "to": "end"},
        {"from": "main_menu", "outcome": "appointments", "to": "ask_patient"},
        {"from": "main_menu", "outcome": "billing", "to": "billing"},
        {"from": "main_menu", "outcome": "emergency", "to": "emergency"},
        {"from": "main_menu", "outcome": "faq", "to": "faq"},
        {"from": "main_menu", "outcome": "invalid", "to": "reception"},
        {"from": "main_menu", "outcome": "reception", "to": "reception"},
        {"from": "main_menu", "outcome": "timeout", "to": "reception"},
        {"from": "message", "outcome": "next", "to": "thanks"},
        {"from": "night", "outcome": "next", "to": "end"},
        {"from": "not_found", "outcome": "next", "to": "reception"},
        {"from": "on_call", "outcome": "answered", "to": "end"},
        {"from": "on_call", "outcome": "busy", "to": "message"},
        {"from": "on_call", "outcome": "failed", "to": "message"},
        {"from": "on_call", "outcome": "no_answer", "to": "message"},
        {"from": "on_call_notice", "outcome": "next", "to": "on_call"},
        {"from": "reception", "outcome": "answered", "to": "end"},
        {"from": "reception", "outcome": "busy", "to": "message"},
        {"from": "reception", "outcome": "failed", "to": "message"},
        {"from": "reception", "outcome": "no_answer", "to": "message"},
        {"from": "reminder", "outcome": "cancel", "to": "cancelled"},
        {"from": "reminder", "outcome": "confirm", "to": "confirmed"},
        {"from": "reminder", "outcome": "invalid", "to": "machine_message"},
        {"from": "reminder", "outcome": "reception", "to": "reception"},
        {"from": "reminder", "outcome": "timeout", "to": "machine_message"},
        {"from": "reminder_lookup", "outcome": "failed", "to": "call_us"},
        {"from": "reminder_lookup", "outcome": "success", "to": "detect"},
        {"from": "reminder_lookup", "outcome": "timeout", "to": "call_us"},
        {"from": "route", "outcome": "else", "to": "hours"},
        {"from": "route", "outcome": "reminder", "to": "reminder_lookup"},
        {"from": "save_reply", "outcome": "failed", "to": "end"},
        {"from": "save_reply", "outcome": "success", "to": "end"},
        {"from": "save_reply", "outcome": "timeout", "to": "end"},
        {"from": "thanks", "outcome": "next", "to": "end"},
        {"from": "welcome", "outcome": "next", "to": "main_menu"},
    ],
    "layout": {},
    "subflows": {
        "dental_faq": {
            "schema": 1,
            "name": "dental_faq",
            "description": "Rive Gauche Dental: answers to common questions.",
            "entry": "faq_menu",
            "settings": {
                "allow_private_network": False,
                "fallback_message": None,
                "fallback_voice": "",
                "on_error": None,
                "timezone": "UTC",
                "voice": "TTS_EN-GB_SERENA",
            },
            "nodes": {
                "faq_address": {
                    "kind": "play",
                    "label": "Address",
                    "params": {
                        "prompt": (
                            "We are at 12 rue du Bac, Paris 7th, a minute from Rue du Bac metro "
                            "station. The nearest car park is on boulevard Raspail."
                        ),
                        "voice": "",
                    },
                },
                "faq_hours": {
                    "kind": "play",
                    "label": "Hours",
                    "params": {
                        "prompt": (
                            "We are open Monday to Friday 8:30 to 12:30 and 1:30 to 7, Saturday 9 "
                            "to 1."
                        ),
                        "voice": "",
                    },
                },
                "faq_insurance": {
                    "kind": "play",
                    "label": "Insurance",
                    "params": {
                        "prompt": (
                            "We accept the Carte Vitale and most mutual insurers, and we send your "
                            "invoices to them directly. Payment by card or bank transfer."
                        ),
                        "voice": "",
                    },
                },
                "faq_menu": {
                    "kind": "menu",
                    "label": "FAQ",
                    "params": {
                        "prompt": (
                            "For our opening hours, press 1. For our address and parking, press 2. "
                            "For insurance and payment, press 3. To go back, press 9."
                        ),
                        "options": [
                            {"digits": "1", "outcome": "hours"},
                            {"digits": "2", "outcome": "address"},
                            {"digits": "3", "outcome": "insurance"},
                            {"digits": "9", "outcome": "back"},
                        ],
                        "max_digits": 1,
                        "timeout_ms": 5000,
                        "max_failures": 2,
                        "max_timeouts": 1,
                        "invalid_prompt": "Sorry, that is not a valid choice.",
                        "timeout_prompt": "Sorry, I did not hear your choice.",
                        "variable": "menu_choice",
                        "voice": "",
                    },
                },
            },
            "edges": [
                {"from": "faq_menu", "outcome": "address", "to": "faq_address"},
                {"from": "faq_menu", "outcome": "hours", "to": "faq_hours"},
                {"from": "faq_menu", "outcome": "insurance", "to": "faq_insurance"},
            ],
            "layout": {},
        },
    },
}


def make_flow() -> Flow:
    """A new Flow built from FLOW (each call gives an independent copy)."""
    return Flow.from_dict(deepcopy(FLOW), source=__name__)


def make_app(**options: Any) -> Any:
    """Serve the flow in a background thread: ``flowbuilder.server.serve(make_flow(), ...)``.

    Options are those of ``serve()``: host, port, path, login, password, secret, app,
    public_url. Returns the running server's handle (``handle.url``, ``handle.stop()``).
    """
    from flowbuilder.server import serve

    return serve(make_flow(), **options)


def main(argv: list[str] | None = None) -> None:
    """Serve the flow until Ctrl-C: ``python THIS_FILE.py --port 8080``.

    Options: --host, --port, --path, --app, --public-url, --json, --allow MODULE (python
    nodes may call functions from MODULE only), and --login, --password, --secret (better from
    the environment: FLOWBUILDER_LOGIN, FLOWBUILDER_PASSWORD, FLOWBUILDER_SECRET). ``--help``
    lists them all.
    """
    from flowbuilder.server import main as serve_main

    serve_main(make_flow(), argv)


if __name__ == "__main__":
    main()
