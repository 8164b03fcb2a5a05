"""Builder benchmark: the canvas in a real browser (Chromium driving JupyterLab, as the browser
tests do), plus the kernel's side. Prints one JSON object on its last line.

In the page, one notebook shows a 200-node flow, a 1,000-node flow and, as the baseline, the
same builder with an empty flow; the baseline for drawing is a plain static SVG of the same
200-node flow (``flowbuilder.export.svg``) inserted into the same page. Figures:

- ``first_draw_ms``: from the canvas's render() to its first drawing (200 nodes).
- ``interactive_ms``: to the second animation frame after that, when clicks and drags work
  (goal < 1000); ``interactive_ms_1000`` for 1,000 nodes (goal < 3000);
  ``interactive_ms_empty``: the empty flow, side by side.
- ``plain_svg_ms``: the static SVG of the 200 nodes, inserted and painted (two frames).
- ``drag_fps``: frames per second in which a node dragged by the mouse moved, over a two-second
  drag on the 200-node flow (goal >= 50), the mouse moving once per animation frame as a real
  one does (60 Hz and up): pressed by Playwright, moved by ``mousemove`` events the page
  dispatches to itself each frame, released by Playwright. ``drag_fps_cdp``: the same drag with
  every move sent by Playwright, which waits for the page to acknowledge each move before sending
  the next (about one move per two frames): it measures that round trip as much as the canvas,
  and ``drag_mouse_moves`` says how many moves it managed. ``idle_fps``: the page's frame rate
  with nothing happening, measured just before: the most a drag could reach.
- ratios: ``interactive_vs_empty``, ``interactive_vs_plain_svg``, ``drag_vs_idle_fps``.
- kernel side, on the 200-node flow, each timed against ``json.dumps(flow.to_dict())``:
  ``action_ms`` (one move from the page: comm message, Flow.move, validation, canvas payload,
  undo snapshot, inspector) and ``open_builder_ms``, with ``action_vs_dumps_ratio`` and
  ``open_vs_dumps_ratio``.

``--quick`` (or ``FLOWBUILDER_BENCH_QUICK=1``) drags for a shorter time and times the kernel
side in fewer rounds, to check the script itself works. Needs Chromium (``CHROMIUM_PATH``,
default ``/usr/bin/chromium``) and the dev extra (JupyterLab, Playwright).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flowbuilder.export.svg import to_svg  # noqa: E402
from flowbuilder.flow import Flow  # noqa: E402

GOALS = {"interactive_ms": 1000, "interactive_ms_1000": 3000, "drag_fps": 50}


def big_flow(groups: int = 50) -> Flow:
    """``4 * groups`` nodes: menus chained by their retries, each with two plays and a hang-up."""
    flow = Flow("big")
    for g in range(groups):
        flow.add(
            f"menu{g}",
            "menu",
            label=f"Menu {g}",
            prompt="Press 1 or 2",
            options=[{"outcome": "one", "digits": "1"}, {"outcome": "two", "digits": "2"}],
        )
        flow.add(f"one{g}", "play", prompt=f"You chose one in menu {g}")
        flow.add(f"two{g}", "play", prompt=f"You chose two in menu {g}")
        flow.add(f"end{g}", "hangup")
        flow.connect(f"menu{g}", f"one{g}", "one").connect(f"menu{g}", f"two{g}", "two")
        flow.connect(f"one{g}", f"end{g}").connect(f"two{g}", f"end{g}")
        if g:
            flow.connect(f"menu{g - 1}", f"menu{g}", "invalid")
            flow.connect(f"menu{g - 1}", f"menu{g}", "timeout")
    return flow


CELLS = [
    """\
