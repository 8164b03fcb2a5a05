"""``to_svg(flow)``: a static, self-contained SVG diagram of a flow.

Boxes are coloured by kind (the kind's declared colour, icon and title), each outcome is a
labelled port on the right of its node, edges are arrows from port to node, the entry has a start
marker. Positions come from the flow's layout, or from :func:`flowbuilder.layout.auto_layout` for
nodes that have none. ``highlight`` outlines one node; ``path`` (e.g. ``transcript.path``) draws a
call's way through the flow over a dimmed diagram. It is the static fallback of the builder widget
(GitHub and exported notebooks show it) and ``flowbuilder export --to svg`` writes it.

All text is XML-escaped, and characters XML cannot hold or that hide text (controls, bidi
overrides) are shown as escapes, so any label gives a well-formed document.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("hi").add("hello", "play", label="<Hello>", prompt="Hi").add("end", "hangup")
>>> svg = to_svg(flow.connect("hello", "end"), path=["hello", "end"])
>>> svg.startswith("<svg") and "&lt;Hello&gt;" in svg and "<Hello>" not in svg
True
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from flowbuilder.errors import UnknownNodeKindError
from flowbuilder.export._text import escape_char, is_visible, truncate
from flowbuilder.flow import Flow
from flowbuilder.layout import GEOMETRY, MARGIN, ROW_GAP, auto_layout, node_size
from flowbuilder.nodes._base import get_kind

ACCENT: Final = "#d62728"
UNKNOWN_COLOR: Final = "#888888"
EDGE_COLOR: Final = "#6b6b6b"
FONT: Final = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
CHAR_PX: Final = 6.6  # average advance of a 12px sans-serif character, for cutting labels
BAND: Final = 20.0  # the coloured band at the top of a node's head: icon and kind
_COLOR: Final = re.compile(r"#[0-9A-Fa-f]{6}\Z|#[0-9A-Fa-f]{3}\Z")
_XML_INVALID: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def visible(text: str, *, one_line: bool = True) -> str:
    """*text* as shown on the diagram: whitespace runs made spaces (on one line), and anything
    invisible or not allowed in XML (controls, bidi overrides, zero-width) shown as an escape."""
    if one_line:
        text = re.sub(r"\s+", " ", text).strip()
    return "".join(c if is_visible(c) or c in "\n\t" else escape_char(c) for c in text)


def _xml(text: str) -> str:
    text = _XML_INVALID.sub(lambda m: escape_char(m.group()), text)
    return escape(text)


def _attr(text: str) -> str:
    text = _XML_INVALID.sub(lambda m: escape_char(m.group()), text)
    return quoteattr(text, {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _fit(text: str, max_px: float) -> str:
    """*text* cut with an ellipsis to about *max_px* pixels."""
    cut = truncate(text, max_px / CHAR_PX, "…")
    return cut if cut == text else cut[:-1].rstrip() + "…"  # no space before the ellipsis


def _ink(fill: str) -> str:
    """Text colour that reads on *fill*."""
    hexa = fill[1:] if len(fill) == 7 else "".join(c * 2 for c in fill[1:])
    r, g, b = (int(hexa[i : i + 2], 16) for i in (0, 2, 4))
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def positions(flow: Flow) -> dict[str, tuple[float, float]]:
    """The flow's own layout; nodes without a position are auto-laid out below the others."""
    pos = flow.positions()
    missing = [n for n in flow if n not in pos]
    if not missing:
        return pos
    auto = auto_layout(flow)
    if not pos:
        return auto
    bottom = max(y + node_size(flow, n)[1] for n, (_, y) in pos.items()) + ROW_GAP / 2
    top = min(auto[n][1] for n in missing)
    return {**pos, **{n: (auto[n][0], auto[n][1] - top + bottom) for n in missing}}


