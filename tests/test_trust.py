"""Trust: which Python functions a flow may call is the operator's choice, never the flow file's.

A flow built in code is trusted as code is; a flow read from a file (``Flow.load``, ``serve(path)``,
an exported module, the CLI) calls functions only from the modules the operator allows. The
process, OS and import machinery is refused always, however it is reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbuilder import Flow, effect_runner, simulate, validate
from flowbuilder.compiler import compile
from flowbuilder.effects import PythonCall
from flowbuilder.errors import FlowError, FlowValidationError
from flowbuilder.phone import CallSetup, SimulatedCall
from flowbuilder.server import serve
from flowbuilder.trust import TRUSTED, Trust, allow_list

HELPERS = """
import os
from pathlib import Path
from subprocess import run as launch

Path(os.environ["FB_MARKER"]).write_text("helpers was imported")
ENV = os.environ


def greet(*, facts, variables):
    return {"outcome": "next", "variables": {"greeting": "hello from helpers"}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder holding helpers.py (which leaves a marker file when imported) and a flow that
    calls it, on sys.path as a user's project would be."""
    name = f"helpers_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}.py").write_text(HELPERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FB_MARKER", str(tmp_path / "imported.txt"))
    monkeypatch.delenv("FLOWBUILDER_ALLOW", raising=False)
    greeting_flow(f"{name}:greet").save(tmp_path / "shared.json")
    yield tmp_path
    sys.modules.pop(name, None)


def helpers_name(project: Path) -> str:
    return next(p.stem for p in project.glob("helpers_*.py"))


def greeting_flow(function: str) -> Flow:
    return (
        Flow("shared")
        .add("fn", "python", function=function, sets=["greeting"])
        .add("say", "play", prompt="{greeting}")
        .add("oops", "play", prompt="refused: {python_error}")
        .add("bye", "hangup")
        .connect("fn", "say", "next")
        .connect("fn", "oops", "error")
        .connect("fn", "oops", "timeout")
        .connect("say", "bye")
        .connect("oops", "bye")
    )


def imported(project: Path) -> bool:
    return (project / "imported.txt").exists()


# -- the machinery is refused always -------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "os:system",
        "os.path:join",
        "builtins:eval",
        "builtins:__import__",
        "sys:modules.update",
        "subprocess:run",
        "importlib:import_module",
        "shutil:rmtree",
        "ctypes:CDLL",
        "pickle:loads",
        "marshal:loads",
        "socket:create_connection",
        "multiprocessing:Process",
        "runpy:run_path",
        "code:interact",
        "pty:spawn",
        "signal:raise_signal",
        "_posixsubprocess:fork_exec",
        "flowbuilder.server:serve",
    ],
)
def test_the_machinery_is_refused_even_for_code(target: str) -> None:
    flow = greeting_flow(target)

    issues = [i for i in validate(flow) if i.severity == "error"]

    assert [(i.node_id, i.field) for i in issues] == [("fn", "function")]
    assert "never allowed" in issues[0].message or "flowbuilder itself" in issues[0].message
    with pytest.raises(FlowValidationError):
        compile(flow)
    result = effect_runner.perform(PythonCall(target, {}, {}, 1000))
    assert result.error == issues[0].message


def test_attribute_paths_that_reach_the_machinery_are_refused(project: Path) -> None:
    name = helpers_name(project)
    for path, words in [
        ("os.system", "reaches module 'os'"),
        ("launch", "reaches 'subprocess'"),
        ("ENV.copy", "the interpreter's own tables"),
        ("greet.__globals__", "dunder attribute"),
    ]:
        with pytest.raises(ValueError, match=words):
            TRUSTED.resolve(f"{name}:{path}")
    assert TRUSTED.resolve(f"{name}:greet")(facts={}, variables={})["outcome"] == "next"


def test_allowing_the_machinery_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"^allow: 'os' cannot be allowed"):
        allow_list(["os"])
    with pytest.raises(ValueError, match="not a module name"):
        allow_list("crm; rm -rf /")
    assert allow_list(["crm,billing.api", " tools "]) == {"crm", "billing.api", "tools"}


# -- flows from files ----------------------------------------------------------------------------


def test_a_flow_from_a_file_calls_only_allowed_modules(project: Path) -> None:
    name = helpers_name(project)
    loaded = Flow.load(project / "shared.json")

    issues = validate(loaded)

    assert [(i.severity, i.node_id, i.field) for i in issues] == [("error", "fn", "function")]
    assert issues[0].message.startswith(f"module {name!r} is not allowed for a flow from ")
    assert f"--allow {name}" in issues[0].message
    assert not imported(project)  # validating did not import it

    allowed = Flow.load(project / "shared.json", allow=[name])
    assert [i for i in validate(allowed) if i.severity == "error"] == []
    assert simulate(allowed).heard == ["hello from helpers"]
    assert imported(project)


def test_the_same_flow_built_in_code_is_trusted(project: Path) -> None:
    flow = greeting_flow(f"{helpers_name(project)}:greet")

    assert simulate(flow).heard == ["hello from helpers"]


