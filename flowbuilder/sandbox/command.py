"""``flowbuilder sandbox``: a local CALLR until Ctrl-C.

Prints the API URL and the credentials it accepts (made up when none are given), the account's
DIDs and how to place calls over HTTP, then each call's transcript as it ends (``--json``: one
JSON object per line).
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from flowbuilder._cli_util import line_printer, moment, port_number, until_interrupted
from flowbuilder.hygiene import clean
from flowbuilder.sandbox.calls import CLOCKS

if TYPE_CHECKING:
    from flowbuilder.sandbox.calls import SandboxCall
    from flowbuilder.sandbox.sandbox import Sandbox

DEFAULT_PORT = 8089


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0: any)",
    )
    parser.add_argument("--login", help="accept HTTP Basic auth with this login ...")
    parser.add_argument("--password", help="... and this password")
    parser.add_argument("--api-key", help="accept 'Authorization: Api-Key <this>'")
    parser.add_argument(
        "--db", metavar="FILE", help="SQLite file keeping apps and DID assignments across runs"
    )
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        default="simulated",
        help="simulated: calls end at once; real: commands take their time",
    )
    parser.add_argument(
        "--start",
        type=moment,
        metavar="MOMENT",
        help="the time the sandbox starts at, with its zone, e.g. 2026-03-28T13:00[Europe/Paris] "
        "(default: now)",
    )
    parser.add_argument(
        "--answer-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long a callback server has to answer each POST (CALLR: 5)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print each finished call as one JSON line"
    )


def _announce(sb: Sandbox, out: TextIO) -> None:
    print(sb.connection_info(), file=out)
    if sb.login and sb.api_key:
        print("  (demo credentials: pass --login/--password or --api-key to choose)", file=out)
    print("DIDs on the account:", file=out)
    for did in sb.dids:
        print(f"  {did.intl_number:<15} {did.hash}  {did.country_code} {did.type}", file=out)
    print(
        f"Inbound calls: POST {sb.base_url}/sandbox/call_in "
        '{"did": "+33199000001", "from": "+33639980001", "script": {"presses": ["1"]}}'
        '  ("at": a moment with its zone, to call at another time)',
        file=out,
    )
    print(
        f"Callees:       PUT {sb.base_url}/sandbox/callees/+447890123456 "
        '{"answer": "busy"}  (how a number rung by calls.realtime behaves: answer, busy, '
        "no_answer, congestion or rejected; presses, dial, talk_detect...)",
        file=out,
    )
    print(f"Transcripts:   GET {sb.base_url}/sandbox/calls  (same credentials)", file=out)
    print("Ctrl-C stops the sandbox.", file=out, flush=True)


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    from flowbuilder.sandbox.sandbox import Sandbox

    out = out or sys.stdout
    with until_interrupted():  # SIGTERM stops the sandbox like Ctrl-C
        sb = Sandbox(
            host=args.host,
            port=args.port,
            login=args.login,
            password=args.password,
            api_key=args.api_key,
            db=args.db,
            clock=args.clock,
            answer_timeout_s=args.answer_timeout,
            start=args.start,
        )
        sb.start()
        try:
            _announce(sb, out)
            sb.subscribe(line_printer(out, args.json, _transcript_text))
            threading.Event().wait()
        finally:
            sb.stop()
    print("flowbuilder sandbox: stopped", file=out, flush=True)
    return 0


def _transcript_text(call: SandboxCall) -> str:
    return str(call.transcript)


def command(args: argparse.Namespace) -> int:
    """The ``flowbuilder sandbox`` subcommand."""
    problem = None
    if (args.login is None) != (args.password is None):
        problem = "give --login and --password together"
    elif args.login is not None and not (args.login and args.password):
        problem = "--login and --password must not be empty"
    elif args.answer_timeout <= 0:
        problem = "--answer-timeout must be positive"
    if problem:
        print(f"flowbuilder sandbox: {problem}", file=sys.stderr)
        return 2
    try:
        return run(args)
    except (OSError, ValueError) as exc:  # address in use, a bad --db path: one line
        print(clean(f"flowbuilder sandbox: {exc}"), file=sys.stderr)
        return 1
