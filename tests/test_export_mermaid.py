"""Mermaid flowcharts: shapes by kind, outcomes on edges, labels that cannot break the chart."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from flowbuilder.examples import support_line
from flowbuilder.export.mermaid import escape_label, mermaid_ids, to_mermaid
from flowbuilder.flow import Flow

sys.path.insert(0, str(Path(__file__).parent))
from export_strategies import hostile_flows

# one statement per line: `id<shape>"label"<shape>:::class`, `a -->|"outcome"| b`, classDef
SHAPES = (
    r"(\(\(|\(\[|\[\[|\[\(|\[/|\{\{|\(|\[|\{)\"[^\"]*\"(\)\)|\]\)|\]\]|\)\]|/\]|\\\]|\}\}|\)|\]|\})"
)
NODE_LINE = re.compile(r"^    \w+" + SHAPES + r"(:::k_\w+)?$")
EDGE_LINE = re.compile(r'^    \w+ -->\|"[^"]*"\| \w+$')
START_LINE = re.compile(r'^    start_\(\("start"\)\) --> \w+$')
CLASS_LINE = re.compile(r"^    classDef k_\w+ fill:#[0-9a-fA-F]{3,8},stroke:#333,color:#(fff|000)$")


def assert_well_formed(chart: str) -> None:
    lines = chart.splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines[1:]:
        assert (
            NODE_LINE.match(line)
            or EDGE_LINE.match(line)
            or START_LINE.match(line)
            or CLASS_LINE.match(line)
        ), f"unexpected line: {line!r}"


def test_support_line_chart() -> None:
    chart = to_mermaid(support_line())
    assert_well_formed(chart)
    assert '    main_menu{"Main menu"}:::k_menu' in chart  # a menu is a decision
    assert '    sales{{"Sales team"}}:::k_dial' in chart
    assert '    end_(("Hang up")):::k_hangup' in chart  # "end" is reserved in Mermaid
    assert '    main_menu -->|"operator"| operator' in chart
    assert '    start_(("start")) --> welcome' in chart
    assert "classDef k_menu fill:#f58518" in chart
    # every edge is drawn once, labelled with its outcome
    assert chart.count("-->|") == support_line().graph.number_of_edges()


def test_ids_stay_distinct_and_plain() -> None:
    ids = mermaid_ids(["end", "end_", "a-b", "a_b", "a_b_", "Graph", "x"])
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z]\w*", v) for v in ids.values())
    assert ids["x"] == "x"
    assert ids["a_b"] == "a_b"
    assert "start_" not in ids.values()


def test_labels_are_escaped() -> None:
    label = 'Say "hi" <b>now</b>; #1 {caller} --> %% |pipe| `tick`\nline 2\x00\u202e'
    escaped = escape_label(label)
    assert '"' not in escaped
    bare = re.sub(r"#\w+;|<br>", "", escaped)  # entity codes and the one line break we write
    assert not set(bare) & set('"<>;#{}|`\x00\u202e\n')
    assert escaped.count("<br>") == 1
    assert "#quot;hi#quot;" in escaped
    assert "\\x00" not in escaped  # the backslash itself is an entity
    assert "#92;x00" in escaped
    assert "#92;u202e" in escaped


def test_long_labels_are_cut_within_budget() -> None:
    flow = Flow("x").add("a", "play", label="word " * 40, prompt="hi")
    chart = to_mermaid(flow, max_label=20)
    line = next(row for row in chart.splitlines() if row.startswith("    a("))
    assert line.endswith('..."):::k_play')
    assert len(line) < 60


def test_short_ids() -> None:
    flow = support_line()
    chart = to_mermaid(flow, short_ids=True)
    assert_well_formed(chart)
    assert '    n3{"Main menu"}:::k_menu' in chart  # the third node in id order


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=hostile_flows())
def test_hostile_flows_give_well_formed_charts(flow: Flow) -> None:
    assert_well_formed(to_mermaid(flow))


MERMAID_JS = os.environ.get("MERMAID_JS", "")


@pytest.mark.browser
@pytest.mark.skipif(
    not Path(MERMAID_JS or "/nonexistent").is_file(),
    reason="no mermaid.min.js: run `make test` with npm installed, or set MERMAID_JS to it",
)
def test_renders_in_mermaid_with_labels_intact() -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    label = 'a "q" <b>x</b> #1; {y} end --> %% café \\'
    flow = Flow("t").add("end", "play", label=label, prompt="x").add("a-b", "hangup")
    flow.connect("end", "a-b")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu"],
        )
        try:
            page = browser.new_page()
            page.set_content("<div></div>")
            page.add_script_tag(path=MERMAID_JS)
            page.evaluate("mermaid.initialize({startOnLoad: false})")
            for i, chart in enumerate([to_mermaid(support_line()), to_mermaid(flow)]):
                svg = page.evaluate(
                    "async ([c, i]) => (await mermaid.render('g' + i, c)).svg", [chart, i]
                )
                assert "<svg" in svg
            page.set_content(svg)
            texts = page.evaluate(
                "() => Array.from(document.querySelectorAll('.nodeLabel')).map(e => e.textContent)"
            )
            assert label in texts
        finally:
            browser.close()