def test_the_environment_variable_allows_too(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWBUILDER_ALLOW", f"crm, {helpers_name(project)}")

    assert simulate(Flow.load(project / "shared.json")).heard == ["hello from helpers"]


def test_a_target_that_does_not_resolve_is_reported_for_a_file(project: Path) -> None:
    name = helpers_name(project)
    greeting_flow(f"{name}:missing").save(project / "typo.json")

    issues = validate(Flow.load(project / "typo.json", allow=[name]))

    assert [(i.severity, i.node_id, i.field) for i in issues] == [("error", "fn", "function")]
    assert issues[0].message == f"does not resolve: {name!r} has no attribute 'missing'"


def test_nothing_in_the_file_can_grant_trust(project: Path) -> None:
    data = json.loads((project / "shared.json").read_text())
    data["settings"]["allow"] = [helpers_name(project)]
    data["trust"] = None
    loaded = Flow.from_dict(data)

    assert not loaded.trust.trusted
    assert [i.field for i in validate(loaded) if i.severity == "error"] == ["function"]
    assert "trust" not in loaded.to_json()
    assert loaded.copy().trust == loaded.trust


def test_the_runtime_refuses_what_the_program_does_not_allow(project: Path) -> None:
    name = helpers_name(project)
    policy = Trust.for_file("shared.json", env={})

    result = effect_runner.perform(PythonCall(f"{name}:greet", {}, {}, 1000, policy))

    assert result.error.startswith(f"module {name!r} is not allowed")
    assert not imported(project)


def test_a_program_keeps_the_trust_of_the_flows_it_is_made_of(project: Path) -> None:
    name = helpers_name(project)
    main = Flow("main").add("sub", "subflow", flow="greeting").add("bye", "hangup")
    main.connect("sub", "bye")
    main.trust = Trust.for_file("main.json", env={})  # as if read from a file
    sub = greeting_flow(f"{name}:greet")  # built in code: trusted, so its function is allowed

    program = compile(main, subflows={"greeting": sub})

    assert program.trust.allowed == {"flowbuilder.examples", name}
    assert simulate(program).heard == ["hello from helpers"]
    # the same subflow from a file, with nothing allowed: refused at compile time
    untrusted = Flow.from_dict(sub.to_dict(), source="greeting.json")
    with pytest.raises(FlowValidationError, match="is not allowed"):
        compile(main, subflows={"greeting": untrusted})


def test_serve_a_path_with_allow(project: Path) -> None:
    name = helpers_name(project)
    with pytest.raises(FlowValidationError, match="is not allowed"):
        serve(project / "shared.json", name="test-trust-refused")
    assert not imported(project)
    setup = CallSetup(app="4346423A", callid=4242, number="+33900000000", cli_number="+336")
    body = SimulatedCall(setup).start().callback.to_json()
    with serve(project / "shared.json", allow=[name], name="test-trust") as handle:
        answer = httpx.post(handle.url, json=body, timeout=10).json()
    assert answer["params"]["media_id"].endswith("|hello from helpers")


def test_a_bad_allow_list_is_a_flow_error() -> None:
    with pytest.raises(FlowError, match="'subprocess' cannot be allowed"):
        Flow.from_dict(greeting_flow("crm:x").to_dict(), allow=["subprocess"])


# -- the command line ----------------------------------------------------------------------------


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("FLOWBUILDER_ALLOW",)}
    environment.update(env or {})
    environment.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "flowbuilder", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_simulate_in_a_folder_holding_helpers_does_not_import_them(project: Path) -> None:
    env = {"FB_MARKER": str(project / "imported.txt")}
    name = helpers_name(project)

    refused = run_cli(project, "simulate", "shared.json", env=env)

    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"flowbuilder simulate: error: fn.function: module '{name}' is not allowed"
    )
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not imported(project)

    allowed = run_cli(project, "simulate", "shared.json", "--allow", name, env=env)

    assert allowed.returncode == 0, allowed.stderr
    assert "hello from helpers" in allowed.stdout
    assert imported(project)


def test_validate_reports_the_refused_target_with_node_and_field(project: Path) -> None:
    greeting_flow("builtins:eval").save(project / "evil.json")

    done = run_cli(project, "validate", "evil.json")

    assert done.returncode == 1
    assert "evil.json: error: fn.function: 'builtins' is never allowed" in done.stdout
    bad_allow = run_cli(project, "validate", "shared.json", "--allow", "os")
    assert bad_allow.returncode == 1
    assert bad_allow.stderr.strip().splitlines() == [
        "flowbuilder validate: shared.json: allow: 'os' cannot be allowed: python nodes never "
        "reach 'os' (process, OS, files, network or import machinery)"
    ]


def _flow_data(function: str) -> dict[str, Any]:
    return greeting_flow(function).to_dict()


def test_an_exported_module_is_a_file_too(project: Path) -> None:
    name = helpers_name(project)
    from flowbuilder.export import export_python, load

    flow = Flow.from_dict(_flow_data(f"{name}:greet"), allow=[name])
    module = export_python(flow, project / "exported.py")

    assert not load(module).trust.trusted
    assert [i.field for i in validate(load(module)) if i.severity == "error"] == ["function"]
    assert [i for i in validate(load(module, allow=[name])) if i.severity == "error"] == []
