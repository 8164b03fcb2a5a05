"""Mermaid flowcharts of flows: one shape per kind, edges labelled with their outcomes.

Paste the text into GitHub Markdown (a ```` ```mermaid ```` block), mermaid.live or the docs. All
user text is written as Mermaid entity codes outside a small safe set, so a label can never end a
string, start a comment or inject a directive; node ids are mapped to identifiers Mermaid cannot
misread (``end``, ids with ``-``).

>>> from flowbuilder.flow import Flow
>>> flow = Flow("hi").add("hello", "play", label='Say "hi"', prompt="Hi").add("end", "hangup")
>>> print(to_mermaid(flow.connect("hello", "end")))
flowchart LR
    start_(("start")) --> hello
    end_(("end")):::k_hangup
    hello("Say #quot;hi#quot;"):::k_play
    hello -->|"next"| end_
    classDef k_hangup fill:#9d755d,stroke:#333,color:#fff
    classDef k_play fill:#4c78a8,stroke:#333,color:#fff
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from flowbuilder.errors import UnknownNodeKindError
from flowbuilder.export._text import escape_char, is_visible
from flowbuilder.flow import Flow
from flowbuilder.nodes._base import NodeKind, get_kind

# (open, close) of each shape, by kind, then by category; anything else is a rectangle.
SHAPES_BY_KIND: Final[dict[str, tuple[str, str]]] = {
    "menu": ("{", "}"),
    "gather": ("{", "}"),
    "branch": ("{", "}"),
    "hangup": ("((", "))"),
    "set": ("[/", "/]"),
    "subflow": ("[[", "]]"),
    "record": ("[(", ")]"),
    "voicemail": ("[(", ")]"),
}
SHAPES_BY_CATEGORY: Final[dict[str, tuple[str, str]]] = {
    "Say & hear": ("(", ")"),
    "Caller input": ("{", "}"),
    "Connect": ("{{", "}}"),
    "Logic": ("{", "}"),
    "Integrations": ("[/", "\\]"),
    "Call control": ("([", "])"),
}
RECTANGLE: Final = ("[", "]")
# Words Mermaid's flowchart grammar reserves; a node id equal to one would break the chart.
_KEYWORDS: Final = frozenset(
    {"end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click", "linkstyle"}
    | {"direction", "default", "call", "href", "interpolate", "td", "tb", "bt", "rl", "lr"}
)
_PLAIN_ID: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
START: Final = "start_"
_SAFE: Final = re.compile(r"[A-Za-z0-9 _.,:!?'()/+*=@$-]")
_COLOR: Final = re.compile(r"#[0-9A-Fa-f]{3,8}\Z")


def mermaid_ids(node_ids: Iterable[str]) -> dict[str, str]:
    """A Mermaid identifier for each node id: the id itself when Mermaid reads it as a plain id,
    else a cleaned-up id with a ``_`` suffix (and a number when needed to stay distinct).

    >>> mermaid_ids(["welcome", "end", "a-b", "a_b"])
    {'a_b': 'a_b', 'welcome': 'welcome', 'a-b': 'a_b_', 'end': 'end_'}
    """
    ids = sorted(node_ids)
    plain = [i for i in ids if _PLAIN_ID.match(i) and i.lower() not in _KEYWORDS]
    out = {i: i for i in plain}
    taken = {START, *plain}
    for node_id in ids:
        if node_id in out:
            continue
        base = re.sub(r"[^A-Za-z0-9_]", "_", node_id) + "_"
        if not base[0].isalpha():
            base = "n" + base
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}{n}", n + 1
        out[node_id] = candidate
        taken.add(candidate)
    return out


def escape_label(
    text: str, max_chars: int | None = None, plain: Callable[[str], bool] = is_visible
) -> str:
    """*text* as the inside of a quoted Mermaid label, cut (ending in ``...``) so that it takes
    at most *max_chars* characters when given. Characters that are not *plain* or could end the
    label are entity codes.

    >>> escape_label('a "quote"; #1 <b>{x}</b>')
    'a #quot;quote#quot;#59; #35;1 #60;b#62;#123;x#125;#60;/b#62;'
    >>> escape_label("Support voicemail", 10)
    'Support...'
    """
    pieces: list[str] = []
    for c in text:
        if c == "\n":
            piece = "<br>"
        elif c == '"':
            piece = "#quot;"
        elif _SAFE.match(c) or (c > "\x7f" and plain(c)):
            piece = c
        elif is_visible(c):
            piece = f"#{ord(c)};"
        else:  # a control or invisible character: show its escape, visibly
            piece = "".join(f"#{ord(e)};" if e == "\\" else e for e in escape_char(c))
        pieces.append(piece)
    out = "".join(pieces)
    if max_chars is None or len(out) <= max_chars:
        return out
    kept, used = [], 3
    for piece in pieces:
        if used + len(piece) > max_chars:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + "..."


def _kind(flow: Flow, node_id: str) -> NodeKind | None:
    try:
        return get_kind(flow.kind(node_id))
    except UnknownNodeKindError:
        return None


def _shape(kind: NodeKind | None) -> tuple[str, str]:
    if kind is None:
        return RECTANGLE
    return SHAPES_BY_KIND.get(kind.name) or SHAPES_BY_CATEGORY.get(kind.category) or RECTANGLE


def _text_color(fill: str) -> str:
    """Black or white, whichever reads better on *fill* (``#rgb`` or ``#rrggbb``)."""
    hexa = fill[1:]
    if len(hexa) in (3, 4):
        hexa = "".join(c * 2 for c in hexa[:3])
    r, g, b = (int(hexa[i : i + 2], 16) for i in (0, 2, 4))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def to_mermaid(
    flow: Flow,
    *,
    direction: str = "LR",
    max_label: int | None = None,
    indent: str = "    ",
    plain: Callable[[str], bool] = is_visible,
    short_ids: bool = False,
) -> str:
    """A Mermaid ``flowchart`` of *flow*: shapes by kind, coloured by kind, edges by outcome.

    *max_label* cuts long labels and outcomes, *short_ids* names nodes ``n1``, ``n2``... (the
    exported module's docstring keeps its lines short); characters for which *plain* is false
    are written as entity codes (``#233;``).
    """
    if direction not in ("LR", "RL", "TB", "TD", "BT"):
        raise ValueError(f"direction must be LR, RL, TB, TD or BT, got {direction!r}")
    lines = [f"flowchart {direction}"]
    ids = {n: f"n{i}" for i, n in enumerate(flow, 1)} if short_ids else mermaid_ids(flow)
    if flow.entry is not None:
        lines.append(f'{indent}{START}(("start")) --> {ids[flow.entry]}')
    used: dict[str, NodeKind] = {}
    for node_id in flow:
        kind = _kind(flow, node_id)
        opening, closing = _shape(kind)
        label = escape_label(flow.label(node_id) or node_id, max_label, plain)
        css = ""
        if kind is not None and _COLOR.match(kind.color):
            used[kind.name] = kind
            css = f":::k_{kind.name}"
        lines.append(f'{indent}{ids[node_id]}{opening}"{label}"{closing}{css}')
    for node_id in flow:
        for outcome, target in sorted(flow.edges_from(node_id).items()):
            shown = escape_label(outcome, max_label, plain)
            lines.append(f'{indent}{ids[node_id]} -->|"{shown}"| {ids[target]}')
    for name, kind in sorted(used.items()):
        lines.append(
            f"{indent}classDef k_{name} fill:{kind.color},stroke:#333,"
            f"color:{_text_color(kind.color)}"
        )
    return "\n".join(lines) + "\n"
