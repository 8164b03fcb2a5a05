"""Fixtures for the builder's tests: a private JupyterLab server and headless Chromium.

The setup follows the project's notebook recipe: JupyterLab on a free loopback port with no
news, update or extension-manager queries; Debian's chromium driven by Playwright's sync API
(never ``playwright install``); every request off 127.0.0.1 is recorded so tests can assert the
page made none.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.ui.servers import CHROMIUM, CHROMIUM_ARGS, LAB_FLAGS, jupyter_server

ARTIFACTS = Path(os.environ.get("NB_ARTIFACTS", "test-artifacts"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# One server of each kind for the whole session: starting one takes seconds, and the browser
# tests open a notebook each.
@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    yield from jupyter_server(
        tmp_path_factory.mktemp("lab"),
        "jupyterlab",
        LAB_FLAGS,
    )


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    pytest.importorskip("notebook")
    yield from jupyter_server(tmp_path_factory.mktemp("nb7"), "notebook", [])


# Module scope: Playwright's sync API keeps an asyncio loop running in this thread while it is
# open; later tests (asyncio.run, the builder's drawing) must not find it running.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        # no --user-data-dir: launch() refuses it and uses a fresh profile anyway
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
    pg = ctx.new_page()
    pg.js_errors, pg.external_requests = [], []
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    # anywidget loads its ESM from a blob: URL; anything else off-host is a leak
    pg.on(
        "request",
        lambda r: (
            r.url.startswith(("http://127.0.0.1", "blob:", "data:"))
            or pg.external_requests.append(r.url)
        ),
    )
    yield pg
    ctx.close()


# -- a recording frontend for headless widget tests ------------------------------------------


class Frontend:
    """The page's side of the widget protocol, without a browser.

    Every widget created while the fixture is active gets a comm that records what the kernel
    sends (state updates, custom messages). ``action`` / ``update`` / ``click`` deliver exactly
    the comm messages the browser sends (custom content, a state update, a button click)
    through the same ``Widget._handle_msg`` path a kernel would use.
    """

    def __init__(self) -> None:
        self.comms: dict[str, Any] = {}

    def sent(self, widget: Any) -> list[dict[str, Any]]:
        return list(widget.comm.sent)

    def updates(self, widget: Any) -> list[dict[str, Any]]:
        """State updates the page received for *widget*, oldest first."""
        return [m["state"] for m in widget.comm.sent if m.get("method") == "update"]

    def customs(self, widget: Any) -> list[Any]:
        return [m["content"] for m in widget.comm.sent if m.get("method") == "custom"]

    def page_state(self, widget: Any) -> dict[str, Any]:
        """What the page holds for *widget*: the opening state plus every update since."""
        state = dict(widget.comm.opened)
        for update in self.updates(widget):
            state.update(update)
        return state

    def _deliver(self, widget: Any, data: dict[str, Any]) -> None:
        widget.comm.handle_msg(
            {"content": {"comm_id": widget.comm.comm_id, "data": data}, "buffers": []}
        )

    def action(self, widget: Any, **content: Any) -> None:
        """A custom message from the page (what the canvas's ``model.send`` does)."""
        self._deliver(widget, {"method": "custom", "content": content})

    def update(self, widget: Any, **state: Any) -> None:
        """The user changed a control: the page sends its new state."""
        self._deliver(widget, {"method": "update", "state": state, "buffer_paths": []})

    def click(self, button: Any) -> None:
        """The user clicked an ipywidgets Button."""
        self._deliver(button, {"method": "custom", "content": {"event": "click"}})


@pytest.fixture
def frontend(monkeypatch: pytest.MonkeyPatch) -> Frontend:
    import comm

    class Recording(comm.DummyComm):  # type: ignore[misc]
        def __init__(self, *args: Any, data: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, data=data, **kwargs)
            self.opened = dict((data or {}).get("state", {}))
            self.sent: list[dict[str, Any]] = []
            self.threads: set[str] = (
                set()
            )  # where the kernel sent from: widgets are not thread-safe

        def publish_msg(
            self,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            if msg_type == "comm_msg" and isinstance(data, dict):
                self.sent.append(data)
                self.threads.add(threading.current_thread().name)

    monkeypatch.setattr(comm, "create_comm", Recording)
    return Frontend()


@pytest.fixture
def flow() -> Any:
    from flowbuilder.examples import support_line

    return support_line()


@pytest.fixture
def builder(flow: Any, frontend: Frontend) -> Iterator[Any]:
    """A Builder of *flow* whose widgets talk to the recording :func:`frontend`."""
    from flowbuilder.ui import Builder

    b = Builder(flow)
    yield b
    b.close()
