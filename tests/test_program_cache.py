"""A server restarted on the flow file it served before runs the program it compiled then (that
it then starts without the graph library is in test_serve_imports.py), and never runs a program
its files no longer describe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import flowbuilder as fb
from flowbuilder.errors import FlowValidationError
from flowbuilder.examples import dental_clinic
from flowbuilder.server import program_cache
from flowbuilder.server.loading import to_program


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(program_cache.ENV_VAR, str(directory))
    return directory


def greeting(prompt: str, name: str = "greet") -> fb.Flow:
    return fb.Flow(name).add("hi", "play", prompt=prompt).add("bye", "hangup").connect("hi", "bye")


def test_a_restart_runs_the_cached_program_and_answers_the_same(cache: Path, tmp_path: Path):
    path = dental_clinic().save(tmp_path / "clinic.json")  # business hours, menus, a subflow
    first = to_program(path)
    assert len(list(cache.iterdir())) == 1
    again = to_program(path)
    assert again == first
    assert again is not first
    for press in (["1"], ["2", "1"], ["9"]):
        for at in ("2026-12-07T10:00:00+01:00", "2026-12-06T22:00:00+01:00"):
            assert fb.simulate(again, press=press, at=at).heard == (
                fb.simulate(first, press=press, at=at).heard
            )


def test_an_edited_file_is_compiled_again(cache: Path, tmp_path: Path):
    path = greeting("Hello.").save(tmp_path / "greet.json")
    assert fb.simulate(to_program(path)).heard == ["Hello."]
    greeting("Bonjour.").save(path)
    assert fb.simulate(to_program(path)).heard == ["Bonjour."]


def test_an_edited_subflow_file_is_compiled_again(cache: Path, tmp_path: Path):
    greeting("Open nine to five.", "hours").save(tmp_path / "hours.json")
    data = (
        fb.Flow("main").add("go", "subflow", flow="hours").add("end", "hangup").connect("go", "end")
    ).to_dict()
    data["subflows"] = {"hours": "hours.json"}
    path = tmp_path / "main.json"
    path.write_text(json.dumps(data))
    assert fb.simulate(to_program(path)).heard == ["Open nine to five."]
    greeting("Open all day.", "hours").save(tmp_path / "hours.json")
    assert fb.simulate(to_program(path)).heard == ["Open all day."]


def test_the_allow_list_is_part_of_the_entry_never_taken_from_it(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "crm_helpers.py").write_text(
        "def lookup(*, facts, variables):\n    return 'next'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    flow = (
        fb.Flow("crm")
        .add("look", "python", function="crm_helpers:lookup")
        .add("end", "hangup")
        .connect("look", "end", "next", "error", "timeout")
    )
    path = flow.save(tmp_path / "crm.json")
    allowed = to_program(path, allow=["crm_helpers"])
    assert allowed.trust.allowed is not None
    assert "crm_helpers" in allowed.trust.allowed
    with pytest.raises(FlowValidationError, match="crm_helpers"):
        to_program(path)  # the entry written under --allow crm_helpers is not this one
    assert "crm_helpers" in to_program(path, allow=["crm_helpers"]).trust.allowed


def test_a_damaged_entry_is_compiled_again_and_replaced(cache: Path, tmp_path: Path):
    path = greeting("Hello.").save(tmp_path / "greet.json")
    to_program(path)
    (entry,) = cache.iterdir()
    entry.write_text('{"format": 1, "files": {}, "program": {"nodes": 4')
    assert fb.simulate(to_program(path)).heard == ["Hello."]
    assert json.loads(entry.read_text())["program"]["name"] == "greet"


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(program_cache.ENV_VAR, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = greeting("Hello.").save(tmp_path / "greet.json")
    assert fb.simulate(to_program(path)).heard == ["Hello."]
    assert not (tmp_path / "xdg").exists()


def test_an_unwritable_cache_never_stops_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv(program_cache.ENV_VAR, str(blocker / "cache"))
    path = greeting("Hello.").save(tmp_path / "greet.json")
    assert fb.simulate(to_program(path)).heard == ["Hello."]
