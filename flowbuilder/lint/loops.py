"""Loops callers cannot leave, and nodes that lead back to themselves.

A call ends at a hangup, or where it leaves through an outcome with no edge (the engine hangs up
there, or takes the error path). A part of the flow from which no path reaches such a place
keeps callers going round until they hang up or the engine's step limit stops the call. Loops
that never wait on the caller are the endless-loop error (:mod:`flowbuilder.validate`); these
wait, so the caller hears them: a warning.

Self-loops: on a node that does not wait they are that error too. On one that waits, a menu
option or retry leading back to its own menu ("press 9 to hear this again") is a normal
pattern; flagged are a node whose every outcome leads back to itself (a play repeating forever),
and a failure outcome leading back (a failing dial retried without end).
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from flowbuilder.lint.graph import Graph, Issue, Node

_SHOWN = 6


def check(graph: Graph) -> Iterator[Issue]:
    yield from _self_loops(graph)
    yield from _stuck_loops(graph)


def _self_loops(graph: Graph) -> Iterator[Issue]:
    for node, kind in graph.known():
        loops = [o for o, target in node.edges.items() if target == node.id]
        if not loops or not kind.waits_on_caller:  # not waiting: the endless-loop error
            continue
        if set(graph.outcomes[node.id]) <= set(loops):
            yield Issue(
                "warning",
                node.id,
                loops[0],
                f"{' and '.join(repr(o) for o in loops)} lead{'s' if len(loops) == 1 else ''} "
                f"back to {node.id} itself: it repeats until the caller hangs up or the call "
                "hits its step limit; connect it to the node that should follow",
            )
            continue
        for outcome in loops:
            if outcome in kind.failure_outcomes:
                yield Issue(
                    "warning",
                    node.id,
                    outcome,
                    f"{outcome!r} leads back to {node.id} itself: a failing {kind.name} is "
                    "retried without end; connect it to another node",
                )


def _stuck_loops(graph: Graph) -> Iterator[Issue]:
    ends = [n.id for n in graph.nodes.values() if _may_end_here(graph, n)]
    can_end = set(ends)
    todo = list(ends)
    while todo:  # backwards from the ends, one pass over the edges
        for source, _ in graph.preds[todo.pop()]:
            if source not in can_end:
                can_end.add(source)
                todo.append(source)
    stuck = graph.reached - can_end
    if not stuck:
        return
    # every outcome of a stuck node leads to another stuck node: the stuck part is closed, and
    # its strongly connected components without a way into another one are the loops to fix
    sub = nx.DiGraph()
    sub.add_nodes_from(stuck)
    sub.add_edges_from((n, t) for n in stuck for t in graph.nodes[n].edges.values())
    for component in nx.strongly_connected_components(sub):
        members = sorted(component)
        if len(members) == 1:  # a node leading back to itself only: a self-loop, above
            continue
        if any(t not in component for n in members for t in graph.nodes[n].edges.values()):
            continue  # it leads into another stuck loop, which is reported
        kinds = [graph.nodes[n].kind for n in members]
        if not any(k is not None and k.waits_on_caller for k in kinds):
            continue  # never waits: the endless-loop error
        shown = ", ".join(members[:_SHOWN]) + (", ..." if len(members) > _SHOWN else "")
        yield Issue(
            "warning",
            members[0],
            None,
            f"the loop through {shown} never reaches a hangup: callers go round until they "
            "hang up or the call hits its step limit; give it a way out (a menu option, a "
            "branch) that leads to a hangup",
        )


def _may_end_here(graph: Graph, node: Node) -> bool:
    """Whether a call can end at *node*, or leave this flow there."""
    kind = node.kind
    if kind is None or kind.ends_call or kind.subflows_called(node.params):
        return True  # an unknown kind is reported; a subflow may hang up inside
    outcomes = graph.outcomes[node.id]
    return not outcomes or any(o not in node.edges for o in outcomes)
