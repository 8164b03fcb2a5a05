"""The contract every registered node kind meets, checked for each kind in the registry.

The kinds are read from ``flowbuilder.nodes.kinds()`` when pytest collects this file, so a kind
added later is covered without touching this file -- except for one line: its entry in
``MINIMAL`` (the smallest valid node of that kind, and what the caller does when it runs).
A kind without an entry fails ``test_has_a_minimal_instance`` saying so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from flowbuilder import Flow, Script, nodes, simulate, validate
from flowbuilder.errors import FlowError, NodeConfigError
from flowbuilder.nodes import kinds
from flowbuilder.nodes._base import NodeKind, Param
from flowbuilder.nodes.play_wav import BEEP


@dataclass(frozen=True)
class Minimal:
    """The smallest valid node of a kind, and how a simulated call gets through it.

    ``bounds_with``: extra params to set while one param is pushed to its min or max, for
    kinds whose params constrain each other (talk_detect needs min_ms < max_ms).
    ``subflows``: flows the node may call, by name. ``api``: the call starts with variable
    ``api`` holding the base URL of a real JSON server on loopback.
    """

    params: dict[str, Any] = field(default_factory=dict)
    script: Script = field(default_factory=Script)
    variables: dict[str, Any] = field(default_factory=dict)
    bounds_with: dict[str, dict[str, Any]] = field(default_factory=dict)
    subflows: dict[str, Flow] = field(default_factory=dict)
    api: bool = False


MINIMAL: dict[str, Minimal] = {
    "play": Minimal({"prompt": "Hello."}),
    "play_wav": Minimal({"audio": BEEP}),
    "menu": Minimal(
        {"prompt": "Press 1.", "options": [{"outcome": "one", "digits": "1"}]},
        Script(presses=["1"]),
    ),
    # BUSY: an answered dial bridges the call and it ends there, never reaching ``next``
    "dial": Minimal(
        {"targets": [{"number": "+33123456789", "timeout": 20}]}, Script(dial=["BUSY"])
    ),
    "record": Minimal(),
    "voicemail": Minimal(),
    "hangup": Minimal(),
    "hangup_callid": Minimal({"callid": "421890"}),
    "play_recording": Minimal(variables={"recording": "rec_1.wav"}),
    "conference": Minimal({"id": "42"}),
    "simple_conference": Minimal({"id": "42"}),
    "wait": Minimal(),
    "send_dtmf": Minimal({"digits": "1#"}),
    "wait_for_silence": Minimal(),
    "start_call_recording": Minimal(),
    "stop_call_recording": Minimal(),
    "gather": Minimal(
        {"prompt": "Enter your account number.", "variable": "account"}, Script(presses=["42#"])
    ),
    "set": Minimal({"values": {"tier": "gold"}}),
    "branch": Minimal(
        {"conditions": [{"name": "gold", "subject": "tier", "op": "equals", "value": "gold"}]}
    ),
    "business_hours": Minimal({"hours": {"mon-sun": ["00:00-24:00"]}}),
    "http_request": Minimal({"url": "{api}/status", "map": {"api_ok": "ok"}}, api=True),
    "python": Minimal(
        {"function": "flowbuilder.examples:lookup_customer", "outcomes": ["known", "unknown"]}
    ),
    "subflow": Minimal(
        {"flow": "greeting"},
        subflows={"greeting": Flow("greeting").add("hi", "play", prompt="Hi from the subflow.")},
    ),
    "talk_detect": Minimal(
        bounds_with={
            "min_ms": {"max_ms": 10000, "analysistime_ms": 30000},
            "max_ms": {"min_ms": 10, "analysistime_ms": 30000},
        }
    ),
}

KINDS = kinds()
INT_PARAMS = [(k, p) for k in KINDS for p in k.params if p.type == "int"]
LENGTH_PARAMS = [
    (k, p) for k in KINDS for p in k.params if p.type in ("text", "prompt") and p.max is not None
]
COLOR = re.compile(r"#[0-9a-fA-F]{6}\Z")

# A value of the wrong type for each param type (bool is an int in Python: it must still fail).
WRONG: dict[str, tuple[Any, ...]] = {
    "text": (5, None, ["a"]),
    "prompt": (True, 1.5, None),
    "int": ("5", True, 5.0, None),
    "bool": (1, "true", None),
    "choice": (1, None),
    "variable": (1, None),
    "digits": (1, None),
    "list": ("x", {}),
    "mapping": ([], "x"),
}
# a param type missing from WRONG fails test_wrong_types_are_refused, saying so
WRONG_TYPES = [
    (k, p, v) for k in KINDS for p in k.params for v in WRONG.get(p.type, ("no wrong values",))
]


def _id(value: Any) -> str:
    if isinstance(value, NodeKind):
        return value.name
    if isinstance(value, Param):
        return value.name
    return repr(value)


def minimal(kind: NodeKind) -> Minimal:
    if kind.name not in MINIMAL:
        pytest.fail(
            f"node kind {kind.name!r} has no minimal instance: add an entry for it to MINIMAL in "
            "tests/nodes/test_contract.py (its smallest valid params, and a Script that gets a "
            "simulated call through it)",
            pytrace=False,
        )
    return MINIMAL[kind.name]


def one_node(kind: NodeKind, **extra: Any) -> Flow:
    return Flow("contract").add("node", kind.name, **{**minimal(kind).params, **extra})


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


# -- declaration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_has_a_minimal_instance(kind: NodeKind) -> None:
    m = minimal(kind)
    assert kind.check({**kind.defaults(), **m.params}) == []


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_declaration_is_complete(kind: NodeKind) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", kind.name)
    for attr in ("title", "description", "category", "icon"):
        assert isinstance(getattr(kind, attr), str), attr
        assert getattr(kind, attr).strip(), f"{kind.name} has an empty {attr}"
    assert COLOR.match(kind.color), f"{kind.name}.color {kind.color!r} is not #rrggbb"
    names = [p.name for p in kind.params]
    assert len(names) == len(set(names)), f"{kind.name} declares a param twice: {names}"
    for p in kind.params:
        assert p.help.strip(), f"{kind.name}.{p.name} has no help text"
        if p.type == "int":
            assert p.min is not None, f"{kind.name}.{p.name} has no minimum"
            assert p.max is not None, f"{kind.name}.{p.name} has no maximum"
            assert p.min <= p.default <= p.max
        if p.type == "choice":
            assert p.choices, f"{kind.name}.{p.name} is a choice with no choices"


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_defaults_pass_their_own_check(kind: NodeKind) -> None:
    for p in kind.params:
        if p.required and p.default in ("", [], {}):
            assert p.check(p.default) == "is required", p.name
        else:
            assert p.check(p.default) is None, f"{kind.name}.{p.name} default {p.default!r}"


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_editor_can_add_it(kind: NodeKind) -> None:
    # a node added in the editor starts from starter_params(): it must be a valid node
    flow = Flow("contract").add("node", kind.name, **kind.starter_params())
    assert flow.params("node") == kind.starter_params()


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_defaults_are_not_shared_between_nodes(kind: NodeKind) -> None:
    a, b = kind.defaults(), kind.defaults()
    for name, value in a.items():
        if isinstance(value, list | dict):
            assert value is not b[name], f"{kind.name}.{name} default is shared"


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_docs_are_json(kind: NodeKind) -> None:
    doc = json.loads(json.dumps(kind.to_json()))
    assert doc["name"] == kind.name
    assert doc["title"] == kind.title
    assert [p["name"] for p in doc["params"]] == [p.name for p in kind.params]
    assert all(p["help"] and p["type"] for p in doc["params"])
    assert doc["outcomes"] == list(kind.static_outcomes)
    assert doc["ends_call"] is kind.ends_call


# -- flows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_round_trip_through_json(kind: NodeKind) -> None:
    flow = one_node(kind)
    again = Flow.from_json(flow.to_json())
    assert again == flow
    assert again.params("node") == flow.params("node")
    assert again.to_json() == flow.to_json()


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_outcomes(kind: NodeKind) -> None:
    flow = one_node(kind).add("other", "hangup")
    outcomes = flow.outcomes("node")
    if kind.ends_call:
        assert outcomes == ()
    else:
        assert outcomes, f"{kind.name} has no outcomes but does not end the call"
        assert len(set(outcomes)) == len(outcomes)
        for outcome in outcomes:
            flow.connect("node", "other", outcome)
        assert flow.edges_from("node") == dict.fromkeys(outcomes, "other")
    with pytest.raises(FlowError) as caught:
        flow.connect("node", "other", "no_such_outcome")
    assert caught.value.node_id == "node"
    expected = "ends the call" if kind.ends_call else "no outcome 'no_such_outcome'"
    assert expected in str(caught.value)


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_unknown_param_is_refused(kind: NodeKind) -> None:
    with pytest.raises(NodeConfigError) as caught:
        one_node(kind, no_such_param=1)
    assert (caught.value.node_id, caught.value.field) == ("node", "no_such_param")


@pytest.mark.parametrize(("kind", "param"), INT_PARAMS, ids=_id)
def test_int_bounds(kind: NodeKind, param: Param) -> None:
    assert param.min is not None
    assert param.max is not None
    companions = minimal(kind).bounds_with.get(param.name, {})
    for bad in (param.min - 1, param.max + 1):
        with pytest.raises(NodeConfigError) as caught:
            one_node(kind, **companions, **{param.name: bad})
        assert (caught.value.node_id, caught.value.field) == ("node", param.name)
        assert str(bad) in str(caught.value)
    for good in (param.min, param.max):
        flow = one_node(kind, **companions, **{param.name: good})
        assert flow.params("node")[param.name] == good
        # changing a node later is checked the same way, and a refusal changes nothing
        with pytest.raises(NodeConfigError):
            flow.set_params("node", **{param.name: param.max + 1})
        assert flow.params("node")[param.name] == good


@pytest.mark.parametrize(("kind", "param"), LENGTH_PARAMS, ids=_id)
def test_text_length_bounds(kind: NodeKind, param: Param) -> None:
    assert param.max is not None
    with pytest.raises(NodeConfigError) as caught:
        one_node(kind, **{param.name: "a" * (param.max + 1)})
    assert (caught.value.node_id, caught.value.field) == ("node", param.name)


@pytest.mark.parametrize(("kind", "param", "value"), WRONG_TYPES, ids=_id)
def test_wrong_types_are_refused(kind: NodeKind, param: Param, value: Any) -> None:
    assert param.type in WRONG, f"add wrong values for param type {param.type!r} to WRONG"
    with pytest.raises(NodeConfigError) as caught:
        one_node(kind, **{param.name: value})
    assert (caught.value.node_id, caught.value.field) == ("node", param.name)


@pytest.mark.parametrize("kind", KINDS, ids=_id)
def test_minimal_instance_runs_without_the_error_path(kind: NodeKind, api_url: str) -> None:
    m = minimal(kind)
    flow = one_node(kind)
    flow.add("end", "play", prompt="That is all.").add("bye", "hangup").connect("end", "bye")
    flow.add("oops", "play", prompt="Error path.").connect("oops", "bye")
    flow.configure(on_error="oops", allow_private_network=m.api)  # the JSON server: loopback
    for outcome in flow.outcomes("node"):
        flow.connect("node", "end", outcome)
    assert not [i for i in validate(flow, subflows=m.subflows) if i.severity == "error"]
    variables = {**m.variables, **({"api": api_url} if m.api else {})}

    t = simulate(flow, m.script, variables=variables, subflows=m.subflows)

    assert [e.text for e in t.events if e.kind == "error"] == []
    assert t.path[0] == "node"
    assert "oops" not in t.path
    assert t.status == "completed"
    if not kind.ends_call:
        assert t.path[-2:] == ["end", "bye"]
        assert t.heard[-1] == "That is all."


LOADED_KINDS = """import sys
from flowbuilder.nodes import REGISTRY
for name in sys.argv[1:]:
    assert REGISTRY[name].name == name, name
print(" ".join(sorted(m.rsplit(".", 1)[1] for m in sys.modules
                      if m.startswith("flowbuilder.nodes.") and "._" not in m)))
"""


def loaded_after_asking_for(*names: str) -> list[str]:
    """The kind modules a fresh process has loaded after asking the registry for *names*."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_KINDS, *names], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_every_kind_module_is_listed_and_registers_its_own_name() -> None:
    folder = Path(nodes.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
    assert sorted(nodes.KINDS) == modules  # every module of the folder is a kind
    assert loaded_after_asking_for(*nodes.KINDS) == modules
    assert len(nodes.REGISTRY) == len(modules)


def test_a_kind_is_loaded_when_first_asked_for() -> None:
    assert loaded_after_asking_for() == []
    assert loaded_after_asking_for("play") == ["play"]
