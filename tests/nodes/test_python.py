"""``python``: a function by import path routes the call; every failure is ``error``/``timeout``.

The sample functions live in ``sample_functions.py`` beside this file; the tests put this folder
on ``sys.path`` the way a user's project is on it, so ``sample_functions:slow`` resolves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowbuilder import Flow, simulate, validate
from flowbuilder.compiler import compile
from flowbuilder.errors import FlowValidationError, NodeConfigError


@pytest.fixture(autouse=True)
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def routed(function: str, outcomes: list[str] | None = None, **params: Any) -> Flow:
    """``fn`` calls *function*; every outcome plays its name (and what went wrong)."""
    flow = Flow("py")
    flow.add("fn", "python", function=function, outcomes=outcomes or ["vip", "standard"], **params)
    flow.add("bye", "hangup")
    for outcome in flow.outcomes("fn"):
        prompt = f"{outcome}: {{python_error}}" if outcome in ("error", "timeout") else outcome
        flow.add(f"say_{outcome}", "play", prompt=prompt).connect(f"say_{outcome}", "bye")
        flow.connect("fn", f"say_{outcome}", outcome)
    return flow


def test_the_example_lookup_routes_known_and_unknown_callers(sent, tts) -> None:
    flow = Flow("crm")
    flow.add(
        "lookup",
        "python",
        function="flowbuilder.examples:lookup_customer",
        outcomes=["known", "unknown"],
        sets=["customer_name", "customer_tier"],
    )
    flow.add("hello", "play", prompt="Hello {customer_name}, {customer_tier} member.")
    flow.add("stranger", "play", prompt="Hello stranger.").add("bye", "hangup")
    flow.connect("lookup", "hello", "known").connect("lookup", "stranger", "unknown")
    flow.connect("hello", "bye").connect("stranger", "bye")
    assert [i for i in validate(flow) if i.severity == "error"] == []

    known = simulate(flow, caller="+33612345678")
    unknown = simulate(flow, caller="+33100000000")

    assert known.heard == ["Hello Ada Lovelace, gold member."]
    assert known.path == ["lookup", "hello", "bye"]
    assert unknown.heard == ["Hello stranger."]
    # the function ran during the first callback: CALLR was sent the play straight away
    assert sent(known)[0] == ("play", {"media_id": tts("Hello Ada Lovelace, gold member.")})


def test_a_plain_outcome_name(callr) -> None:
    flow = routed("sample_functions:route_by_tier")

    assert callr(flow).start({"tier": "gold"}).trace.path == ("fn", "say_vip")
    assert callr(flow).start({"tier": "tin"}).trace.path == ("fn", "say_standard")


def test_an_outcome_and_variables_pair_reads_the_facts(callr) -> None:
    call = callr(routed("sample_functions:greet_pair"), caller="+33611111111")

    reply = call.start()

    assert reply.trace.path == ("fn", "say_vip")
    assert call.variables == {"greeting": "Welcome back +33611111111", "direction": "inbound"}


def test_the_function_gets_copies_it_cannot_change(callr) -> None:
    flow = routed("sample_functions:mutate")
    flow.add("after", "play", prompt="{tier} {caller}").connect("say_standard", "after")
    flow.connect("after", "bye")
    call = callr(flow, caller="+33611111111")

    call.start({"tier": "gold"})
    call.post("0")

    assert call.variables == {"tier": "gold"}
    assert call.command[1]["media_id"].endswith("|gold +33611111111")


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        (
            "sample_functions:undeclared",
            "sample_functions:undeclared returned outcome 'platinum', which is not declared "
            "(vip, standard)",
        ),
        ("sample_functions:explode", "sample_functions:explode: ValueError: the CRM is down"),
        ("sample_functions:not_json", "sample_functions:not_json: the function returned dict, "),
        ("sample_functions:bad_names", "returned bad variable name(s) ['_fb']"),
        ("sample_functions:extra_keys", "returned unknown key(s) ['goto']"),
        ("sample_functions:nothing", "returned None; return an outcome name"),
        ("sample_functions:NOT_CALLABLE", "'sample_functions:NOT_CALLABLE' is not callable"),
        ("sample_functions:missing", "'sample_functions' has no attribute 'missing'"),
        ("no_such_module_here:fn", "cannot import 'no_such_module_here'"),
    ],
)
def test_failures_leave_through_error_with_the_reason(callr, function: str, reason: str) -> None:
    call = callr(routed(function))

    reply = call.start()

    assert reply.trace.path == ("fn", "say_error")
    assert reply.trace.error is None  # the flow handles it: not the error path
    assert reason in call.variables["python_error"]
    assert reason in (reply.trace.warning or "")
    assert "\n" not in call.variables["python_error"]


def test_a_slow_function_leaves_through_timeout(callr) -> None:
    call = callr(routed("sample_functions:slow", timeout_ms=100))

    reply = call.start()

    assert reply.trace.path == ("fn", "say_timeout")
    assert call.variables["python_error"] == "sample_functions:slow ran longer than 100 ms"


def test_a_success_clears_an_earlier_error(callr) -> None:
    call = callr(routed("sample_functions:route_by_tier"))

    call.start({"python_error": "from before", "tier": "gold"})

    assert "python_error" not in call.variables


def test_unconnected_error_hangs_up_instead_of_dead_air() -> None:
    flow = Flow("bare").add("fn", "python", function="sample_functions:explode")

    t = simulate(flow)

    assert t.path == ["fn"]
    assert t.status == "completed"


# -- declaration ---------------------------------------------------------------------------------


def test_outcomes_are_the_declared_ones_plus_error_and_timeout() -> None:
    flow = Flow("o").add("fn", "python", function="a.b:c", outcomes=["yes", "no"])

    assert flow.outcomes("fn") == ("yes", "no", "error", "timeout")
    assert Flow("d").add("fn", "python", function="a:c").outcomes("fn") == (
        "next",
        "error",
        "timeout",
    )


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"function": ""}, "function", "is required"),
        ({"function": "mod.func"}, "function", "import path like 'package.module:function'"),
        ({"function": "os:system; rm"}, "function", "import path"),
        ({"function": "a:b", "outcomes": []}, "outcomes", "is required"),
        ({"function": "a:b", "outcomes": ["error"]}, "outcomes[0]", "always an outcome"),
        ({"function": "a:b", "outcomes": ["a", "a"]}, "outcomes[1]", "declared twice"),
        ({"function": "a:b", "outcomes": ["no spaces"]}, "outcomes[0]", "letters, digits"),
        ({"function": "a:b", "sets": ["ok", "not ok"]}, "sets[1]", "variable name"),
        ({"function": "a:b", "timeout_ms": 10001}, "timeout_ms", "between 100 and 10000"),
    ],
)
def test_bad_params_are_refused_naming_the_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("p").add("fn", "python", **params)

    assert (caught.value.node_id, caught.value.field) == ("fn", field)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("timeout_ms", "severity"), [(1000, None), (3500, "warning"), (4500, "error")]
)
def test_timeouts_are_checked_against_callrs_answer_window(
    timeout_ms: int, severity: str | None
) -> None:
    flow = routed("sample_functions:route_by_tier", timeout_ms=timeout_ms)

    found = [i.severity for i in validate(flow) if i.field == "timeout_ms"]

    assert found == ([severity] if severity else [])
    if severity == "error":
        with pytest.raises(FlowValidationError, match="5-second answer window"):
            compile(flow)


def test_the_import_path_is_saved_as_text() -> None:
    flow = routed("flowbuilder.examples:lookup_customer", outcomes=["known", "unknown"])

    text = flow.to_json()

    assert '"function": "flowbuilder.examples:lookup_customer"' in text
    assert Flow.from_json(text) == flow
