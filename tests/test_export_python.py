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
from hypothesis import strategies as st

from flowbuilder.errors import ExportError
from flowbuilder.examples import support_line
from flowbuilder.export.python import PUBLIC_NAMES, flow_data, literal_lines, to_python
from flowbuilder.flow import FLOW_NAME, Flow
from flowbuilder.nodes import kinds

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
    path = flow.export_python(tmp_path / "support_line.py")
    back = Flow.from_module(path)
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
        Flow.from_module(tmp_path / "missing.py")
    broken = tmp_path / "broken.py"
    broken.write_text("def make_flow(:\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"broken\.py:1: cannot import"):
        Flow.from_module(broken)
    other = tmp_path / "other.py"
    other.write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(ExportError, match="has no make_flow"):
        Flow.from_module(other)
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def make_flow():\n    return 42\n", encoding="utf-8")
    with pytest.raises(ExportError, match="returned int, not a Flow"):
        Flow.from_module(wrong)
    bad_data = tmp_path / "bad_data.py"
    bad_data.write_text(
        "from flowbuilder.flow import Flow\n\ndef make_flow():\n"
        "    return Flow.from_dict({'schema': 99})\n",
        encoding="utf-8",
    )
    with pytest.raises(ExportError, match=r"bad_data\.py: .*unsupported schema 99"):
        Flow.from_module(bad_data)


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
    path = support_line().export_python(tmp_path / "support_line.py")
    script = textwrap.dedent(
        f"""
        import sys
        for name in ("ipywidgets", "anywidget", "IPython", "traitlets"):
            sys.modules[name] = None  # any import of it raises ImportError
        from flowbuilder.flow import Flow
        from flowbuilder.simulate import simulate
        flow = Flow.from_module({str(path)!r})
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
