"""``flowbuilder ...``: the command line.

Each subcommand is a ``_cmd_<name>(args) -> int`` function registered in :func:`build_parser`.
Bad arguments or files print one line to stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flowbuilder._cli_util import add_allow_argument, moment
from flowbuilder.errors import (
    ExportError,
    FlowbuilderError,
    FlowError,
    FlowValidationError,
    ScenarioError,
)
from flowbuilder.hygiene import clean, clean_json, clean_lines
from flowbuilder.server.command import add_arguments as add_serve_arguments

if TYPE_CHECKING:
    from flowbuilder.flow import Flow
    from flowbuilder.phone import Script

DEMO_CALLS: list[tuple[str, dict[str, object]]] = [
    ("caller presses 1 for sales; the sales team answers", {"presses": ["1"]}),
    ("caller presses 2 for support and leaves a message", {"presses": ["2"]}),
    ("caller presses 0; the operator is busy, so a message", {"presses": ["0"], "dial": ["BUSY"]}),
    ("caller presses 7, then 9, then 5: three wrong keys", {"presses": ["7", "9", "5"]}),
    ("caller stays silent", {"presses": []}),
    ("caller hangs up during the menu", {"presses": [], "hangup_after": 2}),
]


def _cmd_demo(args: argparse.Namespace) -> int:
    from flowbuilder.examples import support_line
    from flowbuilder.simulate import simulate
    from flowbuilder.validate import validate

    flow = support_line()
    nodes = flow.graph.number_of_nodes()
    print(f"The sample support line: {nodes} nodes, calls start at {flow.entry!r}.")
    print(
        "To try the other commands on it: flowbuilder.examples.support_line().save('flow.json') "
        "(or exports/support_line.json in the repository)."
    )
    for issue in validate(flow):
        print(clean(f"  {issue}"))
    for title, script in DEMO_CALLS:
        print(f"\n## {title}")
        print(simulate(flow, script))
    return 0


# -- flows: export, validate, diff, simulate, test ---------------------------------------------


def _load_flow(path: str, allow: list[str] | None = None) -> Flow:
    """A saved .json flow or a .py module; any problem is one FlowbuilderError line. Its python
    nodes may call functions from the modules in *allow* only (``--allow``)."""
    from flowbuilder.export import load

    return load(path, allow=allow)


def _cmd_export(args: argparse.Namespace) -> int:
    from flowbuilder.export import export
    from flowbuilder.export.svg import to_svg

    flow = _load_flow(args.flow)
    if args.highlight and args.highlight not in flow:
        raise ExportError(f"--highlight: no node {args.highlight!r} in {args.flow}")
    refused = _export_refusal(args, flow)
    if refused:
        print(refused, file=sys.stderr)
        if args.to == "py" and not args.force:
            return 1
    if args.to == "svg":
        text = to_svg(
            flow, highlight=args.highlight, path=args.path.split(",") if args.path else None
        )
    else:
        text = export(flow, args.to)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
    except OSError as exc:
        raise ExportError(f"{args.output}: cannot write: {exc.strerror}") from None
    print(clean(f"flowbuilder export: wrote {args.output}"), file=sys.stderr)
    return 0


def _export_refusal(args: argparse.Namespace, flow: Flow) -> str:
    """What export says of a flow with errors: a module of it could not serve, so ``--to py``
    writes nothing (unless ``--force``); a diagram or JSON of a draft is written, with a warning."""
    from flowbuilder.validate import validate

    errors = [issue for issue in validate(flow) if issue.severity == "error"]
    if not errors:
        return ""
    count = f"{len(errors)} error{'s' * (len(errors) != 1)}"
    if args.to == "py" and not args.force:
        head = f"{args.flow}: {count}, nothing is written (a module of it could not serve); fix "
        head += "them first, or --force to export it anyway:"
    else:
        head = f"{args.flow}: warning: written with {count}:"
    lines = [f"flowbuilder export: {head}", *(f"  {issue}" for issue in errors)]
    return clean_lines("\n".join(lines))


def _cmd_validate(args: argparse.Namespace) -> int:
    from flowbuilder.validate import validate

    flow = _load_flow(args.flow, args.allow)
    issues = validate(flow)
    if args.json:
        print(clean_json(json.dumps([i.to_json() for i in issues], indent=2, ensure_ascii=False)))
    else:
        for issue in issues:
            print(clean(f"{args.flow}: {issue}"))
    errors = sum(i.severity == "error" for i in issues)
    warnings = len(issues) - errors
    if not args.json:
        counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        print(clean(f"{args.flow}: {'invalid' if errors else 'valid'} ({counts})"))
    return 1 if errors else 0


def _cmd_diff(args: argparse.Namespace) -> int:
    try:
        a, b = _load_flow(args.a), _load_flow(args.b)
    except FlowbuilderError as exc:  # like diff(1): 2 means trouble, 1 means different
        print(clean(f"flowbuilder diff: {exc}"), file=sys.stderr)
        return 2
    difference = a.diff(b)
    print(difference)  # each line cleaned by FlowDiff
    return 1 if difference else 0


def _script(args: argparse.Namespace) -> Script:
    from flowbuilder.phone import Script

    try:
        return Script(
            presses=list(args.presses or []),
            dial=list(args.dial or []),
            hangup_after=args.hangup_after,
        )
    except ValueError as exc:
        raise FlowError(f"script: {exc}") from None


def _cmd_simulate(args: argparse.Namespace) -> int:
    from flowbuilder.simulate import simulate

    flow = _load_flow(args.flow, args.allow)
    transcript = simulate(
        flow,
        _script(args),
        caller=args.caller,
        number=args.number,
        direction="outbound" if args.outbound else "inbound",
        at=args.at,
    )
    print(clean_json(transcript.dumps()) if args.json else transcript)
    asked = sum(1 for e in transcript.events if e.kind in ("pressed", "silence"))
    unused = list(args.presses or [])[asked:]
    if unused:  # a script that does not match the flow is worth knowing about
        print(
            clean(f"note: the call asked for keys {asked} time(s); not used: {' '.join(unused)}"),
            file=sys.stderr,
        )
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    """Exit 0: every scenario passed; 1: one or more failed; 2: they could not run (a flow or
    scenarios file that cannot be read or is invalid, -k matching nothing)."""
    from flowbuilder import scenarios

    try:
        flow = _load_flow(args.flow, args.allow)
        cases = scenarios.load(args.scenarios)
        if args.k:
            cases = [c for c in cases if args.k in c.name]
            if not cases:
                raise ScenarioError(f"{args.scenarios}: no scenario name contains {args.k!r}")
        results = scenarios.run(flow, cases)
    except FlowValidationError as exc:  # found by compiling: the file is named as on loading
        print(clean_lines(f"flowbuilder test: {args.flow}: {exc}"), file=sys.stderr)
        return 2
    except FlowbuilderError as exc:
        print(clean_lines(f"flowbuilder test: {exc}"), file=sys.stderr)
        return 2
    print(clean_lines(scenarios.report(results)))
    return 0 if all(r.passed for r in results) else 1


def _add_flow_commands(sub: Any) -> None:
    flow_help = "a saved flow (.json) or an exported module (.py)"

    export = sub.add_parser(
        "export",
        help="write a flow as a Python module, JSON, Mermaid or SVG",
        description="Write FLOW in another format, to stdout or to -o PATH. A flow with "
        "errors is written as JSON or a diagram with a warning, as a module only with --force.",
    )
    export.add_argument("flow", metavar="FLOW", help=flow_help)
    export.add_argument(
        "--to", required=True, choices=["py", "json", "mermaid", "svg"], help="output format"
    )
    export.add_argument("-o", "--output", metavar="PATH", help="file to write (default: stdout)")
    export.add_argument("--highlight", metavar="NODE", help="svg: outline this node")
    export.add_argument("--path", metavar="A,B,...", help="svg: draw this path of node ids")
    export.add_argument(
        "--force",
        action="store_true",
        help="py: write the module even if the flow has errors (it will refuse to serve)",
    )
    export.set_defaults(func=_cmd_export)

    check = sub.add_parser(
        "validate",
        help="check a flow; exit 1 when it has errors",
        description="Print every problem of FLOW, one line each (node and field); "
        "exit 1 when there are errors, 0 when there are only warnings or none.",
    )
    check.add_argument("flow", metavar="FLOW", help=flow_help)
    check.add_argument("--json", action="store_true", help="print the issues as JSON")
    add_allow_argument(check)
    check.set_defaults(func=_cmd_validate)

    diff = sub.add_parser(
        "diff",
        help="what changed between two flows (logic, not layout)",
        description="Print the changes from flow A to flow B, layout ignored. Exit status as "
        "diff(1): 0 when they are the same, 1 when they differ, 2 on trouble.",
    )
    diff.add_argument("a", metavar="A", help=flow_help)
    diff.add_argument("b", metavar="B", help=flow_help)
    diff.set_defaults(func=_cmd_diff)

    sim = sub.add_parser(
        "simulate",
        help="place one simulated call through a flow and print its transcript",
        description="Simulate one call: the caller presses the given keys at each prompt, in "
        "order (--silence stays silent at one); prints what was heard and the path taken.",
    )
    sim.add_argument("flow", metavar="FLOW", help=flow_help)
    sim.add_argument(
        "--press", dest="presses", action="append", metavar="DIGITS", help="keys for one prompt"
    )
    sim.add_argument(
        "--silence",
        dest="presses",
        action="append_const",
        const=None,
        help="stay silent at one prompt",
    )
    sim.add_argument(
        "--dial",
        action="append",
        metavar="STATUS",
        help="what a dialled target does: ANSWER, BUSY, NOANSWER, ... (one per target, in order)",
    )
    sim.add_argument("--hangup-after", type=int, metavar="N", help="hang up during command N")
    sim.add_argument("--caller", default="+33612345678", help="the caller's number")
    sim.add_argument("--number", default="+33912345678", help="the number called")
    sim.add_argument("--outbound", action="store_true", help="an outbound call to --number")
    sim.add_argument(
        "--at",
        type=moment,
        metavar="WHEN",
        help="when the call starts, ISO 8601 with its zone: 2026-03-28T10:00+01:00 or "
        "2026-03-29T10:00[Europe/Paris] (default 2026-01-01T10:00Z)",
    )
    sim.add_argument("--json", action="store_true", help="print the transcript as JSON")
    add_allow_argument(sim)
    sim.set_defaults(func=_cmd_simulate)

    test = sub.add_parser(
        "test",
        help="run a flow's scenarios (a JSON file); exit 1 when one fails, 2 on bad input",
        description="Run each scenario of SCENARIOS (see flowbuilder.scenarios) against FLOW "
        "and print one line per scenario, then 'N passed, N failed'. Exit status: 0 when all "
        "pass, 1 when one fails, 2 when they cannot run (a file that cannot be read or is "
        "malformed, an invalid flow).",
    )
    test.add_argument("flow", metavar="FLOW", help=flow_help)
    test.add_argument("scenarios", metavar="SCENARIOS", help="a scenarios file (.json)")
    test.add_argument("-k", metavar="TEXT", help="only scenarios whose name contains TEXT")
    add_allow_argument(test)
    test.set_defaults(func=_cmd_test)


def _cmd_serve(args: argparse.Namespace) -> int:
    from flowbuilder.server.command import command

    return command(args)


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from flowbuilder.sandbox.command import command

    return command(args)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; given the *command* about to run, the sandbox's options only
    when it is that one (they import the sandbox, which ``serve`` must not wait for)."""
    parser = argparse.ArgumentParser(
        prog="flowbuilder",
        description="Design, test and run CALLR REAL-TIME call flows.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="simulate calls through the sample support-line IVR")
    demo.set_defaults(func=_cmd_demo)
    serve = sub.add_parser(
        "serve", help="serve a flow as a CALLR REAL-TIME callback URL until Ctrl-C"
    )
    add_serve_arguments(serve)
    serve.set_defaults(func=_cmd_serve)
    sandbox = sub.add_parser(
        "sandbox", help="run a local CALLR (JSON-RPC API, DIDs, simulated phones) until Ctrl-C"
    )
    if command in (None, "sandbox"):
        from flowbuilder.sandbox.command import add_arguments as add_sandbox_arguments

        add_sandbox_arguments(sandbox)
    sandbox.set_defaults(func=_cmd_sandbox)
    _add_flow_commands(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(next((arg for arg in argv if not arg.startswith("-")), None))
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except FlowbuilderError as exc:
        print(clean(f"flowbuilder {args.command}: {exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `flowbuilder demo | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # what a shell reports for a writer stopped by SIGPIPE, not a test failure
    return code


if __name__ == "__main__":
    sys.exit(main())
