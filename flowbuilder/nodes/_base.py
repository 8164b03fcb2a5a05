"""Declaration machinery for node kinds, and the registry.

A node kind is declared once, in its own module, as a subclass of :class:`NodeKind`: typed
parameters with CALLR's bounds and help text, the outcomes that label its outgoing edges, how it
becomes a CALLR command (:meth:`NodeKind.start`) and how a command result or an effect result picks
an outcome (:meth:`NodeKind.resume`). Forms, JSON schema, validation of bounds, the docs table and
exports are all derived from that declaration.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal, TypeVar

import msgspec

from flowbuilder import template
from flowbuilder.callr import commands, wire
from flowbuilder.callr.constants import DEFAULT_VOICE as DEFAULT_VOICE
from flowbuilder.effects import Effect, EffectResult
from flowbuilder.errors import NodeConfigError, UnknownNodeKindError
from flowbuilder.facts import CallFacts
from flowbuilder.trust import TRUSTED, Trust

ParamType = Literal[
    "text",  # a string; template=True allows {variable} placeholders
    "prompt",  # what the caller hears: TTS text (str), a media library id (int), "" for none
    "int",
    "bool",
    "choice",  # one of Param.choices
    "variable",  # a variable name
    "digits",  # DTMF digits 0-9 * #
    "list",  # a JSON list (structure checked by the kind)
    "mapping",  # a JSON object (structure checked by the kind)
    "value",  # a JSON value: text, a number, true/false or a list (an entry's field)
]

_DIGITS = re.compile(r"[0-9*#]*\Z")


@dataclass(frozen=True)
class Param:
    """One typed parameter of a node kind."""

    name: str
    type: ParamType
    default: Any
    help: str
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    template: bool = False
    unit: str = ""
    #: What the editor puts in a node it adds, where the default is not usable on its own
    #: (a menu needs options, a dial needs a number). None: the default is used.
    example: Any = None
    #: The shape of a "list" or "mapping", for the editor's rows: a list of objects names the
    #: fields of each entry (*fields*); a list of plain values, or a mapping's values, say what
    #: one value is (*item*); a mapping's keys are described by *key*. The kind's own checks
    #: still decide what is valid.
    fields: tuple[Param, ...] = ()
    item: Param | None = None
    key: Param | None = None

    def check(self, value: Any) -> str | None:
        """Why *value* is refused for this parameter, or None when it is fine."""
        problem = self._check_type(value)
        if problem:
            return problem
        if self.required and value in ("", [], {}):
            return "is required"
        if self.type == "int" and (
            (self.min is not None and value < self.min)
            or (self.max is not None and value > self.max)
        ):
            return f"must be between {self.min} and {self.max}{self._unit()}, got {value}"
        if (
            self.type in ("text", "prompt")
            and isinstance(value, str)
            and self.max is not None
            and len(value) > self.max
        ):
            return f"must be at most {self.max} characters, got {len(value)}"
        if self.type == "prompt" and isinstance(value, int) and value < 0:
            return f"a media id must be a positive integer, got {value}"
        if self.type == "choice" and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}; got {value!r}"
        if self.type == "variable" and value and not template.VARIABLE_NAME.match(value):
            return f"must be a variable name (letters, digits, _), got {value!r}"
        if self.type == "digits" and not self.template and not _DIGITS.match(value):
            return f"must contain only 0-9, * and #, got {value!r}"
        return None

    def _unit(self) -> str:
        return f" {self.unit}" if self.unit else ""

    def _check_type(self, value: Any) -> str | None:
        expected: dict[str, tuple[type, ...]] = {
            "text": (str,),
            "prompt": (str, int),
            "int": (int,),
            "bool": (bool,),
            "choice": (str,),
            "variable": (str,),
            "digits": (str,),
            "list": (list,),
            "mapping": (dict,),
            "value": (str, int, float, bool, list),
        }
        types = expected[self.type]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(
                {"str": "text", "int": "an integer"}.get(t.__name__, t.__name__) for t in types
            )
            return f"must be {names}, got {type(value).__name__} {value!r}"
        return None

    @classmethod
    def of(cls, key: commands.Key, type: ParamType, default: Any, help: str, **more: Any) -> Param:
        """A parameter that is CALLR command key *key*: its bounds, unit and choices come from
        the command's declaration (:mod:`flowbuilder.callr.commands`), never retyped."""
        return cls(key.name, type, default, help, **{**key.bounds(), **more})

    def to_json(self) -> dict[str, Any]:
        """The parameter's declaration as data (for the editor's form and the docs)."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "help": self.help,
        }
        for key in ("min", "max", "unit"):
            if getattr(self, key) not in (None, ""):
                out[key] = getattr(self, key)
        if self.choices:
            out["choices"] = list(self.choices)
        if self.required:
            out["required"] = True
        if self.template:
            out["template"] = True
        if self.example is not None:
            out["example"] = self.example
        if self.fields:
            out["fields"] = [f.to_json() for f in self.fields]
        for key in ("item", "key"):
            part = getattr(self, key)
            if part is not None:
                out[key] = part.to_json()
        return out


def prompt_param(
    name: str, help: str, default: str | int = "", *, example: str | None = None
) -> Param:
    """A prompt: TTS text with {variables}, or an integer media library id."""
    return Param(name, "prompt", default, help, max=4000, template=True, example=example)


VOICE = Param(
    "voice",
    "text",
    "",
    "TTS voice for this node's prompts, e.g. TTS_EN-GB_SERENA; empty uses the flow's voice.",
)


# -- what a node does at run time ----------------------------------------------------------------


class Send(msgspec.Struct, frozen=True):
    """Answer CALLR with this command and wait for its result."""

    command: wire.Command


class Go(msgspec.Struct, frozen=True):
    """Leave the node through this outcome."""

    outcome: str


class Perform(msgspec.Struct, frozen=True):
    """Ask the driver to perform an effect, then resume the node with its result."""

    effect: Effect


class Fail(msgspec.Struct, frozen=True):
    """Take the flow's error path; *reason* is logged, never spoken."""

    reason: str


