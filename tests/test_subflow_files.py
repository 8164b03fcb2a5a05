"""Subflows travel with their flow: in its file (embedded, or a path next to it), in exported
modules, and through every CLI command (issue: `validate` said "valid", then `serve`, `simulate`,
`test` and the exported module all failed with "unknown subflow")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import flowbuilder as fb
from flowbuilder.callr import wire
from flowbuilder.errors import FlowError, FlowValidationError
from flowbuilder.phone import CallSetup, Script, SimulatedCall


def faq() -> fb.Flow:
    return (
        fb.Flow("faq")
        .add(
            "ask",
            "menu",
            prompt="Press 1 for hours.",
            options=[{"outcome": "hours", "digits": "1"}],
        )
        .add("hours", "play", prompt="We are open nine to five.")
        .connect("ask", "hours", "hours")
    )


def main() -> fb.Flow:
    return (
        fb.Flow("clinic")
        .add("hello", "play", prompt="Welcome to the clinic.")
        .add("faq", "subflow", flow="faq")
        .add("bye", "play", prompt="Goodbye.")
        .add("end", "hangup")
        .connect("hello", "faq")
        .connect("faq", "bye")
        .connect("bye", "end")
        .use(faq())
    )


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowbuilder", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


HEARD = ["Welcome to the clinic.", "Press 1 for hours.", "We are open nine to five.", "Goodbye."]


def test_an_embedded_subflow_is_saved_and_loaded_with_its_flow(tmp_path: Path) -> None:
    path = main().save(tmp_path / "clinic.json")
    data = json.loads(path.read_text())
    assert data["subflows"]["faq"]["nodes"]["ask"]["kind"] == "menu"
    back = fb.Flow.load(path)
    assert back == main()
    assert sorted(back.subflows) == ["faq"]
    assert fb.simulate(back, press=["1"]).heard == HEARD


@pytest.mark.parametrize("command", ["validate", "simulate", "test", "export"])
def test_every_cli_command_runs_a_flow_file_with_its_subflow(tmp_path: Path, command: str) -> None:
    path = main().save(tmp_path / "clinic.json")
    if command == "validate":
        done = cli("validate", path)
        assert "valid" in done.stdout, done.stderr
    elif command == "simulate":
        done = cli("simulate", path, "--press", "1")
        assert "We are open nine to five." in done.stdout, done.stderr
        assert "faq/hours" in done.stdout
    elif command == "test":
        scenarios = tmp_path / "clinic.scenarios.json"
        scenario = {"name": "hours", "script": {"presses": ["1"]}, "expect": {"heard": HEARD}}
        scenarios.write_text(json.dumps([scenario]))
        done = cli("test", path, scenarios)
    else:
        done = cli("export", path, "--to", "py", "-o", tmp_path / "clinic.py")
        assert done.returncode == 0, done.stderr
        done = cli("simulate", tmp_path / "clinic.py", "--press", "1")
        assert "We are open nine to five." in done.stdout
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "unknown subflow" not in done.stdout + done.stderr


def test_an_exported_module_carries_its_subflow(tmp_path: Path) -> None:
    module = fb.export_python(main(), tmp_path / "clinic.py")
    assert '"subflows"' in module.read_text()
    assert fb.load(module) == main()
    assert fb.simulate(fb.load(module), press=["1"]).heard == HEARD


def test_flowbuilder_serve_answers_a_call_through_the_subflow(tmp_path: Path) -> None:
    path = main().save(tmp_path / "clinic.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowbuilder", "serve", str(path), "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for _ in range(10):
            line = proc.stdout.readline()
            if line.startswith("URL for CALLR: "):
                url = line.split(": ", 1)[1].strip()
                break
        assert url, proc.stderr.read() if proc.stderr else ""
        setup = CallSetup(app="4346423A", callid=770_001, number="+33900000000")
        call = SimulatedCall(setup, Script(presses=["1"]))
        post = call.start()
        with httpx.Client(timeout=5) as client:
            while post is not None and not post.final:
                body = wire.render_callback(post.callback)
                answer = client.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
                assert answer.status_code == 200, answer.text
                post = call.on_answer(wire.parse_answer(answer.content))
        assert call.transcript.heard == HEARD
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_a_subflow_in_a_file_of_its_own_stays_there(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    faq().save(tmp_path / "shared" / "faq.json")
    data = main().to_dict()
    data["subflows"] = {"faq": "shared/faq.json"}
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(data))

    flow = fb.Flow.load(path)
    assert flow.subflow_refs == {"faq": "shared/faq.json"}
    assert fb.simulate(flow, press=["1"]).heard == HEARD
    flow.save(path)  # written back as the reference, not a copy
    assert json.loads(path.read_text())["subflows"] == {"faq": "shared/faq.json"}
    (tmp_path / "elsewhere").mkdir()
    moved = flow.save(tmp_path / "elsewhere" / "clinic.json")  # the path follows the file
    assert json.loads(moved.read_text())["subflows"] == {"faq": "../shared/faq.json"}
    assert fb.simulate(fb.Flow.load(moved), press=["1"]).heard == HEARD
    assert cli("simulate", moved, "--press", "1").returncode == 0


def test_broken_subflow_files_are_one_clear_error(tmp_path: Path) -> None:
    data = main().to_dict()
    data["subflows"] = {"faq": "missing.json"}
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(FlowError, match=r"a\.json: subflow 'faq': .*missing\.json: cannot read"):
        fb.Flow.load(tmp_path / "a.json")
    done = cli("validate", tmp_path / "a.json")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr

    ping = main().to_dict()
    ping["subflows"] = {"faq": "pong.json"}
    pong = faq().to_dict()
    pong["subflows"] = {"again": "ping.json"}
    (tmp_path / "ping.json").write_text(json.dumps(ping))
    (tmp_path / "pong.json").write_text(json.dumps(pong))
    with pytest.raises(FlowError, match="subflow files refer to each other"):
        fb.Flow.load(tmp_path / "ping.json")

    with pytest.raises(FlowError, match="was not read from a file: embed it"):
        fb.Flow.from_dict({**main().to_dict(), "subflows": {"faq": "faq.json"}})


def test_validate_reports_subflow_problems_and_recursion_without_compiling() -> None:
    broken = faq()
    broken.graph.nodes["hours"]["params"]["prompt"] = ""  # as a hand-edited file could hold
    issues = [str(i) for i in fb.validate(main().use(broken))]
    assert "error: faq/hours.prompt: is required: say something" in issues

    loop = fb.Flow("faq").add("again", "subflow", flow="faq")
    issues = [str(i) for i in fb.validate(main().use(loop)) if i.severity == "error"]
    assert any(i.startswith("error: faq/again.flow: subflow 'faq' calls itself") for i in issues)
    with pytest.raises(FlowValidationError):
        fb.compile(main().use(loop))


def test_the_diff_of_two_flows_shows_subflow_changes() -> None:
    changed = main().use(faq().set_params("hours", prompt="Open all day."))
    text = str(main().diff(changed))
    assert "~ subflow faq:" in text
    assert "hours.params.prompt: 'We are open nine to five.' -> 'Open all day.'" in text
