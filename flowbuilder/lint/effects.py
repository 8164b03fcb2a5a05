"""Effects chained in one callback: their timeouts add up against the server's answer budget.

Nodes that never wait on the caller (``set``, ``branch``, ``http_request``, ``python``) all run
inside the callback that reached them; CALLR gets its answer only when the chain reaches a node
that sends a command. The server gives the whole chain one budget
(:data:`~flowbuilder.callr.constants.DEFAULT_ANSWER_BUDGET_MS` from the request's arrival), so an
effect started after others used most of it takes its timeout path. The worst chain is the
longest path, weighted by effect timeouts, in the graph of non-waiting nodes: acyclic, since a
cycle there is an error of its own (an endless loop).
"""

from __future__ import annotations

from collections.abc import Iterator

from flowbuilder.callr.constants import DEFAULT_ANSWER_BUDGET_MS
from flowbuilder.lint.graph import Graph, Issue


def check(graph: Graph, budget_ms: int = DEFAULT_ANSWER_BUDGET_MS) -> Iterator[Issue]:
    weight: dict[str, int] = {}  # the non-waiting nodes, with their effect's timeout (0: none)
    for node, kind in graph.known():
        if not kind.waits_on_caller:
            weight[node.id] = kind.effect_timeout_ms(node.params) or 0
    if not any(weight.values()):
        return
    succ = {n: [t for t in graph.nodes[n].edges.values() if t in weight and t != n] for n in weight}
    waiting_preds = dict.fromkeys(weight, 0)
    for targets in succ.values():
        for t in targets:
            waiting_preds[t] += 1
    # Kahn's order: nodes on a cycle never come up (the cycle is reported as an endless loop)
    ready = [n for n, count in waiting_preds.items() if count == 0]
    worst: dict[str, int] = {}  # node -> the most ms a chain ending with it can take
    before: dict[str, str | None] = {}  # node -> the previous node of that chain
    for n in ready:  # grows while it is read
        previous = before.setdefault(n, None)  # set by its worst predecessor, all done
        worst[n] = weight[n] + (worst[previous] if previous is not None else 0)
        for t in succ[n]:
            if worst[n] > (worst[b] if (b := before.get(t)) else -1):
                before[t] = n
            waiting_preds[t] -= 1
            if waiting_preds[t] == 0:
                ready.append(t)
    for n in ready:
        if weight[n] == 0 or worst[n] <= budget_ms:
            continue
        # where the budget runs out: the worst chain that still fit before this node
        fitting = [p for p, _ in graph.preds[n] if p in worst and p != n and worst[p] <= budget_ms]
        if not fitting:
            continue  # the budget ran out earlier on every chain: reported there
        last = max(fitting, key=lambda p: (worst[p], p))
        if worst[last] + weight[n] <= budget_ms:
            continue
        yield _issue(graph, [*_chain(last, before, weight), n], weight, budget_ms)


def _chain(last: str, before: dict[str, str | None], weight: dict[str, int]) -> list[str]:
    """The effect nodes of the worst chain ending with *last*, first to last."""
    chain = []
    node: str | None = last
    while node is not None:
        if weight[node]:
            chain.append(node)
        node = before[node]
    return chain[::-1]


def _issue(graph: Graph, chain: list[str], weight: dict[str, int], budget_ms: int) -> Issue:
    steps = " then ".join(f"{graph.nodes[n].kind_name} {n} ({weight[n]} ms)" for n in chain)
    total = sum(weight[n] for n in chain)
    last = chain[-1]
    return Issue(
        "warning",
        last,
        "timeout_ms",
        f"{steps} can take {total} ms in one callback; the answer budget is {budget_ms} ms: "
        f"{last} takes its timeout path; lower the timeouts or put a node that waits on the "
        "caller between them",
    )
