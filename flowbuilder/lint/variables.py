"""Variables read where they may not be set yet: a data-flow pass over the graph.

For each node, the variables set on *every* path from the entry to it (a forward "must"
analysis: intersection where paths join, iterated to a fixed point) and those set on *some*
path (the same, with union). A variable read where it is set on some paths but not all is a
warning naming the path that lacks it; one that nothing sets on the way keeps the flow-wide
message. Call facts are always set; ``last_error`` is set on the error path.

Sets of variables are Python ints used as bit sets, one bit per variable some node reads and
some node sets, so each join is one ``&`` or ``|``; a node is visited again only when what
reaches it changed, loops first (the pass is linear in practice).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from flowbuilder.facts import FACTS
from flowbuilder.lint.graph import Graph, Issue, Node
from flowbuilder.names import ERROR_VARIABLE
from flowbuilder.nodes._base import NodeKind
from flowbuilder.template import names_in_data

#: The variable the engine fills with the reason when it takes the flow's error path.


@dataclass(frozen=True)
class _Read:
    node: str
    field: str | None
    name: str
    in_template: bool


def check(graph: Graph) -> Iterator[Issue]:
    setters: dict[str, list[str]] = {}  # variable -> the nodes that may set it
    reads: list[_Read] = []
    for node, kind in graph.known():
        for name in kind.variables_set(node.params):
            setters.setdefault(name, []).append(node.id)
        reads.extend(_reads(node, kind))
    if graph.error_path:
        setters.setdefault(ERROR_VARIABLE, []).insert(0, graph.error_path)
    tracked = sorted({r.name for r in reads if r.name in setters})
    paths = _Paths.of(graph, tracked) if tracked else None
    for read in reads:
        if read.name not in setters:  # nothing in the flow sets it
            yield _issue(read, " but no node sets it", _SET_IT[read.in_template])
        elif paths is not None and read.node in graph.reached:
            yield from paths.check(read, setters[read.name])


_SET_IT = {
    True: "set it with a 'set' node or fix the name",
    False: "set it in an earlier node or fix the name",
}


def _issue(read: _Read, what: str, fix: str) -> Issue:
    used = f"uses {{{read.name}}}" if read.in_template else f"reads variable {read.name!r}"
    return Issue("warning", read.node, read.field, f"{used}{what}; {fix}")


def _reads(node: Node, kind: NodeKind) -> Iterator[_Read]:
    params = node.params
    in_templates: set[str] = set()
    for p in kind.params:
        if not p.template or p.name not in params:
            continue
        used = names_in_data(params[p.name])
        in_templates |= used
        for name in sorted(used - FACTS.keys()):  # facts are always set
            yield _Read(node.id, p.name, name, True)
    if type(kind).variables_read is NodeKind.variables_read:
        return  # the default reads the templates only
    # variables read outside templates, e.g. play_recording's file name variable
    for name in sorted(kind.variables_read(params) - in_templates - FACTS.keys()):
        field = next(
            (p.name for p in kind.params if p.type == "variable" and params.get(p.name) == name),
            None,
        )
        yield _Read(node.id, field, name, False)


class _Paths:
    """What is set on every path (``must``) and on some path (``may``) into each reached node."""

    def __init__(self, graph: Graph, tracked: list[str]) -> None:
        self.graph = graph
        self.bit = {name: 1 << i for i, name in enumerate(tracked)}
        self.start = {root: 0 for root in graph.roots}  # what is set where calls come in
        if graph.error_path and ERROR_VARIABLE in self.bit:
            self.start[graph.error_path] = self.bit[ERROR_VARIABLE]
        if graph.entry in self.start and graph.entry == graph.error_path:
            self.start[graph.entry] = 0  # calls start there with nothing set too
        self.gen: dict[tuple[str, str], int] = {}  # (node, outcome) -> what leaving so sets
        self.must: dict[str, int] = {}
        self.may: dict[str, int] = {}
        self.witness: dict[str, dict[str, str]] = {}  # variable -> node -> the path lacking it

    @classmethod
    def of(cls, graph: Graph, tracked: list[str]) -> _Paths:
        paths = cls(graph, tracked)
        paths.solve()
        return paths

    def solve(self) -> None:
        graph, bit = self.graph, self.bit
        for node in graph.nodes.values():
            kind = node.kind
            if node.id not in graph.reached or kind is None:
                continue
            if not any(n in bit for n in kind.variables_set(node.params)):
                continue  # most nodes set nothing anyone reads
            for outcome in node.edges:
                names = kind.variables_set_by(node.params, outcome)
                self.gen[node.id, outcome] = sum(bit[n] for n in names if n in bit)
        # nodes by rank in reverse postorder; the worklist always takes the earliest: a loop's
        # back edge sends the work back to the loop's head, which settles before anything after
        # the loop is visited again (first-in-first-out would sweep the rest of the flow once
        # per loop)
        order = self._order()
        rank = {n: i for i, n in enumerate(order)}
        ways_in = [
            [(rank[p], self.gen.get((p, o), 0)) for p, o in graph.preds[n] if p in rank]
            for n in order
        ]
        ways_out = [[rank[t] for t in graph.nodes[n].edges.values()] for n in order]
        everything = (1 << len(bit)) - 1
        start = [self.start.get(n) for n in order]
        must, may = [everything] * len(order), [0] * len(order)
        heap = list(range(len(order)))  # already a heap
        queued = [True] * len(order)
        while heap:
            i = heapq.heappop(heap)
            queued[i] = False
            first = start[i]
            m, y = (everything, 0) if first is None else (first, first)
            for p, g in ways_in[i]:
                m &= must[p] | g
                y |= may[p] | g
            if m != must[i] or y != may[i]:
                must[i], may[i] = m, y
                for t in ways_out[i]:
                    if not queued[t]:
                        heapq.heappush(heap, t)
                        queued[t] = True
        self.must, self.may = (
            dict(zip(order, must, strict=True)),
            dict(zip(order, may, strict=True)),
        )

    def _order(self) -> list[str]:
        """Reached nodes in reverse postorder from the roots (each node after its predecessors,
        loops aside), so most nodes are settled on their first visit."""
        nodes, seen, post = self.graph.nodes, set(self.graph.roots), []
        for root in self.graph.roots:
            stack = [(root, iter(nodes[root].edges.values()))]
            while stack:
                node, targets = stack[-1]
                for t in targets:
                    if t not in seen:
                        seen.add(t)
                        stack.append((t, iter(nodes[t].edges.values())))
                        break
                else:
                    stack.pop()
                    post.append(node)
        return post[::-1]

    def check(self, read: _Read, setters: list[str]) -> Iterator[Issue]:
        bit = self.bit[read.name]
        if self.must[read.node] & bit:
            return
        if self.may[read.node] & bit:
            lacking = self._witness(read.name, read.node)
            yield _issue(
                read,
                f", which may be unset on {lacking}",
                "set it on that path too, or fix the name",
            )
            return
        if read.name == ERROR_VARIABLE and setters == [self.graph.error_path]:
            yield _issue(
                read,
                f" but only the error path ({self.graph.error_path}) sets it and this node is "
                "not on it",
                "read it on the error path",
            )
            return
        more = f" and {len(setters) - 1} more" if len(setters) > 1 else ""
        yield _issue(
            read,
            f" but no path to this node sets it (only {setters[0]}{more} does, on other paths)",
            "set it before this node or fix the name",
        )

    def _witness(self, name: str, node: str) -> str:
        """A path into *node* (where *name* is set on some paths but not all) that lacks it,
        named where the paths part: the nearest node before it that one way reaches with the
        variable set and another without. Searched backwards through the nodes where it may be
        unset; what the search finds is kept for the nodes on its way, so later reads of the
        same variable stop there."""
        bit, may, out = self.bit[name], self.may, self._out
        known = self.witness.setdefault(name, {})
        parent: dict[str, str | None] = {node: None}
        todo = deque([node])
        found = ""
        while todo and not found:
            n = todo.popleft()
            if n in known:
                found = known[n]
            elif any(out(p, o) & bit for p, o in self.graph.preds[n]) or self.start.get(n, 0) & bit:
                found = self._lacking(n, bit)  # the paths part here
            else:  # every way in lacks it: go back along those where it may be set
                for p, o in self.graph.preds[n]:
                    if p in may and p not in parent and (may[p] | self.gen.get((p, o), 0)) & bit:
                        parent[p] = n
                        todo.append(p)
        step: str | None = n if found else None
        while step is not None:  # the way back from where it was found to the read
            known[step] = found
            step = parent[step]
        return found or self._lacking(node, bit)

    def _out(self, node: str, outcome: str) -> int:
        """What is set on every path leaving *node* through *outcome*."""
        if node not in self.must:  # not reached: no call comes that way
            return 0
        return self.must[node] | self.gen.get((node, outcome), 0)

    def _lacking(self, node: str, bit: int) -> str:
        """A way into *node* along which the variable is not set, in words."""
        for p, o in self.graph.preds[node]:
            if p in self.must and not self._out(p, o) & bit:
                return f"the path through {p}"
        if node == self.graph.error_path and node != self.graph.entry:
            return "the error path"
        return "the path from the start of the call"
