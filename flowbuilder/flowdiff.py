"""What changed between two flows, in terms of nodes, parameters, edges, settings and subflows.

Layout is not logic: moving nodes around changes nothing here.

>>> from flowbuilder.flow import Flow
>>> old = Flow("f").add("hi", "play", prompt="Hi").add("bye", "hangup")
>>> new = old.copy().set_params("hi", prompt="Hello").connect("hi", "bye").move("hi", 5, 5)
>>> print(FlowDiff.between(old.to_dict(), new.to_dict()))
~ hi.params.prompt: 'Hi' -> 'Hello'
+ edge hi --next--> bye
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowbuilder.hygiene import clean


@dataclass
class FlowDiff:
    """A semantic diff between two flows; layout is ignored. ``str()`` reads like a changelog."""

    nodes_added: list[str] = field(default_factory=list)
    nodes_removed: list[str] = field(default_factory=list)
    nodes_changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    edges_added: list[tuple[str, str, str]] = field(default_factory=list)
    edges_removed: list[tuple[str, str, str]] = field(default_factory=list)
    edges_changed: list[tuple[str, str, str, str]] = field(default_factory=list)
    settings_changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    subflows_changed: dict[str, FlowDiff | str] = field(default_factory=dict)

    @classmethod
    def between(cls, da: Mapping[str, Any], db: Mapping[str, Any]) -> FlowDiff:
        """What changed from saved flow *da* to *db* (as ``Flow.to_dict`` gives them)."""
        diff = cls()
        na, nb = da["nodes"], db["nodes"]
        diff.nodes_added = sorted(set(nb) - set(na))
        diff.nodes_removed = sorted(set(na) - set(nb))
        for node_id in sorted(set(na) & set(nb)):
            changes: dict[str, tuple[Any, Any]] = {}
            old, new = na[node_id], nb[node_id]
            if old["kind"] != new["kind"]:
                changes["kind"] = (old["kind"], new["kind"])
            if old.get("label", "") != new.get("label", ""):  # an empty label is left out
                changes["label"] = (old.get("label", ""), new.get("label", ""))
            for key in sorted(set(old["params"]) | set(new["params"])):
                if old["params"].get(key) != new["params"].get(key):
                    changes[f"params.{key}"] = (old["params"].get(key), new["params"].get(key))
            if changes:
                diff.nodes_changed[node_id] = changes
        ea = {(e["from"], e["outcome"]): e["to"] for e in da["edges"]}
        eb = {(e["from"], e["outcome"]): e["to"] for e in db["edges"]}
        for edge in sorted(set(eb) - set(ea)):
            diff.edges_added.append((edge[0], edge[1], eb[edge]))
        for edge in sorted(set(ea) - set(eb)):
            diff.edges_removed.append((edge[0], edge[1], ea[edge]))
        for edge in sorted(set(ea) & set(eb)):
            if ea[edge] != eb[edge]:
                diff.edges_changed.append((edge[0], edge[1], ea[edge], eb[edge]))
        for key in ("name", "description", "entry"):
            if da[key] != db[key]:
                diff.settings_changed[key] = (da[key], db[key])
        for key in sorted(set(da["settings"]) | set(db["settings"])):
            if da["settings"].get(key) != db["settings"].get(key):
                diff.settings_changed[key] = (da["settings"].get(key), db["settings"].get(key))
        sa, sb = da.get("subflows") or {}, db.get("subflows") or {}
        for name in sorted(set(sa) | set(sb)):
            if name not in sb:
                diff.subflows_changed[name] = "removed"
            elif name not in sa:
                diff.subflows_changed[name] = "added"
            elif isinstance(sa[name], Mapping) and isinstance(sb[name], Mapping):
                inner = cls.between(sa[name], sb[name])
                if inner:
                    diff.subflows_changed[name] = inner
            elif sa[name] != sb[name]:
                diff.subflows_changed[name] = f"{sa[name]!r} -> {sb[name]!r}"
        return diff

    def __bool__(self) -> bool:
        return any(getattr(self, f) for f in self.__dataclass_fields__)

    def __str__(self) -> str:
        lines = [f"+ node {n}" for n in self.nodes_added]
        lines += [f"- node {n}" for n in self.nodes_removed]
        for node_id, changes in self.nodes_changed.items():
            lines += [f"~ {node_id}.{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items()]
        lines += [f"+ edge {u} --{k}--> {v}" for u, k, v in self.edges_added]
        lines += [f"- edge {u} --{k}--> {v}" for u, k, v in self.edges_removed]
        lines += [f"~ edge {u} --{k}--> {old} => {new}" for u, k, old, new in self.edges_changed]
        lines += [f"~ {k}: {old!r} -> {new!r}" for k, (old, new) in self.settings_changed.items()]
        for name, change in self.subflows_changed.items():
            if isinstance(change, FlowDiff):
                lines += [
                    f"~ subflow {name}:",
                    *(f"    {line}" for line in str(change).splitlines()),
                ]
            else:
                lines.append(f"~ subflow {name}: {change}")
        # one line per change: an id read from a file cannot break a line or reach the terminal
        return "\n".join(map(clean, lines)) if lines else "no changes"
