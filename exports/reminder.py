"""Call flow reminder.

Call customers to confirm tomorrow's appointment.

Exported from flowbuilder: the flow is the FLOW data below. To change it, edit the flow
(in the builder, or in code) and export it again rather than editing this file::

    flowbuilder export FLOW --to py -o reminder.py

Serve it as the REAL-TIME callback URL of a CALLR app (secrets come from the environment
or the command line, never from this file)::

    python reminder.py --port 8080

Nodes (entry: remind):

    id         kind    label      outcomes -> targets
    ---------  ------  ---------  -------------------
    cancelled  play    Cancelled  next -> end
    confirmed  play    Confirmed  next -> end
    end        hangup  Hang up    (ends the call)
    no_reply   play    No reply   next -> end
    remind     menu    Reminder   confirm -> confirmed
                                  cancel -> cancelled
                                  invalid -> no_reply
                                  timeout -> no_reply

Diagram (Mermaid)::

    flowchart LR
        start_(("start")) --> remind
        cancelled("Cancelled"):::k_play
        confirmed("Confirmed"):::k_play
        end_(("Hang up")):::k_hangup
        no_reply("No reply"):::k_play
        remind{"Reminder"}:::k_menu
        cancelled -->|"next"| end_
        confirmed -->|"next"| end_
        no_reply -->|"next"| end_
        remind -->|"cancel"| cancelled
        remind -->|"confirm"| confirmed
        remind -->|"invalid"| no_reply
        remind -->|"timeout"| no_reply
        classDef k_hangup fill:#9d755d,stroke:#333,color:#fff
        classDef k_menu fill:#f58518,stroke:#333,color:#000
        classDef k_play fill:#4c78a8,stroke:#333,color:#fff
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
    "name": "reminder",
    "description": "Call customers to confirm tomorrow's appointment.",
    "entry": "remind",
    "settings": {
        "allow_private_network": False,
        "fallback_message": None,
        "fallback_voice": "",
        "on_error": None,
        "timezone": "UTC",
        "voice": "TTS_EN-GB_SERENA",
    },
    "nodes": {
        "cancelled": {
            "kind": "play",
            "label": "Cancelled",
            "params": {"prompt": "Your appointment is cancelled. Goodbye.", "voice": ""},
        },
        "confirmed": {
            "kind": "play",
            "label": "Confirmed",
            "params": {"prompt": "Thank you, see you tomorrow.", "voice": ""},
        },
        "end": {"kind": "hangup", "label": "Hang up", "params": {}},
        "no_reply": {
            "kind": "play",
            "label": "No reply",
            "params": {"prompt": "We will call you again later. Goodbye.", "voice": ""},
        },
        "remind": {
            "kind": "menu",
            "label": "Reminder",
            "params": {
                "prompt": (
                    "Hello, this is Acme. You have an appointment tomorrow at 10. Press 1 to "
                    "confirm, 2 to cancel."
                ),
                "options": [
                    {"digits": "1", "outcome": "confirm"},
                    {"digits": "2", "outcome": "cancel"},
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
    },
    "edges": [
        {"from": "cancelled", "outcome": "next", "to": "end"},
        {"from": "confirmed", "outcome": "next", "to": "end"},
        {"from": "no_reply", "outcome": "next", "to": "end"},
        {"from": "remind", "outcome": "cancel", "to": "cancelled"},
        {"from": "remind", "outcome": "confirm", "to": "confirmed"},
        {"from": "remind", "outcome": "invalid", "to": "no_reply"},
        {"from": "remind", "outcome": "timeout", "to": "no_reply"},
    ],
    "layout": {},
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
