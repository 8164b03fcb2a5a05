"""Every label of the builder is readable in JupyterLab's light and dark themes, at 1600 and
1000 px wide: each visible text (canvas, palette, toolbar, inspector, problems, call log) has a
contrast of at least 4.5:1 with what is behind it (WCAG AA), measured on the colours the browser
resolves. Screenshots ``theme-<light|dark>-<width>.png`` go to the artifacts for a person to look
at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.ui.lab import TIMEOUT_MS, open_notebook, run_all, write_notebook
from tests.ui.servers import LAB_FLAGS, jupyter_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

THEME_SETTINGS = "@jupyterlab/apputils-extension/themes.jupyterlab-settings"

# the support line with one problem (a node that ends the call without hanging up), a node
# selected so the inspector shows, and the problems panel open
SETUP = """\
import flowbuilder as fb
from flowbuilder.examples import support_line
flow = support_line()
flow.add("loose", "play", prompt="Nobody connects me.")
builder = fb.Builder(flow)
builder.select("main_menu")
builder"""

# Each visible text, its colour and the colour behind it, resolved by drawing both on a canvas
# (so color-mix(), CSS variables and alpha come out as the browser paints them).
CONTRAST = """root => {
    const ctx = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
    const rgba = (css) => { ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = '#000'; ctx.fillStyle = css;
        ctx.fillRect(0, 0, 1, 1); const d = ctx.getImageData(0, 0, 1, 1).data;
        return [d[0], d[1], d[2], d[3] / 255]; };
    const over = (top, under) => top.slice(0, 3).map((c, i) =>
        c * top[3] + under[i] * (1 - top[3]));
    const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const page = rgba(getComputedStyle(document.body).backgroundColor);
    const behind = (el) => {  // the first opaque-ish background up the tree
        const layers = [];
        for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
            let bg;
            if (e instanceof SVGElement && e.classList.contains('fb-badge')) {
                bg = rgba(getComputedStyle(e.querySelector('circle')).fill);
            } else if (e instanceof SVGElement && e.classList.contains('fb-node')) {
                bg = rgba(getComputedStyle(e.querySelector('.fb-node-box')).fill);
            } else if (e instanceof SVGSVGElement) {
                bg = rgba(getComputedStyle(e).backgroundColor);
                if (bg[3] === 0) continue;
            } else if (e instanceof SVGElement) {
                continue;
            } else {
                bg = rgba(getComputedStyle(e).backgroundColor);
            }
            if (bg[3] > 0) layers.push(bg);
            if (bg[3] >= 0.99) break;
        }
        return layers.reverse().reduce((acc, l) => over(l, acc), page.slice(0, 3));
    };
    const found = [];
    const texts = [...root.querySelectorAll('*')].filter((e) =>
        [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
    for (const e of texts) {
        const r = e.getBoundingClientRect();
        const style = getComputedStyle(e);
        if (!r.width || !r.height || style.visibility === 'hidden' || style.display === 'none'
            || e.closest('[hidden], .fb-lift, option')) continue;
        if (r.bottom < 0 || r.top > innerHeight || r.right < 0 || r.left > innerWidth) continue;
        const base = behind(e);
        const ink = e instanceof SVGElement ? rgba(style.fill) : rgba(style.color);
        const text = over(ink, base);
        const [a, b] = [lum(text), lum(base)].sort((x, y) => y - x);
        const ratio = (a + 0.05) / (b + 0.05);
        found.push({text: e.textContent.trim().slice(0, 40), tag: e.tagName,
                    cls: String(e.className.baseVal ?? e.className).slice(-40),
                    ink: text.map(Math.round).join(','), behind: base.map(Math.round).join(','),
                    ratio: Math.round(ratio * 100) / 100});
    }
    return found;
}"""


@pytest.fixture(scope="module")
def dark_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    yield from jupyter_server(
        tmp_path_factory.mktemp("lab-dark"),
        "jupyterlab",
        LAB_FLAGS,
        {THEME_SETTINGS: {"theme": "JupyterLab Dark"}},
    )


# Edge labels are drawn under the boxes: one a box covers cannot be read.
HIDDEN_LABELS = """(root) => {
    const boxes = [...root.querySelectorAll(".fb-node-box")].map(b => b.getBoundingClientRect());
    const hidden = [];
    for (const label of root.querySelectorAll(".fb-edge-label")) {
        const r = label.getBoundingClientRect();
        if (!label.textContent || !r.width) continue;
        if (boxes.some(b => r.right > b.left + 1 && r.left < b.right - 1 &&
                            r.bottom > b.top + 1 && r.top < b.bottom - 1)) {
            hidden.push(label.textContent);
        }
    }
    return hidden;
}"""


@pytest.mark.parametrize("width", [1600, 1000])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_label_is_readable(
    request: Any, browser: Any, artifacts: Path, theme: str, width: int
) -> None:
    from playwright.sync_api import expect

    server = request.getfixturevalue("jupyter_lab" if theme == "light" else "dark_lab")
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        name = f"theme-{theme}-{width}.ipynb"
        write_notebook(server.root / name, [SETUP])
        open_notebook(page, server, name)
        run_all(page)
        canvas = page.locator(".fb-canvas").first
        expect(canvas).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
        builder = page.locator(".fb-builder").first
        expect(builder.locator(".fb-inspector")).to_be_visible(timeout=TIMEOUT_MS)
        dark = page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
        assert dark == (theme == "dark")
        builder.scroll_into_view_if_needed()
        builder.screenshot(path=str(artifacts / f"theme-{theme}-{width}.png"))
        texts = builder.evaluate(CONTRAST)
        assert len(texts) > 40, texts  # the listing is real: nodes, ports, palette, panels
        faint = [t for t in texts if t["ratio"] < 4.5]
        assert faint == [], faint
        assert builder.evaluate(HIDDEN_LABELS) == []
    finally:
        context.close()
