"""Exported Python modules: readable, deterministic, ruff-clean, lossless, and injection-proof."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from flowbuilder.errors import ExportError
from flowbuilder.examples import support_line
from flowbuilder.export import export_python, load_module
from flowbuilder.export.python import PUBLIC_NAMES, flow_data, literal_lines, to_python
from flowbuilder.flow import Flow

sys.path.insert(0, str(Path(__file__).parent))
from export_strategies import hostile_flows

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


def ruff_problems_in(path: Path) -> str:
    """What `ruff check` and `ruff format --check` say about *path* under the repo's config."""
    out = []
    for cmd in (["check", "--no-cache"], ["format", "--check", "--diff", "--no-cache"]):
        proc = subprocess.run(
            [str(RUFF), *cmd, "--config", str(ROOT / "pyproject.toml"), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            out.append(proc.stdout + proc.stderr)
    return "\n".join(out)


def ruff_problems(source: str, tmp_path: Path, name: str = "exported.py") -> str:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return ruff_problems_in(path)


def load_source(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "exported_flow"}
    exec(compile(source, "exported_flow.py", "exec"), namespace)
    return namespace


def public_names(namespace: dict[str, Any]) -> set[str]:
    return {n for n in namespace if not n.startswith("_")}


def shape(source: str) -> list[str]:
    """The module's statements with the data and docstring blanked: what code it holds."""
    tree = ast.parse(source)
    out = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            out.append("docstring")
        elif isinstance(stmt, ast.AnnAssign) and getattr(stmt.target, "id", "") == "FLOW":
            out.append(f"FLOW: {ast.unparse(stmt.annotation)} = <data>")
        else:
            out.append(ast.dump(stmt))
    return out


def flow_value(source: str) -> Any:
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.AnnAssign) and getattr(stmt.target, "id", "") == "FLOW":
            assert stmt.value is not None
            return ast.literal_eval(stmt.value)  # pure data: literal_eval refuses any code
    raise AssertionError("no FLOW")


# -- the support line ----------------------------------------------------------------------------


def test_module_reads_like_documentation() -> None:
    source = to_python(support_line())
    doc = ast.get_docstring(ast.parse(source))
    assert doc is not None
    assert doc.startswith("Call flow support_line.")
    assert "Acme's support line: sales, support, operator." in doc
    assert "python support_line.py --port 8080" in doc
    # the node table: id, kind, label, outcomes -> targets
    assert "main_menu      menu       Main menu          sales -> sales" in doc
    assert "operator -> operator" in doc
    assert "end            hangup     Hang up            (ends the call)" in doc
    # the Mermaid diagram
    assert "flowchart LR" in doc
    assert 'main_menu -->|"sales"| sales' in doc
    # plain data, not a JSON blob
    assert '"prompt": "Welcome to Acme.",' in source or '"prompt": "Welcome to Acme."' in source
    assert "json.loads" not in source


def test_round_trip_keeps_everything_including_layout(tmp_path: Path) -> None:
    flow = support_line()
    path = export_python(flow, tmp_path / "support_line.py")
    back = load_module(path)
    assert back == flow
    assert back.positions() == flow.positions()
    assert back.settings == flow.settings
    assert back.description == flow.description


def test_make_flow_gives_independent_copies() -> None:
    namespace = load_source(to_python(support_line()))
    a, b = namespace["make_flow"](), namespace["make_flow"]()
    a.params("main_menu")["options"].append({"digits": "9", "outcome": "x"})
    a.set_label("welcome", "changed")
    assert b == support_line()
    assert namespace["make_flow"]() == support_line()


def test_output_is_deterministic_across_equal_flows() -> None:
    flow = support_line()
    reloaded = Flow.from_json(flow.to_json())  # same flow, keys in another order
    assert to_python(reloaded) == to_python(flow)
    assert to_python(flow).encode() == to_python(support_line()).encode()


def test_generated_module_is_ruff_clean(tmp_path: Path) -> None:
    assert ruff_problems(to_python(support_line()), tmp_path) == ""


def test_module_defines_only_what_the_exporter_writes() -> None:
    namespace = load_source(to_python(support_line()))
    assert public_names(namespace) == set(PUBLIC_NAMES)
    assert namespace["__all__"] == ["FLOW", "main", "make_app", "make_flow"]


def test_python_nodes_are_import_paths_never_pickles() -> None:
    flow = (
        Flow("lookup")
        .add("who", "python", function="flowbuilder.examples:lookup_customer", outcomes=["known"])
        .add("bye", "hangup")
    )
    flow.connect("who", "bye", "known")
    source = to_python(flow)
    assert '"function": "flowbuilder.examples:lookup_customer"' in source
    assert "pickle" not in source
    assert "marshal" not in source
    assert "flowbuilder.examples:lookup_customer" in (ast.get_docstring(ast.parse(source)) or "")
    assert load_source(source)["make_flow"]() == flow


def test_from_module_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such file"):
        load_module(tmp_path / "missing.py")
    broken = tmp_path / "broken.py"
    broken.write_text("def make_flow(:\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"broken\.py:1: cannot import"):
        load_module(broken)
    other = tmp_path / "other.py"
    other.write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"defines no make_flow\(\), FLOW or flow"):
        load_module(other)
    by_hand = tmp_path / "by_hand.py"
    by_hand.write_text(
        "from flowbuilder.flow import Flow\n\n"
        "flow = Flow('hand').add('hi', 'play', prompt='Hi').add('bye', 'hangup')\n"
        "flow.connect('hi', 'bye')\n",
        encoding="utf-8",
    )
    assert load_module(by_hand).name == "hand"
    as_data = tmp_path / "as_data.py"
    as_data.write_text(f"FLOW = {support_line().to_dict()!r}\n", encoding="utf-8")
    assert load_module(as_data) == support_line()
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def make_flow():\n    return 42\n", encoding="utf-8")
    with pytest.raises(ExportError, match="returned int, not a Flow"):
        load_module(wrong)
    bad_data = tmp_path / "bad_data.py"
    bad_data.write_text(
        "from flowbuilder.flow import Flow\n\ndef make_flow():\n"
        "    return Flow.from_dict({'schema': 99})\n",
        encoding="utf-8",
    )
    with pytest.raises(ExportError, match=r"bad_data\.py: .*unsupported schema 99"):
        load_module(bad_data)


def test_values_that_are_not_json_data_are_refused() -> None:
    flow = Flow("x").add("hi", "play", prompt="Hi")
    flow.graph.nodes["hi"]["params"]["prompt"] = {1, 2}
    with pytest.raises(ExportError, match=r"prompt.*set"):
        to_python(flow)
    flow.graph.nodes["hi"]["params"]["prompt"] = float("nan")
    with pytest.raises(ExportError, match="not a finite number"):
        to_python(flow)


def test_long_strings_are_split_and_join_back() -> None:
    text = "word " * 60 + "x" * 150
    lines = literal_lines({"prompt": text}, indent=1, prefix='"p": ', suffix=",")
    assert all(len(line) <= 100 for line in lines)
    assert ast.literal_eval("\n".join(lines).strip().removeprefix('"p": ').rstrip(",")) == {
        "prompt": text
    }


# -- hostile text ----------------------------------------------------------------------------------

BASELINE_SHAPE = shape(to_python(support_line()))


def test_hostile_text_stays_data(tmp_path: Path) -> None:
    sources: list[str] = []

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(flow=hostile_flows())
    def check(flow: Flow) -> None:
        source = to_python(flow)
        # it compiles, and holds exactly the statements every export holds: text is only data
        assert shape(source) == BASELINE_SHAPE
        assert flow_value(source) == flow_data(flow)
        namespace = load_source(source)
        assert public_names(namespace) == set(PUBLIC_NAMES)
        assert str(namespace["__doc__"]).startswith("Call flow")
        # lossless, deterministic
        assert namespace["make_flow"]() == flow
        assert to_python(namespace["make_flow"]()) == source
        # no raw control or invisible character anywhere in the file
        assert all(c == "\n" or c.isprintable() for c in source), "an invisible char was written"
        sources.append(source)

    check()
    # ruff, once over every module written (a run per example would be slow)
    for i, source in enumerate(sources):
        (tmp_path / f"hostile_{i}.py").write_text(source, encoding="utf-8")
    assert len(sources) >= 10
    assert ruff_problems_in(tmp_path) == ""


@pytest.mark.parametrize(
    "text",
    ['"""', 'ends with a quote"', "ends with a backslash\\", '""""""', '"""\nimport os\n"""'],
)
def test_docstring_cannot_be_closed_by_a_label(text: str, tmp_path: Path) -> None:
    flow = Flow("x", description=text).add("hi", "play", label=text, prompt=text)
    source = to_python(flow)
    assert shape(source) == BASELINE_SHAPE
    doc = ast.get_docstring(ast.parse(source), clean=False) or ""
    assert "Call flow x" in doc
    assert load_source(source)["make_flow"]() == flow
    assert ruff_problems(source, tmp_path) == ""


def test_module_needs_no_notebook_packages(tmp_path: Path) -> None:
    """With ipywidgets, anywidget and IPython unimportable, the module loads, compiles, runs."""
    path = export_python(support_line(), tmp_path / "support_line.py")
    script = textwrap.dedent(
        f"""
        import sys
        for name in ("ipywidgets", "anywidget", "IPython", "traitlets"):
            sys.modules[name] = None  # any import of it raises ImportError
        from flowbuilder.export import load_module
        from flowbuilder.simulate import simulate
        flow = load_module({str(path)!r})
        print(simulate(flow, press=["2"]).path)
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("ipywidgets", "anywidget")
                        and sys.modules[m] is not None)
        print("leaked", leaked)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "['welcome', 'main_menu', 'support', 'thanks', 'end']" in proc.stdout
    assert "leaked []" in proc.stdout


def test_export_python_makes_missing_folders(tmp_path: Path) -> None:
    """As ``Flow.save`` does: the README's ``export_python(flow, "exports/hello.py")`` works in a
    fresh folder."""
    path = export_python(support_line(), tmp_path / "exports" / "nested" / "support_line.py")
    assert load_module(path) == support_line()
