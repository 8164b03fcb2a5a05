"""The command line end to end: ``python -m flowbuilder ...`` in a subprocess, as users run it."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flowbuilder.examples import support_line
from flowbuilder.export import export_python, load_module
from flowbuilder.export.mermaid import to_mermaid
from flowbuilder.export.python import to_python
from flowbuilder.flow import Flow

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "exports" / "support_line.scenarios.json"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowbuilder", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
        cwd=cwd,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The process failed with *code* and said why in one line, without a traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("flows")
    flow = support_line()
    changed = support_line().set_label("welcome", "Hello").connect("main_menu", "end", "timeout")
    unknown = flow.to_dict()
    unknown["nodes"]["welcome"]["kind"] = "teleport"
    files = {
        "json": flow.save(folder / "support_line.json"),
        "py": export_python(flow, folder / "support_line.py"),
        "changed": changed.save(folder / "changed.json"),
        "unknown": folder / "unknown.json",
        "bad_json": folder / "bad.json",
        "schema": folder / "schema.json",
        "not_flow": folder / "list.json",
        "txt": folder / "flow.txt",
        "raises": folder / "raises.py",
        "warnings": Flow("w").add("hi", "play", prompt="Hi {who}").save(folder / "warn.json"),
    }
    files["unknown"].write_text(json.dumps(unknown), encoding="utf-8")
    files["bad_json"].write_text('{"schema": 1,', encoding="utf-8")
    files["schema"].write_text('{"schema": 7, "nodes": {}}', encoding="utf-8")
    files["not_flow"].write_text("[1, 2]", encoding="utf-8")
    files["txt"].write_text("hello", encoding="utf-8")
    files["raises"].write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    return files


# -- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["json", "py"])
def test_export_to_stdout_in_every_format(saved: dict[str, Path], source: str) -> None:
    flow = support_line()
    py = run("export", saved[source], "--to", "py")
    assert py.returncode == 0, py.stderr
    assert py.stdout == to_python(flow)
    assert run("export", saved[source], "--to", "json").stdout == flow.to_json()
    assert run("export", saved[source], "--to", "mermaid").stdout == to_mermaid(flow)
    svg = run("export", saved[source], "--to", "svg", "--highlight", "main_menu").stdout
    assert ET.fromstring(svg).tag.endswith("svg")


def test_export_to_a_file_round_trips(saved: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "exported.py"
    proc = run("export", saved["json"], "--to", "py", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert load_module(out) == support_line()
    back = tmp_path / "back.json"
    assert run("export", out, "--to", "json", "-o", back).returncode == 0
    assert Flow.load(back) == support_line()


def test_export_svg_with_a_path(saved: dict[str, Path]) -> None:
    proc = run("export", saved["json"], "--to", "svg", "--path", "welcome,main_menu,sales")
    assert proc.returncode == 0, proc.stderr
    hot = [e for e in ET.fromstring(proc.stdout).iter() if e.get("stroke") == "#d62728"]
    assert hot


def test_export_errors(saved: dict[str, Path], tmp_path: Path) -> None:
    assert "no node 'nowhere'" in one_line_error(
        run("export", saved["json"], "--to", "svg", "--highlight", "nowhere")
    )
    assert "cannot write" in one_line_error(
        run("export", saved["json"], "--to", "py", "-o", tmp_path / "no" / "dir" / "x.py")
    )
    usage = run("export", saved["json"], "--to", "pdf")
    assert usage.returncode == 2
    assert "invalid choice: 'pdf'" in usage.stderr
    assert "Traceback" not in usage.stderr


def test_export_of_a_flow_with_errors(tmp_path: Path) -> None:
    """A module of a flow with errors could not serve: ``--to py`` writes nothing and lists the
    errors, unless --force; JSON and diagrams of a draft are written, with the same warning."""
    data = json.loads(support_line().to_json())
    data["nodes"]["sales"]["kind"] = "dail"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "bad.py"
    refused = run("export", bad, "--to", "py", "-o", out)
    assert refused.returncode == 1
    assert not out.exists()
    assert "1 error, nothing is written" in refused.stderr
    assert "unknown node kind 'dail'" in refused.stderr
    assert "Traceback" not in refused.stderr
    stdout = run("export", bad, "--to", "py")
    assert (stdout.returncode, stdout.stdout) == (1, "")
    forced = run("export", bad, "--to", "py", "-o", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.exists()
    assert "warning: written with 1 error" in forced.stderr
    for fmt in ("json", "mermaid", "svg"):
        draft = run("export", bad, "--to", fmt)
        assert draft.returncode == 0, draft.stderr
        assert draft.stdout
        assert "warning: written with 1 error" in draft.stderr


def test_export_to_a_file_says_so(saved: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "flow.json"
    proc = run("export", saved["json"], "--to", "json", "-o", out)
    assert proc.returncode == 0
    assert proc.stderr.strip() == f"flowbuilder export: wrote {out}"


# -- bad files, for every command ---------------------------------------------------------------

BAD_FILES = [
    ("missing", "cannot read: No such file or directory"),
    ("bad_json", "not valid JSON"),
    ("schema", "unsupported schema 7"),
    ("not_flow", "a flow must be a JSON object"),
    ("txt", "give a saved flow (.json) or an exported module (.py)"),
    ("raises", "cannot import: RuntimeError: boom"),
]


COMMANDS = [
    ("export", "{}", "--to", "json"),
    ("validate", "{}"),
    ("simulate", "{}", "--press", "1"),
    ("test", "{}", str(SCENARIOS)),
    ("serve", "{}", "--port", "0"),  # a bad file stops it before it listens
]
# every bad file for one command, two bad files for every command: each reads flows the same way
CASES = [(*bad, COMMANDS[1]) for bad in BAD_FILES] + [
    (*bad, command)
    for bad in (BAD_FILES[1], BAD_FILES[5])
    for command in COMMANDS
    if command[0] != "validate"
]


@pytest.mark.parametrize(("name", "message", "command"), CASES)
def test_bad_files_give_one_line(
    saved: dict[str, Path], tmp_path: Path, name: str, message: str, command: tuple[str, ...]
) -> None:
    path = saved.get(name, tmp_path / "missing.json")
    code = 2 if command[0] == "test" else 1  # test: 1 means a scenario failed
    line = one_line_error(run(*(arg.format(path) for arg in command)), code)
    assert line.startswith(f"flowbuilder {command[0]}: ")
    assert str(path) in line
    assert message in line


def test_unknown_kind(saved: dict[str, Path]) -> None:
    proc = run("validate", saved["unknown"])
    assert proc.returncode == 1
    assert f"{saved['unknown']}: error: welcome.kind: unknown node kind 'teleport'" in proc.stdout
    line = one_line_error(run("simulate", saved["unknown"]))
    assert "welcome.kind: unknown node kind 'teleport'" in line


# -- validate -----------------------------------------------------------------------------------


def test_validate(saved: dict[str, Path]) -> None:
    ok = run("validate", saved["py"])
    assert ok.returncode == 0
    assert ok.stdout == f"{saved['py']}: valid (0 errors, 0 warnings)\n"
    warned = run("validate", saved["warnings"])
    assert warned.returncode == 0  # warnings never fail
    lines = warned.stdout.splitlines()
    assert f"{saved['warnings']}: warning: hi.prompt: uses {{who}} but no node sets it" in lines[1]
    assert lines[-1] == f"{saved['warnings']}: valid (0 errors, 2 warnings)"
    as_json = json.loads(run("validate", saved["warnings"], "--json").stdout)
    assert {(i["node_id"], i["field"]) for i in as_json} == {("hi", "next"), ("hi", "prompt")}


# -- diff ---------------------------------------------------------------------------------------


def test_diff_exit_codes_like_diff(saved: dict[str, Path], tmp_path: Path) -> None:
    same = run("diff", saved["json"], saved["py"])
    assert (same.returncode, same.stdout) == (0, "no changes\n")
    changed = run("diff", saved["json"], saved["changed"])
    assert changed.returncode == 1
    assert changed.stdout.splitlines() == [
        "~ welcome.label: 'Welcome' -> 'Hello'",
        "~ edge main_menu --timeout--> goodbye => end",
    ]
    trouble = run("diff", saved["json"], tmp_path / "missing.json")
    assert "cannot read" in one_line_error(trouble, code=2)


# -- simulate -----------------------------------------------------------------------------------


def test_simulate(saved: dict[str, Path]) -> None:
    proc = run("simulate", saved["py"], "--press", "7", "--silence", "--press", "2")
    assert proc.returncode == 0, proc.stderr
    assert "⌨ 7" in proc.stdout
    assert "… no key pressed" in proc.stdout
    assert "path: welcome → main_menu → support → thanks → end" in proc.stdout
    assert "status: completed" in proc.stdout


def test_simulate_json_dial_and_caller(saved: dict[str, Path]) -> None:
    proc = run(
        "simulate",
        saved["json"],
        "--press",
        "0",
        "--dial",
        "BUSY",
        "--caller",
        "+33700000001",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["path"] == [
        "welcome",
        "main_menu",
        "operator",
        "operator_busy",
        "support",
        "thanks",
        "end",
    ]
    assert data["dialed"] == [["+33198765432", "BUSY"]]
    assert data["setup"]["cli_number"] == "+33700000001"


def test_simulate_bad_script(saved: dict[str, Path]) -> None:
    assert "presses[0] must be digits" in one_line_error(
        run("simulate", saved["json"], "--press", "x")
    )
    assert "dial[0] must be one of" in one_line_error(
        run("simulate", saved["json"], "--dial", "MAYBE")
    )


# -- test ---------------------------------------------------------------------------------------


def test_test_command(saved: dict[str, Path], tmp_path: Path) -> None:
    passed = run("test", saved["py"], SCENARIOS)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    lines = passed.stdout.splitlines()
    assert lines[0] == "PASSED sales answers"
    assert lines[-1] == "7 passed, 0 failed"
    failed = run("test", saved["changed"], SCENARIOS)
    assert failed.returncode == 1
    assert "FAILED silence twice" in failed.stdout
    assert "    path: expected welcome -> main_menu -> goodbye -> end, got " in failed.stdout
    assert failed.stdout.splitlines()[-1] == "6 passed, 1 failed"
    only = run("test", saved["json"], SCENARIOS, "-k", "busy")
    assert only.stdout.splitlines() == ["PASSED operator busy, so a message", "1 passed, 0 failed"]
    assert "no scenario name contains 'zzz'" in one_line_error(
        run("test", saved["json"], SCENARIOS, "-k", "zzz"), 2
    )
    bad = tmp_path / "bad.scenarios.json"
    bad.write_text('[{"name": "x", "expect": {"heard": "Welcome"}}]', encoding="utf-8")
    assert "[0] (x).expect.heard: must be a list of texts" in one_line_error(
        run("test", saved["json"], bad), 2
    )
    assert "cannot read" in one_line_error(run("test", saved["json"], tmp_path / "none.json"), 2)


def test_test_exit_codes_tell_failures_from_bad_input(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    # 1: the scenarios ran and one failed; 2: they could not run at all
    assert run("test", saved["changed"], SCENARIOS).returncode == 1
    naive = tmp_path / "naive.scenarios.json"
    naive.write_text(
        '[{"name": "closed on Saturday", "at": "2026-03-28 10:00", "expect": {"path": []}}]',
        encoding="utf-8",
    )
    line = one_line_error(run("test", saved["json"], naive), 2)
    assert line.startswith("flowbuilder test: ")
    assert "[0] (closed on Saturday).at: '2026-03-28 10:00' has no time zone" in line
    for broken_flow in ("bad_json", "unknown", "raises"):
        one_line_error(run("test", saved[broken_flow], SCENARIOS), 2)
    invalid = Flow("empty").save(tmp_path / "empty.json")  # loads, but cannot compile
    assert "the flow is empty" in one_line_error(run("test", invalid, SCENARIOS), 2)


def test_simulate_at_a_moment(saved: dict[str, Path], tmp_path: Path) -> None:
    from flowbuilder.examples import front_desk

    desk = front_desk().save(tmp_path / "front_desk.json")
    saturday = run("simulate", desk, "--at", "2026-03-28T10:00[Europe/Paris]", "--json")
    friday = run("simulate", desk, "--at", "2026-03-27T10:00+01:00", "--json")
    assert saturday.returncode == friday.returncode == 0, saturday.stderr + friday.stderr
    assert json.loads(saturday.stdout)["setup"]["date_started"] == "2026-03-28 09:00:00"
    assert "closed" in json.loads(saturday.stdout)["path"]
    assert "desk" in json.loads(friday.stdout)["path"]
    text = run("simulate", desk, "--at", "2026-03-28T10:00[Europe/Paris]").stdout
    assert text.splitlines()[0].endswith("started 2026-03-28 09:00:00 UTC")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-03-28 10:00", "has no time zone"),
        ("2026-03-29T02:30[Europe/Paris]", "does not exist in Europe/Paris"),
        ("soon", "is not a date and time"),
    ],
)
def test_simulate_refuses_a_bad_at(saved: dict[str, Path], value: str, message: str) -> None:
    proc = run("simulate", saved["json"], "--at", value)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # argparse's way: usage, then the error
    assert last.startswith("flowbuilder simulate: error: argument --at: ")
    assert message in last


def test_help_lists_the_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("export", "validate", "diff", "simulate", "test"):
        assert command in proc.stdout


@pytest.mark.parametrize(
    "args",
    [["demo"], ["test", "exports/support_line.json", "exports/support_line.scenarios.json"]],
)
def test_a_reader_that_leaves_early_gets_no_traceback(args: list[str]) -> None:
    """``flowbuilder demo | head -1``: the pipe closes before the output is written."""
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "flowbuilder", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=root,
    )
    assert process.stdout is not None
    process.stdout.close()  # long before the first line: importing flowbuilder takes longer
    _, err = process.communicate(timeout=60)
    assert err == b""
    assert process.returncode == 141  # as a shell reports SIGPIPE: not "a scenario failed"


def test_a_flow_test_cannot_run_names_the_file_and_suggests_the_kind(tmp_path: Path) -> None:
    data = support_line().to_dict()
    data["nodes"]["welcome"]["kind"] = "plya"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(data))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowbuilder",
            "test",
            str(path),
            "exports/support_line.scenarios.json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"flowbuilder test: {path}: error: welcome.kind: unknown node kind 'plya'; replace the "
        "node with a registered kind (did you mean 'play'?)\n"
    )


def test_the_demo_speaks_to_people() -> None:
    done = run("demo")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "The sample support line: 9 nodes, calls start at 'welcome'."
    assert "## caller presses 1 for sales; the sales team answers" in lines


def test_simulate_says_which_presses_the_call_never_asked_for(saved: dict[str, Path]) -> None:
    done = run("simulate", saved["json"], "--press", "2", "--press", "9", "--press", "5")
    assert done.returncode == 0
    assert done.stderr == "note: the call asked for keys 1 time(s); not used: 9 5\n"
    exact = run("simulate", saved["json"], "--press", "2")
    assert exact.stderr == ""
