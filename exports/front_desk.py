"""Call flow front_desk.

Put callers through in business hours, voicemail otherwise.

Exported from flowbuilder: the flow is the FLOW data below. To change it, edit the flow
(in the builder, or in code) and export it again rather than editing this file::

    flowbuilder export FLOW --to py -o front_desk.py

Serve it as the REAL-TIME callback URL of a CALLR app (secrets come from the environment
or the command line, never from this file)::

    python front_desk.py --port 8080

Nodes (entry: hours):

    id       kind            label              outcomes -> targets
    -------  --------------  -----------------  -------------------
    bye      play            Goodbye            next -> end
    closed   voicemail       Closed: voicemail  next -> bye
    desk     dial            Front desk         answered -> end
                                                no_answer -> closed
                                                busy -> closed
                                                failed -> closed
    end      hangup          Hang up            (ends the call)
    hours    business_hours  Open?              open -> welcome
                                                closed -> closed
    welcome  play            Welcome            next -> desk

Diagram (Mermaid)::

    flowchart LR
        start_(("start")) --> hours
        bye("Goodbye"):::k_play
        closed[("Closed: voicemail")]:::k_voicemail
        desk{{"Front desk"}}:::k_dial
        end_(("Hang up")):::k_hangup
        hours{"Open?"}:::k_business_hours
        welcome("Welcome"):::k_play
        bye -->|"next"| end_
        closed -->|"next"| bye
        desk -->|"answered"| end_
        desk -->|"busy"| closed
        desk -->|"failed"| closed
        desk -->|"no_answer"| closed
        hours -->|"closed"| closed
        hours -->|"open"| welcome
        welcome -->|"next"| desk
        classDef k_business_hours fill:#b279a2,stroke:#333,color:#fff
        classDef k_dial fill:#54a24b,stroke:#333,color:#fff
        classDef k_hangup fill:#9d755d,stroke:#333,color:#fff
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
    "name": "front_desk",
    "description": "Put callers through in business hours, voicemail otherwise.",
    "entry": "hours",
    "settings": {
        "allow_private_network": False,
        "fallback_message": None,
        "fallback_voice": "",
        "on_error": None,
        "timezone": "Europe/Paris",
        "voice": "TTS_EN-GB_SERENA",
    },
    "nodes": {
        "bye": {
            "kind": "play",
            "label": "Goodbye",
            "params": {"prompt": "Thank you, goodbye.", "voice": ""},
        },
        "closed": {
            "kind": "voicemail",
            "label": "Closed: voicemail",
            "params": {
                "prompt": (
                    "We are closed. Our hours are 9 to 6, Monday to Friday. Leave a message after "
                    "the tone."
                ),
                "max_duration": 120,
                "silence": 5,
                "variable": "recording",
                "voice": "",
            },
        },
        "desk": {
            "kind": "dial",
            "label": "Front desk",
            "params": {
                "targets": [{"number": "+33123450000", "timeout": 20}],
                "cli": "BLOCKED",
                "ringtone": "RING",
                "whisper": "",
                "cdr_field": "",
            },
        },
        "end": {"kind": "hangup", "label": "Hang up", "params": {}},
        "hours": {
            "kind": "business_hours",
            "label": "Open?",
            "params": {
                "hours": {"mon-fri": ["09:00-18:00"]},
                "holidays": [],
                "exceptions": [],
                "timezone": "",
                "variable": "",
            },
        },
        "welcome": {
            "kind": "play",
            "label": "Welcome",
            "params": {
                "prompt": "Hello {caller}, thanks for calling Acme. Connecting you.",
                "voice": "",
            },
        },
    },
    "edges": [
        {"from": "bye", "outcome": "next", "to": "end"},
        {"from": "closed", "outcome": "next", "to": "bye"},
        {"from": "desk", "outcome": "answered", "to": "end"},
        {"from": "desk", "outcome": "busy", "to": "closed"},
        {"from": "desk", "outcome": "failed", "to": "closed"},
        {"from": "desk", "outcome": "no_answer", "to": "closed"},
        {"from": "hours", "outcome": "closed", "to": "closed"},
        {"from": "hours", "outcome": "open", "to": "welcome"},
        {"from": "welcome", "outcome": "next", "to": "desk"},
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
