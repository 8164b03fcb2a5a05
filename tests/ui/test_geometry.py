"""Node geometry is defined once (flowbuilder.layout.GEOMETRY): auto-layout, the SVG export and
the canvas (which receives it in its synced state) all use the same box sizes and port places."""

from __future__ import annotations

import re
from typing import Any

from flowbuilder.export.svg import to_svg
from flowbuilder.layout import GEOMETRY, node_size


def test_the_canvas_receives_the_one_geometry(builder: Any, frontend: Any) -> None:
    assert frontend.page_state(builder.canvas)["geometry"] == GEOMETRY.to_json()


def test_the_svg_export_draws_boxes_and_ports_by_the_same_numbers(flow: Any) -> None:
    svg = to_svg(flow)
    for node_id in flow:
        group = re.search(
            rf'<g class="fb-node" data-node="{node_id}".*?</g>(?=<g class="fb-node|\n)', svg, re.S
        )
        assert group is not None
        _x, y, w, h = map(
            float,
            re.search(
                r'<rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)"',
                group.group(),
            ).groups(),
        )
        assert (w, h) == node_size(flow, node_id)
        ports = [
            float(cy) for cy in re.findall(r'<g class="fb-port".*?cy="([\d.-]+)"', group.group())
        ]
        assert ports == [y + GEOMETRY.port_y(i) for i in range(len(flow.outcomes(node_id)))]
