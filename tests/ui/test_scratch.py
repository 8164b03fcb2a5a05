from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.ui.lab import write_notebook, open_notebook, run_all

pytestmark = [pytest.mark.browser]


def test_nb7(notebook7: Any, page: Any, artifacts: Path) -> None:
    errors = []
    page.on("pageerror", lambda e: errors.append(f"{e}"))
    write_notebook(notebook7.root / "s.ipynb", ["import ipywidgets\nipywidgets.IntSlider()"])
    open_notebook(page, notebook7, "s.ipynb", ui="notebook")
    print("ERRORS0", errors)
    run_all(page, "notebook")
    time.sleep(5)
    print("ERRORS", errors)
