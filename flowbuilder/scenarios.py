"""Scenarios: a flow's behaviour pinned as data, checked from the CLI or from pytest.

A scenarios file is a JSON list. Each scenario names a simulated call and what must happen::

    [
      {
        "name": "sales answers",
        "script": {"presses": ["1"]},
        "expect": {
          "heard": ["Welcome", "For sales, press 1"],
          "path": ["welcome", "main_menu", "sales", "end"],
          "status": "completed"
        }
      }
    ]

- ``script``: what the caller does, as :class:`flowbuilder.phone.Script` data (``presses``,
  ``dial``, ``hangup_after``, ...) or just a list of presses; optional ``caller``, ``number``,
  ``direction`` (``inbound``/``outbound``) and ``variables`` (set at the start of the call).
- ``at`` (optional): when the call starts, ISO 8601 with its zone (:mod:`flowbuilder.clock`):
  an offset, ``"2026-03-28T10:00:00+01:00"``, an IANA zone, ``"2026-03-29T10:00[Europe/Paris]"``,
  or both. A time without a zone is refused. Without ``at``, calls start on 2026-01-01 at 10:00
  UTC. The call's clock runs on from there as the caller listens, types and waits.
- ``expect`` (at least one of):

  - ``heard``: the prompts the caller hears, in order and all of them; each expected text must
    be *contained in* the prompt heard at that place (write the whole prompt for an exact
    match, or a telling part of it);
  - ``path``: the node ids entered, in order, exactly;
  - ``status``: how the call ended (``completed``, ``caller hung up``, ``failed``, ...), exactly;
  - ``variables``: variables the call ends with; only the names given are compared;
  - ``dialed``: ``[[number, status], ...]`` of each ``dialout`` target tried, exactly.

Every scenario runs through :func:`flowbuilder.simulate.simulate`, so through the same engine and
wire code as a live call. From pytest::

    from flowbuilder import scenarios

    def test_support_line():
        scenarios.assert_scenarios(support_line(), "exports/support_line.scenarios.json")

or one test per scenario with ``@scenarios.parametrize("exports/support_line.scenarios.json")``.
From the shell: ``flowbuilder test FLOW SCENARIOS``.

>>> from flowbuilder.examples import support_line
>>> results = run(support_line(), [{"name": "silence", "script": [],
...                                 "expect": {"path": ["welcome", "main_menu", "goodbye", "end"],
...                                            "status": "completed"}}])
>>> print(summary(results))
1 passed, 0 failed
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flowbuilder.clock import FORMAT_HINT, instant
from flowbuilder.engine import STATE_KEY  # the signed call state: never a user variable
from flowbuilder.errors import ScenarioError
from flowbuilder.flow import Flow
from flowbuilder.phone import Script, Transcript, script_of
from flowbuilder.simulate import simulate

if TYPE_CHECKING:
    from flowbuilder.program import Program

EXPECT_KEYS: Final = ("heard", "path", "status", "variables", "dialed")
SCENARIO_KEYS: Final = (
    "name",
    "script",
    "expect",
    "at",
    "caller",
    "number",
    "direction",
    "variables",
)


@dataclass(frozen=True)
class Scenario:
    """One simulated call and what must happen during it."""

    name: str
    script: Script
    expect: Mapping[str, Any]
    caller: str = "+33612345678"
    number: str = "+33912345678"
    direction: str = "inbound"
    variables: Mapping[str, Any] = field(default_factory=dict)
    #: When the call starts, as written (``""``: the default moment).
    at: str = ""

    @classmethod
    def from_data(cls, data: Any, *, where: str = "scenario") -> Scenario:
        """A scenario from JSON data; a problem raises ScenarioError naming *where* and field."""
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{where}: must be an object with name, script and expect")
        unknown = sorted(set(data) - set(SCENARIO_KEYS))
        if unknown:
            raise ScenarioError(
                f"{where}: unknown key(s) {', '.join(unknown)}; keys are {', '.join(SCENARIO_KEYS)}"
            )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ScenarioError(f"{where}.name: must be a non-empty text")
        where = f"{where} ({name})"
        try:
            script = script_of(data.get("script"))
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{where}.script: {exc}") from None
        for key in ("caller", "number"):
            if key in data and not isinstance(data[key], str):
                raise ScenarioError(f"{where}.{key}: must be a phone number as text")
        if data.get("direction", "inbound") not in ("inbound", "outbound"):
            raise ScenarioError(f"{where}.direction: must be inbound or outbound")
        if not isinstance(data.get("variables", {}), Mapping):
            raise ScenarioError(f"{where}.variables: must be an object of name -> value")
        at = data.get("at", "")
        if not isinstance(at, str):
            raise ScenarioError(f"{where}.at: must be text, {FORMAT_HINT}; got {at!r}")
        if at:
            try:
                instant(at)
            except ValueError as exc:
                raise ScenarioError(f"{where}.at: {exc}") from None
        expect = _expect(data.get("expect"), f"{where}.expect")
        return cls(
            name=name,
            script=script,
            expect=expect,
            caller=data.get("caller", cls.caller),
            number=data.get("number", cls.number),
            direction=data.get("direction", "inbound"),
            variables=dict(data.get("variables", {})),
            at=at,
        )


def _expect(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping) or not data:
        raise ScenarioError(
            f"{where}: must be an object with one or more of {', '.join(EXPECT_KEYS)}"
        )
    unknown = sorted(set(data) - set(EXPECT_KEYS))
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"expectations are {', '.join(EXPECT_KEYS)}"
        )
    for key in ("heard", "path"):
        if key in data and not _list_of(data[key], str):
            raise ScenarioError(f"{where}.{key}: must be a list of texts")
    if "status" in data and not isinstance(data["status"], str):
        raise ScenarioError(f"{where}.status: must be a text such as 'completed'")
    if "variables" in data and not isinstance(data["variables"], Mapping):
        raise ScenarioError(f"{where}.variables: must be an object of name -> value")
    if "dialed" in data and not (
        isinstance(data["dialed"], list)
        and all(_list_of(d, str) and len(d) == 2 for d in data["dialed"])
    ):
        raise ScenarioError(f"{where}.dialed: must be a list of [number, status] pairs")
    return dict(data)


def _list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(v, kind) for v in value)


def parse(data: Any, *, source: str = "scenarios") -> list[Scenario]:
    """Scenarios from JSON data (a list of scenario objects); names must be distinct."""
    if not isinstance(data, list):
        raise ScenarioError(f"{source}: must be a JSON list of scenarios")
    if not data:
        raise ScenarioError(f"{source}: holds no scenario")
    out = [Scenario.from_data(item, where=f"{source}: [{i}]") for i, item in enumerate(data)]
    seen: set[str] = set()
    for i, scenario in enumerate(out):
        if scenario.name in seen:
            raise ScenarioError(f"{source}: [{i}].name: {scenario.name!r} is used twice")
        seen.add(scenario.name)
    return out


def load(path: str | Path) -> list[Scenario]:
    """Scenarios from a JSON file; a problem raises ScenarioError in one line naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from None
    return parse(data, source=str(path))


