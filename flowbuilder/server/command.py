"""``flowbuilder serve FLOW`` (and ``python exported_flow.py``): serve until Ctrl-C.

Prints the URL to give CALLR, then one line per callback as it is answered (``--quiet``: none).
The lines are printed from a thread of their own, a batch at a time, so a slow or paused terminal
never delays an answer; stopping prints every line still waiting. Credentials and the
state secret can come from the environment instead of the command line (where ``ps`` shows them):
``FLOWBUILDER_LOGIN``, ``FLOWBUILDER_PASSWORD``, ``FLOWBUILDER_SECRET``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from flowbuilder._cli_util import (
    BackgroundLines,
    add_allow_argument,
    port_number,
    until_interrupted,
)
from flowbuilder.errors import FlowbuilderError, FlowValidationError
from flowbuilder.hygiene import clean

if TYPE_CHECKING:
    from flowbuilder.flow import Flow
    from flowbuilder.program import Program
    from flowbuilder.server.runner import ServerHandle


def add_arguments(parser: argparse.ArgumentParser, *, flow_argument: bool = True) -> None:
    """The serve options (shared by the CLI and exported modules' ``main()``)."""
    if flow_argument:
        parser.add_argument(
            "flow", metavar="FLOW", help="a saved flow (.json) or a Python module (.py)"
        )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=port_number, default=8080, help="port (default 8080; 0: any free port)"
    )
    parser.add_argument("--path", default="/", help="URL path to answer at (default /)")
    parser.add_argument(
        "--login",
        default=os.environ.get("FLOWBUILDER_LOGIN"),
        help="the REALTIME10 app's login: callbacks must carry it (env FLOWBUILDER_LOGIN)",
    )
    parser.add_argument(
        "--password",
        default=os.environ.get("FLOWBUILDER_PASSWORD"),
        help="the app's password (better: env FLOWBUILDER_PASSWORD)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "call"),
        default="wall",
        help="the time flows see: this machine's (wall, the default), or each call's start as "
        'the callback says (call: for tests with flowbuilder sandbox --start or "at")',
    )
    parser.add_argument(
        "--secret",
        default=os.environ.get("FLOWBUILDER_SECRET"),
        help="signs call state; give every process the same one (env FLOWBUILDER_SECRET)",
    )
    parser.add_argument("--app", help="answer only callbacks of this app hash")
    parser.add_argument(
        "--public-url", help="the URL CALLR reaches this server by (tunnel or reverse proxy)"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="serve a --public-url without --login/--password (anyone who finds it can post)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print each event as a JSON line instead of text"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print no line per callback (the URL still)"
    )
    add_allow_argument(parser)


def run(flow: Flow | Program | str, args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Serve *flow* (or the flow file at that path) with the parsed options until Ctrl-C (or
    SIGTERM); returns the exit code."""
    from flowbuilder.server.runner import serve

    out = out or sys.stdout
    problem = credentials_problem(args.login, args.password)
    if problem:
        raise ValueError(problem)
    with until_interrupted():  # before anything: a SIGTERM always stops cleanly
        handle: ServerHandle = serve(
            flow,
            host=args.host,
            port=args.port,
            path=args.path,
            login=args.login,
            password=args.password,
            secret=args.secret,
            app=args.app,
            public_url=args.public_url,
            insecure=args.insecure,
            name="cli",
            allow=args.allow,
            clock="call" if args.clock == "call" else None,
        )
        # subscribed at once, a callback may come any time now; printed after the announce
        printer = None if args.quiet else BackgroundLines(out, args.json, str)
        unsubscribe = handle.subscribe(printer) if printer is not None else None
        try:
            _announce(handle, args, out)
            if printer is not None:
                printer.start()
            while handle.running:
                handle.wait(0.5)
        finally:
            handle.stop()  # its last answers are published before it returns
            if printer is not None and unsubscribe is not None:
                unsubscribe()
                printer.close()
    print("flowbuilder: stopped", file=out, flush=True)
    return 0


def invalid_flow(prog: str, source: str, exc: FlowValidationError) -> str:
    """What a command says of a flow it cannot serve: every error, one line each."""
    errors = [i for i in exc.issues if i.severity == "error"] or exc.issues
    head = f"{prog}: {source}: {len(errors)} error(s), nothing is served; fix them first:"
    return "\n".join(clean(line) for line in [head, *(f"  {issue}" for issue in errors)])


def credentials_problem(login: str | None, password: str | None) -> str | None:
    """Why a login and password cannot protect the callback URL, or None (neither given: no
    authentication, which the server announces)."""
    if login and not password:
        return (
            "--login needs a password (--password or FLOWBUILDER_PASSWORD): "
            "an empty one would let anyone in"
        )
    if password and not login:
        return "--password needs a --login (or FLOWBUILDER_LOGIN)"
    return None


def _announce(handle: ServerHandle, args: argparse.Namespace, out: TextIO) -> None:
    deployment = handle.flows[0]
    print(
        f"flowbuilder: serving {deployment['flow']!r} (version {deployment['version']}) "
        f"for {args.app or 'any app'}",
        file=out,
    )
    print(f"URL for CALLR: {handle.url}", file=out)
    if handle.url != handle.local_url:
        print(f"listening on: {handle.local_url}", file=out)
    if not (args.login or args.password):
        print("note: no --login/--password: callbacks are not authenticated", file=out)
    if not args.secret:
        print("note: no --secret: calls in progress will not survive a restart", file=out)
    print("Ctrl-C stops the server.", file=out, flush=True)


def main(flow: Flow | Program, argv: Sequence[str] | None = None) -> None:
    """``python exported_flow.py [--port 8080 ...]``: serve *flow* until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Serve this flow as a CALLR callback URL.")
    add_arguments(parser, flow_argument=False)
    args = parser.parse_args(argv)
    try:
        code = run(flow, args)
    except FlowValidationError as exc:
        print(invalid_flow("serve", "this flow", exc), file=sys.stderr)
        code = 1
    except (FlowbuilderError, OSError, ValueError) as exc:
        print(clean(f"serve: {exc}"), file=sys.stderr)
        code = 1
    if code:
        raise SystemExit(code)


def command(args: argparse.Namespace) -> int:
    """The ``flowbuilder serve`` subcommand: :func:`run` on FLOW."""
    problem = credentials_problem(args.login, args.password)
    if problem:  # before the flow is loaded: a usage error, one line
        print(f"flowbuilder serve: {problem}", file=sys.stderr)
        return 2
    try:
        return run(args.flow, args)
    except FlowValidationError as exc:  # every error, one line each, as validate shows them
        print(invalid_flow("flowbuilder serve", args.flow, exc), file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # address in use, bad options: one line
        print(clean(f"flowbuilder serve: {exc}"), file=sys.stderr)
        return 1