def to_svg(
    flow: Flow,
    *,
    highlight: str | None = None,
    path: Sequence[str] | None = None,
) -> str:
    """The flow as an SVG document (a string starting with ``<svg``).

    *highlight* outlines that node; *path*, a sequence of node ids such as
    ``transcript.path``, draws those nodes and the edges between consecutive ones in the accent
    colour and dims the rest.
    """
    pos = positions(flow)
    on_path = [n for n in (path or ()) if n in pos]
    path_nodes = set(on_path)
    path_edges = set(itertools.pairwise(on_path))
    dim = bool(path_nodes)
    key = json.dumps([flow.to_dict(), highlight, list(path or ())], sort_keys=True, default=str)
    uid = "fb" + hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()[:10]

    sizes = {n: node_size(flow, n) for n in flow}
    xs = [x for x, _ in pos.values()] or [MARGIN]
    ys = [y for _, y in pos.values()] or [MARGIN]
    left = min(xs) - MARGIN - (40 if flow.entry else 0)
    top = min(ys) - MARGIN
    right = max((pos[n][0] + sizes[n][0] for n in pos), default=MARGIN) + MARGIN
    bottom = max((pos[n][1] + sizes[n][1] for n in pos), default=MARGIN) + MARGIN
    w, h = right - left, bottom - top

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="{left:.1f} {top:.1f} {w:.1f} {h:.1f}" role="img" '
        f'aria-label={_attr("call flow " + flow.name)} font-family={_attr(FONT)} font-size="12">',
        f"<title>{_xml(visible('call flow ' + flow.name))}</title>",
    ]
    if flow.description:
        out.append(f"<desc>{_xml(visible(flow.description, one_line=False))}</desc>")
    out.append(
        f"<defs>{_marker(uid + '-arrow', EDGE_COLOR)}{_marker(uid + '-arrow-hot', ACCENT)}</defs>"
    )
    out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" fill="#fff"/>')

    # edges first, so boxes are drawn over their ends
    hot_edges: list[str] = []
    for node_id in flow:
        x, y = pos[node_id]
        for i, outcome in enumerate(flow.outcomes(node_id)):
            target = flow.next(node_id, outcome)
            if target is None or target not in pos:
                continue
            x1, y1 = x + GEOMETRY.width, y + GEOMETRY.port_y(i)
            x2, y2 = pos[target][0], pos[target][1] + GEOMETRY.in_port_y
            dx = max(50.0, abs(x2 - x1) / 2)
            hot = (node_id, target) in path_edges
            d = (
                f"M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} "
                f"{x2 - dx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            )
            style = (
                f'stroke="{ACCENT}" stroke-width="3" marker-end="url(#{uid}-arrow-hot)"'
                if hot
                else f'stroke="{EDGE_COLOR}" stroke-width="1.5" marker-end="url(#{uid}-arrow)"'
                + (' opacity="0.35"' if dim else "")
            )
            title = f"{node_id} —{outcome}→ {target}"
            edge = (
                f'<path class="fb-edge" data-from={_attr(node_id)} data-outcome={_attr(outcome)} '
                f'data-to={_attr(target)} d="{d}" fill="none" {style}>'
                f"<title>{_xml(visible(title))}</title></path>"
            )
            (hot_edges if hot else out).append(edge)
    out.extend(hot_edges)  # drawn last so the call's path stays on top

    if flow.entry is not None and flow.entry in pos:
        ex, ey = pos[flow.entry]
        cy = ey + GEOMETRY.in_port_y
        out.append(
            f'<g class="fb-start"><circle cx="{ex - 34:.1f}" cy="{cy:.1f}" r="7" '
            f'fill="#333"/><path d="M{ex - 27:.1f},{cy:.1f} L{ex:.1f},{cy:.1f}" stroke="#333" '
            f'stroke-width="1.5" marker-end="url(#{uid}-arrow)"/><title>start</title></g>'
        )

    for node_id in flow:
        out.append(_node(flow, node_id, pos[node_id], highlight, path_nodes, dim))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _marker(marker_id: str, color: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
    )


def _node(
    flow: Flow,
    node_id: str,
    at: tuple[float, float],
    highlight: str | None,
    path_nodes: set[str],
    dim: bool,
) -> str:
    x, y = at
    width, height = node_size(flow, node_id)
    kind_name = flow.kind(node_id)
    try:
        kind = get_kind(kind_name)
        color = kind.color if _COLOR.match(kind.color) else UNKNOWN_COLOR
        header = f"{kind.icon} {kind.title}"
    except UnknownNodeKindError:
        color, header = UNKNOWN_COLOR, f"? unknown kind {kind_name}"
    label = flow.label(node_id)
    hot = node_id == highlight
    stroke, stroke_width = (ACCENT, 3.0) if hot or node_id in path_nodes else ("#333333", 1.0)
    opacity = ' opacity="0.35"' if dim and node_id not in path_nodes and not hot else ""
    tooltip = "\n".join(p for p in (label, f"{node_id} ({kind_name})") if p)
    parts = [
        f'<g class="fb-node" data-node={_attr(node_id)} data-kind={_attr(kind_name)}{opacity}>',
        f"<title>{_xml(visible(tooltip, one_line=False))}</title>",
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" rx="6" '
        f'fill="#ffffff" stroke="{stroke}" stroke-width="{stroke_width}"/>',
        f'<path d="M{x:.1f},{y + BAND:.1f} V{y + 6:.1f} Q{x:.1f},{y:.1f} {x + 6:.1f},'
        f"{y:.1f} H{x + width - 6:.1f} Q{x + width:.1f},{y:.1f} {x + width:.1f},{y + 6:.1f} "
        f'V{y + BAND:.1f} Z" fill="{color}"/>',
        f'<text x="{x + 8:.1f}" y="{y + 15:.1f}" fill="{_ink(color)}" font-size="11">'
        f"{_xml(_fit(visible(header), width - 16))}</text>",
        f'<text class="fb-label" x="{x + 8:.1f}" y="{y + BAND + 15:.1f}" '
        f'font-weight="600" fill="#111111">{_xml(_fit(visible(label or node_id), width - 16))}'
        "</text>",
        f'<text class="fb-id" x="{x + 8:.1f}" y="{y + GEOMETRY.head - 5:.1f}" '
        f'fill="#666666" font-size="10">{_xml(_fit(visible(node_id), width - 16))}</text>',
        f'<circle cx="{x:.1f}" cy="{y + GEOMETRY.in_port_y:.1f}" r="4" fill="#ffffff" '
        f'stroke="#333333"/>',
    ]
    for i, outcome in enumerate(flow.outcomes(node_id)):
        py = y + GEOMETRY.port_y(i)
        connected = flow.next(node_id, outcome) is not None
        parts.append(
            f'<g class="fb-port" data-outcome={_attr(outcome)}>'
            f'<text x="{x + width - 10:.1f}" y="{py + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{"#333333" if connected else "#b00020"}">'
            f"{_xml(_fit(visible(outcome), width - 24))}</text>"
            f'<circle cx="{x + width:.1f}" cy="{py:.1f}" r="4" '
            f'fill="{color if connected else "#ffffff"}" stroke="#333333"/></g>'
        )
    parts.append("</g>")
    return "".join(parts)


__all__ = ["positions", "to_svg", "visible"]