# -- running --------------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    """How one scenario went: ``failures`` lists each expectation that did not hold."""

    scenario: Scenario
    transcript: Transcript
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def name(self) -> str:
        return self.scenario.name

    def __str__(self) -> str:
        lines = [f"{'PASSED' if self.passed else 'FAILED'} {self.name}"]
        if self.failures and self.scenario.at:  # a failure at a moment: say which
            lines[0] += f" (at {self.scenario.at})"
        lines += [f"    {failure}" for failure in self.failures]
        return "\n".join(lines)


def final_variables(transcript: Transcript) -> dict[str, Any]:
    """The user variables the call ended with (the last ones exchanged with CALLR)."""
    latest: Mapping[str, Any] = {}
    for exchange in transcript.exchanges:
        for body in (exchange["request"], exchange.get("answer")):
            if isinstance(body, Mapping) and isinstance(body.get("variables"), Mapping):
                latest = body["variables"]
    return {k: v for k, v in latest.items() if k != STATE_KEY}


def compare(
    scenario: Scenario, transcript: Transcript, nodes: Collection[str] | None = None
) -> list[str]:
    """Each expectation of *scenario* that *transcript* does not meet, as one line; with the
    flow's *nodes*, an expected path naming others says so (scenarios of another flow?)."""
    expect = scenario.expect
    failures: list[str] = []
    if "heard" in expect:
        heard, wanted = transcript.heard, expect["heard"]
        for i, text in enumerate(wanted):
            if i >= len(heard):
                failures.append(f"heard[{i}]: expected {text!r}, but the caller heard nothing more")
            elif text not in heard[i]:
                failures.append(f"heard[{i}]: expected {text!r} in {heard[i]!r}")
        if len(heard) > len(wanted):
            extra = heard[len(wanted)]
            failures.append(
                f"heard: {len(heard)} prompts, {len(wanted)} expected; "
                f"heard[{len(wanted)}] was {extra!r}"
            )
    if "path" in expect and list(transcript.path) != expect["path"]:
        known = expect["path"] if nodes is None else nodes
        # a subflow's nodes ("faq/ask") are not checked
        strangers = [n for n in dict.fromkeys(expect["path"]) if "/" not in n and n not in known]
        hint = (
            f" ({', '.join(strangers)}: no such node in this flow; scenarios of another flow?)"
            if strangers
            else ""
        )
        failures.append(
            f"path: expected {' -> '.join(expect['path']) or '(none)'}, "
            f"got {' -> '.join(transcript.path) or '(none)'}{hint}"
        )
    if "status" in expect and transcript.status != expect["status"]:
        reason = f" ({transcript.reason})" if transcript.reason else ""
        failures.append(f"status: expected {expect['status']!r}, got {transcript.status!r}{reason}")
    if "variables" in expect:
        ended = final_variables(transcript)
        for name, value in sorted(expect["variables"].items()):
            if name not in ended:
                failures.append(f"variables.{name}: expected {value!r}, but it is not set")
            elif ended[name] != value:
                failures.append(f"variables.{name}: expected {value!r}, got {ended[name]!r}")
    if "dialed" in expect:
        dialed = [list(d) for d in transcript.dialed]
        if dialed != expect["dialed"]:
            failures.append(f"dialed: expected {expect['dialed']!r}, got {dialed!r}")
    return failures


