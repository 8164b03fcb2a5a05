"""The package's surface: the public names, and what importing it costs.

The pure core and the command line's parser must not load tornado, httpx or ipywidgets (each
costs tens to hundreds of milliseconds, and exported flows run without the notebook packages);
the names that need them are imported on first use. Each check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import flowbuilder as fb

HEAVY = ("tornado", "httpx", "ipywidgets")
ROOT = Path(__file__).resolve().parents[1]


def loaded_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running *code*."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import flowbuilder.engine",
        "import flowbuilder",
        "import flowbuilder as fb; fb.simulate(fb.Flow('x').add('hi', 'play', prompt='Hi'))",
    ],
)
def test_the_core_loads_no_heavy_package(code: str) -> None:
    assert loaded_after(code) == []


def test_the_cli_parser_loads_neither_tornado_nor_ipywidgets() -> None:
    # httpx comes with the sandbox options (flowbuilder.sandbox.calls defines the clocks)
    loaded = loaded_after("from flowbuilder.cli import build_parser; build_parser()")
    assert "tornado" not in loaded
    assert "ipywidgets" not in loaded


def test_the_heavy_names_load_on_first_use() -> None:
    assert loaded_after("from flowbuilder import serve, Sandbox") == ["tornado", "httpx"]
    assert loaded_after("from flowbuilder import CallrClient") == ["httpx"]
    assert "ipywidgets" in loaded_after("import flowbuilder as fb; fb.Builder")


def test_every_public_name_resolves_and_all_is_sorted() -> None:
    assert fb.__all__ == sorted(fb.__all__)
    for name in fb.__all__:
        assert getattr(fb, name) is not None, name
        assert name in dir(fb), name  # tab completion offers the lazy ones too
    namespace: dict[str, object] = {}
    exec("from flowbuilder import *", namespace)
    assert {k for k in namespace if not k.startswith("__")} == set(fb.__all__)
    from flowbuilder.sandbox import Sandbox
    from flowbuilder.server import serve

    assert fb.serve is serve
    assert fb.Sandbox is Sandbox
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = fb.nope  # type: ignore[attr-defined]


@pytest.mark.slow
def test_serving_needs_no_notebook_package(tmp_path: Path) -> None:
    """``pip install flowbuilder`` pulls no IPython, ipywidgets or anywidget (a server or an
    exported module needs none of them); the ``jupyter`` extra, which ``make lab`` and
    ``make test`` install, does."""
    wheel = pytest.importorskip("hatchling.builders.wheel")
    built = next(
        wheel.WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    )
    metadata = next(
        zipfile.ZipFile(built).read(name).decode()
        for name in zipfile.ZipFile(built).namelist()
        if name.endswith(".dist-info/METADATA")
    )
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    core = [r for r in requires if "extra ==" not in r]
    jupyter = [r for r in requires if "extra == 'jupyter'" in r or 'extra == "jupyter"' in r]
    notebook = ("ipywidgets", "anywidget", "ipython", "jupyter")
    assert not [r for r in core if r.lower().startswith(notebook)], core
    assert {r.split(">")[0].split(";")[0].strip() for r in jupyter} == {"ipywidgets", "anywidget"}


def test_the_builder_without_the_jupyter_extra_says_how_to_install_it() -> None:
    # sys.modules[name] = None makes the import fail as if the package were not installed
    probe = (
        "import sys; sys.modules['anywidget'] = None\n"
        "import flowbuilder as fb\n"
        "try:\n    fb.Builder\nexcept ImportError as error:\n    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'flowbuilder[jupyter]'" in done.stdout
    assert "anywidget" in done.stdout


@pytest.mark.parametrize(
    "first",
    ["import flowbuilder.validate, flowbuilder.simulate", "fb.compile(flow)", "fb.simulate(flow)"],
)
def test_validate_and_simulate_stay_functions_whatever_was_imported_first(first: str) -> None:
    # each shares its name with the module defining it, which the package imports on first use
    probe = (
        "import flowbuilder as fb\n"
        "flow = fb.Flow('f').add('hi', 'play', prompt='Hi').add('end', 'hangup')"
        ".connect('hi', 'end')\n"
        f"{first}\n"
        "from flowbuilder import simulate, validate\n"
        "print(fb.validate(flow), validate(flow), fb.simulate(flow).heard, simulate(flow).heard)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "[] [] ['Hi'] ['Hi']", done.stderr


def test_tab_completion_shows_the_public_names_only() -> None:
    assert [name for name in dir(fb) if not name.startswith("__")] == fb.__all__
