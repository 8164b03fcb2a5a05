"""Call flow support_line.

Acme's support line: sales, support, operator.

Exported from flowbuilder: the flow is the FLOW data below. To change it, edit the flow
(in the builder, or in code) and export it again rather than editing this file::

    flowbuilder export FLOW --to py -o support_line.py

Serve it as the REAL-TIME callback URL of a CALLR app (secrets come from the environment
or the command line, never from this file)::

    python support_line.py --port 8080

Nodes (entry: welcome):

    id             kind       label              outcomes -> targets
    -------------  ---------  -----------------  -------------------
    end            hangup     Hang up            (ends the call)
    goodbye        play       Goodbye            next -> end
    main_menu      menu       Main menu          sales -> sales
                                                 support -> support
                                                 operator -> operator
                                                 invalid -> goodbye
                                                 timeout -> goodbye
    operator       dial       Operator           answered -> end
                                                 no_answer -> operator_busy
                                                 busy -> operator_busy
                                                 failed -> operator_busy
    operator_busy  play       Operators busy     next -> support
    sales          dial       Sales team         answered -> end
                                                 no_answer -> support
                                                 busy -> support
                                                 failed -> support
    support        voicemail  Support voicemail  next -> thanks
    thanks         play       Thanks             next -> end
    welcome        play       Welcome            next -> main_menu

Diagram (Mermaid)::

    flowchart LR
        start_(("start")) --> welcome
        end_(("Hang up")):::k_hangup
        goodbye("Goodbye"):::k_play
        main_menu{"Main menu"}:::k_menu
        operator{{"Operator"}}:::k_dial
        operator_busy("Operators busy"):::k_play
        sales{{"Sales team"}}:::k_dial
        support[("Support voicemail")]:::k_voicemail
        thanks("Thanks"):::k_play
        welcome("Welcome"):::k_play
        goodbye -->|"next"| end_
        main_menu -->|"invalid"| goodbye
        main_menu -->|"operator"| operator
        main_menu -->|"sales"| sales
        main_menu -->|"support"| support
        main_menu -->|"timeout"| goodbye
        operator -->|"answered"| end_
        operator -->|"busy"| operator_busy
        operator -->|"failed"| operator_busy
        operator -->|"no_answer"| operator_busy
        operator_busy -->|"next"| support
        sales -->|"answered"| end_
        sales -->|"busy"| support
        sales -->|"failed"| support
        sales -->|"no_answer"| support
        support -->|"next"| thanks
        thanks -->|"next"| end_
        welcome -->|"next"| main_menu
        classDef k_dial fill:#54a24b,stroke:#333,color:#fff
        classDef k_hangup fill:#9d755d,stroke:#333,color:#fff
        classDef k_menu fill:#f58518,stroke:#333,color:#000
        classDef k_play fill:#4c78a8,stroke:#333,color:#fff
        classDef k_voicemail fill:#e45756,stroke:#333,color:#fff
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
    "name": "support_line",
    "description": "Acme's support line: sales, support, operator.",
    "entry": "welcome",
    "settings": {
        "allow_private_network": False,
        "fallback_message": None,
        "fallback_voice": "",
        "on_error": None,
        "timezone": "UTC",
        "voice": "TTS_EN-GB_SERENA",
    },
    "nodes": {
        "end": {"kind": "hangup", "label": "Hang up", "params": {}},
        "goodbye": {
            "kind": "play",
            "label": "Goodbye",
            "params": {"prompt": "We did not get your choice. Goodbye.", "voice": ""},
        },
        "main_menu": {
            "kind": "menu",
            "label": "Main menu",
            "params": {
                "prompt": "For sales, press 1. For support, press 2. For an operator, press 0.",
                "options": [
                    {"digits": "1", "outcome": "sales"},
                    {"digits": "2", "outcome": "support"},
                    {"digits": "0", "outcome": "operator"},
                ],
                "max_digits": 1,
                "timeout_ms": 5000,
                "max_failures": 3,
                "max_timeouts": 2,
                "invalid_prompt": "Sorry, that is not a valid choice.",
                "timeout_prompt": "Sorry, I did not hear your choice.",
                "variable": "menu_choice",
                "voice": "",
            },
        },
        "operator": {
            "kind": "dial",
            "label": "Operator",
            "params": {
                "targets": [{"number": "+33198765432", "timeout": 25}],
                "cli": "{caller}",
                "ringtone": "RING",
                "whisper": "",
                "cdr_field": "",
            },
        },
        "operator_busy": {
            "kind": "play",
            "label": "Operators busy",
            "params": {
                "prompt": "All our operators are busy. Please leave a message.",
                "voice": "",
            },
        },
        "sales": {
            "kind": "dial",
            "label": "Sales team",
            "params": {
                "targets": [{"number": "+33123456789", "timeout": 20}],
                "cli": "{caller}",
                "ringtone": "RING",
                "whisper": "",
                "cdr_field": "",
            },
        },
        "support": {
            "kind": "voicemail",
            "label": "Support voicemail",
            "params": {
                "prompt": "Please describe your problem after the tone, then press hash.",
                "max_duration": 120,
                "silence": 5,
                "variable": "recording",
                "voice": "",
            },
        },
        "thanks": {
            "kind": "play",
            "label": "Thanks",
            "params": {"prompt": "Thank you. We will call you back soon.", "voice": ""},
        },
        "welcome": {
            "kind": "play",
            "label": "Welcome",
            "params": {"prompt": "Welcome to Acme.", "voice": ""},
        },
    },
    "edges": [
        {"from": "goodbye", "outcome": "next", "to": "end"},
        {"from": "main_menu", "outcome": "invalid", "to": "goodbye"},
        {"from": "main_menu", "outcome": "operator", "to": "operator"},
        {"from": "main_menu", "outcome": "sales", "to": "sales"},
        {"from": "main_menu", "outcome": "support", "to": "support"},
        {"from": "main_menu", "outcome": "timeout", "to": "goodbye"},
        {"from": "operator", "outcome": "answered", "to": "end"},
        {"from": "operator", "outcome": "busy", "to": "operator_busy"},
        {"from": "operator", "outcome": "failed", "to": "operator_busy"},
        {"from": "operator", "outcome": "no_answer", "to": "operator_busy"},
        {"from": "operator_busy", "outcome": "next", "to": "support"},
        {"from": "sales", "outcome": "answered", "to": "end"},
        {"from": "sales", "outcome": "busy", "to": "support"},
        {"from": "sales", "outcome": "failed", "to": "support"},
        {"from": "sales", "outcome": "no_answer", "to": "support"},
        {"from": "support", "outcome": "next", "to": "thanks"},
        {"from": "thanks", "outcome": "next", "to": "end"},
        {"from": "welcome", "outcome": "next", "to": "main_menu"},
    ],
    "layout": {
        "end": {"x": 1240.0, "y": 380.0},
        "goodbye": {"x": 260.0, "y": 540.0},
        "main_menu": {"x": 260.0, "y": 200.0},
        "operator": {"x": 520.0, "y": 380.0},
        "operator_busy": {"x": 520.0, "y": 540.0},
        "sales": {"x": 520.0, "y": 40.0},
        "support": {"x": 780.0, "y": 200.0},
        "thanks": {"x": 1020.0, "y": 200.0},
        "welcome": {"x": 40.0, "y": 200.0},
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