class EnterSubflow(msgspec.Struct, frozen=True):
    """Run the named flow from its entry; when it ends, leave this node through ``done``."""

    flow: str


Action = Send | Go | Perform | Fail | EnterSubflow


class CommandResult(msgspec.Struct, frozen=True):
    """The outcome of the command a node sent: ``result`` unless ``error`` is non-empty."""

    command: str
    result: str
    error: str
    call_status: str


Result = CommandResult | EffectResult


@dataclass
class Context:
    """What a node sees while it runs: variables (mutable), call facts, its own scratch state."""

    variables: dict[str, Any]
    facts: Mapping[str, Any]
    local: dict[str, Any]
    voice: str
    now: float
    timezone: str = "UTC"
    #: The flow's settings (voice, timezone, error path...), read-only.
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: Remarks for the callback's trace (e.g. a condition that could not be evaluated); never
    #: spoken. The engine copies them to ``Trace.warning``.
    notes: list[str] = field(default_factory=list)
    #: Which Python functions the flow may call (:mod:`flowbuilder.trust`).
    trust: Trust = TRUSTED

    def note(self, text: str) -> None:
        """Record a remark about this step in the trace (not an error: the call goes on)."""
        self.notes.append(text)

    def scope(self) -> dict[str, Any]:
        """Names templates can read: call facts, overridden by variables of the same name."""
        facts = self.facts
        # the engine's lazy facts, copied in C rather than one Python lookup per fact
        return {**(facts.as_dict() if type(facts) is CallFacts else facts), **self.variables}

    def render(self, text: str) -> str:
        if "{" not in text and "}" not in text:  # most prompts: nothing to fill in
            return text
        return template.render(text, _Names(self.variables, self.facts))

    def media(self, prompt: int | str | None, voice: str = "") -> commands.Media:
        """A prompt parameter as CALLR media, its {variables} filled in."""
        if isinstance(prompt, str):
            prompt = self.render(prompt)
        return commands.media(prompt, voice or self.voice)


