"""Builder benchmark: prints one JSON object.

Kernel-side cost of the builder on a 200-node flow, each timed side by side with a baseline that
any editor syncing this flow must pay: ``json.dumps(flow.to_dict())`` (serializing the flow once).

``action_vs_dumps_ratio``: one user action from the page (a node moved: the comm message, then
``Flow.move``, validation, the canvas payload, the undo snapshot, the inspector) divided by the
baseline. Interleaved runs, median ratio kept. Target: <= 10 (validating every node on each
change dominates).

``open_vs_dumps_ratio``: ``Builder(flow)`` (widgets, validation, payload) over the baseline.

The browser side (time to interactive, redraws during a drag) is measured by
``tests/ui/test_browser.py``, which prints its figures.

``--quick`` (or ``FLOWBUILDER_BENCH_QUICK=1``) runs few rounds, to check the script itself works.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from flowbuilder.flow import Flow
from flowbuilder.ui import Builder


def big_flow(groups: int = 50) -> Flow:
    """``4 * groups`` nodes: menus chained by their retries, each with two plays and a hang-up."""
    flow = Flow("big")
    for g in range(groups):
        flow.add(
            f"menu{g}",
            "menu",
            label=f"Menu {g}",
            prompt="Press 1 or 2",
            options=[{"outcome": "one", "digits": "1"}, {"outcome": "two", "digits": "2"}],
        )
        flow.add(f"one{g}", "play", prompt=f"You chose one in menu {g}")
        flow.add(f"two{g}", "play", prompt=f"You chose two in menu {g}")
        flow.add(f"end{g}", "hangup")
        flow.connect(f"menu{g}", f"one{g}", "one").connect(f"menu{g}", f"two{g}", "two")
        flow.connect(f"one{g}", f"end{g}").connect(f"two{g}", f"end{g}")
        if g:
            flow.connect(f"menu{g - 1}", f"menu{g}", "invalid")
            flow.connect(f"menu{g - 1}", f"menu{g}", "timeout")
    return flow


def timed(fn: Callable[[], object], repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("FLOWBUILDER_BENCH_QUICK") == "1"
    rounds = 3 if quick else 15

    flow = big_flow()
    builder = Builder(flow)
    baseline = lambda: json.dumps(flow.to_dict())  # noqa: E731
    step = [0]

    def action() -> None:
        step[0] += 1
        msg = {"action": "move", "node": "menu0", "x": 40 + step[0] % 50, "y": 40.0}
        builder.canvas._handle_custom_msg(msg, [])

    def open_builder() -> None:
        Builder(flow).close()

    action_ratios, open_ratios = [], []
    action_s, open_s, base_s = [], [], []
    for _ in range(rounds):
        b = timed(baseline, 5)
        a = timed(action, 5)
        o = timed(open_builder, 1)
        base_s.append(b)
        action_s.append(a)
        open_s.append(o)
        action_ratios.append(a / b)
        open_ratios.append(o / b)
    builder.close()
    result: dict[str, Any] = {
        "nodes": len(flow),
        "edges": flow.graph.number_of_edges(),
        "baseline_dumps_ms": round(statistics.median(base_s) * 1000, 3),
        "action_ms": round(statistics.median(action_s) * 1000, 3),
        "open_builder_ms": round(statistics.median(open_s) * 1000, 3),
        "action_vs_dumps_ratio": round(statistics.median(action_ratios), 2),
        "open_vs_dumps_ratio": round(statistics.median(open_ratios), 2),
        "target_action_vs_dumps_ratio": 10,
        "rounds": rounds,
        "quick": quick,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
