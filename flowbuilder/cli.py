"""``flowbuilder ...``: the command line.

Each subcommand is a ``_cmd_<name>(args) -> int`` function registered in :func:`build_parser`.
Bad arguments or files print one line to stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flowbuilder.errors import FlowbuilderError

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
    print(f"{flow!r}")
    for issue in validate(flow):
        print(f"  {issue}")
    for title, script in DEMO_CALLS:
        print(f"\n## {title}")
        print(simulate(flow, script))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowbuilder",
        description="Design, test and run CALLR REAL-TIME call flows.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="simulate calls through the sample support-line IVR")
    demo.set_defaults(func=_cmd_demo)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except FlowbuilderError as exc:
        print(f"flowbuilder {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