import sys
sys.path.insert(0, %r)
import flowbuilder as fb
from benchmarks.builder import big_flow
b200 = fb.Builder(big_flow(50))
b200""",
    "b1000 = fb.Builder(big_flow(250), height=500)\nb1000",
    'empty = fb.Builder(fb.Flow("empty"))\nempty',
]

# Counts the animation frames in which the dragged node moved on the screen, and all frames.
FRAME_COUNTER = """(sel) => {
    const node = document.querySelector(sel);
    const where = () => { const r = node.getBoundingClientRect(); return `${r.left},${r.top}`; };
    const state = {frames: 0, moved: 0, first: 0, last: 0, stop: false, t: where()};
    window.__fbDrag = state;
    const tick = (now) => {
        if (state.stop) return;
        state.frames++;
        const t = where();
        if (t !== state.t) {
            state.moved++; state.t = t; state.last = now;
            if (!state.first) state.first = now;
        }
        requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
}"""

# Moves the pressed mouse once per animation frame for *ms*, as a real mouse (60 Hz and up) does.
DRIVE = """([x, y, ms]) => new Promise((done) => {
    let i = 0; const t0 = performance.now();
    const tick = (now) => {
        if (now - t0 >= ms) { done(i); return; }
        i++;
        window.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, buttons: 1,
            clientX: x + (i % 120), clientY: y + (i % 60) / 2}));
        requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
})"""

IDLE_FPS = """() => new Promise((done) => {
    let frames = 0; const t0 = performance.now();
    const tick = (now) => { frames++; if (now - t0 < 1000) requestAnimationFrame(tick);
        else done(1000 * frames / (now - t0)); };
    requestAnimationFrame(tick);
})"""

PLAIN_SVG = """(svg) => new Promise((done) => {
    const host = document.createElement('div');
    host.style.cssText = 'position:fixed;left:0;top:0;width:1200px;height:600px;'
        + 'overflow:hidden;z-index:99999;background:#fff';
    const t0 = performance.now();
    host.innerHTML = svg;
    document.body.appendChild(host);
    requestAnimationFrame(() => requestAnimationFrame(() => {
        const ms = performance.now() - t0;
        host.remove();
        done(ms);
    }));
})"""


def browser_figures(quick: bool) -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    from tests.ui.lab import TIMEOUT_MS, center, open_notebook, run_all, write_notebook
    from tests.ui.servers import CHROMIUM, CHROMIUM_ARGS, LAB_FLAGS, jupyter_server

    with tempfile.TemporaryDirectory() as tmp:
        servers = jupyter_server(Path(tmp), "jupyterlab", LAB_FLAGS)
        lab = next(servers)
        try:
            write_notebook(lab.root / "bench.ipynb", [CELLS[0] % str(ROOT), *CELLS[1:]])
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                open_notebook(page, lab, "bench.ipynb")
                run_all(page)
                canvases = page.locator(".fb-canvas")
                expect(canvases).to_have_count(3, timeout=TIMEOUT_MS * 3)
                for i in range(3):
                    expect(canvases.nth(i)).to_have_attribute(
                        "data-ready", "1", timeout=TIMEOUT_MS * 3
                    )
                b200, b1000, empty = canvases.nth(0), canvases.nth(1), canvases.nth(2)
                out: dict[str, Any] = {
                    "first_draw_ms": float(b200.get_attribute("data-first-draw-ms")),
                    "interactive_ms": float(b200.get_attribute("data-interactive-ms")),
                    "first_draw_ms_1000": float(b1000.get_attribute("data-first-draw-ms")),
                    "interactive_ms_1000": float(b1000.get_attribute("data-interactive-ms")),
                    "interactive_ms_empty": float(empty.get_attribute("data-interactive-ms")),
                }
                out["plain_svg_ms"] = round(page.evaluate(PLAIN_SVG, to_svg(big_flow(50))), 1)

                # a two-second drag on the 200-node canvas; Playwright sends the next mouse move
                # once the page has handled the last one, so the page sets the pace
                b200.scroll_into_view_if_needed()
                b200.locator(".fb-btn-zoom-in").click()
                visible = b200.evaluate(
                    """root => {
                        const stage = root.querySelector('.fb-stage').getBoundingClientRect();
                        const g = [...root.querySelectorAll('.fb-node')].find((n) => {
                            const r = n.getBoundingClientRect();
                            return r.left > stage.left + 20 && r.right < stage.right - 260
                                && r.top > stage.top + 40 && r.bottom < stage.bottom - 160; });
                        return g && g.dataset.node; }"""
                )
                out["idle_fps"] = round(page.evaluate(IDLE_FPS), 1)
                selector = f".fb-canvas .fb-node[data-node='{visible}']"
                seconds = 0.7 if quick else 2.0

                def dragged_fps(move: Callable[[float, float], None]) -> float:
                    page.evaluate(FRAME_COUNTER, selector)
                    label = b200.locator(f".fb-node[data-node='{visible}'] .fb-node-label")
                    x, y = center(label)
                    page.mouse.move(x, y)
                    page.mouse.down()
                    move(x, y)
                    page.mouse.up()
                    drag = page.evaluate(
                        "() => { window.__fbDrag.stop = true; return window.__fbDrag; }"
                    )
                    span = max(drag["last"] - drag["first"], 1.0)
                    return round(1000 * max(drag["moved"] - 1, 0) / span, 1)

                def by_playwright(x: float, y: float) -> None:
                    t0, i = time.perf_counter(), 0
                    while time.perf_counter() - t0 < seconds:
                        i += 1
                        page.mouse.move(x + (i % 120), y + (i % 60) / 2)
                    out["drag_mouse_moves"] = i

                def each_frame(x: float, y: float) -> None:
                    page.evaluate(DRIVE, [x, y, seconds * 1000])

                out["drag_fps_cdp"] = dragged_fps(by_playwright)
                out["drag_fps"] = dragged_fps(each_frame)
                browser.close()
        finally:
            servers.close()
    out["interactive_vs_empty"] = round(out["interactive_ms"] / out["interactive_ms_empty"], 2)
    out["interactive_vs_plain_svg"] = round(out["interactive_ms"] / out["plain_svg_ms"], 2)
    out["drag_vs_idle_fps"] = round(out["drag_fps"] / out["idle_fps"], 2)
    return out


def timed(fn: Callable[[], object], repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def kernel_figures(rounds: int) -> dict[str, Any]:
    from flowbuilder.ui import Builder

    flow = big_flow()
    builder = Builder(flow)
    step = [0]

    def baseline() -> None:
        json.dumps(flow.to_dict())

    def action() -> None:
        step[0] += 1
        msg = {"action": "move", "nodes": {"menu0": [40 + step[0] % 50, 40.0]}}
        builder.canvas._handle_custom_msg(msg, [])

    def open_builder() -> None:
        Builder(flow).close()

    base_s, action_s, open_s = [], [], []
    for _ in range(rounds):
        base_s.append(timed(baseline, 5))
        action_s.append(timed(action, 5))
        open_s.append(timed(open_builder, 1))
    builder.close()
    base = statistics.median(base_s)
    return {
        "baseline_dumps_ms": round(base * 1000, 3),
        "action_ms": round(statistics.median(action_s) * 1000, 3),
        "open_builder_ms": round(statistics.median(open_s) * 1000, 3),
        "action_vs_dumps_ratio": round(
            statistics.median(a / b for a, b in zip(action_s, base_s, strict=True)), 2
        ),
        "open_vs_dumps_ratio": round(
            statistics.median(o / b for o, b in zip(open_s, base_s, strict=True)), 2
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("FLOWBUILDER_BENCH_QUICK") == "1"
    result: dict[str, Any] = {"nodes": 200, "nodes_large": 1000}
    result.update(browser_figures(quick))
    result.update(kernel_figures(3 if quick else 15))
    result["goals"] = GOALS
    result["quick"] = quick
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