def check(
    flow: Flow | Program, scenario: Scenario, *, subflows: Mapping[str, Flow] | None = None
) -> ScenarioResult:
    """Run one scenario and compare what happened with what it expects."""
    transcript = simulate(
        flow,
        scenario.script,
        caller=scenario.caller,
        number=scenario.number,
        direction=scenario.direction,
        variables=scenario.variables or None,
        subflows=subflows,
        at=scenario.at or None,
    )
    nodes = set(flow) if isinstance(flow, Flow) else set(flow.nodes)
    return ScenarioResult(scenario, transcript, compare(scenario, transcript, nodes))


Scenarios = str | Path | Sequence[Scenario | Mapping[str, Any]]


def _scenarios(scenarios: Scenarios) -> list[Scenario]:
    if isinstance(scenarios, str | Path):
        return load(scenarios)
    items = list(scenarios)
    if all(isinstance(s, Scenario) for s in items):
        return [s for s in items if isinstance(s, Scenario)]
    return parse([s if not isinstance(s, Scenario) else _data(s) for s in items])


def _data(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "script": scenario.script.to_json(),
        "expect": dict(scenario.expect),
        "caller": scenario.caller,
        "number": scenario.number,
        "direction": scenario.direction,
        "variables": dict(scenario.variables),
        **({"at": scenario.at} if scenario.at else {}),
    }


def run(
    flow: Flow | Program,
    scenarios: Scenarios,
    *,
    subflows: Mapping[str, Flow] | None = None,
) -> list[ScenarioResult]:
    """Run every scenario (a file path, or a list of scenario data or Scenario objects).

    The flow is compiled once; a flow with errors raises FlowValidationError before any call.
    """
    from flowbuilder.compiler import compile

    program = flow if not isinstance(flow, Flow) else compile(flow, subflows=subflows)
    return [check(program, s) for s in _scenarios(scenarios)]


def summary(results: Iterable[ScenarioResult]) -> str:
    """``3 passed, 0 failed``."""
    results = list(results)
    passed = sum(r.passed for r in results)
    return f"{passed} passed, {len(results) - passed} failed"


def report(results: Sequence[ScenarioResult]) -> str:
    """One line per scenario (failures explained under it), then the summary."""
    return "\n".join([*(str(r) for r in results), summary(results)])


def assert_scenarios(
    flow: Flow | Program, scenarios: Scenarios, *, subflows: Mapping[str, Flow] | None = None
) -> list[ScenarioResult]:
    """Run the scenarios; raise AssertionError with the report when any fails (for pytest)."""
    results = run(flow, scenarios, subflows=subflows)
    if not all(r.passed for r in results):
        failed = [r for r in results if not r.passed]
        raise AssertionError("\n".join([*(str(r) for r in failed), summary(results)]))
    return results


def parametrize(scenarios: Scenarios, argname: str = "scenario") -> Callable[[Any], Any]:
    """``@parametrize("x.scenarios.json")``: one pytest test per scenario, named after it.

    The test receives a :class:`Scenario`; ``check(flow, scenario).failures`` should be empty.
    """
    import pytest

    items = _scenarios(scenarios)
    return pytest.mark.parametrize(argname, items, ids=[s.name for s in items])


__all__ = [
    "Scenario",
    "ScenarioResult",
    "assert_scenarios",
    "check",
    "compare",
    "final_variables",
    "load",
    "parametrize",
    "parse",
    "report",
    "run",
    "summary",
]
