"""Hypothesis strategies shared by the export tests: flows full of hostile text.

Flows are built with ``Flow.from_dict`` from raw data, so they hold what a loaded file can hold:
any label, prompt, URL, variable name or outcome text, odd node ids, unknown kinds, nested data.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from flowbuilder.flow import Flow
from flowbuilder.names import FLOW_NAME
from flowbuilder.nodes import kinds

NASTY = [
    '"""',
    "'''",
    '"',
    "'",
    "\\",
    "\\x00",
    '\\"""',
    "{}",
    "{caller}",
    "{{",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r\n",
    "\r",
    "\n",
    "\t",
    "\x0c",
    "\x85",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\ud800",
    "\U0001f600",
    "é",
    "\uff21",  # full-width A
    "\u0430",  # Cyrillic a
    "\u2019",  # right single quotation mark
    "\u2013",  # en dash
    "中文",
    "\u0301",
    "# noqa",
    "\nimport os\nos.system('x')\n",
    '"; import os; "',
    "\"\"\"\nimport os\n'''",
    "-->",
    "%%{init: {}}%%",
    "end",
    "<script>alert(1)</script>",
    "]]>",
    "&amp;",
    "`",
    "|",
    ";",
    "#",
]
hostile = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), min_size=1, max_size=6
).map("".join)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile,
)
json_data = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(hostile, inner, max_size=3)
    ),
    max_leaves=8,
)
node_ids = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True), hostile)
KIND_NAMES = [k.name for k in kinds()]


@st.composite
def hostile_flows(draw: st.DrawFn) -> Flow:
    ids = draw(st.lists(node_ids, min_size=1, max_size=5, unique=True))
    nodes: dict[str, Any] = {}
    for node_id in ids:
        kind = draw(st.sampled_from(["play", "set", "http_request", "menu", "unknown"]))
        if kind == "play":
            params: dict[str, Any] = {"prompt": draw(hostile)}
        elif kind == "set":
            params = {"values": draw(st.dictionaries(hostile, hostile, max_size=2))}
        elif kind == "http_request":
            params = {"url": draw(hostile), "headers": {draw(hostile): draw(hostile)}}
        elif kind == "menu":
            params = {"prompt": draw(hostile), "options": [{"digits": "1", "outcome": "one"}]}
        else:
            kind = draw(st.one_of(hostile, st.sampled_from(KIND_NAMES)))
            params = draw(st.dictionaries(hostile, json_data, max_size=3))
        nodes[node_id] = {"kind": kind, "label": draw(hostile), "params": params}
    edges: dict[tuple[str, str], str] = {}
    for _ in range(draw(st.integers(0, 4))):
        source, outcome = draw(st.sampled_from(ids)), draw(hostile)
        edges[source, outcome] = draw(st.sampled_from(ids))
    coords = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False)
    layout = {n: {"x": draw(coords), "y": draw(coords)} for n in ids if draw(st.booleans())}
    data = {
        "schema": 1,
        "name": draw(st.from_regex(FLOW_NAME.pattern.replace(r"\Z", ""), fullmatch=True)),
        "description": draw(hostile),
        "entry": ids[0],
        "settings": {"voice": draw(hostile), "timezone": "UTC", "on_error": None},
        "nodes": nodes,
        "edges": [{"from": u, "outcome": k, "to": v} for (u, k), v in edges.items()],
        "layout": layout,
    }
    return Flow.from_dict(data)