class _Names(Mapping[str, Any]):
    """Variables over call facts, looked up by name, for a template that reads a few of them
    (:meth:`Context.scope` copies both)."""

    __slots__ = ("_facts", "_variables")

    def __init__(self, variables: Mapping[str, Any], facts: Mapping[str, Any]) -> None:
        self._variables = variables
        self._facts = facts

    def __getitem__(self, name: str) -> Any:
        if name in self._variables:
            return self._variables[name]
        return self._facts[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._facts, **self._variables})

    def __len__(self) -> int:
        return len({**self._facts, **self._variables})


# -- the kind ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSpec:
    """A node as compiled: id, kind name, params (defaults filled), prepared data, edges."""

    id: str
    kind: str
    params: Mapping[str, Any]
    edges: Mapping[str, str]
    prepared: Any = None


class NodeKind:
    """Base of every node kind. Subclasses declare; the class attributes are the declaration."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    category: ClassVar[str] = "Call control"
    color: ClassVar[str] = "#4c78a8"
    icon: ClassVar[str] = "●"
    params: ClassVar[tuple[Param, ...]] = ()
    static_outcomes: ClassVar[tuple[str, ...]] = ("next",)
    #: The parameter whose entries add outcomes of their own (menu options, branch conditions).
    routes_param: ClassVar[str | None] = None
    #: Entering the node always answers CALLR with a command (so a loop through it cannot spin).
    waits_on_caller: ClassVar[bool] = True
    #: The node ends the call: nothing follows it.
    ends_call: ClassVar[bool] = False
    #: Outcomes taken when the caller runs out of tries: left unconnected, callers are cut off.
    retry_outcomes: ClassVar[tuple[str, ...]] = ()
    #: Outcomes that mean the node failed: left unconnected, the flow's error path takes them.
    failure_outcomes: ClassVar[tuple[str, ...]] = ()
    #: The parameter that bounds the effect the node asks the driver for (an HTTP request, a
    #: Python call), in ms: effects run inside the callback. None: the kind performs none.
    effect_timeout_param: ClassVar[str | None] = None
    #: The node makes HTTP requests during a call (the server readies its HTTP client).
    makes_http_requests: ClassVar[bool] = False

    # declaration helpers --------------------------------------------------------------------

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: _copy(p.default) for p in self.params}

    def starter_params(self) -> dict[str, Any]:
        """Parameters of a node freshly added in the editor: defaults, then each ``example``."""
        return {
            **self.defaults(),
            **{p.name: _copy(p.example) for p in self.params if p.example is not None},
        }

    def outcomes(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Labels of the outgoing edges; kinds with user-defined routes override this."""
        return self.static_outcomes

    def check(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems as (field, message): types and bounds, then the kind's own cross-checks."""
        problems = []
        known = {p.name for p in self.params}
        for key in params:
            if key not in known:
                problems.append((key, f"is not a parameter of {self.name}"))
        for p in self.params:
            if p.name in params:
                msg = p.check(params[p.name])
                if msg:
                    problems.append((p.name, msg))
        if not problems:
            problems.extend(self.check_values(params))
        return problems

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Cross-field and structure checks; called once every value has the right type."""
        return []

    def normalize(self, params: Mapping[str, Any], *, node_id: str | None = None) -> dict[str, Any]:
        """Defaults merged with *params*; raises NodeConfigError on the first problem."""
        merged = {**self.defaults(), **params}
        for field_name, message in self.check(merged):
            raise NodeConfigError(message, node_id=node_id, field=field_name)
        return merged

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        """Kind-specific validation beyond types and bounds, as (severity, field, message).

        *subflows* maps flow names to the flows a ``subflow`` node may call.
        """
        return []

    def variables_set(self, params: Mapping[str, Any]) -> set[str]:
        """Variables this node writes (for the 'used but never set' check)."""
        return {params[p.name] for p in self.params if p.type == "variable" and params.get(p.name)}

    def code_targets(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(field, "package.module:function")`` for each Python function the node calls;
        validation checks them against the flow's trust (:mod:`flowbuilder.trust`)."""
        return []

    def variables_set_by(self, params: Mapping[str, Any], outcome: str) -> set[str]:
        """Variables set whenever the node leaves through *outcome* (for the per-path check);
        by default every variable it writes."""
        return self.variables_set(params)

    def variables_read(self, params: Mapping[str, Any]) -> set[str]:
        """Variables this node's templates read."""
        found: set[str] = set()
        for p in self.params:
            if p.template and p.name in params:
                found |= template.names_in_data(params[p.name])
        return found

    def effect_timeout_ms(self, params: Mapping[str, Any]) -> int | None:
        """How long the effect this node asks the driver for may take; None for none."""
        name = self.effect_timeout_param
        value = params.get(name) if name else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def template_texts(self, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """``(field, text)`` for every text a template parameter fills in at run time."""
        for p in self.params:
            if p.template and p.name in params:
                for text in template.texts_in_data(params[p.name]):
                    yield p.name, text

    def prepare(self, params: Mapping[str, Any]) -> Any:
        """Compile-time work (regexes, parsed rules) kept in the Program; default none."""
        return None

    def subflows_called(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Names of the flows this node runs (the ``subflow`` kind); default none."""
        return ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "color": self.color,
            "icon": self.icon,
            "params": [p.to_json() for p in self.params],
            "outcomes": list(self.static_outcomes),
            "routes_param": self.routes_param,
            "waits_on_caller": self.waits_on_caller,
            "ends_call": self.ends_call,
        }

    # run time -------------------------------------------------------------------------------

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        """Entering the node: a command to send, an effect, or an immediate outcome."""
        raise NotImplementedError

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        """The command or effect finished. Default: a command error fails, else the first
        outcome (``next``)."""
        if isinstance(result, CommandResult) and result.error:
            return Fail(f"{result.command} failed: {result.error}")
        return Go(self.static_outcomes[0])

    def __repr__(self) -> str:
        return f"<node kind {self.name}>"


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


class CommandKind(NodeKind):
    """A kind that sends one command and leaves through ``next`` when it completes."""

    def command(self, node: NodeSpec, ctx: Context) -> wire.Command:
        raise NotImplementedError

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        return Send(self.command(node, ctx))


# -- registry ------------------------------------------------------------------------------------


class Registry(MutableMapping[str, "NodeKind"]):
    """Every node kind by name. A kind's module (``flowbuilder.nodes.<name>``) is imported when
    the kind is first asked for, so a server loads only the kinds its flows use; listing the
    kinds imports them all."""

    def __init__(self) -> None:
        self._kinds: dict[str, NodeKind] = {}
        self._complete = False

    def add(self, kind: NodeKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"node kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    def __getitem__(self, name: str) -> NodeKind:
        kind = self._kinds.get(name)
        if kind is None:
            from flowbuilder.nodes import KINDS  # the package's list, read once it is set up

            if name not in KINDS:
                raise KeyError(name)
            importlib.import_module(f"flowbuilder.nodes.{name}")
            kind = self._kinds[name]
        return kind

    def _everything(self) -> dict[str, NodeKind]:
        if not self._complete:
            from flowbuilder.nodes import KINDS

            for name in KINDS:
                self[name]
            self._complete = True
        return self._kinds

    def __setitem__(self, name: str, kind: NodeKind) -> None:  # a kind of the caller's own
        self._kinds[name] = kind

    def __delitem__(self, name: str) -> None:
        del self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._everything()))

    def __len__(self) -> int:
        return len(self._everything())


REGISTRY: Final = Registry()
K = TypeVar("K", bound=type[NodeKind])


def register(cls: K) -> K:
    """Class decorator: declare a kind by adding one instance to the registry."""
    REGISTRY.add(cls())
    return cls


def get_kind(name: str, *, node_id: str | None = None) -> NodeKind:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownNodeKindError(
            f"unknown node kind {name!r}; known kinds: {known}", node_id=node_id, field="kind"
        ) from None


def kinds() -> list[NodeKind]:
    """Every registered kind, sorted by name."""
    return [REGISTRY[n] for n in sorted(REGISTRY)]
