"""compile(): frozen programs whose version is the hash of the logic."""

from __future__ import annotations

import json
import re

import pytest

from flowbuilder.compiler import Program, compile
from flowbuilder.errors import FlowError, FlowValidationError
from flowbuilder.flow import Flow


def ivr() -> Flow:
    return (
        Flow("ivr")
        .add("hello", "play", prompt="Hello")
        .add("menu", "menu", prompt="Press 1", options=[{"outcome": "one", "regex": "^1$"}])
        .add("end", "hangup")
        .connect("hello", "menu")
        .connect("menu", "end", "one")
        .connect("menu", "end", "invalid")
        .connect("menu", "end", "timeout")
    )


def test_the_version_is_stable_and_ignores_labels_layout_and_description() -> None:
    version = compile(ivr()).version
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    assert compile(ivr()).version == version
    cosmetic = ivr().set_label("menu", "Main menu").move("menu", 10, 10)
    cosmetic.configure(description="The main line")
    assert compile(cosmetic).version == version


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.set_params("hello", prompt="Hi"),
        lambda f: f.connect("menu", "hello", "timeout"),
        lambda f: f.configure(voice="TTS_EN-GB_DANIEL"),
        lambda f: f.add("extra", "hangup"),
        lambda f: f.rename("end", "finish"),
    ],
)
def test_any_logic_change_makes_a_new_version(change: object) -> None:
    flow = ivr()
    change(flow)  # type: ignore[operator]
    assert compile(flow).version != compile(ivr()).version


def test_a_subflow_change_makes_a_new_root_version() -> None:
    def main() -> Flow:
        return (
            Flow("main").add("go", "subflow", flow="sub").add("end", "hangup").connect("go", "end")
        )

    sub = Flow("sub").add("s", "play", prompt="In sub")
    v1 = compile(main(), subflows={"sub": sub})
    v2 = compile(main(), subflows={"sub": sub.copy().set_params("s", prompt="Changed")})
    assert v1.version != v2.version
    assert v1.subflows["sub"].version != v2.subflows["sub"].version


def test_a_program_does_not_change_when_its_flow_does() -> None:
    flow = ivr()
    program = compile(flow)
    flow.set_params("menu", options=[{"outcome": "two", "digits": "2"}]).remove("hello")
    menu = program.nodes["menu"]
    assert menu.params["options"] == [{"outcome": "one", "regex": "^1$"}]
    assert dict(menu.edges) == {"one": "end", "invalid": "end", "timeout": "end"}
    assert "hello" in program.nodes
    with pytest.raises(TypeError):
        menu.params["max_digits"] = 9  # type: ignore[index]
    with pytest.raises(TypeError):
        program.nodes["x"] = menu  # type: ignore[index]


def test_compile_time_work_is_kept_in_the_program() -> None:
    ((outcome, pattern),) = compile(ivr()).nodes["menu"].prepared
    assert outcome == "one"
    assert pattern.pattern == "^1$"  # compiled once (by RE2: linear time)
    assert pattern.search("1")
    assert not pattern.search("12")


def test_to_json_is_plain_data() -> None:
    data = compile(ivr()).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["entry"] == "hello"
    assert data["nodes"]["hello"] == {
        "kind": "play",
        "params": {"prompt": "Hello", "voice": ""},
        "edges": {"next": "menu"},
    }


def test_flow_lookup() -> None:
    program = compile(ivr())
    assert program.flow("") is program
    assert program.flow("ivr") is program
    with pytest.raises(KeyError):
        program.flow("nope")
    assert isinstance(program, Program)
    assert program.on_error is None


def test_errors_refuse_and_name_the_node() -> None:
    flow = ivr()
    flow.graph.nodes["menu"]["params"]["max_digits"] = 0  # as a hand-edited file could hold
    with pytest.raises(FlowValidationError) as info:
        compile(flow)
    assert info.value.node_id == "menu"
    assert str(info.value) == "error: menu.max_digits: must be between 1 and 20, got 0"


def test_a_subflow_calling_itself_is_refused_naming_the_node() -> None:
    loop = Flow("loop").add("again", "subflow", flow="loop")
    main = Flow("main").add("go", "subflow", flow="loop")
    with pytest.raises(FlowError) as info:
        compile(main, subflows={"loop": loop})
    assert (info.value.node_id, info.value.field) == ("loop/again", "flow")
    assert "subflow 'loop' calls itself (main -> loop -> loop)" in str(info.value)
