"""The deeper rules of validate(): each flags a flow that is wrong and leaves its near miss alone.

Every flow is built in code, small, and otherwise clean, so each test sees only the rule's own
issues.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from flowbuilder.compiler import compile
from flowbuilder.errors import FlowValidationError
from flowbuilder.flow import Flow
from flowbuilder.nodes._base import REGISTRY, CommandKind, Context, NodeSpec, kinds
from flowbuilder.validate import Issue, validate


def messages(flow: Flow) -> list[str]:
    return [str(i) for i in validate(flow)]


def ends(flow: Flow, *sources: str, target: str = "end") -> Flow:
    """Connect each (node, outcome) named "node.outcome" (or "node" for next) to *target*."""
    for source in sources:
        node, _, outcome = source.partition(".")
        flow.connect(node, target, outcome or None)
    return flow


def said(prompt: str) -> Flow:
    return ends(Flow("p").add("hi", "play", prompt=prompt).add("end", "hangup"), "hi")


# -- 1. menus: duplicate and shadowed options ----------------------------------------------------


def menu_flow(options: list[dict[str, Any]], max_digits: int = 1) -> Flow:
    flow = Flow("menus").add(
        "menu", "menu", prompt="Choose.", options=options, max_digits=max_digits
    )
    flow.add("end", "hangup")
    for outcome in flow.outcomes("menu"):
        flow.connect("menu", "end", outcome)
    return flow


def test_a_digit_on_two_options() -> None:
    flow = menu_flow([{"outcome": "sales", "digits": "1"}, {"outcome": "billing", "digits": "1"}])
    assert messages(flow) == [
        "warning: menu.options[1]: digits '1' never match here: options[0] (sales) takes them "
        "first; give this option other digits"
    ]
    near = menu_flow([{"outcome": "sales", "digits": "1"}, {"outcome": "billing", "digits": "2"}])
    assert messages(near) == []


@pytest.mark.parametrize(
    "first",
    [{"outcome": "keys", "one_of": ["1", "2"]}, {"outcome": "any", "regex": "^[0-9]$"}],
)
def test_an_exact_option_an_earlier_one_of_or_regex_takes(first: dict[str, Any]) -> None:
    flow = menu_flow([first, {"outcome": "two", "digits": "2"}])
    assert messages(flow) == [
        f"warning: menu.options[1]: digits '2' never match here: options[0] ({first['outcome']}) "
        "takes them first; give this option other digits"
    ]
    assert messages(menu_flow([first, {"outcome": "star", "digits": "*"}])) == []


def test_one_of_entries_that_can_never_match() -> None:
    flow = menu_flow(
        [{"outcome": "one", "digits": "1"}, {"outcome": "rest", "one_of": ["1", "77"]}]
    )
    assert messages(flow) == [
        "warning: menu.options[1]: never matches: '1' (options[0] (one) takes it first), '77' "
        "(longer than max_digits, 1); give it other digits or raise max_digits"
    ]
    partly = menu_flow(
        [{"outcome": "one", "digits": "1"}, {"outcome": "rest", "one_of": ["1", "2"]}]
    )
    assert messages(partly) == [
        "warning: menu.options[1]: one_of entries that never match here: '1' (options[0] (one) "
        "takes it first); remove them"
    ]
    near = menu_flow([{"outcome": "rest", "one_of": ["2", "77"]}], max_digits=2)
    assert messages(near) == []


def test_a_regex_no_entry_can_match() -> None:
    too_long = menu_flow([{"outcome": "pin", "regex": "^9\\d{3}$"}])
    assert messages(too_long) == [
        "warning: menu.options[0]: regex '^9\\\\d{3}$' matches no entry of at most max_digits "
        "(1) keys, so it never matches; fix the regex or raise max_digits"
    ]
    taken = menu_flow(
        [{"outcome": "low", "one_of": ["1", "2"]}, {"outcome": "any", "regex": "^[12]"}]
    )
    assert messages(taken) == [
        "warning: menu.options[1]: regex '^[12]' never matches here: every entry it matches is "
        "taken first by options[0] (low); change the regex or the options before it"
    ]
    assert messages(menu_flow([{"outcome": "pin", "regex": "^9\\d{3}$"}], max_digits=4)) == []
    twice = menu_flow(
        [{"outcome": "nine", "regex": "^9"}, {"outcome": "again", "regex": "^9"}], max_digits=4
    )
    assert messages(twice) == [
        "warning: menu.options[1]: regex '^9' never matches here: options[0] (nine) has it too; "
        "remove one"
    ]
    near = menu_flow([{"outcome": "low", "one_of": ["1"]}, {"outcome": "any", "regex": "^[12]"}])
    assert messages(near) == []


# -- 2. loops with no way to a hangup ------------------------------------------------------------


def hold_loop() -> Flow:
    """welcome, then play <-> wait for ever: nothing ever hangs up."""
    return (
        Flow("hold")
        .add("welcome", "play", prompt="Please hold.")
        .add("music", "play", prompt="Your call is important to us.")
        .add("pause", "wait", seconds=5)
        .connect("welcome", "music")
        .connect("music", "pause")
        .connect("pause", "music")
    )


def test_a_play_wait_loop_that_never_reaches_a_hangup() -> None:
    assert messages(hold_loop()) == [
        "warning: music: the loop through music, pause never reaches a hangup: callers go "
        "round until they hang up or the call hits its step limit; give it a way out (a menu "
        "option, a branch) that leads to a hangup"
    ]


def test_a_loop_with_a_menu_whose_retries_lead_out_is_fine() -> None:
    flow = hold_loop().remove("pause")
    flow.add(
        "ask",
        "menu",
        prompt="Press 1 to keep holding.",
        options=[{"outcome": "hold", "digits": "1"}],
    )
    flow.add("end", "hangup")
    flow.connect("music", "ask").connect("ask", "music", "hold")
    flow.connect("ask", "end", "invalid").connect("ask", "end", "timeout")
    assert messages(flow) == []
    flow.connect("ask", "music", "invalid").connect("ask", "music", "timeout")  # no way out now
    assert [m for m in messages(flow) if "never reaches a hangup" in m] == [
        "warning: ask: the loop through ask, music never reaches a hangup: callers go round "
        "until they hang up or the call hits its step limit; give it a way out (a menu option, "
        "a branch) that leads to a hangup"
    ]


def test_a_loop_with_a_branch_whose_else_leads_out_is_fine() -> None:
    flow = hold_loop()
    flow.add("count", "set", values={"turns": "again"})
    flow.add(
        "check",
        "branch",
        conditions=[{"name": "again", "subject": "turns", "op": "equals", "value": "again"}],
    )
    flow.add("end", "hangup")
    flow.connect("pause", "count").connect("count", "check").connect("check", "music", "again")
    flow.connect("check", "end", "else")
    assert messages(flow) == []


def test_an_unconnected_outcome_is_a_way_out() -> None:
    flow = hold_loop()
    flow.add("desk", "dial", targets=[{"number": "+33123456789"}])
    flow.connect("pause", "desk")
    for outcome in ("answered", "no_answer", "busy"):
        flow.connect("desk", "music", outcome)
    assert messages(flow) == [  # failed hangs up: that is the only way out, and a warning
        "warning: desk.failed: outcome 'failed' is not connected; the call hangs up there: "
        "connect it"
    ]


def test_only_the_loop_that_leads_nowhere_else_is_reported() -> None:
    flow = hold_loop()
    flow.add(
        "ask",
        "menu",
        prompt="Press 1 to hold.",
        options=[{"outcome": "hold", "digits": "1"}],
    )
    flow.connect("welcome", "ask").connect("ask", "ask", "hold")
    flow.connect("ask", "music", "invalid").connect("ask", "music", "timeout")
    assert [i.node_id for i in validate(flow)] == ["music"]  # ask's loop leads into music's


def test_a_loop_that_never_waits_is_the_endless_loop_error_only() -> None:
    flow = Flow("spin").add("count", "set", values={"n": "1"})
    flow.add(
        "check",
        "branch",
        conditions=[{"name": "more", "subject": "n", "op": "equals", "value": "1"}],
    )
    flow.connect("count", "check").connect("check", "count", "more").connect(
        "check", "count", "else"
    )
    assert [(i.severity, i.node_id) for i in validate(flow)] == [("error", "check")]


# -- 3. variables read where a path leaves them unset --------------------------------------------


def two_ways(left: dict[str, Any], right: dict[str, Any], prompt: str) -> Flow:
    """A branch on the caller's number; each side sets *left* / *right*; both join to say
    *prompt*, then hang up."""
    flow = Flow("paths").add(
        "who",
        "branch",
        conditions=[
            {"name": "known", "subject": "caller", "op": "equals", "value": "+33100000000"}
        ],
    )
    flow.add("a", "set", values=left).add("b", "set", values=right)
    flow.add("say", "play", prompt=prompt).add("end", "hangup")
    flow.connect("who", "a", "known").connect("who", "b", "else")
    return ends(flow.connect("a", "say").connect("b", "say"), "say")


def test_a_variable_set_on_one_branch_only() -> None:
    flow = two_ways({"name": "Ada"}, {"other": "x"}, "Hello {name}")
    assert messages(flow) == [
        "warning: say.prompt: uses {name}, which may be unset on the path through b; set it on "
        "that path too, or fix the name"
    ]
    assert messages(two_ways({"name": "Ada"}, {"name": "you"}, "Hello {name}")) == []


def test_a_variable_set_on_another_branch_than_the_one_reading_it() -> None:
    flow = Flow("paths").add(
        "who",
        "branch",
        conditions=[
            {"name": "known", "subject": "caller", "op": "equals", "value": "+33100000000"}
        ],
    )
    flow.add("a", "set", values={"name": "Ada"}).add("hi", "play", prompt="Hi {name}")
    flow.add("end", "hangup")
    flow.connect("who", "a", "known").connect("who", "hi", "else")
    ends(flow, "a", "hi")
    assert messages(flow) == [
        "warning: hi.prompt: uses {name} but no path to this node sets it (only a does, on "
        "other paths); set it before this node or fix the name"
    ]


def test_the_path_that_lacks_it_is_named_where_the_paths_part() -> None:
    flow = two_ways({"name": "Ada"}, {"other": "x"}, "Hello")
    flow.add("more", "play", prompt="Still there?").add("last", "play", prompt="Bye {name}")
    flow.connect("say", "more").connect("more", "last")
    ends(flow, "last")
    assert messages(flow) == [
        "warning: last.prompt: uses {name}, which may be unset on the path through b; set it on "
        "that path too, or fix the name"
    ]


def test_a_variable_set_before_a_loop_stays_set_in_it() -> None:
    flow = Flow("loop").add("name", "set", values={"name": "Ada"})
    flow.add("hi", "play", prompt="Hi {name}")
    flow.add(
        "again", "menu", prompt="1 to hear it again.", options=[{"outcome": "again", "digits": "1"}]
    )
    flow.add("end", "hangup")
    flow.connect("name", "hi").connect("hi", "again").connect("again", "hi", "again")
    ends(flow, "again.invalid", "again.timeout")
    assert messages(flow) == []
    # set inside the loop, after the read: the first time round it is not
    flow.disconnect("name", "next").remove("name")
    flow.add("start", "play", prompt="Hello.").add("name", "set", values={"name": "Ada"})
    flow.entry = "start"
    flow.connect("start", "hi").connect("again", "name", "again").connect("name", "hi")
    assert messages(flow) == [
        "warning: hi.prompt: uses {name}, which may be unset on the path through start; set it "
        "on that path too, or fix the name"
    ]


def test_a_menu_sets_its_variable_only_when_an_option_matched() -> None:
    flow = Flow("m").add(
        "menu", "menu", prompt="1?", options=[{"outcome": "one", "digits": "1"}], variable="pick"
    )
    flow.add("chose", "play", prompt="You chose {pick}").add("missed", "play", prompt="{pick}?")
    flow.add("end", "hangup")
    flow.connect("menu", "chose", "one").connect("menu", "missed", "invalid")
    ends(flow, "menu.timeout", "chose", "missed")
    assert messages(flow) == [
        "warning: missed.prompt: uses {pick} but no path to this node sets it (only menu does, "
        "on other paths); set it before this node or fix the name"
    ]


def test_an_http_answer_is_mapped_on_success_only() -> None:
    flow = Flow("h").add(
        "lookup",
        "http_request",
        url="https://crm.example.com/c?phone={caller}",
        map={"customer": "data.name"},
    )
    flow.add("hi", "play", prompt="Hello {customer}").add("oops", "play", prompt="{http_error}")
    flow.add("end", "hangup")
    flow.connect("lookup", "hi", "success").connect("lookup", "oops", "failed")
    flow.connect("lookup", "oops", "timeout")
    ends(flow, "hi", "oops")
    assert messages(flow) == []
    flow.set_params("oops", prompt="Sorry {customer}: {http_error}")
    assert messages(flow) == [
        "warning: oops.prompt: uses {customer} but no path to this node sets it (only lookup "
        "does, on other paths); set it before this node or fix the name"
    ]


# -- 4. placeholders that are not ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "shown"),
    [
        ("Bonjour {prénom}", "{prénom} is not a placeholder"),
        ("Hello {name.attr}", "{name.attr} is not a placeholder"),
        ("Hello { x }", "{ x } is not a placeholder"),
        ("Option {0}", "{0} is not a placeholder"),
        ("Price: {", "{ is not a placeholder"),
        ("a } b", "} is not a placeholder"),
        ("{a-b} {0} {1} {2}", "{a-b}, {0}, {1}, ... are not placeholders"),
    ],
)
def test_a_malformed_placeholder(prompt: str, shown: str) -> None:
    assert messages(said(prompt)) == [
        f"warning: hi.prompt: {shown} and "
        "would stay in the text, braces and all: write {name} with ASCII letters, digits and _, "
        "or {{ and }} for literal braces"
    ]


def test_literal_braces_and_placeholders_are_fine() -> None:
    assert messages(said("{{literally}} {caller} {{{caller}}}")) == []


def bad_value(kind_name: str, param_name: str, type_: str) -> Any:
    text = '{"greeting": "Hi {prénom}"}'  # a template either way: as text, or as JSON
    return {"mapping": {"greeting": text}, "list": [text]}.get(type_, text)


TEMPLATE_PARAMS = [(k.name, p.name, p.type) for k in kinds() for p in k.params if p.template]


def test_every_kind_declares_some_template_parameter() -> None:
    assert {k for k, _, _ in TEMPLATE_PARAMS} >= {"play", "menu", "http_request", "set", "dial"}


@pytest.mark.parametrize(("kind", "param", "type_"), TEMPLATE_PARAMS)
def test_every_template_parameter_is_checked(kind: str, param: str, type_: str) -> None:
    data = {
        "schema": 1,
        "name": "t",
        "entry": "n",
        "nodes": {"n": {"kind": kind, "params": {param: bad_value(kind, param, type_)}}},
        "edges": [],
    }
    flagged = [i for i in validate(Flow.from_dict(data)) if "placeholder" in i.message]
    assert [(i.node_id, i.field) for i in flagged] == [("n", param)]
    assert "{prénom}" in flagged[0].message


def test_a_json_body_keeps_its_braces() -> None:
    flow = Flow("h").add(
        "post",
        "http_request",
        method="POST",
        url="https://crm.example.com/calls",
        body=json.dumps({"caller": "{caller}", "nested": {"list": [1, "{callid}"]}}),
    )
    flow.add("end", "hangup")
    ends(flow, "post.success", "post.failed", "post.timeout")
    assert messages(flow) == []
    flow.set_params("post", body=json.dumps({"who": "{ caller }"}))
    assert [(i.node_id, i.field) for i in validate(flow)] == [("post", "body")]


# -- 5. effect timeouts adding up in one callback ------------------------------------------------


def effects_chain(*between: str) -> Flow:
    """http lookup (2500 ms), *between* nodes, then python score (2500 ms), then goodbye."""
    flow = Flow("effects").add(
        "lookup", "http_request", url="https://crm.example.com/c", timeout_ms=2500
    )
    flow.add(
        "score",
        "python",
        function="flowbuilder.examples:lookup_customer",
        outcomes=["known", "unknown"],
        timeout_ms=2500,
    )
    flow.add("bye", "play", prompt="Goodbye.").add("end", "hangup")
    previous = "lookup"
    for i, kind in enumerate(between):
        node = f"step{i}"
        if kind == "set":
            flow.add(node, "set", values={f"v{i}": "x"})
        elif kind == "play":
            flow.add(node, "play", prompt="One moment.")
        flow.connect(previous, node, "success" if previous == "lookup" else None)
        previous = node
    flow.connect(previous, "score", "success" if previous == "lookup" else None)
    for outcome in ("failed", "timeout"):
        flow.connect("lookup", "bye", outcome)
    for outcome in flow.outcomes("score"):
        flow.connect("score", "bye", outcome)
    return ends(flow, "bye")


def test_two_effects_in_one_callback_past_the_answer_budget() -> None:
    expected = [
        "warning: score.timeout_ms: http_request lookup (2500 ms) then python score (2500 ms) "
        "can take 5000 ms in one callback; the answer budget is 4000 ms: score takes its "
        "timeout path; lower the timeouts or put a node that waits on the caller between them"
    ]
    assert messages(effects_chain()) == expected
    assert messages(effects_chain("set", "set")) == expected  # set nodes do not wait
    assert messages(effects_chain("play")) == []  # a new callback, a new budget
    fits = effects_chain().set_params("score", timeout_ms=1500)
    assert messages(fits) == []


def test_the_worst_chain_is_named() -> None:
    flow = effects_chain()
    flow.add("quick", "http_request", url="https://crm.example.com/q", timeout_ms=500)
    flow.add(
        "start",
        "branch",
        conditions=[{"name": "a", "subject": "caller", "op": "equals", "value": "1"}],
    )
    flow.entry = "start"
    flow.connect("start", "quick", "a").connect("start", "lookup", "else")
    flow.connect("quick", "score", "success").connect("quick", "bye", "failed")
    flow.connect("quick", "bye", "timeout")
    assert [(i.node_id, i.message.split(" can take")[0]) for i in validate(flow)] == [
        ("score", "http_request lookup (2500 ms) then python score (2500 ms)")
    ]


def test_the_answer_budget_is_declared_once_for_the_server_and_the_linter() -> None:
    import inspect

    from flowbuilder.callr import constants
    from flowbuilder.server import DEFAULT_ANSWER_BUDGET_MS, serve

    assert DEFAULT_ANSWER_BUDGET_MS is constants.DEFAULT_ANSWER_BUDGET_MS
    assert inspect.signature(serve).parameters["answer_budget_ms"].default == 4000


# -- 6. voices -----------------------------------------------------------------------------------


def test_a_voice_that_is_not_a_voice_name_is_an_error() -> None:
    flow = said("Hello").set_params("hi", voice="tts_en-gb_serena")
    assert messages(flow) == [
        "error: hi.voice: 'tts_en-gb_serena' is not a TTS voice name "
        "(TTS_<LANG>-<COUNTRY>_<NAME>): did you mean TTS_EN-GB_SERENA?"
    ]
    with pytest.raises(FlowValidationError):
        compile(flow)
    flow.set_params("hi", voice="Serena")
    assert messages(flow) == [
        "error: hi.voice: 'Serena' is not a TTS voice name (TTS_<LANG>-<COUNTRY>_<NAME>): use "
        "one like TTS_EN-GB_SERENA"
    ]


def test_a_well_formed_voice_flowbuilder_does_not_know_is_a_warning() -> None:
    flow = said("Hallo").configure(voice="TTS_DE-DE_MARLENE", fallback_voice="french")
    assert messages(flow) == [
        "error: fallback_voice: 'french' is not a TTS voice name (TTS_<LANG>-<COUNTRY>_<NAME>): "
        "use one like TTS_EN-GB_SERENA",
        "warning: voice: TTS_DE-DE_MARLENE is not a voice flowbuilder knows (TTS_EN-GB_SERENA, "
        "TTS_EN-GB_DANIEL, TTS_FR-FR_AUDREY); check it with media/tts.get_voice_list",
    ]


def test_known_voices_and_empty_ones_are_fine() -> None:
    flow = said("Bonjour").set_params("hi", voice="TTS_FR-FR_AUDREY")
    flow.configure(voice="TTS_EN-GB_DANIEL", fallback_voice="")
    assert messages(flow) == []


# -- 7. self-loops -------------------------------------------------------------------------------


def test_a_play_leading_back_to_itself() -> None:
    flow = Flow("s").add("intro", "play", prompt="Welcome").connect("intro", "intro")
    assert messages(flow) == [
        "warning: intro.next: 'next' leads back to intro itself: it repeats until the caller "
        "hangs up or the call hits its step limit; connect it to the node that should follow"
    ]


def test_a_failing_dial_retried_on_itself() -> None:
    flow = Flow("d").add("desk", "dial", targets=[{"number": "+33123456789"}]).add("end", "hangup")
    ends(flow, "desk.answered", "desk.no_answer", "desk.busy").connect("desk", "desk", "failed")
    assert messages(flow) == [
        "warning: desk.failed: 'failed' leads back to desk itself: a failing dial is retried "
        "without end; connect it to another node"
    ]
    flow.connect("desk", "desk", "busy").connect("desk", "end", "failed")  # redial when busy
    assert messages(flow) == []


def test_a_menu_leading_back_to_itself_is_a_normal_pattern() -> None:
    flow = menu_flow([{"outcome": "one", "digits": "1"}, {"outcome": "repeat", "digits": "9"}])
    flow.connect("menu", "menu", "repeat").connect("menu", "menu", "invalid")
    assert messages(flow) == []


# -- 8. what kinds declare, rather than their names ----------------------------------------------


class Ask(CommandKind):
    """A kind with tries of its own, registered for this module only."""

    name = "t_lint_ask"
    title = description = "ask"
    static_outcomes = ("answered", "gave_up")
    retry_outcomes = ("gave_up",)

    def command(self, node: NodeSpec, ctx: Context) -> Any:
        raise NotImplementedError


@pytest.fixture
def ask_kind() -> Iterator[None]:
    REGISTRY[Ask.name] = Ask()
    yield
    REGISTRY.pop(Ask.name, None)


@pytest.mark.usefixtures("ask_kind")
def test_retry_outcomes_are_the_kinds_declaration() -> None:
    flow = Flow("a").add("q", Ask.name).add("end", "hangup").connect("q", "end", "answered")
    assert messages(flow) == [
        "warning: q.gave_up: t_lint_ask has no gave_up handling: callers who run out of tries "
        "are cut off; connect 'gave_up'"
    ]


def test_an_unconnected_failure_goes_to_the_error_path() -> None:
    flow = Flow("d").add("desk", "dial", targets=[{"number": "+33123456789"}]).add("end", "hangup")
    ends(flow, "desk.answered", "desk.no_answer", "desk.busy")
    assert messages(flow) == [
        "warning: desk.failed: outcome 'failed' is not connected; the call hangs up there: "
        "connect it"
    ]
    flow.add("oops", "play", prompt="Sorry.").connect("oops", "end").configure(on_error="oops")
    assert messages(flow) == [
        "warning: desk.failed: outcome 'failed' is not connected; the error path (oops) takes "
        "it: connect it to handle it here"
    ]


def test_every_new_issue_names_its_node_or_setting() -> None:
    flows = [
        menu_flow([{"outcome": "a", "digits": "1"}, {"outcome": "b", "digits": "1"}]),
        hold_loop(),
        two_ways({"name": "Ada"}, {"other": "x"}, "Hi {name}"),
        said("Hi {prénom}"),
        effects_chain(),
        said("Hi").configure(voice="nope"),
        Flow("s").add("intro", "play", prompt="Hi").connect("intro", "intro"),
    ]
    for flow in flows:
        found: list[Issue] = validate(flow)
        assert found, flow
        for issue in found:
            assert issue.node_id or issue.field, issue
            assert "\n" not in issue.message


def test_an_english_apology_in_another_languages_voice_is_a_warning() -> None:
    flow = said("Bonjour").configure(voice="TTS_FR-FR_AUDREY")
    assert messages(flow) == [
        "warning: fallback_message: when a call fails, callers hear the English 'Sorry, something "
        "went wrong. Goodbye.' spoken by TTS_FR-FR_AUDREY: set fallback_message in the flow's "
        "language"
    ]
    flow.configure(fallback_message="Désolé, une erreur est survenue. Au revoir.")
    assert messages(flow) == []
    assert messages(said("Hello").configure(voice="TTS_EN-GB_DANIEL")) == []
